//! The two sides the runtime talks to, as traits: implemented for `loops-client` and
//! `kommo-client` (see `loops_port.rs`, `kommo_port.rs`), and easy to fake in tests.

use std::fmt;
use std::time::Duration;

use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::events::{Event, EventsQuery};
use kommo_client::leads::Lead;
use kommo_client::pipelines::Pipeline;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSubscription};

use crate::plan::{DeleteContact, SendEvent, SendTransactional, UpsertContact};

/// A failed call, classified for the retry decision. Never contains secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortError {
    /// Worth trying again later: a rate limit, a 5xx, a timeout, a lost connection, an IP
    /// block. `after` is how long the other side asked to wait, when it said.
    Transient {
        /// The wait the other side asked for.
        after: Option<Duration>,
        /// What happened.
        reason: String,
    },
    /// Will fail the same way again: a validation error, a refused request.
    Permanent {
        /// What happened.
        reason: String,
    },
    /// The other side had already done it (a repeated idempotency key).
    AlreadyDone {
        /// What the other side said.
        reason: String,
    },
}

impl fmt::Display for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::Transient {
                after: Some(after),
                reason,
            } => write!(f, "{reason} (retry after {after:?})"),
            PortError::Transient {
                after: None,
                reason,
            } => write!(f, "{reason} (temporary)"),
            PortError::Permanent { reason } => f.write_str(reason),
            PortError::AlreadyDone { reason } => write!(f, "already done: {reason}"),
        }
    }
}

impl std::error::Error for PortError {}

/// The Loops operations the runtime needs.
#[async_trait::async_trait]
pub trait LoopsApi: Send + Sync + 'static {
    /// `PUT /v1/contacts/update`.
    async fn upsert_contact(&self, action: &UpsertContact) -> Result<(), PortError>;
    /// `POST /v1/events/send`, with the action's idempotency key.
    async fn send_event(&self, action: &SendEvent) -> Result<(), PortError>;
    /// `POST /v1/transactional`, with the action's idempotency key.
    async fn send_transactional(&self, action: &SendTransactional) -> Result<(), PortError>;
    /// `POST /v1/contacts/delete`; a contact that is already gone counts as done.
    async fn delete_contact(&self, action: &DeleteContact) -> Result<(), PortError>;
    /// Whether the contact with this email is subscribed (`GET /v1/contacts/find`) and its
    /// email suppressed (`GET /v1/contacts/suppression`); `None` when Loops has no such
    /// contact.
    async fn contact_status(&self, email: &str) -> Result<Option<LoopsContactStatus>, PortError>;
}

/// A Loops contact's state, as the API tells it now: what can be recovered of bounces and
/// unsubscribes whose webhooks were lost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopsContactStatus {
    /// Loops' contact id.
    pub id: String,
    /// Its `userId`, if set.
    pub user_id: Option<String>,
    /// Whether it receives campaign and workflow emails (`None` when Loops did not say).
    pub subscribed: Option<bool>,
    /// Whether Loops refuses to send to the email (after a hard bounce or a spam complaint).
    pub suppressed: bool,
}

impl LoopsContactStatus {
    /// A contact's state.
    pub fn new(
        id: impl Into<String>,
        user_id: Option<String>,
        subscribed: Option<bool>,
        suppressed: bool,
    ) -> Self {
        LoopsContactStatus {
            id: id.into(),
            user_id,
            subscribed,
            suppressed,
        }
    }
}

/// A Kommo entity a note, task or tag change lands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KommoEntity {
    /// A lead.
    Lead(u64),
    /// A contact.
    Contact(u64),
}

impl fmt::Display for KommoEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KommoEntity::Lead(id) => write!(f, "lead {id}"),
            KommoEntity::Contact(id) => write!(f, "contact {id}"),
        }
    }
}

/// The Kommo operations the runtime needs. Reads answer `Ok(None)` for an entity that does
/// not exist (Kommo's 204 or 404).
#[async_trait::async_trait]
pub trait KommoApi: Send + Sync + 'static {
    /// `GET /api/v4/leads/{id}?with=contacts`.
    async fn lead(&self, id: u64) -> Result<Option<Lead>, PortError>;
    /// `GET /api/v4/contacts/{id}?with=leads`.
    async fn contact(&self, id: u64) -> Result<Option<Contact>, PortError>;
    /// `GET /api/v4/companies/{id}?with=contacts`.
    async fn company(&self, id: u64) -> Result<Option<Company>, PortError>;
    /// `GET /api/v4/leads/pipelines`, with their statuses.
    async fn pipelines(&self) -> Result<Vec<Pipeline>, PortError>;
    /// Contacts whose EMAIL is exactly `email` (case-insensitive).
    async fn contacts_by_email(&self, email: &str) -> Result<Vec<Contact>, PortError>;
    /// The texts of the entity's most recent text notes, service messages and common notes
    /// (newest first, a few dozen at most).
    async fn recent_notes(&self, entity: KommoEntity) -> Result<Vec<String>, PortError>;
    /// Adds a note: a service message from [`NOTE_SERVICE`](super::NOTE_SERVICE), shown in
    /// Kommo as a system message rather than as a comment someone wrote.
    async fn add_note(&self, entity: KommoEntity, text: &str) -> Result<(), PortError>;
    /// The texts of the entity's open tasks.
    async fn open_tasks(&self, entity: KommoEntity) -> Result<Vec<String>, PortError>;
    /// Adds a task due at `due` (Unix seconds).
    async fn add_task(
        &self,
        entity: KommoEntity,
        text: &str,
        due: i64,
        task_type: Option<u64>,
    ) -> Result<(), PortError>;
    /// Adds and removes tags, leaving the others; returns the entity's new `updated_at`, so the
    /// webhook this write causes can be recognised as an echo.
    async fn change_tags(
        &self,
        entity: KommoEntity,
        add: &[String],
        remove: &[String],
    ) -> Result<Option<i64>, PortError>;
    /// Leads by id with their contacts (`GET /api/v4/leads?filter[id][]=...&with=contacts`), at
    /// most 250 ids; leads Kommo does not have are not in the answer.
    async fn leads_by_id(&self, ids: &[u64]) -> Result<Vec<Lead>, PortError>;
    /// Contacts by id (`GET /api/v4/contacts?filter[id][]=...&with=leads`), at most 250.
    async fn contacts_by_id(&self, ids: &[u64]) -> Result<Vec<Contact>, PortError>;
    /// Companies by id with their contacts (`GET /api/v4/companies?filter[id][]=...`), at
    /// most 250.
    async fn companies_by_id(&self, ids: &[u64]) -> Result<Vec<Company>, PortError>;
    /// One page of the events log (`GET /api/v4/events`), and whether another page follows.
    async fn events(&self, query: EventsQuery) -> Result<(Vec<Event>, bool), PortError>;
    /// The account's id and subdomain (`GET /api/v4/account`).
    async fn account(&self) -> Result<(u64, String), PortError>;
    /// The webhook subscription with exactly this destination (`GET /api/v4/webhooks`).
    async fn webhook_subscription(
        &self,
        destination: &str,
    ) -> Result<Option<WebhookSubscription>, PortError>;
    /// Saves a subscription (`POST /api/v4/webhooks`); saving a disabled one again enables it.
    async fn subscribe_webhook(
        &self,
        subscription: &Subscribe,
    ) -> Result<WebhookSubscription, PortError>;
}
