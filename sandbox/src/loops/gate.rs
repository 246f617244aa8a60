//! What every API request goes through before and after its handler, in this order:
//!
//! 1. the added latency is drawn and waited out;
//! 2. the API key is checked (401 otherwise; a refused key uses no rate-limit token and
//!    draws no other fault), then whether the content or workflow API the path belongs to is
//!    enabled (401 otherwise, likewise);
//! 3. the fault action is drawn; a forced 429 is answered (no token used, nothing applied);
//! 4. a token is taken from the bucket (429 when empty; nothing applied);
//! 5. an injected 5xx is answered (a token was used, nothing applied);
//! 6. the handler runs, and for a dropped request the answer is then cut.
//!
//! Every answer carries `x-ratelimit-limit` and `x-ratelimit-remaining` (unless the rate limit is
//! off), and every request is counted by endpoint and status.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::time::Instant;

use super::Inner;
use crate::faults::{FaultAction, cut_connection};
use crate::records::{InjectedFault, RequestRecord};

pub(crate) async fn gate(State(app): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let endpoint = format!("{} {path}", request.method());
    let idempotency_key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let latency = app.faults.draw_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    let now = Instant::now();
    if !authorized(request.headers(), &app.config.api_key) {
        let remaining = app.rate_remaining(now);
        return finish(
            &app,
            (endpoint, path),
            idempotency_key,
            unauthorized(),
            None,
            remaining,
        )
        .await;
    }
    // A content or workflow API the team does not have: 401 with the key accepted elsewhere.
    if let Some(api) = super::content::gated_api(request.method(), &path)
        && !app.lock().content.enabled(api)
    {
        let remaining = app.rate_remaining(now);
        let refusal = super::content::not_enabled(api).into_response();
        return finish(
            &app,
            (endpoint, path),
            idempotency_key,
            refusal,
            None,
            remaining,
        )
        .await;
    }
    // Drawn only now, so a refused key does not use up a one-shot fault meant for a real call.
    let action = app.faults.draw_action();
    let (response, fault, remaining) = if action == FaultAction::Force429 {
        (
            too_many_requests(&app, Duration::from_secs(1)),
            Some(InjectedFault::Forced429),
            Some(0),
        )
    } else {
        match app.take_token(now) {
            Err(retry_in) => (too_many_requests(&app, retry_in), None, Some(0)),
            Ok(remaining) => match action {
                FaultAction::ServerError(kind) => (
                    kind.response(json!({ "success": false, "message": "Internal server error" })),
                    Some(InjectedFault::ServerError),
                    remaining,
                ),
                FaultAction::Drop => (
                    next.run(request).await,
                    Some(InjectedFault::Dropped),
                    remaining,
                ),
                _ => (next.run(request).await, None, remaining),
            },
        }
    };
    finish(
        &app,
        (endpoint, path),
        idempotency_key,
        response,
        fault,
        remaining,
    )
    .await
}

/// Adds the rate-limit headers, counts the request, and cuts the answer of a dropped one.
async fn finish(
    app: &Inner,
    (endpoint, path): (String, String),
    idempotency_key: Option<String>,
    mut response: Response,
    fault: Option<InjectedFault>,
    remaining: Option<u32>,
) -> Response {
    if let (Some(limit), Some(remaining)) = (app.rate_limit(), remaining) {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    }

    app.lock().record_request(RequestRecord {
        endpoint,
        path,
        status: response.status().as_u16(),
        fault,
        idempotency_key,
        at: SystemTime::now(),
    });

    if fault == Some(InjectedFault::Dropped) {
        response = cut_connection(response).await;
    }
    response
}

/// `Authorization: Bearer <key>`, the scheme matched without regard to case.
fn authorized(headers: &HeaderMap, key: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && token.trim() == key)
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({
            "success": false,
            "message": "Invalid API key",
            "error": "Invalid API key",
        })),
    )
        .into_response()
}

fn too_many_requests(app: &Inner, retry_in: Duration) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({ "success": false, "message": "Rate limit exceeded" })),
    )
        .into_response();
    if app.config.shared.retry_after_header {
        // Whole seconds, rounded up, and never 0 (which would invite an immediate retry).
        let secs = retry_in.as_secs_f64().ceil().max(1.0) as u64;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        assert!(!authorized(&headers, "k"));
        for (value, ok) in [
            ("Bearer k", true),
            ("bearer k", true),
            ("Bearer x", false),
            ("k", false),
            ("Basic k", false),
        ] {
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(authorized(&headers, "k"), ok, "{value}");
        }
    }
}
