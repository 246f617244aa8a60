//! Runnable example programs for the workspace (see the `examples/` folder of this package),
//! and the pieces of them worth testing.

pub mod dry_run;
