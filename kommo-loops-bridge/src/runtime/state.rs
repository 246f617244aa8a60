//! What the runtime remembers between deliveries: which deliveries it has seen, the newest
//! version of each entity it has planned from, and the email it last synced per contact.
//! The SQLite and PostgreSQL stores keep this next to the outbox, in the same database.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use super::outbox::{OutboxError, unix_millis};

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
    emails: HashMap<String, String>,
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
}
