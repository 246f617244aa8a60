//! The PostgreSQL outbox and state store (`postgres` feature): several bridge instances share
//! one database.
//!
//! # Claims across instances
//!
//! Row locks keep two claimers from leasing the same row: `FOR UPDATE` waits for (or, with
//! `SKIP LOCKED`, skips) a row another transaction is changing, and re-checks a row that changed
//! after the statement's snapshot. They do not protect what the partition rule reads from
//! *other* rows of the partition, "no older unfinished item" and "no live lease", which come
//! from the statement's snapshot. With row locks alone, a claimer whose snapshot predates a
//! concurrent change could lease a partition's next item while another claimer leases a
//! replayed older one, or lease an item while an older item of its partition is still being
//! inserted by a slower enqueue. So each partition also has a transaction-scoped advisory lock
//! (keyed by a hash of the partition within a per-schema key space), and a claim:
//!
//! 1. lists candidate partitions whose oldest unfinished item looks claimable;
//! 2. takes the advisory locks of up to `max` of them with `pg_try_advisory_xact_lock`,
//!    skipping those another claimer or enqueuer holds (a try-lock never waits, so claims
//!    cannot deadlock);
//! 3. in a new statement, whose snapshot therefore includes everything committed before the
//!    locks were granted, re-reads those partitions' heads, keeps the ones that are due and
//!    whose partition holds no live lease, locks them `FOR UPDATE SKIP LOCKED` (a concurrent
//!    `finish` of the same row is skipped, not waited for) and leases them.
//!
//! The transaction commits before its locks are released, so the next claimer of a partition
//! sees the lease. Enqueues take the same locks (waiting, in sorted order) before inserting, so
//! a partition's ids follow commit order and no claim runs while one of its items is being
//! inserted. Hash collisions only make two partitions take turns. `finish` needs no partition
//! lock: its `UPDATE ... WHERE lease_worker = $2 AND state = 'leased'` is re-checked against
//! the newest row version, so of a late finish and a reclaim of the same expired lease exactly
//! one wins.
//!
//! A claim reads every unfinished item (through a partial index) to find the partition heads:
//! cheap for an outbox that keeps up, slower with a backlog of hundreds of thousands.

mod setup;
mod state;

use std::fmt;
use std::time::{Duration, SystemTime};

use deadpool_postgres::{GenericClient, Manager, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use self::setup::{lock_key, pg, pool_error};

use super::fold::{MAX_FOLDED, foldable, may_fold};
use super::sql::{self, ItemRow, Transition, item_columns};
use super::{
    Attempt, Finish, Item, Lane, NewItem, Outbox, OutboxError, OutboxStats, from_unix_millis,
    unix_millis,
};

/// Options for [`PostgresOutbox::connect_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PostgresOptions {
    /// The most connections the instance opens (default 16).
    pub max_connections: usize,
    /// The schema for the tables, created when missing (default: the connection's
    /// `search_path`, usually `public`). Lowercase letters, digits and `_`.
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 16,
            schema: None,
        }
    }
}

impl PostgresOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`max_connections`](Self::max_connections).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets [`schema`](Self::schema).
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

/// An outbox and state store in PostgreSQL (`postgres` feature), safe to share between
/// several bridge instances.
///
/// It implements both [`Outbox`] and
/// [`StateStore`](crate::runtime::state::StateStore). Connections are plain TCP or Unix socket
/// connections: no TLS, so a connection string with `sslmode=require` fails. `Debug` shows the
/// server, database, user and schema, never the password.
pub struct PostgresOutbox {
    pool: Pool,
    /// The first key of every advisory lock: a hash of the schema, so stores in different
    /// schemas of one database do not contend.
    lock_space: i32,
    /// The first key of the advisory locks on change keys (resolving a change): a space of
    /// its own, so change locks never queue behind partition locks.
    change_lock_space: i32,
    /// `user@host:port/dbname`, for `Debug`.
    target: String,
    schema: String,
}

impl fmt::Debug for PostgresOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresOutbox")
            .field("target", &self.target)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresOutbox {
    /// Connects with a libpq-style connection string (`postgresql://user:pass@host:5432/db` or
    /// `host=... user=... dbname=...`) and the default [`PostgresOptions`], creating or
    /// migrating the schema.
    pub async fn connect(url: &str) -> Result<Self, OutboxError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects with explicit options. Fails when the server cannot be reached, or holds a
    /// schema written by a newer version of the bridge, and with
    /// [`OutboxError::NotAnOutbox`] when the schema holds tables named like the bridge's that
    /// the bridge did not create (its store is marked by a `kommo_loops_store` table); nothing
    /// is written to the schema then.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, OutboxError> {
        Self::connect_inner(url, options, true).await
    }

    /// Connects to a store that already exists, for tools that work on the server's store
    /// (the operator's CLI): never creates the schema or the tables. Fails with
    /// [`OutboxError::NotAnOutbox`] when the schema holds no bridge store.
    pub async fn connect_existing(
        url: &str,
        options: PostgresOptions,
    ) -> Result<Self, OutboxError> {
        Self::connect_inner(url, options, false).await
    }

    async fn connect_inner(
        url: &str,
        options: PostgresOptions,
        create: bool,
    ) -> Result<Self, OutboxError> {
        let config = setup::configure(url, &options)?;
        let target = setup::describe_target(&config);
        let pool = Pool::builder(Manager::new(config, NoTls))
            .max_size(options.max_connections.max(1))
            .build()
            .map_err(|e| OutboxError::Storage(format!("postgres: connection pool: {e}")))?;
        let mut client = pool.get().await.map_err(pool_error)?;
        let (schema, lock_space) =
            setup::migrate(&mut client, options.schema.as_deref(), create).await?;
        drop(client);
        Ok(PostgresOutbox {
            pool,
            lock_space,
            change_lock_space: lock_key(&format!("kommo-loops-bridge changes {schema}")),
            target,
            schema,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, OutboxError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// Items selected by `statement` (its columns `item_columns!()`) with their attempts, read
    /// in one read-only transaction so both come from one snapshot.
    async fn read_items(
        &self,
        statement: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Item>, OutboxError> {
        let mut client = self.client().await?;
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(pg)?;
        let rows = query(&tx, statement, params).await?;
        let items = with_attempts(&tx, &rows).await?;
        tx.commit().await.map_err(pg)?;
        Ok(items)
    }
}

async fn query(
    client: &impl GenericClient,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, OutboxError> {
    let statement = client.prepare_cached(statement).await.map_err(pg)?;
    client.query(&statement, params).await.map_err(pg)
}

async fn execute(
    client: &impl GenericClient,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, OutboxError> {
    let statement = client.prepare_cached(statement).await.map_err(pg)?;
    client.execute(&statement, params).await.map_err(pg)
}

fn item_row(row: &Row) -> Result<ItemRow, OutboxError> {
    Ok(ItemRow {
        id: row.try_get(0).map_err(pg)?,
        key: row.try_get(1).map_err(pg)?,
        partition: row.try_get(2).map_err(pg)?,
        action: row.try_get(3).map_err(pg)?,
        source: row.try_get(4).map_err(pg)?,
        state: row.try_get(5).map_err(pg)?,
        not_before_ms: row.try_get(6).map_err(pg)?,
        created_at_ms: row.try_get(7).map_err(pg)?,
        dead_reason: row.try_get(8).map_err(pg)?,
        lane: row.try_get(9).map_err(pg)?,
    })
}

/// The items of `rows` with their attempt histories.
async fn with_attempts(
    client: &impl GenericClient,
    rows: &[Row],
) -> Result<Vec<Item>, OutboxError> {
    let rows = rows.iter().map(item_row).collect::<Result<Vec<_>, _>>()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let attempts = query(
        client,
        "SELECT item_id, at_ms, outcome, detail FROM outbox_attempts
         WHERE item_id = ANY($1::int8[]) ORDER BY id",
        &[&ids],
    )
    .await?
    .iter()
    .map(|row| {
        Ok((
            row.try_get(0).map_err(pg)?,
            Attempt {
                at_ms: row.try_get(1).map_err(pg)?,
                outcome: row.try_get(2).map_err(pg)?,
                detail: row.try_get(3).map_err(pg)?,
            },
        ))
    })
    .collect::<Result<Vec<_>, OutboxError>>()?;
    sql::assemble(rows, attempts)
}

/// Step 1 of a claim: partitions whose head looks claimable and is in lane `$3` (any lane when
/// NULL), oldest head first. More than `max` are listed, so a claimer can skip the ones other
/// claimers are locking. The lane is tested on the head, so what follows a head of another lane
/// waits for it.
const CLAIM_CANDIDATES: &str = "
    SELECT partition_key FROM (
        SELECT DISTINCT ON (partition_key) id, partition_key, state, not_before_ms,
               lease_until_ms, lane
        FROM outbox_items
        WHERE state IN ('pending', 'leased')
        ORDER BY partition_key, id
    ) AS heads
    WHERE ((state = 'pending' AND not_before_ms <= $1)
           OR (state = 'leased' AND lease_until_ms <= $1))
      AND ($3::text IS NULL OR lane = $3::text)
    ORDER BY id
    LIMIT $2";

/// Step 2: the partition locks; taken in list order until `$4` are held.
const CLAIM_LOCKS: &str = "
    SELECT candidate.partition_key
    FROM unnest($2::text[], $3::int4[]) AS candidate (partition_key, lock_key)
    WHERE pg_try_advisory_xact_lock($1, candidate.lock_key)
    LIMIT $4";

/// Step 3: with the locks held, re-check the heads on a fresh snapshot and lease them.
const CLAIM_LEASE: &str = concat!(
    "WITH heads AS (
         SELECT DISTINCT ON (partition_key) id
         FROM outbox_items
         WHERE state IN ('pending', 'leased') AND partition_key = ANY($1::text[])
         ORDER BY partition_key, id
     ), free AS (
         SELECT head.id FROM outbox_items AS head JOIN heads USING (id)
         WHERE ((head.state = 'pending' AND head.not_before_ms <= $2)
                OR (head.state = 'leased' AND head.lease_until_ms <= $2))
           AND ($5::text IS NULL OR head.lane = $5::text)
           AND NOT EXISTS (
               SELECT 1 FROM outbox_items AS busy
               WHERE busy.partition_key = head.partition_key
                 AND busy.state IN ('pending', 'leased') AND busy.state = 'leased'
                 AND busy.lease_until_ms > $2)
         FOR UPDATE OF head SKIP LOCKED
     )
     UPDATE outbox_items AS item
     SET state = 'leased', lease_worker = $3, lease_until_ms = $4
     FROM free WHERE item.id = free.id
     RETURNING ",
    "item.id, item.idem_key, item.partition_key, item.action, item.source, item.state, \
     item.not_before_ms, item.created_at_ms, item.dead_reason, item.lane"
);

impl PostgresOutbox {
    /// Leases the claimable partition heads of `lane` (any with `None`; see the module docs),
    /// each with the upserts folding into it when `fold` is set.
    async fn claim_heads(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
        fold: bool,
    ) -> Result<Vec<Item>, OutboxError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let now_ms = unix_millis(now);
        let until_ms = unix_millis(now + lease);
        let candidates_wanted = sql::sql_count(max.saturating_mul(2).saturating_add(8));
        let max = sql::sql_count(max);
        let lane = lane.map(Lane::as_str);

        let mut client = self.client().await?;
        // READ COMMITTED (the default): each statement sees what was committed before it
        // started, which step 3 relies on.
        let tx = client.transaction().await.map_err(pg)?;
        let candidates: Vec<String> =
            query(&tx, CLAIM_CANDIDATES, &[&now_ms, &candidates_wanted, &lane])
                .await?
                .iter()
                .map(|row| row.try_get(0).map_err(pg))
                .collect::<Result<_, _>>()?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let lock_keys: Vec<i32> = candidates.iter().map(|p| lock_key(p)).collect();
        let locked: Vec<String> = query(
            &tx,
            CLAIM_LOCKS,
            &[&self.lock_space, &candidates, &lock_keys, &max],
        )
        .await?
        .iter()
        .map(|row| row.try_get(0).map_err(pg))
        .collect::<Result<_, _>>()?;
        if locked.is_empty() {
            return Ok(Vec::new());
        }
        let leased = query(
            &tx,
            CLAIM_LEASE,
            &[&locked, &now_ms, &worker, &until_ms, &lane],
        )
        .await?;
        let mut items = with_attempts(&tx, &leased).await?;
        if fold {
            // Under the partitions' advisory locks: no enqueue or claim changes them meanwhile.
            fold_followers(&tx, &mut items, now_ms, worker, until_ms).await?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(items)
    }
}

/// Leases, for each claimed head that upserts a contact, the upserts that fold into it (see
/// `fold.rs`), in the claim's transaction, and puts them in the head's `folded`.
async fn fold_followers(
    tx: &impl GenericClient,
    heads: &mut [Item],
    now_ms: i64,
    worker: &str,
    until_ms: i64,
) -> Result<(), OutboxError> {
    let limit = sql::sql_count(MAX_FOLDED);
    for head in heads.iter_mut().filter(|head| may_fold(head)) {
        let rows = query(tx, FOLLOWING, &[&head.partition, &head.id, &limit]).await?;
        let following = with_attempts(tx, &rows).await?;
        let n = foldable(head, &following, now_ms);
        let ids: Vec<i64> = following.iter().take(n).map(|item| item.id).collect();
        if ids.is_empty() {
            continue;
        }
        execute(
            tx,
            "UPDATE outbox_items SET state = 'leased', lease_worker = $2, lease_until_ms = $3
             WHERE id = ANY($1::int8[])",
            &[&ids, &worker, &until_ms],
        )
        .await?;
        for mut item in following.into_iter().take(n) {
            item.state = super::ItemState::Leased;
            head.folded.push(item);
        }
    }
    Ok(())
}

/// The unfinished items after `$2` in partition `$1`, oldest first (the candidates to fold).
const FOLLOWING: &str = concat!(
    "SELECT ",
    item_columns!(),
    " FROM outbox_items
     WHERE partition_key = $1 AND state IN ('pending', 'leased') AND id > $2
     ORDER BY id LIMIT $3"
);

#[async_trait::async_trait]
impl Outbox for PostgresOutbox {
    async fn enqueue(&self, items: Vec<NewItem>, now: SystemTime) -> Result<usize, OutboxError> {
        if items.is_empty() {
            return Ok(0);
        }
        let now_ms = unix_millis(now);
        let mut keys = Vec::with_capacity(items.len());
        let mut partitions = Vec::with_capacity(items.len());
        let mut actions = Vec::with_capacity(items.len());
        let mut sources = Vec::with_capacity(items.len());
        let mut lanes = Vec::with_capacity(items.len());
        for item in items {
            actions.push(sql::job_json(&item.job)?);
            lanes.push(item.job.lane().as_str());
            keys.push(item.key);
            partitions.push(item.partition);
            sources.push(item.source);
        }
        // Sorted: every enqueuer waits for the locks in the same order, so none deadlock.
        let mut locks: Vec<i32> = partitions.iter().map(|p| lock_key(p)).collect();
        locks.sort_unstable();
        locks.dedup();

        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        execute(
            &tx,
            "SELECT pg_advisory_xact_lock($1, lock_key) FROM unnest($2::int4[]) AS lock_key",
            &[&self.lock_space, &locks],
        )
        .await?;
        let added = execute(
            &tx,
            "INSERT INTO outbox_items
                 (idem_key, partition_key, action, source, state, not_before_ms, created_at_ms,
                  lane)
             SELECT new.idem_key, new.partition_key, new.action, new.source, 'pending', $5, $5,
                    new.lane
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[])
                  WITH ORDINALITY AS new (idem_key, partition_key, action, source, lane, position)
             ORDER BY new.position
             ON CONFLICT (idem_key) DO NOTHING",
            &[&keys, &partitions, &actions, &sources, &now_ms, &lanes],
        )
        .await?;
        tx.commit().await.map_err(pg)?;
        Ok(usize::try_from(added).unwrap_or(usize::MAX))
    }

    async fn claim(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Vec<Item>, OutboxError> {
        self.claim_heads(worker, lane, max, now, lease, false).await
    }

    async fn claim_coalescing(
        &self,
        worker: &str,
        lane: Option<Lane>,
        max: usize,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Vec<Item>, OutboxError> {
        self.claim_heads(worker, lane, max, now, lease, true).await
    }

    async fn finish(
        &self,
        id: i64,
        worker: &str,
        finish: Finish,
        attempt: Attempt,
    ) -> Result<(), OutboxError> {
        let to = Transition::of(finish);
        let client = self.client().await?;
        // One statement: the lease check, the move and the attempt commit together.
        let recorded = execute(
            &client,
            "WITH moved AS (
                 UPDATE outbox_items
                 SET state = $3, not_before_ms = COALESCE($4, not_before_ms),
                     dead_reason = COALESCE($5, dead_reason),
                     action = COALESCE($9, action),
                     lease_worker = NULL, lease_until_ms = NULL
                 WHERE id = $1 AND lease_worker = $2 AND state = 'leased'
                 RETURNING id
             )
             INSERT INTO outbox_attempts (item_id, at_ms, outcome, detail)
             SELECT id, $6, $7, $8 FROM moved",
            &[
                &id,
                &worker,
                &to.state,
                &to.not_before_ms,
                &to.dead_reason,
                &attempt.at_ms,
                &attempt.outcome,
                &attempt.detail,
                &to.job,
            ],
        )
        .await?;
        if recorded == 0 {
            return Err(OutboxError::LeaseLost { id });
        }
        Ok(())
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<Item>, OutboxError> {
        let limit = sql::sql_count(limit);
        self.read_items(
            concat!(
                "SELECT ",
                item_columns!(),
                " FROM outbox_items WHERE state = 'dead' ORDER BY id LIMIT $1"
            ),
            &[&limit],
        )
        .await
    }

    async fn latest_dead_letter(&self) -> Result<Option<Item>, OutboxError> {
        let mut items = self
            .read_items(
                concat!(
                    "SELECT ",
                    item_columns!(),
                    " FROM outbox_items WHERE state = 'dead' ORDER BY id DESC LIMIT 1"
                ),
                &[],
            )
            .await?;
        Ok(items.pop())
    }

    async fn replay(&self, ids: &[i64], now: SystemTime) -> Result<usize, OutboxError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let client = self.client().await?;
        let replayed = execute(
            &client,
            "UPDATE outbox_items SET state = 'pending', not_before_ms = $2, dead_reason = NULL
             WHERE id = ANY($1::int8[]) AND state = 'dead'",
            &[&ids, &unix_millis(now)],
        )
        .await?;
        Ok(usize::try_from(replayed).unwrap_or(usize::MAX))
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, OutboxError> {
        let items = self
            .read_items(
                concat!(
                    "SELECT ",
                    item_columns!(),
                    " FROM outbox_items WHERE idem_key = $1"
                ),
                &[&key],
            )
            .await?;
        Ok(items.into_iter().next())
    }

    async fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT state, COUNT(*) FROM outbox_items GROUP BY state",
            &[],
        )
        .await?;
        let mut stats = OutboxStats::default();
        for row in rows {
            let state: String = row.try_get(0).map_err(pg)?;
            sql::count_state(&mut stats, &state, row.try_get(1).map_err(pg)?)?;
        }
        Ok(stats)
    }

    async fn next_due(&self, lane: Option<Lane>) -> Result<Option<SystemTime>, OutboxError> {
        let client = self.client().await?;
        let lane = lane.map(Lane::as_str);
        let rows = query(
            &client,
            "SELECT MIN(not_before_ms) FROM outbox_items
             WHERE state = 'pending' AND ($1::text IS NULL OR lane = $1::text)",
            &[&lane],
        )
        .await?;
        let due: Option<i64> = match rows.first() {
            Some(row) => row.try_get(0).map_err(pg)?,
            None => None,
        };
        Ok(due.map(from_unix_millis))
    }

    async fn oldest_unplanned_delivery(&self) -> Result<Option<SystemTime>, OutboxError> {
        let client = self.client().await?;
        let rows = query(
            &client,
            "SELECT MIN(created_at_ms) FROM outbox_items
             WHERE state IN ('pending', 'leased') AND starts_with(action, $1)",
            &[&super::PLAN_KOMMO_PREFIX],
        )
        .await?;
        let oldest: Option<i64> = match rows.first() {
            Some(row) => row.try_get(0).map_err(pg)?,
            None => None,
        };
        Ok(oldest.map(from_unix_millis))
    }
}
