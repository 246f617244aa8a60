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
        .claim_coalescing(worker, None, 8, now, LEASE)
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
    let claimed = store.outbox.claim("w", None, 8, t(1), LEASE).await.unwrap();
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

/// Four producers and `workers` coalescing workers over `outboxes` (views of one store), all at
/// once: 600 items for 20 contacts, every fifth an event, the rest upserts. Every item must
/// finish exactly once, each contact's items in id order (a folded run counts as running its
/// items in order), and no event may ever be folded.
pub async fn concurrent_coalescing_workers(
    outboxes: Vec<std::sync::Arc<dyn kommo_loops_bridge::runtime::Outbox>>,
    workers: usize,
) {
    use std::collections::{HashMap, HashSet};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    const ITEMS: usize = 600;
    const PRODUCERS: usize = 4;
    const CONTACTS: usize = 20;
    fn email(seq: usize) -> String {
        format!("c{}@example.com", (seq / PRODUCERS) % CONTACTS)
    }
    let new = move |seq: usize| {
        let key = format!("c-{seq:04}");
        if seq.is_multiple_of(5) {
            event(&key, &email(seq))
        } else {
            upsert(&key, &email(seq), &seq.to_string())
        }
    };
    let now = t(0);
    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let outbox = Arc::clone(&outboxes[p % outboxes.len()]);
        tasks.push(tokio::spawn(async move {
            let mine: Vec<usize> = (p..ITEMS).step_by(PRODUCERS).collect();
            for chunk in mine.chunks(3) {
                let batch = chunk.iter().map(|&seq| new(seq)).collect();
                outbox.enqueue(batch, now).await.expect("enqueue");
                tokio::task::yield_now().await;
            }
        }));
    }
    let log: Arc<Mutex<HashMap<String, Vec<i64>>>> = Arc::default();
    let done = Arc::new(AtomicUsize::new(0));
    let folded_total = Arc::new(AtomicUsize::new(0));
    for w in 0..workers {
        let outbox = Arc::clone(&outboxes[w % outboxes.len()]);
        let (log, done, folded_total) = (
            Arc::clone(&log),
            Arc::clone(&done),
            Arc::clone(&folded_total),
        );
        tasks.push(tokio::spawn(async move {
            let name = format!("worker-{w}");
            while done.load(Ordering::SeqCst) < ITEMS {
                let claimed = outbox
                    .claim_coalescing(&name, None, 4, now, Duration::from_secs(3600))
                    .await
                    .expect("claim");
                if claimed.is_empty() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                for head in claimed {
                    for folded in &head.folded {
                        assert!(folded.key != head.key && folded.partition == head.partition);
                        assert!(
                            !folded.source.is_empty() && !is_event(folded),
                            "an event was folded"
                        );
                    }
                    folded_total.fetch_add(head.folded.len(), Ordering::SeqCst);
                    let run: Vec<&Item> = std::iter::once(&head).chain(&head.folded).collect();
                    log.lock()
                        .unwrap()
                        .entry(head.partition.clone())
                        .or_default()
                        .extend(run.iter().map(|i| i.id));
                    for item in run {
                        let attempt = crate::suite::attempt(now, "done");
                        outbox
                            .finish(item.id, &name, Finish::Done, attempt)
                            .await
                            .expect("finish");
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    let all = async {
        for task in tasks {
            task.await.expect("a producer or worker panicked");
        }
    };
    tokio::time::timeout(Duration::from_secs(180), all)
        .await
        .expect("the workers did not drain the outbox in 3 minutes");
    let log = std::mem::take(&mut *log.lock().unwrap());
    let mut seen = HashSet::new();
    for (part, ran) in &log {
        assert!(
            ran.windows(2).all(|p| p[0] < p[1]),
            "{part} out of order: {ran:?}"
        );
        for id in ran {
            assert!(seen.insert(*id), "item {id} finished twice");
        }
    }
    assert_eq!(seen.len(), ITEMS, "every item finished");
    let s = outboxes[0].stats().await.unwrap();
    assert_eq!((s.done, s.unfinished(), s.dead), (ITEMS as u64, 0, 0));
    println!(
        "observed: {} of {ITEMS} items folded into another",
        folded_total.load(Ordering::SeqCst)
    );
}

fn is_event(item: &Item) -> bool {
    matches!(
        &item.job,
        kommo_loops_bridge::runtime::outbox::Job::Execute {
            action: Action::SendEvent(_)
        }
    )
}
