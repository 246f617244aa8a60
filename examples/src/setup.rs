//! Building a bridge from [`ServerConfig`]: the two clients, the stores, the rules.

use std::sync::Arc;

use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::outbox::OutboxError;
use kommo_loops_bridge::runtime::preflight::{self, PreflightOptions};
use kommo_loops_bridge::runtime::{
    Bridge, BridgeConfig, BuildError, MemoryOutbox, MemoryState, Outbox, PostgresOptions,
    PostgresOutbox, SqliteDurability, SqliteOutbox, StateStore,
};

use crate::config::{KommoAuthConfig, ServerConfig, StoreConfig};

/// The outbox and state store of a tool that works on the server's store (the `outbox`
/// example): an existing outbox only. A missing or empty file, or one that is not an outbox,
/// is refused with a message saying so, and nothing is written to it.
pub async fn existing_stores(
    config: &StoreConfig,
) -> Result<(Arc<dyn Outbox>, Arc<dyn StateStore>), String> {
    open_stores(config, SqliteDurability::Full, false).await
}

/// The server's outbox and state store: created when the file (or the PostgreSQL schema) does
/// not hold one yet; another program's data is refused. `durability` is that of an SQLite
/// file (`OUTBOX_SYNC`).
pub async fn stores_with(
    config: &StoreConfig,
    durability: SqliteDurability,
) -> Result<(Arc<dyn Outbox>, Arc<dyn StateStore>), String> {
    open_stores(config, durability, true).await
}

async fn open_stores(
    config: &StoreConfig,
    durability: SqliteDurability,
    create: bool,
) -> Result<(Arc<dyn Outbox>, Arc<dyn StateStore>), String> {
    match config {
        StoreConfig::Memory if create => {
            Ok((Arc::new(MemoryOutbox::new()), Arc::new(MemoryState::new())))
        }
        StoreConfig::Memory => {
            Err("OUTBOX=memory: an in-memory outbox lives only inside the server".into())
        }
        StoreConfig::Sqlite(path) => {
            let opened = if create {
                SqliteOutbox::open_with(path, durability).await
            } else {
                SqliteOutbox::open_existing(path, durability).await
            };
            let store = Arc::new(opened.map_err(|e| match e {
                // The message names the file and says what it is.
                OutboxError::NotAnOutbox(message) => message,
                e => format!("cannot open the SQLite outbox {path}: {e}"),
            })?);
            Ok((store.clone(), store))
        }
        StoreConfig::Postgres(url) => {
            let options = PostgresOptions::default();
            let connected = if create {
                PostgresOutbox::connect_with(url, options).await
            } else {
                PostgresOutbox::connect_existing(url, options).await
            };
            let store = Arc::new(
                connected.map_err(|e| format!("cannot connect to the PostgreSQL outbox: {e}"))?,
            );
            Ok((store.clone(), store))
        }
    }
}

/// A Kommo client for the configuration.
pub fn kommo_client(config: &ServerConfig) -> Result<kommo_client::Client, String> {
    let builder = kommo_client::Client::builder().base_url(&config.kommo_base_url);
    let builder = match &config.kommo_auth {
        KommoAuthConfig::LongLived(token) => builder.long_lived_token(token.clone()),
        KommoAuthConfig::OAuth {
            client_id,
            client_secret,
            redirect_uri,
            token_file,
        } => {
            let store = kommo_client::FileTokenStore::new(token_file);
            builder.auth(kommo_client::Auth::oauth(
                kommo_client::OAuthConfig::new(
                    client_id.clone(),
                    client_secret.clone(),
                    redirect_uri.clone(),
                ),
                Arc::new(store),
            ))
        }
    };
    builder.build().map_err(|e| format!("Kommo client: {e}"))
}

/// A Loops client for the configuration.
pub fn loops_client(config: &ServerConfig) -> Result<loops_client::Client, String> {
    let mut builder = loops_client::Client::builder().api_key(config.loops_api_key.clone());
    if let Some(base) = &config.loops_base_url {
        builder = builder.base_url(base.clone());
    }
    builder.build().map_err(|e| format!("Loops client: {e}"))
}

/// Reads the server's settings through `get` (e.g. `|k| std::env::var(k).ok()`) and checks
/// what only the files and the clients can tell (the rules file, the Kommo and Loops client
/// settings), listing every problem found, one per line, before anything is opened or
/// listened on.
pub fn check(get: impl Fn(&str) -> Option<String>) -> Result<ServerConfig, String> {
    let (config, mut problems) = ServerConfig::read(get, true);
    if !config.rules_file.is_empty()
        && let Err(e) = Rules::from_path(&config.rules_file)
    {
        problems.push(e.to_string());
    }
    // A client whose settings are missing was already reported as such.
    let kommo_set = match &config.kommo_auth {
        KommoAuthConfig::LongLived(token) => !token.is_empty(),
        KommoAuthConfig::OAuth {
            client_secret,
            redirect_uri,
            token_file,
            ..
        } => ![client_secret, redirect_uri, token_file]
            .iter()
            .any(|v| v.is_empty()),
    };
    if !config.kommo_base_url.is_empty()
        && kommo_set
        && let Err(e) = kommo_client(&config)
    {
        problems.push(e);
    }
    if !config.loops_api_key.is_empty()
        && let Err(e) = loops_client(&config)
    {
        problems.push(e);
    }
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems.join("\n"))
    }
}

/// The whole bridge for the configuration. The rules and both clients are checked before the
/// store is opened, and every problem among them is listed, one per line; stage and pipeline
/// names in the rules are then resolved against the account (a name that is unknown or
/// ambiguous stops the start).
pub async fn bridge(config: &ServerConfig) -> Result<Bridge, String> {
    Ok(bridge_and_clients(config).await?.bridge)
}

/// A started bridge and what the preflight needs besides: the rules (with their names
/// resolved) and the two clients, which share their rate limits with the bridge's.
#[derive(Debug)]
pub struct Started {
    /// The bridge.
    pub bridge: Bridge,
    /// The rules it runs.
    pub rules: Rules,
    /// Its Loops client.
    pub loops: loops_client::Client,
    /// Its Kommo client.
    pub kommo: kommo_client::Client,
}

/// [`bridge`], keeping the rules and the clients for the preflight.
pub async fn bridge_and_clients(config: &ServerConfig) -> Result<Started, String> {
    let rules = Rules::from_path(&config.rules_file).map_err(|e| e.to_string());
    let (loops, kommo) = (loops_client(config), kommo_client(config));
    let (rules, loops, kommo) = match (rules, loops, kommo) {
        (Ok(rules), Ok(loops), Ok(kommo)) => (rules, loops, kommo),
        (rules, loops, kommo) => {
            let problems: Vec<String> = [rules.err(), loops.err(), kommo.err()]
                .into_iter()
                .flatten()
                .collect();
            return Err(problems.join("\n"));
        }
    };
    let rules = preflight::resolve_names(&rules, &kommo)
        .await
        .map_err(|e| e.to_string())?;
    let (outbox, state) = stores_with(&config.store, config.sqlite_durability).await?;
    // Clones share the client's connection pool, rate limiter and breaker.
    let mut builder = Bridge::builder(
        rules.clone(),
        Arc::new(loops.clone()),
        Arc::new(kommo.clone()),
    )
    .outbox(outbox)
    .state(state)
    .config(
        BridgeConfig::default()
            .mode(config.mode)
            .lease(std::time::Duration::from_secs(config.lease_secs))
            .emails_in_logs(config.emails_in_logs)
            .change_tolerance(config.catch_up.tolerance)
            .coalesce_upserts(config.coalesce_upserts)
            .skip_unchanged_upserts(config.skip_unchanged_upserts)
            .kommo_group(config.kommo_group),
    );
    if let Some(secret) = &config.loops_webhook_secret {
        builder = builder.loops_secret(secret.clone());
    }
    let bridge = builder.build().map_err(|e| match e {
        BuildError::LoopsSecret(e) => format!("LOOPS_WEBHOOK_SECRET: {e}"),
        other => other.to_string(),
    })?;
    Ok(Started {
        bridge,
        rules,
        loops,
        kommo,
    })
}

/// What the preflight compares the accounts with: the server's webhook token and signing
/// secret.
pub fn preflight_options(config: &ServerConfig) -> PreflightOptions {
    PreflightOptions::new()
        .kommo_webhook_token(config.kommo_webhook_token.clone())
        .loops_webhook_secret(config.loops_webhook_secret.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn startup_lists_every_problem() {
        let env: HashMap<&str, &str> = [
            ("RULES_FILE", "no/such/rules.toml"),
            ("KOMMO_BASE_URL", "not a url"),
            ("KOMMO_TOKEN", "kommo-token"),
            ("KOMMO_WEBHOOK_TOKEN", "short"),
            ("LOOPS_API_KEY", "loops-key"),
            ("LOOPS_WEBHOOK_SECRET", "whsec_not*base64"),
            ("IDLE_TIMEOUT_SECS", "0"),
        ]
        .into_iter()
        .collect();
        let problems = check(|k| env.get(k).map(|v| v.to_string())).unwrap_err();
        for expected in [
            "KOMMO_WEBHOOK_TOKEN is too short",
            "LOOPS_WEBHOOK_SECRET: invalid webhook secret",
            "IDLE_TIMEOUT_SECS",
            "no/such/rules.toml",
            "Kommo client",
        ] {
            assert!(
                problems.contains(expected),
                "{problems}\nshould mention {expected:?}"
            );
        }
        assert!(!problems.contains("not*base64"), "{problems}");
        assert_eq!(problems.lines().count(), 5, "{problems}");
    }
}
