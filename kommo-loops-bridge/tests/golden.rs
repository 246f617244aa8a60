//! Golden tests: each folder under `tests/golden/` holds a webhook (`body.form` from Kommo or
//! `loops.json` + `webhook-id` from Loops), optionally `snapshot.json`, `rules.toml` (else the
//! onboarding rules in `examples/rules/`), `mode` and `merge` (`off` turns off merging
//! upserts into events), and the expected plan in `plan.json`, in the dry run's output
//! format.
//!
//! `UPDATE_GOLDEN=1 cargo test -p kommo-loops-bridge --test golden` rewrites the expected
//! plans; review the diff before committing.

use std::path::{Path, PathBuf};

use kommo_loops_bridge::{Mode, Planning, Rules, Snapshot};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn rules_for(dir: &Path) -> Rules {
    let own = dir.join("rules.toml");
    let path = if own.exists() {
        own
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rules/saas-onboarding.toml")
    };
    Rules::from_path(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn plan(dir: &Path) -> Planning {
    let merge = std::fs::read_to_string(dir.join("merge")).map_or(true, |m| m.trim() != "off");
    plan_with(dir, merge)
}

/// Plans a case with upserts merged into events (the default) or not.
fn plan_with(dir: &Path, merge: bool) -> Planning {
    let rules = rules_for(dir).merging_upserts_into_events(merge);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    if let Some(body) = read("body.form") {
        let payload = kommo_client::webhooks::parse(body.as_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let snapshot =
            read("snapshot.json").map_or_else(Snapshot::new, |s| Snapshot::from_json(&s).unwrap());
        let mode: Mode = read("mode").map_or(Mode::Live, |m| m.trim().parse().unwrap());
        rules.plan_kommo(&payload, &snapshot, mode)
    } else {
        let body = read("loops.json").expect("body.form or loops.json");
        let id = read("webhook-id").expect("webhook-id");
        let event = loops_client::webhooks::WebhookEvent::parse(body.as_bytes()).unwrap();
        Planning::Ready(rules.plan_loops(id.trim(), &event))
    }
}

#[test]
fn golden_plans() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 30, "the golden cases are missing");
    for dir in &cases {
        let planning = plan(dir);
        // The same inputs always give the same plan.
        assert_eq!(
            planning,
            plan(dir),
            "{}: planning is not deterministic",
            dir.display()
        );
        let actual = serde_json::to_string_pretty(&planning).unwrap() + "\n";
        let expected_path = dir.join("plan.json");
        if update {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(_) => failures.push(format!(
                "{}: plan differs (UPDATE_GOLDEN=1 to review)",
                dir.display()
            )),
            Err(_) => failures.push(format!("{}: no plan.json", dir.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Keys of a case's actions.
fn keys(case: &str) -> Vec<String> {
    keys_with(case, true)
}

/// Keys of a case's actions, with upserts merged into events or not.
fn keys_with(case: &str, merge: bool) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(case);
    plan_with(&dir, merge)
        .actions()
        .iter()
        .map(|a| a.idempotency_key().to_owned())
        .collect()
}

#[test]
fn keys_follow_the_transition() {
    // Upsert, event, transactional; merged, the event carries the upsert under its own key.
    let won = keys_with("lead_status_won", false);
    assert_eq!(won.len(), 3);
    let merged = keys("lead_status_won");
    assert_eq!(
        merged,
        won[1..],
        "the event and the transactional keep their keys"
    );
    let mut unique = won.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        won.len(),
        "two actions of one plan share a key"
    );
    // Another transition of the same lead: all keys differ.
    for merge in [false, true] {
        let again = keys_with("lead_status_won_again_later", merge);
        assert!(won.iter().all(|k| !again.contains(k)), "{won:?} {again:?}");
    }
    // A redelivered Loops event keeps its keys; another delivery does not.
    assert_eq!(
        keys("loops_hard_bounce"),
        keys("loops_hard_bounce_redelivered")
    );
    assert!(
        keys("loops_hard_bounce")
            .iter()
            .all(|k| !keys("loops_hard_bounce_other_delivery").contains(k))
    );
    // Backfill keeps the upsert with the same key as live without merging (live with merging
    // sends it with the event instead).
    assert_eq!(keys("lead_status_won_backfill"), won[..1]);
    for key in won {
        assert!(
            loops_client::idempotency::IdempotencyKey::new(&key).is_ok(),
            "{key}"
        );
    }
}

/// `docs/rules.md` shows the onboarding file; both must stay the same rules.
#[test]
fn the_reference_shows_the_onboarding_rules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/rules.md")).unwrap();
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let from_doc = Rules::from_toml_str("docs/rules.md", &doc[start..end]).unwrap();
    let file = Rules::from_path(root.join("examples/rules/saas-onboarding.toml")).unwrap();
    assert_eq!(from_doc.kommo_rule_names(), file.kommo_rule_names());
    assert_eq!(from_doc.loops_rule_names(), file.loops_rule_names());
    // Same behaviour on every golden case that uses the onboarding rules.
    for dir in cases().iter().filter(|d| !d.join("rules.toml").exists()) {
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
        if let Some(body) = read("body.form") {
            let payload = kommo_client::webhooks::parse(body.as_bytes()).unwrap();
            let snapshot = read("snapshot.json")
                .map_or_else(Snapshot::new, |s| Snapshot::from_json(&s).unwrap());
            assert_eq!(
                from_doc.plan_kommo(&payload, &snapshot, Mode::Live),
                file.plan_kommo(&payload, &snapshot, Mode::Live),
                "{}",
                dir.display()
            );
        }
    }
}
