//! The reconcile: reads a window of Kommo's events log, finds the changes no webhook brought
//! (and, with `--loops`, the Loops unsubscribes and suppressions no webhook reported), prints
//! them with what they plan, and in non-dry mode enqueues them through the outbox, so both
//! rate limits hold and a second run adds nothing.

use std::fmt::Write as _;
use std::io::Write;
use std::time::{Duration, SystemTime};

use indicatif::{ProgressBar, ProgressStyle};
use kommo_loops_bridge::Plan;
use kommo_loops_bridge::runtime::catch_up::{
    CatchUpReport, FoundChange, LogWindow, LoggedChange, LoopsRecovery,
};
use kommo_loops_bridge::runtime::{Bridge, EmailsInLogs};

use crate::config::{ServerConfig, StoreConfig};

/// What to reconcile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileOptions {
    /// `--since`: the first second of the window (Unix seconds).
    pub since: i64,
    /// `--until`: the last second (default: now).
    pub until: i64,
    /// `--dry-run`: plan and print, store nothing.
    pub dry_run: bool,
    /// `--loops`: also check every synced contact in Loops.
    pub loops: bool,
    /// `--enqueue-only`: leave the planning jobs to a running server's workers.
    pub enqueue_only: bool,
}

/// The usage line.
pub const USAGE: &str = "reconcile --since <RFC 3339 time> [--until <RFC 3339 time>] [--dry-run] \
                         [--loops] [--enqueue-only]";

/// Reads the command line (without the program name); `now` is the default `--until`.
pub fn parse_args(
    args: impl IntoIterator<Item = String>,
    now: i64,
) -> Result<ReconcileOptions, String> {
    let mut args = args.into_iter();
    let (mut since, mut until) = (None, None);
    let mut options = ReconcileOptions {
        since: 0,
        until: now,
        dry_run: false,
        loops: false,
        enqueue_only: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--since" | "--until" => {
                let value = args
                    .next()
                    .ok_or_else(|| format!("{arg} needs a time, e.g. 2026-11-27T09:00:00Z"))?;
                let at = parse_rfc3339(&value).map_err(|e| format!("{arg}: {e}"))?;
                if arg == "--since" {
                    since = Some(at);
                } else {
                    until = Some(at);
                }
            }
            "--dry-run" => options.dry_run = true,
            "--loops" => options.loops = true,
            "--enqueue-only" => options.enqueue_only = true,
            other => return Err(format!("unknown argument {other:?}; usage: {USAGE}")),
        }
    }
    options.since = since.ok_or_else(|| format!("--since is required; usage: {USAGE}"))?;
    options.until = until.unwrap_or(now);
    if options.since > options.until {
        return Err("--since is after --until".into());
    }
    Ok(options)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Unix seconds of an RFC 3339 time (`2026-11-27T09:30:00Z`, `...+01:00`, fractions
/// dropped; a space instead of `T` accepted).
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an RFC 3339 time like 2026-11-27T09:30:00Z");
    let text = text.trim();
    let number = |s: &str| -> Result<i64, String> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (date, rest) = text.split_at_checked(10).ok_or_else(bad)?;
    let mut parts = date.split('-');
    let (y, m, d) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d), None) if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            (number(y)?, number(m)?, number(d)?)
        }
        _ => return Err(bad()),
    };
    let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
    let (time, zone) = rest.split_at_checked(8).ok_or_else(bad)?;
    let mut hms = time.split(':');
    let (hh, mm, ss) = match (hms.next(), hms.next(), hms.next(), hms.next()) {
        (Some(h), Some(mi), Some(s), None) if h.len() == 2 && mi.len() == 2 && s.len() == 2 => {
            (number(h)?, number(mi)?, number(s)?)
        }
        _ => return Err(bad()),
    };
    let zone = match zone.strip_prefix('.') {
        Some(fraction) => {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(bad());
            }
            &fraction[digits..]
        }
        None => zone,
    };
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let (sign, hours_minutes) = match zone.split_at_checked(1) {
                Some(("+", rest)) => (1, rest),
                Some(("-", rest)) => (-1, rest),
                _ => return Err(bad()),
            };
            match hours_minutes.split_once(':') {
                Some((h, mi)) if h.len() == 2 && mi.len() == 2 => {
                    sign * (number(h)? * 3600 + number(mi)? * 60)
                }
                _ => return Err(bad()),
            }
        }
    };
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d < 1 || d > days_in_month || hh > 23 || mm > 59 || ss > 60 {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss.min(59) - offset)
}

/// `2026-11-27T09:30:00Z`.
pub fn format_rfc3339(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// One line about a change: what moved, when, and what became of it.
pub fn describe(found: &FoundChange, emails: EmailsInLogs) -> String {
    let c: &LoggedChange = &found.change;
    let what = match c.event.as_str() {
        "lead_status" => format!(
            "moved {} -> {} (pipeline {})",
            c.old_status_id.map_or("?".into(), |s| s.to_string()),
            c.status_id.map_or("?".into(), |s| s.to_string()),
            c.pipeline_id.map_or("?".into(), |p| p.to_string())
        ),
        other => other.replace('_', " "),
    };
    let mut line = format!(
        "{} {} {}: {what}",
        format_rfc3339(c.at),
        c.entity(),
        c.entity_id
    );
    match (&found.plan, found.seen) {
        (_, true) => line.push_str(": its webhook arrived; nothing to do"),
        (None, false) => line.push_str(": no webhook; planning job enqueued"),
        (Some(Ok(plan)), false) => {
            line.push_str(": no webhook; would plan");
            push_plan(&mut line, plan, emails);
        }
        (Some(Err(e)), false) => {
            let _ = write!(line, ": no webhook; cannot be planned now: {e}");
        }
    }
    line
}

/// The actions of a plan, one per line under the change's line.
pub fn push_plan(out: &mut String, plan: &Plan, emails: EmailsInLogs) {
    if plan.actions.is_empty() {
        out.push_str(" nothing (no rule matched)");
    }
    for action in &plan.actions {
        let summary = serde_json::to_value(action).unwrap_or_default();
        let target = summary
            .get("email")
            .and_then(|e| e.as_str())
            .map(|e| emails.apply(e).into_owned())
            .unwrap_or_default();
        let name = summary
            .get("eventName")
            .or_else(|| summary.get("transactionalId"))
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let _ = write!(
            out,
            "\n    {} {name} -> {target} (rule {:?}, key {})",
            action.kind(),
            action.rule(),
            action.idempotency_key()
        );
    }
}

/// The window of the options.
pub fn window(options: &ReconcileOptions) -> LogWindow {
    LogWindow::new(options.since, options.until)
}

/// Waits until the outbox has nothing left to run, calling `report` with (finished, dead)
/// counts every 200 ms.
pub async fn drain(
    bridge: &Bridge,
    mut report: impl FnMut(u64, u64),
) -> Result<(u64, u64), String> {
    loop {
        let stats = bridge.outbox().stats().await.map_err(|e| e.to_string())?;
        let finished = stats.done + stats.already_done;
        report(finished, stats.dead);
        if stats.unfinished() == 0 {
            return Ok((finished, stats.dead));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a reconcile found and did.
#[derive(Debug, Clone)]
pub struct Summary {
    /// The Kommo side.
    pub kommo: CatchUpReport,
    /// The Loops side, with `--loops`.
    pub loops: Option<LoopsRecovery>,
    /// Outbox jobs finished and dead letters, when this run executed them.
    pub outbox: Option<(u64, u64)>,
}

/// A spinner with a message, or a hidden one.
fn spinner(visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Runs a reconcile on the server's store (`config.store`, which must be set explicitly: the
/// record of changes there tells what the webhooks brought), printing what it finds to `out`
/// and, with `progress`, a progress bar to the terminal.
pub async fn run(
    config: &ServerConfig,
    options: &ReconcileOptions,
    out: &mut (dyn Write + Send),
    progress: bool,
) -> Result<Summary, String> {
    if config.store == StoreConfig::Sqlite("backfill.db".into()) {
        return Err(
            "set OUTBOX_PATH or DATABASE_URL to the server's store: its record of changes \
             tells which changes their webhooks brought"
                .into(),
        );
    }
    let bridge = crate::setup::bridge(config).await?;
    let emails = config.emails_in_logs;
    let io = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "Kommo's events log from {} to {}{}",
        format_rfc3339(options.since),
        format_rfc3339(options.until),
        if options.dry_run {
            " (dry run: nothing is stored)"
        } else {
            ""
        }
    )
    .map_err(io)?;
    let bar = spinner(progress);
    let result = bridge
        .recover(window(options), options.dry_run, &mut |p| {
            bar.set_message(format!(
                "log pages {} | events {} | changes {} | resolved {}",
                p.pages, p.events, p.changes, p.resolved
            ));
        })
        .await;
    bar.finish_and_clear();
    let (report, found) = result.map_err(|e| e.to_string())?;
    for change in &found {
        writeln!(out, "{}", describe(change, emails)).map_err(io)?;
    }
    writeln!(
        out,
        "{} events read, {} Kommo requests: {} changes the rules react to, {} brought by their \
         webhooks (or recovered before), {} recovered{}",
        report.events,
        report.kommo_requests,
        report.changes,
        report.changes - report.recovered,
        report.recovered,
        if options.dry_run {
            String::new()
        } else {
            format!(" ({} planning jobs new to the outbox)", report.enqueued)
        }
    )
    .map_err(io)?;

    let loops = if options.loops {
        let bar = spinner(progress);
        let result = bridge
            .recover_loops(options.dry_run, &mut |p| {
                bar.set_message(format!(
                    "Loops contacts checked {} | unsubscribed or suppressed {} | recovered {}",
                    p.checked, p.unsubscribed, p.recovered
                ));
            })
            .await;
        bar.finish_and_clear();
        let loops = result.map_err(|e| e.to_string())?;
        for (email, plan) in &loops.plans {
            let mut line = format!(
                "{}: unsubscribed, no webhook; would plan",
                emails.apply(email)
            );
            push_plan(&mut line, plan, emails);
            writeln!(out, "{line}").map_err(io)?;
        }
        writeln!(
            out,
            "Loops: {} synced contacts checked ({} unknown to Loops): {} unsubscribed or \
             suppressed ({} suppressed), {} already on record, {} recovered as \
             contact.unsubscribed{}",
            loops.checked,
            loops.unknown,
            loops.unsubscribed,
            loops.suppressed,
            loops.known,
            loops.recovered,
            if options.dry_run {
                String::new()
            } else {
                format!(" ({} actions new to the outbox)", loops.enqueued)
            }
        )
        .map_err(io)?;
        Some(loops)
    } else {
        None
    };

    let mut summary = Summary {
        kommo: report,
        loops,
        outbox: None,
    };
    if options.dry_run || options.enqueue_only {
        return Ok(summary);
    }
    let workers = bridge.spawn_workers(config.workers);
    let bar = spinner(progress);
    let drained = drain(&bridge, |finished, dead| {
        bar.set_message(format!("outbox: finished {finished} | dead {dead}"));
    })
    .await;
    bar.finish_and_clear();
    workers.shutdown().await;
    let (finished, dead) = drained?;
    writeln!(out, "outbox: {finished} jobs finished, {dead} dead letters").map_err(io)?;
    summary.outbox = Some((finished, dead));
    if dead > 0 {
        return Err(format!(
            "{dead} jobs failed; see them with the outbox example (`outbox dead`)"
        ));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_table() {
        let table: [(&str, Option<i64>); 14] = [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2026-11-27T09:30:00Z", Some(1_795_771_800)),
            ("2026-11-27T09:30:00.123Z", Some(1_795_771_800)),
            ("2026-11-27 09:30:00Z", Some(1_795_771_800)),
            ("2026-11-27T10:30:00+01:00", Some(1_795_771_800)),
            ("2026-11-27T04:00:00-05:30", Some(1_795_771_800)),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800)),
            ("2023-02-29T00:00:00Z", None),
            ("2026-13-01T00:00:00Z", None),
            ("2026-11-27T24:00:00Z", None),
            ("2026-11-27T09:30:00", None),
            ("2026-11-27", None),
            ("yesterday", None),
            ("2026-11-27T09:30:00+0100", None),
        ];
        for (text, expected) in table {
            assert_eq!(parse_rfc3339(text).ok(), expected, "{text}");
        }
        for secs in [0, 1_795_771_800, 1_709_164_800, 951_782_400, -86_400] {
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Ok(secs), "{secs}");
        }
    }

    #[test]
    fn arguments() {
        let args = |list: &[&str]| parse_args(list.iter().map(|s| s.to_string()), 2_000_000_000);
        let options = args(&["--since", "2026-11-27T09:30:00Z", "--dry-run"]).unwrap();
        assert_eq!(
            options,
            ReconcileOptions {
                since: 1_795_771_800,
                until: 2_000_000_000,
                dry_run: true,
                loops: false,
                enqueue_only: false,
            }
        );
        let options = args(&[
            "--since",
            "2026-11-27T09:30:00Z",
            "--until",
            "2026-11-27T10:30:00Z",
            "--loops",
            "--enqueue-only",
        ])
        .unwrap();
        assert_eq!(options.until, 1_795_775_400);
        assert!(options.loops && options.enqueue_only && !options.dry_run);
        for (bad, message) in [
            (vec!["--dry-run"], "--since is required"),
            (vec!["--since"], "needs a time"),
            (vec!["--since", "soon"], "not an RFC 3339 time"),
            (
                vec![
                    "--since",
                    "2026-11-27T09:30:00Z",
                    "--until",
                    "2026-11-27T09:00:00Z",
                ],
                "after",
            ),
            (
                vec!["--since", "2026-11-27T09:30:00Z", "--all"],
                "unknown argument",
            ),
        ] {
            let err = args(&bad).unwrap_err();
            assert!(err.contains(message), "{bad:?}: {err}");
        }
    }
}
