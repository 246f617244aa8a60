//! Writes of the account's definitions, as an onboarding tool makes them: pipelines and their
//! stages, custom fields (with their options). Each write is checked whole before anything
//! changes, as entity writes are.
//!
//! The fake's choices where Kommo documents nothing: new ids count up from the largest in
//! use; a new pipeline gets the incoming column, the stages given, then 142 and 143; a
//! pipeline that still holds leads, the main pipeline, a stage that holds leads, the incoming
//! column and 142/143 cannot be deleted (400); a deleted field's values are removed from the
//! entities.

use axum::body::Bytes;
use axum::extract::{Path, State};
use kommo_client::common::EntityType;
use kommo_client::custom_fields::FieldType;
use kommo_client::ids::{CustomFieldId, EnumId, PipelineId, StatusId};
use serde_json::{Map, Value, json};

use super::super::model::ValidationIssue;
use super::super::render;
use super::super::request::{
    ApiError, ApiResult, MAX_BATCH, batch_body, hal, no_content, object_body, path_id,
};
use super::super::seeds::{CustomFieldSeed, EnumSeed, PipelineSeed, StatusSeed};
use super::super::state::State as Store;
use super::super::writes::check_all;
use super::App;

fn text(item: &Map<String, Value>, key: &str) -> Result<Option<String>, ValidationIssue> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ValidationIssue::invalid_type(key, "string")),
    }
}

fn int(item: &Map<String, Value>, key: &str) -> Result<Option<i64>, ValidationIssue> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| ValidationIssue::invalid_type(key, "int")),
    }
}

fn flag(item: &Map<String, Value>, key: &str) -> Result<Option<bool>, ValidationIssue> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| ValidationIssue::invalid_type(key, "bool")),
    }
}

fn required_name(item: &Map<String, Value>) -> Result<String, ValidationIssue> {
    text(item, "name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ValidationIssue::blank("name"))
}

/// A stage write: name (required when adding), sort, color.
fn status_from(
    item: &Map<String, Value>,
    mut status: StatusSeed,
    adding: bool,
) -> Result<StatusSeed, Vec<ValidationIssue>> {
    let one = || -> Result<StatusSeed, ValidationIssue> {
        if adding {
            status.name = required_name(item)?;
        } else if let Some(name) = text(item, "name")? {
            status.name = name;
        }
        if let Some(sort) = int(item, "sort")? {
            status.sort = sort;
        }
        if let Some(color) = text(item, "color")? {
            status.color = color;
        }
        Ok(status)
    };
    one().map_err(|e| vec![e])
}

fn next_status_id(state: &Store) -> u64 {
    state
        .pipelines
        .iter()
        .flat_map(|p| &p.statuses)
        .map(|s| s.id.0)
        .filter(|id| !StatusId(*id).is_closed())
        .max()
        .unwrap_or(1000)
        + 1
}

pub(super) async fn pipelines_add(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let mut next_pipeline = state.pipelines.iter().map(|p| p.id.0).max().unwrap_or(0) + 1;
    let mut next_status = next_status_id(&state);
    let plans = check_all(&items, |_, item| {
        let name = required_name(item).map_err(|e| vec![e])?;
        let statuses = match item.get("_embedded").and_then(|e| e.get("statuses")) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.clone(),
            Some(_) => {
                return Err(vec![ValidationIssue::invalid_type(
                    "_embedded.statuses",
                    "array",
                )]);
            }
        };
        let mut p = PipelineSeed::new(PipelineId(next_pipeline), name);
        next_pipeline += 1;
        let mut fields = || -> Result<(), ValidationIssue> {
            p.sort = int(item, "sort")?.unwrap_or(p.sort);
            p.is_unsorted_on = flag(item, "is_unsorted_on")?.unwrap_or(true);
            p.is_main = flag(item, "is_main")?.unwrap_or(false);
            Ok(())
        };
        fields().map_err(|e| vec![e])?;
        if p.is_unsorted_on {
            p = p.status(
                StatusSeed::new(StatusId(next_status), "Incoming leads")
                    .incoming()
                    .sort(10),
            );
            next_status += 1;
        }
        for status in &statuses {
            let Value::Object(status) = status else {
                return Err(vec![ValidationIssue::invalid_type(
                    "_embedded.statuses",
                    "object",
                )]);
            };
            let seed = status_from(status, StatusSeed::new(StatusId(next_status), ""), true)?;
            next_status += 1;
            p = p.status(seed);
        }
        Ok(p.completed())
    })?;
    let mut added = Vec::new();
    for p in plans {
        if p.is_main {
            state.pipelines.iter_mut().for_each(|q| q.is_main = false);
        }
        added.push(render::pipeline(&app.ctx(), &p));
        state.pipelines.push(p);
    }
    Ok(hal(json!({
        "_total_items": added.len(),
        "_embedded": { "pipelines": added },
    })))
}

fn pipeline_index(state: &Store, id: &str) -> Result<usize, ApiError> {
    path_id(id)
        .and_then(|id| state.pipelines.iter().position(|p| p.id.0 == id))
        .ok_or_else(|| ApiError::not_found(format!("Pipeline {id} not found")))
}

pub(super) async fn pipeline_update(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let item = object_body(&body)?;
    let mut state = app.lock();
    let i = pipeline_index(&state, &id)?;
    let mut p = state.pipelines[i].clone();
    let mut change = || -> Result<(), ValidationIssue> {
        if let Some(name) = text(&item, "name")? {
            p.name = name;
        }
        p.sort = int(&item, "sort")?.unwrap_or(p.sort);
        p.is_unsorted_on = flag(&item, "is_unsorted_on")?.unwrap_or(p.is_unsorted_on);
        if flag(&item, "is_main")? == Some(true) {
            p.is_main = true;
        }
        Ok(())
    };
    change().map_err(|e| ApiError::invalid(vec![e]))?;
    if p.is_main {
        state.pipelines.iter_mut().for_each(|q| q.is_main = false);
    }
    state.pipelines[i] = p;
    Ok(hal(render::pipeline(&app.ctx(), &state.pipelines[i])))
}

pub(super) async fn pipeline_delete(State(app): App, Path(id): Path<String>) -> ApiResult {
    let mut state = app.lock();
    let i = pipeline_index(&state, &id)?;
    let p = &state.pipelines[i];
    if p.is_main {
        return Err(ApiError::bad_request("The main pipeline cannot be deleted"));
    }
    if state.leads.values().any(|l| l.pipeline_id == p.id) {
        return Err(ApiError::bad_request(
            "A pipeline with leads cannot be deleted",
        ));
    }
    state.pipelines.remove(i);
    Ok(no_content())
}

pub(super) async fn statuses_add(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let i = pipeline_index(&state, &id)?;
    if state.pipelines[i].statuses.len() + items.len() > 100 {
        return Err(ApiError::bad_request(
            "A pipeline holds at most 100 statuses",
        ));
    }
    let mut next = next_status_id(&state);
    let seeds = check_all(&items, |_, item| {
        let seed = status_from(item, StatusSeed::new(StatusId(next), ""), true)?;
        next += 1;
        Ok(seed)
    })?;
    let ctx = app.ctx();
    let pipeline = &mut state.pipelines[i];
    let mut added = Vec::new();
    for seed in seeds {
        added.push(render::status(&ctx, pipeline.id, &seed));
        let at = pipeline
            .statuses
            .iter()
            .position(|s| s.id.is_closed())
            .unwrap_or(pipeline.statuses.len());
        let mut seed = seed;
        if seed.sort == 0 {
            seed.sort = pipeline.statuses[..at]
                .iter()
                .map(|s| s.sort)
                .max()
                .unwrap_or(0)
                + 10;
        }
        pipeline.statuses.insert(at, seed);
    }
    Ok(hal(
        json!({ "_total_items": added.len(), "_embedded": { "statuses": added } }),
    ))
}

/// The pipeline and the position of one of its statuses; 142/143 and the incoming column are
/// refused for `what`.
fn status_position(
    state: &Store,
    id: &str,
    status: &str,
    what: &str,
) -> Result<(usize, usize), ApiError> {
    let i = pipeline_index(state, id)?;
    let s = path_id(status)
        .and_then(|s| state.pipelines[i].statuses.iter().position(|x| x.id.0 == s))
        .ok_or_else(|| ApiError::not_found(format!("Status {status} not found")))?;
    if !state.pipelines[i].statuses[s].is_editable {
        return Err(ApiError::bad_request(format!(
            "A system status cannot be {what}"
        )));
    }
    Ok((i, s))
}

pub(super) async fn status_update(
    State(app): App,
    Path((id, status)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let item = object_body(&body)?;
    let mut state = app.lock();
    let (i, s) = status_position(&state, &id, &status, "edited")?;
    let seed = status_from(&item, state.pipelines[i].statuses[s].clone(), false)
        .map_err(ApiError::invalid)?;
    let pipeline = state.pipelines[i].id;
    state.pipelines[i].statuses[s] = seed;
    Ok(hal(render::status(
        &app.ctx(),
        pipeline,
        &state.pipelines[i].statuses[s],
    )))
}

pub(super) async fn status_delete(
    State(app): App,
    Path((id, status)): Path<(String, String)>,
) -> ApiResult {
    let mut state = app.lock();
    let (i, s) = status_position(&state, &id, &status, "deleted")?;
    let target = state.pipelines[i].statuses[s].id;
    let pipeline = state.pipelines[i].id;
    if state
        .leads
        .values()
        .any(|l| l.pipeline_id == pipeline && l.status_id == target)
    {
        return Err(ApiError::bad_request(
            "A status with leads cannot be deleted",
        ));
    }
    state.pipelines[i].statuses.remove(s);
    Ok(no_content())
}

/// Types whose values pick one of the field's options.
fn has_options(t: &FieldType) -> bool {
    matches!(
        t,
        FieldType::Select | FieldType::Multiselect | FieldType::Radiobutton | FieldType::Category
    )
}

/// Applies a field write to `seed`; options keep their ids when the label is kept.
fn field_from(
    item: &Map<String, Value>,
    mut seed: CustomFieldSeed,
    adding: bool,
    next_enum: &mut u64,
) -> Result<CustomFieldSeed, Vec<ValidationIssue>> {
    let one = || -> Result<CustomFieldSeed, ValidationIssue> {
        if adding {
            seed.name = required_name(item)?;
            let kind = text(item, "type")?.ok_or_else(|| ValidationIssue::blank("type"))?;
            seed.field_type = kind.parse().unwrap_or_else(|never| match never {});
            if matches!(seed.field_type, FieldType::Other(_)) {
                return Err(ValidationIssue::choice("type"));
            }
        } else if let Some(name) = text(item, "name")? {
            seed.name = name;
        }
        if let Some(code) = text(item, "code")? {
            seed.code = Some(code);
        }
        seed.sort = int(item, "sort")?.unwrap_or(seed.sort);
        seed.is_api_only = flag(item, "is_api_only")?.unwrap_or(seed.is_api_only);
        match item.get("enums") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                let mut enums = Vec::new();
                for (n, e) in list.iter().enumerate() {
                    let at = format!("enums.{n}.value");
                    let value = e
                        .get("value")
                        .and_then(Value::as_str)
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| ValidationIssue::blank(at))?;
                    let kept = seed.enums.iter().find(|x| x.value == value).map(|x| x.id);
                    let id = kept.unwrap_or_else(|| {
                        *next_enum += 1;
                        EnumId(*next_enum)
                    });
                    let mut option = EnumSeed::new(id, value);
                    option.sort = e
                        .get("sort")
                        .and_then(Value::as_i64)
                        .unwrap_or((n as i64 + 1) * 10);
                    enums.push(option);
                }
                seed.enums = enums;
            }
            Some(_) => return Err(ValidationIssue::invalid_type("enums", "array")),
        }
        if has_options(&seed.field_type) && seed.enums.is_empty() {
            return Err(ValidationIssue::blank("enums"));
        }
        if !has_options(&seed.field_type)
            && !matches!(seed.field_type, FieldType::Multitext)
            && !seed.enums.is_empty()
        {
            return Err(ValidationIssue::new(
                "NotSupportedChoice",
                "enums",
                "This field type has no options",
            ));
        }
        if matches!(seed.field_type, FieldType::Multitext) && seed.entity_type == EntityType::Leads
        {
            return Err(ValidationIssue::choice("type"));
        }
        Ok(seed)
    };
    one().map_err(|e| vec![e])
}

fn next_enum_id(state: &Store) -> u64 {
    state
        .fields
        .iter()
        .flat_map(|f| &f.enums)
        .map(|e| e.id.0)
        .max()
        .unwrap_or(0)
}

pub(super) async fn fields_add(app: App, entity: EntityType, body: Bytes) -> ApiResult {
    let State(app) = app;
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let mut next_field = state.fields.iter().map(|f| f.id.0).max().unwrap_or(0) + 1;
    let mut next_enum = next_enum_id(&state);
    let seeds = check_all(&items, |_, item| {
        let seed = CustomFieldSeed::new(entity, CustomFieldId(next_field), "", FieldType::Text);
        next_field += 1;
        field_from(item, seed, true, &mut next_enum)
    })?;
    let ctx = app.ctx();
    let rendered: Vec<Value> = seeds
        .iter()
        .zip(&items)
        .map(|(s, item)| {
            let mut v = render::field_definition(&ctx, s);
            v["request_id"] = item.get("request_id").cloned().unwrap_or(Value::Null);
            v
        })
        .collect();
    state.fields.extend(seeds);
    Ok(hal(
        json!({ "_total_items": rendered.len(), "_embedded": { "custom_fields": rendered } }),
    ))
}

fn apply_field_updates(
    state: &mut Store,
    entity: EntityType,
    items: &[(u64, Map<String, Value>)],
) -> Result<Vec<CustomFieldSeed>, ApiError> {
    let mut next_enum = next_enum_id(state);
    let maps: Vec<Map<String, Value>> = items.iter().map(|(_, m)| m.clone()).collect();
    let seeds = check_all(&maps, |i, item| {
        let id = items[i].0;
        let existing = state
            .fields
            .iter()
            .find(|f| f.entity_type == entity && f.id.0 == id)
            .cloned()
            .ok_or_else(|| vec![ValidationIssue::new("NotFound", "id", "Field not found")])?;
        field_from(item, existing, false, &mut next_enum)
    })?;
    for seed in &seeds {
        if let Some(slot) = state.fields.iter_mut().find(|f| f.id == seed.id) {
            *slot = seed.clone();
        }
    }
    Ok(seeds)
}

pub(super) async fn fields_update(app: App, entity: EntityType, body: Bytes) -> ApiResult {
    let State(app) = app;
    let items = batch_body(&body, MAX_BATCH)?;
    let with_ids = items
        .into_iter()
        .map(|m| (m.get("id").and_then(Value::as_u64).unwrap_or(0), m))
        .collect::<Vec<_>>();
    let mut state = app.lock();
    let seeds = apply_field_updates(&mut state, entity, &with_ids)?;
    let ctx = app.ctx();
    let rendered: Vec<Value> = seeds
        .iter()
        .map(|s| render::field_definition(&ctx, s))
        .collect();
    Ok(hal(json!({ "_embedded": { "custom_fields": rendered } })))
}

pub(super) async fn field_update(
    app: App,
    entity: EntityType,
    id: String,
    body: Bytes,
) -> ApiResult {
    let State(app) = app;
    let item = object_body(&body)?;
    let id = path_id(&id).ok_or_else(|| ApiError::not_found("Field not found"))?;
    let mut state = app.lock();
    let seeds = apply_field_updates(&mut state, entity, &[(id, item)]).map_err(|e| {
        if e.detail().contains("not found") {
            ApiError::not_found("Field not found")
        } else {
            e
        }
    })?;
    Ok(hal(render::field_definition(&app.ctx(), &seeds[0])))
}

pub(super) async fn field_delete(app: App, entity: EntityType, id: String) -> ApiResult {
    let State(app) = app;
    let mut state = app.lock();
    let i = path_id(&id)
        .and_then(|id| {
            state
                .fields
                .iter()
                .position(|f| f.entity_type == entity && f.id.0 == id)
        })
        .ok_or_else(|| ApiError::not_found(format!("Field {id} not found")))?;
    if state.fields[i].is_predefined {
        return Err(ApiError::bad_request(
            "A predefined field cannot be deleted",
        ));
    }
    let field = state.fields.remove(i).id;
    match entity {
        EntityType::Leads => state
            .leads
            .values_mut()
            .for_each(|l| l.custom_fields.retain(|f| f.field_id != field)),
        EntityType::Contacts => state
            .contacts
            .values_mut()
            .for_each(|c| c.custom_fields.retain(|f| f.field_id != field)),
        EntityType::Companies => state
            .companies
            .values_mut()
            .for_each(|c| c.custom_fields.retain(|f| f.field_id != field)),
        _ => {}
    }
    Ok(no_content())
}
