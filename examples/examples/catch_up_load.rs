//! Measures a catch-up: `--changes` leads (5,000 by default) are moved to Trial while no
//! webhook reaches the bridge, then the bridge catches up from Kommo's events log against the
//! sandbox fakes at the production rate limits (Kommo 7/s, Loops 10/s), while Kommo webhooks
//! keep arriving: note deliveries at `--notes-per-sec` (their acknowledgement latency is the
//! webhook path's) and a live lead moved every `--live-every-secs` (the time until its send).
//!
//! ```text
//! cargo run --release -p kommo-loops-examples --example catch_up_load -- \
//!     [--changes 5000] [--notes-per-sec 20] [--live-every-secs 60] [--workers 4]
//! ```
//!
//! The bridge is the server's: an SQLite outbox with `synchronous=FULL`, default clients and
//! retry policy, the onboarding rules. Prints what Kommo and Loops were asked, the time against
//! the floor the two rate limits set, and the latencies; see `docs/performance.md`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use kommo_loops_bridge::runtime::{Bridge, BridgeConfig, CatchUpConfig, SqliteOutbox};
use kommo_loops_examples::demo::{self, eventually};
use kommo_loops_examples::measure::LatencySummary;
use kommo_loops_examples::server::serve;
use kommo_loops_sandbox::kommo::{self, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops;

struct Args {
    changes: usize,
    notes_per_sec: u32,
    live_every: Duration,
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        changes: 5000,
        notes_per_sec: 20,
        live_every: Duration::from_secs(60),
        workers: 4,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("{flag} {value:?} is not a number"))
        };
        match flag.as_str() {
            "--changes" => args.changes = number()? as usize,
            "--notes-per-sec" => args.notes_per_sec = number()? as u32,
            "--live-every-secs" => args.live_every = Duration::from_secs(number()?.max(1)),
            "--workers" => args.workers = number()?.clamp(1, 64) as usize,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

/// A note delivery: planned without any Kommo read (no rule listens to notes), so it measures
/// the acknowledgement path alone.
fn note_body(i: u64) -> String {
    format!(
        "account%5Bid%5D=32000000&account%5Bsubdomain%5D=sandbox\
         &leads%5Bnote%5D%5B0%5D%5Bnote%5D%5Bid%5D={}\
         &leads%5Bnote%5D%5B0%5D%5Bnote%5D%5Btext%5D=call+{i}\
         &leads%5Bnote%5D%5B0%5D%5Bnote%5D%5Belement_id%5D=1&leads%5Bnote%5D%5B0%5D%5Bnote%5D%5Belement_type%5D=2",
        90_000_000 + i
    )
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("catch_up_load: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let (loops, kommo) =
        demo::fakes(loops::Config::default(), kommo::Config::saas_onboarding()).await?;
    let kommo = Arc::new(kommo);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Arc::new(
        SqliteOutbox::open(dir.path().join("outbox.db"))
            .await
            .map_err(|e| e.to_string())?,
    );
    let rules = kommo_loops_bridge::Rules::from_path(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/saas-onboarding.toml"),
    )
    .map_err(|e| e.to_string())?;
    let loops_client = loops_client::Client::builder()
        .api_key(loops.api_key())
        .base_url(loops.base_url())
        .build()
        .map_err(|e| e.to_string())?;
    let kommo_client = kommo_client::Client::builder()
        .base_url(&kommo.base_url())
        .long_lived_token(kommo.token())
        .build()
        .map_err(|e| e.to_string())?;
    let bridge = Bridge::builder(rules, Arc::new(loops_client), Arc::new(kommo_client))
        .outbox(store.clone())
        .state(store)
        .config(BridgeConfig::default())
        .build()
        .map_err(|e| e.to_string())?;
    let token = "catch-up-load-token-0123456789";
    let server = serve(bridge.clone(), token, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| e.to_string())?;
    let hook = format!("{}/webhooks/kommo/{token}", server.url());
    let workers = bridge.spawn_workers(args.workers);
    // No overlap: the window starts where the outage did, so the leads seeded (silently)
    // just before it are not part of what is measured.
    let config = CatchUpConfig::new()
        .settle(Duration::ZERO)
        .overlap(Duration::ZERO);

    eprintln!("seeding {} leads with their contacts", args.changes);
    let mut leads = Vec::with_capacity(args.changes);
    for i in 0..args.changes {
        let contact = kommo
            .seed_contact(
                NewContact::new(format!("Missed {i}"))
                    .email_kind(format!("missed{i}@example.com"), "WORK"),
            )
            .map_err(|e| e.to_string())?;
        let lead = kommo
            .seed_lead(
                NewLead::new(format!("Deal {i}"))
                    .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                    .contact(contact)
                    .field("PLAN", "pro"),
            )
            .map_err(|e| e.to_string())?;
        leads.push(lead);
    }
    // The bridge was running: the watermark is set before the outage, in a second of its own.
    tokio::time::sleep(Duration::from_secs(1)).await;
    bridge.catch_up(&config).await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    eprintln!(
        "moving {} leads to Trial with no webhook reaching the bridge",
        leads.len()
    );
    for &lead in &leads {
        kommo
            .move_lead(lead, saas_onboarding::TRIAL)
            .map_err(|e| e.to_string())?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Webhooks reach the bridge again; live traffic goes on during the catch-up.
    kommo.subscribe_all(&hook);
    let kommo_before = kommo.request_stats().total;
    let loops_before = loops.request_stats().total;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acks = Arc::new(Mutex::new(Vec::<u64>::new()));
    let notes = {
        let (stop, acks, hook) = (stop.clone(), acks.clone(), hook.clone());
        let every = Duration::from_secs_f64(1.0 / f64::from(args.notes_per_sec.max(1)));
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut tick = tokio::time::interval(every);
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                tick.tick().await;
                let sent = Instant::now();
                let answer = http
                    .post(&hook)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(note_body(i))
                    .send()
                    .await;
                if answer.is_ok_and(|a| a.status().is_success()) {
                    acks.lock().unwrap().push(sent.elapsed().as_micros() as u64);
                }
                i += 1;
            }
        })
    };
    let live_moves = Arc::new(Mutex::new(Vec::<(String, i64)>::new()));
    let live = {
        let (stop, kommo, moves) = (stop.clone(), kommo.clone(), live_moves.clone());
        let every = args.live_every;
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(every).await;
                let email = format!("live{i}@example.com");
                let Ok(contact) = kommo.create_contact(
                    NewContact::new(format!("Live {i}")).email_kind(&email, "WORK"),
                ) else {
                    continue;
                };
                let Ok(lead) = kommo.create_lead(
                    NewLead::new(format!("Live deal {i}"))
                        .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                        .contact(contact)
                        .field("PLAN", "pro"),
                ) else {
                    continue;
                };
                if kommo.move_lead(lead, saas_onboarding::TRIAL).is_ok() {
                    moves.lock().unwrap().push((email, unix_now()));
                }
                i += 1;
            }
        })
    };

    let started = Instant::now();
    let report = bridge.catch_up(&config).await.map_err(|e| e.to_string())?;
    let read = started.elapsed();
    eprintln!("catch-up read the log in {read:?}: {report:?}");
    let expected = args.changes;
    let done = eventually(Duration::from_secs(6 * 3600), || async {
        let trials = loops
            .events()
            .iter()
            .filter(|e| e.event_name == "trial_started" && e.email.starts_with("missed"))
            .count();
        trials >= expected
            && bridge
                .outbox()
                .stats()
                .await
                .is_ok_and(|s| s.unfinished() == 0)
    })
    .await;
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = notes.await;
    live.abort();
    let _ = live.await;
    if !done {
        return Err("the catch-up did not finish".into());
    }

    let kommo_stats = kommo.request_stats();
    let loops_stats = loops.request_stats();
    let kommo_requests = kommo_stats.total - kommo_before;
    let loops_requests = loops_stats.total - loops_before;
    let events = loops.events();
    let trials: Vec<_> = events
        .iter()
        .filter(|e| e.event_name == "trial_started" && e.email.starts_with("missed"))
        .collect();
    let mut keys: Vec<_> = trials
        .iter()
        .filter_map(|e| e.idempotency_key.clone())
        .collect();
    keys.sort();
    keys.dedup();
    let mut acks = acks.lock().unwrap().clone();
    let ack = LatencySummary::from_micros(&mut acks);
    let mut live_waits: Vec<u64> = live_moves
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(email, moved)| {
            let sent = events
                .iter()
                .find(|e| &e.email == email && e.event_name == "trial_started")?;
            let sent = sent
                .at
                .duration_since(SystemTime::UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            Some(((sent - moved).max(0) as u64) * 1_000_000)
        })
        .collect();
    let live = LatencySummary::from_micros(&mut live_waits);
    let kommo_floor = kommo_requests as f64 / 7.0;
    let loops_floor = loops_requests as f64 / 10.0;
    let floor = kommo_floor.max(loops_floor);
    println!("changes missed                 {}", args.changes);
    println!(
        "recovered / trial_started sent {} / {} ({} distinct keys, {} Loops 429s)",
        report.recovered,
        trials.len(),
        keys.len(),
        loops_stats.by_status.get(&429).copied().unwrap_or(0)
    );
    println!(
        "Kommo requests                 {kommo_requests} (the catch-up itself: {}; {} Kommo 429s)",
        report.kommo_requests,
        kommo_stats.by_status.get(&429).copied().unwrap_or(0)
    );
    println!("Loops requests                 {loops_requests}");
    println!(
        "time                           {:.0} s (log read and planning jobs stored in {:.1} s)",
        elapsed.as_secs_f64(),
        read.as_secs_f64()
    );
    println!(
        "floor                          Kommo {kommo_floor:.0} s at 7/s, Loops {loops_floor:.0} s at 10/s: {:.3}x the floor",
        elapsed.as_secs_f64() / floor
    );
    println!(
        "webhook acknowledgements       {} at {}/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        acks.len(),
        args.notes_per_sec,
        ack.p50_ms,
        ack.p99_ms,
        ack.max_ms
    );
    println!(
        "live moves during the catch-up {}: move to send p50 {:.0} s, p99 {:.0} s, max {:.0} s",
        live_waits.len(),
        live.p50_ms / 1000.0,
        live.p99_ms / 1000.0,
        live.max_ms / 1000.0
    );
    server.shutdown(Duration::from_secs(2)).await;
    workers.shutdown().await;
    if let Ok(kommo) = Arc::try_unwrap(kommo) {
        kommo.shutdown().await;
    }
    loops.shutdown().await;
    Ok(())
}
