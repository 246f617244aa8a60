//! Workflow requests (create, update, delete, mailing list, node deletes, branches, reroutes)
//! and the answers that report queued contacts.

use http::Method;
use serde::{Deserialize, Serialize};

use super::Workflow;
use super::nodes::node_path;
use crate::endpoint::{ApiRequest, Endpoint, get_by_id, id_path};
use crate::json::{null_as_default, to_json};
use crate::pagination::{PageRequest, list_request};
use crate::validate::{self, ValidationError};
use crate::wire_enum::wire_enum;

wire_enum! {
    /// What to do with contacts queued at nodes a change would remove.
    QueuedContactPolicy {
        /// Do not apply the change; answer `queuedContactsFound` (Loops' default).
        Fail = "fail",
        /// Apply it and drop those contacts.
        Discard = "discard",
    }
}

wire_enum! {
    /// How a mailing-list change or a node delete went.
    QueuedContactOutcome {
        /// A dry run: nothing changed.
        DryRun = "dryRun",
        /// Contacts are queued where the change would remove them: nothing changed.
        QueuedContactsFound = "queuedContactsFound",
        /// The mailing list was changed.
        Updated = "updated",
        /// The nodes were deleted.
        Deleted = "deleted",
    }
}

/// Creates a draft workflow with a blank trigger and an exit node (`POST /v1/workflows`).
///
/// ```
/// use loops_client::workflows::CreateWorkflowRequest;
///
/// let data = CreateWorkflowRequest::new("Onboarding drip").description("Welcome new signups").to_api_request().unwrap();
/// assert_eq!(data.body().unwrap(), br#"{"name":"Onboarding drip","description":"Welcome new signups"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWorkflowRequest {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mailing_list_id: Option<Option<String>>,
}

impl CreateWorkflowRequest {
    /// A workflow with this name.
    pub fn new(name: impl Into<String>) -> Self {
        CreateWorkflowRequest {
            name: name.into(),
            description: None,
            mailing_list_id: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sends to this mailing list (`None`: explicitly none).
    pub fn mailing_list_id(mut self, id: Option<&str>) -> Self {
        self.mailing_list_id = Some(id.map(str::to_owned));
        self
    }

    /// Validates and turns the request into data. Not repeated after an ambiguous failure.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty_any("name", &self.name)?;
        Ok(
            ApiRequest::new(Endpoint::CreateWorkflow, Method::POST, "/v1/workflows")
                .with_json_bytes(to_json(self)),
        )
    }
}

/// Changes a workflow's name or description (at least one); the mailing list changes with
/// [`ChangeMailingListRequest`].
///
/// ```
/// use loops_client::workflows::UpdateWorkflowRequest;
///
/// let data = UpdateWorkflowRequest::new(Some("rev_1".into())).name("Onboarding v2").to_api_request("wf1").unwrap();
/// assert_eq!(data.body().unwrap(), br#"{"expectedRevisionId":"rev_1","name":"Onboarding v2"}"#);
/// assert!(UpdateWorkflowRequest::new(None).to_api_request("wf1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateWorkflowRequest {
    expected_revision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl UpdateWorkflowRequest {
    /// An update guarded by the workflow's revision (`None`: `null`, for a workflow without
    /// one).
    pub fn new(expected_revision_id: Option<String>) -> Self {
        UpdateWorkflowRequest {
            expected_revision_id,
            name: None,
            description: None,
        }
    }

    /// Renames the workflow.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Validates and turns the request into data.
    pub fn to_api_request(&self, workflow_id: &str) -> Result<ApiRequest, ValidationError> {
        if self.name.is_none() && self.description.is_none() {
            return Err(ValidationError::EmptyUpdate {
                request: "UpdateWorkflowRequest",
            });
        }
        if let Some(name) = &self.name {
            validate::require_non_empty_any("name", name)?;
        }
        guarded(
            Endpoint::UpdateWorkflow,
            Method::POST,
            workflow_path(workflow_id, "")?,
            self,
            &self.expected_revision_id,
        )
    }
}

/// Deletes a workflow (`DELETE /v1/workflows/{id}` with a JSON body; 204). A workflow that is
/// sending or has queued contacts is refused with
/// [`Error::ConfirmationRequired`](crate::Error::ConfirmationRequired) until the delete is
/// sent again with [`confirm_delete(true)`](Self::confirm_delete).
///
/// ```
/// use loops_client::Method;
/// use loops_client::workflows::DeleteWorkflowRequest;
///
/// let data = DeleteWorkflowRequest::new(Some("rev_1".into())).confirm_delete(true).to_api_request("wf1").unwrap();
/// assert_eq!(data.method(), Method::DELETE);
/// assert_eq!(data.body().unwrap(), br#"{"expectedRevisionId":"rev_1","confirmDelete":true}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteWorkflowRequest {
    expected_revision_id: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    confirm_delete: bool,
}

impl DeleteWorkflowRequest {
    /// A delete guarded by the workflow's revision.
    pub fn new(expected_revision_id: Option<String>) -> Self {
        DeleteWorkflowRequest {
            expected_revision_id,
            confirm_delete: false,
        }
    }

    /// Confirms deleting a workflow that is sending or has queued contacts: it stops
    /// sending and those contacts are cancelled.
    pub fn confirm_delete(mut self, confirm: bool) -> Self {
        self.confirm_delete = confirm;
        self
    }

    /// Validates and turns the request into data. Retried after an ambiguous failure: a
    /// repeat of a delete that landed answers 404, which counts as done.
    pub fn to_api_request(&self, workflow_id: &str) -> Result<ApiRequest, ValidationError> {
        guarded(
            Endpoint::DeleteWorkflow,
            Method::DELETE,
            workflow_path(workflow_id, "")?,
            self,
            &self.expected_revision_id,
        )
    }
}

/// `dryRun` and `queuedContactPolicy`, shared by the changes that can drop queued contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Impact {
    #[serde(skip_serializing_if = "Option::is_none")]
    dry_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queued_contact_policy: Option<QueuedContactPolicy>,
}

/// The setters of [`Impact`] on a request that holds one as `impact`.
macro_rules! impact_setters {
    () => {
        /// Only reports the impact: nothing changes.
        pub fn dry_run(mut self, dry_run: bool) -> Self {
            self.impact.dry_run = Some(dry_run);
            self
        }

        /// What to do with contacts queued where the change reaches (Loops' default:
        /// [`QueuedContactPolicy::Fail`]).
        pub fn queued_contact_policy(mut self, policy: QueuedContactPolicy) -> Self {
            self.impact.queued_contact_policy = Some(policy);
            self
        }
    };
}

/// Sets or clears a workflow's mailing list (`POST /v1/workflows/{id}/mailing-list`).
/// Clearing it never drops queued contacts; a new list may, see [`QueuedContactPolicy`].
///
/// ```
/// use loops_client::workflows::{ChangeMailingListRequest, QueuedContactPolicy};
///
/// let data = ChangeMailingListRequest::new(Some("rev_1".into()), Some("list_news"))
///     .dry_run(true)
///     .queued_contact_policy(QueuedContactPolicy::Fail)
///     .to_api_request("wf1")
///     .unwrap();
/// assert_eq!(
///     data.body().unwrap(),
///     br#"{"expectedRevisionId":"rev_1","mailingListId":"list_news","dryRun":true,"queuedContactPolicy":"fail"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeMailingListRequest {
    expected_revision_id: Option<String>,
    mailing_list_id: Option<String>,
    #[serde(flatten)]
    impact: Impact,
}

impl ChangeMailingListRequest {
    /// Sets the list to `mailing_list_id` (`None` clears it).
    pub fn new(expected_revision_id: Option<String>, mailing_list_id: Option<&str>) -> Self {
        ChangeMailingListRequest {
            expected_revision_id,
            mailing_list_id: mailing_list_id.map(str::to_owned),
            impact: Impact::default(),
        }
    }

    impact_setters!();

    /// Validates and turns the request into data.
    pub fn to_api_request(&self, workflow_id: &str) -> Result<ApiRequest, ValidationError> {
        if let Some(list) = &self.mailing_list_id {
            validate::require_non_empty_any("mailingListId", list)?;
        }
        let path = workflow_path(workflow_id, "/mailing-list")?;
        guarded(
            Endpoint::ChangeWorkflowMailingList,
            Method::POST,
            path,
            self,
            &self.expected_revision_id,
        )
    }
}

/// Deletes one node, or a node and everything after it (`DELETE` with a JSON body).
///
/// ```
/// use loops_client::workflows::{DeleteNodesRequest, QueuedContactPolicy};
///
/// let request = DeleteNodesRequest::new(Some("rev_1".into())).queued_contact_policy(QueuedContactPolicy::Discard);
/// assert_eq!(request.to_api_request("wf1", "n1").unwrap().path(), "/v1/workflows/wf1/nodes/n1");
/// assert_eq!(request.to_recursive_api_request("wf1", "n1").unwrap().path(), "/v1/workflows/wf1/nodes/n1/recursive");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteNodesRequest {
    expected_revision_id: Option<String>,
    #[serde(flatten)]
    impact: Impact,
}

impl DeleteNodesRequest {
    /// A delete guarded by the workflow's revision.
    pub fn new(expected_revision_id: Option<String>) -> Self {
        DeleteNodesRequest {
            expected_revision_id,
            impact: Impact::default(),
        }
    }

    impact_setters!();

    /// `DELETE /v1/workflows/{id}/nodes/{nodeId}`: this node only.
    pub fn to_api_request(
        &self,
        workflow_id: &str,
        node_id: &str,
    ) -> Result<ApiRequest, ValidationError> {
        let path = node_path(workflow_id, node_id, "")?;
        guarded(
            Endpoint::DeleteWorkflowNode,
            Method::DELETE,
            path,
            self,
            &self.expected_revision_id,
        )
    }

    /// `DELETE /v1/workflows/{id}/nodes/{nodeId}/recursive`: the node and its subtree.
    pub fn to_recursive_api_request(
        &self,
        workflow_id: &str,
        node_id: &str,
    ) -> Result<ApiRequest, ValidationError> {
        let path = node_path(workflow_id, node_id, "/recursive")?;
        guarded(
            Endpoint::DeleteWorkflowNodesRecursive,
            Method::DELETE,
            path,
            self,
            &self.expected_revision_id,
        )
    }
}

/// Adds one branch under a `BranchNode` (an `AudienceFilter`) or an `ExperimentBranchNode` (a
/// `VariantNode`) (`POST .../nodes/{nodeId}/add-branch`). Not retried without a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddBranchRequest {
    expected_revision_id: Option<String>,
}

impl AddBranchRequest {
    /// A branch, guarded by the workflow's revision.
    pub fn new(expected_revision_id: Option<String>) -> Self {
        AddBranchRequest {
            expected_revision_id,
        }
    }

    /// Validates and turns the request into data.
    pub fn to_api_request(
        &self,
        workflow_id: &str,
        node_id: &str,
    ) -> Result<ApiRequest, ValidationError> {
        let path = node_path(workflow_id, node_id, "/add-branch")?;
        let request = guarded(
            Endpoint::AddWorkflowBranch,
            Method::POST,
            path,
            self,
            &self.expected_revision_id,
        )?;
        Ok(match self.expected_revision_id {
            Some(_) => request,
            None => request.with_safety(crate::retry::RetrySafety::Unsafe),
        })
    }
}

/// Moves a node's only outgoing connection to another target (`POST .../reroute`). Branch
/// and experiment nodes have several and cannot be rerouted.
///
/// ```
/// use loops_client::workflows::RerouteNodeRequest;
///
/// let data = RerouteNodeRequest::new(Some("rev_1".into()), "email2").to_api_request("wf1", "timer1").unwrap();
/// assert_eq!(data.body().unwrap(), br#"{"expectedRevisionId":"rev_1","newTargetNodeId":"email2"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RerouteNodeRequest {
    expected_revision_id: Option<String>,
    new_target_node_id: String,
}

impl RerouteNodeRequest {
    /// Points the node's connection at `new_target_node_id`.
    pub fn new(
        expected_revision_id: Option<String>,
        new_target_node_id: impl Into<String>,
    ) -> Self {
        RerouteNodeRequest {
            expected_revision_id,
            new_target_node_id: new_target_node_id.into(),
        }
    }

    /// Validates and turns the request into data.
    pub fn to_api_request(
        &self,
        workflow_id: &str,
        node_id: &str,
    ) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty_any("newTargetNodeId", &self.new_target_node_id)?;
        let path = node_path(workflow_id, node_id, "/reroute")?;
        guarded(
            Endpoint::RerouteWorkflowNode,
            Method::POST,
            path,
            self,
            &self.expected_revision_id,
        )
    }
}

/// The answer to a mailing-list change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MailingListChange {
    /// `dryRun`, `queuedContactsFound` (nothing changed) or `updated`.
    pub status: QueuedContactOutcome,
    /// The list asked for.
    #[serde(default)]
    pub mailing_list_id: Option<String>,
    /// Contacts queued where the change reaches.
    #[serde(default)]
    pub queued_contact_count: u64,
    /// Whether the count stopped at Loops' counting limit.
    #[serde(default)]
    pub queued_contact_limit_reached: bool,
    /// The new revision, when `updated`.
    #[serde(default)]
    pub workflow_revision_id: Option<String>,
    /// The workflow after the change, when Loops includes it.
    #[serde(default)]
    pub workflow: Option<Workflow>,
}

/// The answer to a node delete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NodeDeletion {
    /// `dryRun`, `queuedContactsFound` (nothing deleted) or `deleted`.
    pub status: QueuedContactOutcome,
    /// The nodes deleted (or that would be).
    #[serde(default, deserialize_with = "null_as_default")]
    pub node_ids: Vec<String>,
    /// Contacts queued at those nodes.
    #[serde(default)]
    pub queued_contact_count: u64,
    /// Whether the count stopped at Loops' counting limit.
    #[serde(default)]
    pub queued_contact_limit_reached: bool,
    /// The new revision, when `deleted`.
    #[serde(default)]
    pub workflow_revision_id: Option<String>,
    /// The workflow after the delete, when Loops includes it.
    #[serde(default)]
    pub workflow: Option<Workflow>,
}

fn workflow_path(workflow_id: &str, suffix: &str) -> Result<String, ValidationError> {
    id_path("/v1/workflows", "workflowId", workflow_id, suffix)
}

/// A request whose body carries `expectedRevisionId`.
fn guarded<T: Serialize>(
    endpoint: Endpoint,
    method: Method,
    path: String,
    body: &T,
    expected: &Option<String>,
) -> Result<ApiRequest, ValidationError> {
    if let Some(revision) = expected {
        validate::require_non_empty_any("expectedRevisionId", revision)?;
    }
    Ok(ApiRequest::new(endpoint, method, path)
        .with_json_bytes(to_json(body))
        .with_revision_guard(expected.clone()))
}

/// One page of workflows.
pub fn list_workflows_request(page: &PageRequest) -> Result<ApiRequest, ValidationError> {
    list_request(Endpoint::ListWorkflows, "/v1/workflows", page)
}

/// One workflow by id.
pub fn get_workflow_request(workflow_id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(
        Endpoint::GetWorkflow,
        "/v1/workflows",
        "workflowId",
        workflow_id,
    )
}

/// One node by id.
pub fn get_node_request(workflow_id: &str, node_id: &str) -> Result<ApiRequest, ValidationError> {
    Ok(ApiRequest::new(
        Endpoint::GetWorkflowNode,
        Method::GET,
        node_path(workflow_id, node_id, "")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn body(request: &ApiRequest) -> Value {
        serde_json::from_slice(request.body().unwrap()).unwrap()
    }

    #[test]
    fn revisions_are_always_sent() {
        let requests = [
            UpdateWorkflowRequest::new(None)
                .description("d")
                .to_api_request("w")
                .unwrap(),
            DeleteWorkflowRequest::new(None)
                .to_api_request("w")
                .unwrap(),
            ChangeMailingListRequest::new(None, None)
                .to_api_request("w")
                .unwrap(),
            DeleteNodesRequest::new(None)
                .to_api_request("w", "n")
                .unwrap(),
            AddBranchRequest::new(None)
                .to_api_request("w", "n")
                .unwrap(),
            RerouteNodeRequest::new(None, "t")
                .to_api_request("w", "n")
                .unwrap(),
        ];
        for request in &requests {
            let sent = body(request);
            assert_eq!(
                sent.get("expectedRevisionId"),
                Some(&Value::Null),
                "{request:?}"
            );
            assert_eq!(request.expected_revision(), Some(None));
            assert!(request.endpoint().is_revision_guarded());
        }
        assert_eq!(body(&requests[2])["mailingListId"], Value::Null);
        assert_eq!(
            requests[4].retry_safety(),
            crate::retry::RetrySafety::Unsafe,
            "an unguarded branch add could make two branches"
        );
    }

    #[test]
    fn refused_before_sending() {
        let cases: Vec<(Result<ApiRequest, ValidationError>, &str)> = vec![
            (CreateWorkflowRequest::new("").to_api_request(), "name"),
            (
                UpdateWorkflowRequest::new(Some("r".into())).to_api_request("w"),
                "nothing to update",
            ),
            (
                UpdateWorkflowRequest::new(Some(String::new()))
                    .name("x")
                    .to_api_request("w"),
                "expectedRevisionId",
            ),
            (
                ChangeMailingListRequest::new(None, Some("")).to_api_request("w"),
                "mailingListId",
            ),
            (
                RerouteNodeRequest::new(None, " ").to_api_request("w", "n"),
                "newTargetNodeId",
            ),
            (
                DeleteNodesRequest::new(None).to_recursive_api_request("w", ""),
                "nodeId",
            ),
            (
                DeleteWorkflowRequest::new(None).to_api_request(""),
                "workflowId",
            ),
        ];
        for (result, expected) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn queued_contact_answers_parse() {
        let preview: NodeDeletion = serde_json::from_value(json!({
            "status": "queuedContactsFound", "nodeIds": ["a", "b"], "queuedContactCount": 12,
            "queuedContactLimitReached": false
        }))
        .unwrap();
        assert_eq!(preview.status, QueuedContactOutcome::QueuedContactsFound);
        assert!(preview.workflow.is_none());
        let updated: MailingListChange = serde_json::from_value(json!({
            "status": "updated", "mailingListId": null, "workflowRevisionId": "rev_3", "queuedContactCount": 0,
            "workflow": {"id": "w", "status": "Draft", "rootNodeId": "t", "nodes": {}}
        }))
        .unwrap();
        assert_eq!(updated.workflow_revision_id.as_deref(), Some("rev_3"));
        let list = list_workflows_request(&PageRequest::first(Some(10))).unwrap();
        assert_eq!(list.path_and_query(), "/v1/workflows?perPage=10");
        assert_eq!(
            get_node_request("w", "n").unwrap().path(),
            "/v1/workflows/w/nodes/n"
        );
    }
}
