//! Coalescing in the outbox, end to end against the Loops fake: a burst of edits of one
//! contact waiting in the outbox (Loops' 10 requests a second hold the workers back) goes out
//! as one upsert with the final properties, leaves Loops as the calls one by one would, and
//! keeps its place before the contact's next event. The number of calls is the figure in
//! docs/performance.md ("Coalescing a burst of edits").

mod common;

use std::time::{Duration, SystemTime};

use common::onboarding;
use kommo_loops_bridge::Action;
use kommo_loops_bridge::runtime::BridgeConfig;
use kommo_loops_bridge::runtime::outbox::{ItemState, NewItem};
use kommo_loops_examples::demo::{Stack, StackOptions};

const UPDATE: &str = "PUT /v1/contacts/update";
const EVENT: &str = "POST /v1/events/send";
const EMAIL: &str = "ada@acme.io";

fn action(value: serde_json::Value) -> NewItem {
    let action: Action = serde_json::from_value(value).expect("a valid action");
    NewItem::action(action, "test")
}

/// Edit `n` of the burst: the first name changes every time, the last name once.
fn edit(n: usize) -> NewItem {
    let mut properties = serde_json::json!({ "firstName": format!("Ada {n}") });
    if n == 3 {
        properties["lastName"] = serde_json::json!("Lovelace");
    }
    action(serde_json::json!({
        "type": "loops.upsert_contact",
        "idempotencyKey": format!("edit-{n}"),
        "email": EMAIL,
        "properties": properties,
        "kommoContactId": 5101,
        "rule": "contact changed",
    }))
}

struct Run {
    upserts: u64,
    events: u64,
    first_name: Option<String>,
    last_name: Option<String>,
}

/// Ten edits of one contact and then an event, stored within a second, drained.
async fn burst(config: BridgeConfig) -> Run {
    let stack = Stack::start_with(onboarding(), config, StackOptions::new().workers(0))
        .await
        .unwrap();
    let mut items: Vec<NewItem> = (1..=10).map(edit).collect();
    items.push(action(serde_json::json!({
        "type": "loops.send_event",
        "idempotencyKey": "event-after-the-burst",
        "email": EMAIL,
        "eventName": "trial_started",
        "rule": "trial",
    })));
    let outbox = stack.bridge.outbox();
    assert_eq!(outbox.enqueue(items, SystemTime::now()).await.unwrap(), 11);
    let reports = stack.bridge.drain(Duration::from_secs(20)).await.unwrap();
    assert_eq!(reports.len(), 11, "one report per item");
    for n in 1..=10 {
        let item = outbox.get(&format!("edit-{n}")).await.unwrap().unwrap();
        assert_eq!(item.state, ItemState::Done, "edit {n}");
    }
    // The event ran after every edit: it is the partition's last item.
    let event = outbox.get("event-after-the-burst").await.unwrap().unwrap();
    let last_edit = outbox.get("edit-10").await.unwrap().unwrap();
    let finished = |item: &kommo_loops_bridge::runtime::outbox::Item| {
        item.attempts.last().map(|a| a.at_ms).unwrap_or_default()
    };
    assert!(finished(&event) >= finished(&last_edit));
    assert!(
        stack
            .loops
            .events()
            .iter()
            .any(|e| e.event_name == "trial_started"),
        "the event was sent"
    );
    let contact = stack.loops.contact(EMAIL).expect("the contact exists");
    let stats = stack.loops.request_stats();
    let run = Run {
        upserts: stats.requests_to(UPDATE),
        events: stats.requests_to(EVENT),
        first_name: contact.first_name.clone(),
        last_name: contact.last_name.clone(),
    };
    stack.stop().await;
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_ten_edits_is_one_loops_call() {
    let coalesced = burst(BridgeConfig::default()).await;
    let baseline = burst(BridgeConfig::default().coalesce_upserts(false)).await;

    assert_eq!(coalesced.upserts, 1, "ten edits, one call");
    assert_eq!(baseline.upserts, 10, "the baseline: one call per edit");
    assert_eq!((coalesced.events, baseline.events), (1, 1));
    for run in [&coalesced, &baseline] {
        assert_eq!(
            run.first_name.as_deref(),
            Some("Ada 10"),
            "later values win"
        );
        assert_eq!(
            run.last_name.as_deref(),
            Some("Lovelace"),
            "earlier values are kept"
        );
    }
}
