//! A total parser (and an encoder) for Kommo webhooks.
//!
//! Kommo posts account webhooks as `application/x-www-form-urlencoded` with PHP bracket keys,
//! every value a string, in the legacy (API v2) field set:
//!
//! ```text
//! leads[status][0][id]=30267969&leads[status][0][status_id]=142&...&account[subdomain]=acme
//! ```
//!
//! [`parse`] turns the raw body into a [`WebhookPayload`]: the sending account and every event
//! in the body (several entities and several event groups per body are all returned, and key
//! order never matters). It is total and bounded: any input yields a payload or a
//! [`WebhookError`], never a panic, within the [`Limits`].
//!
//! ```
//! use kommo_client::ids::StatusId;
//! use kommo_client::webhooks::{self, EventKind};
//!
//! let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=30267969\
//!     &leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142\
//!     &leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=16525555\
//!     &leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=788512\
//!     &account%5Bsubdomain%5D=acme&account%5Bid%5D=16503244";
//! let payload = webhooks::parse(body.as_bytes())?;
//! assert_eq!(payload.account.subdomain.as_deref(), Some("acme"));
//!
//! let event = &payload.events[0];
//! assert_eq!(event.kind, EventKind::LeadStatusChanged);
//! let lead = event.lead().expect("a lead event carries a lead");
//! assert_eq!(lead.status_id, Some(StatusId::WON));
//! assert_eq!(lead.old_status_id, Some(StatusId(16525555)));
//! # Ok::<(), kommo_client::webhooks::WebhookError>(())
//! ```
//!
//! Company events arrive under `contacts[...]` with `type=company` and are reported as
//! `Company*` kinds carrying [`WebhookEntity::Company`]. Events the crate does not model
//! (customers, catalogs, future types) are [`EventKind::Unknown`] with the raw subtree, so a
//! handler can acknowledge them and move on.
//!
//! Use [`should_acknowledge`] in the HTTP handler to decide the status code, and
//! [`encode`](encode::encode) (or [`WebhookPayload::encode`]) to produce bodies for tests and
//! fakes.
//!
//! Account webhooks are not signed; treat them as hints and re-read the entity through the API
//! (or protect the endpoint with a secret in its URL).

mod ack;
mod activity;
mod chat;
pub mod encode;
mod entities;
mod events;
mod fields;
pub mod form;

pub use ack::{AckDecision, should_acknowledge, should_acknowledge_with_limits};
pub use activity::{WebhookNote, WebhookTask};
pub use chat::{
    WebhookAttachment, WebhookMessage, WebhookMessageAuthor, WebhookTalk, WebhookUnsorted,
};
pub use entities::{
    WebhookContact, WebhookCustomField, WebhookFieldValue, WebhookLead, WebhookTag,
};
pub use events::{
    DigitalPipelineTrigger, EventKind, WebhookAccount, WebhookEntity, WebhookEvent, WebhookPayload,
};
pub use fields::Extra;

/// Bounds on what the parser accepts. Every limit has an error of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest body, in bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// The most `key=value` pairs (default 20 000).
    pub max_pairs: usize,
    /// The most segments in one key, the top-level name included (default 10; Kommo's deepest
    /// known key, `leads[status][0][custom_fields][0][values][0][value]`, has 7).
    pub max_depth: usize,
    /// The largest index at a list position: entities, custom fields, values, tags (default
    /// 10 000).
    pub max_index: u64,
    /// The most entities in one body, over all groups (default 1 000).
    pub max_entities: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_pairs: 20_000,
            max_depth: 10,
            max_index: 10_000,
            max_entities: 1_000,
        }
    }
}

impl Limits {
    /// Sets the body size limit.
    #[must_use]
    pub fn with_max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Sets the pair limit.
    #[must_use]
    pub fn with_max_pairs(mut self, n: usize) -> Self {
        self.max_pairs = n;
        self
    }

    /// Sets the key depth limit (at least 1).
    #[must_use]
    pub fn with_max_depth(mut self, n: usize) -> Self {
        self.max_depth = n.max(1);
        self
    }

    /// Sets the list index limit.
    #[must_use]
    pub fn with_max_index(mut self, n: u64) -> Self {
        self.max_index = n;
        self
    }

    /// Sets the entity limit.
    #[must_use]
    pub fn with_max_entities(mut self, n: usize) -> Self {
        self.max_entities = n;
        self
    }
}

/// Why a webhook body was rejected. Keys in errors are cut to a printable length; values never
/// appear.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The body is larger than [`Limits::max_body_bytes`].
    #[error("webhook body is {size} bytes, over the {limit}-byte limit")]
    BodyTooLarge {
        /// The body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// More pairs than [`Limits::max_pairs`].
    #[error("webhook body has more than {limit} pairs")]
    TooManyPairs {
        /// The limit.
        limit: usize,
    },
    /// A key or value is not valid UTF-8 after percent-decoding.
    #[error("pair {pair} of the webhook body is not valid UTF-8")]
    InvalidUtf8 {
        /// The 0-based position of the pair in the body.
        pair: usize,
    },
    /// A key is not `name[segment]...`.
    #[error("malformed webhook key {key:?}")]
    MalformedKey {
        /// The decoded key.
        key: String,
    },
    /// A key has more segments than [`Limits::max_depth`].
    #[error("webhook key {key:?} is deeper than {limit} segments")]
    DepthExceeded {
        /// The decoded key.
        key: String,
        /// The limit.
        limit: usize,
    },
    /// A path is used both as a value and as a map.
    #[error("webhook key {key:?} is both a value and a map")]
    Conflict {
        /// The decoded key that clashed.
        key: String,
    },
    /// An index at a list position is larger than [`Limits::max_index`].
    #[error("index {index} under {path} exceeds the limit of {limit}")]
    IndexTooLarge {
        /// Where the index was.
        path: String,
        /// The index.
        index: String,
        /// The limit.
        limit: u64,
    },
    /// More entities than [`Limits::max_entities`].
    #[error("webhook body has more than {limit} entities")]
    TooManyEntities {
        /// The limit.
        limit: usize,
    },
    /// The request's content type is not `application/x-www-form-urlencoded`.
    #[error("unsupported webhook content type {found:?}")]
    UnsupportedContentType {
        /// The content type received.
        found: String,
    },
}

/// Parses a webhook body with the default [`Limits`].
///
/// # Errors
///
/// A [`WebhookError`] when the body breaks a limit, is not valid UTF-8 after decoding, or has
/// malformed or conflicting keys. Unknown event types are not errors.
pub fn parse(body: &[u8]) -> Result<WebhookPayload, WebhookError> {
    parse_with_limits(body, &Limits::default())
}

/// Parses a webhook body with explicit [`Limits`].
///
/// # Errors
///
/// As [`parse`].
pub fn parse_with_limits(body: &[u8], limits: &Limits) -> Result<WebhookPayload, WebhookError> {
    let tree = form::parse_tree(body, limits)?;
    WebhookPayload::from_tree(tree, limits)
}
