//! How a Kommo sandbox starts: account, tokens, limits, id ranges, webhook delivery, and the
//! seed data (`seeds.rs`) it holds from the start.

use std::fmt;
use std::time::Duration;

use kommo_client::common::EntityType;
use kommo_client::custom_fields::FieldType;
use kommo_client::ids::{AccountId, UserId};
use kommo_client::webhook_subscriptions::WebhookSetting;
use serde::{Deserialize, Serialize};

use super::seeds::{
    CustomFieldSeed, EMAIL_KINDS, EnumSeed, PHONE_KINDS, PipelineSeed, StatusSeed, TaskTypeSeed,
    UserSeed, defaults, saas_onboarding,
};
use crate::server::SharedSettings;

/// The long-lived token a Kommo sandbox accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "sandbox_kommo_long_lived_token";

/// Kommo's documented limit: 7 requests per second.
pub const DEFAULT_RATE_LIMIT: u32 = 7;

/// The refill beyond one second's worth the rate-limit bucket holds by default (see
/// [`Config::rate_limit_tolerance`]).
pub const DEFAULT_RATE_TOLERANCE: Duration = Duration::from_millis(50);

/// The OAuth integration a sandbox knows unless told otherwise: `client_id`.
pub const DEFAULT_OAUTH_CLIENT_ID: &str = "sandbox-integration";
/// The default OAuth integration's `client_secret`.
pub const DEFAULT_OAUTH_CLIENT_SECRET: &str = "sandbox-integration-secret";
/// The default OAuth integration's `redirect_uri`.
pub const DEFAULT_OAUTH_REDIRECT_URI: &str = "https://integration.example/oauth/callback";

/// Where entity ids start. Every counter counts up by one; the defaults keep the ranges of
/// different entity types apart, so a lead id passed where a contact id belongs is noticed.
///
/// ```
/// use kommo_loops_sandbox::kommo::IdBases;
/// let bases = IdBases { leads: 1, ..IdBases::default() };
/// assert_eq!(bases.contacts, 30_000_001);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdBases {
    /// The first lead id.
    pub leads: u64,
    /// The first contact id.
    pub contacts: u64,
    /// The first company id.
    pub companies: u64,
    /// The first note id.
    pub notes: u64,
    /// The first task id.
    pub tasks: u64,
    /// The first tag id (one counter for every entity type).
    pub tags: u64,
    /// The first webhook subscription id.
    pub webhooks: u64,
}

impl Default for IdBases {
    fn default() -> Self {
        IdBases {
            leads: 20_000_001,
            contacts: 30_000_001,
            companies: 40_000_001,
            notes: 50_000_001,
            tasks: 60_000_001,
            tags: 70_001,
            webhooks: 1,
        }
    }
}

/// The OAuth integration the sandbox's `/oauth2/access_token` accepts.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthApp {
    /// `client_id` (the integration id).
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// `redirect_uri`, which must match exactly.
    pub redirect_uri: String,
}

impl OAuthApp {
    /// An integration.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        OAuthApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uri: redirect_uri.into(),
        }
    }
}

impl Default for OAuthApp {
    fn default() -> Self {
        OAuthApp::new(
            DEFAULT_OAUTH_CLIENT_ID,
            DEFAULT_OAUTH_CLIENT_SECRET,
            DEFAULT_OAUTH_REDIRECT_URI,
        )
    }
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

/// How outgoing webhooks are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookPolicy {
    /// How long a receiver may take to answer (Kommo: 2 seconds); longer is a failure.
    pub timeout: Duration,
    /// Extra attempts after a failed one (default 0: Kommo's schedule is not documented).
    pub retries: u32,
    /// The wait before the first retry; it doubles for each further one.
    pub backoff: Duration,
    /// Disable a subscription after more than this many failed deliveries within two hours
    /// when the latest also failed (Kommo: 100); `None` never disables.
    pub disable_after: Option<u32>,
    /// The most entities one body carries (`leads[status][0]` … `leads[status][n-1]`): a
    /// change of many entities at once (a bulk move, a `PATCH` of many leads) is sent as
    /// several bodies of at most this many events each, in change order. Default 50, the
    /// fake's choice: Kommo does document that a body may hold several entities but not how
    /// many; 50 is its default page size. At least 1.
    pub per_body: usize,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy {
            timeout: Duration::from_secs(2),
            retries: 0,
            backoff: Duration::from_millis(200),
            disable_after: Some(100),
            per_body: 50,
        }
    }
}

/// The configuration of a [`Sandbox`](crate::kommo::Sandbox).
///
/// | setting | default |
/// | --- | --- |
/// | long-lived token | [`DEFAULT_TOKEN`] |
/// | account | id 32000000, subdomain `sandbox`, name "Sandbox account", USD, `account[_links][self]` = the sandbox's own URL |
/// | users | 9000001 "Sandbox Integration" (admin; the API acts as this user), 9000002 "Sandbox Manager" (scenario actions are made as this user) |
/// | pipelines | "Sales" 7000: 6000 Incoming leads (type 1), 6001 Initial contact, 6002 Negotiation, 142, 143 |
/// | custom fields | contacts PHONE, EMAIL (multitext), POSITION; companies PHONE, EMAIL, WEB, ADDRESS ([`defaults`]) |
/// | task types | 1 Follow-up, 2 Meeting |
/// | ids | [`IdBases::default`] |
/// | port | `0` (a free port) |
/// | rate limit | 7 requests/second ([`DEFAULT_RATE_LIMIT`]), a token bucket holding 7 plus 50 ms of refill ([`DEFAULT_RATE_TOLERANCE`]); `None` = unlimited |
/// | 429 body `retry_after` | seconds until a request would pass, rounded up (at least 1) |
/// | `Retry-After` header on 429 | off (Kommo does not document one) |
/// | auto-block after repeated 429s | off |
/// | GET of a missing id | 204 (as Kommo documents) |
/// | OAuth integration | [`OAuthApp::default`]; access tokens live 24 h; a refresh token stays usable until its successor is used |
/// | webhooks | none subscribed; [`WebhookPolicy::default`] (2 s timeout, no retries, disable after 100 failures in 2 h, at most 50 entities per body) |
/// | events log time | the change's `updated_at` ([`Config::event_log_skew`] 0) |
/// | random seed | `0` |
/// | faults | none |
///
/// [`Config::saas_onboarding`] replaces the pipeline with "SaaS sales" and adds the lead
/// fields PLAN and Trial days ([`saas_onboarding`]).
///
/// ```
/// use kommo_loops_sandbox::kommo::Config;
/// use std::time::Duration;
///
/// let config = Config::saas_onboarding()
///     .token("test-token")
///     .rate_limit(None)
///     .auto_block(3, Duration::from_secs(10));
/// assert!(!format!("{config:?}").contains("test-token"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    pub(crate) token: String,
    pub(crate) account_id: AccountId,
    pub(crate) subdomain: String,
    pub(crate) account_name: String,
    pub(crate) account_url: Option<String>,
    pub(crate) currency: String,
    /// Port, rate limit, `Retry-After`, seed and faults.
    pub(crate) shared: SharedSettings,
    pub(crate) rate_tolerance: Duration,
    pub(crate) retry_after_seconds: Option<u64>,
    pub(crate) auto_block: Option<(u32, Duration)>,
    pub(crate) users: Vec<UserSeed>,
    pub(crate) api_user: UserId,
    pub(crate) ui_user: UserId,
    pub(crate) pipelines: Vec<PipelineSeed>,
    pub(crate) custom_fields: Vec<CustomFieldSeed>,
    pub(crate) task_types: Vec<TaskTypeSeed>,
    pub(crate) ids: IdBases,
    pub(crate) oauth: OAuthApp,
    pub(crate) access_token_ttl: Duration,
    pub(crate) refresh_grace: bool,
    pub(crate) missing_entity_status: u16,
    pub(crate) webhooks: WebhookPolicy,
    /// Seconds added to each change's time in the events log (`created_at`).
    pub(crate) event_log_skew: i64,
    pub(crate) subscriptions: Vec<(String, Vec<WebhookSetting>)>,
}

impl Default for Config {
    fn default() -> Self {
        use defaults::*;
        let sales = PipelineSeed::new(PIPELINE_ID, "Sales")
            .main()
            .status(StatusSeed::new(INCOMING, "Incoming leads").incoming())
            .status(StatusSeed::new(INITIAL_CONTACT, "Initial contact"))
            .status(StatusSeed::new(NEGOTIATION, "Negotiation").color("#ffff99"));
        let contacts = EntityType::Contacts;
        let companies = EntityType::Companies;
        Config {
            token: DEFAULT_TOKEN.to_owned(),
            account_id: ACCOUNT_ID,
            subdomain: "sandbox".to_owned(),
            account_name: "Sandbox account".to_owned(),
            account_url: None,
            currency: "USD".to_owned(),
            shared: SharedSettings::new(DEFAULT_RATE_LIMIT),
            rate_tolerance: DEFAULT_RATE_TOLERANCE,
            retry_after_seconds: None,
            auto_block: None,
            users: vec![
                UserSeed::new(API_USER, "Sandbox Integration", "integration@sandbox.test").admin(),
                UserSeed::new(UI_USER, "Sandbox Manager", "manager@sandbox.test"),
            ],
            api_user: API_USER,
            ui_user: UI_USER,
            pipelines: vec![sales],
            custom_fields: vec![
                CustomFieldSeed::multitext(
                    contacts,
                    CONTACT_PHONE,
                    "Phone",
                    "PHONE",
                    PHONE_KINDS,
                    810_001,
                ),
                CustomFieldSeed::multitext(
                    contacts,
                    CONTACT_EMAIL,
                    "Email",
                    "EMAIL",
                    EMAIL_KINDS,
                    810_011,
                ),
                {
                    let mut position = CustomFieldSeed::new(
                        contacts,
                        CONTACT_POSITION,
                        "Position",
                        FieldType::Text,
                    )
                    .code("POSITION");
                    position.is_predefined = true;
                    position
                },
                CustomFieldSeed::multitext(
                    companies,
                    COMPANY_PHONE,
                    "Phone",
                    "PHONE",
                    PHONE_KINDS,
                    810_101,
                ),
                CustomFieldSeed::multitext(
                    companies,
                    COMPANY_EMAIL,
                    "Email",
                    "EMAIL",
                    EMAIL_KINDS,
                    810_111,
                ),
                {
                    let mut web =
                        CustomFieldSeed::new(companies, COMPANY_WEB, "Web", FieldType::Url)
                            .code("WEB");
                    web.is_predefined = true;
                    web
                },
                {
                    let mut address = CustomFieldSeed::new(
                        companies,
                        COMPANY_ADDRESS,
                        "Address",
                        FieldType::Textarea,
                    )
                    .code("ADDRESS");
                    address.is_predefined = true;
                    address
                },
            ],
            task_types: Vec::new(),
            ids: IdBases::default(),
            oauth: OAuthApp::default(),
            access_token_ttl: Duration::from_secs(24 * 60 * 60),
            refresh_grace: true,
            missing_entity_status: 204,
            webhooks: WebhookPolicy::default(),
            event_log_skew: 0,
            subscriptions: Vec::new(),
        }
    }
}

impl Config {
    /// The SaaS onboarding preset: the default account, users and contact/company fields;
    /// the only pipeline is "SaaS sales" 7001 (5000 Incoming, 5001 Trial, 5002 Activated,
    /// 5003 Upgrade offered, 5004 Nurture, 142, 143); the lead fields are `PLAN` (select:
    /// pro, team, basic) and "Trial days" (numeric, id 912345, code `TRIAL_DAYS`). The ids are
    /// in [`saas_onboarding`].
    pub fn saas_onboarding() -> Self {
        use saas_onboarding::*;
        let pipeline = PipelineSeed::new(PIPELINE_ID, "SaaS sales")
            .main()
            .status(StatusSeed::new(INCOMING, "Incoming").incoming())
            .status(StatusSeed::new(TRIAL, "Trial"))
            .status(StatusSeed::new(ACTIVATED, "Activated").color("#87f2c0"))
            .status(StatusSeed::new(UPGRADE_OFFERED, "Upgrade offered").color("#ffdc7f"))
            .status(StatusSeed::new(NURTURE, "Nurture").color("#dddddd"));
        let leads = EntityType::Leads;
        Config::default()
            .pipelines(vec![pipeline])
            .custom_field(
                CustomFieldSeed::new(leads, PLAN_FIELD, "Plan", FieldType::Select)
                    .code("PLAN")
                    .option(EnumSeed::new(PLAN_PRO, "pro"))
                    .option(EnumSeed::new(PLAN_TEAM, "team"))
                    .option(EnumSeed::new(PLAN_BASIC, "basic")),
            )
            .custom_field(
                CustomFieldSeed::new(leads, TRIAL_DAYS_FIELD, "Trial days", FieldType::Numeric)
                    .code("TRIAL_DAYS"),
            )
    }

    /// The long-lived token requests must carry as `Authorization: Bearer <token>`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = token.into();
        self
    }

    /// The account id and subdomain (what `GET /api/v4/account` and webhooks'
    /// `account[...]` show).
    pub fn account(mut self, id: AccountId, subdomain: impl Into<String>) -> Self {
        self.account_id = id;
        self.subdomain = subdomain.into();
        self
    }

    /// The account name.
    pub fn account_name(mut self, name: impl Into<String>) -> Self {
        self.account_name = name.into();
        self
    }

    /// What webhooks carry as `account[_links][self]` (default: the sandbox's own base URL,
    /// e.g. `http://127.0.0.1:PORT`), e.g. `https://acme.kommo.com`.
    pub fn account_url(mut self, url: impl Into<String>) -> Self {
        self.account_url = Some(url.into());
        self
    }

    crate::server::shared_config_setters!();

    /// How much refill beyond one second's worth the bucket holds (default 50 ms): a client
    /// keeping exactly to the rate is not refused because of network jitter, while a burst of
    /// one request over the rate still is. `Duration::ZERO` makes the bucket exact.
    pub fn rate_limit_tolerance(mut self, tolerance: Duration) -> Self {
        self.rate_tolerance = tolerance;
        self
    }

    /// A fixed `retry_after` for 429 bodies (Kommo's example says 300); by default the
    /// seconds until a request would pass, rounded up.
    pub fn retry_after_seconds(mut self, seconds: Option<u64>) -> Self {
        self.retry_after_seconds = seconds;
        self
    }

    /// Blocks the client (403 with an HTML page on every request, until
    /// [`unblock`](crate::kommo::Sandbox::unblock)) once `after` 429s were answered within
    /// `within`, as Kommo does after repeated violations.
    pub fn auto_block(mut self, after: u32, within: Duration) -> Self {
        self.auto_block = Some((after.max(1), within));
        self
    }

    /// Adds a user, or replaces the one with its id.
    pub fn user(mut self, user: UserSeed) -> Self {
        match self.users.iter_mut().find(|u| u.id == user.id) {
            Some(existing) => *existing = user,
            None => self.users.push(user),
        }
        self
    }

    /// The user API requests act as (the token's user). It must be one of the users; a
    /// non-admin gets 403 on `/api/v4/users` and `/api/v4/webhooks`.
    pub fn api_user(mut self, id: UserId) -> Self {
        self.api_user = id;
        self
    }

    /// The user scenario actions ([`create_lead`](crate::kommo::Sandbox::create_lead), ...)
    /// are made as, unless an action names another.
    pub fn ui_user(mut self, id: UserId) -> Self {
        self.ui_user = id;
        self
    }

    /// Replaces the pipelines.
    pub fn pipelines(mut self, pipelines: Vec<PipelineSeed>) -> Self {
        self.pipelines = pipelines;
        self
    }

    /// Adds a pipeline, or replaces the one with its id.
    pub fn pipeline(mut self, pipeline: PipelineSeed) -> Self {
        match self.pipelines.iter_mut().find(|p| p.id == pipeline.id) {
            Some(existing) => *existing = pipeline,
            None => self.pipelines.push(pipeline),
        }
        self
    }

    /// Adds a custom field definition, or replaces the one with its id.
    pub fn custom_field(mut self, field: CustomFieldSeed) -> Self {
        match self.custom_fields.iter_mut().find(|f| f.id == field.id) {
            Some(existing) => *existing = field,
            None => self.custom_fields.push(field),
        }
        self
    }

    /// Adds a task type (1 follow-up and 2 meeting always exist).
    pub fn task_type(mut self, task_type: TaskTypeSeed) -> Self {
        self.task_types.push(task_type);
        self
    }

    /// Where entity ids start.
    pub fn id_bases(mut self, bases: IdBases) -> Self {
        self.ids = bases;
        self
    }

    /// The OAuth integration `/oauth2/access_token` accepts.
    pub fn oauth_app(mut self, app: OAuthApp) -> Self {
        self.oauth = app;
        self
    }

    /// How long OAuth access tokens live (24 h by default; measured on tokio's clock).
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = ttl;
        self
    }

    /// Refresh tokens are spent the moment they are used (by default an old refresh token
    /// stays usable until its successor is used, as Kommo documents).
    pub fn strict_refresh_tokens(mut self) -> Self {
        self.refresh_grace = false;
        self
    }

    /// The answer to `GET` of a missing entity id: 204 (the default, as Kommo documents) or
    /// 404 (problem+json). Other statuses are ignored.
    pub fn missing_entity_status(mut self, status: u16) -> Self {
        if matches!(status, 204 | 404) {
            self.missing_entity_status = status;
        }
        self
    }

    /// How outgoing webhooks are delivered.
    pub fn webhook_policy(mut self, policy: WebhookPolicy) -> Self {
        self.webhooks = policy;
        self
    }

    /// Retries failed webhook deliveries `retries` times, waiting `backoff`, then twice as
    /// long, and so on.
    pub fn webhook_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.webhooks.retries = retries;
        self.webhooks.backoff = backoff;
        self
    }

    /// How long a webhook receiver may take to answer (Kommo: 2 s).
    pub fn webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhooks.timeout = timeout;
        self
    }

    /// Stamps each event of the events log `seconds` after the change's `updated_at` (default
    /// 0: the same second; negative: before). Kommo documents no relation between a webhook's
    /// `updated_at` and the log's `created_at`; code that recognises a change seen both ways
    /// is tested with both disagreeing.
    pub fn event_log_skew(mut self, seconds: i64) -> Self {
        self.event_log_skew = seconds;
        self
    }

    /// A webhook subscription present from the start (and after a reset).
    pub fn subscription(
        mut self,
        destination: impl Into<String>,
        settings: Vec<WebhookSetting>,
    ) -> Self {
        self.subscriptions.push((destination.into(), settings));
        self
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("token", &"[redacted]")
            .field("account_id", &self.account_id)
            .field("subdomain", &self.subdomain)
            .field("shared", &self.shared)
            .field("rate_tolerance", &self.rate_tolerance)
            .field("auto_block", &self.auto_block)
            .field("users", &self.users.len())
            .field("pipelines", &self.pipelines.len())
            .field("custom_fields", &self.custom_fields.len())
            .field("ids", &self.ids)
            .field("oauth", &self.oauth)
            .field("missing_entity_status", &self.missing_entity_status)
            .field("webhooks", &self.webhooks)
            .field("event_log_skew", &self.event_log_skew)
            .field("subscriptions", &self.subscriptions.len())
            .finish_non_exhaustive()
    }
}

/// Every event a subscription can ask for, for [`Sandbox::subscribe_all`](crate::kommo::Sandbox::subscribe_all):
/// every setting `kommo-client` knows but talks, which the fake does not model.
pub fn all_webhook_settings() -> Vec<WebhookSetting> {
    WebhookSetting::known()
        .iter()
        .filter(|s| !matches!(s, WebhookSetting::AddTalk | WebhookSetting::UpdateTalk))
        .cloned()
        .collect()
}
