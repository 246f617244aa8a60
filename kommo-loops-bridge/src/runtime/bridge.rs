//! The bridge: takes webhooks in, stores the work durably, and runs it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use loops_client::webhooks::{WebhookHeaders, WebhookVerifier};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, broadcast};

use super::echo::Echoes;
use super::executor::Executor;
use super::health::{HealthGuard, LogLimiter, WebhookHealth};
use super::outbox::{Job, Lane, NewItem, Outbox, OutboxError};
use super::planner::Planner;
use super::ports::{KommoApi, LoopsApi};
use super::preflight::Report;
use super::redact::EmailsInLogs;
use super::state::StateStore;
use super::worker::{JobReport, RetryPolicy};
use crate::engine::Mode;
use crate::rules::Rules;
use crate::text::push_hex;

/// Kommo bodies above this size are refused (413); real deliveries are a few KiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A Loops `webhook-id` longer than this is refused (400): Loops' ids are a few dozen
/// characters, and the id is stored to refuse replays.
pub const MAX_WEBHOOK_ID_BYTES: usize = 256;

/// The headers a Loops delivery is signed with.
const SIGNATURE_HEADERS: [&str; 3] = ["webhook-id", "webhook-timestamp", "webhook-signature"];

/// Settings of a [`Bridge`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// Live, or backfill (never sends).
    pub mode: Mode,
    /// How long a worker holds a claimed job before another may take it over.
    pub lease: Duration,
    /// Jobs claimed at once by one worker.
    pub batch: usize,
    /// When failed jobs are tried again, and when they are given up.
    pub retry: RetryPolicy,
    /// Loops webhook timestamp tolerance.
    pub loops_tolerance: Duration,
    /// How contact emails appear in log lines (masked by default).
    pub emails_in_logs: EmailsInLogs,
    /// How far apart a webhook's time (`updated_at`) and its entry in Kommo's events log
    /// (`created_at`) may be and still be recognised as one change (default 2 minutes; see
    /// docs/architecture.md, "Recognising one change seen twice").
    pub change_tolerance: Duration,
    /// Whether a worker claiming an upsert also takes the pending upserts of the same contact
    /// directly following it and sends one call with the final properties (default on; off is
    /// the baseline of one call per upsert). See docs/architecture.md, "Coalescing upserts".
    pub coalesce_upserts: bool,
    /// Whether an upsert identical to what was last delivered for its contact (a hash in the
    /// state store) is skipped and reported as already done (default on). Events are never
    /// skipped. See docs/architecture.md, "Skipping unchanged upserts".
    pub skip_unchanged_upserts: bool,
    /// The most Kommo writes (notes, tasks, tag changes) of claimed jobs that go in one Kommo
    /// request, with one marker read for the group (default 50, Kommo's recommended batch
    /// size; at most 250, its limit; 1 is the baseline of one request per write). When a
    /// worker's claim is full and holds such writes, it claims up to this many jobs, so that
    /// the writes of a bulk change can form groups. See docs/architecture.md, "Kommo writes
    /// in batches".
    pub kommo_group: usize,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            mode: Mode::Live,
            lease: Duration::from_secs(120),
            batch: 8,
            retry: RetryPolicy::default(),
            loops_tolerance: loops_client::webhooks::DEFAULT_TOLERANCE,
            emails_in_logs: EmailsInLogs::Masked,
            change_tolerance: DEFAULT_CHANGE_TOLERANCE,
            coalesce_upserts: true,
            skip_unchanged_upserts: true,
            kommo_group: super::kommo_writes::KOMMO_GROUP_MAX,
        }
    }
}

/// The default [`BridgeConfig::change_tolerance`].
pub const DEFAULT_CHANGE_TOLERANCE: Duration = Duration::from_secs(120);

impl BridgeConfig {
    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets how contact emails appear in log lines.
    pub fn emails_in_logs(mut self, emails: EmailsInLogs) -> Self {
        self.emails_in_logs = emails;
        self
    }

    /// Sets [`coalesce_upserts`](Self::coalesce_upserts).
    pub fn coalesce_upserts(mut self, on: bool) -> Self {
        self.coalesce_upserts = on;
        self
    }

    /// Sets [`skip_unchanged_upserts`](Self::skip_unchanged_upserts).
    pub fn skip_unchanged_upserts(mut self, on: bool) -> Self {
        self.skip_unchanged_upserts = on;
        self
    }

    /// Sets [`kommo_group`](Self::kommo_group), kept within 1 to 250.
    pub fn kommo_group(mut self, size: usize) -> Self {
        self.kommo_group = size.clamp(1, 250);
        self
    }

    /// Sets the [`change_tolerance`](Self::change_tolerance).
    pub fn change_tolerance(mut self, tolerance: Duration) -> Self {
        self.change_tolerance = tolerance;
        self
    }
}

/// What to answer a webhook with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// A JSON body: `{"status": ...}` on success, `{"error": ...}` otherwise.
    pub body: serde_json::Value,
}

impl Reply {
    /// A 200 with this body.
    pub fn ok(body: serde_json::Value) -> Self {
        Reply { status: 200, body }
    }

    /// An error status with `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Reply {
            status,
            body: serde_json::json!({ "error": message.into() }),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The runtime. Cheap to clone; clones share everything.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use kommo_loops_bridge::Rules;
/// use kommo_loops_bridge::runtime::{Bridge, BridgeConfig, MemoryOutbox, MemoryState};
///
/// let rules = Rules::from_path("rules.toml")?;
/// let loops = loops_client::Client::new(std::env::var("LOOPS_API_KEY")?)?;
/// let kommo = kommo_client::Client::builder()
///     .base_url("https://acme.kommo.com")
///     .long_lived_token(std::env::var("KOMMO_TOKEN")?)
///     .build()?;
/// let bridge = Bridge::builder(rules, Arc::new(loops), Arc::new(kommo))
///     .outbox(Arc::new(MemoryOutbox::new()))
///     .state(Arc::new(MemoryState::new()))
///     .config(BridgeConfig::default())
///     .loops_secret(std::env::var("LOOPS_WEBHOOK_SECRET")?)
///     .build()?;
///
/// // In the webhook handler: store durably, answer at once.
/// let reply = bridge.ingest_kommo(Some("application/x-www-form-urlencoded"), b"...").await;
/// assert!(reply.is_success() || reply.status >= 400);
///
/// // Elsewhere: workers execute what was stored.
/// let workers = bridge.spawn_workers(4);
/// # drop(workers); Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bridge {
    pub(crate) inner: Arc<Inner>,
}

/// One wake-up per lane: a webhook's planning job wakes Kommo's idle workers only. With one
/// for both, each of a burst's deliveries woke the idle Loops workers too, and each of them
/// claimed (a scan of the unfinished items) and found nothing, on the connection the
/// deliveries were being stored through.
#[derive(Default)]
pub(crate) struct LaneWake {
    kommo: Notify,
    loops: Notify,
}

impl LaneWake {
    /// The wake-up of `lane`.
    pub(crate) fn lane(&self, lane: Lane) -> &Notify {
        match lane {
            Lane::Kommo => &self.kommo,
            Lane::Loops => &self.loops,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) config: BridgeConfig,
    pub(crate) rules: Rules,
    pub(crate) outbox: Arc<dyn Outbox>,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) planner: Planner,
    pub(crate) executor: Executor,
    pub(crate) verifier: Option<WebhookVerifier>,
    pub(crate) health: Mutex<HealthGuard>,
    /// Limits the health guard's warnings.
    pub(crate) health_log: Mutex<LogLimiter>,
    /// Wakes the idle workers of a lane when items of that lane are stored.
    pub(crate) work: LaneWake,
    pub(crate) reports: broadcast::Sender<JobReport>,
    /// What the catch-up last found (the subscription, missed webhooks), for `/healthz`.
    pub(crate) catch_up: Mutex<super::catch_up::CatchUpStatus>,
    /// The last Loops delivery whose signature verified: when, and its event.
    pub(crate) last_loops_delivery: Mutex<Option<(SystemTime, String)>>,
    /// The last preflight report recorded, for health reports.
    pub(crate) preflight: Mutex<Option<Report>>,
}

/// The dead letters of the outbox, for a health report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetters {
    /// How many there are.
    pub count: u64,
    /// The newest one: its item id, idempotency key, job and reason.
    pub latest: Option<DeadLetter>,
}

/// One dead letter, as a health report names it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadLetter {
    /// The outbox item.
    pub item_id: i64,
    /// Its idempotency key.
    pub key: String,
    /// What the job was, e.g. `loops.upsert_contact (trial)`.
    pub job: String,
    /// Why it was given up on (emails masked as the log lines mask them).
    pub reason: String,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("rules", &self.inner.rules.file())
            .field("config", &self.inner.config)
            .field(
                "loops_secret",
                &self.inner.verifier.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

/// Why [`BridgeBuilder::build`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The Loops signing secret cannot be used (the message says what is wrong with its form,
    /// never the secret).
    #[error(transparent)]
    LoopsSecret(#[from] loops_client::webhooks::WebhookError),
    /// Some rule names a stage or a pipeline (`to = "Demo booked"`) that was not resolved to
    /// an id against the account: such a rule would never match.
    #[error(
        "the rules name stages or pipelines that are not resolved yet: resolve them against \
         the account's pipelines first (runtime::preflight::resolve_names)"
    )]
    UnresolvedNames,
}

/// Builds a [`Bridge`].
pub struct BridgeBuilder {
    rules: Rules,
    loops: Arc<dyn LoopsApi>,
    kommo: Arc<dyn KommoApi>,
    outbox: Option<Arc<dyn Outbox>>,
    state: Option<Arc<dyn StateStore>>,
    config: BridgeConfig,
    loops_secret: Option<String>,
}

impl std::fmt::Debug for BridgeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeBuilder")
            .field("rules", &self.rules.file())
            .field("config", &self.config)
            .field(
                "loops_secret",
                &self.loops_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish_non_exhaustive()
    }
}

impl BridgeBuilder {
    /// Where jobs are stored (default: in memory, lost on exit; use SQLite or PostgreSQL in
    /// production).
    pub fn outbox(mut self, outbox: Arc<dyn Outbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Where the runtime's memory is kept (default: in memory).
    pub fn state(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = Some(state);
        self
    }

    /// The settings.
    pub fn config(mut self, config: BridgeConfig) -> Self {
        self.config = config;
        self
    }

    /// Accepts Loops webhooks signed with this `whsec_...` secret (several, comma-separated,
    /// during a rotation). Without one, Loops webhooks are refused.
    pub fn loops_secret(mut self, secret: impl Into<String>) -> Self {
        self.loops_secret = Some(secret.into());
        self
    }

    /// Checks the settings and builds the bridge.
    ///
    /// # Errors
    ///
    /// A Loops signing secret that cannot be used, or rules that name stages or pipelines
    /// not resolved yet (resolve them first with
    /// [`preflight::resolve_names`](super::preflight::resolve_names)).
    pub fn build(self) -> Result<Bridge, BuildError> {
        if self.rules.has_unresolved_names() {
            return Err(BuildError::UnresolvedNames);
        }
        let verifier = match &self.loops_secret {
            Some(secrets) => Some(
                WebhookVerifier::with_secrets(
                    secrets.split(',').map(str::trim).filter(|s| !s.is_empty()),
                )?
                .tolerance(self.config.loops_tolerance),
            ),
            None => None,
        };
        let outbox = self
            .outbox
            .unwrap_or_else(|| Arc::new(super::outbox::MemoryOutbox::new()));
        let state = self
            .state
            .unwrap_or_else(|| Arc::new(super::state::MemoryState::new()));
        let echoes = Arc::new(Echoes::default());
        let (reports, _) = broadcast::channel(1024);
        Ok(Bridge {
            inner: Arc::new(Inner {
                planner: Planner {
                    rules: self.rules.clone(),
                    mode: self.config.mode,
                    kommo: self.kommo.clone(),
                    state: state.clone(),
                    echoes: echoes.clone(),
                    pipelines: Mutex::new(None),
                    tolerance: self.config.change_tolerance,
                    prefetched: Mutex::default(),
                },
                executor: Executor {
                    loops: self.loops,
                    kommo: self.kommo,
                    state: state.clone(),
                    echoes,
                    skip_unchanged: self.config.skip_unchanged_upserts,
                },
                config: self.config,
                rules: self.rules,
                outbox,
                state,
                verifier,
                health: Mutex::new(HealthGuard::default()),
                health_log: Mutex::new(LogLimiter::default()),
                work: LaneWake::default(),
                reports,
                catch_up: Mutex::default(),
                last_loops_delivery: Mutex::new(None),
                preflight: Mutex::new(None),
            }),
        })
    }
}

impl Bridge {
    /// A builder over these rules and APIs.
    pub fn builder(
        rules: Rules,
        loops: Arc<dyn LoopsApi>,
        kommo: Arc<dyn KommoApi>,
    ) -> BridgeBuilder {
        BridgeBuilder {
            rules,
            loops,
            kommo,
            outbox: None,
            state: None,
            config: BridgeConfig::default(),
            loops_secret: None,
        }
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        &self.inner.rules
    }

    /// The outbox.
    pub fn outbox(&self) -> &Arc<dyn Outbox> {
        &self.inner.outbox
    }

    /// Every job's end, as it happens (for dashboards, tests, the demo's timeline).
    pub fn subscribe(&self) -> broadcast::Receiver<JobReport> {
        self.inner.reports.subscribe()
    }

    /// The Kommo webhook's health: non-2xx answers in the last two hours.
    pub fn kommo_webhook_health(&self) -> WebhookHealth {
        self.inner
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .health(super::clock::instant())
    }

    /// How many dead letters the outbox holds, and the newest one with its reason, so that a
    /// health check shows them at once (a missing Loops property, say, dead-letters every
    /// upsert until it is created).
    ///
    /// # Errors
    ///
    /// The outbox cannot be read.
    pub async fn dead_letters(&self) -> Result<DeadLetters, OutboxError> {
        let count = self.inner.outbox.stats().await?.dead;
        let latest = if count == 0 {
            None
        } else {
            self.inner.outbox.latest_dead_letter().await?
        };
        let emails = self.inner.config.emails_in_logs;
        Ok(DeadLetters {
            count,
            latest: latest.map(|item| DeadLetter {
                item_id: item.id,
                job: Bridge::describe(&item.job),
                reason: emails
                    .apply(item.dead_reason.as_deref().unwrap_or_default())
                    .into_owned(),
                key: item.key,
            }),
        })
    }

    /// Keeps a preflight report (see [`preflight::check`](super::preflight::check)) for health
    /// reports; the server records the one it runs at startup.
    pub fn record_preflight(&self, report: Report) {
        *self
            .inner
            .preflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(report);
    }

    /// The last preflight report recorded, if any.
    pub fn preflight(&self) -> Option<Report> {
        self.inner
            .preflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// When the last Loops delivery whose signature verified arrived, and its event name
    /// (`testing.testEvent` for a test sent from Loops' settings).
    pub fn last_loops_delivery(&self) -> Option<(SystemTime, String)> {
        self.inner
            .last_loops_delivery
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes a Kommo webhook delivery: checks it, stores it durably as a planning job, and
    /// says what to answer. Call it only after the path token matched. It never waits for the
    /// Kommo or Loops APIs, so Kommo's 2-second window is safe.
    pub async fn ingest_kommo(&self, content_type: Option<&str>, body: &[u8]) -> Reply {
        let reply = self.ingest_kommo_inner(content_type, body).await;
        self.record_kommo_answer(&reply);
        reply
    }

    /// Counts an answer given to a request that carried the webhook's path token (also one
    /// given before reaching the bridge, such as a body too large), and warns before Kommo
    /// would disable the webhook. Answers to requests with a wrong token are not counted:
    /// Kommo never receives them, and anyone could send them.
    ///
    /// The warning is logged at most once a minute (see [`LOG_EVERY`](super::health::LOG_EVERY)),
    /// with the number of refusals held back since the last one.
    pub fn record_kommo_answer(&self, reply: &Reply) {
        let now = super::clock::instant();
        let health = self
            .inner
            .health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(now, reply.is_success());
        if !health.warning || reply.is_success() {
            return;
        }
        let allowed = self
            .inner
            .health_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allow(now);
        if let Some(held_back) = allowed {
            tracing::warn!(
                invalid_in_last_2h = health.invalid_in_window,
                held_back,
                "Kommo disables a webhook after more than {} invalid answers in 2 hours",
                super::health::DISABLE_THRESHOLD
            );
        }
    }

    async fn ingest_kommo_inner(&self, content_type: Option<&str>, body: &[u8]) -> Reply {
        if body.len() > MAX_BODY_BYTES {
            return Reply::error(
                413,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            );
        }
        let payload = match kommo_client::webhooks::should_acknowledge(content_type, body) {
            kommo_client::webhooks::AckDecision::Accept(payload) => payload,
            kommo_client::webhooks::AckDecision::Reject { status, error } => {
                return Reply::error(status, format!("not a Kommo webhook: {error}"));
            }
            #[allow(unreachable_patterns)]
            _ => return Reply::error(400, "not a Kommo webhook"),
        };
        if payload.events.is_empty() {
            return Reply::ok(serde_json::json!({ "status": "accepted", "events": 0 }));
        }
        let Ok(text) = std::str::from_utf8(body) else {
            return Reply::error(400, "the body is not UTF-8");
        };
        // A redelivered body hashes the same, so it is stored once.
        let mut key = String::from("kd-");
        push_hex(&mut key, &Sha256::digest(body)[..20]);
        let account = payload.account.id.map_or(0, |a| a.0);
        let first = &payload.events[0];
        let partition = format!(
            "kommo:{account}:{}:{}",
            super::planner::entity_kind(&first.kind),
            first.entity_id().unwrap_or(0)
        );
        let item = NewItem::plan_kommo(key, partition, text.to_owned(), format!("kommo:{account}"));
        match self.enqueue(vec![item]).await {
            Ok(new) => Reply::ok(serde_json::json!({
                "status": if new == 0 { "duplicate" } else { "accepted" },
                "events": payload.events.len(),
            })),
            Err(e) => {
                tracing::error!(error = %e, "could not store a Kommo delivery");
                Reply::error(503, "the delivery could not be stored; Kommo will retry")
            }
        }
    }

    /// Takes a Loops webhook delivery: verifies it, refuses a replay, plans it (pure, instant)
    /// and stores the actions durably, and says what to answer.
    pub async fn ingest_loops(
        &self,
        headers: &http::HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Reply {
        let Some(verifier) = &self.inner.verifier else {
            return Reply::error(503, "Loops webhooks are not configured (no signing secret)");
        };
        if body.len() > MAX_BODY_BYTES {
            return Reply::error(
                413,
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            );
        }
        // Told apart from a missing header, which the verifier reports.
        for name in SIGNATURE_HEADERS {
            if headers
                .get(name)
                .is_some_and(|v| v.as_bytes().iter().all(u8::is_ascii_whitespace))
            {
                return Reply::error(400, format!("header `{name}` is blank"));
            }
        }
        if let Some(id) = headers.get("webhook-id")
            && id.len() > MAX_WEBHOOK_ID_BYTES
        {
            return Reply::error(
                400,
                format!(
                    "header `webhook-id` is {} bytes long; at most {MAX_WEBHOOK_ID_BYTES} are \
                     accepted",
                    id.len()
                ),
            );
        }
        let headers = match WebhookHeaders::from_header_map(headers) {
            Ok(headers) => headers,
            Err(e) => return Reply::error(400, e.to_string()),
        };
        let delivery = match verifier.verify_and_parse(&headers, body, now) {
            Ok(delivery) => delivery,
            Err(e @ loops_client::webhooks::WebhookError::InvalidPayload(_)) => {
                return Reply::error(400, e.to_string());
            }
            Err(e) => return Reply::error(401, e.to_string()),
        };
        *self
            .inner
            .last_loops_delivery
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some((now, delivery.event.event_name().to_owned()));
        // An unsubscribe a recovery already planned is not planned again.
        let plan = match self.first_unsubscribe(&delivery.event).await {
            Ok(true) => self.inner.rules.plan_loops(&delivery.id, &delivery.event),
            Ok(false) => crate::plan::Plan::default(),
            Err(e) => {
                tracing::error!(error = %e, "could not record a Loops unsubscribe");
                return Reply::error(503, "the delivery could not be recorded; retry later");
            }
        };
        let items: Vec<NewItem> = plan
            .actions
            .into_iter()
            .map(|a| NewItem::action(a, format!("loops:{}", delivery.id)))
            .collect();
        let actions = items.len();
        if let Err(e) = self.enqueue(items).await {
            tracing::error!(error = %e, "could not store a Loops delivery's actions");
            return Reply::error(503, "the delivery could not be stored; retry later");
        }
        // Recorded after the actions are stored, so a crash in between loses nothing.
        match self
            .inner
            .state
            .first_delivery("loops", &delivery.id, now)
            .await
        {
            Ok(true) => Reply::ok(serde_json::json!({ "status": "accepted", "actions": actions })),
            Ok(false) => Reply::error(
                409,
                format!("delivery {} was already received", delivery.id),
            ),
            Err(e) => {
                tracing::error!(error = %e, "could not record a Loops delivery id");
                Reply::error(503, "the delivery could not be recorded; retry later")
            }
        }
    }

    /// Stores items and wakes the idle workers of their lanes.
    pub async fn enqueue(&self, items: Vec<NewItem>) -> Result<usize, OutboxError> {
        if items.is_empty() {
            return Ok(0);
        }
        let lanes = Lane::ALL.map(|lane| items.iter().any(|item| item.job.lane() == lane));
        let new = self
            .inner
            .outbox
            .enqueue(items, super::clock::now())
            .await?;
        if new > 0 {
            for (lane, stored) in Lane::ALL.into_iter().zip(lanes) {
                if stored {
                    self.inner.work.lane(lane).notify_waiters();
                }
            }
        }
        Ok(new)
    }

    /// Plans an event the caller made up (a backfill walks contacts and plans a
    /// `contact_updated` for each), starting from data it already has, and stores the actions.
    /// Returns the plan and how many actions were new to the outbox.
    pub async fn plan_and_store(
        &self,
        payload: kommo_client::webhooks::WebhookPayload,
        snapshot: crate::snapshot::Snapshot,
        source: &str,
    ) -> Result<(crate::plan::Plan, usize), String> {
        let plan = match self
            .inner
            .planner
            .plan_payload(payload, snapshot, super::planner::Origin::Made, None)
            .await
        {
            Ok(plan) => plan,
            Err(super::planner::PlanFailure::Retry(e)) => return Err(e.to_string()),
            Err(super::planner::PlanFailure::Permanent(e)) => return Err(e),
        };
        let items = plan
            .actions
            .iter()
            .cloned()
            .map(|a| NewItem::action(a, source))
            .collect();
        let new = self.enqueue(items).await.map_err(|e| e.to_string())?;
        Ok((plan, new))
    }

    /// The job type names of an item, for logs.
    pub(crate) fn describe(job: &Job) -> String {
        match job {
            Job::Execute { action } => format!("{} ({})", action.kind(), action.rule()),
            Job::PlanKommo { .. } => "plan a Kommo delivery".to_owned(),
            Job::PlanKommoChange { change } => format!(
                "plan a change from Kommo's events log ({} {} {})",
                change.event,
                change.entity(),
                change.entity_id
            ),
        }
    }
}
