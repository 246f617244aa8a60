//! The PostgreSQL store: the suite, several pools on one schema, migrations and redaction.
//!
//! Each test works in a scratch schema of the database named by `KOMMO_LOOPS_TEST_POSTGRES_URL`
//! and drops it when it passes. Without the variable the tests report that they are skipped.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use kommo_loops_bridge::runtime::outbox::OutboxError;
use kommo_loops_bridge::runtime::{Lane, Outbox, PostgresOptions, PostgresOutbox};

use crate::suite::{self, Store};

const URL_VAR: &str = "KOMMO_LOOPS_TEST_POSTGRES_URL";

/// The test database, or `None` (reported once) when none is configured.
fn database_url() -> Option<String> {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            if !REPORTED.swap(true, Ordering::SeqCst) {
                // Straight to stderr: the test harness would swallow eprintln! of a passing test.
                let _ = writeln!(
                    std::io::stderr(),
                    "PostgreSQL outbox tests skipped: set {URL_VAR} to a database URL to run them"
                );
            }
            None
        }
    }
}

/// A schema name no other running test uses (an earlier run's leftover of the same name, from
/// a failed test, is dropped first).
async fn scratch_schema(url: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let schema = format!(
        "outbox_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    admin(url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    schema
}

async fn connect(url: &str, schema: &str) -> PostgresOutbox {
    let options = PostgresOptions::new().schema(schema).max_connections(8);
    PostgresOutbox::connect_with(url, options)
        .await
        .expect("connect to the test database")
}

/// Runs SQL as a plain client of the test database.
async fn admin(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    let connection = tokio::spawn(connection);
    client.batch_execute(sql).await.expect("admin SQL");
    drop(client);
    let _ = connection.await;
}

async fn drop_schema(url: String, schema: String) {
    admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
}

async fn make() -> Option<Store> {
    let url = database_url()?;
    let schema = scratch_schema(&url).await;
    let store = Arc::new(connect(&url, &schema).await);
    Some(Store::new(store.clone(), store).with_cleanup(drop_schema(url, schema)))
}

conformance_cases!(make);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_finish_each_item_once_in_order() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    let store: Arc<dyn Outbox> = Arc::new(connect(&url, &schema).await);
    suite::concurrent_workers(vec![store], 8).await;
    drop_schema(url, schema).await;
}

/// Two pools on one schema stand for two bridge instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_work() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    let a: Arc<dyn Outbox> = Arc::new(connect(&url, &schema).await);
    let b: Arc<dyn Outbox> = Arc::new(connect(&url, &schema).await);
    suite::concurrent_workers(vec![a, b], 8).await;
    drop_schema(url, schema).await;
}

/// The same with workers per lane, on partitions mixing the lanes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_the_work_per_lane() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    let a: Arc<dyn Outbox> = Arc::new(connect(&url, &schema).await);
    let b: Arc<dyn Outbox> = Arc::new(connect(&url, &schema).await);
    suite::concurrent_lane_workers(vec![a, b], 8).await;
    drop_schema(url, schema).await;
}

/// The same with coalescing workers: folded runs stay exclusive and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_coalesce_each_item_once() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    let a: Arc<dyn Outbox> = Arc::new(connect(&url, &schema).await);
    let b: Arc<dyn Outbox> = Arc::new(connect(&url, &schema).await);
    suite::concurrent_coalescing_workers(vec![a, b], 8).await;
    drop_schema(url, schema).await;
}

#[tokio::test]
async fn connecting_again_keeps_the_schema_and_its_data() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    let first = connect(&url, &schema).await;
    first
        .enqueue(vec![suite::item("kept", "p")], suite::t(0))
        .await
        .unwrap();
    drop(first);
    let second = connect(&url, &schema).await;
    assert!(second.get("kept").await.unwrap().is_some());
    let debug = format!("{second:?}");
    assert!(debug.contains(&schema), "{debug}");
    if let Ok(config) = url.parse::<tokio_postgres::Config>()
        && let Some(password) = config.get_password()
    {
        let password = String::from_utf8_lossy(password);
        assert!(
            !debug.contains(password.as_ref()),
            "Debug shows the password"
        );
    }
    drop(second);
    drop_schema(url, schema).await;
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    drop(connect(&url, &schema).await);
    admin(
        &url,
        &format!("INSERT INTO {schema}.store_schema_version (version) VALUES (99)"),
    )
    .await;
    let result = PostgresOutbox::connect_with(&url, PostgresOptions::new().schema(&schema)).await;
    match result {
        Err(OutboxError::Storage(message)) => assert!(message.contains("newer"), "{message}"),
        other => panic!("expected a schema version error, got {other:?}"),
    }
    drop_schema(url, schema).await;
}

/// The tables of a schema, with their column counts, as a fingerprint of what is in it.
async fn fingerprint(url: &str, schema: &str) -> Vec<(String, i64)> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    let connection = tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT table_name::TEXT, COUNT(*) FROM information_schema.columns
             WHERE table_schema = $1 GROUP BY table_name ORDER BY table_name",
            &[&schema],
        )
        .await
        .unwrap();
    drop(client);
    let _ = connection.await;
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

#[tokio::test]
async fn another_programs_tables_are_refused_and_left_untouched() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    // Another program's outbox, in the schema the bridge is pointed at.
    admin(
        &url,
        &format!(
            "CREATE SCHEMA {schema};
             CREATE TABLE {schema}.outbox_items (id BIGINT PRIMARY KEY, payload JSONB);
             CREATE TABLE {schema}.invoices (id BIGINT PRIMARY KEY);"
        ),
    )
    .await;
    let before = fingerprint(&url, &schema).await;
    for existing in [false, true] {
        let options = PostgresOptions::new().schema(&schema);
        let result = if existing {
            PostgresOutbox::connect_existing(&url, options).await
        } else {
            PostgresOutbox::connect_with(&url, options).await
        };
        match result {
            Err(OutboxError::NotAnOutbox(message)) => {
                assert!(message.contains("(outbox_items)"), "{message}");
                assert!(message.contains("kommo_loops_store"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(fingerprint(&url, &schema).await, before);
    }
    drop_schema(url, schema).await;
}

#[tokio::test]
async fn only_connect_creates_a_store() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    let existing =
        || PostgresOutbox::connect_existing(&url, PostgresOptions::new().schema(&schema));
    match existing().await {
        Err(OutboxError::NotAnOutbox(message)) => {
            assert!(message.contains("holds no bridge store"), "{message}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(fingerprint(&url, &schema).await.is_empty());
    // Other programs' tables alone do not make the schema foreign: the store can share it.
    admin(
        &url,
        &format!("CREATE SCHEMA {schema}; CREATE TABLE {schema}.invoices (id BIGINT);"),
    )
    .await;
    assert!(existing().await.is_err());
    let store = connect(&url, &schema).await;
    store
        .enqueue(vec![suite::item("k", "p")], suite::t(0))
        .await
        .unwrap();
    drop(store);
    let store = existing().await.unwrap();
    assert!(store.get("k").await.unwrap().is_some());
    drop(store);
    // As version 0.1.0 left it: schema version 1, no marker. Still the bridge's store.
    admin(
        &url,
        &format!(
            "DROP TABLE {schema}.kommo_loops_store;
             ALTER TABLE {schema}.outbox_items DROP COLUMN lane;
             DELETE FROM {schema}.store_schema_version WHERE version > 1;"
        ),
    )
    .await;
    let store = existing().await.unwrap();
    assert!(store.get("k").await.unwrap().is_some());
    drop(store);
    let tables: Vec<String> = fingerprint(&url, &schema)
        .await
        .into_iter()
        .map(|t| t.0)
        .collect();
    assert!(
        tables.contains(&"kommo_loops_store".to_owned()),
        "{tables:?}"
    );
    drop_schema(url, schema).await;
}

// The tests below need no server.

#[tokio::test]
async fn connection_errors_do_not_show_the_password() {
    // Port 1 on loopback: refused at once.
    let url = "postgresql://bridge:s3cret-pw@127.0.0.1:1/bridge?connect_timeout=5";
    let error = PostgresOutbox::connect(url).await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(text.contains("postgres"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");

    let error = PostgresOutbox::connect("postgresql://bridge:s3cret-pw@host:port/db")
        .await
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(text.contains("invalid connection string"), "{text}");
    assert!(!text.contains("s3cret-pw"), "{text}");
}

#[tokio::test]
async fn schema_names_are_plain_identifiers() {
    for bad in ["", "Public", "a;drop", "a b", "1abc"] {
        let options = PostgresOptions::new().schema(bad);
        let result = PostgresOutbox::connect_with("postgresql://u@127.0.0.1:1/db", options).await;
        match result {
            Err(OutboxError::Storage(message)) => {
                assert!(
                    message.contains("invalid schema name"),
                    "{bad:?}: {message}"
                )
            }
            other => panic!("{bad:?}: expected a refusal, got {other:?}"),
        }
    }
}

/// Items stored before lanes existed (schema 4) are put in their lane by the migration.
#[tokio::test]
async fn items_stored_before_lanes_get_their_lane() {
    let Some(url) = database_url() else { return };
    let schema = scratch_schema(&url).await;
    let store = connect(&url, &schema).await;
    let batch = vec![
        suite::item("note", "p1"),
        suite::loops_item("event", "p2"),
        suite::upsert("upsert", "a@example.com", "pro"),
    ];
    store.enqueue(batch, suite::t(1)).await.unwrap();
    drop(store);
    // As schema 4 left it: no lane column.
    admin(
        &url,
        &format!(
            "ALTER TABLE {schema}.outbox_items DROP COLUMN lane;
             DELETE FROM {schema}.store_schema_version WHERE version > 4;"
        ),
    )
    .await;
    let store = connect(&url, &schema).await;
    for (key, lane) in [
        ("note", Lane::Kommo),
        ("event", Lane::Loops),
        ("upsert", Lane::Loops),
    ] {
        assert_eq!(store.get(key).await.unwrap().unwrap().lane, lane, "{key}");
    }
    let loops = store
        .claim(
            "w",
            Some(Lane::Loops),
            10,
            suite::t(2),
            std::time::Duration::from_secs(30),
        )
        .await
        .unwrap();
    assert_eq!(loops.len(), 2);
    drop(store);
    drop_schema(url, schema).await;
}
