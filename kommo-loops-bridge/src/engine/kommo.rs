//! Planning Kommo events: gate the rules on what the webhook says, gather the data the
//! candidates need (or say what to fetch), then build the actions.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::actions::{ActionsBuilder, Origin, Recipient};
use super::context::KommoContext;
use super::gather::{Gathered, Person, choose_emails, describe, gather, no_people_reason};
use super::{KommoDelivery, KommoEvent, Mode, Subject};
use crate::keys::KeyBase;
use crate::plan::{Explain, Needs, Plan, Planning, Reason};
use crate::rules::{KommoRule, Rules, Uses};
use crate::snapshot::Snapshot;
use crate::template::Resolve;
use crate::text::{Decimal, concat, concat_shared};
use crate::value::Val;

pub(super) fn plan(
    rules: &Rules,
    delivery: &KommoDelivery,
    snapshot: &Snapshot,
    mode: Mode,
) -> Planning {
    let inner = &rules.inner;
    let mut needs = Needs::default();
    // One entry per rule and event, give or take a note: sized once.
    let mut explain = Vec::with_capacity(delivery.events.len() * inner.kommo.len().max(1));
    let mut builder = ActionsBuilder::new(inner, mode, rules.merge_upserts);
    // Only a delivery of several events can repeat one.
    let mut seen = BTreeSet::new();
    let several = delivery.events.len() > 1;

    for (index, event) in delivery.events.iter().enumerate() {
        let event = match event {
            Ok(event) => event,
            Err(reason) => {
                explain.push(Explain::note(format!("event #{index}"), reason.clone()));
                continue;
            }
        };
        builder.start_event(index);
        let label = concat_shared(&[
            event.name,
            " ",
            event.subject.kind(),
            " ",
            Decimal::new(event.subject.id()).as_str(),
        ]);
        let keys = key_base(delivery.account.id, event, snapshot);
        if several && !seen.insert(keys.identity()) {
            explain.push(Explain::note(
                label,
                "the same event appears earlier in this delivery; planned once",
            ));
            continue;
        }

        // One entry per rule, in file order, whatever stage decided it: a candidate's entry
        // is held in place and written once the rule is decided.
        let first_slot = explain.len();
        let mut candidates = Vec::new();
        for (i, rule) in inner.kommo.iter().enumerate() {
            let reason = match pre_gate(rule, event) {
                Ok(()) => {
                    candidates.push((i, rule));
                    Reason::from("")
                }
                Err(reason) => reason,
            };
            explain.push(entry(&label, rule, false, reason, Vec::new()));
        }
        if candidates.is_empty() {
            continue;
        }
        let mut uses = Uses::default();
        for (_, rule) in &candidates {
            uses.company |= rule.uses.company;
            uses.pipelines |= rule.uses.pipelines;
        }

        let mut gathered = match gather(event, snapshot, uses) {
            Ok(gathered) => gathered,
            Err(missing) => {
                let what = describe(&missing);
                for (i, _) in &candidates {
                    explain[first_slot + i].reason = format!("waiting for data: {what}").into();
                }
                needs.merge(missing);
                continue;
            }
        };
        choose_emails(&mut gathered.people, rules);
        let context = |person| context_for(delivery, event, snapshot, &gathered, person);
        // The userId depends on the contact, not on the rule: rendered once per contact.
        let user_ids: Vec<(Option<String>, Vec<String>)> = gathered
            .people
            .iter()
            .map(|person| match (&inner.identity.user_id, &person.email) {
                (Some(template), Some(_)) => {
                    let mut why = Vec::new();
                    let rendered = template.render_value(&context(person), &mut why);
                    let notes = why.into_iter().map(|w| format!("userId: {w}")).collect();
                    let user_id = rendered
                        .map(Val::into_text)
                        .filter(|s| !s.trim().is_empty());
                    (user_id, notes)
                }
                _ => (None, Vec::new()),
            })
            .collect();

        for (i, rule) in candidates {
            let origin = Origin {
                rule: &rule.name,
                explain_slot: first_slot + i,
            };
            let mut notes = gathered.notes.clone();
            let mut matched = 0usize;
            let mut reasons = Vec::new();
            if gathered.people.is_empty() {
                reasons.push(no_people_reason(&event.subject).into());
            }
            for (person, (user_id, user_id_notes)) in gathered.people.iter().zip(&user_ids) {
                let ctx = context(person);
                if let Err(reason) = post_gate(rule, event, &ctx) {
                    reasons.push(reason);
                    continue;
                }
                let Some(email) = person.email.as_deref() else {
                    reasons.push(person.no_email_reason.clone().into());
                    notes.extend(person.notes.iter().cloned());
                    continue;
                };
                let mut person_notes = person.notes.clone();
                person_notes.extend(user_id_notes.iter().cloned());
                let user_id = user_id.as_deref();
                let previous_email = person
                    .contact
                    .and_then(|c| snapshot.previous_emails.get(&c.id))
                    .map(String::as_str)
                    .filter(|old| !old.eq_ignore_ascii_case(email));
                let recipient = Recipient {
                    ctx,
                    email,
                    user_id,
                    kommo_contact_id: person.contact.map(|c| c.id),
                    previous_email,
                };
                let stale = snapshot.is_stale(event.subject.kind(), event.subject.id());
                builder.add_rule(
                    origin,
                    &rule.actions,
                    &recipient,
                    &keys,
                    stale,
                    &mut person_notes,
                );
                if notes.is_empty() {
                    notes = person_notes;
                } else {
                    notes.extend(person_notes);
                }
                matched += 1;
            }
            let reason = if matched > 0 {
                match gathered.people.len() {
                    1 => Reason::from("matched"),
                    n => format!("matched for {matched} of {n} contacts").into(),
                }
            } else {
                reasons.dedup();
                match reasons.len() {
                    1 => reasons.swap_remove(0),
                    _ => reasons
                        .iter()
                        .map(Reason::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                        .into(),
                }
            };
            let line = &mut explain[first_slot + i];
            line.matched = matched > 0;
            line.reason = reason;
            line.notes = unique(notes);
        }
    }

    if needs.is_empty() {
        let actions = builder.finish(&mut explain);
        Planning::Ready(Plan { actions, explain })
    } else {
        Planning::NeedsData { needs, explain }
    }
}

/// What templates see for one contact of an event.
fn context_for<'a>(
    delivery: &'a KommoDelivery,
    event: &'a KommoEvent,
    snapshot: &'a Snapshot,
    gathered: &Gathered<'a>,
    person: &'a Person<'a>,
) -> KommoContext<'a> {
    KommoContext {
        account: &delivery.account,
        lead: gathered.lead,
        transition: Some(&event.transition),
        contact: person.contact,
        email: person.email.as_deref(),
        company: person.company.or(gathered.company),
        pipelines: snapshot.pipelines.as_deref(),
    }
}

/// Drops repeated notes (one per contact of a company, say), keeping the first of each.
fn unique(mut notes: Vec<String>) -> Vec<String> {
    // A handful of notes, rarely a repeat: in place.
    let mut i = 1;
    while i < notes.len() {
        if notes[..i].contains(&notes[i]) {
            notes.remove(i);
        } else {
            i += 1;
        }
    }
    notes
}

fn entry(
    label: &Arc<str>,
    rule: &KommoRule,
    matched: bool,
    reason: Reason,
    notes: Vec<String>,
) -> Explain {
    Explain {
        event: Arc::clone(label),
        rule: Some(Arc::clone(&rule.name)),
        matched,
        reason,
        notes,
    }
}

/// The key base of an event: everything that tells this change apart from another change of
/// the same entity. When the runtime resolved which occurrence of its change this is (the
/// same whether the change came by webhook or from Kommo's events log), that identity is the
/// fingerprint; otherwise the event's own fields and timestamp are.
fn key_base(account: Option<u64>, event: &KommoEvent, snapshot: &Snapshot) -> KeyBase {
    let kind = event.subject.kind();
    let id = event.subject.id();
    let prefix = concat(&[
        "k-",
        Decimal::new(account.unwrap_or(0)).as_str(),
        "-",
        kind,
        Decimal::new(id).as_str(),
    ]);
    if let Some(change) = super::change_key(account, event)
        && let Some(&occurrence) = snapshot.occurrences.get(&change.text)
    {
        let mut keys = KeyBase::new(prefix, &[event.name, "change", &change.text]);
        keys.number(Some(u64::from(occurrence)));
        return keys;
    }
    let mut keys = KeyBase::new(prefix, &[event.name, kind]);
    let t = &event.transition;
    keys.number(Some(id));
    for part in [
        t.status_id,
        t.old_status_id,
        t.pipeline_id,
        t.old_pipeline_id,
        t.responsible_user_id,
        t.old_responsible_user_id,
    ] {
        keys.number(part);
    }
    match event.changed_at {
        Some(at) if at >= 0 => keys.number(Some(at as u64)),
        Some(at) => keys.text(&at.to_string()),
        None => keys.number(None),
    }
    keys
}

/// What the webhook alone can rule out, before anything is fetched.
fn pre_gate(rule: &KommoRule, event: &KommoEvent) -> Result<(), Reason> {
    let when = &rule.when;
    if !when.names.is_empty() {
        return Err(
            "the rule names stages or pipelines not resolved yet: resolve the rules against the \
             account's pipelines first (Rules::resolve_names)"
                .into(),
        );
    }
    if !when.events.iter().any(|e| e == event.name) {
        return Err(Reason::listens_to(&when.events_listed, event.name));
    }
    let webhook_lead = match &event.subject {
        Subject::Lead(lead) => Some(lead),
        _ => None,
    };
    let pipeline = event
        .transition
        .pipeline_id
        .or(webhook_lead.and_then(|l| l.pipeline_id));
    if let (Some(pipelines), Some(pipeline)) = (&when.pipelines, pipeline)
        && !pipelines.contains(&pipeline)
    {
        return Err(Reason::pipeline(pipeline, pipelines.listed()));
    }
    let status = event
        .transition
        .status_id
        .or(webhook_lead.and_then(|l| l.status_id));
    if let (Some(to), Some(status)) = (&when.to, status)
        && !to.contains(&status)
    {
        return Err(Reason::moved("to", status, to.listed()));
    }
    if let Some(from) = &when.from {
        match event.transition.old_status_id {
            Some(old) if from.contains(&old) => {}
            Some(old) => return Err(Reason::moved("from", old, from.listed())),
            None => return Err("the webhook does not say which status the lead came from".into()),
        }
    }
    if (when.to.is_some() || when.from.is_some())
        && event.transition.old_status_id.is_some()
        && event.transition.old_status_id == event.transition.status_id
        && event
            .transition
            .old_pipeline_id
            .is_none_or(|old| Some(old) == event.transition.pipeline_id)
    {
        return Err("the status did not change".into());
    }
    Ok(())
}

/// The rest of the conditions, once the data is there.
fn post_gate(rule: &KommoRule, event: &KommoEvent, ctx: &KommoContext<'_>) -> Result<(), Reason> {
    let when = &rule.when;
    if let Some(pipelines) = &when.pipelines {
        match ctx.resolve(&crate::template::Reference::LeadPipelineId) {
            Some(Val::Number(n)) if n.as_u64().is_some_and(|n| pipelines.contains(&n)) => {}
            Some(v) => return Err(format!("pipeline {v} is not {}", pipelines.listed()).into()),
            None => return Err("the lead's pipeline is unknown".into()),
        }
    }
    if let Some(to) = &when.to {
        match event
            .transition
            .status_id
            .or(ctx.lead.and_then(|l| l.status_id))
        {
            Some(status) if to.contains(&status) => {}
            Some(status) => return Err(Reason::moved("to", status, to.listed())),
            None => return Err("the lead's status is unknown".into()),
        }
    }
    for condition in &when.conditions {
        match ctx.resolve(&condition.reference) {
            Some(value) => {
                let text = value.to_string();
                if !condition.any_of.contains(&text) {
                    return Err(format!(
                        "where {} = {:?} does not hold ({:?})",
                        condition.reference,
                        condition.any_of.join("|"),
                        text
                    )
                    .into());
                }
            }
            None => {
                return Err(format!("where {}: the value is missing", condition.reference).into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{LeadFacts, Transition};

    fn rule(when: &str) -> Rules {
        Rules::from_toml_str(
            "t.toml",
            &format!("[[kommo]]\nname = \"r\"\nwhen = {when}\ndo = [ {{ send_event = {{ event = \"e\" }} }} ]\n"),
        )
        .unwrap()
    }

    fn status_event(
        name: &'static str,
        status: u64,
        old: Option<u64>,
        pipeline: u64,
    ) -> KommoEvent {
        KommoEvent {
            name,
            subject: Subject::Lead(LeadFacts {
                id: 1,
                status_id: Some(status),
                pipeline_id: Some(pipeline),
                ..LeadFacts::default()
            }),
            transition: Transition {
                status_id: Some(status),
                old_status_id: old,
                pipeline_id: Some(pipeline),
                ..Transition::default()
            },
            changed_at: Some(1),
        }
    }

    #[test]
    fn pre_gate_table() {
        let table: Vec<(&str, KommoEvent, Result<(), &str>)> = vec![
            (
                r#"{ event = "lead_status" }"#,
                status_event("lead_status", 5, Some(4), 7),
                Ok(()),
            ),
            (
                r#"{ event = "lead_added" }"#,
                status_event("lead_status", 5, Some(4), 7),
                Err("listens to lead_added"),
            ),
            (
                r#"{ event = ["lead_added", "lead_status"] }"#,
                status_event("lead_status", 5, Some(4), 7),
                Ok(()),
            ),
            (
                r#"{ event = "lead_status", to = "won" }"#,
                status_event("lead_status", 142, Some(4), 7),
                Ok(()),
            ),
            (
                r#"{ event = "lead_status", to = "won" }"#,
                status_event("lead_status", 143, Some(4), 7),
                Err("moved to status 143, not 142"),
            ),
            (
                r#"{ event = "lead_status", to = ["won", "lost"] }"#,
                status_event("lead_status", 143, Some(4), 7),
                Ok(()),
            ),
            (
                r#"{ event = "lead_status", from = 4, to = 5 }"#,
                status_event("lead_status", 5, Some(4), 7),
                Ok(()),
            ),
            (
                r#"{ event = "lead_status", from = 3 }"#,
                status_event("lead_status", 5, Some(4), 7),
                Err("moved from status 4, not 3"),
            ),
            (
                r#"{ event = "lead_status", from = 3 }"#,
                status_event("lead_status", 5, None, 7),
                Err("does not say which status"),
            ),
            (
                r#"{ event = "lead_status", pipeline = [7, 8] }"#,
                status_event("lead_status", 5, Some(4), 8),
                Ok(()),
            ),
            (
                r#"{ event = "lead_status", pipeline = 9 }"#,
                status_event("lead_status", 5, Some(4), 7),
                Err("pipeline 7 is not 9"),
            ),
            (
                r#"{ event = "lead_updated", to = 5 }"#,
                status_event("lead_updated", 5, Some(5), 7),
                Err("the status did not change"),
            ),
        ];
        for (when, event, expected) in table {
            let rules = rule(when);
            let got = pre_gate(&rules.inner.kommo[0], &event);
            match (&got, expected) {
                (Ok(()), Ok(())) => {}
                (Err(reason), Err(fragment)) => {
                    assert!(reason.to_string().contains(fragment), "{when}: {reason}")
                }
                _ => panic!("{when}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn where_conditions_compare_rendered_text() {
        let rules = rule(
            r#"{ event = "lead_status", where = { "lead.price" = ["1200", "1500"], "account.subdomain" = "acme" } }"#,
        );
        let event = status_event("lead_status", 5, Some(4), 7);
        let lead = LeadFacts {
            id: 1,
            price: crate::value::Val::float(1200.0),
            ..LeadFacts::default()
        };
        let account = crate::facts::AccountFacts {
            id: Some(1),
            subdomain: Some("acme".into()),
        };
        let ctx = |lead| KommoContext {
            account: &account,
            lead: Some(lead),
            transition: Some(&event.transition),
            contact: None,
            email: None,
            company: None,
            pipelines: None,
        };
        assert_eq!(
            post_gate(&rules.inner.kommo[0], &event, &ctx(&lead)),
            Ok(())
        );
        let cheaper = LeadFacts {
            price: crate::value::Val::float(999.5),
            ..lead.clone()
        };
        let err = post_gate(&rules.inner.kommo[0], &event, &ctx(&cheaper))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(r#"where lead.price = "1200|1500" does not hold ("999.5")"#),
            "{err}"
        );
        let unpriced = LeadFacts {
            price: None,
            ..lead.clone()
        };
        assert!(
            post_gate(&rules.inner.kommo[0], &event, &ctx(&unpriced))
                .unwrap_err()
                .to_string()
                .contains("missing")
        );
    }
}
