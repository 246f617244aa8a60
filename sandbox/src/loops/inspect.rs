//! Inspection and seeding in Rust, on [`Sandbox`] (the HTTP routes are in
//! `inspect_http.rs`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::config::{MailingListSeed, PropertyKind, TransactionalTemplate};
use super::contacts::{ContactInput, check_new_property, create};
use super::model::{Contact, IdempotencyConflict, RecordedEvent, RecordedTransactional};
use super::webhooks::WebhookDelivery;
use super::{Inner, Sandbox};
use crate::records::{RequestRecord, RequestStats};

/// A contact to seed.
///
/// As JSON (for `POST /_sandbox/contacts`): the find shape, e.g.
/// `{"email": "...", "userId": "...", "firstName": "...", "mailingLists": {"l1": true},
/// "suppressed": true, "plan": "pro"}`; other keys are custom properties.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NewContact {
    /// The email (required).
    pub email: String,
    /// `userId`.
    #[serde(default)]
    pub user_id: Option<String>,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// User group.
    #[serde(default)]
    pub user_group: Option<String>,
    /// Source (default `"API"`).
    #[serde(default)]
    pub source: Option<String>,
    /// Subscribed to the audience (default `true`).
    #[serde(default)]
    pub subscribed: Option<bool>,
    /// Mailing lists (they must exist).
    #[serde(default)]
    pub mailing_lists: BTreeMap<String, bool>,
    /// On the suppression list.
    #[serde(default)]
    pub suppressed: bool,
    /// Custom properties (created if they do not exist yet).
    #[serde(flatten)]
    pub properties: Map<String, Value>,
}

impl NewContact {
    /// A subscribed contact with this email.
    pub fn new(email: impl Into<String>) -> Self {
        NewContact {
            email: email.into(),
            ..NewContact::default()
        }
    }

    /// Sets `userId`.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the first name.
    pub fn first_name(mut self, name: impl Into<String>) -> Self {
        self.first_name = Some(name.into());
        self
    }

    /// Sets the last name.
    pub fn last_name(mut self, name: impl Into<String>) -> Self {
        self.last_name = Some(name.into());
        self
    }

    /// Sets the user group.
    pub fn user_group(mut self, group: impl Into<String>) -> Self {
        self.user_group = Some(group.into());
        self
    }

    /// Sets a custom property.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// Subscribes the contact to a list.
    pub fn mailing_list(mut self, list_id: impl Into<String>) -> Self {
        self.mailing_lists.insert(list_id.into(), true);
        self
    }

    /// Unsubscribes the contact from the audience.
    pub fn unsubscribed(mut self) -> Self {
        self.subscribed = Some(false);
        self
    }

    /// Puts the contact on the suppression list.
    pub fn suppressed(mut self) -> Self {
        self.suppressed = true;
        self
    }

    /// The create-contact body this seed amounts to.
    fn to_body(&self) -> Map<String, Value> {
        let mut body = self.properties.clone();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                body.insert(key.to_owned(), value);
            }
        };
        put("email", Some(json!(self.email)));
        put("userId", self.user_id.clone().map(Value::from));
        put("firstName", self.first_name.clone().map(Value::from));
        put("lastName", self.last_name.clone().map(Value::from));
        put("userGroup", self.user_group.clone().map(Value::from));
        put("source", self.source.clone().map(Value::from));
        put("subscribed", self.subscribed.map(Value::from));
        put("mailingLists", Some(json!(self.mailing_lists)));
        body
    }
}

/// Why seeding failed (a taken email, an unknown list, a bad name...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedError(pub String);

impl std::fmt::Display for SeedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot seed: {}", self.0)
    }
}

impl std::error::Error for SeedError {}

fn seed_error(error: super::request::ApiError) -> SeedError {
    SeedError(
        error.body["message"]
            .as_str()
            .unwrap_or("refused")
            .to_owned(),
    )
}

impl Inner {
    pub(super) fn add_contact(&self, seed: &NewContact) -> Result<String, SeedError> {
        let input = ContactInput::parse(&seed.to_body(), &["suppressed"]).map_err(seed_error)?;
        let mut state = self.lock();
        // Seeds may use properties that were never created: they are created here.
        let index = create(&mut state, &input, false).map_err(seed_error)?;
        let contact = &mut state.contacts[index];
        contact.suppressed = seed.suppressed;
        Ok(contact.id.clone())
    }

    pub(super) fn mark_suppressed(&self, email: &str) -> Result<String, SeedError> {
        let existing = {
            let mut state = self.lock();
            state.by_email(email).map(|i| {
                state.contacts[i].suppressed = true;
                state.contacts[i].id.clone()
            })
        };
        match existing {
            Some(id) => Ok(id),
            None => self.add_contact(&NewContact::new(email).suppressed()),
        }
    }

    pub(super) fn add_contact_property(
        &self,
        name: &str,
        kind: PropertyKind,
    ) -> Result<(), SeedError> {
        let mut state = self.lock();
        check_new_property(&state, name).map_err(seed_error)?;
        state.custom_properties.push((name.to_owned(), kind));
        Ok(())
    }

    /// Everything back to how the configuration started it: store, records, counters, idempotency
    /// keys, rate-limit bucket, faults (and their generator) and the webhook registration.
    pub(crate) fn reset(&self) {
        *self.lock() = super::state::State::new(&self.config);
        self.faults
            .restore(self.config.shared.faults.clone(), self.config.shared.seed);
        self.refill_bucket();
        *self.lock_webhook() = self.config.webhook.clone();
    }
}

crate::inspect::inspect_impl!(Inner);

/// Inspection and seeding in Rust.
impl Sandbox {
    /// Every contact, oldest first.
    pub fn contacts(&self) -> Vec<Contact> {
        self.inner.lock().contacts.clone()
    }

    /// The contact with this email (compared without regard to case).
    pub fn contact(&self, email: &str) -> Option<Contact> {
        let state = self.inner.lock();
        state.by_email(email).map(|i| state.contacts[i].clone())
    }

    /// The contact with this `userId`.
    pub fn contact_by_user_id(&self, user_id: &str) -> Option<Contact> {
        let state = self.inner.lock();
        state.by_user_id(user_id).map(|i| state.contacts[i].clone())
    }

    /// Every accepted event, in order.
    pub fn events(&self) -> Vec<RecordedEvent> {
        self.inner.lock().events.clone()
    }

    /// Accepted events for the contact with this email at the time of the event.
    pub fn events_for(&self, email: &str) -> Vec<RecordedEvent> {
        self.inner
            .lock()
            .events
            .iter()
            .filter(|e| e.email.eq_ignore_ascii_case(email))
            .cloned()
            .collect()
    }

    /// Every accepted transactional send, in order.
    pub fn transactional_sends(&self) -> Vec<RecordedTransactional> {
        self.inner.lock().sends.clone()
    }

    /// Request counts by endpoint and status.
    pub fn request_stats(&self) -> RequestStats {
        self.inner.lock().requests.stats.clone()
    }

    /// The request log (the last 10,000 requests).
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.inner.lock().requests.records.iter().cloned().collect()
    }

    /// Sends refused with 409 because their idempotency key had been used.
    pub fn idempotency_conflicts(&self) -> Vec<IdempotencyConflict> {
        self.inner.lock().conflicts.clone()
    }

    /// Every outgoing webhook delivery, replays included, in order.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner.lock().deliveries.clone()
    }

    /// Back to how the configuration started the sandbox: contacts, lists, properties,
    /// transactional emails, records, counters, idempotency keys, the rate-limit bucket, the
    /// faults and the webhook registration.
    pub fn reset(&self) {
        self.inner.reset();
    }

    /// Adds a contact; fails when its email or userId is taken or a list does not exist.
    /// Custom properties it uses are created. Returns its id.
    pub fn add_contact(&self, seed: NewContact) -> Result<String, SeedError> {
        self.inner.add_contact(&seed)
    }

    /// Adds (or replaces) a mailing list.
    pub fn add_list(&self, list: MailingListSeed) {
        self.inner.lock().add_list(list);
    }

    /// Adds (or replaces) a transactional email; from then on unknown ids get 404.
    pub fn add_transactional_email(&self, template: TransactionalTemplate) {
        self.inner.lock().add_transactional(template);
    }

    /// Creates a custom contact property, with the API's checks (camelCase, not reserved, new).
    pub fn add_contact_property(&self, name: &str, kind: PropertyKind) -> Result<(), SeedError> {
        self.inner.add_contact_property(name, kind)
    }

    /// Puts the email on the suppression list, creating its contact if needed. Returns the
    /// contact's id.
    pub fn mark_suppressed(&self, email: &str) -> Result<String, SeedError> {
        self.inner.mark_suppressed(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_json_and_body() {
        let seed: NewContact = serde_json::from_str(
            r#"{"email":"a@b.co","userId":"u1","mailingLists":{"l1":true},"suppressed":true,"plan":"pro"}"#,
        )
        .unwrap();
        assert_eq!(seed.user_id.as_deref(), Some("u1"));
        assert!(seed.suppressed);
        assert_eq!(seed.properties["plan"], "pro");
        let body = seed.to_body();
        assert_eq!(body["email"], "a@b.co");
        assert_eq!(body["mailingLists"]["l1"], true);
        assert!(!body.contains_key("firstName"));
    }
}
