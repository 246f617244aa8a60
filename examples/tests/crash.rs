//! The server process is killed (SIGKILL, no clean shutdown) after it acknowledged a batch of
//! Kommo webhooks and before it executed them; a new process on the same SQLite outbox file
//! executes every action exactly once, taking over the jobs the dead worker held once their
//! lease expires.
//!
//! The server runs in a child process: this test binary itself, started again with
//! `KOMMO_LOOPS_CRASH_CHILD` set and only [`crash_child_server`] selected, which runs
//! `server::run` (what the `server` example runs) with settings from its environment. The
//! fakes run in the test process, so they outlive the kill and keep count.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use kommo_loops_bridge::runtime::{Outbox, SqliteOutbox};
use kommo_loops_examples::config::ServerConfig;
use kommo_loops_examples::demo::{self, eventually};
use kommo_loops_sandbox::FaultConfig;
use kommo_loops_sandbox::kommo::{self, NewCompany, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops;
use tokio::io::{AsyncBufReadExt, BufReader};

const CHILD_ENV: &str = "KOMMO_LOOPS_CRASH_CHILD";
const READY: &str = "crash-child listening on ";

/// Not a test on its own: the server process of the crash test. Without `KOMMO_LOOPS_CRASH_CHILD`
/// it returns at once.
#[test]
fn crash_child_server() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let config = ServerConfig::from_env(|k| std::env::var(k).ok()).expect("the child's settings");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ready = |addr| {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{READY}http://{addr}");
            let _ = out.flush();
        };
        // Runs until it is killed.
        kommo_loops_examples::server::run(&config, ready, std::future::pending())
            .await
            .expect("the server runs");
    });
}

/// A server process on `outbox`, started and ready.
struct Child {
    process: tokio::process::Child,
    url: String,
    webhook_url: String,
}

async fn start_child(
    loops: &loops::Sandbox,
    kommo: &kommo::Sandbox,
    outbox: &Path,
    workers: usize,
    lease_secs: u64,
) -> Child {
    let token: String = (0..32)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect();
    let mut process = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_server",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .env("RULES_FILE", root().join(demo::RULES))
        .env("KOMMO_BASE_URL", kommo.base_url())
        .env("KOMMO_TOKEN", kommo.token())
        .env("KOMMO_WEBHOOK_TOKEN", &token)
        .env("LOOPS_API_KEY", loops.api_key())
        .env("LOOPS_BASE_URL", loops.base_url())
        .env("OUTBOX_PATH", outbox)
        .env("WORKERS", workers.to_string())
        .env("LEASE_SECS", lease_secs.to_string())
        .env("BIND_ADDR", "127.0.0.1:0")
        .env_remove("DATABASE_URL")
        .env_remove("OUTBOX")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the child server");
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest's "test crash_child_server ... " may come first on the line.
            if let Some(at) = line.find(READY) {
                return line[at + READY.len()..].trim().to_owned();
            }
        }
        panic!("the child server exited before it listened");
    })
    .await
    .expect("the child server listens in time");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let webhook_url = format!("{url}/webhooks/kommo/{token}");
    Child {
        process,
        url,
        webhook_url,
    }
}

impl Child {
    /// SIGKILL: no shutdown code runs, jobs in flight stay leased in the database.
    async fn kill(mut self) {
        self.process.start_kill().unwrap();
        let status = self.process.wait().await.unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing_and_doubles_nothing() {
    let started = Instant::now();
    const CUSTOMERS: usize = 6;
    const LEASE_SECS: u64 = 2;
    let (loops, kommo) = demo::fakes(
        loops::Config::default().rate_limit(Some(FAST_RATE)),
        kommo::Config::saas_onboarding(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");

    // Customers in the pipeline, made silently: only winning their deals sends webhooks.
    let leads: Vec<_> = (0..CUSTOMERS)
        .map(|i| {
            let company = kommo
                .seed_company(NewCompany::new(format!("Crash Co {i}")))
                .unwrap();
            let contact = kommo
                .seed_contact(
                    NewContact::new(format!("Person{i} Crash"))
                        .email_kind(format!("crash{i}@example.com"), "WORK")
                        .company(company),
                )
                .unwrap();
            kommo
                .seed_lead(
                    NewLead::new(format!("Crash deal {i}"))
                        .status(saas_onboarding::PIPELINE_ID, saas_onboarding::TRIAL)
                        .contact(contact)
                        .company(company)
                        .field("PLAN", "pro"),
                )
                .unwrap()
        })
        .collect();

    // Loops answers slowly (2 s a request), so the batch is acknowledged long before it can
    // be executed; one worker, which leases up to 8 jobs at a time.
    loops
        .faults()
        .set(FaultConfig::none().latency(Duration::from_secs(2)));
    let first = start_child(&loops, &kommo, &path, 1, LEASE_SECS).await;
    kommo.subscribe_all(&first.webhook_url);
    for lead in &leads {
        kommo.move_lead(*lead, saas_onboarding::WON).unwrap();
    }
    kommo.flush_webhooks().await;
    let deliveries = kommo.webhook_deliveries();
    assert_eq!(deliveries.len(), CUSTOMERS);
    assert!(
        deliveries.iter().all(|d| d.status() == Some(200)),
        "every delivery was acknowledged: {deliveries:?}"
    );

    // Kill it while its worker holds jobs.
    let observer = SqliteOutbox::open(&path).await.unwrap();
    let holding = eventually(WAIT, || async {
        observer
            .stats()
            .await
            .is_ok_and(|s| s.leased >= 1 && s.done >= 1)
    })
    .await;
    assert!(holding, "the worker started on the batch");
    let first_url = first.webhook_url.clone();
    first.kill().await;
    let at_kill = observer.stats().await.unwrap();
    let sent_before_restart = sends_by_key(&loops);
    assert!(
        at_kill.leased >= 1,
        "jobs were held by the killed worker: {at_kill:?}"
    );
    assert!(
        at_kill.unfinished() >= 1 && sent_before_restart.len() < 2 * CUSTOMERS,
        "work was left: {at_kill:?}, {} sends",
        sent_before_restart.len()
    );

    // A new process on the same file, with Loops at full speed again.
    loops.faults().clear();
    let restarted_at = Instant::now();
    let second = start_child(&loops, &kommo, &path, 2, LEASE_SECS).await;
    assert!(kommo.unsubscribe(&first_url));
    kommo.subscribe_all(&second.webhook_url);
    let finished = eventually(WAIT, || async {
        observer.stats().await.is_ok_and(|s| s.unfinished() == 0)
    })
    .await;
    let after = observer.stats().await.unwrap();
    assert!(finished, "the new process finished the work: {after:?}");
    let recovered_in = restarted_at.elapsed();

    // Exactly once: one deal_won and one welcome email per customer, nothing dead.
    assert_eq!(after.dead, 0, "{after:?}");
    let events = loops.events();
    let welcomes = loops.transactional_sends();
    for i in 0..CUSTOMERS {
        let email = format!("crash{i}@example.com");
        let won = events
            .iter()
            .filter(|e| e.email == email && e.event_name == "deal_won")
            .count();
        assert_eq!(won, 1, "deal_won for {email}");
        let welcome = welcomes
            .iter()
            .filter(|t| t.email == email && t.transactional_id == "cl_welcome")
            .count();
        assert_eq!(welcome, 1, "cl_welcome for {email}");
        let contact = loops.contact(&email).expect("the contact was upserted");
        assert_eq!(contact.user_group, "customers");
    }
    let sent = sends_by_key(&loops);
    assert_eq!(sent.len(), 2 * CUSTOMERS);
    assert!(sent.values().all(|n| *n == 1), "{sent:?}");

    let health: serde_json::Value = reqwest::get(format!("{}/healthz", second.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["outbox"]["dead"], 0, "{health}");
    assert_eq!(health["outbox"]["pending"], 0, "{health}");
    println!(
        "observed: {CUSTOMERS} deliveries acknowledged; killed with {} job(s) leased, {} unfinished, {} of {} sends done; restarted: all done in {recovered_in:.1?} (lease {LEASE_SECS} s), {} sends, each once; {} retried sends met their key (409); {:.1} s",
        at_kill.leased,
        at_kill.unfinished(),
        sent_before_restart.len(),
        2 * CUSTOMERS,
        sent.len(),
        loops.idempotency_conflicts().len(),
        started.elapsed().as_secs_f64()
    );
    second.kill().await;
    kommo.shutdown().await;
    loops.shutdown().await;
}
