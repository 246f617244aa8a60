//! The crate's error type.
//!
//! Every failure of an API call is one [`Error`] variant, decided from the HTTP status and the
//! parsed body, never from message text. Bodies are kept (as [`RawBody`]) for diagnosis, but
//! their `Debug` shows only their length, so errors can be logged without leaking personal data.
//! Tokens and client secrets never reach an error.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::serde_util;

/// A shorthand for `Result<T, kommo_client::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A response body kept for diagnosis.
///
/// Its `Debug` prints only the length: bodies can hold contact data. Use [`RawBody::as_str`] to
/// read it deliberately.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RawBody(String);

impl RawBody {
    /// The largest body kept; longer bodies are cut at a character boundary.
    pub const MAX_LEN: usize = 64 * 1024;

    /// Keeps `bytes` (lossily decoded as UTF-8, cut at [`RawBody::MAX_LEN`]).
    #[must_use]
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let cut = &bytes[..bytes.len().min(Self::MAX_LEN)];
        Self(String::from_utf8_lossy(cut).into_owned())
    }

    /// The body text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the body is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the body looks like an HTML page (a proxy or block page rather than API JSON).
    #[must_use]
    pub fn looks_like_html(&self) -> bool {
        let head = self.0.trim_start();
        let head = &head[..head.len().min(64)];
        let lower = head.to_ascii_lowercase();
        lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.starts_with('<')
    }
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawBody({} bytes)", self.0.len())
    }
}

/// One field error inside a 400 `validation-errors` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldError {
    /// The machine-readable code, e.g. `NotSupportedChoice`.
    #[serde(default)]
    pub code: String,
    /// The offending field path, e.g. `custom_fields_values.0.field_id`.
    #[serde(default)]
    pub path: String,
    /// A human-readable explanation.
    #[serde(default)]
    pub detail: String,
}

/// The field errors of one entity of a batch, tied back to it by `request_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ValidationErrors {
    /// The `request_id` of the batch item (the API uses the item's index unless you set one).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub request_id: Option<String>,
    /// The field errors.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub errors: Vec<FieldError>,
}

/// A parsed `application/problem+json` error body (plus what the status line and headers said).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ApiProblem {
    /// The HTTP status.
    pub status: u16,
    /// `title`, e.g. `Bad Request`.
    pub title: Option<String>,
    /// `type`, a URI naming the problem type.
    pub problem_type: Option<String>,
    /// `detail`.
    pub detail: Option<String>,
    /// `hint` (OAuth errors), e.g. `Token has been revoked`.
    pub hint: Option<String>,
    /// `trace_id` (500 errors).
    pub trace_id: Option<String>,
    /// The `X-Request-Id` response header, useful for support tickets.
    pub request_id: Option<String>,
    /// The body, kept as received. For non-JSON bodies (HTML block pages, proxy errors) this is
    /// the only information there is.
    pub body: RawBody,
    /// Whether the body was a JSON object.
    pub is_json: bool,
    /// Any other JSON members of the body (`validation-errors`, `retry_after`, ...).
    pub extra: serde_json::Map<String, Value>,
}

impl ApiProblem {
    /// Builds a problem from a status, an optional `X-Request-Id` and the raw body.
    #[must_use]
    pub fn from_response(status: u16, request_id: Option<String>, body: &[u8]) -> Self {
        let mut problem = ApiProblem {
            status,
            request_id,
            body: RawBody::from_bytes(body),
            ..ApiProblem::default()
        };
        if let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) {
            problem.is_json = true;
            let mut take = |key: &str| match map.remove(key) {
                Some(Value::String(s)) => Some(s),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(other) if !other.is_null() => Some(other.to_string()),
                _ => None,
            };
            problem.title = take("title");
            problem.problem_type = take("type");
            problem.detail = take("detail");
            problem.hint = take("hint");
            problem.trace_id = take("trace_id");
            map.remove("status");
            problem.extra = map;
        }
        problem
    }

    /// The `retry_after` member of a 429 body, in seconds.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.extra
            .get("retry_after")
            .and_then(serde_util::value_to_f64)
            .filter(|s| *s >= 0.0 && *s < 1.0e9)
            .map(Duration::from_secs_f64)
    }

    /// The `validation-errors` member of a 400 body.
    #[must_use]
    pub fn validation_errors(&self) -> Option<Vec<ValidationErrors>> {
        let value = self.extra.get("validation-errors")?;
        serde_json::from_value(value.clone()).ok()
    }

    /// Whether the body was `problem+json`-shaped (a JSON object with a `title` or `type`).
    #[must_use]
    pub fn is_problem_json(&self) -> bool {
        self.is_json && (self.title.is_some() || self.problem_type.is_some())
    }
}

impl fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(title) = &self.title {
            write!(f, " {title}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        if !self.is_json && !self.body.is_empty() {
            write!(f, " (non-JSON body, {} bytes)", self.body.as_str().len())?;
        }
        Ok(())
    }
}

/// What kind of transport failure happened; drives the retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established (DNS, TCP, TLS). Nothing reached the server:
    /// the only kind that guarantees the request was not sent.
    Connect,
    /// The request or response timed out. The server may have processed the request.
    Timeout,
    /// The connection broke while sending or receiving. The server may have processed it.
    ConnectionLost,
    /// The request could not be built or sent for another reason.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::ConnectionLost => "connection lost",
            TransportErrorKind::Other => "other",
        })
    }
}

/// One entity that was written before a later chunk of a batch failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BatchItemResult {
    /// The entity id.
    pub id: u64,
    /// The echoed `request_id`, if any.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub request_id: Option<String>,
    /// The entity's `updated_at` after the write, when the API returned it.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
}

/// Everything that can go wrong when talking to Kommo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 400 with `validation-errors`: the named fields were rejected.
    #[error("validation failed: {problem}")]
    Validation {
        /// The problem body.
        problem: Box<ApiProblem>,
        /// The errors, grouped by batch item (`request_id`).
        errors: Vec<ValidationErrors>,
    },
    /// 400 without `validation-errors` (e.g. "Request data can not be empty").
    #[error("bad request: {0}")]
    BadRequest(Box<ApiProblem>),
    /// 401: the access token is invalid, expired or revoked. For OAuth clients this is returned
    /// only after one refresh and one retry failed; long-lived tokens are never refreshed.
    #[error("unauthorized: {0}")]
    Unauthorized(Box<ApiProblem>),
    /// The OAuth token endpoint refused the refresh token or authorization code (the refresh
    /// token was already used, revoked or expired). The user must authorize the integration again.
    #[error("token refresh rejected: {0}")]
    TokenRevoked(Box<ApiProblem>),
    /// 402: the account's paid or trial period has ended.
    #[error("payment required: {0}")]
    PaymentRequired(Box<ApiProblem>),
    /// 403 that is not an IP block: insufficient rights (e.g. `/users` for non-admins).
    #[error("forbidden: {0}")]
    Forbidden(Box<ApiProblem>),
    /// The API blocked this client (403 on every request, usually after repeated 429s). The
    /// circuit breaker is open: no request is sent until `retry_at`, then one probe is allowed.
    #[error("Kommo API blocked this client; not calling again for {retry_after:?}")]
    Blocked {
        /// How long until the breaker lets one probe request through.
        retry_after: Duration,
        /// The wall-clock time of the same moment, for schedulers that persist it.
        retry_at: SystemTime,
        /// The 403 response that tripped the breaker, when this call received it.
        problem: Option<Box<ApiProblem>>,
    },
    /// 404.
    #[error("not found: {0}")]
    NotFound(Box<ApiProblem>),
    /// 429 after the retry budget was spent (or the wait was longer than the policy allows).
    #[error("rate limited (retry after {retry_after:?}): {problem}")]
    RateLimited {
        /// From the body's `retry_after` or the `Retry-After` header.
        retry_after: Option<Duration>,
        /// The problem body.
        problem: Box<ApiProblem>,
    },
    /// 504: the batch was too large to finish in time. Retry with a smaller batch.
    #[error("gateway timeout: {0}")]
    GatewayTimeout(Box<ApiProblem>),
    /// 5xx other than 504.
    #[error("server error: {0}")]
    Server(Box<ApiProblem>),
    /// Any other non-success status (405, 409, 422, ...).
    #[error("unexpected response: {0}")]
    Api(Box<ApiProblem>),
    /// The request failed below HTTP: no response, or a response cut off. A per-request
    /// timeout is [`TransportErrorKind::Timeout`].
    #[error("transport error ({kind}): {source}")]
    Transport {
        /// What went wrong, for retry decisions.
        kind: TransportErrorKind,
        /// The underlying error (with any URL stripped: it may carry a search for an email).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A success response whose body did not match the expected type.
    #[error("could not decode the response body: {source}")]
    Decode {
        /// The JSON error (with line and column).
        #[source]
        source: serde_json::Error,
        /// The body as received.
        body: RawBody,
    },
    /// The client's configuration is invalid (base URL, auth, batch size, rate limit, retry
    /// policy, timeouts), or the call needs a configuration the client does not have (e.g.
    /// an OAuth call on a long-lived-token client). Reported by
    /// [`ClientBuilder::build`](crate::ClientBuilder::build) before any request.
    #[error("configuration error: {0}")]
    Config(String),
    /// The request was refused before sending: nothing reached the API (a path without a
    /// leading `/`, a batch update item without an id, a body that cannot be encoded).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An OAuth client has no token yet: exchange an authorization code first.
    #[error("no OAuth token available: exchange an authorization code first")]
    MissingToken,
    /// The token store failed to load or save.
    #[error("token store error: {0}")]
    TokenStore(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A batch write failed after some chunks were already committed.
    #[error("batch failed after {} entities were written: {source}", committed.len())]
    PartialBatch {
        /// The entities written by earlier chunks, in request order.
        committed: Vec<BatchItemResult>,
        /// The error of the failing chunk.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The HTTP status behind this error, if it came from a response.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.problem().map(|p| p.status)
    }

    /// The problem body behind this error, if any.
    #[must_use]
    pub fn problem(&self) -> Option<&ApiProblem> {
        match self {
            Error::Validation { problem, .. } | Error::RateLimited { problem, .. } => Some(problem),
            Error::BadRequest(p)
            | Error::Unauthorized(p)
            | Error::TokenRevoked(p)
            | Error::PaymentRequired(p)
            | Error::Forbidden(p)
            | Error::NotFound(p)
            | Error::GatewayTimeout(p)
            | Error::Server(p)
            | Error::Api(p) => Some(p),
            Error::Blocked { problem, .. } => problem.as_deref(),
            Error::PartialBatch { source, .. } => source.problem(),
            _ => None,
        }
    }

    /// The validation errors of a 400, empty for other errors.
    #[must_use]
    pub fn validation_errors(&self) -> &[ValidationErrors] {
        match self {
            Error::Validation { errors, .. } => errors,
            Error::PartialBatch { source, .. } => source.validation_errors(),
            _ => &[],
        }
    }

    /// How long the server (or the circuit breaker) asked us to wait, if it said.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::Blocked { retry_after, .. } => Some(*retry_after),
            Error::PartialBatch { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// Whether trying the same call later may succeed (rate limits, blocks, timeouts, 5xx,
    /// transport failures). Validation, auth and not-found errors are permanent.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self.root(),
            Error::RateLimited { .. }
                | Error::Blocked { .. }
                | Error::GatewayTimeout(_)
                | Error::Server(_)
                | Error::Transport { .. }
        )
    }

    /// Whether the API answered 404. A missing entity is most often a `204` instead, which
    /// the typed calls return as `Ok(None)`.
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self.root(), Error::NotFound(_))
    }

    /// Whether the credentials were refused or are missing, so the user must authorize
    /// again: a final 401 ([`Error::Unauthorized`]), a refused refresh
    /// ([`Error::TokenRevoked`]) or no OAuth token yet ([`Error::MissingToken`]).
    #[must_use]
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self.root(),
            Error::Unauthorized(_) | Error::TokenRevoked(_) | Error::MissingToken
        )
    }

    /// Whether the request timed out on our side ([`TransportErrorKind::Timeout`]); Kommo's
    /// own 504 is [`Error::GatewayTimeout`].
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.root(),
            Error::Transport {
                kind: TransportErrorKind::Timeout,
                ..
            }
        )
    }

    /// The error that decides a [`Error::PartialBatch`]; `self` for every other error.
    fn root(&self) -> &Error {
        match self {
            Error::PartialBatch { source, .. } => source.root(),
            other => other,
        }
    }

    /// Whether this is the circuit breaker's "blocked" error.
    #[must_use]
    pub fn is_blocked(&self) -> bool {
        matches!(self, Error::Blocked { .. })
    }

    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }

    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn invalid_request(msg: impl Into<String>) -> Self {
        Error::InvalidRequest(msg.into())
    }

    /// A success answer whose body is not what the endpoint documents (an empty body where
    /// an entity was due).
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn unexpected_body(what: &str, body: &[u8]) -> Self {
        Error::Decode {
            source: <serde_json::Error as serde::de::Error>::custom(what),
            body: RawBody::from_bytes(body),
        }
    }

    /// Maps a non-success response to an error. 403 here is always `Forbidden`; the request
    /// loop turns block-shaped 403s into `Blocked` through the circuit breaker.
    #[must_use]
    pub fn from_response(
        status: u16,
        request_id: Option<String>,
        header_retry_after: Option<Duration>,
        body: &[u8],
    ) -> Self {
        let problem = ApiProblem::from_response(status, request_id, body);
        match status {
            400 => match problem.validation_errors() {
                Some(errors) => Error::Validation {
                    problem: Box::new(problem),
                    errors,
                },
                None => Error::BadRequest(Box::new(problem)),
            },
            401 => Error::Unauthorized(Box::new(problem)),
            402 => Error::PaymentRequired(Box::new(problem)),
            403 => Error::Forbidden(Box::new(problem)),
            404 => Error::NotFound(Box::new(problem)),
            429 => Error::RateLimited {
                retry_after: problem.retry_after().or(header_retry_after),
                problem: Box::new(problem),
            },
            504 => Error::GatewayTimeout(Box::new(problem)),
            500..=599 => Error::Server(Box::new(problem)),
            _ => Error::Api(Box::new(problem)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALIDATION: &str = r#"{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"custom_fields_values.0.field_id","detail":"x"}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}"#;

    #[test]
    fn status_mapping_table() {
        let cases: &[(u16, &str, &str)] = &[
            (400, VALIDATION, "Validation"),
            (400, r#"{"title":"Bad Request","status":400}"#, "BadRequest"),
            (
                401,
                r#"{"title":"Unauthorized","status":401}"#,
                "Unauthorized",
            ),
            (402, "{}", "PaymentRequired"),
            (403, "<html>blocked</html>", "Forbidden"),
            (404, "", "NotFound"),
            (405, "{}", "Api"),
            (422, "{}", "Api"),
            (429, r#"{"retry_after":300}"#, "RateLimited"),
            (500, "{}", "Server"),
            (502, "<html>bad gateway</html>", "Server"),
            (503, "", "Server"),
            (504, "", "GatewayTimeout"),
        ];
        for (status, body, want) in cases {
            let err = Error::from_response(*status, None, None, body.as_bytes());
            let name = format!("{err:?}");
            assert!(name.starts_with(want), "{status}: got {name}");
            assert_eq!(err.status(), Some(*status));
        }
    }

    #[test]
    fn validation_errors_name_the_field() {
        let err = Error::from_response(400, Some("req-1".into()), None, VALIDATION.as_bytes());
        let groups = err.validation_errors();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].request_id.as_deref(), Some("0"));
        assert_eq!(groups[0].errors[0].path, "custom_fields_values.0.field_id");
        assert_eq!(err.problem().unwrap().request_id.as_deref(), Some("req-1"));
    }

    #[test]
    fn retry_after_prefers_the_body() {
        let err = Error::from_response(
            429,
            None,
            Some(Duration::from_secs(5)),
            br#"{"retry_after":300}"#,
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));
        let err = Error::from_response(429, None, Some(Duration::from_secs(5)), b"Too many");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(5)));
        assert!(err.is_transient());
    }

    #[test]
    fn helper_table() {
        let transport = |kind| Error::Transport {
            kind,
            source: "x".into(),
        };
        let status = |code: u16| Error::from_response(code, None, None, b"{}");
        let partial = |source| Error::PartialBatch {
            committed: Vec::new(),
            source: Box::new(source),
        };
        // (error, transient, not found, unauthorized, timeout)
        let table = [
            (status(404), false, true, false, false),
            (status(401), false, false, true, false),
            (
                Error::TokenRevoked(Box::default()),
                false,
                false,
                true,
                false,
            ),
            (Error::MissingToken, false, false, true, false),
            (status(429), true, false, false, false),
            (status(500), true, false, false, false),
            (status(504), true, false, false, false),
            (status(400), false, false, false, false),
            (status(403), false, false, false, false),
            (
                transport(TransportErrorKind::Timeout),
                true,
                false,
                false,
                true,
            ),
            (
                transport(TransportErrorKind::Connect),
                true,
                false,
                false,
                false,
            ),
            (
                transport(TransportErrorKind::ConnectionLost),
                true,
                false,
                false,
                false,
            ),
            (
                transport(TransportErrorKind::Other),
                true,
                false,
                false,
                false,
            ),
            (partial(status(404)), false, true, false, false),
            (
                partial(transport(TransportErrorKind::Timeout)),
                true,
                false,
                false,
                true,
            ),
            (Error::config("x"), false, false, false, false),
            (Error::invalid_request("x"), false, false, false, false),
        ];
        for (error, transient, not_found, unauthorized, timeout) in table {
            let got = (
                error.is_transient(),
                error.is_not_found(),
                error.is_unauthorized(),
                error.is_timeout(),
            );
            assert_eq!(
                got,
                (transient, not_found, unauthorized, timeout),
                "{error:?}"
            );
        }
        assert_eq!(
            transport(TransportErrorKind::ConnectionLost).to_string(),
            "transport error (connection lost): x"
        );
    }

    #[test]
    fn raw_body_debug_hides_content() {
        let body = RawBody::from_bytes(b"user@example.com");
        assert_eq!(format!("{body:?}"), "RawBody(16 bytes)");
        assert!(RawBody::from_bytes(b"  <!DOCTYPE html><p>").looks_like_html());
        assert!(!RawBody::from_bytes(b"{}").looks_like_html());
    }
}
