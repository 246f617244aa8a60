//! The runtime (`runtime` feature): executes plans against Loops and Kommo, reliably.
//!
//! Transport stays the application's choice: the runtime talks to the two APIs through the
//! [`LoopsApi`] and [`KommoApi`] traits, implemented for `loops-client` and `kommo-client`
//! and easy to fake in tests.

pub mod outbox;
pub mod state;

#[cfg(feature = "sqlite")]
pub use outbox::SqliteOutbox;
pub use outbox::{MemoryOutbox, Outbox};
#[cfg(feature = "postgres")]
pub use outbox::{PostgresOptions, PostgresOutbox};
pub use state::{MemoryState, StateStore};
