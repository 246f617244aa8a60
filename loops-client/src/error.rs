//! The error type, and how failed responses are classified.
//!
//! Classification uses the endpoint and the status code only. Loops has reworded its
//! messages before (the 409 on create, in 2026), so message text is shown, never matched.

use std::fmt;
use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::idempotency::IdempotencyKey;
use crate::rate_limit::RateLimitInfo;
use crate::validate::ValidationError;

/// Raw bodies kept in errors are cut to this many bytes.
const MAX_KEPT_BODY: usize = 4096;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Loops.
///
/// Secrets never appear here: the API key is not part of any variant, and transport errors
/// have their URL removed (query strings can hold email addresses).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request was refused before sending; nothing reached Loops.
    #[error("invalid request: {0}")]
    InvalidRequest(#[from] ValidationError),

    /// Loops answered with an error status.
    #[error("Loops returned {status} for {endpoint}: {body}")]
    Api {
        /// The HTTP status code.
        status: u16,
        /// The endpoint called.
        endpoint: Endpoint,
        /// The parsed error body.
        body: Box<ApiErrorBody>,
    },

    /// Loops refused the request because of its rate limit, after all retries.
    #[error("rate limited by Loops (limit {}, remaining {}, retry after {})",
        opt(.limit), opt(.remaining), .retry_after.map_or("unknown".to_owned(), |d| format!("{d:?}")))]
    RateLimited {
        /// `x-ratelimit-limit`, requests per second.
        limit: Option<u32>,
        /// `x-ratelimit-remaining`.
        remaining: Option<u32>,
        /// `Retry-After`, when Loops sent one.
        retry_after: Option<Duration>,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `409` on create: a contact with this email or userId already exists.
    /// Use [`ContactsApi::update`](crate::contacts::ContactsApi::update), which creates or
    /// updates.
    #[error("a contact with this email or userId already exists in Loops: {body}")]
    AlreadyExists {
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `409` on a send: this idempotency key was already used in the last 24 hours, so Loops
    /// already accepted this send. Not a failure when the key was reused on purpose (a
    /// redelivered trigger): treat it as done.
    #[error(
        "already done: Loops has already accepted a request with idempotency key {idempotency_key}"
    )]
    AlreadyDone {
        /// The key that was repeated.
        idempotency_key: IdempotencyKey,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// The request could not be delivered or its answer not read, after all retries.
    ///
    /// Only [`TransportErrorKind::Connect`] guarantees that nothing reached Loops; after the
    /// other kinds Loops may have acted on the request.
    #[error("{kind}: {source}")]
    Transport {
        /// What kind of failure.
        kind: TransportErrorKind,
        /// The underlying error (its URL removed). For a per-attempt timeout it says how long
        /// the client waited.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A success response whose body did not have the documented shape.
    #[error("could not decode the {endpoint} response ({status}): {message}")]
    Decode {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The HTTP status code.
        status: u16,
        /// What did not match.
        message: String,
        /// The body as received (cut to 4 KiB).
        raw_body: String,
    },

    /// The client was configured wrongly (empty API key, bad base URL, ...).
    #[error("invalid configuration: {0}")]
    Config(String),
}

fn opt(value: &Option<u32>) -> String {
    value.map_or_else(|| "unknown".to_owned(), |v| v.to_string())
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection could be made (refused, DNS, TLS, connect timeout): the request was not
    /// sent.
    Connect,
    /// The attempt ran past the client's timeout; Loops may have acted on the request.
    Timeout,
    /// The connection broke after the request may have been sent, or while the answer was
    /// being read.
    ConnectionLost,
    /// Any other failure of the HTTP stack (a request it could not build, a redirect loop).
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "could not connect to Loops",
            TransportErrorKind::Timeout => "Loops did not answer in time",
            TransportErrorKind::ConnectionLost => "the connection to Loops was lost",
            TransportErrorKind::Other => "the request to Loops failed",
        })
    }
}

impl Error {
    /// The HTTP status, when Loops answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Decode { status, .. } => Some(*status),
            Error::RateLimited { .. } => Some(429),
            Error::AlreadyExists { .. } | Error::AlreadyDone { .. } => Some(409),
            _ => None,
        }
    }

    /// Whether the send was already accepted earlier under the same idempotency key.
    pub fn is_already_done(&self) -> bool {
        matches!(self, Error::AlreadyDone { .. })
    }

    /// Whether a create failed because the contact exists.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::AlreadyExists { .. })
    }

    /// Whether Loops answered 404 (no such contact, transactional email, ...).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// Whether Loops refused the API key (401), or the key lacks access (403).
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// Whether trying again later could succeed (rate limits, 408 and 5xx, timeouts, failed or
    /// lost connections).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. } => true,
            Error::Transport { kind, .. } => !matches!(kind, TransportErrorKind::Other),
            Error::Api { status, .. } => matches!(status, 408 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether an attempt ran past the client's timeout (a
    /// [`Transport`](Error::Transport) error of kind [`TransportErrorKind::Timeout`]).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                kind: TransportErrorKind::Timeout,
                ..
            }
        )
    }

    /// How long Loops asked to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error body, when Loops answered with an error status.
    pub fn body(&self) -> Option<&ApiErrorBody> {
        match self {
            Error::Api { body, .. }
            | Error::RateLimited { body, .. }
            | Error::AlreadyExists { body }
            | Error::AlreadyDone { body, .. } => Some(body),
            _ => None,
        }
    }
}

/// A Loops error body, parsed from whichever shape arrived.
///
/// Shapes seen in the wild: `{"success":false,"message":"…"}` (current), `{"error":"…"}`
/// (legacy), the transactional variants with `path`, a nested `error: {path, message|reason}`
/// and `transactionalId`, and non-JSON bodies such as a load balancer's HTML 502 page.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ApiErrorBody {
    /// The most specific message found (nested `error.message`/`error.reason` first, then
    /// `message`, then a legacy `error` string).
    pub message: Option<String>,
    /// The request field the error is about (`path` or `error.path`).
    pub path: Option<String>,
    /// A machine-readable reason (`error.reason`).
    pub reason: Option<String>,
    /// The transactional email concerned, on transactional errors.
    pub transactional_id: Option<String>,
    /// The parsed JSON, when the body was JSON.
    pub json: Option<serde_json::Value>,
    /// The raw body when it was not JSON (cut to 4 KiB).
    pub raw: Option<String>,
}

impl ApiErrorBody {
    /// Parses any body; never fails.
    pub fn parse(bytes: &[u8]) -> Self {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            let text = String::from_utf8_lossy(bytes);
            let raw = text.trim();
            return ApiErrorBody {
                raw: (!raw.is_empty()).then(|| truncate(raw)),
                ..ApiErrorBody::default()
            };
        };
        let field = |v: &serde_json::Value, key: &str| {
            v.get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        let nested = json.get("error").filter(|e| e.is_object());
        let nested_message = nested.and_then(|e| field(e, "message"));
        let reason = nested.and_then(|e| field(e, "reason"));
        let legacy = json
            .get("error")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        let message = nested_message
            .or_else(|| reason.clone())
            .or_else(|| field(&json, "message"))
            .or(legacy);
        ApiErrorBody {
            message,
            path: field(&json, "path").or_else(|| nested.and_then(|e| field(e, "path"))),
            reason,
            transactional_id: field(&json, "transactionalId"),
            json: Some(json),
            raw: None,
        }
    }
}

fn truncate(text: &str) -> String {
    if text.len() <= MAX_KEPT_BODY {
        return text.to_owned();
    }
    let mut end = MAX_KEPT_BODY;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn raw_body_text(bytes: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(bytes))
}

impl fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, &self.path, &self.raw) {
            (Some(m), Some(p), _) => write!(f, "{m} (at `{p}`)"),
            (Some(m), None, _) => f.write_str(m),
            (None, Some(p), _) => write!(f, "error at `{p}`"),
            (None, None, Some(raw)) => {
                let snippet: String = raw.chars().take(200).collect();
                write!(f, "non-JSON body: {snippet}")
            }
            (None, None, None) => f.write_str("no error message"),
        }
    }
}

/// Turns a non-success response into the right error variant.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn classify(
    endpoint: Endpoint,
    status: u16,
    rate: RateLimitInfo,
    retry_after: Option<Duration>,
    body: &[u8],
    idempotency_key: Option<&IdempotencyKey>,
) -> Error {
    let body = Box::new(ApiErrorBody::parse(body));
    match (status, endpoint, idempotency_key) {
        (429, _, _) => Error::RateLimited {
            limit: rate.limit,
            remaining: rate.remaining,
            retry_after,
            body,
        },
        (409, Endpoint::CreateContact, _) => Error::AlreadyExists { body },
        (409, _, Some(key)) => Error::AlreadyDone {
            idempotency_key: key.clone(),
            body,
        },
        _ => Error::Api {
            status,
            endpoint,
            body,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_body_shape() {
        type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        #[rustfmt::skip]
        let table: &[Row<'_>] = &[
            // current
            (r#"{"success":false,"message":"Invalid email"}"#, Some("Invalid email"), None, None),
            // legacy 401
            (r#"{"error":"Invalid API key"}"#, Some("Invalid API key"), None, None),
            // current 401 with the deprecated key
            (r#"{"success":false,"message":"Invalid API key","error":"Invalid API key"}"#, Some("Invalid API key"), None, None),
            // transactional 1..5
            (r#"{"success":false,"message":"Transactional email not found"}"#, Some("Transactional email not found"), None, None),
            (r#"{"success":false,"message":"Bad field","path":"dataVariables"}"#, Some("Bad field"), Some("dataVariables"), None),
            (r#"{"success":false,"message":"Invalid","error":{"path":"email","message":"Invalid email"}}"#, Some("Invalid email"), Some("email"), None),
            (r#"{"success":false,"message":"Invalid","error":{"path":"attachments","reason":"not enabled"}}"#, Some("not enabled"), Some("attachments"), None),
            (r#"{"success":false,"message":"Missing","error":{"path":"dataVariables","message":"Missing required fields: login_url"},"transactionalId":"clfq6"}"#, Some("Missing required fields: login_url"), Some("dataVariables"), Some("clfq6")),
            // legacy nested without message
            (r#"{"success":false,"error":{"path":"dataVariables","message":"Missing required fields: login_url"},"transactionalId":"clfq6"}"#, Some("Missing required fields: login_url"), Some("dataVariables"), Some("clfq6")),
            // JSON but unexpected
            (r#"[1,2]"#, None, None, None),
            (r#"{"success":false}"#, None, None, None),
        ];
        for (body, message, path, tid) in table {
            let parsed = ApiErrorBody::parse(body.as_bytes());
            assert_eq!(parsed.message.as_deref(), *message, "{body}");
            assert_eq!(parsed.path.as_deref(), *path, "{body}");
            assert_eq!(parsed.transactional_id.as_deref(), *tid, "{body}");
            assert!(parsed.json.is_some());
            assert!(parsed.raw.is_none());
        }
    }

    #[test]
    fn non_json_bodies_are_kept() {
        let html = "<html><body><h1>502 Bad Gateway</h1></body></html>";
        let parsed = ApiErrorBody::parse(html.as_bytes());
        assert_eq!(parsed.raw.as_deref(), Some(html));
        assert!(parsed.to_string().contains("502 Bad Gateway"));
        assert_eq!(ApiErrorBody::parse(b"").raw, None);
        let huge = "x".repeat(10_000);
        assert!(ApiErrorBody::parse(huge.as_bytes()).raw.unwrap().len() <= MAX_KEPT_BODY + 3);
        // Invalid UTF-8 does not panic.
        assert!(ApiErrorBody::parse(&[0xff, 0xfe, b'a']).raw.is_some());
    }

    #[test]
    fn classification_uses_status_and_endpoint_only() {
        let key = IdempotencyKey::new("k1").unwrap();
        let none = RateLimitInfo::default();
        let any_text = br#"{"success":false,"message":"whatever wording Loops uses this year"}"#;
        let cases: Vec<(u16, Endpoint, Option<&IdempotencyKey>, &str)> = vec![
            (409, Endpoint::CreateContact, None, "exists"),
            (409, Endpoint::SendEvent, Some(&key), "done"),
            (409, Endpoint::SendTransactional, Some(&key), "done"),
            (409, Endpoint::UpdateContact, None, "api"),
            (429, Endpoint::SendEvent, Some(&key), "rate"),
            (429, Endpoint::FindContact, None, "rate"),
            (400, Endpoint::SendEvent, Some(&key), "api"),
            (404, Endpoint::DeleteContact, None, "api"),
            (500, Endpoint::CreateContact, None, "api"),
        ];
        for (status, endpoint, key, expected) in cases {
            let err = classify(endpoint, status, none, None, any_text, key);
            let got = match err {
                Error::AlreadyExists { .. } => "exists",
                Error::AlreadyDone { .. } => "done",
                Error::RateLimited { .. } => "rate",
                Error::Api { .. } => "api",
                _ => "other",
            };
            assert_eq!(got, expected, "{status} {endpoint}");
        }
    }

    #[test]
    fn helpers() {
        let err = classify(
            Endpoint::DeleteContact,
            404,
            RateLimitInfo::default(),
            None,
            b"",
            None,
        );
        assert!(err.is_not_found());
        assert!(!err.is_transient());
        let rl = classify(
            Endpoint::SendEvent,
            429,
            RateLimitInfo::from_headers(Some("10"), Some("0")),
            Some(Duration::from_secs(1)),
            b"",
            None,
        );
        assert!(rl.is_transient());
        assert_eq!(rl.retry_after(), Some(Duration::from_secs(1)));
        assert!(rl.to_string().contains("limit 10"), "{rl}");
    }
}
