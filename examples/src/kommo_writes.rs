//! `kommo_writes`: a note, a task and a tag for each of many leads at once, against the Kommo
//! sandbox, counting the Kommo requests they cost.
//!
//! It seeds `leads` leads (through the fake's scenario API, not counted), enqueues three actions
//! per lead (`kommo.add_note`, `kommo.add_task`, `kommo.add_tags`, aimed at the lead, as a plan
//! of a bulk change carries them), waits until the outbox is empty, and counts each Kommo
//! endpoint's requests in the fake's log. Then it replays the same actions through a second
//! bridge with a fresh outbox (as if the record that they were done had been lost) and counts
//! again: the marker reads find every note and task, so nothing is written twice. Every lead
//! must end with exactly one note, one task and the tag.
//!
//! `group` is [`BridgeConfig::kommo_group`]: 1 is the baseline of one request per write. See
//! `docs/performance.md`, "Kommo writes in batches".

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kommo_client::common::EntityType;
use kommo_client::ids::LeadId;
use kommo_loops_bridge::Action;
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::outbox::NewItem;
use kommo_loops_bridge::runtime::{
    Bridge, BridgeConfig, MemoryOutbox, MemoryState, RetryPolicy, marker,
};
use kommo_loops_sandbox::RequestStats;
use kommo_loops_sandbox::kommo::{self, NewLead};
use serde::Serialize;
use serde_json::json;

use crate::demo::{Stack, StackOptions, eventually};
use crate::measure::round3;

/// The tag every lead gets.
pub const TAG: &str = "bulk-tagged";

/// The longest a run may take (200 leads one request at a time at 7 per second: 2.5 min).
const RUN_TIMEOUT: Duration = Duration::from_secs(3600);

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct KommoWritesArgs {
    /// `--leads` (200).
    pub leads: usize,
    /// `--group`: [`BridgeConfig::kommo_group`] (50; 1 is the baseline).
    pub group: usize,
    /// `--kommo-rate`: requests per second the fake allows and the client paces at (7).
    pub kommo_rate: u32,
    /// `--workers` (4, as the server's default).
    pub workers: usize,
    /// `--drop-rate`: the share of Kommo requests applied and then cut before the answer (0).
    pub drop_rate: f64,
}

impl Default for KommoWritesArgs {
    fn default() -> Self {
        KommoWritesArgs {
            leads: 200,
            group: 50,
            kommo_rate: 7,
            workers: 4,
            drop_rate: 0.0,
        }
    }
}

impl KommoWritesArgs {
    /// Parses `--leads N --group G --kommo-rate K --workers W --drop-rate P`.
    ///
    /// ```
    /// use kommo_loops_examples::kommo_writes::KommoWritesArgs;
    /// let args = KommoWritesArgs::parse(["--leads", "20", "--group", "1"].map(String::from))
    ///     .unwrap();
    /// assert_eq!((args.leads, args.group, args.kommo_rate), (20, 1, 7));
    /// assert!(KommoWritesArgs::parse(["--group".to_string()]).is_err());
    /// ```
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut out = KommoWritesArgs::default();
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
                "--group" => out.group = number()?.min(250) as usize,
                "--kommo-rate" => out.kommo_rate = number()?,
                "--workers" => out.workers = number()?.min(64) as usize,
                "--drop-rate" => {
                    out.drop_rate = value
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..1.0).contains(p))
                        .ok_or_else(|| format!("--drop-rate {value:?} is not in [0, 1)"))?;
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(out)
    }
}

/// Requests to the endpoints of Kommo writes, in one phase of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WriteCalls {
    /// `POST /api/v4/leads/notes`.
    pub note_adds: u64,
    /// Marker reads of notes: `GET /api/v4/leads/notes` (many leads) and
    /// `GET /api/v4/leads/{id}/notes` (one).
    pub note_reads: u64,
    /// `POST /api/v4/tasks`.
    pub task_adds: u64,
    /// Marker reads of open tasks, `GET /api/v4/tasks`.
    pub task_reads: u64,
    /// Tag changes: `PATCH /api/v4/leads` (many) and `PATCH /api/v4/leads/{id}` (one).
    pub tag_writes: u64,
    /// Every Kommo request of the phase.
    pub total: u64,
    /// Requests applied and then cut before the answer (the drop fault).
    pub dropped: u64,
}

impl WriteCalls {
    fn between(before: &RequestStats, after: &RequestStats) -> Self {
        let count = |endpoint: &str| after.requests_to(endpoint) - before.requests_to(endpoint);
        let dropped =
            |stats: &RequestStats| -> u64 { stats.by_endpoint.values().map(|s| s.dropped).sum() };
        WriteCalls {
            note_adds: count("POST /api/v4/leads/notes"),
            note_reads: count("GET /api/v4/leads/notes") + count("GET /api/v4/leads/{id}/notes"),
            task_adds: count("POST /api/v4/tasks"),
            task_reads: count("GET /api/v4/tasks"),
            tag_writes: count("PATCH /api/v4/leads") + count("PATCH /api/v4/leads/{id}"),
            total: after.total - before.total,
            dropped: dropped(after) - dropped(before),
        }
    }
}

/// One run's figures, printed as one JSON line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KommoWritesReport {
    /// Leads, each given a note, a task and a tag.
    pub leads: usize,
    /// [`BridgeConfig::kommo_group`].
    pub group: usize,
    /// The first run's requests.
    pub first: WriteCalls,
    /// Kommo requests per lead in the first run (three writes each).
    pub calls_per_lead: f64,
    /// The first run, from the enqueue to the outbox empty.
    pub seconds: f64,
    /// The replay's requests (a fresh outbox, the same actions).
    pub replay: WriteCalls,
    /// Notes, tasks or tags missing on a lead.
    pub lost: usize,
    /// Notes or tasks beyond the one expected per lead.
    pub duplicates: usize,
}

impl KommoWritesReport {
    /// The JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The three actions of lead number `i`.
fn actions(i: usize, lead: LeadId) -> Result<Vec<Action>, String> {
    let target = json!({ "leadId": lead.0 });
    [
        json!({"type": "kommo.add_note", "idempotencyKey": format!("kw-note-{i}"),
               "target": target, "text": format!("Moved in bulk ({i})"), "rule": "bulk"}),
        json!({"type": "kommo.add_task", "idempotencyKey": format!("kw-task-{i}"),
               "target": target, "text": format!("Call about the move ({i})"),
               "dueInHours": 24, "eventTime": 1_767_225_600, "rule": "bulk"}),
        json!({"type": "kommo.add_tags", "idempotencyKey": format!("kw-tags-{i}"),
               "target": target, "tags": [TAG], "rule": "bulk"}),
    ]
    .into_iter()
    .map(|a| serde_json::from_value(a).map_err(|e| e.to_string()))
    .collect()
}

/// Retries that take milliseconds, so that dropped answers do not stretch a run.
fn quick_retries() -> RetryPolicy {
    let mut retry = RetryPolicy::default();
    retry.first_backoff = Duration::from_millis(20);
    retry.max_backoff = Duration::from_millis(200);
    retry
}

/// One run: seed, enqueue, wait; replay through a fresh outbox; check the fake.
pub async fn run(args: &KommoWritesArgs, rules: &Path) -> Result<KommoWritesReport, String> {
    let rules = Rules::from_path(rules).map_err(|e| e.to_string())?;
    let rate = args.kommo_rate;
    let options = StackOptions::new()
        .kommo(kommo::Config::saas_onboarding().rate_limit(Some(rate)))
        .kommo_client(move |b| {
            b.rate_limit(kommo_client::RateLimit::per_second(rate))
                .retry_policy(
                    kommo_client::RetryPolicy::default()
                        .with_backoff(Duration::from_millis(5), Duration::from_millis(50)),
                )
        })
        .workers(args.workers);
    let config = BridgeConfig::default()
        .kommo_group(args.group)
        .retry(quick_retries());
    let stack = Stack::start_with(rules.clone(), config.clone(), options).await?;
    let result = measure(&stack, args, rules, config).await;
    stack.stop().await;
    result
}

async fn measure(
    stack: &Stack,
    args: &KommoWritesArgs,
    rules: Rules,
    config: BridgeConfig,
) -> Result<KommoWritesReport, String> {
    // The tag changes' webhooks would be planned by the rules; only the writes are measured.
    stack.kommo.unsubscribe(&stack.kommo_webhook_url());
    let mut items = Vec::with_capacity(3 * args.leads);
    let mut leads = Vec::with_capacity(args.leads);
    for i in 0..args.leads {
        let lead = stack
            .kommo
            .seed_lead(NewLead::new(format!("Bulk {i}")))
            .map_err(|e| e.to_string())?;
        leads.push(lead);
        items.extend(
            actions(i, lead)?
                .into_iter()
                .map(|a| NewItem::action(a, "kommo_writes")),
        );
    }
    let drop_rate = args.drop_rate;
    stack.kommo.faults().update(|f| f.drop_rate = drop_rate);

    let before = stack.kommo.request_stats();
    let started = Instant::now();
    stack
        .bridge
        .enqueue(items.clone())
        .await
        .map_err(|e| e.to_string())?;
    let emptied = eventually(RUN_TIMEOUT, || async {
        stack
            .bridge
            .outbox()
            .stats()
            .await
            .is_ok_and(|s| s.unfinished() == 0)
    })
    .await;
    let seconds = started.elapsed().as_secs_f64();
    if !emptied {
        return Err(format!("the outbox did not empty within {RUN_TIMEOUT:?}"));
    }
    stack.kommo.faults().update(|f| f.drop_rate = 0.0);
    let middle = stack.kommo.request_stats();
    let first = WriteCalls::between(&before, &middle);

    // The replay: a second bridge on the same fakes, with an outbox that knows nothing.
    let kommo = stack.kommo_client();
    let replayer = Bridge::builder(rules, Arc::new(stack.loops_client()), Arc::new(kommo))
        .outbox(Arc::new(MemoryOutbox::new()))
        .state(Arc::new(MemoryState::new()))
        .config(config)
        .build()
        .map_err(|e| e.to_string())?;
    replayer.enqueue(items).await.map_err(|e| e.to_string())?;
    replayer
        .drain(RUN_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let replay = WriteCalls::between(&middle, &stack.kommo.request_stats());

    let (lost, duplicates) = effects(stack, &leads);
    Ok(KommoWritesReport {
        leads: args.leads,
        group: args.group,
        calls_per_lead: round3(first.total as f64 / args.leads.max(1) as f64),
        first,
        seconds: round3(seconds),
        replay,
        lost,
        duplicates,
    })
}

/// Counts, from the fake's state, each lead's missing note, task or tag, and its notes and
/// tasks beyond one.
fn effects(stack: &Stack, leads: &[LeadId]) -> (usize, usize) {
    let (mut lost, mut duplicates) = (0, 0);
    for (i, lead) in leads.iter().enumerate() {
        let note_marker = marker(&format!("kw-note-{i}"));
        let task_marker = marker(&format!("kw-task-{i}"));
        let notes = stack
            .kommo
            .notes_for(EntityType::Leads, lead.0)
            .iter()
            .filter(|n| n.text().is_some_and(|t| t.contains(&note_marker)))
            .count();
        let tasks = stack
            .kommo
            .tasks_for(EntityType::Leads, lead.0)
            .iter()
            .filter(|t| t.text.contains(&task_marker))
            .count();
        let tagged = stack
            .kommo
            .lead(*lead)
            .is_some_and(|l| l.tag_names().contains(&TAG));
        for count in [notes, tasks] {
            match count {
                0 => lost += 1,
                n => duplicates += n - 1,
            }
        }
        lost += usize::from(!tagged);
    }
    (lost, duplicates)
}
