//! A typed client for the [Loops](https://loops.so) REST API v1, with webhook verification and
//! typed webhook events.
//!
//! - **Every core endpoint, typed**: contacts (create, upsert, find, delete), contact
//!   properties, mailing lists, events, transactional emails (send, list as a `Stream`),
//!   suppression, dedicated sending IPs, and a [raw escape hatch](Client::raw).
//! - **Nothing sent twice**: event and transactional sends always carry an
//!   [`IdempotencyKey`], reused on every retry; a repeated key is reported as
//!   [already done](Error::AlreadyDone), not as a failure.
//! - **Under the rate limit**: a pacer shared by all clones keeps to 10 requests/second (or
//!   what `x-ratelimit-limit` says), and 429s are retried after `Retry-After`.
//! - **Clear errors**: one [`Error`] enum, decided by status code and endpoint, that parses
//!   every error body shape Loops has used and keeps non-JSON bodies.
//! - **Checked before sending**: reserved property names, the 500-character value limit,
//!   missing or doubled identifiers.
//! - **Webhooks** ([`webhooks`]): constant-time signature checks, secret rotation, timestamp
//!   tolerance with `now` passed in, and a typed event enum that survives new event names.
//!
//! Without the default `client` feature, the crate has no HTTP or async dependencies: every
//! request type (as plain data, see [`ApiRequest`]), response type and the webhook verifier
//! remain available.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn run() -> Result<(), loops_client::Error> {
//! use loops_client::{Client, ContactProperties, SendTransactionalRequest, UpdateContactRequest};
//!
//! let client = Client::new(std::env::var("LOOPS_API_KEY").unwrap_or_default())?;
//!
//! // Create or update a contact.
//! client
//!     .update_contact(
//!         &UpdateContactRequest::by_email("ada@example.com")
//!             .properties(ContactProperties::new().first_name("Ada").user_group("customers")),
//!     )
//!     .await?;
//!
//! // Send a transactional email; retries reuse the same idempotency key.
//! let receipt = client
//!     .send_transactional(
//!         &SendTransactionalRequest::new("cl_welcome", "ada@example.com").data_variable("name", "Ada"),
//!     )
//!     .await?;
//! assert!(!receipt.idempotency_key.as_str().is_empty());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api_key;
mod contact_properties;
mod contacts;
mod endpoint;
mod error;
mod events;
mod idempotency;
mod mailing_lists;
mod pagination;
pub mod rate_limit;
pub mod retry;
mod sending_ips;
mod suppression;
mod transactional;
mod validate;
mod value;
pub mod webhooks;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod raw;
#[cfg(feature = "client")]
mod request;

pub use api_key::{ApiKeyInfo, test_api_key_request};
pub use contact_properties::{
    ContactPropertyDefinition, PropertyList, PropertyType, create_contact_property_request,
    list_contact_properties_request,
};
pub use contacts::{
    Contact, ContactId, ContactIdentity, ContactLookup, CreateContactRequest,
    DeleteContactResponse, OptInStatus, UpdateContactRequest,
};
pub use endpoint::{ApiRequest, Endpoint, Method};
pub use error::{ApiErrorBody, Error, TransportErrorKind};
pub use events::SendEventRequest;
pub use idempotency::{IdempotencyKey, MAX_IDEMPOTENCY_KEY_CHARS, SendReceipt};
pub use mailing_lists::{MailingList, list_mailing_lists_request};
pub use pagination::{Page, PageRequest, Pagination};
pub use rate_limit::{RateLimit, RateLimitInfo};
pub use retry::{RetryPolicy, RetrySafety};
pub use sending_ips::list_dedicated_sending_ips_request;
pub use suppression::{RemovalQuota, SuppressedContact, SuppressionRemoval, SuppressionStatus};
pub use transactional::{
    Attachment, SendTransactionalRequest, TransactionalEmail, TransactionalList,
    list_transactional_request,
};
pub use validate::{
    MAX_TRANSACTIONAL_BYTES, MAX_VALUE_CHARS, RESERVED_PROPERTY_NAMES, ValidationError,
};
pub use value::{
    ContactProperties, DataScalar, DataVariable, DataVariables, EventProperties, MailingLists,
    PropertyValue,
};

#[cfg(feature = "client")]
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_TIMEOUT};
#[cfg(feature = "client")]
pub use raw::RawResponse;
