//! The one place HTTP IO happens: circuit breaker, rate limiter, auth, send, classify, retry.

use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::breaker::{Admission, ResponseSignal, Verdict};
use crate::client::Client;
use crate::common::WriteResult;
use crate::error::{
    ApiProblem, BatchItemResult, Error, RawBody, Result, TransportError, TransportErrorKind,
};
use crate::retry::{AttemptOutcome, RetryDecision};

/// A request as data: rebuilt for every attempt.
#[derive(Debug, Clone)]
pub(crate) struct RequestSpec {
    pub(crate) method: Method,
    pub(crate) path_and_query: String,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) idempotent: bool,
    pub(crate) auth: bool,
}

/// A successful (2xx) response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawResponse {
    /// The status (200, 201, 202 or 204, ...).
    pub status: u16,
    /// The body (empty for 204).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body parsed as `T`; `None` for an empty body (204).
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] with the raw body when it does not match `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        if self.status == 204 || self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|source| Error::Decode {
                source,
                body: RawBody::from_bytes(&self.body),
            })
    }
}

/// `path?encoded query` (brackets percent-encoded, as any PHP backend accepts).
pub(crate) fn path_and_query(path: &str, query: &[(String, String)]) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        s.append_pair(k, v);
    }
    format!("{path}?{}", s.finish())
}

fn classify(e: &reqwest::Error) -> TransportErrorKind {
    if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportErrorKind::Io
    } else {
        TransportErrorKind::Other
    }
}

fn transport_error(e: reqwest::Error) -> TransportError {
    let kind = classify(&e);
    // The URL may carry a search query with an email or phone: strip it.
    TransportError {
        kind,
        source: Box::new(e.without_url()),
    }
}

fn into_error(t: TransportError) -> Error {
    if t.kind == TransportErrorKind::Timeout {
        Error::Timeout(t)
    } else {
        Error::Transport(t)
    }
}

fn blocked(until: Instant, problem: Option<ApiProblem>) -> Error {
    let retry_after = until.saturating_duration_since(Instant::now());
    Error::Blocked {
        retry_after,
        retry_at: SystemTime::now() + retry_after,
        problem: problem.map(Box::new),
    }
}

/// Releases the half-open probe slot if the probe never produced a response (error or
/// cancellation).
struct ProbeGuard<'a> {
    client: &'a Client,
    armed: bool,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.client.breaker().probe_abandoned();
        }
    }
}

fn header_seconds(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

impl Client {
    async fn send_once(
        &self,
        spec: &RequestSpec,
        token: Option<&SecretString>,
    ) -> std::result::Result<(u16, reqwest::header::HeaderMap, Vec<u8>), TransportError> {
        let url = self
            .inner
            .base
            .join(&spec.path_and_query)
            .map_err(|e| TransportError {
                kind: TransportErrorKind::Other,
                source: Box::new(e),
            })?;
        let mut req = self
            .inner
            .http
            .request(spec.method.clone(), url)
            .timeout(self.inner.timeout);
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| TransportError {
                    kind: TransportErrorKind::Other,
                    source: "the access token is not a valid header value".into(),
                })?;
            value.set_sensitive(true);
            req = req.header(AUTHORIZATION, value);
        }
        if let Some(body) = &spec.body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = req.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        Ok((status, headers, body.to_vec()))
    }

    /// Sends a request through the breaker, the limiter, auth and the retry policy. Returns
    /// only 2xx responses; everything else is an [`Error`].
    pub(crate) async fn execute(&self, spec: &RequestSpec) -> Result<RawResponse> {
        let mut attempt = 1u32;
        let mut refreshed = false;
        loop {
            // The token comes first: a refresh is a request of its own through this loop.
            let token = if spec.auth {
                Some(self.bearer().await?)
            } else {
                None
            };
            if let Some(limiter) = &self.inner.limiter {
                limiter.acquire().await;
            }
            let admission = self.breaker().admit(Instant::now());
            let probe = match admission {
                Admission::Reject { until } => return Err(blocked(until, None)),
                Admission::Allow => false,
                Admission::Probe => true,
            };
            let mut guard = ProbeGuard {
                client: self,
                armed: probe,
            };
            let path = spec.path_and_query.split('?').next().unwrap_or_default();
            let span = tracing::debug_span!(
                "kommo.request",
                method = %spec.method,
                path = %path,
                attempt,
                status = tracing::field::Empty
            );
            let outcome = self
                .send_once(spec, token.as_ref())
                .instrument(span.clone())
                .await;
            let (status, headers, body) = match outcome {
                Ok(parts) => parts,
                Err(t) => {
                    drop(guard);
                    let decision = self.inner.retry.decide(
                        attempt,
                        AttemptOutcome::Transport(t.kind),
                        spec.idempotent,
                        fastrand::f64(),
                    );
                    tracing::debug!(parent: &span, kind = ?t.kind, "transport error");
                    match decision {
                        RetryDecision::Retry(wait) => {
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        RetryDecision::Stop => return Err(into_error(t)),
                    }
                }
            };
            span.record("status", status);
            guard.armed = false;
            let signal = match status {
                403 => ResponseSignal::Forbidden {
                    problem_json: ApiProblem::from_response(status, None, &body).is_problem_json(),
                },
                429 => ResponseSignal::RateLimited,
                _ => ResponseSignal::Other,
            };
            let verdict = self.breaker().on_response(Instant::now(), signal, probe);
            let request_id = headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Verdict::Blocked { until } = verdict {
                tracing::warn!(parent: &span, "Kommo answered with a block; circuit breaker open");
                return Err(blocked(
                    until,
                    Some(ApiProblem::from_response(status, request_id, &body)),
                ));
            }
            if (200..300).contains(&status) {
                return Ok(RawResponse { status, body });
            }
            if status == 401 && spec.auth && self.inner.auth.is_oauth() && !refreshed {
                refreshed = true;
                if let Some(stale) = &token {
                    tracing::debug!(parent: &span, "401 with an OAuth token; refreshing once");
                    self.refresh_replacing(stale).await?;
                    continue;
                }
            }
            let error = Error::from_response(status, request_id, header_seconds(&headers), &body);
            let outcome = AttemptOutcome::Status {
                status,
                retry_after: error.retry_after(),
            };
            match self
                .inner
                .retry
                .decide(attempt, outcome, spec.idempotent, fastrand::f64())
            {
                RetryDecision::Retry(wait) => {
                    tracing::debug!(parent: &span, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                RetryDecision::Stop => return Err(error),
            }
        }
    }

    /// `GET path_and_query`, `None` on 204.
    pub(crate) async fn get_raw(&self, path_and_query: &str) -> Result<Option<Vec<u8>>> {
        let spec = RequestSpec {
            method: Method::GET,
            path_and_query: path_and_query.to_owned(),
            body: None,
            idempotent: true,
            auth: true,
        };
        let response = self.execute(&spec).await?;
        Ok((response.status != 204 && !response.body.is_empty()).then_some(response.body))
    }

    /// `GET` a JSON body; `None` on 204.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: Vec<(String, String)>,
    ) -> Result<Option<T>> {
        self.request_json::<T, ()>(Method::GET, path, &query, None, true)
            .await
    }

    pub(crate) async fn send_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: Vec<(String, String)>,
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<Option<T>> {
        self.request_json(method, path, &query, body, idempotent)
            .await
    }

    /// The escape hatch for endpoints this crate does not model: sends `body` as JSON and
    /// parses the answer as `T` (`None` on 204). Set `idempotent` only for reads and writes
    /// that are safe to repeat; only those are retried.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request, or [`Error::Decode`].
    pub async fn request_json<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&B>,
        idempotent: bool,
    ) -> Result<Option<T>> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Config(format!("cannot encode the request body: {e}")))?;
        let response = self
            .request_raw(method, &path_and_query(path, query), body, idempotent)
            .await?;
        response.json()
    }

    /// The lowest-level escape hatch: a path with its query string and an optional JSON body;
    /// returns the 2xx status and body.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn request_raw(
        &self,
        method: Method,
        path_and_query: &str,
        json_body: Option<Vec<u8>>,
        idempotent: bool,
    ) -> Result<RawResponse> {
        if !path_and_query.starts_with('/') {
            return Err(Error::config("paths must start with '/'"));
        }
        let spec = RequestSpec {
            method,
            path_and_query: path_and_query.to_owned(),
            body: json_body,
            idempotent,
            auth: true,
        };
        self.execute(&spec).await
    }

    /// A single-entity write returning `{id, updated_at, ...}`.
    pub(crate) async fn write_one<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        idempotent: bool,
    ) -> Result<WriteResult> {
        self.send_json::<WriteResult, B>(method, path, Vec::new(), Some(body), idempotent)
            .await?
            .ok_or_else(|| Error::Decode {
                source: <serde_json::Error as serde::de::Error>::custom(
                    "empty response to a write",
                ),
                body: RawBody::default(),
            })
    }

    /// A batch write split into chunks of the configured batch size; results come from
    /// `_embedded.<key>`, in request order.
    ///
    /// Kommo answers 504 when a batch is too large to finish in time and advises smaller
    /// batches. For idempotent writes (updates) a chunk that still gets 504 after the retry
    /// policy is halved and sent again, down to single entities. A create is never re-sent
    /// after a 504 (it may have been applied), so the error is returned.
    pub(crate) async fn batch_write<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        items: Vec<B>,
        key: &'static str,
        idempotent: bool,
    ) -> Result<Vec<WriteResult>> {
        let mut committed: Vec<BatchItemResult> = Vec::with_capacity(items.len());
        let mut pending: std::collections::VecDeque<Vec<B>> = std::collections::VecDeque::new();
        let mut iter = items.into_iter().peekable();
        while iter.peek().is_some() {
            pending.push_back(iter.by_ref().take(self.inner.batch_size).collect());
        }
        while let Some(mut chunk) = pending.pop_front() {
            let result = self
                .send_json::<serde_json::Value, _>(
                    method.clone(),
                    path,
                    Vec::new(),
                    Some(&chunk),
                    idempotent,
                )
                .await;
            let page = result.and_then(|body| match body {
                None => Ok(Vec::new()),
                Some(v) => {
                    let raw = v.to_string();
                    crate::common::Page::<WriteResult>::from_hal(v, key)
                        .map(|p| p.items)
                        .map_err(|source| Error::Decode {
                            source,
                            body: RawBody::from_bytes(raw.as_bytes()),
                        })
                }
            });
            match page {
                Ok(items) => committed.extend(items),
                Err(Error::GatewayTimeout(_)) if idempotent && chunk.len() > 1 => {
                    let second = chunk.split_off(chunk.len() / 2);
                    tracing::debug!(
                        size = chunk.len() + second.len(),
                        "504 on a batch; halving it"
                    );
                    pending.push_front(second);
                    pending.push_front(chunk);
                }
                Err(e) if committed.is_empty() => return Err(e),
                Err(e) => {
                    return Err(Error::PartialBatch {
                        committed,
                        source: Box::new(e),
                    });
                }
            }
        }
        Ok(committed)
    }
}
