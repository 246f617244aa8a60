//! The error type, and how failed responses are classified.
//!
//! Classification uses the endpoint, the status code and the structured fields of the body
//! (`maxBytes`, `maxUploads`, a current revision). Loops has reworded its messages before
//! (the 409 on create, in 2026), so message text is shown, never matched.

use std::fmt;
use std::time::Duration;

use crate::endpoint::{Endpoint, GatedApi};
use crate::idempotency::IdempotencyKey;
use crate::validate::ValidationError;

mod body;
mod classify;

#[cfg_attr(not(feature = "client"), allow(unused_imports))]
pub(crate) use body::raw_body_text;
pub use body::{ApiErrorBody, ApiIssue};
#[cfg_attr(not(feature = "client"), allow(unused_imports))]
pub(crate) use classify::{Failed, classify, refine_conflict, wants_current_revision};

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

    /// `409` on a write guarded by `expectedRevisionId` (an email message, a workflow): the
    /// resource changed since the revision you sent was read, and nothing was applied.
    ///
    /// Read the resource again, re-apply your change to what you read, and send it with the
    /// current revision. `current` is the revision Loops holds now, when known (from the body,
    /// or read by the typed method after the 409). `maybe_applied_earlier` is set when an
    /// earlier attempt of the same call failed ambiguously (5xx, timeout, lost connection): that
    /// attempt may have been applied and moved the revision itself, so compare before you
    /// re-apply.
    #[error("stale revision on {endpoint}: sent {}, current {}{}: {body}",
        rev(.expected), .current.as_deref().unwrap_or("unknown"),
        if *.maybe_applied_earlier { " (an earlier attempt of this call may have been applied)" } else { "" })]
    StaleRevision {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The `expectedRevisionId` sent (`None`: `null`).
        expected: Option<String>,
        /// The current revision, when known.
        current: Option<String>,
        /// An earlier attempt of this call may have landed.
        maybe_applied_earlier: bool,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `409` on a workflow delete: the workflow is sending or has queued contacts. Send the
    /// delete again with the same revision and `confirm_delete(true)` to stop it and cancel
    /// those contacts.
    #[error(
        "the workflow is sending or has queued contacts: confirm the delete ({endpoint}): {body}"
    )]
    ConfirmationRequired {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `409` where Loops needs a draft: publishing a transactional email that has none, or
    /// updating a campaign that has left `Draft`.
    #[error("{endpoint} needs a draft: {body}")]
    DraftRequired {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `401` on a content or workflow endpoint while Loops accepts the key on
    /// `GET /v1/api-key`: that part of the API is not enabled for the team. (A 401 with a key
    /// Loops refuses everywhere stays an [`Api`](Error::Api) error with status 401.)
    #[error("the Loops {api} is not enabled for this team ({endpoint}): {body}")]
    ApiNotEnabled {
        /// The endpoint called.
        endpoint: Endpoint,
        /// Which part of the API.
        api: GatedApi,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `413`: the request is larger than Loops accepts.
    #[error("Loops refused the {endpoint} request as too large (limit {}): {body}",
        .limit_bytes.map_or_else(|| "not documented".to_owned(), |n| format!("{n} bytes")))]
    PayloadTooLarge {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The limit: `maxBytes` from the body, or the documented limit of the endpoint (100 KB
        /// of LMX, 4,000,000 bytes per upload or transactional send).
        limit_bytes: Option<u64>,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `422`: Loops understood the request but could not apply it (LMX that does not compile,
    /// a draft that fails validation, an unverified domain, a component change that would
    /// break emails). [`ApiErrorBody::errors`] and [`ApiErrorBody::warnings`] keep every item
    /// Loops listed.
    #[error("Loops could not process the {endpoint} request (422): {body}")]
    Unprocessable {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The error body, with its messages and warnings.
        body: Box<ApiErrorBody>,
    },

    /// `501`: Loops does not support this change (a workflow node update for a node type it
    /// cannot update through the API).
    #[error("Loops does not support this {endpoint} request (501): {body}")]
    NotImplemented {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The error body.
        body: Box<ApiErrorBody>,
    },

    /// `429` of a daily cap that names itself (50 uploads per 24 hours): retrying soon cannot
    /// help, so it is not retried.
    #[error("Loops' {endpoint} quota is used up (limit {}, window {}): {body}",
        .limit.map_or_else(|| "unknown".to_owned(), |n| n.to_string()),
        .window.map_or_else(|| "unknown".to_owned(), |w| format!("{} h", w.as_secs() / 3600)))]
    QuotaExceeded {
        /// The endpoint called.
        endpoint: Endpoint,
        /// How many requests the window allows.
        limit: Option<u64>,
        /// The window.
        window: Option<Duration>,
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

fn rev(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("null")
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
            Error::RateLimited { .. } | Error::QuotaExceeded { .. } => Some(429),
            Error::AlreadyExists { .. }
            | Error::AlreadyDone { .. }
            | Error::StaleRevision { .. }
            | Error::ConfirmationRequired { .. }
            | Error::DraftRequired { .. } => Some(409),
            Error::ApiNotEnabled { .. } => Some(401),
            Error::PayloadTooLarge { .. } => Some(413),
            Error::Unprocessable { .. } => Some(422),
            Error::NotImplemented { .. } => Some(501),
            _ => None,
        }
    }

    /// The endpoint called, when Loops answered.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Error::Api { endpoint, .. }
            | Error::Decode { endpoint, .. }
            | Error::StaleRevision { endpoint, .. }
            | Error::ConfirmationRequired { endpoint, .. }
            | Error::DraftRequired { endpoint, .. }
            | Error::ApiNotEnabled { endpoint, .. }
            | Error::PayloadTooLarge { endpoint, .. }
            | Error::Unprocessable { endpoint, .. }
            | Error::NotImplemented { endpoint, .. }
            | Error::QuotaExceeded { endpoint, .. } => Some(*endpoint),
            _ => None,
        }
    }

    /// Whether a revision-guarded write was refused because the revision sent is not the
    /// current one.
    pub fn is_stale_revision(&self) -> bool {
        matches!(self, Error::StaleRevision { .. })
    }

    /// The current revision a stale-revision error reports, when known.
    pub fn current_revision(&self) -> Option<&str> {
        match self {
            Error::StaleRevision { current, .. } => current.as_deref(),
            _ => None,
        }
    }

    /// Whether the content or workflow API is not enabled for the team (the key itself is
    /// good).
    pub fn is_api_not_enabled(&self) -> bool {
        matches!(self, Error::ApiNotEnabled { .. })
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

    /// Whether Loops refused the API key (401), or the key lacks access (403). A content or
    /// workflow API that is not enabled is not this: see
    /// [`is_api_not_enabled`](Self::is_api_not_enabled).
    pub fn is_unauthorized(&self) -> bool {
        !self.is_api_not_enabled() && matches!(self.status(), Some(401 | 403))
    }

    /// Whether trying again later could succeed (rate limits, 408, 425 and 5xx other than
    /// 501, timeouts, failed or lost connections). A used-up daily quota is not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RateLimited { .. } => true,
            Error::Transport { kind, .. } => !matches!(kind, TransportErrorKind::Other),
            Error::Api { status, .. } => matches!(status, 408 | 425 | 500 | 502 | 503 | 504),
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
            | Error::AlreadyDone { body, .. }
            | Error::StaleRevision { body, .. }
            | Error::ConfirmationRequired { body, .. }
            | Error::DraftRequired { body, .. }
            | Error::ApiNotEnabled { body, .. }
            | Error::PayloadTooLarge { body, .. }
            | Error::Unprocessable { body, .. }
            | Error::NotImplemented { body, .. }
            | Error::QuotaExceeded { body, .. } => Some(body),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_limit::RateLimitInfo;

    fn failed(endpoint: Endpoint, status: u16, body: &[u8]) -> Error {
        classify(&Failed {
            endpoint,
            status,
            rate: RateLimitInfo::from_headers(Some("10"), Some("0")),
            retry_after: Some(Duration::from_secs(1)),
            body,
            idempotency_key: None,
            expected_revision: None,
            maybe_landed: false,
        })
    }

    #[test]
    fn helpers() {
        let err = failed(Endpoint::DeleteContact, 404, b"");
        assert!(err.is_not_found());
        assert!(!err.is_transient());
        assert_eq!(err.endpoint(), Some(Endpoint::DeleteContact));
        let rl = failed(Endpoint::SendEvent, 429, b"");
        assert!(rl.is_transient());
        assert_eq!(rl.retry_after(), Some(Duration::from_secs(1)));
        assert!(rl.to_string().contains("limit 10"), "{rl}");
        assert!(failed(Endpoint::CompleteUpload, 425, b"").is_transient());
        assert!(!failed(Endpoint::UpdateWorkflowNode, 501, b"").is_transient());
    }

    #[test]
    fn not_enabled_is_not_a_bad_key() {
        let bad_key = failed(Endpoint::GetTheme, 401, br#"{"message":"Invalid API key"}"#);
        assert!(bad_key.is_unauthorized());
        let not_enabled = Error::ApiNotEnabled {
            endpoint: Endpoint::GetTheme,
            api: GatedApi::Content,
            body: Box::default(),
        };
        assert!(!not_enabled.is_unauthorized());
        assert!(not_enabled.is_api_not_enabled());
        assert_eq!(not_enabled.status(), Some(401));
        assert!(
            not_enabled
                .to_string()
                .contains("content API is not enabled"),
            "{not_enabled}"
        );
    }

    #[test]
    fn every_body_is_reachable() {
        for (endpoint, status) in [
            (Endpoint::UpdateWorkflow, 409),
            (Endpoint::UpdateCampaign, 409),
            (Endpoint::UpdateEmailMessage, 413),
            (Endpoint::UpdateEmailMessage, 422),
            (Endpoint::UpdateWorkflowNode, 501),
        ] {
            let mut err = failed(endpoint, status, br#"{"message":"m"}"#);
            if status == 409 && endpoint == Endpoint::UpdateWorkflow {
                err = Error::StaleRevision {
                    endpoint,
                    expected: None,
                    current: None,
                    maybe_applied_earlier: false,
                    body: Box::new(ApiErrorBody::parse(br#"{"message":"m"}"#)),
                };
            }
            assert_eq!(
                err.body().and_then(|b| b.message.as_deref()),
                Some("m"),
                "{err:?}"
            );
            assert_eq!(err.status(), Some(status));
        }
    }
}
