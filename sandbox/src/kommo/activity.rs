//! Notes and tasks: checking and applying writes, and their v4 JSON.

use kommo_client::common::EntityType;
use kommo_client::ids::{NoteId, TaskId, TaskTypeId, UserId};
use serde_json::{Map, Value, json};

use super::model::{Note, Task, ValidationIssue};
use super::render::Ctx;
use super::request::{ApiError, request_id};
use super::state::State;
use super::writes::{Change, Reader, Written, check_all};

/// The v4 note types the sandbox accepts.
pub(crate) const NOTE_TYPES: &[&str] = &[
    "common",
    "call_in",
    "call_out",
    "service_message",
    "extended_service_message",
    "geolocation",
    "sms_in",
    "sms_out",
    "attachment",
];

/// The legacy numeric note type webhooks carry (`4` common text and `5` attachment are
/// documented; `10`/`11` calls and `102`/`103` SMS follow the legacy API's constants; every
/// kind of service message is `25`).
pub(crate) fn legacy_note_type(note_type: &str) -> u32 {
    match note_type {
        "common" => 4,
        "attachment" => 5,
        "call_in" => 10,
        "call_out" => 11,
        "sms_in" => 102,
        "sms_out" => 103,
        _ => 25,
    }
}

/// A checked note.
struct NotePlan {
    request_id: String,
    entity_id: u64,
    note_type: String,
    params: Value,
    created_by: Option<UserId>,
    responsible: Option<UserId>,
}

fn plan_note(
    state: &State,
    entity: EntityType,
    implied: Option<u64>,
    item: &Map<String, Value>,
    index: usize,
) -> Result<NotePlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let entity_id = match implied {
        Some(id) => Some(id),
        None => match r.id("entity_id") {
            Some(id) if state.exists(entity, id) => Some(id),
            Some(_) => {
                r.issues.push(ValidationIssue::choice("entity_id"));
                None
            }
            None => {
                if !r.has("entity_id") {
                    r.issues.push(ValidationIssue::blank("entity_id"));
                }
                None
            }
        },
    };
    let note_type = match r.string("note_type") {
        Some(t) if NOTE_TYPES.contains(&t.as_str()) => Some(t),
        Some(_) => {
            r.issues.push(ValidationIssue::choice("note_type"));
            None
        }
        None => {
            r.issues.push(ValidationIssue::blank("note_type"));
            None
        }
    };
    let params = match item.get("params") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(o)) => Value::Object(o.clone()),
        Some(_) => {
            r.issues
                .push(ValidationIssue::invalid_type("params", "object"));
            Value::Null
        }
    };
    let text_blank = params
        .get("text")
        .and_then(Value::as_str)
        .is_none_or(|t| t.trim().is_empty());
    match note_type.as_deref() {
        Some("common" | "sms_in" | "sms_out" | "service_message" | "extended_service_message")
            if text_blank =>
        {
            r.issues.push(ValidationIssue::blank("params.text"));
        }
        _ => {}
    }
    let created_by = r.user(state, "created_by", true);
    let responsible = r.user(state, "responsible_user_id", false);
    match (entity_id, note_type) {
        (Some(entity_id), Some(note_type)) if r.issues.is_empty() => Ok(NotePlan {
            request_id: request_id(item, index),
            entity_id,
            note_type,
            params,
            created_by,
            responsible,
        }),
        _ => Err(r.issues),
    }
}

/// `POST /api/v4/{entity}/notes` (or `/{entity}/{id}/notes` with the id implied).
pub(crate) fn add_notes(
    state: &mut State,
    entity: EntityType,
    implied: Option<u64>,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let mut plans = Vec::new();
    let mut groups = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match plan_note(state, entity, implied, item, i) {
            Ok(p) => plans.push(p),
            Err(issues) => groups.push((request_id(item, i), issues)),
        }
    }
    if !groups.is_empty() {
        return Err(ApiError::validation(groups));
    }
    let mut written = Vec::new();
    let mut changes = Vec::new();
    for plan in plans {
        let id = state.next_note();
        let now = state.now();
        let author = plan.created_by.unwrap_or(actor);
        state.notes.insert(
            id,
            Note {
                id: NoteId(id),
                entity_type: entity,
                entity_id: plan.entity_id,
                note_type: plan.note_type,
                params: plan.params,
                created_by: author,
                updated_by: author,
                responsible_user_id: plan.responsible.unwrap_or(actor),
                created_at: now,
                updated_at: now,
            },
        );
        written.push(Written {
            id,
            request_id: plan.request_id,
            updated_at: now,
        });
        changes.push(Change::NoteAdded(NoteId(id)));
    }
    Ok((written, changes))
}

/// A note in the v4 shape.
pub(crate) fn note_json(ctx: &Ctx, note: &Note) -> Value {
    json!({
        "id": note.id,
        "entity_id": note.entity_id,
        "created_by": note.created_by,
        "updated_by": note.updated_by,
        "created_at": note.created_at,
        "updated_at": note.updated_at,
        "responsible_user_id": note.responsible_user_id,
        "group_id": 0,
        "note_type": note.note_type,
        "params": note.params,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/{}/notes/{}", note.entity_type.as_str(), note.id)),
    })
}

// ---- tasks ---------------------------------------------------------------------------------

/// A checked task write.
struct TaskPlan {
    request_id: String,
    id: Option<u64>,
    text: Option<String>,
    complete_till: Option<i64>,
    target: Option<(EntityType, u64)>,
    task_type: Option<TaskTypeId>,
    responsible: Option<UserId>,
    duration: Option<i64>,
    is_completed: Option<bool>,
    result_text: Option<String>,
    created_by: Option<UserId>,
    created_at: Option<i64>,
}

fn plan_task(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
    existing: Option<&Task>,
) -> Result<TaskPlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let text = r.string("text");
    let complete_till = r.int("complete_till");
    if existing.is_none() {
        if text.as_deref().is_none_or(|t| t.trim().is_empty())
            && !r.issues.iter().any(|i| i.path == "text")
        {
            r.issues.push(ValidationIssue::blank("text"));
        }
        if complete_till.is_none() && !r.issues.iter().any(|i| i.path == "complete_till") {
            r.issues.push(ValidationIssue::blank("complete_till"));
        }
    }
    let entity_type = r.string("entity_type");
    let entity_id = r.id("entity_id");
    let target = match (entity_type.as_deref(), entity_id) {
        (None, None) => None,
        (Some(kind), Some(id)) => {
            let entity = match kind {
                "leads" => Some(EntityType::Leads),
                "contacts" => Some(EntityType::Contacts),
                "companies" => Some(EntityType::Companies),
                _ => None,
            };
            match entity {
                None => {
                    r.issues.push(ValidationIssue::choice("entity_type"));
                    None
                }
                Some(entity) if !state.exists(entity, id) => {
                    r.issues.push(ValidationIssue::choice("entity_id"));
                    None
                }
                Some(entity) => Some((entity, id)),
            }
        }
        (Some(_), None) => {
            r.issues.push(ValidationIssue::blank("entity_id"));
            None
        }
        (None, Some(_)) => {
            r.issues.push(ValidationIssue::blank("entity_type"));
            None
        }
    };
    let task_type = match r.id("task_type_id") {
        Some(id) if state.task_type(TaskTypeId(id)).is_some() => Some(TaskTypeId(id)),
        Some(_) => {
            r.issues.push(ValidationIssue::choice("task_type_id"));
            None
        }
        None => None,
    };
    let responsible = r.user(state, "responsible_user_id", false);
    let duration = r.int("duration");
    let is_completed = r.bool("is_completed");
    let result_text = match item.get("result") {
        Some(Value::Object(o)) => o.get("text").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    let created_by = r.user(state, "created_by", true);
    let created_at = r.int("created_at");
    if !r.issues.is_empty() {
        return Err(r.issues);
    }
    Ok(TaskPlan {
        request_id: request_id(item, index),
        id: existing.map(|t| t.id.0),
        text,
        complete_till,
        target,
        task_type,
        responsible,
        duration,
        is_completed,
        result_text,
        created_by,
        created_at,
    })
}

fn check_tasks(
    state: &State,
    items: &[Map<String, Value>],
    update: bool,
) -> Result<Vec<TaskPlan>, ApiError> {
    check_all(items, |i, item| {
        let existing = if update {
            let Some(id) = item.get("id").and_then(Value::as_u64) else {
                return Err(vec![ValidationIssue::blank("id")]);
            };
            let task = state
                .tasks
                .get(&id)
                .ok_or_else(|| vec![ValidationIssue::new("NotFound", "id", "Entity not found")])?;
            Some(task)
        } else {
            None
        };
        plan_task(state, item, i, existing)
    })
}

/// `POST /api/v4/tasks`.
pub(crate) fn add_tasks(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_tasks(state, items, false)?;
    let mut written = Vec::new();
    let mut changes = Vec::new();
    for plan in plans {
        let id = state.next_task();
        let now = state.now();
        let task = Task {
            id: TaskId(id),
            entity_type: plan.target.map(|(e, _)| e),
            entity_id: plan.target.map(|(_, id)| id),
            text: plan.text.unwrap_or_default(),
            task_type_id: plan.task_type.unwrap_or(TaskTypeId::FOLLOW_UP),
            complete_till: plan.complete_till.unwrap_or(now),
            duration: plan.duration.unwrap_or(0),
            is_completed: plan.is_completed.unwrap_or(false),
            result_text: plan.result_text,
            responsible_user_id: plan.responsible.unwrap_or(actor),
            created_by: plan.created_by.unwrap_or(actor),
            updated_by: actor,
            created_at: plan.created_at.unwrap_or(now),
            updated_at: now,
        };
        written.push(Written {
            id,
            request_id: plan.request_id,
            updated_at: now,
        });
        state.tasks.insert(id, task);
        changes.push(Change::TaskAdded(TaskId(id)));
    }
    Ok((written, changes))
}

/// `PATCH /api/v4/tasks` (each item with `id`).
pub(crate) fn update_tasks(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_tasks(state, items, true)?;
    let mut written = Vec::new();
    let mut changes = Vec::new();
    for plan in plans {
        let id = plan.id.unwrap_or_default();
        let Some(old) = state.tasks.get(&id).cloned() else {
            continue;
        };
        let mut new = old.clone();
        if let Some(text) = plan.text {
            new.text = text;
        }
        if let Some(till) = plan.complete_till {
            new.complete_till = till;
        }
        if let Some((entity, entity_id)) = plan.target {
            new.entity_type = Some(entity);
            new.entity_id = Some(entity_id);
        }
        if let Some(task_type) = plan.task_type {
            new.task_type_id = task_type;
        }
        if let Some(responsible) = plan.responsible {
            new.responsible_user_id = responsible;
        }
        if let Some(duration) = plan.duration {
            new.duration = duration;
        }
        if let Some(done) = plan.is_completed {
            new.is_completed = done;
        }
        if plan.result_text.is_some() {
            new.result_text = plan.result_text;
        }
        let strip = |t: &Task| Task {
            updated_at: 0,
            updated_by: UserId(0),
            ..t.clone()
        };
        if strip(&new) != strip(&old) {
            new.updated_at = state.bump(old.updated_at);
            new.updated_by = actor;
            state.tasks.insert(id, new);
            changes.push(Change::TaskUpdated(Box::new(old)));
        }
        written.push(Written {
            id,
            request_id: plan.request_id,
            updated_at: state.tasks.get(&id).map_or(0, |t| t.updated_at),
        });
    }
    Ok((written, changes))
}

/// A task in the v4 shape (`result` is `[]` when empty, as Kommo sends it).
pub(crate) fn task_json(ctx: &Ctx, task: &Task) -> Value {
    json!({
        "id": task.id,
        "created_by": task.created_by,
        "updated_by": task.updated_by,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
        "responsible_user_id": task.responsible_user_id,
        "group_id": 0,
        "entity_id": task.entity_id,
        "entity_type": task.entity_type.map(EntityType::as_str),
        "duration": task.duration,
        "is_completed": task.is_completed,
        "task_type_id": task.task_type_id,
        "text": task.text,
        "result": match &task.result_text {
            Some(text) => json!({ "text": text }),
            None => json!([]),
        },
        "complete_till": task.complete_till,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/tasks/{}", task.id)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kommo::config::Config;
    use crate::kommo::model::Lead;
    use crate::kommo::seeds::defaults;
    use crate::kommo::writes::add;
    use crate::kommo::writes::test_items as items;

    #[test]
    fn notes_and_tasks_need_their_fields() {
        let mut state = State::new(&Config::default());
        let actor = defaults::API_USER;
        let (leads, _) = add::<Lead>(&mut state, &items(json!([{"name": "L"}])), actor).unwrap();
        let lead = leads[0].id;
        let (notes, changes) = add_notes(
            &mut state,
            EntityType::Leads,
            None,
            &items(json!([{"entity_id": lead, "note_type": "common", "params": {"text": "hi"}}])),
            actor,
        )
        .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(state.notes[&notes[0].id].text(), Some("hi"));
        let error = add_notes(
            &mut state,
            EntityType::Leads,
            None,
            &items(json!([{"entity_id": 1, "note_type": "weird"}, {"entity_id": lead, "note_type": "common"}])),
            actor,
        )
        .unwrap_err();
        assert_eq!(error.issues.len(), 2);
        assert_eq!(error.issues[1].1[0].path, "params.text");

        let error = add_tasks(
            &mut state,
            &items(json!([{"entity_type": "leads", "entity_id": lead}])),
            actor,
        )
        .unwrap_err();
        let paths: Vec<&str> = error.issues[0].1.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, vec!["text", "complete_till"]);
        let (tasks, _) = add_tasks(
            &mut state,
            &items(json!([{"text": "Call", "complete_till": 100, "entity_type": "leads", "entity_id": lead}])),
            actor,
        )
        .unwrap();
        assert_eq!(state.closest_task_at(EntityType::Leads, lead), Some(100));
        let (_, changes) = update_tasks(
            &mut state,
            &items(json!([{"id": tasks[0].id, "is_completed": true, "result": {"text": "done"}}])),
            actor,
        )
        .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(state.closest_task_at(EntityType::Leads, lead), None);
        assert_eq!(legacy_note_type("common"), 4);
        assert_eq!(legacy_note_type("service_message"), 25);
    }
}
