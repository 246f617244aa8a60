//! Audience segments (`/v1/audience-segments`: list, get, create) and the audience filter
//! tree they share with campaigns and workflow `AudienceFilter` nodes.
//!
//! A filter is `{match: "all"|"any", conditions: [...]}`; each condition is a contact
//! property test, a double opt-in status, or a campaign/workflow activity. A condition type
//! or an operator this crate does not know is kept as sent
//! ([`AudienceCondition::Other`], `Other(String)`), so a filter read from Loops can always
//! be written back unchanged.

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contacts::OptInStatus;
use crate::endpoint::{ApiRequest, Endpoint, get_by_id};
use crate::json::{null_as_default, to_json};
use crate::pagination::{PageRequest, list_request};
use crate::validate::{
    self, MAX_SEGMENT_DESCRIPTION_CHARS, MAX_SEGMENT_NAME_CHARS, ValidationError,
};
use crate::wire_enum::wire_enum;

wire_enum! {
    /// How a filter combines its conditions.
    FilterMatch {
        /// Every condition must hold.
        All = "all",
        /// One condition is enough.
        Any = "any",
    }
}

wire_enum! {
    /// The test a property condition applies (`isTrue`, `empty` and the other value-less
    /// operators take no value; `between` takes a [`ConditionValue::Range`]).
    PropertyOperator {
        /// Any value.
        Any = "any",
        /// Contains the value.
        Contains = "contains",
        /// Does not contain the value.
        NotContains = "notContains",
        /// Equals the value.
        Equals = "equals",
        /// Differs from the value.
        NotEquals = "notEquals",
        /// Greater than the value.
        GreaterThan = "greaterThan",
        /// Less than the value.
        LessThan = "lessThan",
        /// A boolean that is true.
        IsTrue = "isTrue",
        /// A boolean that is false.
        IsFalse = "isFalse",
        /// No value.
        Empty = "empty",
        /// Some value.
        NotEmpty = "notEmpty",
        /// A date that is not set.
        DateEmpty = "dateEmpty",
        /// A date that is set.
        DateNotEmpty = "dateNotEmpty",
        /// A date after the value.
        After = "after",
        /// A date before the value.
        Before = "before",
        /// A date between `from` and `to`.
        Between = "between",
    }
}

wire_enum! {
    /// What happened, in an activity condition.
    ActivityAction {
        /// An email was sent.
        Sent = "sent",
        /// It was opened.
        Opened = "opened",
        /// A link in it was clicked.
        Clicked = "clicked",
    }
}

wire_enum! {
    /// What an activity condition refers to.
    ActivityTarget {
        /// A campaign.
        Campaign = "campaign",
        /// A workflow.
        Workflow = "workflow",
        /// One email of a workflow.
        WorkflowEmail = "workflowEmail",
    }
}

/// The value of a property condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ConditionValue {
    /// A text (or a date as text).
    Text(String),
    /// A number.
    Number(serde_json::Number),
    /// The bounds of `between`.
    Range {
        /// Lower bound.
        from: String,
        /// Upper bound.
        to: String,
    },
    /// Any other JSON value, kept as sent.
    Other(Value),
}

impl From<&str> for ConditionValue {
    fn from(value: &str) -> Self {
        ConditionValue::Text(value.to_owned())
    }
}

impl From<String> for ConditionValue {
    fn from(value: String) -> Self {
        ConditionValue::Text(value)
    }
}

impl From<i64> for ConditionValue {
    fn from(value: i64) -> Self {
        ConditionValue::Number(value.into())
    }
}

/// `{"type": "property", key, operator, value?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PropertyCondition {
    /// The contact property.
    pub key: String,
    /// The test.
    pub operator: PropertyOperator,
    /// The value to test against; absent for value-less operators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ConditionValue>,
    /// Keys this crate does not model, kept so the condition is written back whole.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// `{"type": "optIn", status}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OptInCondition {
    /// The double opt-in status; `None` (`null`) for contacts without one.
    #[serde(default)]
    pub status: Option<OptInStatus>,
    /// Keys this crate does not model, kept so the condition is written back whole.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// `{"type": "activity", action, negate, target, id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActivityCondition {
    /// What happened.
    pub action: ActivityAction,
    /// `true`: contacts for whom it did not happen.
    #[serde(default)]
    pub negate: bool,
    /// What it refers to.
    pub target: ActivityTarget,
    /// The campaign, workflow or workflow email id.
    pub id: String,
    /// Keys this crate does not model, kept so the condition is written back whole.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// One condition of an [`AudienceFilter`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AudienceCondition {
    /// A contact property test.
    Property(PropertyCondition),
    /// A double opt-in status.
    OptIn(OptInCondition),
    /// A campaign or workflow activity.
    Activity(ActivityCondition),
    /// A condition type this crate does not know (or a known type in a shape it cannot
    /// read), kept as sent and written back unchanged.
    Other(Value),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Tagged<P, O, A> {
    Property(P),
    OptIn(O),
    Activity(A),
}

impl Serialize for AudienceCondition {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        type Refs<'a> = Tagged<&'a PropertyCondition, &'a OptInCondition, &'a ActivityCondition>;
        match self {
            AudienceCondition::Property(c) => Refs::Property(c).serialize(serializer),
            AudienceCondition::OptIn(c) => Refs::OptIn(c).serialize(serializer),
            AudienceCondition::Activity(c) => Refs::Activity(c).serialize(serializer),
            AudienceCondition::Other(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for AudienceCondition {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        type Owned = Tagged<PropertyCondition, OptInCondition, ActivityCondition>;
        let value = Value::deserialize(deserializer)?;
        Ok(match Owned::deserialize(&value) {
            Ok(Tagged::Property(c)) => AudienceCondition::Property(c),
            Ok(Tagged::OptIn(c)) => AudienceCondition::OptIn(c),
            Ok(Tagged::Activity(c)) => AudienceCondition::Activity(c),
            Err(_) => AudienceCondition::Other(value),
        })
    }
}

impl AudienceCondition {
    /// A property test, e.g. `property("planTier", PropertyOperator::Equals, "pro")`.
    pub fn property(
        key: impl Into<String>,
        operator: PropertyOperator,
        value: impl Into<ConditionValue>,
    ) -> Self {
        AudienceCondition::Property(PropertyCondition {
            key: key.into(),
            operator,
            value: Some(value.into()),
            extra: serde_json::Map::new(),
        })
    }

    /// A value-less property test (`isTrue`, `empty`, ...).
    pub fn property_is(key: impl Into<String>, operator: PropertyOperator) -> Self {
        AudienceCondition::Property(PropertyCondition {
            key: key.into(),
            operator,
            value: None,
            extra: serde_json::Map::new(),
        })
    }

    /// A date between two bounds.
    pub fn date_between(
        key: impl Into<String>,
        from: impl Into<String>,
        to: impl Into<String>,
    ) -> Self {
        AudienceCondition::Property(PropertyCondition {
            key: key.into(),
            operator: PropertyOperator::Between,
            value: Some(ConditionValue::Range {
                from: from.into(),
                to: to.into(),
            }),
            extra: serde_json::Map::new(),
        })
    }

    /// A double opt-in status (`None`: contacts without one).
    pub fn opt_in(status: Option<OptInStatus>) -> Self {
        AudienceCondition::OptIn(OptInCondition {
            status,
            extra: serde_json::Map::new(),
        })
    }

    /// Contacts for whom `action` happened on `target` `id` (`negate`: did not happen).
    pub fn activity(
        action: ActivityAction,
        target: ActivityTarget,
        id: impl Into<String>,
        negate: bool,
    ) -> Self {
        AudienceCondition::Activity(ActivityCondition {
            action,
            negate,
            target,
            id: id.into(),
            extra: serde_json::Map::new(),
        })
    }
}

/// A tree of audience conditions (`filter` on segments, `audienceFilter` on campaigns and
/// workflow nodes).
///
/// ```
/// use loops_client::audience_segments::{AudienceCondition, AudienceFilter, PropertyOperator};
///
/// let filter = AudienceFilter::all([
///     AudienceCondition::property("planTier", PropertyOperator::Equals, "pro"),
///     AudienceCondition::property_is("subscribed", PropertyOperator::IsTrue),
/// ]);
/// assert_eq!(
///     serde_json::to_value(&filter).unwrap(),
///     serde_json::json!({"match": "all", "conditions": [
///         {"type": "property", "key": "planTier", "operator": "equals", "value": "pro"},
///         {"type": "property", "key": "subscribed", "operator": "isTrue"},
///     ]})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AudienceFilter {
    /// How the conditions combine.
    #[serde(rename = "match")]
    pub match_mode: FilterMatch,
    /// The conditions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conditions: Vec<AudienceCondition>,
}

impl AudienceFilter {
    /// Every condition must hold.
    pub fn all(conditions: impl IntoIterator<Item = AudienceCondition>) -> Self {
        AudienceFilter {
            match_mode: FilterMatch::All,
            conditions: conditions.into_iter().collect(),
        }
    }

    /// One condition is enough.
    pub fn any(conditions: impl IntoIterator<Item = AudienceCondition>) -> Self {
        AudienceFilter {
            match_mode: FilterMatch::Any,
            conditions: conditions.into_iter().collect(),
        }
    }
}

/// A saved audience filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AudienceSegment {
    /// Its id (`audienceSegmentId` on campaigns and workflow nodes).
    pub id: String,
    /// Its name, unique in the team.
    #[serde(default)]
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The filter (`None` when Loops sends `null`).
    #[serde(default)]
    pub filter: Option<AudienceFilter>,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last change (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// Creates a segment (`POST /v1/audience-segments`): a name unique in the team (at most 255
/// characters), an optional description (at most 1000) and a filter.
///
/// ```
/// use loops_client::audience_segments::{AudienceCondition, AudienceFilter, CreateAudienceSegmentRequest};
///
/// let filter = AudienceFilter::any([AudienceCondition::opt_in(None)]);
/// let data = CreateAudienceSegmentRequest::new("No opt-in yet", filter).to_api_request().unwrap();
/// assert_eq!(data.path(), "/v1/audience-segments");
/// assert!(CreateAudienceSegmentRequest::new("x".repeat(256), AudienceFilter::all([])).to_api_request().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateAudienceSegmentRequest {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    filter: AudienceFilter,
}

impl CreateAudienceSegmentRequest {
    /// A segment with this name and filter.
    pub fn new(name: impl Into<String>, filter: AudienceFilter) -> Self {
        CreateAudienceSegmentRequest {
            name: name.into(),
            description: None,
            filter,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Validates and turns the request into data. Not repeated after an ambiguous failure.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty_any("name", &self.name)?;
        validate::check_chars("name", &self.name, MAX_SEGMENT_NAME_CHARS)?;
        if let Some(description) = &self.description {
            validate::check_chars("description", description, MAX_SEGMENT_DESCRIPTION_CHARS)?;
        }
        Ok(ApiRequest::new(
            Endpoint::CreateAudienceSegment,
            Method::POST,
            "/v1/audience-segments",
        )
        .with_json_bytes(to_json(self)))
    }
}

/// One page of segments, newest first.
pub fn list_audience_segments_request(page: &PageRequest) -> Result<ApiRequest, ValidationError> {
    list_request(
        Endpoint::ListAudienceSegments,
        "/v1/audience-segments",
        page,
    )
}

/// One segment by id.
pub fn get_audience_segment_request(id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(
        Endpoint::GetAudienceSegment,
        "/v1/audience-segments",
        "audienceSegmentId",
        id,
    )
}

#[cfg(feature = "client")]
pub use api::AudienceSegmentsApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        AudienceSegment, CreateAudienceSegmentRequest, get_audience_segment_request,
        list_audience_segments_request,
    };
    use crate::client::Client;
    use crate::pagination::paged_list;

    /// Audience segments. Get it with [`Client::audience_segments`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::audience_segments::{
    ///     AudienceCondition, AudienceFilter, CreateAudienceSegmentRequest, PropertyOperator,
    /// };
    ///
    /// let segments = client.audience_segments();
    /// let pro = segments
    ///     .create(&CreateAudienceSegmentRequest::new(
    ///         "Pro plan",
    ///         AudienceFilter::all([AudienceCondition::property("planTier", PropertyOperator::Equals, "pro")]),
    ///     ))
    ///     .await?;
    /// let again = segments.get(&pro.id).await?;
    /// assert_eq!(again.name, "Pro plan");
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct AudienceSegmentsApi {
        pub(crate) client: Client,
    }

    impl AudienceSegmentsApi {
        paged_list!(
            AudienceSegment,
            list_audience_segments_request,
            "audience segments"
        );

        /// One segment by id.
        pub async fn get(&self, id: &str) -> crate::Result<AudienceSegment> {
            self.client
                .execute(&get_audience_segment_request(id)?)
                .await?
                .json()
        }

        /// Creates a segment; not retried after an ambiguous failure.
        pub async fn create(
            &self,
            request: &CreateAudienceSegmentRequest,
        ) -> crate::Result<AudienceSegment> {
            self.client
                .execute(&request.to_api_request()?)
                .await?
                .json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn documented_filter_round_trips() {
        let documented = json!({
            "match": "all",
            "conditions": [
                {"type": "property", "key": "planTier", "operator": "equals", "value": "pro"},
                {"type": "optIn", "status": "accepted"},
                {"type": "activity", "action": "opened", "negate": false, "target": "campaign", "id": "ccm4"},
                {"type": "activity", "action": "clicked", "negate": false, "target": "workflowEmail", "id": "cem5"},
                {"type": "property", "key": "trialEnd", "operator": "between", "value": {"from": "2026-01-01", "to": "2026-02-01"}},
                {"type": "property", "key": "seats", "operator": "greaterThan", "value": 3},
            ]
        });
        let filter: AudienceFilter = serde_json::from_value(documented.clone()).unwrap();
        assert!(
            matches!(&filter.conditions[1], AudienceCondition::OptIn(c) if c.status == Some(OptInStatus::Accepted))
        );
        assert!(
            matches!(&filter.conditions[4], AudienceCondition::Property(c) if matches!(c.value, Some(ConditionValue::Range { .. })))
        );
        assert_eq!(serde_json::to_value(&filter).unwrap(), documented);
    }

    #[test]
    fn unknown_shapes_are_kept() {
        let sent = json!({
            "match": "none-of",
            "conditions": [
                {"type": "geo", "country": "NZ"},
                {"type": "property", "key": "plan", "operator": "startsWith", "value": "p"},
                {"type": "activity", "action": "opened"},
                "not even an object",
            ]
        });
        let filter: AudienceFilter = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(filter.match_mode, FilterMatch::Other("none-of".into()));
        assert!(matches!(&filter.conditions[0], AudienceCondition::Other(_)));
        assert!(
            matches!(&filter.conditions[1], AudienceCondition::Property(c) if c.operator == PropertyOperator::Other("startsWith".into()))
        );
        // Missing fields: kept whole rather than half-read.
        assert!(matches!(&filter.conditions[2], AudienceCondition::Other(_)));
        assert_eq!(serde_json::to_value(&filter).unwrap(), sent);
        let null_list: AudienceFilter =
            serde_json::from_value(json!({"match": "any", "conditions": null})).unwrap();
        assert!(null_list.conditions.is_empty());
    }

    #[test]
    fn segment_requests() {
        assert_eq!(
            list_audience_segments_request(&PageRequest::first(Some(50)))
                .unwrap()
                .path_and_query(),
            "/v1/audience-segments?perPage=50"
        );
        assert_eq!(
            get_audience_segment_request("s1").unwrap().path(),
            "/v1/audience-segments/s1"
        );
        let long = CreateAudienceSegmentRequest::new("ok", AudienceFilter::all([]))
            .description("d".repeat(1001))
            .to_api_request()
            .unwrap_err();
        assert!(long.to_string().contains("description"), "{long}");
        let segment: AudienceSegment = serde_json::from_value(json!({
            "id": "s1", "name": "A", "description": null, "filter": null,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert!(segment.filter.is_none());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(|n| json!(n)),
            "[a-zA-Z ]{0,8}".prop_map(Value::String),
            prop_oneof![Just("property"), Just("optIn"), Just("activity"), Just("x")]
                .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("type".to_owned()),
                        Just("key".to_owned()),
                        Just("operator".to_owned()),
                        Just("value".to_owned()),
                        Just("status".to_owned()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any JSON condition parses, and writes back as it came.
        #[test]
        fn any_condition_round_trips(value in json_value()) {
            let condition: AudienceCondition = serde_json::from_value(value.clone()).unwrap();
            let back = serde_json::to_value(&condition).unwrap();
            if let AudienceCondition::Other(_) = condition {
                prop_assert_eq!(back, value);
            } else {
                let again: AudienceCondition = serde_json::from_value(back).unwrap();
                prop_assert_eq!(again, condition);
            }
        }
    }
}
