//! The dry run: plans a webhook against a rules file without calling anything.
//! The `dry_run` example is a thin wrapper around [`run`].

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, UNIX_EPOCH};

use kommo_loops_bridge::{Mode, Planning, Rules, Snapshot};
use loops_client::webhooks::{WebhookHeaders, WebhookVerifier};

/// The `pipelines` of a snapshot file, as Kommo returns them (already checked by
/// `Snapshot::from_json`).
fn snapshot_pipelines(text: &str) -> Option<Vec<kommo_client::pipelines::Pipeline>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    serde_json::from_value(value.get("pipelines")?.clone()).ok()
}

/// The command line, for error messages.
pub const USAGE: &str = "usage: dry_run --rules FILE (--kommo BODY [--snapshot FILE] [--mode live|backfill] [--merge on|off] | \
--loops BODY --secret whsec_... --webhook-id ID --webhook-timestamp TS --webhook-signature SIG --now UNIX)";

/// Runs the dry run with these arguments (without the program name); `stdin` backs `-`.
///
/// `Ok` is the one JSON object to print; `Err` is the one line to print on stderr before
/// exiting with status 2.
pub fn run(args: impl IntoIterator<Item = String>, stdin: &mut dyn Read) -> Result<String, String> {
    let args = parse_args(args.into_iter())?;
    let rules_path = args.get("rules").ok_or("--rules is required")?;
    let rules = Rules::from_path(rules_path).map_err(|e| e.to_string())?;

    let planning = match (args.get("kommo"), args.get("loops")) {
        (Some(body), None) => {
            for flag in [
                "secret",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "now",
            ] {
                if args.contains_key(flag) {
                    return Err(format!("--{flag} only goes with --loops"));
                }
            }
            let body = read_body(body, stdin)?;
            let payload = kommo_client::webhooks::parse(&body)
                .map_err(|e| format!("Kommo webhook body: {e}"))?;
            let (snapshot, pipelines) = match args.get("snapshot") {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {path}: {e}"))?;
                    let snapshot =
                        Snapshot::from_json(&text).map_err(|e| format!("{path}: {e}"))?;
                    (snapshot, snapshot_pipelines(&text))
                }
                None => (Snapshot::new(), None),
            };
            // Stage and pipeline names are resolved as the server does at startup, here
            // against the snapshot's pipelines.
            let rules = match (rules.has_unresolved_names(), pipelines) {
                (false, _) => rules,
                (true, Some(pipelines)) => {
                    rules.resolve_names(&pipelines).map_err(|e| e.to_string())?
                }
                (true, None) => {
                    return Err(
                        "the rules name stages or pipelines: give a --snapshot with \
                                \"pipelines\" to resolve them"
                            .into(),
                    );
                }
            };
            let mode: Mode = args.get("mode").map_or(Ok(Mode::Live), |m| m.parse())?;
            let merge = match args.get("merge").map(String::as_str) {
                None | Some("on") => true,
                Some("off") => false,
                Some(other) => {
                    return Err(format!("unknown --merge {other:?} (expected on or off)"));
                }
            };
            rules
                .merging_upserts_into_events(merge)
                .plan_kommo(&payload, &snapshot, mode)
        }
        (None, Some(body)) => {
            for flag in ["snapshot", "mode", "merge"] {
                if args.contains_key(flag) {
                    return Err(format!("--{flag} only goes with --kommo"));
                }
            }
            let body = read_body(body, stdin)?;
            let need = |flag: &str| {
                args.get(flag)
                    .ok_or(format!("--{flag} is required with --loops"))
            };
            let verifier = WebhookVerifier::new(need("secret")?).map_err(|e| e.to_string())?;
            let now: u64 = need("now")?
                .parse()
                .map_err(|_| "--now must be a Unix timestamp in seconds")?;
            let headers = WebhookHeaders::new(
                need("webhook-id")?,
                need("webhook-timestamp")?,
                need("webhook-signature")?,
            );
            let delivery = verifier
                .verify_and_parse(&headers, &body, UNIX_EPOCH + Duration::from_secs(now))
                .map_err(|e| format!("Loops webhook: {e}"))?;
            Planning::Ready(rules.plan_loops(&delivery.id, &delivery.event))
        }
        (Some(_), Some(_)) => return Err("give --kommo or --loops, not both".into()),
        (None, None) => return Err(format!("give --kommo or --loops; {USAGE}")),
    };
    serde_json::to_string(&planning).map_err(|e| format!("cannot write the plan: {e}"))
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<BTreeMap<String, String>, String> {
    const FLAGS: [&str; 12] = [
        "rules",
        "kommo",
        "snapshot",
        "mode",
        "merge",
        "loops",
        "secret",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "now",
        "help",
    ];
    let mut map = BTreeMap::new();
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?}; {USAGE}"));
        };
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) => (f.to_owned(), Some(v.to_owned())),
            None => (flag.to_owned(), None),
        };
        if flag == "help" {
            return Err(USAGE.into());
        }
        if !FLAGS.contains(&flag.as_str()) {
            return Err(format!("unknown flag --{flag}; {USAGE}"));
        }
        let value = match inline {
            Some(v) => v,
            None => args.next().ok_or(format!("--{flag} needs a value"))?,
        };
        if map.insert(flag.clone(), value).is_some() {
            return Err(format!("--{flag} is given twice"));
        }
    }
    Ok(map)
}

/// A file, `-` for stdin, or the body itself.
fn read_body(arg: &str, stdin: &mut dyn Read) -> Result<Vec<u8>, String> {
    if arg == "-" {
        let mut body = Vec::new();
        stdin
            .read_to_end(&mut body)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(body);
    }
    let path = std::path::Path::new(arg);
    if path.is_file() {
        return std::fs::read(path).map_err(|e| format!("cannot read {arg}: {e}"));
    }
    let looks_like_body = arg.contains('=') || arg.trim_start().starts_with('{');
    if looks_like_body {
        Ok(arg.as_bytes().to_vec())
    } else {
        Err(format!("cannot read {arg}: no such file"))
    }
}
