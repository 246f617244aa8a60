//! The outbox, for operators: counts, dead letters with their history, replay.
//!
//! ```text
//! OUTBOX_PATH=/var/lib/kommo-loops/outbox.db cargo run -p kommo-loops-examples --example outbox -- dead
//! DATABASE_URL=postgres://... cargo run -p kommo-loops-examples --example outbox -- replay --all
//! ```
//!
//! It opens the store the server uses (the same `OUTBOX_PATH` or `DATABASE_URL`; it may run
//! while the server runs). Commands: `stats`, `dead [--limit N]`, `show KEY`,
//! `replay ID...`, `replay --all`. A replay reuses the idempotency keys, so it never sends
//! twice. It never creates an outbox: a missing or empty file, or one that is not an outbox,
//! is refused (exit code 2) and left as it was. See `docs/operations.md` and
//! `docs/reliability.md`.

use std::process::ExitCode;

use kommo_loops_examples::outbox_cli;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    outbox_cli::main(
        &args,
        |k| std::env::var(k).ok(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
    .await
}
