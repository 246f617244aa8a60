//! The content library: campaign and transactional groups, audience segments, themes,
//! components and event patterns. Stored as JSON records; the list and get routes are shared.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::super::Inner;
use super::super::request::{ApiError, json_object, optional_string};
use super::super::state::State as Store;
use super::messages::MAX_LMX_BYTES;
use super::{ContentState, Record, find, find_mut, id_of, lmx, new_record, page, touch};

type App = State<Arc<Inner>>;
type ApiResult = Result<Response, ApiError>;

/// The name Loops keeps for its default group.
pub(crate) const UNSORTED: &str = "Unsorted";

/// Which collection a shared route serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CampaignGroups,
    TransactionalGroups,
    Segments,
    Themes,
    Components,
    EventPatterns,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::CampaignGroups => "/v1/campaign-groups",
            Kind::TransactionalGroups => "/v1/transactional-groups",
            Kind::Segments => "/v1/audience-segments",
            Kind::Themes => "/v1/themes",
            Kind::Components => "/v1/components",
            Kind::EventPatterns => "/v1/event-patterns",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::CampaignGroups => "Campaign group",
            Kind::TransactionalGroups => "Transactional group",
            Kind::Segments => "Audience segment",
            Kind::Themes => "Theme",
            Kind::Components => "Component",
            Kind::EventPatterns => "Event pattern",
        }
    }
}

impl ContentState {
    fn records(&self, kind: Kind) -> &Vec<Record> {
        match kind {
            Kind::CampaignGroups => &self.campaign_groups,
            Kind::TransactionalGroups => &self.transactional_groups,
            Kind::Segments => &self.segments,
            Kind::Themes => &self.themes,
            Kind::Components => &self.components,
            Kind::EventPatterns => &self.event_patterns,
        }
    }

    fn records_mut(&mut self, kind: Kind) -> &mut Vec<Record> {
        match kind {
            Kind::CampaignGroups => &mut self.campaign_groups,
            Kind::TransactionalGroups => &mut self.transactional_groups,
            Kind::Segments => &mut self.segments,
            Kind::Themes => &mut self.themes,
            Kind::Components => &mut self.components,
            Kind::EventPatterns => &mut self.event_patterns,
        }
    }
}

pub(super) fn routes() -> Router<Arc<Inner>> {
    let mut router = Router::new();
    for kind in [
        Kind::CampaignGroups,
        Kind::TransactionalGroups,
        Kind::Segments,
        Kind::Themes,
        Kind::Components,
        Kind::EventPatterns,
    ] {
        let list = get(move |app: App, query: RawQuery| list(app, query, kind));
        let list = match kind {
            Kind::CampaignGroups | Kind::TransactionalGroups => {
                list.post(move |app: App, body: Bytes| create_group(app, body, kind))
            }
            Kind::Segments => list.post(create_segment),
            Kind::Themes => list.post(create_theme),
            Kind::Components => list.post(create_component),
            Kind::EventPatterns => list,
        };
        let one = get(move |app: App, id: Path<String>| get_one(app, id, kind));
        let one = match kind {
            Kind::CampaignGroups | Kind::TransactionalGroups => {
                one.post(move |app: App, id: Path<String>, body: Bytes| {
                    update_group(app, id, body, kind)
                })
            }
            Kind::Themes => one.post(update_theme),
            Kind::Components => one.post(update_component),
            Kind::Segments | Kind::EventPatterns => one,
        };
        router = router
            .route(kind.path(), list)
            .route(&format!("{}/{{id}}", kind.path()), one);
    }
    router.route("/v1/event-patterns/by-name/{name}", get(pattern_by_name))
}

fn ok(body: Value) -> ApiResult {
    Ok(axum::Json(body).into_response())
}

fn created(record: &Record) -> ApiResult {
    Ok((
        StatusCode::CREATED,
        axum::Json(Value::Object(record.clone())),
    )
        .into_response())
}

async fn list(State(app): App, RawQuery(query): RawQuery, kind: Kind) -> ApiResult {
    let items: Vec<Value> = app
        .lock()
        .content
        .records(kind)
        .iter()
        .map(|r| summary(r, kind))
        .collect();
    ok(page(items, query.as_deref(), &app.base_url, kind.path())?)
}

/// Event patterns are listed without their properties.
fn summary(record: &Record, kind: Kind) -> Value {
    let mut record = record.clone();
    if kind == Kind::EventPatterns {
        record.remove("eventProperties");
    }
    Value::Object(record)
}

async fn get_one(State(app): App, Path(id): Path<String>, kind: Kind) -> ApiResult {
    ok(Value::Object(
        find(app.lock().content.records(kind), &id, kind.what())?.clone(),
    ))
}

fn text_field(
    body: &Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<String>, ApiError> {
    let value = optional_string(body, key)?;
    match value {
        Some(v) if v.trim().is_empty() => {
            Err(ApiError::bad_request(format!("`{key}` must not be empty."))
                .with("path", json!(key)))
        }
        None if required => {
            Err(ApiError::bad_request(format!("`{key}` is required.")).with("path", json!(key)))
        }
        other => Ok(other),
    }
}

// ---- groups ----

async fn create_group(State(app): App, body: Bytes, kind: Kind) -> ApiResult {
    let body = json_object(&body)?;
    let name = text_field(&body, "name", true)?.unwrap_or_default();
    let description = optional_string(&body, "description")?;
    if name.trim().eq_ignore_ascii_case(UNSORTED) {
        return Err(ApiError::conflict("The name \"Unsorted\" is reserved."));
    }
    let mut state = app.lock();
    let record = state.new_group(kind == Kind::CampaignGroups, &name, description);
    created(&record)
}

impl Store {
    /// Adds a group and answers it.
    fn new_group(&mut self, campaign: bool, name: &str, description: Option<String>) -> Record {
        let mut record = new_record(self.new_id());
        record.insert("name".into(), json!(name));
        record.insert("description".into(), json!(description.unwrap_or_default()));
        let kind = if campaign {
            Kind::CampaignGroups
        } else {
            Kind::TransactionalGroups
        };
        self.content.records_mut(kind).push(record.clone());
        record
    }

    /// The default "Unsorted" groups every team has, and the default theme.
    pub(crate) fn seed_content_defaults(&mut self) {
        self.new_group(true, UNSORTED, None);
        self.new_group(false, UNSORTED, None);
        let mut theme = new_record(self.new_id());
        theme.insert("name".into(), json!("Default"));
        theme.insert("isDefault".into(), json!(true));
        theme.insert(
            "styles".into(),
            json!({ "backgroundColor": "#ffffff", "bodyXPadding": 24, "textBaseColor": "#111827" }),
        );
        self.content.themes.push(theme);
    }

    /// Adds or refreshes the event pattern of `name`, typing properties from their values.
    pub(crate) fn observe_event(&mut self, name: &str, properties: &Map<String, Value>) {
        let typed: Vec<Value> = properties
            .iter()
            .map(|(key, value)| {
                let kind = match value {
                    Value::Number(_) => "number",
                    Value::Bool(_) => "boolean",
                    _ => "string",
                };
                json!({ "name": key, "type": kind })
            })
            .collect();
        if let Some(pattern) = self
            .content
            .event_patterns
            .iter_mut()
            .find(|p| p.get("eventName").and_then(Value::as_str) == Some(name))
        {
            let known = pattern
                .entry("eventProperties")
                .or_insert_with(|| json!([]));
            if let Value::Array(list) = known {
                for property in typed {
                    if !list.iter().any(|p| p["name"] == property["name"]) {
                        list.push(property);
                    }
                }
            }
            return;
        }
        let mut pattern = new_record(self.new_id());
        pattern.insert("eventName".into(), json!(name));
        pattern.insert("incomingWebhookPlatform".into(), Value::Null);
        pattern.insert("eventProperties".into(), Value::Array(typed));
        self.content.event_patterns.push(pattern);
    }
}

async fn update_group(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
    kind: Kind,
) -> ApiResult {
    let body = json_object(&body)?;
    let name = text_field(&body, "name", false)?;
    let description = optional_string(&body, "description")?;
    if name.is_none() && description.is_none() {
        return Err(ApiError::bad_request("Provide `name` or `description`."));
    }
    let mut state = app.lock();
    let group = find_mut(state.content.records_mut(kind), &id, kind.what())?;
    let reserved = |n: &str| n.trim().eq_ignore_ascii_case(UNSORTED);
    if group
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(reserved)
    {
        return Err(ApiError::conflict("The Unsorted group cannot be edited."));
    }
    if name.as_deref().is_some_and(reserved) {
        return Err(ApiError::conflict("The name \"Unsorted\" is reserved."));
    }
    if let Some(name) = name {
        group.insert("name".into(), json!(name));
    }
    if let Some(description) = description {
        group.insert("description".into(), json!(description));
    }
    touch(group);
    ok(Value::Object(group.clone()))
}

// ---- segments ----

/// An audience filter: `{match: all|any, conditions: [property|optIn|activity]}`.
pub(crate) fn check_filter(filter: &Value) -> Result<(), ApiError> {
    let bad = |m: String| Err(ApiError::bad_request(m).with("path", json!("filter")));
    if !matches!(
        filter.get("match").and_then(Value::as_str),
        Some("all" | "any")
    ) {
        return bad("`match` must be \"all\" or \"any\".".into());
    }
    let Some(conditions) = filter.get("conditions").and_then(Value::as_array) else {
        return bad("`conditions` must be a list.".into());
    };
    if conditions.len() > 50 {
        return bad("A filter holds at most 50 conditions.".into());
    }
    for condition in conditions {
        let has = |k: &str| condition.get(k).and_then(Value::as_str).is_some();
        let valid = match condition.get("type").and_then(Value::as_str) {
            Some("property") => has("key") && has("operator"),
            Some("optIn") => condition.get("status").is_some(),
            Some("activity") => has("action") && has("target") && has("id"),
            _ => false,
        };
        if !valid {
            return bad(format!("Invalid condition: {condition}"));
        }
    }
    Ok(())
}

async fn create_segment(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = text_field(&body, "name", true)?.unwrap_or_default();
    let description = optional_string(&body, "description")?;
    if name.chars().count() > 255
        || description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 1000)
    {
        return Err(ApiError::bad_request(
            "`name` is at most 255 characters, `description` 1000.",
        ));
    }
    let Some(filter) = body.get("filter") else {
        return Err(ApiError::bad_request("`filter` is required.").with("path", json!("filter")));
    };
    check_filter(filter)?;
    let mut state = app.lock();
    if state
        .content
        .segments
        .iter()
        .any(|s| s.get("name").and_then(Value::as_str) == Some(name.as_str()))
    {
        return Err(ApiError::bad_request(
            "An audience segment with this name already exists.",
        ));
    }
    for condition in filter["conditions"].as_array().into_iter().flatten() {
        if condition["type"] == "activity" {
            let id = condition["id"].as_str().unwrap_or_default();
            let known = match condition["target"].as_str() {
                Some("campaign") => find(&state.content.campaigns, id, "Campaign").is_ok(),
                Some("workflow") => state.content.workflows.iter().any(|w| w.id == id),
                _ => state.content.messages.iter().any(|m| m.id == id),
            };
            if !known {
                return Err(ApiError::not_found(format!(
                    "The filter refers to `{id}`, which does not exist."
                )));
            }
        }
    }
    let mut record = new_record(state.new_id());
    record.insert("name".into(), json!(name));
    record.insert("description".into(), json!(description));
    record.insert("filter".into(), filter.clone());
    state.content.segments.push(record.clone());
    created(&record)
}

// ---- themes ----

fn styles(body: &Map<String, Value>) -> Result<Option<Map<String, Value>>, ApiError> {
    match body.get("styles") {
        None => Ok(None),
        Some(Value::Object(styles)) => Ok(Some(styles.clone())),
        Some(_) => {
            Err(ApiError::bad_request("`styles` must be an object.").with("path", json!("styles")))
        }
    }
}

async fn create_theme(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = text_field(&body, "name", true)?.unwrap_or_default();
    let styles = styles(&body)?.unwrap_or_default();
    let mut state = app.lock();
    let mut record = new_record(state.new_id());
    record.insert("name".into(), json!(name));
    record.insert("isDefault".into(), json!(false));
    record.insert("styles".into(), Value::Object(styles));
    state.content.themes.push(record.clone());
    Ok(axum::Json(Value::Object(record)).into_response())
}

/// Emails whose LMX uses `attribute="id"` (a theme or a component).
fn using(state: &Store, attribute: &str, id: &str) -> usize {
    let needle = format!("{attribute}=\"{id}\"");
    state
        .content
        .messages
        .iter()
        .filter(|m| m.text("lmx").contains(&needle))
        .count()
}

async fn update_theme(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = text_field(&body, "name", false)?;
    let styles = styles(&body)?;
    if name.is_none() && styles.is_none() {
        return Err(ApiError::bad_request("Provide `name` or `styles`."));
    }
    let mut state = app.lock();
    let affected = if styles.is_some() {
        using(&state, "themeId", &id)
    } else {
        0
    };
    let theme = find_mut(&mut state.content.themes, &id, "Theme")?;
    if let Some(name) = name {
        theme.insert("name".into(), json!(name));
    }
    if let (Some(changes), Some(Value::Object(current))) = (styles, theme.get_mut("styles")) {
        current.extend(changes);
    }
    touch(theme);
    let mut answer = theme.clone();
    answer.insert("affectedEmailCount".into(), json!(affected));
    ok(Value::Object(answer))
}

// ---- components ----

fn check_component_lmx(state: &Store, lmx: &str) -> Result<(), ApiError> {
    if lmx.len() > MAX_LMX_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The component body exceeds the size limit.",
        ));
    }
    let checked = lmx::check(lmx, |c| state.component_exists(c));
    if checked.errors.is_empty() {
        Ok(())
    } else {
        Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "LMX failed to compile.")
                .with("errors", Value::Array(checked.errors)),
        )
    }
}

async fn create_component(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = text_field(&body, "name", true)?.unwrap_or_default();
    let lmx = text_field(&body, "lmx", true)?.unwrap_or_default();
    let mut state = app.lock();
    check_component_lmx(&state, &lmx)?;
    let mut record = Record::new();
    record.insert("id".into(), json!(state.new_id()));
    record.insert("name".into(), json!(name));
    record.insert("lmx".into(), json!(lmx));
    state.content.components.push(record.clone());
    Ok(axum::Json(Value::Object(record)).into_response())
}

async fn update_component(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = text_field(&body, "name", false)?;
    let lmx = text_field(&body, "lmx", false)?;
    if name.is_none() && lmx.is_none() {
        return Err(ApiError::bad_request("Provide `name` or `lmx`."));
    }
    let mut state = app.lock();
    find(&state.content.components, &id, "Component")?;
    let affected = match &lmx {
        Some(lmx) => {
            check_component_lmx(&state, lmx)?;
            using(&state, "componentId", &id)
        }
        None => 0,
    };
    let component = find_mut(&mut state.content.components, &id, "Component")?;
    for (key, value) in [("name", name), ("lmx", lmx)] {
        if let Some(value) = value {
            component.insert(key.into(), json!(value));
        }
    }
    let mut answer = component.clone();
    answer.insert("affectedEmailCount".into(), json!(affected));
    ok(Value::Object(answer))
}

// ---- event patterns ----

async fn pattern_by_name(State(app): App, Path(name): Path<String>) -> ApiResult {
    let state = app.lock();
    let pattern = state
        .content
        .event_patterns
        .iter()
        .find(|p| p.get("eventName").and_then(Value::as_str) == Some(name.as_str()))
        .ok_or_else(|| ApiError::not_found("Event pattern not found."))?;
    debug_assert!(!id_of(pattern).is_empty());
    ok(Value::Object(pattern.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_table() {
        let table = [
            (json!({"match": "all", "conditions": []}), true),
            (
                json!({"match": "any", "conditions": [{"type": "property", "key": "plan", "operator": "equals", "value": "pro"}]}),
                true,
            ),
            (
                json!({"match": "all", "conditions": [{"type": "optIn", "status": null}]}),
                true,
            ),
            (
                json!({"match": "all", "conditions": [{"type": "activity", "action": "opened", "target": "campaign", "id": "c1", "negate": false}]}),
                true,
            ),
            (json!({"match": "some", "conditions": []}), false),
            (json!({"match": "all"}), false),
            (
                json!({"match": "all", "conditions": [{"type": "geo"}]}),
                false,
            ),
            (
                json!({"match": "all", "conditions": [{"type": "property", "key": "plan"}]}),
                false,
            ),
        ];
        for (filter, ok) in table {
            assert_eq!(check_filter(&filter).is_ok(), ok, "{filter}");
        }
    }

    #[test]
    fn event_patterns_follow_events() {
        let mut state = Store::new(&super::super::super::config::Config::default());
        let props = json!({"plan": "pro", "seats": 3})
            .as_object()
            .unwrap()
            .clone();
        state.observe_event("signup", &props);
        state.observe_event(
            "signup",
            &json!({"trial": true}).as_object().unwrap().clone(),
        );
        assert_eq!(state.content.event_patterns.len(), 1);
        let names: Vec<&str> = state.content.event_patterns[0]["eventProperties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["plan", "seats", "trial"]);
        assert_eq!(
            state.content.event_patterns[0]["eventProperties"][1]["type"],
            "number"
        );
    }
}
