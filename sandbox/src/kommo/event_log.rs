//! The events log: every change, made through the API or the scenario API, appends the
//! events Kommo logs for it (`GET /api/v4/events`), with the values before and after.
//!
//! | change | events (entity) |
//! | --- | --- |
//! | lead, contact, company created | `lead_added` (value after: `lead_status`), `contact_added`, `company_added` |
//! | lead moved | `lead_status_changed`, `lead_status` before and after |
//! | responsible changed | `entity_responsible_changed`, `responsible_user` before and after |
//! | name, price changed | `name_field_changed` (`name_field_value`), `sale_field_changed` (`sale_field_value`) |
//! | custom field changed | `custom_field_{ID}_value_changed`, one `custom_field_value` per value |
//! | tags added, removed | `entity_tag_added`, `entity_tag_deleted`, one `tag` per tag |
//! | contact or company linked, unlinked | `entity_linked` (`link` after), `entity_unlinked` (`link` before) |
//! | lead deleted | `lead_deleted` |
//! | note added | `common_note_added`, `attachment_note_added`, `incoming_call`, `outgoing_call`, `incoming_sms`, `outgoing_sms`, `service_note_added`, `geo_note_added` (value after: `note`), on the note's entity |
//! | task added, changed | `task_added`, `task_completed`, `task_text_changed`, `task_deadline_changed`, `task_type_changed`, `entity_responsible_changed` (entity `task`) |
//! | customer added, purchase recorded | `customer_added`, `transaction_added` (entity `customer`) |
//!
//! Each event carries the change's time (the entity's new `updated_at`, plus
//! [`Config::event_log_skew`](super::Config::event_log_skew)) and author (its `updated_by`); a
//! deletion is made by the UI user. The shapes of `value_before` /
//! `value_after` for task events (`task_deadline`, `task_type`, `text`) are the fake's
//! choice: Kommo's documentation shows none.

use kommo_client::common::EntityType;
use kommo_client::ids::UserId;
use serde::Serialize;
use serde_json::{Value, json};

use super::model::{Company, Contact, FieldValues, Lead, Tag, Task};
use super::state::State;
use super::writes::Change;

/// One entry of the fake's events log, as `GET /api/v4/events` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LoggedEvent {
    /// The id: 26 lowercase letters and digits.
    pub id: String,
    /// The event type (`lead_status_changed`, ...).
    #[serde(rename = "type")]
    pub event_type: String,
    /// `lead`, `contact`, `company` or `task`.
    pub entity_type: String,
    /// The entity.
    pub entity_id: u64,
    /// Who made the change.
    pub created_by: UserId,
    /// When, unix seconds.
    pub created_at: i64,
    /// The values before (a JSON array).
    pub value_before: Value,
    /// The values after (a JSON array).
    pub value_after: Value,
}

/// The entity name events use.
pub(crate) fn entity_name(entity: EntityType) -> &'static str {
    match entity {
        EntityType::Leads => "lead",
        EntityType::Contacts => "contact",
        EntityType::Companies => "company",
        _ => "customer",
    }
}

/// The legacy numeric field type `custom_field_value` items carry.
fn legacy_field_type(field_type: &str) -> u32 {
    match field_type {
        "text" => 1,
        "numeric" => 2,
        "checkbox" => 3,
        "select" => 4,
        "multiselect" => 5,
        "date" => 6,
        "url" => 7,
        "multitext" => 8,
        "textarea" => 9,
        "radiobutton" => 10,
        "streetaddress" => 11,
        "smart_address" => 13,
        "birthday" => 14,
        "legal_entity" => 15,
        "date_time" => 19,
        "price" => 20,
        _ => 0,
    }
}

/// The events of one change, before ids are given.
struct Draft {
    event_type: String,
    entity_type: &'static str,
    entity_id: u64,
    created_by: UserId,
    created_at: i64,
    before: Vec<Value>,
    after: Vec<Value>,
}

struct Drafts<'a> {
    out: &'a mut Vec<Draft>,
    entity_type: &'static str,
    entity_id: u64,
    by: UserId,
    at: i64,
}

impl Drafts<'_> {
    fn push(&mut self, event_type: impl Into<String>, before: Vec<Value>, after: Vec<Value>) {
        self.out.push(Draft {
            event_type: event_type.into(),
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            created_by: self.by,
            created_at: self.at,
            before,
            after,
        });
    }

    /// Name, responsible, fields and tags: what leads, contacts and companies share.
    fn common(&mut self, old: Shared<'_>, new: Shared<'_>) {
        if old.name != new.name {
            let v = |n: &str| vec![json!({"name_field_value": {"name": n}})];
            self.push("name_field_changed", v(old.name), v(new.name));
        }
        if old.responsible != new.responsible {
            let v = |u: UserId| vec![json!({"responsible_user": {"id": u}})];
            self.push(
                "entity_responsible_changed",
                v(old.responsible),
                v(new.responsible),
            );
        }
        let mut ids: Vec<_> = old
            .fields
            .iter()
            .chain(new.fields)
            .map(|f| f.field_id)
            .collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            let before = old.fields.iter().find(|f| f.field_id == id);
            let after = new.fields.iter().find(|f| f.field_id == id);
            if before.map(|f| &f.values) != after.map(|f| &f.values) {
                self.push(
                    format!("custom_field_{id}_value_changed"),
                    field_items(before),
                    field_items(after),
                );
            }
        }
        let names = |tags: &[Tag]| tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        let (was, is) = (names(old.tags), names(new.tags));
        let tag = |n: &String| json!({"tag": {"name": n}});
        let added: Vec<Value> = is.iter().filter(|n| !was.contains(n)).map(tag).collect();
        let removed: Vec<Value> = was.iter().filter(|n| !is.contains(n)).map(tag).collect();
        if !added.is_empty() {
            self.push("entity_tag_added", Vec::new(), added);
        }
        if !removed.is_empty() {
            self.push("entity_tag_deleted", removed, Vec::new());
        }
    }

    /// `entity_linked` / `entity_unlinked` for the difference between two sets of links.
    fn links(&mut self, kind: &str, old: &[u64], new: &[u64]) {
        let link = |id: &u64| vec![json!({"link": {"entity": {"id": id, "type": kind}}})];
        for id in new.iter().filter(|id| !old.contains(id)) {
            self.push("entity_linked", Vec::new(), link(id));
        }
        for id in old.iter().filter(|id| !new.contains(id)) {
            self.push("entity_unlinked", link(id), Vec::new());
        }
    }
}

/// What leads, contacts and companies have in common, for comparing two versions.
#[derive(Clone, Copy)]
struct Shared<'a> {
    name: &'a str,
    responsible: UserId,
    fields: &'a [FieldValues],
    tags: &'a [Tag],
}

impl<'a> Shared<'a> {
    fn lead(l: &'a Lead) -> Self {
        Shared {
            name: &l.name,
            responsible: l.responsible_user_id,
            fields: &l.custom_fields,
            tags: &l.tags,
        }
    }

    fn contact(c: &'a Contact) -> Self {
        Shared {
            name: &c.name,
            responsible: c.responsible_user_id,
            fields: &c.custom_fields,
            tags: &c.tags,
        }
    }

    fn company(c: &'a Company) -> Self {
        Shared {
            name: &c.name,
            responsible: c.responsible_user_id,
            fields: &c.custom_fields,
            tags: &c.tags,
        }
    }
}

fn field_items(field: Option<&FieldValues>) -> Vec<Value> {
    let Some(field) = field else {
        return Vec::new();
    };
    field
        .values
        .iter()
        .map(|v| {
            let text = match &v.value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            json!({"custom_field_value": {
                "field_id": field.field_id,
                "field_type": legacy_field_type(&field.field_type),
                "enum_id": v.enum_id,
                "text": text,
            }})
        })
        .collect()
}

fn stage(l: &Lead) -> Vec<Value> {
    vec![json!({"lead_status": {"id": l.status_id, "pipeline_id": l.pipeline_id}})]
}

fn note_event(note_type: &str) -> String {
    match note_type {
        "common" => "common_note_added".to_owned(),
        "attachment" => "attachment_note_added".to_owned(),
        "call_in" => "incoming_call".to_owned(),
        "call_out" => "outgoing_call".to_owned(),
        "sms_in" => "incoming_sms".to_owned(),
        "sms_out" => "outgoing_sms".to_owned(),
        "service_message" | "extended_service_message" => "service_note_added".to_owned(),
        "geolocation" => "geo_note_added".to_owned(),
        other => format!("{other}_note_added"),
    }
}

fn task_events(d: &mut Drafts<'_>, old: &Task, new: &Task) {
    if new.is_completed && !old.is_completed {
        let result = new
            .result_text
            .as_ref()
            .map(|t| vec![json!({"text": {"text": t}})])
            .unwrap_or_default();
        d.push("task_completed", Vec::new(), result);
    }
    if old.text != new.text {
        let v = |t: &str| vec![json!({"text": {"text": t}})];
        d.push("task_text_changed", v(&old.text), v(&new.text));
    }
    if old.complete_till != new.complete_till {
        let v = |t: i64| vec![json!({"task_deadline": {"timestamp": t}})];
        d.push(
            "task_deadline_changed",
            v(old.complete_till),
            v(new.complete_till),
        );
    }
    if old.task_type_id != new.task_type_id {
        let v = |t| vec![json!({"task_type": {"id": t}})];
        d.push(
            "task_type_changed",
            v(old.task_type_id),
            v(new.task_type_id),
        );
    }
    if old.responsible_user_id != new.responsible_user_id {
        let v = |u: UserId| vec![json!({"responsible_user": {"id": u}})];
        d.push(
            "entity_responsible_changed",
            v(old.responsible_user_id),
            v(new.responsible_user_id),
        );
    }
}

fn drafts_of<'o>(
    out: &'o mut Vec<Draft>,
    entity_type: &'static str,
    entity_id: u64,
    by: UserId,
    at: i64,
) -> Drafts<'o> {
    Drafts {
        out,
        entity_type,
        entity_id,
        by,
        at,
    }
}

/// The events `changes` cause, in change order.
fn drafts(state: &State, changes: &[Change], deleter: UserId, now: i64) -> Vec<Draft> {
    let mut out = Vec::new();
    for change in changes {
        let out = &mut out;
        match change {
            Change::LeadAdded(id) => {
                if let Some(l) = state.leads.get(&id.0) {
                    drafts_of(out, "lead", id.0, l.created_by, l.created_at).push(
                        "lead_added",
                        Vec::new(),
                        stage(l),
                    );
                }
            }
            Change::LeadUpdated(old) => {
                let Some(new) = state.leads.get(&old.id.0) else {
                    continue;
                };
                let mut d = drafts_of(out, "lead", new.id.0, new.updated_by, new.updated_at);
                if (old.pipeline_id, old.status_id) != (new.pipeline_id, new.status_id) {
                    d.push("lead_status_changed", stage(old), stage(new));
                }
                if old.price != new.price {
                    let v = |p: f64| vec![json!({"sale_field_value": {"sale": p}})];
                    d.push("sale_field_changed", v(old.price), v(new.price));
                }
                d.common(Shared::lead(old), Shared::lead(new));
                let contacts = |l: &Lead| l.contacts.iter().map(|c| c.id.0).collect::<Vec<_>>();
                d.links("contact", &contacts(old), &contacts(new));
                let company = |l: &Lead| l.company.map(|c| c.0).into_iter().collect::<Vec<_>>();
                d.links("company", &company(old), &company(new));
            }
            Change::LeadDeleted(old) => {
                drafts_of(out, "lead", old.id.0, deleter, now).push(
                    "lead_deleted",
                    stage(old),
                    Vec::new(),
                );
            }
            Change::ContactAdded(id) => {
                if let Some(c) = state.contacts.get(&id.0) {
                    drafts_of(out, "contact", id.0, c.created_by, c.created_at).push(
                        "contact_added",
                        Vec::new(),
                        Vec::new(),
                    );
                }
            }
            Change::ContactUpdated(old) => {
                let Some(new) = state.contacts.get(&old.id.0) else {
                    continue;
                };
                let mut d = drafts_of(out, "contact", new.id.0, new.updated_by, new.updated_at);
                d.common(Shared::contact(old), Shared::contact(new));
                let company = |c: &Contact| c.company.map(|c| c.0).into_iter().collect::<Vec<_>>();
                d.links("company", &company(old), &company(new));
            }
            Change::CompanyAdded(id) => {
                if let Some(c) = state.companies.get(&id.0) {
                    drafts_of(out, "company", id.0, c.created_by, c.created_at).push(
                        "company_added",
                        Vec::new(),
                        Vec::new(),
                    );
                }
            }
            Change::CompanyUpdated(old) => {
                if let Some(new) = state.companies.get(&old.id.0) {
                    drafts_of(out, "company", new.id.0, new.updated_by, new.updated_at)
                        .common(Shared::company(old), Shared::company(new));
                }
            }
            Change::NoteAdded(id) => {
                if let Some(n) = state.notes.get(&id.0) {
                    drafts_of(
                        out,
                        entity_name(n.entity_type),
                        n.entity_id,
                        n.created_by,
                        n.created_at,
                    )
                    .push(
                        note_event(&n.note_type),
                        Vec::new(),
                        vec![json!({"note": {"id": n.id}})],
                    );
                }
            }
            Change::TaskAdded(id) => {
                if let Some(t) = state.tasks.get(&id.0) {
                    drafts_of(out, "task", id.0, t.created_by, t.created_at).push(
                        "task_added",
                        Vec::new(),
                        Vec::new(),
                    );
                }
            }
            Change::TaskUpdated(old) => {
                if let Some(new) = state.tasks.get(&old.id.0) {
                    task_events(
                        &mut drafts_of(out, "task", new.id.0, new.updated_by, new.updated_at),
                        old,
                        new,
                    );
                }
            }
        }
    }
    out
}

/// Appends the events of `changes` to the log, each `skew` seconds after its change.
pub(crate) fn append(state: &mut State, changes: &[Change], deleter: UserId, skew: i64) {
    let now = state.now();
    for draft in drafts(state, changes, deleter, now) {
        let mut draft = draft;
        draft.created_at += skew;
        push(state, draft);
    }
}

fn push(state: &mut State, draft: Draft) {
    state.event_seq += 1;
    let id = format!("01{:024x}", state.event_seq);
    state.events.push(LoggedEvent {
        id,
        event_type: draft.event_type,
        entity_type: draft.entity_type.to_owned(),
        entity_id: draft.entity_id,
        created_by: draft.created_by,
        created_at: draft.created_at,
        value_before: Value::Array(draft.before),
        value_after: Value::Array(draft.after),
    });
}

/// Logs a change of the customers module: `customer_added` (value after: the name), or
/// `transaction_added` on the customer (value after: `{"transaction": {"id", "price"}}`, the
/// fake's choice of shape).
pub(crate) fn customer_event(
    state: &mut State,
    event_type: &str,
    customer: u64,
    by: UserId,
    after: Value,
) {
    let at = state.now();
    push(
        state,
        Draft {
            event_type: event_type.to_owned(),
            entity_type: "customer",
            entity_id: customer,
            created_by: by,
            created_at: at,
            before: Vec::new(),
            after: vec![after],
        },
    );
}
