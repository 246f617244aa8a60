//! Connecting: settings, schema migrations, lock keys and error texts.

use std::time::Duration;

use deadpool_postgres::PoolError;
use tokio_postgres::Config;
use tokio_postgres::config::Host;

use super::PostgresOptions;
use crate::runtime::outbox::OutboxError;

/// Schema migrations, applied in order and recorded in `store_schema_version`.
const MIGRATIONS: &[&str] = &[
    include_str!("../schema/postgres_001.sql"),
    include_str!("../schema/postgres_002.sql"),
    include_str!("../schema/postgres_003.sql"),
    include_str!("../schema/postgres_004.sql"),
    include_str!("../schema/postgres_005.sql"),
];

/// The marker table of the bridge's store (migration 2).
const MARKER: &str = "kommo_loops_store";

/// Every table the bridge creates: a schema holding any of them without the marker is another
/// program's.
const TABLES: &[&str] = &[
    MARKER,
    "store_schema_version",
    "outbox_items",
    "outbox_attempts",
    "seen_deliveries",
    "entity_versions",
    "synced_emails",
    "kommo_changes",
    "catch_up_watermarks",
    "delivered_upserts",
];

/// How long a new connection may take when the connection string sets no `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The connection settings: the string's, plus the schema's search_path, a connect timeout
/// and an application name when the string sets none.
pub(super) fn configure(url: &str, options: &PostgresOptions) -> Result<Config, OutboxError> {
    // The parse error names the faulty option, never the string (which may hold a password).
    let mut config: Config = url
        .parse()
        .map_err(|e| OutboxError::Storage(format!("postgres: {}", describe(&e))))?;
    if let Some(schema) = &options.schema {
        check_schema_name(schema)?;
        // Appended last, so it wins over a search_path in the string's own options.
        let mut session = config.get_options().unwrap_or_default().to_owned();
        if !session.is_empty() {
            session.push(' ');
        }
        session.push_str("-c search_path=");
        session.push_str(schema);
        config.options(session);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("kommo-loops-bridge");
    }
    Ok(config)
}

/// Checks that the schema holds the bridge's store (with `create`, a schema without any of its
/// tables will do: the schema and the store are created), then applies the missing migrations,
/// all under an advisory lock (instances starting together migrate one after the other).
/// Returns the schema and the advisory lock space.
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Client,
    schema: Option<&str>,
    create: bool,
) -> Result<(String, i32), OutboxError> {
    let schema = match schema {
        Some(schema) => schema.to_owned(),
        None => {
            let current: Option<String> = client
                .query_one("SELECT current_schema()", &[])
                .await
                .map_err(pg)?
                .get(0);
            current.ok_or_else(|| {
                OutboxError::Storage(
                    "postgres: no schema to create the tables in (the search_path names none \
                     that exists)"
                        .to_owned(),
                )
            })?
        }
    };
    let lock_space = lock_key(&format!("kommo-loops-bridge outbox {schema}"));
    let tx = client.transaction().await.map_err(pg)?;
    // The one-bigint key space is separate from the two-int4 one the partitions use.
    tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&i64::from(lock_space)],
    )
    .await
    .map_err(pg)?;
    let exists = tx
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(pg)?
        .is_some();
    let found = if exists {
        tables_in(&tx, &schema).await?
    } else {
        Vec::new()
    };
    if found.is_empty() && !create {
        return Err(OutboxError::NotAnOutbox(format!(
            "postgres: schema `{schema}` holds no bridge store (the server creates it on its \
             first start)"
        )));
    }
    if !found.is_empty() && !is_store(&tx, &found).await? {
        return Err(OutboxError::NotAnOutbox(format!(
            "postgres: schema `{schema}` holds tables named like the bridge's ({}) without its \
             marker table `{MARKER}`: they belong to another program, and nothing was written \
             to them; give the bridge a schema of its own",
            found.join(", ")
        )));
    }
    if !exists {
        // The name was checked by check_schema_name (an existing search_path schema exists).
        tx.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .map_err(pg)?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS store_schema_version (
             version    INTEGER     PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(pg)?;
    let version = schema_version(&tx).await?;
    let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if version > known {
        return Err(OutboxError::Storage(format!(
            "postgres: schema `{schema}` has version {version}, newer than this build knows \
             ({known}); upgrade the bridge"
        )));
    }
    for (number, migration) in (1..).zip(MIGRATIONS).skip_while(|(n, _)| *n <= version) {
        tx.batch_execute(migration).await.map_err(pg)?;
        tx.execute(
            "INSERT INTO store_schema_version (version) VALUES ($1)",
            &[&number],
        )
        .await
        .map_err(pg)?;
    }
    tx.commit().await.map_err(pg)?;
    Ok((schema, lock_space))
}

/// Which of the bridge's table names exist in `schema`.
async fn tables_in(
    tx: &deadpool_postgres::Transaction<'_>,
    schema: &str,
) -> Result<Vec<String>, OutboxError> {
    let rows = tx
        .query(
            "SELECT c.relname::TEXT FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = ANY($2) ORDER BY c.relname",
            &[&schema, &TABLES],
        )
        .await
        .map_err(pg)?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Whether the tables `found` are the bridge's store: the marker, or (written by version
/// 0.1.0, before the marker) schema version 1 with the outbox tables.
async fn is_store(
    tx: &deadpool_postgres::Transaction<'_>,
    found: &[String],
) -> Result<bool, OutboxError> {
    let has = |name: &str| found.iter().any(|t| t == name);
    if has(MARKER) {
        return Ok(true);
    }
    if !(has("store_schema_version") && has("outbox_items")) {
        return Ok(false);
    }
    Ok(schema_version(tx).await? == 1)
}

/// The highest migration recorded in `store_schema_version`.
async fn schema_version(tx: &deadpool_postgres::Transaction<'_>) -> Result<i32, OutboxError> {
    Ok(tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM store_schema_version",
            &[],
        )
        .await
        .map_err(pg)?
        .get(0))
}

/// Accepts plain identifiers only: the name goes into `CREATE SCHEMA` and a `search_path`.
fn check_schema_name(schema: &str) -> Result<(), OutboxError> {
    let mut chars = schema.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if valid {
        Ok(())
    } else {
        Err(OutboxError::Storage(format!(
            "postgres: invalid schema name `{schema}` (use lowercase letters, digits and _)"
        )))
    }
}

/// A stable 32-bit hash (FNV-1a) for advisory lock keys: the same in every instance and
/// version, unlike a hash computed by the server or by std.
pub(super) fn lock_key(s: &str) -> i32 {
    let hash = s.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// `user@host:port/dbname`: where the store lives, without the password.
pub(super) fn describe_target(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(i).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    format!(
        "{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

/// The error text with its causes; the database's own message and SQLSTATE when it has one.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            text.push_str(" (");
            text.push_str(detail);
            text.push(')');
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(super) fn pg(e: tokio_postgres::Error) -> OutboxError {
    OutboxError::Storage(format!("postgres: {}", describe(&e)))
}

pub(super) fn pool_error(e: PoolError) -> OutboxError {
    match e {
        PoolError::Backend(e) => pg(e),
        other => OutboxError::Storage(format!("postgres: connection pool: {other}")),
    }
}
