//! Two bridge instances behind a load balancer, on one PostgreSQL outbox: each with its own
//! connection pool, clients, server and workers, both receiving the same deliveries. No action
//! runs twice, none is lost.
//!
//! Needs `KOMMO_LOOPS_TEST_POSTGRES_URL` (`.ci/run` starts a throwaway server and sets it);
//! without it the test says so and passes.

mod common;

use std::time::Instant;

use common::*;
use kommo_client::common::EntityType;
use kommo_loops_examples::demo::Stack;
use kommo_loops_sandbox::loops;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_outbox_run_each_action_once() {
    let Some(url) = postgres_url("two-instance PostgreSQL test") else {
        return;
    };
    let started = Instant::now();
    let schema = format!("multi_instance_{}", std::process::id());
    admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let store_a = instance_store(&url, &schema).await;
    let store_b = instance_store(&url, &schema).await;

    // Instance A is the stack's bridge (two workers); instance B has its own clients to the
    // same fakes, its own pool, server and two workers.
    let stack = Stack::start_with(
        onboarding(),
        fast_bridge(),
        fast_options(loops::Config::default()).stores(store_a.clone(), store_a),
    )
    .await
    .unwrap();
    let (bridge_b, server_b, workers_b) = second_instance(&stack, store_b).await;
    // Kommo delivers every change to both instances.
    stack.kommo.subscribe_all(&format!(
        "{}/webhooks/kommo/{}",
        server_b.url(),
        stack.kommo_token
    ));
    let mut reports_a = stack.bridge.subscribe();
    let mut reports_b = bridge_b.subscribe();
    let (mut ledger_a, mut ledger_b) = (Ledger::default(), Ledger::default());

    let customers = new_customers(&stack, "multi", 10);
    win(&stack, &customers);
    settle(&stack).await;
    // Loops reports hard bounces to instance A; the same deliveries then reach instance B.
    for c in &customers[..3] {
        stack.loops.email_hard_bounced(&c.email).await.unwrap();
    }
    let http = reqwest::Client::new();
    let mut replays = Vec::new();
    for delivery in stack.loops.webhook_deliveries() {
        let answer = http
            .post(format!("{}/webhooks/loops", server_b.url()))
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", delivery.timestamp.to_string())
            .header("webhook-signature", &delivery.signature)
            .body(delivery.body.clone())
            .send()
            .await
            .unwrap();
        replays.push(answer.status().as_u16());
    }
    assert_eq!(
        replays,
        [409, 409, 409],
        "instance B knows instance A's deliveries"
    );
    settle(&stack).await;
    ledger_a.take(&mut reports_a);
    ledger_b.take(&mut reports_b);

    // Both instances did part of the work, and together did each action once.
    assert!(!ledger_a.reports.is_empty() && !ledger_b.reports.is_empty());
    let all = Ledger {
        planned_sends: &ledger_a.planned_sends | &ledger_b.planned_sends,
        ..Ledger::default()
    };
    assert_each_planned_send_once(&stack, &all);
    assert_onboarding_sent_once(&stack, &customers, true);
    assert_eq!(all.planned_sends.len(), 30);
    assert!(
        stack.loops.idempotency_conflicts().is_empty(),
        "no send was even attempted twice: {:?}",
        stack.loops.idempotency_conflicts()
    );
    let mut executed: Vec<&str> = ledger_a
        .reports
        .iter()
        .chain(&ledger_b.reports)
        .filter(|r| r.outcome.is_success())
        .map(|r| r.key.as_str())
        .collect();
    let runs = executed.len();
    executed.sort();
    executed.dedup();
    assert_eq!(executed.len(), runs, "a job finished on both instances");
    for c in &customers[..3] {
        let lead = c.lead.0;
        assert_eq!(stack.kommo.notes_for(EntityType::Leads, lead).len(), 1);
        assert_eq!(stack.kommo.tasks_for(EntityType::Leads, lead).len(), 1);
    }
    assert_eq!(dead_letters(&stack).await, 0);
    let duplicates = stack
        .kommo
        .webhook_deliveries()
        .iter()
        .filter(|d| d.status() == Some(200))
        .count();
    println!(
        "observed: {} Kommo deliveries acknowledged (each change to both instances), 3 Loops deliveries replayed to B: 409; jobs run: {} on A, {} on B, none on both; {} sends, each once, 0 idempotency conflicts; {:.1} s",
        duplicates,
        ledger_a.reports.len(),
        ledger_b.reports.len(),
        all.planned_sends.len(),
        started.elapsed().as_secs_f64()
    );

    server_b.shutdown(std::time::Duration::from_secs(2)).await;
    workers_b.shutdown().await;
    stack.stop().await;
    admin(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
}
