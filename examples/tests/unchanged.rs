//! Skipping an upsert identical to what was last delivered for its contact, end to end
//! against the Loops fake: skipped and reported as already done, sent again once anything
//! differs, once the contact was deleted, or when the hash could not be written after a
//! delivery (a crash there costs a repeated upsert, never a lost one). Events are never skipped.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::onboarding;
use kommo_loops_bridge::Action;
use kommo_loops_bridge::runtime::changes::{ChangeRecord, Observation, Resolution};
use kommo_loops_bridge::runtime::outbox::{ItemState, NewItem, OutboxError};
use kommo_loops_bridge::runtime::{BridgeConfig, MemoryOutbox, MemoryState, StateStore};
use kommo_loops_examples::demo::{Stack, StackOptions};

const UPDATE: &str = "PUT /v1/contacts/update";
const EVENT: &str = "POST /v1/events/send";
const EMAIL: &str = "ada@acme.io";

fn item(value: serde_json::Value) -> NewItem {
    let action: Action = serde_json::from_value(value).expect("a valid action");
    NewItem::action(action, "test")
}

fn upsert(key: &str, first_name: &str) -> NewItem {
    item(serde_json::json!({
        "type": "loops.upsert_contact",
        "idempotencyKey": key,
        "email": EMAIL,
        "properties": { "firstName": first_name },
        "kommoContactId": 5101,
        "rule": "contact changed",
    }))
}

/// Runs `items` to the end; returns how each ended (state, last attempt's detail).
async fn run(stack: &Stack, items: Vec<NewItem>) -> Vec<(ItemState, String)> {
    let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
    let outbox = stack.bridge.outbox();
    outbox.enqueue(items, SystemTime::now()).await.unwrap();
    stack.bridge.drain(Duration::from_secs(20)).await.unwrap();
    let mut ended = Vec::new();
    for key in keys {
        let item = outbox.get(&key).await.unwrap().unwrap();
        let detail = item
            .attempts
            .last()
            .map(|a| a.detail.clone())
            .unwrap_or_default();
        ended.push((item.state, detail));
    }
    ended
}

fn calls(stack: &Stack) -> (u64, u64) {
    let stats = stack.loops.request_stats();
    (stats.requests_to(UPDATE), stats.requests_to(EVENT))
}

async fn start(config: BridgeConfig, state: Arc<dyn StateStore>) -> Stack {
    let options = StackOptions::new()
        .workers(0)
        .stores(Arc::new(MemoryOutbox::new()), state);
    Stack::start_with(onboarding(), config, options)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_identical_to_the_last_delivered_is_skipped() {
    let stack = start(BridgeConfig::default(), Arc::new(MemoryState::new())).await;
    run(&stack, vec![upsert("a", "Ada")]).await;
    assert_eq!(calls(&stack), (1, 0));

    let ended = run(&stack, vec![upsert("b", "Ada")]).await;
    assert_eq!(calls(&stack), (1, 0), "identical: not sent");
    assert_eq!(ended[0].0, ItemState::AlreadyDone);
    assert!(
        ended[0].1.contains("identical to what was last delivered"),
        "{}",
        ended[0].1
    );

    run(&stack, vec![upsert("c", "Ada L")]).await;
    assert_eq!(calls(&stack), (2, 0), "changed: sent");

    // An event carrying an upsert is sent, and what it carried counts as delivered.
    let event = item(serde_json::json!({
        "type": "loops.send_event",
        "idempotencyKey": "event",
        "email": EMAIL,
        "eventName": "trial_started",
        "contactProperties": { "firstName": "Ada M" },
        "kommoContactId": 5101,
        "upsertRule": "contact changed",
        "rule": "trial",
    }));
    run(&stack, vec![event]).await;
    assert_eq!(calls(&stack), (2, 1));
    run(&stack, vec![upsert("d", "Ada M")]).await;
    assert_eq!(
        calls(&stack),
        (2, 1),
        "what the event carried: not sent again"
    );

    // A delete forgets it: the same upsert afterwards re-creates the contact.
    let delete = item(serde_json::json!({
        "type": "loops.delete_contact",
        "idempotencyKey": "delete",
        "email": EMAIL,
        "rule": "email changed",
    }));
    run(&stack, vec![delete]).await;
    assert!(stack.loops.contact(EMAIL).is_none());
    run(&stack, vec![upsert("e", "Ada M")]).await;
    assert_eq!(calls(&stack), (3, 1));
    assert_eq!(
        stack.loops.contact(EMAIL).unwrap().first_name.as_deref(),
        Some("Ada M")
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_skipping_off_every_upsert_is_sent() {
    let config = BridgeConfig::default().skip_unchanged_upserts(false);
    let stack = start(config, Arc::new(MemoryState::new())).await;
    run(&stack, vec![upsert("a", "Ada")]).await;
    run(&stack, vec![upsert("b", "Ada")]).await;
    assert_eq!(calls(&stack), (2, 0));
    stack.stop().await;
}

/// A state store that loses every write of the delivered hash, as a crash right after the
/// Loops call would.
struct LosesHashes(MemoryState);

#[async_trait::async_trait]
impl StateStore for LosesHashes {
    async fn first_delivery(
        &self,
        scope: &str,
        id: &str,
        now: SystemTime,
    ) -> Result<bool, OutboxError> {
        self.0.first_delivery(scope, id, now).await
    }
    async fn advance_version(&self, entity: &str, version: i64) -> Result<bool, OutboxError> {
        self.0.advance_version(entity, version).await
    }
    async fn synced_email(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        self.0.synced_email(contact).await
    }
    async fn set_synced_email(&self, contact: &str, email: &str) -> Result<(), OutboxError> {
        self.0.set_synced_email(contact, email).await
    }
    async fn delivered_upsert(&self, contact: &str) -> Result<Option<String>, OutboxError> {
        self.0.delivered_upsert(contact).await
    }
    async fn set_delivered_upsert(
        &self,
        _contact: &str,
        _user_id: Option<&str>,
        _hash: &str,
    ) -> Result<(), OutboxError> {
        Err(OutboxError::Storage("the process died here".into()))
    }
    async fn forget_delivered_upsert(
        &self,
        contact: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<(), OutboxError> {
        self.0.forget_delivered_upsert(contact, user_id).await
    }
    async fn synced_contacts(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, String)>, OutboxError> {
        self.0.synced_contacts(after, limit).await
    }
    async fn observe_changes(
        &self,
        observations: &[Observation],
        tolerance: Duration,
    ) -> Result<Vec<Resolution>, OutboxError> {
        self.0.observe_changes(observations, tolerance).await
    }
    async fn changes(&self, keys: &[String]) -> Result<Vec<ChangeRecord>, OutboxError> {
        self.0.changes(keys).await
    }
    async fn watermark(&self, name: &str) -> Result<Option<i64>, OutboxError> {
        self.0.watermark(name).await
    }
    async fn advance_watermark(&self, name: &str, at: i64) -> Result<(), OutboxError> {
        self.0.advance_watermark(name, at).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_lost_after_delivery_costs_a_repeated_upsert_never_a_lost_one() {
    let stack = start(
        BridgeConfig::default(),
        Arc::new(LosesHashes(MemoryState::new())),
    )
    .await;
    let ended = run(&stack, vec![upsert("a", "Ada")]).await;
    assert_eq!(ended[0].0, ItemState::Done, "the delivery itself succeeded");
    run(&stack, vec![upsert("b", "Ada")]).await;
    assert_eq!(
        calls(&stack),
        (2, 0),
        "sent again: nothing recorded it as delivered"
    );
    assert_eq!(
        stack.loops.contact(EMAIL).unwrap().first_name.as_deref(),
        Some("Ada")
    );
    stack.stop().await;
}
