//! Opening an SQLite outbox: telling it from any other file before anything is written, the
//! connection settings, the schema migrations and the background checkpointer.

use std::path::Path;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use super::SqliteDurability;
use crate::runtime::outbox::OutboxError;
use crate::runtime::outbox::sql;

/// Schema migrations, applied in order; the database's `PRAGMA user_version` counts the ones
/// applied.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../schema/sqlite_001.sql"),
    include_str!("../schema/sqlite_002.sql"),
    include_str!("../schema/sqlite_003.sql"),
    include_str!("../schema/sqlite_004.sql"),
    include_str!("../schema/sqlite_005.sql"),
];

/// How long a statement waits for another process's write lock before failing with "database
/// is locked" (several processes may open the same file, e.g. an operator's CLI).
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `PRAGMA application_id` of a bridge outbox (`KLOB`), written when the outbox is created
/// (or first migrated), so that an open can tell the bridge's file from another program's.
pub(super) const APPLICATION_ID: i32 = 0x4B4C_4F42;

/// What a file holds, read before anything is written to it.
#[derive(Debug, PartialEq, Eq)]
enum Contents {
    /// A bridge outbox.
    Outbox,
    /// An empty database (a new or zero-length file): an outbox may be created in it.
    Empty,
    /// Anything else, described.
    Foreign(String),
}

/// Reads what the file at `path` holds through a read-only connection, so that nothing is
/// written to a file that turns out not to be an outbox.
fn identify(path: &Path) -> Result<Contents, OutboxError> {
    let location = path.display();
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| OutboxError::Storage(format!("sqlite: cannot open {location}: {e}")))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    let not_sqlite = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Ok(Contents::Foreign("not an SQLite database".into())),
        _ => Err(OutboxError::Storage(format!(
            "sqlite: cannot read {location}: {e}"
        ))),
    };
    let application_id: i32 = match conn.pragma_query_value(None, "application_id", |r| r.get(0)) {
        Ok(id) => id,
        Err(e) => return not_sqlite(e),
    };
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(db)?;
    Ok(classify(application_id, version, &tables))
}

/// The decision of [`identify`], from what it read.
fn classify(application_id: i32, version: i64, tables: &[String]) -> Contents {
    if application_id == APPLICATION_ID {
        return Contents::Outbox;
    }
    if application_id != 0 {
        return Contents::Foreign(format!(
            "the SQLite database of another program (application id {application_id:#010x})"
        ));
    }
    if tables.is_empty() && version == 0 {
        return Contents::Empty;
    }
    // Written by version 0.1.0, before the application id was set: schema 1, our tables.
    if version == 1 && tables.iter().any(|t| t == "outbox_items") {
        return Contents::Outbox;
    }
    let mut shown: Vec<&str> = tables.iter().take(5).map(String::as_str).collect();
    if tables.len() > shown.len() {
        shown.push("...");
    }
    Contents::Foreign(if tables.is_empty() {
        format!("an SQLite database the bridge did not create (schema version {version})")
    } else {
        format!(
            "an SQLite database the bridge did not create (tables: {})",
            shown.join(", ")
        )
    })
}

/// Opens the outbox file at `path` and brings its schema up to date; with `create`, an outbox
/// is created when the file is missing or empty. Refuses (with [`OutboxError::NotAnOutbox`])
/// a file that is not an outbox, before writing anything to it. Returns the connection and,
/// with [`SqliteDurability::Normal`], the background checkpointer's own connection.
pub(super) fn open_file(
    path: &Path,
    durability: SqliteDurability,
    create: bool,
) -> Result<(Connection, Option<Connection>), OutboxError> {
    let location = path.display();
    let contents = if path.exists() {
        identify(path)?
    } else {
        Contents::Empty
    };
    match contents {
        Contents::Outbox => {}
        Contents::Empty if create => {}
        Contents::Empty if path.exists() => {
            return Err(OutboxError::NotAnOutbox(format!(
                "{location} is empty, not an outbox (the server creates its outbox on its first \
                 start)"
            )));
        }
        Contents::Empty => {
            return Err(OutboxError::NotAnOutbox(format!(
                "there is no outbox at {location}"
            )));
        }
        Contents::Foreign(what) => {
            return Err(OutboxError::NotAnOutbox(format!(
                "{location} is not an outbox: it is {what}; nothing was written to it"
            )));
        }
    }
    let open = || {
        let conn = Connection::open(path)
            .map_err(|e| OutboxError::Storage(format!("sqlite: cannot open {location}: {e}")))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
        Ok::<_, OutboxError>(conn)
    };
    let conn = prepare(open()?, Some(durability))?;
    let checkpoint_conn = match durability {
        SqliteDurability::Full => None,
        // The checkpointer's own connection, opened before the open returns so that a file
        // that cannot be opened twice fails here.
        SqliteDurability::Normal => {
            let checkpoint_conn = open()?;
            checkpoint_conn
                .pragma_update(None, "synchronous", durability.pragma())
                .map_err(db)?;
            Some(checkpoint_conn)
        }
    };
    Ok((conn, checkpoint_conn))
}

/// A database in memory, set up and migrated.
pub(super) fn open_in_memory() -> Result<Connection, OutboxError> {
    let conn = Connection::open_in_memory().map_err(db)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db)?;
    prepare(conn, None)
}

/// How often the background checkpointer copies the write-ahead log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Starts a thread that checkpoints the write-ahead log every [`CHECKPOINT_EVERY`] on its own
/// connection, in `PASSIVE` mode (it never blocks a writer; what it cannot copy now, it copies
/// next time). It stops when the returned sender is dropped, that is with the outbox.
pub(super) fn spawn_checkpointer(
    conn: Connection,
) -> Result<std::sync::mpsc::Sender<()>, OutboxError> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "SQLite outbox: checkpoint failed; retrying");
                }
            }
        })
        .map_err(|e| OutboxError::Storage(format!("sqlite: cannot start the checkpointer: {e}")))?;
    Ok(stop)
}

pub(super) fn db(e: rusqlite::Error) -> OutboxError {
    OutboxError::Storage(format!("sqlite: {e}"))
}

/// Sets the connection up and migrates the schema; `file` is the durability of a file
/// database (`None` in memory).
pub(super) fn prepare(
    mut conn: Connection,
    file: Option<SqliteDurability>,
) -> Result<Connection, OutboxError> {
    // Room for every statement used here (rusqlite keeps 16 by default), so none is evicted
    // and parsed again under load.
    conn.set_prepared_statement_cache_capacity(64);
    // The query planner stability guarantee: plans never depend on the values bound to
    // parameters. Without it, SQLite (built with STAT4) marks the claim statement as depending
    // on its time parameter, and recompiles that long statement at every claim because the
    // time changed; profiling a server under load showed a third of its CPU time in that
    // recompilation. The plans here do not need the values (the claim names its index).
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(db)?;
    if file.is_some() {
        // WAL: readers never block the writer, and a commit appends to the log instead of
        // rewriting pages through a rollback journal (one fsync per commit instead of several).
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Some file systems (network mounts) cannot share WAL memory. The rollback journal
            // with synchronous=FULL is just as durable, only slower.
            tracing::warn!(journal_mode = %mode, "SQLite outbox could not switch to WAL mode");
        }
    }
    // synchronous=FULL by default: the WAL is fsynced at every commit. NORMAL survives a process
    // kill (the OS still has the written pages) but may lose the last commits on a power loss or
    // OS crash, and an enqueue is what lets us acknowledge a webhook that will not be
    // redelivered; it is an explicit choice (`SqliteDurability::Normal`).
    let durability = file.unwrap_or_default();
    conn.pragma_update(None, "synchronous", durability.pragma())
        .map_err(db)?;
    if durability == SqliteDurability::Normal && file.is_some() {
        // Checkpoints run on a connection of their own in the background (see
        // `spawn_checkpointer`): left to the commits, every thousandth page written makes one
        // commit copy the log into the database and fsync it, which was the slowest
        // acknowledgements under load. Not with FULL: there every commit already waits for an
        // fsync, and a large background checkpoint flushing the disk made those waits longer
        // (measured in docs/performance.md), so the commits keep checkpointing in small steps.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(db)?;
    }

    conn.pragma_update(None, "foreign_keys", true).map_err(db)?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), OutboxError> {
    // IMMEDIATE: two processes opening a new file at once migrate one after the other.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db)?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db)?;
    let known = sql::sql_count(MIGRATIONS.len());
    if version > known {
        return Err(OutboxError::Storage(format!(
            "sqlite: the database has schema version {version}, newer than this build knows \
             ({known}); upgrade the bridge"
        )));
    }
    let applied = usize::try_from(version).unwrap_or_default();
    for migration in &MIGRATIONS[applied..] {
        tx.execute_batch(migration).map_err(db)?;
    }
    tx.pragma_update(None, "user_version", known).map_err(db)?;
    // Also on a file of version 1, written before the marker existed.
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(db)?;
    tx.commit().map_err(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_file_holds() {
        let names = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let ours = names(&["outbox_attempts", "outbox_items", "sqlite_sequence"]);
        let table: Vec<(i32, i64, Vec<String>, Option<Contents>)> = vec![
            (APPLICATION_ID, 1, ours.clone(), Some(Contents::Outbox)),
            // Created and not yet migrated by another process: still ours.
            (APPLICATION_ID, 0, vec![], Some(Contents::Outbox)),
            (0, 0, vec![], Some(Contents::Empty)),
            // Version 0.1.0 wrote no application id.
            (0, 1, ours.clone(), Some(Contents::Outbox)),
            (0, 0, names(&["users"]), None),
            (0, 1, names(&["users"]), None),
            (0, 7, vec![], None),
            (0, 2, ours.clone(), None),
            (0x0f05_5112, 0, vec![], None),
            (0x0f05_5112, 1, ours, None),
        ];
        for (application_id, version, tables, expected) in table {
            let got = classify(application_id, version, &tables);
            match expected {
                Some(expected) => {
                    assert_eq!(got, expected, "{application_id} {version} {tables:?}")
                }
                None => assert!(
                    matches!(got, Contents::Foreign(_)),
                    "{application_id} {version} {tables:?}: {got:?}"
                ),
            }
        }
        let Contents::Foreign(what) = classify(0, 3, &names(&["a", "b", "c", "d", "e", "f"]))
        else {
            panic!()
        };
        assert!(what.contains("tables: a, b, c, d, e, ..."), "{what}");
    }
}
