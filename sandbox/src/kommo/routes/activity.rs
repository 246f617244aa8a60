//! Notes, tags and tasks.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use kommo_client::common::EntityType;
use serde_json::{Value, json};

use super::super::activity::{self, note_json, task_json};
use super::super::model::{Note, Task, ValidationIssue};
use super::super::render;
use super::super::request::{
    ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, object_body, path_id, request_id,
};
use super::{App, batch, missing, order_by};

pub(super) async fn notes_list(
    State(app): App,
    entity: EntityType,
    of: Option<u64>,
    RawQuery(q): RawQuery,
) -> Response {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let entity_ids = query.filter_ids("entity_id");
    let ids = query.filter_ids("id");
    let types = query.all("filter[note_type]");
    let updated = query.filter_range("updated_at");
    let mut notes: Vec<&Note> = state
        .notes
        .values()
        .filter(|n| {
            n.entity_type == entity
                && of.is_none_or(|id| n.entity_id == id)
                && entity_ids.as_ref().is_none_or(|l| l.contains(&n.entity_id))
                && ids.as_ref().is_none_or(|l| l.contains(&n.id.0))
                && (types.is_empty() || types.contains(&n.note_type.as_str()))
                && updated.0.is_none_or(|f| n.updated_at >= f)
                && updated.1.is_none_or(|t| n.updated_at <= t)
        })
        .collect();
    // Newest first is how a reader finds its own recent notes among many entities' notes.
    order_by(&mut notes, &query, |n, field| match field {
        "created_at" => n.created_at,
        "updated_at" => n.updated_at,
        _ => n.id.0 as i64,
    });
    let items = notes.iter().map(|n| note_json(&ctx, n)).collect();
    let path = match of {
        Some(id) => format!("/api/v4/{}/{id}/notes", entity.as_str()),
        None => format!("/api/v4/{}/notes", entity.as_str()),
    };
    render::page(&ctx, &path, &query, items, "notes")
}

pub(super) async fn note_get(
    State(app): App,
    entity: EntityType,
    Path(id): Path<String>,
) -> ApiResult {
    let state = app.lock();
    match path_id(&id)
        .and_then(|id| state.notes.get(&id))
        .filter(|n| n.entity_type == entity)
    {
        Some(note) => Ok(hal(note_json(&app.ctx(), note))),
        None => {
            drop(state);
            missing(&app, "Note")
        }
    }
}

pub(super) async fn notes_add(
    State(app): App,
    entity: EntityType,
    of: Option<u64>,
    body: Bytes,
) -> Response {
    let result = (|| {
        let items = batch_body(&body, MAX_BATCH)?;
        app.check_batch_size(items.len())?;
        let mut state = app.lock();
        let (written, changes) =
            activity::add_notes(&mut state, entity, of, &items, app.config.api_user)?;
        app.commit(&mut state, &changes);
        let ctx = app.ctx();
        let items: Vec<Value> = written
            .iter()
            .map(|w| {
                json!({
                    "id": w.id,
                    "entity_id": state.notes.get(&w.id).map(|n| n.entity_id),
                    "request_id": w.request_id,
                    "_links": ctx.self_link(&format!("/api/v4/{}/notes/{}", entity.as_str(), w.id)),
                })
            })
            .collect();
        Ok::<_, ApiError>(hal(json!({
            "_links": ctx.self_link(&format!("/api/v4/{}/notes", entity.as_str())),
            "_embedded": { "notes": items },
        })))
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

pub(super) async fn tags_list(
    State(app): App,
    entity: EntityType,
    RawQuery(q): RawQuery,
) -> Response {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let ids = query.filter_ids("id");
    let name = query.filter("name").map(str::to_lowercase);
    let search = query.get("query").map(str::to_lowercase);
    let items = state
        .tag_directory(entity)
        .iter()
        .filter(|t| {
            ids.as_ref().is_none_or(|l| l.contains(&t.id.0))
                && name
                    .as_deref()
                    .is_none_or(|n| t.name.to_lowercase() == n.trim())
                && search
                    .as_deref()
                    .is_none_or(|s| t.name.to_lowercase().contains(s.trim()))
        })
        .map(|t| json!({ "id": t.id, "name": t.name, "color": t.color }))
        .collect();
    render::page(
        &ctx,
        &format!("/api/v4/{}/tags", entity.as_str()),
        &query,
        items,
        "tags",
    )
}

pub(super) async fn tags_add(State(app): App, entity: EntityType, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut groups = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            groups.push((request_id(item, i), vec![ValidationIssue::blank("name")]));
        }
    }
    if !groups.is_empty() {
        return Err(ApiError::validation(groups));
    }
    let mut state = app.lock();
    let tags: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let name = item.get("name").and_then(Value::as_str).unwrap_or_default();
            let color = item.get("color").and_then(Value::as_str).map(str::to_owned);
            let tag = state.tag_by_name(entity, name, color);
            json!({
                "id": tag.id,
                "name": tag.name,
                "color": tag.color,
                "request_id": request_id(item, i),
            })
        })
        .collect();
    Ok(hal(json!({
        "_links": app.ctx().self_link(&format!("/api/v4/{}/tags", entity.as_str())),
        "_embedded": { "tags": tags },
    })))
}

pub(super) async fn tasks_list(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let ids = query.filter_ids("id");
    let entity_type = query.filter("entity_type").map(str::to_owned);
    let entity_ids = query.filter_ids("entity_id");
    let responsible = query.filter_ids("responsible_user_id");
    let task_types = query.filter_ids("task_type");
    let completed = query
        .filter("is_completed")
        .map(|v| v == "1" || v == "true");
    let updated = query.filter_range("updated_at");
    let mut tasks: Vec<&Task> = state
        .tasks
        .values()
        .filter(|t| {
            ids.as_ref().is_none_or(|l| l.contains(&t.id.0))
                && entity_type
                    .as_deref()
                    .is_none_or(|e| t.entity_type.is_some_and(|te| te.as_str() == e))
                && entity_ids
                    .as_ref()
                    .is_none_or(|l| t.entity_id.is_some_and(|id| l.contains(&id)))
                && responsible
                    .as_ref()
                    .is_none_or(|l| l.contains(&t.responsible_user_id.0))
                && task_types
                    .as_ref()
                    .is_none_or(|l| l.contains(&t.task_type_id.0))
                && completed.is_none_or(|c| t.is_completed == c)
                && updated.0.is_none_or(|f| t.updated_at >= f)
                && updated.1.is_none_or(|to| t.updated_at <= to)
        })
        .collect();
    order_by(&mut tasks, &query, |t, field| match field {
        "created_at" => t.created_at,
        "updated_at" => t.updated_at,
        "complete_till" => t.complete_till,
        _ => t.id.0 as i64,
    });
    let items = tasks.iter().map(|t| task_json(&ctx, t)).collect();
    render::page(&ctx, "/api/v4/tasks", &query, items, "tasks")
}

pub(super) async fn task_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.tasks.get(&id)) {
        Some(task) => Ok(hal(task_json(&app.ctx(), task))),
        None => {
            drop(state);
            missing(&app, "Task")
        }
    }
}

pub(super) async fn tasks_add(State(app): App, body: Bytes) -> ApiResult {
    batch(&app, &body, "tasks", false, activity::add_tasks)
}

pub(super) async fn tasks_update(State(app): App, body: Bytes) -> ApiResult {
    batch(&app, &body, "tasks", true, activity::update_tasks)
}

pub(super) async fn task_update_one(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut item = object_body(&body)?;
    let id = path_id(&id)
        .filter(|id| app.lock().tasks.contains_key(id))
        .ok_or_else(|| ApiError::not_found(format!("Task {id} not found")))?;
    item.insert("id".into(), json!(id));
    let mut state = app.lock();
    let (written, changes) =
        activity::update_tasks(&mut state, std::slice::from_ref(&item), app.config.api_user)?;
    app.commit(&mut state, &changes);
    let updated_at = written.first().map_or(0, |w| w.updated_at);
    Ok(hal(json!({
        "id": id,
        "updated_at": updated_at,
        "_links": app.ctx().self_link(&format!("/api/v4/tasks/{id}")),
    })))
}
