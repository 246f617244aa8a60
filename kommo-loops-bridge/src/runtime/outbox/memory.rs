//! An outbox in memory: the contract without durability, for tests and the demo.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::fold::{MAX_FOLDED, foldable};
use super::{
    Attempt, Finish, Item, ItemState, Job, Lane, NewItem, Outbox, OutboxError, OutboxStats,
    from_unix_millis, unix_millis,
};

/// An outbox that lives in memory (lost when the process ends).
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// By id; ids grow with enqueue order.
    items: BTreeMap<i64, Item>,
    by_key: HashMap<String, i64>,
    /// Id to (worker, lease end in Unix ms).
    leases: HashMap<i64, (String, i64)>,
    next_id: i64,
}

impl MemoryOutbox {
    /// An empty outbox.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leases the claimable partition heads of `lane` (any with `None`), each with the upserts
    /// folding into it when `fold` is set.
    fn claim_heads(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
        fold: bool,
    ) -> Vec<Item> {
        let mut state = self.lock();
        let now_ms = unix_millis(now);
        let until = unix_millis(now + lease);
        // Partitions with a live lease wait, even when the leased item is not their oldest
        // unfinished one (a dead letter replayed while a newer item runs).
        let busy: HashSet<&str> = state
            .leases
            .iter()
            .filter(|(_, (_, end))| *end > now_ms)
            .filter_map(|(id, _)| state.items.get(id))
            .map(|item| item.partition.as_str())
            .collect();
        let mut seen_partitions = HashSet::new();
        let mut claimable = Vec::new();
        for item in state.items.values() {
            if claimable.len() >= max {
                break;
            }
            if item.state.is_final() || !seen_partitions.insert(item.partition.clone()) {
                // Only the oldest unfinished item of a partition may run.
                continue;
            }
            // A head of the other lane holds its partition: nothing behind it may pass it.
            if busy.contains(item.partition.as_str()) || lane.is_some_and(|l| l != item.lane) {
                continue;
            }
            let free = match item.state {
                ItemState::Pending => item.not_before_ms <= now_ms,
                ItemState::Leased => state
                    .leases
                    .get(&item.id)
                    .is_none_or(|(_, end)| *end <= now_ms),
                _ => false,
            };
            if free {
                claimable.push(item.id);
            }
        }
        let mut claimed = Vec::with_capacity(claimable.len());
        for id in claimable {
            let folded: Vec<i64> = match state.items.get(&id) {
                Some(head) if fold => {
                    let following: Vec<Item> = state
                        .items
                        .range(id + 1..)
                        .map(|(_, item)| item)
                        .filter(|item| !item.state.is_final() && item.partition == head.partition)
                        .take(MAX_FOLDED)
                        .cloned()
                        .collect();
                    let n = foldable(head, &following, now_ms);
                    following.iter().take(n).map(|i| i.id).collect()
                }
                _ => Vec::new(),
            };
            let mut folded_items = Vec::with_capacity(folded.len());
            for fid in folded {
                state.leases.insert(fid, (worker.to_owned(), until));
                if let Some(item) = state.items.get_mut(&fid) {
                    item.state = ItemState::Leased;
                    folded_items.push(item.clone());
                }
            }
            state.leases.insert(id, (worker.to_owned(), until));
            if let Some(item) = state.items.get_mut(&id) {
                item.state = ItemState::Leased;
                let mut item = item.clone();
                item.folded = folded_items;
                claimed.push(item);
            }
        }
        claimed
    }
}

#[async_trait::async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue(&self, items: Vec<NewItem>, now: SystemTime) -> Result<usize, OutboxError> {
        let mut state = self.lock();
        let now_ms = unix_millis(now);
        let mut added = 0;
        for new in items {
            if state.by_key.contains_key(&new.key) {
                continue;
            }
            state.next_id += 1;
            let id = state.next_id;
            state.by_key.insert(new.key.clone(), id);
            state.items.insert(
                id,
                Item {
                    id,
                    key: new.key,
                    partition: new.partition,
                    lane: new.job.lane(),
                    job: new.job,
                    source: new.source,
                    state: ItemState::Pending,
                    attempts: Vec::new(),
                    not_before_ms: now_ms,
                    created_at_ms: now_ms,
                    dead_reason: None,
                    folded: Vec::new(),
                },
            );
            added += 1;
        }
        Ok(added)
    }

    async fn claim(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Vec<Item>, OutboxError> {
        Ok(self.claim_heads(worker, lane, max, now, lease, false))
    }

    async fn claim_coalescing(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Vec<Item>, OutboxError> {
        Ok(self.claim_heads(worker, lane, max, now, lease, true))
    }

    async fn finish(
        &self,
        id: i64,
        worker: &str,
        finish: Finish,
        attempt: Attempt,
    ) -> Result<(), OutboxError> {
        let mut state = self.lock();
        match state.leases.get(&id) {
            Some((holder, _)) if holder == worker => {}
            _ => return Err(OutboxError::LeaseLost { id }),
        }
        let item = state
            .items
            .get_mut(&id)
            .ok_or(OutboxError::NotFound { id })?;
        if item.state != ItemState::Leased {
            return Err(OutboxError::LeaseLost { id });
        }
        item.attempts.push(attempt);
        match finish {
            Finish::Done => item.state = ItemState::Done,
            Finish::Planned => {
                item.state = ItemState::Done;
                item.job = Job::PlanKommo {
                    body: String::new(),
                };
            }
            Finish::AlreadyDone => item.state = ItemState::AlreadyDone,
            Finish::RetryAt(at) => {
                item.state = ItemState::Pending;
                item.not_before_ms = unix_millis(at);
            }
            Finish::Dead(reason) => {
                item.state = ItemState::Dead;
                item.dead_reason = Some(reason);
            }
        }
        state.leases.remove(&id);
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<Item>, OutboxError> {
        Ok(self
            .lock()
            .items
            .values()
            .filter(|i| i.state == ItemState::Dead)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn latest_dead_letter(&self) -> Result<Option<Item>, OutboxError> {
        Ok(self
            .lock()
            .items
            .values()
            .rev()
            .find(|i| i.state == ItemState::Dead)
            .cloned())
    }

    async fn replay(&self, ids: &[i64], now: SystemTime) -> Result<usize, OutboxError> {
        let mut state = self.lock();
        let mut replayed = 0;
        for id in ids {
            if let Some(item) = state.items.get_mut(id)
                && item.state == ItemState::Dead
            {
                item.state = ItemState::Pending;
                item.not_before_ms = unix_millis(now);
                item.dead_reason = None;
                replayed += 1;
            }
        }
        Ok(replayed)
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, OutboxError> {
        let state = self.lock();
        Ok(state
            .by_key
            .get(key)
            .and_then(|id| state.items.get(id))
            .cloned())
    }

    async fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let mut stats = OutboxStats::default();
        for item in self.lock().items.values() {
            match item.state {
                ItemState::Pending => stats.pending += 1,
                ItemState::Leased => stats.leased += 1,
                ItemState::Done => stats.done += 1,
                ItemState::AlreadyDone => stats.already_done += 1,
                ItemState::Dead => stats.dead += 1,
            }
        }
        Ok(stats)
    }

    async fn next_due(&self, lane: Option<Lane>) -> Result<Option<SystemTime>, OutboxError> {
        Ok(self
            .lock()
            .items
            .values()
            .filter(|i| i.state == ItemState::Pending && lane.is_none_or(|l| l == i.lane))
            .map(|i| i.not_before_ms)
            .min()
            .map(from_unix_millis))
    }

    async fn oldest_unplanned_delivery(&self) -> Result<Option<SystemTime>, OutboxError> {
        Ok(self
            .lock()
            .items
            .values()
            .filter(|i| !i.state.is_final() && matches!(i.job, Job::PlanKommo { .. }))
            .map(|i| i.created_at_ms)
            .min()
            .map(from_unix_millis))
    }
}
