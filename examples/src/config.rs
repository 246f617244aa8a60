//! The server's settings, from environment variables. Everything required is checked at
//! once, so a misconfigured server says everything that is wrong before it starts.

use std::fmt;
use std::net::SocketAddr;

use std::ops::RangeInclusive;
use std::time::Duration;

use kommo_loops_bridge::Mode;
use kommo_loops_bridge::runtime::{EmailsInLogs, SqliteDurability};
use loops_client::webhooks::WebhookVerifier;

use crate::listener::ConnectionLimits;

/// The default of `LEASE_SECS`: the bridge's default lease, two minutes.
pub const DEFAULT_LEASE_SECS: u64 = 120;

/// Where the outbox and the runtime's state live.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// In memory: lost on exit. For trying things out only.
    Memory,
    /// An SQLite file (the default): one instance, no server needed.
    Sqlite(String),
    /// PostgreSQL: several instances can share it.
    Postgres(String),
}

impl StoreConfig {
    /// Reads only the store settings (`DATABASE_URL`, `OUTBOX_PATH`, `OUTBOX=memory`), for a
    /// tool that works on the server's store, such as the `outbox` example. Without any, the
    /// server's default file `kommo-loops.db`.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<StoreConfig, String> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let store = Self::read(&get, "kommo-loops.db", &mut problems);
        if problems.is_empty() {
            Ok(store)
        } else {
            Err(problems.join("\n"))
        }
    }

    fn read(
        get: &impl Fn(&str) -> Option<String>,
        default_file: &str,
        problems: &mut Vec<String>,
    ) -> StoreConfig {
        match (
            get("DATABASE_URL"),
            get("OUTBOX_PATH"),
            get("OUTBOX").as_deref(),
        ) {
            (Some(url), _, _)
                if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                StoreConfig::Postgres(url)
            }
            (Some(_), _, _) => {
                problems.push(
                    "DATABASE_URL must be a postgres:// URL (use OUTBOX_PATH for SQLite)".into(),
                );
                StoreConfig::Memory
            }
            (None, Some(path), _) => StoreConfig::Sqlite(path),
            (None, None, Some("memory")) => StoreConfig::Memory,
            (None, None, _) => StoreConfig::Sqlite(default_file.into()),
        }
    }
}

impl fmt::Debug for StoreConfig {
    // A PostgreSQL URL can hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Memory => f.write_str("Memory"),
            StoreConfig::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            StoreConfig::Postgres(_) => f.write_str("Postgres([redacted])"),
        }
    }
}

/// How the server reaches Kommo.
#[derive(Clone, PartialEq, Eq)]
pub enum KommoAuthConfig {
    /// A long-lived token (private integrations).
    LongLived(String),
    /// OAuth 2.0 with tokens kept in a JSON file (seed it once with the code exchange).
    OAuth {
        /// The integration id.
        client_id: String,
        /// The integration secret.
        client_secret: String,
        /// The redirect URI, exactly as configured.
        redirect_uri: String,
        /// The token file.
        token_file: String,
    },
}

impl fmt::Debug for KommoAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KommoAuthConfig::LongLived(_) => f.write_str("LongLived([redacted])"),
            KommoAuthConfig::OAuth {
                client_id,
                redirect_uri,
                token_file,
                ..
            } => f
                .debug_struct("OAuth")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .field("redirect_uri", redirect_uri)
                .field("token_file", token_file)
                .finish(),
        }
    }
}

/// The server's settings.
#[derive(Clone)]
pub struct ServerConfig {
    /// `RULES_FILE`: the rules (TOML or JSON).
    pub rules_file: String,
    /// `BIND_ADDR` (default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// `KOMMO_BASE_URL` (`https://acme.kommo.com`).
    pub kommo_base_url: String,
    /// `KOMMO_TOKEN`, or `KOMMO_CLIENT_ID` + `KOMMO_CLIENT_SECRET` + `KOMMO_REDIRECT_URI` +
    /// `KOMMO_TOKEN_FILE`.
    pub kommo_auth: KommoAuthConfig,
    /// `KOMMO_WEBHOOK_TOKEN`: the secret path segment of the Kommo webhook URL (at least 16
    /// characters).
    pub kommo_webhook_token: String,
    /// `LOOPS_API_KEY`.
    pub loops_api_key: String,
    /// `LOOPS_BASE_URL` (default: the production API).
    pub loops_base_url: Option<String>,
    /// `LOOPS_WEBHOOK_SECRET` (`whsec_...`; several, comma-separated, during a rotation).
    /// Without it, Loops webhooks are refused.
    pub loops_webhook_secret: Option<String>,
    /// `WORKERS` (default 4).
    pub workers: usize,
    /// `MODE`: `live` (default) or `backfill`.
    pub mode: Mode,
    /// `LEASE_SECS` (default 120): how long a worker holds a claimed job; a job whose worker
    /// died is taken over after this long.
    pub lease_secs: u64,
    /// `DATABASE_URL` (`postgres://...`) or `OUTBOX_PATH` (an SQLite file, default
    /// `kommo-loops.db`), or `OUTBOX=memory`.
    pub store: StoreConfig,
    /// `OUTBOX_SYNC`: `full` (default: every commit waits for the disk) or `normal` (an
    /// acknowledged webhook survives a process kill, not a power loss).
    pub sqlite_durability: SqliteDurability,
    /// `MAX_CONNECTIONS`, `HEADER_READ_TIMEOUT_SECS`, `IDLE_TIMEOUT_SECS`, `BODY_TIMEOUT_SECS`:
    /// how many connections the server keeps and how long each may take.
    pub connections: ConnectionLimits,
    /// `LOG_EMAILS`: `masked` (default: `a***@example.com`) or `full`.
    pub emails_in_logs: EmailsInLogs,
    /// `CATCH_UP`, `CATCH_UP_INTERVAL_SECS`, `CATCH_UP_OVERLAP_SECS`,
    /// `CATCH_UP_TOLERANCE_SECS`, `PUBLIC_URL`, `KOMMO_RESUBSCRIBE`: recovering lost Kommo
    /// webhooks from Kommo's events log.
    pub catch_up: crate::catch_up::CatchUpSettings,
    /// `COALESCE_UPSERTS`: `true` (default: a burst of upserts of one contact waiting in the
    /// outbox goes out as one call) or `false` (one call per upsert).
    pub coalesce_upserts: bool,
    /// `SKIP_UNCHANGED_UPSERTS`: `true` (default: an upsert identical to what was last
    /// delivered for its contact is not sent again) or `false`.
    pub skip_unchanged_upserts: bool,
    /// `KOMMO_GROUP`: how many Kommo notes, tasks or tag changes go in one Kommo request, 1 to
    /// 250 (default 50, Kommo's recommended batch size; 1 sends one request per write).
    pub kommo_group: usize,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("rules_file", &self.rules_file)
            .field("bind", &self.bind)
            .field("kommo_base_url", &self.kommo_base_url)
            .field("kommo_auth", &self.kommo_auth)
            .field("kommo_webhook_token", &"[redacted]")
            .field("loops_api_key", &"[redacted]")
            .field("loops_base_url", &self.loops_base_url)
            .field(
                "loops_webhook_secret",
                &self.loops_webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("workers", &self.workers)
            .field("mode", &self.mode)
            .field("lease_secs", &self.lease_secs)
            .field("store", &self.store)
            .field("sqlite_durability", &self.sqlite_durability)
            .field("connections", &self.connections)
            .field("emails_in_logs", &self.emails_in_logs)
            .field("catch_up", &self.catch_up)
            .field("coalesce_upserts", &self.coalesce_upserts)
            .field("skip_unchanged_upserts", &self.skip_unchanged_upserts)
            .field("kommo_group", &self.kommo_group)
            .finish()
    }
}

impl ServerConfig {
    /// Reads the settings through `get` (e.g. `|k| std::env::var(k).ok()`); the error lists
    /// every problem, one per line.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<ServerConfig, String> {
        Self::checked(Self::read(get, true))
    }

    /// The same settings for a tool that receives no webhooks (the backfill):
    /// `KOMMO_WEBHOOK_TOKEN` is not needed, and the default SQLite file is `backfill.db`.
    pub fn for_backfill(get: impl Fn(&str) -> Option<String>) -> Result<ServerConfig, String> {
        Self::checked(Self::read(get, false))
    }

    fn checked((config, problems): (ServerConfig, Vec<String>)) -> Result<ServerConfig, String> {
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems.join("\n"))
        }
    }

    /// The settings as far as they could be read (a missing one is empty), and every problem
    /// found; for a caller that checks more (the rules file, the clients) before it reports.
    pub(crate) fn read(
        get: impl Fn(&str) -> Option<String>,
        webhooks: bool,
    ) -> (ServerConfig, Vec<String>) {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut required = |name: &str, what: &str| {
            get(name).unwrap_or_else(|| {
                problems.push(format!("{name} is not set: {what}"));
                String::new()
            })
        };
        let rules_file = required(
            "RULES_FILE",
            "the rules file, e.g. examples/rules/saas-onboarding.toml",
        );
        let kommo_base_url = required(
            "KOMMO_BASE_URL",
            "your account's address, e.g. https://acme.kommo.com",
        );
        let kommo_webhook_token = if webhooks {
            required(
                "KOMMO_WEBHOOK_TOKEN",
                "a long random secret; Kommo posts to /webhooks/kommo/<this token>",
            )
        } else {
            get("KOMMO_WEBHOOK_TOKEN").unwrap_or_else(|| "unused-by-this-tool".into())
        };
        let loops_api_key = required("LOOPS_API_KEY", "the API key from Loops > Settings > API");
        let kommo_auth = match (get("KOMMO_TOKEN"), get("KOMMO_CLIENT_ID")) {
            (Some(token), _) => KommoAuthConfig::LongLived(token),
            (None, Some(client_id)) => {
                let mut oauth = |name: &str| {
                    get(name).unwrap_or_else(|| {
                        problems.push(format!("{name} is not set (needed with KOMMO_CLIENT_ID)"));
                        String::new()
                    })
                };
                KommoAuthConfig::OAuth {
                    client_id,
                    client_secret: oauth("KOMMO_CLIENT_SECRET"),
                    redirect_uri: oauth("KOMMO_REDIRECT_URI"),
                    token_file: oauth("KOMMO_TOKEN_FILE"),
                }
            }
            (None, None) => {
                problems.push("KOMMO_TOKEN is not set: a long-lived token, or set KOMMO_CLIENT_ID, KOMMO_CLIENT_SECRET, KOMMO_REDIRECT_URI and KOMMO_TOKEN_FILE for OAuth".into());
                KommoAuthConfig::LongLived(String::new())
            }
        };
        if !kommo_webhook_token.is_empty() && kommo_webhook_token.len() < 16 {
            problems
                .push("KOMMO_WEBHOOK_TOKEN is too short: use at least 16 random characters".into());
        }
        if !kommo_webhook_token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push("KOMMO_WEBHOOK_TOKEN may only hold letters, digits, '-' and '_' (it is a URL path segment)".into());
        }
        let bind = match get("BIND_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(v) => v.parse().unwrap_or_else(|_| {
                problems.push(format!(
                    "BIND_ADDR {v:?} is not an address like 127.0.0.1:8080"
                ));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }),
        };
        let workers = bounded(&get, "WORKERS", 4, 1..=64, "a number", &mut problems) as usize;
        let mode = match get("MODE").as_deref().map(str::parse::<Mode>) {
            None => Mode::Live,
            Some(Ok(mode)) => mode,
            Some(Err(e)) => {
                problems.push(format!("MODE: {e}"));
                Mode::Live
            }
        };
        let seconds = "a number of seconds";
        let lease_secs = bounded(
            &get,
            "LEASE_SECS",
            DEFAULT_LEASE_SECS,
            1..=3600,
            seconds,
            &mut problems,
        );
        let defaults = ConnectionLimits::default();
        let mut secs = |name: &str, default: Duration, most: u64| {
            Duration::from_secs(bounded(
                &get,
                name,
                default.as_secs(),
                1..=most,
                seconds,
                &mut problems,
            ))
        };
        let header_read_timeout = secs(
            "HEADER_READ_TIMEOUT_SECS",
            defaults.header_read_timeout,
            300,
        );
        let idle_timeout = secs("IDLE_TIMEOUT_SECS", defaults.idle_timeout, 3600);
        let body_timeout = secs("BODY_TIMEOUT_SECS", defaults.body_timeout, 300);
        let max_connections = bounded(
            &get,
            "MAX_CONNECTIONS",
            defaults.max_connections as u64,
            1..=100_000,
            "a number",
            &mut problems,
        ) as usize;
        let connections = ConnectionLimits::new()
            .max_connections(max_connections)
            .header_read_timeout(header_read_timeout)
            .idle_timeout(idle_timeout)
            .body_timeout(body_timeout);
        let emails_in_logs = match get("LOG_EMAILS").as_deref().map(str::to_ascii_lowercase) {
            None => EmailsInLogs::Masked,
            Some(v) if v == "masked" => EmailsInLogs::Masked,
            Some(v) if v == "full" => EmailsInLogs::Full,
            Some(v) => {
                problems.push(format!("LOG_EMAILS {v:?} must be masked or full"));
                EmailsInLogs::Masked
            }
        };
        let loops_webhook_secret = get("LOOPS_WEBHOOK_SECRET");
        if let Some(secrets) = &loops_webhook_secret
            && let Err(e) = WebhookVerifier::with_secrets(
                secrets.split(',').map(str::trim).filter(|s| !s.is_empty()),
            )
        {
            // The error says what is wrong with the form, never the secret itself.
            problems.push(format!(
                "LOOPS_WEBHOOK_SECRET: {e} (copy the signing secret, whsec_..., from Loops > \
                 Settings > Webhooks)"
            ));
        }
        let default_file = if webhooks {
            "kommo-loops.db"
        } else {
            "backfill.db"
        };
        let store = StoreConfig::read(&get, default_file, &mut problems);
        let sqlite_durability = match get("OUTBOX_SYNC").as_deref().map(str::to_ascii_lowercase) {
            None => SqliteDurability::Full,
            Some(v) if v == "full" => SqliteDurability::Full,
            Some(v) if v == "normal" => SqliteDurability::Normal,
            Some(v) => {
                problems.push(format!("OUTBOX_SYNC {v:?} must be full or normal"));
                SqliteDurability::Full
            }
        };
        let catch_up = crate::catch_up::CatchUpSettings::read(&get, &mut problems);
        let coalesce_upserts = crate::catch_up::switch(
            &get,
            "COALESCE_UPSERTS",
            true,
            ["true", "false"],
            &mut problems,
        );
        let skip_unchanged_upserts = crate::catch_up::switch(
            &get,
            "SKIP_UNCHANGED_UPSERTS",
            true,
            ["true", "false"],
            &mut problems,
        );
        let kommo_group =
            bounded(&get, "KOMMO_GROUP", 50, 1..=250, "a number", &mut problems) as usize;
        let config = ServerConfig {
            rules_file,
            bind,
            kommo_base_url,
            kommo_auth,
            kommo_webhook_token,
            loops_api_key,
            loops_base_url: get("LOOPS_BASE_URL"),
            loops_webhook_secret,
            workers,
            mode,
            lease_secs,
            store,
            sqlite_durability,
            connections,
            emails_in_logs,
            catch_up,
            coalesce_upserts,
            skip_unchanged_upserts,
            kommo_group,
        };
        (config, problems)
    }
}

/// A whole number setting within `range` (`default` when unset); `what` names it in the
/// problem, e.g. "a number of seconds".
fn bounded(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    range: RangeInclusive<u64>,
    what: &str,
    problems: &mut Vec<String>,
) -> u64 {
    match get(name) {
        None => default,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                problems.push(format!(
                    "{name} {v:?} must be {what} from {} to {}",
                    range.start(),
                    range.end()
                ));
                default
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const MINIMAL: [(&str, &str); 5] = [
        ("RULES_FILE", "rules.toml"),
        ("KOMMO_BASE_URL", "https://acme.kommo.com"),
        ("KOMMO_TOKEN", "kommo-secret-token"),
        ("KOMMO_WEBHOOK_TOKEN", "0123456789abcdef0123"),
        ("LOOPS_API_KEY", "loops-secret-key"),
    ];

    #[test]
    fn outbox_sync() {
        let with = |value: &str| {
            let mut pairs = MINIMAL.to_vec();
            pairs.push(("OUTBOX_SYNC", value));
            ServerConfig::from_env(env(&pairs))
        };
        assert_eq!(
            ServerConfig::from_env(env(&MINIMAL))
                .unwrap()
                .sqlite_durability,
            SqliteDurability::Full
        );
        assert_eq!(
            with("full").unwrap().sqlite_durability,
            SqliteDurability::Full
        );
        assert_eq!(
            with("NORMAL").unwrap().sqlite_durability,
            SqliteDurability::Normal
        );
        assert!(with("off").unwrap_err().contains("OUTBOX_SYNC"));
    }

    #[test]
    fn minimal_settings_and_defaults() {
        let config = ServerConfig::from_env(env(&MINIMAL)).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.workers, 4);
        assert_eq!(config.lease_secs, DEFAULT_LEASE_SECS);
        assert!(config.coalesce_upserts && config.skip_unchanged_upserts);
        assert_eq!(config.kommo_group, 50);
        assert_eq!(config.store, StoreConfig::Sqlite("kommo-loops.db".into()));
        let shown = format!("{config:?}");
        for secret in [
            "kommo-secret-token",
            "loops-secret-key",
            "0123456789abcdef0123",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn every_problem_is_listed() {
        let err = ServerConfig::from_env(env(&[
            ("WORKERS", "0"),
            ("MODE", "dry"),
            ("LEASE_SECS", "0"),
            ("KOMMO_GROUP", "251"),
            ("KOMMO_WEBHOOK_TOKEN", "short"),
        ]))
        .unwrap_err();
        for expected in [
            "RULES_FILE",
            "KOMMO_BASE_URL",
            "LOOPS_API_KEY",
            "KOMMO_TOKEN",
            "too short",
            "WORKERS",
            "MODE",
            "LEASE_SECS",
            "KOMMO_GROUP",
        ] {
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        let mut oauth: Vec<(&str, &str)> = MINIMAL
            .iter()
            .filter(|(k, _)| *k != "KOMMO_TOKEN")
            .copied()
            .collect();
        oauth.push(("KOMMO_CLIENT_ID", "abc"));
        let err = ServerConfig::from_env(env(&oauth)).unwrap_err();
        assert!(
            err.contains("KOMMO_CLIENT_SECRET") && err.contains("KOMMO_TOKEN_FILE"),
            "{err}"
        );
    }

    #[test]
    fn connection_limits_and_emails_in_logs() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut all = MINIMAL.to_vec();
            all.extend_from_slice(pairs);
            ServerConfig::from_env(env(&all))
        };
        let config = with(&[]).unwrap();
        assert_eq!(config.connections, ConnectionLimits::default());
        assert_eq!(config.connections.max_connections, 512);
        assert_eq!(config.emails_in_logs, EmailsInLogs::Masked);
        let config = with(&[
            ("MAX_CONNECTIONS", "64"),
            ("HEADER_READ_TIMEOUT_SECS", "5"),
            ("IDLE_TIMEOUT_SECS", "120"),
            ("BODY_TIMEOUT_SECS", "20"),
            ("LOG_EMAILS", "Full"),
        ])
        .unwrap();
        assert_eq!(
            config.connections,
            ConnectionLimits::new()
                .max_connections(64)
                .header_read_timeout(Duration::from_secs(5))
                .idle_timeout(Duration::from_secs(120))
                .body_timeout(Duration::from_secs(20))
        );
        assert_eq!(config.emails_in_logs, EmailsInLogs::Full);
        let err = with(&[
            ("MAX_CONNECTIONS", "0"),
            ("HEADER_READ_TIMEOUT_SECS", "soon"),
            ("IDLE_TIMEOUT_SECS", "0"),
            ("BODY_TIMEOUT_SECS", "301"),
            ("LOG_EMAILS", "some"),
        ])
        .unwrap_err();
        for expected in [
            "MAX_CONNECTIONS \"0\" must be a number from 1 to 100000",
            "HEADER_READ_TIMEOUT_SECS \"soon\" must be a number of seconds from 1 to 300",
            "IDLE_TIMEOUT_SECS",
            "BODY_TIMEOUT_SECS",
            "LOG_EMAILS",
        ] {
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn a_bad_webhook_token_and_a_bad_loops_secret_are_both_listed() {
        let mut pairs = MINIMAL.to_vec();
        pairs.retain(|(k, _)| *k != "KOMMO_WEBHOOK_TOKEN");
        pairs.push(("KOMMO_WEBHOOK_TOKEN", "short"));
        pairs.push(("LOOPS_WEBHOOK_SECRET", "whsec_%%%, whsec_"));
        let err = ServerConfig::from_env(env(&pairs)).unwrap_err();
        assert!(err.contains("KOMMO_WEBHOOK_TOKEN is too short"), "{err}");
        assert!(
            err.contains("LOOPS_WEBHOOK_SECRET: invalid webhook secret"),
            "{err}"
        );
        assert!(!err.contains("%%%"), "the secret is shown: {err}");
        pairs.pop();
        pairs.push(("LOOPS_WEBHOOK_SECRET", "whsec_c2VjcmV0, whsec_b2xk"));
        let err = ServerConfig::from_env(env(&pairs)).unwrap_err();
        assert!(!err.contains("LOOPS_WEBHOOK_SECRET"), "{err}");
    }

    #[test]
    fn stores() {
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("DATABASE_URL", "postgres://bridge:pw@db/bridge"));
        let config = ServerConfig::from_env(env(&pairs)).unwrap();
        assert!(matches!(config.store, StoreConfig::Postgres(_)));
        assert!(!format!("{config:?}").contains("pw@"));
        let mut pairs = MINIMAL.to_vec();
        pairs.push(("OUTBOX", "memory"));
        assert_eq!(
            ServerConfig::from_env(env(&pairs)).unwrap().store,
            StoreConfig::Memory
        );
    }
}
