//! Outgoing webhooks: signed deliveries of Loops events to a registered URL.
//!
//! Signing follows Loops (Standard-Webhooks style): `webhook-id` (`msg_...`),
//! `webhook-timestamp` (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `{id}.{timestamp}.{body}`, keyed with the base64-decoded secret after `whsec_`. Bodies have
//! the documented shapes (`eventName`, `eventTime`, `webhookSchemaVersion`, `contactIdentity`,
//! ...). Each delivery is sent once (Loops' retry policy is not documented) and recorded,
//! with the status the receiver answered or the transport error.

use std::time::SystemTime;

use loops_client::webhooks::WebhookSecret;
use serde::Serialize;
use serde_json::Value;

use super::config::WebhookTarget;
use crate::records::DeliveryOutcome;
use crate::time::serialize_rfc3339;

/// The payload version Loops sends.
pub(super) const SCHEMA_VERSION: &str = "1.0.0";

/// Why a webhook could not be sent. A receiver answering with an error status is not an
/// error here: it is recorded in the [`WebhookDelivery`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookSendError {
    /// No webhook URL is registered.
    NotRegistered,
    /// The secret is not `whsec_<base64>`.
    InvalidSecret(String),
    /// The event needs an existing contact (`contact.created`, `contact.unsubscribed`).
    UnknownContact(String),
    /// No recorded delivery has this id.
    UnknownDelivery(String),
    /// The payload is not a JSON object, or the event does not exist for this source.
    InvalidEvent(String),
}

impl std::fmt::Display for WebhookSendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebhookSendError::NotRegistered => f.write_str("no webhook URL is registered"),
            WebhookSendError::InvalidSecret(why) => write!(f, "invalid webhook secret: {why}"),
            WebhookSendError::UnknownContact(email) => write!(f, "no contact with email {email}"),
            WebhookSendError::UnknownDelivery(id) => write!(f, "no delivery with id {id}"),
            WebhookSendError::InvalidEvent(why) => write!(f, "invalid webhook event: {why}"),
        }
    }
}

impl std::error::Error for WebhookSendError {}

/// One webhook delivery as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// `webhook-id` (a replay keeps the id of the delivery it repeats).
    pub id: String,
    /// `webhook-timestamp`, Unix seconds.
    pub timestamp: i64,
    /// `webhook-signature` as sent.
    pub signature: String,
    /// The event's `eventName`.
    pub event_name: String,
    /// Where it was sent.
    pub url: String,
    /// The exact body bytes (what the signature covers).
    #[serde(serialize_with = "as_text")]
    pub body: Vec<u8>,
    /// What the receiver did.
    pub outcome: DeliveryOutcome,
    /// Whether this is a replay of an earlier delivery.
    pub replay: bool,
    /// When it was sent.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub sent_at: SystemTime,
}

fn as_text<S: serde::Serializer>(body: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&String::from_utf8_lossy(body))
}

impl WebhookDelivery {
    /// The status the receiver answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            DeliveryOutcome::Status(status) => Some(status),
            DeliveryOutcome::TransportError(_) => None,
        }
    }

    /// Whether the receiver acknowledged it (any 2xx).
    pub fn acknowledged(&self) -> bool {
        self.status().is_some_and(|s| (200..300).contains(&s))
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// How to sign a delivery, for negative tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SignatureMode {
    /// Signed with the registered secret.
    #[default]
    Valid,
    /// Signed with another key: a receiver must refuse it.
    Invalid,
}

/// Options for [`Sandbox::emit_with`](crate::loops::Sandbox::emit_with).
///
/// ```
/// use kommo_loops_sandbox::loops::{DeliveryOptions, SignatureMode};
///
/// let stale = DeliveryOptions::new().timestamp(1_700_000_000);
/// let forged = DeliveryOptions::new().signature(SignatureMode::Invalid);
/// # let _ = (stale, forged);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DeliveryOptions {
    /// `webhook-timestamp` (and `eventTime`) to use instead of now; the signature covers it,
    /// so an old value makes a correctly signed but stale delivery.
    pub timestamp: Option<i64>,
    /// How to sign.
    pub signature: SignatureMode,
}

impl DeliveryOptions {
    /// Now, correctly signed.
    pub fn new() -> Self {
        DeliveryOptions::default()
    }

    /// Uses this Unix timestamp (seconds).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Signs this way.
    pub fn signature(mut self, mode: SignatureMode) -> Self {
        self.signature = mode;
        self
    }
}

/// Where an email came from, for `email.*` events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmailSource {
    /// A campaign, by id.
    Campaign(String),
    /// A loop (workflow), by id.
    Loop(String),
    /// A transactional email, by id.
    Transactional(String),
}

impl EmailSource {
    pub(super) fn fields(&self) -> (&'static str, &'static str, &str) {
        match self {
            EmailSource::Campaign(id) => ("campaign", "campaignId", id),
            EmailSource::Loop(id) => ("loop", "loopId", id),
            EmailSource::Transactional(id) => ("transactional", "transactionalId", id),
        }
    }
}

/// The `email.*` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EmailEventKind {
    /// `email.delivered`
    Delivered,
    /// `email.softBounced`
    SoftBounced,
    /// `email.hardBounced` (the sandbox also unsubscribes and suppresses the contact)
    HardBounced,
    /// `email.opened` (not for transactional emails)
    Opened,
    /// `email.clicked` (not for transactional emails)
    Clicked,
    /// `email.unsubscribed` (not for transactional emails; the sandbox unsubscribes the contact)
    Unsubscribed,
    /// `email.resubscribed` (not for transactional emails; the sandbox resubscribes the contact)
    Resubscribed,
    /// `email.spamReported` (the sandbox also unsubscribes and suppresses the contact)
    SpamReported,
}

impl EmailEventKind {
    /// The `eventName`.
    pub fn event_name(self) -> &'static str {
        match self {
            EmailEventKind::Delivered => "email.delivered",
            EmailEventKind::SoftBounced => "email.softBounced",
            EmailEventKind::HardBounced => "email.hardBounced",
            EmailEventKind::Opened => "email.opened",
            EmailEventKind::Clicked => "email.clicked",
            EmailEventKind::Unsubscribed => "email.unsubscribed",
            EmailEventKind::Resubscribed => "email.resubscribed",
            EmailEventKind::SpamReported => "email.spamReported",
        }
    }

    /// Loops tracks opens, clicks and (un)subscribes for campaigns and loops only.
    pub(super) fn allows_transactional(self) -> bool {
        !matches!(
            self,
            EmailEventKind::Opened
                | EmailEventKind::Clicked
                | EmailEventKind::Unsubscribed
                | EmailEventKind::Resubscribed
        )
    }
}

/// The signing and HTTP part, separate from the sandbox so it can be tested alone.
pub(super) async fn deliver(
    http: &reqwest::Client,
    target: &WebhookTarget,
    id: String,
    timestamp: i64,
    event_name: String,
    body: Vec<u8>,
    signature: SignatureMode,
) -> WebhookDelivery {
    let signature = match signature {
        SignatureMode::Valid => target.secret.sign(&id, timestamp, &body),
        SignatureMode::Invalid => WebhookSecret::from_bytes(b"not-the-registered-secret".to_vec())
            .sign(&id, timestamp, &body),
    };
    send(
        http,
        &target.url,
        id,
        timestamp,
        signature,
        event_name,
        body,
        false,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn send(
    http: &reqwest::Client,
    url: &str,
    id: String,
    timestamp: i64,
    signature: String,
    event_name: String,
    body: Vec<u8>,
    replay: bool,
) -> WebhookDelivery {
    let sent_at = SystemTime::now();
    let result = http
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", &signature)
        .body(body.clone())
        .send()
        .await;
    let outcome = match result {
        Ok(response) => DeliveryOutcome::Status(response.status().as_u16()),
        Err(error) => DeliveryOutcome::TransportError(error.without_url().to_string()),
    };
    WebhookDelivery {
        id,
        timestamp,
        signature,
        event_name,
        url: url.to_owned(),
        body,
        outcome,
        replay,
        sent_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_and_sources() {
        assert_eq!(
            EmailEventKind::HardBounced.event_name(),
            "email.hardBounced"
        );
        assert_eq!(
            EmailEventKind::SpamReported.event_name(),
            "email.spamReported"
        );
        assert!(!EmailEventKind::Opened.allows_transactional());
        assert!(EmailEventKind::Delivered.allows_transactional());
        assert_eq!(
            EmailSource::Transactional("t".into()).fields(),
            ("transactional", "transactionalId", "t")
        );
    }

    #[test]
    fn delivery_helpers() {
        let delivery = WebhookDelivery {
            id: "msg_1".into(),
            timestamp: 1,
            signature: "v1,x".into(),
            event_name: "testing.testEvent".into(),
            url: "http://127.0.0.1:1/".into(),
            body: br#"{"message":"test"}"#.to_vec(),
            outcome: DeliveryOutcome::Status(204),
            replay: false,
            sent_at: SystemTime::UNIX_EPOCH,
        };
        assert!(delivery.acknowledged());
        assert_eq!(delivery.json()["message"], "test");
        let json = serde_json::to_value(&delivery).unwrap();
        assert_eq!(json["body"], r#"{"message":"test"}"#);
        assert_eq!(json["outcome"]["status"], 204);
    }
}
