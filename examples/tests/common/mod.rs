//! What the fault tests share: the rules, fast settings, an onboarding scenario, waiting for
//! the bridge to settle, and the exactly-once ledger.
#![allow(dead_code)] // each test binary uses its own part

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kommo_client::ids::{ContactId, LeadId};
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::{
    Bridge, BridgeConfig, JobReport, PostgresOptions, PostgresOutbox, RetryPolicy, Workers,
};
use kommo_loops_examples::demo::{self, Stack, StackOptions, eventually};
use kommo_loops_examples::server::RunningServer;
use kommo_loops_sandbox::kommo::{self, NewCompany, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops;
use tokio::sync::broadcast;

/// How long a test waits for the bridge to finish its work: generous, as the machine may be
/// busy; a passing run takes a fraction of it.
pub const WAIT: Duration = Duration::from_secs(60);

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

pub fn onboarding() -> Rules {
    Rules::from_path(root().join(demo::RULES)).unwrap()
}

/// The bridge's retry policy with waits short enough for a test (the defaults start at 2 s
/// and grow to 15 minutes); attempts and waits are bounded as in production.
pub fn fast_retry() -> RetryPolicy {
    let mut retry = RetryPolicy::default();
    retry.first_backoff = Duration::from_millis(50);
    retry.max_backoff = Duration::from_millis(800);
    retry
}

pub fn fast_bridge() -> BridgeConfig {
    BridgeConfig::default().retry(fast_retry())
}

/// The Loops client's own retries, shortened the same way (same number of attempts).
pub fn fast_loops_retry() -> loops_client::RetryPolicy {
    loops_client::RetryPolicy::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(100))
        .with_rate_limit_wait(Duration::from_millis(200))
        .with_max_retry_after(Duration::from_secs(60))
}

/// Both fakes allow this many requests per second, and both clients pace at it, so a test
/// with a few hundred requests is not held to the production limits (10/s and 7/s).
pub const FAST_RATE: u32 = 100;

/// Fakes with fast rate limits, clients with fast retries; `loops` sets the Loops fake's
/// faults and seed.
pub fn fast_options(loops: loops::Config) -> StackOptions {
    StackOptions::new()
        .loops(loops.rate_limit(Some(FAST_RATE)))
        .kommo(kommo::Config::saas_onboarding().rate_limit(Some(FAST_RATE)))
        .loops_client(|b| b.retry_policy(fast_loops_retry()))
        .kommo_client(|b| {
            b.rate_limit(kommo_client::RateLimit::per_second(FAST_RATE))
                .retry_policy(
                    kommo_client::RetryPolicy::default()
                        .with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
                )
        })
}

/// Waits until the fakes have delivered their webhooks and the bridge has nothing left to do,
/// twice (the bridge's own writes cause webhooks too).
pub async fn settle(stack: &Stack) {
    for _ in 0..2 {
        stack.kommo.flush_webhooks().await;
        let idle = eventually(WAIT, || async {
            stack
                .bridge
                .outbox()
                .stats()
                .await
                .is_ok_and(|s| s.unfinished() == 0)
        })
        .await;
        let stats = stack.bridge.outbox().stats().await;
        assert!(idle, "the bridge did not finish its work: {stats:?}");
    }
}

/// One customer of the onboarding scenario.
#[derive(Debug, Clone)]
pub struct Customer {
    pub email: String,
    pub contact: ContactId,
    pub lead: LeadId,
}

/// `n` customers: each a company, a contact and a lead in "SaaS sales" (webhooks go out).
pub fn new_customers(stack: &Stack, prefix: &str, n: usize) -> Vec<Customer> {
    (0..n)
        .map(|i| {
            let company = stack
                .kommo
                .create_company(NewCompany::new(format!("Company {prefix}{i}")))
                .unwrap();
            let email = format!("{prefix}{i}@example.com");
            let contact = stack
                .kommo
                .create_contact(
                    NewContact::new(format!("Person{i} {prefix}"))
                        .email_kind(&email, "WORK")
                        .company(company),
                )
                .unwrap();
            let lead = stack
                .kommo
                .create_lead(
                    NewLead::new(format!("Deal {prefix}{i}"))
                        .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                        .price(1000.0 + i as f64)
                        .contact(contact)
                        .company(company)
                        .field("PLAN", "pro"),
                )
                .unwrap();
            Customer {
                email,
                contact,
                lead,
            }
        })
        .collect()
}

/// Wins every customer's deal (`deal_won` and the `cl_welcome` email follow).
pub fn win(stack: &Stack, customers: &[Customer]) {
    for c in customers {
        stack.kommo.move_lead(c.lead, saas_onboarding::WON).unwrap();
    }
}

/// The idempotency keys of the sends (events and transactional emails) the bridge planned, as
/// its job reports tell.
#[derive(Debug, Default)]
pub struct Ledger {
    pub planned_sends: BTreeSet<String>,
    pub reports: Vec<JobReport>,
}

impl Ledger {
    /// Takes every report received so far.
    pub fn take(&mut self, reports: &mut broadcast::Receiver<JobReport>) {
        loop {
            match reports.try_recv() {
                Ok(report) => {
                    if let Some(plan) = &report.plan {
                        for action in &plan.actions {
                            if matches!(
                                action.kind(),
                                "loops.send_event" | "loops.send_transactional"
                            ) {
                                self.planned_sends
                                    .insert(action.idempotency_key().to_owned());
                            }
                        }
                    }
                    self.reports.push(report);
                }
                Err(broadcast::error::TryRecvError::Empty) => return,
                Err(e) => panic!("job reports were lost: {e}"),
            }
        }
    }

    /// Attempts that ended in a retry or a wait.
    pub fn retries(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| {
                matches!(
                    r.outcome,
                    kommo_loops_bridge::runtime::Outcome::Retry { .. }
                )
            })
            .count()
    }
}

/// How many times Loops recorded each send, by idempotency key (events and transactional).
pub fn sends_by_key(loops: &loops::Sandbox) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let keys = loops.events().into_iter().map(|e| e.idempotency_key).chain(
        loops
            .transactional_sends()
            .into_iter()
            .map(|t| t.idempotency_key),
    );
    for key in keys {
        *counts
            .entry(key.expect("every send carries an idempotency key"))
            .or_insert(0) += 1;
    }
    counts
}

/// Every planned send arrived exactly once, and nothing else was sent.
#[track_caller]
pub fn assert_each_planned_send_once(stack: &Stack, ledger: &Ledger) {
    let sent = sends_by_key(&stack.loops);
    let doubled: Vec<_> = sent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "sent more than once: {doubled:?}");
    let sent: BTreeSet<String> = sent.into_keys().collect();
    let lost: Vec<_> = ledger.planned_sends.difference(&sent).collect();
    assert!(lost.is_empty(), "planned but never sent: {lost:?}");
    let unplanned: Vec<_> = sent.difference(&ledger.planned_sends).collect();
    assert!(
        unplanned.is_empty(),
        "sent but never planned: {unplanned:?}"
    );
}

/// The onboarding sends of each customer arrived exactly once: `lead_created`, and for won
/// deals `deal_won` and the `cl_welcome` email.
#[track_caller]
pub fn assert_onboarding_sent_once(stack: &Stack, customers: &[Customer], won: bool) {
    let events = stack.loops.events();
    let sends = stack.loops.transactional_sends();
    for c in customers {
        let count = |name: &str| {
            events
                .iter()
                .filter(|e| e.email == c.email && e.event_name == name)
                .count()
        };
        assert_eq!(count("lead_created"), 1, "lead_created for {}", c.email);
        let expected = usize::from(won);
        assert_eq!(count("deal_won"), expected, "deal_won for {}", c.email);
        let welcome = sends
            .iter()
            .filter(|t| t.email == c.email && t.transactional_id == "cl_welcome")
            .count();
        assert_eq!(welcome, expected, "cl_welcome for {}", c.email);
    }
}

pub async fn dead_letters(stack: &Stack) -> u64 {
    stack.bridge.outbox().stats().await.unwrap().dead
}

/// The variable naming a PostgreSQL database the tests may create schemas in.
pub const POSTGRES_URL_VAR: &str = "KOMMO_LOOPS_TEST_POSTGRES_URL";

/// The test database's URL; `None` (after saying that `test` is skipped) without one.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            // Straight to stderr: the harness would swallow the output of a passing test.
            let _ = std::io::Write::write_fmt(
                &mut std::io::stderr(),
                format_args!(
                    "{test} skipped: set {POSTGRES_URL_VAR} to a database URL to run it\n"
                ),
            );
            None
        }
    }
}

/// Runs `sql` on the test database (creating and dropping scratch schemas).
pub async fn admin(url: &str, sql: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test database");
    let connection = tokio::spawn(connection);
    client.batch_execute(sql).await.expect("admin SQL");
    drop(client);
    let _ = connection.await;
}

/// A store in `schema` of the test database, with a pool of its own.
pub async fn instance_store(url: &str, schema: &str) -> std::sync::Arc<PostgresOutbox> {
    std::sync::Arc::new(
        PostgresOutbox::connect_with(
            url,
            PostgresOptions::new().schema(schema).max_connections(8),
        )
        .await
        .expect("connect to the test database"),
    )
}

/// A second bridge instance next to the stack's, behind the same load balancer: its own
/// clients to the same fakes, `store` (its own pool on the shared database), its own server on
/// a free port and two workers.
pub async fn second_instance(
    stack: &Stack,
    store: std::sync::Arc<PostgresOutbox>,
) -> (Bridge, RunningServer, Workers) {
    let loops_client = loops_client::Client::builder()
        .api_key(stack.loops.api_key())
        .base_url(stack.loops.base_url())
        .retry_policy(fast_loops_retry())
        .build()
        .unwrap();
    let kommo_client = kommo_client::Client::builder()
        .base_url(&stack.kommo.base_url())
        .long_lived_token(stack.kommo.token())
        .rate_limit(kommo_client::RateLimit::per_second(FAST_RATE))
        .build()
        .unwrap();
    let bridge = Bridge::builder(onboarding(), Arc::new(loops_client), Arc::new(kommo_client))
        .outbox(store.clone())
        .state(store)
        .config(fast_bridge())
        .loops_secret(stack.loops_secret.clone())
        .build()
        .unwrap();
    let server = kommo_loops_examples::server::serve(
        bridge.clone(),
        &stack.kommo_token,
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .unwrap();
    let workers = bridge.spawn_workers(2);
    (bridge, server, workers)
}
