//! The inspection and seeding API over HTTP, under `/_sandbox`: JSON, no API key, no rate
//! limit, no faults, not counted. The routes are listed in the crate's README; the ones every
//! fake shares are in `crate::inspect`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::Inner;
use super::config::{MailingListSeed, PropertyKind, TransactionalTemplate};
use super::inspect::NewContact;
use super::model::{Contact, RecordedEvent, RecordedTransactional};
use super::request::{query_pairs, query_param};
use crate::server::{json_ok, parse, refused};

type App = State<Arc<Inner>>;

/// The `/_sandbox` router.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/contacts", get(http_contacts).post(http_add_contact))
        .route("/events", get(http_events))
        .route("/transactional", get(http_sends))
        .route("/idempotency-conflicts", get(http_conflicts))
        .route("/webhooks", get(http_deliveries))
        .route("/lists", post(http_add_list))
        .route("/transactional-emails", post(http_add_transactional))
        .route("/contact-properties", post(http_add_property))
        .route("/suppressions", post(http_suppress))
        .merge(super::content::inspect_routes())
        .merge(crate::inspect::routes())
        .with_state(inner)
}

fn matches(filter: Option<&str>, value: &str) -> bool {
    filter.is_none_or(|f| f.eq_ignore_ascii_case(value))
}

async fn http_contacts(State(app): App, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let email = query_param(&pairs, "email");
    let user_id = query_param(&pairs, "userId");
    let state = app.lock();
    let found: Vec<&Contact> = state
        .contacts
        .iter()
        .filter(|c| email.is_none_or(|e| c.matches_email(e)))
        .filter(|c| user_id.is_none_or(|u| c.user_id.as_deref() == Some(u)))
        .collect();
    json_ok(&found)
}

async fn http_add_contact(State(app): App, body: axum::body::Bytes) -> Response {
    let seed: NewContact = match parse(&body) {
        Ok(seed) => seed,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e),
    };
    match app.add_contact(&seed) {
        Ok(id) => json_ok(&json!({ "success": true, "id": id })),
        Err(e) => refused(StatusCode::BAD_REQUEST, e.0),
    }
}

async fn http_events(State(app): App, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let state = app.lock();
    let found: Vec<&RecordedEvent> = state
        .events
        .iter()
        .filter(|e| matches(query_param(&pairs, "email"), &e.email))
        .filter(|e| query_param(&pairs, "eventName").is_none_or(|n| n == e.event_name))
        .collect();
    json_ok(&found)
}

async fn http_sends(State(app): App, RawQuery(query): RawQuery) -> Response {
    let pairs = query_pairs(query.as_deref());
    let state = app.lock();
    let found: Vec<&RecordedTransactional> = state
        .sends
        .iter()
        .filter(|s| matches(query_param(&pairs, "email"), &s.email))
        .filter(|s| query_param(&pairs, "transactionalId").is_none_or(|t| t == s.transactional_id))
        .collect();
    json_ok(&found)
}

async fn http_conflicts(State(app): App) -> Response {
    json_ok(&app.lock().conflicts)
}

async fn http_deliveries(State(app): App) -> Response {
    json_ok(&app.lock().deliveries)
}

async fn http_add_list(State(app): App, body: axum::body::Bytes) -> Response {
    match parse::<MailingListSeed>(&body) {
        Ok(list) => {
            app.lock().add_list(list);
            json_ok(&json!({ "success": true }))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn http_add_transactional(State(app): App, body: axum::body::Bytes) -> Response {
    match parse::<TransactionalTemplate>(&body) {
        Ok(template) => {
            app.lock().add_transactional(template);
            json_ok(&json!({ "success": true }))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Deserialize)]
struct PropertySeed {
    name: String,
    #[serde(rename = "type")]
    kind: PropertyKind,
}

async fn http_add_property(State(app): App, body: axum::body::Bytes) -> Response {
    let seed: PropertySeed = match parse(&body) {
        Ok(seed) => seed,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e),
    };
    match app.add_contact_property(&seed.name, seed.kind) {
        Ok(()) => json_ok(&json!({ "success": true })),
        Err(e) => refused(StatusCode::BAD_REQUEST, e.0),
    }
}

#[derive(Deserialize)]
struct SuppressionSeed {
    email: String,
}

async fn http_suppress(State(app): App, body: axum::body::Bytes) -> Response {
    let seed: SuppressionSeed = match parse(&body) {
        Ok(seed) => seed,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e),
    };
    match app.mark_suppressed(&seed.email) {
        Ok(id) => json_ok(&json!({ "success": true, "id": id })),
        Err(e) => refused(StatusCode::BAD_REQUEST, e.0),
    }
}
