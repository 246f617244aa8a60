//! The catch-up: finds the Kommo changes whose webhooks were lost in Kommo's events log, and
//! plans them through the outbox exactly once, whether their webhook arrived, arrives later,
//! or another instance finds them too (docs/architecture.md, "Missed webhooks").
//!
//! [`Bridge::catch_up`] runs once: it checks the webhook subscription (and saves it again when
//! Kommo disabled it), reads the log from the stored watermark minus an overlap, resolves each
//! change against the record of changes, and enqueues a planning job for each change no
//! webhook brought. [`Bridge::spawn_catch_up`] runs it on start and then every interval.
//! [`Bridge::recover`] reads any window (the `reconcile` example), and can plan without
//! storing anything.

mod bulk;
mod change;
mod loops;
mod status;
mod subscription;

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use kommo_client::events::{Event, EventsQuery};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use change::LoggedChange;
pub use loops::LoopsRecovery;
pub use status::{CatchUpReport, CatchUpStatus, Outage, RECOVERED_WARNING_SECS, SubscriptionState};

use super::bridge::Bridge;
use super::changes::{Observation, resolve_changes};
use super::outbox::{NewItem, OutboxError};
use super::ports::PortError;
use crate::plan::Plan;
use crate::text::push_hex;

/// The name of the catch-up's watermark in the state store.
pub const WATERMARK: &str = "kommo-events";

/// Log events per page (Kommo's most).
const PAGE_SIZE: u32 = kommo_client::events::EVENTS_MAX_LIMIT;

/// Changes resolved (and enqueued) per store transaction.
const CHUNK: usize = 1000;

/// The longest window one read holds in memory: six hours of the log.
const MAX_SLICE_SECS: i64 = 6 * 60 * 60;

/// Attempts at one page of the log when Kommo answers with a transient failure.
const PAGE_ATTEMPTS: u32 = 3;

/// How the catch-up runs.
#[derive(Clone)]
#[non_exhaustive]
pub struct CatchUpConfig {
    /// Between two catch-ups (default 5 minutes).
    pub interval: Duration,
    /// How far before the watermark each catch-up starts reading again (default 10 minutes):
    /// covers events Kommo logs late and clock differences. Must exceed both.
    pub overlap: Duration,
    /// How far before now (and before the oldest Kommo delivery still waiting to be planned)
    /// a catch-up stops reading (default 60 s): longer than Kommo takes to deliver a webhook.
    pub settle: Duration,
    /// The URL Kommo delivers to (with its path token): when set, each catch-up checks the
    /// subscription with this destination. A secret: never shown by `Debug`.
    pub webhook_url: Option<String>,
    /// Whether to save a subscription Kommo disabled again, which re-enables it (default
    /// true). A missing subscription is reported, never re-created.
    pub resubscribe: bool,
}

impl Default for CatchUpConfig {
    fn default() -> Self {
        CatchUpConfig {
            interval: Duration::from_secs(5 * 60),
            overlap: Duration::from_secs(10 * 60),
            settle: Duration::from_secs(60),
            webhook_url: None,
            resubscribe: true,
        }
    }
}

impl fmt::Debug for CatchUpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchUpConfig")
            .field("interval", &self.interval)
            .field("overlap", &self.overlap)
            .field("settle", &self.settle)
            .field(
                "webhook_url",
                &self.webhook_url.as_ref().map(|_| "[redacted]"),
            )
            .field("resubscribe", &self.resubscribe)
            .finish()
    }
}

impl CatchUpConfig {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`interval`](Self::interval).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets [`overlap`](Self::overlap).
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Sets [`settle`](Self::settle).
    pub fn settle(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Sets [`webhook_url`](Self::webhook_url).
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Sets [`resubscribe`](Self::resubscribe).
    pub fn resubscribe(mut self, resubscribe: bool) -> Self {
        self.resubscribe = resubscribe;
        self
    }
}

/// A catch-up failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatchUpError {
    /// Kommo failed.
    #[error("Kommo: {0}")]
    Kommo(PortError),
    /// Loops failed.
    #[error("Loops: {0}")]
    Loops(PortError),
    /// The outbox or the state store failed.
    #[error(transparent)]
    Store(#[from] OutboxError),
}

/// A window of Kommo's events log: `created_at` from and to, Unix seconds, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogWindow {
    /// The first second.
    pub from: i64,
    /// The last second.
    pub to: i64,
}

impl LogWindow {
    /// The window `from..=to`.
    pub fn new(from: i64, to: i64) -> Self {
        LogWindow { from, to }
    }
}

/// A change [`Bridge::recover`] found.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FoundChange {
    /// The change, with its resolved occurrence.
    pub change: LoggedChange,
    /// Whether a webhook (or an earlier catch-up) had brought it already.
    pub seen: bool,
    /// In a dry run, the plan it would get (or why it could not be planned now).
    pub plan: Option<Result<Plan, String>>,
}

/// Where a [`Bridge::recover`] run stands, for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecoverProgress {
    /// Pages of the log read.
    pub pages: u64,
    /// Log events read.
    pub events: u64,
    /// Changes found (known once the whole window is read).
    pub changes: u64,
    /// Changes resolved so far.
    pub resolved: u64,
}

/// Running catch-ups; stop them with [`shutdown`](CatchUpTask::shutdown).
#[derive(Debug)]
pub struct CatchUpTask {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl CatchUpTask {
    /// Lets the current catch-up finish, then stops.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

/// Unix seconds of a time.
fn unix_secs(t: SystemTime) -> i64 {
    super::outbox::unix_millis(t).div_euclid(1000)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The outbox key of a recovered change's planning job: the change and its occurrence, so
/// every instance and every re-read makes the same.
fn job_key(key: &str, occurrence: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(key.as_bytes());
    hasher.update(b"#");
    hasher.update(occurrence.to_le_bytes());
    let mut out = String::from("kc-");
    push_hex(&mut out, &hasher.finalize()[..20]);
    out
}

impl Bridge {
    /// What the catch-up last found, for `/healthz`.
    pub fn catch_up_status(&self) -> CatchUpStatus {
        self.inner
            .catch_up
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn update_status(&self, update: impl FnOnce(&mut CatchUpStatus)) {
        update(
            &mut self
                .inner
                .catch_up
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
    }

    /// One catch-up: checks the webhook subscription (when `config.webhook_url` is set), then
    /// reads Kommo's events log from the watermark minus the overlap and plans, through the
    /// outbox, every change no webhook brought. The first catch-up of a store only sets the
    /// watermark. Records what it found for [`catch_up_status`](Self::catch_up_status).
    pub async fn catch_up(&self, config: &CatchUpConfig) -> Result<CatchUpReport, CatchUpError> {
        let result = self.catch_up_inner(config).await;
        let now = unix_secs(super::clock::now());
        self.update_status(|status| match &result {
            Ok(report) => {
                status.last_error = None;
                status.last_run = Some(report.clone());
                status.last_run_at = Some(now);
                if report.recovered > 0 {
                    status.recovered_total += report.recovered;
                    status.last_recovered_at = Some(now);
                }
            }
            Err(e) => status.last_error = Some(e.to_string()),
        });
        result
    }

    async fn catch_up_inner(&self, config: &CatchUpConfig) -> Result<CatchUpReport, CatchUpError> {
        let mut requests = 0;
        if let Some(url) = &config.webhook_url {
            requests += self.check_subscription(url, config.resubscribe).await;
        }
        let now = super::clock::now();
        let oldest = self.inner.outbox.oldest_unplanned_delivery().await?;
        // Never past a delivery still waiting to be planned: its change must be seen by its
        // webhook first (see the module docs).
        let to = unix_secs(oldest.map_or(now, |t| t.min(now))) - secs(config.settle);
        let Some(watermark) = self.inner.state.watermark(WATERMARK).await? else {
            self.inner.state.advance_watermark(WATERMARK, to).await?;
            tracing::info!(
                "catch-up: first start; Kommo's events log is watched from now on (the \
                 reconcile example recovers earlier changes)"
            );
            return Ok(CatchUpReport {
                from: to,
                to,
                kommo_requests: requests,
                first_start: true,
                ..CatchUpReport::default()
            });
        };
        let from = watermark - secs(config.overlap);
        if to < from {
            return Ok(CatchUpReport {
                from,
                to,
                kommo_requests: requests,
                ..CatchUpReport::default()
            });
        }
        // A long outage is read a slice at a time, each slice's events held in memory only
        // while it is resolved, and the watermark moved after each.
        let mut report = CatchUpReport {
            from,
            to,
            kommo_requests: requests,
            ..CatchUpReport::default()
        };
        let mut start = from;
        loop {
            let end = to.min(start.saturating_add(MAX_SLICE_SECS));
            let (slice, _) = self
                .recover(LogWindow::new(start, end), false, &mut |_| {})
                .await?;
            self.inner.state.advance_watermark(WATERMARK, end).await?;
            report.add(&slice);
            if end >= to {
                break;
            }
            // Both ends are included: the last second is read again, and resolved as seen.
            start = end;
        }
        if report.recovered > 0 {
            tracing::warn!(
                recovered = report.recovered,
                seen = report.seen,
                from,
                to,
                "catch-up: changes in Kommo's events log had not arrived by webhook; planned \
                 from the log"
            );
        } else {
            tracing::debug!(
                seen = report.seen,
                from,
                to,
                "catch-up: no webhook was missed"
            );
        }
        Ok(report)
    }

    /// Runs [`catch_up`](Self::catch_up) now and then every `config.interval`, until
    /// [`CatchUpTask::shutdown`]. A failed catch-up is logged and tried again at the next
    /// interval; the watermark only moves after a success.
    pub fn spawn_catch_up(&self, config: CatchUpConfig) -> CatchUpTask {
        let (stop, mut stopped) = watch::channel(false);
        let bridge = self.clone();
        let handle = tokio::spawn(async move {
            loop {
                if let Err(e) = bridge.catch_up(&config).await {
                    tracing::warn!(
                        error = %e,
                        "catch-up from Kommo's events log failed; it runs again in {:?}",
                        config.interval
                    );
                }
                tokio::select! {
                    _ = tokio::time::sleep(config.interval) => {}
                    _ = stopped.changed() => {}
                }
                if *stopped.borrow() {
                    break;
                }
            }
        });
        CatchUpTask { stop, handle }
    }

    /// Reads `window` of Kommo's events log and resolves every change the rules can react to.
    /// Changes no webhook brought get a planning job in the outbox (so both rate limits hold,
    /// and a second run adds nothing); with `dry_run`, nothing is stored: each such change is
    /// planned (Kommo reads included) and the plan returned. `progress` is called after every
    /// page and every resolved chunk.
    pub async fn recover(
        &self,
        window: LogWindow,
        dry_run: bool,
        progress: &mut (dyn FnMut(&RecoverProgress) + Send),
    ) -> Result<(CatchUpReport, Vec<FoundChange>), CatchUpError> {
        let mut report = CatchUpReport {
            from: window.from,
            to: window.to,
            ..CatchUpReport::default()
        };
        let rule_events = self.inner.rules.kommo_events();
        let types = change::log_types(&rule_events);
        if types.is_empty() {
            return Ok((report, Vec::new()));
        }
        let kommo = &self.inner.planner.kommo;
        let (account, subdomain) = kommo.account().await.map_err(CatchUpError::Kommo)?;
        report.kommo_requests += 1;
        let mut state = RecoverProgress::default();
        let events = self
            .read_log(window, types, &mut report, &mut state, progress)
            .await?;
        report.events = events.len() as u64;
        let mut changes = change::changes_from_log(&events, &rule_events, account);
        drop(events);
        report.changes = changes.len() as u64;
        state.changes = report.changes;
        progress(&state);

        let tolerance = self.inner.config.change_tolerance;
        let mut found = Vec::with_capacity(changes.len());
        for chunk in changes.chunks_mut(CHUNK) {
            let mut keyed = Vec::with_capacity(chunk.len());
            let mut observations = Vec::with_capacity(chunk.len());
            for (i, change) in chunk.iter_mut().enumerate() {
                change.account_subdomain = Some(subdomain.clone());
                if let Some(key) = change.key() {
                    observations.push(Observation::log(
                        key.text.clone(),
                        key.repeats,
                        change.at,
                        change.log_id(),
                    ));
                    keyed.push((i, key.text));
                }
            }
            let resolutions = if dry_run {
                let keys: Vec<String> = observations.iter().map(|o| o.key.clone()).collect();
                let records = self.inner.state.changes(&keys).await?;
                let tolerance = super::state::tolerance_secs(tolerance);
                resolve_changes(&records, &observations, tolerance).0
            } else {
                self.inner
                    .state
                    .observe_changes(&observations, tolerance)
                    .await?
            };
            // What the recovered changes will be planned with, read in bulk first.
            let recovered: Vec<&LoggedChange> = keyed
                .iter()
                .zip(&resolutions)
                .filter(|(_, r)| r.first)
                .map(|((i, _), _)| &chunk[*i])
                .collect();
            if !recovered.is_empty() {
                report.kommo_requests += self.prefetch(&recovered).await?;
            }
            let mut jobs = Vec::new();
            for ((i, key), resolution) in keyed.into_iter().zip(resolutions) {
                let change = &mut chunk[i];
                change.occurrence = Some(resolution.occurrence);
                if !resolution.first {
                    report.seen += 1;
                    found.push(FoundChange {
                        change: change.clone(),
                        seen: true,
                        plan: None,
                    });
                    continue;
                }
                // A sighting recorded before (the overlap, another instance) was counted by
                // whoever recorded it; its job is enqueued again in case that one stopped
                // before storing it (the key makes it harmless).
                report.recovered += u64::from(resolution.recorded);
                let plan = if dry_run {
                    Some(
                        self.inner
                            .planner
                            .plan_change(change, true)
                            .await
                            .map_err(|e| e.to_string()),
                    )
                } else {
                    jobs.push(NewItem::plan_kommo_change(
                        job_key(&key, resolution.occurrence),
                        change.clone(),
                        "kommo-log",
                    ));
                    None
                };
                found.push(FoundChange {
                    change: change.clone(),
                    seen: false,
                    plan,
                });
            }
            if !jobs.is_empty() {
                report.enqueued += self.enqueue(jobs).await? as u64;
            }
            state.resolved += chunk.len() as u64;
            progress(&state);
        }
        Ok((report, found))
    }

    /// Every event of `window` of the types given, each once, in the order read.
    async fn read_log(
        &self,
        window: LogWindow,
        types: Vec<kommo_client::events::EventType>,
        report: &mut CatchUpReport,
        state: &mut RecoverProgress,
        progress: &mut (dyn FnMut(&RecoverProgress) + Send),
    ) -> Result<Vec<Event>, CatchUpError> {
        let kommo = &self.inner.planner.kommo;
        let mut events = Vec::new();
        let mut ids = HashSet::new();
        let mut page = 1;
        loop {
            let query = EventsQuery::new()
                .page(page)
                .limit(PAGE_SIZE)
                .types(types.iter().cloned())
                .entity("lead")
                .entity("contact")
                .entity("company")
                .created_at(Some(window.from), Some(window.to));
            let mut attempt = 1;
            let (items, more) = loop {
                match kommo.events(query.clone()).await {
                    Ok(answer) => break answer,
                    Err(PortError::Transient { after, .. }) if attempt < PAGE_ATTEMPTS => {
                        attempt += 1;
                        report.kommo_requests += 1;
                        tokio::time::sleep(after.unwrap_or(Duration::from_secs(1))).await;
                    }
                    Err(e) => return Err(CatchUpError::Kommo(e)),
                }
            };
            report.kommo_requests += 1;
            state.pages += 1;
            let read = items.len();
            // Kommo lists newest first by page number: events logged meanwhile push older
            // ones to later pages, so one may come twice.
            events.extend(items.into_iter().filter(|e| ids.insert(e.id.clone())));
            state.events = events.len() as u64;
            progress(state);
            if !more || read == 0 {
                return Ok(events);
            }
            page += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_keys_name_the_change_and_its_occurrence() {
        let key = "1:lead:4001:status:5001>5002@7001";
        assert_eq!(job_key(key, 1), job_key(key, 1));
        assert_ne!(job_key(key, 1), job_key(key, 2));
        assert_ne!(job_key(key, 1), job_key("1:lead:4001:added", 1));
        assert!(job_key(key, 1).starts_with("kc-"));
        assert_eq!(job_key(key, 1).len(), 3 + 40);
    }

    #[test]
    fn the_webhook_url_is_never_shown() {
        let config =
            CatchUpConfig::new().webhook_url("https://bridge.example/webhooks/kommo/s3cret");
        assert!(!format!("{config:?}").contains("s3cret"));
    }
}
