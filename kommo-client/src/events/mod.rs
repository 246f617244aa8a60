//! The events log (`/api/v4/events`): what happened in the account, with the values before
//! and after each change. The source for finding changes whose webhooks were lost.
//!
//! Every filter Kommo documents is on [`EventsQuery`] (types, entity, entity ids, creators,
//! a `created_at` range, and the value before or after a change: stages, responsible users,
//! field options, exact values), checked before sending. Pages hold at most 100 events.
//!
//! Decoding is built for catch-ups of thousands of events: pages are read straight from the
//! response bytes, known event types and value kinds are matched on the borrowed text, and
//! only unknown ones are copied ([`EventType::Other`], [`EventValue::Other`]).
//!
//! ```
//! use kommo_client::events::{Event, EventType};
//! use kommo_client::ids::{PipelineId, StatusId};
//!
//! let event: Event = serde_json::from_str(r#"{
//!     "id": "01pz58t6p04vx7s1q2cy4tzd2g", "type": "lead_status_changed",
//!     "entity_id": 26053101, "entity_type": "lead", "created_by": 939801,
//!     "created_at": 1588768210, "account_id": 17079858,
//!     "value_before": [{"lead_status": {"id": 33859426, "pipeline_id": 3166396}}],
//!     "value_after": [{"lead_status": {"id": 142, "pipeline_id": 3166396}}]
//! }"#).unwrap();
//! assert_eq!(event.event_type, EventType::LeadStatusChanged);
//! assert_eq!(event.status_after(), Some((PipelineId(3166396), StatusId::WON)));
//! assert_eq!(event.status_before().map(|(_, s)| s), Some(StatusId(33859426)));
//! ```

mod kind;
mod query;
mod value;

pub use kind::EventType;
pub use query::{EVENTS_MAX_FILTER_IDS, EVENTS_MAX_LIMIT, EventWith, EventsQuery, ValueFilter};
pub use value::{EventValue, FieldValueRef, LinkRef, MessageRef, StageRef, UserRef};

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, CustomFieldId, PipelineId, StatusId, UserId};
use crate::serde_util;
use crate::string_enum::string_enum;

string_enum! {
    /// The entity an event belongs to (`entity_type`).
    pub enum EventEntity {
        /// `lead`.
        Lead => "lead",
        /// `contact`.
        Contact => "contact",
        /// `company`.
        Company => "company",
        /// `customer`.
        Customer => "customer",
        /// `task`.
        Task => "task",
        /// `catalog_element`.
        CatalogElement => "catalog_element",
    }
}

/// The entity of an event as embedded with `with=lead_name` and friends.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventEmbeddedEntity {
    /// The id.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<u64>,
    /// The name (with one of the `*_name` extras).
    #[serde(default, deserialize_with = "serde_util::lenient_text")]
    pub name: Option<String>,
}

/// `_embedded` of an event.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventEmbedded {
    /// The entity the event belongs to.
    #[serde(default, deserialize_with = "serde_util::lenient_object")]
    pub entity: Option<EventEmbeddedEntity>,
}

/// One entry of the events log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// The id (a string such as `01pz58t6p04vx7s1q2cy4tzd2g`).
    #[serde(deserialize_with = "serde_util::lenient_string_required")]
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The entity it happened to.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub entity_id: Option<u64>,
    /// The entity's type.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub entity_type: Option<EventEntity>,
    /// Who did it (`0`: the robot, an automation or an integration without a user).
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// When, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
    /// The values before the change (empty for additions).
    #[serde(default, deserialize_with = "value::values")]
    pub value_before: Vec<EventValue>,
    /// The values after the change.
    #[serde(default, deserialize_with = "value::values")]
    pub value_after: Vec<EventValue>,
    /// The embedded entity.
    #[serde(rename = "_embedded", default)]
    pub embedded: EventEmbedded,
}

fn stage(values: &[EventValue]) -> Option<(PipelineId, StatusId)> {
    values.iter().find_map(|v| match v {
        EventValue::LeadStatus(s) => Some((s.pipeline_id?, s.id?)),
        _ => None,
    })
}

fn responsible(values: &[EventValue]) -> Option<UserId> {
    values.iter().find_map(|v| match v {
        EventValue::ResponsibleUser(u) => u.id,
        _ => None,
    })
}

impl Event {
    /// The lead's stage before a `lead_status_changed`.
    #[must_use]
    pub fn status_before(&self) -> Option<(PipelineId, StatusId)> {
        stage(&self.value_before)
    }

    /// The lead's stage after a `lead_status_changed` (or at a `lead_added`, when given).
    #[must_use]
    pub fn status_after(&self) -> Option<(PipelineId, StatusId)> {
        stage(&self.value_after)
    }

    /// The responsible user before an `entity_responsible_changed`.
    #[must_use]
    pub fn responsible_before(&self) -> Option<UserId> {
        responsible(&self.value_before)
    }

    /// The responsible user after an `entity_responsible_changed`.
    #[must_use]
    pub fn responsible_after(&self) -> Option<UserId> {
        responsible(&self.value_after)
    }

    /// The field values after a custom field change.
    pub fn field_values_after(&self) -> impl Iterator<Item = &FieldValueRef> {
        self.value_after.iter().filter_map(|v| match v {
            EventValue::CustomFieldValue(f) => Some(f),
            _ => None,
        })
    }

    /// The field values before a custom field change.
    pub fn field_values_before(&self) -> impl Iterator<Item = &FieldValueRef> {
        self.value_before.iter().filter_map(|v| match v {
            EventValue::CustomFieldValue(f) => Some(f),
            _ => None,
        })
    }

    /// The field a custom field change is about: from the type
    /// (`custom_field_{ID}_value_changed`), else from the values.
    #[must_use]
    pub fn custom_field_id(&self) -> Option<CustomFieldId> {
        match &self.event_type {
            EventType::CustomFieldChanged(id) => Some(*id),
            _ => self
                .field_values_after()
                .chain(self.field_values_before())
                .find_map(|f| f.field_id),
        }
    }

    /// The entity linked or unlinked by an `entity_linked` / `entity_unlinked`.
    #[must_use]
    pub fn linked(&self) -> Option<&LinkRef> {
        self.value_after
            .iter()
            .chain(&self.value_before)
            .find_map(|v| match v {
                EventValue::Link(l) => Some(l),
                _ => None,
            })
    }

    /// The new name after a `name_field_changed`.
    #[must_use]
    pub fn name_after(&self) -> Option<&str> {
        self.value_after.iter().find_map(|v| match v {
            EventValue::Name(n) => n.as_deref(),
            _ => None,
        })
    }

    /// The new sale (price) after a `sale_field_changed`.
    #[must_use]
    pub fn sale_after(&self) -> Option<f64> {
        self.value_after.iter().find_map(|v| match v {
            EventValue::Sale(s) => *s,
            _ => None,
        })
    }
}

/// An event type as listed by `GET /api/v4/events/types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventTypeInfo {
    /// The type's name, as used in `filter[type]`.
    pub key: EventType,
    /// Kommo's numeric code of the type.
    #[serde(rename = "type", default, deserialize_with = "serde_util::lenient_i64")]
    pub code: Option<i64>,
    /// Its human-readable name, in the requested language.
    #[serde(default, deserialize_with = "serde_util::lenient_text")]
    pub lang: Option<String>,
}

#[cfg(feature = "client")]
pub use api::EventsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::{Event, EventTypeInfo, EventWith, EventsQuery};
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::Result;
    use crate::pagination::with_param;
    use crate::raw::ApiRequest;

    const PATH: &str = "/api/v4/events";

    /// The events log. Get it with [`Client::events`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::events::{EventType, EventsQuery};
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// // Every stage change of the last hour, 100 per request.
    /// let now = 1_700_003_600;
    /// let moves: Vec<_> = client
    ///     .events()
    ///     .list(
    ///         EventsQuery::new()
    ///             .limit(100)
    ///             .types([EventType::LeadStatusChanged])
    ///             .created_at(Some(now - 3600), Some(now)),
    ///     )
    ///     .try_collect()
    ///     .await?;
    /// for event in &moves {
    ///     println!("{:?} -> {:?}", event.entity_id, event.status_after());
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct EventsApi {
        pub(crate) client: Client,
    }

    impl EventsApi {
        /// One page of `GET /api/v4/events`; a 204 (nothing matches) is an empty page.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for a query Kommo would
        /// refuse (see [`EventsQuery::into_pairs`]; nothing is sent), otherwise any
        /// [`Error`](crate::Error) of the request.
        pub async fn list_page(&self, query: EventsQuery) -> Result<Page<Event>> {
            let request = ApiRequest::get(PATH).queries(query.into_pairs()?);
            self.client.page(request, "events").await
        }

        /// `GET /api/v4/events`, following `_links.next`. A query Kommo would refuse is the
        /// stream's only item, as an error.
        pub fn list(
            &self,
            query: EventsQuery,
        ) -> impl Stream<Item = Result<Event>> + Send + 'static {
            use futures_util::StreamExt;
            match query.into_pairs() {
                Ok(pairs) => self
                    .client
                    .paginate_request(ApiRequest::get(PATH).queries(pairs), "events")
                    .boxed(),
                Err(e) => futures_util::stream::iter([Err(e)]).boxed(),
            }
        }

        /// `GET /api/v4/events/{id}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: &str, with: &[EventWith]) -> Result<Option<Event>> {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(crate::Error::InvalidRequest(format!(
                    "not an event id: {id:?}"
                )));
            }
            self.client
                .get_json(format!("{PATH}/{id}"), with_param(with))
                .await
        }

        /// `GET /api/v4/events/types`: every event type with its name in `language`
        /// (`en`, `es`, `pt`, `ru`, ...; the account's language when `None`).
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn types(&self, language: Option<&str>) -> Result<Vec<EventTypeInfo>> {
            let mut request = ApiRequest::get(format!("{PATH}/types"));
            if let Some(language) = language {
                request = request.query("language_code", language);
            }
            let page: Page<EventTypeInfo> = self.client.page(request, "events_types").await?;
            Ok(page.items)
        }
    }
}
