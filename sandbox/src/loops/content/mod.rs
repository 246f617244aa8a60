//! The content and workflow APIs: campaigns, groups, segments, email messages, themes,
//! components, uploads, event patterns, transactional-email management and workflows.
//!
//! Everything lives in [`ContentState`], inside the one store, so a request is applied
//! atomically like every other. Email messages and workflows carry revision ids that change
//! on every write; a write with a stale `expectedRevisionId` is refused with 409 and changes
//! nothing. Loops enables the content API and the workflow API per team: each can be switched
//! off (`Config::content_api`, `Config::workflow_api`, `Sandbox::set_api_enabled`), and its
//! endpoints then answer 401 with the key accepted elsewhere.

mod campaigns;
mod graph;
mod inspect;
mod library;
mod lmx;
mod messages;
mod uploads;
mod workflows;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::http::Method;
use loops_client::endpoint::GatedApi;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Inner;
use super::config::Config;
use super::request::{ApiError, query_pairs, query_param};

pub(crate) use graph::Workflow;
pub(crate) use messages::{EmailMessage, Parent};
pub use uploads::Upload;

/// A stored JSON object with `id`, `createdAt` and `updatedAt`: groups, segments, themes,
/// components, event patterns, campaigns.
pub(crate) type Record = Map<String, Value>;

/// How long the daily caps (uploads, previews) look back.
pub(crate) const CAP_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// A preview the sandbox "sent" (nothing is delivered).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecordedPreview {
    /// The email message previewed.
    pub email_message_id: String,
    /// The addresses it went to.
    pub emails: Vec<String>,
    /// The variables sent with it (`contactProperties`, `eventProperties`, `dataVariables`).
    pub variables: Map<String, Value>,
    /// When it was received.
    #[serde(serialize_with = "crate::time::serialize_rfc3339")]
    pub at: SystemTime,
}

/// The content and workflow state of one sandbox.
#[derive(Debug)]
pub(crate) struct ContentState {
    pub(crate) content_api: bool,
    pub(crate) workflow_api: bool,
    pub(crate) upload_cap: u32,
    pub(crate) preview_cap: u32,
    pub(crate) campaign_groups: Vec<Record>,
    pub(crate) transactional_groups: Vec<Record>,
    pub(crate) segments: Vec<Record>,
    pub(crate) themes: Vec<Record>,
    pub(crate) components: Vec<Record>,
    pub(crate) event_patterns: Vec<Record>,
    pub(crate) campaigns: Vec<Record>,
    pub(crate) messages: Vec<EmailMessage>,
    pub(crate) uploads: Vec<Upload>,
    pub(crate) previews: Vec<RecordedPreview>,
    pub(crate) workflows: Vec<Workflow>,
    upload_times: VecDeque<Instant>,
    preview_times: VecDeque<Instant>,
}

impl ContentState {
    pub(crate) fn new(config: &Config) -> Self {
        ContentState {
            content_api: config.content.content_api,
            workflow_api: config.content.workflow_api,
            upload_cap: config.content.upload_cap,
            preview_cap: config.content.preview_cap,
            campaign_groups: Vec::new(),
            transactional_groups: Vec::new(),
            segments: Vec::new(),
            themes: Vec::new(),
            components: Vec::new(),
            event_patterns: Vec::new(),
            campaigns: Vec::new(),
            messages: Vec::new(),
            uploads: Vec::new(),
            previews: Vec::new(),
            workflows: Vec::new(),
            upload_times: VecDeque::new(),
            preview_times: VecDeque::new(),
        }
    }

    /// Whether a gated API is on.
    pub(crate) fn enabled(&self, api: GatedApi) -> bool {
        match api {
            GatedApi::Workflows => self.workflow_api,
            _ => self.content_api,
        }
    }

    /// Counts one use against a rolling 24-hour cap; `false` when the cap is reached.
    pub(crate) fn take_cap(&mut self, uploads: bool, now: Instant) -> bool {
        let (times, cap) = if uploads {
            (&mut self.upload_times, self.upload_cap)
        } else {
            (&mut self.preview_times, self.preview_cap)
        };
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= CAP_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= cap as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// Which gated API a request belongs to, by method and path (`GET /v1/transactional-emails`
/// is the core list, open to every key; the rest of that path is content management).
pub(crate) fn gated_api(method: &Method, path: &str) -> Option<GatedApi> {
    let path = path.strip_prefix("/api").unwrap_or(path);
    let content_prefixes = [
        "/v1/campaigns",
        "/v1/campaign-groups",
        "/v1/transactional-groups",
        "/v1/audience-segments",
        "/v1/email-messages",
        "/v1/themes",
        "/v1/components",
        "/v1/uploads",
    ];
    let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
    if under("/v1/workflows") || under("/v1/event-patterns") {
        Some(GatedApi::Workflows)
    } else if content_prefixes.iter().any(|p| under(p))
        || path.starts_with("/v1/transactional-emails/")
        || (path == "/v1/transactional-emails" && method != Method::GET)
    {
        Some(GatedApi::Content)
    } else {
        None
    }
}

/// The 401 of an API that is not enabled for the team.
pub(crate) fn not_enabled(api: GatedApi) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        format!("The {api} is not enabled for your team."),
    )
}

/// Every content and workflow route, to be merged into the API router.
pub(crate) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .merge(library::routes())
        .merge(campaigns::routes())
        .merge(messages::routes())
        .merge(uploads::routes())
        .merge(workflows::routes())
}

/// The inspection routes of the content and workflow APIs, under `/_sandbox`.
pub(crate) fn inspect_routes() -> Router<Arc<Inner>> {
    inspect::routes()
}

/// The upload targets, outside `/api` and the gate: presigned `PUT`s and the public URLs.
pub(crate) fn upload_routes() -> Router<Arc<Inner>> {
    uploads::target_routes()
}

/// Now, as Loops writes timestamps.
pub(crate) fn now_text() -> String {
    crate::time::rfc3339(SystemTime::now())
}

/// A new record with `id`, `createdAt` and `updatedAt`.
pub(crate) fn new_record(id: String) -> Record {
    let now = now_text();
    let mut record = Record::new();
    record.insert("id".into(), json!(id));
    record.insert("createdAt".into(), json!(now));
    record.insert("updatedAt".into(), json!(now));
    record
}

/// Sets `updatedAt` to now.
pub(crate) fn touch(record: &mut Record) {
    record.insert("updatedAt".into(), json!(now_text()));
}

/// The `id` of a record.
pub(crate) fn id_of(record: &Record) -> &str {
    record.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// A record by id, or 404 with `what` in the message.
pub(crate) fn find<'a>(
    records: &'a [Record],
    id: &str,
    what: &str,
) -> Result<&'a Record, ApiError> {
    records
        .iter()
        .find(|r| id_of(r) == id)
        .ok_or_else(|| ApiError::not_found(format!("{what} not found.")))
}

/// The same, to change it.
pub(crate) fn find_mut<'a>(
    records: &'a mut [Record],
    id: &str,
    what: &str,
) -> Result<&'a mut Record, ApiError> {
    records
        .iter_mut()
        .find(|r| id_of(r) == id)
        .ok_or_else(|| ApiError::not_found(format!("{what} not found.")))
}

/// One page of a list, newest first: `perPage` 10 to 50 (default 20); the cursor is the id of
/// the first item of the next page. `items` are oldest first, as they are stored.
pub(crate) fn page(
    items: Vec<Value>,
    query: Option<&str>,
    base_url: &str,
    path: &str,
) -> Result<Value, ApiError> {
    let pairs = query_pairs(query);
    let per_page = match query_param(&pairs, "perPage") {
        None | Some("") => 20,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (10..=50).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "perPage must be a number between 10 and 50.",
                ));
            }
        },
    };
    let items: Vec<Value> = items.into_iter().rev().collect();
    let start = match query_param(&pairs, "cursor").filter(|c| !c.is_empty()) {
        None => 0,
        Some(cursor) => items
            .iter()
            .position(|item| item.get("id").and_then(Value::as_str) == Some(cursor))
            .ok_or_else(|| ApiError::bad_request("Invalid cursor."))?,
    };
    let next_cursor = items
        .get(start + per_page)
        .and_then(|item| item.get("id"))
        .cloned();
    let next_page = next_cursor
        .as_ref()
        .and_then(Value::as_str)
        .map(|cursor| format!("{base_url}{path}?cursor={cursor}&perPage={per_page}"));
    let total = items.len();
    let data: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    Ok(json!({
        "pagination": {
            "totalResults": total,
            "returnedResults": data.len(),
            "perPage": per_page,
            "totalPages": total.div_ceil(per_page),
            "nextCursor": next_cursor,
            "nextPage": next_page,
        },
        "data": data,
    }))
}

/// An optional string field that may be `null` (`Some(None)`); absent is `None`.
pub(crate) fn nullable_string(
    body: &Map<String, Value>,
    key: &str,
) -> Result<Option<Option<String>>, ApiError> {
    match body.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(
            ApiError::bad_request(format!("`{key}` must be a string or null."))
                .with("path", json!(key)),
        ),
    }
}

/// The `expectedRevisionId` of a body: required (the key must be present; `null` allowed)
/// when `required`, otherwise `None` when absent.
pub(crate) fn expected_revision(
    body: &Map<String, Value>,
    required: bool,
) -> Result<Option<Option<String>>, ApiError> {
    match nullable_string(body, "expectedRevisionId")? {
        None if required => Err(ApiError::bad_request("expectedRevisionId is required.")
            .with("path", json!("expectedRevisionId"))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gates_by_path() {
        let table = [
            (Method::GET, "/api/v1/transactional-emails", None),
            (
                Method::POST,
                "/api/v1/transactional-emails",
                Some(GatedApi::Content),
            ),
            (
                Method::GET,
                "/api/v1/transactional-emails/t1",
                Some(GatedApi::Content),
            ),
            (Method::GET, "/api/v1/themes", Some(GatedApi::Content)),
            (
                Method::POST,
                "/api/v1/uploads/u1/complete",
                Some(GatedApi::Content),
            ),
            (
                Method::DELETE,
                "/api/v1/workflows/w1",
                Some(GatedApi::Workflows),
            ),
            (
                Method::GET,
                "/api/v1/event-patterns/by-name/x",
                Some(GatedApi::Workflows),
            ),
            (Method::POST, "/api/v1/events/send", None),
            (Method::GET, "/api/v1/themesx", None),
            (Method::GET, "/api/v1/contacts/find", None),
        ];
        for (method, path, expected) in table {
            assert_eq!(gated_api(&method, path), expected, "{method} {path}");
        }
    }

    #[test]
    fn pages_walk_newest_first() {
        let items: Vec<Value> = (0..25).map(|i| json!({ "id": format!("i{i}") })).collect();
        let first = page(
            items.clone(),
            Some("perPage=10"),
            "http://x/api",
            "/v1/themes",
        )
        .unwrap();
        assert_eq!(first["data"][0]["id"], "i24");
        assert_eq!(first["pagination"]["nextCursor"], "i14");
        let last = page(
            items.clone(),
            Some("perPage=10&cursor=i4"),
            "http://x/api",
            "/v1/themes",
        )
        .unwrap();
        assert_eq!(last["data"].as_array().unwrap().len(), 5);
        assert_eq!(last["pagination"]["nextCursor"], Value::Null);
        assert!(page(items.clone(), Some("perPage=9"), "", "").is_err());
        assert!(page(items, Some("cursor=nope"), "", "").is_err());
    }

    #[test]
    fn caps_roll_over() {
        let mut state = ContentState::new(&Config::default());
        state.upload_cap = 2;
        let t0 = Instant::now();
        assert!(state.take_cap(true, t0));
        assert!(state.take_cap(true, t0));
        assert!(!state.take_cap(true, t0 + Duration::from_secs(60)));
        assert!(state.take_cap(false, t0), "previews have their own cap");
        assert!(state.take_cap(true, t0 + CAP_WINDOW));
    }
}
