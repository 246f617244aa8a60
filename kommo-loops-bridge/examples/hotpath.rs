//! Runs one hot path many times, for profilers: `hotpath parse|plan|both|json|loops N`, or
//! `hotpath parse N FILE` to parse another body.
use std::hint::black_box;
use std::path::Path;

use kommo_loops_bridge::{Mode, Rules, Snapshot};

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "both".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = Rules::from_path(root.join("../examples/rules/saas-onboarding.toml")).unwrap();
    let golden = |case: &str, file: &str| {
        std::fs::read_to_string(root.join("tests/golden").join(case).join(file)).unwrap()
    };
    let body = match args.next() {
        Some(file) => std::fs::read_to_string(file).unwrap(),
        None => golden("lead_status_won", "body.form"),
    };
    let snapshot = Snapshot::from_json(&golden("lead_status_won", "snapshot.json")).unwrap();
    let payload = kommo_client::webhooks::parse(body.as_bytes()).unwrap();
    let planned = rules.plan_kommo(&payload, &snapshot, Mode::Live);
    let bounce = golden("loops_hard_bounce", "loops.json");
    let secret = loops_client::webhooks::WebhookSecret::from_bytes(b"bench-secret".to_vec());
    let sig = secret.sign("msg_1", 1_767_312_000, bounce.as_bytes());
    let verifier = loops_client::webhooks::WebhookVerifier::new(&secret.to_whsec()).unwrap();
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_312_010);
    for _ in 0..n {
        match what.as_str() {
            "parse" => {
                black_box(kommo_client::webhooks::parse(black_box(body.as_bytes())).unwrap());
            }
            "plan" => {
                black_box(rules.plan_kommo(black_box(&payload), &snapshot, Mode::Live));
            }
            "json" => {
                black_box(serde_json::to_vec(black_box(&planned)).unwrap());
            }
            "both" => {
                let p = kommo_client::webhooks::parse(black_box(body.as_bytes())).unwrap();
                black_box(rules.plan_kommo(&p, &snapshot, Mode::Live));
            }
            "loops" => {
                let headers =
                    loops_client::webhooks::WebhookHeaders::new("msg_1", "1767312000", &sig);
                black_box(
                    verifier
                        .verify_and_parse(&headers, black_box(bounce.as_bytes()), now)
                        .unwrap(),
                );
            }
            _ => panic!("parse|plan|both|json|loops"),
        }
    }
}
