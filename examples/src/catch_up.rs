//! The server's catch-up settings (from environment variables) and what `/healthz` shows of
//! the catch-up: the Kommo webhook subscription, the last outage, the missed webhooks
//! recovered from Kommo's events log.

use std::ops::RangeInclusive;
use std::time::Duration;

use kommo_loops_bridge::runtime::catch_up::{CatchUpStatus, SubscriptionState};
use kommo_loops_bridge::runtime::{CatchUpConfig, DEFAULT_CHANGE_TOLERANCE};

/// The catch-up's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct CatchUpSettings {
    /// `CATCH_UP`: `on` (default) or `off`.
    pub enabled: bool,
    /// `CATCH_UP_INTERVAL_SECS` (default 300).
    pub interval: Duration,
    /// `CATCH_UP_OVERLAP_SECS` (default 600).
    pub overlap: Duration,
    /// `CATCH_UP_TOLERANCE_SECS` (default 120): how far apart a webhook's time and its log
    /// entry's may be.
    pub tolerance: Duration,
    /// `PUBLIC_URL`: where Kommo reaches this server (`https://bridge.example.com`); with it,
    /// each catch-up checks the webhook subscription.
    pub public_url: Option<String>,
    /// `KOMMO_RESUBSCRIBE`: `true` (default) or `false`.
    pub resubscribe: bool,
}

impl std::fmt::Debug for CatchUpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatchUpSettings")
            .field("enabled", &self.enabled)
            .field("interval", &self.interval)
            .field("overlap", &self.overlap)
            .field("tolerance", &self.tolerance)
            .field("public_url", &self.public_url)
            .field("resubscribe", &self.resubscribe)
            .finish()
    }
}

impl Default for CatchUpSettings {
    fn default() -> Self {
        let defaults = CatchUpConfig::default();
        CatchUpSettings {
            enabled: true,
            interval: defaults.interval,
            overlap: defaults.overlap,
            tolerance: DEFAULT_CHANGE_TOLERANCE,
            public_url: None,
            resubscribe: defaults.resubscribe,
        }
    }
}

/// A setting that is one of two words (`on` or `off`, any case); `default` when unset.
pub(crate) fn switch(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: bool,
    [on, off]: [&str; 2],
    problems: &mut Vec<String>,
) -> bool {
    match get(name).map(|v| v.to_ascii_lowercase()) {
        None => default,
        Some(v) if v == on => true,
        Some(v) if v == off => false,
        Some(v) => {
            problems.push(format!("{name} {v:?} must be {on} or {off}"));
            default
        }
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: Duration,
    range: RangeInclusive<u64>,
    problems: &mut Vec<String>,
) -> Duration {
    match get(name) {
        None => default,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if range.contains(&n) => Duration::from_secs(n),
            _ => {
                problems.push(format!(
                    "{name} {v:?} must be a number of seconds from {} to {}",
                    range.start(),
                    range.end()
                ));
                default
            }
        },
    }
}

impl CatchUpSettings {
    /// Reads the settings through `get` (values already trimmed, empty ones absent), adding
    /// every problem to `problems`.
    pub fn read(get: &impl Fn(&str) -> Option<String>, problems: &mut Vec<String>) -> Self {
        let defaults = CatchUpSettings::default();
        let public_url = get("PUBLIC_URL").map(|url| url.trim_end_matches('/').to_owned());
        if let Some(url) = &public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            problems.push(format!(
                "PUBLIC_URL {url:?} must be the http(s) address Kommo reaches this server at, \
                 e.g. https://bridge.example.com"
            ));
        }
        let interval = seconds(
            get,
            "CATCH_UP_INTERVAL_SECS",
            defaults.interval,
            10..=86_400,
            problems,
        );
        let overlap = seconds(
            get,
            "CATCH_UP_OVERLAP_SECS",
            defaults.overlap,
            60..=7 * 86_400,
            problems,
        );
        let tolerance = seconds(
            get,
            "CATCH_UP_TOLERANCE_SECS",
            defaults.tolerance,
            0..=3_600,
            problems,
        );
        CatchUpSettings {
            enabled: switch(get, "CATCH_UP", true, ["on", "off"], problems),
            interval,
            overlap,
            tolerance,
            public_url,
            resubscribe: switch(get, "KOMMO_RESUBSCRIBE", true, ["true", "false"], problems),
        }
    }

    /// The bridge's catch-up configuration; `kommo_token` is the webhook path token.
    pub fn config(&self, kommo_token: &str) -> CatchUpConfig {
        let mut config = CatchUpConfig::new()
            .interval(self.interval)
            .overlap(self.overlap)
            .resubscribe(self.resubscribe);
        if let Some(url) = &self.public_url {
            config = config.webhook_url(format!("{url}/webhooks/kommo/{kommo_token}"));
        }
        config
    }
}

/// `/healthz`'s `kommoCatchUp` member; the warning, if any, also turns the status to
/// `warning`.
pub fn health(status: &CatchUpStatus, now: i64) -> (serde_json::Value, Option<String>) {
    let warning = status.warning(now);
    let reason = match &status.subscription {
        SubscriptionState::Unreadable(reason) => Some(reason.as_str()),
        _ => None,
    };
    let last_run = status.last_run.as_ref().map(|run| {
        serde_json::json!({
            "at": status.last_run_at,
            "from": run.from,
            "to": run.to,
            "events": run.events,
            "changes": run.changes,
            "seen": run.seen,
            "recovered": run.recovered,
        })
    });
    let outage = status.last_outage.as_ref().map(|o| {
        serde_json::json!({
            "detectedAt": o.detected_at,
            "subscription": o.subscription.as_str(),
            "resubscribedAt": o.resubscribed_at,
        })
    });
    let body = serde_json::json!({
        "subscription": status.subscription.as_str(),
        "subscriptionError": reason,
        "subscriptionCheckedAt": status.subscription_checked_at,
        "lastOutage": outage,
        "resubscribed": status.resubscribed,
        "recoveredTotal": status.recovered_total,
        "lastRecoveredAt": status.last_recovered_at,
        "lastRun": last_run,
        "lastError": status.last_error,
        "warning": warning,
    });
    (body, warning)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> (CatchUpSettings, Vec<String>) {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut problems = Vec::new();
        let settings = CatchUpSettings::read(&|k: &str| map.get(k).cloned(), &mut problems);
        (settings, problems)
    }

    #[test]
    fn defaults_and_settings() {
        let (settings, problems) = read(&[]);
        assert!(problems.is_empty());
        assert_eq!(settings, CatchUpSettings::default());
        assert!(settings.enabled && settings.resubscribe);
        assert_eq!(settings.interval, Duration::from_secs(300));
        assert_eq!(settings.overlap, Duration::from_secs(600));
        let config = settings.config("tok");
        assert_eq!(config.webhook_url, None);

        let (settings, problems) = read(&[
            ("CATCH_UP", "off"),
            ("CATCH_UP_INTERVAL_SECS", "60"),
            ("CATCH_UP_OVERLAP_SECS", "900"),
            ("CATCH_UP_TOLERANCE_SECS", "5"),
            ("PUBLIC_URL", "https://bridge.example.com/"),
            ("KOMMO_RESUBSCRIBE", "false"),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        assert!(!settings.enabled && !settings.resubscribe);
        assert_eq!(settings.tolerance, Duration::from_secs(5));
        let config = settings.config("tok");
        assert_eq!(
            config.webhook_url.as_deref(),
            Some("https://bridge.example.com/webhooks/kommo/tok")
        );
        assert_eq!(config.interval, Duration::from_secs(60));
        assert!(!format!("{config:?}").contains("tok"));
    }

    #[test]
    fn every_problem_is_listed() {
        let (_, problems) = read(&[
            ("CATCH_UP", "maybe"),
            ("CATCH_UP_INTERVAL_SECS", "1"),
            ("CATCH_UP_OVERLAP_SECS", "soon"),
            ("CATCH_UP_TOLERANCE_SECS", "99999"),
            ("PUBLIC_URL", "bridge.example.com"),
            ("KOMMO_RESUBSCRIBE", "yes"),
        ]);
        assert_eq!(problems.len(), 6, "{problems:#?}");
        for (problem, name) in problems.iter().zip([
            "PUBLIC_URL",
            "CATCH_UP_INTERVAL_SECS",
            "CATCH_UP_OVERLAP_SECS",
            "CATCH_UP_TOLERANCE_SECS",
            "CATCH_UP",
            "KOMMO_RESUBSCRIBE",
        ]) {
            assert!(problem.starts_with(name), "{problem}");
        }
    }
}
