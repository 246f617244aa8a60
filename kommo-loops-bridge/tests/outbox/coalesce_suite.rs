//! The contract of coalescing at claim time: `claim_coalescing` leases, with a claimed upsert,
//! the upserts of the same contact directly following it, and nothing else.

use std::time::{Duration, SystemTime};

use kommo_loops_bridge::Action;
use kommo_loops_bridge::runtime::outbox::{Finish, Item, ItemState, NewItem, OutboxError};

use crate::suite::{Store, attempt, t};

const LEASE: Duration = Duration::from_secs(30);

fn new_item(action: serde_json::Value) -> NewItem {
    let action: Action = serde_json::from_value(action).expect("a valid action");
    NewItem::action(action, "test")
}

/// An upsert of `email` setting `plan`, keyed `key`.
pub fn upsert(key: &str, email: &str, plan: &str) -> NewItem {
    new_item(serde_json::json!({
        "type": "loops.upsert_contact",
        "idempotencyKey": key,
        "email": email,
        "properties": { "plan": plan },
        "kommoContactId": 5,
        "rule": "test",
    }))
}

/// An event for `email`, keyed `key`.
pub fn event(key: &str, email: &str) -> NewItem {
    new_item(serde_json::json!({
        "type": "loops.send_event",
        "idempotencyKey": key,
        "email": email,
        "eventName": "trial",
        "rule": "test",
    }))
}

async fn claim(store: &Store, worker: &str, now: SystemTime) -> Vec<Item> {
    store
        .outbox
        .claim_coalescing(worker, 8, now, LEASE)
        .await
        .expect("claim")
}

async fn done(store: &Store, item: &Item, worker: &str) -> Result<(), OutboxError> {
    store
        .outbox
        .finish(item.id, worker, Finish::Done, attempt(t(1), "done"))
        .await
}

/// `(key, [folded keys])` of each claimed item.
fn shape(items: &[Item]) -> Vec<(String, Vec<String>)> {
    items
        .iter()
        .map(|i| {
            (
                i.key.clone(),
                i.folded.iter().map(|f| f.key.clone()).collect(),
            )
        })
        .collect()
}

fn owned(key: &str, folded: &[&str]) -> (String, Vec<String>) {
    (
        key.to_owned(),
        folded.iter().map(|k| (*k).to_owned()).collect(),
    )
}

async fn state(store: &Store, key: &str) -> ItemState {
    store
        .outbox
        .get(key)
        .await
        .expect("get")
        .expect("stored")
        .state
}

pub async fn a_burst_of_upserts_is_claimed_as_one(store: &Store) {
    let a = "ann@example.com";
    store
        .outbox
        .enqueue(
            vec![
                upsert("u1", a, "free"),
                upsert("u2", a, "pro"),
                upsert("u3", a, "team"),
                event("e4", a),
                upsert("u5", a, "max"),
                upsert("b1", "bob@example.com", "free"),
            ],
            t(0),
        )
        .await
        .unwrap();
    let claimed = claim(store, "w", t(1)).await;
    assert_eq!(
        shape(&claimed),
        vec![owned("u1", &["u2", "u3"]), owned("b1", &[])]
    );
    for key in ["u1", "u2", "u3", "b1"] {
        assert_eq!(state(store, key).await, ItemState::Leased, "{key}");
    }
    assert_eq!(state(store, "e4").await, ItemState::Pending);
    // Folded items are leased: nothing of the partition is claimable meanwhile.
    assert!(claim(store, "other", t(2)).await.is_empty());
    for item in &claimed {
        done(store, item, "w").await.unwrap();
        for folded in &item.folded {
            done(store, folded, "w").await.unwrap();
        }
    }
    // The event keeps its place: claimed alone, and the upsert after it waits for it.
    let claimed = claim(store, "w", t(3)).await;
    assert_eq!(shape(&claimed), vec![owned("e4", &[])]);
    done(store, &claimed[0], "w").await.unwrap();
    assert_eq!(
        shape(&claim(store, "w", t(4)).await),
        vec![owned("u5", &[])]
    );
}

pub async fn an_event_first_folds_nothing(store: &Store) {
    let a = "ann@example.com";
    store
        .outbox
        .enqueue(
            vec![event("e1", a), upsert("u2", a, "a"), upsert("u3", a, "b")],
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(
        shape(&claim(store, "w", t(1)).await),
        vec![owned("e1", &[])]
    );
    assert_eq!(state(store, "u2").await, ItemState::Pending);
    assert_eq!(state(store, "u3").await, ItemState::Pending);
}

pub async fn a_plain_claim_folds_nothing(store: &Store) {
    let a = "ann@example.com";
    store
        .outbox
        .enqueue(vec![upsert("u1", a, "a"), upsert("u2", a, "b")], t(0))
        .await
        .unwrap();
    let claimed = store.outbox.claim("w", 8, t(1), LEASE).await.unwrap();
    assert_eq!(shape(&claimed), vec![owned("u1", &[])]);
    assert_eq!(state(store, "u2").await, ItemState::Pending);
}

/// A worker that dies after the merged call, having finished the head only: the folded items'
/// leases expire and the next claim takes them together again, so the final properties are
/// sent again (a repeat), never lost; the dead worker cannot finish them any more.
pub async fn folded_items_outlive_a_crashed_worker(store: &Store) {
    let a = "ann@example.com";
    store
        .outbox
        .enqueue(
            vec![
                upsert("u1", a, "a"),
                upsert("u2", a, "b"),
                upsert("u3", a, "c"),
            ],
            t(0),
        )
        .await
        .unwrap();
    let claimed = claim(store, "dies", t(1)).await;
    assert_eq!(shape(&claimed), vec![owned("u1", &["u2", "u3"])]);
    done(store, &claimed[0], "dies").await.unwrap();
    // Still leased: nothing to claim before the lease ends.
    assert!(claim(store, "next", t(2)).await.is_empty());
    let after = t(1) + LEASE + Duration::from_secs(1);
    let again = claim(store, "next", after).await;
    assert_eq!(shape(&again), vec![owned("u2", &["u3"])]);
    let late = &claimed[0].folded[0];
    assert!(matches!(
        done(store, late, "dies").await,
        Err(OutboxError::LeaseLost { .. })
    ));
    for item in std::iter::once(&again[0]).chain(&again[0].folded) {
        done(store, item, "next").await.unwrap();
    }
    assert_eq!(store.outbox.stats().await.unwrap().done, 3);
}

/// Upserts retried with their head come back due together, and fold again.
pub async fn folded_items_retry_with_their_head(store: &Store) {
    let a = "ann@example.com";
    store
        .outbox
        .enqueue(vec![upsert("u1", a, "a"), upsert("u2", a, "b")], t(0))
        .await
        .unwrap();
    let claimed = claim(store, "w", t(1)).await;
    for item in std::iter::once(&claimed[0]).chain(&claimed[0].folded) {
        store
            .outbox
            .finish(item.id, "w", Finish::RetryAt(t(60)), attempt(t(1), "retry"))
            .await
            .unwrap();
    }
    assert!(claim(store, "w", t(30)).await.is_empty());
    assert_eq!(
        shape(&claim(store, "w", t(60)).await),
        vec![owned("u1", &["u2"])]
    );
}

pub async fn delivered_upserts_are_remembered_and_forgotten(store: &Store) {
    let state = &store.state;
    assert_eq!(
        state.delivered_upsert("ann@example.com").await.unwrap(),
        None
    );
    state
        .set_delivered_upsert("ann@example.com", Some("u-1"), "h1")
        .await
        .unwrap();
    state
        .set_delivered_upsert("bob@example.com", None, "h2")
        .await
        .unwrap();
    state
        .set_delivered_upsert("ann@example.com", Some("u-1"), "h3")
        .await
        .unwrap();
    let read =
        |contact: &'static str| async move { state.delivered_upsert(contact).await.unwrap() };
    assert_eq!(read("ann@example.com").await.as_deref(), Some("h3"));
    assert_eq!(read("bob@example.com").await.as_deref(), Some("h2"));
    // By userId only (a delete that names no email).
    state
        .forget_delivered_upsert(None, Some("u-1"))
        .await
        .unwrap();
    assert_eq!(read("ann@example.com").await, None);
    assert_eq!(read("bob@example.com").await.as_deref(), Some("h2"));
    // By email.
    state
        .forget_delivered_upsert(Some("bob@example.com"), None)
        .await
        .unwrap();
    assert_eq!(read("bob@example.com").await, None);
}
