//! A typed client for the Kommo (amoCRM) API v4, and a total parser for Kommo's
//! form-encoded webhooks.
//!
//! # The client (feature `client`, on by default)
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # mod example {
//! use futures_util::TryStreamExt;
//! use kommo_client::ids::{LeadId, StatusId};
//! use kommo_client::leads::{LeadWith, LeadWrite};
//! use kommo_client::pagination::ListQuery;
//! use kommo_client::{ApiRequest, Client, Method};
//!
//! # async fn run() -> kommo_client::Result<()> {
//! let client = Client::new("acme.kommo.com", std::env::var("KOMMO_TOKEN").unwrap_or_default())?;
//!
//! // One lead with its contacts; `None` when Kommo answers 204.
//! if let Some(lead) = client.leads().get(LeadId(152464), &[LeadWith::Contacts]).await? {
//!     println!("main contact: {:?}", lead.main_contact_id());
//! }
//!
//! // One page, with its HAL links; or every won lead, page after page, at most 7 requests
//! // per second.
//! let first = client.leads().list_page(ListQuery::new().limit(50)).await?;
//! let won: Vec<_> = client
//!     .leads()
//!     .list(ListQuery::new().limit(250).filter_status(6950551u64, StatusId::WON))
//!     .try_collect()
//!     .await?;
//!
//! // Tag without replacing the existing tags.
//! client.leads().update(vec![LeadWrite::update(LeadId(152464)).add_tag("vip")]).await?;
//!
//! // An endpoint this crate does not model, through the same auth, limits and retries.
//! let reasons = client
//!     .raw(ApiRequest::raw(Method::GET, "/api/v4/leads/loss_reasons"))
//!     .await?
//!     .json::<serde_json::Value>()?;
//! # let _ = (first, won, reasons); Ok(()) }
//! # }
//! # fn main() {}
//! ```
//!
//! Each API resource has a module (its models, request types and handle) and a handle on the
//! client: [`Client::account`], [`Client::leads`], [`Client::contacts`] (with
//! [`Client::contact_chats`]), [`Client::companies`], [`Client::pipelines`],
//! [`Client::custom_fields`], [`Client::notes`], [`Client::tasks`], [`Client::tags`],
//! [`Client::links`], [`Client::users`], [`Client::roles`], [`Client::webhook_subscriptions`],
//! [`Client::events`] (the activity log), [`Client::unsorted`] (incoming leads),
//! [`Client::catalogs`] and [`Client::catalog_elements`], [`Client::customers`] (with
//! [`Client::customer_statuses`], [`Client::customer_segments`] and
//! [`Client::customer_transactions`]), [`Client::loss_reasons`], [`Client::sources`],
//! [`Client::website_buttons`], [`Client::calls`], [`Client::short_links`],
//! [`Client::talks`], [`Client::chat_templates`], [`Client::entity_files`],
//! [`Client::files`] (the drive), [`Client::entity_subscriptions`], [`Client::widgets`] and
//! [`Client::currencies`]: every service of Kommo's PHP library (the README has the table).
//! Every listable resource has `list_page` (one [`Page`](common::Page)) and `list` (a
//! `Stream` of every item). What the API would refuse (deleting stages 142/143, batches over
//! Kommo's limits, blank required fields) is refused before sending, as
//! [`Error::InvalidRequest`].
//!
//! The client:
//! - authenticates with a long-lived token or OAuth 2.0 ([`auth`]); OAuth tokens live in a
//!   [`TokenStore`], are refreshed single-flight and persisted before
//!   use; a 401 causes at most one refresh and one retry;
//! - limits itself to 7 requests per second by default ([`RateLimit`]), shared by clones;
//! - retries reads and idempotent writes with a pure, table-tested policy ([`RetryPolicy`]);
//! - stops calling when Kommo blocks the IP (403 on everything) and probes after a cool-down
//!   ([`breaker`]), failing fast with [`Error::Blocked`] in between;
//! - maps errors by status to [`Error`] variants: validation errors name the field;
//! - never puts tokens or secrets in `Debug`, errors or logs; tracing spans carry the method,
//!   path (no query), status and attempt only.
//!
//! A `204 No Content` is an empty result (`None` or an empty list), never an error.
//!
//! # Webhooks (always available)
//!
//! [`webhooks::parse`] turns Kommo's `application/x-www-form-urlencoded` bracket bodies into
//! typed events; see the [`webhooks`] module for a runnable example, and
//! [`webhooks::should_acknowledge`] for the HTTP answer. Subscribing a URL to them is
//! [`webhook_subscriptions`].
//!
//! # Without the `client` feature
//!
//! With `default-features = false` the crate has no reqwest or tokio dependency and still
//! offers every model ([`leads::Lead`], [`contacts::Contact`], [`companies::Company`],
//! [`pipelines::Pipeline`], [`field_values`], [`ids`], ...), the webhook parser and encoder,
//! and the pure retry, rate-limit and circuit-breaker cores.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod account;
pub mod breaker;
pub mod calls;
pub mod catalogs;
pub mod chat_templates;
pub mod common;
pub mod companies;
pub mod contact_chats;
pub mod contacts;
pub mod currencies;
pub mod custom_fields;
pub mod customers;
mod entity;
pub mod entity_files;
pub mod entity_subscriptions;
pub mod error;
pub mod events;
pub mod field_values;
pub mod files;
pub mod ids;
pub mod leads;
pub mod links;
pub mod loss_reasons;
pub mod notes;
pub mod pagination;
pub mod pipelines;
pub mod rate_limit;
pub mod retry;
pub mod roles;
mod serde_util;
pub mod short_links;
pub mod sources;
mod string_enum;
pub mod tags;
pub mod talks;
pub mod tasks;
pub mod unsorted;
pub mod users;
pub mod webhook_subscriptions;
pub mod webhooks;
pub mod website_buttons;
pub mod widgets;

#[cfg(feature = "client")]
pub mod auth;
#[cfg(feature = "client")]
mod batch;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
mod crud;
#[cfg(feature = "client")]
mod handles;
#[cfg(feature = "client")]
mod raw;
#[cfg(feature = "client")]
mod request;
#[cfg(feature = "client")]
pub mod token_store;

pub use error::{Error, Result};
pub use rate_limit::RateLimit;
pub use retry::RetryPolicy;

#[cfg(feature = "client")]
pub use auth::{Auth, OAuthConfig, TokenSet};
#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder, Domain};
#[cfg(feature = "client")]
pub use raw::{ApiRequest, RawResponse};
#[cfg(feature = "client")]
pub use token_store::{FileTokenStore, MemoryTokenStore, TokenStore};

/// Re-exported: tokens are [`secrecy::SecretString`]s; read one with
/// [`secrecy::ExposeSecret`].
#[cfg(feature = "client")]
pub use secrecy;

/// The HTTP method of an [`ApiRequest`]: `http`'s, the type reqwest uses, so this crate's
/// semver is not tied to reqwest's.
#[cfg(feature = "client")]
pub use http::Method;

// The README's examples are compiled (and the webhook one run) with the doc tests.
#[cfg(all(doctest, feature = "client"))]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
