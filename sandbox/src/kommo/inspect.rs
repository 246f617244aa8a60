//! Inspection, seeding and run-time knobs in Rust, on [`Sandbox`] (the HTTP routes are
//! in `inspect_http.rs`).

use std::time::Duration;

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId, LeadId, WebhookId};
use kommo_client::webhook_subscriptions::WebhookSetting;
use kommo_client::webhooks::{WebhookContact, WebhookLead, WebhookPayload};
use serde::{Deserialize, Serialize};

use super::config::all_webhook_settings;
use super::delivery::{Job, post};
use super::entity::Entity;
use super::model::{Company, Contact, Lead, Link, Note, Subscription, Tag, Task, WebhookDelivery};
use super::oauth::TokenPair;
use super::scenario::ScenarioError;
use super::seeds::{CustomFieldSeed, PipelineSeed, UserSeed};
use super::{Inner, Sandbox, events};
use crate::records::{RequestRecord, RequestStats};

/// The run-time switches besides the fault knobs.
///
/// As JSON (for `GET`/`PUT /_sandbox/conditions`):
/// `{"blocked": false, "payment_required": false, "batch_timeout_over": null}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Conditions {
    /// The IP block: every request gets 403 with an HTML page.
    pub blocked: bool,
    /// The account's paid period ended: every authenticated API request gets 402.
    pub payment_required: bool,
    /// Batch writes with more entities than this get 504 without being applied.
    pub batch_timeout_over: Option<usize>,
}

impl Inner {
    /// Sends a body now (not through the queue) and records it.
    pub(crate) async fn send_now(&self, job: Job, redelivery: bool) -> WebhookDelivery {
        let (outcome, sent_at, elapsed) = post(
            &self.http,
            &job.url,
            &job.request_id,
            &job.body,
            self.config.webhooks.timeout,
        )
        .await;
        self.record_delivery(&job, outcome, 1, redelivery, sent_at, elapsed)
    }
}

crate::inspect::inspect_impl!(Inner);

/// Inspection and seeding in Rust.
impl Sandbox {
    /// Every lead, by id.
    pub fn leads(&self) -> Vec<Lead> {
        self.all()
    }

    /// One lead.
    pub fn lead(&self, id: LeadId) -> Option<Lead> {
        self.one(id.0)
    }

    /// Every contact, by id.
    pub fn contacts(&self) -> Vec<Contact> {
        self.all()
    }

    /// One contact.
    pub fn contact(&self, id: ContactId) -> Option<Contact> {
        self.one(id.0)
    }

    /// The contacts that have this email among their `EMAIL` values (case-insensitive).
    pub fn contacts_by_email(&self, email: &str) -> Vec<Contact> {
        self.inner
            .lock()
            .contacts
            .values()
            .filter(|c| c.has_email(email))
            .cloned()
            .collect()
    }

    /// Every company, by id.
    pub fn companies(&self) -> Vec<Company> {
        self.all()
    }

    /// One company.
    pub fn company(&self, id: CompanyId) -> Option<Company> {
        self.one(id.0)
    }

    fn all<E: Entity>(&self) -> Vec<E> {
        E::map(&self.inner.lock()).values().cloned().collect()
    }

    fn one<E: Entity>(&self, id: u64) -> Option<E> {
        E::map(&self.inner.lock()).get(&id).cloned()
    }

    /// Every note, by id.
    pub fn notes(&self) -> Vec<Note> {
        self.inner.lock().notes.values().cloned().collect()
    }

    /// The notes on one entity.
    pub fn notes_for(&self, entity: EntityType, id: u64) -> Vec<Note> {
        self.inner
            .lock()
            .notes
            .values()
            .filter(|n| n.entity_type == entity && n.entity_id == id)
            .cloned()
            .collect()
    }

    /// Every task, by id.
    pub fn tasks(&self) -> Vec<Task> {
        self.inner.lock().tasks.values().cloned().collect()
    }

    /// The tasks on one entity.
    pub fn tasks_for(&self, entity: EntityType, id: u64) -> Vec<Task> {
        self.inner
            .lock()
            .tasks
            .values()
            .filter(|t| t.entity_type == Some(entity) && t.entity_id == Some(id))
            .cloned()
            .collect()
    }

    /// The tag directory of an entity type.
    pub fn tags(&self, entity: EntityType) -> Vec<Tag> {
        self.inner.lock().tag_directory(entity).to_vec()
    }

    /// Every link (lead↔contact, lead↔company, contact↔company), each once.
    pub fn links(&self) -> Vec<Link> {
        self.inner.lock().all_links()
    }

    /// The links of one entity.
    pub fn links_of(&self, entity: EntityType, id: u64) -> Vec<Link> {
        self.inner.lock().links_of(entity, id)
    }

    /// The pipelines with their statuses.
    pub fn pipelines(&self) -> Vec<PipelineSeed> {
        self.inner.lock().pipelines.clone()
    }

    /// The users.
    pub fn users(&self) -> Vec<UserSeed> {
        self.inner.lock().users.clone()
    }

    /// The custom field definitions of an entity type.
    pub fn custom_fields(&self, entity: EntityType) -> Vec<CustomFieldSeed> {
        self.inner
            .lock()
            .field_defs(entity)
            .into_iter()
            .cloned()
            .collect()
    }

    /// Request counts by endpoint and status.
    pub fn request_stats(&self) -> RequestStats {
        self.inner.lock().requests.stats.clone()
    }

    /// The request log (the last 10,000 requests).
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.inner.lock().requests.records.iter().cloned().collect()
    }

    /// The events log, oldest first: what `GET /api/v4/events` serves (newest first there).
    pub fn events_log(&self) -> Vec<super::LoggedEvent> {
        self.inner.lock().events.clone()
    }

    /// Every webhook delivery attempt, in order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner.lock().deliveries.clone()
    }

    /// The webhook subscriptions.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.inner.lock().subscriptions.clone()
    }

    /// Webhooks queued or being delivered.
    pub fn pending_webhooks(&self) -> usize {
        self.inner.hooks.pending()
    }

    /// Waits until every queued webhook was delivered (retries included) or given up. Bounded
    /// by the webhook policy: each attempt times out.
    pub async fn flush_webhooks(&self) {
        self.inner.hooks.idle().await;
    }

    /// Back to how the configuration started the sandbox: entities, tags, subscriptions,
    /// deliveries (queued ones are dropped), tokens, counters, the clock, the rate-limit
    /// bucket, the faults (and their generator) and the conditions.
    pub fn reset(&self) {
        self.inner.reset();
    }

    // ---- seeding ---------------------------------------------------------------------------

    /// Adds a pipeline, or replaces the one with its id (142 and 143 are added when missing).
    pub fn add_pipeline(&self, pipeline: PipelineSeed) {
        let pipeline = pipeline.completed();
        let mut state = self.inner.lock();
        match state.pipelines.iter_mut().find(|p| p.id == pipeline.id) {
            Some(existing) => *existing = pipeline,
            None => state.pipelines.push(pipeline),
        }
    }

    /// Adds a custom field definition, or replaces the one with its id.
    pub fn add_custom_field(&self, field: CustomFieldSeed) {
        let mut state = self.inner.lock();
        match state.fields.iter_mut().find(|f| f.id == field.id) {
            Some(existing) => *existing = field,
            None => state.fields.push(field),
        }
    }

    /// Adds a user, or replaces the one with its id.
    pub fn add_user(&self, user: UserSeed) {
        let mut state = self.inner.lock();
        match state.users.iter_mut().find(|u| u.id == user.id) {
            Some(existing) => *existing = user,
            None => state.users.push(user),
        }
    }

    /// Moves the sandbox's clock forward (timestamps of later changes; Kommo's own clock for
    /// trial-length scenarios). Token expiry follows tokio's clock instead.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.lock().clock_offset += i64::try_from(by.as_secs()).unwrap_or(i64::MAX / 2);
    }

    /// The sandbox's "now", unix seconds.
    pub fn now(&self) -> i64 {
        self.inner.lock().now()
    }

    // ---- conditions ------------------------------------------------------------------------

    /// Blocks the client: every request, to any API route, gets 403 with an HTML page until
    /// [`unblock`](Self::unblock) (Kommo's IP block after repeated 429s).
    pub fn block(&self) {
        self.inner.conditions().blocked = true;
    }

    /// Lifts the block.
    pub fn unblock(&self) {
        self.inner.conditions().blocked = false;
    }

    /// Whether the client is blocked (by [`block`](Self::block) or the automatic block).
    pub fn is_blocked(&self) -> bool {
        self.inner.conditions().blocked
    }

    /// Turns "payment required" (402 on every authenticated API request) on or off.
    pub fn set_payment_required(&self, on: bool) {
        self.inner.conditions().payment_required = on;
    }

    /// Batch writes with more entities than `limit` get 504 without being applied (`None`
    /// turns it off): Kommo's gateway timeout on big batches.
    pub fn time_out_batches_over(&self, limit: Option<usize>) {
        self.inner.conditions().batch_timeout_over = limit;
    }

    /// The current conditions.
    pub fn conditions(&self) -> Conditions {
        let c = self.inner.conditions();
        Conditions {
            blocked: c.blocked,
            payment_required: c.payment_required,
            batch_timeout_over: c.batch_timeout_over,
        }
    }

    /// Sets every condition at once.
    pub fn set_conditions(&self, conditions: Conditions) {
        let mut c = self.inner.conditions();
        c.blocked = conditions.blocked;
        c.payment_required = conditions.payment_required;
        c.batch_timeout_over = conditions.batch_timeout_over;
    }

    // ---- OAuth -------------------------------------------------------------------------------

    /// An authorization code for the configured integration, as Kommo's redirect would carry
    /// (single use, valid 20 minutes).
    pub fn issue_authorization_code(&self) -> String {
        self.inner.lock().issue_code()
    }

    /// A fresh token pair, as if a code had just been exchanged.
    pub fn issue_tokens(&self) -> TokenPair {
        let ttl = self.inner.config.access_token_ttl;
        self.inner.lock().issue_tokens(ttl, None)
    }

    /// Revokes every token (the long-lived one too): the integration was deactivated.
    pub fn revoke_tokens(&self) {
        self.inner.lock().oauth.revoke_all();
    }

    /// Expires every OAuth access token now (refresh tokens stay usable).
    pub fn expire_access_tokens(&self) {
        self.inner.lock().oauth.expire_access();
    }

    // ---- webhooks ----------------------------------------------------------------------------

    /// Subscribes `url` to `settings` (or updates and re-enables its subscription), as
    /// `POST /api/v4/webhooks` does.
    pub fn subscribe(
        &self,
        url: &str,
        settings: impl IntoIterator<Item = WebhookSetting>,
    ) -> Subscription {
        let by = self.inner.config.api_user;
        self.inner
            .lock()
            .subscribe(url, settings.into_iter().collect(), None, by)
    }

    /// Subscribes `url` to every event ([`all_webhook_settings`]).
    pub fn subscribe_all(&self, url: &str) -> Subscription {
        self.subscribe(url, all_webhook_settings())
    }

    /// Removes the subscription of `url`; whether there was one.
    pub fn unsubscribe(&self, url: &str) -> bool {
        self.inner.lock().unsubscribe(url)
    }

    /// An empty payload with this account's `account[...]` block, to fill with events and
    /// send with [`send_webhook`](Self::send_webhook).
    pub fn webhook_payload(&self) -> WebhookPayload {
        WebhookPayload::new(self.inner.hook_account().to_webhook())
    }

    /// A lead as webhooks show it now (legacy field set).
    pub fn webhook_lead(&self, id: LeadId) -> Option<WebhookLead> {
        let state = self.inner.lock();
        let account = self.inner.config.account_id;
        state.leads.get(&id.0).map(|l| events::lead(account, l))
    }

    /// A contact as webhooks show it now (`type=contact`).
    pub fn webhook_contact(&self, id: ContactId) -> Option<WebhookContact> {
        let state = self.inner.lock();
        let account = self.inner.config.account_id;
        state
            .contacts
            .get(&id.0)
            .map(|c| events::contact(account, c))
    }

    /// A company as webhooks show it now (`type=company`).
    pub fn webhook_company(&self, id: CompanyId) -> Option<WebhookContact> {
        let state = self.inner.lock();
        let account = self.inner.config.account_id;
        state
            .companies
            .get(&id.0)
            .map(|c| events::company(&state, account, c))
    }

    /// Sends a payload (any events, several entities in one body) to `url` now, encoded as
    /// Kommo encodes it, and records the delivery. A payload without an account block gets
    /// this sandbox's.
    pub async fn send_webhook(&self, url: &str, payload: &WebhookPayload) -> WebhookDelivery {
        let mut payload = payload.clone();
        if payload.account.is_empty() {
            payload.account = self.inner.hook_account().to_webhook();
        }
        let (body, names) = events::encode_payload(payload);
        self.send_raw_webhook_named(url, body, names).await
    }

    /// Sends a raw body (anything, e.g. a malformed one) to `url` now, with Kommo's headers.
    pub async fn send_raw_webhook(&self, url: &str, body: impl Into<String>) -> WebhookDelivery {
        self.send_raw_webhook_named(url, body.into(), Vec::new())
            .await
    }

    async fn send_raw_webhook_named(
        &self,
        url: &str,
        body: String,
        events: Vec<String>,
    ) -> WebhookDelivery {
        let request_id = self.inner.lock().uuid();
        let job = Job {
            generation: self.inner.hooks.generation(),
            subscription: None,
            url: url.to_owned(),
            request_id,
            events,
            body,
        };
        self.inner.send_now(job, false).await
    }

    /// Sends a recorded delivery again, unchanged (same body and `X-Amocrm-Requestid`), to
    /// the same URL, as Kommo's redelivery does; records it with `redelivery: true`.
    pub async fn redeliver_webhook(&self, id: u64) -> Result<WebhookDelivery, ScenarioError> {
        let original = self
            .inner
            .lock()
            .deliveries
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .ok_or(ScenarioError::NotFound {
                entity: "webhook delivery",
                id,
            })?;
        let job = Job {
            generation: self.inner.hooks.generation(),
            subscription: original.subscription,
            url: original.url,
            request_id: original.request_id,
            events: original.events,
            body: original.body,
        };
        Ok(self.inner.send_now(job, true).await)
    }

    /// The deliveries for one subscription.
    pub fn deliveries_for(&self, subscription: WebhookId) -> Vec<WebhookDelivery> {
        self.inner
            .lock()
            .deliveries
            .iter()
            .filter(|d| d.subscription == Some(subscription))
            .cloned()
            .collect()
    }
}
