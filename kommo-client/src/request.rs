//! The one place HTTP IO happens: circuit breaker, rate limiter, auth, send, classify, retry.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::breaker::{Admission, ResponseSignal, Verdict};
use crate::client::Client;
use crate::common::WriteResult;
use crate::error::{ApiProblem, Error, Result, TransportErrorKind};
use crate::raw::{ApiRequest, RawResponse};
use crate::retry::{AttemptOutcome, RetryDecision};

fn classify(e: &reqwest::Error) -> TransportErrorKind {
    if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_request() || e.is_body() || e.is_decode() {
        TransportErrorKind::ConnectionLost
    } else {
        TransportErrorKind::Other
    }
}

fn transport_error(e: reqwest::Error) -> Error {
    let kind = classify(&e);
    // The URL may carry a search query with an email or phone: strip it.
    Error::Transport {
        kind,
        source: Box::new(e.without_url()),
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
        request: &ApiRequest,
        path_and_query: &str,
        token: Option<&SecretString>,
    ) -> Result<RawResponse> {
        let url = request
            .origin
            .as_ref()
            .unwrap_or(&self.inner.base)
            .join(path_and_query)
            .map_err(|e| Error::invalid_request(format!("not a path on the account: {e}")))?;
        let mut req = self
            .inner
            .http
            .request(request.method().clone(), url)
            .timeout(self.inner.timeout);
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .map_err(|_| Error::Transport {
                    kind: TransportErrorKind::Other,
                    source: "the access token is not a valid header value".into(),
                })?;
            value.set_sensitive(true);
            req = req.header(AUTHORIZATION, value);
        }
        if let Some(body) = request.body() {
            let content_type = request
                .content_type
                .as_deref()
                .unwrap_or("application/json");
            req = req.header(CONTENT_TYPE, content_type).body(body.to_vec());
        }
        let response = req.send().await.map_err(transport_error)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport_error)?;
        Ok(RawResponse {
            status,
            headers,
            body: body.to_vec(),
        })
    }

    /// Sends a request through the breaker, the limiter, auth and the retry policy. Returns
    /// only 2xx responses; everything else is an [`Error`].
    pub(crate) async fn execute(&self, request: &ApiRequest) -> Result<RawResponse> {
        request.check()?;
        let path_and_query = request.path_and_query();
        let mut attempt = 1u32;
        let mut refreshed = false;
        loop {
            // The token comes first: a refresh is a request of its own through this loop.
            let token = if request.authenticated {
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
            let span = tracing::debug_span!(
                "kommo.request",
                method = %request.method(),
                path = %request.path(),
                attempt,
                status = tracing::field::Empty
            );
            let outcome = self
                .send_once(request, &path_and_query, token.as_ref())
                .instrument(span.clone())
                .await;
            let response = match outcome {
                Ok(response) => response,
                Err(error) => {
                    drop(guard);
                    let Error::Transport { kind, .. } = &error else {
                        return Err(error);
                    };
                    tracing::debug!(parent: &span, ?kind, "transport error");
                    let decision = self.inner.retry.decide(
                        attempt,
                        AttemptOutcome::Transport(*kind),
                        request.is_safe_to_retry(),
                        fastrand::f64(),
                    );
                    match decision {
                        RetryDecision::Retry(wait) => {
                            tokio::time::sleep(wait).await;
                            attempt += 1;
                            continue;
                        }
                        RetryDecision::Stop => return Err(error),
                    }
                }
            };
            let RawResponse {
                status,
                ref headers,
                ref body,
            } = response;
            span.record("status", status);
            guard.armed = false;
            let signal = match status {
                403 => ResponseSignal::Forbidden {
                    problem_json: ApiProblem::from_response(status, None, body).is_problem_json(),
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
                    Some(ApiProblem::from_response(status, request_id, body)),
                ));
            }
            if (200..300).contains(&status) {
                return Ok(response);
            }
            if status == 401 && request.authenticated && self.inner.auth.is_oauth() && !refreshed {
                refreshed = true;
                if let Some(stale) = &token {
                    tracing::debug!(parent: &span, "401 with an OAuth token; refreshing once");
                    self.refresh_replacing(stale).await?;
                    continue;
                }
            }
            let error = Error::from_response(status, request_id, header_seconds(headers), body);
            let outcome = AttemptOutcome::Status {
                status,
                retry_after: error.retry_after(),
            };
            match self.inner.retry.decide(
                attempt,
                outcome,
                request.is_safe_to_retry(),
                fastrand::f64(),
            ) {
                RetryDecision::Retry(wait) => {
                    tracing::debug!(parent: &span, ?wait, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                RetryDecision::Stop => return Err(error),
            }
        }
    }

    /// Sends a request built by hand, for endpoints this crate does not model, through the
    /// same authentication, rate limiter, circuit breaker, retries and error decoding as the
    /// typed calls.
    ///
    /// ```no_run
    /// use kommo_client::{ApiRequest, Client, Method};
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let request = ApiRequest::raw(Method::GET, "/api/v4/leads/loss_reasons").query("page", "1");
    /// let reasons: Option<serde_json::Value> = client.raw(request).await?.json()?;
    /// # let _ = reasons; Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for a path without a leading `/` or with its own query
    /// (nothing is sent), otherwise any [`Error`] of the request. Only 2xx answers are `Ok`.
    pub async fn raw(&self, request: ApiRequest) -> Result<RawResponse> {
        self.execute(&request).await
    }

    /// Sends a request and parses the answer as `T`; `None` on 204 or an empty body.
    pub(crate) async fn json<T: DeserializeOwned>(&self, request: ApiRequest) -> Result<Option<T>> {
        self.execute(&request).await?.json()
    }

    /// `GET` a JSON body; `None` on 204.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: impl Into<String>,
        query: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Option<T>> {
        self.json(ApiRequest::get(path).queries(query)).await
    }

    /// `DELETE path` (with a JSON body when given); any 2xx is success. Not re-sent after an
    /// ambiguous failure: a second delete of what the first removed would fail.
    pub(crate) async fn delete<B: serde::Serialize + ?Sized>(
        &self,
        path: impl Into<String>,
        body: Option<&B>,
    ) -> Result<()> {
        let mut request = ApiRequest::raw(http::Method::DELETE, path);
        if let Some(body) = body {
            request = request.json_body(body)?;
        }
        self.execute(&request).await.map(drop)
    }

    /// A JSON write (`POST`, `PATCH`, `PUT`) whose answer is parsed as `T`.
    pub(crate) async fn send_json<B, T>(
        &self,
        method: http::Method,
        path: impl Into<String>,
        body: &B,
        safe_to_retry: bool,
    ) -> Result<Option<T>>
    where
        B: serde::Serialize + ?Sized,
        T: DeserializeOwned,
    {
        let request = ApiRequest::raw(method, path)
            .json_body(body)?
            .safe_to_retry(safe_to_retry);
        self.json(request).await
    }

    /// A single-entity write returning `{id, updated_at, ...}`.
    pub(crate) async fn write_one(&self, request: ApiRequest) -> Result<WriteResult> {
        self.json(request)
            .await?
            .ok_or_else(|| Error::unexpected_body("empty response to a write", b""))
    }
}
