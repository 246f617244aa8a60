//! Plans a webhook against a rules file without calling anything: prints the actions, the
//! data still needed and the explain trace as one JSON object.
//!
//! ```text
//! dry_run --rules FILE --kommo BODY [--snapshot FILE] [--mode live|backfill] [--merge on|off]
//! dry_run --rules FILE --loops BODY --secret whsec_... --webhook-id ID
//!         --webhook-timestamp TS --webhook-signature SIG --now UNIX
//! ```
//!
//! BODY is a file holding the raw webhook body, `-` for stdin, or the body itself. On success:
//! one JSON object on stdout, exit 0. On bad input: nothing on stdout, one line on stderr,
//! exit 2.

use std::process::ExitCode;

fn main() -> ExitCode {
    match kommo_loops_examples::dry_run::run(std::env::args().skip(1), &mut std::io::stdin()) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("dry_run: {}", message.replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
