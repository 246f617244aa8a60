//! The SQLite outbox and state store (`sqlite` feature): one database file for one instance.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool and the async runtime
//! never waits on the disk. One connection behind a mutex is enough: SQLite has a single writer
//! anyway, and every write here is a short transaction.
//!
//! The hot writes (enqueue, claim, finish) are committed in groups: with `synchronous=FULL`
//! each commit waits for an fsync (milliseconds on many disks), so one transaction per write
//! would cap a server at a few hundred webhooks per second, and an acknowledgement would queue
//! behind the workers' commits. Instead, the first write to find none pending starts a group
//! commit on the blocking pool; the group takes every write that arrived until it got the
//! connection, runs each in its own savepoint (so each stays atomic and one failing does not
//! undo the others), commits them with one fsync, and only then answers each caller. No write
//! returns before it is durable.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, Row, TransactionBehavior, params};

use super::fold::{MAX_FOLDED, foldable, may_fold};
use super::sql::{self, ItemRow, Transition, item_columns};
use super::{
    Attempt, Finish, Item, Lane, NewItem, Outbox, OutboxError, OutboxStats, from_unix_millis,
    unix_millis,
};

mod setup;
mod state;

use setup::{db, spawn_checkpointer};

/// An outbox and state store in one SQLite database (`sqlite` feature).
///
/// It implements both [`Outbox`] and
/// [`StateStore`](crate::runtime::state::StateStore). The file is opened in WAL mode with
/// `synchronous=FULL`: once [`enqueue`](Outbox::enqueue) returns, the items survive a process
/// kill and a power loss, so a webhook can be acknowledged right after it
/// ([`SqliteDurability::Normal`] trades the power loss for not waiting on the disk).
pub struct SqliteOutbox {
    conn: Arc<Mutex<Connection>>,
    /// Writes waiting for the next group commit.
    pending: Arc<Mutex<Vec<PendingWrite>>>,
    /// The file, or `:memory:`, for `Debug`.
    location: String,
    /// Dropping it stops the background checkpointer (file databases with
    /// [`SqliteDurability::Normal`] only).
    _checkpointer: Option<std::sync::mpsc::Sender<()>>,
}

impl fmt::Debug for SqliteOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteOutbox")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// How an SQLite commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SqliteDurability {
    /// `synchronous=FULL` (the default): every commit waits for an fsync of the log, so a
    /// stored webhook survives a process kill, an OS crash and a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits do not wait for the disk. A stored webhook still survives
    /// a process kill (the OS has the written pages), but the last commits before an OS crash
    /// or a power loss may be lost. For disks whose fsync is slow (several milliseconds on
    /// some virtual machines) when acknowledgement latency matters more than surviving a power
    /// loss; see `docs/performance.md`.
    Normal,
}

impl SqliteDurability {
    fn pragma(self) -> &'static str {
        match self {
            SqliteDurability::Full => "FULL",
            SqliteDurability::Normal => "NORMAL",
        }
    }
}

impl SqliteOutbox {
    /// Opens the outbox file at `path`, creating it when the file is missing or empty, and
    /// brings its schema up to date, with [`SqliteDurability::Full`].
    ///
    /// Fails with [`OutboxError::NotAnOutbox`], before writing anything to the file, when it
    /// holds something else (another program's SQLite database, or not SQLite at all): an
    /// outbox is marked with its own `PRAGMA application_id`. Fails with
    /// [`OutboxError::Storage`] when the file was written by a newer version of the bridge (a
    /// schema this build does not know).
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        SqliteOutbox::open_with(path, SqliteDurability::Full).await
    }

    /// Like [`open`](Self::open), with a chosen durability.
    pub async fn open_with(
        path: impl AsRef<Path>,
        durability: SqliteDurability,
    ) -> Result<Self, OutboxError> {
        Self::open_file(path.as_ref(), durability, true).await
    }

    /// Opens an outbox that already exists, for tools that work on the server's outbox (the
    /// operator's CLI): never creates one. Fails with [`OutboxError::NotAnOutbox`] when the
    /// file is missing, empty or not an outbox, and writes nothing to it then.
    pub async fn open_existing(
        path: impl AsRef<Path>,
        durability: SqliteDurability,
    ) -> Result<Self, OutboxError> {
        Self::open_file(path.as_ref(), durability, false).await
    }

    async fn open_file(
        path: &Path,
        durability: SqliteDurability,
        create: bool,
    ) -> Result<Self, OutboxError> {
        let location = path.display().to_string();
        let path = path.to_path_buf();
        let (conn, checkpoint_conn) =
            blocking(move || setup::open_file(&path, durability, create)).await?;
        Ok(SqliteOutbox {
            conn: Arc::new(Mutex::new(conn)),
            pending: Arc::default(),
            location,
            _checkpointer: checkpoint_conn.map(spawn_checkpointer).transpose()?,
        })
    }

    /// A database in memory (lost when dropped), for tests.
    pub async fn open_in_memory() -> Result<Self, OutboxError> {
        let conn = blocking(setup::open_in_memory).await?;
        Ok(SqliteOutbox {
            conn: Arc::new(Mutex::new(conn)),
            pending: Arc::default(),
            location: ":memory:".to_owned(),
            _checkpointer: None,
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn call<T, F>(&self, f: F) -> Result<T, OutboxError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, OutboxError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        blocking(move || {
            // A panic while the lock was held rolled its transaction back when the
            // `Transaction` dropped, so the connection is still usable.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn)
        })
        .await
    }

    /// Runs `op` in the next group commit (see the module docs) and returns its result once
    /// the group is durable. An error from `op` rolls back only what `op` wrote.
    async fn write<T, F>(&self, op: F) -> Result<T, OutboxError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, OutboxError> + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let pending: PendingWrite = Box::new(move |conn: &Connection| {
            let result = op(conn);
            let succeeded = result.is_ok();
            let deliver: Deliver = Box::new(move |committed: Result<(), String>| {
                let outcome = match committed {
                    Ok(()) => result,
                    Err(e) => Err(OutboxError::Storage(e)),
                };
                let _ = answer.send(outcome);
            });
            (succeeded, deliver)
        });
        let leads = {
            let mut queue = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            queue.push(pending);
            // The first in an empty queue starts a group; later ones join it until it takes
            // the queue (under this same lock), after which the next one starts another.
            queue.len() == 1
        };
        if leads {
            let conn = Arc::clone(&self.conn);
            let queue = Arc::clone(&self.pending);
            // Spawned, not awaited in place: if this caller goes away, the group still commits
            // and the other callers still get their answers.
            drop(tokio::task::spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
                let group =
                    std::mem::take(&mut *queue.lock().unwrap_or_else(PoisonError::into_inner));
                commit_group(&mut conn, group);
            }));
        }
        answered.await.unwrap_or_else(|_| {
            Err(OutboxError::Storage(
                "sqlite: the group commit stopped before answering".into(),
            ))
        })
    }
}

impl SqliteOutbox {
    /// Leases the claimable partition heads of `lane` (any with `None`), each with the upserts
    /// folding into it when `fold` is set.
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
        let worker = worker.to_owned();
        let now_ms = unix_millis(now);
        let until_ms = unix_millis(now + lease);
        let max = sql::sql_count(max);
        // The group's transaction is IMMEDIATE: it takes the write lock first, so the heads
        // (and followers) read are still what they were when they are leased, even with
        // another process on the file.
        self.write(move |conn| {
            let mut heads = match lane {
                Some(lane) => query_items(
                    conn,
                    CLAIM_LANE,
                    params![now_ms, max, worker, until_ms, lane.as_str()],
                )?,
                None => query_items(conn, CLAIM, params![now_ms, max, worker, until_ms])?,
            };
            if fold {
                fold_followers(conn, &mut heads, now_ms, &worker, until_ms)?;
            }
            Ok(heads)
        })
        .await
    }
}

/// Runs `f` on tokio's blocking pool; a panic in `f` is resumed in the caller.
async fn blocking<T, F>(f: F) -> Result<T, OutboxError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, OutboxError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(OutboxError::Storage(format!("sqlite: blocking task: {e}"))),
    }
}

fn item_row(row: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        id: row.get(0)?,
        key: row.get(1)?,
        partition: row.get(2)?,
        action: row.get(3)?,
        source: row.get(4)?,
        state: row.get(5)?,
        not_before_ms: row.get(6)?,
        created_at_ms: row.get(7)?,
        dead_reason: row.get(8)?,
        lane: row.get(9)?,
    })
}

/// The items of `rows` with their attempt histories.
fn with_attempts(tx: &Connection, rows: Vec<ItemRow>) -> Result<Vec<Item>, OutboxError> {
    let mut attempts = Vec::new();
    let mut stmt = tx
        .prepare_cached(
            "SELECT at_ms, outcome, detail FROM outbox_attempts WHERE item_id = ?1 ORDER BY id",
        )
        .map_err(db)?;
    for row in &rows {
        let found = stmt
            .query_map([row.id], |r| {
                Ok(Attempt {
                    at_ms: r.get(0)?,
                    outcome: r.get(1)?,
                    detail: r.get(2)?,
                })
            })
            .map_err(db)?;
        for attempt in found {
            attempts.push((row.id, attempt.map_err(db)?));
        }
    }
    sql::assemble(rows, attempts)
}

/// Items matching a query whose parameters are `params`.
fn query_items(
    tx: &Connection,
    query: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Item>, OutboxError> {
    let rows = tx
        .prepare_cached(query)
        .map_err(db)?
        .query_map(params, item_row)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    with_attempts(tx, rows)
}

/// The rows of one [`Outbox::enqueue`] call: key, partition, job JSON, source, lane.
type EnqueueRows = Vec<(String, String, String, String, &'static str)>;

/// Answers a write's caller once the group's commit is known (`Err` with its message if the
/// commit failed).
type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A write waiting for a group commit: runs against the group's transaction and says whether
/// it succeeded (else its savepoint is rolled back) and how to answer its caller.
type PendingWrite = Box<dyn FnOnce(&Connection) -> (bool, Deliver) + Send>;

/// Runs a group of writes in one transaction, each in its own savepoint, and answers each.
///
/// The transaction and savepoint statements are prepared once and cached: parsing them for
/// every write (as `Connection::transaction` and `Transaction::savepoint` do) cost an eighth of
/// a loaded server's CPU time.
fn commit_group(conn: &mut Connection, group: Vec<PendingWrite>) {
    if !conn.is_autocommit() {
        // A write panicked in the previous group, leaving its transaction open: undo it.
        let _ = control(conn, "ROLLBACK");
    }
    let mut delivers = Vec::with_capacity(group.len());
    let committed = run_group(conn, group, &mut delivers).map_err(|e| {
        // Leave the connection outside any transaction for the next group.
        if !conn.is_autocommit() {
            let _ = control(conn, "ROLLBACK");
        }
        e.to_string()
    });
    // Writes not reached (after a failed BEGIN or savepoint) drop their senders: their callers
    // get a storage error too.
    for deliver in delivers {
        deliver(committed.clone());
    }
}

fn run_group(
    conn: &Connection,
    group: Vec<PendingWrite>,
    delivers: &mut Vec<Deliver>,
) -> Result<(), OutboxError> {
    control(conn, "BEGIN IMMEDIATE")?;
    for write in group {
        control(conn, "SAVEPOINT outbox_write")?;
        let (succeeded, deliver) = write(conn);
        delivers.push(deliver);
        if !succeeded {
            control(conn, "ROLLBACK TO outbox_write")?;
        }
        control(conn, "RELEASE outbox_write")?;
    }
    control(conn, "COMMIT")
}

/// Runs a cached transaction-control statement.
fn control(conn: &Connection, statement: &str) -> Result<(), OutboxError> {
    conn.prepare_cached(statement)
        .and_then(|mut stmt| stmt.execute([]))
        .map(drop)
        .map_err(db)
}

/// Inserts the rows whose keys are new; returns how many were.
fn insert_rows(conn: &Connection, rows: &EnqueueRows, now_ms: i64) -> Result<usize, OutboxError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO outbox_items
                 (idem_key, partition_key, action, source, state, not_before_ms,
                  created_at_ms, lane)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?6)
             ON CONFLICT (idem_key) DO NOTHING",
        )
        .map_err(db)?;
    let mut added = 0;
    for (key, partition, action, source, lane) in rows {
        added += insert
            .execute(params![key, partition, action, source, now_ms, lane])
            .map_err(db)?;
    }
    Ok(added)
}

/// Leases the claimable partition heads: the oldest unfinished item of each partition, when it
/// is due (pending and past `not_before`, or leased with an expired lease) and no item of its
/// partition holds a live lease, the oldest first. `$heads` names where the heads are looked
/// for (and in which lane).
macro_rules! claim {
    ($heads:literal) => {
        concat!(
            "UPDATE outbox_items SET state = 'leased', lease_worker = ?3, lease_until_ms = ?4
             WHERE id IN (
                 SELECT head.id FROM outbox_items AS head ",
            $heads,
            " AND ((head.state = 'pending' AND head.not_before_ms <= ?1)
                        OR (head.state = 'leased' AND head.lease_until_ms <= ?1))
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox_items AS older INDEXED BY outbox_items_unfinished
                       WHERE older.partition_key = head.partition_key
                         AND older.state IN ('pending', 'leased') AND older.id < head.id)
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox_items AS busy INDEXED BY outbox_items_unfinished
                       WHERE busy.partition_key = head.partition_key
                         -- the IN term lets SQLite use the partial index of unfinished items
                         AND busy.state IN ('pending', 'leased') AND busy.state = 'leased'
                         AND busy.lease_until_ms > ?1)
                 ORDER BY head.id
                 LIMIT ?2)
             RETURNING ",
            item_columns!()
        )
    };
}

/// [`claim!`] in any lane. Only unfinished items: left to itself, the planner walks the whole
/// table in id order (for ORDER BY ... LIMIT), finished items included.
const CLAIM: &str =
    claim!("INDEXED BY outbox_items_unfinished WHERE head.state IN ('pending', 'leased')");

/// [`claim!`] in lane `?5`: its unfinished items in id order, so the scan stops at the first
/// `?2` heads instead of sorting the whole backlog. A head of another lane is still its
/// partition's head: what follows it waits.
const CLAIM_LANE: &str = claim!(
    "INDEXED BY outbox_items_lane_unfinished
     WHERE head.lane = ?5 AND head.state IN ('pending', 'leased')"
);

/// The unfinished items after `?2` in partition `?1`, oldest first (the candidates to fold).
const FOLLOWING: &str = concat!(
    "SELECT ",
    item_columns!(),
    " FROM outbox_items INDEXED BY outbox_items_unfinished
     WHERE partition_key = ?1 AND state IN ('pending', 'leased') AND id > ?2
     ORDER BY id LIMIT ?3"
);

/// Leases, for each claimed head that upserts a contact, the upserts that fold into it (see
/// `fold.rs`), in the claim's transaction, and puts them in the head's `folded`.
fn fold_followers(
    conn: &Connection,
    heads: &mut [Item],
    now_ms: i64,
    worker: &str,
    until_ms: i64,
) -> Result<(), OutboxError> {
    for head in heads.iter_mut().filter(|head| may_fold(head)) {
        let following = query_items(
            conn,
            FOLLOWING,
            params![head.partition, head.id, sql::sql_count(MAX_FOLDED)],
        )?;
        let n = foldable(head, &following, now_ms);
        let mut lease = conn
            .prepare_cached(
                "UPDATE outbox_items SET state = 'leased', lease_worker = ?2, lease_until_ms = ?3
                 WHERE id = ?1",
            )
            .map_err(db)?;
        for mut item in following.into_iter().take(n) {
            lease
                .execute(params![item.id, worker, until_ms])
                .map_err(db)?;
            item.state = super::ItemState::Leased;
            head.folded.push(item);
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl Outbox for SqliteOutbox {
    async fn enqueue(&self, items: Vec<NewItem>, now: SystemTime) -> Result<usize, OutboxError> {
        if items.is_empty() {
            return Ok(0);
        }
        let now_ms = unix_millis(now);
        let rows = items
            .into_iter()
            .map(|item| {
                let action = sql::job_json(&item.job)?;
                let lane = item.job.lane().as_str();
                Ok((item.key, item.partition, action, item.source, lane))
            })
            .collect::<Result<Vec<_>, OutboxError>>()?;
        self.write(move |conn| insert_rows(conn, &rows, now_ms))
            .await
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
        let worker = worker.to_owned();
        let to = Transition::of(finish);
        self.write(move |tx| {
            // The lease holder is checked in the update itself.
            let moved = tx
                .prepare_cached(
                    "UPDATE outbox_items
                     SET state = ?3, not_before_ms = COALESCE(?4, not_before_ms),
                         dead_reason = COALESCE(?5, dead_reason),
                         action = COALESCE(?6, action),
                         lease_worker = NULL, lease_until_ms = NULL
                     WHERE id = ?1 AND lease_worker = ?2 AND state = 'leased'",
                )
                .map_err(db)?
                .execute(params![
                    id,
                    worker,
                    to.state,
                    to.not_before_ms,
                    to.dead_reason,
                    to.job
                ])
                .map_err(db)?;
            if moved == 0 {
                return Err(OutboxError::LeaseLost { id });
            }
            tx.prepare_cached(
                "INSERT INTO outbox_attempts (item_id, at_ms, outcome, detail)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db)?
            .execute(params![id, attempt.at_ms, attempt.outcome, attempt.detail])
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<Item>, OutboxError> {
        let limit = sql::sql_count(limit);
        self.call(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            query_items(
                &tx,
                concat!(
                    "SELECT ",
                    item_columns!(),
                    " FROM outbox_items WHERE state = 'dead' ORDER BY id LIMIT ?1"
                ),
                [limit],
            )
        })
        .await
    }

    async fn latest_dead_letter(&self) -> Result<Option<Item>, OutboxError> {
        self.call(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            query_items(
                &tx,
                concat!(
                    "SELECT ",
                    item_columns!(),
                    " FROM outbox_items WHERE state = 'dead' ORDER BY id DESC LIMIT 1"
                ),
                [],
            )
        })
        .await
        .map(|mut items| items.pop())
    }

    async fn replay(&self, ids: &[i64], now: SystemTime) -> Result<usize, OutboxError> {
        let ids = ids.to_vec();
        let now_ms = unix_millis(now);
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let mut replayed = 0;
            {
                let mut stmt = tx
                    .prepare_cached(
                        "UPDATE outbox_items
                         SET state = 'pending', not_before_ms = ?2, dead_reason = NULL
                         WHERE id = ?1 AND state = 'dead'",
                    )
                    .map_err(db)?;
                for id in ids {
                    replayed += stmt.execute(params![id, now_ms]).map_err(db)?;
                }
            }
            tx.commit().map_err(db)?;
            Ok(replayed)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Item>, OutboxError> {
        let key = key.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction().map_err(db)?;
            let items = query_items(
                &tx,
                concat!(
                    "SELECT ",
                    item_columns!(),
                    " FROM outbox_items WHERE idem_key = ?1"
                ),
                [key],
            )?;
            Ok(items.into_iter().next())
        })
        .await
    }

    async fn stats(&self) -> Result<OutboxStats, OutboxError> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT state, COUNT(*) FROM outbox_items GROUP BY state")
                .map_err(db)?;
            let mut stats = OutboxStats::default();
            let rows = stmt
                .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))
                .map_err(db)?;
            for row in rows {
                let (state, count) = row.map_err(db)?;
                sql::count_state(&mut stats, &state, count)?;
            }
            Ok(stats)
        })
        .await
    }

    async fn next_due(&self, lane: Option<Lane>) -> Result<Option<SystemTime>, OutboxError> {
        self.call(move |conn| {
            // A lane's is one step into its index of due items; any lane's (for `drain`)
            // reads every pending item.
            let due: Option<i64> = match lane {
                Some(lane) => conn
                    .prepare_cached(
                        "SELECT MIN(not_before_ms) FROM outbox_items
                             INDEXED BY outbox_items_lane_due
                         WHERE lane = ?1 AND state = 'pending'",
                    )
                    .map_err(db)?
                    .query_row([lane.as_str()], |row| row.get(0))
                    .map_err(db)?,
                None => conn
                    .prepare_cached(
                        "SELECT MIN(not_before_ms) FROM outbox_items WHERE state = 'pending'",
                    )
                    .map_err(db)?
                    .query_row([], |row| row.get(0))
                    .map_err(db)?,
            };
            Ok(due.map(from_unix_millis))
        })
        .await
    }

    async fn oldest_unplanned_delivery(&self) -> Result<Option<SystemTime>, OutboxError> {
        self.call(|conn| {
            let oldest: Option<i64> = conn
                .prepare_cached(
                    "SELECT MIN(created_at_ms) FROM outbox_items INDEXED BY outbox_items_by_state
                     WHERE state IN ('pending', 'leased') AND substr(action, 1, ?1) = ?2",
                )
                .map_err(db)?
                .query_row(
                    params![
                        sql::sql_count(super::PLAN_KOMMO_PREFIX.len()),
                        super::PLAN_KOMMO_PREFIX
                    ],
                    |row| row.get(0),
                )
                .map_err(db)?;
            Ok(oldest.map(from_unix_millis))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan for `query`, one line per step.
    fn plan(conn: &Connection, query: &str, params: impl rusqlite::Params) -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
            .unwrap();
        let rows = stmt
            .query_map(params, |row| row.get::<_, String>(3))
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    /// A lane's claim and its idle worker's look for the next due item step into their
    /// indexes: no sort of the backlog, no scan of the table (the cost grew with the backlog,
    /// on the connection webhooks are stored through).
    #[test]
    fn a_lanes_claim_and_next_due_do_not_walk_the_backlog() {
        let conn = setup::open_in_memory().unwrap();
        let claim = plan(&conn, CLAIM_LANE, params![0, 8, "w", 0, "kommo"]);
        assert!(
            claim.contains("USING INDEX outbox_items_lane_unfinished (lane=?)"),
            "{claim}"
        );
        assert!(!claim.contains("TEMP B-TREE"), "{claim}");
        let due = plan(
            &conn,
            "SELECT MIN(not_before_ms) FROM outbox_items INDEXED BY outbox_items_lane_due
             WHERE lane = ?1 AND state = 'pending'",
            ["loops"],
        );
        assert!(due.contains("outbox_items_lane_due"), "{due}");
        assert!(!due.contains("SCAN"), "{due}");
    }
}
