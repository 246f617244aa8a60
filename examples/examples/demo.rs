//! The whole Kommo to Loops flow, on the embedded fakes of both APIs:
//!
//! ```text
//! cargo run -p kommo-loops-examples --example demo
//! ```
//!
//! It starts a fake Loops, a fake Kommo, the bridge server and its workers, plays the SaaS
//! onboarding scenario (a new lead, trial, won, a hard bounce, an unsubscribe) with
//! `examples/rules/saas-onboarding.toml`, prints a timeline, checks every effect in the fakes'
//! state, and exits 0 only if all hold.

use std::path::Path;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let mut out = std::io::stdout();
    match kommo_loops_examples::demo::run(root, &mut out).await {
        Ok(checks) if checks.iter().all(|c| c.held) => ExitCode::SUCCESS,
        Ok(checks) => {
            for check in checks.iter().filter(|c| !c.held) {
                eprintln!("demo: missing effect: {}", check.what);
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::from(2)
        }
    }
}
