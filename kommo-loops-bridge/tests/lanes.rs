//! Workers per lane: Loops sends go out while every Kommo job waits on Kommo, which is what
//! makes a bulk change take the larger of the two APIs' times instead of their sum.
//!
//! Kommo here answers nothing until the test opens a gate (as a Kommo rate limit holding the
//! calls back would); the Loops fake counts the sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::events::{Event, EventsQuery};
use kommo_client::leads::Lead;
use kommo_client::pipelines::Pipeline;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSubscription};
use kommo_loops_bridge::runtime::outbox::NewItem;
use kommo_loops_bridge::runtime::{
    Bridge, KommoApi, KommoEntity, Lane, LoopsApi, LoopsContactStatus, MemoryOutbox, PortError,
};
use kommo_loops_bridge::{
    Action, DeleteContact, Rules, SendEvent, SendTransactional, UpsertContact,
};
use tokio::sync::watch;

/// Kommo, answering only once the gate is open.
struct GatedKommo {
    gate: watch::Receiver<bool>,
    calls: AtomicUsize,
}

impl GatedKommo {
    async fn wait(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut gate = self.gate.clone();
        gate.wait_for(|open| *open).await.expect("the gate stays");
    }
}

fn unused<T>() -> Result<T, PortError> {
    Err(PortError::Permanent {
        reason: "not used in this test".into(),
    })
}

#[async_trait::async_trait]
impl KommoApi for GatedKommo {
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
    async fn contacts_by_email(&self, _: &str) -> Result<Vec<Contact>, PortError> {
        unused()
    }
    async fn recent_notes(&self, _: KommoEntity) -> Result<Vec<String>, PortError> {
        self.wait().await;
        Ok(Vec::new())
    }
    async fn add_note(&self, _: KommoEntity, _: &str) -> Result<(), PortError> {
        self.wait().await;
        Ok(())
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

/// Loops, counting the events sent.
#[derive(Default)]
struct CountingLoops {
    events: AtomicUsize,
}

#[async_trait::async_trait]
impl LoopsApi for CountingLoops {
    async fn upsert_contact(&self, _: &UpsertContact) -> Result<(), PortError> {
        unused()
    }
    async fn send_event(&self, _: &SendEvent) -> Result<(), PortError> {
        self.events.fetch_add(1, Ordering::SeqCst);
        Ok(())
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

fn action(value: serde_json::Value) -> Action {
    serde_json::from_value(value).expect("a valid action")
}

fn note(lead: u64) -> NewItem {
    NewItem::action(
        action(serde_json::json!({
            "type": "kommo.add_note",
            "idempotencyKey": format!("note-{lead}"),
            "target": { "leadId": lead },
            "text": "bounced",
            "rule": "test",
        })),
        "test",
    )
}

fn event(n: usize) -> NewItem {
    NewItem::action(
        action(serde_json::json!({
            "type": "loops.send_event",
            "idempotencyKey": format!("event-{n}"),
            "email": format!("person{n}@example.com"),
            "eventName": "trial_started",
            "rule": "test",
        })),
        "test",
    )
}

/// Polls `done` until it holds (the test fails after a generous minute, never on speed).
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(60), async {
        while !done().await {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "{what} never happened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loops_sends_run_while_every_kommo_job_waits_on_kommo() {
    let (open, gate) = watch::channel(false);
    let kommo = Arc::new(GatedKommo {
        gate,
        calls: AtomicUsize::new(0),
    });
    let loops = Arc::new(CountingLoops::default());
    let rules = Rules::from_toml_str(
        "rules.toml",
        "[[kommo]]\nname = \"x\"\nwhen = { event = \"lead_added\" }\ndo = [{ upsert_contact = {} }]\n",
    )
    .unwrap();
    let bridge = Bridge::builder(rules, loops.clone(), kommo.clone())
        .outbox(Arc::new(MemoryOutbox::new()))
        .build()
        .unwrap();
    // The Kommo jobs first: with one queue, the oldest jobs would hold every worker.
    let mut items: Vec<NewItem> = (1..=3).map(note).collect();
    items.extend((0..5).map(event));
    assert!(items[..3].iter().all(|i| i.job.lane() == Lane::Kommo));
    assert!(items[3..].iter().all(|i| i.job.lane() == Lane::Loops));
    assert_eq!(bridge.enqueue(items).await.unwrap(), 8);

    // One worker asked for: one per lane.
    let workers = bridge.spawn_workers(1);
    until("the five sends", async || {
        loops.events.load(Ordering::SeqCst) == 5
    })
    .await;
    assert!(
        kommo.calls.load(Ordering::SeqCst) >= 1,
        "the Kommo worker is waiting on Kommo meanwhile"
    );
    let stats = bridge.outbox().stats().await.unwrap();
    assert_eq!(
        (stats.done, stats.unfinished()),
        (5, 3),
        "no note is written while Kommo holds its calls"
    );

    open.send(true).unwrap();
    until("the notes", async || {
        bridge
            .outbox()
            .stats()
            .await
            .is_ok_and(|s| s.unfinished() == 0)
    })
    .await;
    workers.shutdown().await;
    let stats = bridge.outbox().stats().await.unwrap();
    assert_eq!((stats.done, stats.dead), (8, 0));
    assert_eq!(loops.events.load(Ordering::SeqCst), 5, "each send once");
}
