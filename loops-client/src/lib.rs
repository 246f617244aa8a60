//! A typed client for the [Loops](https://loops.so) REST API v1, with webhook verification and
//! typed webhook events.
//!
//! - **Every method of the official JavaScript SDK 7.3.0, typed**, one handle per resource:
//!   [`contacts`](Client::contacts) (create, upsert, find, delete, suppression),
//!   [`contact_properties`](Client::contact_properties), [`mailing_lists`](Client::mailing_lists),
//!   [`events`](Client::events), [`transactional`](Client::transactional) (send, list as a
//!   `Stream`, create, publish), [`campaigns`](Client::campaigns),
//!   [`campaign_groups`](Client::campaign_groups) and
//!   [`transactional_groups`](Client::transactional_groups),
//!   [`audience_segments`](Client::audience_segments),
//!   [`email_messages`](Client::email_messages), [`themes`](Client::themes),
//!   [`components`](Client::components), [`uploads`](Client::uploads) (one call for
//!   create, `PUT` and complete), [`event_patterns`](Client::event_patterns),
//!   [`workflows`](Client::workflows) (the graph and its nodes),
//!   [`dedicated_sending_ips`](Client::dedicated_sending_ips), [`api_key`](Client::api_key),
//!   and a [raw escape hatch](Client::raw).
//! - **Edits that cannot clobber each other**: email messages and workflows are guarded by
//!   revisions; a stale one is [its own error](Error::StaleRevision) with both revisions, and
//!   a workflow delete that needs confirming is [told apart](Error::ConfirmationRequired).
//! - **Nothing sent twice**: event and transactional sends always carry an
//!   [`IdempotencyKey`](idempotency::IdempotencyKey), reused on every retry; a repeated key is
//!   reported as [already done](Error::AlreadyDone), not as a failure.
//! - **Under the rate limit**: a pacer shared by all clones keeps to 10 requests/second (or
//!   what `x-ratelimit-limit` says), and 429s are retried after `Retry-After`.
//! - **Clear errors**: one [`Error`] enum, decided by status code and endpoint, that parses
//!   every error body shape Loops has used and keeps non-JSON bodies. A content or workflow
//!   API that is not enabled is [not reported as a bad key](Error::ApiNotEnabled); a 413
//!   names the limit; a 422 keeps Loops' errors and warnings.
//! - **Checked before sending**: reserved property names, the 500-character value limit,
//!   missing or doubled identifiers, LMX and upload sizes, reserved group names, updates
//!   that set nothing ([`Error::InvalidRequest`]).
//! - **Webhooks** ([`webhooks`]): constant-time signature checks, secret rotation, timestamp
//!   tolerance with `now` passed in, and a typed event enum that survives new event names.
//!
//! Each module holds one API resource: its models, its request types (which turn into an
//! [`ApiRequest`] without any IO) and its handle. Without the default `client` feature, the
//! crate has no HTTP or async dependencies: every model, every request as data and the webhook
//! verifier remain available.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn run() -> loops_client::Result<()> {
//! use loops_client::Client;
//! use loops_client::contacts::UpdateContactRequest;
//! use loops_client::transactional::SendTransactionalRequest;
//! use loops_client::value::ContactProperties;
//!
//! let client = Client::new(std::env::var("LOOPS_API_KEY").unwrap_or_default())?;
//!
//! // Create or update a contact.
//! client
//!     .contacts()
//!     .update(
//!         &UpdateContactRequest::by_email("ada@example.com")
//!             .properties(ContactProperties::new().first_name("Ada").user_group("customers")),
//!     )
//!     .await?;
//!
//! // Send a transactional email; retries reuse the same idempotency key.
//! let receipt = client
//!     .transactional()
//!     .send(&SendTransactionalRequest::new("cl_welcome", "ada@example.com").data_variable("name", "Ada"))
//!     .await?;
//! assert!(!receipt.idempotency_key.as_str().is_empty());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod api_key;
pub mod audience_segments;
pub mod campaigns;
pub mod components;
pub mod contact_properties;
pub mod contacts;
pub mod dedicated_sending_ips;
pub mod email_messages;
pub mod endpoint;
pub mod error;
pub mod event_patterns;
pub mod events;
pub mod groups;
pub mod idempotency;
mod json;
pub mod mailing_lists;
pub mod pagination;
pub mod rate_limit;
pub mod retry;
pub mod themes;
pub mod transactional;
pub mod uploads;
pub mod validate;
pub mod value;
pub mod webhooks;
mod wire_enum;
pub mod workflows;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
mod raw;
#[cfg(feature = "client")]
mod request;

pub use endpoint::ApiRequest;
pub use error::{Error, Result};
/// The HTTP method of an [`ApiRequest`] (the `http` crate's, so this crate's semver is not
/// tied to reqwest's).
pub use http::Method;
pub use rate_limit::RateLimit;
pub use retry::RetryPolicy;

#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder};
#[cfg(feature = "client")]
pub use raw::RawResponse;

/// The crate README's examples, compiled as doc tests so they cannot rot.
#[cfg(all(doctest, feature = "client"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
