//! Workflow nodes: the node as Loops answers with it, where to insert a new one, and what an
//! update may set.

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{NodeType, Workflow};
use crate::audience_segments::AudienceFilter;
use crate::endpoint::{ApiRequest, Endpoint, id_path};
use crate::json::{null_as_default, to_json};
use crate::retry::RetrySafety;
use crate::validate::{self, ValidationError};
use crate::wire_enum::wire_enum;

wire_enum! {
    /// The unit of a `TimerAction`.
    TimerUnit {
        /// Minutes.
        Minutes = "m",
        /// Hours.
        Hours = "h",
        /// Days.
        Days = "d",
    }
}

wire_enum! {
    /// The test of a contact-property trigger. Which ones apply depends on the property's
    /// type (text: `equal`, `contains`...; number: `greater_than`, `numeric_equal`...; boolean:
    /// `true`/`false`; date: `after`, `before`, `between`).
    ComparisonOperator {
        /// Any value.
        Any = "any",
        /// Contains.
        Contains = "contains",
        /// Does not contain.
        NotContains = "not_contains",
        /// No value.
        Empty = "empty",
        /// Some value.
        NotEmpty = "not_empty",
        /// Equal (text).
        Equal = "equal",
        /// Not equal (text).
        NotEqual = "not_equal",
        /// Greater than.
        GreaterThan = "greater_than",
        /// Less than.
        LessThan = "less_than",
        /// True.
        True = "true",
        /// False.
        False = "false",
        /// Equal (number).
        NumericEqual = "numeric_equal",
        /// Not equal (number).
        NumericNotEqual = "numeric_not_equal",
        /// After (date).
        After = "after",
        /// Before (date).
        Before = "before",
        /// Between (date).
        Between = "between",
    }
}

/// One side (`is` or `was`) of a contact-property trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PropertyComparison {
    /// The test.
    pub operator: ComparisonOperator,
    /// The value tested against (text, number or boolean).
    #[serde(default)]
    pub value: Value,
}

impl PropertyComparison {
    /// A comparison with this operator and value.
    pub fn new(operator: ComparisonOperator, value: impl Into<Value>) -> Self {
        PropertyComparison {
            operator,
            value: value.into(),
        }
    }
}

/// When a contact-property trigger fires: property `key` now `is` one thing and `was`
/// another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactPropertyQuery {
    /// The contact property.
    pub key: String,
    /// Its new value's test.
    pub is: PropertyComparison,
    /// Its old value's test.
    pub was: PropertyComparison,
}

impl ContactPropertyQuery {
    /// A query on `key`.
    pub fn new(key: impl Into<String>, is: PropertyComparison, was: PropertyComparison) -> Self {
        ContactPropertyQuery {
            key: key.into(),
            is,
            was,
        }
    }
}

/// A node as get, create, update and reroute answer with it: its type, its successors, its
/// type's fields, and the workflow's revision after the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NodeDetail {
    /// Its id.
    pub id: String,
    /// Its workflow.
    #[serde(default)]
    pub workflow_id: String,
    /// Its type.
    pub type_name: NodeType,
    /// The nodes that follow it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub next_node_ids: Vec<String>,
    /// The workflow's revision after this call (`None` for a workflow without one).
    #[serde(default)]
    pub workflow_revision_id: Option<String>,
    /// On a create: the children Loops made with it (two `AudienceFilter`s under a
    /// `BranchNode`; three `VariantNode`s under an `ExperimentBranchNode`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub created_child_nodes: Vec<NodeDetail>,
    /// On an update or a reroute: the workflow after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Box<Workflow>>,
    /// Its type's fields (`eventName`, `eventProperties`, `amount`/`unit`,
    /// `emailMessageId`/`subject`, `audienceFilter`, `samplingRate`, `isControl`, ...).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl NodeDetail {
    /// A text field of the node.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// The email message of a `SendEmailAction` (edit its content with
    /// [`EmailMessagesApi::update`](crate::email_messages::EmailMessagesApi::update)).
    pub fn email_message_id(&self) -> Option<&str> {
        self.text("emailMessageId")
    }
}

/// The answer to a node create or a branch add: the new node and the workflow after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeChange {
    /// The node created.
    pub node: NodeDetail,
    /// The workflow after the change (its `workflow_revision_id` is the one to send next).
    pub workflow: Workflow,
}

/// Where a new node goes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// On the connection `from` → `to`.
    Between {
        /// The connection's source.
        from: String,
        /// The connection's target.
        to: String,
    },
    /// Before `to` (which must have a parent and not be a trigger).
    Before {
        /// The node the new one goes before.
        to: String,
    },
    /// After `from`, which must have exactly one successor and not be an exit.
    After {
        /// The node the new one goes after.
        from: String,
    },
}

/// Creates a node with Loops' defaults (`POST /v1/workflows/{id}/nodes`); configure it
/// afterwards with [`UpdateNodeRequest`].
///
/// ```
/// use loops_client::workflows::{CreateNodeRequest, NodeType};
///
/// let data = CreateNodeRequest::after(Some("rev_1".into()), NodeType::TimerAction, "trigger")
///     .to_api_request("wf1")
///     .unwrap();
/// assert_eq!(data.path(), "/v1/workflows/wf1/nodes");
/// assert_eq!(
///     data.body().unwrap(),
///     br#"{"expectedRevisionId":"rev_1","insertMode":"after","nodeTypeName":"TimerAction","fromNodeId":"trigger"}"#
/// );
/// // Triggers and exits cannot be created through the API.
/// assert!(CreateNodeRequest::after(None, NodeType::ExitAction, "x").to_api_request("wf1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateNodeRequest {
    expected_revision_id: Option<String>,
    node_type: NodeType,
    placement: Placement,
}

impl CreateNodeRequest {
    /// A node of `node_type` at `placement`, guarded by the workflow's revision.
    pub fn new(
        expected_revision_id: Option<String>,
        node_type: NodeType,
        placement: Placement,
    ) -> Self {
        CreateNodeRequest {
            expected_revision_id,
            node_type,
            placement,
        }
    }

    /// After `from` (which has exactly one successor).
    pub fn after(
        expected_revision_id: Option<String>,
        node_type: NodeType,
        from: impl Into<String>,
    ) -> Self {
        Self::new(
            expected_revision_id,
            node_type,
            Placement::After { from: from.into() },
        )
    }

    /// Before `to`.
    pub fn before(
        expected_revision_id: Option<String>,
        node_type: NodeType,
        to: impl Into<String>,
    ) -> Self {
        Self::new(
            expected_revision_id,
            node_type,
            Placement::Before { to: to.into() },
        )
    }

    /// On the connection `from` → `to`.
    pub fn between(
        expected_revision_id: Option<String>,
        node_type: NodeType,
        from: impl Into<String>,
        to: impl Into<String>,
    ) -> Self {
        Self::new(
            expected_revision_id,
            node_type,
            Placement::Between {
                from: from.into(),
                to: to.into(),
            },
        )
    }

    /// Validates and turns the request into data. With a revision it is retried after an
    /// ambiguous failure (a repeat of a create that landed is refused as stale); without one
    /// it is not.
    pub fn to_api_request(&self, workflow_id: &str) -> Result<ApiRequest, ValidationError> {
        if !self.node_type.is_creatable() {
            return Err(ValidationError::InvalidValue {
                field: "nodeTypeName",
                reason: "triggers and exit nodes cannot be created through the API",
            });
        }
        let (mode, from, to) = match &self.placement {
            Placement::Between { from, to } => ("between", Some(from), Some(to)),
            Placement::Before { to } => ("before", None, Some(to)),
            Placement::After { from } => ("after", Some(from), None),
        };
        if mode == "before" && self.node_type == NodeType::VariantNode {
            return Err(ValidationError::InvalidValue {
                field: "insertMode",
                reason: "a VariantNode cannot be inserted before a node; use between",
            });
        }
        for (field, id) in [("fromNodeId", from), ("toNodeId", to)] {
            if let Some(id) = id {
                validate::require_non_empty_any(field, id)?;
            }
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            expected_revision_id: &'a Option<String>,
            insert_mode: &'a str,
            node_type_name: &'a NodeType,
            #[serde(skip_serializing_if = "Option::is_none")]
            from_node_id: Option<&'a String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            to_node_id: Option<&'a String>,
        }
        let body = Body {
            expected_revision_id: &self.expected_revision_id,
            insert_mode: mode,
            node_type_name: &self.node_type,
            from_node_id: from,
            to_node_id: to,
        };
        let path = id_path("/v1/workflows", "workflowId", workflow_id, "/nodes")?;
        let request = ApiRequest::new(Endpoint::CreateWorkflowNode, Method::POST, path)
            .with_json_bytes(to_json(&body))
            .with_revision_guard(self.expected_revision_id.clone());
        Ok(match self.expected_revision_id {
            Some(_) => request,
            None => request.with_safety(RetrySafety::Unsafe),
        })
    }
}

/// The fields a node update sets (`payload`), built for one node type. At least one field;
/// Loops answers 501 ([`Error::NotImplemented`](crate::Error::NotImplemented)) for a node type
/// it cannot update this way (`SendEmailAction` content goes through the email message,
/// segments through their own API).
///
/// ```
/// use loops_client::workflows::{NodeUpdate, TimerUnit};
///
/// let timer = NodeUpdate::timer(2, TimerUnit::Days);
/// assert_eq!(serde_json::to_value(&timer).unwrap(), serde_json::json!({"amount": 2, "unit": "d"}));
/// let trigger = NodeUpdate::event_trigger("signup").re_eligible(false);
/// assert_eq!(
///     serde_json::to_value(&trigger).unwrap(),
///     serde_json::json!({"typeName": "EventTrigger", "eventName": "signup", "reEligible": false})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeUpdate(Map<String, Value>);

impl NodeUpdate {
    /// An empty payload, for [`set`](Self::set).
    pub fn new() -> Self {
        NodeUpdate::default()
    }

    /// Sets any payload field (for fields this crate does not model yet).
    pub fn set(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// Makes the trigger a signup trigger.
    pub fn signup_trigger() -> Self {
        Self::new().set("typeName", "SignupTrigger")
    }

    /// Makes the trigger an event trigger on `event_name`.
    pub fn event_trigger(event_name: impl Into<String>) -> Self {
        Self::new()
            .set("typeName", "EventTrigger")
            .set("eventName", event_name.into())
    }

    /// Makes the trigger an event trigger on an event pattern (see
    /// [`event_patterns`](crate::event_patterns)).
    pub fn event_trigger_pattern(event_pattern_id: impl Into<String>) -> Self {
        Self::new()
            .set("typeName", "EventTrigger")
            .set("eventPatternId", event_pattern_id.into())
    }

    /// Makes the trigger a contact-property trigger.
    pub fn contact_property_trigger(query: ContactPropertyQuery) -> Self {
        Self::new()
            .set("typeName", "ContactPropertyTrigger")
            .set("contactPropertyQuery", to_value(&query))
    }

    /// Makes the trigger fire when a contact joins the workflow's mailing list.
    pub fn add_to_list_trigger() -> Self {
        Self::new().set("typeName", "AddToListTrigger")
    }

    /// Whether a contact may enter the workflow again on every match (a trigger's "trigger
    /// frequency").
    pub fn re_eligible(self, re_eligible: bool) -> Self {
        self.set("reEligible", re_eligible)
    }

    /// A timer's wait (`0` moves on at once).
    pub fn timer(amount: u32, unit: TimerUnit) -> Self {
        Self::new().set("amount", amount).set("unit", unit.as_str())
    }

    /// An audience filter node's segment (`None` clears it).
    pub fn audience_segment(segment_id: Option<&str>) -> Self {
        Self::new().set("audienceSegmentId", segment_id.map(str::to_owned))
    }

    /// An audience filter node's inline filter.
    pub fn audience_filter(filter: AudienceFilter) -> Self {
        Self::new().set("audienceFilter", to_value(&filter))
    }

    /// Whether an audience filter applies to every node after it (`true`) or only to the
    /// next one.
    pub fn applies_downstream(self, downstream: bool) -> Self {
        self.set("appliesDownstream", downstream)
    }

    /// An experiment's share sent to the variants, 0 to 100 (the rest goes to the control).
    pub fn sampling_rate(percent: u8) -> Self {
        Self::new().set("samplingRate", percent)
    }

    /// Makes a variant the control (clearing the previous control).
    pub fn control(is_control: bool) -> Self {
        Self::new().set("isControl", is_control)
    }

    fn check(&self) -> Result<(), ValidationError> {
        if self.0.is_empty() {
            return Err(ValidationError::EmptyUpdate {
                request: "NodeUpdate",
            });
        }
        let by_name = self.0.get("eventName").is_some_and(|v| !v.is_null());
        let by_pattern = self.0.get("eventPatternId").is_some_and(|v| !v.is_null());
        if by_name && by_pattern {
            return Err(ValidationError::InvalidValue {
                field: "payload",
                reason: "set eventName or eventPatternId, not both",
            });
        }
        if self
            .0
            .get("samplingRate")
            .and_then(Value::as_u64)
            .is_some_and(|r| r > 100)
        {
            return Err(ValidationError::InvalidValue {
                field: "samplingRate",
                reason: "a percentage, 0 to 100",
            });
        }
        Ok(())
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    // Our models serialize to JSON objects with string keys; this cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Updates one node (`POST /v1/workflows/{id}/nodes/{nodeId}`).
///
/// ```
/// use loops_client::workflows::{NodeUpdate, UpdateNodeRequest};
///
/// let data = UpdateNodeRequest::new(Some("rev_1".into()), NodeUpdate::sampling_rate(25))
///     .to_api_request("wf1", "n1")
///     .unwrap();
/// assert_eq!(data.body().unwrap(), br#"{"expectedRevisionId":"rev_1","payload":{"samplingRate":25}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateNodeRequest {
    expected_revision_id: Option<String>,
    payload: NodeUpdate,
}

impl UpdateNodeRequest {
    /// Sets `payload` on the node, guarded by the workflow's revision.
    pub fn new(expected_revision_id: Option<String>, payload: NodeUpdate) -> Self {
        UpdateNodeRequest {
            expected_revision_id,
            payload,
        }
    }

    /// Validates and turns the request into data.
    pub fn to_api_request(
        &self,
        workflow_id: &str,
        node_id: &str,
    ) -> Result<ApiRequest, ValidationError> {
        self.payload.check()?;
        let path = node_path(workflow_id, node_id, "")?;
        Ok(
            ApiRequest::new(Endpoint::UpdateWorkflowNode, Method::POST, path)
                .with_json_bytes(to_json(self))
                .with_revision_guard(self.expected_revision_id.clone()),
        )
    }
}

/// `/v1/workflows/{workflowId}/nodes/{nodeId}{suffix}`.
pub(crate) fn node_path(
    workflow_id: &str,
    node_id: &str,
    suffix: &str,
) -> Result<String, ValidationError> {
    let nodes = id_path("/v1/workflows", "workflowId", workflow_id, "/nodes")?;
    id_path(&nodes, "nodeId", node_id, suffix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_create_body() {
        let data = CreateNodeRequest::between(
            Some("crv42l54f20i1la0lfooe3z99".into()),
            NodeType::TimerAction,
            "cf16k73gq014h3mmj5b6jdi9r",
            "cf16k73gq014h3mmj5b4jdixi",
        )
        .to_api_request("wf1")
        .unwrap();
        let body: Value = serde_json::from_slice(data.body().unwrap()).unwrap();
        let fixture: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/workflows-nodes-create.request.json"
        ))
        .unwrap();
        assert_eq!(body, fixture);
        assert_eq!(data.retry_safety(), RetrySafety::Safe);
        let unguarded = CreateNodeRequest::before(None, NodeType::SendEmailAction, "exit")
            .to_api_request("wf1")
            .unwrap();
        assert_eq!(unguarded.retry_safety(), RetrySafety::Unsafe);
        assert_eq!(unguarded.expected_revision(), Some(None));
        let body: Value = serde_json::from_slice(unguarded.body().unwrap()).unwrap();
        assert_eq!(body["expectedRevisionId"], Value::Null);
    }

    #[test]
    fn documented_update_body() {
        let data = UpdateNodeRequest::new(
            Some("crv42l54f20i1la0lfooe3z99".into()),
            NodeUpdate::event_trigger("signup").re_eligible(false),
        )
        .to_api_request("wf1", "n1")
        .unwrap();
        let body: Value = serde_json::from_slice(data.body().unwrap()).unwrap();
        let fixture: Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/workflows-nodes-update.request.json"
        ))
        .unwrap();
        assert_eq!(body, fixture);
        assert_eq!(data.path(), "/v1/workflows/wf1/nodes/n1");
    }

    #[test]
    fn refused_before_sending() {
        let cases: Vec<(Result<ApiRequest, ValidationError>, &str)> = vec![
            (
                CreateNodeRequest::after(None, NodeType::EventTrigger, "a").to_api_request("w"),
                "nodeTypeName",
            ),
            (
                CreateNodeRequest::before(None, NodeType::VariantNode, "a").to_api_request("w"),
                "insertMode",
            ),
            (
                CreateNodeRequest::after(None, NodeType::TimerAction, "").to_api_request("w"),
                "fromNodeId",
            ),
            (
                CreateNodeRequest::after(None, NodeType::TimerAction, "a").to_api_request(""),
                "workflowId",
            ),
            (
                UpdateNodeRequest::new(None, NodeUpdate::new()).to_api_request("w", "n"),
                "nothing to update",
            ),
            (
                UpdateNodeRequest::new(None, NodeUpdate::sampling_rate(101))
                    .to_api_request("w", "n"),
                "samplingRate",
            ),
            (
                UpdateNodeRequest::new(
                    None,
                    NodeUpdate::event_trigger("a").set("eventPatternId", "p"),
                )
                .to_api_request("w", "n"),
                "not both",
            ),
            (
                UpdateNodeRequest::new(None, NodeUpdate::control(true)).to_api_request("w", ""),
                "nodeId",
            ),
        ];
        for (result, expected) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        // Clearing the pattern while naming the event is fine.
        let switch = NodeUpdate::event_trigger("a").set("eventPatternId", Value::Null);
        assert!(
            UpdateNodeRequest::new(None, switch)
                .to_api_request("w", "n")
                .is_ok()
        );
    }

    #[test]
    fn node_answers_parse() {
        let created: NodeChange = serde_json::from_value(json!({
            "node": {
                "id": "b1", "workflowId": "wf1", "typeName": "BranchNode", "nextNodeIds": ["f1", "f2"],
                "workflowRevisionId": "rev_2",
                "createdChildNodes": [
                    {"id": "f1", "workflowId": "wf1", "typeName": "AudienceFilter", "nextNodeIds": [], "appliesDownstream": true},
                    {"id": "f2", "workflowId": "wf1", "typeName": "AudienceFilter", "nextNodeIds": []}
                ]
            },
            "workflow": {"id": "wf1", "status": "Draft", "rootNodeId": "t", "workflowRevisionId": "rev_2", "nodes": {}}
        }))
        .unwrap();
        assert_eq!(created.node.created_child_nodes.len(), 2);
        assert_eq!(
            created.node.created_child_nodes[0].fields["appliesDownstream"],
            true
        );
        let updated: NodeDetail = serde_json::from_value(json!({
            "id": "s1", "workflowId": "wf1", "typeName": "SendEmailAction", "nextNodeIds": ["x"],
            "emailMessageId": "em1", "subject": "Hi", "workflowRevisionId": "rev_3",
            "workflow": {"id": "wf1", "status": "Draft", "rootNodeId": "t", "nodes": {}}
        }))
        .unwrap();
        assert_eq!(updated.email_message_id(), Some("em1"));
        assert_eq!(updated.workflow.as_ref().unwrap().id, "wf1");
        assert!(!updated.fields.contains_key("workflow"));
    }
}
