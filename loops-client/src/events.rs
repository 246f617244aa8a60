//! Events that trigger Loops workflows: `POST /v1/events/send`.
//!
//! [`SendEventRequest`] turns into an [`ApiRequest`] without IO; [`EventsApi`] (from
//! [`Client::events`](crate::Client::events)) sends it.

use http::Method;
use serde::Serialize;

use crate::contacts::{ContactBody, ContactIdentity};
use crate::endpoint::{ApiRequest, Endpoint};
use crate::idempotency::IdempotencyKey;
use crate::json::to_json;
use crate::validate::{self, ValidationError};
use crate::value::{ContactProperties, EventProperties, MailingLists, PropertyValue};

/// Sends an event that can trigger Loops workflows, optionally updating the contact.
///
/// If no contact matches, Loops creates one. The client always sends an `Idempotency-Key`:
/// the one set here, or a fresh one per call, reused on every retry of that call.
///
/// ```
/// use loops_client::events::SendEventRequest;
/// use loops_client::idempotency::IdempotencyKey;
///
/// let request = SendEventRequest::by_email("ada@example.com", "deal_won")
///     .event_property("deal_value", 1200)
///     .contact_property("plan", "pro")
///     .idempotency_key(IdempotencyKey::new("kommo-lead-42-won").unwrap());
/// let data = request.to_api_request().unwrap();
/// assert_eq!(data.idempotency_key_value().unwrap().as_str(), "kommo-lead-42-won");
/// assert_eq!(
///     std::str::from_utf8(data.body().unwrap()).unwrap(),
///     r#"{"email":"ada@example.com","plan":"pro","eventName":"deal_won","eventProperties":{"deal_value":1200}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SendEventRequest {
    identity: ContactIdentity,
    event_name: String,
    event_properties: EventProperties,
    contact_properties: ContactProperties,
    mailing_lists: MailingLists,
    idempotency_key: Option<IdempotencyKey>,
}

impl SendEventRequest {
    /// An event for the contact with this identity.
    pub fn new(identity: ContactIdentity, event_name: impl Into<String>) -> Self {
        SendEventRequest {
            identity,
            event_name: event_name.into(),
            event_properties: EventProperties::new(),
            contact_properties: ContactProperties::new(),
            mailing_lists: MailingLists::new(),
            idempotency_key: None,
        }
    }

    /// An event for the contact with this email.
    pub fn by_email(email: impl Into<String>, event_name: impl Into<String>) -> Self {
        SendEventRequest::new(ContactIdentity::email(email), event_name)
    }

    /// An event for the contact with this `userId` (which must already be on a contact).
    pub fn by_user_id(user_id: impl Into<String>, event_name: impl Into<String>) -> Self {
        SendEventRequest::new(ContactIdentity::user_id(user_id), event_name)
    }

    /// Sets one event property (string, number, boolean or date; not null).
    pub fn event_property(
        mut self,
        name: impl Into<String>,
        value: impl Into<PropertyValue>,
    ) -> Self {
        self.event_properties.insert(name.into(), value.into());
        self
    }

    /// Sets all event properties.
    pub fn event_properties(mut self, properties: EventProperties) -> Self {
        self.event_properties = properties;
        self
    }

    /// Updates one contact property along with the event.
    pub fn contact_property(
        mut self,
        name: impl Into<String>,
        value: impl Into<PropertyValue>,
    ) -> Self {
        self.contact_properties.insert(name, value);
        self
    }

    /// Updates these contact properties along with the event.
    pub fn contact_properties(mut self, properties: ContactProperties) -> Self {
        self.contact_properties = properties;
        self
    }

    /// Subscribes or unsubscribes the contact to a mailing list along with the event.
    pub fn mailing_list(mut self, list_id: impl Into<String>, subscribed: bool) -> Self {
        self.mailing_lists.insert(list_id.into(), subscribed);
        self
    }

    /// Uses this idempotency key instead of a generated one. Derive it from what makes the
    /// event unique, so that a redelivered trigger cannot send the event twice.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// The event name.
    pub fn event_name(&self) -> &str {
        &self.event_name
    }

    /// Validates and turns the request into data. The key is only present when set here; the
    /// client adds a generated one when it is missing.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        self.identity.validate()?;
        validate::require_non_empty("eventName", &self.event_name)?;
        validate::check_event_properties(&self.event_properties)?;
        validate::check_contact_properties(&self.contact_properties)?;
        validate::check_mailing_lists(&self.mailing_lists)?;

        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(flatten)]
            contact: ContactBody<'a>,
            #[serde(rename = "eventName")]
            event_name: &'a str,
            #[serde(
                rename = "eventProperties",
                skip_serializing_if = "EventProperties::is_empty"
            )]
            event_properties: &'a EventProperties,
        }
        let body = Body {
            contact: ContactBody {
                email: self.identity.email_address(),
                user_id: self.identity.user_id_value(),
                properties: &self.contact_properties,
                mailing_lists: &self.mailing_lists,
            },
            event_name: &self.event_name,
            event_properties: &self.event_properties,
        };
        let mut request = ApiRequest::new(Endpoint::SendEvent, Method::POST, "/v1/events/send")
            .with_json_bytes(to_json(&body));
        if let Some(key) = &self.idempotency_key {
            request.set_idempotency_key(key.clone());
        }
        Ok(request)
    }
}

#[cfg(feature = "client")]
pub use api::EventsApi;

#[cfg(feature = "client")]
mod api {
    use super::SendEventRequest;
    use crate::client::Client;
    use crate::endpoint::ApiRequest;
    use crate::idempotency::{IdempotencyKey, SendReceipt};

    /// Events. Get it with [`Client::events`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::events::SendEventRequest;
    /// use loops_client::idempotency::IdempotencyKey;
    ///
    /// // A key derived from the trigger: a redelivered trigger cannot send twice.
    /// let key = IdempotencyKey::new("crm-lead-42-won")?;
    /// let request = SendEventRequest::by_email("ada@example.com", "deal_won")
    ///     .event_property("deal_value", 1200)
    ///     .idempotency_key(key);
    /// match client.events().send(&request).await {
    ///     Ok(receipt) => println!("sent after {} attempt(s)", receipt.attempts),
    ///     Err(e) if e.is_already_done() => println!("already sent earlier"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct EventsApi {
        pub(crate) client: Client,
    }

    impl EventsApi {
        /// Sends an event (`POST /v1/events/send`).
        ///
        /// The request always carries an idempotency key (yours, or one generated for this
        /// call and reused on each retry), so retries after a 5xx or a lost connection cannot
        /// send the event twice. If the key you set was already used, the result is
        /// [`Error::AlreadyDone`](crate::Error::AlreadyDone).
        pub async fn send(&self, request: &SendEventRequest) -> crate::Result<SendReceipt> {
            self.client.send_keyed(request.to_api_request()?).await
        }
    }

    impl Client {
        /// Sends a request that must carry an idempotency key, adding a fresh one if it has
        /// none, and reports the key it went out with.
        pub(crate) async fn send_keyed(
            &self,
            mut request: ApiRequest,
        ) -> crate::Result<SendReceipt> {
            let key = match request.idempotency_key_value() {
                Some(key) => key.clone(),
                None => {
                    let key = IdempotencyKey::random();
                    request.set_idempotency_key(key.clone());
                    key
                }
            };
            let response = self.execute(&request).await?;
            Ok(SendReceipt {
                idempotency_key: key,
                attempts: response.attempts,
                deduplicated: response.replayed,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_shaped_body() {
        let request = SendEventRequest::new(
            ContactIdentity::both("user@example.com", "usr_123"),
            "signup",
        )
        .event_property("plan", "pro")
        .event_property("trialDays", 14)
        .mailing_list("cm06f5v0e45nf0ml5754o9cix", true)
        .contact_property("firstName", "Alex")
        .to_api_request()
        .unwrap();
        let body: serde_json::Value = serde_json::from_slice(request.body().unwrap()).unwrap();
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/events-send.request.json"))
                .unwrap();
        assert_eq!(body, fixture);
        assert!(request.idempotency_key_value().is_none());
    }

    #[test]
    fn validation() {
        let cases = vec![
            (SendEventRequest::by_email("a@b.c", " "), "eventName"),
            (
                SendEventRequest::by_email("a@b.c", "e").event_property("x", PropertyValue::Null),
                "cannot be null",
            ),
            (
                SendEventRequest::by_email("a@b.c", "e").contact_property("updatedAt", 1),
                "reserved",
            ),
            (
                SendEventRequest::by_email("a@b.c", "e").contact_property("eventName", "x"),
                "own `eventName`",
            ),
            (
                SendEventRequest::by_user_id("", "e"),
                "`userId` must not be empty",
            ),
        ];
        for (request, expected) in cases {
            let err = request.to_api_request().unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
    }
}
