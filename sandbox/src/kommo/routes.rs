//! The Kommo API routes (`/api/v4/...`) and the token endpoint.
//!
//! Handlers parse, lock the store once, apply, queue the webhooks the change causes, and
//! answer. The gate in front of them (`gate.rs`) has already checked the block, the token,
//! the rate limit and the faults.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kommo_client::common::EntityType;
use kommo_client::ids::{PipelineId, StatusId, UserId};
use kommo_client::webhooks_api::WebhookSetting;
use serde_json::{Value, json};

use super::activity::{self, note_json, task_json};
use super::model::{FieldValues, Note, Task, ValidationIssue};
use super::render::{self, Ctx};
use super::request::{
    ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, json_body, no_content, object_body,
    path_id,
};
use super::writes::{self, Written};
use super::{Inner, oauth};

type App = State<Arc<Inner>>;

const ENTITIES: [EntityType; 3] = [
    EntityType::Leads,
    EntityType::Contacts,
    EntityType::Companies,
];

/// The API router; the gate is layered on top by the caller.
pub(crate) fn api_router(inner: Arc<Inner>) -> Router {
    let mut router = Router::new()
        .route(super::gate::TOKEN_PATH, post(oauth::access_token))
        .route("/api/v4/account", get(account))
        .route("/api/v4/users", get(users_list))
        .route("/api/v4/users/{id}", get(user_get))
        .route(
            "/api/v4/leads",
            get(leads_list).post(leads_add).patch(leads_update),
        )
        .route("/api/v4/leads/complex", post(leads_complex))
        .route("/api/v4/leads/pipelines", get(pipelines_list))
        .route("/api/v4/leads/pipelines/{id}", get(pipeline_get))
        .route("/api/v4/leads/pipelines/{id}/statuses", get(statuses_list))
        .route(
            "/api/v4/leads/pipelines/{id}/statuses/{status}",
            get(status_get),
        )
        .route("/api/v4/leads/{id}", get(lead_get).patch(lead_update_one))
        .route(
            "/api/v4/contacts",
            get(contacts_list).post(contacts_add).patch(contacts_update),
        )
        .route(
            "/api/v4/contacts/{id}",
            get(contact_get).patch(contact_update_one),
        )
        .route(
            "/api/v4/companies",
            get(companies_list)
                .post(companies_add)
                .patch(companies_update),
        )
        .route(
            "/api/v4/companies/{id}",
            get(company_get).patch(company_update_one),
        )
        .route(
            "/api/v4/tasks",
            get(tasks_list).post(tasks_add).patch(tasks_update),
        )
        .route("/api/v4/tasks/{id}", get(task_get).patch(task_update_one))
        .route(
            "/api/v4/webhooks",
            get(webhooks_list)
                .post(webhooks_subscribe)
                .delete(webhooks_unsubscribe),
        );
    for entity in ENTITIES {
        let name = entity.as_str();
        router = router
            .route(
                &format!("/api/v4/{name}/custom_fields"),
                get(move |app: App, q: RawQuery| fields_list(app, entity, q)),
            )
            .route(
                &format!("/api/v4/{name}/custom_fields/{{id}}"),
                get(move |app: App, id: Path<String>| field_get(app, entity, id)),
            )
            .route(
                &format!("/api/v4/{name}/notes"),
                get(move |app: App, q: RawQuery| notes_list(app, entity, None, q))
                    .post(move |app: App, body: Bytes| notes_add(app, entity, None, body)),
            )
            .route(
                &format!("/api/v4/{name}/notes/{{id}}"),
                get(move |app: App, id: Path<String>| note_get(app, entity, id)),
            )
            .route(
                &format!("/api/v4/{name}/{{id}}/notes"),
                get(move |app: App, id: Path<String>, q: RawQuery| async move {
                    match entity_of_path(&app, entity, &id) {
                        Ok(id) => notes_list(app, entity, Some(id), q).await,
                        Err(e) => e.into_response(),
                    }
                })
                .post(move |app: App, id: Path<String>, body: Bytes| async move {
                    match entity_of_path(&app, entity, &id) {
                        Ok(id) => notes_add(app, entity, Some(id), body).await,
                        Err(e) => e.into_response(),
                    }
                }),
            )
            .route(
                &format!("/api/v4/{name}/tags"),
                get(move |app: App, q: RawQuery| tags_list(app, entity, q))
                    .post(move |app: App, body: Bytes| tags_add(app, entity, body)),
            )
            .route(
                &format!("/api/v4/{name}/{{id}}/link"),
                post(move |app: App, id: Path<String>, body: Bytes| {
                    link(app, entity, id, body, false)
                }),
            )
            .route(
                &format!("/api/v4/{name}/{{id}}/unlink"),
                post(move |app: App, id: Path<String>, body: Bytes| {
                    link(app, entity, id, body, true)
                }),
            )
            .route(
                &format!("/api/v4/{name}/{{id}}/links"),
                get(move |app: App, id: Path<String>| links_list(app, entity, id)),
            );
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
        .with_state(inner)
}

async fn not_found(State(app): App, method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("Cannot {method} {}{}", app.base, uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed for {}", uri.path()),
    )
}

/// A path id that names an existing entity, else 404.
fn entity_of_path(app: &Inner, entity: EntityType, id: &str) -> Result<u64, ApiError> {
    path_id(id)
        .filter(|id| app.lock().exists(entity, *id))
        .ok_or_else(|| ApiError::not_found(format!("{} {id} not found", entity.as_str())))
}

/// The answer to `GET` of a missing id: 204 (Kommo's documented answer) or 404.
fn missing(app: &Inner, what: &str) -> ApiResult {
    if app.config.missing_entity_status == 404 {
        Err(ApiError::not_found(format!("{what} not found")))
    } else {
        Ok(no_content())
    }
}

/// Only admins may list users and manage webhooks.
fn require_admin(app: &Inner) -> Result<(), ApiError> {
    let admin = app
        .lock()
        .user(app.config.api_user)
        .is_some_and(|u| u.is_admin);
    if admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Access denied: only account administrators may use this method",
        ))
    }
}

/// `{"_links": ..., "_embedded": {key: [{id, request_id, updated_at, _links}]}}`.
fn written_json(ctx: &Ctx, key: &str, written: &[Written], with_updated_at: bool) -> Value {
    let items: Vec<Value> = written
        .iter()
        .map(|w| {
            let mut item = json!({
                "id": w.id,
                "request_id": w.request_id,
                "_links": ctx.self_link(&format!("/api/v4/{key}/{}", w.id)),
            });
            if with_updated_at {
                item["updated_at"] = json!(w.updated_at);
            }
            item
        })
        .collect();
    json!({
        "_links": ctx.self_link(&format!("/api/v4/{key}")),
        "_embedded": { key: items },
    })
}

// ---- account and users ---------------------------------------------------------------------

async fn account(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    hal(render::account(&app.ctx(), &app.config, &state, &query))
}

async fn users_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
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

async fn user_get(State(app): App, Path(id): Path<String>) -> ApiResult {
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

// ---- pipelines and custom fields -------------------------------------------------------------

async fn pipelines_list(State(app): App) -> Response {
    let ctx = app.ctx();
    let state = app.lock();
    let items = state
        .pipelines
        .iter()
        .map(|p| render::pipeline(&ctx, p))
        .collect();
    render::collection(&ctx, "/api/v4/leads/pipelines", items, "pipelines")
}

async fn pipeline_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.pipeline(PipelineId(id))) {
        Some(p) => Ok(hal(render::pipeline(&app.ctx(), p))),
        None => {
            drop(state);
            missing(&app, "Pipeline")
        }
    }
}

async fn statuses_list(State(app): App, Path(id): Path<String>) -> ApiResult {
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

async fn status_get(State(app): App, Path((id, status)): Path<(String, String)>) -> ApiResult {
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

async fn fields_list(State(app): App, entity: EntityType, RawQuery(q): RawQuery) -> Response {
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

async fn field_get(State(app): App, entity: EntityType, Path(id): Path<String>) -> ApiResult {
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

// ---- search and filters ----------------------------------------------------------------------

/// Kommo's `query=`: a case-insensitive substring of a name or any custom field value (so an
/// email finds the contact holding it among several); a phone-like query also matches
/// ignoring formatting.
fn search_matches(query: &str, names: &[&str], fields: &[FieldValues]) -> bool {
    let needle = query.trim().to_lowercase();
    if needle.is_empty() {
        return true;
    }
    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 5
        && needle
            .chars()
            .all(|c| c.is_ascii_digit() || "+-() .".contains(c));
    let texts = names.iter().map(|n| n.to_string()).chain(
        fields
            .iter()
            .flat_map(|f| f.values.iter().map(super::model::FieldValue::text)),
    );
    texts.into_iter().any(|text| {
        let text = text.to_lowercase();
        text.contains(&needle)
            || (phone_like
                && text
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .contains(&digits))
    })
}

/// The filters every entity list shares.
struct CommonFilter {
    ids: Option<Vec<u64>>,
    responsible: Option<Vec<u64>>,
    created_by: Option<Vec<u64>>,
    updated_by: Option<Vec<u64>>,
    created: (Option<i64>, Option<i64>),
    updated: (Option<i64>, Option<i64>),
    name: Option<String>,
    search: Option<String>,
}

impl CommonFilter {
    fn new(query: &Query) -> Self {
        CommonFilter {
            ids: query.filter_ids("id"),
            responsible: query.filter_ids("responsible_user_id"),
            created_by: query.filter_ids("created_by"),
            updated_by: query.filter_ids("updated_by"),
            created: query.filter_range("created_at"),
            updated: query.filter_range("updated_at"),
            name: query.filter("name").map(str::to_owned),
            search: query.get("query").map(str::to_owned),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn matches(
        &self,
        id: u64,
        name: &str,
        other_names: &[&str],
        responsible: UserId,
        created_by: UserId,
        updated_by: UserId,
        created_at: i64,
        updated_at: i64,
        fields: &[FieldValues],
    ) -> bool {
        let within = |(from, to): (Option<i64>, Option<i64>), t: i64| {
            from.is_none_or(|f| t >= f) && to.is_none_or(|to| t <= to)
        };
        let listed = |list: &Option<Vec<u64>>, v: u64| list.as_ref().is_none_or(|l| l.contains(&v));
        let mut names = vec![name];
        names.extend_from_slice(other_names);
        listed(&self.ids, id)
            && listed(&self.responsible, responsible.0)
            && listed(&self.created_by, created_by.0)
            && listed(&self.updated_by, updated_by.0)
            && within(self.created, created_at)
            && within(self.updated, updated_at)
            && self
                .name
                .as_deref()
                .is_none_or(|n| name.eq_ignore_ascii_case(n.trim()))
            && self
                .search
                .as_deref()
                .is_none_or(|q| search_matches(q, &names, fields))
    }
}

/// `order[id|created_at|updated_at]=asc|desc` (id ascending by default).
fn order_by<T>(items: &mut [&T], query: &Query, key: impl Fn(&T, &str) -> i64) {
    let (field, asc) = query
        .order()
        .filter(|(f, _)| {
            matches!(
                f.as_str(),
                "id" | "created_at" | "updated_at" | "complete_till"
            )
        })
        .unwrap_or_else(|| ("id".to_owned(), true));
    items.sort_by(|a, b| {
        let ordering = key(a, &field)
            .cmp(&key(b, &field))
            .then_with(|| key(a, "id").cmp(&key(b, "id")));
        if asc { ordering } else { ordering.reverse() }
    });
}

// ---- leads ---------------------------------------------------------------------------------------

async fn leads_list(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let common = CommonFilter::new(&query);
    let statuses = query.filter_statuses();
    let pipelines = query.filter_ids("pipeline_id");
    let closed = query.filter_range("closed_at");
    let mut leads: Vec<_> = state
        .leads
        .values()
        .filter(|l| {
            common.matches(
                l.id.0,
                &l.name,
                &[],
                l.responsible_user_id,
                l.created_by,
                l.updated_by,
                l.created_at,
                l.updated_at,
                &l.custom_fields,
            ) && (statuses.is_empty()
                || statuses.iter().any(|(p, s)| {
                    p.is_none_or(|p| p == l.pipeline_id.0) && s.is_none_or(|s| s == l.status_id.0)
                }))
                && pipelines
                    .as_ref()
                    .is_none_or(|p| p.contains(&l.pipeline_id.0))
                && (closed == (None, None)
                    || l.closed_at.is_some_and(|t| {
                        closed.0.is_none_or(|f| t >= f) && closed.1.is_none_or(|to| t <= to)
                    }))
        })
        .collect();
    order_by(&mut leads, &query, |l, field| match field {
        "created_at" => l.created_at,
        "updated_at" => l.updated_at,
        _ => l.id.0 as i64,
    });
    let items = leads
        .iter()
        .map(|l| render::lead(&ctx, &state, l, &query))
        .collect();
    render::page(&ctx, "/api/v4/leads", &query, items, "leads")
}

async fn lead_get(State(app): App, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    match path_id(&id).and_then(|id| state.leads.get(&id)) {
        Some(lead) => Ok(hal(render::lead(&app.ctx(), &state, lead, &query))),
        None => {
            drop(state);
            missing(&app, "Lead")
        }
    }
}

async fn leads_add(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = writes::add_leads(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "leads", &written, false)))
}

async fn leads_update(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = writes::update_leads(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "leads", &written, true)))
}

async fn lead_update_one(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let item = object_body(&body)?;
    let mut state = app.lock();
    let lead = path_id(&id)
        .and_then(|id| state.leads.get(&id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Lead {id} not found")))?;
    let plan =
        writes::plan_lead(&state, &item, 0, Some(&lead), false).map_err(ApiError::invalid)?;
    let (written, change) = writes::update_lead(&mut state, &plan, app.config.api_user);
    app.commit(&mut state, &change.into_iter().collect::<Vec<_>>());
    Ok(hal(json!({
        "id": written.id,
        "updated_at": written.updated_at,
        "request_id": written.request_id,
        "_links": app.ctx().self_link(&format!("/api/v4/leads/{}", written.id)),
    })))
}

async fn leads_complex(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, writes::COMPLEX_MAX)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = writes::add_complex(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    let results: Vec<Value> = written
        .iter()
        .map(|w| {
            json!({
                "id": w.id,
                "contact_id": w.contact_id,
                "company_id": w.company_id,
                "request_id": [w.request_id],
                "merged": false,
            })
        })
        .collect();
    Ok(hal(Value::Array(results)))
}

// ---- contacts and companies ------------------------------------------------------------------

async fn contacts_list(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let common = CommonFilter::new(&query);
    let mut contacts: Vec<_> = state
        .contacts
        .values()
        .filter(|c| {
            let first = c.first_name.as_deref().unwrap_or_default();
            let last = c.last_name.as_deref().unwrap_or_default();
            common.matches(
                c.id.0,
                &c.name,
                &[first, last],
                c.responsible_user_id,
                c.created_by,
                c.updated_by,
                c.created_at,
                c.updated_at,
                &c.custom_fields,
            )
        })
        .collect();
    order_by(&mut contacts, &query, |c, field| match field {
        "created_at" => c.created_at,
        "updated_at" => c.updated_at,
        _ => c.id.0 as i64,
    });
    let items = contacts
        .iter()
        .map(|c| render::contact(&ctx, &state, c, &query))
        .collect();
    render::page(&ctx, "/api/v4/contacts", &query, items, "contacts")
}

async fn contact_get(State(app): App, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    match path_id(&id).and_then(|id| state.contacts.get(&id)) {
        Some(contact) => Ok(hal(render::contact(&app.ctx(), &state, contact, &query))),
        None => {
            drop(state);
            missing(&app, "Contact")
        }
    }
}

async fn contacts_add(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = writes::add_contacts(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "contacts", &written, false)))
}

async fn contacts_update(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = writes::update_contacts(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "contacts", &written, true)))
}

async fn contact_update_one(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let item = object_body(&body)?;
    let mut state = app.lock();
    let contact = path_id(&id)
        .and_then(|id| state.contacts.get(&id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Contact {id} not found")))?;
    let plan = writes::plan_contact(&state, &item, 0, Some(&contact)).map_err(ApiError::invalid)?;
    let (written, change) = writes::update_contact(&mut state, &plan, app.config.api_user);
    app.commit(&mut state, &change.into_iter().collect::<Vec<_>>());
    Ok(hal(json!({
        "id": written.id,
        "name": state.contacts.get(&written.id).map(|c| c.name.clone()),
        "updated_at": written.updated_at,
        "request_id": written.request_id,
        "_links": app.ctx().self_link(&format!("/api/v4/contacts/{}", written.id)),
    })))
}

async fn companies_list(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let ctx = app.ctx();
    let state = app.lock();
    let common = CommonFilter::new(&query);
    let mut companies: Vec<_> = state
        .companies
        .values()
        .filter(|c| {
            common.matches(
                c.id.0,
                &c.name,
                &[],
                c.responsible_user_id,
                c.created_by,
                c.updated_by,
                c.created_at,
                c.updated_at,
                &c.custom_fields,
            )
        })
        .collect();
    order_by(&mut companies, &query, |c, field| match field {
        "created_at" => c.created_at,
        "updated_at" => c.updated_at,
        _ => c.id.0 as i64,
    });
    let items = companies
        .iter()
        .map(|c| render::company(&ctx, &state, c, &query))
        .collect();
    render::page(&ctx, "/api/v4/companies", &query, items, "companies")
}

async fn company_get(State(app): App, Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    match path_id(&id).and_then(|id| state.companies.get(&id)) {
        Some(company) => Ok(hal(render::company(&app.ctx(), &state, company, &query))),
        None => {
            drop(state);
            missing(&app, "Company")
        }
    }
}

async fn companies_add(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = writes::add_companies(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "companies", &written, false)))
}

async fn companies_update(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = writes::update_companies(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "companies", &written, true)))
}

async fn company_update_one(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let item = object_body(&body)?;
    let mut state = app.lock();
    let company = path_id(&id)
        .and_then(|id| state.companies.get(&id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Company {id} not found")))?;
    let plan = writes::plan_company(&state, &item, 0, Some(&company)).map_err(ApiError::invalid)?;
    let (written, change) = writes::update_company(&mut state, &plan, app.config.api_user);
    app.commit(&mut state, &change.into_iter().collect::<Vec<_>>());
    Ok(hal(json!({
        "id": written.id,
        "updated_at": written.updated_at,
        "request_id": written.request_id,
        "_links": app.ctx().self_link(&format!("/api/v4/companies/{}", written.id)),
    })))
}

// ---- links -----------------------------------------------------------------------------------------

async fn link(
    State(app): App,
    entity: EntityType,
    Path(id): Path<String>,
    body: Bytes,
    unlink: bool,
) -> ApiResult {
    let id = entity_of_path(&app, entity, &id)?;
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let (links, changes) =
        writes::link(&mut state, entity, id, &items, app.config.api_user, unlink)?;
    app.commit(&mut state, &changes);
    if unlink {
        return Ok(no_content());
    }
    let items: Vec<Value> = links.iter().map(render::link).collect();
    Ok(hal(json!({
        "_links": app.ctx().self_link(&format!("/api/v4/{}/{id}/link", entity.as_str())),
        "_embedded": { "links": items },
    })))
}

async fn links_list(State(app): App, entity: EntityType, Path(id): Path<String>) -> ApiResult {
    let id = entity_of_path(&app, entity, &id)?;
    let state = app.lock();
    let items: Vec<Value> = state
        .links_of(entity, id)
        .iter()
        .map(render::link)
        .collect();
    if items.is_empty() {
        return Ok(no_content());
    }
    Ok(hal(json!({
        "_total_items": items.len(),
        "_links": app.ctx().self_link(&format!("/api/v4/{}/{id}/links", entity.as_str())),
        "_embedded": { "links": items },
    })))
}

// ---- notes and tags ------------------------------------------------------------------------------

async fn notes_list(
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
    let notes: Vec<&Note> = state
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
    let items = notes.iter().map(|n| note_json(&ctx, n)).collect();
    let path = match of {
        Some(id) => format!("/api/v4/{}/{id}/notes", entity.as_str()),
        None => format!("/api/v4/{}/notes", entity.as_str()),
    };
    render::page(&ctx, &path, &query, items, "notes")
}

async fn note_get(State(app): App, entity: EntityType, Path(id): Path<String>) -> ApiResult {
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

async fn notes_add(State(app): App, entity: EntityType, of: Option<u64>, body: Bytes) -> Response {
    let result = (|| {
        let items = batch_body(&body, MAX_BATCH)?;
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

async fn tags_list(State(app): App, entity: EntityType, RawQuery(q): RawQuery) -> Response {
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

async fn tags_add(State(app): App, entity: EntityType, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut groups = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if item
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            groups.push((
                super::request::request_id(item, i),
                vec![ValidationIssue::blank("name")],
            ));
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
                "request_id": super::request::request_id(item, i),
            })
        })
        .collect();
    Ok(hal(json!({
        "_links": app.ctx().self_link(&format!("/api/v4/{}/tags", entity.as_str())),
        "_embedded": { "tags": tags },
    })))
}

// ---- tasks ------------------------------------------------------------------------------------------

async fn tasks_list(State(app): App, RawQuery(q): RawQuery) -> Response {
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

async fn task_get(State(app): App, Path(id): Path<String>) -> ApiResult {
    let state = app.lock();
    match path_id(&id).and_then(|id| state.tasks.get(&id)) {
        Some(task) => Ok(hal(task_json(&app.ctx(), task))),
        None => {
            drop(state);
            missing(&app, "Task")
        }
    }
}

async fn tasks_add(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = activity::add_tasks(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "tasks", &written, false)))
}

async fn tasks_update(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = activity::update_tasks(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(&app.ctx(), "tasks", &written, true)))
}

async fn task_update_one(State(app): App, Path(id): Path<String>, body: Bytes) -> ApiResult {
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

// ---- webhook subscriptions ------------------------------------------------------------------------

async fn webhooks_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    require_admin(&app)?;
    let query = Query::parse(q.as_deref());
    let destination = query.filter("destination").map(str::to_owned);
    let ctx = app.ctx();
    let state = app.lock();
    let mut subs: Vec<_> = state
        .subscriptions
        .iter()
        .filter(|s| destination.as_deref().is_none_or(|d| s.destination == d))
        .collect();
    subs.sort_by(|a, b| match a.sort.cmp(&b.sort) {
        Ordering::Equal => a.id.cmp(&b.id),
        other => other,
    });
    let items = subs.iter().map(|s| render::subscription(&ctx, s)).collect();
    Ok(render::collection(
        &ctx,
        "/api/v4/webhooks",
        items,
        "webhooks",
    ))
}

async fn webhooks_subscribe(State(app): App, body: Bytes) -> ApiResult {
    require_admin(&app)?;
    let Value::Object(item) = json_body(&body)? else {
        return Err(ApiError::bad_request("Request data must be an object"));
    };
    let mut issues = Vec::new();
    let destination = item
        .get("destination")
        .and_then(Value::as_str)
        .unwrap_or("");
    if destination.trim().is_empty() {
        issues.push(ValidationIssue::blank("destination"));
    } else if !(destination.starts_with("http://") || destination.starts_with("https://")) {
        issues.push(ValidationIssue::new(
            "InvalidUrl",
            "destination",
            "This value is not a valid URL.",
        ));
    }
    let settings: Vec<WebhookSetting> = match item.get("settings") {
        Some(Value::Array(list)) if !list.is_empty() => {
            let parsed: Option<Vec<WebhookSetting>> = list
                .iter()
                .map(|v| {
                    v.as_str().map(|s| {
                        s.parse()
                            .unwrap_or_else(|never: std::convert::Infallible| match never {})
                    })
                })
                .collect();
            parsed.unwrap_or_else(|| {
                issues.push(ValidationIssue::invalid_type(
                    "settings",
                    "array of strings",
                ));
                Vec::new()
            })
        }
        _ => {
            issues.push(ValidationIssue::blank("settings"));
            Vec::new()
        }
    };
    let sort = item.get("sort").and_then(Value::as_i64);
    let mut state = app.lock();
    if !state
        .subscriptions
        .iter()
        .any(|s| s.destination == destination)
        && state.subscriptions.len() >= 100
    {
        issues.push(ValidationIssue::new(
            "Count",
            "destination",
            "An account can have at most 100 webhooks.",
        ));
    }
    if !issues.is_empty() {
        return Err(ApiError::invalid(issues));
    }
    let sub = state.subscribe(destination, settings, sort, app.config.api_user);
    Ok(hal(render::subscription(&app.ctx(), &sub)))
}

async fn webhooks_unsubscribe(State(app): App, body: Bytes) -> ApiResult {
    require_admin(&app)?;
    let destination = match json_body(&body)? {
        Value::Object(o) => o
            .get("destination")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    let Some(destination) = destination.filter(|d| !d.trim().is_empty()) else {
        return Err(ApiError::invalid(vec![ValidationIssue::blank(
            "destination",
        )]));
    };
    app.lock().unsubscribe(&destination);
    Ok(no_content())
}

#[cfg(test)]
mod tests {
    use super::super::model::FieldValue;
    use super::*;

    #[test]
    fn search_finds_any_value_and_phones_by_digits() {
        let fields = vec![FieldValues {
            field_id: kommo_client::ids::CustomFieldId(1),
            field_name: "Email".into(),
            field_code: Some("EMAIL".into()),
            field_type: "multitext".into(),
            values: vec![
                FieldValue {
                    value: json!("work@example.com"),
                    enum_id: None,
                    enum_code: None,
                },
                FieldValue {
                    value: json!("+1 (555) 010-9999"),
                    enum_id: None,
                    enum_code: None,
                },
            ],
        }];
        assert!(search_matches("WORK@example.com", &["Ada"], &fields));
        assert!(search_matches("ada", &["Ada"], &fields));
        assert!(search_matches("15550109999", &["Ada"], &fields));
        assert!(search_matches("555-010", &["Ada"], &fields));
        assert!(!search_matches("other@example.com", &["Ada"], &fields));
        assert!(search_matches("  ", &["Ada"], &fields));
    }
}
