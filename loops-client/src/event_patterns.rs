//! Event patterns (`/v1/event-patterns`): the events a workflow `EventTrigger` can start on,
//! with their properties. List, get by id, get by event name.
//!
//! They belong to the workflow API, which Loops enables per team.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::contact_properties::PropertyType;
use crate::endpoint::{ApiRequest, Endpoint, encode_segment, get_by_id};
use crate::json::null_as_default;
use crate::pagination::{PageRequest, list_request};
use crate::validate::{self, ValidationError};
use crate::wire_enum::wire_enum;

wire_enum! {
    /// The platform an incoming-webhook event comes from.
    IncomingWebhookPlatform {
        /// Clerk.
        Clerk = "clerk",
        /// Polar.
        Polar = "polar",
        /// Stripe.
        Stripe = "stripe",
        /// Supabase.
        Supabase = "supabase",
    }
}

/// One property of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventPatternProperty {
    /// Its name, as sent in `eventProperties`.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub kind: PropertyType,
}

/// An event pattern. The list answers without [`event_properties`](Self::event_properties)
/// (it is then empty); get and get-by-name include them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EventPattern {
    /// Its id (`eventPatternId` on an `EventTrigger` node).
    pub id: String,
    /// The event name to send with `POST /v1/events/send` (case-sensitive).
    pub event_name: String,
    /// The platform of an incoming-webhook event; `None` for your own events.
    #[serde(default)]
    pub incoming_webhook_platform: Option<IncomingWebhookPlatform>,
    /// Its properties, usable in emails.
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_properties: Vec<EventPatternProperty>,
}

/// One page of event patterns.
pub fn list_event_patterns_request(page: &PageRequest) -> Result<ApiRequest, ValidationError> {
    list_request(Endpoint::ListEventPatterns, "/v1/event-patterns", page)
}

/// One event pattern by id.
pub fn get_event_pattern_request(id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(
        Endpoint::GetEventPattern,
        "/v1/event-patterns",
        "eventPatternId",
        id,
    )
}

/// One event pattern by its event name (case-sensitive; encoded as one path segment).
///
/// ```
/// use loops_client::event_patterns::get_event_pattern_by_name_request;
///
/// let request = get_event_pattern_by_name_request("Payment received/EU").unwrap();
/// assert_eq!(request.path(), "/v1/event-patterns/by-name/Payment%20received%2FEU");
/// ```
pub fn get_event_pattern_by_name_request(event_name: &str) -> Result<ApiRequest, ValidationError> {
    validate::require_non_empty_any("eventName", event_name)?;
    let path = format!("/v1/event-patterns/by-name/{}", encode_segment(event_name));
    Ok(ApiRequest::new(
        Endpoint::GetEventPatternByName,
        Method::GET,
        path,
    ))
}

#[cfg(feature = "client")]
pub use api::EventPatternsApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        EventPattern, get_event_pattern_by_name_request, get_event_pattern_request,
        list_event_patterns_request,
    };
    use crate::client::Client;
    use crate::pagination::paged_list;

    /// Event patterns. Get it with [`Client::event_patterns`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// let signup = client.event_patterns().get_by_name("signup").await?;
    /// for property in &signup.event_properties {
    ///     println!("{}: {}", property.name, property.kind.as_str());
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct EventPatternsApi {
        pub(crate) client: Client,
    }

    impl EventPatternsApi {
        paged_list!(EventPattern, list_event_patterns_request, "event patterns");

        /// One event pattern by id.
        pub async fn get(&self, id: &str) -> crate::Result<EventPattern> {
            self.client
                .execute(&get_event_pattern_request(id)?)
                .await?
                .json()
        }

        /// One event pattern by its event name (case-sensitive).
        pub async fn get_by_name(&self, event_name: &str) -> crate::Result<EventPattern> {
            self.client
                .execute(&get_event_pattern_by_name_request(event_name)?)
                .await?
                .json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_parse() {
        let pattern: EventPattern = serde_json::from_value(json!({
            "id": "ep1", "eventName": "signup", "incomingWebhookPlatform": null,
            "eventProperties": [{"name": "plan", "type": "string"}, {"name": "at", "type": "date"}]
        }))
        .unwrap();
        assert_eq!(pattern.event_properties[1].kind, PropertyType::Date);
        let summary: EventPattern = serde_json::from_value(
            json!({"id": "ep2", "eventName": "invoice.paid", "incomingWebhookPlatform": "lemonsqueezy"}),
        )
        .unwrap();
        assert!(summary.event_properties.is_empty());
        assert_eq!(
            summary.incoming_webhook_platform,
            Some(IncomingWebhookPlatform::Other("lemonsqueezy".into()))
        );
        assert!(get_event_pattern_by_name_request("").is_err());
        assert_eq!(
            get_event_pattern_request("ep1").unwrap().path(),
            "/v1/event-patterns/ep1"
        );
    }
}
