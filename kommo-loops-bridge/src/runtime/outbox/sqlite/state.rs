//! The SQLite store's [`StateStore`]: deliveries seen, entity versions, synced emails, the
//! changes seen by webhook or in Kommo's events log, and the catch-up's watermarks.

use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteOutbox;
use super::setup::db;
use crate::runtime::changes::{
    ChangeRecord, ChangeSource, Observation, Resolution, resolve_changes,
};
use crate::runtime::outbox::{OutboxError, unix_millis};
use crate::runtime::state::{StateStore, tolerance_secs};

#[async_trait::async_trait]
impl StateStore for SqliteOutbox {
    async fn first_delivery(
        &self,
        scope: &str,
        id: &str,
        now: SystemTime,
    ) -> Result<bool, OutboxError> {
        let (scope, id) = (scope.to_owned(), id.to_owned());
        let now_ms = unix_millis(now);
        self.call(move |conn| {
            let added = conn
                .prepare_cached(
                    "INSERT INTO seen_deliveries (scope, delivery_id, seen_at_ms)
                     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )
                .map_err(db)?
                .execute(params![scope, id, now_ms])
                .map_err(db)?;
            Ok(added == 1)
        })
        .await
    }

    async fn advance_version(&self, entity: &str, version: i64) -> Result<bool, OutboxError> {
        let entity = entity.to_owned();
        self.call(move |conn| {
            // The update's WHERE leaves a newer stored version alone: zero rows changed.
            let changed = conn
                .prepare_cached(
                    "INSERT INTO entity_versions (entity, version) VALUES (?1, ?2)
                     ON CONFLICT (entity) DO UPDATE SET version = excluded.version
                     WHERE entity_versions.version <= excluded.version",
                )
                .map_err(db)?
                .execute(params![entity, version])
                .map_err(db)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn synced_email(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        let contact = contact.to_owned();
        self.call(move |conn| {
            conn.prepare_cached("SELECT email FROM synced_emails WHERE contact = ?1")
                .map_err(db)?
                .query_row([contact], |row| row.get(0))
                .optional()
                .map_err(db)
        })
        .await
    }

    async fn set_synced_email(&self, contact: &str, email: &str) -> Result<(), OutboxError> {
        let (contact, email) = (contact.to_owned(), email.to_owned());
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO synced_emails (contact, email) VALUES (?1, ?2)
                 ON CONFLICT (contact) DO UPDATE SET email = excluded.email",
            )
            .map_err(db)?
            .execute(params![contact, email])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn delivered_upsert(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        let contact = contact.to_owned();
        self.call(move |conn| {
            conn.prepare_cached("SELECT hash FROM delivered_upserts WHERE contact = ?1")
                .map_err(db)?
                .query_row([contact], |row| row.get(0))
                .optional()
                .map_err(db)
        })
        .await
    }

    async fn set_delivered_upsert(
        &self,
        contact: &str,
        user_id: Option<&str>,
        hash: &str,
    ) -> Result<(), OutboxError> {
        let (contact, user_id, hash) = (
            contact.to_owned(),
            user_id.map(str::to_owned),
            hash.to_owned(),
        );
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO delivered_upserts (contact, user_id, hash) VALUES (?1, ?2, ?3)
                 ON CONFLICT (contact) DO UPDATE SET
                     user_id = excluded.user_id, hash = excluded.hash",
            )
            .map_err(db)?
            .execute(params![contact, user_id, hash])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn forget_delivered_upsert(
        &self,
        contact: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<(), OutboxError> {
        let (contact, user_id) = (contact.map(str::to_owned), user_id.map(str::to_owned));
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM delivered_upserts WHERE contact = ?1 OR user_id = ?2")
                .map_err(db)?
                .execute(params![contact, user_id])
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn synced_contacts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, OutboxError> {
        let after = after.map(str::to_owned);
        let limit = crate::runtime::outbox::sql::sql_count(limit);
        self.call(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT contact, email FROM synced_emails
                     WHERE ?1 IS NULL OR contact > ?1 ORDER BY contact LIMIT ?2",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map(params![after, limit], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)
        })
        .await
    }

    async fn observe_changes(
        &self,
        observations: &[Observation],
        tolerance: Duration,
    ) -> Result<Vec<Resolution>, OutboxError> {
        if observations.is_empty() {
            return Ok(Vec::new());
        }
        let observations = observations.to_vec();
        let tolerance = tolerance_secs(tolerance);
        // In the group commit's IMMEDIATE transaction: nothing else writes between the read
        // and the write.
        self.write(move |conn| {
            let keys: Vec<String> = observations.iter().map(|o| o.key.clone()).collect();
            let records = read_changes(conn, &keys)?;
            let (resolutions, writes) = resolve_changes(&records, &observations, tolerance);
            let mut upsert = conn
                .prepare_cached(
                    "INSERT INTO kommo_changes
                         (change_key, occurrence, first_source, webhook_at, log_at, log_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (change_key, occurrence) DO UPDATE SET
                         webhook_at = excluded.webhook_at, log_at = excluded.log_at,
                         log_id = excluded.log_id",
                )
                .map_err(db)?;
            for r in &writes {
                upsert
                    .execute(params![
                        r.key,
                        r.occurrence,
                        r.first.as_str(),
                        r.webhook_at,
                        r.log_at,
                        r.log_id
                    ])
                    .map_err(db)?;
            }
            Ok(resolutions)
        })
        .await
    }

    async fn changes(&self, keys: &[String]) -> Result<Vec<ChangeRecord>, OutboxError> {
        let keys = keys.to_vec();
        self.call(move |conn| read_changes(conn, &keys)).await
    }

    async fn watermark(&self, name: &str) -> Result<Option<i64>, OutboxError> {
        let name = name.to_owned();
        self.call(move |conn| {
            conn.prepare_cached("SELECT at FROM catch_up_watermarks WHERE name = ?1")
                .map_err(db)?
                .query_row([name], |row| row.get(0))
                .optional()
                .map_err(db)
        })
        .await
    }

    async fn advance_watermark(&self, name: &str, at: i64) -> Result<(), OutboxError> {
        let name = name.to_owned();
        self.write(move |conn| {
            conn.prepare_cached(
                "INSERT INTO catch_up_watermarks (name, at) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET at = MAX(at, excluded.at)",
            )
            .map_err(db)?
            .execute(params![name, at])
            .map_err(db)?;
            Ok(())
        })
        .await
    }
}

/// The records of `keys` (each key once).
fn read_changes(conn: &Connection, keys: &[String]) -> Result<Vec<ChangeRecord>, OutboxError> {
    let mut keys: Vec<&String> = keys.iter().collect();
    keys.sort();
    keys.dedup();
    let mut stmt = conn
        .prepare_cached(
            "SELECT change_key, occurrence, first_source, webhook_at, log_at, log_id
             FROM kommo_changes WHERE change_key = ?1 ORDER BY occurrence",
        )
        .map_err(db)?;
    let mut records = Vec::new();
    for key in keys {
        let rows = stmt
            .query_map([key], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, u32>(1)?,
                    row.get::<_, String>(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .map_err(db)?;
        for row in rows {
            let (key, occurrence, first, webhook_at, log_at, log_id) = row.map_err(db)?;
            let first = ChangeSource::parse(&first).ok_or_else(|| {
                OutboxError::Storage(format!(
                    "sqlite: change {key} has an unknown source {first:?}"
                ))
            })?;
            records.push(ChangeRecord::new(
                key, occurrence, first, webhook_at, log_at, log_id,
            ));
        }
    }
    Ok(records)
}
