//! A note, a task and a tag for each of `--leads` leads at once, against the Kommo sandbox:
//! the Kommo requests they cost, then a replay through a fresh outbox; one JSON line.
//!
//! ```text
//! cargo run --release -p kommo-loops-examples --example kommo_writes -- \
//!     [--leads 200] [--group 50] [--kommo-rate 7] [--workers 4] [--drop-rate 0]
//! ```
//!
//! `--group 1` is the baseline of one request per write. What each field means:
//! `kommo_loops_examples::kommo_writes::KommoWritesReport`; the figures: `docs/performance.md`.

use std::process::ExitCode;

use kommo_loops_examples::kommo_writes::{self, KommoWritesArgs};

#[tokio::main]
async fn main() -> ExitCode {
    let args = match KommoWritesArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("kommo_writes: {message}");
            return ExitCode::from(2);
        }
    };
    let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/saas-onboarding.toml");
    match kommo_writes::run(&args, &rules).await {
        Ok(report) => {
            println!("{}", report.to_json());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("kommo_writes: {message}");
            ExitCode::FAILURE
        }
    }
}
