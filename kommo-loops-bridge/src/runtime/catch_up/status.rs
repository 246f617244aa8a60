//! What the catch-up found, kept for `/healthz` and the logs: the state of the bridge's Kommo
//! webhook subscription, the last outage, and the changes recovered from the events log (each
//! one a webhook that did not arrive).

use std::fmt;

/// How long recovered changes keep the health at "warning": an outage stays visible for an
/// hour after it was repaired.
pub const RECOVERED_WARNING_SECS: i64 = 60 * 60;

/// The bridge's Kommo webhook subscription, as `GET /api/v4/webhooks` last showed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SubscriptionState {
    /// Not checked: no webhook URL is configured, or no check has run yet.
    #[default]
    Unchecked,
    /// Enabled: Kommo delivers.
    Active,
    /// Kommo disabled it (more than 100 failed deliveries in 2 hours, or an IP block).
    Disabled,
    /// No subscription has the bridge's URL.
    Missing,
    /// The check failed (for example, the token has no admin rights); the reason.
    Unreadable(String),
}

impl SubscriptionState {
    /// `unchecked`, `active`, `disabled`, `missing` or `unreadable`.
    pub fn as_str(&self) -> &'static str {
        match self {
            SubscriptionState::Unchecked => "unchecked",
            SubscriptionState::Active => "active",
            SubscriptionState::Disabled => "disabled",
            SubscriptionState::Missing => "missing",
            SubscriptionState::Unreadable(_) => "unreadable",
        }
    }

    /// Whether Kommo is not delivering to the bridge.
    pub fn is_lost(&self) -> bool {
        matches!(
            self,
            SubscriptionState::Disabled | SubscriptionState::Missing
        )
    }
}

impl fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscriptionState::Unreadable(reason) => write!(f, "unreadable: {reason}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The last time the subscription was found disabled or missing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outage {
    /// When the check found it (Unix seconds).
    pub detected_at: i64,
    /// What it found.
    pub subscription: SubscriptionState,
    /// When the bridge saved the subscription again, if it did.
    pub resubscribed_at: Option<i64>,
}

/// What one catch-up (or a `reconcile` run) read and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatchUpReport {
    /// The window read, `created_at` from and to (Unix seconds, both included).
    pub from: i64,
    /// See `from`.
    pub to: i64,
    /// Requests to Kommo: the subscription check (and its save), the account, the pages of
    /// the events log.
    pub kommo_requests: u64,
    /// Log events read.
    pub events: u64,
    /// Changes the rules can react to among them.
    pub changes: u64,
    /// Changes already seen (by webhook, or by an earlier catch-up): nothing to do.
    pub seen: u64,
    /// Changes no webhook brought, found by this run: recovered, planned from the log (a
    /// change an earlier run or another instance recovered is not counted again).
    pub recovered: u64,
    /// Planning jobs new to the outbox (fewer than `recovered` when another instance stored
    /// them first).
    pub enqueued: u64,
    /// The first catch-up of this store: the watermark was set, nothing read.
    pub first_start: bool,
}

impl CatchUpReport {
    /// Adds the counts of a slice of the same run.
    pub(crate) fn add(&mut self, slice: &CatchUpReport) {
        self.kommo_requests += slice.kommo_requests;
        self.events += slice.events;
        self.changes += slice.changes;
        self.seen += slice.seen;
        self.recovered += slice.recovered;
        self.enqueued += slice.enqueued;
    }
}

/// What the catch-up knows, for `/healthz` ([`Bridge::catch_up_status`]).
///
/// [`Bridge::catch_up_status`]: crate::runtime::Bridge::catch_up_status
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatchUpStatus {
    /// The subscription as last checked.
    pub subscription: SubscriptionState,
    /// When it was last checked (Unix seconds).
    pub subscription_checked_at: Option<i64>,
    /// The last outage found, kept after it was repaired.
    pub last_outage: Option<Outage>,
    /// How many times the bridge saved its subscription again since it started.
    pub resubscribed: u64,
    /// The last catch-up's report.
    pub last_run: Option<CatchUpReport>,
    /// When it ended (Unix seconds).
    pub last_run_at: Option<i64>,
    /// Changes recovered from the events log since the bridge started: missed webhooks.
    pub recovered_total: u64,
    /// When changes were last recovered (Unix seconds).
    pub last_recovered_at: Option<i64>,
    /// The last catch-up's failure, cleared by the next success.
    pub last_error: Option<String>,
}

impl CatchUpStatus {
    /// Why the Kommo webhook path needs attention at `now` (Unix seconds), if it does: the
    /// subscription is disabled or missing, the last catch-up failed, or webhooks were missed
    /// in the last hour.
    pub fn warning(&self, now: i64) -> Option<String> {
        if self.subscription.is_lost() {
            return Some(format!(
                "Kommo's webhook subscription for this bridge is {}",
                self.subscription
            ));
        }
        if let Some(error) = &self.last_error {
            return Some(format!(
                "the last catch-up from Kommo's events log failed: {error}"
            ));
        }
        match self.last_recovered_at {
            Some(at) if now.saturating_sub(at) < RECOVERED_WARNING_SECS => Some(format!(
                "webhooks were missed: {} change(s) recovered from Kommo's events log since the \
                 start, the last at {at}",
                self.recovered_total
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_table() {
        let base = CatchUpStatus {
            subscription: SubscriptionState::Active,
            ..CatchUpStatus::default()
        };
        let table: Vec<(CatchUpStatus, i64, Option<&str>)> = vec![
            (base.clone(), 1000, None),
            (CatchUpStatus::default(), 1000, None),
            (
                CatchUpStatus {
                    subscription: SubscriptionState::Disabled,
                    ..base.clone()
                },
                1000,
                Some("is disabled"),
            ),
            (
                CatchUpStatus {
                    subscription: SubscriptionState::Missing,
                    ..base.clone()
                },
                1000,
                Some("is missing"),
            ),
            (
                CatchUpStatus {
                    subscription: SubscriptionState::Unreadable("403".into()),
                    ..base.clone()
                },
                1000,
                None,
            ),
            (
                CatchUpStatus {
                    last_error: Some("Kommo: 503".into()),
                    ..base.clone()
                },
                1000,
                Some("failed: Kommo: 503"),
            ),
            (
                CatchUpStatus {
                    recovered_total: 7,
                    last_recovered_at: Some(1000),
                    ..base.clone()
                },
                1000 + RECOVERED_WARNING_SECS - 1,
                Some("7 change(s) recovered"),
            ),
            (
                CatchUpStatus {
                    recovered_total: 7,
                    last_recovered_at: Some(1000),
                    ..base
                },
                1000 + RECOVERED_WARNING_SECS,
                None,
            ),
        ];
        for (status, now, expected) in table {
            let got = status.warning(now);
            match (&got, expected) {
                (None, None) => {}
                (Some(text), Some(fragment)) => assert!(text.contains(fragment), "{text}"),
                _ => panic!("{status:?} at {now}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
