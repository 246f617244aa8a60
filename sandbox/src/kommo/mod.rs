//! The Kommo fake: [`Sandbox`], started with a [`Config`].
//!
//! A fake of the Kommo (amoCRM) API v4 served over real HTTP on 127.0.0.1, with Kommo's
//! token check, OAuth, rate limit and IP block, an inspection API, the shared fault knobs, the
//! form-encoded webhooks Kommo sends, and a scenario API for what a person does in Kommo's UI.
//! The README of this crate lists its routes and webhook events.
//!
//! | for | items |
//! | --- | --- |
//! | starting | [`Sandbox`], [`Config`], [`DEFAULT_TOKEN`], [`DEFAULT_RATE_LIMIT`], [`DEFAULT_RATE_TOLERANCE`], [`WebhookPolicy`], [`OAuthApp`], [`IdBases`] |
//! | account settings | [`PipelineSeed`], [`StatusSeed`], [`CustomFieldSeed`], [`EnumSeed`], [`UserSeed`], [`TaskTypeSeed`], [`defaults`], [`saas_onboarding`] |
//! | scenario actions | [`NewContact`], [`NewCompany`], [`NewLead`], [`NewTask`], [`ContactUpdate`], [`CompanyUpdate`], [`LeadUpdate`], [`FieldSet`], [`FieldKey`], [`ScenarioError`] |
//! | inspecting | [`LoggedEvent`], [`Lead`], [`Contact`], [`Company`], [`Note`], [`Task`], [`Tag`], [`Link`], [`FieldValues`], [`FieldValue`], [`Subscription`], [`Conditions`], [`TokenPair`] |
//! | outgoing webhooks | [`WebhookDelivery`], [`all_webhook_settings`] |

mod activity;
mod config;
mod delivery;
mod entity;
mod event_log;
mod events;
mod fields;
mod gate;
mod inspect;
mod inspect_http;
mod model;
mod oauth;
mod render;
mod request;
mod routes;
mod sales;
mod scenario;
mod seeds;
mod state;
mod writes;

pub use config::{
    Config, DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET, DEFAULT_OAUTH_REDIRECT_URI,
    DEFAULT_RATE_LIMIT, DEFAULT_RATE_TOLERANCE, DEFAULT_TOKEN, IdBases, OAuthApp, WebhookPolicy,
    all_webhook_settings,
};
pub use event_log::LoggedEvent;
pub use inspect::Conditions;
pub use model::{
    Company, Contact, FieldValue, FieldValues, Lead, LeadContactLink, Link, Note, Subscription,
    Tag, Task, ValidationIssue, WebhookDelivery,
};
pub use oauth::TokenPair;
pub use scenario::{
    CompanyUpdate, ContactUpdate, FieldKey, FieldSet, LeadUpdate, NewCompany, NewContact, NewLead,
    NewTask, ScenarioError,
};
pub use seeds::{
    CustomFieldSeed, EMAIL_KINDS, EnumSeed, PHONE_KINDS, PipelineSeed, StatusSeed, TaskTypeSeed,
    UserSeed, defaults, saas_onboarding,
};

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use tokio::time::Instant;

use crate::faults::Faults;
use crate::rate_limit::TokenBucket;
use crate::server::ServerHandle;
use delivery::{HookQueue, Job};
use events::HookAccount;
use render::Ctx;
use state::State;
use writes::Change;

/// Run-time switches beside the fault knobs: the IP block, the payment state, the batch size
/// that times out, and the recent 429s the automatic block counts.
#[derive(Debug, Default)]
pub(crate) struct LiveConditions {
    pub(crate) blocked: bool,
    pub(crate) payment_required: bool,
    pub(crate) batch_timeout_over: Option<usize>,
    recent_429: VecDeque<Instant>,
}

/// What the handlers, the gate and the inspection routes share.
pub(crate) struct Inner {
    pub(crate) config: Config,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) addr: SocketAddr,
    pub(crate) faults: Faults,
    state: Mutex<State>,
    bucket: Option<Mutex<TokenBucket>>,
    conditions: Mutex<LiveConditions>,
    pub(crate) hooks: HookQueue,
    pub(crate) http: reqwest::Client,
}

impl Inner {
    /// The store. A panic while it was held cannot leave it half-changed in a way that matters
    /// more than failing every later test, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn conditions(&self) -> MutexGuard<'_, LiveConditions> {
        self.conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn ctx(&self) -> Ctx {
        Ctx {
            base: self.base.clone(),
            account_id: self.config.account_id,
        }
    }

    pub(crate) fn hook_account(&self) -> HookAccount {
        HookAccount {
            id: self.config.account_id,
            subdomain: self.config.subdomain.clone(),
            url: self
                .config
                .account_url
                .clone()
                .unwrap_or_else(|| self.base.clone()),
        }
    }

    /// The long-lived token, or a live OAuth access token.
    pub(crate) fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = gate::bearer(headers) else {
            return false;
        };
        let state = self.lock();
        (token == self.config.token && !state.oauth.long_lived_revoked)
            || state.oauth.access_valid(token, Instant::now())
    }

    /// Takes a rate-limit token, or says how long until one is free.
    pub(crate) fn take_token(&self, now: Instant) -> Result<(), Duration> {
        match &self.bucket {
            None => Ok(()),
            Some(bucket) => bucket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .try_take(now)
                .map(|_| ())
                .map_err(|refused| refused.retry_in),
        }
    }

    fn refill_bucket(&self) {
        if let Some(bucket) = &self.bucket {
            bucket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .fill(Instant::now());
        }
    }

    /// Counts a 429 towards the automatic block.
    pub(crate) fn note_429(&self, now: Instant) {
        let Some((after, within)) = self.config.auto_block else {
            return;
        };
        let mut conditions = self.conditions();
        conditions.recent_429.push_back(now);
        while conditions
            .recent_429
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > within)
        {
            conditions.recent_429.pop_front();
        }
        if conditions.recent_429.len() >= after as usize {
            conditions.blocked = true;
            conditions.recent_429.clear();
        }
    }

    /// 504 for a batch larger than the configured threshold (Kommo's advice: send smaller
    /// batches), before anything is applied.
    pub(crate) fn check_batch_size(&self, size: usize) -> Result<(), request::ApiError> {
        match self.conditions().batch_timeout_over {
            Some(limit) if size > limit => Err(request::ApiError::new(
                axum::http::StatusCode::GATEWAY_TIMEOUT,
                "Gateway Timeout: the batch took too long, send fewer entities per request",
            )),
            _ => Ok(()),
        }
    }

    /// Queues the webhooks `changes` cause: one body per subscription that asked for any of
    /// them. Called with the store locked, right after the change, so queue order is change
    /// order.
    pub(crate) fn commit(&self, state: &mut State, changes: &[Change]) {
        self.log_events(state, changes);
        if changes.is_empty() || state.subscriptions.is_empty() {
            return;
        }
        let account = self.hook_account();
        let emissions = events::emissions(state, self.config.account_id, changes);
        let mut subscriptions: Vec<_> = state
            .subscriptions
            .iter()
            .filter(|s| !s.disabled)
            .map(|s| (s.sort, s.id, s.destination.clone(), s.settings.clone()))
            .collect();
        subscriptions.sort_by_key(|(sort, id, _, _)| (*sort, *id));
        let per_body = self.config.webhooks.per_body.max(1);
        for (_, id, url, settings) in subscriptions {
            for (body, names) in events::bodies_for(&settings, &account, &emissions, per_body) {
                let request_id = state.uuid();
                self.hooks.push(Job {
                    generation: self.hooks.generation(),
                    subscription: Some(id),
                    url: url.clone(),
                    request_id,
                    events: names,
                    body,
                });
            }
        }
    }

    /// Appends what `changes` did to the events log (deletions are made by the UI user).
    pub(crate) fn log_events(&self, state: &mut State, changes: &[Change]) {
        event_log::append(
            state,
            changes,
            self.config.ui_user,
            self.config.event_log_skew,
        );
    }

    /// Everything back to how the configuration started it.
    pub(crate) fn reset(&self) {
        self.hooks.next_generation();
        *self.lock() = State::new(&self.config);
        self.faults
            .restore(self.config.shared.faults.clone(), self.config.shared.seed);
        self.refill_bucket();
        *self.conditions() = LiveConditions::default();
    }
}

/// A fake of the Kommo API v4, served over real HTTP on 127.0.0.1, with in-memory state, an
/// inspection API, fault knobs, and the webhooks Kommo sends.
///
/// Point [`kommo_client::Client`](https://docs.rs/kommo-client) (or any HTTP client) at
/// [`base_url`](Self::base_url) with [`token`](Self::token). The sandbox stops on
/// [`shutdown`](Self::shutdown), or when dropped.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use kommo_loops_sandbox::kommo::{Config, NewContact, NewLead, Sandbox, saas_onboarding};
///
/// let kommo = Sandbox::start(Config::saas_onboarding()).await?;
/// kommo.subscribe_all("http://127.0.0.1:9000/hooks/kommo");
/// let ada = kommo
///     .create_contact(NewContact::new("Ada Lovelace").email("ada@example.com"))
///     .expect("valid contact");
/// let lead = kommo
///     .create_lead(
///         NewLead::new("Ada's trial")
///             .status(saas_onboarding::PIPELINE_ID, saas_onboarding::TRIAL)
///             .contact(ada)
///             .field("PLAN", "pro"),
///     )
///     .expect("valid lead");
/// kommo.move_lead(lead, saas_onboarding::ACTIVATED).expect("known status");
/// kommo.flush_webhooks().await; // contacts[add], leads[add], leads[status] delivered
/// # Ok(()) }
/// ```
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
    /// `None` for the views the inspection routes use.
    server: Option<ServerHandle>,
}

impl Sandbox {
    /// Starts a sandbox on the current tokio runtime, with its webhook sender.
    ///
    /// Fails when the port cannot be bound or the HTTP client for webhooks cannot be built.
    pub async fn start(config: Config) -> io::Result<Self> {
        let http = delivery::http_client()?;
        let (hooks, rx) = HookQueue::new();
        let policy = config.webhooks;
        let mut built: Option<Arc<Inner>> = None;
        let server = ServerHandle::start(config.shared.port, |addr| {
            let inner = Arc::new(Inner {
                base: format!("http://{addr}"),
                addr,
                faults: Faults::new(config.shared.faults.clone(), config.shared.seed),
                state: Mutex::new(State::new(&config)),
                bucket: config.shared.rate_limit.map(|rate| {
                    Mutex::new(TokenBucket::with_tolerance(
                        rate,
                        Instant::now(),
                        config.rate_tolerance,
                    ))
                }),
                conditions: Mutex::new(LiveConditions::default()),
                hooks,
                http: http.clone(),
                config,
            });
            built = Some(inner.clone());
            Ok(router(inner))
        })
        .await?;
        let inner = built.ok_or_else(|| io::Error::other("the router was not built"))?;
        tokio::spawn(delivery::run(rx, Arc::downgrade(&inner), http, policy));
        Ok(Sandbox {
            inner,
            server: Some(server),
        })
    }

    /// The Rust API over shared state, without owning the server (for the inspection routes).
    pub(crate) fn view(inner: Arc<Inner>) -> Self {
        Sandbox {
            inner,
            server: None,
        }
    }

    /// The base URL to give a Kommo client: `http://127.0.0.1:PORT` (the client appends
    /// `/api/v4/...`).
    pub fn base_url(&self) -> String {
        self.inner.base.clone()
    }

    /// The inspection API's base URL: `http://127.0.0.1:PORT/_sandbox`.
    pub fn inspect_url(&self) -> String {
        format!("{}/_sandbox", self.inner.base)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The long-lived token the sandbox accepts.
    pub fn token(&self) -> &str {
        &self.inner.config.token
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
    /// Webhooks still queued are not sent.
    pub async fn shutdown(mut self) {
        self.inner.hooks.next_generation();
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.inner.base)
            .field("token", &"[redacted]")
            .field("faults", &self.inner.faults)
            .finish_non_exhaustive()
    }
}

/// The whole server: the API and the token endpoint behind the gate, the inspection routes
/// beside them.
fn router(inner: Arc<Inner>) -> Router {
    let api = routes::api_router(inner.clone()).layer(axum::middleware::from_fn_with_state(
        inner.clone(),
        gate::gate,
    ));
    api.nest("/_sandbox", inspect_http::router(inner))
}
