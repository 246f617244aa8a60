//! Syncs every existing Kommo contact into Loops in backfill mode: contact upserts only, never
//! an email. Resumable: interrupt it and run it again to continue from the last full page.
//!
//! ```text
//! RULES_FILE=examples/rules/saas-onboarding.toml KOMMO_BASE_URL=https://acme.kommo.com \
//! KOMMO_TOKEN=... LOOPS_API_KEY=... \
//! cargo run --release -p kommo-loops-examples --example backfill -- [--restart] [--limit N]
//! ```
//!
//! Settings are those of the server (`docs/operations.md`) without the webhook ones, plus
//! `BACKFILL_CHECKPOINT` (default `backfill.checkpoint.json`). `MODE` is always backfill.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use kommo_loops_bridge::Mode;
use kommo_loops_examples::backfill::{self, BackfillOptions, PAGE_SIZE};
use kommo_loops_examples::config::ServerConfig;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("backfill: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let mut restart = false;
    let mut limit = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--restart" => restart = true,
            "--limit" => {
                let n = args.next().ok_or("--limit needs a number")?;
                limit = Some(
                    n.parse::<usize>()
                        .map_err(|_| format!("--limit {n:?} is not a number"))?,
                );
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (use --restart, --limit N)"
                ));
            }
        }
    }
    let mut config = ServerConfig::for_backfill(|k| std::env::var(k).ok())?;
    // A backfill never sends, whatever MODE says.
    config.mode = Mode::Backfill;
    let bridge = kommo_loops_examples::setup::bridge(&config).await?;
    let kommo = kommo_loops_examples::setup::kommo_client(&config)?;
    let workers = bridge.spawn_workers(config.workers);
    let options = BackfillOptions {
        checkpoint: PathBuf::from(
            std::env::var("BACKFILL_CHECKPOINT")
                .unwrap_or_else(|_| "backfill.checkpoint.json".into()),
        ),
        restart,
        limit,
        page_size: PAGE_SIZE,
    };

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .map_err(|e| e.to_string())?,
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let result = backfill::run(&bridge, &kommo, &options, |p| {
        bar.set_message(format!(
            "contacts {} | upserts planned {} (new {}) | done {} | dead {} | nothing to write {}",
            p.contacts, p.planned, p.new, p.finished, p.dead, p.without_action
        ));
    })
    .await;
    bar.finish_and_clear();
    workers.shutdown().await;
    let summary = result?;
    let p = &summary.progress;
    let secs = summary.elapsed.as_secs_f64().max(0.001);
    println!(
        "backfill finished in {:.1} s (started at page {})",
        secs, summary.started_at_page
    );
    println!("  contacts read           {}", p.contacts);
    println!(
        "  upserts planned         {} ({} new to the outbox)",
        p.planned, p.new
    );
    println!(
        "  contacts with no upsert {} (no usable email, or no rule matched)",
        p.without_action
    );
    println!(
        "  finished                {} ({:.1}/s)",
        p.finished,
        p.finished as f64 / secs
    );
    println!("  dead letters            {}", p.dead);
    println!("  emails sent             0 (backfill mode)");
    if p.dead > 0 {
        return Err(format!("{} upserts failed; see the dead letters", p.dead));
    }
    Ok(())
}
