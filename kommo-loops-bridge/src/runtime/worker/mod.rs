//! Workers: claim due jobs from the outbox, run them, and record how each ended.

use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::bridge::Bridge;
use super::clock;
use super::kommo_writes::Cutoff;
use super::outbox::{Attempt, Finish, Item, ItemState, Job, Lane, NewItem, coalesce};
use super::outcome::Outcome;
use super::planner::{PlanFailure, Planner};
use super::prefetch::Prefetched;
use crate::plan::{Action, Plan, UpsertContact};

/// When failed jobs run again, and when they are given up.
///
/// Failures the other side explained with a wait (a 429 with `Retry-After`, a Kommo IP block
/// with its cool-down) are waited out without using up `max_attempts`; only `max_waits` bounds
/// them, so a long outage delays work instead of dead-lettering it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The wait after the first unexplained failure; it doubles each time.
    pub first_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// Unexplained failures before the job becomes a dead letter.
    pub max_attempts: u32,
    /// Explained waits before the job becomes a dead letter.
    pub max_waits: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(15 * 60),
            max_attempts: 12,
            max_waits: 1000,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryStep {
    /// Run again after this delay; `explained` when the other side asked for the wait.
    After {
        /// The delay.
        delay: Duration,
        /// Whether the other side asked for it.
        explained: bool,
    },
    /// Give up.
    GiveUp,
}

impl RetryPolicy {
    /// Decides the next step. `failures` and `waits` count earlier attempts of each kind;
    /// `asked` is the wait the other side asked for; `jitter` in `[0, 1)` spreads retries.
    pub fn next(
        &self,
        failures: u32,
        waits: u32,
        asked: Option<Duration>,
        jitter: f64,
    ) -> RetryStep {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match asked {
            Some(_) if waits + 1 > self.max_waits => RetryStep::GiveUp,
            Some(wait) => RetryStep::After {
                // A little extra so that many jobs waiting on one limit do not all return at once.
                delay: wait + Duration::from_millis((jitter * 250.0) as u64),
                explained: true,
            },
            None if failures + 1 >= self.max_attempts => RetryStep::GiveUp,
            None => {
                let exponent = failures.min(20);
                let full = self
                    .first_backoff
                    .saturating_mul(1 << exponent)
                    .min(self.max_backoff);
                RetryStep::After {
                    delay: full / 2 + (full / 2).mul_f64(jitter),
                    explained: false,
                }
            }
        }
    }
}

/// How one run of one job ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobReport {
    /// The outbox item.
    pub item_id: i64,
    /// Its idempotency key.
    pub key: String,
    /// What the job was, e.g. `loops.send_event (won)`.
    pub job: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Which attempt this was (1 for the first).
    pub attempt: usize,
    /// Where the item is now.
    pub state: ItemState,
    /// For a planning job, the plan (actions and explain trace).
    pub plan: Option<Plan>,
}

/// Running workers; stop them with [`shutdown`](Workers::shutdown).
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Lets each worker finish its current job, then stops them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

impl Bridge {
    /// Starts `count` workers on the current tokio runtime, split across the [`Lane`]s: half
    /// (rounded down) claim Kommo's jobs, the rest Loops's, and each lane gets at least one
    /// (so `count` 1 starts two). A lane's workers wait only on its API's rate limit, so a bulk
    /// change sends to Loops while its planning jobs wait on Kommo's rate.
    pub fn spawn_workers(&self, count: usize) -> Workers {
        let kommo = (count / 2).max(1);
        let loops = count.saturating_sub(count / 2).max(1);
        self.spawn(&[(Lane::Kommo, kommo), (Lane::Loops, loops)])
    }

    /// Starts `count` workers (at least one) claiming the jobs of `lane` only. With
    /// [`spawn_workers`](Self::spawn_workers) an instance runs both lanes; this chooses each
    /// lane's share instead (call it once per lane: a lane without workers never runs).
    pub fn spawn_lane_workers(&self, lane: Lane, count: usize) -> Workers {
        self.spawn(&[(lane, count.max(1))])
    }

    fn spawn(&self, lanes: &[(Lane, usize)]) -> Workers {
        let (stop, stopped) = watch::channel(false);
        let handles = lanes
            .iter()
            .flat_map(|&(lane, count)| (0..count).map(move |n| (lane, n)))
            .map(|(lane, n)| {
                let bridge = self.clone();
                let mut stopped = stopped.clone();
                let name = format!("worker-{}-{lane}-{n}", std::process::id());
                tokio::spawn(async move {
                    loop {
                        if *stopped.borrow() {
                            break;
                        }
                        match bridge.work_in(&name, Some(lane)).await {
                            Ok(reports) if !reports.is_empty() => continue,
                            Ok(_) => {}
                            Err(e) => {
                                tracing::error!(worker = %name, error = %e, "the outbox failed")
                            }
                        }
                        let wait = bridge.idle_wait(Some(lane)).await;
                        tokio::select! {
                            _ = bridge.inner.work.lane(lane).notified() => {}
                            _ = tokio::time::sleep(wait) => {}
                            _ = stopped.changed() => {}
                        }
                    }
                })
            })
            .collect();
        Workers { stop, handles }
    }

    /// How long an idle worker of `lane` sleeps: until the lane's next retry is due, at most a
    /// second (another instance may have enqueued work this one was not notified of). Only its
    /// lane's items count: the other lane's due items, waiting on their API's rate, would
    /// otherwise wake it every few milliseconds for nothing.
    async fn idle_wait(&self, lane: Option<Lane>) -> Duration {
        let max = Duration::from_secs(1);
        match self.inner.outbox.next_due(lane).await {
            Ok(Some(due)) => due
                .duration_since(clock::now())
                .unwrap_or(Duration::ZERO)
                .clamp(Duration::from_millis(5), max),
            _ => max,
        }
    }

    /// Claims due jobs of any lane once and runs them; returns how each ended.
    pub async fn work_once(
        &self,
        worker: &str,
    ) -> Result<Vec<JobReport>, super::outbox::OutboxError> {
        self.work_in(worker, None).await
    }

    /// Claims due jobs of `lane` (any lane with `None`) once and runs them.
    async fn work_in(
        &self,
        worker: &str,
        lane: Option<Lane>,
    ) -> Result<Vec<JobReport>, super::outbox::OutboxError> {
        let config = &self.inner.config;
        let outbox = &self.inner.outbox;
        let (now, batch, lease) = (clock::now(), config.batch, config.lease);
        // Taken before the claim, so the leases end after it.
        let claimed_at = tokio::time::Instant::now();
        let mut items = if config.coalesce_upserts {
            outbox
                .claim_coalescing(worker, lane, batch, now, lease)
                .await?
        } else {
            outbox.claim(worker, lane, batch, now, lease).await?
        };
        let group = config.kommo_group.clamp(1, 250);
        let writes = items.iter().filter(|i| kommo_write(i).is_some()).count();
        // A full claim of mostly Kommo writes: a bulk change is under way, and its writes (one
        // partition head each) only form groups if more of them are claimed. The top-up takes
        // Kommo's lane only, so it never holds Loops jobs back behind Kommo's rate; a claim of
        // mostly other jobs is left as it is.
        if lane != Some(Lane::Loops)
            && items.len() == batch
            && group > batch
            && writes * 2 >= batch.max(2)
        {
            let (more, kommo) = (group - batch, Some(Lane::Kommo));
            items.extend(if config.coalesce_upserts {
                outbox
                    .claim_coalescing(worker, kommo, more, now, lease)
                    .await?
            } else {
                outbox.claim(worker, kommo, more, now, lease).await?
            });
        }
        let grouped = group > 1 && items.iter().filter(|i| kommo_write(i).is_some()).count() > 1;
        // The jobs run in claim order; the group of Kommo writes where its first one was.
        let mut writes: Vec<Item> = Vec::new();
        let mut order: Vec<Option<Item>> = Vec::with_capacity(items.len());
        for item in items {
            if grouped && kommo_write(&item).is_some() {
                if writes.is_empty() {
                    order.push(None);
                }
                writes.push(item);
            } else {
                order.push(Some(item));
            }
        }
        let mut reports = Vec::with_capacity(order.len() + writes.len());
        let weight = |unit: &Option<Item>| match unit {
            Some(Item {
                job: Job::PlanKommo { body },
                ..
            }) => Some(Planner::weight(body.as_bytes())),
            _ => None,
        };
        for part in parts_for_reads(order, weight) {
            let shared = self.read_together(&part).await;
            for unit in part {
                match unit {
                    Some(item) => reports.extend(self.run(worker, item, shared.as_ref()).await?),
                    None => {
                        let writes = std::mem::take(&mut writes);
                        let cutoff = Cutoff::of_claim(claimed_at, lease);
                        reports.extend(self.run_kommo_writes(worker, writes, group, cutoff).await?);
                    }
                }
            }
        }
        Ok(reports)
    }

    /// Runs claimed Kommo writes together: their writes go in groups of at most `group` per
    /// Kommo request (see `kommo_writes.rs`); each item is finished with its own outcome.
    /// What would start after `cutoff` waits for the next claim.
    async fn run_kommo_writes(
        &self,
        worker: &str,
        items: Vec<Item>,
        group: usize,
        cutoff: Cutoff,
    ) -> Result<Vec<JobReport>, super::outbox::OutboxError> {
        let span = tracing::info_span!("kommo_loops.kommo_writes", jobs = items.len());
        let now = clock::now();
        let actions: Vec<&Action> = items.iter().filter_map(kommo_write).collect();
        let outcomes = self
            .inner
            .executor
            .execute_kommo(&actions, now, group, Some(cutoff))
            .instrument(span)
            .await;
        let mut reports = Vec::with_capacity(items.len());
        for (item, outcome) in items.iter().zip(outcomes) {
            let span = tracing::info_span!("kommo_loops.job", id = item.id, job = %Bridge::describe(&item.job), attempt = item.attempts.len() + 1);
            reports.extend(
                self.finish_run(worker, item, outcome, None, now)
                    .instrument(span)
                    .await?,
            );
        }
        Ok(reports)
    }

    /// Runs jobs until none is left or `timeout` passes (waiting out retries meanwhile);
    /// returns every report. For tests, the demo and one-shot tools.
    pub async fn drain(
        &self,
        timeout: Duration,
    ) -> Result<Vec<JobReport>, super::outbox::OutboxError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut all = Vec::new();
        loop {
            let reports = self.work_once("drain").await?;
            if !reports.is_empty() {
                all.extend(reports);
                continue;
            }
            if self.inner.outbox.stats().await?.unfinished() == 0
                || tokio::time::Instant::now() >= deadline
            {
                return Ok(all);
            }
            let wait = self
                .idle_wait(None)
                .await
                .min(deadline - tokio::time::Instant::now());
            tokio::time::sleep(wait).await;
        }
    }

    /// When a claim holds several Kommo deliveries to plan (a bulk change's bodies), reads
    /// what they need together, fresh, so that each kind of entity costs one request per 250
    /// for all of them instead of one per delivery: at Kommo's 7 requests a second, planning
    /// is what holds a bulk change's sends back.
    async fn read_together(&self, order: &[Option<Item>]) -> Option<Prefetched> {
        let bodies: Vec<&[u8]> = order
            .iter()
            .flatten()
            .filter_map(|item| match &item.job {
                Job::PlanKommo { body } => Some(body.as_bytes()),
                _ => None,
            })
            .collect();
        if bodies.len() < 2 {
            return None;
        }
        let span = tracing::info_span!("kommo_loops.read_together", deliveries = bodies.len());
        Some(
            self.inner
                .planner
                .read_together(&bodies)
                .instrument(span)
                .await,
        )
    }

    /// Runs one claimed item (and the upserts folded into it); returns its report first, then
    /// one per folded item. `shared`: what was read for the deliveries claimed with it.
    async fn run(
        &self,
        worker: &str,
        item: Item,
        shared: Option<&Prefetched>,
    ) -> Result<Vec<JobReport>, super::outbox::OutboxError> {
        let span = tracing::info_span!("kommo_loops.job", id = item.id, job = %Bridge::describe(&item.job), attempt = item.attempts.len() + 1);
        // Instrumented, not entered: a span entered across an `.await` stays entered on the
        // thread while the job is suspended, so every job polled meanwhile would log inside it.
        self.run_in_span(worker, item, shared)
            .instrument(span)
            .await
    }

    async fn run_in_span(
        &self,
        worker: &str,
        item: Item,
        shared: Option<&Prefetched>,
    ) -> Result<Vec<JobReport>, super::outbox::OutboxError> {
        let now = clock::now();
        let (outcome, plan) = match &item.job {
            Job::Execute { action } => (self.execute(action, &item.folded, now).await, None),
            Job::PlanKommo { body } => {
                let planned = self.inner.planner.plan(body.as_bytes(), shared).await;
                self.store_plan(&item, planned).await
            }
            Job::PlanKommoChange { change } => {
                let planned = self.inner.planner.plan_change(change, false).await;
                self.store_plan(&item, planned).await
            }
        };
        self.finish_run(worker, &item, outcome, plan, now).await
    }

    /// Records how a run of `item` ended and reports it (and its folded items).
    async fn finish_run(
        &self,
        worker: &str,
        item: &Item,
        outcome: Outcome,
        plan: Option<Plan>,
        now: SystemTime,
    ) -> Result<Vec<JobReport>, super::outbox::OutboxError> {
        let (failures, waits, since_replay) = attempts_since_replay(&item.attempts);
        let done = match &item.job {
            // Its actions are stored: the delivery body is not needed any more.
            Job::PlanKommo { .. } => Finish::Planned,
            // A logged change is a few dozen bytes: kept, so the item still says what it was.
            Job::Execute { .. } | Job::PlanKommoChange { .. } => Finish::Done,
        };
        let (finish, attempt) = match &outcome {
            Outcome::Done { detail } => (done, Attempt::new(now, "done", detail.clone())),
            Outcome::Skipped { reason } => {
                (Finish::Done, Attempt::new(now, "skipped", reason.clone()))
            }
            Outcome::AlreadyDone { detail } => (
                Finish::AlreadyDone,
                Attempt::new(now, "already_done", detail.clone()),
            ),
            Outcome::Failed { reason } => (
                Finish::Dead(reason.clone()),
                Attempt::new(now, "failed", reason.clone()),
            ),
            Outcome::Retry { after, reason } => {
                match self
                    .inner
                    .config
                    .retry
                    .next(failures, waits, *after, jitter())
                {
                    RetryStep::After { delay, explained } => (
                        Finish::RetryAt(now + delay),
                        Attempt::new(
                            now,
                            if explained { "wait" } else { "retry" },
                            reason.clone(),
                        ),
                    ),
                    RetryStep::GiveUp => (
                        Finish::Dead(format!(
                            "gave up after {} attempts: {reason}",
                            since_replay + 1
                        )),
                        Attempt::new(now, "failed", reason.clone()),
                    ),
                }
            }
        };
        let state = finish_state(&finish);
        // Details name contacts by email: personal data, masked unless asked otherwise.
        let detail = self.inner.config.emails_in_logs.apply(outcome.detail());
        let detail = detail.as_ref();
        match &outcome {
            Outcome::Done { .. } | Outcome::AlreadyDone { .. } | Outcome::Skipped { .. } => {
                tracing::info!(outcome = outcome.name(), detail, "job finished");
            }
            Outcome::Retry { .. } if state == ItemState::Pending => {
                tracing::warn!(reason = detail, "job failed; it will run again");
            }
            // Loud on purpose: nothing else retries it, and a cause such as a missing Loops
            // property dead-letters every similar job until it is fixed.
            _ => tracing::error!(
                item = item.id,
                key = %item.key,
                reason = detail,
                "job failed for good; it is now a dead letter: fix the cause, then replay it"
            ),
        }
        let folded_finish = |at| folded_finish(item.id, &finish, at);
        // The head first: a crash before the folded items are finished leaves them to run
        // again, which repeats an upsert of properties already sent, never loses one.
        let head_finish = finish.clone();
        self.inner
            .outbox
            .finish(item.id, worker, head_finish, attempt)
            .await?;
        let mut reports = vec![self.report(item, outcome, state, plan)];
        for folded in &item.folded {
            let (finish, attempt, outcome) = folded_finish(now);
            let state = finish_state(&finish);
            self.inner
                .outbox
                .finish(folded.id, worker, finish, attempt)
                .await?;
            reports.push(self.report(folded, outcome, state, None));
        }
        Ok(reports)
    }

    /// Reports how a run of `item` ended, to the caller and to subscribers.
    fn report(
        &self,
        item: &Item,
        outcome: Outcome,
        state: ItemState,
        plan: Option<Plan>,
    ) -> JobReport {
        let report = JobReport {
            item_id: item.id,
            key: item.key.clone(),
            job: Bridge::describe(&item.job),
            outcome,
            attempt: item.attempts.len() + 1,
            state,
            plan,
        };
        let _ = self.inner.reports.send(report.clone());
        report
    }

    /// Executes an action; an upsert with others folded into it goes out as one upsert with
    /// the final properties.
    async fn execute(&self, action: &Action, folded: &[Item], now: SystemTime) -> Outcome {
        let executor = &self.inner.executor;
        let Action::UpsertContact(head) = action else {
            return executor.execute(action, now).await;
        };
        let upserts: Vec<&UpsertContact> = folded
            .iter()
            .filter_map(|item| match &item.job {
                Job::Execute {
                    action: Action::UpsertContact(upsert),
                } => Some(upsert),
                _ => None,
            })
            .collect();
        if upserts.is_empty() {
            return executor.execute(action, now).await;
        }
        let merged = Action::UpsertContact(coalesce(head, upserts));
        let ids: Vec<String> = folded.iter().map(|item| item.id.to_string()).collect();
        let note = format!(
            " (one call for {} upserts: items {} folded in)",
            ids.len() + 1,
            ids.join(", ")
        );
        match executor.execute(&merged, now).await {
            Outcome::Done { detail } => Outcome::Done {
                detail: detail + &note,
            },
            Outcome::AlreadyDone { detail } => Outcome::AlreadyDone {
                detail: detail + &note,
            },
            other => other,
        }
    }

    /// Stores the actions of a planning job's plan.
    async fn store_plan(
        &self,
        item: &Item,
        planned: Result<Plan, PlanFailure>,
    ) -> (Outcome, Option<Plan>) {
        match planned {
            Ok(plan) => {
                let items: Vec<NewItem> = plan
                    .actions
                    .iter()
                    .cloned()
                    .map(|a| NewItem::action(a, item.source.clone()))
                    .collect();
                let count = items.len();
                match self.enqueue(items).await {
                    Ok(new) => (
                        Outcome::Done {
                            detail: format!("planned {count} action(s), {new} new"),
                        },
                        Some(plan),
                    ),
                    Err(e) => (
                        Outcome::Retry {
                            after: None,
                            reason: format!("could not store the planned actions: {e}"),
                        },
                        Some(plan),
                    ),
                }
            }
            Err(PlanFailure::Retry(e)) => (e.into(), None),
            Err(PlanFailure::Permanent(reason)) => (Outcome::Failed { reason }, None),
        }
    }
}

/// The Kommo write (note, task, tag change) an item executes, if that is what it does and
/// nothing is folded into it.
/// The most entities one of Kommo's list reads returns.
const PAGE: usize = 250;

/// Divides a claim's units, in order, into parts whose deliveries to plan (the units `weight`
/// gives a size) name at most a page of entities together; a delivery bigger than a page is a
/// part of its own. Each part is read together and run before the next part's reads: a part's
/// sends are in the outbox after its three reads (leads, then their contacts and companies),
/// while Kommo's 7 requests a second hold the next part back. Read as one, a claim of 8
/// bodies of 50 leads made the same 6 reads but planned nothing until the last, and the Loops
/// lane ran dry meanwhile at the start of a bulk change.
fn parts_for_reads<T>(units: Vec<T>, weight: impl Fn(&T) -> Option<usize>) -> Vec<Vec<T>> {
    let mut parts = Vec::new();
    let (mut part, mut load) = (Vec::new(), 0);
    for unit in units {
        if let Some(size) = weight(&unit) {
            if load > 0 && load + size > PAGE {
                parts.push(std::mem::take(&mut part));
                load = 0;
            }
            load += size;
        }
        part.push(unit);
    }
    if !part.is_empty() {
        parts.push(part);
    }
    parts
}

fn kommo_write(item: &Item) -> Option<&Action> {
    match &item.job {
        Job::Execute { action } if item.folded.is_empty() => {
            super::kommo_writes::WriteKind::of(action).map(|_| action)
        }
        _ => None,
    }
}

/// Where a finish leaves an item.
fn finish_state(finish: &Finish) -> ItemState {
    match finish {
        Finish::Done | Finish::Planned => ItemState::Done,
        Finish::AlreadyDone => ItemState::AlreadyDone,
        Finish::RetryAt(_) => ItemState::Pending,
        Finish::Dead(_) => ItemState::Dead,
    }
}

/// How an upsert folded into item `head` ends, given how `head` ended: with it when it
/// succeeded or will run again (its properties went, or will go, in that one call), and back
/// to pending when it failed for good, so that a property the call was refused for holds back
/// no other edit longer than running them one claim at a time would. Neither `folded` nor
/// `released` counts against the item's own retries.
fn folded_finish(head: i64, finish: &Finish, now: SystemTime) -> (Finish, Attempt, Outcome) {
    let carried = format!("folded into outbox item {head}, which carried its properties");
    match finish {
        Finish::Done | Finish::Planned => (
            Finish::Done,
            Attempt::new(now, "done", carried.clone()),
            Outcome::Done { detail: carried },
        ),
        Finish::AlreadyDone => (
            Finish::AlreadyDone,
            Attempt::new(now, "already_done", carried.clone()),
            Outcome::AlreadyDone { detail: carried },
        ),
        Finish::RetryAt(at) => {
            let detail = format!("folded into outbox item {head}, which will run again");
            (
                Finish::RetryAt(*at),
                Attempt::new(now, "folded", detail.clone()),
                Outcome::Retry {
                    after: None,
                    reason: detail,
                },
            )
        }
        Finish::Dead(reason) => {
            let detail = format!(
                "folded into outbox item {head}, which failed for good ({reason}); \
                 runs without it"
            );
            (
                Finish::RetryAt(now),
                Attempt::new(now, "released", detail.clone()),
                Outcome::Retry {
                    after: None,
                    reason: detail,
                },
            )
        }
    }
}

/// The earlier failures and waits that count against the retry policy, and the attempts since
/// the item was last put back from the dead letters. Only those since then count: a replay
/// (after the operator fixed the cause, or after an outage longer than the retries) gives the
/// item a fresh set of attempts, while its whole history stays recorded.
fn attempts_since_replay(attempts: &[Attempt]) -> (u32, u32, usize) {
    let start = attempts
        .iter()
        .rposition(|a| a.outcome == "failed")
        .map_or(0, |last_death| last_death + 1);
    let recent = &attempts[start..];
    let count = |outcome: &str| recent.iter().filter(|a| a.outcome == outcome).count() as u32;
    (count("retry"), count("wait"), recent.len())
}

fn jitter() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests;
