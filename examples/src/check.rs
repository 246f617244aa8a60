//! The preflight as a command: `check --rules FILE [--fix] [--json]` checks what the rules
//! need against the accounts the environment configures (as the server reads them), or, when
//! it configures none, against the sandbox fakes. The `check` example is a thin wrapper
//! around [`main`]; the server runs the same check at startup and logs it with [`log`].

use std::io::Write;

use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::preflight::{self, Check, PreflightOptions, Report, Status};
use kommo_loops_sandbox::{kommo, loops};

use crate::config::ServerConfig;

/// The command line, for error messages.
pub const USAGE: &str = "usage: check --rules FILE [--fix] [--json]";

/// Exit codes: every check holds.
pub const PASSED: u8 = 0;
/// Some check failed.
pub const FAILED: u8 = 1;
/// The command could not run (bad arguments, an invalid rules file, incomplete settings).
pub const CANNOT_RUN: u8 = 2;

/// The path token the sandbox's subscription uses (a fake receiver: nothing listens there).
const SANDBOX_TOKEN: &str = "check-sandbox-webhook-token";

/// Logs a report at startup: failed checks as errors, warnings as warnings, the rest as
/// information.
pub fn log(report: &Report) {
    for check in &report.checks {
        match check.status {
            Status::Failed => tracing::error!("preflight: {check}"),
            Status::Warning => tracing::warn!("preflight: {check}"),
            _ => tracing::info!("preflight: {check}"),
        }
    }
    if report.passed() {
        tracing::info!("preflight passed");
    } else {
        tracing::error!(
            "preflight failed: the lines above say what to fix; /healthz lists them until the \
             next start"
        );
    }
}

struct Args {
    rules: String,
    fix: bool,
    json: bool,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args {
        rules: String::new(),
        fix: false,
        json: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rules" => parsed.rules = args.next().ok_or("--rules needs a file")?,
            "--fix" => parsed.fix = true,
            "--json" => parsed.json = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if parsed.rules.is_empty() {
        return Err("--rules is required".into());
    }
    Ok(parsed)
}

/// Where the check runs: real accounts, or fakes that live as long as this value.
struct Accounts {
    loops: loops_client::Client,
    kommo: kommo_client::Client,
    options: PreflightOptions,
    described: String,
    _fakes: Option<(loops::Sandbox, kommo::Sandbox)>,
}

/// The accounts the environment configures (`KOMMO_BASE_URL`, `KOMMO_TOKEN` or the OAuth
/// settings, `LOOPS_API_KEY`, `LOOPS_BASE_URL`, `KOMMO_WEBHOOK_TOKEN`,
/// `LOOPS_WEBHOOK_SECRET`), or `None` when it configures neither account.
fn configured(
    get: &dyn Fn(&str) -> Option<String>,
    rules: &str,
) -> Result<Option<Accounts>, String> {
    let set = |k: &str| get(k).is_some_and(|v| !v.trim().is_empty());
    if !set("KOMMO_BASE_URL") && !set("LOOPS_API_KEY") {
        return Ok(None);
    }
    let config = ServerConfig::for_backfill(|k| match k {
        "RULES_FILE" => Some(rules.to_owned()),
        other => get(other),
    })?;
    let mut options =
        PreflightOptions::new().loops_webhook_secret(config.loops_webhook_secret.clone());
    if set("KOMMO_WEBHOOK_TOKEN") {
        options = options.kommo_webhook_token(config.kommo_webhook_token.clone());
    }
    Ok(Some(Accounts {
        loops: crate::setup::loops_client(&config)?,
        kommo: crate::setup::kommo_client(&config)?,
        options,
        described: format!("the accounts of {}", config.kommo_base_url),
        _fakes: None,
    }))
}

/// The demo's accounts, as new ones are: the Kommo fake with the onboarding pipeline and
/// fields, subscribed with what the rules need; the Loops fake with the `cl_welcome` email
/// and none of the custom contact properties.
async fn sandbox(rules: &Rules) -> Result<Accounts, String> {
    let (loops, kommo) = crate::demo::fakes_with(
        loops::Config::default(),
        kommo::Config::saas_onboarding(),
        false,
    )
    .await?;
    kommo.subscribe(
        &format!("http://127.0.0.1:9/webhooks/kommo/{SANDBOX_TOKEN}"),
        rules.kommo_webhook_settings(),
    );
    let secret = loops_client::webhooks::WebhookSecret::from_bytes(b"check-sandbox".to_vec());
    Ok(Accounts {
        loops: loops_client::Client::builder()
            .api_key(loops.api_key())
            .base_url(loops.base_url())
            .build()
            .map_err(|e| e.to_string())?,
        kommo: kommo_client::Client::builder()
            .base_url(&kommo.base_url())
            .long_lived_token(kommo.token())
            .build()
            .map_err(|e| e.to_string())?,
        options: PreflightOptions::new()
            .kommo_webhook_token(SANDBOX_TOKEN)
            .loops_webhook_secret(secret.to_whsec()),
        described: "the sandbox fakes (no KOMMO_BASE_URL or LOOPS_API_KEY is set)".into(),
        _fakes: Some((loops, kommo)),
    })
}

/// Runs the command: prints the report (text or JSON) to `out` and returns the exit code.
/// Problems that stop it are printed to `err`, one line each.
pub async fn main(
    args: impl IntoIterator<Item = String>,
    get: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match run(args, get, out).await {
        Ok(passed) => {
            if passed {
                PASSED
            } else {
                FAILED
            }
        }
        Err(problem) => {
            for line in problem.lines() {
                let _ = writeln!(err, "check: {line}");
            }
            let _ = writeln!(err, "{USAGE}");
            CANNOT_RUN
        }
    }
}

async fn run(
    args: impl IntoIterator<Item = String>,
    get: &dyn Fn(&str) -> Option<String>,
    out: &mut dyn Write,
) -> Result<bool, String> {
    let args = parse(args)?;
    let rules = Rules::from_path(&args.rules).map_err(|e| e.to_string())?;
    let accounts = match configured(get, &args.rules)? {
        Some(accounts) => accounts,
        None => sandbox(&rules).await?,
    };
    let check = || preflight::check(&rules, &accounts.loops, &accounts.kommo, &accounts.options);
    let mut report = check().await;
    let mut fixed: Vec<Check> = Vec::new();
    if args.fix && !report.missing_properties.is_empty() {
        fixed = preflight::fix(&accounts.loops, &report).await;
        report = check().await;
    }
    let write = |out: &mut dyn Write, text: String| {
        writeln!(out, "{text}").map_err(|e| format!("cannot write the report: {e}"))
    };
    if args.json {
        let mut json = report.to_json();
        json["rules"] = args.rules.clone().into();
        json["against"] = accounts.described.clone().into();
        json["fixed"] = fixed.iter().map(Check::to_json).collect();
        write(out, json.to_string())?;
    } else {
        write(
            out,
            format!("checking {} against {}", args.rules, accounts.described),
        )?;
        for line in &fixed {
            write(out, format!("fix: {line}"))?;
        }
        write(out, report.to_string())?;
    }
    Ok(report.passed())
}
