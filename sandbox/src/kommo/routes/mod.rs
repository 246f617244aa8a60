//! The Kommo API routes (`/api/v4/...`) and the token endpoint.
//!
//! Handlers parse, lock the store once, apply, queue the webhooks the change causes, and
//! answer. The gate in front of them (`gate.rs`) has already checked the block, the token,
//! the rate limit and the faults.

mod activity;
mod chats;
mod customer_settings;
mod definitions;
mod entities;
mod events;
mod sales;
mod settings;
mod subscriptions;
mod unsorted;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::handler::Handler;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post};
use kommo_client::common::EntityType;
use kommo_client::ids::UserId;
use serde_json::{Map, Value, json};

use super::entity::Entity;
use super::model::{Company, Contact, Lead};
use super::render::Ctx;
use super::request::{ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, no_content, path_id};
use super::state::State as Store;
use super::writes::{Change, Written};
use super::{Inner, oauth};
use activity::{
    note_get, notes_add, notes_list, tags_add, tags_list, task_get, task_update_one, tasks_add,
    tasks_list, tasks_update,
};
use entities::{
    add_batch, get_one, leads_complex, leads_list, link, links_list, list, update_batch, update_one,
};
use settings::{
    account, field_get, fields_list, pipeline_get, pipelines_list, status_get, statuses_list,
    user_get, users_list,
};
use subscriptions::{webhooks_list, webhooks_subscribe, webhooks_unsubscribe};

type App = State<Arc<Inner>>;

const ENTITIES: [EntityType; 3] = [
    EntityType::Leads,
    EntityType::Contacts,
    EntityType::Companies,
];

/// The entity types with custom field definitions (customers' fields have no values in the
/// fake, whose customers carry none).
const FIELD_ENTITIES: [EntityType; 4] = [
    EntityType::Leads,
    EntityType::Contacts,
    EntityType::Companies,
    EntityType::Customers,
];

/// The API router; the gate is layered on top by the caller.
pub(crate) fn api_router(inner: Arc<Inner>) -> Router {
    let router = Router::new()
        .route(super::gate::TOKEN_PATH, post(oauth::access_token))
        .route("/api/v4/account", get(account))
        .route("/api/v4/users", get(users_list))
        .route("/api/v4/users/{id}", get(user_get))
        .route("/api/v4/leads/complex", post(leads_complex))
        .route("/api/v4/leads/unsorted", get(unsorted::unsorted_list))
        .route(
            "/api/v4/leads/unsorted/summary",
            get(unsorted::unsorted_summary),
        )
        .route(
            "/api/v4/leads/unsorted/forms",
            post(|app: App, body: Bytes| unsorted::unsorted_add(app, "forms", body)),
        )
        .route(
            "/api/v4/leads/unsorted/sip",
            post(|app: App, body: Bytes| unsorted::unsorted_add(app, "sip", body)),
        )
        .route("/api/v4/leads/unsorted/{uid}", get(unsorted::unsorted_get))
        .route(
            "/api/v4/leads/unsorted/{uid}/accept",
            post(unsorted::unsorted_accept),
        )
        .route(
            "/api/v4/leads/unsorted/{uid}/decline",
            delete(unsorted::unsorted_decline),
        )
        .route(
            "/api/v4/leads/unsorted/{uid}/link",
            post(unsorted::unsorted_link),
        )
        .route(
            "/api/v4/catalogs",
            get(sales::catalogs_list)
                .post(sales::catalogs_add)
                .patch(|app: App, body: Bytes| sales::catalogs_update(app, None, body)),
        )
        .route(
            "/api/v4/catalogs/{id}",
            get(sales::catalog_get).patch(|app: App, id: Path<String>, body: Bytes| {
                sales::catalogs_update(app, Some(id), body)
            }),
        )
        .route(
            "/api/v4/catalogs/{id}/elements",
            get(sales::elements_list)
                .post(|app: App, id: Path<String>, body: Bytes| {
                    sales::elements_write(app, id, true, body)
                })
                .patch(|app: App, id: Path<String>, body: Bytes| {
                    sales::elements_write(app, id, false, body)
                })
                .delete(sales::elements_delete),
        )
        .route(
            "/api/v4/catalogs/{id}/elements/{element}",
            get(sales::element_get).patch(sales::element_update_one),
        )
        .route(
            "/api/v4/catalogs/products/settings",
            get(sales::products_settings).patch(sales::products_settings_update),
        )
        .route(
            "/api/v4/customers/mode",
            patch(customer_settings::mode_update),
        )
        .route(
            "/api/v4/customers",
            get(sales::customers_list)
                .post(|app: App, body: Bytes| sales::customers_write(app, true, body))
                .patch(|app: App, body: Bytes| sales::customers_write(app, false, body)),
        )
        .route(
            "/api/v4/customers/statuses",
            get(customer_settings::statuses_list)
                .post(|app: App, body: Bytes| customer_settings::statuses_write(app, true, body))
                .patch(|app: App, body: Bytes| customer_settings::statuses_write(app, false, body)),
        )
        .route(
            "/api/v4/customers/statuses/{id}",
            get(customer_settings::status_get)
                .patch(customer_settings::status_update_one)
                .delete(customer_settings::status_delete),
        )
        .route(
            "/api/v4/customers/segments",
            get(customer_settings::segments_list).post(customer_settings::segment_add),
        )
        .route(
            "/api/v4/customers/segments/{id}",
            get(customer_settings::segment_get)
                .patch(customer_settings::segment_update)
                .delete(customer_settings::segment_delete),
        )
        .route(
            "/api/v4/contacts/chats",
            get(chats::chats_list).post(chats::chats_link),
        )
        .route(
            "/api/v4/customers/transactions",
            get(|app: App, q: RawQuery| sales::transactions_list(app, None, q)),
        )
        .route(
            "/api/v4/customers/transactions/{id}",
            get(sales::transaction_get).delete(sales::transaction_delete),
        )
        .route(
            "/api/v4/customers/{id}",
            get(sales::customer_get).patch(sales::customer_update_one),
        )
        .route(
            "/api/v4/customers/{id}/transactions",
            get(|app: App, id: Path<String>, q: RawQuery| {
                sales::transactions_list(app, Some(id), q)
            })
            .post(sales::transactions_add),
        )
        .route(
            "/api/v4/customers/{id}/bonus_points",
            post(sales::bonus_points),
        )
        .route("/api/v4/events", get(events::events_list))
        .route("/api/v4/events/types", get(events::event_types))
        .route("/api/v4/events/{id}", get(events::event_get))
        .route(
            "/api/v4/leads/pipelines",
            get(pipelines_list).post(definitions::pipelines_add),
        )
        .route(
            "/api/v4/leads/pipelines/{id}",
            get(pipeline_get)
                .patch(definitions::pipeline_update)
                .delete(definitions::pipeline_delete),
        )
        .route(
            "/api/v4/leads/pipelines/{id}/statuses",
            get(statuses_list).post(definitions::statuses_add),
        )
        .route(
            "/api/v4/leads/pipelines/{id}/statuses/{status}",
            get(status_get)
                .patch(definitions::status_update)
                .delete(definitions::status_delete),
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
    let mut router = entity_routes::<Lead, _, _>(router, leads_list);
    router = entity_routes::<Contact, _, _>(router, list::<Contact>);
    router = entity_routes::<Company, _, _>(router, list::<Company>);
    for entity in FIELD_ENTITIES {
        let name = entity.as_str();
        router = router
            .route(
                &format!("/api/v4/{name}/custom_fields"),
                get(move |app: App, q: RawQuery| fields_list(app, entity, q))
                    .post(move |app: App, body: Bytes| definitions::fields_add(app, entity, body))
                    .patch(move |app: App, body: Bytes| {
                        definitions::fields_update(app, entity, body)
                    }),
            )
            .route(
                &format!("/api/v4/{name}/custom_fields/{{id}}"),
                get(move |app: App, id: Path<String>| field_get(app, entity, id))
                    .patch(move |app: App, Path(id): Path<String>, body: Bytes| {
                        definitions::field_update(app, entity, id, body)
                    })
                    .delete(move |app: App, Path(id): Path<String>| {
                        definitions::field_delete(app, entity, id)
                    }),
            );
    }
    for entity in ENTITIES {
        let name = entity.as_str();
        router = router
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

/// The list, get, batch and single-update routes of leads, contacts or companies.
fn entity_routes<E: Entity, H, T>(router: Router<Arc<Inner>>, list: H) -> Router<Arc<Inner>>
where
    H: Handler<T, Arc<Inner>>,
    T: 'static,
{
    let name = E::TYPE.as_str();
    router
        .route(
            &format!("/api/v4/{name}"),
            get(list).post(add_batch::<E>).patch(update_batch::<E>),
        )
        .route(
            &format!("/api/v4/{name}/{{id}}"),
            get(get_one::<E>).patch(update_one::<E>),
        )
}

/// `{"_links": ..., "_embedded": {key: [{id, request_id, updated_at, _links}]}}` for the
/// collection `/api/v4/{key}`.
fn written_json(ctx: &Ctx, key: &str, written: &[Written], with_updated_at: bool) -> Value {
    written_json_at(
        ctx,
        &format!("/api/v4/{key}"),
        key,
        written,
        with_updated_at,
    )
}

/// [`written_json`] for a collection whose path does not end in its key
/// (`/api/v4/customers/statuses` answers `_embedded.statuses`).
fn written_json_at(
    ctx: &Ctx,
    path: &str,
    key: &str,
    written: &[Written],
    with_updated_at: bool,
) -> Value {
    let items: Vec<Value> = written
        .iter()
        .map(|w| {
            let mut item = json!({
                "id": w.id,
                "request_id": w.request_id,
                "_links": ctx.self_link(&format!("{path}/{}", w.id)),
            });
            if with_updated_at {
                item["updated_at"] = json!(w.updated_at);
            }
            item
        })
        .collect();
    json!({
        "_links": ctx.self_link(path),
        "_embedded": { key: items },
    })
}

/// A batch add or update: the size checks, `write` on the store, the webhooks, the answer.
fn batch(
    app: &Inner,
    body: &[u8],
    key: &str,
    with_updated_at: bool,
    write: impl FnOnce(
        &mut Store,
        &[Map<String, Value>],
        UserId,
    ) -> Result<(Vec<Written>, Vec<Change>), ApiError>,
) -> ApiResult {
    let items = batch_body(body, MAX_BATCH)?;
    app.check_batch_size(items.len())?;
    let mut state = app.lock();
    let (written, changes) = write(&mut state, &items, app.config.api_user)?;
    app.commit(&mut state, &changes);
    Ok(hal(written_json(
        &app.ctx(),
        key,
        &written,
        with_updated_at,
    )))
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
