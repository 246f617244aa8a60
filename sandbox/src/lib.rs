//! Stateful fakes of the Loops and Kommo APIs for tests: real HTTP servers on 127.0.0.1 with
//! in-memory state, an inspection API, fault injection and the webhooks each provider sends.
//!
//! Point the code under test (or any HTTP client, in any language) at a fake's base URL, run
//! it, then ask the fake what happened: what it stores, which requests it answered with which
//! status, which webhooks it delivered.
//!
//! - [`loops::Sandbox`]: the Loops REST API v1 (contacts, events, transactional sends, lists,
//!   properties, suppression), its rate limit and idempotency keys, signed outgoing webhooks,
//!   and the content and workflow APIs (campaigns, email messages with revisions, uploads,
//!   workflow graphs, ...).
//! - [`kommo::Sandbox`]: the Kommo API v4 (leads, contacts, companies, pipelines, custom
//!   fields, notes, tasks, tags, links, webhook subscriptions, OAuth), its limits and IP
//!   block, and the form-encoded webhooks Kommo sends, with a scenario API for what a person
//!   does in Kommo's UI.
//!
//! Both modules use the same names for the same ideas (`Sandbox`, `Config`,
//! `WebhookDelivery`, `NewContact`, ...). What the fakes share lives at the crate root: the
//! fault knobs ([`FaultConfig`], [`Faults`]) and the request records ([`RequestStats`],
//! [`RequestRecord`]).
//!
//! Behaviour follows what the providers document; where they document nothing (a message
//! text, an edge case), the fake picks the plausible answer and says so where it is
//! implemented. The
//! [README](https://github.com/kommo-loops/kommo-loops/blob/main/sandbox/README.md) states
//! the scope and lists every API route, inspection route and webhook, and the order in which
//! a request meets the checks and faults.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use kommo_loops_sandbox::{FaultConfig, kommo, loops};
//! use std::time::Duration;
//!
//! let loops = loops::Sandbox::start(loops::Config::default().seed(42)).await?;
//! let kommo = kommo::Sandbox::start(kommo::Config::saas_onboarding().seed(42)).await?;
//! // Give `loops.base_url()` with `loops.api_key()`, and `kommo.base_url()` with
//! // `kommo.token()`, to the code under test. A flaky Loops:
//! loops.faults().set(FaultConfig::none().error_rate(0.3).latency(Duration::from_millis(20)));
//!
//! // A manager works in Kommo's UI; Kommo's webhooks go out to the subscribers.
//! kommo.subscribe_all("http://127.0.0.1:8080/hooks/kommo");
//! let ada = kommo
//!     .create_contact(kommo::NewContact::new("Ada").email("ada@example.com"))
//!     .expect("a valid contact");
//! let lead = kommo
//!     .create_lead(
//!         kommo::NewLead::new("Ada's trial")
//!             .status(kommo::saas_onboarding::PIPELINE_ID, kommo::saas_onboarding::TRIAL)
//!             .contact(ada),
//!     )
//!     .expect("a valid lead");
//! kommo.move_lead(lead, kommo::saas_onboarding::ACTIVATED).expect("a known status");
//! kommo.flush_webhooks().await;
//!
//! // ... run the code under test, then inspect:
//! assert_eq!(loops.request_stats().with_status(429), 0, "the client kept to the limit");
//! assert!(kommo.webhook_deliveries().iter().all(|d| d.acknowledged()));
//! loops.shutdown().await;
//! kommo.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The same inspection is available over HTTP under `/_sandbox` on each fake, for tests
//! written in other languages.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod faults;
mod inspect;
pub mod kommo;
pub mod loops;
mod rate_limit;
mod records;
mod server;
mod time;

pub use faults::{FaultAction, FaultConfig, FaultPlan, Faults, ServerErrorKind};
pub use records::{DeliveryOutcome, EndpointStats, InjectedFault, RequestRecord, RequestStats};

/// The crate README's examples, compiled as doc tests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
