//! Catalogs (`/api/v4/catalogs`) and their elements, and customers (`/api/v4/customers`) with
//! their transactions and bonus points.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use kommo_client::ids::UserId;
use serde_json::{Map, Value, json};

use super::super::event_log;
use super::super::model::ValidationIssue;
use super::super::render::{self, Ctx};
use super::super::request::{
    ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, no_content, object_body, path_id,
    request_id,
};
use super::super::sales::{CatalogRecord, CustomerRecord, ElementRecord, TransactionRecord};
use super::super::state::State as Store;
use super::super::writes::{Written, check_all};
use super::{App, missing, written_json};

/// A write's `name`: required to add, optional to change, never blank.
pub(super) fn name_of(
    item: &Map<String, Value>,
    adding: bool,
) -> Result<Option<String>, Vec<ValidationIssue>> {
    match item.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        None | Some(Value::Null) if !adding => Ok(None),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(vec![ValidationIssue::blank("name")])
        }
        Some(_) => Err(vec![ValidationIssue::invalid_type("name", "string")]),
    }
}

fn catalog_json(ctx: &Ctx, c: &CatalogRecord) -> Value {
    json!({
        "id": c.id, "name": c.name, "type": c.kind, "sort": c.sort,
        "created_by": c.created_by, "updated_by": c.created_by,
        "created_at": c.created_at, "updated_at": c.updated_at,
        "can_add_elements": true, "can_show_in_cards": false, "can_link_multiple": true,
        "can_be_deleted": c.kind == "regular", "sdk_widget_code": null,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/catalogs/{}", c.id)),
    })
}

fn element_json(ctx: &Ctx, e: &ElementRecord) -> Value {
    json!({
        "id": e.id, "name": e.name, "catalog_id": e.catalog_id, "is_deleted": false,
        "custom_fields_values": e.custom_fields_values,
        "created_by": e.created_by, "updated_by": e.created_by,
        "created_at": e.created_at, "updated_at": e.updated_at,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/catalogs/{}/elements/{}", e.catalog_id, e.id)),
    })
}

fn customer_json(ctx: &Ctx, c: &CustomerRecord, state: &Store) -> Value {
    let bought: Vec<f64> = state
        .sales
        .transactions
        .values()
        .filter(|t| t.customer_id == c.id)
        .map(|t| t.price)
        .collect();
    let ltv: f64 = bought.iter().sum();
    json!({
        "id": c.id, "name": c.name, "next_price": c.next_price, "next_date": c.next_date,
        "responsible_user_id": c.responsible_user_id, "created_by": c.created_by,
        "created_at": c.created_at, "updated_at": c.updated_at, "is_deleted": false,
        "ltv": ltv, "purchases_count": bought.len(),
        "average_check": if bought.is_empty() { 0.0 } else { ltv / bought.len() as f64 },
        "custom_fields_values": null, "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/customers/{}", c.id)),
    })
}

fn transaction_json(ctx: &Ctx, t: &TransactionRecord) -> Value {
    json!({
        "id": t.id, "customer_id": t.customer_id, "price": t.price, "comment": t.comment,
        "completed_at": t.completed_at, "created_by": t.created_by, "created_at": t.created_at,
        "is_deleted": false, "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/customers/transactions/{}", t.id)),
    })
}

/// One item of a batch answer.
pub(super) fn written(id: u64, item: &Map<String, Value>, i: usize, at: i64) -> Written {
    Written {
        id,
        request_id: request_id(item, i),
        updated_at: at,
    }
}

pub(super) async fn catalogs_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let items = state
        .sales
        .catalogs
        .values()
        .map(|c| catalog_json(&ctx, c))
        .collect();
    Ok(render::page(
        &ctx,
        "/api/v4/catalogs",
        &query,
        items,
        "catalogs",
    ))
}

pub(super) async fn catalog_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.sales.catalogs.get(&id)) {
        Some(c) => Ok(hal(catalog_json(&app.ctx(), c))),
        None => {
            drop(state);
            missing(&app, "Catalog")
        }
    }
}

pub(super) async fn catalogs_add(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let names = check_all(&items, |_, item| name_of(item, true))?;
    let now = state.now();
    let mut out = Vec::new();
    for (i, (item, name)) in items.iter().zip(names).enumerate() {
        let id = state.sales.next_id();
        let kind = item
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("regular")
            .to_owned();
        let sort = item.get("sort").and_then(Value::as_i64).unwrap_or(10);
        let created_by = app.config.api_user;
        let name = name.unwrap_or_default();
        state.sales.catalogs.insert(
            id,
            CatalogRecord {
                id,
                name,
                kind,
                sort,
                created_by,
                created_at: now,
                updated_at: now,
            },
        );
        out.push(written(id, item, i, now));
    }
    Ok(hal(written_json(&app.ctx(), "catalogs", &out, true)))
}

/// Renames or re-sorts catalogs: a batch (`id` in each item) or one (`id` in the path).
pub(super) async fn catalogs_update(
    State(app): App,
    path: Option<Path<String>>,
    body: Bytes,
) -> ApiResult {
    let items = match &path {
        Some(Path(id)) => {
            let mut item = object_body(&body)?;
            item.insert("id".into(), json!(path_id(id).unwrap_or(0)));
            vec![item]
        }
        None => batch_body(&body, MAX_BATCH)?,
    };
    let mut state = app.lock();
    let ids = check_all(&items, |_, item| {
        let id = item.get("id").and_then(Value::as_u64).unwrap_or(0);
        if !state.sales.catalogs.contains_key(&id) {
            return Err(vec![ValidationIssue::new(
                "NotFound",
                "id",
                "Catalog not found",
            )]);
        }
        name_of(item, false).map(|name| (id, name))
    })?;
    let now = state.now();
    let mut out = Vec::new();
    for (i, (item, (id, name))) in items.iter().zip(ids).enumerate() {
        let c = state.sales.catalogs.get_mut(&id).expect("checked above");
        c.name = name.unwrap_or_else(|| c.name.clone());
        c.sort = item.get("sort").and_then(Value::as_i64).unwrap_or(c.sort);
        c.updated_at = now;
        out.push(written(id, item, i, now));
    }
    Ok(hal(written_json(&app.ctx(), "catalogs", &out, true)))
}

fn catalog_of(state: &Store, id: &str) -> Result<u64, ApiError> {
    path_id(id)
        .filter(|id| state.sales.catalogs.contains_key(id))
        .ok_or_else(|| ApiError::not_found(format!("Catalog {id} not found")))
}

pub(super) async fn elements_list(
    State(app): App,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let catalog = catalog_of(&state, &id)?;
    let needle = query.get("query").map(str::to_lowercase);
    let items = state
        .sales
        .elements
        .values()
        .filter(|e| e.catalog_id == catalog)
        .filter(|e| {
            needle
                .as_ref()
                .is_none_or(|n| e.name.to_lowercase().contains(n))
        })
        .map(|e| element_json(&ctx, e))
        .collect();
    Ok(render::page(
        &ctx,
        &format!("/api/v4/catalogs/{catalog}/elements"),
        &query,
        items,
        "elements",
    ))
}

pub(super) async fn element_get(
    State(app): App,
    Path((id, element)): Path<(String, String)>,
) -> ApiResult {
    let state = app.lock();
    let catalog = catalog_of(&state, &id)?;
    match path_id(&element)
        .and_then(|e| state.sales.elements.get(&e))
        .filter(|e| e.catalog_id == catalog)
    {
        Some(e) => Ok(hal(element_json(&app.ctx(), e))),
        None => {
            drop(state);
            missing(&app, "Element")
        }
    }
}

pub(super) async fn elements_write(
    State(app): App,
    Path(id): Path<String>,
    adding: bool,
    body: Bytes,
) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let catalog = catalog_of(&state, &id)?;
    let out = write_elements(&mut state, catalog, adding, &items, app.config.api_user)?;
    Ok(hal(written_json(&app.ctx(), "elements", &out, true)))
}

/// `PATCH /api/v4/catalogs/{id}/elements/{element}`: answers the element as changed.
pub(super) async fn element_update_one(
    State(app): App,
    Path((id, element)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    let mut item = object_body(&body)?;
    let mut state = app.lock();
    let catalog = catalog_of(&state, &id)?;
    let element = path_id(&element)
        .filter(|e| {
            state
                .sales
                .elements
                .get(e)
                .is_some_and(|e| e.catalog_id == catalog)
        })
        .ok_or_else(|| ApiError::not_found(format!("Element {element} not found")))?;
    item.insert("id".into(), json!(element));
    write_elements(&mut state, catalog, false, &[item], app.config.api_user)?;
    Ok(hal(element_json(
        &app.ctx(),
        &state.sales.elements[&element],
    )))
}

fn write_elements(
    state: &mut Store,
    catalog: u64,
    adding: bool,
    items: &[Map<String, Value>],
    created_by: UserId,
) -> Result<Vec<Written>, ApiError> {
    let plans = check_all(items, |_, item| {
        let target = item.get("id").and_then(Value::as_u64);
        if !adding
            && target.is_none_or(|t| {
                state
                    .sales
                    .elements
                    .get(&t)
                    .is_none_or(|e| e.catalog_id != catalog)
            })
        {
            return Err(vec![ValidationIssue::new(
                "NotFound",
                "id",
                "Element not found",
            )]);
        }
        match item.get("custom_fields_values") {
            None | Some(Value::Null | Value::Array(_)) => {}
            Some(_) => {
                return Err(vec![ValidationIssue::invalid_type(
                    "custom_fields_values",
                    "array",
                )]);
            }
        }
        name_of(item, adding).map(|name| (target, name))
    })?;
    let now = state.now();
    let mut out = Vec::new();
    for (i, (item, (target, name))) in items.iter().zip(plans).enumerate() {
        let id = match target {
            Some(id) if !adding => id,
            _ => state.sales.next_id(),
        };
        let fields = item.get("custom_fields_values").cloned();
        let e = state
            .sales
            .elements
            .entry(id)
            .or_insert_with(|| ElementRecord {
                id,
                catalog_id: catalog,
                name: String::new(),
                custom_fields_values: Value::Null,
                created_by,
                created_at: now,
                updated_at: now,
            });
        if let Some(name) = name {
            e.name = name;
        }
        if let Some(fields) = fields {
            e.custom_fields_values = fields;
        }
        e.updated_at = now;
        out.push(written(id, item, i, now));
    }
    Ok(out)
}

/// `DELETE /api/v4/catalogs/{id}/elements` with `[{"id": …}]`: the elements go, and so do
/// their links to leads.
pub(super) async fn elements_delete(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let catalog = catalog_of(&state, &id)?;
    let ids = check_all(&items, |_, item| {
        item.get("id")
            .and_then(Value::as_u64)
            .filter(|e| {
                state
                    .sales
                    .elements
                    .get(e)
                    .is_some_and(|e| e.catalog_id == catalog)
            })
            .ok_or_else(|| vec![ValidationIssue::new("NotFound", "id", "Element not found")])
    })?;
    for id in &ids {
        state.sales.elements.remove(id);
    }
    state
        .sales
        .element_links
        .retain(|l| !ids.contains(&l.element));
    Ok(no_content())
}

pub(super) async fn customers_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let items = state
        .sales
        .customers
        .values()
        .map(|c| customer_json(&ctx, c, &state))
        .collect();
    Ok(render::page(
        &ctx,
        "/api/v4/customers",
        &query,
        items,
        "customers",
    ))
}

pub(super) async fn customer_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.sales.customers.get(&id)) {
        Some(c) => Ok(hal(customer_json(&app.ctx(), c, &state))),
        None => {
            drop(state);
            missing(&app, "Customer")
        }
    }
}

pub(super) async fn customers_write(State(app): App, adding: bool, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let out = write_customers(&mut state, adding, &items, app.config.api_user)?;
    Ok(hal(written_json(&app.ctx(), "customers", &out, true)))
}

/// `PATCH /api/v4/customers/{id}`: answers the id and the new `updated_at`.
pub(super) async fn customer_update_one(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut item = object_body(&body)?;
    let mut state = app.lock();
    let id = customer_of(&state, &id)?;
    item.insert("id".into(), json!(id));
    let out = write_customers(&mut state, false, &[item], app.config.api_user)?;
    Ok(hal(json!({
        "id": id,
        "updated_at": out[0].updated_at,
        "request_id": out[0].request_id,
        "_links": app.ctx().self_link(&format!("/api/v4/customers/{id}")),
    })))
}

fn write_customers(
    state: &mut Store,
    adding: bool,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<Vec<Written>, ApiError> {
    let plans = check_all(items, |_, item| {
        let target = item.get("id").and_then(Value::as_u64);
        if !adding && target.is_none_or(|t| !state.sales.customers.contains_key(&t)) {
            return Err(vec![ValidationIssue::new(
                "NotFound",
                "id",
                "Customer not found",
            )]);
        }
        name_of(item, adding).map(|name| (target, name))
    })?;
    let now = state.now();
    let mut out = Vec::new();
    for (i, (item, (target, name))) in items.iter().zip(plans).enumerate() {
        let id = match target {
            Some(id) if !adding => id,
            _ => state.sales.next_id(),
        };
        let c = state
            .sales
            .customers
            .entry(id)
            .or_insert_with(|| CustomerRecord {
                id,
                name: String::new(),
                next_price: None,
                next_date: None,
                responsible_user_id: actor,
                created_by: actor,
                created_at: now,
                updated_at: now,
                bonus_points: 0,
            });
        if let Some(name) = name {
            c.name = name;
        }
        c.next_price = item
            .get("next_price")
            .and_then(Value::as_f64)
            .or(c.next_price);
        c.next_date = item
            .get("next_date")
            .and_then(Value::as_i64)
            .or(c.next_date);
        if let Some(user) = item.get("responsible_user_id").and_then(Value::as_u64) {
            c.responsible_user_id = UserId(user);
        }
        c.updated_at = now;
        let name = c.name.clone();
        if adding {
            event_log::customer_event(
                state,
                "customer_added",
                id,
                actor,
                json!({"name_field_value": {"name": name}}),
            );
        }
        out.push(written(id, item, i, now));
    }
    Ok(out)
}

fn customer_of(state: &Store, id: &str) -> Result<u64, ApiError> {
    path_id(id)
        .filter(|id| state.sales.customers.contains_key(id))
        .ok_or_else(|| ApiError::not_found(format!("Customer {id} not found")))
}

pub(super) async fn transactions_list(
    State(app): App,
    customer: Option<Path<String>>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let only = match &customer {
        Some(Path(id)) => Some(customer_of(&state, id)?),
        None => None,
    };
    let items = state
        .sales
        .transactions
        .values()
        .filter(|t| only.is_none_or(|c| t.customer_id == c))
        .map(|t| transaction_json(&ctx, t))
        .collect();
    Ok(render::page(
        &ctx,
        "/api/v4/customers/transactions",
        &query,
        items,
        "transactions",
    ))
}

pub(super) async fn transactions_add(
    State(app): App,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> ApiResult {
    let accrue = Query::parse(q.as_deref()).get("accrue_bonus") == Some("true");
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let customer = customer_of(&state, &id)?;
    let prices = check_all(&items, |_, item| {
        item.get("price")
            .and_then(Value::as_f64)
            .filter(|p| *p >= 0.0)
            .ok_or_else(|| vec![ValidationIssue::blank("price")])
    })?;
    let now = state.now();
    let mut out = Vec::new();
    for (i, (item, price)) in items.iter().zip(prices).enumerate() {
        let id = state.sales.next_id();
        let comment = item
            .get("comment")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let completed_at = item
            .get("completed_at")
            .and_then(Value::as_i64)
            .unwrap_or(now);
        let created_by = app.config.api_user;
        state.sales.transactions.insert(
            id,
            TransactionRecord {
                id,
                customer_id: customer,
                price,
                comment,
                completed_at,
                created_by,
                created_at: now,
            },
        );
        let after = json!({"transaction": {"id": id, "price": price}});
        event_log::customer_event(&mut state, "transaction_added", customer, created_by, after);
        if accrue {
            // The fake's choice: one bonus point per whole unit of the price.
            let c = state
                .sales
                .customers
                .get_mut(&customer)
                .expect("checked above");
            c.bonus_points += price.floor() as i64;
        }
        out.push(written(id, item, i, now));
    }
    Ok(hal(written_json(&app.ctx(), "transactions", &out, false)))
}

pub(super) async fn transaction_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.sales.transactions.get(&id)) {
        Some(t) => Ok(hal(transaction_json(&app.ctx(), t))),
        None => {
            drop(state);
            missing(&app, "Transaction")
        }
    }
}

pub(super) async fn transaction_delete(State(app): App, Path(id): Path<String>) -> ApiResult {
    let mut state = app.lock();
    path_id(&id)
        .and_then(|id| state.sales.transactions.remove(&id))
        .map(|_| no_content())
        .ok_or_else(|| ApiError::not_found(format!("Transaction {id} not found")))
}

/// `GET /api/v4/catalogs/products/settings`.
pub(super) async fn products_settings(State(app): App) -> ApiResult {
    let enabled = app.lock().sales.products_enabled;
    Ok(hal(json!({ "is_enabled": enabled })))
}

/// `PATCH /api/v4/catalogs/products/settings` with `{"is_enabled": bool}`.
pub(super) async fn products_settings_update(State(app): App, body: Bytes) -> ApiResult {
    let item = object_body(&body)?;
    let enabled = item
        .get("is_enabled")
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            ApiError::invalid(vec![ValidationIssue::invalid_type("is_enabled", "bool")])
        })?;
    app.lock().sales.products_enabled = enabled;
    Ok(hal(json!({ "is_enabled": enabled })))
}

pub(super) async fn bonus_points(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let item = object_body(&body)?;
    let mut state = app.lock();
    let customer = customer_of(&state, &id)?;
    let amount = |key: &str| item.get(key).and_then(Value::as_i64).filter(|v| *v > 0);
    let c = state
        .sales
        .customers
        .get_mut(&customer)
        .expect("checked above");
    match (amount("earn"), amount("redeem")) {
        (Some(n), None) => c.bonus_points += n,
        (None, Some(n)) if n <= c.bonus_points => c.bonus_points -= n,
        (None, Some(_)) => return Err(ApiError::bad_request("Not enough bonus points")),
        _ => return Err(ApiError::invalid(vec![ValidationIssue::blank("earn")])),
    }
    Ok(hal(json!({ "bonus_points": c.bonus_points })))
}
