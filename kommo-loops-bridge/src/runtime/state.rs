//! What the runtime remembers between deliveries: which deliveries it has seen, the newest
//! version of each entity it has planned from, the email it last synced per contact, the
//! changes it has seen (by webhook or in Kommo's events log) and how far the catch-up has
//! read the log. The SQLite and PostgreSQL stores keep this next to the outbox, in the same
//! database.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::changes::{ChangeRecord, Observation, Resolution, resolve_changes};
use super::outbox::{OutboxError, unix_millis};

/// The tolerance in whole seconds, as [`resolve_changes`] takes it.
pub(crate) fn tolerance_secs(tolerance: Duration) -> i64 {
    i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX)
}

/// Durable memory of the runtime.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync + 'static {
    /// Records a delivery id (a Loops `webhook-id`) in `scope`; `false` when it was seen before.
    async fn first_delivery(
        &self,
        scope: &str,
        id: &str,
        now: SystemTime,
    ) -> Result<bool, OutboxError>;

    /// Records that `entity` (e.g. `31000001:contact:5101`) was planned at `version` (its
    /// `updated_at`); `false` when a newer version was planned already, so this one is stale.
    async fn advance_version(&self, entity: &str, version: i64) -> Result<bool, OutboxError>;

    /// The email last synced to Loops for a Kommo contact (`account:contact id`).
    async fn synced_email(&self, contact: &str) -> Result<Option<String>, OutboxError>;

    /// Remembers the email synced to Loops for a Kommo contact.
    async fn set_synced_email(&self, contact: &str, email: &str) -> Result<(), OutboxError>;

    /// The hash of the upsert last delivered to Loops for `contact` (its email, lowercased).
    async fn delivered_upsert(&self, contact: &str) -> Result<Option<String>, OutboxError>;

    /// Remembers the hash of the upsert just delivered for `contact` (its email, lowercased),
    /// sent with `user_id`. Written only after Loops accepted the call.
    async fn set_delivered_upsert(
        &self,
        contact: &str,
        user_id: Option<&str>,
        hash: &str,
    ) -> Result<(), OutboxError>;

    /// Forgets what was delivered for the contact with this email (lowercased) or this
    /// userId, before it is deleted in Loops: an upsert after the delete is sent again.
    async fn forget_delivered_upsert(
        &self,
        contact: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<(), OutboxError>;

    /// Contacts with the email last synced to Loops, `(contact, email)` in contact order,
    /// starting after `after`, at most `limit`: the contacts the rules care about.
    async fn synced_contacts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, OutboxError>;

    /// Resolves sightings of changes to the changes they are, atomically: reads the records
    /// of their keys, applies [`resolve_changes`] with `tolerance` and stores what it returns,
    /// so that two callers (two instances) resolving the same change see each other's
    /// sightings. Returns one resolution per observation, in order.
    async fn observe_changes(
        &self,
        observations: &[Observation],
        tolerance: Duration,
    ) -> Result<Vec<Resolution>, OutboxError>;

    /// The stored records of these change keys (for a dry run, which resolves without
    /// storing).
    async fn changes(&self, keys: &[String]) -> Result<Vec<ChangeRecord>, OutboxError>;

    /// How far the catch-up named `name` has read Kommo's events log (Unix seconds).
    async fn watermark(&self, name: &str) -> Result<Option<i64>, OutboxError>;

    /// Moves the watermark `name` to `at`; never backwards.
    async fn advance_watermark(&self, name: &str, at: i64) -> Result<(), OutboxError>;
}

/// A state store in memory.
#[derive(Debug, Default)]
pub struct MemoryState {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    deliveries: HashMap<(String, String), i64>,
    versions: HashMap<String, i64>,
    emails: BTreeMap<String, String>,
    changes: HashMap<String, Vec<ChangeRecord>>,
    watermarks: HashMap<String, i64>,
    /// Contact to (user id, hash).
    delivered: HashMap<String, (Option<String>, String)>,
}

impl MemoryState {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl StateStore for MemoryState {
    async fn first_delivery(
        &self,
        scope: &str,
        id: &str,
        now: SystemTime,
    ) -> Result<bool, OutboxError> {
        let mut inner = self.lock();
        let key = (scope.to_owned(), id.to_owned());
        if inner.deliveries.contains_key(&key) {
            return Ok(false);
        }
        inner.deliveries.insert(key, unix_millis(now));
        Ok(true)
    }

    async fn advance_version(&self, entity: &str, version: i64) -> Result<bool, OutboxError> {
        let mut inner = self.lock();
        match inner.versions.get(entity) {
            Some(&seen) if seen > version => Ok(false),
            _ => {
                inner.versions.insert(entity.to_owned(), version);
                Ok(true)
            }
        }
    }

    async fn synced_email(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        Ok(self.lock().emails.get(contact).cloned())
    }

    async fn set_synced_email(&self, contact: &str, email: &str) -> Result<(), OutboxError> {
        self.lock()
            .emails
            .insert(contact.to_owned(), email.to_owned());
        Ok(())
    }

    async fn delivered_upsert(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        Ok(self.lock().delivered.get(contact).map(|(_, h)| h.clone()))
    }

    async fn set_delivered_upsert(
        &self,
        contact: &str,
        user_id: Option<&str>,
        hash: &str,
    ) -> Result<(), OutboxError> {
        self.lock().delivered.insert(
            contact.to_owned(),
            (user_id.map(str::to_owned), hash.to_owned()),
        );
        Ok(())
    }

    async fn forget_delivered_upsert(
        &self,
        contact: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<(), OutboxError> {
        self.lock().delivered.retain(|c, (u, _)| {
            contact != Some(c.as_str()) && (user_id.is_none() || u.as_deref() != user_id)
        });
        Ok(())
    }

    async fn synced_contacts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, OutboxError> {
        let inner = self.lock();
        let start = match after {
            Some(after) => std::ops::Bound::Excluded(after.to_owned()),
            None => std::ops::Bound::Unbounded,
        };
        Ok(inner
            .emails
            .range((start, std::ops::Bound::Unbounded))
            .take(limit)
            .map(|(c, e)| (c.clone(), e.clone()))
            .collect())
    }

    async fn observe_changes(
        &self,
        observations: &[Observation],
        tolerance: Duration,
    ) -> Result<Vec<Resolution>, OutboxError> {
        let mut inner = self.lock();
        let mut records = Vec::new();
        for o in observations {
            if !records.iter().any(|r: &ChangeRecord| r.key == o.key) {
                records.extend(inner.changes.get(&o.key).into_iter().flatten().cloned());
            }
        }
        let (resolutions, writes) =
            resolve_changes(&records, observations, tolerance_secs(tolerance));
        for write in writes {
            let stored = inner.changes.entry(write.key.clone()).or_default();
            match stored.iter_mut().find(|r| r.occurrence == write.occurrence) {
                Some(slot) => *slot = write,
                None => stored.push(write),
            }
        }
        Ok(resolutions)
    }

    async fn changes(&self, keys: &[String]) -> Result<Vec<ChangeRecord>, OutboxError> {
        let inner = self.lock();
        let mut keys: Vec<&String> = keys.iter().collect();
        keys.sort();
        keys.dedup();
        Ok(keys
            .into_iter()
            .flat_map(|k| inner.changes.get(k).into_iter().flatten().cloned())
            .collect())
    }

    async fn watermark(&self, name: &str) -> Result<Option<i64>, OutboxError> {
        Ok(self.lock().watermarks.get(name).copied())
    }

    async fn advance_watermark(&self, name: &str, at: i64) -> Result<(), OutboxError> {
        let mut inner = self.lock();
        let slot = inner.watermarks.entry(name.to_owned()).or_insert(at);
        *slot = (*slot).max(at);
        Ok(())
    }
}
