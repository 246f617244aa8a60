//! The operator's view of the outbox: counts, dead letters with their attempt history, one
//! item by key, and replay. The `outbox` example runs it against the server's store (the same
//! `OUTBOX_PATH` or `DATABASE_URL`), while the server runs: SQLite lets a second process open
//! the file, and PostgreSQL is shared anyway.
//!
//! A replay puts a dead letter back to pending with its idempotency key, so it can never send
//! twice: a send that had in fact landed meets its own key in Loops (409, counted as already
//! done), and a Kommo note or task finds its marker.

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use kommo_loops_bridge::runtime::Outbox;
use kommo_loops_bridge::runtime::outbox::{Item, Job};

use crate::config::StoreConfig;
use crate::setup;

/// The usage text.
pub const USAGE: &str = "\
usage: outbox <command>
  stats               items per state
  dead [--limit N]    dead letters, oldest first, with their attempt history (default 50)
  show KEY            one item by idempotency key
  replay ID...        puts these dead letters back to pending (same keys: no double send)
  replay --all        puts every dead letter back";

/// The `outbox` example: opens the store the settings name (read through `get`, e.g.
/// `|k| std::env::var(k).ok()`) and runs one command (`args` without the program name). An
/// error goes to `err`, and the exit code is then 2; the store must already exist: a missing
/// or empty file, or one that is not an outbox, is refused without writing to it.
pub async fn main(
    args: &[String],
    get: impl Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    let result = match args.first().map(String::as_str) {
        None | Some("--help" | "-h") => writeln!(out, "{USAGE}").map_err(|e| e.to_string()),
        Some(_) => match StoreConfig::from_env(get) {
            Err(problems) => Err(problems),
            Ok(store) => match setup::existing_stores(&store).await {
                Err(e) => Err(e),
                Ok((outbox, _)) => run(args, outbox.as_ref(), out).await,
            },
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            let _ = writeln!(err, "outbox: {message}");
            ExitCode::from(2)
        }
    }
}

/// Runs one command (`args` without the program name) on `outbox`, writing to `out`.
pub async fn run(args: &[String], outbox: &dyn Outbox, out: &mut dyn Write) -> Result<(), String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let io = |e: std::io::Error| e.to_string();
    match args.as_slice() {
        ["stats"] => {
            let s = outbox.stats().await.map_err(|e| e.to_string())?;
            writeln!(
                out,
                "pending {}\nrunning {}\ndone {}\nalready done {}\ndead {}",
                s.pending, s.leased, s.done, s.already_done, s.dead
            )
            .map_err(io)
        }
        ["dead"] => dead(outbox, 50, out).await,
        ["dead", "--limit", n] => {
            let limit = n
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("--limit {n:?} is not a positive number"))?;
            dead(outbox, limit, out).await
        }
        ["show", key] => match outbox.get(key).await.map_err(|e| e.to_string())? {
            Some(item) => describe(&item, out).map_err(io),
            None => Err(format!("no item has the key {key:?}")),
        },
        ["replay", "--all"] => {
            let mut total = 0;
            // Page through: a replayed item leaves the dead letters, so each page is new.
            loop {
                let ids: Vec<i64> = outbox
                    .dead_letters(500)
                    .await
                    .map_err(|e| e.to_string())?
                    .iter()
                    .map(|i| i.id)
                    .collect();
                if ids.is_empty() {
                    break;
                }
                let replayed = outbox
                    .replay(&ids, SystemTime::now())
                    .await
                    .map_err(|e| e.to_string())?;
                total += replayed;
                if replayed == 0 {
                    break;
                }
            }
            writeln!(out, "replayed {total} dead letter(s)").map_err(io)
        }
        ["replay", ids @ ..] if !ids.is_empty() => {
            let ids = ids
                .iter()
                .map(|s| {
                    s.parse::<i64>()
                        .map_err(|_| format!("{s:?} is not an item id (see `outbox dead`)"))
                })
                .collect::<Result<Vec<i64>, String>>()?;
            let replayed = outbox
                .replay(&ids, SystemTime::now())
                .await
                .map_err(|e| e.to_string())?;
            writeln!(out, "replayed {replayed} of {} item(s)", ids.len()).map_err(io)?;
            if replayed < ids.len() {
                writeln!(
                    out,
                    "(only dead letters are replayed; the others are pending, running or done)"
                )
                .map_err(io)?;
            }
            Ok(())
        }
        _ => Err(USAGE.to_owned()),
    }
}

async fn dead(outbox: &dyn Outbox, limit: usize, out: &mut dyn Write) -> Result<(), String> {
    let items = outbox
        .dead_letters(limit)
        .await
        .map_err(|e| e.to_string())?;
    if items.is_empty() {
        return writeln!(out, "no dead letters").map_err(|e| e.to_string());
    }
    for item in &items {
        describe(item, out).map_err(|e| e.to_string())?;
    }
    writeln!(
        out,
        "{} dead letter(s); replay with `outbox replay ID...` or `outbox replay --all`",
        items.len()
    )
    .map_err(|e| e.to_string())
}

fn describe(item: &Item, out: &mut dyn Write) -> std::io::Result<()> {
    let job = match &item.job {
        Job::Execute { action } => format!("{} (rule {:?})", action.kind(), action.rule()),
        Job::PlanKommo { .. } => "plan a Kommo delivery".to_owned(),
        Job::PlanKommoChange { change } => format!(
            "plan a change from Kommo's events log ({} {} {} at {})",
            change.event,
            change.entity(),
            change.entity_id,
            change.at
        ),
        _ => "unknown job".to_owned(),
    };
    writeln!(out, "#{} {} [{}]", item.id, job, item.state.as_str())?;
    writeln!(out, "  key        {}", item.key)?;
    writeln!(out, "  partition  {}", item.partition)?;
    writeln!(out, "  source     {}", item.source)?;
    writeln!(out, "  created    {}", utc(item.created_at_ms))?;
    if let Some(reason) = &item.dead_reason {
        writeln!(out, "  dead       {reason}")?;
    }
    for (n, attempt) in item.attempts.iter().enumerate() {
        writeln!(
            out,
            "  attempt {:<2} {} {}: {}",
            n + 1,
            utc(attempt.at_ms),
            attempt.outcome,
            attempt.detail
        )?;
    }
    Ok(())
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kommo_loops_bridge::runtime::MemoryOutbox;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_767_229_200_000), "2026-01-01 01:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(-1000), "1969-12-31 23:59:59 UTC");
    }

    #[tokio::test]
    async fn commands_and_usage() {
        let outbox = MemoryOutbox::new();
        let run = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let outbox = &outbox;
            async move {
                let mut out = Vec::new();
                run(&args, outbox, &mut out)
                    .await
                    .map(|()| String::from_utf8(out).unwrap())
            }
        };
        assert!(run(&["stats"]).await.unwrap().contains("dead 0"));
        assert_eq!(run(&["dead"]).await.unwrap(), "no dead letters\n");
        assert!(
            run(&["replay", "--all"])
                .await
                .unwrap()
                .contains("replayed 0")
        );
        assert!(
            run(&["replay", "7"])
                .await
                .unwrap()
                .contains("replayed 0 of 1")
        );
        assert!(
            run(&["replay", "x"])
                .await
                .unwrap_err()
                .contains("not an item id")
        );
        assert!(run(&["show", "k"]).await.unwrap_err().contains("no item"));
        assert!(run(&["dead", "--limit", "0"]).await.is_err());
        assert_eq!(run(&[]).await.unwrap_err(), USAGE);
        assert_eq!(run(&["replay"]).await.unwrap_err(), USAGE);
    }
}
