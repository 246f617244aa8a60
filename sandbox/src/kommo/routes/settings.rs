//! The account's settings: the account itself, users, pipelines and statuses, custom field
//! definitions.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kommo_client::common::EntityType;
use kommo_client::ids::{PipelineId, StatusId, UserId};
use serde_json::{Value, json};

use super::super::render;
use super::super::request::{ApiResult, Query, hal, no_content, path_id};
use super::{App, missing, require_admin};

pub(super) async fn account(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    hal(render::account(&app.ctx(), &app.config, &state, &query))
}

pub(super) async fn users_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    require_admin(&app)?;
    let query = Query::parse(q.as_deref());
    let (page, limit) = query.page_limit();
    let ctx = app.ctx();
    let state = app.lock();
    let total = state.users.len();
    let start = (page - 1).saturating_mul(limit);
    if start >= total {
        return Ok(no_content());
    }
    let users: Vec<Value> = state
        .users
        .iter()
        .skip(start)
        .take(limit)
        .map(|u| render::user(&ctx, u))
        .collect();
    let mut links =
        json!({ "self": { "href": ctx.url(&format!("/api/v4/users?page={page}&limit={limit}")) } });
    if start + limit < total {
        links["next"] =
            json!({ "href": ctx.url(&format!("/api/v4/users?page={}&limit={limit}", page + 1)) });
    }
    Ok(hal(json!({
        "_total_items": total,
        "_page": page,
        "_page_count": total.div_ceil(limit),
        "_links": links,
        "_embedded": { "users": users },
    })))
}

pub(super) async fn user_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    require_admin(&app)?;
    let state = app.lock();
    match path_id(&id).and_then(|id| state.user(UserId(id))) {
        Some(user) => Ok(hal(render::user(&app.ctx(), user))),
        None => {
            drop(state);
            missing(&app, "User")
        }
    }
}

pub(super) async fn pipelines_list(State(app): App) -> Response {
    let ctx = app.ctx();
    let state = app.lock();
    let items = state
        .pipelines
        .iter()
        .map(|p| render::pipeline(&ctx, p))
        .collect();
    render::collection(&ctx, "/api/v4/leads/pipelines", items, "pipelines")
}

pub(super) async fn pipeline_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.pipeline(PipelineId(id))) {
        Some(p) => Ok(hal(render::pipeline(&app.ctx(), p))),
        None => {
            drop(state);
            missing(&app, "Pipeline")
        }
    }
}

pub(super) async fn statuses_list(State(app): App, Path(id): Path<String>) -> ApiResult {
    let ctx = app.ctx();
    let state = app.lock();
    match path_id(&id).and_then(|id| state.pipeline(PipelineId(id))) {
        Some(p) => {
            let items = p
                .statuses
                .iter()
                .map(|s| render::status(&ctx, p.id, s))
                .collect();
            Ok(render::collection(
                &ctx,
                &format!("/api/v4/leads/pipelines/{}/statuses", p.id),
                items,
                "statuses",
            ))
        }
        None => {
            drop(state);
            missing(&app, "Pipeline")
        }
    }
}

pub(super) async fn status_get(
    State(app): App,
    Path((id, status)): Path<(String, String)>,
) -> ApiResult {
    let state = app.lock();
    let found = path_id(&id)
        .and_then(|id| state.pipeline(PipelineId(id)))
        .and_then(|p| {
            path_id(&status)
                .and_then(|s| p.find_status(StatusId(s)))
                .map(|s| (p.id, s))
        });
    match found {
        Some((pipeline, s)) => Ok(hal(render::status(&app.ctx(), pipeline, s))),
        None => {
            drop(state);
            missing(&app, "Status")
        }
    }
}

pub(super) async fn fields_list(
    State(app): App,
    entity: EntityType,
    RawQuery(q): RawQuery,
) -> Response {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let types = query.all("filter[type]");
    let mut defs = state.field_defs(entity);
    defs.retain(|d| types.is_empty() || types.contains(&d.field_type.as_str()));
    match query.order() {
        Some((field, asc)) if field == "sort" => {
            defs.sort_by_key(|d| (d.sort, d.id));
            if !asc {
                defs.reverse();
            }
        }
        Some((_, false)) => defs.sort_by_key(|d| std::cmp::Reverse(d.id)),
        _ => defs.sort_by_key(|d| d.id),
    }
    let items = defs
        .iter()
        .map(|d| render::field_definition(&ctx, d))
        .collect();
    render::page(
        &ctx,
        &format!("/api/v4/{}/custom_fields", entity.as_str()),
        &query,
        items,
        "custom_fields",
    )
}

pub(super) async fn field_get(
    State(app): App,
    entity: EntityType,
    Path(id): Path<String>,
) -> ApiResult {
    let state = app.lock();
    let found = path_id(&id).and_then(|id| {
        state
            .field_defs(entity)
            .into_iter()
            .find(|d| d.id.0 == id)
            .cloned()
    });
    drop(state);
    match found {
        Some(def) => Ok(hal(render::field_definition(&app.ctx(), &def))),
        None => missing(&app, "Custom field"),
    }
}
