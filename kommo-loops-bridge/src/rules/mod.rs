//! The rules file: parsed and validated once, then immutable and cheap to share.
//!
//! See `docs/rules.md` for the full reference. In short:
//!
//! ```
//! use kommo_loops_bridge::Rules;
//!
//! let rules = Rules::from_toml_str("rules.toml", r#"
//!     [contact]
//!     source = "kommo_crm"
//!
//!     [[kommo]]
//!     name = "won"
//!     when = { event = "lead_status", to = "won" }
//!     do = [ { send_event = { event = "deal_won", properties = { deal_value = "{lead.price}" } } } ]
//!
//!     [[loops]]
//!     name = "hard bounce"
//!     when = { event = "email.hardBounced" }
//!     do = [ { kommo_note = { text = "Loops: hard bounce on {email}" } } ]
//! "#).unwrap();
//! assert_eq!(rules.kommo_rule_names(), ["won"]);
//!
//! // Mistakes are reported with the file, the rule and the key.
//! let err = Rules::from_toml_str("rules.toml", r#"
//!     [[kommo]]
//!     name = "won"
//!     when = { event = "lead_status", to = "wonn" }
//!     do = [ { send_event = { event = "deal_won" } } ]
//! "#).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     r#"rules.toml: [[kommo]] "won": `when.to`: expected a status id, "won" or "lost", got "wonn" (did you mean "won"?)"#
//! );
//! ```

mod error;
mod names;
mod parse;
mod settings;
mod when;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

pub use error::RulesError;
#[cfg_attr(not(feature = "runtime"), allow(unused_imports))]
pub(crate) use names::{ResolvedName, resolve};

use crate::template::{Reference, Template};

/// Kommo's system status for won leads, in every pipeline.
pub const STATUS_WON: u64 = 142;
/// Kommo's system status for lost leads, in every pipeline.
pub const STATUS_LOST: u64 = 143;

/// The Kommo events a `[[kommo]]` rule can listen to.
pub const KOMMO_EVENTS: [&str; 14] = [
    "lead_added",
    "lead_updated",
    "lead_status",
    "lead_responsible",
    "lead_deleted",
    "lead_restored",
    "contact_added",
    "contact_updated",
    "contact_deleted",
    "contact_restored",
    "company_added",
    "company_updated",
    "company_deleted",
    "company_restored",
];

/// A validated rules file. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Rules {
    pub(crate) inner: Arc<RulesInner>,
    /// Whether a contact's upsert travels with the event that follows it (one call instead
    /// of two); see [`Rules::merging_upserts_into_events`].
    pub(crate) merge_upserts: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct RulesInner {
    pub(crate) file: String,
    pub(crate) identity: Identity,
    pub(crate) contact: ContactDefaults,
    pub(crate) kommo: Vec<KommoRule>,
    pub(crate) loops: Vec<LoopsRule>,
}

/// Which Kommo email becomes the Loops email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmailChoice {
    /// The first email marked WORK, else the first.
    FirstWork,
    /// The first email.
    First,
}

#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) email: EmailChoice,
    pub(crate) user_id: Option<Template>,
}

/// Fills every upsert.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContactDefaults {
    pub(crate) source: Option<Template>,
    pub(crate) user_group: Option<Template>,
    pub(crate) properties: BTreeMap<Arc<str>, Template>,
    pub(crate) mailing_lists: BTreeMap<String, bool>,
}

impl ContactDefaults {
    pub(crate) fn templates(&self) -> impl Iterator<Item = &Template> {
        self.source
            .iter()
            .chain(&self.user_group)
            .chain(self.properties.values())
    }
}

impl KommoAction {
    pub(crate) fn templates(&self) -> Box<dyn Iterator<Item = &Template> + '_> {
        match self {
            KommoAction::UpsertContact(spec) => Box::new(
                spec.source
                    .iter()
                    .chain(&spec.user_group)
                    .chain(spec.properties.values()),
            ),
            KommoAction::SendEvent { properties, .. } => Box::new(properties.values()),
            KommoAction::SendTransactional { data, .. } => Box::new(data.values()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct KommoRule {
    /// Shared with every explanation that names the rule.
    pub(crate) name: Arc<str>,
    pub(crate) when: KommoWhen,
    pub(crate) actions: Vec<KommoAction>,
    /// What the rule's templates and conditions read, so the engine asks only for that.
    pub(crate) uses: Uses,
}

/// Which optional data a rule reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Uses {
    pub(crate) company: bool,
    pub(crate) pipelines: bool,
}

impl Uses {
    pub(crate) fn add<'a>(&mut self, references: impl Iterator<Item = &'a Reference>) {
        for reference in references {
            match reference.entity() {
                crate::template::Entity::Company => self.company = true,
                crate::template::Entity::Pipelines => self.pipelines = true,
                _ => {}
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct KommoWhen {
    pub(crate) events: Vec<String>,
    /// The events, listed for explanations (shared with every reason that names them).
    pub(crate) events_listed: Arc<str>,
    pub(crate) pipelines: Option<Ids>,
    pub(crate) to: Option<Ids>,
    pub(crate) from: Option<Ids>,
    pub(crate) conditions: Vec<Condition>,
    /// Pipelines and stages given by name. They are resolved to ids against the account's
    /// pipelines ([`Rules::resolve_names`]); until then the rule never matches.
    pub(crate) names: StageNames,
}

/// The names in a rule's `when.pipeline`, `when.to` and `when.from`, still to be resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StageNames {
    pub(crate) pipeline: Vec<String>,
    pub(crate) to: Vec<String>,
    pub(crate) from: Vec<String>,
}

impl StageNames {
    pub(crate) fn is_empty(&self) -> bool {
        self.pipeline.is_empty() && self.to.is_empty() && self.from.is_empty()
    }
}

/// Pipeline or status ids of a condition, with their listing for explanations written once
/// when the rules are loaded rather than at every plan that does not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ids {
    ids: Vec<u64>,
    listed: Arc<str>,
}

impl Ids {
    pub(crate) fn new(ids: Vec<u64>) -> Self {
        Ids::labeled(ids.into_iter().map(|id| (id, None)).collect())
    }

    /// Ids with the names they were resolved from, listed as `5010 "Demo booked"`.
    pub(crate) fn labeled(ids: Vec<(u64, Option<String>)>) -> Self {
        let listed = ids
            .iter()
            .map(|(id, name)| match name {
                Some(name) => format!("{id} {name:?}"),
                None => id.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
            .into();
        Ids {
            ids: ids.into_iter().map(|(id, _)| id).collect(),
            listed,
        }
    }

    /// `1, 2, 3`, shared with every reason that names the ids.
    pub(crate) fn listed(&self) -> &Arc<str> {
        &self.listed
    }
}

impl std::ops::Deref for Ids {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        &self.ids
    }
}

/// `where = { "lead.cf.PLAN" = "pro" }`.
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub(crate) reference: Reference,
    pub(crate) any_of: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum KommoAction {
    UpsertContact(UpsertSpec),
    /// Names are shared with the actions planned from them.
    SendEvent {
        event: Arc<str>,
        properties: BTreeMap<Arc<str>, Template>,
    },
    SendTransactional {
        id: Arc<str>,
        data: BTreeMap<Arc<str>, Template>,
        add_to_audience: Option<bool>,
    },
}

#[derive(Debug, Clone, Default)]
pub(crate) struct UpsertSpec {
    pub(crate) source: Option<Template>,
    pub(crate) user_group: Option<Template>,
    pub(crate) properties: BTreeMap<Arc<str>, Template>,
    pub(crate) mailing_lists: BTreeMap<String, bool>,
    /// Only an explicit rule can subscribe a contact.
    pub(crate) subscribed: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct LoopsRule {
    /// Shared with every explanation that names the rule.
    pub(crate) name: Arc<str>,
    pub(crate) events: Vec<String>,
    pub(crate) actions: Vec<LoopsAction>,
}

/// Which Kommo entity a Loops-side action lands on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TargetEntity {
    /// The contact with the email.
    Contact,
    /// The contact's most recently updated open lead (else its most recent lead).
    Lead,
}

#[derive(Debug, Clone)]
pub(crate) enum LoopsAction {
    Note {
        text: Template,
        on: TargetEntity,
    },
    Task {
        text: Template,
        due_in_hours: u32,
        task_type: Option<u64>,
        on: TargetEntity,
    },
    Tags {
        add: Vec<String>,
        remove: Vec<String>,
        on: TargetEntity,
    },
}

impl Rules {
    /// Parses TOML. `file` names the source in error messages.
    pub fn from_toml_str(file: &str, text: &str) -> Result<Rules, RulesError> {
        let value: serde_json::Value =
            toml::from_str(text).map_err(|e| RulesError::syntax(file, e.to_string()))?;
        parse::compile(file, &value)
    }

    /// Parses JSON with the same structure as the TOML form.
    pub fn from_json_str(file: &str, text: &str) -> Result<Rules, RulesError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| RulesError::syntax(file, e.to_string()))?;
        parse::compile(file, &value)
    }

    /// Reads a file; `.json` files are JSON, anything else TOML.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Rules, RulesError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| RulesError::syntax(&file, format!("cannot read: {e}")))?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Rules::from_json_str(&file, &text)
        } else {
            Rules::from_toml_str(&file, &text)
        }
    }

    /// The file the rules came from.
    pub fn file(&self) -> &str {
        &self.inner.file
    }

    /// The names of the `[[kommo]]` rules, in file order.
    pub fn kommo_rule_names(&self) -> Vec<&str> {
        self.inner.kommo.iter().map(|r| &*r.name).collect()
    }

    /// The names of the `[[loops]]` rules, in file order.
    pub fn loops_rule_names(&self) -> Vec<&str> {
        self.inner.loops.iter().map(|r| &*r.name).collect()
    }

    /// The rules' own names of the Kommo events some rule listens to (`lead_status`), for
    /// display. These are not Kommo's subscription settings: subscribe with
    /// [`kommo_webhook_settings`](Self::kommo_webhook_settings).
    pub fn kommo_events(&self) -> Vec<&str> {
        let mut events: Vec<&str> = self
            .inner
            .kommo
            .iter()
            .flat_map(|r| r.when.events.iter().map(String::as_str))
            .collect();
        events.sort_unstable();
        events.dedup();
        events
    }

    /// Whether some `[[kommo]]` rule reads company data (`company.*`), so a caller that has
    /// already fetched companies can hand them over and save requests.
    pub fn uses_company_data(&self) -> bool {
        self.inner.kommo.iter().any(|r| r.uses.company)
    }

    /// Whether the rules configure a `userId` for Loops contacts.
    pub fn uses_user_id(&self) -> bool {
        self.inner.identity.user_id.is_some()
    }

    /// Turns merging of upserts into events on (the default) or off.
    ///
    /// On, a contact upsert followed by an event for the same contact travels with that
    /// event: one `POST /v1/events/send` carrying the contact properties, instead of a
    /// `PUT /v1/contacts/update` and then the event (see `docs/rules.md`, "Fewer calls").
    /// Off, every upsert is its own call, as a hand-written integration would do it; the
    /// idempotency key of every event is the same either way.
    ///
    /// ```
    /// use kommo_loops_bridge::Rules;
    ///
    /// let rules = Rules::from_toml_str("rules.toml", r#"
    ///     [[kommo]]
    ///     name = "won"
    ///     when = { event = "lead_status", to = "won" }
    ///     do = [ { upsert_contact = {} }, { send_event = { event = "deal_won" } } ]
    /// "#).unwrap();
    /// assert!(rules.merges_upserts_into_events());
    /// let baseline = rules.clone().merging_upserts_into_events(false);
    /// assert!(!baseline.merges_upserts_into_events());
    /// assert!(rules.merges_upserts_into_events(), "the original is unchanged");
    /// ```
    #[must_use]
    pub fn merging_upserts_into_events(mut self, on: bool) -> Rules {
        self.merge_upserts = on;
        self
    }

    /// Whether upserts travel with the event that follows them
    /// ([`Rules::merging_upserts_into_events`]).
    pub fn merges_upserts_into_events(&self) -> bool {
        self.merge_upserts
    }
}

#[cfg(test)]
mod tests;
