//! `bulk_move`: a bulk change in Kommo at the APIs' rate limits, against the sandbox fakes.
//!
//! It creates `leads` leads in the onboarding pipeline (each with its contact and company, through the
//! fake's scenario API, without webhooks and not counted), moves all of them to Trial in one
//! bulk change (the Kommo fake sends it as bodies of several leads each, as Kommo does), then
//! all to Won in a second one, waits until the outbox is empty, checks every effect in the
//! Loops fake and reports the calls made against the floor the two rate limits set.
//!
//! The bridge is the server's: an SQLite outbox (`synchronous=FULL`), default clients (the
//! Loops client follows the limit the fake reports; the Kommo client paces at `kommo_rate`),
//! the onboarding rules. See `docs/performance.md`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::{BridgeConfig, SqliteOutbox};
use kommo_loops_sandbox::kommo::{self, NewCompany, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops;
use serde::Serialize;

use crate::demo::{Stack, StackOptions, eventually};
use crate::measure::{LatencySummary, ProcessUsage, round3};

/// The Loops endpoint of transactional emails, counted apart from the stage changes' calls.
const TRANSACTIONAL: &str = "POST /v1/transactional";

/// The welcome email the onboarding rules send on Won.
const WELCOME: &str = "cl_welcome";

/// The longest a run may take: the floor of the defaults is about 10 minutes.
const RUN_TIMEOUT: Duration = Duration::from_secs(4 * 3600);

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkMoveArgs {
    /// `--leads` (2,000).
    pub leads: usize,
    /// `--loops-rate`: requests per second the Loops fake allows (10).
    pub loops_rate: u32,
    /// `--kommo-rate`: requests per second the Kommo fake allows and the client paces at (7).
    pub kommo_rate: u32,
    /// `--workers`: the bridge's workers (4, as the server's default).
    pub workers: usize,
    /// `--mode`: which runs, in order (`both`: merged, then baseline).
    pub modes: Vec<Mode>,
}

impl Default for BulkMoveArgs {
    fn default() -> Self {
        BulkMoveArgs {
            leads: 2000,
            loops_rate: 10,
            kommo_rate: 7,
            workers: 4,
            modes: vec![Mode::Merged, Mode::Baseline],
        }
    }
}

/// How the rules run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The onboarding rules as they are: an upsert merged into the event that follows it.
    Merged,
    /// Merging and coalescing off (`Rules::merging_upserts_into_events(false)`,
    /// `BridgeConfig::coalesce_upserts(false)`, `BridgeConfig::skip_unchanged_upserts(false)`):
    /// one upsert and one event per change, each sent, as a hand-written integration does.
    Baseline,
}

impl BulkMoveArgs {
    /// Parses `--leads N --loops-rate R --kommo-rate K --workers W --mode both|merged|baseline`.
    ///
    /// ```
    /// use kommo_loops_examples::bulk_move::{BulkMoveArgs, Mode};
    /// let args = BulkMoveArgs::parse(["--leads", "20", "--mode", "merged"].map(String::from))
    ///     .unwrap();
    /// assert_eq!((args.leads, args.loops_rate, args.kommo_rate), (20, 10, 7));
    /// assert_eq!(args.modes, vec![Mode::Merged]);
    /// assert!(BulkMoveArgs::parse(["--leads".to_string()]).is_err());
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut out = BulkMoveArgs::default();
        let mut it = args.into_iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{flag} {value:?} is not a positive number"))
            };
            match flag.as_str() {
                "--leads" => out.leads = number()? as usize,
                "--loops-rate" => out.loops_rate = number()?,
                "--kommo-rate" => out.kommo_rate = number()?,
                "--workers" => out.workers = number()?.min(64) as usize,
                "--mode" => {
                    out.modes = match value.as_str() {
                        "both" => vec![Mode::Merged, Mode::Baseline],
                        "merged" => vec![Mode::Merged],
                        "baseline" => vec![Mode::Baseline],
                        other => return Err(format!("--mode {other:?}: both, merged or baseline")),
                    }
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(out)
    }
}

/// One run's figures, printed as one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkMoveReport {
    /// Which rules ran.
    pub mode: Mode,
    /// Leads moved (each twice: to Trial, then to Won).
    pub leads: usize,
    /// Every Loops request during the run, retries and refusals included.
    pub loops_calls: u64,
    /// The Loops requests of the stage changes (every request but `POST /v1/transactional`)
    /// divided by the stage changes (two per lead).
    pub loops_calls_per_change: f64,
    /// `POST /v1/transactional` requests (the welcome email on Won).
    pub transactional_calls: u64,
    /// Loops requests answered 429.
    pub loops_refused: u64,
    /// Every Kommo request during the run (the bridge's reads; the scenario is not HTTP).
    pub kommo_calls: u64,
    /// Kommo requests answered 429.
    pub kommo_refused: u64,
    /// Webhook bodies Kommo sent for the two bulk changes.
    pub webhooks: usize,
    /// From the first bulk change to the outbox empty.
    pub seconds: f64,
    /// What the calls made need at the configured rates: the larger of
    /// `loops_calls / loops_rate` and `kommo_calls / kommo_rate`.
    pub floor_seconds: f64,
    /// `floor_seconds / seconds`.
    pub efficiency: f64,
    /// From the first bulk change to the first Loops request: the planning the first sends
    /// wait for.
    pub first_loops_call_seconds: f64,
    /// The time, between the first and the last Loops request, spent in gaps without one
    /// longer than 100 ms and than two intervals at the Loops rate: the Loops side waiting
    /// for plans (when Loops is the floor, what keeps `efficiency` from 1 besides
    /// `first_loops_call_seconds`).
    pub loops_stall_seconds: f64,
    /// Expected effects (each lead's `trial_started`, `deal_won` and welcome email) missing.
    pub lost: usize,
    /// Effects recorded more than once (each extra one counts).
    pub duplicates: usize,
    /// The 99th percentile of the bridge's answers to Kommo's deliveries, as the fake timed
    /// them (whole milliseconds).
    pub ack_p99_ms: f64,
    /// The peak resident memory of this process (the fakes and the bridge together) during the
    /// run, in MiB; `0` where `/proc` is not there.
    pub peak_rss_mb: f64,
}

impl BulkMoveReport {
    /// The JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One run: seed, two bulk changes, wait for the outbox, check the fakes.
pub async fn run(args: &BulkMoveArgs, rules: &Path, mode: Mode) -> Result<BulkMoveReport, String> {
    let rules = Rules::from_path(rules).map_err(|e| e.to_string())?;
    let (rules, config) = match mode {
        Mode::Merged => (rules, BridgeConfig::default()),
        Mode::Baseline => (
            rules.merging_upserts_into_events(false),
            BridgeConfig::default()
                .coalesce_upserts(false)
                .skip_unchanged_upserts(false),
        ),
    };
    let db = std::env::temp_dir().join(format!(
        "bulk-move-{}-{}.db",
        std::process::id(),
        fastrand::u64(..)
    ));
    let store = Arc::new(SqliteOutbox::open(&db).await.map_err(|e| e.to_string())?);
    let kommo_rate = args.kommo_rate;
    let options = StackOptions::new()
        .loops(loops::Config::default().rate_limit(Some(args.loops_rate)))
        .kommo(kommo::Config::saas_onboarding().rate_limit(Some(kommo_rate)))
        .kommo_client(move |b| b.rate_limit(kommo_client::RateLimit::per_second(kommo_rate)))
        .stores(store.clone(), store)
        .workers(args.workers);
    let stack = Stack::start_with(rules, config, options).await?;
    let result = measure(&stack, args, mode).await;
    stack.stop().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    result
}

async fn measure(stack: &Stack, args: &BulkMoveArgs, mode: Mode) -> Result<BulkMoveReport, String> {
    let mut leads = Vec::with_capacity(args.leads);
    let mut emails = Vec::with_capacity(args.leads);
    for i in 0..args.leads {
        let email = format!("bulk{i}@example.com");
        let company = stack
            .kommo
            .seed_company(NewCompany::new(format!("Company {i}")))
            .map_err(|e| e.to_string())?;
        let contact = stack
            .kommo
            .seed_contact(
                NewContact::new(format!("Person{i} Bulk"))
                    .email_kind(&email, "WORK")
                    .company(company),
            )
            .map_err(|e| e.to_string())?;
        let lead = stack
            .kommo
            .seed_lead(
                NewLead::new(format!("Deal {i}"))
                    .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                    .price(1000.0)
                    .contact(contact)
                    .company(company)
                    .field("PLAN", "pro"),
            )
            .map_err(|e| e.to_string())?;
        leads.push(lead);
        emails.push(email);
    }
    reset_peak_rss();
    let (kommo_before, loops_before) = (stack.kommo.request_stats(), stack.loops.request_stats());
    let deliveries_before = stack.kommo.webhook_deliveries().len();

    let started = Instant::now();
    for stage in [saas_onboarding::TRIAL, saas_onboarding::WON] {
        stack
            .kommo
            .move_leads(&leads, stage)
            .map_err(|e| e.to_string())?;
    }
    let finished = eventually(RUN_TIMEOUT, || async {
        stack.kommo.pending_webhooks() == 0
            && stack
                .bridge
                .outbox()
                .stats()
                .await
                .is_ok_and(|s| s.unfinished() == 0)
    })
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let (first_loops_call, loops_stall) = loops_timeline(stack, started, args.loops_rate);
    if !finished {
        return Err(format!("the outbox did not empty within {RUN_TIMEOUT:?}"));
    }

    let (kommo_after, loops_after) = (stack.kommo.request_stats(), stack.loops.request_stats());
    let loops_calls = loops_after.total - loops_before.total;
    let transactional_calls =
        loops_after.requests_to(TRANSACTIONAL) - loops_before.requests_to(TRANSACTIONAL);
    let kommo_calls = kommo_after.total - kommo_before.total;
    let refused = |after: &kommo_loops_sandbox::RequestStats,
                   before: &kommo_loops_sandbox::RequestStats| {
        after.with_status(429) - before.with_status(429)
    };
    let deliveries = stack.kommo.webhook_deliveries();
    let mut acks: Vec<u64> = deliveries[deliveries_before..]
        .iter()
        .map(|d| d.elapsed_ms * 1000)
        .collect();
    let ack = LatencySummary::from_micros(&mut acks);
    let (lost, duplicates) = effects(stack, &emails);
    let changes = 2.0 * args.leads as f64;
    let floor = (loops_calls as f64 / f64::from(args.loops_rate))
        .max(kommo_calls as f64 / f64::from(args.kommo_rate));
    Ok(BulkMoveReport {
        mode,
        leads: args.leads,
        loops_calls,
        loops_calls_per_change: round3((loops_calls - transactional_calls) as f64 / changes),
        transactional_calls,
        loops_refused: refused(&loops_after, &loops_before),
        kommo_calls,
        kommo_refused: refused(&kommo_after, &kommo_before),
        webhooks: deliveries.len() - deliveries_before,
        seconds: round3(seconds),
        floor_seconds: round3(floor),
        efficiency: round3(if seconds > 0.0 { floor / seconds } else { 0.0 }),
        first_loops_call_seconds: round3(first_loops_call),
        loops_stall_seconds: round3(loops_stall),
        lost,
        duplicates,
        ack_p99_ms: ack.p99_ms,
        peak_rss_mb: ProcessUsage::current()
            .map_or(0.0, |u| round3(u.peak_rss_bytes as f64 / (1024.0 * 1024.0))),
    })
}

/// A gap between two Loops requests longer than this, or than two intervals at the rate,
/// counts as a stall.
const STALL: f64 = 0.1;

/// From the Loops fake's records of the run (those after `started`): seconds to its first
/// request, and the sum of the gaps between its requests longer than [`STALL`] and than two
/// intervals at `rate` (at 10/s every gap is 100 ms).
fn loops_timeline(stack: &Stack, started: Instant, rate: u32) -> (f64, f64) {
    let stall_from = STALL.max(2.0 / f64::from(rate.max(1)));
    let start = std::time::SystemTime::now() - started.elapsed();
    let mut times: Vec<f64> = stack
        .loops
        .request_log()
        .iter()
        .filter_map(|r| r.at.duration_since(start).ok())
        .map(|d| d.as_secs_f64())
        .collect();
    times.sort_by(f64::total_cmp);
    let first = times.first().copied().unwrap_or(0.0);
    let stall = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|gap| *gap > stall_from)
        .sum();
    (first, stall)
}

/// Counts, from the Loops fake's records, the expected effects missing and the extra ones:
/// each email's `trial_started`, `deal_won` and `cl_welcome`, exactly once.
fn effects(stack: &Stack, emails: &[String]) -> (usize, usize) {
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    let events = stack.loops.events();
    let sends = stack.loops.transactional_sends();
    let recorded = events
        .iter()
        .map(|e| (e.email.as_str(), e.event_name.as_str()))
        .chain(
            sends
                .iter()
                .map(|t| (t.email.as_str(), t.transactional_id.as_str())),
        );
    for key in recorded {
        *seen.entry(key).or_default() += 1;
    }
    let (mut lost, mut duplicates) = (0, 0);
    for email in emails {
        for effect in ["trial_started", "deal_won", WELCOME] {
            match seen.get(&(email.as_str(), effect)).copied().unwrap_or(0) {
                0 => lost += 1,
                n => duplicates += n - 1,
            }
        }
    }
    (lost, duplicates)
}

/// Resets this process's peak resident memory (`VmHWM`) to its current size, so that a run
/// reports its own peak and not the seeding's or an earlier run's (Linux: `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
