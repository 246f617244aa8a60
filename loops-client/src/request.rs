//! Sending requests: pacing, the retry loop, timeouts, and response classification.
//! This is the only module that does HTTP IO.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, USER_AGENT};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::client::Client;
use crate::endpoint::{ApiRequest, Endpoint};
use crate::error::{
    Error, Failed, TransportErrorKind, classify, raw_body_text, refine_conflict,
    wants_current_revision,
};
use crate::rate_limit::{RateLimitInfo, parse_retry_after};
use crate::retry::{AttemptFailure, RetryDecision};

/// Larger answers are refused rather than buffered; Loops' answers are a few KiB.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) endpoint: Endpoint,
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    pub(crate) attempts: u32,
    /// The request had already been carried out by an earlier attempt whose answer was lost
    /// (a repeated idempotency key, or a delete that found nothing left to delete).
    pub(crate) replayed: bool,
}

impl Response {
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode {
            endpoint: self.endpoint,
            status: self.status,
            message: e.to_string(),
            raw_body: raw_body_text(&self.body),
        })
    }
}

/// The source of a [`TransportErrorKind::Timeout`]: how long the attempt was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AttemptTimedOut {
    after: Duration,
}

impl fmt::Display for AttemptTimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no complete answer within {:?} (the per-attempt timeout)",
            self.after
        )
    }
}

impl std::error::Error for AttemptTimedOut {}

/// Why an attempt failed, and what the retry policy should make of it (`None`: retrying
/// cannot help, give up at once).
type AttemptError = (Option<AttemptFailure>, Error);

/// One attempt's raw outcome.
struct Answer {
    status: u16,
    headers: HeaderMap,
    rate: RateLimitInfo,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

impl Client {
    /// Sends a request with pacing and retries, and returns the successful answer.
    ///
    /// A 401 from a content or workflow endpoint is followed by one `GET /v1/api-key`: if Loops
    /// accepts the key there, the 401 means that part of the API is not enabled for the team
    /// ([`Error::ApiNotEnabled`]); otherwise it is the bad key it looks like.
    pub(crate) async fn execute(&self, request: &ApiRequest) -> Result<Response, Error> {
        match self.execute_with_retries(request).await {
            Err(Error::Api {
                status: 401,
                endpoint,
                body,
            }) if endpoint.gated_api().is_some() => {
                let api = endpoint
                    .gated_api()
                    .unwrap_or(crate::endpoint::GatedApi::Content);
                if self.key_is_accepted().await {
                    Err(Error::ApiNotEnabled {
                        endpoint,
                        api,
                        body,
                    })
                } else {
                    Err(Error::Api {
                        status: 401,
                        endpoint,
                        body,
                    })
                }
            }
            other => other,
        }
    }

    /// Sends a write guarded by `expectedRevisionId`. After a 409 whose cause the answer leaves
    /// open, `read_current` reads the resource's current revision, which settles it: a stale
    /// revision (with both revisions), a workflow delete that needs confirming, or the 409 as
    /// Loops sent it when the read fails.
    pub(crate) async fn execute_guarded<F, Fut>(
        &self,
        request: &ApiRequest,
        read_current: F,
    ) -> Result<Response, Error>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<String>, Error>>,
    {
        match self.execute(request).await {
            Err(error) if wants_current_revision(&error, request) => {
                let current = read_current().await.ok();
                Err(refine_conflict(error, request, current))
            }
            other => other,
        }
    }

    /// One unretried `GET /v1/api-key`: whether Loops accepts the key.
    async fn key_is_accepted(&self) -> bool {
        self.inner.pacer.acquire().await;
        let probe = crate::api_key::test_api_key_request();
        matches!(self.attempt(&probe).await, Ok(answer) if (200..300).contains(&answer.status))
    }

    async fn execute_with_retries(&self, request: &ApiRequest) -> Result<Response, Error> {
        let inner = &self.inner;
        let endpoint = request.endpoint();
        let key = request.idempotency_key_value();
        // Set once an attempt failed in a way that leaves open whether Loops acted on it.
        let mut maybe_landed = false;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            inner.pacer.acquire().await;
            let span = tracing::debug_span!(
                "loops.request",
                method = request.method().as_str(),
                path = request.path(),
                attempt,
                status = tracing::field::Empty,
            );
            let result = self.attempt(request).instrument(span.clone()).await;

            let (failure, error) = match result {
                Ok(answer) => {
                    span.record("status", answer.status);
                    self.observe(answer.rate);
                    if (200..300).contains(&answer.status) {
                        return Ok(Response {
                            endpoint,
                            status: answer.status,
                            headers: answer.headers,
                            body: answer.body,
                            attempts: attempt,
                            replayed: false,
                        });
                    }
                    if maybe_landed && landed_earlier(endpoint, answer.status, key.is_some()) {
                        tracing::debug!(parent: &span, "an earlier attempt had already been carried out");
                        return Ok(Response {
                            endpoint,
                            status: answer.status,
                            headers: answer.headers,
                            body: Vec::new(),
                            attempts: attempt,
                            replayed: true,
                        });
                    }
                    let failure = AttemptFailure::Status {
                        status: answer.status,
                        retry_after: answer.retry_after,
                    };
                    let error = classify(&Failed {
                        endpoint,
                        status: answer.status,
                        rate: answer.rate,
                        retry_after: answer.retry_after,
                        body: &answer.body,
                        idempotency_key: key,
                        expected_revision: request.expected_revision(),
                        maybe_landed,
                    });
                    if matches!(error, Error::QuotaExceeded { .. }) {
                        tracing::debug!(parent: &span, "giving up: a daily quota is used up");
                        return Err(error);
                    }
                    (failure, error)
                }
                Err((Some(failure), error)) => (failure, error),
                Err((None, error)) => {
                    tracing::debug!(parent: &span, %error, "giving up: retrying cannot help");
                    return Err(error);
                }
            };

            let decision =
                inner
                    .retry
                    .decide(attempt, failure, request.retry_safety(), fastrand::f64());
            match decision {
                RetryDecision::RetryAfter(delay) => {
                    tracing::debug!(parent: &span, ?delay, failure = ?failure, "retrying");
                    if matches!(failure, AttemptFailure::Status { status: 429, .. }) {
                        // Everyone sharing this client waits, not only this caller.
                        inner.pacer.pause_for(delay);
                    }
                    maybe_landed |= is_ambiguous(failure);
                    tokio::time::sleep(delay).await;
                }
                RetryDecision::GiveUp => {
                    tracing::debug!(parent: &span, failure = ?failure, "giving up");
                    return Err(error);
                }
            }
        }
    }

    /// One attempt, bounded by the timeout.
    async fn attempt(&self, request: &ApiRequest) -> Result<Answer, AttemptError> {
        let timeout = self.inner.timeout;
        match tokio::time::timeout(timeout, self.send_and_read(request)).await {
            Ok(result) => result,
            Err(_) => Err((
                Some(AttemptFailure::TimedOut),
                Error::Transport {
                    kind: TransportErrorKind::Timeout,
                    source: Box::new(AttemptTimedOut { after: timeout }),
                },
            )),
        }
    }

    async fn send_and_read(&self, request: &ApiRequest) -> Result<Answer, AttemptError> {
        let inner = &self.inner;
        // Appended, not joined: the base's own path (`/api`) must stay.
        let url = format!("{}{}", inner.base_prefix, request.path_and_query());
        let mut builder = inner
            .http
            .request(request.method().clone(), url)
            .header(AUTHORIZATION, inner.authorization.clone())
            .header(USER_AGENT, inner.user_agent.clone())
            .header(ACCEPT, "application/json");
        if let Some(body) = request.body() {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        if let Some(key) = request.idempotency_key_value() {
            builder = builder.header("Idempotency-Key", key.as_str());
        }

        let mut response = builder.send().await.map_err(transport_failure)?;
        let status = response.status().as_u16();
        // Taken, not cloned: the body is read through `chunk`, which needs no headers.
        let headers = std::mem::take(response.headers_mut());
        let rate = RateLimitInfo::from_headers(
            header(&headers, "x-ratelimit-limit"),
            header(&headers, "x-ratelimit-remaining"),
        );
        let retry_after = header(&headers, "retry-after").and_then(parse_retry_after);

        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            (
                Some(AttemptFailure::ConnectionLost),
                Error::Transport {
                    kind: TransportErrorKind::ConnectionLost,
                    source: Box::new(e.without_url()),
                },
            )
        })? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err((
                    Some(AttemptFailure::Status {
                        status,
                        retry_after: None,
                    }),
                    Error::Decode {
                        endpoint: request.endpoint(),
                        status,
                        message: format!("the response is larger than {MAX_RESPONSE_BYTES} bytes"),
                        raw_body: raw_body_text(&body),
                    },
                ));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            rate,
            retry_after,
            body,
        })
    }

    /// `PUT`s an upload's bytes to its presigned URL: no API key (the URL's signature is the
    /// credential, and a second one makes storage hosts refuse the request), no pacing (the
    /// storage host is not Loops), the same timeout and retry policy as a safe request.
    pub(crate) async fn put_presigned(
        &self,
        url: url::Url,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let inner = &self.inner;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let send = inner
                .http
                .put(url.clone())
                .header(CONTENT_TYPE, content_type)
                .header(USER_AGENT, inner.user_agent.clone())
                .body(bytes.clone())
                .send();
            let outcome: Result<(), AttemptError> =
                match tokio::time::timeout(inner.timeout, send).await {
                    Err(_) => Err((
                        Some(AttemptFailure::TimedOut),
                        Error::Transport {
                            kind: TransportErrorKind::Timeout,
                            source: Box::new(AttemptTimedOut {
                                after: inner.timeout,
                            }),
                        },
                    )),
                    Ok(Err(e)) => Err(transport_failure(e)),
                    Ok(Ok(response)) => {
                        let status = response.status().as_u16();
                        if (200..300).contains(&status) {
                            return Ok(());
                        }
                        let retry_after =
                            header(response.headers(), "retry-after").and_then(parse_retry_after);
                        let body = response.bytes().await.unwrap_or_default();
                        Err((
                            Some(AttemptFailure::Status {
                                status,
                                retry_after,
                            }),
                            Error::Api {
                                status,
                                endpoint: Endpoint::PutUpload,
                                body: Box::new(crate::error::ApiErrorBody::parse(&body)),
                            },
                        ))
                    }
                };
            let Err((failure, error)) = outcome else {
                return Ok(());
            };
            let Some(failure) = failure else {
                return Err(error);
            };
            let safety = crate::retry::RetrySafety::Safe;
            match inner
                .retry
                .decide(attempt, failure, safety, fastrand::f64())
            {
                RetryDecision::RetryAfter(delay) => tokio::time::sleep(delay).await,
                RetryDecision::GiveUp => return Err(error),
            }
        }
    }

    fn observe(&self, rate: RateLimitInfo) {
        if !rate.is_known() {
            return;
        }
        self.inner.pacer.observe(rate);
        *self
            .inner
            .last_rate_limit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(rate);
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Classifies a failure to send. A connect that timed out is `Connect` (nothing was sent); a
/// timeout of a caller-supplied reqwest client is `Timeout`; a request reqwest could not
/// build is `Other` and not retried.
fn transport_failure(error: reqwest::Error) -> AttemptError {
    let (failure, kind) = if error.is_connect() {
        (
            Some(AttemptFailure::ConnectFailed),
            TransportErrorKind::Connect,
        )
    } else if error.is_timeout() {
        (Some(AttemptFailure::TimedOut), TransportErrorKind::Timeout)
    } else if error.is_builder() {
        (None, TransportErrorKind::Other)
    } else {
        (
            Some(AttemptFailure::ConnectionLost),
            TransportErrorKind::ConnectionLost,
        )
    };
    (
        failure,
        Error::Transport {
            kind,
            source: Box::new(error.without_url()),
        },
    )
}

/// Failures after which Loops may or may not have acted on the request.
fn is_ambiguous(failure: AttemptFailure) -> bool {
    match failure {
        AttemptFailure::Status { status, .. } => status >= 500 || status == 408,
        AttemptFailure::ConnectionLost | AttemptFailure::TimedOut => true,
        AttemptFailure::ConnectFailed => false,
    }
}

/// Whether this answer, after an ambiguous failure, shows that an earlier attempt succeeded.
fn landed_earlier(endpoint: Endpoint, status: u16, keyed: bool) -> bool {
    match (endpoint, status) {
        (_, 409) if keyed && endpoint != Endpoint::CreateContact => true,
        (Endpoint::DeleteContact | Endpoint::DeleteWorkflow, 404) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguity_table() {
        let table = [
            (
                AttemptFailure::Status {
                    status: 500,
                    retry_after: None,
                },
                true,
            ),
            (
                AttemptFailure::Status {
                    status: 503,
                    retry_after: None,
                },
                true,
            ),
            (
                AttemptFailure::Status {
                    status: 429,
                    retry_after: None,
                },
                false,
            ),
            (
                AttemptFailure::Status {
                    status: 400,
                    retry_after: None,
                },
                false,
            ),
            (AttemptFailure::ConnectFailed, false),
            (AttemptFailure::ConnectionLost, true),
            (AttemptFailure::TimedOut, true),
        ];
        for (failure, expected) in table {
            assert_eq!(is_ambiguous(failure), expected, "{failure:?}");
        }
    }

    #[test]
    fn earlier_success_table() {
        let table = [
            (Endpoint::SendEvent, 409, true, true),
            (Endpoint::SendTransactional, 409, true, true),
            (Endpoint::SendEvent, 409, false, false),
            (Endpoint::CreateContact, 409, true, false),
            (Endpoint::DeleteContact, 404, false, true),
            (Endpoint::DeleteWorkflow, 404, false, true),
            (Endpoint::GetWorkflow, 404, false, false),
            (Endpoint::FindContact, 404, false, false),
            (Endpoint::SendEvent, 400, true, false),
        ];
        for (endpoint, status, keyed, expected) in table {
            assert_eq!(
                landed_earlier(endpoint, status, keyed),
                expected,
                "{endpoint} {status} {keyed}"
            );
        }
    }
}
