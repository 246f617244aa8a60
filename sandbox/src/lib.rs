//! Stateful fakes of the APIs this workspace talks to, for tests: real HTTP servers on
//! 127.0.0.1 with in-memory state, an inspection API, and fault injection.
//!
//! - [`LoopsSandbox`]: the Loops REST API v1 (contacts keyed by email and userId, properties,
//!   lists, events, transactional sends, suppression), with `Idempotency-Key` handling, the
//!   10 requests/second rate limit and its headers, and signed outgoing webhooks.
//! - Fault knobs shared by every fake ([`Faults`]): 5xx error rate, added latency, dropped
//!   connections (applied, answer lost), forced 429s, all from a seeded generator so runs are
//!   reproducible.
//!
//! Behaviour follows what Loops documents; where Loops does not document something (a message
//! text, an edge case), the sandbox picks the plausible answer and the item says so.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use kommo_loops_sandbox::{FaultConfig, LoopsConfig, LoopsSandbox};
//! use std::time::Duration;
//!
//! let sandbox = LoopsSandbox::start(LoopsConfig::default().seed(42)).await?;
//! // Give `sandbox.base_url()` and `sandbox.api_key()` to the code under test.
//! sandbox.faults().set(FaultConfig::none().error_rate(0.3).latency(Duration::from_millis(20)));
//! // ... run it ...
//! let stats = sandbox.request_stats();
//! assert_eq!(stats.with_status(429), 0, "the client stayed under the rate limit");
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod faults;
mod loops;
mod rate_limit;
mod server;
mod time;

pub use faults::{FaultAction, FaultConfig, FaultPlan, Faults, ServerErrorKind};
pub use loops::{
    DEFAULT_API_KEY, DEFAULT_RATE_LIMIT, DeliveryOptions, DeliveryOutcome, EmailEventKind,
    EmailSource, EndpointStats, IDEMPOTENCY_WINDOW, IdempotencyConflict, InjectedFault,
    LoopsConfig, LoopsSandbox, MailingListSeed, PropertyKind, RecordedEvent, RecordedTransactional,
    RequestRecord, RequestStats, SandboxContact, SeedContact, SeedError, SignatureMode,
    TransactionalTemplate, WebhookDelivery, WebhookSendError,
};
