//! The Loops fake: [`Sandbox`], started with a [`Config`].
//!
//! A fake of the Loops REST API v1 served over real HTTP on 127.0.0.1, with Loops' key check,
//! rate limit and idempotency keys, the content and workflow APIs (revisions, drafts and
//! publishing, a workflow graph, upload slots whose presigned `PUT` the fake serves itself,
//! the daily caps, switches for "API not enabled"), an inspection API, the shared fault
//! knobs, and signed outgoing webhooks. The README of this crate lists its routes and webhook
//! events.
//!
//! | for | items |
//! | --- | --- |
//! | starting | [`Sandbox`], [`Config`], [`DEFAULT_API_KEY`], [`DEFAULT_RATE_LIMIT`], [`IDEMPOTENCY_WINDOW`] |
//! | seeding | [`NewContact`], [`MailingListSeed`], [`TransactionalTemplate`], [`PropertyKind`], [`SeedError`] |
//! | inspecting | [`Contact`], [`RecordedEvent`], [`RecordedTransactional`], [`IdempotencyConflict`], [`Upload`], [`RecordedPreview`] |
//! | content and workflows | [`Sandbox::set_api_enabled`], [`Sandbox::uploads`], [`Sandbox::previews`], [`Sandbox::set_workflow_status`], [`Sandbox::queue_contacts`], [`Sandbox::set_campaign_status`], [`Sandbox::add_event_pattern`] |
//! | outgoing webhooks | [`WebhookDelivery`], [`DeliveryOptions`], [`SignatureMode`], [`EmailEventKind`], [`EmailSource`], [`WebhookSendError`] |

mod config;
mod contacts;
mod content;
mod emit;
mod gate;
mod inspect;
mod inspect_http;
mod model;
mod request;
mod routes;
mod sends;
mod state;
mod webhooks;

pub use config::{
    Config, DEFAULT_API_KEY, DEFAULT_RATE_LIMIT, IDEMPOTENCY_WINDOW, MailingListSeed, PropertyKind,
    TransactionalTemplate,
};
pub use content::{RecordedPreview, Upload};
pub use inspect::{NewContact, SeedError};
pub use model::{Contact, IdempotencyConflict, RecordedEvent, RecordedTransactional};
pub use webhooks::{
    DeliveryOptions, EmailEventKind, EmailSource, SignatureMode, WebhookDelivery, WebhookSendError,
};

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use tokio::time::Instant;

use crate::faults::Faults;
use crate::rate_limit::TokenBucket;
use crate::server::ServerHandle;
use config::WebhookTarget;
use sends::SendContext;
use state::State;

/// How long an outgoing webhook may take before it counts as a transport error.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// What the handlers, the gate and the inspection routes share.
pub(crate) struct Inner {
    pub(crate) config: Config,
    /// `http://127.0.0.1:PORT/api`.
    pub(crate) base_url: String,
    pub(crate) faults: Faults,
    state: Mutex<State>,
    bucket: Option<Mutex<TokenBucket>>,
    webhook: Mutex<Option<WebhookTarget>>,
    pub(crate) http: reqwest::Client,
}

impl Inner {
    /// The store. A panic while it was held cannot leave it half-changed in a way that matters
    /// more than failing every later test, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lock_webhook(&self) -> MutexGuard<'_, Option<WebhookTarget>> {
        self.webhook.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn send_context(&self) -> SendContext {
        SendContext {
            strict_properties: self.config.strict_properties,
            attachments_enabled: self.config.attachments_enabled,
            window: self.config.idempotency_window,
            now: Instant::now(),
        }
    }

    /// `x-ratelimit-limit`, or `None` when unlimited.
    pub(crate) fn rate_limit(&self) -> Option<u32> {
        self.bucket.as_ref().map(|b| lock_bucket(b).limit())
    }

    /// Takes a token: `Ok(remaining)` (`None` when unlimited) or how long until one is free.
    pub(crate) fn take_token(&self, now: Instant) -> Result<Option<u32>, Duration> {
        match &self.bucket {
            None => Ok(None),
            Some(bucket) => lock_bucket(bucket)
                .try_take(now)
                .map(Some)
                .map_err(|refused| refused.retry_in),
        }
    }

    /// Tokens left without taking one (for answers that use none).
    pub(crate) fn rate_remaining(&self, now: Instant) -> Option<u32> {
        self.bucket.as_ref().map(|b| lock_bucket(b).remaining(now))
    }

    pub(crate) fn refill_bucket(&self) {
        if let Some(bucket) = &self.bucket {
            lock_bucket(bucket).fill(Instant::now());
        }
    }
}

fn lock_bucket(bucket: &Mutex<TokenBucket>) -> MutexGuard<'_, TokenBucket> {
    bucket.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A fake of the Loops API, served over real HTTP on 127.0.0.1, with in-memory state.
///
/// Point [`loops_client::Client`](https://docs.rs/loops-client) (or any HTTP client) at
/// [`base_url`](Self::base_url) with [`api_key`](Self::api_key). The sandbox stops on
/// [`shutdown`](Self::shutdown), or when dropped.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use kommo_loops_sandbox::loops::{Config, Sandbox, TransactionalTemplate};
///
/// let sandbox = Sandbox::start(
///     Config::default()
///         .transactional(TransactionalTemplate::new("tx_welcome", "Welcome").required(["name"])),
/// )
/// .await?;
/// // loops_client::Client::builder().api_key(sandbox.api_key()).base_url(sandbox.base_url()).build()
/// // ... exercise your code ...
/// assert!(sandbox.transactional_sends().is_empty());
/// sandbox.faults().fail_next(1); // the next API request gets a 5xx
/// sandbox.shutdown().await;
/// # Ok(()) }
/// ```
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
    server: ServerHandle,
}

impl Sandbox {
    /// Starts a sandbox on the current tokio runtime.
    ///
    /// Fails when the port cannot be bound or the HTTP client for webhooks cannot be built.
    pub async fn start(config: Config) -> io::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .user_agent("Loops-Webhooks (kommo-loops-sandbox)")
            .build()
            .map_err(io::Error::other)?;
        let mut built: Option<Arc<Inner>> = None;
        let server = ServerHandle::start(config.shared.port, |addr| {
            let inner = Arc::new(Inner {
                base_url: format!("http://{addr}/api"),
                faults: Faults::new(config.shared.faults.clone(), config.shared.seed),
                state: Mutex::new(State::new(&config)),
                bucket: config
                    .shared
                    .rate_limit
                    .map(|rate| Mutex::new(TokenBucket::new(rate, Instant::now()))),
                webhook: Mutex::new(config.webhook.clone()),
                http,
                config,
            });
            built = Some(inner.clone());
            Ok(router(inner))
        })
        .await?;
        let inner = built.ok_or_else(|| io::Error::other("the router was not built"))?;
        Ok(Sandbox { inner, server })
    }

    /// The base URL to give a Loops client: `http://127.0.0.1:PORT/api` (the client appends
    /// `/v1/...`).
    pub fn base_url(&self) -> String {
        self.inner.base_url.clone()
    }

    /// The inspection API's base URL: `http://127.0.0.1:PORT/_sandbox`.
    pub fn inspect_url(&self) -> String {
        format!("http://{}/_sandbox", self.server.addr())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The API key the sandbox accepts.
    pub fn api_key(&self) -> &str {
        &self.inner.config.api_key
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The fault knobs, changeable while the sandbox runs.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// Stops the server: no new connections, requests in flight may finish (up to 2 s).
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &"[redacted]")
            .field("faults", &self.inner.faults)
            .finish_non_exhaustive()
    }
}

/// The whole server: the API behind the gate, and the inspection routes beside it.
fn router(inner: Arc<Inner>) -> Router {
    let api = routes::api_router(inner.clone()).layer(axum::middleware::from_fn_with_state(
        inner.clone(),
        gate::gate,
    ));
    Router::new()
        .nest("/api", api)
        .nest("/_sandbox", inspect_http::router(inner.clone()))
        .merge(content::upload_routes().with_state(inner))
        .fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({ "success": false, "message": "Not found." })),
            )
        })
}
