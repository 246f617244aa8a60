//! Uploads: a slot (`POST /v1/uploads`), the presigned `PUT` of the bytes (served by the
//! sandbox itself, under `/_uploads/`, outside the API and its key), and the completion that
//! answers the public URL. 50 uploads per team in 24 hours by default.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::super::Inner;
use super::super::request::{ApiError, json_object, query_pairs, query_param};

type App = State<Arc<Inner>>;
type ApiResult = Result<Response, ApiError>;

/// The largest upload Loops accepts.
pub(crate) const MAX_UPLOAD_BYTES: u64 = 4_000_000;

/// The image types Loops accepts.
pub(crate) const SUPPORTED_TYPES: [&str; 4] =
    ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// An upload slot and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Upload {
    /// The asset id.
    pub email_asset_id: String,
    /// The content type the slot was made for.
    pub content_type: String,
    /// The length the slot was made for.
    pub content_length: u64,
    /// How many bytes the `PUT` delivered (`None` before it).
    pub received_bytes: Option<usize>,
    /// How many `PUT`s were refused (wrong type or length, a bad signature, an API key).
    pub refused_puts: u32,
    /// Whether a refused `PUT` carried an `Authorization` header (the API key must never
    /// go to the storage host).
    pub authorization_sent: bool,
    /// Whether it was completed.
    pub completed: bool,
    /// Its public URL, once completed.
    pub final_url: Option<String>,
    #[serde(skip)]
    pub(crate) bytes: Vec<u8>,
    #[serde(skip)]
    pub(crate) signature: String,
}

pub(super) fn routes() -> Router<Arc<Inner>> {
    Router::new()
        .route("/v1/uploads", post(create))
        .route("/v1/uploads/{id}/complete", post(complete))
}

pub(super) fn target_routes() -> Router<Arc<Inner>> {
    Router::new().route("/_uploads/{id}", put(receive).get(serve))
}

/// `http://127.0.0.1:PORT`, the sandbox's own origin.
fn origin(app: &Inner) -> &str {
    app.base_url.strip_suffix("/api").unwrap_or(&app.base_url)
}

async fn create(State(app): App, body: Bytes) -> ApiResult {
    let body = json_object(&body)?;
    let content_type = body
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let length = body
        .get("contentLength")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0);
    let Some(length) = length else {
        return Err(
            ApiError::bad_request("`contentLength` must be a positive integer.")
                .with("path", json!("contentLength")),
        );
    };
    if length > MAX_UPLOAD_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The upload exceeds the maximum allowed size.",
        )
        .with("maxBytes", json!(MAX_UPLOAD_BYTES)));
    }
    if !SUPPORTED_TYPES.contains(&content_type) {
        return Err(ApiError::bad_request("Unsupported contentType.")
            .with("supportedContentTypes", json!(SUPPORTED_TYPES)));
    }
    let mut state = app.lock();
    if !state.content.take_cap(true, Instant::now()) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "The upload limit for your team has been reached.",
        )
        .with("maxUploads", json!(state.content.upload_cap))
        .with("windowHours", json!(24)));
    }
    let id = state.new_id();
    let signature = state.new_id();
    state.content.uploads.push(Upload {
        email_asset_id: id.clone(),
        content_type: content_type.to_owned(),
        content_length: length,
        received_bytes: None,
        refused_puts: 0,
        authorization_sent: false,
        completed: false,
        final_url: None,
        bytes: Vec::new(),
        signature: signature.clone(),
    });
    let url = format!(
        "{}/_uploads/{id}?X-Sandbox-Signature={signature}",
        origin(&app)
    );
    Ok(axum::Json(json!({ "emailAssetId": id, "presignedUrl": url })).into_response())
}

async fn complete(State(app): App, Path(id): Path<String>) -> ApiResult {
    let origin = origin(&app).to_owned();
    let mut state = app.lock();
    let upload = state
        .content
        .uploads
        .iter_mut()
        .find(|u| u.email_asset_id == id)
        .ok_or_else(|| ApiError::not_found("Upload not found."))?;
    if upload.received_bytes.is_none() {
        return Err(ApiError::new(
            StatusCode::TOO_EARLY,
            "Uploaded object not yet visible in storage. Retry shortly.",
        ));
    }
    let url = format!("{origin}/_uploads/{id}");
    upload.completed = true;
    upload.final_url = Some(url.clone());
    Ok(axum::Json(json!({ "emailAssetId": id, "finalUrl": url })).into_response())
}

/// A storage host's refusal: plain text, as the sandbox's stand-in for an XML error.
fn storage_error(status: StatusCode, code: &str) -> Response {
    (status, format!("{code}\n")).into_response()
}

/// The presigned `PUT`: the signature in the query is the only credential, and the type and
/// length must be the ones the slot was made for (a storage host signs both).
async fn receive(
    State(app): App,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = app.lock();
    let Some(upload) = state
        .content
        .uploads
        .iter_mut()
        .find(|u| u.email_asset_id == id)
    else {
        return storage_error(StatusCode::NOT_FOUND, "NoSuchUpload");
    };
    let pairs = query_pairs(query.as_deref());
    let refusal = if query_param(&pairs, "X-Sandbox-Signature") != Some(upload.signature.as_str()) {
        Some((StatusCode::FORBIDDEN, "SignatureDoesNotMatch"))
    } else if headers.contains_key(header::AUTHORIZATION) {
        upload.authorization_sent = true;
        Some((
            StatusCode::BAD_REQUEST,
            "InvalidArgument: only one auth mechanism allowed",
        ))
    } else if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some(upload.content_type.as_str())
    {
        Some((StatusCode::FORBIDDEN, "SignatureDoesNotMatch: Content-Type"))
    } else if headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        != Some(upload.content_length.to_string().as_str())
        || body.len() as u64 != upload.content_length
    {
        Some((
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch: Content-Length",
        ))
    } else {
        None
    };
    if let Some((status, code)) = refusal {
        upload.refused_puts += 1;
        return storage_error(status, code);
    }
    upload.received_bytes = Some(body.len());
    upload.bytes = body.to_vec();
    StatusCode::OK.into_response()
}

/// The public URL of a completed upload.
async fn serve(State(app): App, Path(id): Path<String>) -> Response {
    let state = app.lock();
    match state
        .content
        .uploads
        .iter()
        .find(|u| u.email_asset_id == id && u.completed)
    {
        Some(upload) => (
            [(header::CONTENT_TYPE, upload.content_type.clone())],
            upload.bytes.clone(),
        )
            .into_response(),
        None => storage_error(StatusCode::NOT_FOUND, "NoSuchKey"),
    }
}
