//! Leads, contacts and companies: one list, get, batch add, batch update and single update
//! for all three, the complex add, and links.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use kommo_client::common::EntityType;
use serde_json::{Value, json};

use super::super::entity::{Entity, Meta};
use super::super::model::{FieldValue, FieldValues, Lead};
use super::super::render;
use super::super::request::{
    ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, no_content, object_body, path_id,
};
use super::super::writes;
use super::{App, batch, entity_of_path, missing, order_by};

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
            .flat_map(|f| f.values.iter().map(FieldValue::text)),
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

    fn matches(&self, meta: &Meta<'_>) -> bool {
        let within = |(from, to): (Option<i64>, Option<i64>), t: i64| {
            from.is_none_or(|f| t >= f) && to.is_none_or(|to| t <= to)
        };
        let listed = |list: &Option<Vec<u64>>, v: u64| list.as_ref().is_none_or(|l| l.contains(&v));
        let names = [meta.name, meta.other_names[0], meta.other_names[1]];
        listed(&self.ids, meta.id)
            && listed(&self.responsible, meta.responsible.0)
            && listed(&self.created_by, meta.created_by.0)
            && listed(&self.updated_by, meta.updated_by.0)
            && within(self.created, meta.created_at)
            && within(self.updated, meta.updated_at)
            && self
                .name
                .as_deref()
                .is_none_or(|n| meta.name.eq_ignore_ascii_case(n.trim()))
            && self
                .search
                .as_deref()
                .is_none_or(|q| search_matches(q, &names, meta.fields))
    }
}

/// A page of entities that pass the shared filters and `keep` (the entity's own filters),
/// ordered as the query asks.
fn list_page<E: Entity>(app: &super::Inner, query: &Query, keep: impl Fn(&E) -> bool) -> Response {
    let ctx = app.ctx();
    let state = app.lock();
    let common = CommonFilter::new(query);
    let mut items: Vec<&E> = E::map(&state)
        .values()
        .filter(|e| common.matches(&e.meta()) && keep(e))
        .collect();
    order_by(&mut items, query, |e, field| {
        let meta = e.meta();
        match field {
            "created_at" => meta.created_at,
            "updated_at" => meta.updated_at,
            _ => meta.id as i64,
        }
    });
    let items = items
        .iter()
        .map(|e| e.render(&ctx, &state, query))
        .collect();
    let key = E::TYPE.as_str();
    render::page(&ctx, &format!("/api/v4/{key}"), query, items, key)
}

/// `GET /api/v4/{contacts,companies}`.
pub(super) async fn list<E: Entity>(State(app): App, RawQuery(q): RawQuery) -> Response {
    list_page::<E>(&app, &Query::parse(q.as_deref()), |_| true)
}

/// `GET /api/v4/leads`: also by status (`filter[statuses]`), pipeline and close time.
pub(super) async fn leads_list(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let statuses = query.filter_statuses();
    let pipelines = query.filter_ids("pipeline_id");
    let closed = query.filter_range("closed_at");
    list_page::<Lead>(&app, &query, |l| {
        (statuses.is_empty()
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
}

/// `GET /api/v4/{entity}/{id}`.
pub(super) async fn get_one<E: Entity>(
    State(app): App,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    match path_id(&id).and_then(|id| E::map(&state).get(&id)) {
        Some(entity) => Ok(hal(entity.render(&app.ctx(), &state, &query))),
        None => {
            drop(state);
            missing(&app, E::NOUN)
        }
    }
}

/// `POST /api/v4/{entity}`.
pub(super) async fn add_batch<E: Entity>(State(app): App, body: Bytes) -> ApiResult {
    batch(&app, &body, E::TYPE.as_str(), false, writes::add::<E>)
}

/// `PATCH /api/v4/{entity}`.
pub(super) async fn update_batch<E: Entity>(State(app): App, body: Bytes) -> ApiResult {
    batch(&app, &body, E::TYPE.as_str(), true, writes::update::<E>)
}

/// `PATCH /api/v4/{entity}/{id}`.
pub(super) async fn update_one<E: Entity>(
    State(app): App,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let item = object_body(&body)?;
    let mut state = app.lock();
    let existing = path_id(&id)
        .and_then(|id| E::map(&state).get(&id))
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("{} {id} not found", E::NOUN)))?;
    let plan = E::plan(&state, &item, 0, Some(&existing)).map_err(ApiError::invalid)?;
    let (written, change) = writes::update_one::<E>(&mut state, &plan, app.config.api_user);
    app.commit(&mut state, &change.into_iter().collect::<Vec<_>>());
    let key = E::TYPE.as_str();
    let mut answer = json!({
        "id": written.id,
        "updated_at": written.updated_at,
        "request_id": written.request_id,
        "_links": app.ctx().self_link(&format!("/api/v4/{key}/{}", written.id)),
    });
    // Kommo echoes a contact's name.
    if E::TYPE == EntityType::Contacts {
        answer["name"] = json!(E::map(&state).get(&written.id).map(|c| c.meta().name));
    }
    Ok(hal(answer))
}

/// `POST /api/v4/leads/complex`.
pub(super) async fn leads_complex(State(app): App, body: Bytes) -> ApiResult {
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

/// `POST /api/v4/{entity}/{id}/link` and `/unlink`.
pub(super) async fn link(
    State(app): App,
    entity: EntityType,
    Path(id): Path<String>,
    body: Bytes,
    unlink: bool,
) -> ApiResult {
    let id = entity_of_path(&app, entity, &id)?;
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let linked = writes::link(&mut state, entity, id, &items, app.config.api_user, unlink)?;
    app.commit(&mut state, &linked.changes);
    if unlink {
        return Ok(no_content());
    }
    let items: Vec<Value> = linked
        .links
        .iter()
        .map(render::link)
        .chain(linked.elements.iter().map(render::element_link))
        .collect();
    Ok(hal(json!({
        "_links": app.ctx().self_link(&format!("/api/v4/{}/{id}/link", entity.as_str())),
        "_embedded": { "links": items },
    })))
}

/// `GET /api/v4/{entity}/{id}/links` (a lead's elements of catalogs included).
pub(super) async fn links_list(
    State(app): App,
    entity: EntityType,
    Path(id): Path<String>,
) -> ApiResult {
    let id = entity_of_path(&app, entity, &id)?;
    let state = app.lock();
    let elements = state
        .sales
        .element_links
        .iter()
        .filter(|l| entity == EntityType::Leads && l.lead == id);
    let items: Vec<Value> = state
        .links_of(entity, id)
        .iter()
        .map(render::link)
        .chain(elements.map(render::element_link))
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

#[cfg(test)]
mod tests {
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
