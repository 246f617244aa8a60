//! The Loops API routes, under `/api` (the client appends `/v1/...` to its base URL).
//!
//! Handlers parse, lock the store once, apply, and answer. The gate in front of them
//! (`gate.rs`) has already checked the key, the rate limit and the faults.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use super::Inner;
use super::config::PropertyKind;
use super::contacts::{ContactInput, check_new_property, create, label_for, upsert};
use super::request::{
    ApiError, Lookup, check_lengths, idempotency_key, json_object, optional_string, query_pairs,
    query_param,
};
use super::sends::{MAX_TRANSACTIONAL_BYTES, send_event, send_transactional};
use super::state::{self, DEFAULT_PROPERTIES};

type App = State<Arc<Inner>>;
type ApiResult = Result<Response, ApiError>;

/// Bodies above this are refused by the framework; transactional sends have their own 4 MB
/// check with a JSON answer.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The API router, to be nested under `/api`.
pub(crate) fn api_router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/v1/api-key", get(test_api_key))
        .route("/v1/contacts/create", post(create_contact))
        .route("/v1/contacts/update", put(update_contact))
        .route("/v1/contacts/find", get(find_contact))
        .route("/v1/contacts/delete", post(delete_contact))
        .route(
            "/v1/contacts/suppression",
            get(check_suppression).delete(remove_suppression),
        )
        .route(
            "/v1/contacts/properties",
            get(list_properties).post(create_property),
        )
        .route("/v1/lists", get(list_mailing_lists))
        .route("/v1/events/send", post(events_send))
        .route(
            "/v1/transactional",
            post(transactional_send).get(list_transactional_legacy),
        )
        .route("/v1/dedicated-sending-ips", get(dedicated_sending_ips))
        .merge(super::content::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(inner)
}

fn ok(body: Value) -> ApiResult {
    Ok(axum::Json(body).into_response())
}

async fn not_found() -> ApiError {
    ApiError::not_found("Not found.")
}

async fn test_api_key(State(app): App) -> ApiResult {
    ok(json!({ "success": true, "teamName": app.config.team_name }))
}

async fn create_contact(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    check_lengths(&body, &[])?;
    let input = ContactInput::parse(&body, &[])?;
    let mut state = app.lock();
    let index = create(&mut state, &input, app.config.strict_properties)?;
    ok(json!({ "success": true, "id": state.contacts[index].id }))
}

async fn update_contact(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    check_lengths(&body, &[])?;
    let input = ContactInput::parse(&body, &[])?;
    let mut state = app.lock();
    let index = upsert(&mut state, &input, app.config.strict_properties)?;
    ok(json!({ "success": true, "id": state.contacts[index].id }))
}

fn lookup_index(state: &state::State, lookup: &Lookup) -> Option<usize> {
    match lookup {
        Lookup::Email(email) => state.by_email(email),
        Lookup::UserId(id) => state.by_user_id(id),
    }
}

async fn find_contact(State(app): App, RawQuery(query): RawQuery) -> ApiResult {
    let lookup = Lookup::from_query(&query_pairs(query.as_deref()))?;
    let state = app.lock();
    let found: Vec<Value> = lookup_index(&state, &lookup)
        .map(|i| state.contacts[i].to_find_json())
        .into_iter()
        .collect();
    ok(Value::Array(found))
}

async fn delete_contact(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let email = optional_string(&body, "email")?;
    let user_id = optional_string(&body, "userId")?;
    let lookup = Lookup::from_parts(email.as_deref(), user_id.as_deref())?;
    let mut state = app.lock();
    let index =
        lookup_index(&state, &lookup).ok_or_else(|| ApiError::not_found("Contact not found."))?;
    state.contacts.remove(index);
    ok(json!({ "success": true, "message": "Contact deleted." }))
}

fn quota(app: &Inner, remaining: u32) -> Value {
    json!({ "limit": app.config.removal_quota, "remaining": remaining })
}

async fn check_suppression(State(app): App, RawQuery(query): RawQuery) -> ApiResult {
    let lookup = Lookup::from_query(&query_pairs(query.as_deref()))?;
    let state = app.lock();
    let index = lookup_index(&state, &lookup)
        .ok_or_else(|| ApiError::not_found("This contact was not found."))?;
    let contact = &state.contacts[index];
    // No `success` key here, as documented.
    ok(json!({
        "contact": contact.identity_json(),
        "isSuppressed": contact.suppressed,
        "removalQuota": quota(&app, state.removal_remaining),
    }))
}

async fn remove_suppression(State(app): App, RawQuery(query): RawQuery) -> ApiResult {
    let lookup = Lookup::from_query(&query_pairs(query.as_deref()))?;
    let mut state = app.lock();
    let index = lookup_index(&state, &lookup)
        .ok_or_else(|| ApiError::not_found("This contact was not found."))?;
    if !state.contacts[index].suppressed {
        return Err(ApiError::bad_request("This contact is not suppressed."));
    }
    if state.removal_remaining == 0 {
        return Err(ApiError::bad_request(
            "The suppression removal quota for the last 30 days is used up.",
        ));
    }
    state.removal_remaining -= 1;
    state.contacts[index].suppressed = false;
    ok(json!({
        "success": true,
        "message": "Email removed from suppression list.",
        "removalQuota": quota(&app, state.removal_remaining),
    }))
}

async fn list_properties(State(app): App, RawQuery(query): RawQuery) -> ApiResult {
    let pairs = query_pairs(query.as_deref());
    let custom_only = match query_param(&pairs, "list") {
        None | Some("all") => false,
        Some("custom") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "`list` must be \"all\" or \"custom\".",
            ));
        }
    };
    let state = app.lock();
    let defaults = DEFAULT_PROPERTIES
        .iter()
        .filter(|_| !custom_only)
        .map(|(key, label, kind)| json!({ "key": key, "label": label, "type": kind.as_str() }));
    let custom = state
        .custom_properties
        .iter()
        .map(|(key, kind)| json!({ "key": key, "label": label_for(key), "type": kind.as_str() }));
    ok(Value::Array(defaults.chain(custom).collect()))
}

async fn create_property(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let name = optional_string(&body, "name")?.unwrap_or_default();
    let kind = optional_string(&body, "type")?
        .as_deref()
        .and_then(PropertyKind::parse)
        .ok_or_else(|| {
            ApiError::bad_request("`type` must be one of string, number, boolean, date.")
        })?;
    let mut state = app.lock();
    check_new_property(&state, &name)?;
    state.custom_properties.push((name, kind));
    ok(json!({ "success": true }))
}

async fn list_mailing_lists(State(app): App) -> ApiResult {
    let state = app.lock();
    let lists: Vec<Value> = state
        .lists
        .iter()
        .map(|l| json!({ "id": l.id, "name": l.name, "description": l.description, "isPublic": l.is_public }))
        .collect();
    ok(Value::Array(lists))
}

async fn events_send(State(app): App, headers: HeaderMap, body: Bytes) -> ApiResult {
    let key = idempotency_key(&headers)?;
    let body = json_object(&body)?;
    let mut state = app.lock();
    send_event(&mut state, app.send_context(), &body, key.as_deref())?;
    ok(json!({ "success": true }))
}

async fn transactional_send(State(app): App, headers: HeaderMap, body: Bytes) -> ApiResult {
    let key = idempotency_key(&headers)?;
    if body.len() >= MAX_TRANSACTIONAL_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request payload must be less than 4MB.",
        ));
    }
    let body = json_object(&body)?;
    let mut state = app.lock();
    send_transactional(&mut state, app.send_context(), &body, key.as_deref())?;
    ok(json!({ "success": true }))
}

/// `GET /v1/transactional-emails`, routed with the management endpoints of the same path.
pub(crate) async fn list_transactional_current(
    State(app): App,
    RawQuery(query): RawQuery,
) -> ApiResult {
    list_transactional(&app, query.as_deref(), false)
}

async fn list_transactional_legacy(State(app): App, RawQuery(query): RawQuery) -> ApiResult {
    list_transactional(&app, query.as_deref(), true)
}

/// The current list shows drafts too, newest first; the legacy one only published emails,
/// in the same order.
fn list_transactional(app: &Inner, query: Option<&str>, legacy: bool) -> ApiResult {
    let items: Vec<Value> = app
        .lock()
        .transactional
        .iter()
        .filter(|t| !legacy || t.published_message_id.is_some())
        .map(|t| transactional_json(t, legacy))
        .collect();
    let path = if legacy {
        "/v1/transactional"
    } else {
        "/v1/transactional-emails"
    };
    ok(super::content::page(items, query, &app.base_url, path)?)
}

pub(crate) fn transactional_json(stored: &state::StoredTemplate, legacy: bool) -> Value {
    let at = crate::time::rfc3339(stored.created_at);
    let updated = crate::time::rfc3339(stored.updated_at);
    let published = stored.published_message_id.is_some();
    // The current list takes variables from the published version: none when unpublished.
    let variables = if published {
        stored.template.all_variables()
    } else {
        Vec::new()
    };
    if legacy {
        json!({
            "id": stored.template.id,
            "name": stored.template.name,
            "lastUpdated": updated,
            "dataVariables": variables,
        })
    } else {
        json!({
            "id": stored.template.id,
            "name": stored.template.name,
            "draftEmailMessageId": stored.draft_message_id,
            "publishedEmailMessageId": stored.published_message_id,
            "transactionalGroupId": stored.group_id,
            "createdAt": at,
            "updatedAt": updated,
            "dataVariables": variables,
        })
    }
}

async fn dedicated_sending_ips(State(app): App) -> ApiResult {
    ok(json!(app.config.sending_ips))
}
