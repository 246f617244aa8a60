//! The dry run's command line: output format, exit codes, errors on one line.

use std::path::{Path, PathBuf};
use std::process::Command;

use kommo_loops_examples::dry_run::run;
use loops_client::webhooks::WebhookSecret;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn arg(path: &str) -> String {
    root().join(path).display().to_string()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn rules() -> String {
    arg("examples/rules/saas-onboarding.toml")
}

fn golden(case: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(
        root()
            .join("kommo-loops-bridge/tests/golden")
            .join(case)
            .join("plan.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn kommo_bodies_plan_like_the_engine() {
    for case in [
        "lead_status_won",
        "lead_added_needs_the_lead",
        "multi_entity",
    ] {
        let dir = format!("kommo-loops-bridge/tests/golden/{case}");
        let mut cli = vec![
            "--rules".to_owned(),
            rules(),
            "--kommo".into(),
            arg(&format!("{dir}/body.form")),
        ];
        let snapshot = root().join(&dir).join("snapshot.json");
        if snapshot.exists() {
            cli.extend(["--snapshot".into(), snapshot.display().to_string()]);
        }
        let out = run(cli, &mut std::io::empty()).unwrap();
        assert!(!out.contains('\n'), "one line");
        let json: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(json, golden(case), "{case}");
    }
}

#[test]
fn backfill_mode_and_stdin() {
    let dir = root().join("kommo-loops-bridge/tests/golden/lead_status_won_backfill");
    let body = std::fs::read(dir.join("body.form")).unwrap();
    let cli = args(&[
        "--rules",
        &rules(),
        "--kommo",
        "-",
        "--mode",
        "backfill",
        "--snapshot",
        &dir.join("snapshot.json").display().to_string(),
    ]);
    let out = run(cli, &mut body.as_slice()).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap(),
        golden("lead_status_won_backfill")
    );
}

#[test]
fn merging_can_be_turned_off() {
    let dir = root().join("kommo-loops-bridge/tests/golden/lead_status_won_unmerged");
    let cli = |merge: &str| {
        args(&[
            "--rules",
            &rules(),
            "--kommo",
            &dir.join("body.form").display().to_string(),
            "--snapshot",
            &dir.join("snapshot.json").display().to_string(),
            "--merge",
            merge,
        ])
    };
    let off = run(cli("off"), &mut std::io::empty()).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&off).unwrap(),
        golden("lead_status_won_unmerged")
    );
    let on = run(cli("on"), &mut std::io::empty()).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&on).unwrap(),
        golden("lead_status_won")
    );
}

fn signed_loops_args(body: &str, secret: &WebhookSecret, ts: i64, now: i64) -> Vec<String> {
    let signature = secret.sign("msg_1", ts, body.as_bytes());
    args(&[
        "--rules",
        &rules(),
        "--loops",
        body,
        "--secret",
        &secret.to_whsec(),
        "--webhook-id",
        "msg_1",
        "--webhook-timestamp",
        &ts.to_string(),
        "--webhook-signature",
        &signature,
        "--now",
        &now.to_string(),
    ])
}

const BOUNCE: &str = r#"{"eventName":"email.hardBounced","eventTime":1767312000,"webhookSchemaVersion":"1.0.0","sourceType":"campaign","campaignId":"c1","email":{"id":"e1"},"contactIdentity":{"id":"c","email":"ada@acme.io","userId":null}}"#;

#[test]
fn loops_deliveries_are_verified_then_planned() {
    let secret = WebhookSecret::from_bytes(b"demo-secret".to_vec());
    let out = run(
        signed_loops_args(BOUNCE, &secret, 1_767_312_000, 1_767_312_010),
        &mut std::io::empty(),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let types: Vec<&str> = json["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["kommo.add_note", "kommo.add_task"]);
    assert_eq!(json["needs"], serde_json::Value::Null);
    assert_eq!(
        json["actions"][0]["target"],
        serde_json::json!({"email": "ada@acme.io", "on": "lead"})
    );
}

#[test]
fn bad_input_is_one_line_and_names_the_problem() {
    let secret = WebhookSecret::from_bytes(b"demo-secret".to_vec());
    let stale = signed_loops_args(BOUNCE, &secret, 1_767_312_000, 1_767_320_000);
    let mut bad_sig = signed_loops_args(BOUNCE, &secret, 1_767_312_000, 1_767_312_010);
    bad_sig[11] = "v1,AAAA".into();
    let mut tampered = signed_loops_args(BOUNCE, &secret, 1_767_312_000, 1_767_312_010);
    tampered[3] = BOUNCE.replace("ada@", "eve@");
    let bad_rules = std::env::temp_dir().join("kommo-loops-dry-run-bad-rules.toml");
    std::fs::write(
        &bad_rules,
        "[[kommo]]\nname = \"x\"\nwhen = { event = \"lead_added\" }\ndo = []\n",
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (args(&[]), "--rules is required"),
        (args(&["--rules", &rules()]), "give --kommo or --loops"),
        (
            args(&["--rules", "missing.toml", "--kommo", "a=b"]),
            "missing.toml: cannot read",
        ),
        (
            args(&[
                "--rules",
                &bad_rules.display().to_string(),
                "--kommo",
                "a=b",
            ]),
            "`do`: the rule does nothing",
        ),
        (
            args(&["--rules", &rules(), "--kommo", "no-such-file.form"]),
            "cannot read no-such-file.form",
        ),
        (
            args(&[
                "--rules",
                &rules(),
                "--kommo",
                "leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&leads%5Bstatus%5D%5B0%5D=2",
            ]),
            "Kommo webhook body",
        ),
        (
            args(&["--rules", &rules(), "--kommo", "a=b", "--mode", "dry"]),
            "unknown mode",
        ),
        (
            args(&["--rules", &rules(), "--kommo", "a=b", "--merge", "maybe"]),
            "unknown --merge \"maybe\"",
        ),
        (
            args(&[
                "--rules",
                &rules(),
                "--kommo",
                "a=b",
                "--snapshot",
                "nope.json",
            ]),
            "cannot read nope.json",
        ),
        (
            args(&["--rules", &rules(), "--kommo", "a=b", "--secret", "x"]),
            "--secret only goes with --loops",
        ),
        (
            args(&["--rules", &rules(), "--kommo", "a=b", "--kommo", "c=d"]),
            "--kommo is given twice",
        ),
        (
            args(&["--rules", &rules(), "--colour", "red"]),
            "unknown flag --colour",
        ),
        (
            args(&["--rules", &rules(), "--loops", BOUNCE]),
            "--secret is required",
        ),
        (stale, "timestamp"),
        (bad_sig, "no webhook-signature entry matches"),
        (tampered, "no webhook-signature entry matches"),
    ];
    for (cli, expected) in cases {
        let err = run(cli.clone(), &mut std::io::empty()).unwrap_err();
        assert!(
            err.contains(expected),
            "{cli:?}\n--> {err}\nshould contain {expected}"
        );
    }
}

/// The real example binary: exit codes and streams (`cargo test` builds the examples).
#[test]
fn the_binary_exits_0_or_2() {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("dry_run");
    if !binary.exists() {
        eprintln!("skipped: {} was not built", binary.display());
        return;
    }
    let ok = Command::new(&binary)
        .args([
            "--rules",
            &rules(),
            "--kommo",
            &arg("kommo-loops-bridge/tests/golden/lead_added_needs_the_lead/body.form"),
        ])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    assert!(ok.stderr.is_empty());
    let stdout = String::from_utf8(ok.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    serde_json::from_str::<serde_json::Value>(&stdout).unwrap();

    let bad = Command::new(&binary)
        .args(["--rules", &rules(), "--kommo", "x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    let stderr = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("dry_run: "));
}

#[test]
fn stage_names_are_resolved_against_the_snapshots_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("named.toml");
    std::fs::write(
        &named,
        r#"[[kommo]]
name = "won by name"
when = { event = "lead_status", pipeline = "SaaS sales", from = "activated", to = "Won" }
do = [ { send_event = { event = "deal_won" } } ]
"#,
    )
    .unwrap();
    let case = "kommo-loops-bridge/tests/golden/lead_status_won";
    let cli = |snapshot: bool| {
        let mut cli = args(&["--rules", named.to_str().unwrap(), "--kommo"]);
        cli.push(arg(&format!("{case}/body.form")));
        if snapshot {
            cli.extend(["--snapshot".into(), arg(&format!("{case}/snapshot.json"))]);
        }
        run(cli, &mut std::io::empty())
    };
    let json: serde_json::Value = serde_json::from_str(&cli(true).unwrap()).unwrap();
    let actions = json["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{json}");
    assert_eq!(actions[0]["eventName"], "deal_won");
    let err = cli(false).unwrap_err();
    assert!(
        err.contains("the rules name stages or pipelines: give a --snapshot with \"pipelines\""),
        "{err}"
    );
}
