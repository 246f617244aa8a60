//! [`WorkflowsApi`]: the workflow endpoints, sent through the client.

use super::{
    AddBranchRequest, ChangeMailingListRequest, CreateNodeRequest, CreateWorkflowRequest,
    DeleteNodesRequest, DeleteWorkflowRequest, MailingListChange, NodeChange, NodeDeletion,
    NodeDetail, RerouteNodeRequest, UpdateNodeRequest, UpdateWorkflowRequest, Workflow,
    WorkflowSummary, get_node_request, get_workflow_request, list_workflows_request,
};
use crate::client::Client;
use crate::endpoint::ApiRequest;
use crate::pagination::paged_list;
use crate::request::Response;

/// Workflows and their nodes. Get it with [`Client::workflows`].
///
/// Every mutation takes the revision last read (`workflow.workflow_revision_id`) and answers
/// with the next one; see the [module documentation](crate::workflows) for stale revisions
/// and queued contacts.
///
/// ```no_run
/// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
/// use loops_client::workflows::{
///     CreateNodeRequest, CreateWorkflowRequest, DeleteWorkflowRequest, NodeType, NodeUpdate,
///     TimerUnit, UpdateNodeRequest,
/// };
///
/// let workflows = client.workflows();
/// let workflow = workflows.create(&CreateWorkflowRequest::new("Onboarding")).await?;
/// let trigger = workflow.root_node_id.clone();
///
/// // Start on the `signup` event, wait a day, send an email.
/// let node = workflows
///     .update_node(&workflow.id, &trigger, &UpdateNodeRequest::new(workflow.workflow_revision_id.clone(), NodeUpdate::event_trigger("signup")))
///     .await?;
/// let timer = workflows
///     .create_node(&workflow.id, &CreateNodeRequest::after(node.workflow_revision_id.clone(), NodeType::TimerAction, &trigger))
///     .await?;
/// let timer = workflows
///     .update_node(&workflow.id, &timer.node.id, &UpdateNodeRequest::new(timer.workflow.workflow_revision_id.clone(), NodeUpdate::timer(1, TimerUnit::Days)))
///     .await?;
/// let email = workflows
///     .create_node(&workflow.id, &CreateNodeRequest::after(timer.workflow_revision_id.clone(), NodeType::SendEmailAction, &timer.id))
///     .await?;
/// println!("edit the email at {:?}", email.node.email_message_id());
///
/// // Deleting a workflow that is sending needs a confirmation.
/// let delete = DeleteWorkflowRequest::new(email.workflow.workflow_revision_id.clone());
/// match workflows.delete(&workflow.id, &delete).await {
///     Err(loops_client::Error::ConfirmationRequired { .. }) => {
///         workflows.delete(&workflow.id, &delete.confirm_delete(true)).await?
///     }
///     other => other?,
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct WorkflowsApi {
    pub(crate) client: Client,
}

impl WorkflowsApi {
    paged_list!(WorkflowSummary, list_workflows_request, "workflows");

    /// Creates a draft workflow with a blank trigger and an exit node; not retried after an
    /// ambiguous failure.
    pub async fn create(&self, request: &CreateWorkflowRequest) -> crate::Result<Workflow> {
        self.client
            .execute(&request.to_api_request()?)
            .await?
            .json()
    }

    /// One workflow by id, with its graph.
    pub async fn get(&self, workflow_id: &str) -> crate::Result<Workflow> {
        self.client
            .execute(&get_workflow_request(workflow_id)?)
            .await?
            .json()
    }

    /// Changes a workflow's name or description.
    pub async fn update(
        &self,
        workflow_id: &str,
        request: &UpdateWorkflowRequest,
    ) -> crate::Result<Workflow> {
        self.guarded(workflow_id, &request.to_api_request(workflow_id)?)
            .await?
            .json()
    }

    /// Deletes a workflow. [`Error::ConfirmationRequired`](crate::Error::ConfirmationRequired)
    /// when it is sending or has queued contacts (the 409 is told apart from a stale revision
    /// by reading the workflow's current revision).
    pub async fn delete(
        &self,
        workflow_id: &str,
        request: &DeleteWorkflowRequest,
    ) -> crate::Result<()> {
        self.guarded(workflow_id, &request.to_api_request(workflow_id)?)
            .await?;
        Ok(())
    }

    /// Sets or clears the mailing list (or reports what that would drop).
    pub async fn change_mailing_list(
        &self,
        workflow_id: &str,
        request: &ChangeMailingListRequest,
    ) -> crate::Result<MailingListChange> {
        self.guarded(workflow_id, &request.to_api_request(workflow_id)?)
            .await?
            .json()
    }

    /// Creates a node with Loops' defaults.
    pub async fn create_node(
        &self,
        workflow_id: &str,
        request: &CreateNodeRequest,
    ) -> crate::Result<NodeChange> {
        self.guarded(workflow_id, &request.to_api_request(workflow_id)?)
            .await?
            .json()
    }

    /// One node by id, with the workflow's revision.
    pub async fn get_node(&self, workflow_id: &str, node_id: &str) -> crate::Result<NodeDetail> {
        self.client
            .execute(&get_node_request(workflow_id, node_id)?)
            .await?
            .json()
    }

    /// Updates a node; [`Error::NotImplemented`](crate::Error::NotImplemented) for a node
    /// type Loops cannot update this way.
    pub async fn update_node(
        &self,
        workflow_id: &str,
        node_id: &str,
        request: &UpdateNodeRequest,
    ) -> crate::Result<NodeDetail> {
        let api_request = request.to_api_request(workflow_id, node_id)?;
        self.guarded(workflow_id, &api_request).await?.json()
    }

    /// Deletes one node (or reports the contacts queued there).
    pub async fn delete_node(
        &self,
        workflow_id: &str,
        node_id: &str,
        request: &DeleteNodesRequest,
    ) -> crate::Result<NodeDeletion> {
        let api_request = request.to_api_request(workflow_id, node_id)?;
        self.guarded(workflow_id, &api_request).await?.json()
    }

    /// Deletes a node and every node after it (or reports the contacts queued there).
    pub async fn delete_nodes_recursive(
        &self,
        workflow_id: &str,
        node_id: &str,
        request: &DeleteNodesRequest,
    ) -> crate::Result<NodeDeletion> {
        let api_request = request.to_recursive_api_request(workflow_id, node_id)?;
        self.guarded(workflow_id, &api_request).await?.json()
    }

    /// Adds a branch under a branch or experiment node.
    pub async fn add_branch(
        &self,
        workflow_id: &str,
        node_id: &str,
        request: &AddBranchRequest,
    ) -> crate::Result<NodeChange> {
        let api_request = request.to_api_request(workflow_id, node_id)?;
        self.guarded(workflow_id, &api_request).await?.json()
    }

    /// Moves a node's only outgoing connection to another target.
    pub async fn reroute_node(
        &self,
        workflow_id: &str,
        node_id: &str,
        request: &RerouteNodeRequest,
    ) -> crate::Result<NodeDetail> {
        let api_request = request.to_api_request(workflow_id, node_id)?;
        self.guarded(workflow_id, &api_request).await?.json()
    }

    /// Sends a revision-guarded mutation; after a 409 the workflow's current revision is
    /// read to report it.
    async fn guarded(&self, workflow_id: &str, request: &ApiRequest) -> crate::Result<Response> {
        self.client
            .execute_guarded(request, || async {
                Ok(self.get(workflow_id).await?.workflow_revision_id)
            })
            .await
    }
}
