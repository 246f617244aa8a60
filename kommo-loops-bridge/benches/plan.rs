//! Parse + plan costs on the onboarding rules.
//!
//! `cargo bench -p kommo-loops-bridge --bench plan`

use std::hint::black_box;
use std::path::Path;

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
    c.bench_function("kommo status webhook: parse + plan (won, 3 actions)", |b| {
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

criterion_group!(plan, benches);
criterion_main!(plan);
