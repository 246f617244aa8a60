//! The preflight: checks what a rules file needs against the Kommo account and the Loops team
//! before the first webhook arrives, one line per check.
//!
//! ```text
//! check --rules FILE [--fix] [--json]
//! ```
//!
//! The accounts are those the environment configures, as for the server (`KOMMO_BASE_URL`,
//! `KOMMO_TOKEN`, `LOOPS_API_KEY`, and `KOMMO_WEBHOOK_TOKEN` and `LOOPS_WEBHOOK_SECRET` to
//! check the webhooks); with none configured, the sandbox fakes. `--fix` creates the missing
//! Loops contact properties, with the type the rules imply, and nothing else. Exit 0 when
//! every check holds, 1 when one fails, 2 when the check cannot run.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let code = kommo_loops_examples::check::main(
        std::env::args().skip(1),
        &|k| std::env::var(k).ok(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await;
    ExitCode::from(code)
}
