//! A minimal Loops stand-in for client load tests (see `kommo_loops_examples::loops_stub`):
//! `POST /api/v1/events/send` answers `{"success":true}`, `GET /_stats` counts connections and
//! requests.
//!
//! ```text
//! cargo run --release -p kommo-loops-examples --example loops_stub -- --port 9000 [--max-seconds 600]
//! ```
//!
//! It prints `listening on http://127.0.0.1:PORT/api` and serves on one thread until Ctrl-C
//! or `--max-seconds` (default 600), then prints its counters as JSON.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use kommo_loops_examples::loops_stub::{StubStats, bind};

fn main() -> ExitCode {
    let mut port = 0u16;
    let mut max_seconds = 600u64;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        let parsed = match (flag.as_str(), value.as_deref()) {
            ("--port", Some(v)) => v.parse().map(|p| port = p).is_ok(),
            ("--max-seconds", Some(v)) => v.parse().map(|s| max_seconds = s).is_ok(),
            _ => false,
        };
        if !parsed {
            eprintln!("loops_stub: bad argument {flag:?} (use --port P, --max-seconds S)");
            return ExitCode::from(2);
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loops_stub: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let stats = Arc::new(StubStats::default());
        let (addr, server) =
            match bind(SocketAddr::from(([127, 0, 0, 1], port)), stats.clone()).await {
                Ok(bound) => bound,
                Err(e) => {
                    eprintln!("loops_stub: cannot listen on port {port}: {e}");
                    return ExitCode::from(2);
                }
            };
        println!("listening on http://{addr}/api");
        tokio::select! {
            result = server => if let Err(e) = result {
                eprintln!("loops_stub: {e}");
                return ExitCode::from(2);
            },
            _ = tokio::signal::ctrl_c() => {}
            _ = tokio::time::sleep(Duration::from_secs(max_seconds)) => {}
        }
        println!("{}", stats.to_json());
        ExitCode::SUCCESS
    })
}
