//! The events log: `GET /api/v4/events` with Kommo's filters (newest first, at most 100 per
//! page), `GET /api/v4/events/{id}` and `GET /api/v4/events/types`.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::super::event_log::LoggedEvent;
use super::super::render::{self, Ctx};
use super::super::request::{ApiError, ApiResult, Query, hal};
use super::super::state::State as Store;
use super::{App, missing};

/// The largest page of the events list.
const MAX_LIMIT: usize = 100;
/// The most ids `filter[entity_id]` and `filter[created_by]` take.
const MAX_FILTER_IDS: usize = 10;

/// The types `GET /api/v4/events/types` lists: those the fake logs, with English names.
const TYPES: &[(&str, &str)] = &[
    ("lead_added", "Lead added"),
    ("lead_deleted", "Lead deleted"),
    ("lead_status_changed", "Lead stage changed"),
    ("contact_added", "Contact added"),
    ("company_added", "Company added"),
    ("task_added", "Task added"),
    ("task_completed", "Task completed"),
    ("task_type_changed", "Task type changed"),
    ("task_text_changed", "Task text changed"),
    ("task_deadline_changed", "Task deadline changed"),
    ("incoming_call", "Incoming call"),
    ("outgoing_call", "Outgoing call"),
    ("incoming_sms", "Incoming SMS"),
    ("outgoing_sms", "Outgoing SMS"),
    ("entity_tag_added", "Tags added"),
    ("entity_tag_deleted", "Tags deleted"),
    ("entity_linked", "Entity linked"),
    ("entity_unlinked", "Entity unlinked"),
    ("sale_field_changed", "Sale field changed"),
    ("name_field_changed", "Name field changed"),
    ("custom_field_value_changed", "Field value changed"),
    ("entity_responsible_changed", "Responsible user changed"),
    ("common_note_added", "Note added"),
    ("customer_added", "Customer added"),
    ("transaction_added", "Purchase added"),
    ("attachment_note_added", "File attached"),
    ("service_note_added", "Service note added"),
    ("geo_note_added", "Geolocation note added"),
];

/// A comma-separated (or `[]`) list filter.
fn list<'q>(query: &'q Query, name: &str) -> Option<Vec<&'q str>> {
    query.values(&format!("filter[{name}]"))
}

fn numbers(query: &Query, name: &str) -> Result<Option<Vec<u64>>, ApiError> {
    query.numbers(&format!("filter[{name}]"))
}

/// `filter[value_before]` or `filter[value_after]`.
#[derive(Debug, Default)]
struct ValueFilter {
    stages: Vec<(Option<u64>, Option<u64>)>,
    responsible: Option<Vec<u64>>,
    enums: Option<Vec<u64>>,
    value: Option<String>,
}

impl ValueFilter {
    fn parse(query: &Query, side: &str) -> Result<Self, ApiError> {
        let prefix = format!("filter[{side}][leads_statuses][");
        let mut stages: std::collections::BTreeMap<String, (Option<u64>, Option<u64>)> =
            Default::default();
        for (key, value) in query.pairs() {
            let Some((index, field)) = key.strip_prefix(&prefix).and_then(|r| r.split_once("]["))
            else {
                continue;
            };
            let entry = stages.entry(index.to_owned()).or_default();
            match field {
                "pipeline_id]" => entry.0 = value.trim().parse().ok(),
                "status_id]" => entry.1 = value.trim().parse().ok(),
                _ => {}
            }
        }
        Ok(ValueFilter {
            stages: stages.into_values().collect(),
            responsible: numbers(query, &format!("{side}][responsible_user_id"))?,
            enums: numbers(query, &format!("{side}][custom_field_values"))?,
            value: query
                .get(&format!("filter[{side}][value]"))
                .map(str::to_owned),
        })
    }

    fn is_empty(&self) -> bool {
        self.stages.is_empty()
            && self.responsible.is_none()
            && self.enums.is_none()
            && self.value.is_none()
    }

    /// Whether the values of one side of an event pass the filter.
    fn accepts(&self, values: &Value) -> bool {
        let items = values.as_array().map(Vec::as_slice).unwrap_or_default();
        let any = |f: &dyn Fn(&Value) -> bool| items.iter().any(f);
        if !self.stages.is_empty()
            && !any(&|v| {
                let s = &v["lead_status"];
                self.stages.iter().any(|(p, st)| {
                    p.is_none_or(|p| s["pipeline_id"].as_u64() == Some(p))
                        && st.is_none_or(|st| s["id"].as_u64() == Some(st))
                })
            })
        {
            return false;
        }
        if let Some(users) = &self.responsible
            && !any(&|v| {
                v["responsible_user"]["id"]
                    .as_u64()
                    .is_some_and(|id| users.contains(&id))
            })
        {
            return false;
        }
        if let Some(enums) = &self.enums
            && !any(&|v| {
                v["custom_field_value"]["enum_id"]
                    .as_u64()
                    .is_some_and(|id| enums.contains(&id))
            })
        {
            return false;
        }
        if let Some(wanted) = &self.value
            && !any(&|v| {
                let inner = v.as_object().and_then(|o| o.values().next());
                let shown = match inner {
                    Some(Value::Object(o)) => o
                        .iter()
                        .find(|(k, _)| matches!(k.as_str(), "name" | "sale" | "text" | "ltv"))
                        .map(|(_, v)| v),
                    _ => None,
                };
                match shown {
                    Some(Value::String(s)) => s == wanted,
                    Some(Value::Number(n)) => n
                        .as_f64()
                        .zip(wanted.parse::<f64>().ok())
                        .is_some_and(|(a, b)| a == b),
                    _ => false,
                }
            })
        {
            return false;
        }
        true
    }
}

/// Every filter of the events list, checked as Kommo documents them.
struct Filter<'q> {
    ids: Option<Vec<&'q str>>,
    types: Option<Vec<&'q str>>,
    entities: Option<Vec<&'q str>>,
    entity_ids: Option<Vec<u64>>,
    created_by: Option<Vec<u64>>,
    created_at: (Option<i64>, Option<i64>),
    before: ValueFilter,
    after: ValueFilter,
}

impl<'q> Filter<'q> {
    fn parse(query: &'q Query) -> Result<Self, ApiError> {
        let entity_ids = numbers(query, "entity_id")?;
        let created_by = numbers(query, "created_by")?;
        let entities = list(query, "entity");
        let types = list(query, "type");
        if entity_ids
            .as_ref()
            .is_some_and(|ids| ids.len() > MAX_FILTER_IDS)
            || created_by
                .as_ref()
                .is_some_and(|ids| ids.len() > MAX_FILTER_IDS)
        {
            return Err(ApiError::bad_request(
                "filter[entity_id] and filter[created_by] take at most 10 ids",
            ));
        }
        if entity_ids.is_some() && entities.as_ref().is_none_or(|e| e.len() != 1) {
            return Err(ApiError::bad_request(
                "filter[entity_id] needs exactly one filter[entity]",
            ));
        }
        let created_at = match query.filter("created_at").map(|v| v.split(',')) {
            // The older form: one timestamp (from), or two separated by a comma.
            Some(mut parts) => {
                let mut next = || parts.next().and_then(|p| p.trim().parse().ok());
                (next(), next())
            }
            None => query.filter_range("created_at"),
        };
        let before = ValueFilter::parse(query, "value_before")?;
        let after = ValueFilter::parse(query, "value_after")?;
        if (before.enums.is_some() || after.enums.is_some())
            && types.as_ref().is_none_or(|t| t.len() != 1)
        {
            return Err(ApiError::bad_request(
                "custom_field_values filters need exactly one event type",
            ));
        }
        Ok(Filter {
            ids: list(query, "id"),
            types,
            entities,
            entity_ids,
            created_by,
            created_at,
            before,
            after,
        })
    }

    fn accepts(&self, e: &LoggedEvent) -> bool {
        let type_ok = |t: &&str| {
            *t == e.event_type
                || (*t == "custom_field_value_changed"
                    && e.event_type.starts_with("custom_field_")
                    && e.event_type.ends_with("_value_changed"))
        };
        self.ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&e.id.as_str()))
            && self.types.as_ref().is_none_or(|t| t.iter().any(type_ok))
            && self
                .entities
                .as_ref()
                .is_none_or(|t| t.contains(&e.entity_type.as_str()))
            && self
                .entity_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&e.entity_id))
            && self
                .created_by
                .as_ref()
                .is_none_or(|ids| ids.contains(&e.created_by.0))
            && self.created_at.0.is_none_or(|from| e.created_at >= from)
            && self.created_at.1.is_none_or(|to| e.created_at <= to)
            && (self.before.is_empty() || self.before.accepts(&e.value_before))
            && (self.after.is_empty() || self.after.accepts(&e.value_after))
    }
}

/// The name `with=lead_name` (and the like) embeds.
fn entity_name(state: &Store, e: &LoggedEvent) -> Option<String> {
    match e.entity_type.as_str() {
        "lead" => state.leads.get(&e.entity_id).map(|l| l.name.clone()),
        "contact" => state.contacts.get(&e.entity_id).map(|c| c.name.clone()),
        "company" => state.companies.get(&e.entity_id).map(|c| c.name.clone()),
        _ => None,
    }
}

fn render(ctx: &Ctx, state: &Store, query: &Query, e: &LoggedEvent) -> Value {
    let mut value = json!({
        "id": e.id,
        "type": e.event_type,
        "entity_id": e.entity_id,
        "entity_type": e.entity_type,
        "created_by": e.created_by,
        "created_at": e.created_at,
        "value_before": e.value_before,
        "value_after": e.value_after,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/events/{}", e.id)),
    });
    let plural = match e.entity_type.as_str() {
        "company" => "companies".to_owned(),
        other => format!("{other}s"),
    };
    let mut entity = json!({
        "id": e.entity_id,
        "_links": ctx.self_link(&format!("/api/v4/{plural}/{}", e.entity_id)),
    });
    let wants_name = ["lead_name", "contact_name", "company_name"]
        .iter()
        .any(|w| query.has_with(w) && w.starts_with(e.entity_type.as_str()));
    if wants_name && let Some(name) = entity_name(state, e) {
        entity["name"] = json!(name);
    }
    value["_embedded"] = json!({ "entity": entity });
    value
}

pub(super) async fn events_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let filter = Filter::parse(&query)?;
    let ctx = app.ctx();
    let state = app.lock();
    let items: Vec<Value> = state
        .events
        .iter()
        .rev()
        .filter(|e| filter.accepts(e))
        .map(|e| render(&ctx, &state, &query, e))
        .collect();
    Ok(render::page_with_max(
        &ctx,
        "/api/v4/events",
        &query,
        items,
        "events",
        MAX_LIMIT,
    ))
}

pub(super) async fn event_get(
    State(app): App,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    match state.events.iter().find(|e| e.id == id) {
        Some(e) => Ok(hal(render(&app.ctx(), &state, &query, e))),
        None => {
            drop(state);
            missing(&app, "Event")
        }
    }
}

pub(super) async fn event_types(State(app): App) -> Response {
    let ctx = app.ctx();
    let items = TYPES
        .iter()
        .enumerate()
        .map(|(i, (key, lang))| json!({ "key": key, "type": i + 1, "lang": lang }))
        .collect();
    render::collection(&ctx, "/api/v4/events/types", items, "events_types")
}
