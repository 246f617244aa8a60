//! The contract of `Outbox` and `StateStore`, as tests generic over the implementation.
//!
//! Times are synthetic (`t(seconds)`), passed to the stores as `now`, so lease expiry and
//! retry delays are tested without sleeping.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use kommo_loops_bridge::Action;
use kommo_loops_bridge::runtime::outbox::{
    Attempt, Finish, Item, ItemState, Job, NewItem, OutboxError, OutboxStats,
};
use kommo_loops_bridge::runtime::{Lane, Outbox, StateStore};

pub use crate::catch_up_suite::*;
pub use crate::coalesce_suite::*;
pub use crate::lane_suite::*;

/// A fresh store under test: an outbox and a state store (one object for the SQL backends).
pub struct Store {
    pub outbox: Arc<dyn Outbox>,
    pub state: Arc<dyn StateStore>,
    /// Run after the test, once the store is dropped (e.g. dropping a scratch schema).
    cleanup: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// Kept alive for the test (e.g. the temporary directory of a database file).
    _keep: Option<Box<dyn Any + Send + Sync>>,
}

impl Store {
    pub fn new(outbox: Arc<dyn Outbox>, state: Arc<dyn StateStore>) -> Self {
        Store {
            outbox,
            state,
            cleanup: None,
            _keep: None,
        }
    }

    #[cfg(feature = "sqlite")]
    pub fn keeping(mut self, keep: impl Any + Send + Sync) -> Self {
        self._keep = Some(Box::new(keep));
        self
    }

    #[cfg(feature = "postgres")]
    pub fn with_cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }

    pub async fn close(self) {
        let Store {
            outbox,
            state,
            cleanup,
            _keep,
        } = self;
        drop((outbox, state, _keep));
        if let Some(cleanup) = cleanup {
            cleanup.await;
        }
    }
}

const LEASE: Duration = Duration::from_secs(30);

/// A fixed point in time plus `secs` seconds.
pub fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn ms(at: SystemTime) -> i64 {
    i64::try_from(
        at.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A Kommo note action with idempotency key `key`, in partition `partition`.
pub fn item(key: &str, partition: &str) -> NewItem {
    let action: Action = serde_json::from_value(serde_json::json!({
        "type": "kommo.add_note",
        "idempotencyKey": key,
        "target": { "leadId": 7 },
        "text": format!("note {key}"),
        "rule": "test",
    }))
    .expect("a valid action");
    let mut item = NewItem::action(action, format!("test:{key}"));
    item.partition = partition.to_owned();
    item
}

pub fn attempt(at: SystemTime, outcome: &str) -> Attempt {
    Attempt::new(at, outcome, format!("{outcome} detail"))
}

fn keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.as_str()).collect()
}

async fn claim(store: &Store, worker: &str, max: usize, now: SystemTime) -> Vec<Item> {
    store
        .outbox
        .claim(worker, None, max, now, LEASE)
        .await
        .expect("claim")
}

async fn finish(store: &Store, item: &Item, worker: &str, finish: Finish, at: SystemTime) {
    let outcome = match &finish {
        Finish::Done | Finish::Planned => "done",
        Finish::AlreadyDone => "already_done",
        Finish::RetryAt(_) => "retry",
        _ => "failed",
    };
    store
        .outbox
        .finish(item.id, worker, finish, attempt(at, outcome))
        .await
        .expect("finish");
}

async fn get(store: &Store, key: &str) -> Item {
    store
        .outbox
        .get(key)
        .await
        .expect("get")
        .unwrap_or_else(|| panic!("no item {key}"))
}

async fn stats(store: &Store) -> OutboxStats {
    store.outbox.stats().await.expect("stats")
}

fn assert_lease_lost(result: Result<(), OutboxError>, id: i64) {
    match result {
        Err(OutboxError::LeaseLost { id: lost }) => assert_eq!(lost, id),
        other => panic!("expected LeaseLost for {id}, got {other:?}"),
    }
}

pub async fn enqueue_dedupes_by_key(store: &Store) {
    let outbox = &store.outbox;
    let added = outbox
        .enqueue(
            vec![item("k1", "p1"), item("k1", "p1"), item("k2", "p2")],
            t(0),
        )
        .await
        .unwrap();
    assert_eq!(added, 2, "a key repeated within a batch is stored once");
    let added = outbox
        .enqueue(vec![item("k1", "other"), item("k3", "p1")], t(1))
        .await
        .unwrap();
    assert_eq!(added, 1, "a redelivery adds only the new key");
    let k1 = get(store, "k1").await;
    assert_eq!((k1.partition.as_str(), k1.created_at_ms), ("p1", ms(t(0))));

    let claimed = claim(store, "w", 10, t(2)).await;
    assert_eq!(keys(&claimed), ["k1", "k2"]);
    finish(store, &claimed[0], "w", Finish::Done, t(2)).await;
    finish(store, &claimed[1], "w", Finish::Dead("bad".into()), t(2)).await;
    let added = outbox
        .enqueue(vec![item("k1", "p1"), item("k2", "p2")], t(3))
        .await
        .unwrap();
    assert_eq!(added, 0, "done and dead keys still dedupe");
    assert_eq!(outbox.enqueue(Vec::new(), t(3)).await.unwrap(), 0);
    let s = stats(store).await;
    assert_eq!((s.pending, s.done, s.dead), (1, 1, 1));
}

/// Enqueues arriving together (as webhooks under load do) are each stored and counted once,
/// however the store groups their commits.
pub async fn concurrent_enqueues_are_each_counted(store: &Store) {
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let outbox = store.outbox.clone();
            tokio::spawn(async move {
                // Each call adds a key of its own and one of ten keys shared by four calls.
                let own = item(&format!("own-{i}"), &format!("p{i}"));
                let shared = item(&format!("shared-{}", i % 10), "shared");
                outbox.enqueue(vec![own, shared], t(0)).await.unwrap()
            })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        added += task.await.unwrap();
    }
    assert_eq!(
        added, 50,
        "40 own keys and 10 shared ones, each counted by one call"
    );
    assert_eq!(stats(store).await.pending, 50);
}

pub async fn get_round_trips_an_item(store: &Store) {
    let action: Action = serde_json::from_value(serde_json::json!({
        "type": "loops.send_event",
        "idempotencyKey": "ev-1",
        "email": "Ana@Example.com",
        "eventName": "signup",
        "eventProperties": { "plan": "pro", "seats": 3, "trial": true },
        "rule": "signups",
    }))
    .unwrap();
    let new = NewItem::action(action.clone(), "kommo:req-1");
    store.outbox.enqueue(vec![new], t(5)).await.unwrap();
    let got = get(store, "ev-1").await;
    assert!(got.id > 0);
    assert_eq!(got.key, "ev-1");
    assert_eq!(got.partition, "loops:ana@example.com");
    assert_eq!(got.job, Job::Execute { action });
    assert_eq!(got.source, "kommo:req-1");
    assert_eq!(got.state, ItemState::Pending);
    assert!(got.attempts.is_empty());
    assert_eq!((got.not_before_ms, got.created_at_ms), (ms(t(5)), ms(t(5))));
    assert_eq!(got.dead_reason, None);
    assert_eq!(store.outbox.get("missing").await.unwrap(), None);
}

pub async fn claim_follows_partition_order(store: &Store) {
    let batch = vec![
        item("a1", "pa"),
        item("b1", "pb"),
        item("a2", "pa"),
        item("c1", "pc"),
        item("a3", "pa"),
    ];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    let first = claim(store, "w1", 10, t(1)).await;
    assert_eq!(
        keys(&first),
        ["a1", "b1", "c1"],
        "one head per partition, oldest first"
    );
    assert!(first.iter().all(|i| i.state == ItemState::Leased));
    assert_eq!(get(store, "a1").await.state, ItemState::Leased);
    assert!(
        claim(store, "w2", 10, t(1)).await.is_empty(),
        "a2 waits for a1"
    );

    finish(store, &first[0], "w1", Finish::Done, t(2)).await;
    let next = claim(store, "w2", 10, t(2)).await;
    assert_eq!(keys(&next), ["a2"]);
    finish(store, &first[1], "w1", Finish::Done, t(2)).await;
    assert!(claim(store, "w2", 10, t(2)).await.is_empty());
    finish(store, &next[0], "w2", Finish::AlreadyDone, t(3)).await;
    assert_eq!(keys(&claim(store, "w3", 10, t(3)).await), ["a3"]);
    let s = stats(store).await;
    assert_eq!((s.leased, s.done, s.already_done), (2, 2, 1));
}

pub async fn claim_respects_max(store: &Store) {
    let batch = (1..=5)
        .map(|i| item(&format!("m{i}"), &format!("pm{i}")))
        .collect();
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    assert!(claim(store, "w", 0, t(0)).await.is_empty());
    assert_eq!(keys(&claim(store, "w", 2, t(0)).await), ["m1", "m2"]);
    assert_eq!(keys(&claim(store, "w", 10, t(0)).await), ["m3", "m4", "m5"]);
}

pub async fn retry_waits_for_not_before(store: &Store) {
    let batch = vec![item("r1", "pr"), item("r2", "pr")];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    let r1 = claim(store, "w", 10, t(0)).await.remove(0);
    finish(store, &r1, "w", Finish::RetryAt(t(60)), t(1)).await;
    let stored = get(store, "r1").await;
    assert_eq!(stored.state, ItemState::Pending);
    assert_eq!(stored.not_before_ms, ms(t(60)));
    assert_eq!(stored.attempts, [attempt(t(1), "retry")]);

    assert!(
        claim(store, "w", 10, t(59)).await.is_empty(),
        "r1 is not due and r2 waits behind it"
    );
    let again = claim(store, "w", 10, t(60)).await;
    assert_eq!(keys(&again), ["r1"]);
    assert_eq!(
        again[0].attempts,
        [attempt(t(1), "retry")],
        "claims carry the history"
    );
    finish(store, &again[0], "w", Finish::Done, t(61)).await;
    assert_eq!(get(store, "r1").await.attempts.len(), 2);
    assert_eq!(keys(&claim(store, "w", 10, t(61)).await), ["r2"]);
}

pub async fn expired_lease_is_reclaimed(store: &Store) {
    store
        .outbox
        .enqueue(vec![item("x1", "px")], t(0))
        .await
        .unwrap();
    let x1 = claim(store, "w1", 1, t(0)).await.remove(0);
    assert!(
        claim(store, "w2", 1, t(29)).await.is_empty(),
        "the lease still runs"
    );
    let reclaimed = claim(store, "w2", 1, t(30)).await;
    assert_eq!(
        keys(&reclaimed),
        ["x1"],
        "an expired lease is claimable again"
    );
    assert_lease_lost(
        store
            .outbox
            .finish(x1.id, "w1", Finish::Done, attempt(t(31), "done"))
            .await,
        x1.id,
    );
    finish(store, &reclaimed[0], "w2", Finish::Done, t(32)).await;
    let stored = get(store, "x1").await;
    assert_eq!(stored.state, ItemState::Done);
    assert_eq!(stored.attempts, [attempt(t(32), "done")]);
}

pub async fn lost_lease_cannot_finish(store: &Store) {
    let batch = vec![item("l1", "pl1"), item("l2", "pl2")];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    let claimed = claim(store, "w1", 10, t(0)).await;
    let (l1, l2) = (&claimed[0], &claimed[1]);
    let other = store
        .outbox
        .finish(l1.id, "w2", Finish::Done, attempt(t(1), "done"))
        .await;
    assert_lease_lost(other, l1.id);
    finish(store, l1, "w1", Finish::Done, t(1)).await;
    let twice = store
        .outbox
        .finish(l1.id, "w1", Finish::Done, attempt(t(2), "done"))
        .await;
    assert_lease_lost(twice, l1.id);
    finish(store, l2, "w1", Finish::RetryAt(t(100)), t(1)).await;
    let pending = store
        .outbox
        .finish(l2.id, "w1", Finish::Done, attempt(t(2), "done"))
        .await;
    assert_lease_lost(pending, l2.id);
    let unknown = store
        .outbox
        .finish(987_654, "w1", Finish::Done, attempt(t(2), "done"))
        .await;
    assert_lease_lost(unknown, 987_654);
    assert_eq!(
        get(store, "l1").await.attempts.len(),
        1,
        "failed finishes record nothing"
    );
}

pub async fn holder_may_finish_after_expiry_if_not_reclaimed(store: &Store) {
    store
        .outbox
        .enqueue(vec![item("h1", "ph")], t(0))
        .await
        .unwrap();
    let h1 = claim(store, "w1", 1, t(0)).await.remove(0);
    finish(store, &h1, "w1", Finish::Done, t(100)).await;
    assert_eq!(get(store, "h1").await.state, ItemState::Done);
}

pub async fn a_planned_job_drops_its_body_and_keeps_its_key(store: &Store) {
    let body = format!(
        "leads%5Badd%5D%5B0%5D%5Bid%5D=1&pad={}",
        "a".repeat(100_000)
    );
    let planning = || NewItem::plan_kommo("kd-1", "kommo:1:lead:1", body.clone(), "kommo:1");
    assert_eq!(
        store.outbox.enqueue(vec![planning()], t(0)).await.unwrap(),
        1
    );
    // A planning job that fails keeps its body for the next attempt.
    let claimed = claim(store, "w", 1, t(1)).await;
    assert_eq!(claimed[0].job, Job::PlanKommo { body: body.clone() });
    finish(store, &claimed[0], "w", Finish::RetryAt(t(2)), t(1)).await;
    assert_eq!(
        get(store, "kd-1").await.job,
        Job::PlanKommo { body: body.clone() }
    );
    let claimed = claim(store, "w", 1, t(3)).await;
    finish(store, &claimed[0], "w", Finish::Planned, t(3)).await;
    let planned = get(store, "kd-1").await;
    assert_eq!(planned.state, ItemState::Done);
    assert_eq!(
        planned.job,
        Job::PlanKommo {
            body: String::new()
        }
    );
    assert_eq!(planned.attempts.len(), 2);
    assert_eq!(stats(store).await.done, 1);
    // The same delivery again is still recognised.
    assert_eq!(
        store.outbox.enqueue(vec![planning()], t(4)).await.unwrap(),
        0
    );
}

pub async fn dead_letters_and_replay(store: &Store) {
    let batch = vec![item("d1", "pd"), item("d2", "pd"), item("e1", "pe")];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    assert_eq!(store.outbox.latest_dead_letter().await.unwrap(), None);
    let claimed = claim(store, "w", 10, t(0)).await;
    assert_eq!(keys(&claimed), ["d1", "e1"]);
    finish(
        store,
        &claimed[0],
        "w",
        Finish::Dead("bad email".into()),
        t(1),
    )
    .await;
    finish(store, &claimed[1], "w", Finish::Dead("gone".into()), t(1)).await;

    let dead = store.outbox.dead_letters(10).await.unwrap();
    assert_eq!(keys(&dead), ["d1", "e1"]);
    assert_eq!(dead[0].state, ItemState::Dead);
    assert_eq!(dead[0].dead_reason.as_deref(), Some("bad email"));
    assert_eq!(dead[0].attempts, [attempt(t(1), "failed")]);
    assert_eq!(keys(&store.outbox.dead_letters(1).await.unwrap()), ["d1"]);
    let latest = store.outbox.latest_dead_letter().await.unwrap().unwrap();
    assert_eq!(
        (latest.key.as_str(), latest.dead_reason.as_deref()),
        ("e1", Some("gone"))
    );

    let d2 = claim(store, "w", 10, t(2)).await;
    assert_eq!(
        keys(&d2),
        ["d2"],
        "a dead letter no longer holds its partition"
    );
    finish(store, &d2[0], "w", Finish::Done, t(2)).await;

    let d1_id = dead[0].id;
    let replayed = store
        .outbox
        .replay(&[d1_id, d2[0].id, 987_654], t(10))
        .await
        .unwrap();
    assert_eq!(replayed, 1, "only dead letters are replayed");
    let d1 = get(store, "d1").await;
    assert_eq!((d1.id, d1.state), (d1_id, ItemState::Pending));
    assert_eq!(d1.dead_reason, None);
    assert_eq!(d1.not_before_ms, ms(t(10)));
    assert_eq!(
        d1.attempts,
        [attempt(t(1), "failed")],
        "the history is kept"
    );
    assert_eq!(
        store
            .outbox
            .enqueue(vec![item("d1", "pd")], t(11))
            .await
            .unwrap(),
        0,
        "the replayed item keeps its key"
    );

    let again = claim(store, "w", 10, t(11)).await;
    assert_eq!(keys(&again), ["d1"]);
    finish(store, &again[0], "w", Finish::Done, t(12)).await;
    assert_eq!(get(store, "d1").await.attempts.len(), 2);
    assert_eq!(keys(&store.outbox.dead_letters(10).await.unwrap()), ["e1"]);
    let latest = store.outbox.latest_dead_letter().await.unwrap();
    assert_eq!(latest.map(|i| i.key), Some("e1".to_owned()));
    let s = stats(store).await;
    assert_eq!((s.done, s.dead, s.unfinished()), (2, 1, 0));
}

pub async fn replayed_item_waits_for_running_partition_item(store: &Store) {
    let batch = vec![item("f1", "pf"), item("f2", "pf")];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    let f1 = claim(store, "w", 1, t(0)).await.remove(0);
    finish(store, &f1, "w", Finish::Dead("boom".into()), t(0)).await;
    let f2 = claim(store, "w", 1, t(1)).await.remove(0);
    assert_eq!(f2.key, "f2");
    assert_eq!(store.outbox.replay(&[f1.id], t(2)).await.unwrap(), 1);
    assert!(
        claim(store, "w", 10, t(3)).await.is_empty(),
        "f1 is the oldest again, but f2 of the same partition is running"
    );
    finish(store, &f2, "w", Finish::Done, t(4)).await;
    assert_eq!(keys(&claim(store, "w", 10, t(4)).await), ["f1"]);
}

pub async fn stats_count_states(store: &Store) {
    assert_eq!(stats(store).await, OutboxStats::default());
    let batch = (1..=5)
        .map(|i| item(&format!("s{i}"), &format!("ps{i}")))
        .collect();
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    let claimed = claim(store, "w", 4, t(0)).await;
    let s = stats(store).await;
    assert_eq!((s.pending, s.leased, s.unfinished()), (1, 4, 5));
    finish(store, &claimed[0], "w", Finish::Done, t(1)).await;
    finish(store, &claimed[1], "w", Finish::AlreadyDone, t(1)).await;
    finish(store, &claimed[2], "w", Finish::Dead("no".into()), t(1)).await;
    finish(store, &claimed[3], "w", Finish::RetryAt(t(9)), t(1)).await;
    let s = stats(store).await;
    assert_eq!(
        (s.pending, s.leased, s.done, s.already_done, s.dead),
        (2, 0, 1, 1, 1)
    );
    assert_eq!(s.unfinished(), 2);
}

pub async fn next_due_is_the_earliest_pending(store: &Store) {
    assert_eq!(store.outbox.next_due(None).await.unwrap(), None);
    store
        .outbox
        .enqueue(vec![item("n1", "pn1")], t(5))
        .await
        .unwrap();
    assert_eq!(store.outbox.next_due(None).await.unwrap(), Some(t(5)));
    let n1 = claim(store, "w", 1, t(5)).await.remove(0);
    assert_eq!(
        store.outbox.next_due(None).await.unwrap(),
        None,
        "leased items are not waiting"
    );
    finish(store, &n1, "w", Finish::RetryAt(t(50)), t(6)).await;
    assert_eq!(store.outbox.next_due(None).await.unwrap(), Some(t(50)));
    store
        .outbox
        .enqueue(vec![item("n2", "pn2")], t(7))
        .await
        .unwrap();
    assert_eq!(store.outbox.next_due(None).await.unwrap(), Some(t(7)));
}

pub async fn first_delivery_dedupes_per_scope(store: &Store) {
    let state = &store.state;
    assert!(state.first_delivery("loops", "wh-1", t(0)).await.unwrap());
    assert!(!state.first_delivery("loops", "wh-1", t(1)).await.unwrap());
    assert!(state.first_delivery("kommo", "wh-1", t(1)).await.unwrap());
    assert!(state.first_delivery("loops", "wh-2", t(1)).await.unwrap());
    assert!(!state.first_delivery("kommo", "wh-1", t(2)).await.unwrap());
}

pub async fn advance_version_is_monotonic(store: &Store) {
    let state = &store.state;
    let entity = "31000001:contact:5101";
    assert!(state.advance_version(entity, 100).await.unwrap());
    assert!(
        state.advance_version(entity, 100).await.unwrap(),
        "equal is not stale"
    );
    assert!(!state.advance_version(entity, 99).await.unwrap());
    assert!(state.advance_version(entity, 101).await.unwrap());
    assert!(!state.advance_version(entity, 100).await.unwrap());
    assert!(state.advance_version("31000001:lead:1", 5).await.unwrap());
    assert!(state.advance_version(entity, 101).await.unwrap());
}

pub async fn synced_email_round_trips(store: &Store) {
    let state = &store.state;
    assert_eq!(state.synced_email("31:5101").await.unwrap(), None);
    state
        .set_synced_email("31:5101", "ana@example.com")
        .await
        .unwrap();
    assert_eq!(
        state.synced_email("31:5101").await.unwrap().as_deref(),
        Some("ana@example.com")
    );
    state
        .set_synced_email("31:5101", "ana@work.example")
        .await
        .unwrap();
    assert_eq!(
        state.synced_email("31:5101").await.unwrap().as_deref(),
        Some("ana@work.example")
    );
    assert_eq!(state.synced_email("31:5102").await.unwrap(), None);
}

/// Per partition, the (id, sequence number) of each item as it completed.
type RunLog = HashMap<String, Vec<(i64, usize)>>;

/// Four producers and `workers` workers, spread over `outboxes` (views of one store: one
/// instance, or several connections to one database), all at once: the producers enqueue
/// 1,000 items in 40 shared partitions in batches while the workers drain them. Every item must
/// finish exactly once; within a partition items must run one at a time and in id order (ids
/// grow with enqueue order, also across concurrent enqueues). Every seventh item fails its
/// first attempt and is retried at once.
pub async fn concurrent_workers(outboxes: Vec<Arc<dyn Outbox>>, workers: usize) {
    concurrent_workers_in(outboxes, workers, false).await;
}

/// [`concurrent_workers`] with lanes: every third item is a Loops item (so partitions mix the
/// two lanes) and the workers take turns claiming the Kommo lane and the Loops lane only. Each
/// item still runs once, and each partition in order.
pub async fn concurrent_lane_workers(outboxes: Vec<Arc<dyn Outbox>>, workers: usize) {
    concurrent_workers_in(outboxes, workers, true).await;
}

async fn concurrent_workers_in(outboxes: Vec<Arc<dyn Outbox>>, workers: usize, lanes: bool) {
    const ITEMS: usize = 1000;
    const PRODUCERS: usize = 4;
    const PARTITIONS: usize = 40;
    const BATCH: usize = 5;
    // Producer `p` enqueues `p`, `p + PRODUCERS`, ...: the producers race on every partition.
    let partition = |seq: usize| format!("part-{}", (seq / PRODUCERS) % PARTITIONS);
    let now = t(0);

    let mut producers = Vec::new();
    for p in 0..PRODUCERS {
        let outbox = Arc::clone(&outboxes[p % outboxes.len()]);
        producers.push(tokio::spawn(async move {
            let mine: Vec<usize> = (p..ITEMS).step_by(PRODUCERS).collect();
            for chunk in mine.chunks(BATCH) {
                let batch = chunk
                    .iter()
                    .map(|&seq| {
                        let key = format!("c-{seq:04}");
                        if lanes && seq.is_multiple_of(3) {
                            loops_item(&key, &partition(seq))
                        } else {
                            item(&key, &partition(seq))
                        }
                    })
                    .collect();
                let added = outbox.enqueue(batch, now).await.expect("enqueue");
                assert_eq!(added, chunk.len());
                tokio::task::yield_now().await;
            }
        }));
    }

    let log: Arc<Mutex<RunLog>> = Arc::default();
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let outbox = Arc::clone(&outboxes[w % outboxes.len()]);
        let (log, running, done) = (Arc::clone(&log), Arc::clone(&running), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            let name = format!("worker-{w}");
            let lane = lanes.then_some(if w % 2 == 0 { Lane::Kommo } else { Lane::Loops });
            while done.load(Ordering::SeqCst) < ITEMS {
                let items = outbox
                    .claim(&name, lane, 4, now, Duration::from_secs(3600))
                    .await;
                let items = items.expect("claim");
                if items.is_empty() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    continue;
                }
                for item in items {
                    assert!(
                        lane.is_none_or(|lane| lane == item.lane),
                        "{lane:?}: {item:?}"
                    );
                    let fresh = running.lock().unwrap().insert(item.partition.clone());
                    assert!(fresh, "two items of {} ran at once", item.partition);
                    let seq: usize = item.key["c-".len()..].parse().unwrap();
                    let retry = seq.is_multiple_of(7) && item.attempts.is_empty();
                    let (finish, outcome) = if retry {
                        (Finish::RetryAt(now), "retry")
                    } else {
                        log.lock()
                            .unwrap()
                            .entry(item.partition.clone())
                            .or_default()
                            .push((item.id, seq));
                        (Finish::Done, "done")
                    };
                    // Released before finishing: once finish commits, the next item of the
                    // partition may legitimately start.
                    running.lock().unwrap().remove(&item.partition);
                    let attempt = Attempt::new(now, outcome, name.clone());
                    outbox
                        .finish(item.id, &name, finish, attempt)
                        .await
                        .expect("finish");
                    if !retry {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    let all = async {
        for task in producers.into_iter().chain(tasks) {
            task.await.expect("a producer or worker panicked");
        }
    };
    tokio::time::timeout(Duration::from_secs(180), all)
        .await
        .expect("the workers did not drain the outbox in 3 minutes");

    let log = std::mem::take(&mut *log.lock().unwrap());
    let mut seen = HashSet::new();
    for (part, ran) in &log {
        for pair in ran.windows(2) {
            assert!(
                pair[0].0 < pair[1].0,
                "partition {part} ran out of order: {ran:?}"
            );
        }
        for &(_, seq) in ran {
            assert_eq!(partition(seq), *part);
            assert!(seen.insert(seq), "c-{seq:04} finished twice");
        }
    }
    assert_eq!(seen.len(), ITEMS, "every item finished");
    let s = outboxes[0].stats().await.unwrap();
    assert_eq!((s.done, s.unfinished(), s.dead), (ITEMS as u64, 0, 0));
    let retried = outboxes[0].get("c-0007").await.unwrap().unwrap();
    assert_eq!(retried.attempts.len(), 2);
    let once = outboxes[0].get("c-0008").await.unwrap().unwrap();
    assert_eq!(once.attempts.len(), 1);
}
