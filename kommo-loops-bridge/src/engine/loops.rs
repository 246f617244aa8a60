//! Planning Loops events: notes, tasks and tags aimed at the contact's email. Which Kommo
//! contact or lead that is, the runtime resolves.

use std::sync::Arc;

use loops_client::webhooks::WebhookEvent;

use super::context::LoopsContext;
use crate::keys::KeyBase;
use crate::plan::{Action, AddNote, AddTags, AddTask, Explain, Plan, Reason, Target};
use crate::rules::{LoopsAction, Rules};

pub(super) fn plan(rules: &Rules, webhook_id: &str, event: &WebhookEvent) -> Plan {
    let name = event.event_name();
    let label: Arc<str> = Arc::from(format!("{name} {webhook_id}"));
    let email = event.contact_email();
    let ctx = LoopsContext {
        email,
        event: name,
        user_id: event.contact_identity().and_then(|c| c.user_id.as_deref()),
    };
    let keys = KeyBase::new(format!("l-{webhook_id}"), &[webhook_id, name]);
    let mut actions = Vec::new();
    let mut explain = Vec::new();

    for rule in &rules.inner.loops {
        let mut entry = Explain {
            event: Arc::clone(&label),
            rule: Some(rule.name.clone()),
            matched: false,
            reason: Reason::from(""),
            notes: Vec::new(),
        };
        if !rule.events.iter().any(|e| e == name) {
            entry.reason = format!("listens to {}, not {name}", rule.events.join(", ")).into();
            explain.push(entry);
            continue;
        }
        let Some(email) = email.filter(|e| super::is_plausible_email(e)) else {
            entry.reason =
                "the event names no usable contact email, so there is nothing to find in Kommo"
                    .into();
            explain.push(entry);
            continue;
        };
        for (index, action) in rule.actions.iter().enumerate() {
            let idempotency_key = keys.key(&rule.name, index, "");
            let notes = &mut entry.notes;
            actions.push(match action {
                LoopsAction::Note { text, on } => Action::AddNote(AddNote {
                    idempotency_key,
                    target: Target::Email {
                        email: email.to_owned(),
                        on: *on,
                    },
                    text: text.render_text(&ctx, notes),
                    rule: Arc::clone(&rule.name),
                }),
                LoopsAction::Task {
                    text,
                    due_in_hours,
                    task_type,
                    on,
                } => Action::AddTask(AddTask {
                    idempotency_key,
                    target: Target::Email {
                        email: email.to_owned(),
                        on: *on,
                    },
                    text: text.render_text(&ctx, notes),
                    due_in_hours: *due_in_hours,
                    task_type: *task_type,
                    event_time: event.event_time(),
                    rule: Arc::clone(&rule.name),
                }),
                LoopsAction::Tags { add, remove, on } => Action::AddTags(AddTags {
                    idempotency_key,
                    target: Target::Email {
                        email: email.to_owned(),
                        on: *on,
                    },
                    tags: add.clone(),
                    remove_tags: remove.clone(),
                    rule: Arc::clone(&rule.name),
                }),
            });
        }
        entry.matched = true;
        entry.reason = "matched".into();
        explain.push(entry);
    }
    if rules.inner.loops.is_empty() {
        explain.push(Explain::note(label, "the rules have no [[loops]] rules"));
    }
    Plan { actions, explain }
}
