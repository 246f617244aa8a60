//! The PostgreSQL store's [`StateStore`]: deliveries seen, entity versions, synced emails, the
//! changes seen by webhook or in Kommo's events log, and the catch-up's watermarks.

use std::time::{Duration, SystemTime};

use super::setup::{lock_key, pg};
use super::{PostgresOutbox, execute, query};
use crate::runtime::changes::{
    ChangeRecord, ChangeSource, Observation, Resolution, resolve_changes,
};
use crate::runtime::outbox::{OutboxError, unix_millis};
use crate::runtime::state::{StateStore, tolerance_secs};

#[async_trait::async_trait]
impl StateStore for PostgresOutbox {
    async fn first_delivery(
        &self,
        scope: &str,
        id: &str,
        now: SystemTime,
    ) -> Result<bool, OutboxError> {
        let client = self.client().await?;
        let added = execute(
            &client,
            "INSERT INTO seen_deliveries (scope, delivery_id, seen_at_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&scope, &id, &unix_millis(now)],
        )
        .await?;
        Ok(added == 1)
    }

    async fn advance_version(&self, entity: &str, version: i64) -> Result<bool, OutboxError> {
        let client = self.client().await?;
        // The update's WHERE leaves a newer stored version alone: zero rows changed.
        let changed = execute(
            &client,
            "INSERT INTO entity_versions (entity, version) VALUES ($1, $2)
             ON CONFLICT (entity) DO UPDATE SET version = EXCLUDED.version
             WHERE entity_versions.version <= EXCLUDED.version",
            &[&entity, &version],
        )
        .await?;
        Ok(changed == 1)
    }

    async fn synced_email(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT email FROM synced_emails WHERE contact = $1",
            &[&contact],
        )
        .await?;
        rows.first()
            .map(|row| row.try_get(0).map_err(pg))
            .transpose()
    }

    async fn set_synced_email(&self, contact: &str, email: &str) -> Result<(), OutboxError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO synced_emails (contact, email) VALUES ($1, $2)
             ON CONFLICT (contact) DO UPDATE SET email = EXCLUDED.email",
            &[&contact, &email],
        )
        .await?;
        Ok(())
    }

    async fn delivered_upsert(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT hash FROM delivered_upserts WHERE contact = $1",
            &[&contact],
        )
        .await?;
        rows.first()
            .map(|row| row.try_get(0).map_err(pg))
            .transpose()
    }

    async fn set_delivered_upsert(
        &self,
        contact: &str,
        user_id: Option<&str>,
        hash: &str,
    ) -> Result<(), OutboxError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO delivered_upserts (contact, user_id, hash) VALUES ($1, $2, $3)
             ON CONFLICT (contact) DO UPDATE SET
                 user_id = EXCLUDED.user_id, hash = EXCLUDED.hash",
            &[&contact, &user_id, &hash],
        )
        .await?;
        Ok(())
    }

    async fn forget_delivered_upsert(
        &self,
        contact: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<(), OutboxError> {
        let client = self.client().await?;
        execute(
            &client,
            "DELETE FROM delivered_upserts WHERE contact = $1 OR user_id = $2",
            &[&contact, &user_id],
        )
        .await?;
        Ok(())
    }

    async fn synced_contacts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, OutboxError> {
        let client = self.client().await?;
        let limit = crate::runtime::outbox::sql::sql_count(limit);
        let rows = query(
            &client,
            "SELECT contact, email FROM synced_emails
             WHERE $1::text IS NULL OR contact > $1 ORDER BY contact LIMIT $2",
            &[&after, &limit],
        )
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0).map_err(pg)?, row.try_get(1).map_err(pg)?)))
            .collect()
    }

    async fn observe_changes(
        &self,
        observations: &[Observation],
        tolerance: Duration,
    ) -> Result<Vec<Resolution>, OutboxError> {
        if observations.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = observations.iter().map(|o| o.key.clone()).collect();
        // One lock per change key, taken in sorted order (so two resolvers never deadlock), in
        // a key space of their own: another instance resolving the same change waits here,
        // then reads what this one wrote.
        let mut locks: Vec<i32> = keys.iter().map(|k| lock_key(k)).collect();
        locks.sort_unstable();
        locks.dedup();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        execute(
            &tx,
            "SELECT pg_advisory_xact_lock($1, lock) FROM unnest($2::int4[]) AS lock ORDER BY lock",
            &[&self.change_lock_space, &locks],
        )
        .await?;
        let records = read_changes(&tx, &keys).await?;
        let (resolutions, writes) =
            resolve_changes(&records, observations, tolerance_secs(tolerance));
        for r in &writes {
            execute(
                &tx,
                "INSERT INTO kommo_changes
                     (change_key, occurrence, first_source, webhook_at, log_at, log_id)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (change_key, occurrence) DO UPDATE SET
                     webhook_at = EXCLUDED.webhook_at, log_at = EXCLUDED.log_at,
                     log_id = EXCLUDED.log_id",
                &[
                    &r.key,
                    &i32::try_from(r.occurrence).unwrap_or(i32::MAX),
                    &r.first.as_str(),
                    &r.webhook_at,
                    &r.log_at,
                    &r.log_id,
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(resolutions)
    }

    async fn changes(&self, keys: &[String]) -> Result<Vec<ChangeRecord>, OutboxError> {
        let client = self.client().await?;
        read_changes(&client, keys).await
    }

    async fn watermark(&self, name: &str) -> Result<Option<i64>, OutboxError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT at FROM catch_up_watermarks WHERE name = $1",
            &[&name],
        )
        .await?;
        rows.first()
            .map(|row| row.try_get(0).map_err(pg))
            .transpose()
    }

    async fn advance_watermark(&self, name: &str, at: i64) -> Result<(), OutboxError> {
        let client = self.client().await?;
        execute(
            &client,
            "INSERT INTO catch_up_watermarks (name, at) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE
             SET at = GREATEST(catch_up_watermarks.at, EXCLUDED.at)",
            &[&name, &at],
        )
        .await?;
        Ok(())
    }
}

/// The records of `keys`.
async fn read_changes(
    client: &impl deadpool_postgres::GenericClient,
    keys: &[String],
) -> Result<Vec<ChangeRecord>, OutboxError> {
    let rows = query(
        client,
        "SELECT change_key, occurrence, first_source, webhook_at, log_at, log_id
         FROM kommo_changes WHERE change_key = ANY($1::text[]) ORDER BY change_key, occurrence",
        &[&keys],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let key: String = row.try_get(0).map_err(pg)?;
            let occurrence: i32 = row.try_get(1).map_err(pg)?;
            let first: String = row.try_get(2).map_err(pg)?;
            let first = ChangeSource::parse(&first).ok_or_else(|| {
                OutboxError::Storage(format!(
                    "postgres: change {key} has an unknown source {first:?}"
                ))
            })?;
            Ok(ChangeRecord::new(
                key,
                u32::try_from(occurrence).unwrap_or_default(),
                first,
                row.try_get(3).map_err(pg)?,
                row.try_get(4).map_err(pg)?,
                row.try_get(5).map_err(pg)?,
            ))
        })
        .collect()
}
