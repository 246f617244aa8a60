//! What the SQL outboxes share: row decoding, the columns they select, finish transitions.

use std::collections::HashMap;

use super::{Attempt, Finish, Item, ItemState, Job, Lane, OutboxError, OutboxStats, unix_millis};

/// The item columns every query selects, in [`ItemRow`] order.
macro_rules! item_columns {
    () => {
        "id, idem_key, partition_key, action, source, state, not_before_ms, created_at_ms, dead_reason, \
         lane"
    };
}
pub(super) use item_columns;

/// An `outbox_items` row as stored, before its JSON and state are checked.
#[derive(Debug)]
pub(super) struct ItemRow {
    pub id: i64,
    pub key: String,
    pub partition: String,
    /// The job's JSON (the column keeps its first name, `action`).
    pub action: String,
    pub source: String,
    pub state: String,
    pub not_before_ms: i64,
    pub created_at_ms: i64,
    pub dead_reason: Option<String>,
    pub lane: String,
}

impl ItemRow {
    /// The item, with its attempts (oldest first).
    pub fn into_item(self, attempts: Vec<Attempt>) -> Result<Item, OutboxError> {
        let id = self.id;
        let state = ItemState::parse(&self.state).ok_or_else(|| OutboxError::Corrupt {
            id,
            message: format!("unknown state `{}`", self.state),
        })?;
        let lane = Lane::parse(&self.lane).ok_or_else(|| OutboxError::Corrupt {
            id,
            message: format!("unknown lane `{}`", self.lane),
        })?;
        let job: Job = serde_json::from_str(&self.action).map_err(|e| OutboxError::Corrupt {
            id,
            message: e.to_string(),
        })?;
        Ok(Item {
            id,
            key: self.key,
            partition: self.partition,
            job,
            lane,
            source: self.source,
            state,
            attempts,
            not_before_ms: self.not_before_ms,
            created_at_ms: self.created_at_ms,
            dead_reason: self.dead_reason,
            folded: Vec::new(),
        })
    }
}

/// Items from rows and `(item id, attempt)` pairs (in attempt order), sorted by id.
pub(super) fn assemble(
    mut rows: Vec<ItemRow>,
    attempts: Vec<(i64, Attempt)>,
) -> Result<Vec<Item>, OutboxError> {
    rows.sort_by_key(|row| row.id);
    let mut by_item: HashMap<i64, Vec<Attempt>> = HashMap::new();
    for (id, attempt) in attempts {
        by_item.entry(id).or_default().push(attempt);
    }
    rows.into_iter()
        .map(|row| {
            let attempts = by_item.remove(&row.id).unwrap_or_default();
            row.into_item(attempts)
        })
        .collect()
}

/// The stored JSON of a job.
pub(super) fn job_json(job: &Job) -> Result<String, OutboxError> {
    serde_json::to_string(job)
        .map_err(|e| OutboxError::Storage(format!("cannot serialize a job: {e}")))
}

/// What a finish writes: the new state, a new `not_before` (retries), a dead reason, and a new
/// job (a planned job without its body).
pub(super) struct Transition {
    pub state: &'static str,
    pub not_before_ms: Option<i64>,
    pub dead_reason: Option<String>,
    pub job: Option<&'static str>,
}

impl Transition {
    pub fn of(finish: Finish) -> Self {
        let job = matches!(finish, Finish::Planned).then_some(super::PLANNED_JOB);
        let (state, not_before_ms, dead_reason) = match finish {
            Finish::Done | Finish::Planned => (ItemState::Done, None, None),
            Finish::AlreadyDone => (ItemState::AlreadyDone, None, None),
            Finish::RetryAt(at) => (ItemState::Pending, Some(unix_millis(at)), None),
            Finish::Dead(reason) => (ItemState::Dead, None, Some(reason)),
        };
        Transition {
            state: state.as_str(),
            not_before_ms,
            dead_reason,
            job,
        }
    }
}

/// Adds `count` items in the stored state `state` to `stats`.
pub(super) fn count_state(
    stats: &mut OutboxStats,
    state: &str,
    count: i64,
) -> Result<(), OutboxError> {
    let count = u64::try_from(count).unwrap_or_default();
    match ItemState::parse(state) {
        Some(ItemState::Pending) => stats.pending += count,
        Some(ItemState::Leased) => stats.leased += count,
        Some(ItemState::Done) => stats.done += count,
        Some(ItemState::AlreadyDone) => stats.already_done += count,
        Some(ItemState::Dead) => stats.dead += count,
        None => {
            return Err(OutboxError::Storage(format!(
                "outbox items in an unknown state `{state}`"
            )));
        }
    }
    Ok(())
}

/// A `usize` count as an SQL integer.
pub(super) fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
