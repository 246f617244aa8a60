//! What jobs log: every line a job writes carries that job's span, and only it, while several
//! workers run jobs concurrently (a line written during one job never names another); and
//! contact emails are masked unless the operator asks for them.
//!
//! A subscriber layer records, for each event, its fields and the `kommo_loops.job` spans in
//! its scope. The fake Loops API logs the key of the action it is called for, and yields in the
//! middle of the call, so the workers' jobs interleave on one thread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::leads::Lead;
use kommo_client::pipelines::Pipeline;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSubscription};
use kommo_loops_bridge::runtime::outbox::NewItem;
use kommo_loops_bridge::runtime::{
    Bridge, BridgeConfig, EmailsInLogs, KommoApi, KommoEntity, LoopsApi, LoopsContactStatus,
    MemoryOutbox, PortError,
};
use kommo_loops_bridge::{
    Action, DeleteContact, Rules, SendEvent, SendTransactional, UpsertContact,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const JOB_SPAN: &str = "kommo_loops.job";
const JOBS: usize = 24;

/// One captured log line: its message, its `key` and `detail` fields, and the ids of the job
/// spans around it.
#[derive(Debug, Clone)]
struct Line {
    level: tracing::Level,
    message: String,
    key: Option<String>,
    detail: Option<String>,
    reason: Option<String>,
    item: Option<i64>,
    job_spans: Vec<i64>,
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    key: Option<String>,
    detail: Option<String>,
    reason: Option<String>,
    id: Option<i64>,
    item: Option<i64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "key" => &mut self.key,
            "detail" => &mut self.detail,
            "reason" => &mut self.reason,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        match field.name() {
            "id" => self.id = Some(value),
            "item" => self.item = Some(value),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "id" {
            self.id = i64::try_from(value).ok();
        }
    }
}

/// The item id a job span was opened with, kept in the span's extensions.
struct JobId(i64);

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Line>>>);

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != JOB_SPAN {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(span), Some(job)) = (ctx.span(id), fields.id) {
            span.extensions_mut().insert(JobId(job));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let job_spans = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .filter(|span| span.name() == JOB_SPAN)
                    .filter_map(|span| span.extensions().get::<JobId>().map(|j| j.0))
                    .collect()
            })
            .unwrap_or_default();
        self.0.lock().unwrap().push(Line {
            level: *event.metadata().level(),
            message: fields.message.unwrap_or_default(),
            key: fields.key,
            detail: fields.detail,
            reason: fields.reason,
            item: fields.item,
            job_spans,
        });
    }
}

/// Loops, answering every send after a short pause; it logs the action's key on each side of
/// the pause and counts how many calls overlap.
#[derive(Default)]
struct SlowLoops {
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

#[async_trait::async_trait]
impl LoopsApi for SlowLoops {
    async fn upsert_contact(&self, _: &UpsertContact) -> Result<(), PortError> {
        Ok(())
    }

    async fn send_event(&self, action: &SendEvent) -> Result<(), PortError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tracing::info!(key = %action.idempotency_key, "loops call starts");
        let pause = 1 + action.idempotency_key.len() as u64 % 7;
        tokio::time::sleep(Duration::from_millis(pause)).await;
        tracing::info!(key = %action.idempotency_key, "loops call ends");
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }

    async fn send_transactional(&self, _: &SendTransactional) -> Result<(), PortError> {
        Ok(())
    }

    async fn delete_contact(&self, _: &DeleteContact) -> Result<(), PortError> {
        Ok(())
    }

    async fn contact_status(&self, _: &str) -> Result<Option<LoopsContactStatus>, PortError> {
        unused()
    }
}

/// Kommo is never called by these jobs.
struct NoKommo;

fn unused<T>() -> Result<T, PortError> {
    Err(PortError::Permanent {
        reason: "not used in this test".into(),
    })
}

#[async_trait::async_trait]
impl KommoApi for NoKommo {
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
        unused()
    }
    async fn add_note(&self, _: KommoEntity, _: &str) -> Result<(), PortError> {
        unused()
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
    async fn events(
        &self,
        _: kommo_client::events::EventsQuery,
    ) -> Result<(Vec<kommo_client::events::Event>, bool), PortError> {
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

fn send_event(n: usize) -> Action {
    serde_json::from_value(serde_json::json!({
        "type": "loops.send_event",
        "idempotencyKey": format!("ev-{n}-{}", "x".repeat(n % 5)),
        "email": format!("person{n}@example.com"),
        "eventName": "signup",
        "rule": "signups",
    }))
    .unwrap()
}

/// Runs `JOBS` sends through 4 workers on one thread (the workers' jobs interleave at every
/// await, which is where a span entered across an await leaks into the next job polled), and
/// returns the lines logged, each action's item id by key, and the most calls that overlapped.
async fn run_jobs(config: BridgeConfig) -> (Vec<Line>, HashMap<String, i64>, usize) {
    let capture = Capture::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    let loops = Arc::new(SlowLoops::default());
    // The jobs are stored actions: the rules are never consulted.
    let rules = Rules::from_toml_str(
        "rules.toml",
        "[[kommo]]\nname = \"x\"\nwhen = { event = \"lead_added\" }\ndo = [{ upsert_contact = {} }]\n",
    )
    .unwrap();
    let bridge = Bridge::builder(rules, loops.clone(), Arc::new(NoKommo))
        .outbox(Arc::new(MemoryOutbox::new()))
        .config(config)
        .build()
        .unwrap();
    // One partition per action, so every worker has something to run at once.
    let items: Vec<NewItem> = (0..JOBS)
        .map(|n| NewItem::action(send_event(n), "test"))
        .collect();
    let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
    assert_eq!(bridge.enqueue(items).await.unwrap(), JOBS);
    let mut reports = bridge.subscribe();
    let workers = bridge.spawn_workers(4);
    for _ in 0..JOBS {
        tokio::time::timeout(Duration::from_secs(30), reports.recv())
            .await
            .expect("every job ends")
            .unwrap();
    }
    workers.shutdown().await;

    let mut id_of_key = HashMap::new();
    for key in keys {
        let item = bridge.outbox().get(&key).await.unwrap().unwrap();
        id_of_key.insert(key, item.id);
    }
    let lines = capture.0.lock().unwrap().clone();
    (
        lines,
        id_of_key,
        loops.most_in_flight.load(Ordering::SeqCst),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn each_job_line_carries_exactly_its_own_job_span() {
    let (lines, id_of_key, most_in_flight) = run_jobs(BridgeConfig::default()).await;
    let calls: Vec<&Line> = lines.iter().filter(|l| l.key.is_some()).collect();
    assert_eq!(calls.len(), 2 * JOBS, "{lines:#?}");
    assert!(
        most_in_flight > 1,
        "the jobs did not overlap, so the test proves nothing"
    );
    let mut wrong = Vec::new();
    for line in &calls {
        let own = id_of_key[line.key.as_deref().unwrap()];
        if line.job_spans != [own] {
            wrong.push(format!(
                "{:?} for item {own} carries job spans {:?}",
                line.message, line.job_spans
            ));
        }
    }
    let finished: Vec<&Line> = lines
        .iter()
        .filter(|l| l.message == "job finished")
        .collect();
    assert_eq!(finished.len(), JOBS);
    for line in finished {
        if line.job_spans.len() != 1 {
            wrong.push(format!(
                "`job finished` carries job spans {:?}",
                line.job_spans
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} lines:\n{}",
        wrong.len(),
        calls.len() + JOBS,
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn emails_are_masked_in_job_lines_unless_asked() {
    let details = |lines: Vec<Line>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| l.message == "job finished")
            .filter_map(|l| l.detail)
            .collect()
    };
    let masked = details(run_jobs(BridgeConfig::default()).await.0);
    assert_eq!(masked.len(), JOBS);
    for detail in &masked {
        assert!(detail.contains("p***@example.com"), "{detail}");
        assert!(!detail.contains("person"), "{detail}");
    }
    let full = details(
        run_jobs(BridgeConfig::default().emails_in_logs(EmailsInLogs::Full))
            .await
            .0,
    );
    assert!(
        full.iter().any(|d| d.contains("person3@example.com")),
        "{full:?}"
    );
}

/// Loops refusing every send, as it refuses an upsert naming a property that was never
/// created.
struct RefusingLoops;

#[async_trait::async_trait]
impl LoopsApi for RefusingLoops {
    async fn upsert_contact(&self, _: &UpsertContact) -> Result<(), PortError> {
        Ok(())
    }

    async fn send_event(&self, _: &SendEvent) -> Result<(), PortError> {
        Err(PortError::Permanent {
            reason: "Loops returned 400 for send_event: Contact property `plan` does not \
                     exist. Create it first. (at `plan`)"
                .into(),
        })
    }

    async fn send_transactional(&self, _: &SendTransactional) -> Result<(), PortError> {
        Ok(())
    }

    async fn delete_contact(&self, _: &DeleteContact) -> Result<(), PortError> {
        Ok(())
    }

    async fn contact_status(&self, _: &str) -> Result<Option<LoopsContactStatus>, PortError> {
        Ok(None)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_dead_letter_is_an_error_line_naming_the_item_its_key_and_the_reason() {
    let capture = Capture::default();
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let rules = Rules::from_toml_str(
        "rules.toml",
        "[[kommo]]\nname = \"x\"\nwhen = { event = \"lead_added\" }\ndo = [{ upsert_contact = {} }]\n",
    )
    .unwrap();
    let bridge = Bridge::builder(rules, Arc::new(RefusingLoops), Arc::new(NoKommo))
        .build()
        .unwrap();
    let none = bridge.dead_letters().await.unwrap();
    assert_eq!((none.count, none.latest), (0, None));
    let action = send_event(3);
    let key = action.idempotency_key().to_owned();
    bridge
        .enqueue(vec![NewItem::action(action, "test")])
        .await
        .unwrap();
    bridge.drain(Duration::from_secs(5)).await.unwrap();
    let item = bridge.outbox().get(&key).await.unwrap().unwrap();

    let lines = capture.0.lock().unwrap().clone();
    let errors: Vec<&Line> = lines
        .iter()
        .filter(|l| l.level == tracing::Level::ERROR)
        .collect();
    assert_eq!(errors.len(), 1, "{lines:#?}");
    let line = errors[0];
    assert!(line.message.contains("dead letter"), "{line:?}");
    assert_eq!(line.key.as_deref(), Some(key.as_str()));
    assert_eq!(line.item, Some(item.id));
    assert!(
        line.reason
            .as_deref()
            .is_some_and(|r| r.contains("Contact property `plan` does not exist")),
        "{line:?}"
    );

    let dead = bridge.dead_letters().await.unwrap();
    assert_eq!(dead.count, 1);
    let latest = dead.latest.unwrap();
    assert_eq!(
        (latest.item_id, latest.key.as_str()),
        (item.id, key.as_str())
    );
    assert_eq!(latest.job, "loops.send_event (signups)");
    assert!(
        latest.reason.contains("does not exist"),
        "{}",
        latest.reason
    );
}
