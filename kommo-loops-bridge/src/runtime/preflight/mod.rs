//! The preflight: what the rules need, checked against both accounts before the first
//! webhook arrives.
//!
//! A rules file can be valid and still fail in production: a Loops contact property that was
//! never created makes every upsert a dead letter, a transactional email missing a data
//! variable refuses every send, a stage id from another pipeline never matches, a webhook
//! subscription without `status_lead` never delivers a stage change. [`check`] reads what the
//! rules name from both accounts (a handful of requests) and says, one line per check, what
//! holds and what to do about what does not. A rules file that passes cannot dead-letter for
//! a missing contact property, data variable or stage.
//!
//! [`resolve_names`] turns stage and pipeline names (`to = "Demo booked"`) into ids once, at
//! startup; [`fix`] creates the missing contact properties with the type the rules imply.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use kommo_loops_bridge::Rules;
//! use kommo_loops_bridge::runtime::preflight::{self, PreflightOptions};
//!
//! let loops = loops_client::Client::new(std::env::var("LOOPS_API_KEY")?)?;
//! let kommo = kommo_client::Client::new("acme.kommo.com", std::env::var("KOMMO_TOKEN")?)?;
//! let rules = preflight::resolve_names(&Rules::from_path("rules.toml")?, &kommo).await?;
//! let options = PreflightOptions::new()
//!     .kommo_webhook_token(std::env::var("KOMMO_WEBHOOK_TOKEN")?)
//!     .loops_webhook_secret(std::env::var("LOOPS_WEBHOOK_SECRET")?);
//! let report = preflight::check(&rules, &loops, &kommo, &options).await;
//! println!("{report}"); // ✓ Loops: contact property plan exists (string) ...
//! if !report.passed() {
//!     for created in preflight::fix(&loops, &report).await {
//!         println!("{created}");
//!     }
//! }
//! # Ok(()) }
//! ```

mod evaluate;
mod fetch;
mod needs;
mod report;

use std::fmt;

pub use report::{Check, Report, Side, Status};

use super::ports::{KommoApi, PortError};
use crate::rules::{Rules, RulesError};

/// Which Kommo webhook subscription is the bridge's.
#[derive(Clone, PartialEq, Eq)]
enum KommoWebhook {
    /// Exactly this URL.
    Url(String),
    /// A URL whose last path segment is this token (`…/webhooks/kommo/<token>`).
    Token(String),
}

/// What the check knows of the Loops signing secret.
#[derive(Clone, Default, PartialEq, Eq)]
enum LoopsSecret {
    #[default]
    NotGiven,
    /// Known to be unset: Loops deliveries are refused.
    Absent,
    /// The setting, secrets comma-separated.
    Given(String),
}

/// What the preflight needs besides the rules and the two clients. Its `Debug` never shows
/// the webhook token or the signing secret.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PreflightOptions {
    kommo_webhook: Option<KommoWebhook>,
    loops_secret: LoopsSecret,
}

impl fmt::Debug for PreflightOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let webhook = match &self.kommo_webhook {
            None => "any",
            Some(KommoWebhook::Url(_)) => "url [redacted]",
            Some(KommoWebhook::Token(_)) => "token [redacted]",
        };
        let secret = match &self.loops_secret {
            LoopsSecret::NotGiven => "not given",
            LoopsSecret::Absent => "absent",
            LoopsSecret::Given(_) => "[redacted]",
        };
        f.debug_struct("PreflightOptions")
            .field("kommo_webhook", &webhook)
            .field("loops_secret", &secret)
            .finish()
    }
}

impl PreflightOptions {
    /// No webhook details: any Kommo subscription is compared with what the rules need, and
    /// the Loops secret is not checked.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bridge's Kommo webhook is the subscription to exactly this URL.
    pub fn kommo_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.kommo_webhook = Some(KommoWebhook::Url(url.into()));
        self
    }

    /// The bridge's Kommo webhook is the subscription whose URL ends with this path token
    /// (`https://…/webhooks/kommo/<token>`, the server's `KOMMO_WEBHOOK_TOKEN`).
    pub fn kommo_webhook_token(mut self, token: impl Into<String>) -> Self {
        self.kommo_webhook = Some(KommoWebhook::Token(token.into()));
        self
    }

    /// The Loops signing secret the bridge verifies deliveries with (several,
    /// comma-separated, during a rotation); `None` when the bridge has none, which fails the
    /// check when `[[loops]]` rules exist.
    pub fn loops_webhook_secret(mut self, secret: impl Into<Option<String>>) -> Self {
        self.loops_secret = match secret.into() {
            Some(secret) => LoopsSecret::Given(secret),
            None => LoopsSecret::Absent,
        };
        self
    }
}

/// Why [`resolve_names`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The pipelines could not be read.
    #[error("the Kommo pipelines could not be read to resolve the rules' stage names: {0}")]
    Kommo(PortError),
    /// A name is unknown or ambiguous.
    #[error(transparent)]
    Rules(RulesError),
}

/// The rules with their pipeline and stage names resolved to ids against the account's
/// pipelines (one request, only when the rules name some; see
/// [`Rules::resolve_names`](crate::Rules::resolve_names)). Run it once at startup, before
/// building the `Bridge`.
///
/// # Errors
///
/// The pipelines cannot be read, or a name is unknown or ambiguous.
pub async fn resolve_names(rules: &Rules, kommo: &dyn KommoApi) -> Result<Rules, ResolveError> {
    if !rules.has_unresolved_names() {
        return Ok(rules.clone());
    }
    let pipelines = kommo.pipelines().await.map_err(ResolveError::Kommo)?;
    rules.resolve_names(&pipelines).map_err(ResolveError::Rules)
}

/// Checks what `rules` need against both accounts. Never fails: what cannot be read is a
/// failed check saying why.
pub async fn check(
    rules: &Rules,
    loops: &loops_client::Client,
    kommo: &kommo_client::Client,
    options: &PreflightOptions,
) -> Report {
    let needs = needs::Needs::of(rules);
    let names = rules.has_unresolved_names();
    let (mut kommo_facts, mut loops_facts) = (fetch::Facts::default(), fetch::Facts::default());
    tokio::join!(
        fetch::kommo(kommo, &needs, names, &mut kommo_facts),
        fetch::loops(loops, &needs, &mut loops_facts),
    );
    let facts = fetch::Facts {
        loops_team: loops_facts.loops_team,
        properties: loops_facts.properties,
        transactional: loops_facts.transactional,
        lists: loops_facts.lists,
        ..kommo_facts
    };
    evaluate::evaluate(rules, &facts, options)
}

/// Creates the Loops contact properties `report` found missing, with the type the rules
/// imply, and nothing else. One line per property: created, or why not. Run [`check`] again
/// afterwards.
pub async fn fix(loops: &loops_client::Client, report: &Report) -> Vec<Check> {
    let mut done = Vec::new();
    for (name, kind) in &report.missing_properties {
        let subject = format!("property:{name}");
        let check = match loops.contact_properties().create(name, kind.clone()).await {
            Ok(()) => Check::new(
                Status::Ok,
                Side::Loops,
                subject,
                format!("created the contact property {name} ({})", kind.as_str()),
            ),
            Err(error) => Check::new(
                Status::Failed,
                Side::Loops,
                subject,
                format!("could not create the contact property {name}: {error}"),
            )
            .fix("create it in Loops > Settings > Contact properties"),
        };
        done.push(check);
    }
    done
}
