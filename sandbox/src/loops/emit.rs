//! The webhook side of [`Sandbox`]: registering a receiver, and emitting, replaying and
//! forging deliveries. Bodies follow the documented Loops shapes; the `email.*` helpers also
//! apply the state change Loops makes (a hard bounce unsubscribes and suppresses the contact).

use std::time::SystemTime;

use loops_client::webhooks::WebhookSecret;
use serde_json::{Map, Value, json};

use super::Sandbox;
use super::config::WebhookTarget;
use super::webhooks::{
    DeliveryOptions, EmailEventKind, EmailSource, SCHEMA_VERSION, WebhookDelivery,
    WebhookSendError, deliver, send,
};
use crate::time::unix_seconds;

/// The `email.*` shorthands: one event about a campaign email sent to `email`.
macro_rules! email_shorthands {
    ($($(#[$doc:meta])* $name:ident => $kind:ident;)*) => {$(
        $(#[$doc])*
        pub async fn $name(&self, email: &str) -> Result<WebhookDelivery, WebhookSendError> {
            let source = self.default_source();
            self.email_event(EmailEventKind::$kind, email, source).await
        }
    )*};
}

impl Sandbox {
    /// Sends outgoing webhooks to `url`, signed with `secret` (`whsec_<base64>`), replacing any
    /// earlier registration.
    pub fn register_webhook(&self, url: &str, secret: &str) -> Result<(), WebhookSendError> {
        let secret = WebhookSecret::parse(secret)
            .map_err(|e| WebhookSendError::InvalidSecret(e.to_string()))?;
        *self.inner.lock_webhook() = Some(WebhookTarget {
            url: url.to_owned(),
            secret,
        });
        Ok(())
    }

    /// Stops sending webhooks.
    pub fn unregister_webhook(&self) {
        *self.inner.lock_webhook() = None;
    }

    /// Sends any event: `payload` (a JSON object) gets `eventName`, and `eventTime` and
    /// `webhookSchemaVersion` when it lacks them.
    pub async fn emit(
        &self,
        event_name: &str,
        payload: Value,
    ) -> Result<WebhookDelivery, WebhookSendError> {
        self.emit_with(event_name, payload, DeliveryOptions::new())
            .await
    }

    /// [`emit`](Self::emit) with a chosen timestamp or a bad signature.
    pub async fn emit_with(
        &self,
        event_name: &str,
        payload: Value,
        options: DeliveryOptions,
    ) -> Result<WebhookDelivery, WebhookSendError> {
        let Value::Object(mut body) = payload else {
            return Err(WebhookSendError::InvalidEvent(
                "the payload must be a JSON object".to_owned(),
            ));
        };
        let target = self
            .inner
            .lock_webhook()
            .clone()
            .ok_or(WebhookSendError::NotRegistered)?;
        let timestamp = options
            .timestamp
            .unwrap_or_else(|| unix_seconds(SystemTime::now()));
        body.insert("eventName".to_owned(), json!(event_name));
        body.entry("eventTime").or_insert(json!(timestamp));
        body.entry("webhookSchemaVersion")
            .or_insert(json!(SCHEMA_VERSION));
        let bytes = serde_json::to_vec(&Value::Object(body))
            .map_err(|e| WebhookSendError::InvalidEvent(e.to_string()))?;
        let id = self.inner.lock().new_message_id();
        let delivery = deliver(
            &self.inner.http,
            &target,
            id,
            timestamp,
            event_name.to_owned(),
            bytes,
            options.signature,
        )
        .await;
        self.inner.lock().deliveries.push(delivery.clone());
        Ok(delivery)
    }

    /// Sends the delivery with this `webhook-id` again, byte for byte (same id, timestamp,
    /// signature and body), as a network retry or an attacker's replay would.
    pub async fn replay_webhook(&self, id: &str) -> Result<WebhookDelivery, WebhookSendError> {
        let original = self
            .inner
            .lock()
            .deliveries
            .iter()
            .rev()
            .find(|d| d.id == id)
            .cloned()
            .ok_or_else(|| WebhookSendError::UnknownDelivery(id.to_owned()))?;
        let delivery = send(
            &self.inner.http,
            &original.url,
            original.id,
            original.timestamp,
            original.signature,
            original.event_name,
            original.body,
            true,
        )
        .await;
        self.inner.lock().deliveries.push(delivery.clone());
        Ok(delivery)
    }

    /// `contactIdentity` for an email: the contact's, or a fresh id when there is none (Loops
    /// reports email events for recipients outside the audience too).
    fn identity_for(&self, email: &str) -> Value {
        let mut state = self.inner.lock();
        match state.by_email(email) {
            Some(i) => state.contacts[i].identity_json(),
            None => json!({ "id": state.new_id(), "email": email, "userId": null }),
        }
    }

    /// Changes the contact, when there is one (side effects of bounces and unsubscribes).
    fn update_contact_state(&self, email: &str, change: impl FnOnce(&mut super::Contact)) {
        let mut state = self.inner.lock();
        if let Some(i) = state.by_email(email) {
            change(&mut state.contacts[i]);
        }
    }

    /// Sends an `email.*` event about an email sent to `email` from `source`.
    pub async fn email_event(
        &self,
        kind: EmailEventKind,
        email: &str,
        source: EmailSource,
    ) -> Result<WebhookDelivery, WebhookSendError> {
        if matches!(source, EmailSource::Transactional(_)) && !kind.allows_transactional() {
            return Err(WebhookSendError::InvalidEvent(format!(
                "Loops sends no {} for transactional emails",
                kind.event_name()
            )));
        }
        let (source_type, id_key, source_id) = source.fields();
        let (email_id, message_id) = {
            let mut state = self.inner.lock();
            (state.new_id(), state.new_id())
        };
        let mut body = Map::new();
        body.insert("sourceType".to_owned(), json!(source_type));
        body.insert(id_key.to_owned(), json!(source_id));
        body.insert(
            "email".to_owned(),
            json!({ "id": email_id, "emailMessageId": message_id, "subject": "Sandbox email" }),
        );
        body.insert("contactIdentity".to_owned(), self.identity_for(email));
        let delivery = self.emit(kind.event_name(), Value::Object(body)).await?;
        match kind {
            EmailEventKind::HardBounced | EmailEventKind::SpamReported => {
                self.update_contact_state(email, |c| {
                    c.subscribed = false;
                    c.suppressed = true;
                });
            }
            EmailEventKind::Unsubscribed => {
                self.update_contact_state(email, |c| c.subscribed = false);
            }
            EmailEventKind::Resubscribed => {
                self.update_contact_state(email, |c| c.subscribed = true);
            }
            _ => {}
        }
        Ok(delivery)
    }

    /// The source used by the shorthand `email_*` methods: a campaign, as in Loops' examples.
    fn default_source(&self) -> EmailSource {
        EmailSource::Campaign(self.inner.lock().new_id())
    }

    email_shorthands! {
        /// `email.hardBounced` (a campaign email); the contact is unsubscribed and suppressed.
        email_hard_bounced => HardBounced;
        /// `email.softBounced` (a campaign email).
        email_soft_bounced => SoftBounced;
        /// `email.spamReported` (a campaign email); the contact is unsubscribed and suppressed.
        email_spam_reported => SpamReported;
        /// `email.unsubscribed` (a campaign email); the contact is unsubscribed. Loops also sends
        /// `contact.unsubscribed` then: call [`contact_unsubscribed`](Self::contact_unsubscribed)
        /// too to reproduce both.
        email_unsubscribed => Unsubscribed;
    }

    /// `contact.unsubscribed` for an existing contact, which is unsubscribed.
    pub async fn contact_unsubscribed(
        &self,
        email: &str,
    ) -> Result<WebhookDelivery, WebhookSendError> {
        let identity = {
            let state = self.inner.lock();
            let i = state
                .by_email(email)
                .ok_or_else(|| WebhookSendError::UnknownContact(email.to_owned()))?;
            state.contacts[i].identity_json()
        };
        let delivery = self
            .emit(
                "contact.unsubscribed",
                json!({ "contactIdentity": identity }),
            )
            .await?;
        self.update_contact_state(email, |c| c.subscribed = false);
        Ok(delivery)
    }

    /// `contact.created` for an existing contact, with its full record under `contact`.
    pub async fn contact_created(&self, email: &str) -> Result<WebhookDelivery, WebhookSendError> {
        let (identity, contact) = {
            let state = self.inner.lock();
            let i = state
                .by_email(email)
                .ok_or_else(|| WebhookSendError::UnknownContact(email.to_owned()))?;
            let contact = &state.contacts[i];
            (contact.identity_json(), contact.to_find_json())
        };
        self.emit(
            "contact.created",
            json!({ "contactIdentity": identity, "contact": contact }),
        )
        .await
    }
}
