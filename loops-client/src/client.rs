//! The client and its builder.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::rate_limit::{RateLimit, RateLimitInfo, SharedPacer};
use crate::retry::RetryPolicy;

/// The production API base. Paths are appended to it, e.g. `/v1/contacts/create`.
pub const DEFAULT_BASE_URL: &str = "https://app.loops.so/api";

/// The default timeout for one attempt (connect, send and read the whole answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A Loops API client.
///
/// Cheap to clone: clones share one connection pool, one rate limiter and one view of the
/// last rate-limit figures, so the whole process stays under the team's limit.
///
/// ```no_run
/// # async fn run() -> Result<(), loops_client::Error> {
/// use loops_client::{Client, ContactProperties, SendEventRequest, UpdateContactRequest};
///
/// let client = Client::new(std::env::var("LOOPS_API_KEY").unwrap_or_default())?;
/// let team = client.test_api_key().await?;
/// println!("connected to {}", team.team_name);
///
/// client
///     .update_contact(
///         &UpdateContactRequest::by_email("ada@example.com")
///             .properties(ContactProperties::new().first_name("Ada").set("plan", "pro")),
///     )
///     .await?;
///
/// let receipt = client
///     .send_event(&SendEventRequest::by_email("ada@example.com", "trial_started").event_property("plan", "pro"))
///     .await?;
/// println!("sent with idempotency key {}", receipt.idempotency_key);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) authorization: HeaderValue,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) pacer: SharedPacer,
    pub(crate) last_rate_limit: Mutex<Option<RateLimitInfo>>,
}

impl Client {
    /// A client for the production API with default settings.
    ///
    /// Fails with [`Error::Config`] when the key is empty.
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Client::builder(api_key).build()
    }

    /// A builder to change the base URL, timeout, retries, rate limit or HTTP client.
    ///
    /// ```
    /// use loops_client::{Client, RateLimit, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let client = Client::builder("test-key")
    ///     .base_url("http://127.0.0.1:9999/api")
    ///     .timeout(Duration::from_secs(5))
    ///     .retry_policy(RetryPolicy { max_attempts: 2, ..RetryPolicy::default() })
    ///     .rate_limit(RateLimit::Fixed(5.0))
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{client:?}").contains("test-key"));
    /// ```
    pub fn builder(api_key: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            api_key: SecretString::from(api_key.into()),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::Auto,
            user_agent: default_user_agent(),
            http: None,
        }
    }

    /// The rate-limit figures Loops sent with the most recent response that had them.
    pub fn last_rate_limit(&self) -> Option<RateLimitInfo> {
        *self
            .inner
            .last_rate_limit
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The pace the client currently keeps, in requests/second (`None` when pacing is off).
    pub fn current_rate_limit(&self) -> Option<f64> {
        self.inner.pacer.current_rate()
    }

    /// The API base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

fn default_user_agent() -> String {
    format!("loops-client-rust/{}", env!("CARGO_PKG_VERSION"))
}

/// Configures a [`Client`].
pub struct ClientBuilder {
    api_key: SecretString,
    base_url: String,
    timeout: Duration,
    retry: RetryPolicy,
    rate_limit: RateLimit,
    user_agent: String,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// Sends requests to another base (a test server, a proxy). Paths such as
    /// `/v1/api-key` are appended to it; a trailing slash is ignored.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The timeout for one attempt, covering connect, send and reading the answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How failed attempts are retried.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How requests are paced (default: 10/s, following `x-ratelimit-limit`).
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this `reqwest::Client` (proxies, custom TLS roots, shared pools).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let key = self.api_key.expose_secret().trim();
        if key.is_empty() {
            return Err(Error::Config("the Loops API key is empty".into()));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
            Error::Config("the Loops API key contains characters not allowed in a header".into())
        })?;
        authorization.set_sensitive(true);

        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&base_url)
            .map_err(|e| Error::Config(format!("invalid base URL {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "the base URL must be http or https, got {base_url:?}"
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::Config(
                "the base URL must not carry a query or fragment".into(),
            ));
        }

        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::Config("the user agent is not a valid header value".into()))?;
        if self.timeout.is_zero() {
            return Err(Error::Config(
                "the timeout must be greater than zero".into(),
            ));
        }
        if let RateLimit::Fixed(rps) = self.rate_limit
            && !(rps.is_finite() && rps > 0.0)
        {
            return Err(Error::Config(format!(
                "the rate limit must be a positive number, got {rps}"
            )));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::Config("max_attempts must be at least 1".into()));
        }

        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(90))
                .build()
                .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?,
        };

        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                base_url,
                authorization,
                user_agent,
                retry: self.retry,
                timeout: self.timeout,
                pacer: SharedPacer::new(self.rate_limit),
                last_rate_limit: Mutex::new(None),
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_errors() {
        let cases: Vec<(ClientBuilder, &str)> = vec![
            (Client::builder(""), "empty"),
            (Client::builder("  "), "empty"),
            (Client::builder("a\u{7}b"), "header"),
            (
                Client::builder("k").base_url("not a url"),
                "invalid base URL",
            ),
            (Client::builder("k").base_url("ftp://x"), "http or https"),
            (Client::builder("k").base_url("https://x/api?a=1"), "query"),
            (Client::builder("k").timeout(Duration::ZERO), "timeout"),
            (
                Client::builder("k").rate_limit(RateLimit::Fixed(0.0)),
                "rate limit",
            ),
            (
                Client::builder("k").retry_policy(RetryPolicy {
                    max_attempts: 0,
                    ..RetryPolicy::default()
                }),
                "max_attempts",
            ),
        ];
        for (builder, expected) in cases {
            let err = builder.build().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err:?}");
            assert!(
                err.to_string().contains(expected),
                "{err} should mention {expected}"
            );
        }
    }

    #[test]
    fn trailing_slash_is_trimmed() {
        let client = Client::builder("k")
            .base_url("http://localhost:1/api/")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://localhost:1/api");
    }

    #[test]
    fn key_never_shows() {
        let secret = "sk_live_very_secret_value";
        let builder = Client::builder(secret);
        assert!(!format!("{builder:?}").contains(secret));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains(secret));
        assert!(!format!("{:?}", client.inner.authorization).contains(secret));
    }
}
