//! Claims of Kommo writes: a full claim of them is topped up from Kommo's lane only, and a
//! group of them never writes once its claim's lease may have run out.
//!
//! A topped-up claim holds up to `kommo_group` jobs, and their calls share Kommo's 7 requests a
//! second with every other Kommo worker: the marker read of a group can come back after the
//! lease expired, when another worker may already have claimed the same jobs, read the same
//! markers and written. Writing then would double every note. Time is tokio's, paused: the
//! fake's slow marker read advances it without the test waiting.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::events::{Event, EventsQuery};
use kommo_client::leads::Lead;
use kommo_client::pipelines::Pipeline;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSubscription};
use kommo_loops_bridge::runtime::outbox::{ItemState, NewItem};
use kommo_loops_bridge::runtime::{
    BatchOutcome, Bridge, BridgeConfig, KommoApi, KommoEntity, KommoNote, LoopsApi,
    LoopsContactStatus, MemoryOutbox, PortError,
};
use kommo_loops_bridge::{
    Action, DeleteContact, Rules, SendEvent, SendTransactional, UpsertContact,
};

const LEASE: Duration = Duration::from_secs(120);

/// Kommo whose first marker read takes longer than the lease (a queue behind the rate
/// limit), or whose contact searches each take `search` while the marker reads are quick;
/// recording the notes written.
#[derive(Default)]
struct SlowKommo {
    slowed: AtomicBool,
    search: Option<Duration>,
    notes: Mutex<Vec<KommoEntity>>,
    /// The size of each batch add.
    batches: Mutex<Vec<usize>>,
}

impl SlowKommo {
    /// A Kommo that answers at once.
    fn quick() -> Self {
        SlowKommo {
            slowed: AtomicBool::new(true),
            ..SlowKommo::default()
        }
    }
}

fn unused<T>() -> Result<T, PortError> {
    Err(PortError::Permanent {
        reason: "not used in this test".into(),
    })
}

#[async_trait::async_trait]
impl KommoApi for SlowKommo {
    async fn lead(&self, _: u64) -> Result<Option<Lead>, PortError> {
        unused()
    }
    async fn contact(&self, _: u64) -> Result<Option<Contact>, PortError> {
        unused()
    }
    async fn company(&self, _: u64) -> Result<Option<Company>, PortError> {
        unused()
    }
    async fn pipelines(&self) -> Result<Vec<Pipeline>, PortError> {
        unused()
    }
    async fn contacts_by_email(&self, email: &str) -> Result<Vec<Contact>, PortError> {
        let Some(search) = self.search else {
            return unused();
        };
        tokio::time::sleep(search).await;
        let id: u64 = email
            .trim_start_matches("person")
            .trim_end_matches("@example.com")
            .parse()
            .expect("a test email");
        let contact = serde_json::json!({"id": id, "name": email});
        Ok(vec![serde_json::from_value(contact).expect("a contact")])
    }
    async fn recent_notes(&self, _: KommoEntity) -> Result<Vec<String>, PortError> {
        Ok(Vec::new())
    }
    async fn recent_notes_of(
        &self,
        entities: &[KommoEntity],
    ) -> Result<BTreeMap<KommoEntity, Vec<String>>, PortError> {
        if self.search.is_none() && !self.slowed.swap(true, Ordering::SeqCst) {
            tokio::time::sleep(LEASE + Duration::from_secs(10)).await;
        }
        Ok(entities.iter().map(|e| (*e, Vec::new())).collect())
    }
    async fn add_note(&self, entity: KommoEntity, _: &str) -> Result<(), PortError> {
        self.notes.lock().unwrap().push(entity);
        Ok(())
    }
    async fn add_notes(&self, notes: &[KommoNote]) -> BatchOutcome<()> {
        self.batches.lock().unwrap().push(notes.len());
        let mut written = self.notes.lock().unwrap();
        notes
            .iter()
            .map(|n| {
                written.push(n.entity);
                Ok(())
            })
            .collect()
    }
    async fn open_tasks(&self, _: KommoEntity) -> Result<Vec<String>, PortError> {
        unused()
    }
    async fn add_task(
        &self,
        _: KommoEntity,
        _: &str,
        _: i64,
        _: Option<u64>,
    ) -> Result<(), PortError> {
        unused()
    }
    async fn change_tags(
        &self,
        _: KommoEntity,
        _: &[String],
        _: &[String],
    ) -> Result<Option<i64>, PortError> {
        unused()
    }
    async fn leads_by_id(&self, _: &[u64]) -> Result<Vec<Lead>, PortError> {
        unused()
    }
    async fn contacts_by_id(&self, _: &[u64]) -> Result<Vec<Contact>, PortError> {
        unused()
    }
    async fn companies_by_id(&self, _: &[u64]) -> Result<Vec<Company>, PortError> {
        unused()
    }
    async fn events(&self, _: EventsQuery) -> Result<(Vec<Event>, bool), PortError> {
        unused()
    }
    async fn account(&self) -> Result<(u64, String), PortError> {
        unused()
    }
    async fn webhook_subscription(
        &self,
        _: &str,
    ) -> Result<Option<WebhookSubscription>, PortError> {
        unused()
    }
    async fn subscribe_webhook(&self, _: &Subscribe) -> Result<WebhookSubscription, PortError> {
        unused()
    }
}

/// Loops, never called here.
struct NoLoops;

#[async_trait::async_trait]
impl LoopsApi for NoLoops {
    async fn upsert_contact(&self, _: &UpsertContact) -> Result<(), PortError> {
        unused()
    }
    async fn send_event(&self, _: &SendEvent) -> Result<(), PortError> {
        unused()
    }
    async fn send_transactional(&self, _: &SendTransactional) -> Result<(), PortError> {
        unused()
    }
    async fn delete_contact(&self, _: &DeleteContact) -> Result<(), PortError> {
        unused()
    }
    async fn contact_status(&self, _: &str) -> Result<Option<LoopsContactStatus>, PortError> {
        unused()
    }
}

fn note(lead: u64) -> NewItem {
    let action: Action = serde_json::from_value(serde_json::json!({
        "type": "kommo.add_note",
        "idempotencyKey": format!("note-{lead}"),
        "target": { "leadId": lead },
        "text": "bounced",
        "rule": "test",
    }))
    .expect("a valid action");
    NewItem::action(action, "test")
}

fn event(n: u64) -> NewItem {
    let action: Action = serde_json::from_value(serde_json::json!({
        "type": "loops.send_event",
        "idempotencyKey": format!("event-{n}"),
        "email": format!("person{n}@example.com"),
        "eventName": "trial_started",
        "rule": "test",
    }))
    .expect("a valid action");
    NewItem::action(action, "test")
}

/// A note on the contact with the email `person<n>@example.com`.
fn note_by_email(n: u64) -> NewItem {
    let action: Action = serde_json::from_value(serde_json::json!({
        "type": "kommo.add_note",
        "idempotencyKey": format!("note-{n}"),
        "target": { "email": format!("person{n}@example.com"), "on": "contact" },
        "text": "bounced",
        "rule": "test",
    }))
    .expect("a valid action");
    NewItem::action(action, "test")
}

fn bridge(kommo: Arc<SlowKommo>) -> Bridge {
    let rules = Rules::from_toml_str(
        "rules.toml",
        "[[kommo]]\nname = \"x\"\nwhen = { event = \"lead_added\" }\ndo = [{ upsert_contact = {} }]\n",
    )
    .unwrap();
    Bridge::builder(rules, Arc::new(NoLoops), kommo)
        .outbox(Arc::new(MemoryOutbox::new()))
        .config(BridgeConfig::default().lease(LEASE))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_group_whose_marker_read_outlasts_the_lease_writes_nothing() {
    let kommo = Arc::new(SlowKommo::default());
    let bridge = bridge(kommo.clone());
    let leads: Vec<u64> = (1..=10).collect();
    bridge
        .enqueue(leads.iter().map(|&l| note(l)).collect())
        .await
        .unwrap();

    // One claim, topped up to all ten; its marker read comes back after the lease.
    let reports = bridge.work_once("slow").await.unwrap();
    assert_eq!(reports.len(), 10);
    assert!(
        kommo.notes.lock().unwrap().is_empty(),
        "nothing is written once the lease may have passed to another worker"
    );
    for &lead in &leads {
        let item = bridge
            .outbox()
            .get(&format!("note-{lead}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(item.state, ItemState::Pending, "lead {lead} runs again");
        assert_eq!(
            item.attempts.last().map(|a| a.outcome.as_str()),
            Some("wait"),
            "a deferral is a wait, not a failure"
        );
    }

    // The next run, with a fresh lease, writes each note once. The retry is due by the wall
    // clock (a few hundred milliseconds of jitter), so tokio's clock runs again.
    tokio::time::resume();
    let reports = bridge.drain(Duration::from_secs(60)).await.unwrap();
    assert_eq!(reports.len(), 10);
    let mut written = kommo.notes.lock().unwrap().clone();
    written.sort();
    assert_eq!(
        written,
        leads
            .iter()
            .map(|&l| KommoEntity::Lead(l))
            .collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn slow_target_searches_leave_time_for_the_writes_of_those_resolved() {
    // Each search takes a sixth of the lease: resolving all ten would leave no time to write
    // any, claim after claim. The run resolves the first few and writes them.
    let kommo = Arc::new(SlowKommo {
        search: Some(LEASE / 6),
        ..SlowKommo::default()
    });
    let bridge = bridge(kommo.clone());
    bridge
        .enqueue((1..=10).map(note_by_email).collect())
        .await
        .unwrap();

    let reports = bridge.work_once("slow").await.unwrap();
    assert_eq!(reports.len(), 10);
    let written = kommo.notes.lock().unwrap().len();
    assert!(
        (1..10).contains(&written),
        "some notes are written, the rest wait: {written} written"
    );
    let stats = bridge.outbox().stats().await.unwrap();
    assert_eq!(
        (stats.done, stats.pending),
        (written as u64, 10 - written as u64)
    );
}

#[tokio::test]
async fn a_full_claim_of_kommo_writes_tops_up_from_kommos_lane_only() {
    let kommo = Arc::new(SlowKommo::quick());
    let bridge = bridge(kommo.clone());
    // The first claim (8, the default batch) is all notes; Loops events come next, then more
    // notes.
    let mut items: Vec<NewItem> = (1..=8).map(note).collect();
    items.extend((1..=5).map(event));
    items.extend((9..=30).map(note));
    bridge.enqueue(items).await.unwrap();

    let reports = bridge.work_once("w").await.unwrap();
    assert_eq!(
        reports.len(),
        30,
        "the claim was topped up with the 22 other notes"
    );
    assert_eq!(
        *kommo.batches.lock().unwrap(),
        vec![30],
        "one request for all"
    );
    let stats = bridge.outbox().stats().await.unwrap();
    assert_eq!(
        (stats.done, stats.pending),
        (30, 5),
        "the Loops events were not taken by the top-up"
    );
}

#[tokio::test]
async fn a_claim_of_mostly_other_jobs_is_not_topped_up() {
    let kommo = Arc::new(SlowKommo::quick());
    let bridge = bridge(kommo.clone());
    // The first claim holds 3 notes of 8: not a bulk change of Kommo writes.
    let mut items: Vec<NewItem> = (1..=5).map(event).collect();
    items.extend((1..=13).map(note));
    bridge.enqueue(items).await.unwrap();

    let reports = bridge.work_once("w").await.unwrap();
    assert_eq!(reports.len(), 8);
    assert_eq!(kommo.notes.lock().unwrap().len(), 3);
    let stats = bridge.outbox().stats().await.unwrap();
    assert_eq!(
        stats.pending, 10,
        "the other notes wait for their own claims"
    );
}
