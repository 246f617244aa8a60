//! The contract of lanes: each item is stored in the lane of the API whose rate it spends, a
//! claim for one lane hands out only that lane's partition heads, and nothing is claimed past
//! a head of the other lane.

use std::time::{Duration, SystemTime};

use kommo_loops_bridge::runtime::Lane;
use kommo_loops_bridge::runtime::outbox::{Finish, Item, NewItem};

use crate::coalesce_suite::{event, upsert};
use crate::suite::{Store, attempt, item, t};

const LEASE: Duration = Duration::from_secs(30);

/// A Loops event keyed `key`, in partition `partition`.
pub fn loops_item(key: &str, partition: &str) -> NewItem {
    let mut new = event(key, "lane@example.com");
    new.partition = partition.to_owned();
    new
}

/// A planning job keyed `key`, in partition `partition`.
fn planning(key: &str, partition: &str) -> NewItem {
    NewItem::plan_kommo(key, partition, "leads[status][0][id]=1".into(), "test")
}

async fn claim(store: &Store, lane: Option<Lane>, now: SystemTime) -> Vec<Item> {
    store
        .outbox
        .claim("w", lane, 10, now, LEASE)
        .await
        .expect("claim")
}

async fn done(store: &Store, item: &Item) {
    store
        .outbox
        .finish(item.id, "w", Finish::Done, attempt(t(1), "done"))
        .await
        .expect("finish");
}

fn keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.as_str()).collect()
}

pub async fn items_are_stored_in_their_lane(store: &Store) {
    let batch = vec![
        item("note", "pn"),
        loops_item("event", "pe"),
        upsert("upsert", "a@example.com", "pro"),
        planning("plan", "pp"),
    ];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    for (key, lane) in [
        ("note", Lane::Kommo),
        ("event", Lane::Loops),
        ("upsert", Lane::Loops),
        ("plan", Lane::Kommo),
    ] {
        let stored = store.outbox.get(key).await.unwrap().unwrap();
        assert_eq!((key, stored.lane), (key, lane));
        assert_eq!(stored.job.lane(), lane, "{key}");
    }
    let claimed = claim(store, None, t(1)).await;
    let lanes: Vec<(&str, Lane)> = claimed.iter().map(|i| (i.key.as_str(), i.lane)).collect();
    assert_eq!(
        lanes,
        [
            ("note", Lane::Kommo),
            ("event", Lane::Loops),
            ("upsert", Lane::Loops),
            ("plan", Lane::Kommo),
        ],
        "claims carry the lane"
    );
}

pub async fn a_lane_claims_only_its_own_items(store: &Store) {
    let batch = vec![
        planning("plan-1", "p1"),
        loops_item("send-1", "p2"),
        planning("plan-2", "p3"),
        loops_item("send-2", "p4"),
        item("note-1", "p5"),
    ];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    assert_eq!(
        keys(&claim(store, Some(Lane::Loops), t(1)).await),
        ["send-1", "send-2"],
        "Loops sends run while the planning jobs wait"
    );
    assert!(claim(store, Some(Lane::Loops), t(1)).await.is_empty());
    assert_eq!(
        keys(&claim(store, Some(Lane::Kommo), t(1)).await),
        ["plan-1", "plan-2", "note-1"]
    );
    assert!(claim(store, None, t(1)).await.is_empty());
}

/// A partition whose head is in one lane holds back its items of the other lane: lanes never
/// reorder a partition.
pub async fn a_lane_waits_behind_the_other_lanes_head(store: &Store) {
    let batch = vec![
        item("k1", "shared"),
        loops_item("l1", "shared"),
        loops_item("l2", "shared"),
        item("k2", "shared"),
        loops_item("solo", "other"),
    ];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    let solo = claim(store, Some(Lane::Loops), t(1)).await;
    assert_eq!(
        keys(&solo),
        ["solo"],
        "l1 waits behind k1, its partition's head"
    );
    done(store, &solo[0]).await;
    let k1 = claim(store, Some(Lane::Kommo), t(1)).await;
    assert_eq!(keys(&k1), ["k1"], "k2 is not the head");
    assert!(
        claim(store, Some(Lane::Loops), t(1)).await.is_empty(),
        "l1 waits while k1 runs"
    );
    done(store, &k1[0]).await;
    assert!(claim(store, Some(Lane::Kommo), t(2)).await.is_empty());
    let l1 = claim(store, Some(Lane::Loops), t(2)).await;
    assert_eq!(keys(&l1), ["l1"]);
    done(store, &l1[0]).await;
    let l2 = claim(store, Some(Lane::Loops), t(2)).await;
    assert_eq!(keys(&l2), ["l2"]);
    assert!(
        claim(store, Some(Lane::Kommo), t(2)).await.is_empty(),
        "k2 waits while l2 runs"
    );
    // A retry keeps the head: the other lane still waits for it.
    store
        .outbox
        .finish(
            l2[0].id,
            "w",
            Finish::RetryAt(t(60)),
            attempt(t(2), "retry"),
        )
        .await
        .unwrap();
    assert!(claim(store, Some(Lane::Kommo), t(3)).await.is_empty());
    let l2 = claim(store, Some(Lane::Loops), t(60)).await;
    assert_eq!(keys(&l2), ["l2"]);
    done(store, &l2[0]).await;
    assert_eq!(keys(&claim(store, Some(Lane::Kommo), t(60)).await), ["k2"]);
}

/// The coalescing claim of the Loops lane, too, stops at a head of the other lane, and folds
/// the upserts behind it once it is done.
pub async fn a_coalescing_lane_waits_behind_the_other_lanes_head(store: &Store) {
    let partition = "loops:a@example.com";
    let batch = vec![
        item("note", partition),
        upsert("u1", "a@example.com", "free"),
        upsert("u2", "a@example.com", "pro"),
    ];
    store.outbox.enqueue(batch, t(0)).await.unwrap();
    let coalescing = |lane| async move {
        store
            .outbox
            .claim_coalescing("w", Some(lane), 8, t(1), LEASE)
            .await
            .expect("claim")
    };
    assert!(coalescing(Lane::Loops).await.is_empty());
    let note = coalescing(Lane::Kommo).await;
    assert_eq!(keys(&note), ["note"]);
    assert!(note[0].folded.is_empty());
    done(store, &note[0]).await;
    let upserts = coalescing(Lane::Loops).await;
    assert_eq!(keys(&upserts), ["u1"]);
    assert_eq!(keys(&upserts[0].folded), ["u2"]);
}

pub async fn next_due_is_per_lane(store: &Store) {
    let outbox = &store.outbox;
    outbox
        .enqueue(vec![planning("plan", "p1")], t(5))
        .await
        .unwrap();
    assert_eq!(
        outbox.next_due(Some(Lane::Kommo)).await.unwrap(),
        Some(t(5))
    );
    assert_eq!(outbox.next_due(Some(Lane::Loops)).await.unwrap(), None);
    outbox
        .enqueue(vec![loops_item("send", "p2")], t(9))
        .await
        .unwrap();
    assert_eq!(
        outbox.next_due(Some(Lane::Loops)).await.unwrap(),
        Some(t(9))
    );
    assert_eq!(outbox.next_due(None).await.unwrap(), Some(t(5)));
    let send = claim(store, Some(Lane::Loops), t(9)).await.remove(0);
    assert_eq!(outbox.next_due(Some(Lane::Loops)).await.unwrap(), None);
    outbox
        .finish(send.id, "w", Finish::RetryAt(t(40)), attempt(t(9), "retry"))
        .await
        .unwrap();
    assert_eq!(
        outbox.next_due(Some(Lane::Loops)).await.unwrap(),
        Some(t(40))
    );
    assert_eq!(
        outbox.next_due(Some(Lane::Kommo)).await.unwrap(),
        Some(t(5))
    );
}
