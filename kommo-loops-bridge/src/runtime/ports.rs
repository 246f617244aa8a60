//! The two sides the runtime talks to, as traits: implemented for `loops-client` and
//! `kommo-client` (see `loops_port.rs`, `kommo_port.rs`), and easy to fake in tests.

use std::collections::BTreeMap;
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

impl KommoEntity {
    /// The entity's id.
    pub fn id(self) -> u64 {
        match self {
            KommoEntity::Lead(id) | KommoEntity::Contact(id) => id,
        }
    }

    /// Whether two entities are of the same type (both leads, or both contacts): what one
    /// batch request of Kommo's can hold.
    pub fn same_type(self, other: KommoEntity) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

/// One note of a batch add ([`KommoApi::add_notes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KommoNote {
    /// Where it lands.
    pub entity: KommoEntity,
    /// Its text.
    pub text: String,
}

impl KommoNote {
    /// A note.
    pub fn new(entity: KommoEntity, text: impl Into<String>) -> Self {
        KommoNote {
            entity,
            text: text.into(),
        }
    }
}

/// One task of a batch add ([`KommoApi::add_tasks`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KommoTask {
    /// Where it lands.
    pub entity: KommoEntity,
    /// Its text.
    pub text: String,
    /// When it is due (Unix seconds).
    pub due: i64,
    /// The Kommo task type, or Kommo's default.
    pub task_type: Option<u64>,
}

impl KommoTask {
    /// A task.
    pub fn new(
        entity: KommoEntity,
        text: impl Into<String>,
        due: i64,
        task_type: Option<u64>,
    ) -> Self {
        KommoTask {
            entity,
            text: text.into(),
            due,
            task_type,
        }
    }
}

/// One entity's tag change of a batch ([`KommoApi::change_tags_of`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagChange {
    /// The entity.
    pub entity: KommoEntity,
    /// Tags to add.
    pub add: Vec<String>,
    /// Tags to remove.
    pub remove: Vec<String>,
}

impl TagChange {
    /// A tag change.
    pub fn new(entity: KommoEntity, add: Vec<String>, remove: Vec<String>) -> Self {
        TagChange {
            entity,
            add,
            remove,
        }
    }
}

/// What each item of a batch write came to, in the order the items were given.
pub type BatchOutcome<T> = Vec<Result<T, PortError>>;

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
    /// [`recent_notes`](Self::recent_notes) of many entities at once (one request for entities
    /// of one type, `GET /api/v4/{entity}/notes?filter[entity_id][]=...`), keyed by entity;
    /// an entity without notes may be missing from the answer. The default asks entity by
    /// entity.
    async fn recent_notes_of(
        &self,
        entities: &[KommoEntity],
    ) -> Result<BTreeMap<KommoEntity, Vec<String>>, PortError> {
        let mut notes = BTreeMap::new();
        for &entity in entities {
            notes.insert(entity, self.recent_notes(entity).await?);
        }
        Ok(notes)
    }
    /// Adds many notes (one request for notes on entities of one type); what each came to, in
    /// order. A refusal that names one note fails only that note. The default adds them one by
    /// one, and stops at a failure worth retrying (the rest get the same error).
    async fn add_notes(&self, notes: &[KommoNote]) -> BatchOutcome<()> {
        one_by_one(notes, |n| self.add_note(n.entity, &n.text)).await
    }
    /// [`open_tasks`](Self::open_tasks) of many entities at once (one request for entities of
    /// one type), keyed by entity; an entity without open tasks may be missing. The default
    /// asks entity by entity.
    async fn open_tasks_of(
        &self,
        entities: &[KommoEntity],
    ) -> Result<BTreeMap<KommoEntity, Vec<String>>, PortError> {
        let mut tasks = BTreeMap::new();
        for &entity in entities {
            tasks.insert(entity, self.open_tasks(entity).await?);
        }
        Ok(tasks)
    }
    /// Adds many tasks in one request; what each came to, in order. As
    /// [`add_notes`](Self::add_notes) otherwise.
    async fn add_tasks(&self, tasks: &[KommoTask]) -> BatchOutcome<()> {
        one_by_one(tasks, |t| {
            self.add_task(t.entity, &t.text, t.due, t.task_type)
        })
        .await
    }
    /// [`change_tags`](Self::change_tags) on many entities (one `PATCH` for entities of one
    /// type); each entity's new `updated_at`, in order. As [`add_notes`](Self::add_notes)
    /// otherwise.
    async fn change_tags_of(&self, changes: &[TagChange]) -> BatchOutcome<Option<i64>> {
        one_by_one(changes, |c| self.change_tags(c.entity, &c.add, &c.remove)).await
    }
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

/// Runs `call` on each item in turn. After a failure worth retrying (a rate limit, an outage)
/// the rest are not tried: they get the same error, to be retried with it.
async fn one_by_one<'a, I, T, F, Fut>(items: &'a [I], call: F) -> BatchOutcome<T>
where
    F: Fn(&'a I) -> Fut,
    Fut: Future<Output = Result<T, PortError>>,
{
    let mut out = Vec::with_capacity(items.len());
    let mut stop: Option<PortError> = None;
    for item in items {
        if let Some(error) = &stop {
            out.push(Err(error.clone()));
            continue;
        }
        let result = call(item).await;
        if let Err(error @ PortError::Transient { .. }) = &result {
            stop = Some(error.clone());
        }
        out.push(result);
    }
    out
}
