//! Campaigns (draft only) and the transactional-email management endpoints (create, get,
//! update, ensure a draft, publish). Both make email messages.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::super::Inner;
use super::super::config::TransactionalTemplate;
use super::super::request::{ApiError, json_object, optional_string};
use super::super::state::{State as Store, StoredTemplate};
use super::{Parent, Record, find, find_mut, lmx, new_record, nullable_string, page, touch};

type App = State<Arc<Inner>>;
type ApiResult = Result<Response, ApiError>;

const CAMPAIGN_FIELDS: [&str; 6] = [
    "name",
    "campaignGroupId",
    "mailingListId",
    "audienceSegmentId",
    "audienceFilter",
    "scheduling",
];

pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/v1/campaigns", get(list_campaigns).post(create_campaign))
        .route(
            "/v1/campaigns/{id}",
            get(get_campaign).post(update_campaign),
        )
        .route(
            "/v1/transactional-emails",
            get(super::super::routes::list_transactional_current).post(create_transactional),
        )
        .route(
            "/v1/transactional-emails/{id}",
            get(get_transactional).post(update_transactional),
        )
        .route("/v1/transactional-emails/{id}/draft", post(ensure_draft))
        .route("/v1/transactional-emails/{id}/publish", post(publish))
}

fn created(body: Value) -> ApiResult {
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

fn ok(body: Value) -> ApiResult {
    Ok(axum::Json(body).into_response())
}

/// A campaign's status (`""` when there is no such campaign).
pub(crate) fn campaign_status(state: &Store, id: &str) -> String {
    find(&state.content.campaigns, id, "Campaign")
        .ok()
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

async fn list_campaigns(State(app): App, RawQuery(query): RawQuery) -> ApiResult {
    let items = app
        .lock()
        .content
        .campaigns
        .iter()
        .cloned()
        .map(Value::Object)
        .collect();
    ok(page(
        items,
        query.as_deref(),
        &app.base_url,
        "/v1/campaigns",
    )?)
}

async fn get_campaign(State(app): App, Path(id): Path<String>) -> ApiResult {
    ok(Value::Object(
        find(&app.lock().content.campaigns, &id, "Campaign")?.clone(),
    ))
}

/// Checks the campaign settings a body sets; answers them ready to store.
fn campaign_changes(
    state: &Store,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, ApiError> {
    let mut changes = Map::new();
    for (key, value) in body {
        if !CAMPAIGN_FIELDS.contains(&key.as_str()) {
            return Err(
                ApiError::bad_request(format!("`{key}` is not a campaign field."))
                    .with("path", json!(key)),
            );
        }
        match key.as_str() {
            "name" => {
                if value.as_str().is_none_or(|n| n.trim().is_empty()) {
                    return Err(ApiError::bad_request("`name` must be a non-empty string.")
                        .with("path", json!("name")));
                }
            }
            "campaignGroupId" => {
                let id = value.as_str().unwrap_or_default();
                if find(&state.content.campaign_groups, id, "Campaign group").is_err() {
                    return Err(
                        ApiError::bad_request("Campaign group not found.").with("path", json!(key))
                    );
                }
            }
            "mailingListId" => {
                if let Some(id) = nullable_string(body, key)?.flatten()
                    && !state.list_exists(&id)
                {
                    return Err(ApiError::not_found("Mailing list not found."));
                }
            }
            "audienceSegmentId" => {
                if let Some(id) = nullable_string(body, key)?.flatten() {
                    find(&state.content.segments, &id, "Audience segment")?;
                }
            }
            "audienceFilter" => {
                if !value.is_null() {
                    super::library::check_filter(value)?;
                }
            }
            _ => check_scheduling(value)?,
        }
        changes.insert(key.clone(), value.clone());
    }
    Ok(changes)
}

fn check_scheduling(value: &Value) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::bad_request(m.to_owned()).with("path", json!("scheduling")));
    match value.get("method").and_then(Value::as_str) {
        Some("now") => Ok(()),
        Some("schedule") => match value.get("timestamp").and_then(Value::as_str) {
            Some(t) if !t.trim().is_empty() => Ok(()),
            _ => bad("A scheduled campaign needs a `timestamp` in the future."),
        },
        _ => bad("`scheduling.method` must be \"now\" or \"schedule\"."),
    }
}

async fn create_campaign(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    if body
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        return Err(ApiError::bad_request("`name` is required.").with("path", json!("name")));
    }
    let mut state = app.lock();
    let changes = campaign_changes(&state, &body)?;
    let id = state.new_id();
    let (message_id, revision) = state.create_message(Parent::Campaign(id.clone()));
    let mut campaign = new_record(id.clone());
    let unsorted = state
        .content
        .campaign_groups
        .first()
        .map(|g| json!(super::id_of(g)));
    campaign.insert(
        "url".into(),
        json!(format!("https://app.loops.so/campaigns/{id}")),
    );
    campaign.insert("status".into(), json!("Draft"));
    campaign.insert("emailMessageId".into(), json!(message_id));
    campaign.insert("campaignGroupId".into(), unsorted.unwrap_or(Value::Null));
    for key in ["mailingListId", "audienceSegmentId", "audienceFilter"] {
        campaign.insert(key.into(), Value::Null);
    }
    campaign.insert(
        "scheduling".into(),
        json!({ "method": "now", "timestamp": null }),
    );
    apply_campaign(&mut campaign, changes);
    state.content.campaigns.push(campaign.clone());
    campaign.insert("emailMessageContentRevisionId".into(), json!(revision));
    created(Value::Object(campaign))
}

fn apply_campaign(campaign: &mut Record, changes: Map<String, Value>) {
    let segment_without_filter =
        changes.contains_key("audienceSegmentId") && !changes.contains_key("audienceFilter");
    for (key, mut value) in changes {
        if key == "scheduling" && value.get("timestamp").is_none() {
            value["timestamp"] = Value::Null;
        }
        campaign.insert(key, value);
    }
    // Loops: setting a segment without a filter clears the filter.
    if segment_without_filter {
        campaign.insert("audienceFilter".into(), Value::Null);
    }
}

async fn update_campaign(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let mut state = app.lock();
    if campaign_status(&state, &id).is_empty() {
        return Err(ApiError::not_found("Campaign not found."));
    }
    if campaign_status(&state, &id) != "Draft" {
        return Err(ApiError::conflict("Only draft campaigns can be updated."));
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "Provide at least one field to update.",
        ));
    }
    let changes = campaign_changes(&state, &body)?;
    let campaign = find_mut(&mut state.content.campaigns, &id, "Campaign")?;
    apply_campaign(campaign, changes);
    touch(campaign);
    ok(Value::Object(campaign.clone()))
}

// ---- transactional emails ----

impl Store {
    fn stored_mut(&mut self, id: &str) -> Result<&mut StoredTemplate, ApiError> {
        self.transactional
            .iter_mut()
            .find(|t| t.template.id == id)
            .ok_or_else(|| ApiError::not_found("Transactional email not found."))
    }

    fn stored(&self, id: &str) -> Result<&StoredTemplate, ApiError> {
        self.template(id)
            .ok_or_else(|| ApiError::not_found("Transactional email not found."))
    }

    /// The answer of a management call: the list shape, with the draft's revision.
    fn transactional_answer(&self, id: &str) -> Result<Value, ApiError> {
        let stored = self.stored(id)?;
        let mut answer = super::super::routes::transactional_json(stored, false);
        answer["url"] = json!(format!("https://app.loops.so/transactional/{id}"));
        let revision = stored
            .draft_message_id
            .as_deref()
            .and_then(|d| self.message(d).ok())
            .map(|m| m.revision.clone());
        answer["draftEmailMessageContentRevisionId"] = json!(revision);
        Ok(answer)
    }
}

fn group_field(state: &Store, body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let group = optional_string(body, "transactionalGroupId")?;
    if let Some(group) = &group {
        find(
            &state.content.transactional_groups,
            group,
            "Transactional group",
        )?;
    }
    Ok(group)
}

async fn create_transactional(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = optional_string(&body, "name")?.filter(|n| !n.trim().is_empty());
    let Some(name) = name else {
        return Err(ApiError::bad_request("`name` is required.").with("path", json!("name")));
    };
    let mut state = app.lock();
    let group = group_field(&state, &body)?;
    let id = state.new_id();
    state.add_transactional(TransactionalTemplate::new(id.clone(), name).draft());
    let unsorted = state
        .content
        .transactional_groups
        .first()
        .map(|g| super::id_of(g).to_owned());
    state.stored_mut(&id)?.group_id = group.or(unsorted);
    created(state.transactional_answer(&id)?)
}

async fn get_transactional(State(app): App, Path(id): Path<String>) -> ApiResult {
    ok(app.lock().transactional_answer(&id)?)
}

async fn update_transactional(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = optional_string(&body, "name")?;
    let mut state = app.lock();
    let group = group_field(&state, &body)?;
    if name.is_none() && group.is_none() {
        return Err(ApiError::bad_request(
            "Provide `name` or `transactionalGroupId`.",
        ));
    }
    let stored = state.stored_mut(&id)?;
    if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
        stored.template.name = name;
    }
    if group.is_some() {
        stored.group_id = group;
    }
    stored.updated_at = SystemTime::now();
    ok(state.transactional_answer(&id)?)
}

async fn ensure_draft(State(app): App, Path(id): Path<String>) -> ApiResult {
    let mut state = app.lock();
    let stored = state.stored(&id)?;
    if stored.draft_message_id.is_none() {
        // A new draft, seeded from the published version when there is one.
        let seed = stored
            .published_message_id
            .clone()
            .and_then(|p| state.message(&p).ok().map(|m| m.fields.clone()));
        let (draft, _) = state.create_message(Parent::Transactional(id.clone()));
        if let Some(fields) = seed {
            state.message_mut(&draft)?.fields = fields;
        }
        let stored = state.stored_mut(&id)?;
        stored.draft_message_id = Some(draft);
        stored.updated_at = SystemTime::now();
    }
    ok(state.transactional_answer(&id)?)
}

async fn publish(State(app): App, Path(id): Path<String>) -> ApiResult {
    let mut state = app.lock();
    let Some(draft_id) = state.stored(&id)?.draft_message_id.clone() else {
        return Err(ApiError::conflict("There is no draft to publish."));
    };
    let draft = state.message(&draft_id)?;
    let checked = lmx::check(draft.text("lmx"), |c| state.component_exists(c));
    let mut errors = checked.errors.clone();
    for (field, rule) in [("subject", "missingSubject"), ("lmx", "missingBody")] {
        if draft.text(field).trim().is_empty() {
            errors.push(json!({ "rule": rule, "message": format!("The draft has no {field}."), "path": field }));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The draft failed validation.",
        )
        .with("errors", Value::Array(errors)));
    }
    // Variables with a fallback are optional; the others are required by sends.
    let fallbacks = draft
        .fields
        .get("dataVariablesFallbacks")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let (optional, required): (Vec<String>, Vec<String>) = checked
        .data
        .into_iter()
        .partition(|v| fallbacks.contains_key(v));
    let stored = state.stored_mut(&id)?;
    stored.published_message_id = Some(draft_id);
    stored.draft_message_id = None;
    stored.template.published = true;
    stored.template.required_variables = required;
    stored.template.optional_variables = optional;
    stored.updated_at = SystemTime::now();
    ok(state.transactional_answer(&id)?)
}
