//! Inspection and scenario controls for the content and workflow APIs, in Rust (on
//! [`Sandbox`]) and over HTTP (under `/_sandbox`): uploads and previews received, the API
//! switches, and what only Loops' UI can do (start a workflow, queue contacts in it, send a
//! campaign).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use loops_client::endpoint::GatedApi;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::super::config::PropertyKind;
use super::super::inspect::SeedError;
use super::super::{Inner, Sandbox};
use super::{RecordedPreview, Upload, find_mut, touch};
use crate::server::{json_ok, parse, refused};

impl Inner {
    fn set_workflow_status(&self, workflow: &str, status: &str) -> Result<(), SeedError> {
        let mut state = self.lock();
        let workflow = state
            .workflow_mut(workflow)
            .map_err(|_| SeedError(format!("no workflow {workflow}")))?;
        workflow.status = status.to_owned();
        Ok(())
    }

    fn queue_contacts(&self, workflow: &str, node: &str, count: u64) -> Result<(), SeedError> {
        let mut state = self.lock();
        let workflow = state
            .workflow_mut(workflow)
            .map_err(|_| SeedError(format!("no workflow {workflow}")))?;
        if !workflow.nodes.contains_key(node) {
            return Err(SeedError(format!("no node {node}")));
        }
        match count {
            0 => workflow.queued.remove(node),
            n => workflow.queued.insert(node.to_owned(), n),
        };
        Ok(())
    }

    fn set_campaign_status(&self, campaign: &str, status: &str) -> Result<(), SeedError> {
        let mut state = self.lock();
        let record = find_mut(&mut state.content.campaigns, campaign, "Campaign")
            .map_err(|_| SeedError(format!("no campaign {campaign}")))?;
        record.insert("status".into(), json!(status));
        touch(record);
        Ok(())
    }

    fn seed_event_pattern(
        &self,
        event_name: &str,
        properties: &[(String, PropertyKind)],
    ) -> String {
        let mut state = self.lock();
        let typed: Map<String, Value> = properties
            .iter()
            .map(|(name, kind)| (name.clone(), kind_sample(*kind)))
            .collect();
        state.observe_event(event_name, &typed);
        state
            .content
            .event_patterns
            .iter()
            .find(|p| p["eventName"] == event_name)
            .map(|p| super::id_of(p).to_owned())
            .unwrap_or_default()
    }
}

/// A value of the kind, so that the pattern types the property as `observe_event` does.
fn kind_sample(kind: PropertyKind) -> Value {
    match kind {
        PropertyKind::Number => json!(0),
        PropertyKind::Boolean => json!(false),
        _ => json!(""),
    }
}

/// The content and workflow APIs, in Rust.
impl Sandbox {
    /// Switches the content API or the workflow API on or off; while off, its endpoints
    /// answer 401 although the key is good, as Loops does for a team without it.
    pub fn set_api_enabled(&self, api: GatedApi, enabled: bool) {
        let mut state = self.inner.lock();
        match api {
            GatedApi::Workflows => state.content.workflow_api = enabled,
            _ => state.content.content_api = enabled,
        }
    }

    /// Every upload slot, oldest first, with what its `PUT` delivered.
    pub fn uploads(&self) -> Vec<Upload> {
        self.inner.lock().content.uploads.clone()
    }

    /// The bytes an upload's `PUT` delivered.
    pub fn upload_bytes(&self, email_asset_id: &str) -> Option<Vec<u8>> {
        let state = self.inner.lock();
        state
            .content
            .uploads
            .iter()
            .find(|u| u.email_asset_id == email_asset_id && u.received_bytes.is_some())
            .map(|u| u.bytes.clone())
    }

    /// Every preview sent, oldest first.
    pub fn previews(&self) -> Vec<RecordedPreview> {
        self.inner.lock().content.previews.clone()
    }

    /// Sets a workflow's status, as starting or pausing it in Loops' UI would (`"Sending"`,
    /// `"Paused"`, `"PausedAndQueueing"`, `"Draft"`). A sending workflow cannot be edited and
    /// needs `confirmDelete` to be deleted.
    pub fn set_workflow_status(&self, workflow_id: &str, status: &str) -> Result<(), SeedError> {
        self.inner.set_workflow_status(workflow_id, status)
    }

    /// Puts `count` contacts in the queue at a workflow node (`0` empties it); deleting that
    /// node or the workflow, or changing its list, then reports them.
    pub fn queue_contacts(
        &self,
        workflow_id: &str,
        node_id: &str,
        count: u64,
    ) -> Result<(), SeedError> {
        self.inner.queue_contacts(workflow_id, node_id, count)
    }

    /// Sets a campaign's status (`"Scheduled"`, `"Sending"`, `"Sent"`); only a `"Draft"` can
    /// be updated.
    pub fn set_campaign_status(&self, campaign_id: &str, status: &str) -> Result<(), SeedError> {
        self.inner.set_campaign_status(campaign_id, status)
    }

    /// Adds an event pattern (events sent through the API add theirs too). Returns its id.
    pub fn add_event_pattern(
        &self,
        event_name: &str,
        properties: &[(&str, PropertyKind)],
    ) -> String {
        let owned: Vec<(String, PropertyKind)> = properties
            .iter()
            .map(|(n, k)| ((*n).to_owned(), *k))
            .collect();
        self.inner.seed_event_pattern(event_name, &owned)
    }
}

type App = State<Arc<Inner>>;

pub(crate) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/uploads", get(http_uploads))
        .route("/previews", get(http_previews))
        .route("/apis", put(http_apis))
        .route("/workflows/{id}/status", post(http_workflow_status))
        .route("/workflows/{id}/queued", post(http_queued))
        .route("/campaigns/{id}/status", post(http_campaign_status))
        .route("/event-patterns", post(http_event_pattern))
}

async fn http_uploads(State(app): App) -> Response {
    json_ok(&app.lock().content.uploads)
}

async fn http_previews(State(app): App) -> Response {
    json_ok(&app.lock().content.previews)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Apis {
    content_api: Option<bool>,
    workflow_api: Option<bool>,
}

async fn http_apis(State(app): App, body: Bytes) -> Response {
    match parse::<Apis>(&body) {
        Ok(apis) => {
            let mut state = app.lock();
            if let Some(on) = apis.content_api {
                state.content.content_api = on;
            }
            if let Some(on) = apis.workflow_api {
                state.content.workflow_api = on;
            }
            json_ok(
                &json!({ "contentApi": state.content.content_api, "workflowApi": state.content.workflow_api }),
            )
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
struct Status {
    status: String,
}

fn answer(result: Result<(), SeedError>) -> Response {
    match result {
        Ok(()) => json_ok(&json!({ "success": true })),
        Err(e) => refused(StatusCode::BAD_REQUEST, e.0),
    }
}

async fn http_workflow_status(State(app): App, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<Status>(&body) {
        Ok(s) => answer(app.set_workflow_status(&id, &s.status)),
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn http_campaign_status(State(app): App, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<Status>(&body) {
        Ok(s) => answer(app.set_campaign_status(&id, &s.status)),
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Queued {
    node_id: String,
    count: u64,
}

async fn http_queued(State(app): App, Path(id): Path<String>, body: Bytes) -> Response {
    match parse::<Queued>(&body) {
        Ok(q) => answer(app.queue_contacts(&id, &q.node_id, q.count)),
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatternSeed {
    event_name: String,
    #[serde(default)]
    event_properties: std::collections::BTreeMap<String, PropertyKind>,
}

async fn http_event_pattern(State(app): App, body: Bytes) -> Response {
    match parse::<PatternSeed>(&body) {
        Ok(seed) => {
            let properties: Vec<(String, PropertyKind)> =
                seed.event_properties.into_iter().collect();
            let id = app.seed_event_pattern(&seed.event_name, &properties);
            json_ok(&json!({ "success": true, "id": id }))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}
