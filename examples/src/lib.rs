//! Runnable example programs for the workspace (see the `examples/` folder of this package),
//! and the pieces of them worth testing.

pub mod backfill;
pub mod bulk_move;
pub mod catch_up;
pub mod check;
pub mod config;
pub mod content;
pub mod demo;
pub mod dry_run;
pub mod kommo_writes;
pub mod listener;
pub mod loadgen;
pub mod loops_stub;
pub mod measure;
pub mod outbox_cli;
pub mod reconcile;
pub mod server;
pub mod setup;

/// The workspace README's examples, compiled as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
