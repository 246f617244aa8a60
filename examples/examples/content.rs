//! Manages Loops content from code: creates a campaign draft, sets its email's subject and
//! LMX, uploads an image, builds a two-step workflow and publishes a transactional email.
//!
//! ```text
//! cargo run -p kommo-loops-examples --example content
//! LOOPS_API_KEY=... cargo run -p kommo-loops-examples --example content
//! ```
//!
//! Without `LOOPS_API_KEY` it runs against a sandbox started for the run. With it, it runs
//! against Loops: the team needs the content and workflow APIs and a sending domain, and the
//! run leaves a campaign draft, a workflow and a transactional email behind and uses one of
//! the day's 50 uploads. Exit 0 when every step succeeded, 1 otherwise.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let key = std::env::var("LOOPS_API_KEY").ok();
    match kommo_loops_examples::content::run_from_env(key, &mut std::io::stdout()).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("content: {e}");
            ExitCode::FAILURE
        }
    }
}
