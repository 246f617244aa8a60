//! The contract of what the catch-up keeps: the record of changes (resolved atomically), the
//! watermark, the synced contacts and the oldest unplanned delivery.

use std::sync::Arc;
use std::time::Duration;

use kommo_loops_bridge::runtime::catch_up::LoggedChange;
use kommo_loops_bridge::runtime::changes::{ChangeSource, Observation, Resolution};
use kommo_loops_bridge::runtime::outbox::{Finish, Job, NewItem};

use crate::suite::{Store, item, t};

const TOLERANCE: Duration = Duration::from_secs(120);
const KEY: &str = "31:lead:4001:status:5001>5002@7001";

fn r(occurrence: u32, first: bool) -> Resolution {
    let mut resolution = resolution_template();
    resolution.occurrence = occurrence;
    resolution.first = first;
    resolution
}

/// A sighting the store held already.
fn again(occurrence: u32, first: bool) -> Resolution {
    let mut resolution = r(occurrence, first);
    resolution.recorded = false;
    resolution
}

/// A resolution to fill in (the type is non-exhaustive).
fn resolution_template() -> Resolution {
    kommo_loops_bridge::runtime::changes::resolve_changes(
        &[],
        &[Observation::webhook("template", true, 0)],
        0,
    )
    .0[0]
}

async fn observe(store: &Store, observations: &[Observation]) -> Vec<Resolution> {
    store
        .state
        .observe_changes(observations, TOLERANCE)
        .await
        .expect("observe")
}

pub async fn observe_changes_resolves_and_stores(store: &Store) {
    let webhook = Observation::webhook(KEY, true, 1_000);
    assert_eq!(
        observe(store, std::slice::from_ref(&webhook)).await,
        [r(1, true)]
    );
    assert_eq!(
        observe(store, &[webhook]).await,
        [again(1, true)],
        "the same webhook again"
    );
    let logged = Observation::log(KEY, true, 1_002, "01abc");
    assert_eq!(
        observe(store, std::slice::from_ref(&logged)).await,
        [r(1, false)]
    );
    assert_eq!(observe(store, &[logged]).await, [again(1, false)]);
    let later = Observation::log(KEY, true, 1_500, "01abd");
    assert_eq!(observe(store, &[later]).await, [r(2, true)]);

    let records = store
        .state
        .changes(&[KEY.to_owned(), "31:lead:9:added".to_owned()])
        .await
        .unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    let first = records.iter().find(|c| c.occurrence == 1).unwrap();
    assert_eq!(
        (
            first.first,
            first.webhook_at,
            first.log_at,
            first.log_id.as_deref()
        ),
        (
            ChangeSource::Webhook,
            Some(1_000),
            Some(1_002),
            Some("01abc")
        )
    );
    let second = records.iter().find(|c| c.occurrence == 2).unwrap();
    assert_eq!((second.first, second.webhook_at), (ChangeSource::Log, None));
    assert!(store.state.changes(&[]).await.unwrap().is_empty());
    assert!(observe(store, &[]).await.is_empty());
}

/// Eight sightings of one move at once, each from its own task: atomic resolution gives each
/// its own occurrence, and the same log event read by two at once one.
pub async fn concurrent_observations_resolve_once(store: &Store) {
    let state = Arc::clone(&store.state);
    let tasks: Vec<_> = (0..8i64)
        .map(|i| {
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let mut found = Vec::new();
                // Webhooks an hour apart: eight different changes.
                found.extend(
                    state
                        .observe_changes(&[Observation::webhook(KEY, true, i * 3600)], TOLERANCE)
                        .await
                        .unwrap(),
                );
                // One log event, read by everyone.
                found.extend(
                    state
                        .observe_changes(
                            &[Observation::log("31:lead:1:added", false, 5, "01same")],
                            TOLERANCE,
                        )
                        .await
                        .unwrap(),
                );
                found
            })
        })
        .collect();
    let mut occurrences = Vec::new();
    for task in tasks {
        let found = task.await.unwrap();
        assert!(found[0].first);
        occurrences.push(found[0].occurrence);
        assert_eq!(found[1].occurrence, 1);
        assert!(found[1].first, "the log saw it first, every time");
    }
    occurrences.sort_unstable();
    assert_eq!(occurrences, (1..=8).collect::<Vec<u32>>());
    assert_eq!(
        state
            .changes(&["31:lead:1:added".to_owned()])
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn watermark_only_moves_forward(store: &Store) {
    let state = &store.state;
    assert_eq!(state.watermark("kommo-events").await.unwrap(), None);
    state.advance_watermark("kommo-events", 100).await.unwrap();
    state.advance_watermark("kommo-events", 90).await.unwrap();
    assert_eq!(state.watermark("kommo-events").await.unwrap(), Some(100));
    state.advance_watermark("kommo-events", 130).await.unwrap();
    assert_eq!(state.watermark("kommo-events").await.unwrap(), Some(130));
    assert_eq!(state.watermark("other").await.unwrap(), None);
}

pub async fn synced_contacts_are_paged_in_order(store: &Store) {
    let state = &store.state;
    for (contact, email) in [("31:3", "c@x.io"), ("31:1", "a@x.io"), ("31:2", "b@x.io")] {
        state.set_synced_email(contact, email).await.unwrap();
    }
    let first = state.synced_contacts(None, 2).await.unwrap();
    assert_eq!(
        first,
        [
            ("31:1".to_owned(), "a@x.io".to_owned()),
            ("31:2".to_owned(), "b@x.io".to_owned())
        ]
    );
    let rest = state.synced_contacts(Some("31:2"), 2).await.unwrap();
    assert_eq!(rest, [("31:3".to_owned(), "c@x.io".to_owned())]);
    assert!(
        state
            .synced_contacts(Some("31:3"), 2)
            .await
            .unwrap()
            .is_empty()
    );
}

fn logged_change() -> LoggedChange {
    serde_json::from_value(serde_json::json!({
        "account_id": 31, "event": "lead_status", "entity_id": 4001, "at": 1_000,
        "status_id": 5002, "old_status_id": 5001, "pipeline_id": 7001,
        "log_ids": ["01abc"], "occurrence": 1
    }))
    .unwrap()
}

pub async fn oldest_unplanned_delivery_is_a_waiting_webhook(store: &Store) {
    let outbox = &store.outbox;
    assert_eq!(outbox.oldest_unplanned_delivery().await.unwrap(), None);
    let delivery = |key: &str| NewItem::plan_kommo(key, format!("p-{key}"), "a=1".into(), "test");
    outbox
        .enqueue(
            vec![
                item("action", "pa"),
                NewItem::plan_kommo_change("kc-1", logged_change(), "kommo-log"),
            ],
            t(1),
        )
        .await
        .unwrap();
    assert_eq!(
        outbox.oldest_unplanned_delivery().await.unwrap(),
        None,
        "actions and logged changes are not deliveries"
    );
    outbox.enqueue(vec![delivery("kd-1")], t(5)).await.unwrap();
    outbox.enqueue(vec![delivery("kd-2")], t(9)).await.unwrap();
    assert_eq!(
        outbox.oldest_unplanned_delivery().await.unwrap(),
        Some(t(5))
    );
    // Claimed, it still waits to be planned; once planned, it no longer does.
    let claimed = outbox
        .claim("w", None, 10, t(10), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        outbox.oldest_unplanned_delivery().await.unwrap(),
        Some(t(5))
    );
    for item in claimed.iter().filter(|i| i.key == "kd-1") {
        outbox
            .finish(
                item.id,
                "w",
                Finish::Planned,
                crate::suite::attempt(t(11), "done"),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        outbox.oldest_unplanned_delivery().await.unwrap(),
        Some(t(9))
    );
    let change = outbox.get("kc-1").await.unwrap().unwrap();
    assert_eq!(
        change.job,
        Job::PlanKommoChange {
            change: logged_change()
        }
    );
    assert_eq!(change.partition, "kommo:31:lead:4001");
}
