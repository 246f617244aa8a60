//! What every API request goes through before and after its handler, in this order:
//!
//! 1. the added latency is drawn and waited out;
//! 2. the IP block: while blocked, **every** request gets 403 with an nginx-style HTML page
//!    (no token is checked, nothing is applied);
//! 3. the token (`Authorization: Bearer`): the long-lived token or a live OAuth access token,
//!    401 problem+json otherwise (`/oauth2/access_token` needs none);
//! 4. the account's payment state: 402 problem+json while "payment required" is on;
//! 5. the fault action is drawn; a forced 429 is answered (nothing applied);
//! 6. a token is taken from the rate-limit bucket (429 when empty; nothing applied);
//! 7. an injected 5xx is answered (a 500 problem+json, or a 502/503 HTML page; nothing applied);
//! 8. the handler runs, and for a dropped request the answer is then cut.
//!
//! Every 429 counts towards the automatic block when it is configured. Every request is
//! counted by endpoint (`METHOD /path` with numeric segments as `{id}`) and status.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::time::Instant;

use super::Inner;
use super::request::{ApiError, PROBLEM_JSON};
use crate::faults::{FaultAction, ServerErrorKind, cut_connection};
use crate::records::{InjectedFault, RequestRecord};

/// The token endpoint, which needs no bearer token.
pub(crate) const TOKEN_PATH: &str = "/oauth2/access_token";

/// The page a blocked client gets (Kommo's edge answers blocks with a bare nginx page).
const BLOCK_PAGE: &str = "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n\
<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// `GET /api/v4/leads/123/notes` → `GET /api/v4/leads/{id}/notes`.
pub(crate) fn endpoint_name(method: &str, path: &str) -> String {
    let normalized: Vec<&str> = path
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect();
    format!("{method} {}", normalized.join("/"))
}

pub(crate) async fn gate(State(app): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let endpoint = endpoint_name(request.method().as_str(), &path);

    let latency = app.faults.draw_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }

    if app.conditions().blocked {
        return finish(
            &app,
            endpoint,
            path,
            blocked_page(),
            Some(InjectedFault::Blocked),
        )
        .await;
    }
    if path != TOKEN_PATH && !app.authorized(request.headers()) {
        let response = ApiError::new(StatusCode::UNAUTHORIZED, "Invalid user name or password")
            .into_response();
        return finish(&app, endpoint, path, response, None).await;
    }
    if path != TOKEN_PATH && app.conditions().payment_required {
        let response =
            ApiError::new(StatusCode::PAYMENT_REQUIRED, "Payment required").into_response();
        return finish(
            &app,
            endpoint,
            path,
            response,
            Some(InjectedFault::PaymentRequired),
        )
        .await;
    }
    let action = app.faults.draw_action();
    let (response, fault) = if action == FaultAction::Force429 {
        (
            too_many_requests(&app, Duration::from_secs(1)),
            Some(InjectedFault::Forced429),
        )
    } else {
        match app.take_token(Instant::now()) {
            Err(retry_in) => (too_many_requests(&app, retry_in), None),
            Ok(()) => match action {
                FaultAction::ServerError(kind) => {
                    (server_error(kind), Some(InjectedFault::ServerError))
                }
                FaultAction::Drop => (next.run(request).await, Some(InjectedFault::Dropped)),
                _ => {
                    let response = next.run(request).await;
                    let fault = (response.status() == StatusCode::GATEWAY_TIMEOUT)
                        .then_some(InjectedFault::GatewayTimeout);
                    (response, fault)
                }
            },
        }
    };
    finish(&app, endpoint, path, response, fault).await
}

/// Counts the request (and a 429 towards the block), and cuts the answer of a dropped one.
async fn finish(
    app: &Inner,
    endpoint: String,
    path: String,
    mut response: Response,
    fault: Option<InjectedFault>,
) -> Response {
    let status = response.status().as_u16();
    if status == 429 {
        app.note_429(Instant::now());
    }
    app.lock().requests.record(RequestRecord {
        endpoint,
        path,
        status,
        fault,
        idempotency_key: None,
        at: SystemTime::now(),
    });
    if fault == Some(InjectedFault::Dropped) {
        response = cut_connection(response).await;
    }
    response
}

fn blocked_page() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html")],
        BLOCK_PAGE,
    )
        .into_response()
}

fn server_error(kind: ServerErrorKind) -> Response {
    let mut response = kind.response(json!({
        "title": "ErrInternalServer",
        "type": "https://httpstatus.es/500",
        "status": 500,
        "detail": "Internal server error",
        "trace_id": "sandbox-injected-fault",
    }));
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    }
    response
}

/// 429 with `retry_after` in the body (and `Retry-After` when configured).
fn too_many_requests(app: &Inner, retry_in: Duration) -> Response {
    // Whole seconds, rounded up, never 0 (which would invite an immediate retry).
    let seconds = app
        .config
        .retry_after_seconds
        .unwrap_or_else(|| retry_in.as_secs_f64().ceil().max(1.0) as u64);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "You have sent too many requests in a given amount of time. Please try again later.",
    )
    .with("retry_after", json!(seconds))
    .into_response();
    if app.config.shared.retry_after_header {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// `Authorization: Bearer <token>`, the scheme matched without regard to case.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_hide_ids() {
        assert_eq!(
            endpoint_name("GET", "/api/v4/leads/123/notes"),
            "GET /api/v4/leads/{id}/notes"
        );
        assert_eq!(endpoint_name("POST", "/api/v4/leads"), "POST /api/v4/leads");
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "bearer  tok ".parse().unwrap());
        assert_eq!(bearer(&headers), Some("tok"));
        headers.insert(header::AUTHORIZATION, "Basic tok".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
