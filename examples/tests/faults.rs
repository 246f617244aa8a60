//! Faults on the way out, against the sandbox fakes: a flaky Loops (5xx, latency, dropped
//! connections), a 429 storm, a Kommo IP block, deliveries out of order. Whatever happens,
//! every send the bridge planned arrives exactly once and nothing ends as a dead letter.
//!
//! Assertions come from the fakes' state and request counts. Each test prints one `observed:`
//! line with the numbers `docs/reliability.md` reports (run with `--nocapture` to see them).

mod common;

use std::time::{Duration, Instant};

use common::*;
use kommo_client::common::EntityType;
use kommo_loops_bridge::runtime::Outcome;
use kommo_loops_examples::demo::{Stack, eventually};
use kommo_loops_sandbox::kommo::saas_onboarding;
use kommo_loops_sandbox::loops;
use kommo_loops_sandbox::{FaultConfig, InjectedFault};

fn elapsed(since: Instant) -> String {
    format!("{:.1} s", since.elapsed().as_secs_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_failing_30_percent_with_latency_gets_each_send_once() {
    let started = Instant::now();
    let faults = FaultConfig::none()
        .error_rate(0.3)
        .latency(Duration::from_millis(5))
        .latency_jitter(Duration::from_millis(25));
    // The client retries once itself, so that some failures reach the bridge's own retries.
    let options = fast_options(loops::Config::default().seed(30).faults(faults))
        .loops_client(|b| b.retry_policy(fast_loops_retry().with_max_attempts(2)));
    let stack = Stack::start_with(onboarding(), fast_bridge(), options)
        .await
        .unwrap();
    let mut reports = stack.bridge.subscribe();
    let mut ledger = Ledger::default();

    let customers = new_customers(&stack, "flaky", 12);
    settle(&stack).await;
    win(&stack, &customers);
    settle(&stack).await;
    ledger.take(&mut reports);

    assert_onboarding_sent_once(&stack, &customers, true);
    assert_each_planned_send_once(&stack, &ledger);
    assert_eq!(ledger.planned_sends.len(), 36);
    assert_eq!(dead_letters(&stack).await, 0);
    let stats = stack.loops.request_stats();
    assert!(
        stats.server_errors() >= 10,
        "the fault was injected: {stats:?}"
    );
    println!(
        "observed: {} sends planned, {} recorded; Loops requests {} ({} answered 5xx, {} idempotency conflicts); bridge retries {}; {}",
        ledger.planned_sends.len(),
        sends_by_key(&stack.loops).len(),
        stats.total,
        stats.server_errors(),
        stack.loops.idempotency_conflicts().len(),
        ledger.retries(),
        elapsed(started)
    );
    stack.stop().await;
}

/// A dropped connection is the ambiguous case: Loops applied the request, the answer was lost.
/// The retry carries the same idempotency key, Loops answers 409, and that counts as done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_dropping_connections_after_applying_never_doubles_a_send() {
    let started = Instant::now();
    let faults = FaultConfig::none()
        .drop_rate(0.25)
        .error_rate(0.1)
        .latency_jitter(Duration::from_millis(10));
    let stack = Stack::start_with(
        onboarding(),
        fast_bridge(),
        fast_options(loops::Config::default().seed(25).faults(faults)),
    )
    .await
    .unwrap();
    let mut reports = stack.bridge.subscribe();
    let mut ledger = Ledger::default();

    let customers = new_customers(&stack, "dropped", 12);
    settle(&stack).await;
    win(&stack, &customers);
    settle(&stack).await;
    ledger.take(&mut reports);

    assert_onboarding_sent_once(&stack, &customers, true);
    assert_each_planned_send_once(&stack, &ledger);
    assert_eq!(dead_letters(&stack).await, 0);
    let log = stack.loops.request_log();
    let dropped_sends = log
        .iter()
        .filter(|r| r.fault == Some(InjectedFault::Dropped) && r.idempotency_key.is_some())
        .count();
    assert!(dropped_sends > 0, "some applied sends lost their answer");
    let conflicts = stack.loops.idempotency_conflicts().len();
    assert!(
        conflicts >= 1,
        "a retry after a dropped send met its own key: {conflicts}"
    );
    println!(
        "observed: {} sends planned, {} recorded; Loops requests {} ({} connections cut after applying, {} of them sends; {} retries refused by key with 409); {}",
        ledger.planned_sends.len(),
        sends_by_key(&stack.loops).len(),
        log.len(),
        log.iter()
            .filter(|r| r.fault == Some(InjectedFault::Dropped))
            .count(),
        dropped_sends,
        conflicts,
        elapsed(started)
    );
    stack.stop().await;
}

/// The most requests the fake recorded in any one-second window.
fn busiest_second(log: &[kommo_loops_sandbox::RequestRecord]) -> usize {
    let mut times: Vec<_> = log.iter().map(|r| r.at).collect();
    times.sort();
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end].duration_since(times[start]).unwrap_or_default() >= Duration::from_secs(1)
        {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// A 429 storm: Loops at its production limit (10/s) forces a 429 on 30% of the calls besides.
/// Nothing is lost, and the request count stays within what the retry policy allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_loses_nothing_and_does_not_spin() {
    let started = Instant::now();
    const LIMIT: u32 = 10;
    const FORCED: f64 = 0.3;
    let loops = loops::Config::default()
        .seed(429)
        .faults(FaultConfig::none().force_429_rate(FORCED));
    let stack = Stack::start_with(
        onboarding(),
        fast_bridge(),
        // After fast_options, so the Loops fake keeps its production limit.
        fast_options(loops::Config::default()).loops(loops.rate_limit(Some(LIMIT))),
    )
    .await
    .unwrap();
    let mut reports = stack.bridge.subscribe();
    let mut ledger = Ledger::default();

    let customers = new_customers(&stack, "storm", 4);
    win(&stack, &customers);
    settle(&stack).await;
    ledger.take(&mut reports);

    assert_onboarding_sent_once(&stack, &customers, true);
    assert_each_planned_send_once(&stack, &ledger);
    assert_eq!(dead_letters(&stack).await, 0);

    let log = stack.loops.request_log();
    let total = log.len();
    let forced = log
        .iter()
        .filter(|r| r.fault == Some(InjectedFault::Forced429))
        .count();
    let bucket_429 = log
        .iter()
        .filter(|r| r.status == 429 && r.fault.is_none())
        .count();
    let useful = log
        .iter()
        .filter(|r| (200..300).contains(&r.status) || r.status == 409)
        .count();
    assert!(forced > 0, "the storm happened");
    // Each useful request is preceded by a geometric number of forced 429s: on average
    // FORCED / (1 - FORCED) = 0.43 of them. A client that retried in a tight loop, or ignored
    // the limit, would make many times more; three times the expectation is a bound a correct
    // client stays under with overwhelming probability.
    let expected = useful as f64 / (1.0 - FORCED);
    assert!(
        (total as f64) <= 3.0 * expected,
        "{total} requests for {useful} useful ones"
    );
    // The pacer keeps the client at the limit the fake announces: in no second did more go
    // out than the bucket could ever let through (its capacity plus one second of refill).
    let busiest = busiest_second(&log);
    assert!(
        busiest <= 2 * LIMIT as usize + 1,
        "{busiest} requests in one second"
    );
    println!(
        "observed: {} sends planned, {} recorded; Loops requests {total} for {useful} useful ({forced} forced 429s, {bucket_429} 429s from the rate limit); busiest second {busiest} requests (limit {LIMIT}/s); bridge retries or waits {}; {}",
        ledger.planned_sends.len(),
        sends_by_key(&stack.loops).len(),
        ledger.retries(),
        elapsed(started)
    );
    stack.stop().await;
}

/// With `Retry-After` on 429s, the client waits that long before it calls again (one worker,
/// so there is only ever one request in flight to watch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_waited_out() {
    let started = Instant::now();
    let stack = Stack::start_with(
        onboarding(),
        fast_bridge(),
        fast_options(loops::Config::default().retry_after_header(true)).workers(1),
    )
    .await
    .unwrap();
    let customers = new_customers(&stack, "patient", 1);
    settle(&stack).await;
    stack.loops.faults().force_429_next(3);
    win(&stack, &customers);
    settle(&stack).await;

    assert_onboarding_sent_once(&stack, &customers, true);
    let log = stack.loops.request_log();
    let mut gaps = Vec::new();
    for (i, record) in log.iter().enumerate() {
        if record.status == 429 {
            let next = log.get(i + 1).expect("a request after each 429");
            let gap = next.at.duration_since(record.at).unwrap_or_default();
            // The fake asked for 1 s (Retry-After: 1); allow for clock granularity only.
            assert!(
                gap >= Duration::from_millis(990),
                "called again {gap:?} after a 429 asking for 1 s"
            );
            gaps.push(gap);
        }
    }
    assert_eq!(gaps.len(), 3);
    println!(
        "observed: 3 forced 429s with Retry-After: 1; next requests after {:?}; {}",
        gaps,
        elapsed(started)
    );
    stack.stop().await;
}

/// Kommo blocks the IP: every request gets 403. The Kommo client's breaker opens and stops
/// calling (one probe per cool-down), jobs wait without using up attempts, and everything
/// completes once, after the block lifts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kommo_ip_block_pauses_the_work_until_it_lifts() {
    let started = Instant::now();
    const COOL_DOWN: Duration = Duration::from_millis(200);
    const MAX_COOL_DOWN: Duration = Duration::from_secs(1);
    const WORKERS: usize = 2;
    let options = fast_options(loops::Config::default()).kommo_client(|b| {
        b.rate_limit(kommo_client::RateLimit::per_second(FAST_RATE))
            .breaker(
                kommo_client::breaker::BreakerConfig::default()
                    .with_cool_down(COOL_DOWN, MAX_COOL_DOWN),
            )
    });
    let stack = Stack::start_with(onboarding(), fast_bridge(), options.workers(WORKERS))
        .await
        .unwrap();
    let mut reports = stack.bridge.subscribe();
    let mut ledger = Ledger::default();
    let customers = new_customers(&stack, "blocked", 3);
    settle(&stack).await;
    ledger.take(&mut reports);
    let before_block = ledger.reports.len();

    stack.kommo.block();
    let block_started = Instant::now();
    let before = stack.kommo.request_stats();
    // Work that needs Kommo: planning a status change (reads the lead), and a hard bounce in
    // Loops (finds the contact, writes a note and a task).
    for c in &customers {
        stack
            .kommo
            .move_lead(c.lead, saas_onboarding::TRIAL)
            .unwrap();
    }
    stack.kommo.flush_webhooks().await;
    stack
        .loops
        .email_hard_bounced(&customers[0].email)
        .await
        .unwrap();
    // Hold the block until the breaker has probed at least three times.
    let probed = eventually(WAIT, || async {
        stack.kommo.request_stats().with_status(403) >= before.with_status(403) + WORKERS as u64 + 3
    })
    .await;
    assert!(probed, "the bridge tried Kommo during the block");
    ledger.take(&mut reports);
    let during = stack.kommo.request_stats();
    let blocked_for = block_started.elapsed();
    let calls_during_block = during.total - before.total;
    assert_eq!(
        calls_during_block,
        during.with_status(403) - before.with_status(403)
    );
    // The first calls of each worker meet the block; after that only the breaker's probes go
    // out: one per cool-down, which doubles from 200 ms up to 1 s.
    let probes = 1
        + (MAX_COOL_DOWN.as_millis() / COOL_DOWN.as_millis()).ilog2() as u64
        + blocked_for.as_millis().div_ceil(MAX_COOL_DOWN.as_millis()) as u64;
    assert!(
        calls_during_block <= WORKERS as u64 + probes,
        "{calls_during_block} calls in a block of {blocked_for:?} (bound {})",
        WORKERS as u64 + probes
    );
    // Nothing was done, nothing given up: every attempt so far was an explained wait.
    assert!(
        stack
            .loops
            .events()
            .iter()
            .all(|e| e.event_name != "trial_started")
    );
    assert!(stack.kommo.notes().is_empty());
    assert_eq!(dead_letters(&stack).await, 0);
    assert!(ledger.reports.len() > before_block);
    for report in &ledger.reports[before_block..] {
        match &report.outcome {
            Outcome::Retry {
                after: Some(_),
                reason,
            } => {
                assert!(reason.contains("block"), "{reason}")
            }
            other => panic!("during the block a job ended {other:?}"),
        }
    }

    stack.kommo.unblock();
    let unblocked = Instant::now();
    settle(&stack).await;
    ledger.take(&mut reports);
    let resumed_in = unblocked.elapsed();

    assert_eq!(dead_letters(&stack).await, 0);
    for c in &customers {
        let trial = stack
            .loops
            .events()
            .iter()
            .filter(|e| e.email == c.email && e.event_name == "trial_started")
            .count();
        assert_eq!(trial, 1, "trial_started for {}", c.email);
    }
    let lead = customers[0].lead.0;
    let notes = stack.kommo.notes_for(EntityType::Leads, lead);
    assert_eq!(notes.len(), 1, "one hard-bounce note: {notes:?}");
    assert_eq!(stack.kommo.tasks_for(EntityType::Leads, lead).len(), 1);
    assert_each_planned_send_once(&stack, &ledger);
    let waits = ledger.reports[before_block..]
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Retry { .. }))
        .count();
    println!(
        "observed: block held {blocked_for:.1?}; Kommo calls during it {calls_during_block} (all 403; bound {}); {waits} job attempts waited, 0 dead; after unblock all done in {resumed_in:.1?}: 3 trial_started, 1 note, 1 task; {}",
        WORKERS as u64 + probes,
        elapsed(started)
    );
    stack.stop().await;
}

/// An older Kommo delivery arriving after a newer one for the same lead keeps its send but
/// does not overwrite the newer contact data in Loops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_kommo_delivery_does_not_overwrite_newer_data() {
    let started = Instant::now();
    let stack = Stack::start_with(
        onboarding(),
        fast_bridge(),
        fast_options(loops::Config::default()),
    )
    .await
    .unwrap();
    let customers = new_customers(&stack, "late", 1);
    let c = &customers[0];
    settle(&stack).await;

    // The trial change goes to a URL where it is held back (the server's 404), not to the
    // bridge: a delivery delayed somewhere on the way.
    let bridge_url = stack.kommo_webhook_url();
    let held_url = format!("{}/held", stack.server.url());
    assert!(stack.kommo.unsubscribe(&bridge_url));
    stack.kommo.subscribe_all(&held_url);
    stack
        .kommo
        .move_lead(c.lead, saas_onboarding::TRIAL)
        .unwrap();
    stack.kommo.flush_webhooks().await;
    let held = stack
        .kommo
        .webhook_deliveries()
        .into_iter()
        .rfind(|d| d.url == held_url && d.events.iter().any(|e| e.contains("status")))
        .expect("the trial delivery was held");
    assert!(stack.kommo.unsubscribe(&held_url));
    stack.kommo.subscribe_all(&bridge_url);

    // A newer change is delivered and synced first.
    stack
        .kommo
        .move_lead(c.lead, saas_onboarding::ACTIVATED)
        .unwrap();
    settle(&stack).await;
    let newer = stack.loops.contact(&c.email).unwrap();
    assert_eq!(newer.properties["kommoStage"], "Activated");
    assert_eq!(newer.user_group, "leads");
    let upserts = |stack: &Stack| {
        stack
            .loops
            .request_stats()
            .requests_to("PUT /v1/contacts/update")
    };
    let upserts_before = upserts(&stack);
    assert!(upserts_before > 0);

    // Now the older one arrives.
    let mut reports = stack.bridge.subscribe();
    let late = stack.kommo.send_raw_webhook(&bridge_url, held.body).await;
    assert!(late.acknowledged());
    settle(&stack).await;

    let after = stack.loops.contact(&c.email).unwrap();
    assert_eq!(after.properties["kommoStage"], "Activated", "{after:?}");
    assert_eq!(after.user_group, "leads", "the trial upsert was dropped");
    assert_eq!(
        upserts(&stack),
        upserts_before,
        "no upsert for the late delivery"
    );
    let trial = stack
        .loops
        .events_for(&c.email)
        .into_iter()
        .filter(|e| e.event_name == "trial_started")
        .count();
    assert_eq!(trial, 1, "the late delivery's send still happens, once");
    let plans: Vec<_> = std::iter::from_fn(|| reports.try_recv().ok())
        .filter_map(|r| r.plan)
        .collect();
    assert!(
        plans
            .iter()
            .flat_map(|p| &p.explain)
            .flat_map(|e| &e.notes)
            .any(|n| n.contains("upsert dropped")),
        "the trace says why: {plans:?}"
    );
    println!(
        "observed: late trial delivery after Activated: kommoStage stays \"Activated\", userGroup stays \"leads\", 0 upserts, trial_started sent once; {}",
        elapsed(started)
    );
    stack.stop().await;
}
