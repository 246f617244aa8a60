//! Recovers the Kommo changes whose webhooks were lost in a window of Kommo's events log (and,
//! with `--loops`, the Loops unsubscribes and suppressions whose webhooks were lost), through
//! the outbox: both rate limits hold, and running it twice adds nothing.
//!
//! ```text
//! RULES_FILE=examples/rules/saas-onboarding.toml KOMMO_BASE_URL=https://acme.kommo.com \
//! KOMMO_TOKEN=... LOOPS_API_KEY=... OUTBOX_PATH=/var/lib/kommo-loops/outbox.db \
//! cargo run --release -p kommo-loops-examples --example reconcile -- \
//!     --since 2026-11-27T09:00:00Z [--until 2026-11-27T12:00:00Z] [--dry-run] [--loops] \
//!     [--enqueue-only]
//! ```
//!
//! Point it at the server's store (`OUTBOX_PATH` or `DATABASE_URL`): the record of changes
//! there tells which changes their webhooks brought. `--dry-run` prints what each recovered
//! change would plan and stores nothing; `--enqueue-only` stores the planning jobs and leaves
//! them to the running server's workers. Settings are those of the server
//! (`docs/operations.md`) without the webhook ones.

use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use kommo_loops_examples::config::ServerConfig;
use kommo_loops_examples::reconcile::{self, describe, format_rfc3339, push_plan};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("reconcile: {message}");
            ExitCode::from(2)
        }
    }
}

fn spinner() -> Result<ProgressBar, String> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .map_err(|e| e.to_string())?,
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    Ok(bar)
}

async fn run() -> Result<(), String> {
    let options = reconcile::parse_args(std::env::args().skip(1), reconcile::now())?;
    let config = ServerConfig::for_backfill(|k| std::env::var(k).ok())?;
    let bridge = kommo_loops_examples::setup::bridge(&config).await?;
    let emails = config.emails_in_logs;
    println!(
        "Kommo's events log from {} to {}{}",
        format_rfc3339(options.since),
        format_rfc3339(options.until),
        if options.dry_run {
            " (dry run: nothing is stored)"
        } else {
            ""
        }
    );

    let bar = spinner()?;
    let result = bridge
        .recover(reconcile::window(&options), options.dry_run, &mut |p| {
            bar.set_message(format!(
                "log pages {} | events {} | changes {} | resolved {}",
                p.pages, p.events, p.changes, p.resolved
            ));
        })
        .await;
    bar.finish_and_clear();
    let (report, found) = result.map_err(|e| e.to_string())?;
    for change in &found {
        println!("{}", describe(change, emails));
    }
    println!(
        "\n{} events read in {} Kommo requests: {} changes the rules react to, {} brought by \
         their webhooks, {} recovered{}",
        report.events,
        report.kommo_requests,
        report.changes,
        report.seen,
        report.recovered,
        if options.dry_run {
            String::new()
        } else {
            format!(" ({} planning jobs new to the outbox)", report.enqueued)
        }
    );

    if options.loops {
        let bar = spinner()?;
        let result = bridge
            .recover_loops(options.dry_run, &mut |p| {
                bar.set_message(format!(
                    "Loops contacts checked {} | unsubscribed or suppressed {} | recovered {}",
                    p.checked, p.unsubscribed, p.recovered
                ));
            })
            .await;
        bar.finish_and_clear();
        let loops = result.map_err(|e| e.to_string())?;
        for (email, plan) in &loops.plans {
            let mut line = format!(
                "{}: unsubscribed, no webhook; would plan",
                emails.apply(email)
            );
            push_plan(&mut line, plan, emails);
            println!("{line}");
        }
        println!(
            "Loops: {} synced contacts checked ({} unknown to Loops): {} unsubscribed or \
             suppressed ({} suppressed), {} already on record, {} recovered as \
             contact.unsubscribed{}",
            loops.checked,
            loops.unknown,
            loops.unsubscribed,
            loops.suppressed,
            loops.known,
            loops.recovered,
            if options.dry_run {
                String::new()
            } else {
                format!(" ({} actions new to the outbox)", loops.enqueued)
            }
        );
    }

    if options.dry_run || options.enqueue_only {
        return Ok(());
    }
    let workers = bridge.spawn_workers(config.workers);
    let bar = spinner()?;
    let drained = reconcile::drain(&bridge, |finished, dead| {
        bar.set_message(format!("outbox: finished {finished} | dead {dead}"));
    })
    .await;
    bar.finish_and_clear();
    workers.shutdown().await;
    let (finished, dead) = drained?;
    println!("outbox: {finished} jobs finished, {dead} dead letters");
    if dead > 0 {
        return Err(format!(
            "{dead} jobs failed; see them with the outbox example (`outbox dead`)"
        ));
    }
    Ok(())
}
