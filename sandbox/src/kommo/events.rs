//! From changes to the webhooks Kommo sends: which event each change is, which subscription
//! setting asks for it, and the entity in the legacy (API v2) field set, encoded with the
//! client's encoder.
//!
//! | change | event (setting) |
//! | --- | --- |
//! | lead created | `leads[add]` (`add_lead`) |
//! | lead moved to another status or pipeline | `leads[status]` (`status_lead`) with `old_status_id`, and `old_pipeline_id` when the pipeline changed |
//! | any other lead change (name, price, fields, tags, links, responsible, ...) | `leads[update]` (`update_lead`) with `old_status_id` |
//! | lead responsible changed | also `leads[responsible]` (`responsible_lead`) with `old_responsible_user_id` |
//! | lead deleted (scenario API) | `leads[delete]` (`delete_lead`): `id`, `status_id`, `pipeline_id` |
//! | contact created / changed | `contacts[add]` / `contacts[update]` with `type=contact` (`add_contact` / `update_contact`, or `responsible_contact` when the responsible changed; `old_responsible_user_id` then) |
//! | company created / changed | the same under `contacts[...]` with `type=company` (`add_company`, `update_company`, `responsible_company`) |
//! | note added | `leads[note]`, `contacts[note]` with `type=contact` or `type=company` (`note_lead`, `note_contact`, `note_company`) |
//! | task added / changed | `task[add]` / `task[update]` (`add_task` / `update_task`); `task[responsible]` (`responsible_task`) when the responsible changed |
//!
//! One request (or one scenario action) makes one body per subscription, holding every event
//! of that request the subscription asked for, unless there are more than
//! [`WebhookPolicy::per_body`](super::WebhookPolicy::per_body) (50): then several bodies of at
//! most that many events each, in change order, as Kommo sends a bulk change.

use kommo_client::common::EntityType;
use kommo_client::ids::{AccountId, GroupId, LeadId, UserId};
use kommo_client::webhook_subscriptions::WebhookSetting;
use kommo_client::webhooks::{
    EventKind, WebhookAccount, WebhookContact, WebhookEntity, WebhookEvent, WebhookLead,
    WebhookNote, WebhookPayload, WebhookTag, WebhookTask,
};

use super::activity::legacy_note_type;
use super::fields;
use super::model::{Company, Contact, Lead, Note, Tag, Task};
use super::state::State;
use super::writes::Change;
use crate::time::legacy_datetime;

/// One event and the settings that make a subscription receive it.
#[derive(Debug, Clone)]
pub(crate) struct Emission {
    pub(crate) settings: Vec<WebhookSetting>,
    pub(crate) event: WebhookEvent,
}

/// The account block of every body.
#[derive(Debug, Clone)]
pub(crate) struct HookAccount {
    pub(crate) id: AccountId,
    pub(crate) subdomain: String,
    pub(crate) url: String,
}

impl HookAccount {
    pub(crate) fn to_webhook(&self) -> WebhookAccount {
        WebhookAccount::new(self.id, self.subdomain.clone(), self.url.clone())
    }
}

fn tags(tags: &[Tag]) -> Vec<WebhookTag> {
    tags.iter()
        .map(|t| WebhookTag::new(t.id, t.name.clone()))
        .collect()
}

/// A lead in the legacy webhook shape.
pub(crate) fn lead(account: AccountId, lead: &Lead) -> WebhookLead {
    let mut w = WebhookLead::new(lead.id);
    w.name = Some(lead.name.clone());
    w.status_id = Some(lead.status_id);
    w.pipeline_id = Some(lead.pipeline_id);
    w.price = Some(lead.price);
    w.responsible_user_id = Some(lead.responsible_user_id);
    w.created_user_id = Some(lead.created_by);
    w.modified_user_id = Some(lead.updated_by);
    w.date_create = Some(lead.created_at);
    w.last_modified = Some(lead.updated_at);
    w.created_at = Some(lead.created_at);
    w.updated_at = Some(lead.updated_at);
    w.account_id = Some(account);
    w.tags = tags(&lead.tags);
    w.custom_fields = fields::to_webhook(&lead.custom_fields);
    w
}

/// A contact in the legacy webhook shape (`type=contact`).
pub(crate) fn contact(account: AccountId, contact: &Contact) -> WebhookContact {
    let mut w = WebhookContact::contact(contact.id);
    w.name = Some(contact.name.clone());
    w.responsible_user_id = Some(contact.responsible_user_id);
    w.created_user_id = Some(contact.created_by);
    w.modified_user_id = Some(contact.updated_by);
    w.date_create = Some(contact.created_at);
    w.last_modified = Some(contact.updated_at);
    w.created_at = Some(contact.created_at);
    w.updated_at = Some(contact.updated_at);
    w.account_id = Some(account);
    w.linked_company_id = contact.company;
    w.tags = tags(&contact.tags);
    w.custom_fields = fields::to_webhook(&contact.custom_fields);
    w
}

/// A company in the legacy webhook shape (`type=company`, with `linked_leads_id`).
pub(crate) fn company(state: &State, account: AccountId, company: &Company) -> WebhookContact {
    let mut w = WebhookContact::company(company.id);
    w.name = Some(company.name.clone());
    w.responsible_user_id = Some(company.responsible_user_id);
    w.created_user_id = Some(company.created_by);
    w.modified_user_id = Some(company.updated_by);
    w.date_create = Some(company.created_at);
    w.last_modified = Some(company.updated_at);
    w.created_at = Some(company.created_at);
    w.updated_at = Some(company.updated_at);
    w.account_id = Some(account);
    w.linked_leads_id = state.leads_of_company(company.id);
    w.tags = tags(&company.tags);
    w.custom_fields = fields::to_webhook(&company.custom_fields);
    w
}

/// The legacy element type: 1 contact, 2 lead, 3 company.
fn element_type(entity: EntityType) -> u32 {
    match entity {
        EntityType::Contacts => 1,
        EntityType::Leads => 2,
        EntityType::Companies => 3,
        _ => 12,
    }
}

/// A note in the legacy shape. Notes without a text (calls) carry their parameters as JSON in
/// `text`, as the legacy API did.
pub(crate) fn note(account: AccountId, note: &Note) -> WebhookNote {
    let text = match note.text() {
        Some(text) => text.to_owned(),
        None => note.params.to_string(),
    };
    let mut w = WebhookNote::new(note.id, text);
    w.note_type = Some(legacy_note_type(&note.note_type));
    w.element_type = Some(element_type(note.entity_type));
    w.element_id = Some(note.entity_id);
    w.attachment = note
        .params
        .get("file_name")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    w.created_by = Some(note.created_by);
    w.modified_by = Some(note.updated_by);
    w.main_user_id = Some(note.responsible_user_id);
    w.group_id = Some(GroupId(0));
    w.account_id = Some(account);
    w.date_create = Some(legacy_datetime(note.created_at));
    w.timestamp_x = Some(legacy_datetime(note.updated_at));
    w.created_at = Some(note.created_at);
    w.updated_at = Some(note.updated_at);
    w.parent_type = match note.entity_type {
        EntityType::Contacts => Some("contact".to_owned()),
        EntityType::Companies => Some("company".to_owned()),
        _ => None,
    };
    w
}

/// A task in the legacy shape; `old` adds what an update reports (`old_text`,
/// `action_close`, `old_responsible_user_id`).
pub(crate) fn task(account: AccountId, task: &Task, old: Option<&Task>) -> WebhookTask {
    let mut w = WebhookTask::new(task.id);
    w.element_id = task.entity_id;
    w.element_type = task.entity_type.map(element_type);
    w.task_type = Some(task.task_type_id);
    w.text = Some(task.text.clone());
    w.status = Some(if task.is_completed { "1" } else { "0" }.to_owned());
    w.result_text = task.result_text.clone();
    w.responsible_user_id = Some(task.responsible_user_id);
    w.created_user_id = Some(task.created_by);
    w.modified_user_id = Some(task.updated_by);
    w.complete_till = Some(legacy_datetime(task.complete_till));
    w.complete_before = Some(task.complete_till);
    w.date_create = Some(legacy_datetime(task.created_at));
    w.last_modified = Some(legacy_datetime(task.updated_at));
    w.created_at = Some(task.created_at);
    w.updated_at = Some(task.updated_at);
    w.account_id = Some(account);
    w.group_id = Some(GroupId(0));
    if let Some(old) = old {
        if old.text != task.text {
            w.old_text = Some(old.text.clone());
        }
        if task.is_completed && !old.is_completed {
            w.action_close = Some("1".to_owned());
        }
        if old.responsible_user_id != task.responsible_user_id {
            w.old_responsible_user_id = Some(old.responsible_user_id);
        }
    }
    w
}

fn emit(
    out: &mut Vec<Emission>,
    settings: Vec<WebhookSetting>,
    kind: EventKind,
    entity: WebhookEntity,
) {
    out.push(Emission {
        settings,
        event: WebhookEvent::new(kind, entity),
    });
}

/// The events a list of changes causes, in change order.
pub(crate) fn emissions(state: &State, account: AccountId, changes: &[Change]) -> Vec<Emission> {
    use WebhookSetting as S;
    let mut out = Vec::new();
    for change in changes {
        match change {
            Change::LeadAdded(id) => {
                if let Some(l) = state.leads.get(&id.0) {
                    emit(
                        &mut out,
                        vec![S::AddLead],
                        EventKind::LeadAdded,
                        WebhookEntity::Lead(lead(account, l)),
                    );
                }
            }
            Change::LeadUpdated(old) => {
                let Some(new) = state.leads.get(&old.id.0) else {
                    continue;
                };
                let moved = old.status_id != new.status_id || old.pipeline_id != new.pipeline_id;
                let reassigned = old.responsible_user_id != new.responsible_user_id;
                let strip = |l: &Lead| Lead {
                    status_id: kommo_client::ids::StatusId(0),
                    pipeline_id: kommo_client::ids::PipelineId(0),
                    closed_at: if moved { None } else { l.closed_at },
                    updated_at: 0,
                    updated_by: UserId(0),
                    ..l.clone()
                };
                let edited = strip(old) != strip(new);
                if moved {
                    let mut w = lead(account, new);
                    w.old_status_id = Some(old.status_id);
                    if old.pipeline_id != new.pipeline_id {
                        w.old_pipeline_id = Some(old.pipeline_id);
                    }
                    emit(
                        &mut out,
                        vec![S::StatusLead],
                        EventKind::LeadStatusChanged,
                        WebhookEntity::Lead(w),
                    );
                }
                if reassigned {
                    let mut w = lead(account, new);
                    w.old_responsible_user_id = Some(old.responsible_user_id);
                    emit(
                        &mut out,
                        vec![S::ResponsibleLead],
                        EventKind::LeadResponsibleChanged,
                        WebhookEntity::Lead(w),
                    );
                }
                if edited {
                    let mut w = lead(account, new);
                    w.old_status_id = Some(old.status_id);
                    emit(
                        &mut out,
                        vec![S::UpdateLead],
                        EventKind::LeadUpdated,
                        WebhookEntity::Lead(w),
                    );
                }
            }
            Change::LeadDeleted(old) => {
                let mut w = WebhookLead::new(LeadId(old.id.0));
                w.status_id = Some(old.status_id);
                w.pipeline_id = Some(old.pipeline_id);
                emit(
                    &mut out,
                    vec![S::DeleteLead],
                    EventKind::LeadDeleted,
                    WebhookEntity::Lead(w),
                );
            }
            Change::ContactAdded(id) => {
                if let Some(c) = state.contacts.get(&id.0) {
                    emit(
                        &mut out,
                        vec![S::AddContact],
                        EventKind::ContactAdded,
                        WebhookEntity::Contact(contact(account, c)),
                    );
                }
            }
            Change::ContactUpdated(old) => {
                let Some(new) = state.contacts.get(&old.id.0) else {
                    continue;
                };
                let mut w = contact(account, new);
                let mut settings = vec![S::UpdateContact];
                if old.responsible_user_id != new.responsible_user_id {
                    w.old_responsible_user_id = Some(old.responsible_user_id);
                    settings.push(S::ResponsibleContact);
                }
                emit(
                    &mut out,
                    settings,
                    EventKind::ContactUpdated,
                    WebhookEntity::Contact(w),
                );
            }
            Change::CompanyAdded(id) => {
                if let Some(c) = state.companies.get(&id.0) {
                    emit(
                        &mut out,
                        vec![S::AddCompany],
                        EventKind::CompanyAdded,
                        WebhookEntity::Company(company(state, account, c)),
                    );
                }
            }
            Change::CompanyUpdated(old) => {
                let Some(new) = state.companies.get(&old.id.0) else {
                    continue;
                };
                let mut w = company(state, account, new);
                let mut settings = vec![S::UpdateCompany];
                if old.responsible_user_id != new.responsible_user_id {
                    w.old_responsible_user_id = Some(old.responsible_user_id);
                    settings.push(S::ResponsibleCompany);
                }
                emit(
                    &mut out,
                    settings,
                    EventKind::CompanyUpdated,
                    WebhookEntity::Company(w),
                );
            }
            Change::NoteAdded(id) => {
                let Some(n) = state.notes.get(&id.0) else {
                    continue;
                };
                let (setting, kind) = match n.entity_type {
                    EntityType::Leads => (S::NoteLead, EventKind::LeadNoteAdded),
                    EntityType::Contacts => (S::NoteContact, EventKind::ContactNoteAdded),
                    EntityType::Companies => (S::NoteCompany, EventKind::CompanyNoteAdded),
                    _ => continue,
                };
                emit(
                    &mut out,
                    vec![setting],
                    kind,
                    WebhookEntity::Note(note(account, n)),
                );
            }
            Change::TaskAdded(id) => {
                if let Some(t) = state.tasks.get(&id.0) {
                    emit(
                        &mut out,
                        vec![S::AddTask],
                        EventKind::TaskAdded,
                        WebhookEntity::Task(task(account, t, None)),
                    );
                }
            }
            Change::TaskUpdated(old) => {
                let Some(new) = state.tasks.get(&old.id.0) else {
                    continue;
                };
                if old.responsible_user_id != new.responsible_user_id {
                    emit(
                        &mut out,
                        vec![S::ResponsibleTask],
                        EventKind::TaskResponsibleChanged,
                        WebhookEntity::Task(task(account, new, Some(old))),
                    );
                }
                emit(
                    &mut out,
                    vec![S::UpdateTask],
                    EventKind::TaskUpdated,
                    WebhookEntity::Task(task(account, new, Some(old))),
                );
            }
        }
    }
    out
}

/// The bodies for one subscription: the events it asked for, at most `per_body` to a body,
/// in change order; none when it asked for none of them.
pub(crate) fn bodies_for(
    settings: &[WebhookSetting],
    account: &HookAccount,
    emissions: &[Emission],
    per_body: usize,
) -> Vec<(String, Vec<String>)> {
    let events: Vec<WebhookEvent> = emissions
        .iter()
        .filter(|e| e.settings.iter().any(|s| settings.contains(s)))
        .map(|e| e.event.clone())
        .collect();
    events
        .chunks(per_body.max(1))
        .map(|chunk| encode(account, chunk.to_vec()))
        .collect()
}

/// Encodes events with the account block; also returns the `group[action]` names in body
/// order.
pub(crate) fn encode(account: &HookAccount, events: Vec<WebhookEvent>) -> (String, Vec<String>) {
    let mut payload = WebhookPayload::new(account.to_webhook());
    payload.events = events;
    encode_payload(payload)
}

/// Encodes a payload; also returns the `group[action]` names in body order.
pub(crate) fn encode_payload(mut payload: WebhookPayload) -> (String, Vec<String>) {
    // The encoder numbers events per group and action in the order given; the body lists
    // groups and actions in key order, so the names are listed that way too.
    payload
        .events
        .sort_by(|a, b| (a.kind.group(), a.kind.action()).cmp(&(b.kind.group(), b.kind.action())));
    let names = payload
        .events
        .iter()
        .map(|e| format!("{}[{}]", e.kind.group(), e.kind.action()))
        .collect();
    (payload.encode(), names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kommo::config::Config;
    use crate::kommo::seeds::defaults;
    use crate::kommo::writes::test_items as items;
    use crate::kommo::writes::{add, update};
    use serde_json::json;

    #[test]
    fn status_moves_and_edits_are_separate_events() {
        let mut state = State::new(&Config::default());
        let actor = defaults::API_USER;
        let account = AccountId(1);
        let (leads, _) = add::<Lead>(&mut state, &items(json!([{"name": "A"}])), actor).unwrap();
        let id = leads[0].id;
        let (_, changes) = update::<Lead>(
            &mut state,
            &items(json!([{"id": id, "status_id": 142}])),
            actor,
        )
        .unwrap();
        let out = emissions(&state, account, &changes);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event.kind, EventKind::LeadStatusChanged);
        let w = out[0].event.lead().unwrap();
        assert_eq!(w.old_status_id, Some(defaults::INITIAL_CONTACT));
        assert_eq!(w.old_pipeline_id, None);

        let (_, changes) = update::<Lead>(
            &mut state,
            &items(json!([{"id": id, "price": 10, "responsible_user_id": defaults::UI_USER.0}])),
            actor,
        )
        .unwrap();
        let kinds: Vec<EventKind> = emissions(&state, account, &changes)
            .into_iter()
            .map(|e| e.event.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![EventKind::LeadResponsibleChanged, EventKind::LeadUpdated]
        );
    }

    #[test]
    fn bodies_follow_settings_and_parse_back() {
        let mut state = State::new(&Config::default());
        let actor = defaults::API_USER;
        let (_, mut changes) = add::<Contact>(
            &mut state,
            &items(json!([{"name": "Ada", "custom_fields_values": [{"field_code": "EMAIL", "values": [{"value": "ada@example.com"}]}]}])),
            actor,
        )
        .unwrap();
        let (_, more) = add::<Lead>(&mut state, &items(json!([{"name": "L"}])), actor).unwrap();
        changes.extend(more);
        let account = HookAccount {
            id: AccountId(1),
            subdomain: "acme".into(),
            url: "https://acme.kommo.com".into(),
        };
        let out = emissions(&state, account.id, &changes);
        assert!(bodies_for(&[WebhookSetting::NoteLead], &account, &out, 50).is_empty());
        let mut bodies = bodies_for(
            &[WebhookSetting::AddLead, WebhookSetting::AddContact],
            &account,
            &out,
            50,
        );
        assert_eq!(bodies.len(), 1);
        let (body, names) = bodies.remove(0);
        assert_eq!(names, vec!["contacts[add]", "leads[add]"]);
        let payload = kommo_client::webhooks::parse(body.as_bytes()).unwrap();
        assert_eq!(payload.account.subdomain.as_deref(), Some("acme"));
        let contact = payload.events[0].contact().unwrap();
        assert_eq!(contact.emails(), vec!["ada@example.com"]);
        assert_eq!(contact.entity_type.as_deref(), Some("contact"));
        assert_eq!(payload.events[1].kind, EventKind::LeadAdded);
    }
}
