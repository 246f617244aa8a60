//! A bulk change in Kommo at the APIs' rate limits, against the sandbox fakes: `--leads`
//! leads moved to Trial in one bulk change, then to Won; one JSON line per mode (the
//! onboarding rules as they are, then the baseline with merging off).
//!
//! ```text
//! cargo run --release -p kommo-loops-examples --example bulk_move -- \
//!     [--leads 2000] [--loops-rate 10] [--kommo-rate 7] [--workers 4] [--mode both|merged|baseline]
//! ```
//!
//! What each field means: `kommo_loops_examples::bulk_move::BulkMoveReport`; the figures:
//! `docs/performance.md`.

use std::process::ExitCode;

use kommo_loops_examples::bulk_move::{self, BulkMoveArgs};

#[tokio::main]
async fn main() -> ExitCode {
    let args = match BulkMoveArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bulk_move: {message}");
            return ExitCode::from(2);
        }
    };
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/saas-onboarding.toml");
    for &mode in &args.modes {
        match bulk_move::run(&args, &rules, mode).await {
            Ok(report) => println!("{}", report.to_json()),
            Err(message) => {
                eprintln!("bulk_move: {message}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
