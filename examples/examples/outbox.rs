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
//! twice. See `docs/operations.md` and `docs/reliability.md`.

use std::process::ExitCode;

use kommo_loops_examples::config::StoreConfig;
use kommo_loops_examples::outbox_cli;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("outbox: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0] == "--help" || args[0] == "-h" {
        println!("{}", outbox_cli::USAGE);
        return Ok(());
    }
    let store = StoreConfig::from_env(|k| std::env::var(k).ok())?;
    if store == StoreConfig::Memory {
        return Err("OUTBOX=memory: an in-memory outbox lives only inside the server".into());
    }
    if let StoreConfig::Sqlite(path) = &store
        && !std::path::Path::new(path).exists()
    {
        // Opening would create an empty outbox and report nothing.
        return Err(format!("there is no outbox at {path} (set OUTBOX_PATH)"));
    }
    let (outbox, _) = kommo_loops_examples::setup::stores(&store).await?;
    let mut out = std::io::stdout().lock();
    outbox_cli::run(&args, outbox.as_ref(), &mut out).await
}
