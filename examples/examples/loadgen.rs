//! A load generator for `loops-client`: `N` `events().send` calls with `C` in flight against a
//! Loops-compatible server, summarised as one JSON line on stdout.
//!
//! ```text
//! cargo run --release -p kommo-loops-examples --example loops_stub -- --port 9000 &
//! cargo run --release -p kommo-loops-examples --example loadgen -- \
//!     --base http://127.0.0.1:9000/api --n 20000 --concurrency 16 --rate-limit off
//! ```
//!
//! `--rate-limit RPS` caps the client's pace, `off` disables client-side pacing (429s are still
//! retried), and without it the client keeps its default (10/s, following
//! `x-ratelimit-limit`). `--threads T` runs a multi-threaded runtime with `T` workers (default:
//! one thread). The line has `peer`, `n`, `concurrency`, `seconds`, `rps`, `p50_ms`, `p99_ms`
//! and `errors`, then `max_ms`, `rate_limit`, `threads`, and what the run cost this process:
//! `cpu_ms_per_request`, `cpu_seconds`, `startup_cpu_ms` and `peak_rss_mb`. The first request
//! error, if any, goes to stderr. Bad arguments exit with status 2. See `docs/performance.md`.

use std::process::ExitCode;

use kommo_loops_examples::loadgen::{self, LoadgenArgs, USAGE};

fn main() -> ExitCode {
    let args = match LoadgenArgs::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("loadgen: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = if args.threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let mut first_error = None;
    match runtime.block_on(loadgen::run(&args, &mut first_error)) {
        Ok(report) => {
            if let Some(e) = first_error {
                eprintln!(
                    "loadgen: {} of {} calls failed; the first: {e}",
                    report.errors, report.n
                );
            }
            println!("{}", report.to_json_line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::from(2)
        }
    }
}
