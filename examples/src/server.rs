//! A production-shaped webhook server on axum: `POST /webhooks/kommo/{token}`,
//! `POST /webhooks/loops`, `GET /healthz`. The `server` example runs it from environment
//! variables; the demo and the tests run it in-process.
//!
//! Kommo signs nothing, so its webhook URL carries a secret path token, compared in constant
//! time. Loops deliveries are verified by signature. Both are stored durably before they are
//! answered, and executed afterwards by the bridge's workers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kommo_loops_bridge::runtime::health::LogLimiter;
use kommo_loops_bridge::runtime::preflight::{self, Status};
use kommo_loops_bridge::runtime::{Bridge, MAX_BODY_BYTES, Reply};
use subtle::ConstantTimeEq;

pub use crate::listener::ConnectionLimits;

/// What the router needs.
#[derive(Clone)]
struct AppState {
    bridge: Bridge,
    kommo_token: Arc<str>,
    body_timeout: Duration,
    /// Limits the warnings about requests with a wrong path token.
    wrong_token_log: Arc<Mutex<LogLimiter>>,
}

/// The routes, over a bridge. `kommo_token` is the secret path segment of the Kommo webhook URL;
/// a request body must arrive within `body_timeout` of its head.
pub fn router(bridge: Bridge, kommo_token: &str, body_timeout: Duration) -> Router {
    let state = AppState {
        bridge,
        kommo_token: Arc::from(kommo_token),
        body_timeout,
        wrong_token_log: Arc::default(),
    };
    Router::new()
        .route("/webhooks/kommo/{token}", post(kommo_webhook))
        .route("/webhooks/loops", post(loops_webhook))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // One byte over the limit is enough to refuse; the handlers turn it into a JSON 413.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn error(status: u16, message: impl Into<String>) -> Reply {
    Reply::error(status, message)
}

/// A body the extractor refused (too large, unreadable) as a JSON error.
fn body_error(rejection: &BytesRejection) -> Reply {
    let status = rejection.status().as_u16();
    if status == 413 {
        error(
            413,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        )
    } else {
        error(
            status,
            format!("the body could not be read: {}", rejection.body_text()),
        )
    }
}

/// Reads the request's body, within the body deadline and the size limit.
async fn read_body(request: Request, deadline: Duration) -> Result<Bytes, Reply> {
    match tokio::time::timeout(deadline, Bytes::from_request(request, &())).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(rejection)) => Err(body_error(&rejection)),
        Err(_) => Err(error(
            408,
            format!(
                "the body did not arrive within {} s",
                deadline.as_secs_f64()
            ),
        )),
    }
}

async fn kommo_webhook(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    // Constant time, so the token cannot be guessed byte by byte from response times.
    let matches: bool = token.as_bytes().ct_eq(state.kommo_token.as_bytes()).into();
    if !matches {
        // Not counted by the health guard (Kommo never sees these answers), and logged at most
        // once a minute: anyone can send them.
        let allowed = state
            .wrong_token_log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .allow(std::time::Instant::now());
        if let Some(held_back) = allowed {
            tracing::warn!(
                held_back,
                "refused a Kommo webhook request with an unknown path token"
            );
        }
        return error(403, "unknown webhook token").into_response();
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match read_body(request, state.body_timeout).await {
        Ok(body) => state
            .bridge
            .ingest_kommo(content_type.as_deref(), &body)
            .await
            .into_response(),
        Err(refused) => {
            state.bridge.record_kommo_answer(&refused);
            refused.into_response()
        }
    }
}

async fn loops_webhook(State(state): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    match read_body(request, state.body_timeout).await {
        Err(refused) => refused.into_response(),
        Ok(body) => state
            .bridge
            .ingest_loops(&headers, &body, std::time::SystemTime::now())
            .await
            .into_response(),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    let bridge = &state.bridge;
    let kommo = bridge.kommo_webhook_health();
    let (stats, dead) = match tokio::try_join!(bridge.outbox().stats(), bridge.dead_letters()) {
        Ok(found) => found,
        Err(e) => return error(503, format!("the outbox is unavailable: {e}")).into_response(),
    };
    let preflight = bridge.preflight();
    let preflight_failed = preflight.as_ref().is_some_and(|r| !r.passed());
    let (catch_up, catch_up_warning) = catch_up_health(bridge);
    let status =
        if kommo.warning || dead.count > 0 || preflight_failed || catch_up_warning.is_some() {
            "warning"
        } else {
            "ok"
        };
    let body = serde_json::json!({
        "status": status,
        "outbox": {
            "pending": stats.pending,
            "running": stats.leased,
            "done": stats.done + stats.already_done,
            "dead": stats.dead,
        },
        "deadLetters": {
            "count": dead.count,
            "latest": dead.latest.map(|d| serde_json::json!({
                "item": d.item_id,
                "key": d.key,
                "job": d.job,
                "reason": d.reason,
            })),
        },
        "kommoWebhook": { "invalidAnswersLast2h": kommo.invalid_in_window, "warning": kommo.warning },
        "kommoCatchUp": catch_up,
        "loopsWebhook": {
            "lastVerifiedDelivery": bridge.last_loops_delivery().map(|(at, event)| serde_json::json!({
                "at": at.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                "event": event,
            })),
        },
        "preflight": preflight.map(|report| serde_json::json!({
            "ok": report.passed(),
            "failed": report.with_status(Status::Failed).map(ToString::to_string).collect::<Vec<_>>(),
            "warnings": report.with_status(Status::Warning).map(ToString::to_string).collect::<Vec<_>>(),
        })),
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// What the catch-up found (the subscription, missed webhooks), and its warning if any.
fn catch_up_health(bridge: &Bridge) -> (serde_json::Value, Option<String>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    crate::catch_up::health(&bridge.catch_up_status(), now)
}

async fn not_found() -> Response {
    error(404, "no such route").into_response()
}

/// A route that exists, asked with another method (`GET /webhooks/loops`): JSON like every
/// other error, with the method it takes (the path is not echoed: it may hold the token).
async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    let allowed = if uri.path() == "/healthz" {
        "GET"
    } else {
        "POST"
    };
    let mut response = error(
        405,
        format!("method not allowed: this route takes {allowed}"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::ALLOW, axum::http::HeaderValue::from_static(allowed));
    response
}

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// A server that is not running (any more) at `addr`: shutting it down does nothing.
    pub(crate) fn stopped(addr: SocketAddr) -> Self {
        let (stop, _) = tokio::sync::oneshot::channel();
        RunningServer {
            addr,
            stop,
            handle: tokio::spawn(async { Ok(()) }),
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish (at most `grace`), and returns.
    pub async fn shutdown(self, grace: Duration) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(grace, self.handle).await;
    }
}

/// Runs what the `server` example runs: the bridge `config` describes (its outbox, clients
/// and rules), its workers, and the routes on `config.bind`. Calls `ready` with the address
/// once it listens; when `stop` resolves it stops accepting, lets requests in flight finish,
/// then lets each worker finish its job. A job cut short by a crash instead is taken over by
/// the next start once its lease expires.
pub async fn run(
    config: &crate::config::ServerConfig,
    ready: impl FnOnce(SocketAddr),
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), String> {
    let started = crate::setup::bridge_and_clients(config).await?;
    let bridge = started.bridge.clone();
    let workers = bridge.spawn_workers(config.workers);
    let catch_up = spawn_catch_up(&bridge, config);
    let server = match serve_with(
        bridge.clone(),
        &config.kommo_webhook_token,
        config.bind,
        config.connections,
    )
    .await
    {
        Ok(server) => server,
        Err(e) => {
            if let Some(catch_up) = catch_up {
                catch_up.shutdown().await;
            }
            workers.shutdown().await;
            return Err(format!("cannot listen on {}: {e}", config.bind));
        }
    };
    // After listening, so that no webhook waits for it; /healthz shows it once it is done.
    let options = crate::setup::preflight_options(config);
    let preflight = tokio::spawn(async move {
        let report =
            preflight::check(&started.rules, &started.loops, &started.kommo, &options).await;
        crate::check::log(&report);
        started.bridge.record_preflight(report);
    });
    ready(server.addr);
    stop.await;
    preflight.abort();
    server.shutdown(Duration::from_secs(5)).await;
    if let Some(catch_up) = catch_up {
        catch_up.shutdown().await;
    }
    workers.shutdown().await;
    Ok(())
}

/// Starts the catch-up from Kommo's events log, unless `CATCH_UP=off`.
fn spawn_catch_up(
    bridge: &Bridge,
    config: &crate::config::ServerConfig,
) -> Option<kommo_loops_bridge::runtime::CatchUpTask> {
    if !config.catch_up.enabled {
        tracing::warn!(
            "CATCH_UP=off: Kommo changes whose webhooks are lost are not recovered (the \
             reconcile example can recover them later)"
        );
        return None;
    }
    if config.catch_up.public_url.is_none() {
        tracing::info!(
            "PUBLIC_URL is not set: the catch-up cannot check Kommo's webhook subscription \
             (it still recovers missed changes from the events log)"
        );
    }
    Some(bridge.spawn_catch_up(config.catch_up.config(&config.kommo_webhook_token)))
}

/// Serves the router on `addr` (port 0 picks a free one) in the background, with the default
/// [`ConnectionLimits`].
pub async fn serve(
    bridge: Bridge,
    kommo_token: &str,
    addr: SocketAddr,
) -> std::io::Result<RunningServer> {
    serve_with(bridge, kommo_token, addr, ConnectionLimits::default()).await
}

/// Like [`serve`], with these connection limits.
pub async fn serve_with(
    bridge: Bridge,
    kommo_token: &str,
    addr: SocketAddr,
    limits: ConnectionLimits,
) -> std::io::Result<RunningServer> {
    let listener = crate::listener::bind(addr)?;
    let addr = listener.local_addr()?;
    let app = router(bridge, kommo_token, limits.body_timeout);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(crate::listener::serve(listener, app, limits, async move {
        let _ = stopped.await;
    }));
    Ok(RunningServer { addr, stop, handle })
}
