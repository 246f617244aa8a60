//! The settings of the customers module: its mode (`/api/v4/customers/mode`), statuses
//! (`/api/v4/customers/statuses`) and segments (`/api/v4/customers/segments`).
//!
//! As amoCRM's reference says, every account has four built-in statuses (the first,
//! "recently purchased", and the three final ones), which cannot be changed or deleted; there
//! are at most 30 statuses and 100 segments. The fake's choices: a segment holds no customer
//! (`customers_count` is 0), since the fake's customers carry no segment. Statuses answer 422
//! unless the module is on in the recurring purchases mode (the default), as the reference
//! says; segments are served in either mode.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::super::model::ValidationIssue;
use super::super::render::{self, Ctx};
use super::super::request::{
    ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, no_content, object_body, path_id,
};
use super::super::sales::{
    CustomerStatusRecord, MAX_CUSTOMER_STATUSES, MAX_SEGMENTS, SegmentRecord,
};
use super::super::state::State as Store;
use super::super::writes::{Written, check_all};
use super::sales::{name_of, written};
use super::{App, missing, written_json_at};

/// The color a status gets when none is sent (the fake's choice).
const STATUS_COLOR: &str = "#99ccff";

fn status_json(ctx: &Ctx, s: &CustomerStatusRecord) -> Value {
    json!({
        "id": s.id, "name": s.name, "sort": s.sort, "is_default": s.is_default,
        "color": s.color, "type": s.kind, "conditions": [], "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/customers/statuses/{}", s.id)),
    })
}

fn segment_json(ctx: &Ctx, s: &SegmentRecord) -> Value {
    json!({
        "id": s.id, "name": s.name, "color": s.color, "customers_count": 0,
        "available_products_price_types": [],
        "custom_fields_values": s.custom_fields_values,
        "created_at": s.created_at, "updated_at": s.updated_at,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/customers/segments/{}", s.id)),
    })
}

/// An optional string member; another type is a validation issue.
fn text(item: &Map<String, Value>, key: &str) -> Result<Option<String>, Vec<ValidationIssue>> {
    match item.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(vec![ValidationIssue::invalid_type(key, "string")]),
    }
}

pub(super) async fn statuses_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    periodicity_on(&state)?;
    let mut statuses: Vec<&CustomerStatusRecord> = state.sales.customer_statuses.values().collect();
    statuses.sort_by_key(|s| (s.sort, s.id));
    let items = statuses.iter().map(|s| status_json(&ctx, s)).collect();
    Ok(render::page(
        &ctx,
        "/api/v4/customers/statuses",
        &query,
        items,
        "statuses",
    ))
}

pub(super) async fn status_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    periodicity_on(&state)?;
    match path_id(&id).and_then(|id| state.sales.customer_statuses.get(&id)) {
        Some(s) => Ok(hal(status_json(&app.ctx(), s))),
        None => {
            drop(state);
            missing(&app, "Customer status")
        }
    }
}

/// A batch add (`POST`) or update (`PATCH`, `id` in each item) of statuses.
pub(super) async fn statuses_write(State(app): App, adding: bool, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let out = write_statuses(&mut state, adding, &items)?;
    Ok(hal(written_json_at(
        &app.ctx(),
        "/api/v4/customers/statuses",
        "statuses",
        &out,
        false,
    )))
}

/// `PATCH /api/v4/customers/statuses/{id}`: answers the status as changed.
pub(super) async fn status_update_one(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut item = object_body(&body)?;
    let mut state = app.lock();
    periodicity_on(&state)?;
    let id = path_id(&id)
        .filter(|id| state.sales.customer_statuses.contains_key(id))
        .ok_or_else(|| ApiError::not_found(format!("Customer status {id} not found")))?;
    item.insert("id".into(), json!(id));
    write_statuses(&mut state, false, &[item])?;
    Ok(hal(status_json(
        &app.ctx(),
        &state.sales.customer_statuses[&id],
    )))
}

/// Statuses exist in the recurring purchases (`periodicity`) mode only: 422 otherwise, as
/// amoCRM's reference says.
fn periodicity_on(state: &Store) -> Result<(), ApiError> {
    if state.sales.customers_enabled && state.sales.customers_mode == "periodicity" {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Recurring purchases mode is not enabled",
        ))
    }
}

fn write_statuses(
    state: &mut Store,
    adding: bool,
    items: &[Map<String, Value>],
) -> Result<Vec<Written>, ApiError> {
    periodicity_on(state)?;
    let plans = check_all(items, |_, item| {
        let target = item.get("id").and_then(Value::as_u64);
        if !adding {
            match target.and_then(|t| state.sales.customer_statuses.get(&t)) {
                None => {
                    return Err(vec![ValidationIssue::new(
                        "NotFound",
                        "id",
                        "Customer status not found",
                    )]);
                }
                Some(s) if s.is_default => {
                    return Err(vec![ValidationIssue::new(
                        "NotEditable",
                        "id",
                        "A built-in customer status cannot be changed",
                    )]);
                }
                Some(_) => {}
            }
        }
        let name = name_of(item, adding)?;
        let color = text(item, "color")?;
        Ok((target, name, color))
    })?;
    if adding && state.sales.customer_statuses.len() + items.len() > MAX_CUSTOMER_STATUSES {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_CUSTOMER_STATUSES} customer statuses"
        )));
    }
    let now = state.now();
    let next_sort = state
        .sales
        .customer_statuses
        .values()
        .map(|s| s.sort)
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for (i, (item, (target, name, color))) in items.iter().zip(plans).enumerate() {
        let id = match target {
            Some(id) if !adding => id,
            _ => state.sales.next_id(),
        };
        let status =
            state
                .sales
                .customer_statuses
                .entry(id)
                .or_insert_with(|| CustomerStatusRecord {
                    id,
                    name: String::new(),
                    // Saturating: a client may have sorted a status at `i64::MAX`.
                    sort: next_sort
                        .saturating_add(1)
                        .saturating_add(i64::try_from(i).unwrap_or(i64::MAX)),
                    color: STATUS_COLOR.to_owned(),
                    kind: 0,
                    is_default: false,
                });
        if let Some(name) = name {
            status.name = name;
        }
        if let Some(color) = color {
            status.color = color;
        }
        if let Some(sort) = item.get("sort").and_then(Value::as_i64) {
            status.sort = sort;
        }
        out.push(written(id, item, i, now));
    }
    Ok(out)
}

/// `DELETE /api/v4/customers/statuses/{id}`: a built-in status stays (400).
pub(super) async fn status_delete(State(app): App, Path(id): Path<String>) -> ApiResult {
    let mut state = app.lock();
    periodicity_on(&state)?;
    let status = path_id(&id)
        .and_then(|id| state.sales.customer_statuses.get(&id))
        .ok_or_else(|| ApiError::not_found(format!("Customer status {id} not found")))?;
    if status.is_default {
        return Err(ApiError::bad_request(
            "A built-in customer status cannot be deleted",
        ));
    }
    let id = status.id;
    state.sales.customer_statuses.remove(&id);
    Ok(no_content())
}

pub(super) async fn segments_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let items = state
        .sales
        .segments
        .values()
        .map(|s| segment_json(&ctx, s))
        .collect();
    Ok(render::page(
        &ctx,
        "/api/v4/customers/segments",
        &query,
        items,
        "segments",
    ))
}

pub(super) async fn segment_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.sales.segments.get(&id)) {
        Some(s) => Ok(hal(segment_json(&app.ctx(), s))),
        None => {
            drop(state);
            missing(&app, "Segment")
        }
    }
}

/// The checked members of a segment write: name, color and field values.
type SegmentPlan = (Option<String>, Option<String>, Option<Value>);

fn segment_plan(item: &Map<String, Value>, adding: bool) -> Result<SegmentPlan, ApiError> {
    let plan = (|| {
        let name = name_of(item, adding)?;
        let color = text(item, "color")?;
        if adding && color.as_deref().is_none_or(|c| c.trim().is_empty()) {
            return Err(vec![ValidationIssue::blank("color")]);
        }
        let fields = match item.get("custom_fields_values") {
            None => None,
            Some(v @ (Value::Null | Value::Array(_))) => Some(v.clone()),
            Some(_) => {
                return Err(vec![ValidationIssue::invalid_type(
                    "custom_fields_values",
                    "array",
                )]);
            }
        };
        Ok((name, color, fields))
    })();
    plan.map_err(ApiError::invalid)
}

/// `POST /api/v4/customers/segments`: one segment, answered in full.
pub(super) async fn segment_add(State(app): App, body: Bytes) -> ApiResult {
    let item = object_body(&body)?;
    let (name, color, fields) = segment_plan(&item, true)?;
    let mut state = app.lock();
    if state.sales.segments.len() >= MAX_SEGMENTS {
        return Err(ApiError::bad_request(format!(
            "At most {MAX_SEGMENTS} segments"
        )));
    }
    let now = state.now();
    let id = state.sales.next_id();
    let segment = SegmentRecord {
        id,
        name: name.unwrap_or_default(),
        color: color.unwrap_or_default(),
        custom_fields_values: fields.unwrap_or(Value::Null),
        created_at: now,
        updated_at: now,
    };
    let answer = segment_json(&app.ctx(), &segment);
    state.sales.segments.insert(id, segment);
    Ok(hal(answer))
}

/// `PATCH /api/v4/customers/segments/{id}`: answers the segment as changed.
pub(super) async fn segment_update(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let item = object_body(&body)?;
    let (name, color, fields) = segment_plan(&item, false)?;
    let mut state = app.lock();
    let now = state.now();
    let segment = path_id(&id)
        .and_then(|id| state.sales.segments.get_mut(&id))
        .ok_or_else(|| ApiError::not_found(format!("Segment {id} not found")))?;
    if let Some(name) = name {
        segment.name = name;
    }
    if let Some(color) = color.filter(|c| !c.trim().is_empty()) {
        segment.color = color;
    }
    if let Some(fields) = fields {
        segment.custom_fields_values = fields;
    }
    segment.updated_at = now;
    Ok(hal(segment_json(&app.ctx(), segment)))
}

pub(super) async fn segment_delete(State(app): App, Path(id): Path<String>) -> ApiResult {
    let mut state = app.lock();
    path_id(&id)
        .and_then(|id| state.sales.segments.remove(&id))
        .map(|_| no_content())
        .ok_or_else(|| ApiError::not_found(format!("Segment {id} not found")))
}

/// `PATCH /api/v4/customers/mode` with `{"mode": "segments"|"periodicity", "is_enabled"}`:
/// answers the module's settings.
pub(super) async fn mode_update(State(app): App, body: Bytes) -> ApiResult {
    let item = object_body(&body)?;
    let mode = match item.get("mode") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if m == "segments" || m == "periodicity" => Some(m.clone()),
        Some(_) => return Err(ApiError::invalid(vec![ValidationIssue::choice("mode")])),
    };
    let enabled = match item.get("is_enabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(ApiError::invalid(vec![ValidationIssue::invalid_type(
                "is_enabled",
                "bool",
            )]));
        }
    };
    let mut state = app.lock();
    if let Some(mode) = mode {
        state.sales.customers_mode = mode;
    }
    if let Some(enabled) = enabled {
        state.sales.customers_enabled = enabled;
    }
    Ok(hal(json!({
        "mode": state.sales.customers_mode,
        "is_enabled": state.sales.customers_enabled,
    })))
}
