//! The client, its builder, and the per-resource handles it hands out.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::Error;
use crate::rate_limit::{RateLimit, RateLimitInfo, SharedPacer};
use crate::retry::RetryPolicy;

/// The production API base. Paths are appended to it, e.g. `/v1/contacts/create`.
pub const DEFAULT_BASE_URL: &str = "https://app.loops.so/api";

/// The default timeout for one attempt (connect, send and read the whole answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The default limit on establishing a connection (never longer than the attempt timeout).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Loops API client.
///
/// Cheap to clone: clones share one connection pool, one rate limiter and one view of the
/// last rate-limit figures, so the whole process stays under the team's limit. Each API
/// resource has a handle ([`contacts`](Self::contacts), [`events`](Self::events), ...) that
/// owns a clone of the client.
///
/// ```no_run
/// # async fn run() -> loops_client::Result<()> {
/// use loops_client::Client;
/// use loops_client::contacts::UpdateContactRequest;
/// use loops_client::events::SendEventRequest;
/// use loops_client::value::ContactProperties;
///
/// let client = Client::new(std::env::var("LOOPS_API_KEY").unwrap_or_default())?;
/// let team = client.api_key().test().await?;
/// println!("connected to {}", team.team_name);
///
/// client
///     .contacts()
///     .update(
///         &UpdateContactRequest::by_email("ada@example.com")
///             .properties(ContactProperties::new().first_name("Ada").set("plan", "pro")),
///     )
///     .await?;
///
/// let receipt = client
///     .events()
///     .send(&SendEventRequest::by_email("ada@example.com", "trial_started").event_property("plan", "pro"))
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
    pub(crate) base_url: Url,
    /// `base_url` without a trailing slash: request paths (`/v1/...`) are appended to it, so
    /// the base's own path (`/api`) is kept, which `Url::join` would drop.
    pub(crate) base_prefix: String,
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
    pub fn new(api_key: impl Into<String>) -> crate::Result<Self> {
        Client::builder().api_key(api_key).build()
    }

    /// A builder for everything else: the base URL, timeouts, retries, rate limit, user agent
    /// or HTTP client. The API key is required.
    ///
    /// ```
    /// use loops_client::{Client, RateLimit, RetryPolicy};
    /// use std::time::Duration;
    ///
    /// let client = Client::builder()
    ///     .api_key("test-key")
    ///     .base_url("http://127.0.0.1:9999/api")
    ///     .timeout(Duration::from_secs(5))
    ///     .connect_timeout(Duration::from_secs(2))
    ///     .retry_policy(RetryPolicy::default().with_max_attempts(2))
    ///     .rate_limit(RateLimit::Fixed(5.0))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(client.base_url().as_str(), "http://127.0.0.1:9999/api");
    /// assert!(!format!("{client:?}").contains("test-key"));
    ///
    /// let missing_key = Client::builder().build().unwrap_err();
    /// assert!(matches!(missing_key, loops_client::Error::Config(_)));
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            retry: RetryPolicy::default(),
            rate_limit: RateLimit::Auto,
            user_agent: default_user_agent(),
            http: None,
        }
    }

    /// Checking the API key (`GET /v1/api-key`).
    pub fn api_key(&self) -> crate::api_key::ApiKeyApi {
        crate::api_key::ApiKeyApi {
            client: self.clone(),
        }
    }

    /// Contacts: create, update, find, delete, and the suppression list.
    pub fn contacts(&self) -> crate::contacts::ContactsApi {
        crate::contacts::ContactsApi {
            client: self.clone(),
        }
    }

    /// Contact property definitions: list and create.
    pub fn contact_properties(&self) -> crate::contact_properties::ContactPropertiesApi {
        crate::contact_properties::ContactPropertiesApi {
            client: self.clone(),
        }
    }

    /// Mailing lists.
    pub fn mailing_lists(&self) -> crate::mailing_lists::MailingListsApi {
        crate::mailing_lists::MailingListsApi {
            client: self.clone(),
        }
    }

    /// Events that trigger Loops workflows.
    pub fn events(&self) -> crate::events::EventsApi {
        crate::events::EventsApi {
            client: self.clone(),
        }
    }

    /// Transactional emails: send, list, and manage them (create, get, update, ensure a
    /// draft, publish).
    pub fn transactional(&self) -> crate::transactional::TransactionalApi {
        crate::transactional::TransactionalApi {
            client: self.clone(),
        }
    }

    /// Transactional groups: list, create, get, update.
    pub fn transactional_groups(&self) -> crate::groups::GroupsApi {
        crate::groups::GroupsApi {
            client: self.clone(),
            kind: crate::groups::GroupKind::Transactional,
        }
    }

    /// Campaign groups: list, create, get, update.
    pub fn campaign_groups(&self) -> crate::groups::GroupsApi {
        crate::groups::GroupsApi {
            client: self.clone(),
            kind: crate::groups::GroupKind::Campaign,
        }
    }

    /// Campaigns: list, create (a draft with its email message), get, update (drafts only).
    pub fn campaigns(&self) -> crate::campaigns::CampaignsApi {
        crate::campaigns::CampaignsApi {
            client: self.clone(),
        }
    }

    /// Audience segments: list, get, create.
    pub fn audience_segments(&self) -> crate::audience_segments::AudienceSegmentsApi {
        crate::audience_segments::AudienceSegmentsApi {
            client: self.clone(),
        }
    }

    /// Email messages (the content of campaigns, transactional emails and workflow emails):
    /// get, update with `expectedRevisionId`, send a preview, run the Guardian checks.
    pub fn email_messages(&self) -> crate::email_messages::EmailMessagesApi {
        crate::email_messages::EmailMessagesApi {
            client: self.clone(),
        }
    }

    /// Themes: list, get, create, update.
    pub fn themes(&self) -> crate::themes::ThemesApi {
        crate::themes::ThemesApi {
            client: self.clone(),
        }
    }

    /// Reusable LMX components: list, get, create, update.
    pub fn components(&self) -> crate::components::ComponentsApi {
        crate::components::ComponentsApi {
            client: self.clone(),
        }
    }

    /// Image uploads: create a slot, `PUT` the bytes, complete, or all three in one call.
    pub fn uploads(&self) -> crate::uploads::UploadsApi {
        crate::uploads::UploadsApi {
            client: self.clone(),
        }
    }

    /// Event patterns, for workflow event triggers: list, get by id or by event name.
    pub fn event_patterns(&self) -> crate::event_patterns::EventPatternsApi {
        crate::event_patterns::EventPatternsApi {
            client: self.clone(),
        }
    }

    /// Workflows and their nodes.
    pub fn workflows(&self) -> crate::workflows::WorkflowsApi {
        crate::workflows::WorkflowsApi {
            client: self.clone(),
        }
    }

    /// The dedicated IP addresses Loops sends from.
    pub fn dedicated_sending_ips(&self) -> crate::dedicated_sending_ips::DedicatedSendingIpsApi {
        crate::dedicated_sending_ips::DedicatedSendingIpsApi {
            client: self.clone(),
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

    /// The API base URL requests go to; paths such as `/v1/contacts/find` are appended to it.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url.as_str())
            .field("api_key", &"[redacted]")
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

fn default_user_agent() -> String {
    format!("loops-client-rust/{}", env!("CARGO_PKG_VERSION"))
}

/// Configures a [`Client`]; get one with [`Client::builder`].
pub struct ClientBuilder {
    api_key: Option<SecretString>,
    base_url: String,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    retry: RetryPolicy,
    rate_limit: RateLimit,
    user_agent: String,
    http: Option<reqwest::Client>,
}

impl ClientBuilder {
    /// The Loops API key (required). It is sent only in the `Authorization` header and never
    /// shown in `Debug`, errors or logs.
    pub fn api_key(mut self, api_key: impl Into<String>) -> Self {
        self.api_key = Some(SecretString::from(api_key.into()));
        self
    }

    /// Sends requests to another base (a test server, a proxy). Paths such as
    /// `/v1/api-key` are appended to it, after its own path; a trailing slash is ignored.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The timeout for one attempt, covering connect, send and reading the answer
    /// (default 15 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on establishing a connection (default 10 s, or the attempt timeout when
    /// that is shorter). It is set on the HTTP client this builder creates, so it cannot be
    /// combined with [`http_client`](Self::http_client): configure that client instead.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How failed attempts are retried (default: [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How requests are paced (default: [`RateLimit::Auto`], 10/s, following
    /// `x-ratelimit-limit`; [`RateLimit::Off`] disables pacing).
    pub fn rate_limit(mut self, rate_limit: RateLimit) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// The `User-Agent` header (default `loops-client-rust/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Uses this `reqwest::Client` (proxies, custom TLS roots, shared pools). The attempt
    /// timeout still applies; the connect timeout is that client's own.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Checks the whole configuration and builds the client.
    ///
    /// Every problem found is reported, in one [`Error::Config`]: a missing or empty API key,
    /// a base URL that is not an absolute `http(s)` URL without query or fragment, a zero
    /// timeout, a connect timeout that is zero, longer than the attempt timeout or combined
    /// with [`http_client`](Self::http_client), a rate that is not positive, and a retry
    /// policy with no attempt or a backoff cap below its first step.
    pub fn build(self) -> crate::Result<Client> {
        let mut problems: Vec<String> = Vec::new();

        let authorization = match self.api_key.as_ref().map(|k| k.expose_secret().trim()) {
            None => {
                problems.push("the Loops API key is missing: set it with `api_key`".into());
                None
            }
            Some("") => {
                problems.push("the Loops API key is empty".into());
                None
            }
            Some(key) => match HeaderValue::from_str(&format!("Bearer {key}")) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    Some(value)
                }
                Err(_) => {
                    problems.push(
                        "the Loops API key contains characters not allowed in a header".into(),
                    );
                    None
                }
            },
        };

        let base_url = parse_base_url(&self.base_url)
            .map_err(|p| problems.push(p))
            .ok();

        let user_agent = HeaderValue::from_str(&self.user_agent)
            .map_err(|_| problems.push("the user agent is not a valid header value".into()))
            .ok();
        if self.timeout.is_zero() {
            problems.push("the timeout must be greater than zero".into());
        }
        if let Some(connect) = self.connect_timeout {
            if connect.is_zero() {
                problems.push("the connect timeout must be greater than zero".into());
            } else if connect > self.timeout {
                problems.push(format!(
                    "the connect timeout ({connect:?}) is longer than the timeout ({:?}), \
                     which bounds the whole attempt",
                    self.timeout
                ));
            }
            if self.http.is_some() {
                problems.push(
                    "the connect timeout cannot be applied to a caller-supplied http_client: \
                     set it on that client"
                        .into(),
                );
            }
        }
        if let RateLimit::Fixed(rps) = self.rate_limit
            && !(rps.is_finite() && rps > 0.0)
        {
            problems.push(format!(
                "the rate limit must be a positive number, got {rps}"
            ));
        }
        if let Some(problem) = self.retry.problem() {
            problems.push(format!("retry policy: {problem}"));
        }

        let (Some(authorization), Some((base_url, base_prefix)), Some(user_agent), true) =
            (authorization, base_url, user_agent, problems.is_empty())
        else {
            return Err(Error::Config(problems.join("; ")));
        };

        let http = match self.http {
            Some(http) => http,
            None => {
                let connect = self
                    .connect_timeout
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT.min(self.timeout));
                reqwest::Client::builder()
                    .pool_idle_timeout(Duration::from_secs(90))
                    .connect_timeout(connect)
                    .build()
                    .map_err(|e| Error::Config(format!("could not build the HTTP client: {e}")))?
            }
        };

        Ok(Client {
            inner: Arc::new(ClientInner {
                http,
                base_url,
                base_prefix,
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

/// Parses the base URL and drops a trailing slash from its path, so `.../api/` and `.../api`
/// mean the same base. Returns the URL and the prefix request paths are appended to.
fn parse_base_url(input: &str) -> Result<(Url, String), String> {
    let trimmed = input.trim();
    let mut url = Url::parse(trimmed).map_err(|e| format!("invalid base URL {trimmed:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!(
            "the base URL must be http or https, got {trimmed:?}"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the base URL must not carry a query or fragment".into());
    }
    let path = url.path().trim_end_matches('/').to_owned();
    if !path.is_empty() {
        url.set_path(&path);
    }
    let prefix = url.as_str().trim_end_matches('/').to_owned();
    Ok((url, prefix))
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed() -> ClientBuilder {
        Client::builder().api_key("k")
    }

    #[test]
    fn configuration_errors() {
        let secs = Duration::from_secs;
        let cases: Vec<(ClientBuilder, &str)> = vec![
            (Client::builder(), "missing"),
            (Client::builder().api_key(""), "empty"),
            (Client::builder().api_key("  "), "empty"),
            (Client::builder().api_key("a\u{7}b"), "header"),
            (keyed().base_url("not a url"), "invalid base URL"),
            (keyed().base_url("ftp://x"), "http or https"),
            (keyed().base_url("mailto:a@b.c"), "http or https"),
            (keyed().base_url("https://x/api?a=1"), "query"),
            (keyed().timeout(Duration::ZERO), "timeout"),
            (keyed().connect_timeout(Duration::ZERO), "connect timeout"),
            (
                keyed().timeout(secs(2)).connect_timeout(secs(3)),
                "longer than the timeout",
            ),
            (
                keyed()
                    .connect_timeout(secs(1))
                    .http_client(reqwest::Client::new()),
                "caller-supplied http_client",
            ),
            (keyed().rate_limit(RateLimit::Fixed(0.0)), "rate limit"),
            (keyed().rate_limit(RateLimit::Fixed(f64::NAN)), "rate limit"),
            (
                keyed().retry_policy(RetryPolicy::default().with_max_attempts(0)),
                "max_attempts",
            ),
            (
                keyed().retry_policy(
                    RetryPolicy::default().with_backoff(secs(2), Duration::from_millis(1)),
                ),
                "max_backoff",
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
    fn every_problem_is_reported_at_once() {
        let err = Client::builder()
            .base_url("ftp://x")
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err()
            .to_string();
        for expected in ["missing", "http or https", "timeout"] {
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn base_urls_keep_their_path() {
        let table = [
            (
                "http://localhost:1/api/",
                "http://localhost:1/api",
                "http://localhost:1/api",
            ),
            (
                "http://localhost:1/api",
                "http://localhost:1/api",
                "http://localhost:1/api",
            ),
            (
                " https://app.loops.so/api ",
                "https://app.loops.so/api",
                "https://app.loops.so/api",
            ),
            (
                "http://localhost:1",
                "http://localhost:1/",
                "http://localhost:1",
            ),
            (
                "http://localhost:1/",
                "http://localhost:1/",
                "http://localhost:1",
            ),
            ("http://h/a/b//", "http://h/a/b", "http://h/a/b"),
        ];
        for (input, url, prefix) in table {
            let client = keyed().base_url(input).build().unwrap();
            assert_eq!(client.base_url().as_str(), url, "{input}");
            assert_eq!(client.inner.base_prefix, prefix, "{input}");
        }
        assert_eq!(
            Client::new("k").unwrap().base_url().as_str(),
            DEFAULT_BASE_URL
        );
    }

    #[test]
    fn key_never_shows() {
        let secret = "sk_live_very_secret_value";
        let builder = Client::builder().api_key(secret);
        assert!(!format!("{builder:?}").contains(secret));
        let client = builder.build().unwrap();
        assert!(!format!("{client:?}").contains(secret));
        assert!(!format!("{:?}", client.inner.authorization).contains(secret));
    }
}
