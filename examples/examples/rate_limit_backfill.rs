//! How close a backfill gets to the Loops rate limit: the real backfill path (Kommo contacts
//! read page by page, planned in backfill mode, stored in an SQLite outbox, upserted by the
//! bridge's workers through `loops-client` with its default pacing) against the sandbox Loops
//! limited to `R` requests/second, for `20·R` contacts.
//!
//! ```text
//! cargo run --release -p kommo-loops-examples --example rate_limit_backfill -- --rate 10 [--contacts N] [--workers W]
//! ```
//!
//! Prints one JSON line: the rate limit, contacts, upserts that reached Loops, contacts lost
//! (in Kommo but not in Loops afterwards), requests and 429s as the sandbox counted them, and
//! the achieved upsert rate over the Loops phase (first to last successful upsert) as a share
//! of `R`. Exits 1 when a contact is lost, 2 on a set-up error. See `docs/performance.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kommo_loops_bridge::runtime::{Bridge, BridgeConfig, SqliteOutbox};
use kommo_loops_bridge::{Mode, Rules};
use kommo_loops_examples::backfill::{self, BackfillOptions, PAGE_SIZE};
use kommo_loops_examples::demo::RULES;
use kommo_loops_examples::measure::round3;
use kommo_loops_sandbox::kommo::{self, NewContact};
use kommo_loops_sandbox::loops::{self, PropertyKind};

const UPSERT: &str = "PUT /v1/contacts/update";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rate_limit_backfill: {e}");
            ExitCode::from(2)
        }
    }
}

struct Args {
    rate: u32,
    contacts: Option<usize>,
    workers: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rate: 10,
        contacts: None,
        workers: 4,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag} {value:?} is not a positive whole number");
        match flag.as_str() {
            "--rate" => args.rate = value.parse().ok().filter(|&r| r > 0).ok_or_else(bad)?,
            "--contacts" => {
                args.contacts = Some(value.parse().ok().filter(|&n| n > 0).ok_or_else(bad)?)
            }
            "--workers" => args.workers = value.parse().ok().filter(|&n| n > 0).ok_or_else(bad)?,
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --rate R, --contacts N, --workers W)"
                ));
            }
        }
    }
    Ok(args)
}

async fn run() -> Result<bool, String> {
    let args = parse_args()?;
    let rate = args.rate;
    let contacts = args.contacts.unwrap_or(20 * rate as usize);

    let loops = loops::Sandbox::start(loops::Config::default().rate_limit(Some(rate)))
        .await
        .map_err(|e| format!("Loops fake: {e}"))?;
    for name in ["companyName", "kommoStage", "kommoPipeline", "plan"] {
        loops
            .add_contact_property(name, PropertyKind::String)
            .map_err(|e| format!("Loops fake: {e}"))?;
    }
    let kommo = kommo::Sandbox::start(kommo::Config::saas_onboarding())
        .await
        .map_err(|e| format!("Kommo fake: {e}"))?;
    for i in 0..contacts {
        kommo
            .create_contact(
                NewContact::new(format!("Contact {i}")).email(format!("contact{i}@example.com")),
            )
            .map_err(|e| format!("Kommo fake: {e}"))?;
    }

    let dir = std::env::temp_dir().join(format!("kommo-loops-rate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = backfill_into(&args, &loops, &kommo, &dir, contacts).await;
    let _ = std::fs::remove_dir_all(&dir);
    kommo.shutdown().await;
    let report = result?;

    // What Loops saw.
    let stats = loops.request_stats();
    let requests = stats.total;
    let refused = stats.by_status.get(&429).copied().unwrap_or(0);
    let upserts: Vec<SystemTime> = loops
        .request_log()
        .into_iter()
        .filter(|r| r.endpoint == UPSERT && r.status == 200)
        .map(|r| r.at)
        .collect();
    let span = match (upserts.iter().min(), upserts.iter().max()) {
        (Some(first), Some(last)) => last.duration_since(*first).unwrap_or(Duration::ZERO),
        _ => Duration::ZERO,
    };
    // n requests paced 1/R apart span (n - 1)/R seconds.
    let achieved = if span.is_zero() {
        0.0
    } else {
        (upserts.len().saturating_sub(1)) as f64 / span.as_secs_f64()
    };
    let in_loops = loops.contacts().len();
    let lost = contacts.saturating_sub(in_loops);
    loops.shutdown().await;

    let line = serde_json::json!({
        "rate_limit": rate,
        "contacts": contacts,
        "workers": args.workers,
        "contacts_in_loops": in_loops,
        "lost": lost,
        "dead": report.dead,
        "requests": requests,
        "upserts_ok": upserts.len(),
        "status_429": refused,
        "share_429": round3(refused as f64 / requests.max(1) as f64),
        "loops_phase_seconds": round3(span.as_secs_f64()),
        "achieved_rps": round3(achieved),
        "efficiency": round3(achieved / f64::from(rate)),
        "backfill_seconds": round3(report.seconds),
    });
    println!("{line}");
    Ok(lost == 0 && report.dead == 0)
}

struct BackfillReport {
    dead: u64,
    seconds: f64,
}

async fn backfill_into(
    args: &Args,
    loops: &loops::Sandbox,
    kommo: &kommo::Sandbox,
    dir: &std::path::Path,
    contacts: usize,
) -> Result<BackfillReport, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let rules = Rules::from_path(root.join(RULES)).map_err(|e| e.to_string())?;
    // The clients as the backfill example builds them: default pacing and retries.
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
    let store = Arc::new(
        SqliteOutbox::open(dir.join("outbox.db"))
            .await
            .map_err(|e| e.to_string())?,
    );
    let bridge = Bridge::builder(
        rules,
        Arc::new(loops_client),
        Arc::new(kommo_client.clone()),
    )
    .outbox(store.clone())
    .state(store)
    .config(BridgeConfig::default().mode(Mode::Backfill))
    .build()
    .map_err(|e| e.to_string())?;
    let workers = bridge.spawn_workers(args.workers);
    let options = BackfillOptions {
        checkpoint: dir.join("checkpoint.json"),
        restart: true,
        limit: None,
        page_size: PAGE_SIZE,
    };
    let summary = backfill::run(&bridge, &kommo_client, &options, |_| {}).await;
    workers.shutdown().await;
    let summary = summary?;
    if summary.progress.contacts != contacts {
        return Err(format!(
            "the backfill read {} contacts of {contacts}",
            summary.progress.contacts
        ));
    }
    Ok(BackfillReport {
        dead: summary.progress.dead,
        seconds: summary.elapsed.as_secs_f64(),
    })
}
