//! The client, its builder and configuration.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use url::Url;

use crate::auth::{Auth, AuthState};
use crate::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use crate::error::{Error, Result};
use crate::rate_limit::{RateLimit, RateLimiter};
use crate::raw::ApiRequest;
use crate::retry::RetryPolicy;

/// The Kommo/amoCRM domain an account lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Domain {
    /// `{subdomain}.kommo.com`.
    Kommo,
    /// `{subdomain}.amocrm.ru` (Russian amoCRM).
    AmoCrmRu,
    /// `{subdomain}.amocrm.com` (legacy English amoCRM).
    AmoCrmCom,
}

impl Domain {
    /// The domain name.
    #[must_use]
    pub fn host(self) -> &'static str {
        match self {
            Domain::Kommo => "kommo.com",
            Domain::AmoCrmRu => "amocrm.ru",
            Domain::AmoCrmCom => "amocrm.com",
        }
    }

    /// The URL to send a user to for OAuth consent (`mode` is `popup` or `post_message`).
    #[must_use]
    pub fn authorize_url(self, client_id: &str, state: &str, mode: &str) -> String {
        let host = match self {
            Domain::Kommo => "www.kommo.com",
            Domain::AmoCrmRu => "www.amocrm.ru",
            Domain::AmoCrmCom => "www.amocrm.com",
        };
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", client_id)
            .append_pair("state", state)
            .append_pair("mode", mode)
            .finish();
        format!("https://{host}/oauth?{query}")
    }
}

/// Defaults: 30 s per request, 10 s to connect, chunks of 50, refresh 60 s before expiry.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Kommo's recommended batch size.
pub const DEFAULT_BATCH_SIZE: usize = 50;
/// Kommo's hard batch limit.
pub const MAX_BATCH_SIZE: usize = 250;

/// Builds a [`Client`]; see [`Client::builder`]. Setters only record; [`ClientBuilder::build`]
/// checks everything and reports each problem as [`Error::Config`].
#[must_use]
pub struct ClientBuilder {
    base_url: Option<std::result::Result<Url, String>>,
    auth: Option<Auth>,
    rate_limit: RateLimit,
    limiter: Option<Arc<RateLimiter>>,
    retry: RetryPolicy,
    breaker: BreakerConfig,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    http: Option<reqwest::Client>,
    batch_size: usize,
    refresh_margin: Duration,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("rate_limit", &self.rate_limit)
            .field("retry_policy", &self.retry)
            .field("timeout", &self.timeout)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            auth: None,
            rate_limit: RateLimit::KOMMO_DEFAULT,
            limiter: None,
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: concat!("kommo-client-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            http: None,
            batch_size: DEFAULT_BATCH_SIZE,
            refresh_margin: Duration::from_secs(60),
        }
    }
}

fn valid_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl ClientBuilder {
    /// The account `https://{subdomain}.{domain}`.
    pub fn account(mut self, subdomain: &str, domain: Domain) -> Self {
        self.base_url = Some(if valid_subdomain(subdomain) {
            Url::parse(&format!("https://{subdomain}.{}", domain.host())).map_err(|e| e.to_string())
        } else {
            Err(format!("invalid subdomain {subdomain:?}"))
        });
        self
    }

    /// The account host as given by the OAuth redirect's `referer` (`acme.kommo.com`).
    pub fn host(mut self, host: &str) -> Self {
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        self.base_url = Some(if ok {
            Url::parse(&format!("https://{host}")).map_err(|e| e.to_string())
        } else {
            Err(format!("invalid host {host:?}"))
        });
        self
    }

    /// A full base URL (for tests and proxies), e.g. `http://127.0.0.1:8080`.
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(Url::parse(url).map_err(|e| e.to_string()).and_then(|u| {
            if u.cannot_be_a_base() || !matches!(u.scheme(), "http" | "https") {
                Err(format!("not an http(s) base URL: {url:?}"))
            } else {
                Ok(u)
            }
        }));
        self
    }

    /// How to authenticate.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Authenticates with a long-lived token (never refreshed; a 401 is final).
    pub fn long_lived_token(self, token: impl Into<String>) -> Self {
        self.auth(Auth::long_lived(token))
    }

    /// The client-side rate limit (default [`RateLimit::KOMMO_DEFAULT`], 7 requests per
    /// second); [`RateLimit::Off`] turns it off. Replaces a limiter set with
    /// [`ClientBuilder::rate_limiter`].
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self.limiter = None;
        self
    }

    /// Shares an existing limiter (e.g. between clients of the same account and IP).
    pub fn rate_limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]: 3 attempts).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The circuit breaker settings for IP blocks.
    pub fn breaker(mut self, breaker: BreakerConfig) -> Self {
        self.breaker = breaker;
        self
    }

    /// The per-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The connect timeout (default 10 s; ignored with [`ClientBuilder::http_client`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent`.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses a pre-built reqwest client (its own timeouts and TLS settings apply).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Entities per batch write request: default 50, Kommo's recommendation; `build` refuses
    /// a size outside `1..=250` (Kommo's limit).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size;
        self
    }

    /// How long before expiry an OAuth access token is refreshed (default 60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Validates the configuration and builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a missing or invalid base URL, missing auth, a batch size outside
    /// `1..=250`, a rate limit of 0 requests or a zero window, a retry policy with 0 attempts
    /// or a backoff cap below its first step, a zero timeout, or an HTTP client that cannot be
    /// built.
    pub fn build(self) -> Result<Client> {
        let base = match self.base_url {
            None => {
                return Err(Error::config(
                    "the account is required: call account(), host() or base_url()",
                ));
            }
            Some(Err(e)) => return Err(Error::Config(e)),
            Some(Ok(u)) => u,
        };
        let auth = self
            .auth
            .ok_or_else(|| Error::config("auth is required: a long-lived token or OAuth"))?;
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(Error::Config(format!(
                "batch_size must be within 1..={MAX_BATCH_SIZE}, not {}",
                self.batch_size
            )));
        }
        if self.limiter.is_none()
            && let Some(problem) = self.rate_limit.problem()
        {
            return Err(Error::config(problem));
        }
        if let Some(problem) = self.retry.problem() {
            return Err(Error::config(problem));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::config("timeouts must be longer than zero"));
        }
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .user_agent(self.user_agent)
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?,
        };
        let limiter = self.limiter.or_else(|| {
            self.rate_limit
                .window()
                .map(|window| Arc::new(RateLimiter::new(window)))
        });
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth: AuthState::new(auth, self.refresh_margin),
                limiter,
                retry: self.retry,
                breaker: Mutex::new(CircuitBreaker::new(self.breaker)),
                timeout: self.timeout,
                batch_size: self.batch_size,
            }),
        })
    }
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) auth: AuthState,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    pub(crate) retry: RetryPolicy,
    pub(crate) breaker: Mutex<CircuitBreaker>,
    pub(crate) timeout: Duration,
    pub(crate) batch_size: usize,
}

/// A Kommo API client for one account. Cheap to clone: clones share the connection pool, the
/// rate limiter, the circuit breaker and the token state.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base.as_str())
            .field("auth", &self.inner.auth)
            .field(
                "rate_limit",
                &self.inner.limiter.as_ref().map(|l| l.limit()),
            )
            .field("retry_policy", &self.inner.retry)
            .field("batch_size", &self.inner.batch_size)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the account at `host` (as the OAuth redirect's `referer` gives it, e.g.
    /// `acme.kommo.com`) with a long-lived token, and every default: 7 requests per second,
    /// 3 attempts, batches of 50. Building does no IO; the first request connects.
    ///
    /// ```
    /// use kommo_client::Client;
    ///
    /// let client = Client::new("acme.kommo.com", "eyJ0eXAiOiJKV1Qi...")?;
    /// assert_eq!(client.base_url().as_str(), "https://acme.kommo.com/");
    /// assert!(Client::new("acme.kommo.com/x", "token").is_err());
    /// # Ok::<(), kommo_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a host that is not a host name.
    pub fn new(host: &str, long_lived_token: impl Into<String>) -> Result<Self> {
        Self::builder()
            .host(host)
            .long_lived_token(long_lived_token)
            .build()
    }

    /// Starts a builder for everything [`Client::new`] does not cover: OAuth, another base
    /// URL, limits, retries, timeouts. Building does no IO.
    ///
    /// ```
    /// use std::time::Duration;
    /// use kommo_client::{Client, Domain, RateLimit, RetryPolicy};
    ///
    /// let client = Client::builder()
    ///     .account("acme", Domain::Kommo)
    ///     .long_lived_token("eyJ0eXAiOiJKV1Qi...")
    ///     .rate_limit(RateLimit::per_second(5))
    ///     .retry_policy(RetryPolicy::default().with_max_attempts(4))
    ///     .timeout(Duration::from_secs(20))
    ///     .batch_size(100)
    ///     .build()?;
    /// assert_eq!(client.base_url().as_str(), "https://acme.kommo.com/");
    /// assert!(!format!("{client:?}").contains("eyJ0eXAi"), "the token never shows in Debug");
    ///
    /// // Nothing is clamped: a batch larger than Kommo allows is refused.
    /// let refused = Client::builder()
    ///     .account("acme", Domain::Kommo)
    ///     .long_lived_token("eyJ0eXAiOiJKV1Qi...")
    ///     .batch_size(500)
    ///     .build();
    /// assert!(matches!(refused, Err(kommo_client::Error::Config(_))));
    /// # Ok::<(), kommo_client::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The account base URL.
    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Entities per batch write request.
    #[must_use]
    pub fn batch_size(&self) -> usize {
        self.inner.batch_size
    }

    /// The circuit breaker's state (see [`crate::breaker`]).
    #[must_use]
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker().state(Instant::now())
    }

    /// Closes the circuit breaker, e.g. after support confirmed the block was lifted.
    pub fn reset_breaker(&self) {
        self.breaker().reset();
    }

    pub(crate) fn breaker(&self) -> MutexGuard<'_, CircuitBreaker> {
        // The breaker's transitions are single assignments: a poisoned lock holds a valid state.
        self.inner
            .breaker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Turns a `_links.next.href` into a `GET` on our own base URL. The host of the link is
    /// ignored on purpose: the token is only ever sent to the configured account.
    pub(crate) fn relative_to_base(&self, href: &str) -> Option<ApiRequest> {
        let url = self.inner.base.join(href).ok()?;
        Some(ApiRequest::get(url.path()).queries(url.query_pairs().into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let c = Client::builder()
            .account("acme", Domain::Kommo)
            .long_lived_token("t")
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "https://acme.kommo.com/");
        let c = Client::builder()
            .host("acme.amocrm.ru")
            .long_lived_token("t")
            .build()
            .unwrap();
        assert_eq!(c.base_url().as_str(), "https://acme.amocrm.ru/");
        for bad in ["", "a.b", "a/b", "a b"] {
            let e = Client::builder()
                .account(bad, Domain::AmoCrmCom)
                .long_lived_token("t")
                .build()
                .unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{bad}");
        }
        assert!(
            Client::builder()
                .base_url("mailto:x@y")
                .long_lived_token("t")
                .build()
                .is_err()
        );
        assert!(
            Client::builder()
                .account("acme", Domain::Kommo)
                .build()
                .is_err(),
            "auth required"
        );
        assert!(
            Client::builder().long_lived_token("t").build().is_err(),
            "account required"
        );
        assert_eq!(
            c.relative_to_base("https://evil.example/api/v4/leads?page=2&limit=50")
                .map(|r| r.path_and_query())
                .as_deref(),
            Some("/api/v4/leads?page=2&limit=50")
        );
        assert!(
            Domain::Kommo
                .authorize_url("id", "s t", "popup")
                .starts_with("https://www.kommo.com/oauth?client_id=id&state=s+t")
        );
    }

    #[test]
    fn build_refuses_what_it_would_otherwise_clamp() {
        type Tweak = fn(ClientBuilder) -> ClientBuilder;
        // (what, tweak, accepted)
        let table: &[(&str, Tweak, bool)] = &[
            ("defaults", |b| b, true),
            ("batch of 1", |b| b.batch_size(1), true),
            ("batch of 250", |b| b.batch_size(MAX_BATCH_SIZE), true),
            ("batch of 0", |b| b.batch_size(0), false),
            ("batch of 251", |b| b.batch_size(251), false),
            ("no rate limit", |b| b.rate_limit(RateLimit::Off), true),
            (
                "0 per second",
                |b| b.rate_limit(RateLimit::per_second(0)),
                false,
            ),
            (
                "zero window",
                |b| b.rate_limit(RateLimit::new(5, Duration::ZERO)),
                false,
            ),
            (
                "a shared limiter wins over the limit before it",
                |b| {
                    b.rate_limit(RateLimit::per_second(0))
                        .rate_limiter(Arc::new(RateLimiter::new(crate::rate_limit::WindowLimit {
                            requests: 1,
                            per: Duration::from_secs(1),
                        })))
                },
                true,
            ),
            (
                "never retry",
                |b| b.retry_policy(RetryPolicy::never()),
                true,
            ),
            (
                "0 attempts",
                |b| b.retry_policy(RetryPolicy::default().with_max_attempts(0)),
                false,
            ),
            (
                "backoff cap below the first step",
                |b| {
                    b.retry_policy(
                        RetryPolicy::default()
                            .with_backoff(Duration::from_secs(2), Duration::from_secs(1)),
                    )
                },
                false,
            ),
            ("zero timeout", |b| b.timeout(Duration::ZERO), false),
            (
                "zero connect timeout",
                |b| b.connect_timeout(Duration::ZERO),
                false,
            ),
        ];
        for (what, tweak, accepted) in table {
            let built = tweak(
                Client::builder()
                    .host("acme.kommo.com")
                    .long_lived_token("t"),
            )
            .build();
            match built {
                Ok(_) => assert!(accepted, "{what}: accepted"),
                Err(Error::Config(reason)) => assert!(!accepted, "{what}: refused: {reason}"),
                Err(other) => panic!("{what}: {other:?}"),
            }
        }
        assert!(matches!(
            Client::new("acme kommo", "t"),
            Err(Error::Config(_))
        ));
        assert_eq!(
            Client::new("acme.kommo.com", "t").unwrap().batch_size(),
            DEFAULT_BATCH_SIZE
        );
    }
}
