//! The webhook server: Kommo and Loops webhooks in, Loops and Kommo calls out, durably.
//!
//! ```text
//! RULES_FILE=examples/rules/saas-onboarding.toml \
//! KOMMO_BASE_URL=https://acme.kommo.com KOMMO_TOKEN=... KOMMO_WEBHOOK_TOKEN=<random> \
//! LOOPS_API_KEY=... LOOPS_WEBHOOK_SECRET=whsec_... \
//! cargo run --release -p kommo-loops-examples --example server
//! ```
//!
//! Every setting is described in `docs/operations.md`. The server refuses to start, listing
//! every problem, when a required setting is missing.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = match kommo_loops_examples::setup::check(|k| std::env::var(k).ok()) {
        Ok(config) => config,
        Err(problems) => {
            eprintln!("server: cannot start:");
            for line in problems.lines() {
                eprintln!("  - {line}");
            }
            return ExitCode::from(2);
        }
    };
    let ready = |addr| {
        tracing::info!(
            %addr,
            "listening: POST /webhooks/kommo/<token>, POST /webhooks/loops, GET /healthz"
        )
    };
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests and jobs in flight");
    };
    match kommo_loops_examples::server::run(&config, ready, stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(problems) => {
            eprintln!("server: cannot start:");
            for line in problems.lines() {
                eprintln!("  - {line}");
            }
            ExitCode::from(2)
        }
    }
}
