//! Parse + plan costs on the onboarding rules, the parse of every shared Kommo webhook
//! fixture, and Loops webhook verification + parse.
//!
//! `cargo bench -p kommo-loops-bridge --bench plan`

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use kommo_loops_bridge::{Mode, Rules, Snapshot};

fn golden(case: &str, file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(case)
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn benches(c: &mut Criterion) {
    let rules = Rules::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rules/saas-onboarding.toml"),
    )
    .unwrap();

    let body = golden("lead_status_won", "body.form");
    let snapshot = Snapshot::from_json(&golden("lead_status_won", "snapshot.json")).unwrap();
    c.bench_function("kommo status webhook: parse + plan (won)", |b| {
        b.iter(|| {
            let payload = kommo_client::webhooks::parse(black_box(body.as_bytes())).unwrap();
            black_box(rules.plan_kommo(&payload, &snapshot, Mode::Live))
        })
    });
    c.bench_function("kommo status webhook: parse only", |b| {
        b.iter(|| black_box(kommo_client::webhooks::parse(black_box(body.as_bytes())).unwrap()))
    });
    let payload = kommo_client::webhooks::parse(body.as_bytes()).unwrap();
    c.bench_function("kommo status webhook: plan only", |b| {
        b.iter(|| black_box(rules.plan_kommo(black_box(&payload), &snapshot, Mode::Live)))
    });
    // The plan as the outbox stores it and the dry run prints it.
    let planning = rules.plan_kommo(&payload, &snapshot, Mode::Live);
    c.bench_function("kommo status webhook: plan to JSON", |b| {
        b.iter(|| black_box(serde_json::to_vec(black_box(&planning)).unwrap()))
    });
    let empty = Snapshot::new();
    c.bench_function(
        "kommo status webhook: parse + first pass (needs the lead)",
        |b| {
            b.iter(|| {
                let payload = kommo_client::webhooks::parse(black_box(body.as_bytes())).unwrap();
                black_box(rules.plan_kommo(&payload, &empty, Mode::Live))
            })
        },
    );

    let bounce = golden("loops_hard_bounce", "loops.json");
    c.bench_function("loops hard bounce: parse + plan", |b| {
        b.iter(|| {
            let event =
                loops_client::webhooks::WebhookEvent::parse(black_box(bounce.as_bytes())).unwrap();
            black_box(rules.plan_loops("msg_2ZtHb0unce", &event))
        })
    });
}

/// The Kommo webhook bodies captured from real accounts (shared with `kommo-client`'s tests).
fn kommo_fixtures(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kommo-client/tests/fixtures/kommo");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "form"))
        .collect();
    files.sort();
    for path in files {
        let body = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        c.bench_function(
            &format!("kommo fixture {name} ({} bytes): parse", body.len()),
            |b| b.iter(|| black_box(kommo_client::webhooks::parse(black_box(&body)).unwrap())),
        );
    }
}

/// Signature check (HMAC-SHA256 over id.timestamp.body, constant-time compare) and parse,
/// as the server does for each Loops delivery.
fn loops_verify(c: &mut Criterion) {
    use loops_client::webhooks::{WebhookHeaders, WebhookSecret, WebhookVerifier};

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../loops-client/tests/fixtures");
    let secret = WebhookSecret::from_bytes(b"bench-secret-bytes-0123456789abcdef".to_vec());
    let verifier = WebhookVerifier::new(&secret.to_whsec()).unwrap();
    let timestamp = 1_764_201_600_i64;
    let now = UNIX_EPOCH + Duration::from_secs(timestamp as u64 + 3);
    let stamp = timestamp.to_string();
    for file in [
        "webhook.email.hardBounced.json",
        "webhook.campaign.email.sent.json",
    ] {
        let body = std::fs::read(dir.join(file)).unwrap();
        let id = "msg_2ZtHb0unce";
        let signature = secret.sign(id, timestamp, &body);
        let headers = WebhookHeaders::new(id, &stamp, &signature);
        c.bench_function(
            &format!("loops {file} ({} bytes): verify + parse", body.len()),
            |b| {
                b.iter(|| {
                    black_box(
                        verifier
                            .verify_and_parse(black_box(&headers), black_box(&body), now)
                            .unwrap(),
                    )
                })
            },
        );
    }
}

criterion_group!(plan, benches, kommo_fixtures, loops_verify);
criterion_main!(plan);
