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
//! Point it at the server's store (`OUTBOX_PATH` or `DATABASE_URL`, required): the record of
//! changes there tells which changes their webhooks brought. `--dry-run` prints what each
//! recovered change would plan and stores nothing; `--enqueue-only` stores the planning jobs
//! and leaves them to the running server's workers. Settings are those of the server
//! (`docs/operations.md`) without the webhook ones.

use std::process::ExitCode;

use kommo_loops_examples::config::ServerConfig;
use kommo_loops_examples::reconcile;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let result = async {
        let options = reconcile::parse_args(std::env::args().skip(1), reconcile::now())?;
        let config = ServerConfig::for_backfill(|k| std::env::var(k).ok())?;
        reconcile::run(&config, &options, &mut std::io::stdout(), true).await
    };
    match result.await {
        Ok(_) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("reconcile: {message}");
            ExitCode::from(2)
        }
    }
}
