//! `bulk_move`, small and fast: a bulk change reaches Loops exactly once per effect, at one
//! Loops call per stage change, and a delivery of many leads costs a handful of Kommo reads.

mod common;

use common::root;
use kommo_loops_examples::bulk_move::{BulkMoveArgs, Mode, run};
use kommo_loops_examples::demo;

fn small(leads: usize) -> BulkMoveArgs {
    BulkMoveArgs {
        leads,
        loops_rate: 500,
        kommo_rate: 200,
        workers: 4,
        modes: vec![Mode::Merged],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_change_costs_one_loops_call_per_stage_change_and_loses_nothing() {
    let args = small(20);
    let rules = root().join(demo::RULES);
    let merged = run(&args, &rules, Mode::Merged).await.unwrap();
    assert_eq!((merged.lost, merged.duplicates), (0, 0), "{merged:?}");
    assert!(merged.loops_calls_per_change <= 1.0, "{merged:?}");
    assert_eq!(merged.transactional_calls, 20, "one welcome email each");
    assert!(merged.efficiency > 0.0 && merged.floor_seconds > 0.0);
    let line: serde_json::Value = serde_json::from_str(&merged.to_json()).unwrap();
    for field in [
        "leads",
        "loops_calls",
        "loops_calls_per_change",
        "kommo_calls",
        "seconds",
        "floor_seconds",
        "efficiency",
        "lost",
        "duplicates",
        "ack_p99_ms",
        "peak_rss_mb",
    ] {
        assert!(line.get(field).is_some(), "{field} in {line}");
    }
    assert_eq!(line["mode"], "merged");

    let baseline = run(&args, &rules, Mode::Baseline).await.unwrap();
    assert_eq!((baseline.lost, baseline.duplicates), (0, 0), "{baseline:?}");
    assert_eq!(
        baseline.loops_calls_per_change, 2.0,
        "an upsert and an event"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_of_many_leads_reads_them_in_bulk() {
    // 120 leads, twice: six bodies of at most 50 leads. Each body's planning reads its leads,
    // their contacts and their companies, one request each, and the pipelines once (cached;
    // workers planning at the same moment may each read them once before the cache fills):
    // at most 6 * 3 + 4 = 22 Kommo requests, where reading one entity at a time took 720.
    let report = run(&small(120), &root().join(demo::RULES), Mode::Merged)
        .await
        .unwrap();
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
    assert_eq!(report.webhooks, 6, "{report:?}");
    assert!(report.kommo_calls <= 6 * 3 + 4, "{report:?}");
}
