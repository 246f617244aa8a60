//! Stateful fakes of the APIs this workspace talks to, for tests: real HTTP servers on
//! 127.0.0.1 with in-memory state, an inspection API, and fault injection.
//!
//! Behaviour follows what the providers document; where they do not document something (a
//! message text, an edge case), the fake picks the plausible answer and its docs say so.
//!
//! # Loops: [`LoopsSandbox`]
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use kommo_loops_sandbox::{FaultConfig, LoopsConfig, LoopsSandbox};
//! use std::time::Duration;
//!
//! let sandbox = LoopsSandbox::start(LoopsConfig::default().seed(42)).await?;
//! // Give `sandbox.base_url()` and `sandbox.api_key()` to the code under test, e.g.
//! // loops_client::Client::builder(sandbox.api_key()).base_url(sandbox.base_url()).build()
//! sandbox.faults().set(FaultConfig::none().error_rate(0.3).latency(Duration::from_millis(20)));
//! // ... run it ...
//! let stats = sandbox.request_stats();
//! assert_eq!(stats.with_status(429), 0, "the client stayed under the rate limit");
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! **API** (under `/api`, so the base URL is `http://127.0.0.1:PORT/api`):
//! `GET /v1/api-key`, `POST /v1/contacts/create`, `PUT /v1/contacts/update`,
//! `GET /v1/contacts/find`, `POST /v1/contacts/delete`, `GET`/`DELETE /v1/contacts/suppression`,
//! `GET`/`POST /v1/contacts/properties`, `GET /v1/lists`, `POST /v1/events/send`,
//! `POST /v1/transactional`, `GET /v1/transactional-emails`, `GET /v1/transactional` (legacy),
//! `GET /v1/dedicated-sending-ips`. An unknown path is a 404, a wrong method a 405, a bad JSON
//! body a 400, all with `{"success": false, "message": ...}` (the 405 has no body).
//!
//! **Every API request** goes through, in order:
//! 1. the added latency ([`FaultConfig::latency`]);
//! 2. the API key (`Authorization: Bearer <key>`; otherwise 401
//!    `{"success":false,"message":"Invalid API key","error":"Invalid API key"}`);
//! 3. a forced 429 ([`Faults::force_429_next`], [`FaultConfig::force_429_rate`]);
//! 4. the rate limit, a token bucket of R requests/second holding R (429
//!    `{"success":false,"message":"Rate limit exceeded"}`, optionally with `Retry-After`);
//! 5. an injected 5xx ([`FaultConfig::error_rate`]), without applying the request;
//! 6. the handler, then for a dropped request ([`FaultConfig::drop_rate`]) a cut connection.
//!
//! Every answer carries `x-ratelimit-limit` and `x-ratelimit-remaining` (unless the limit is
//! off), and every request is counted by endpoint and status ([`RequestStats`]).
//!
//! **Inspection over HTTP** (under `/_sandbox`: JSON, no key, no rate limit, no faults, not
//! counted), for tests in any language; the same is available in Rust on [`LoopsSandbox`]:
//!
//! | route | what |
//! | --- | --- |
//! | `GET /_sandbox/contacts[?email=…\|?userId=…]` | contacts, in find shape plus `_suppressed` |
//! | `POST /_sandbox/contacts` | seed a contact ([`SeedContact`] as JSON) |
//! | `GET /_sandbox/events[?email=…&eventName=…]` | recorded events ([`RecordedEvent`]) |
//! | `GET /_sandbox/transactional[?email=…&transactionalId=…]` | recorded sends ([`RecordedTransactional`]) |
//! | `GET /_sandbox/requests` | counts by endpoint and status ([`RequestStats`]) |
//! | `GET /_sandbox/requests/log` | every request, the last 10,000 ([`RequestRecord`]) |
//! | `GET /_sandbox/idempotency-conflicts` | sends refused for a repeated key |
//! | `GET /_sandbox/webhooks` | outgoing webhook deliveries ([`WebhookDelivery`]) |
//! | `GET`/`PUT /_sandbox/faults` | the fault knobs ([`FaultConfig`] as JSON, durations in ms) |
//! | `POST /_sandbox/lists` | seed a list ([`MailingListSeed`]) |
//! | `POST /_sandbox/transactional-emails` | seed a transactional email ([`TransactionalTemplate`]) |
//! | `POST /_sandbox/contact-properties` | create a property, `{"name", "type"}` |
//! | `POST /_sandbox/suppressions` | suppress an email, `{"email"}` |
//! | `POST /_sandbox/reset` | back to the configured start |
//!
//! **Outgoing webhooks**: [`LoopsSandbox::register_webhook`], then
//! [`email_hard_bounced`](LoopsSandbox::email_hard_bounced),
//! [`contact_unsubscribed`](LoopsSandbox::contact_unsubscribed),
//! [`email_spam_reported`](LoopsSandbox::email_spam_reported), ... or
//! [`emit`](LoopsSandbox::emit) for any event; signed as Loops signs them, recorded, and
//! replayable ([`LoopsSandbox::replay_webhook`]), with stale or forged variants
//! ([`DeliveryOptions`]) for negative tests.
//!
//! # Adding a fake
//!
//! Each fake is a module folder (`src/loops/`) with its own state, routes and gate. The shared
//! pieces: `server.rs` (bind 127.0.0.1, serve, graceful shutdown, stop on drop), `faults.rs`
//! ([`Faults`], the 502/503 HTML pages, cutting a connection after the answer started) and
//! `rate_limit.rs` (a token bucket on tokio's clock).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod faults;
mod kommo;
mod loops;
mod rate_limit;
mod records;
mod server;
mod time;

pub use faults::{FaultAction, FaultConfig, FaultPlan, Faults, ServerErrorKind};
pub use kommo::{
    CompanyUpdate, ContactUpdate, CustomFieldSeed, DEFAULT_KOMMO_RATE_LIMIT, DEFAULT_KOMMO_TOKEN,
    DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET, DEFAULT_OAUTH_REDIRECT_URI,
    DEFAULT_RATE_TOLERANCE, EMAIL_KINDS, EnumSeed, FieldKey, FieldSet, IdBases, KommoCompany,
    KommoConditions, KommoConfig, KommoContact, KommoFieldValues, KommoLead, KommoLink, KommoNote,
    KommoSandbox, KommoSubscription, KommoTag, KommoTask, KommoValue, KommoWebhookDelivery,
    LeadContactLink, LeadUpdate, NewCompany, NewContact, NewLead, NewTask, OAuthApp, PHONE_KINDS,
    PipelineSeed, ScenarioError, StatusSeed, TaskTypeSeed, TokenPair, UserSeed, ValidationIssue,
    WebhookPolicy, all_webhook_settings, defaults, saas_onboarding,
};
pub use loops::{
    DEFAULT_API_KEY, DEFAULT_RATE_LIMIT, DeliveryOptions, EmailEventKind, EmailSource,
    IDEMPOTENCY_WINDOW, IdempotencyConflict, LoopsConfig, LoopsSandbox, MailingListSeed,
    PropertyKind, RecordedEvent, RecordedTransactional, SandboxContact, SeedContact, SeedError,
    SignatureMode, TransactionalTemplate, WebhookDelivery, WebhookSendError,
};
pub use records::{DeliveryOutcome, EndpointStats, InjectedFault, RequestRecord, RequestStats};

/// The crate README's example, compiled as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
