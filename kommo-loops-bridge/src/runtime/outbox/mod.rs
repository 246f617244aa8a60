//! The outbox: planned actions stored durably before a webhook is acknowledged, then executed
//! by workers with retries, in order per partition, exactly once per idempotency key.
//!
//! Implementations: [`MemoryOutbox`] (tests, the demo), `SqliteOutbox` (`sqlite` feature:
//! embedded, the default for a single instance) and `PostgresOutbox` (`postgres` feature:
//! several instances behind a load balancer, claiming rows with `FOR UPDATE SKIP LOCKED` under
//! per-partition advisory locks). The SQL ones also implement
//! [`StateStore`](crate::runtime::StateStore) in the same database. They share one contract,
//! checked by the same conformance tests (`tests/outbox`).
//!
//! The contract:
//! - [`enqueue`](Outbox::enqueue) stores each item unless an item with the same idempotency key
//!   exists (in any state, done or dead included): a redelivered webhook adds nothing.
//! - [`claim`](Outbox::claim) hands out due items (`not_before <= now`) under a lease. Within a
//!   partition only the oldest unfinished item can be claimed, and only when no other item of
//!   that partition is leased, so actions for one entity run in order while different entities
//!   run in parallel. An item whose lease expired (its worker died) can be claimed again.
//! - Every item belongs to the [`Lane`] of the API whose rate it spends, stored with it. A
//!   claim for one lane hands out only heads of that lane: a partition whose head is in the
//!   other lane waits for it (nothing is claimed past it), so lanes never reorder a partition.
//! - [`claim_coalescing`](Outbox::claim_coalescing) claims the same heads, and with a head
//!   that upserts a Loops contact it also leases the upserts of that contact directly
//!   following it (a burst of edits), for the worker to send as one call.
//! - [`finish`](Outbox::finish) records an attempt and moves the item on (done, already done,
//!   retry later, dead letter). It fails with [`OutboxError::LeaseLost`] when the caller no
//!   longer holds the lease, so two workers never both complete one item.
//! - Dead letters keep their attempt history; [`replay`](Outbox::replay) puts them back as they
//!   were, idempotency key included, so a replay can never double-send.

mod fold;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::time::{Duration, SystemTime};

pub(crate) use fold::coalesce;
pub use memory::MemoryOutbox;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresOutbox};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteDurability, SqliteOutbox};

use crate::plan::Action;

/// What an outbox item asks a worker to do.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Job {
    /// Execute one planned action.
    Execute {
        /// The action.
        action: Action,
    },
    /// Plan a Kommo webhook delivery (fetching what the engine needs), then enqueue its
    /// actions. Stored before the webhook is acknowledged, so Kommo's 2-second window never
    /// waits for the Kommo API.
    PlanKommo {
        /// The raw form-encoded body, as received.
        body: String,
    },
    /// Plan a change found in Kommo's events log that no webhook brought (the catch-up),
    /// fetching what the engine needs, then enqueue its actions. Keyed by the change and its
    /// occurrence, so two instances catching up over one window store it once.
    PlanKommoChange {
        /// The change, with the occurrence it was resolved to.
        change: crate::runtime::catch_up::LoggedChange,
    },
}

impl Job {
    /// The lane of the API whose rate the job spends: planning reads Kommo, and an action
    /// calls the API its type names.
    pub fn lane(&self) -> Lane {
        match self {
            Job::Execute { action } => Lane::of(action),
            Job::PlanKommo { .. } | Job::PlanKommoChange { .. } => Lane::Kommo,
        }
    }
}

/// Which API's rate an outbox item spends. Workers claim per lane, so jobs waiting on one
/// API's rate limit never hold up the other API's (see docs/architecture.md, "Lanes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Lane {
    /// Kommo reads and writes: planning jobs and `kommo.*` actions.
    Kommo,
    /// Loops calls: `loops.*` actions.
    Loops,
}

impl Lane {
    /// Every lane.
    pub const ALL: [Lane; 2] = [Lane::Kommo, Lane::Loops];

    /// The lane of an action.
    pub fn of(action: &Action) -> Lane {
        match action {
            Action::UpsertContact(_)
            | Action::SendEvent(_)
            | Action::SendTransactional(_)
            | Action::DeleteContact(_) => Lane::Loops,
            Action::AddNote(_) | Action::AddTask(_) | Action::AddTags(_) => Lane::Kommo,
        }
    }

    /// The name stored in databases.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Kommo => "kommo",
            Lane::Loops => "loops",
        }
    }

    /// Parses [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<Lane> {
        match s {
            "kommo" => Some(Lane::Kommo),
            "loops" => Some(Lane::Loops),
            _ => None,
        }
    }
}

impl std::fmt::Display for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An item to store.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewItem {
    /// The idempotency key; unique in the outbox.
    pub key: String,
    /// Items of one partition run one at a time, in enqueue order.
    pub partition: String,
    /// What to do.
    pub job: Job,
    /// Where it came from, for operators (e.g. `kommo:<request id>` or `loops:<webhook-id>`).
    pub source: String,
}

impl NewItem {
    /// An item executing an action, keyed by its idempotency key and partitioned by
    /// [`Action::ordering_key`].
    pub fn action(action: Action, source: impl Into<String>) -> Self {
        NewItem {
            key: action.idempotency_key().to_owned(),
            partition: action.ordering_key(),
            job: Job::Execute { action },
            source: source.into(),
        }
    }

    /// An item planning a change found in Kommo's events log, keyed by `key`, in the
    /// partition of its entity (the same as the entity's webhook deliveries).
    pub fn plan_kommo_change(
        key: impl Into<String>,
        change: crate::runtime::catch_up::LoggedChange,
        source: impl Into<String>,
    ) -> Self {
        NewItem {
            key: key.into(),
            partition: format!(
                "kommo:{}:{}:{}",
                change.account_id,
                change.entity(),
                change.entity_id
            ),
            job: Job::PlanKommoChange { change },
            source: source.into(),
        }
    }

    /// An item planning a Kommo delivery.
    pub fn plan_kommo(
        key: impl Into<String>,
        partition: impl Into<String>,
        body: String,
        source: impl Into<String>,
    ) -> Self {
        NewItem {
            key: key.into(),
            partition: partition.into(),
            job: Job::PlanKommo { body },
            source: source.into(),
        }
    }
}

/// Where an item is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ItemState {
    /// Waiting to run (possibly not before some time, after a failed attempt).
    Pending,
    /// Claimed by a worker until its lease expires.
    Leased,
    /// Executed.
    Done,
    /// The other side had already done it (a repeated idempotency key): success.
    AlreadyDone,
    /// Given up on, with a reason; can be replayed.
    Dead,
}

impl ItemState {
    /// The name stored in databases.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Pending => "pending",
            ItemState::Leased => "leased",
            ItemState::Done => "done",
            ItemState::AlreadyDone => "already_done",
            ItemState::Dead => "dead",
        }
    }

    /// Parses [`as_str`](Self::as_str).
    pub fn parse(s: &str) -> Option<ItemState> {
        Some(match s {
            "pending" => ItemState::Pending,
            "leased" => ItemState::Leased,
            "done" => ItemState::Done,
            "already_done" => ItemState::AlreadyDone,
            "dead" => ItemState::Dead,
            _ => return None,
        })
    }

    /// Whether the item will not run again (unless replayed).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ItemState::Done | ItemState::AlreadyDone | ItemState::Dead
        )
    }
}

/// One execution attempt, kept in the item's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Attempt {
    /// When it ended, as Unix milliseconds.
    pub at_ms: i64,
    /// `done`, `already_done`, `skipped`, `retry` (a failure counted against the attempts),
    /// `wait` (a wait the other side asked for), `failed` (the item became a dead letter),
    /// `folded` (an upsert folded into another item that will run again) or `released` (an
    /// upsert folded into another item that failed for good, back to run without it).
    pub outcome: String,
    /// What happened (an error message, a status).
    pub detail: String,
}

impl Attempt {
    /// An attempt that ended at `at`.
    pub fn new(at: SystemTime, outcome: impl Into<String>, detail: impl Into<String>) -> Self {
        Attempt {
            at_ms: unix_millis(at),
            outcome: outcome.into(),
            detail: detail.into(),
        }
    }
}

/// A stored item.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Item {
    /// The outbox's id for it.
    pub id: i64,
    /// The idempotency key.
    pub key: String,
    /// Its partition.
    pub partition: String,
    /// What to do.
    pub job: Job,
    /// The lane it is claimed in (its job's [`Job::lane`], stored when it was enqueued).
    pub lane: Lane,
    /// Where it came from.
    pub source: String,
    /// Its state.
    pub state: ItemState,
    /// Attempts so far, oldest first.
    pub attempts: Vec<Attempt>,
    /// Not to run before this time (Unix milliseconds).
    pub not_before_ms: i64,
    /// When it was enqueued (Unix milliseconds).
    pub created_at_ms: i64,
    /// Why it is dead, when it is.
    pub dead_reason: Option<String>,
    /// Upserts of the same contact leased with this one by
    /// [`claim_coalescing`](Outbox::claim_coalescing), oldest first: the worker sends one call
    /// for all of them and finishes each. Empty otherwise.
    pub folded: Vec<Item>,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finish {
    /// Executed.
    Done,
    /// A planning job ([`Job::PlanKommo`]) succeeded: done, and the delivery body it kept,
    /// no longer needed once its actions are stored, is dropped (the item stays, key and
    /// history included, so a redelivery of the same body is still recognised). The outbox
    /// then holds what the plan needs, not every body ever received.
    Planned,
    /// The other side had already done it.
    AlreadyDone,
    /// Try again, not before this time.
    RetryAt(SystemTime),
    /// Give up, with this reason.
    Dead(String),
}

/// Counts of items per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxStats {
    /// Waiting to run.
    pub pending: u64,
    /// Being run.
    pub leased: u64,
    /// Executed.
    pub done: u64,
    /// Already done on the other side.
    pub already_done: u64,
    /// Dead letters.
    pub dead: u64,
}

impl OutboxStats {
    /// Items that will still run.
    pub fn unfinished(&self) -> u64 {
        self.pending + self.leased
    }
}

/// An outbox failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The worker's lease on the item expired and another worker may hold it now.
    #[error("the lease on outbox item {id} was lost")]
    LeaseLost {
        /// The item.
        id: i64,
    },
    /// No such item.
    #[error("no outbox item {id}")]
    NotFound {
        /// The item.
        id: i64,
    },
    /// The storage failed (database error, IO error).
    #[error("outbox storage: {0}")]
    Storage(String),
    /// The file or schema named is not a bridge outbox (missing, empty where an existing
    /// outbox was expected, or another program's data); nothing was written to it.
    #[error("{0}")]
    NotAnOutbox(String),
    /// A stored action could not be read back.
    #[error("outbox item {id} holds an unreadable action: {message}")]
    Corrupt {
        /// The item.
        id: i64,
        /// What is wrong.
        message: String,
    },
}

/// Durable storage of planned actions. See the module docs for the contract.
#[async_trait::async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Stores the items whose keys are new, atomically; returns how many were new.
    async fn enqueue(&self, items: Vec<NewItem>, now: SystemTime) -> Result<usize, OutboxError>;

    /// Leases up to `max` due items to `worker` until `now + lease`: items of `lane` only, or
    /// of any lane with `None`.
    async fn claim(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Vec<Item>, OutboxError>;

    /// Like [`claim`](Self::claim), and when a claimed item upserts a Loops contact, also
    /// leases the upserts of the same contact that directly follow it in its partition (pending
    /// and due; at most a few dozen) and returns them in its [`Item::folded`]. The run stops
    /// at the first item that is anything else, so nothing moves past an event or another
    /// action of the partition. Folded items are leased like the claimed one: the caller
    /// finishes each of them.
    async fn claim_coalescing(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Vec<Item>, OutboxError>;

    /// Records an attempt on a leased item and moves it on.
    async fn finish(
        &self,
        id: i64,
        worker: &str,
        finish: Finish,
        attempt: Attempt,
    ) -> Result<(), OutboxError>;

    /// Dead letters, oldest first.
    async fn dead_letters(&self, limit: usize) -> Result<Vec<Item>, OutboxError>;

    /// The newest dead letter (the last enqueued of them), for a health report that names
    /// the latest reason. The stores answer it with one indexed read; this default reads
    /// every dead letter.
    async fn latest_dead_letter(&self) -> Result<Option<Item>, OutboxError> {
        Ok(self.dead_letters(usize::MAX).await?.pop())
    }

    /// Puts dead letters back to pending (same key, history kept); returns how many.
    async fn replay(&self, ids: &[i64], now: SystemTime) -> Result<usize, OutboxError>;

    /// One item by idempotency key.
    async fn get(&self, key: &str) -> Result<Option<Item>, OutboxError>;

    /// Counts per state.
    async fn stats(&self) -> Result<OutboxStats, OutboxError>;

    /// The earliest `not_before` of a pending item (of `lane`, or of any lane with `None`), so
    /// an idle worker knows how long to sleep.
    async fn next_due(&self, lane: Option<Lane>) -> Result<Option<SystemTime>, OutboxError>;

    /// When the oldest Kommo delivery still waiting to be planned ([`Job::PlanKommo`], pending
    /// or leased) was stored: the catch-up reads Kommo's events log only up to there, so it
    /// never finds a change whose webhook is already in the outbox.
    async fn oldest_unplanned_delivery(&self) -> Result<Option<SystemTime>, OutboxError>;
}

/// How a stored [`Job::PlanKommo`] begins (its JSON is tagged first), for the SQL stores to
/// find unplanned deliveries without decoding every job.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) const PLAN_KOMMO_PREFIX: &str = r#"{"job":"plan_kommo","#;

/// The stored job of a planning job once planned: its body dropped.
pub(crate) const PLANNED_JOB: &str = r#"{"job":"plan_kommo","body":""}"#;

/// Unix milliseconds of a time (negative before 1970).
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The time of Unix milliseconds.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn from_unix_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}
