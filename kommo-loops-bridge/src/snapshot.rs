//! The data fetched from Kommo after a webhook, which the engine plans with.

use std::collections::{BTreeMap, BTreeSet};

use crate::facts::{CompanyFacts, ContactFacts, LeadFacts, PipelineFacts};

/// Entities fetched from the Kommo API (or known to be gone), and the emails last synced.
///
/// Build it from API models ([`add_lead`](Self::add_lead), ...) or from the dry run's JSON
/// ([`from_json`](Self::from_json)). Fetched data wins over webhook data for entity fields;
/// the webhook still wins for the transition (old and new status and pipeline).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub(crate) leads: BTreeMap<u64, LeadFacts>,
    pub(crate) contacts: BTreeMap<u64, ContactFacts>,
    pub(crate) companies: BTreeMap<u64, CompanyFacts>,
    pub(crate) pipelines: Option<Vec<PipelineFacts>>,
    pub(crate) previous_emails: BTreeMap<u64, String>,
    pub(crate) missing: Missing,
    /// Entities (`lead`/`contact`/`company`, id) whose event is older than one already
    /// planned: their events keep sends but never overwrite contact data.
    pub(crate) stale: BTreeSet<(String, u64)>,
    /// Which occurrence of its change each event is (by change key), as the runtime resolved
    /// it from its record of changes; the keys are derived from it when present.
    pub(crate) occurrences: BTreeMap<String, u32>,
}

/// Entities that were asked for but do not exist (deleted, or a 204/404 from Kommo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Missing {
    pub(crate) leads: BTreeSet<u64>,
    pub(crate) contacts: BTreeSet<u64>,
    pub(crate) companies: BTreeSet<u64>,
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that Kommo has no such lead, so the engine stops asking for it.
    pub fn mark_lead_missing(&mut self, id: u64) {
        self.missing.leads.insert(id);
    }

    /// Records that Kommo has no such contact.
    pub fn mark_contact_missing(&mut self, id: u64) {
        self.missing.contacts.insert(id);
    }

    /// Records that Kommo has no such company.
    pub fn mark_company_missing(&mut self, id: u64) {
        self.missing.companies.insert(id);
    }

    /// The email last synced to Loops for a Kommo contact, to detect an email change.
    pub fn set_previous_email(&mut self, contact_id: u64, email: impl Into<String>) {
        self.previous_emails.insert(contact_id, email.into());
    }

    /// Marks an entity's event as stale: a newer change of it (a later `updated_at`) was
    /// already planned, so upserts from this event would overwrite newer contact data.
    /// `kind` is `lead`, `contact` or `company`.
    pub fn mark_stale(&mut self, kind: &str, id: u64) {
        self.stale.insert((kind.to_owned(), id));
    }

    /// Records which occurrence of the change `change_key` the event planned with it is.
    pub(crate) fn set_occurrence(&mut self, change_key: impl Into<String>, occurrence: u32) {
        self.occurrences.insert(change_key.into(), occurrence);
    }

    /// Whether an entity's event was marked stale (without building a key to look it up).
    pub(crate) fn is_stale(&self, kind: &str, id: u64) -> bool {
        !self.stale.is_empty() && self.stale.iter().any(|(k, i)| *i == id && k == kind)
    }

    /// The ids of the contacts given.
    pub fn contact_ids(&self) -> Vec<u64> {
        self.contacts.keys().copied().collect()
    }

    /// Whether pipelines were given.
    pub fn has_pipelines(&self) -> bool {
        self.pipelines.is_some()
    }

    /// Whether this lead was given (or marked missing).
    pub fn knows_lead(&self, id: u64) -> bool {
        self.leads.contains_key(&id) || self.missing.leads.contains(&id)
    }

    /// Whether this contact was given (or marked missing).
    pub fn knows_contact(&self, id: u64) -> bool {
        self.contacts.contains_key(&id) || self.missing.contacts.contains(&id)
    }

    /// Whether this company was given (or marked missing).
    pub fn knows_company(&self, id: u64) -> bool {
        self.companies.contains_key(&id) || self.missing.companies.contains(&id)
    }
}

/// The dry run's snapshot file: every key optional, items exactly as Kommo API v4 returns
/// them.
#[derive(serde::Deserialize)]
struct SnapshotFile {
    #[serde(default)]
    leads: Vec<kommo_client::leads::Lead>,
    #[serde(default)]
    contacts: Vec<kommo_client::contacts::Contact>,
    #[serde(default)]
    companies: Vec<kommo_client::companies::Company>,
    #[serde(default)]
    pipelines: Option<Vec<kommo_client::pipelines::Pipeline>>,
    /// Contact id (as a string, JSON keys are strings) to the email last synced to Loops.
    #[serde(default)]
    previous_emails: BTreeMap<String, String>,
    #[serde(default)]
    missing: MissingFile,
    /// Entities whose event is older than one already planned: `[{"kind": "lead", "id": 1}]`.
    #[serde(default)]
    stale: Vec<StaleFile>,
}

#[derive(serde::Deserialize)]
struct StaleFile {
    kind: String,
    id: u64,
}

#[derive(serde::Deserialize, Default)]
struct MissingFile {
    #[serde(default)]
    leads: Vec<u64>,
    #[serde(default)]
    contacts: Vec<u64>,
    #[serde(default)]
    companies: Vec<u64>,
}

impl Snapshot {
    /// Reads `{"leads":[...],"contacts":[...],"companies":[...],"pipelines":[...],
    /// "previous_emails":{"<contact id>":"old@example.com"},"missing":{"leads":[...]}}`.
    ///
    /// ```
    /// let snapshot = kommo_loops_bridge::Snapshot::from_json(r#"{
    ///   "contacts": [{"id": 7, "name": "Ada", "custom_fields_values": null}],
    ///   "previous_emails": {"7": "old@example.com"}
    /// }"#).unwrap();
    /// assert!(snapshot.knows_contact(7));
    /// ```
    pub fn from_json(text: &str) -> Result<Snapshot, String> {
        let file: SnapshotFile =
            serde_json::from_str(text).map_err(|e| format!("invalid snapshot: {e}"))?;
        let mut snapshot = Snapshot::new();
        for lead in &file.leads {
            snapshot.add_lead(lead);
        }
        for contact in &file.contacts {
            snapshot.add_contact(contact);
        }
        for company in &file.companies {
            snapshot.add_company(company);
        }
        if let Some(pipelines) = &file.pipelines {
            snapshot.set_pipelines(pipelines);
        }
        for (id, email) in file.previous_emails {
            let id: u64 = id.parse().map_err(|_| {
                format!("invalid snapshot: previous_emails key {id:?} is not a contact id")
            })?;
            snapshot.set_previous_email(id, email);
        }
        snapshot.missing.leads.extend(file.missing.leads);
        snapshot.missing.contacts.extend(file.missing.contacts);
        snapshot.missing.companies.extend(file.missing.companies);
        for stale in file.stale {
            snapshot.mark_stale(&stale.kind, stale.id);
        }
        Ok(snapshot)
    }
}
