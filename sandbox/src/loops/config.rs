//! How a Loops sandbox starts: key, limits, seed data, faults.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::server::SharedSettings;

/// The API key a sandbox accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "sandbox_loops_api_key";

/// The rate limit Loops gives a team by default: 10 requests/second.
pub const DEFAULT_RATE_LIMIT: u32 = 10;

/// How long Loops remembers an idempotency key: 24 hours.
pub const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// A mailing list to seed (`GET /v1/lists` lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MailingListSeed {
    /// The id used in `mailingLists` maps.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it is public.
    #[serde(default = "yes")]
    pub is_public: bool,
}

fn yes() -> bool {
    true
}

impl MailingListSeed {
    /// A public list without description.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        MailingListSeed {
            id: id.into(),
            name: name.into(),
            description: None,
            is_public: true,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Makes the list private.
    pub fn private(mut self) -> Self {
        self.is_public = false;
        self
    }
}

/// A transactional email the sandbox knows. Once any is known, sends to an unknown id get 404,
/// and sends missing a required data variable get 400.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionalTemplate {
    /// The id to send with.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Variables that must be present (and not empty) in `dataVariables`.
    #[serde(default)]
    pub required_variables: Vec<String>,
    /// Variables that may be left out or sent as `""`.
    #[serde(default)]
    pub optional_variables: Vec<String>,
    /// Whether a version is published; sending an unpublished email gets 400.
    #[serde(default = "yes")]
    pub published: bool,
}

impl TransactionalTemplate {
    /// A published email with no variables.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        TransactionalTemplate {
            id: id.into(),
            name: name.into(),
            required_variables: Vec::new(),
            optional_variables: Vec::new(),
            published: true,
        }
    }

    /// Adds required data variables.
    pub fn required<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_variables
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Adds optional data variables.
    pub fn optional<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.optional_variables
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Marks it as a draft that was never published.
    pub fn draft(mut self) -> Self {
        self.published = false;
        self
    }

    /// Every variable, required first, as the list endpoints show them.
    pub(crate) fn all_variables(&self) -> Vec<String> {
        self.required_variables
            .iter()
            .chain(&self.optional_variables)
            .cloned()
            .collect()
    }
}

/// The type of a contact property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PropertyKind {
    /// Text.
    String,
    /// A number.
    Number,
    /// `true`/`false`.
    Boolean,
    /// A date.
    Date,
}

impl PropertyKind {
    /// The name Loops uses.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyKind::String => "string",
            PropertyKind::Number => "number",
            PropertyKind::Boolean => "boolean",
            PropertyKind::Date => "date",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => PropertyKind::String,
            "number" => PropertyKind::Number,
            "boolean" => PropertyKind::Boolean,
            "date" => PropertyKind::Date,
            _ => return None,
        })
    }
}

/// The content and workflow settings of a sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContentSettings {
    pub(crate) content_api: bool,
    pub(crate) workflow_api: bool,
    pub(crate) upload_cap: u32,
    pub(crate) preview_cap: u32,
}

impl Default for ContentSettings {
    fn default() -> Self {
        ContentSettings {
            content_api: true,
            workflow_api: true,
            upload_cap: 50,
            preview_cap: 100,
        }
    }
}

/// Where outgoing webhooks go.
#[derive(Clone)]
pub(crate) struct WebhookTarget {
    pub(crate) url: String,
    pub(crate) secret: loops_client::webhooks::WebhookSecret,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The configuration of a [`Sandbox`](crate::loops::Sandbox).
///
/// | setting | default |
/// | --- | --- |
/// | API key | [`DEFAULT_API_KEY`] |
/// | team name (`GET /v1/api-key`) | `"Sandbox team"` |
/// | port | `0` (a free port) |
/// | rate limit | 10 requests/second ([`DEFAULT_RATE_LIMIT`]); `None` = unlimited |
/// | `Retry-After` on 429 | off (Loops is not known to send it) |
/// | idempotency window | 24 h |
/// | random seed | `0` |
/// | faults | none |
/// | lists, custom properties, transactional emails | none |
/// | unknown custom properties in a request | refused with 400 (Loops: "the property must already exist") |
/// | attachments | enabled |
/// | dedicated sending IPs | `192.0.2.10`, `192.0.2.11` (documentation addresses) |
/// | suppression removal quota | 100 |
/// | webhook endpoint | none |
/// | content API, workflow API | enabled (off: their endpoints answer 401) |
/// | uploads, previews per rolling 24 h | 50, 100 |
///
/// ```
/// use kommo_loops_sandbox::loops::{Config, MailingListSeed, PropertyKind, TransactionalTemplate};
///
/// let config = Config::default()
///     .api_key("test-key")
///     .rate_limit(Some(5))
///     .list(MailingListSeed::new("list_news", "Newsletter"))
///     .transactional(TransactionalTemplate::new("tx_welcome", "Welcome").required(["name"]))
///     .custom_property("plan", PropertyKind::String);
/// assert!(!format!("{config:?}").contains("test-key"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    pub(crate) api_key: String,
    pub(crate) team_name: String,
    /// Port, rate limit, `Retry-After`, seed and faults.
    pub(crate) shared: SharedSettings,
    pub(crate) idempotency_window: Duration,
    pub(crate) lists: Vec<MailingListSeed>,
    pub(crate) custom_properties: Vec<(String, PropertyKind)>,
    pub(crate) transactional: Vec<TransactionalTemplate>,
    pub(crate) strict_properties: bool,
    pub(crate) attachments_enabled: bool,
    pub(crate) sending_ips: Vec<String>,
    pub(crate) removal_quota: u32,
    pub(crate) webhook: Option<WebhookTarget>,
    pub(crate) content: ContentSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_key: DEFAULT_API_KEY.to_owned(),
            team_name: "Sandbox team".to_owned(),
            shared: SharedSettings::new(DEFAULT_RATE_LIMIT),
            idempotency_window: IDEMPOTENCY_WINDOW,
            lists: Vec::new(),
            custom_properties: Vec::new(),
            transactional: Vec::new(),
            strict_properties: true,
            attachments_enabled: true,
            sending_ips: vec!["192.0.2.10".to_owned(), "192.0.2.11".to_owned()],
            removal_quota: 100,
            webhook: None,
            content: ContentSettings::default(),
        }
    }
}

impl Config {
    /// The key requests must carry as `Authorization: Bearer <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = key.into();
        self
    }

    /// The team name `GET /v1/api-key` answers with.
    pub fn team_name(mut self, name: impl Into<String>) -> Self {
        self.team_name = name.into();
        self
    }

    crate::server::shared_config_setters!();

    /// How long idempotency keys are remembered (24 h by default; measured on tokio's clock).
    pub fn idempotency_window(mut self, window: Duration) -> Self {
        self.idempotency_window = window;
        self
    }

    /// Adds a mailing list.
    pub fn list(mut self, list: MailingListSeed) -> Self {
        self.lists.push(list);
        self
    }

    /// Adds a custom contact property.
    pub fn custom_property(mut self, name: impl Into<String>, kind: PropertyKind) -> Self {
        self.custom_properties.push((name.into(), kind));
        self
    }

    /// Adds a transactional email (and so turns on the 404 for unknown ids).
    pub fn transactional(mut self, template: TransactionalTemplate) -> Self {
        self.transactional.push(template);
        self
    }

    /// Whether contact properties that were never created are refused with 400 (the default,
    /// as Loops documents that they "must already exist") or created on first use, with the
    /// type of their first value.
    pub fn strict_properties(mut self, strict: bool) -> Self {
        self.strict_properties = strict;
        self
    }

    /// Whether transactional attachments are accepted (Loops enables them per account).
    pub fn attachments_enabled(mut self, enabled: bool) -> Self {
        self.attachments_enabled = enabled;
        self
    }

    /// What `GET /v1/dedicated-sending-ips` answers.
    pub fn sending_ips<I, S>(mut self, ips: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.sending_ips = ips.into_iter().map(Into::into).collect();
        self
    }

    /// Suppression removals allowed (`removalQuota.limit`).
    pub fn removal_quota(mut self, limit: u32) -> Self {
        self.removal_quota = limit;
        self
    }

    /// Whether the content API (campaigns, groups, segments, email messages, themes,
    /// components, uploads, transactional-email management) is enabled; when it is not, its
    /// endpoints answer 401 although the key is good (Loops enables it per team).
    pub fn content_api(mut self, enabled: bool) -> Self {
        self.content.content_api = enabled;
        self
    }

    /// Whether the workflow API (workflows, event patterns) is enabled.
    pub fn workflow_api(mut self, enabled: bool) -> Self {
        self.content.workflow_api = enabled;
        self
    }

    /// The daily caps: uploads (Loops: 50) and email-message previews (Loops: 100) per rolling
    /// 24 hours, measured on tokio's clock.
    pub fn daily_caps(mut self, uploads: u32, previews: u32) -> Self {
        self.content.upload_cap = uploads;
        self.content.preview_cap = previews;
        self
    }

    /// Sends outgoing webhooks to `url`, signed with `secret` (`whsec_<base64>`).
    ///
    /// Fails when the secret is not valid `whsec_` base64.
    pub fn webhook(
        mut self,
        url: impl Into<String>,
        secret: &str,
    ) -> Result<Self, loops_client::webhooks::WebhookError> {
        self.webhook = Some(WebhookTarget {
            url: url.into(),
            secret: loops_client::webhooks::WebhookSecret::parse(secret)?,
        });
        Ok(self)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_key", &"[redacted]")
            .field("team_name", &self.team_name)
            .field("shared", &self.shared)
            .field("idempotency_window", &self.idempotency_window)
            .field("lists", &self.lists.len())
            .field("custom_properties", &self.custom_properties.len())
            .field("transactional", &self.transactional.len())
            .field("strict_properties", &self.strict_properties)
            .field("attachments_enabled", &self.attachments_enabled)
            .field("webhook", &self.webhook)
            .field("content", &self.content)
            .finish_non_exhaustive()
    }
}
