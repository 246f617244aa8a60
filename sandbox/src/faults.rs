//! Fault injection, shared by every fake in this crate.
//!
//! A [`Faults`] handle holds the knobs ([`FaultConfig`]), one-shot counters, and a seeded
//! random generator so that a test run is reproducible. For each API request a fake draws the
//! latency ([`Faults::draw_latency`]) and, once the request is authenticated, the action
//! ([`Faults::draw_action`]), then carries them out. Inspection routes never see faults.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The fault knobs. All off by default.
///
/// In the order a request meets them:
///
/// | knob | effect |
/// | --- | --- |
/// | [`latency`](Self::latency) (+ [`latency_jitter`](Self::latency_jitter)) | every API request waits `latency + uniform(0..=jitter)` before anything else happens |
/// | [`force_429_rate`](Self::force_429_rate), [`Faults::force_429_next`] | the request is refused with 429 as if the rate limit were hit: nothing is applied and no rate-limit token is used |
/// | [`error_rate`](Self::error_rate), [`Faults::fail_next`] | the request is answered with a 500 (JSON body), 502 or 503 (HTML load-balancer page), chosen at random, **without being applied** |
/// | [`drop_rate`](Self::drop_rate), [`Faults::drop_next`] | the request **is applied**, then the connection is cut mid-answer: the client gets the status line, the headers and half of the body, then a broken connection (a transport error while reading the body). This is "processed, but the answer was lost", the case idempotency keys exist for |
///
/// Only latency applies to requests with a wrong API key; the other faults are drawn for
/// authenticated API requests only. The one-shot counters (`*_next`) fire before the rates are
/// consulted, so a test can place a fault on an exact request without randomness. A drawn
/// 5xx or drop loses to the real rate limit when the bucket is empty (the request gets the
/// real 429, and the one-shot is used up).
///
/// ```
/// use kommo_loops_sandbox::FaultConfig;
/// use std::time::Duration;
///
/// let flaky = FaultConfig::none()
///     .error_rate(0.3)
///     .latency(Duration::from_millis(20))
///     .latency_jitter(Duration::from_millis(10));
/// assert_eq!(flaky.error_rate, 0.3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct FaultConfig {
    /// Probability (0 to 1) that a request is answered with a 500, 502 or 503 without being
    /// applied.
    pub error_rate: f64,
    /// Delay added to every API request.
    #[serde(rename = "latencyMs", with = "millis")]
    pub latency: Duration,
    /// Up to this much extra delay, drawn uniformly per request.
    #[serde(rename = "latencyJitterMs", with = "millis")]
    pub latency_jitter: Duration,
    /// Probability (0 to 1) that a request is applied and then its connection is cut before
    /// the answer is complete.
    pub drop_rate: f64,
    /// Probability (0 to 1) that a request is refused with 429 regardless of the rate limit.
    pub force_429_rate: f64,
}

impl FaultConfig {
    /// No faults.
    pub fn none() -> Self {
        FaultConfig::default()
    }

    /// Sets [`error_rate`](Self::error_rate) (clamped to 0..=1 when applied).
    pub fn error_rate(mut self, rate: f64) -> Self {
        self.error_rate = rate;
        self
    }

    /// Sets [`latency`](Self::latency).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets [`latency_jitter`](Self::latency_jitter).
    pub fn latency_jitter(mut self, jitter: Duration) -> Self {
        self.latency_jitter = jitter;
        self
    }

    /// Sets [`drop_rate`](Self::drop_rate) (clamped to 0..=1 when applied).
    pub fn drop_rate(mut self, rate: f64) -> Self {
        self.drop_rate = rate;
        self
    }

    /// Sets [`force_429_rate`](Self::force_429_rate) (clamped to 0..=1 when applied).
    pub fn force_429_rate(mut self, rate: f64) -> Self {
        self.force_429_rate = rate;
        self
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// The injected server errors. Real APIs behind load balancers answer 502/503 with HTML, so
/// clients must cope with non-JSON error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// `500` with the fake's own JSON error body.
    #[default]
    InternalJson,
    /// `502` with an HTML load-balancer page.
    BadGatewayHtml,
    /// `503` with an HTML load-balancer page.
    UnavailableHtml,
}

impl ServerErrorKind {
    const ALL: [ServerErrorKind; 3] = [
        ServerErrorKind::InternalJson,
        ServerErrorKind::BadGatewayHtml,
        ServerErrorKind::UnavailableHtml,
    ];

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ServerErrorKind::InternalJson => StatusCode::INTERNAL_SERVER_ERROR,
            ServerErrorKind::BadGatewayHtml => StatusCode::BAD_GATEWAY,
            ServerErrorKind::UnavailableHtml => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The answer, with `json_body` used for the JSON variant.
    pub(crate) fn response(self, json_body: serde_json::Value) -> Response {
        let status = self.status();
        match self {
            ServerErrorKind::InternalJson => (status, axum::Json(json_body)).into_response(),
            ServerErrorKind::BadGatewayHtml | ServerErrorKind::UnavailableHtml => {
                let reason = status.canonical_reason().unwrap_or("Error");
                let code = status.as_u16();
                let html = format!(
                    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n\
                     <center><h1>{code} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
                );
                (
                    status,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    html,
                )
                    .into_response()
            }
        }
    }
}

/// What the fault layer does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Nothing: the request is handled normally.
    None,
    /// Refuse with 429, as if the rate limit were hit.
    Force429,
    /// Answer with this server error, without applying the request.
    ServerError(ServerErrorKind),
    /// Apply the request, then cut the connection before the answer is complete.
    Drop,
}

/// The faults drawn for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultPlan {
    /// Delay before handling.
    pub latency: Duration,
    /// What to do.
    pub action: FaultAction,
}

struct FaultState {
    config: FaultConfig,
    rng: fastrand::Rng,
    force_429_next: u32,
    fail_next: u32,
    drop_next: u32,
}

/// The fault knobs of one running fake, changeable while it runs. Cheap to clone; clones
/// share the same knobs.
///
/// ```
/// use kommo_loops_sandbox::{FaultConfig, Faults};
/// use std::time::Duration;
///
/// let faults = Faults::new(FaultConfig::none(), 7);
/// faults.set(FaultConfig::none().error_rate(0.5));
/// faults.update(|c| c.latency = Duration::from_millis(5));
/// faults.force_429_next(2);
/// assert_eq!(faults.config().latency, Duration::from_millis(5));
/// faults.clear();
/// assert_eq!(faults.config(), FaultConfig::none());
/// ```
#[derive(Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

impl Faults {
    /// Knobs starting at `config`, with a random generator seeded by `seed` (the same seed and
    /// the same sequence of requests give the same faults).
    pub fn new(config: FaultConfig, seed: u64) -> Self {
        Faults {
            inner: Arc::new(Mutex::new(FaultState {
                config: sanitize(config),
                rng: fastrand::Rng::with_seed(seed),
                force_429_next: 0,
                fail_next: 0,
                drop_next: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the knobs (the one-shot counters are kept).
    pub fn set(&self, config: FaultConfig) {
        self.lock().config = sanitize(config);
    }

    /// Changes some knobs.
    pub fn update(&self, change: impl FnOnce(&mut FaultConfig)) {
        let mut state = self.lock();
        let mut config = state.config.clone();
        change(&mut config);
        state.config = sanitize(config);
    }

    /// The current knobs.
    pub fn config(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// Refuses the next `n` API requests with 429 (added to any still pending).
    pub fn force_429_next(&self, n: u32) {
        let mut state = self.lock();
        state.force_429_next = state.force_429_next.saturating_add(n);
    }

    /// Answers the next `n` API requests with a server error, without applying them.
    pub fn fail_next(&self, n: u32) {
        let mut state = self.lock();
        state.fail_next = state.fail_next.saturating_add(n);
    }

    /// Applies the next `n` API requests and then cuts their connections.
    pub fn drop_next(&self, n: u32) {
        let mut state = self.lock();
        state.drop_next = state.drop_next.saturating_add(n);
    }

    /// Turns every fault off and zeroes the one-shot counters (the generator keeps its state).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.config = FaultConfig::none();
        state.force_429_next = 0;
        state.fail_next = 0;
        state.drop_next = 0;
    }

    /// Puts the knobs back to `config` and reseeds the generator (used by a fake's reset).
    pub(crate) fn restore(&self, config: FaultConfig, seed: u64) {
        let mut state = self.lock();
        state.config = sanitize(config);
        state.rng = fastrand::Rng::with_seed(seed);
        state.force_429_next = 0;
        state.fail_next = 0;
        state.drop_next = 0;
    }

    /// Draws the added latency for one request (every API request waits it out).
    pub fn draw_latency(&self) -> Duration {
        let mut state = self.lock();
        let (latency, jitter) = (state.config.latency, state.config.latency_jitter);
        if jitter.is_zero() {
            return latency;
        }
        let max = u64::try_from(jitter.as_micros()).unwrap_or(u64::MAX);
        latency + Duration::from_micros(state.rng.u64(0..=max))
    }

    /// Draws what happens to one request that passed authentication. One-shot counters come
    /// first; then forced 429s win over errors, errors over drops.
    pub fn draw_action(&self) -> FaultAction {
        let mut guard = self.lock();
        let state = &mut *guard;
        let config = &state.config;
        if take_one(&mut state.force_429_next) {
            FaultAction::Force429
        } else if take_one(&mut state.fail_next) {
            FaultAction::ServerError(state.rng.choice(ServerErrorKind::ALL).unwrap_or_default())
        } else if take_one(&mut state.drop_next) {
            FaultAction::Drop
        } else if hit(&mut state.rng, config.force_429_rate) {
            FaultAction::Force429
        } else if hit(&mut state.rng, config.error_rate) {
            FaultAction::ServerError(state.rng.choice(ServerErrorKind::ALL).unwrap_or_default())
        } else if hit(&mut state.rng, config.drop_rate) {
            FaultAction::Drop
        } else {
            FaultAction::None
        }
    }

    /// Both draws at once, for a request known to be authenticated.
    pub fn plan(&self) -> FaultPlan {
        FaultPlan {
            latency: self.draw_latency(),
            action: self.draw_action(),
        }
    }
}

fn take_one(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

/// A draw is only made for a non-zero rate, so turning one knob on does not shift the
/// sequence of the others while it is off.
fn hit(rng: &mut fastrand::Rng, rate: f64) -> bool {
    rate > 0.0 && rng.f64() < rate
}

fn sanitize(mut config: FaultConfig) -> FaultConfig {
    let clamp = |rate: f64| {
        if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        }
    };
    config.error_rate = clamp(config.error_rate);
    config.drop_rate = clamp(config.drop_rate);
    config.force_429_rate = clamp(config.force_429_rate);
    config
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Faults")
            .field("config", &state.config)
            .field("force_429_next", &state.force_429_next)
            .field("fail_next", &state.fail_next)
            .field("drop_next", &state.drop_next)
            .finish_non_exhaustive()
    }
}

/// Turns a complete answer into one whose connection breaks: the status line, the headers and
/// the first half of the body go out, then the body stream fails, so the server aborts the
/// connection and the client sees a transport error while reading the body.
pub(crate) async fn cut_connection(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    // The length must not be announced, or the client could notice the short body only by
    // counting; with chunked encoding the missing terminator is what breaks.
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    let head = bytes.slice(..bytes.len() / 2);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(head),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection dropped after the request was applied",
        )),
    ];
    Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(faults: &Faults, n: usize) -> Vec<FaultAction> {
        (0..n).map(|_| faults.plan().action).collect()
    }

    #[test]
    fn one_shots_come_first_and_in_order() {
        let faults = Faults::new(FaultConfig::none(), 1);
        faults.drop_next(1);
        faults.fail_next(1);
        faults.force_429_next(2);
        let got = actions(&faults, 5);
        assert_eq!(got[0], FaultAction::Force429);
        assert_eq!(got[1], FaultAction::Force429);
        assert!(matches!(got[2], FaultAction::ServerError(_)));
        assert_eq!(got[3], FaultAction::Drop);
        assert_eq!(got[4], FaultAction::None);
    }

    #[test]
    fn rates_are_reproducible_and_roughly_right() {
        let config = FaultConfig::none().error_rate(0.3);
        let a = actions(&Faults::new(config.clone(), 42), 2000);
        let b = actions(&Faults::new(config, 42), 2000);
        assert_eq!(a, b);
        let errors = a
            .iter()
            .filter(|x| matches!(x, FaultAction::ServerError(_)))
            .count();
        assert!((480..720).contains(&errors), "{errors}");
        // Every error kind shows up.
        for kind in ServerErrorKind::ALL {
            assert!(a.contains(&FaultAction::ServerError(kind)), "{kind:?}");
        }
    }

    #[test]
    fn latency_and_clamping() {
        let faults = Faults::new(
            FaultConfig::none()
                .latency(Duration::from_millis(10))
                .latency_jitter(Duration::from_millis(5))
                .drop_rate(7.0)
                .error_rate(f64::NAN),
            3,
        );
        assert_eq!(faults.config().drop_rate, 1.0);
        assert_eq!(faults.config().error_rate, 0.0);
        for _ in 0..100 {
            let plan = faults.plan();
            assert!(plan.latency >= Duration::from_millis(10));
            assert!(plan.latency <= Duration::from_millis(15));
            assert_eq!(plan.action, FaultAction::Drop);
        }
    }

    #[test]
    fn config_json_uses_milliseconds() {
        let config = FaultConfig::none()
            .latency(Duration::from_millis(25))
            .force_429_rate(0.5);
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["latencyMs"], 25);
        assert_eq!(json["force429Rate"], 0.5);
        let back: FaultConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, config);
        let partial: FaultConfig = serde_json::from_str(r#"{"dropRate":0.1}"#).unwrap();
        assert_eq!(partial, FaultConfig::none().drop_rate(0.1));
    }
}
