//! A bounded, open-loop load of Kommo webhooks for the `server` example: `--rate` deliveries
//! per second for `--seconds`, each a lead status change (the shared fixture
//! `01_leads_status.form` with a distinct lead id, so none is a duplicate), then it stops.
//!
//! ```text
//! webhook_load --url http://127.0.0.1:8080/webhooks/kommo/<token> [--rate 500] [--seconds 30]
//!              [--fakes KOMMO_PORT,LOOPS_PORT] [--server-pid PID] [--watched true]
//! webhook_load --fakes KOMMO_PORT,LOOPS_PORT --seconds S     # only the fakes, for S seconds
//! ```
//!
//! Deliveries are sent at fixed times (`i / rate` after the start) whatever the answers do,
//! so a slow answer cannot hide the ones queued behind it; latency is measured from the
//! scheduled time to the whole answer. `--fakes` also serves the Kommo and Loops sandboxes on
//! those loopback ports (Kommo token `load-kommo-token`, Loops key `load-loops-key`, their
//! default rate limits), for the server's workers to call; without `--url` it serves only the
//! fakes for `--seconds`, so that a sender in another process is not slowed by their work. `--server-pid` reports that
//! process's CPU time over the run and its resident memory. `--watched true` moves each
//! delivery's lead into the onboarding rules' pipeline (7001, to Trial), so that the backlog
//! does the work a bulk change does (a Kommo read for each delivery, at Kommo's rate), instead
//! of the fixture's pipeline, which no rule watches. Prints one JSON line; see
//! `docs/performance.md`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kommo_loops_examples::measure::{LatencySummary, parse_stat_cpu, parse_status_kib, round3};
use kommo_loops_sandbox::{kommo, loops};
use tokio::time::Instant;

const FIXTURE: &str = include_str!("../../kommo-client/tests/fixtures/kommo/01_leads_status.form");
const ID_FIELD: &str = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=30267969";

struct Args {
    url: String,
    rate: u32,
    seconds: u32,
    fakes: Option<(u16, u16)>,
    server_pid: Option<u32>,
    watched: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        rate: 500,
        seconds: 30,
        fakes: None,
        server_pid: None,
        watched: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag} {value:?} is not valid");
        match flag.as_str() {
            "--url" => args.url = value.clone(),
            "--rate" => args.rate = value.parse().ok().filter(|&r| r > 0).ok_or_else(bad)?,
            "--seconds" => {
                args.seconds = value
                    .parse()
                    .ok()
                    .filter(|&s| (1..=600).contains(&s))
                    .ok_or_else(bad)?
            }
            "--watched" => args.watched = value.parse().map_err(|_| bad())?,
            "--server-pid" => args.server_pid = Some(value.parse().map_err(|_| bad())?),
            "--fakes" => {
                let (k, l) = value.split_once(',').ok_or_else(bad)?;
                args.fakes = Some((k.parse().map_err(|_| bad())?, l.parse().map_err(|_| bad())?));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.url.is_empty() {
        if args.fakes.is_some() {
            // Fakes only, for `--seconds`.
            return Ok(args);
        }
        return Err("--url is required (or --fakes alone to serve only the fakes)".into());
    }
    if !(args.url.starts_with("http://127.") || args.url.starts_with("http://localhost")) {
        return Err("--url must be on loopback (http://127.x.x.x or http://localhost)".into());
    }
    Ok(args)
}

fn body(i: u64, watched: bool) -> String {
    let body = FIXTURE.replacen(
        ID_FIELD,
        &format!("leads%5Bstatus%5D%5B0%5D%5Bid%5D={}", 30_000_000 + i),
        1,
    );
    if !watched {
        return body;
    }
    body.replacen("pipeline_id%5D=788512", "pipeline_id%5D=7001", 1)
        .replacen("status_id%5D=16525558", "status_id%5D=5001", 1)
}

/// CPU time and (peak) resident memory of another process, from `/proc`.
fn process_usage(pid: u32) -> Option<(Duration, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some((
        parse_stat_cpu(&stat)?,
        parse_status_kib(&status, "VmRSS:")?,
        parse_status_kib(&status, "VmHWM:")?,
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webhook_load: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let fakes = match args.fakes {
        Some((kommo_port, loops_port)) => {
            let kommo = kommo::Sandbox::start(
                kommo::Config::saas_onboarding()
                    .token("load-kommo-token")
                    .port(kommo_port),
            )
            .await
            .map_err(|e| format!("Kommo fake on port {kommo_port}: {e}"))?;
            let loops = loops::Sandbox::start(
                loops::Config::default()
                    .api_key("load-loops-key")
                    .port(loops_port),
            )
            .await
            .map_err(|e| format!("Loops fake on port {loops_port}: {e}"))?;
            Some((kommo, loops))
        }
        None => None,
    };
    if args.url.is_empty() {
        // Serve the fakes only, in a process of their own, so that their work does not delay
        // the sender's schedule.
        eprintln!(
            "webhook_load: serving the fakes for {} s (Kommo token load-kommo-token, Loops key load-loops-key)",
            args.seconds
        );
        tokio::time::sleep(Duration::from_secs(u64::from(args.seconds))).await;
        if let Some((kommo, loops)) = fakes {
            kommo.shutdown().await;
            loops.shutdown().await;
        }
        return Ok(());
    }

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    // Wait for the server (it may still be starting).
    let root = args
        .url
        .split("/webhooks/")
        .next()
        .unwrap_or(&args.url)
        .to_owned();
    let ready_by = Instant::now() + Duration::from_secs(20);
    loop {
        match http.get(format!("{root}/healthz")).send().await {
            Ok(r) if r.status().is_success() => break,
            _ if Instant::now() < ready_by => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => return Err(format!("{root}/healthz did not answer 200 within 20 s")),
        }
    }

    let total = u64::from(args.rate) * u64::from(args.seconds);
    let bodies: Vec<String> = (0..total).map(|i| body(i, args.watched)).collect();
    let before = args.server_pid.and_then(process_usage);
    let url: Arc<str> = Arc::from(args.url.as_str());
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / f64::from(args.rate));
        tokio::time::sleep_until(due).await;
        let http = http.clone();
        let url = url.clone();
        tasks.spawn(async move {
            let result = http
                .post(&*url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await;
            let ok = match result {
                Ok(response) => {
                    let success = response.status().is_success();
                    response.bytes().await.is_ok() && success
                }
                Err(_) => false,
            };
            (due.elapsed(), ok)
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let mut errors = 0u64;
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {
        let (latency, ok) = joined.map_err(|e| e.to_string())?;
        latencies.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        if !ok {
            errors += 1;
        }
    }
    let unanswered = total - latencies.len() as u64;
    tasks.abort_all();
    let seconds = start.elapsed().as_secs_f64();
    let after = args.server_pid.and_then(process_usage);
    let latency = LatencySummary::from_micros(&mut latencies);

    let server = match (before, after) {
        (Some((cpu0, _, _)), Some((cpu1, rss, hwm))) => serde_json::json!({
            "cpu_seconds": round3(cpu1.saturating_sub(cpu0).as_secs_f64()),
            "cpu_ms_per_webhook": round3(cpu1.saturating_sub(cpu0).as_secs_f64() * 1000.0 / total as f64),
            "rss_mb": round3(rss as f64 / 1024.0),
            "peak_rss_mb": round3(hwm as f64 / 1024.0),
        }),
        _ => serde_json::Value::Null,
    };
    let line = serde_json::json!({
        "rate": args.rate,
        "seconds_planned": args.seconds,
        "sent": total,
        "seconds": round3(seconds),
        "p50_ms": latency.p50_ms,
        "p99_ms": latency.p99_ms,
        "max_ms": latency.max_ms,
        "errors": errors + unanswered,
        "server": server,
    });
    println!("{line}");
    if let Some((kommo, loops)) = fakes {
        kommo.shutdown().await;
        loops.shutdown().await;
    }
    Ok(())
}
