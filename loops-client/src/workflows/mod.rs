//! Workflows (`/v1/workflows`): list, create, get, update, delete, change the mailing list,
//! and edit the graph of nodes (create with an insert mode, get, update, delete, add a
//! branch, reroute, delete a subtree).
//!
//! # Revisions
//!
//! Every workflow has a `workflowRevisionId` that changes on every mutation; each mutation
//! sends the latest one as `expectedRevisionId` (`null` for an older workflow that has none
//! yet), and every answer carries the new one. A mutation with a stale revision is refused
//! with 409 and nothing is applied: the client reports
//! [`Error::StaleRevision`](crate::Error::StaleRevision) with the revision sent and the
//! current one (read after the 409 when Loops does not say). Mutations are retried after an
//! ambiguous failure: a repeat of one that landed is refused as stale (with
//! `maybe_applied_earlier` set), never applied twice; a node create without a revision is not
//! retried.
//!
//! # Queued contacts
//!
//! Deleting nodes and changing the mailing list can drop contacts waiting in the workflow.
//! By default (`QueuedContactPolicy::Fail`) Loops then answers with status
//! `queuedContactsFound` instead of applying the change; send it again with
//! `QueuedContactPolicy::Discard` to apply it, or with `dry_run(true)` to only see the impact.
//! Deleting a whole workflow that is sending or has queued contacts is refused with
//! [`Error::ConfirmationRequired`](crate::Error::ConfirmationRequired); send it again with
//! `confirm_delete(true)`.
//!
//! Node types, statuses and fields this crate does not know are kept as sent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::json::null_as_default;
use crate::wire_enum::wire_enum;

#[cfg(feature = "client")]
mod api;
mod nodes;
mod requests;

#[cfg(feature = "client")]
pub use api::WorkflowsApi;
pub use nodes::{
    ComparisonOperator, ContactPropertyQuery, CreateNodeRequest, NodeChange, NodeDetail,
    NodeUpdate, Placement, PropertyComparison, TimerUnit, UpdateNodeRequest,
};
pub use requests::{
    AddBranchRequest, ChangeMailingListRequest, CreateWorkflowRequest, DeleteNodesRequest,
    DeleteWorkflowRequest, MailingListChange, NodeDeletion, QueuedContactOutcome,
    QueuedContactPolicy, RerouteNodeRequest, UpdateWorkflowRequest, get_node_request,
    get_workflow_request, list_workflows_request,
};

wire_enum! {
    /// Where a workflow is in its life.
    WorkflowStatus {
        /// Being built; not sending.
        Draft = "Draft",
        /// Running.
        Sending = "Sending",
        /// Stopped; contacts are not queued.
        Paused = "Paused",
        /// Stopped, still queueing contacts that match the trigger.
        PausedAndQueueing = "PausedAndQueueing",
    }
}

wire_enum! {
    /// The type of a workflow node.
    NodeType {
        /// Starts on signup.
        SignupTrigger = "SignupTrigger",
        /// Starts on an event.
        EventTrigger = "EventTrigger",
        /// Starts when a contact property changes.
        ContactPropertyTrigger = "ContactPropertyTrigger",
        /// Starts when a contact is added to the mailing list.
        AddToListTrigger = "AddToListTrigger",
        /// A trigger not set up yet (a new workflow has one).
        BlankTrigger = "BlankTrigger",
        /// Lets through contacts that match a filter or segment.
        AudienceFilter = "AudienceFilter",
        /// Waits.
        TimerAction = "TimerAction",
        /// Sends an email.
        SendEmailAction = "SendEmailAction",
        /// The end of a path.
        ExitAction = "ExitAction",
        /// Splits into audience-filtered branches.
        BranchNode = "BranchNode",
        /// Splits into experiment variants.
        ExperimentBranchNode = "ExperimentBranchNode",
        /// One variant of an experiment.
        VariantNode = "VariantNode",
    }
}

impl NodeType {
    /// Whether the API can create nodes of this type (triggers and exits cannot be created).
    /// Types this crate does not know are assumed creatable and left to Loops to judge.
    pub fn is_creatable(&self) -> bool {
        !matches!(
            self,
            NodeType::SignupTrigger
                | NodeType::EventTrigger
                | NodeType::ContactPropertyTrigger
                | NodeType::AddToListTrigger
                | NodeType::BlankTrigger
                | NodeType::ExitAction
        )
    }

    /// Whether this is a trigger.
    pub fn is_trigger(&self) -> bool {
        self.as_str().ends_with("Trigger")
    }
}

/// A workflow as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkflowSummary {
    /// Its id.
    pub id: String,
    /// Its page in the Loops app.
    #[serde(default)]
    pub url: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last change (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// A node inside [`Workflow::nodes`] (keyed by its id there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkflowNode {
    /// Its type.
    pub type_name: NodeType,
    /// The nodes that follow it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub next_node_ids: Vec<String>,
    /// Its type's fields (`eventName`, `amount`/`unit`, `emailMessageId`/`subject`, ...).
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl WorkflowNode {
    /// A text field of the node.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }
}

/// A workflow graph, as get, create, update and the node mutations answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Workflow {
    /// Its id.
    pub id: String,
    /// Its page in the Loops app.
    #[serde(default)]
    pub url: Option<String>,
    /// Its status.
    pub status: WorkflowStatus,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// The mailing list it sends to.
    #[serde(default)]
    pub mailing_list_id: Option<String>,
    /// The trigger node.
    #[serde(default)]
    pub root_node_id: String,
    /// The revision to send as `expectedRevisionId` on the next mutation (`None` for an older
    /// workflow that has none yet: send `null`).
    #[serde(default)]
    pub workflow_revision_id: Option<String>,
    /// Every node, by id.
    #[serde(default, deserialize_with = "null_as_default")]
    pub nodes: BTreeMap<String, WorkflowNode>,
}

impl Workflow {
    /// The trigger node.
    pub fn root(&self) -> Option<&WorkflowNode> {
        self.nodes.get(&self.root_node_id)
    }

    /// The ids of the nodes of this type, in id order.
    pub fn node_ids_of(&self, node_type: &NodeType) -> Vec<&str> {
        self.nodes
            .iter()
            .filter(|(_, node)| &node.type_name == node_type)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// The path from the trigger while each node has exactly one successor, the trigger
    /// first. It stops at a branch, an exit, a missing node or a cycle.
    pub fn main_path(&self) -> Vec<&str> {
        let mut path: Vec<&str> = Vec::new();
        let mut next = Some(self.root_node_id.as_str());
        while let Some(id) = next {
            if path.contains(&id) {
                break;
            }
            let Some(node) = self.nodes.get(id) else {
                break;
            };
            path.push(id);
            next = match node.next_node_ids.as_slice() {
                [only] => Some(only.as_str()),
                _ => None,
            };
        }
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENTED: &str = include_str!("../../tests/fixtures/workflows-get.200.json");

    #[test]
    fn documented_workflow_parses() {
        let workflow: Workflow = serde_json::from_str(DOCUMENTED).unwrap();
        assert_eq!(workflow.status, WorkflowStatus::Draft);
        assert_eq!(
            workflow.workflow_revision_id.as_deref(),
            Some("crv42l54f20i1la0lfooe3z99")
        );
        let path = workflow.main_path();
        let types: Vec<&str> = path
            .iter()
            .map(|id| workflow.nodes[*id].type_name.as_str())
            .collect();
        assert_eq!(
            types,
            [
                "EventTrigger",
                "TimerAction",
                "SendEmailAction",
                "ExitAction"
            ]
        );
        let email = &workflow.nodes[path[2]];
        assert_eq!(
            email.text("emailMessageId"),
            Some("cem42l54f20i1la0lfooe3z12")
        );
        assert_eq!(workflow.root().unwrap().text("eventName"), Some("signup"));
        assert_eq!(workflow.node_ids_of(&NodeType::ExitAction), [path[3]]);
        let back: Workflow =
            serde_json::from_value(serde_json::to_value(&workflow).unwrap()).unwrap();
        assert_eq!(back, workflow);
    }

    #[test]
    fn unknown_types_and_cycles_are_survived() {
        let workflow: Workflow = serde_json::from_value(serde_json::json!({
            "id": "w", "status": "Archived", "rootNodeId": "a", "workflowRevisionId": null,
            "nodes": {
                "a": {"typeName": "WebhookTrigger", "nextNodeIds": ["b"]},
                "b": {"typeName": "TimerAction", "nextNodeIds": ["a"], "amount": 1, "unit": "w"},
            }
        }))
        .unwrap();
        assert_eq!(workflow.status, WorkflowStatus::Other("Archived".into()));
        assert_eq!(workflow.main_path(), ["a", "b"]);
        assert!(workflow.nodes["a"].type_name.is_trigger());
        assert!(!NodeType::ExitAction.is_creatable());
        assert!(NodeType::Other("NewAction".into()).is_creatable());
        let empty: Workflow = serde_json::from_value(
            serde_json::json!({"id": "w", "status": "Draft", "nodes": null}),
        )
        .unwrap();
        assert!(empty.main_path().is_empty());
    }
}
