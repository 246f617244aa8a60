//! From Kommo's events log to the engine's input: which log types the rules can react to, and
//! each change as the webhook that would have reported it (pure).

use std::collections::BTreeMap;

use kommo_client::events::{Event, EventEntity, EventType};
use kommo_client::ids::{AccountId, LeadId, PipelineId, StatusId};
use kommo_client::webhooks::{
    EventKind, WebhookAccount, WebhookContact, WebhookEntity, WebhookLead, WebhookPayload,
};
use serde::{Deserialize, Serialize};

use crate::engine::{ChangeKey, event_changes};

/// A change found in Kommo's events log, as the catch-up stores it in its planning job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoggedChange {
    /// The account.
    pub account_id: u64,
    /// The account's subdomain (webhooks carry it; templates may use it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_subdomain: Option<String>,
    /// The rule event it is: `lead_added`, `lead_status`, `lead_updated`, `contact_added`,
    /// `contact_updated`, `company_added` or `company_updated`.
    pub event: String,
    /// The lead, contact or company.
    pub entity_id: u64,
    /// The log's `created_at`, Unix seconds.
    pub at: i64,
    /// The stage after (status changes, additions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_id: Option<u64>,
    /// The stage before (status changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_status_id: Option<u64>,
    /// The pipeline after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<u64>,
    /// The pipeline before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_pipeline_id: Option<u64>,
    /// The log events it was read from (an edit can log several, one per field).
    pub log_ids: Vec<String>,
    /// Which occurrence of its change it was resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
}

impl LoggedChange {
    /// `lead`, `contact` or `company`.
    pub fn entity(&self) -> &str {
        self.event.split('_').next().unwrap_or_default()
    }

    /// The id that stands for the change's sighting in the log: the event's id, or for an
    /// edit (several events of one entity in one second) the second.
    pub(crate) fn log_id(&self) -> String {
        match self.log_ids.as_slice() {
            [one] if !self.event.ends_with("_updated") => one.clone(),
            _ => format!("t{}", self.at),
        }
    }

    /// The webhook that would have reported the change.
    pub(crate) fn payload(&self, subdomain: Option<&str>) -> WebhookPayload {
        let mut account = WebhookAccount::default();
        account.id = Some(AccountId(self.account_id));
        account.subdomain = subdomain.map(str::to_owned);
        let payload = WebhookPayload::new(account);
        let lead = || {
            let mut lead = WebhookLead::new(LeadId(self.entity_id));
            lead.status_id = self.status_id.map(StatusId);
            lead.old_status_id = self.old_status_id.map(StatusId);
            lead.pipeline_id = self.pipeline_id.map(PipelineId);
            lead.old_pipeline_id = self.old_pipeline_id.map(PipelineId);
            lead.updated_at = Some(self.at);
            WebhookEntity::Lead(lead)
        };
        let contact = |kind: &str| {
            let mut contact = WebhookContact::default();
            contact.id = Some(self.entity_id);
            contact.entity_type = Some(kind.to_owned());
            contact.updated_at = Some(self.at);
            contact
        };
        let (kind, entity) = match self.event.as_str() {
            "lead_added" => (EventKind::LeadAdded, lead()),
            "lead_status" => (EventKind::LeadStatusChanged, lead()),
            "lead_updated" => (EventKind::LeadUpdated, lead()),
            "contact_added" => (
                EventKind::ContactAdded,
                WebhookEntity::Contact(contact("contact")),
            ),
            "contact_updated" => (
                EventKind::ContactUpdated,
                WebhookEntity::Contact(contact("contact")),
            ),
            "company_added" => (
                EventKind::CompanyAdded,
                WebhookEntity::Company(contact("company")),
            ),
            "company_updated" => (
                EventKind::CompanyUpdated,
                WebhookEntity::Company(contact("company")),
            ),
            _ => return payload,
        };
        payload.with_event(kind, entity)
    }

    /// The change key, derived by the engine from the webhook the change stands for, exactly
    /// as from a real delivery.
    pub(crate) fn key(&self) -> Option<ChangeKey> {
        event_changes(&self.payload(None))
            .into_iter()
            .next()
            .flatten()
            .map(|(key, _)| key)
    }
}

/// Log types that are edits of an entity (a `*_updated` webhook). Tags are left out: the
/// bridge's own tag writes are the tag events, and no rule reads tags.
const EDITS: [EventType; 6] = [
    EventType::NameFieldChanged,
    EventType::SaleFieldChanged,
    EventType::CustomFieldValueChanged,
    EventType::EntityResponsibleChanged,
    EventType::EntityLinked,
    EventType::EntityUnlinked,
];

/// The log types to read for rules listening to `rule_events`.
pub(crate) fn log_types(rule_events: &[&str]) -> Vec<EventType> {
    let mut types = Vec::new();
    for event in rule_events {
        match *event {
            "lead_added" => types.push(EventType::LeadAdded),
            "lead_status" => types.push(EventType::LeadStatusChanged),
            "contact_added" => types.push(EventType::ContactAdded),
            "company_added" => types.push(EventType::CompanyAdded),
            "lead_updated" | "contact_updated" | "company_updated" => types.extend(EDITS),
            _ => {}
        }
    }
    let mut unique = Vec::new();
    for t in types {
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    unique
}

fn is_edit(t: &EventType) -> bool {
    EDITS.contains(t) || matches!(t, EventType::CustomFieldChanged(_))
}

/// The changes rules listening to `rule_events` can react to, oldest first; edits of one
/// entity within one second are one change. `account` stands in for an event without one.
pub(crate) fn changes_from_log(
    events: &[Event],
    rule_events: &[&str],
    account: u64,
) -> Vec<LoggedChange> {
    let mut changes: BTreeMap<(i64, String, u64, String), LoggedChange> = BTreeMap::new();
    for e in events {
        let (Some(entity_id), Some(at)) = (e.entity_id, e.created_at) else {
            continue;
        };
        let kind = match e.entity_type {
            Some(EventEntity::Lead) => "lead",
            Some(EventEntity::Contact) => "contact",
            Some(EventEntity::Company) => "company",
            _ => continue,
        };
        let event = match &e.event_type {
            EventType::LeadAdded => "lead_added",
            EventType::LeadStatusChanged => "lead_status",
            EventType::ContactAdded => "contact_added",
            EventType::CompanyAdded => "company_added",
            t if is_edit(t) => match kind {
                "lead" => "lead_updated",
                "contact" => "contact_updated",
                _ => "company_updated",
            },
            _ => continue,
        };
        if !event.starts_with(kind) || !rule_events.contains(&event) {
            continue;
        }
        // An edit groups by second; anything else is one change per log event.
        let distinct = if event.ends_with("_updated") {
            String::new()
        } else {
            e.id.clone()
        };
        let change = changes
            .entry((at, distinct, entity_id, event.to_owned()))
            .or_insert_with(|| {
                let after = e.status_after();
                let before = e.status_before();
                LoggedChange {
                    account_id: e.account_id.map_or(account, |a| a.0),
                    account_subdomain: None,
                    event: event.to_owned(),
                    entity_id,
                    at,
                    status_id: after.map(|(_, s)| s.0),
                    pipeline_id: after.map(|(p, _)| p.0),
                    old_status_id: before.map(|(_, s)| s.0),
                    old_pipeline_id: before.map(|(p, _)| p.0),
                    log_ids: Vec::new(),
                    occurrence: None,
                }
            });
        if !change.log_ids.contains(&e.id) {
            change.log_ids.push(e.id.clone());
            change.log_ids.sort();
        }
    }
    changes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONBOARDING: [&str; 6] = [
        "lead_added",
        "lead_status",
        "lead_updated",
        "contact_added",
        "contact_updated",
        "company_updated",
    ];

    fn events() -> Vec<Event> {
        let text = include_str!("../../../../kommo-client/tests/fixtures/kommo/get_events.json");
        let page: serde_json::Value = serde_json::from_str(text).unwrap();
        serde_json::from_value(page["_embedded"]["events"].clone()).unwrap()
    }

    #[test]
    fn the_fixture_becomes_changes_oldest_first() {
        let changes = changes_from_log(&events(), &ONBOARDING, 1);
        /// Event, entity, time, statuses before and after, log events.
        type Row<'a> = (&'a str, u64, i64, Option<u64>, Option<u64>, usize);
        let summary: Vec<Row<'_>> = changes
            .iter()
            .map(|c| {
                (
                    c.event.as_str(),
                    c.entity_id,
                    c.at,
                    c.old_status_id,
                    c.status_id,
                    c.log_ids.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("lead_added", 26053101, 1588768210, None, None, 1),
                (
                    "lead_status",
                    26053101,
                    1588768250,
                    Some(33859426),
                    Some(142),
                    1
                ),
                ("lead_updated", 26053101, 1588768260, None, None, 1),
                ("lead_updated", 26053101, 1588768270, None, None, 1),
                ("lead_updated", 26053101, 1588768280, None, None, 1),
                ("lead_updated", 26053101, 1588768290, None, None, 1),
            ],
            "{changes:#?}"
        );
        assert!(changes.iter().all(|c| c.account_id == 17079858));
        let status = &changes[1];
        assert_eq!(status.pipeline_id, Some(3166396));
        assert_eq!(
            status.key().unwrap().text,
            "17079858:lead:26053101:status:33859426>142@3166396"
        );
        assert_eq!(status.log_id(), "01pz58t6p04vx7s1q2cy4tzd2h");
        assert_eq!(changes[2].log_id(), "t1588768260");
    }

    #[test]
    fn only_what_the_rules_listen_to() {
        let only_status = changes_from_log(&events(), &["lead_status"], 1);
        assert_eq!(only_status.len(), 1);
        assert!(changes_from_log(&events(), &["contact_updated"], 1).is_empty());
        assert_eq!(
            log_types(&["lead_status"]),
            vec![EventType::LeadStatusChanged]
        );
        let edits = log_types(&["lead_updated", "contact_updated", "lead_added"]);
        assert_eq!(edits.len(), EDITS.len() + 1, "each type once: {edits:?}");
        assert!(log_types(&["lead_deleted", "lead_responsible"]).is_empty());
    }

    #[test]
    fn edits_in_one_second_are_one_change_and_keep_every_id() {
        let mut events = events();
        for e in &mut events {
            e.created_at = Some(100);
        }
        let changes = changes_from_log(&events, &["lead_updated"], 1);
        assert_eq!(changes.len(), 1, "{changes:#?}");
        assert_eq!(changes[0].log_ids.len(), 4);
        assert_eq!(
            changes[0].key().unwrap().text,
            "17079858:lead:26053101:updated"
        );
    }

    #[test]
    fn the_payload_is_the_webhook_it_stands_for() {
        let changes = changes_from_log(&events(), &ONBOARDING, 1);
        let payload = changes[1].payload(Some("example"));
        assert_eq!(payload.account.subdomain.as_deref(), Some("example"));
        let lead = payload.events[0].lead().unwrap();
        assert_eq!(payload.events[0].kind, EventKind::LeadStatusChanged);
        assert_eq!(lead.old_status_id, Some(StatusId(33859426)));
        assert_eq!(lead.status_id, Some(StatusId(142)));
        assert_eq!(lead.updated_at, Some(1588768250));
        let json = serde_json::to_string(&changes[1]).unwrap();
        assert_eq!(
            serde_json::from_str::<LoggedChange>(&json).unwrap(),
            changes[1]
        );
    }
}
