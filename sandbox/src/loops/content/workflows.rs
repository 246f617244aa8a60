//! The workflow routes: workflows (list, create, get, update, delete, mailing list) and their
//! nodes (create, get, update, delete one or a subtree, add a branch, reroute). Every mutation
//! checks `expectedRevisionId` first and sets a new revision.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::super::Inner;
use super::super::request::{ApiError, json_object, optional_string};
use super::super::state::State as Store;
use super::graph::{CREATABLE, Lookups, Node, Workflow};
use super::{Parent, expected_revision, find, now_text, nullable_string, page};

type App = State<Arc<Inner>>;
type ApiResult = Result<Response, ApiError>;

pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/v1/workflows", get(list).post(create))
        .route(
            "/v1/workflows/{id}",
            get(get_one).post(update).delete(delete),
        )
        .route("/v1/workflows/{id}/mailing-list", post(mailing_list))
        .route("/v1/workflows/{id}/nodes", post(create_node))
        .route(
            "/v1/workflows/{id}/nodes/{node}",
            get(get_node).post(update_node).delete(delete_node),
        )
        .route(
            "/v1/workflows/{id}/nodes/{node}/recursive",
            axum::routing::delete(delete_subtree),
        )
        .route(
            "/v1/workflows/{id}/nodes/{node}/add-branch",
            post(add_branch),
        )
        .route("/v1/workflows/{id}/nodes/{node}/reroute", post(reroute))
}

fn ok(body: Value) -> ApiResult {
    Ok(axum::Json(body).into_response())
}

impl Store {
    pub(crate) fn workflow_mut(&mut self, id: &str) -> Result<&mut Workflow, ApiError> {
        self.content
            .workflows
            .iter_mut()
            .find(|w| w.id == id)
            .ok_or_else(|| ApiError::not_found("Workflow not found."))
    }

    fn workflow(&self, id: &str) -> Result<&Workflow, ApiError> {
        self.content
            .workflows
            .iter()
            .find(|w| w.id == id)
            .ok_or_else(|| ApiError::not_found("Workflow not found."))
    }

    /// The workflow, once its revision is the one the body expects.
    fn guarded(&mut self, id: &str, body: &Map<String, Value>) -> Result<&mut Workflow, ApiError> {
        let expected = expected_revision(body, true)?.flatten();
        let workflow = self.workflow_mut(id)?;
        if expected != workflow.revision {
            return Err(super::messages::stale(
                "workflowRevisionId",
                workflow.revision.as_deref(),
            ));
        }
        Ok(workflow)
    }

    /// Sets a new revision on the workflow after a change.
    fn bump(&mut self, id: &str) -> Result<&mut Workflow, ApiError> {
        let revision = self.new_id();
        let workflow = self.workflow_mut(id)?;
        workflow.revision = Some(revision);
        workflow.updated_at = now_text();
        Ok(workflow)
    }
}

async fn list(State(app): App, RawQuery(query): RawQuery) -> ApiResult {
    let items = app
        .lock()
        .content
        .workflows
        .iter()
        .map(Workflow::summary_json)
        .collect();
    ok(page(
        items,
        query.as_deref(),
        &app.base_url,
        "/v1/workflows",
    )?)
}

fn name_field(body: &Map<String, Value>, required: bool) -> Result<Option<String>, ApiError> {
    match optional_string(body, "name")? {
        Some(name) if name.trim().is_empty() => {
            Err(ApiError::bad_request("`name` must not be empty."))
        }
        None if required => {
            Err(ApiError::bad_request("`name` is required.").with("path", json!("name")))
        }
        other => Ok(other),
    }
}

async fn create(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = name_field(&body, true)?.unwrap_or_default();
    let description = optional_string(&body, "description")?;
    let list = nullable_string(&body, "mailingListId")?.flatten();
    let mut state = app.lock();
    if let Some(list) = &list
        && !state.list_exists(list)
    {
        return Err(ApiError::not_found("Mailing list not found."));
    }
    let (id, trigger, exit, revision) = (
        state.new_id(),
        state.new_id(),
        state.new_id(),
        state.new_id(),
    );
    let mut blank = Node::new("BlankTrigger", Map::new());
    blank.next = vec![exit.clone()];
    let now = now_text();
    let workflow = Workflow {
        id,
        name,
        description,
        mailing_list_id: list,
        status: "Draft".into(),
        revision: Some(revision),
        root: trigger.clone(),
        nodes: [
            (trigger, blank),
            (exit, Node::new("ExitAction", Map::new())),
        ]
        .into_iter()
        .collect(),
        queued: Default::default(),
        created_at: now.clone(),
        updated_at: now,
    };
    let answer = workflow.to_json();
    state.content.workflows.push(workflow);
    ok(answer)
}

async fn get_one(State(app): App, Path(id): Path<String>) -> ApiResult {
    ok(app.lock().workflow(&id)?.to_json())
}

async fn update(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = name_field(&body, false)?;
    let description = optional_string(&body, "description")?;
    let mut state = app.lock();
    state.guarded(&id, &body)?;
    if name.is_none() && description.is_none() {
        return Err(ApiError::bad_request("Provide `name` or `description`."));
    }
    let workflow = state.bump(&id)?;
    if let Some(name) = name {
        workflow.name = name;
    }
    if description.is_some() {
        workflow.description = description;
    }
    ok(workflow.to_json())
}

async fn delete(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let confirmed = body.get("confirmDelete") == Some(&Value::Bool(true));
    let mut state = app.lock();
    let workflow = state.guarded(&id, &body)?;
    let queued = workflow.queued_total();
    let sending = workflow.status == "Sending";
    if (sending || queued > 0) && !confirmed {
        let what = match (sending, queued) {
            (true, 0) => {
                "This workflow is currently sending. Deleting it will stop sending it.".to_owned()
            }
            (false, n) => format!(
                "This workflow has {n} queued contacts. Deleting it will cancel those queued contacts."
            ),
            (true, n) => format!(
                "This workflow is currently sending and has {n} queued contacts. Deleting it will stop sending it and cancel those queued contacts."
            ),
        };
        return Err(ApiError::conflict(format!(
            "{what} Confirm deletion by sending a second request with confirmDelete: true."
        )));
    }
    state.content.workflows.retain(|w| w.id != id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `dryRun` and `queuedContactPolicy` of a destructive change: whether to apply it.
fn destructive(body: &Map<String, Value>, queued: u64) -> Result<Option<&'static str>, ApiError> {
    let policy = optional_string(body, "queuedContactPolicy")?;
    if !matches!(policy.as_deref(), None | Some("fail" | "discard")) {
        return Err(ApiError::bad_request(
            "`queuedContactPolicy` must be fail or discard.",
        ));
    }
    if body.get("dryRun") == Some(&Value::Bool(true)) {
        return Ok(Some("dryRun"));
    }
    if queued > 0 && policy.as_deref() != Some("discard") {
        return Ok(Some("queuedContactsFound"));
    }
    Ok(None)
}

async fn mailing_list(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let Some(list) = nullable_string(&body, "mailingListId")? else {
        return Err(
            ApiError::bad_request("`mailingListId` is required (null clears it).")
                .with("path", json!("mailingListId")),
        );
    };
    let mut state = app.lock();
    if let Some(list) = &list
        && !state.list_exists(list)
    {
        return Err(ApiError::not_found("Mailing list not found."));
    }
    let workflow = state.guarded(&id, &body)?;
    // Clearing the list never drops queued contacts.
    let queued = if list.is_some() {
        workflow.queued_total()
    } else {
        0
    };
    let answer = |status: &str, w: Option<&Workflow>| {
        let mut out = json!({ "status": status, "mailingListId": list, "queuedContactCount": queued, "queuedContactLimitReached": false });
        if let Some(w) = w {
            out["workflowRevisionId"] = json!(w.revision);
            out["workflow"] = w.to_json();
        }
        out
    };
    if let Some(status) = destructive(&body, queued)? {
        return ok(answer(status, None));
    }
    let workflow = state.bump(&id)?;
    workflow.mailing_list_id = list.clone();
    if queued > 0 {
        workflow.queued.clear();
    }
    ok(answer("updated", Some(workflow)))
}

/// A new node's fields as Loops' defaults would be; a `SendEmailAction` gets an email message.
fn default_fields(state: &mut Store, workflow: &str, node_type: &str) -> Map<String, Value> {
    let fields = match node_type {
        "TimerAction" => json!({ "amount": 1, "unit": "d" }),
        "AudienceFilter" => {
            json!({ "audienceFilter": null, "audienceSegmentId": null, "appliesDownstream": false })
        }
        "ExperimentBranchNode" => json!({ "samplingRate": 50 }),
        "VariantNode" => json!({ "isControl": false }),
        "SendEmailAction" => {
            let (message, _) = state.create_message(Parent::Workflow(workflow.to_owned()));
            json!({ "emailMessageId": message, "subject": "" })
        }
        _ => json!({}),
    };
    fields.as_object().cloned().unwrap_or_default()
}

async fn create_node(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let node_type = optional_string(&body, "nodeTypeName")?.unwrap_or_default();
    let mode = optional_string(&body, "insertMode")?.unwrap_or_default();
    let from = optional_string(&body, "fromNodeId")?;
    let to = optional_string(&body, "toNodeId")?.or(optional_string(&body, "beforeNodeId")?);
    let mut state = app.lock();
    let workflow = state.guarded(&id, &body)?;
    workflow.check_editable()?;
    if !CREATABLE.contains(&node_type.as_str()) {
        return Err(
            ApiError::bad_request("This node type cannot be created through the API.")
                .with("path", json!("nodeTypeName")),
        );
    }
    let at = workflow.placement(&mode, &node_type, from.as_deref(), to.as_deref())?;
    let child_types: &[(&str, bool)] = match node_type.as_str() {
        "BranchNode" => &[("AudienceFilter", false), ("AudienceFilter", false)],
        "ExperimentBranchNode" => &[
            ("VariantNode", false),
            ("VariantNode", false),
            ("VariantNode", true),
        ],
        _ => &[],
    };
    let node_id = state.new_id();
    let node = Node::new(&node_type, default_fields(&mut state, &id, &node_type));
    let mut children = Vec::new();
    for (child_type, control) in child_types {
        let mut child = Node::new(child_type, default_fields(&mut state, &id, child_type));
        if *control {
            child.fields.insert("isControl".into(), json!(true));
        }
        children.push((state.new_id(), child));
    }
    let child_ids: Vec<String> = children.iter().map(|(c, _)| c.clone()).collect();
    state
        .workflow_mut(&id)?
        .insert(at, node_id.clone(), node, children)?;
    let workflow = state.bump(&id)?;
    let mut node = workflow.node_json(&node_id)?;
    if !child_ids.is_empty() {
        let created: Vec<Value> = child_ids
            .iter()
            .filter_map(|c| workflow.node_json(c).ok())
            .collect();
        node["createdChildNodes"] = Value::Array(created);
    }
    ok(json!({ "node": node, "workflow": workflow.to_json() }))
}

async fn get_node(State(app): App, Path((id, node)): Path<(String, String)>) -> ApiResult {
    ok(app.lock().workflow(&id)?.node_json(&node)?)
}

async fn update_node(
    State(app): App,
    Path((id, node)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let Some(Value::Object(payload)) = body.get("payload") else {
        return Err(
            ApiError::bad_request("`payload` must be an object.").with("path", json!("payload"))
        );
    };
    let mut state = app.lock();
    let segments = state.content.segments.clone();
    let patterns = state.content.event_patterns.clone();
    let segment_exists = |s: &str| find(&segments, s, "").is_ok();
    let pattern = |p: &str| {
        find(&patterns, p, "").ok().map(|r| {
            (
                r["eventName"].as_str().unwrap_or_default().to_owned(),
                r.get("eventProperties").cloned().unwrap_or(json!([])),
            )
        })
    };
    let lookups = Lookups {
        segment_exists: &segment_exists,
        pattern: &pattern,
    };
    let workflow = state.guarded(&id, &body)?;
    workflow.check_editable()?;
    workflow.update(&node, payload, &lookups)?;
    let workflow = state.bump(&id)?;
    let mut answer = workflow.node_json(&node)?;
    answer["workflow"] = workflow.to_json();
    ok(answer)
}

async fn delete_node(
    State(app): App,
    Path((id, node)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    delete_nodes(&app, &id, &node, &body, false)
}

async fn delete_subtree(
    State(app): App,
    Path((id, node)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    delete_nodes(&app, &id, &node, &body, true)
}

fn delete_nodes(app: &Inner, id: &str, node: &str, body: &[u8], recursive: bool) -> ApiResult {
    let body = json_object(body)?;
    let mut state = app.lock();
    let workflow = state.guarded(id, &body)?;
    workflow.check_editable()?;
    let removed = workflow.deletion(node, recursive)?;
    let queued = workflow.queued_at(&removed);
    let answer = |status: &str| json!({ "status": status, "nodeIds": removed, "queuedContactCount": queued, "queuedContactLimitReached": false });
    if let Some(status) = destructive(&body, queued)? {
        return ok(answer(status));
    }
    let exit = state.new_id();
    state.workflow_mut(id)?.delete(node, &removed, exit);
    let workflow = state.bump(id)?;
    let mut out = answer("deleted");
    out["workflowRevisionId"] = json!(workflow.revision);
    out["workflow"] = workflow.to_json();
    ok(out)
}

async fn add_branch(
    State(app): App,
    Path((id, node)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let mut state = app.lock();
    let workflow = state.guarded(&id, &body)?;
    workflow.check_editable()?;
    let parent = workflow.node(&node)?.clone();
    let child_type = match parent.type_name.as_str() {
        "BranchNode" => "AudienceFilter",
        "ExperimentBranchNode" => "VariantNode",
        _ => {
            return Err(ApiError::bad_request(
                "Branches can only be added to a BranchNode or an ExperimentBranchNode.",
            ));
        }
    };
    if workflow.nodes.len() >= super::graph::MAX_NODES {
        return Err(ApiError::bad_request("A workflow holds at most 400 nodes."));
    }
    // The new path ends where its first sibling's does.
    let target = parent
        .next
        .first()
        .and_then(|s| workflow.nodes.get(s))
        .map(|s| s.next.clone())
        .unwrap_or_default();
    let child_id = state.new_id();
    let mut child = Node::new(child_type, default_fields(&mut state, &id, child_type));
    child.next = target;
    let workflow = state.workflow_mut(&id)?;
    workflow.nodes.insert(child_id.clone(), child);
    if let Some(parent) = workflow.nodes.get_mut(&node) {
        parent.next.push(child_id.clone());
    }
    let workflow = state.bump(&id)?;
    ok(json!({ "node": workflow.node_json(&child_id)?, "workflow": workflow.to_json() }))
}

async fn reroute(
    State(app): App,
    Path((id, node)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let body = json_object(&body)?;
    let target = optional_string(&body, "newTargetNodeId")?.unwrap_or_default();
    let mut state = app.lock();
    let workflow = state.guarded(&id, &body)?;
    workflow.check_editable()?;
    workflow.reroute(&node, &target)?;
    let workflow = state.bump(&id)?;
    let mut answer = workflow.node_json(&node)?;
    answer["workflow"] = workflow.to_json();
    ok(answer)
}
