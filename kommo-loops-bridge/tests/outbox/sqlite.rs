//! The SQLite store: the suite on a temporary file, durability across reopening, and two
//! connections to one file.

use std::path::Path;
use std::sync::Arc;

use kommo_loops_bridge::runtime::outbox::{Finish, ItemState, OutboxError};
use kommo_loops_bridge::runtime::{Lane, Outbox, SqliteDurability, SqliteOutbox, StateStore};
use tempfile::TempDir;

use crate::suite::{self, Store, attempt, item, t};

async fn make() -> Option<Store> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path()).await);
    Some(Store::new(store.clone(), store).keeping(dir))
}

async fn open(dir: &Path) -> SqliteOutbox {
    SqliteOutbox::open(dir.join("bridge.db"))
        .await
        .expect("open the SQLite store")
}

conformance_cases!(make);

async fn make_in_memory() -> Option<Store> {
    let store = Arc::new(SqliteOutbox::open_in_memory().await.unwrap());
    Some(Store::new(store.clone(), store))
}

/// A few cases on an in-memory database (same schema and SQL, no file).
mod in_memory {
    use super::make_in_memory;

    conformance_cases!(@cases make_in_memory;
        claim_follows_partition_order,
        dead_letters_and_replay,
        advance_version_is_monotonic,
    );
}

async fn make_normal() -> Option<Store> {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteOutbox::open_with(dir.path().join("bridge.db"), SqliteDurability::Normal)
            .await
            .expect("open the SQLite store"),
    );
    Some(Store::new(store.clone(), store).keeping(dir))
}

/// A few cases with `synchronous=NORMAL` and the background checkpointer.
mod normal_durability {
    use super::make_normal;

    conformance_cases!(@cases make_normal;
        enqueue_dedupes_by_key,
        concurrent_enqueues_are_each_counted,
        claim_follows_partition_order,
        lost_lease_cannot_finish,
        dead_letters_and_replay,
    );
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path()).await;
        let batch = vec![item("keep-1", "p1"), item("keep-2", "p1")];
        store.enqueue(batch, t(0)).await.unwrap();
        let first = store
            .claim("w", None, 1, t(0), suite_lease())
            .await
            .unwrap();
        store
            .finish(
                first[0].id,
                "w",
                Finish::Dead("why".into()),
                attempt(t(1), "failed"),
            )
            .await
            .unwrap();
        assert!(store.first_delivery("loops", "wh-1", t(1)).await.unwrap());
        assert!(store.advance_version("31:contact:1", 42).await.unwrap());
        store
            .set_synced_email("31:1", "ana@example.com")
            .await
            .unwrap();
    }
    let store = open(dir.path()).await;
    let dead = store.get("keep-1").await.unwrap().unwrap();
    assert_eq!(dead.state, ItemState::Dead);
    assert_eq!(dead.dead_reason.as_deref(), Some("why"));
    assert_eq!(dead.attempts, [attempt(t(1), "failed")]);
    assert_eq!(
        store.get("keep-2").await.unwrap().unwrap().state,
        ItemState::Pending
    );
    assert_eq!(
        store
            .enqueue(vec![item("keep-1", "p1")], t(2))
            .await
            .unwrap(),
        0
    );
    assert!(!store.first_delivery("loops", "wh-1", t(2)).await.unwrap());
    assert!(!store.advance_version("31:contact:1", 41).await.unwrap());
    assert_eq!(
        store.synced_email("31:1").await.unwrap().as_deref(),
        Some("ana@example.com")
    );
    let claimed = store
        .claim("w", None, 10, t(3), suite_lease())
        .await
        .unwrap();
    assert_eq!(claimed[0].key, "keep-2", "ids continue after reopening");
}

#[tokio::test]
async fn an_enqueue_is_on_disk_when_it_returns() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .enqueue(vec![item("durable", "p")], t(0))
        .await
        .unwrap();
    assert!(
        dir.path().join("bridge.db-wal").exists(),
        "the database is in WAL mode"
    );
    // Never closed, never checkpointed: as if the process had been killed.
    std::mem::forget(store);
    let other = open(dir.path()).await;
    let stored = other.get("durable").await.unwrap();
    assert_eq!(stored.map(|i| i.state), Some(ItemState::Pending));
}

/// Set for the child process of `an_enqueue_survives_a_process_kill`: the database to use.
#[cfg(unix)]
const CHILD_DB: &str = "KOMMO_LOOPS_OUTBOX_TEST_CHILD_DB";

/// The child half of `an_enqueue_survives_a_process_kill`; does nothing in a normal run.
#[cfg(unix)]
#[tokio::test]
async fn child_enqueues_then_is_killed() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = SqliteOutbox::open(&path).await.unwrap();
    store
        .enqueue(vec![item("killed", "p")], t(0))
        .await
        .unwrap();
    // SIGKILL right after the enqueue returned: no destructor, no close, no checkpoint.
    let me = std::process::id().to_string();
    let _ = std::process::Command::new("sh")
        .args(["-c", &format!("kill -KILL {me}")])
        .status();
    std::process::abort();
}

#[cfg(unix)]
#[tokio::test]
async fn an_enqueue_survives_a_process_kill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.db");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "sqlite::child_enqueues_then_is_killed",
            "--nocapture",
        ])
        .env(CHILD_DB, &path)
        .current_dir(dir.path());
    let status = tokio::task::spawn_blocking(move || child.status())
        .await
        .unwrap()
        .expect("run the child test process");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        status.signal(),
        Some(9),
        "the child was to be killed: {status:?}"
    );
    let store = SqliteOutbox::open(&path).await.unwrap();
    let stored = store.get("killed").await.unwrap();
    assert_eq!(stored.map(|i| i.state), Some(ItemState::Pending));
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()).await);
    let conn = rusqlite::Connection::open(dir.path().join("bridge.db")).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    match SqliteOutbox::open(dir.path().join("bridge.db")).await {
        Err(OutboxError::Storage(message)) => assert!(message.contains("newer"), "{message}"),
        other => panic!("expected a schema version error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unopenable_path_is_a_storage_error() {
    let dir = tempfile::tempdir().unwrap();
    let result = SqliteOutbox::open(dir.path().join("missing/dir/bridge.db")).await;
    assert!(matches!(result, Err(OutboxError::Storage(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_finish_each_item_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    suite::concurrent_workers(vec![store], 8).await;
}

/// Two stores on one file stand for two processes: claims stay exclusive through SQLite's
/// write lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_to_one_file_share_the_work() {
    let dir: TempDir = tempfile::tempdir().unwrap();
    let a: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    let b: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    suite::concurrent_workers(vec![a, b], 8).await;
}

/// The same with workers per lane, on partitions mixing the lanes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_to_one_file_share_the_work_per_lane() {
    let dir: TempDir = tempfile::tempdir().unwrap();
    let a: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    let b: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    suite::concurrent_lane_workers(vec![a, b], 8).await;
}

/// The same with coalescing workers: folded runs stay exclusive and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_connections_to_one_file_coalesce_each_item_once() {
    let dir: TempDir = tempfile::tempdir().unwrap();
    let a: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    let b: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    suite::concurrent_coalescing_workers(vec![a, b], 8).await;
}

fn suite_lease() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

/// Writes arriving together share one commit; one of them failing (a finish by a worker that
/// holds no lease) must undo only itself, whichever group it lands in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_write_among_concurrent_ones_undoes_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let outbox: Arc<dyn Outbox> = Arc::new(open(dir.path()).await);
    outbox
        .enqueue(vec![item("first", "p")], t(0))
        .await
        .unwrap();
    let claimed = outbox
        .claim("w", None, 1, t(0), suite_lease())
        .await
        .unwrap();
    let id = claimed[0].id;
    let enqueues: Vec<_> = (0..20)
        .map(|i| {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                outbox
                    .enqueue(vec![item(&format!("k{i}"), &format!("q{i}"))], t(1))
                    .await
            })
        })
        .collect();
    let wrong = {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            outbox
                .finish(id, "not-the-holder", Finish::Done, attempt(t(1), "done"))
                .await
        })
    };
    for enqueue in enqueues {
        assert_eq!(enqueue.await.unwrap().unwrap(), 1);
    }
    let refused = wrong.await.unwrap();
    assert!(
        matches!(refused, Err(OutboxError::LeaseLost { id: lost }) if lost == id),
        "{refused:?}"
    );
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.pending, stats.leased), (20, 1));
    let first = outbox.get("first").await.unwrap().unwrap();
    assert_eq!(first.state, ItemState::Leased);
    assert!(
        first.attempts.is_empty(),
        "the refused finish left no attempt"
    );
}

/// With `SqliteDurability::Normal`, commits only append to the write-ahead log; a background
/// checkpointer copies it into the database file while the outbox is open (left to the
/// commits, a checkpoint would stall one of them). The file grows only through checkpoints, so
/// it growing shows the checkpointer runs.
#[tokio::test]
async fn the_log_is_checkpointed_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.db");
    let store = SqliteOutbox::open_with(&path, SqliteDurability::Normal)
        .await
        .unwrap();
    let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let before = size();
    for i in 0..200 {
        store
            .enqueue(vec![item(&format!("k{i}"), &format!("p{i}"))], t(0))
            .await
            .unwrap();
    }
    // Polls for up to 30 s (the checkpointer runs every second).
    let mut grown = false;
    for _ in 0..600 {
        if size() > before {
            grown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(grown, "the database file stayed at {before} bytes");
    assert_eq!(store.stats().await.unwrap().pending, 200);
}

/// The bytes of a file and of the files SQLite may put beside it (`-wal`, `-shm`, `-journal`).
fn snapshot(path: &Path) -> Vec<Option<Vec<u8>>> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| std::fs::read(format!("{}{suffix}", path.display())).ok())
        .collect()
}

#[tokio::test]
async fn files_that_are_not_outboxes_are_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    // Another program's database: its own tables, no application id.
    let plain = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&plain).unwrap();
    conn.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ana');")
        .unwrap();
    drop(conn);
    // Another program's database with its own application id and no table yet.
    let marked = dir.path().join("marked.db");
    let conn = rusqlite::Connection::open(&marked).unwrap();
    conn.pragma_update(None, "application_id", 0x0f05_5112)
        .unwrap();
    drop(conn);
    // Not SQLite at all.
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "SQLite format 3? no: a text file, long enough to have a header.\n".repeat(20),
    )
    .unwrap();

    for (path, expected) in [
        (&plain, "did not create (tables: users)"),
        (&marked, "another program (application id 0x0f055112)"),
        (&text, "not an SQLite database"),
    ] {
        let before = snapshot(path);
        for existing in [false, true] {
            let result = if existing {
                SqliteOutbox::open_existing(path, SqliteDurability::Full).await
            } else {
                SqliteOutbox::open(path).await
            };
            match result {
                Err(OutboxError::NotAnOutbox(message)) => {
                    assert!(message.contains(expected), "{message}");
                    assert!(message.contains("is not an outbox"), "{message}");
                }
                other => panic!("{}: expected a refusal, got {other:?}", path.display()),
            }
            assert_eq!(snapshot(path), before, "{} was changed", path.display());
        }
    }
}

#[tokio::test]
async fn only_open_creates_an_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    match SqliteOutbox::open_existing(&missing, SqliteDurability::Full).await {
        Err(OutboxError::NotAnOutbox(message)) => {
            assert!(message.contains("there is no outbox at"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!missing.exists());

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    match SqliteOutbox::open_existing(&empty, SqliteDurability::Full).await {
        Err(OutboxError::NotAnOutbox(message)) => {
            assert!(message.contains("is empty"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(snapshot(&empty), vec![Some(Vec::new()), None, None, None]);

    // `open` makes an outbox of the empty file, marked as one; then both opens take it.
    let store = SqliteOutbox::open(&empty).await.unwrap();
    store.enqueue(vec![item("k", "p")], t(1)).await.unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&empty).unwrap();
    let id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .unwrap();
    assert_eq!(id, 0x4B4C_4F42);
    drop(conn);
    let store = SqliteOutbox::open_existing(&empty, SqliteDurability::Full)
        .await
        .unwrap();
    assert_eq!(store.stats().await.unwrap().pending, 1);
}

#[tokio::test]
async fn an_outbox_written_before_the_marker_is_still_an_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.db");
    let store = open(dir.path()).await;
    store.enqueue(vec![item("k", "p")], t(1)).await.unwrap();
    drop(store);
    // As version 0.1.0 left it: schema 1 (without the tables of later versions), no
    // application id.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE kommo_changes; DROP TABLE catch_up_watermarks; DROP TABLE delivered_upserts;
         DROP INDEX outbox_items_lane_unfinished; DROP INDEX outbox_items_lane_due;
         ALTER TABLE outbox_items DROP COLUMN lane;",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    conn.pragma_update(None, "application_id", 0).unwrap();
    drop(conn);
    let store = SqliteOutbox::open_existing(&path, SqliteDurability::Full)
        .await
        .unwrap();
    assert_eq!(store.stats().await.unwrap().pending, 1);
    // And it is brought up to date.
    store.advance_watermark("kommo-events", 5).await.unwrap();
    assert_eq!(store.watermark("kommo-events").await.unwrap(), Some(5));
}

/// Items stored before lanes existed (schema 3) are put in their lane by the migration.
#[tokio::test]
async fn items_stored_before_lanes_get_their_lane() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridge.db");
    let store = open(dir.path()).await;
    let batch = vec![
        item("note", "p1"),
        suite::loops_item("event", "p2"),
        suite::upsert("upsert", "a@example.com", "pro"),
    ];
    store.enqueue(batch, t(1)).await.unwrap();
    drop(store);
    // As schema 3 left it: no lane column (nor the lane indexes of schema 5).
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP INDEX outbox_items_lane_unfinished; DROP INDEX outbox_items_lane_due;
         ALTER TABLE outbox_items DROP COLUMN lane;",
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 3).unwrap();
    drop(conn);
    let store = SqliteOutbox::open_existing(&path, SqliteDurability::Full)
        .await
        .unwrap();
    for (key, lane) in [
        ("note", Lane::Kommo),
        ("event", Lane::Loops),
        ("upsert", Lane::Loops),
    ] {
        assert_eq!(store.get(key).await.unwrap().unwrap().lane, lane, "{key}");
    }
    let loops = store
        .claim("w", Some(Lane::Loops), 10, t(2), suite_lease())
        .await
        .unwrap();
    assert_eq!(loops.len(), 2);
}
