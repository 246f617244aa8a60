//! What the outbox keeps of large Kommo deliveries: a delivery's body is stored until it is
//! planned, then dropped (its key stays, so a redelivery is still recognised). So the SQLite
//! file grows with the deliveries waiting to be planned, not with every body ever received.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kommo_loops_bridge::runtime::outbox::{ItemState, Job};
use kommo_loops_bridge::runtime::{BridgeConfig, SqliteOutbox};
use kommo_loops_examples::demo::{self, Stack, StackOptions};

mod common;

const FORM: &str = "application/x-www-form-urlencoded";
const DELIVERIES: usize = 40;
/// Each delivery's body: a lead event and 1 MiB of padding.
const PAD: usize = 1024 * 1024 - 100;

/// The database file and its write-ahead log, in bytes.
fn on_disk(path: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planned_deliveries_leave_their_bodies_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outbox.db");
    let store = Arc::new(SqliteOutbox::open(&path).await.unwrap());
    let rules = kommo_loops_bridge::Rules::from_path(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap()
            .join(demo::RULES),
    )
    .unwrap();
    let stack = Stack::start_with(
        rules,
        BridgeConfig::default(),
        StackOptions::new().stores(store.clone(), store.clone()),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let mut reports = stack.bridge.subscribe();
    let started = Instant::now();
    let before = on_disk(&path);
    let mut keys = Vec::new();
    let mut largest = 0;
    for n in 0..DELIVERIES {
        let body = format!(
            "leads%5Badd%5D%5B0%5D%5Bid%5D={}&account%5Bid%5D=31000001&pad={}",
            1000 + n,
            "a".repeat(PAD)
        );
        let answer = http
            .post(stack.kommo_webhook_url())
            .header("content-type", FORM)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        common::settle(&stack).await;
        largest = largest.max(on_disk(&path));
        keys.push(body);
    }
    let grew = on_disk(&path).saturating_sub(before);
    let dead = stack.bridge.outbox().dead_letters(10).await.unwrap();
    assert!(dead.is_empty(), "{dead:?}");
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    // Without dropping the bodies the file would hold all of them: 40 MiB.
    assert!(
        largest < 8 * 1024 * 1024,
        "the outbox reached {:.1} MiB",
        mib(largest)
    );
    let answer = http
        .post(stack.kommo_webhook_url())
        .header("content-type", FORM)
        .body(keys[0].clone())
        .send()
        .await
        .unwrap();
    let again: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(again["status"], "duplicate", "{again}");
    // Every planning job is done and holds no body any more.
    let mut planned_items = 0;
    while let Ok(report) = reports.try_recv() {
        if report.job != "plan a Kommo delivery" {
            continue;
        }
        let item = stack
            .bridge
            .outbox()
            .get(&report.key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.state, ItemState::Done);
        assert_eq!(
            item.job,
            Job::PlanKommo {
                body: String::new()
            }
        );
        planned_items += 1;
    }
    assert!(planned_items >= DELIVERIES, "{planned_items}");
    println!(
        "observed: {DELIVERIES} deliveries of 1 MiB, each planned before the next: the outbox \
         file and its log grew by {:.1} MiB (at most {:.1} MiB on disk), {planned_items} planning \
         jobs kept without their bodies, a redelivery still recognised; {:.1} s",
        mib(grew),
        mib(largest),
        started.elapsed().as_secs_f64()
    );
    stack.stop().await;
}
