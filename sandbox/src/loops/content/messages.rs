//! Email messages: the content of campaigns, transactional emails and workflow emails. Get,
//! update (guarded by `expectedRevisionId`), preview (capped per day), Guardian checks.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::super::Inner;
use super::super::request::{ApiError, is_valid_email, json_object};
use super::super::state::State as Store;
use super::{RecordedPreview, expected_revision, lmx};

type App = State<Arc<Inner>>;
type ApiResult = Result<Response, ApiError>;

/// The largest LMX body an update may carry ("100 KB"; 100 × 1024 bytes here).
pub(crate) const MAX_LMX_BYTES: usize = 100 * 1024;

/// Text fields an update may set.
const TEXT_FIELDS: [&str; 10] = [
    "subject",
    "previewText",
    "fromName",
    "fromEmail",
    "replyToEmail",
    "ccEmail",
    "bccEmail",
    "languageCode",
    "emailFormat",
    "lmx",
];

/// Fallback maps, merged per key.
const FALLBACKS: [&str; 3] = [
    "contactPropertiesFallbacks",
    "eventPropertiesFallbacks",
    "dataVariablesFallbacks",
];

/// What an email message belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parent {
    Campaign(String),
    Transactional(String),
    Workflow(String),
}

/// A stored email message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EmailMessage {
    pub(crate) id: String,
    pub(crate) parent: Parent,
    /// The text fields and the fallback maps, as JSON.
    pub(crate) fields: Map<String, Value>,
    pub(crate) revision: String,
    pub(crate) updated_at: String,
}

impl EmailMessage {
    pub(crate) fn new(id: String, parent: Parent, revision: String) -> Self {
        let mut fields = Map::new();
        for key in [
            "subject",
            "previewText",
            "fromName",
            "fromEmail",
            "replyToEmail",
            "lmx",
        ] {
            fields.insert(key.into(), json!(""));
        }
        fields.insert("emailFormat".into(), json!("styled"));
        for key in FALLBACKS {
            fields.insert(key.into(), json!({}));
        }
        EmailMessage {
            id,
            parent,
            fields,
            revision,
            updated_at: super::now_text(),
        }
    }

    pub(crate) fn text(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut out = self.fields.clone();
        out.insert("id".into(), json!(self.id));
        match &self.parent {
            Parent::Campaign(id) => out.insert("campaignId".into(), json!(id)),
            Parent::Transactional(id) => out.insert("transactionalId".into(), json!(id)),
            Parent::Workflow(_) => None,
        };
        out.insert("contentRevisionId".into(), json!(self.revision));
        out.insert("updatedAt".into(), json!(self.updated_at));
        Value::Object(out)
    }
}

impl Store {
    /// A new, empty email message for `parent`.
    pub(crate) fn create_message(&mut self, parent: Parent) -> (String, String) {
        let id = self.new_id();
        let revision = self.new_id();
        self.content
            .messages
            .push(EmailMessage::new(id.clone(), parent, revision.clone()));
        (id, revision)
    }

    pub(crate) fn message(&self, id: &str) -> Result<&EmailMessage, ApiError> {
        self.content
            .messages
            .iter()
            .find(|m| m.id == id)
            .ok_or_else(|| ApiError::not_found("Email message not found."))
    }

    pub(crate) fn message_mut(&mut self, id: &str) -> Result<&mut EmailMessage, ApiError> {
        self.content
            .messages
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or_else(|| ApiError::not_found("Email message not found."))
    }

    /// Whether a `componentId` names a component.
    pub(crate) fn component_exists(&self, id: &str) -> bool {
        self.content
            .components
            .iter()
            .any(|c| super::id_of(c) == id)
    }
}

pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route(
            "/v1/email-messages/{id}",
            get(get_message).post(update_message),
        )
        .route("/v1/email-messages/{id}/preview", post(preview))
        .route("/v1/email-messages/{id}/guardian", get(guardian))
}

async fn get_message(State(app): App, Path(id): Path<String>) -> ApiResult {
    Ok(axum::Json(app.lock().message(&id)?.to_json()).into_response())
}

/// The 409 Loops answers for a stale revision: the message names the revision, no field
/// does (as in the official SDKs' tests).
pub(super) fn stale(what: &str, current: Option<&str>) -> ApiError {
    ApiError::conflict(format!(
        "{what} mismatch. Latest {what} is {}. Refetch and retry.",
        current.unwrap_or("null")
    ))
}

async fn update_message(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let expected = expected_revision(&body, false)?;
    let mut state = app.lock();
    let message = state.message(&id)?;
    if let Some(expected) = &expected
        && expected.as_deref() != Some(message.revision.as_str())
    {
        return Err(stale("contentRevisionId", Some(&message.revision)));
    }
    if let Parent::Campaign(campaign) = &message.parent
        && super::campaigns::campaign_status(&state, campaign) != "Draft"
    {
        return Err(ApiError::conflict("The campaign is not in draft status."));
    }
    let changes = read_changes(&body)?;
    let lmx_checked = match changes.get("lmx").and_then(Value::as_str) {
        Some(lmx) => {
            if lmx.len() > MAX_LMX_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "LMX payload exceeds the 100KB limit.",
                ));
            }
            let checked = lmx::check(lmx, |c| state.component_exists(c));
            if !checked.errors.is_empty() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "LMX failed to compile.",
                )
                .with("errors", Value::Array(checked.errors))
                .with("warnings", Value::Array(checked.warnings)));
            }
            checked.warnings
        }
        None => Vec::new(),
    };
    let revision = state.new_id();
    let message = state.message_mut(&id)?;
    for (key, value) in changes {
        match (FALLBACKS.contains(&key.as_str()), value) {
            (true, Value::Object(merge)) => {
                let Some(Value::Object(map)) = message.fields.get_mut(&key) else {
                    continue;
                };
                for (name, fallback) in merge {
                    match fallback {
                        Value::Null => map.remove(&name),
                        other => map.insert(name, other),
                    };
                }
            }
            (_, value) => {
                message.fields.insert(key, value);
            }
        }
    }
    message.revision = revision;
    message.updated_at = super::now_text();
    let mut answer = message.to_json();
    if !lmx_checked.is_empty() {
        answer["warnings"] = Value::Array(lmx_checked);
    }
    Ok(axum::Json(answer).into_response())
}

/// The fields an update sets, checked: known keys only, strings where strings go, fallback
/// maps of strings or `null`.
fn read_changes(body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut changes = Map::new();
    for (key, value) in body {
        if key == "expectedRevisionId" {
            continue;
        }
        let field =
            |message: &str| ApiError::bad_request(message.to_owned()).with("path", json!(key));
        if TEXT_FIELDS.contains(&key.as_str()) {
            let Some(text) = value.as_str() else {
                return Err(field(&format!("`{key}` must be a string.")));
            };
            match key.as_str() {
                "emailFormat" if !matches!(text, "styled" | "plain") => {
                    return Err(field("`emailFormat` must be \"styled\" or \"plain\"."));
                }
                "fromEmail" if text.contains('@') => {
                    return Err(field(
                        "`fromEmail` is the username only, without `@` or a domain.",
                    ));
                }
                "replyToEmail" | "ccEmail" | "bccEmail"
                    if !text.is_empty() && !is_valid_email(text) =>
                {
                    return Err(field(&format!(
                        "`{key}` must be empty or a valid email address."
                    )));
                }
                _ => {}
            }
        } else if FALLBACKS.contains(&key.as_str()) {
            let valid = value
                .as_object()
                .is_some_and(|map| map.values().all(|v| v.is_string() || v.is_null()));
            if !valid {
                return Err(field(&format!(
                    "`{key}` must map names to strings or null."
                )));
            }
        } else {
            return Err(field(&format!(
                "`{key}` is not a field of an email message."
            )));
        }
        changes.insert(key.clone(), value.clone());
    }
    Ok(changes)
}

async fn preview(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let emails: Vec<String> = match body.get("emails") {
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .map(|v| v.as_str().filter(|e| is_valid_email(e)).map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                ApiError::bad_request("`emails` must be valid email addresses.")
                    .with("path", json!("emails"))
            })?,
        _ => {
            return Err(
                ApiError::bad_request("`emails` must list one or more addresses.")
                    .with("path", json!("emails")),
            );
        }
    };
    let mut state = app.lock();
    let allowed: &[&str] = match &state.message(&id)?.parent {
        Parent::Campaign(_) => &["contactProperties"],
        Parent::Workflow(_) => &["contactProperties", "eventProperties"],
        Parent::Transactional(_) => &["dataVariables"],
    };
    let mut variables = Map::new();
    for key in ["contactProperties", "eventProperties", "dataVariables"] {
        let Some(value) = body.get(key) else { continue };
        if !allowed.contains(&key) {
            return Err(
                ApiError::bad_request(format!("`{key}` cannot be used by this email."))
                    .with("path", json!(key)),
            );
        }
        variables.insert(key.to_owned(), value.clone());
    }
    if !state.content.take_cap(false, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "The daily preview limit for your team has been reached.",
        ));
    }
    state.content.previews.push(RecordedPreview {
        email_message_id: id.clone(),
        emails,
        variables,
        at: std::time::SystemTime::now(),
    });
    Ok(axum::Json(json!({ "id": id })).into_response())
}

fn rule(name: &str, title: &str, labels: &[String]) -> Value {
    let items: Vec<Value> = labels
        .iter()
        .map(|l| json!({ "label": l, "codeName": l }))
        .collect();
    json!({ "rule": name, "title": title, "description": title, "items": items })
}

async fn guardian(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    let message = state.message(&id)?;
    let checked = lmx::check(message.text("lmx"), |c| state.component_exists(c));
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let (contact_ok, event_ok, data_ok) = match message.parent {
        Parent::Campaign(_) => (true, false, false),
        Parent::Workflow(_) => (true, true, false),
        Parent::Transactional(_) => (false, false, true),
    };
    for (ok, used, name, title) in [
        (
            contact_ok,
            &checked.contact,
            "unsupportedContactProperties",
            "Contact properties cannot be used here",
        ),
        (
            event_ok,
            &checked.event,
            "unsupportedEventProperties",
            "Event properties cannot be used here",
        ),
        (
            data_ok,
            &checked.data,
            "unsupportedDataVariables",
            "Data variables cannot be used here",
        ),
    ] {
        if !ok && !used.is_empty() {
            errors.push(rule(name, title, used));
        }
    }
    for (used, map, name, title) in [
        (
            &checked.contact,
            "contactPropertiesFallbacks",
            "missingFallbackContactProperties",
            "Contact properties without a fallback",
        ),
        (
            &checked.event,
            "eventPropertiesFallbacks",
            "missingFallbackEventProperties",
            "Event properties without a fallback",
        ),
    ] {
        let fallbacks = message.fields.get(map).and_then(Value::as_object);
        let missing: Vec<String> = used
            .iter()
            .filter(|k| fallbacks.is_none_or(|f| !f.contains_key(k.as_str())))
            .cloned()
            .collect();
        if !missing.is_empty() {
            warnings.push(rule(name, title, &missing));
        }
    }
    if checked.buttons_without_href > 0 {
        errors.push(rule(
            "missingButtonHrefs",
            "Buttons without a link",
            &["Button".to_owned()],
        ));
    }
    Ok(axum::Json(json!({ "errors": errors, "warnings": warnings })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_checked() {
        let ok = json!({"expectedRevisionId": "r", "subject": "Hi", "emailFormat": "plain",
            "contactPropertiesFallbacks": {"firstName": "there", "old": null}});
        assert_eq!(read_changes(ok.as_object().unwrap()).unwrap().len(), 3);
        for bad in [
            json!({"subject": 3}),
            json!({"emailFormat": "fancy"}),
            json!({"fromEmail": "hello@acme.com"}),
            json!({"replyToEmail": "nope"}),
            json!({"dataVariablesFallbacks": {"a": 1}}),
            json!({"html": "<p>"}),
        ] {
            assert!(read_changes(bad.as_object().unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_answer_in_the_documented_shape() {
        let message = EmailMessage::new(
            "em1".into(),
            Parent::Transactional("tx1".into()),
            "rev1".into(),
        );
        let json = message.to_json();
        assert_eq!(json["transactionalId"], "tx1");
        assert!(json.get("campaignId").is_none());
        assert_eq!(json["contentRevisionId"], "rev1");
        assert_eq!(json["emailFormat"], "styled");
        assert_eq!(json["dataVariablesFallbacks"], json!({}));
    }
}
