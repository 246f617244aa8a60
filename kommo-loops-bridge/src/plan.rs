//! What the engine returns: typed actions, the data it still needs, and why.
//!
//! Actions serialize with the Loops API's own field names (`eventName`, `dataVariables`, ...)
//! plus `type` and `idempotencyKey`, which is also the dry run's output format. Names that
//! come from the rules (rule names, event names, property and variable names) are shared
//! with them (`Arc<str>`) rather than copied into every plan.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use loops_client::contacts::{ContactIdentity, ContactLookup, UpdateContactRequest};
use loops_client::events::SendEventRequest;
use loops_client::idempotency::IdempotencyKey;
use loops_client::transactional::SendTransactionalRequest;
use loops_client::validate::ValidationError;
use loops_client::value::{ContactProperties, DataVariable, DataVariables, PropertyValue};
use serde::{Deserialize, Serialize};

pub use crate::explain::{Explain, Reason};
pub use crate::rules::TargetEntity;

/// One thing to do in Loops or Kommo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum Action {
    /// Create or update a Loops contact (`PUT /v1/contacts/update`).
    #[serde(rename = "loops.upsert_contact")]
    UpsertContact(UpsertContact),
    /// Send a Loops event (`POST /v1/events/send`).
    #[serde(rename = "loops.send_event")]
    SendEvent(SendEvent),
    /// Send a Loops transactional email (`POST /v1/transactional`).
    #[serde(rename = "loops.send_transactional")]
    SendTransactional(SendTransactional),
    /// Delete a Loops contact (after an email change without a userId).
    #[serde(rename = "loops.delete_contact")]
    DeleteContact(DeleteContact),
    /// Add a note in Kommo.
    #[serde(rename = "kommo.add_note")]
    AddNote(AddNote),
    /// Add a task in Kommo.
    #[serde(rename = "kommo.add_task")]
    AddTask(AddTask),
    /// Add (and remove) tags in Kommo without replacing the others.
    #[serde(rename = "kommo.add_tags")]
    AddTags(AddTags),
}

impl Action {
    /// The key that makes executing this action twice harmless.
    pub fn idempotency_key(&self) -> &str {
        match self {
            Action::UpsertContact(a) => &a.idempotency_key,
            Action::SendEvent(a) => &a.idempotency_key,
            Action::SendTransactional(a) => &a.idempotency_key,
            Action::DeleteContact(a) => &a.idempotency_key,
            Action::AddNote(a) => &a.idempotency_key,
            Action::AddTask(a) => &a.idempotency_key,
            Action::AddTags(a) => &a.idempotency_key,
        }
    }

    /// The `type` name, e.g. `loops.send_event`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::UpsertContact(_) => "loops.upsert_contact",
            Action::SendEvent(_) => "loops.send_event",
            Action::SendTransactional(_) => "loops.send_transactional",
            Action::DeleteContact(_) => "loops.delete_contact",
            Action::AddNote(_) => "kommo.add_note",
            Action::AddTask(_) => "kommo.add_task",
            Action::AddTags(_) => "kommo.add_tags",
        }
    }

    /// Whether this action sends an email or may trigger one (events, transactional).
    pub fn is_send(&self) -> bool {
        matches!(self, Action::SendEvent(_) | Action::SendTransactional(_))
    }

    /// The rule that produced the action.
    pub fn rule(&self) -> &str {
        match self {
            Action::UpsertContact(a) => &a.rule,
            Action::SendEvent(a) => &a.rule,
            Action::SendTransactional(a) => &a.rule,
            Action::DeleteContact(a) => &a.rule,
            Action::AddNote(a) => &a.rule,
            Action::AddTask(a) => &a.rule,
            Action::AddTags(a) => &a.rule,
        }
    }

    /// Actions with the same key must run in order: one Loops contact (by email, which every
    /// Loops action carries), or one Kommo target.
    pub fn ordering_key(&self) -> String {
        match self {
            Action::UpsertContact(a) => format!("loops:{}", a.email.to_lowercase()),
            Action::SendEvent(a) => format!("loops:{}", a.email.to_lowercase()),
            Action::SendTransactional(a) => format!("loops:{}", a.email.to_lowercase()),
            Action::DeleteContact(a) => {
                format!(
                    "loops:{}",
                    a.user_id
                        .as_deref()
                        .or(a.email.as_deref())
                        .unwrap_or_default()
                        .to_lowercase()
                )
            }
            Action::AddNote(a) => a.target.ordering_key(),
            Action::AddTask(a) => a.target.ordering_key(),
            Action::AddTags(a) => a.target.ordering_key(),
        }
    }
}

/// Create or update a Loops contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UpsertContact {
    /// See [`Action::idempotency_key`].
    pub idempotency_key: String,
    /// The contact's email in Loops.
    pub email: String,
    /// The contact's userId, when `[identity] user_id` is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Every contact property: `firstName`, `lastName`, `source`, `userGroup` and custom ones.
    pub properties: BTreeMap<Arc<str>, PropertyValue>,
    /// Mailing-list changes.
    #[serde(default)]
    pub mailing_lists: BTreeMap<String, bool>,
    /// The Kommo contact the data came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kommo_contact_id: Option<u64>,
    /// The rule (the first one, when several upserts were merged).
    #[serde(default)]
    pub rule: Arc<str>,
}

impl UpsertContact {
    /// The request for `loops-client`.
    pub fn to_request(&self) -> UpdateContactRequest {
        let identity = match &self.user_id {
            Some(user_id) => ContactIdentity::both(&self.email, user_id),
            None => ContactIdentity::email(&self.email),
        };
        let mut request =
            UpdateContactRequest::new(identity).properties(contact_properties(&self.properties));
        for (list, subscribed) in &self.mailing_lists {
            request = request.mailing_list(list, *subscribed);
        }
        request
    }
}

/// Send a Loops event, and with it, when an upsert of the same contact was merged into it,
/// that upsert's contact properties and mailing lists (top-level keys of
/// `POST /v1/events/send`, which updates or creates the contact before the event starts its
/// workflows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SendEvent {
    /// See [`Action::idempotency_key`]; also sent as the `Idempotency-Key` header. A merged
    /// upsert adds nothing to it: the event's key covers the one call.
    pub idempotency_key: String,
    /// The contact's email.
    pub email: String,
    /// The contact's userId, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The event name in Loops.
    pub event_name: Arc<str>,
    /// The event properties.
    #[serde(default)]
    pub event_properties: BTreeMap<Arc<str>, PropertyValue>,
    /// Contact properties sent with the event (from a merged upsert; see
    /// [`UpsertContact::properties`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contact_properties: BTreeMap<Arc<str>, PropertyValue>,
    /// Mailing-list changes sent with the event (from a merged upsert).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mailing_lists: BTreeMap<String, bool>,
    /// The Kommo contact the merged upsert's data came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kommo_contact_id: Option<u64>,
    /// The rule of the upsert merged into this event, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upsert_rule: Option<Arc<str>>,
    /// The rule that produced it.
    #[serde(default)]
    pub rule: Arc<str>,
}

impl SendEvent {
    /// Whether this event carries a contact upsert (one call instead of two).
    pub fn carries_upsert(&self) -> bool {
        self.upsert_rule.is_some()
    }

    /// The request for `loops-client`, carrying the idempotency key.
    pub fn to_request(&self) -> Result<SendEventRequest, ValidationError> {
        let identity = match &self.user_id {
            Some(user_id) => ContactIdentity::both(&self.email, user_id),
            None => ContactIdentity::email(&self.email),
        };
        let mut request = SendEventRequest::new(identity, &*self.event_name)
            .event_properties(
                self.event_properties
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
            .contact_properties(contact_properties(&self.contact_properties))
            .idempotency_key(IdempotencyKey::new(&self.idempotency_key)?);
        for (list, subscribed) in &self.mailing_lists {
            request = request.mailing_list(list, *subscribed);
        }
        Ok(request)
    }
}

fn contact_properties(properties: &BTreeMap<Arc<str>, PropertyValue>) -> ContactProperties {
    properties.iter().map(|(k, v)| (&**k, v.clone())).collect()
}

/// Send a Loops transactional email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SendTransactional {
    /// See [`Action::idempotency_key`]; also sent as the `Idempotency-Key` header.
    pub idempotency_key: String,
    /// The recipient.
    pub email: String,
    /// The transactional email id in Loops.
    pub transactional_id: Arc<str>,
    /// Data variables (missing values are `""`, which Loops treats as empty).
    #[serde(default)]
    pub data_variables: BTreeMap<Arc<str>, DataValue>,
    /// Whether to create the contact if missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_to_audience: Option<bool>,
    /// The rule that produced it.
    #[serde(default)]
    pub rule: Arc<str>,
}

/// A transactional data variable value: Loops takes strings and numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum DataValue {
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
}

impl SendTransactional {
    /// The request for `loops-client`, carrying the idempotency key.
    pub fn to_request(&self) -> Result<SendTransactionalRequest, ValidationError> {
        let mut vars = DataVariables::new();
        for (name, value) in &self.data_variables {
            let value = match value {
                DataValue::Number(n) => DataVariable::Number(n.clone()),
                DataValue::String(s) => DataVariable::String(s.clone()),
            };
            vars.insert(name.to_string(), value);
        }
        let mut request = SendTransactionalRequest::new(&*self.transactional_id, &self.email)
            .data_variables(vars)
            .idempotency_key(IdempotencyKey::new(&self.idempotency_key)?);
        if let Some(add) = self.add_to_audience {
            request = request.add_to_audience(add);
        }
        Ok(request)
    }
}

/// Delete a Loops contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DeleteContact {
    /// See [`Action::idempotency_key`].
    pub idempotency_key: String,
    /// The email to delete, or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// the userId to delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The rule that produced it.
    #[serde(default)]
    pub rule: Arc<str>,
}

impl DeleteContact {
    /// The lookup for `loops-client`.
    pub fn to_lookup(&self) -> Result<ContactLookup, ValidationError> {
        ContactLookup::from_parts(self.email.as_deref(), self.user_id.as_deref())
    }
}

/// Where a Kommo action lands.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Target {
    /// The Kommo entity of the contact with this email; the runtime resolves it.
    Email {
        /// The email from the Loops event.
        email: String,
        /// Contact, or the contact's lead.
        on: TargetEntity,
    },
    /// A lead.
    Lead {
        /// Its id.
        #[serde(rename = "leadId")]
        lead_id: u64,
    },
    /// A contact.
    Contact {
        /// Its id.
        #[serde(rename = "contactId")]
        contact_id: u64,
    },
}

impl Target {
    fn ordering_key(&self) -> String {
        match self {
            Target::Email { email, .. } => format!("kommo:email:{}", email.to_lowercase()),
            Target::Lead { lead_id } => format!("kommo:lead:{lead_id}"),
            Target::Contact { contact_id } => format!("kommo:contact:{contact_id}"),
        }
    }
}

/// Add a text note in Kommo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AddNote {
    /// See [`Action::idempotency_key`].
    pub idempotency_key: String,
    /// Where.
    pub target: Target,
    /// The note text.
    pub text: String,
    /// The rule that produced it.
    #[serde(default)]
    pub rule: Arc<str>,
}

/// Add a task in Kommo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AddTask {
    /// See [`Action::idempotency_key`].
    pub idempotency_key: String,
    /// Where.
    pub target: Target,
    /// The task text.
    pub text: String,
    /// Due this many hours after the triggering event.
    pub due_in_hours: u32,
    /// The Kommo task type (1 = call, 2 = meeting; default: Kommo's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<u64>,
    /// When the triggering event happened (Unix seconds), so the due time does not depend on
    /// when the action runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<i64>,
    /// The rule that produced it.
    #[serde(default)]
    pub rule: Arc<str>,
}

/// Add and remove tags in Kommo, leaving the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AddTags {
    /// See [`Action::idempotency_key`].
    pub idempotency_key: String,
    /// Where.
    pub target: Target,
    /// Tags to add.
    pub tags: Vec<String>,
    /// Tags to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_tags: Vec<String>,
    /// The rule that produced it.
    #[serde(default)]
    pub rule: Arc<str>,
}

/// Data the engine needs before it can plan: fetch it, add it to the snapshot, plan again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Needs {
    /// Leads to fetch (`GET /api/v4/leads/{id}?with=contacts`).
    pub leads: BTreeSet<u64>,
    /// Contacts to fetch (`GET /api/v4/contacts/{id}`).
    pub contacts: BTreeSet<u64>,
    /// Companies to fetch (`GET /api/v4/companies/{id}?with=contacts`).
    pub companies: BTreeSet<u64>,
    /// Whether pipelines are needed (stage or pipeline names are referenced).
    pub pipelines: bool,
}

impl Needs {
    /// Whether nothing is needed.
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
            && self.contacts.is_empty()
            && self.companies.is_empty()
            && !self.pipelines
    }

    pub(crate) fn merge(&mut self, other: Needs) {
        self.leads.extend(other.leads);
        self.contacts.extend(other.contacts);
        self.companies.extend(other.companies);
        self.pipelines |= other.pipelines;
    }
}

/// A finished plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Plan {
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// Why: every rule, matched or not.
    pub explain: Vec<Explain>,
}

/// The result of planning a Kommo delivery: a plan, or the data still needed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Planning {
    /// Everything was known; here is the plan.
    Ready(Plan),
    /// Fetch this and plan again.
    NeedsData {
        /// What to fetch.
        needs: Needs,
        /// Why, so far.
        explain: Vec<Explain>,
    },
}

impl Planning {
    /// The explain trace.
    pub fn explain(&self) -> &[Explain] {
        match self {
            Planning::Ready(plan) => &plan.explain,
            Planning::NeedsData { explain, .. } => explain,
        }
    }

    /// The actions (none while data is still needed).
    pub fn actions(&self) -> &[Action] {
        match self {
            Planning::Ready(plan) => &plan.actions,
            Planning::NeedsData { .. } => &[],
        }
    }

    /// What is still needed, if anything.
    pub fn needs(&self) -> Option<&Needs> {
        match self {
            Planning::Ready(_) => None,
            Planning::NeedsData { needs, .. } => Some(needs),
        }
    }
}

impl Serialize for Planning {
    /// `{"actions": [...], "needs": {...} | null, "explain": [...]}`, the dry-run format.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Planning", 3)?;
        s.serialize_field("actions", self.actions())?;
        s.serialize_field("needs", &self.needs())?;
        s.serialize_field("explain", self.explain())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Actions as 0.1.0 stored them in the outbox still read, and write back the same.
    #[test]
    fn stored_actions_of_the_first_release_still_read() {
        let stored = [
            r#"{"type":"loops.upsert_contact","idempotencyKey":"k-1-lead2-aa","email":"ada@acme.io","userId":"u1","properties":{"firstName":"Ada","kommoStage":"Won"},"mailingLists":{},"kommoContactId":5101,"rule":"won"}"#,
            r#"{"type":"loops.send_event","idempotencyKey":"k-1-lead2-bb","email":"ada@acme.io","userId":"u1","eventName":"deal_won","eventProperties":{"deal_value":1200},"rule":"won"}"#,
            r#"{"type":"loops.send_transactional","idempotencyKey":"k-1-lead2-cc","email":"ada@acme.io","transactionalId":"cl_welcome","dataVariables":{"name":"Ada"},"rule":"won"}"#,
        ];
        for json in stored {
            let action: Action = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&action).unwrap(), json);
        }
        let Action::SendEvent(event) = serde_json::from_str(stored[1]).unwrap() else {
            panic!("not an event")
        };
        assert!(!event.carries_upsert());
        assert!(event.contact_properties.is_empty());
    }

    #[test]
    fn a_merged_event_sends_the_contact_properties_at_the_top_level() {
        let json = r#"{"type":"loops.send_event","idempotencyKey":"k-1-lead2-bb","email":"ada@acme.io","eventName":"deal_won","eventProperties":{"deal_value":1200},"contactProperties":{"userGroup":"customers"},"mailingLists":{"cl_customers":true},"kommoContactId":5101,"upsertRule":"won","rule":"won"}"#;
        let action: Action = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&action).unwrap(), json);
        let Action::SendEvent(event) = action else {
            panic!("not an event")
        };
        assert!(event.carries_upsert());
        let request = event.to_request().unwrap().to_api_request().unwrap();
        assert_eq!(
            request.idempotency_key_value().unwrap().as_str(),
            "k-1-lead2-bb"
        );
        let body: serde_json::Value = serde_json::from_slice(request.body().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "email": "ada@acme.io",
                "eventName": "deal_won",
                "eventProperties": {"deal_value": 1200},
                "userGroup": "customers",
                "mailingLists": {"cl_customers": true}
            })
        );
    }
}
