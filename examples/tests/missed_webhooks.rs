//! Never miss a CRM change: Kommo changes whose webhooks were lost are recovered from Kommo's
//! events log, exactly once, over real HTTP against the sandbox fakes.
//!
//! 1. The bridge is down while leads are created and moved (deliveries fail, the subscription
//!    gets disabled); it comes back, re-subscribes, reports the outage and catches up.
//! 2. Every webhook arrived (the log's times two seconds off the webhooks'), then a catch-up
//!    over the same window: nothing more is sent.
//! 3. Half the webhooks lost at random, two instances on one PostgreSQL catching up at once
//!    (needs `KOMMO_LOOPS_TEST_POSTGRES_URL`, else skipped with a printed line).
//! 4. A change logged while its lead has since moved on: the plan follows the log's transition
//!    with the lead's current fields.
//!
//! And a long outage is read a slice at a time.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use common::*;
use kommo_loops_bridge::runtime::catch_up::CatchUpReport;
use kommo_loops_bridge::runtime::{CatchUpConfig, SqliteOutbox, StateStore};
use kommo_loops_examples::demo::Stack;
use kommo_loops_sandbox::kommo::{self, LeadUpdate, saas_onboarding};
use kommo_loops_sandbox::loops;

/// The catch-up as the server runs it, with no settling delay: the tests wait for the log
/// themselves ([`wait_past_log`]).
fn catch_up(stack: &Stack) -> CatchUpConfig {
    CatchUpConfig::new()
        .settle(Duration::ZERO)
        .webhook_url(stack.kommo_webhook_url())
}

/// The sandbox stamps consecutive changes of one entity a second apart, so the log can run
/// ahead of the clock for a few seconds after a burst: waits until it no longer does, as a
/// catch-up reads only up to now.
async fn wait_past_log(stack: &Stack) {
    let newest = stack
        .kommo
        .events_log()
        .iter()
        .map(|e| e.created_at)
        .max()
        .unwrap_or(0);
    while kommo_loops_examples::reconcile::now() <= newest {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn healthz(stack: &Stack) -> serde_json::Value {
    reqwest::get(format!("{}/healthz", stack.server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An onboarding stack on an SQLite outbox (the server's default store), with fast fakes.
async fn sqlite_stack(kommo: kommo::Config) -> (Stack, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .unwrap(),
    );
    let options = fast_options(loops::Config::default())
        .kommo(kommo.rate_limit(Some(FAST_RATE)))
        .stores(store.clone(), store);
    let stack = Stack::start_with(onboarding(), fast_bridge(), options)
        .await
        .unwrap();
    (stack, dir)
}

/// How many times Loops recorded `event` for `email`.
fn count(stack: &Stack, email: &str, event: &str) -> usize {
    stack
        .loops
        .events()
        .iter()
        .filter(|e| e.email == email && e.event_name == event)
        .count()
}

fn trial_then_activated(stack: &Stack, customers: &[Customer]) {
    for c in customers {
        stack
            .kommo
            .move_lead(c.lead, saas_onboarding::TRIAL)
            .unwrap();
        stack
            .kommo
            .move_lead(c.lead, saas_onboarding::ACTIVATED)
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_down_for_an_outage_catches_up_every_send_once() {
    let started = Instant::now();
    let (mut stack, _dir) = sqlite_stack(kommo::Config::saas_onboarding()).await;
    let config = catch_up(&stack);
    // The bridge has been running: its first catch-up set the watermark.
    assert!(stack.bridge.catch_up(&config).await.unwrap().first_start);
    let mut reports = stack.bridge.subscribe();
    let mut ledger = Ledger::default();

    stack.take_down().await;
    let customers = new_customers(&stack, "outage", 25);
    trial_then_activated(&stack, &customers);
    win(&stack, &customers);
    stack.kommo.flush_webhooks().await;
    let deliveries = stack.kommo.webhook_deliveries();
    assert!(
        deliveries.iter().all(|d| !d.acknowledged()),
        "nothing was delivered while the bridge was down"
    );
    let subscription = &stack.kommo.subscriptions()[0];
    assert!(subscription.disabled, "Kommo disabled the subscription");
    assert_eq!(deliveries.len(), 101, "disabled after its 101st failure");
    assert!(stack.loops.events().is_empty());

    stack.bring_back().await.unwrap();
    wait_past_log(&stack).await;
    let kommo_before = stack.kommo.request_stats();
    // What the server does on start.
    let report = stack.bridge.catch_up(&config).await.unwrap();
    let health = healthz(&stack).await;
    settle(&stack).await;
    ledger.take(&mut reports);
    let kommo_after = stack.kommo.request_stats();
    let reads = |stats: &kommo_loops_sandbox::RequestStats, endpoint: &str| {
        stats.by_endpoint.get(endpoint).map_or(0, |e| e.total)
    };
    for one_by_one in ["GET /api/v4/leads/{id}", "GET /api/v4/contacts/{id}"] {
        assert_eq!(
            reads(&kommo_after, one_by_one),
            reads(&kommo_before, one_by_one),
            "the recovered changes were planned with what the catch-up read in bulk"
        );
    }
    // Besides the catch-up's own requests, planning read only the pipelines (once per
    // worker that found them uncached).
    let pipelines = "GET /api/v4/leads/pipelines";
    assert_eq!(
        kommo_after.total - reads(&kommo_after, pipelines),
        kommo_before.total - reads(&kommo_before, pipelines) + report.kommo_requests,
        "{:#?}",
        kommo_after.by_endpoint
    );

    // Every change the rules react to came from the log: per customer its contact, its lead
    // and three moves.
    assert_eq!(report.seen, 0);
    assert_eq!(report.recovered, 25 * 5, "{report:?}");
    assert_eq!(report.enqueued, report.recovered);
    assert_each_planned_send_once(&stack, &ledger);
    assert_onboarding_sent_once(&stack, &customers, true);
    for c in &customers {
        assert_eq!(count(&stack, &c.email, "trial_started"), 1, "{}", c.email);
        assert_eq!(
            count(&stack, &c.email, "account_activated"),
            1,
            "{}",
            c.email
        );
        let contact = stack.loops.contact(&c.email).unwrap();
        assert_eq!(
            contact
                .properties
                .get("kommoStage")
                .and_then(|v| v.as_str()),
            Some("Closed - won"),
            "the newest stage wins: {}",
            c.email
        );
    }
    assert_eq!(ledger.planned_sends.len(), 25 * 5);
    assert_eq!(dead_letters(&stack).await, 0);

    // The subscription is active again, and /healthz told the story.
    assert!(!stack.kommo.subscriptions()[0].disabled);
    assert_eq!(health["status"], "warning", "{health:#}");
    let catch_up = &health["kommoCatchUp"];
    assert_eq!(catch_up["subscription"], "active", "{health:#}");
    assert_eq!(
        catch_up["lastOutage"]["subscription"], "disabled",
        "{health:#}"
    );
    assert!(
        catch_up["lastOutage"]["resubscribedAt"].is_i64(),
        "{health:#}"
    );
    assert_eq!(catch_up["resubscribed"], 1);
    assert_eq!(catch_up["recoveredTotal"], 125);
    assert!(
        catch_up["warning"]
            .as_str()
            .is_some_and(|w| w.contains("webhooks were missed")),
        "{health:#}"
    );

    // Webhooks flow again: a new lead arrives by webhook, and the next catch-up finds nothing
    // more to recover.
    let late = new_customers(&stack, "after", 1);
    settle(&stack).await;
    assert_eq!(count(&stack, &late[0].email, "lead_created"), 1);
    wait_past_log(&stack).await;
    let again = stack.bridge.catch_up(&config).await.unwrap();
    assert_eq!((again.recovered, again.enqueued), (0, 0), "{again:?}");
    assert!(again.seen >= 2, "the new contact and lead: {again:?}");
    println!(
        "observed: {} deliveries failed, then the subscription was disabled; back up: {} \
         changes recovered from {} log events in {} Kommo reads, {} sends each once; {:.1} s",
        deliveries.len(),
        report.recovered,
        report.events,
        report.kommo_requests,
        ledger.planned_sends.len(),
        started.elapsed().as_secs_f64()
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_after_every_webhook_arrived_sends_nothing_more() {
    // The log stamps each change two seconds after the webhook's updated_at.
    let (stack, _dir) = sqlite_stack(kommo::Config::saas_onboarding().event_log_skew(2)).await;
    let config = catch_up(&stack);
    assert!(stack.bridge.catch_up(&config).await.unwrap().first_start);
    let customers = new_customers(&stack, "arrived", 10);
    trial_then_activated(&stack, &customers);
    win(&stack, &customers);
    settle(&stack).await;
    assert_onboarding_sent_once(&stack, &customers, true);
    let sends = sends_by_key(&stack.loops);
    let outbox = stack.bridge.outbox().stats().await.unwrap();
    let kommo_requests = stack.kommo.request_stats().total;

    wait_past_log(&stack).await;
    let report = stack.bridge.catch_up(&config).await.unwrap();
    settle(&stack).await;
    assert_eq!(report.changes, 10 * 5, "{report:?}");
    assert_eq!((report.seen, report.recovered, report.enqueued), (50, 0, 0));
    assert_eq!(sends_by_key(&stack.loops), sends, "no extra send");
    assert_eq!(stack.bridge.outbox().stats().await.unwrap(), outbox);
    assert_eq!(
        stack.kommo.request_stats().total - kommo_requests,
        report.kommo_requests,
        "the catch-up checked the subscription, read the account and the log, nothing else"
    );
    let health = healthz(&stack).await;
    assert_eq!(health["status"], "ok", "{health:#}");
    assert_eq!(health["kommoCatchUp"]["subscription"], "active");
    println!(
        "observed: {} changes in the log, 2 s off their webhooks, all recognised; {} Kommo \
         reads, 0 planning jobs, 0 extra sends",
        report.changes, report.kommo_requests
    );
    stack.stop().await;
}

/// Kommo's deliveries pass through here: each is lost (answered 200, never forwarded) with
/// probability one half, else forwarded to the instances in turn, as a load balancer would.
#[derive(Clone)]
struct LossyProxy {
    targets: Arc<Vec<String>>,
    rng: Arc<std::sync::Mutex<fastrand::Rng>>,
    forwarded: Arc<AtomicUsize>,
    lost: Arc<AtomicUsize>,
    http: reqwest::Client,
}

async fn lossy(State(proxy): State<LossyProxy>, body: Bytes) -> StatusCode {
    let lose = proxy.rng.lock().unwrap().bool();
    if lose {
        proxy.lost.fetch_add(1, Ordering::SeqCst);
        return StatusCode::OK;
    }
    let n = proxy.forwarded.fetch_add(1, Ordering::SeqCst);
    let target = &proxy.targets[n % proxy.targets.len()];
    match proxy
        .http
        .post(target)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
    {
        Ok(answer) => StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::OK),
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}

async fn start_proxy(proxy: LossyProxy) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(lossy))
        .with_state(proxy);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_catching_up_at_once_send_each_lost_change_once() {
    let Some(url) = postgres_url("two-instance catch-up test") else {
        return;
    };
    let started = Instant::now();
    let schema = format!("missed_webhooks_{}", std::process::id());
    admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let (store_a, store_b) = (
        instance_store(&url, &schema).await,
        instance_store(&url, &schema).await,
    );
    let stack = Stack::start_with(
        onboarding(),
        fast_bridge(),
        fast_options(loops::Config::default()).stores(store_a.clone(), store_a),
    )
    .await
    .unwrap();
    let (bridge_b, server_b, workers_b) = second_instance(&stack, store_b).await;
    let proxy = LossyProxy {
        targets: Arc::new(vec![
            stack.kommo_webhook_url(),
            format!("{}/webhooks/kommo/{}", server_b.url(), stack.kommo_token),
        ]),
        rng: Arc::new(std::sync::Mutex::new(fastrand::Rng::with_seed(15))),
        forwarded: Arc::default(),
        lost: Arc::default(),
        http: reqwest::Client::new(),
    };
    let (proxy_url, proxy_task) = start_proxy(proxy.clone()).await;
    stack.kommo.unsubscribe(&stack.kommo_webhook_url());
    stack.kommo.subscribe_all(&proxy_url);
    let config = CatchUpConfig::new().settle(Duration::ZERO);
    assert!(stack.bridge.catch_up(&config).await.unwrap().first_start);
    let (mut reports_a, mut reports_b) = (stack.bridge.subscribe(), bridge_b.subscribe());
    let (mut ledger_a, mut ledger_b) = (Ledger::default(), Ledger::default());

    let customers = new_customers(&stack, "lossy", 12);
    trial_then_activated(&stack, &customers);
    win(&stack, &customers);
    settle(&stack).await;
    let lost = proxy.lost.load(Ordering::SeqCst);
    let forwarded = proxy.forwarded.load(Ordering::SeqCst);
    assert!(
        lost > 0 && forwarded > 0,
        "lost {lost}, forwarded {forwarded}"
    );

    wait_past_log(&stack).await;
    let (a, b) = tokio::join!(stack.bridge.catch_up(&config), bridge_b.catch_up(&config));
    let (a, b): (CatchUpReport, CatchUpReport) = (a.unwrap(), b.unwrap());
    settle(&stack).await;
    ledger_a.take(&mut reports_a);
    ledger_b.take(&mut reports_b);

    assert_eq!(a.changes, 12 * 5);
    assert_eq!(a.changes, b.changes, "both read the same window");
    assert_eq!(a.seen, b.seen, "{a:?} {b:?}");
    assert!(a.recovered + b.recovered > 0 && a.seen > 0, "{a:?}");
    assert_eq!(a.changes - a.seen, a.recovered + b.recovered, "{a:?} {b:?}");
    assert_eq!(
        a.enqueued + b.enqueued,
        a.recovered + b.recovered,
        "each lost change's planning job stored once: {a:?} {b:?}"
    );
    let all = Ledger {
        planned_sends: &ledger_a.planned_sends | &ledger_b.planned_sends,
        ..Ledger::default()
    };
    assert_each_planned_send_once(&stack, &all);
    assert_onboarding_sent_once(&stack, &customers, true);
    for c in &customers {
        assert_eq!(count(&stack, &c.email, "trial_started"), 1, "{}", c.email);
        assert_eq!(
            count(&stack, &c.email, "account_activated"),
            1,
            "{}",
            c.email
        );
    }
    assert_eq!(all.planned_sends.len(), 12 * 5);
    assert!(stack.loops.idempotency_conflicts().is_empty());
    assert_eq!(dead_letters(&stack).await, 0);
    println!(
        "observed: {lost} of {} deliveries lost; both instances read {} changes, {} already \
         planned from webhooks, {} recovered by A and {} by B; planning jobs stored {} by A and \
         {} by B; {} sends, each once; {:.1} s",
        lost + forwarded,
        a.changes,
        a.seen,
        a.recovered,
        b.recovered,
        a.enqueued,
        b.enqueued,
        all.planned_sends.len(),
        started.elapsed().as_secs_f64()
    );

    proxy_task.abort();
    server_b.shutdown(Duration::from_secs(2)).await;
    workers_b.shutdown().await;
    stack.stop().await;
    admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_move_follows_the_log_with_the_leads_current_fields() {
    let mut stack = Stack::start_with(
        onboarding(),
        fast_bridge(),
        fast_options(loops::Config::default()),
    )
    .await
    .unwrap();
    let config = catch_up(&stack);
    assert!(stack.bridge.catch_up(&config).await.unwrap().first_start);
    let ada = new_customers(&stack, "moved-on", 1).remove(0);
    settle(&stack).await;
    let mut reports = stack.bridge.subscribe();

    // While the bridge is down, the lead enters the trial, its plan changes to "team", and it
    // moves on to "Upgrade offered".
    stack.take_down().await;
    stack
        .kommo
        .move_lead(ada.lead, saas_onboarding::TRIAL)
        .unwrap();
    stack
        .kommo
        .update_lead(ada.lead, LeadUpdate::new().field("PLAN", "team"))
        .unwrap();
    stack
        .kommo
        .move_lead(ada.lead, saas_onboarding::UPGRADE_OFFERED)
        .unwrap();
    stack.kommo.flush_webhooks().await;
    stack.bring_back().await.unwrap();
    wait_past_log(&stack).await;
    let report = stack.bridge.catch_up(&config).await.unwrap();
    settle(&stack).await;

    // The contact and the lead arrived by webhook; the move into the trial, the edit and the
    // move on are recovered.
    assert_eq!((report.seen, report.recovered), (2, 3), "{report:?}");
    let lead = stack.kommo.lead(ada.lead).unwrap();
    assert_eq!(lead.status_id.0, saas_onboarding::UPGRADE_OFFERED.0);
    let trials: Vec<_> = stack
        .loops
        .events()
        .into_iter()
        .filter(|e| e.email == ada.email && e.event_name == "trial_started")
        .collect();
    assert_eq!(trials.len(), 1, "the trial rule ran for the logged move");
    assert_eq!(
        trials[0].event_properties["plan"], "team",
        "with the lead's current fields"
    );

    // The plan of the recovered move: the trial rule matched on the log's transition (the lead
    // is in 5003 now), and its upsert names the stage the log says.
    let mut plans = Vec::new();
    while let Ok(report) = reports.try_recv() {
        plans.extend(report.plan);
    }
    let trial_plan = plans
        .iter()
        .find(|p| p.actions.iter().any(|a| a.rule() == "trial"))
        .expect("a plan from the trial rule");
    let explained = trial_plan
        .explain
        .iter()
        .find(|e| e.rule.as_deref() == Some("trial"))
        .unwrap();
    assert!(explained.matched, "{explained:?}");
    // The upsert travels with the trial's event (one Loops call).
    let event = trial_plan
        .actions
        .iter()
        .find(|a| a.kind() == "loops.send_event")
        .expect("the trial event, carrying the upsert");
    let event = serde_json::to_value(event).unwrap();
    let upsert = &event["contactProperties"];
    assert_eq!(upsert["kommoStage"], "Trial", "{event:#}");
    assert_eq!(upsert["plan"], "team", "{event:#}");
    // Later changes were planned after it: the contact shows the stage the lead is in now.
    let contact = stack.loops.contact(&ada.email).unwrap();
    assert_eq!(contact.properties["kommoStage"], "Upgrade offered");
    assert_eq!(
        count(&stack, &ada.email, "upgrade_offered"),
        0,
        "5001 -> 5003 is no upgrade"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outage_is_read_six_hours_at_a_time() {
    let (mut stack, dir) = sqlite_stack(kommo::Config::saas_onboarding()).await;
    let config = CatchUpConfig::new().settle(Duration::ZERO);
    // The bridge last read the log 13 hours ago (written through a second connection to the
    // store's file, as an operator's tool would).
    let now = kommo_loops_examples::reconcile::now();
    let watermark = now - 13 * 3600;
    let store = SqliteOutbox::open(dir.path().join("outbox.db"))
        .await
        .unwrap();
    StateStore::advance_watermark(&store, "kommo-events", watermark)
        .await
        .unwrap();
    drop(store);
    stack.take_down().await;
    let customers = new_customers(&stack, "long", 2);
    stack.kommo.flush_webhooks().await;
    let deliveries = stack.kommo.webhook_deliveries();
    assert!(
        deliveries.iter().all(|d| !d.acknowledged()),
        "{:#?}",
        deliveries
            .iter()
            .map(|d| (&d.events, &d.outcome))
            .collect::<Vec<_>>()
    );
    stack.bring_back().await.unwrap();
    wait_past_log(&stack).await;
    let report = stack.bridge.catch_up(&config).await.unwrap();
    settle(&stack).await;
    assert_eq!(report.from, watermark - 600);
    assert!(report.to >= now);
    // Three slices (13 h 10 min): each reads the account and one page of the log; the last
    // one also the recovered changes' leads, contacts and companies, in bulk.
    assert_eq!(report.kommo_requests, 3 * 2 + 3, "{report:?}");
    assert_eq!((report.recovered, report.enqueued), (4, 4), "{report:?}");
    for c in &customers {
        assert_eq!(count(&stack, &c.email, "lead_created"), 1);
    }
    stack.stop().await;
}
