//! Typed Loops webhook events.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::WebhookError;
use crate::contacts::Contact;
use crate::json::null_as_default;
use crate::mailing_lists::MailingList;

/// The 17 event names Loops documents, exactly as spelled on the wire.
pub const EVENT_NAMES: [&str; 17] = [
    "contact.created",
    "contact.unsubscribed",
    "contact.deleted",
    "contact.mailingList.subscribed",
    "contact.mailingList.unsubscribed",
    "campaign.email.sent",
    "loop.email.sent",
    "transactional.email.sent",
    "email.delivered",
    "email.softBounced",
    "email.hardBounced",
    "email.opened",
    "email.clicked",
    "email.unsubscribed",
    "email.resubscribed",
    "email.spamReported",
    "testing.testEvent",
];

/// Who an event is about. Present on every event except `testing.testEvent`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookContactIdentity {
    /// Loops' contact id.
    #[serde(default)]
    pub id: String,
    /// The contact's email.
    #[serde(default)]
    pub email: String,
    /// Your id for the contact, if set.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The email an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EmailInfo {
    /// The id of this sent email.
    #[serde(default)]
    pub id: String,
    /// The email message (template revision) it was sent from.
    #[serde(default)]
    pub email_message_id: Option<String>,
    /// Its subject.
    #[serde(default)]
    pub subject: Option<String>,
}

/// What sent an email.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceType {
    /// A campaign.
    Campaign,
    /// A workflow (still called a loop in payloads).
    Loop,
    /// A transactional email.
    Transactional,
    /// A source this crate does not know yet.
    Other(String),
}

impl<'de> Deserialize<'de> for SourceType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(match s.as_str() {
            "campaign" => SourceType::Campaign,
            "loop" => SourceType::Loop,
            "transactional" => SourceType::Transactional,
            _ => SourceType::Other(s),
        })
    }
}

impl Serialize for SourceType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            SourceType::Campaign => "campaign",
            SourceType::Loop => "loop",
            SourceType::Transactional => "transactional",
            SourceType::Other(s) => s,
        })
    }
}

/// `contact.created` (fires after double opt-in confirmation, when that is on).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContactCreated {
    /// When it happened, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version (`1.0.0`).
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// Who.
    pub contact_identity: WebhookContactIdentity,
    /// The new contact with its properties.
    pub contact: Contact,
}

/// `contact.unsubscribed` and `contact.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContactEvent {
    /// When it happened, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version.
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// Who.
    pub contact_identity: WebhookContactIdentity,
}

/// `contact.mailingList.subscribed` and `contact.mailingList.unsubscribed`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MailingListEvent {
    /// When it happened, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version.
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// Who.
    pub contact_identity: WebhookContactIdentity,
    /// Which list.
    pub mailing_list: MailingList,
}

/// `campaign.email.sent` (one per recipient).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CampaignEmailSent {
    /// When it happened, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version.
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// Who.
    pub contact_identity: WebhookContactIdentity,
    /// The campaign.
    #[serde(default)]
    pub campaign_id: String,
    /// The campaign's name (newer payloads only).
    #[serde(default)]
    pub campaign_name: Option<String>,
    /// The email.
    pub email: EmailInfo,
    /// The lists it was sent to, when sent to lists.
    #[serde(default, deserialize_with = "null_as_default")]
    pub mailing_lists: Vec<MailingList>,
}

/// `loop.email.sent`: an email from a workflow (payloads keep the old "loop" name).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LoopEmailSent {
    /// When it happened, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version.
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// Who.
    pub contact_identity: WebhookContactIdentity,
    /// The workflow.
    #[serde(default)]
    pub loop_id: String,
    /// The workflow's name (newer payloads only).
    #[serde(default)]
    pub loop_name: Option<String>,
    /// The email.
    pub email: EmailInfo,
    /// The lists it was sent to, when sent to lists.
    #[serde(default, deserialize_with = "null_as_default")]
    pub mailing_lists: Vec<MailingList>,
}

/// `transactional.email.sent`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionalEmailSent {
    /// When it happened, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version.
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// Who.
    pub contact_identity: WebhookContactIdentity,
    /// The transactional email.
    #[serde(default)]
    pub transactional_id: String,
    /// Its name (newer payloads only).
    #[serde(default)]
    pub transactional_name: Option<String>,
    /// The email.
    pub email: EmailInfo,
}

/// Delivery and engagement events: `email.delivered`, `.softBounced`, `.hardBounced`,
/// `.opened`, `.clicked`, `.unsubscribed`, `.resubscribed`, `.spamReported`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EmailActivity {
    /// When it happened, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version.
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// Who.
    pub contact_identity: WebhookContactIdentity,
    /// What sent the email.
    #[serde(default)]
    pub source_type: Option<SourceType>,
    /// The campaign, when a campaign sent it.
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// The workflow, when a workflow sent it.
    #[serde(default)]
    pub loop_id: Option<String>,
    /// The transactional email, when one sent it.
    #[serde(default)]
    pub transactional_id: Option<String>,
    /// The email.
    pub email: EmailInfo,
}

/// `testing.testEvent`, sent from the Loops settings page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TestEvent {
    /// When it was sent, seconds since the epoch.
    pub event_time: i64,
    /// The payload schema version.
    #[serde(default)]
    pub webhook_schema_version: Option<String>,
    /// `"test"`.
    #[serde(default)]
    pub message: Option<String>,
}

/// A Loops webhook event.
///
/// A name Loops adds later parses as [`WebhookEvent::Unknown`], keeping the name and the JSON,
/// so a new event never breaks a consumer.
///
/// ```
/// use loops_client::webhooks::WebhookEvent;
///
/// let event = WebhookEvent::parse(br#"{"eventName":"contact.unsubscribed","eventTime":1734425918,
///   "contactIdentity":{"id":"c1","email":"ada@example.com","userId":null}}"#).unwrap();
/// assert_eq!(event.event_name(), "contact.unsubscribed");
/// assert_eq!(event.contact_email(), Some("ada@example.com"));
///
/// let future = WebhookEvent::parse(br#"{"eventName":"contact.merged","eventTime":1}"#).unwrap();
/// assert!(matches!(future, WebhookEvent::Unknown { ref event_name, .. } if event_name == "contact.merged"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `contact.created`
    ContactCreated(ContactCreated),
    /// `contact.unsubscribed` (audience unsubscribe; also after a delete or a hard bounce)
    ContactUnsubscribed(ContactEvent),
    /// `contact.deleted`
    ContactDeleted(ContactEvent),
    /// `contact.mailingList.subscribed`
    ContactMailingListSubscribed(MailingListEvent),
    /// `contact.mailingList.unsubscribed`
    ContactMailingListUnsubscribed(MailingListEvent),
    /// `campaign.email.sent`
    CampaignEmailSent(CampaignEmailSent),
    /// `loop.email.sent`
    LoopEmailSent(LoopEmailSent),
    /// `transactional.email.sent`
    TransactionalEmailSent(TransactionalEmailSent),
    /// `email.delivered`
    EmailDelivered(EmailActivity),
    /// `email.softBounced`
    EmailSoftBounced(EmailActivity),
    /// `email.hardBounced`
    EmailHardBounced(EmailActivity),
    /// `email.opened`
    EmailOpened(EmailActivity),
    /// `email.clicked`
    EmailClicked(EmailActivity),
    /// `email.unsubscribed`
    EmailUnsubscribed(EmailActivity),
    /// `email.resubscribed`
    EmailResubscribed(EmailActivity),
    /// `email.spamReported`
    EmailSpamReported(EmailActivity),
    /// `testing.testEvent`
    TestingTestEvent(TestEvent),
    /// An event name this crate does not know.
    Unknown {
        /// The `eventName` as sent.
        event_name: String,
        /// The whole body.
        raw: serde_json::Value,
    },
}

#[derive(Deserialize)]
struct NameOnly {
    #[serde(rename = "eventName")]
    event_name: String,
    // Other keys are skipped by serde without building values.
}

impl WebhookEvent {
    /// Parses a (verified) body.
    pub fn parse(body: &[u8]) -> Result<WebhookEvent, WebhookError> {
        let name: NameOnly = serde_json::from_slice(body).map_err(|e| {
            WebhookError::InvalidPayload(format!(
                "expected a JSON object with a string `eventName`: {e}"
            ))
        })?;
        fn typed<T: DeserializeOwned>(name: &str, body: &[u8]) -> Result<T, WebhookError> {
            serde_json::from_slice(body)
                .map_err(|e| WebhookError::InvalidPayload(format!("`{name}`: {e}")))
        }
        let name = name.event_name;
        let event = match name.as_str() {
            "contact.created" => WebhookEvent::ContactCreated(typed(&name, body)?),
            "contact.unsubscribed" => WebhookEvent::ContactUnsubscribed(typed(&name, body)?),
            "contact.deleted" => WebhookEvent::ContactDeleted(typed(&name, body)?),
            "contact.mailingList.subscribed" => {
                WebhookEvent::ContactMailingListSubscribed(typed(&name, body)?)
            }
            "contact.mailingList.unsubscribed" => {
                WebhookEvent::ContactMailingListUnsubscribed(typed(&name, body)?)
            }
            "campaign.email.sent" => WebhookEvent::CampaignEmailSent(typed(&name, body)?),
            "loop.email.sent" => WebhookEvent::LoopEmailSent(typed(&name, body)?),
            "transactional.email.sent" => WebhookEvent::TransactionalEmailSent(typed(&name, body)?),
            "email.delivered" => WebhookEvent::EmailDelivered(typed(&name, body)?),
            "email.softBounced" => WebhookEvent::EmailSoftBounced(typed(&name, body)?),
            "email.hardBounced" => WebhookEvent::EmailHardBounced(typed(&name, body)?),
            "email.opened" => WebhookEvent::EmailOpened(typed(&name, body)?),
            "email.clicked" => WebhookEvent::EmailClicked(typed(&name, body)?),
            "email.unsubscribed" => WebhookEvent::EmailUnsubscribed(typed(&name, body)?),
            "email.resubscribed" => WebhookEvent::EmailResubscribed(typed(&name, body)?),
            "email.spamReported" => WebhookEvent::EmailSpamReported(typed(&name, body)?),
            "testing.testEvent" => WebhookEvent::TestingTestEvent(typed(&name, body)?),
            _ => WebhookEvent::Unknown {
                raw: typed(&name, body)?,
                event_name: name,
            },
        };
        Ok(event)
    }

    /// The `eventName`, exactly as Loops spells it.
    pub fn event_name(&self) -> &str {
        match self {
            WebhookEvent::ContactCreated(_) => "contact.created",
            WebhookEvent::ContactUnsubscribed(_) => "contact.unsubscribed",
            WebhookEvent::ContactDeleted(_) => "contact.deleted",
            WebhookEvent::ContactMailingListSubscribed(_) => "contact.mailingList.subscribed",
            WebhookEvent::ContactMailingListUnsubscribed(_) => "contact.mailingList.unsubscribed",
            WebhookEvent::CampaignEmailSent(_) => "campaign.email.sent",
            WebhookEvent::LoopEmailSent(_) => "loop.email.sent",
            WebhookEvent::TransactionalEmailSent(_) => "transactional.email.sent",
            WebhookEvent::EmailDelivered(_) => "email.delivered",
            WebhookEvent::EmailSoftBounced(_) => "email.softBounced",
            WebhookEvent::EmailHardBounced(_) => "email.hardBounced",
            WebhookEvent::EmailOpened(_) => "email.opened",
            WebhookEvent::EmailClicked(_) => "email.clicked",
            WebhookEvent::EmailUnsubscribed(_) => "email.unsubscribed",
            WebhookEvent::EmailResubscribed(_) => "email.resubscribed",
            WebhookEvent::EmailSpamReported(_) => "email.spamReported",
            WebhookEvent::TestingTestEvent(_) => "testing.testEvent",
            WebhookEvent::Unknown { event_name, .. } => event_name,
        }
    }

    /// Who the event is about (`None` for the test event and unknown events).
    pub fn contact_identity(&self) -> Option<&WebhookContactIdentity> {
        match self {
            WebhookEvent::ContactCreated(e) => Some(&e.contact_identity),
            WebhookEvent::ContactUnsubscribed(e) | WebhookEvent::ContactDeleted(e) => {
                Some(&e.contact_identity)
            }
            WebhookEvent::ContactMailingListSubscribed(e)
            | WebhookEvent::ContactMailingListUnsubscribed(e) => Some(&e.contact_identity),
            WebhookEvent::CampaignEmailSent(e) => Some(&e.contact_identity),
            WebhookEvent::LoopEmailSent(e) => Some(&e.contact_identity),
            WebhookEvent::TransactionalEmailSent(e) => Some(&e.contact_identity),
            WebhookEvent::EmailDelivered(e)
            | WebhookEvent::EmailSoftBounced(e)
            | WebhookEvent::EmailHardBounced(e)
            | WebhookEvent::EmailOpened(e)
            | WebhookEvent::EmailClicked(e)
            | WebhookEvent::EmailUnsubscribed(e)
            | WebhookEvent::EmailResubscribed(e)
            | WebhookEvent::EmailSpamReported(e) => Some(&e.contact_identity),
            WebhookEvent::TestingTestEvent(_) | WebhookEvent::Unknown { .. } => None,
        }
    }

    /// The contact's email, when the event names a contact.
    pub fn contact_email(&self) -> Option<&str> {
        self.contact_identity()
            .map(|c| c.email.as_str())
            .filter(|e| !e.is_empty())
    }

    /// When the event happened, seconds since the epoch (`None` for unknown events without it).
    pub fn event_time(&self) -> Option<i64> {
        Some(match self {
            WebhookEvent::ContactCreated(e) => e.event_time,
            WebhookEvent::ContactUnsubscribed(e) | WebhookEvent::ContactDeleted(e) => e.event_time,
            WebhookEvent::ContactMailingListSubscribed(e)
            | WebhookEvent::ContactMailingListUnsubscribed(e) => e.event_time,
            WebhookEvent::CampaignEmailSent(e) => e.event_time,
            WebhookEvent::LoopEmailSent(e) => e.event_time,
            WebhookEvent::TransactionalEmailSent(e) => e.event_time,
            WebhookEvent::EmailDelivered(e)
            | WebhookEvent::EmailSoftBounced(e)
            | WebhookEvent::EmailHardBounced(e)
            | WebhookEvent::EmailOpened(e)
            | WebhookEvent::EmailClicked(e)
            | WebhookEvent::EmailUnsubscribed(e)
            | WebhookEvent::EmailResubscribed(e)
            | WebhookEvent::EmailSpamReported(e) => e.event_time,
            WebhookEvent::TestingTestEvent(e) => e.event_time,
            WebhookEvent::Unknown { raw, .. } => {
                return raw.get("eventTime").and_then(serde_json::Value::as_i64);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_name_maps_to_its_variant() {
        for name in EVENT_NAMES {
            let body = format!(
                r#"{{"eventName":"{name}","eventTime":1,"message":"test","contactIdentity":{{"id":"c","email":"a@b.c","userId":null}},
                "contact":{{"id":"c","email":"a@b.c"}},"mailingList":{{"id":"l","name":"L","description":null,"isPublic":true}},
                "email":{{"id":"e"}},"sourceType":"campaign","campaignId":"x","loopId":"y","transactionalId":"z"}}"#
            );
            let event = WebhookEvent::parse(body.as_bytes()).unwrap();
            assert_eq!(event.event_name(), name);
            assert!(!matches!(event, WebhookEvent::Unknown { .. }), "{name}");
            assert_eq!(event.event_time(), Some(1));
        }
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"null",
            b"[]",
            b"{}",
            br#"{"eventName":5}"#,
            b"\xff\xfe",
            br#"{"eventName":"email.hardBounced"}"#,
        ] {
            assert!(
                matches!(
                    WebhookEvent::parse(body),
                    Err(WebhookError::InvalidPayload(_))
                ),
                "{body:?}"
            );
        }
    }

    #[test]
    fn unknown_source_types_are_kept() {
        let event = WebhookEvent::parse(
            br#"{"eventName":"email.opened","eventTime":1,"sourceType":"broadcast","email":{"id":"e"},
                "contactIdentity":{"id":"c","email":"a@b.c","userId":"u"}}"#,
        )
        .unwrap();
        let WebhookEvent::EmailOpened(activity) = event else {
            panic!()
        };
        assert_eq!(
            activity.source_type,
            Some(SourceType::Other("broadcast".into()))
        );
        assert_eq!(activity.contact_identity.user_id.as_deref(), Some("u"));
    }
}
