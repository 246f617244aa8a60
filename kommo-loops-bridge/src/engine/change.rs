//! The identity of a change, the same whichever source reported it: a webhook or Kommo's
//! events log (see docs/architecture.md, "Missed webhooks").
//!
//! The *change key* holds only what both sources tell alike: the account, the entity, and for
//! a status change the statuses before and after and the pipeline after. Timestamps are left
//! out (the webhook's `updated_at` and the log's `created_at` need not agree); the runtime
//! resolves which occurrence of the key a report is, and the engine derives the idempotency
//! keys from the key and that occurrence.

use super::{KommoEvent, Subject};
use crate::text::{Decimal, concat};

/// What identifies one change of an entity, across sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeKey {
    /// E.g. `31000001:lead:4001:status:5001>5002@7001`.
    pub(crate) text: String,
    /// Whether the entity can make this change again (a status move, an edit); `false` for
    /// additions, which happen once per entity.
    pub(crate) repeats: bool,
}

/// The change key of an event, or `None` for events no other source reports (deletions,
/// restorations, responsible changes).
pub(crate) fn change_key(account: Option<u64>, event: &KommoEvent) -> Option<ChangeKey> {
    let kind = event.subject.kind();
    let head = |what: &str| {
        concat(&[
            Decimal::new(account.unwrap_or(0)).as_str(),
            ":",
            kind,
            ":",
            Decimal::new(event.subject.id()).as_str(),
            ":",
            what,
        ])
    };
    let number = |n: Option<u64>| n.map(Decimal::new);
    let text = |n: &Option<Decimal>| n.as_ref().map_or("", Decimal::as_str).to_owned();
    Some(match (event.name, &event.subject) {
        ("lead_added" | "contact_added" | "company_added", _) => ChangeKey {
            text: head("added"),
            repeats: false,
        },
        ("lead_updated" | "contact_updated" | "company_updated", _) => ChangeKey {
            text: head("updated"),
            repeats: true,
        },
        ("lead_status", Subject::Lead(lead)) => {
            let t = &event.transition;
            let to = number(t.status_id.or(lead.status_id));
            let pipeline = number(t.pipeline_id.or(lead.pipeline_id));
            let from = number(t.old_status_id);
            ChangeKey {
                text: concat(&[
                    &head("status"),
                    ":",
                    &text(&from),
                    ">",
                    &text(&to),
                    "@",
                    &text(&pipeline),
                ]),
                repeats: true,
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ContactFacts, LeadFacts, Transition};

    fn lead_event(name: &'static str, transition: Transition, changed_at: i64) -> KommoEvent {
        KommoEvent {
            name,
            subject: Subject::Lead(LeadFacts {
                id: 4001,
                status_id: transition.status_id,
                pipeline_id: transition.pipeline_id,
                responsible_user_id: Some(9),
                ..LeadFacts::default()
            }),
            transition,
            changed_at: Some(changed_at),
        }
    }

    fn moved(from: u64, to: u64, pipeline: u64) -> Transition {
        Transition {
            status_id: Some(to),
            old_status_id: Some(from),
            pipeline_id: Some(pipeline),
            ..Transition::default()
        }
    }

    #[test]
    fn keys_table() {
        let contact = KommoEvent {
            name: "contact_updated",
            subject: Subject::Contact(ContactFacts {
                id: 77,
                ..ContactFacts::default()
            }),
            transition: Transition::default(),
            changed_at: Some(5),
        };
        let table: Vec<(KommoEvent, Option<(&str, bool)>)> = vec![
            (
                lead_event("lead_status", moved(5001, 5002, 7001), 100),
                Some(("1:lead:4001:status:5001>5002@7001", true)),
            ),
            (
                lead_event("lead_added", moved(0, 5000, 7001), 100),
                Some(("1:lead:4001:added", false)),
            ),
            (
                lead_event("lead_updated", Transition::default(), 100),
                Some(("1:lead:4001:updated", true)),
            ),
            (contact, Some(("1:contact:77:updated", true))),
            (
                lead_event("lead_responsible", Transition::default(), 100),
                None,
            ),
            (lead_event("lead_deleted", Transition::default(), 100), None),
        ];
        for (event, expected) in table {
            let got = change_key(Some(1), &event);
            assert_eq!(
                got.as_ref().map(|k| (k.text.as_str(), k.repeats)),
                expected,
                "{}",
                event.name
            );
        }
    }

    #[test]
    fn what_the_sources_disagree_on_is_left_out() {
        let webhook = lead_event("lead_status", moved(5001, 5002, 7001), 1_700_000_000);
        let mut logged = lead_event("lead_status", moved(5001, 5002, 7001), 1_700_000_003);
        // The log knows the old pipeline and no responsible user; the webhook the reverse.
        logged.transition.old_pipeline_id = Some(7001);
        if let Subject::Lead(lead) = &mut logged.subject {
            lead.responsible_user_id = None;
        }
        assert_eq!(change_key(Some(1), &webhook), change_key(Some(1), &logged));
        let back = lead_event("lead_status", moved(5002, 5001, 7001), 1_700_000_001);
        assert_ne!(change_key(Some(1), &webhook), change_key(Some(1), &back));
        let other_pipeline = lead_event("lead_status", moved(5001, 5002, 7002), 1_700_000_000);
        assert_ne!(
            change_key(Some(1), &webhook),
            change_key(Some(1), &other_pipeline)
        );
    }
}

#[cfg(test)]
mod planning {
    use kommo_client::ids::{AccountId, LeadId, PipelineId, StatusId, UserId};
    use kommo_client::webhooks::{
        EventKind, WebhookAccount, WebhookEntity, WebhookLead, WebhookPayload,
    };

    use crate::{Mode, Planning, Rules, Snapshot};

    fn status_payload(updated_at: i64, responsible: Option<u64>) -> WebhookPayload {
        let mut lead = WebhookLead::new(LeadId(4001));
        lead.status_id = Some(StatusId(5002));
        lead.old_status_id = Some(StatusId(5001));
        lead.pipeline_id = Some(PipelineId(7001));
        lead.responsible_user_id = responsible.map(UserId);
        lead.updated_at = Some(updated_at);
        WebhookPayload::new(WebhookAccount::new(
            AccountId(1),
            "acme",
            "https://acme.kommo.com",
        ))
        .with_event(EventKind::LeadStatusChanged, WebhookEntity::Lead(lead))
    }

    fn keys(payload: &WebhookPayload, occurrence: Option<u32>) -> Vec<String> {
        let rules = Rules::from_toml_str(
            "t.toml",
            r#"
            [[kommo]]
            name = "activated"
            when = { event = "lead_status", to = 5002 }
            do = [ { send_event = { event = "account_activated" } } ]
            "#,
        )
        .unwrap();
        let mut snapshot = Snapshot::from_json(
            r#"{"leads": [{"id": 4001, "status_id": 5003, "pipeline_id": 7001,
                 "_embedded": {"contacts": [{"id": 7, "is_main": true}]}}],
                "contacts": [{"id": 7, "name": "Ada", "custom_fields_values": [
                 {"field_id": 1, "field_code": "EMAIL", "values": [{"value": "ada@example.com"}]}]}]}"#,
        )
        .unwrap();
        if let Some(occurrence) = occurrence {
            snapshot.set_occurrence("1:lead:4001:status:5001>5002@7001", occurrence);
        }
        let Planning::Ready(plan) = rules.plan_kommo(payload, &snapshot, Mode::Live) else {
            panic!("needs more data")
        };
        plan.actions
            .iter()
            .map(|a| a.idempotency_key().to_owned())
            .collect()
    }

    #[test]
    fn a_webhook_and_its_log_entry_get_the_same_keys_once_resolved() {
        let webhook = status_payload(1_700_000_000, Some(9));
        let from_log = status_payload(1_700_000_002, None);
        assert_eq!(keys(&webhook, None).len(), 1);
        assert_ne!(
            keys(&webhook, None),
            keys(&from_log, None),
            "unresolved, the timestamp tells them apart"
        );
        assert_eq!(keys(&webhook, Some(1)), keys(&from_log, Some(1)));
        assert_ne!(
            keys(&webhook, Some(1)),
            keys(&webhook, Some(2)),
            "a second occurrence of the same move is another change"
        );
    }
}
