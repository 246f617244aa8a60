//! The runtime (`runtime` feature): executes plans against Loops and Kommo, reliably.
//!
//! Transport stays the application's choice: the runtime talks to the two APIs through the
//! [`LoopsApi`] and [`KommoApi`] traits, implemented for `loops-client` and `kommo-client`
//! and easy to fake in tests.

#[cfg(feature = "axum")]
mod axum_glue;
mod bridge;
pub mod catch_up;
pub mod changes;
mod clock;
mod delivered;
mod echo;
mod executor;
pub mod health;
mod kommo_port;
mod kommo_writes;
mod loops_port;
pub mod outbox;
mod outcome;
mod planner;
mod ports;
mod prefetch;
pub mod preflight;
mod redact;
pub mod state;
mod worker;

pub use bridge::{
    Bridge, BridgeBuilder, BridgeConfig, BuildError, DEFAULT_CHANGE_TOLERANCE, DeadLetter,
    DeadLetters, MAX_BODY_BYTES, MAX_WEBHOOK_ID_BYTES, Reply,
};
pub use catch_up::{CatchUpConfig, CatchUpStatus, CatchUpTask};
pub use executor::{NOTE_SERVICE, marker};
pub use health::WebhookHealth;
pub use kommo_port::classify_kommo_error;
pub use loops_port::classify_loops_error;
pub use outbox::{Lane, MemoryOutbox, Outbox};
#[cfg(feature = "postgres")]
pub use outbox::{PostgresOptions, PostgresOutbox};
#[cfg(feature = "sqlite")]
pub use outbox::{SqliteDurability, SqliteOutbox};
pub use outcome::Outcome;
pub use ports::{
    BatchOutcome, KommoApi, KommoEntity, KommoNote, KommoTask, LoopsApi, LoopsContactStatus,
    PortError, TagChange,
};
pub use redact::{EmailsInLogs, mask_emails};
pub use state::{MemoryState, StateStore};
pub use worker::{JobReport, RetryPolicy, RetryStep, Workers};
