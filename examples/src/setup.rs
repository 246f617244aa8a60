//! Building a bridge from [`ServerConfig`]: the two clients, the stores, the rules.

use std::sync::Arc;

use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::{
    Bridge, BridgeConfig, MemoryOutbox, MemoryState, Outbox, PostgresOutbox, SqliteDurability,
    SqliteOutbox, StateStore,
};

use crate::config::{KommoAuthConfig, ServerConfig, StoreConfig};

/// The outbox and state store a configuration asks for.
pub async fn stores(
    config: &StoreConfig,
) -> Result<(Arc<dyn Outbox>, Arc<dyn StateStore>), String> {
    stores_with(config, SqliteDurability::Full).await
}

/// Like [`stores`], with the durability of an SQLite file (`OUTBOX_SYNC`).
pub async fn stores_with(
    config: &StoreConfig,
    durability: SqliteDurability,
) -> Result<(Arc<dyn Outbox>, Arc<dyn StateStore>), String> {
    match config {
        StoreConfig::Memory => Ok((Arc::new(MemoryOutbox::new()), Arc::new(MemoryState::new()))),
        StoreConfig::Sqlite(path) => {
            let store = Arc::new(
                SqliteOutbox::open_with(path, durability)
                    .await
                    .map_err(|e| format!("cannot open the SQLite outbox {path}: {e}"))?,
            );
            Ok((store.clone(), store))
        }
        StoreConfig::Postgres(url) => {
            let store = Arc::new(
                PostgresOutbox::connect(url)
                    .await
                    .map_err(|e| format!("cannot connect to the PostgreSQL outbox: {e}"))?,
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

/// The whole bridge for the configuration.
pub async fn bridge(config: &ServerConfig) -> Result<Bridge, String> {
    let rules = Rules::from_path(&config.rules_file).map_err(|e| e.to_string())?;
    let (outbox, state) = stores_with(&config.store, config.sqlite_durability).await?;
    let mut builder = Bridge::builder(
        rules,
        Arc::new(loops_client(config)?),
        Arc::new(kommo_client(config)?),
    )
    .outbox(outbox)
    .state(state)
    .config(
        BridgeConfig::default()
            .mode(config.mode)
            .lease(std::time::Duration::from_secs(config.lease_secs)),
    );
    if let Some(secret) = &config.loops_webhook_secret {
        builder = builder.loops_secret(secret.clone());
    }
    builder
        .build()
        .map_err(|e| format!("LOOPS_WEBHOOK_SECRET: {e}"))
}
