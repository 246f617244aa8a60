//! Incoming leads (`/api/v4/leads/unsorted`). The records and the fake's choices are in
//! `sales.rs`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use kommo_client::ids::{LeadId, PipelineId, StatusId, UserId};
use serde_json::{Map, Value, json};

use super::super::model::{Contact, Lead, ValidationIssue};
use super::super::render::{self, Ctx};
use super::super::request::{ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, object_body};
use super::super::sales::{UnsortedItem, UnsortedState};
use super::super::state::State as Store;
use super::super::writes::{self, check_all};
use super::{App, missing};

const FORM_KEYS: &[&str] = &["form_id", "form_name", "form_page", "ip", "form_sent_at"];
const SIP_KEYS: &[&str] = &[
    "uniq",
    "duration",
    "service_code",
    "phone",
    "called_at",
    "from",
];

fn unsorted_json(ctx: &Ctx, u: &UnsortedItem) -> Value {
    let refs = |kind: &str, id: Option<u64>| -> Value {
        id.map(|id| {
            vec![json!({"id": id, "_links": ctx.self_link(&format!("/api/v4/{kind}/{id}"))})]
        })
        .unwrap_or_default()
        .into()
    };
    json!({
        "uid": u.uid,
        "source_uid": u.source_uid,
        "source_name": u.source_name,
        "category": u.category,
        "pipeline_id": u.pipeline_id,
        "created_at": u.created_at,
        "metadata": u.metadata,
        "account_id": ctx.account_id,
        "_links": ctx.self_link(&format!("/api/v4/leads/unsorted/{}", u.uid)),
        "_embedded": {
            "leads": refs("leads", u.lead.map(|l| l.0)),
            "contacts": refs("contacts", u.contact.map(|c| c.0)),
            "companies": [],
        },
    })
}

pub(super) async fn unsorted_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let uids = query.all("filter[uid]");
    let categories = query.all("filter[category]");
    let pipeline = query
        .filter("pipeline_id")
        .and_then(|p| p.parse::<u64>().ok());
    let ctx = app.ctx();
    let state = app.lock();
    let items = state
        .sales
        .unsorted
        .iter()
        .filter(|u| u.state == UnsortedState::Waiting)
        .filter(|u| uids.is_empty() || uids.contains(&u.uid.as_str()))
        .filter(|u| categories.is_empty() || categories.contains(&u.category.as_str()))
        .filter(|u| pipeline.is_none_or(|p| u.pipeline_id.0 == p))
        .map(|u| unsorted_json(&ctx, u))
        .collect();
    Ok(render::page(
        &ctx,
        "/api/v4/leads/unsorted",
        &query,
        items,
        "unsorted",
    ))
}

pub(super) async fn unsorted_get(State(app): App, Path(uid): Path<String>) -> ApiResult {
    let state = app.lock();
    match state.sales.unsorted.iter().find(|u| u.uid == uid) {
        Some(u) => Ok(hal(unsorted_json(&app.ctx(), u))),
        None => {
            drop(state);
            missing(&app, "Incoming lead")
        }
    }
}

pub(super) async fn unsorted_summary(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let pipeline = query
        .filter("pipeline_id")
        .and_then(|p| p.parse::<u64>().ok());
    Ok(hal(app.lock().sales.summary(pipeline)))
}

/// The incoming column of the item's pipeline (the main pipeline when it names none).
fn incoming(
    state: &Store,
    item: &Map<String, Value>,
) -> Result<(PipelineId, StatusId), ValidationIssue> {
    let pipeline = match item.get("pipeline_id").and_then(Value::as_u64) {
        Some(p) => state.pipeline(PipelineId(p)),
        None => state.main_pipeline(),
    }
    .ok_or_else(|| ValidationIssue::choice("pipeline_id"))?;
    pipeline
        .statuses
        .iter()
        .find(|s| s.kind == 1)
        .map(|s| (pipeline.id, s.id))
        .ok_or_else(|| {
            ValidationIssue::new(
                "NotSupportedChoice",
                "pipeline_id",
                "The pipeline has no incoming leads column",
            )
        })
}

fn embedded_first(item: &Map<String, Value>, key: &str) -> Option<Map<String, Value>> {
    item.get("_embedded")?
        .get(key)?
        .get(0)?
        .as_object()
        .cloned()
}

pub(super) async fn unsorted_add(app: App, category: &'static str, body: Bytes) -> ApiResult {
    let State(app) = app;
    let items = batch_body(&body, MAX_BATCH)?;
    let keys = if category == "forms" {
        FORM_KEYS
    } else {
        SIP_KEYS
    };
    let mut state = app.lock();
    let plans = check_all(&items, |_, item| {
        let mut issues = Vec::new();
        for key in ["source_uid", "source_name"] {
            if item
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(|v| v.trim().is_empty())
            {
                issues.push(ValidationIssue::blank(key));
            }
        }
        let metadata = item.get("metadata").and_then(Value::as_object);
        for key in keys {
            if metadata
                .and_then(|m| m.get(*key))
                .is_none_or(Value::is_null)
            {
                issues.push(ValidationIssue::blank(format!("metadata.{key}")));
            }
        }
        let place = incoming(&state, item).map_err(|e| issues.push(e)).ok();
        match (issues.is_empty(), place) {
            (true, Some(place)) => Ok(place),
            _ => Err(issues),
        }
    })?;
    let actor = app.config.api_user;
    let mut changes = Vec::new();
    let mut answers = Vec::new();
    for (i, (item, (pipeline, status))) in items.iter().zip(plans).enumerate() {
        let contact = match embedded_first(item, "contacts") {
            Some(body) => {
                let (written, more) = writes::add::<Contact>(&mut state, &[body], actor)?;
                changes.extend(more);
                Some(written[0].id)
            }
            None => None,
        };
        let mut lead = embedded_first(item, "leads").unwrap_or_default();
        lead.entry("name")
            .or_insert_with(|| item["source_name"].clone());
        lead.insert("pipeline_id".into(), json!(pipeline));
        lead.insert("status_id".into(), json!(status));
        if let Some(c) = contact {
            lead.insert(
                "_embedded".into(),
                json!({"contacts": [{"id": c, "is_main": true}]}),
            );
        }
        let written = match writes::add::<Lead>(&mut state, &[lead], actor) {
            Ok((written, more)) => {
                changes.extend(more);
                written[0].id
            }
            Err(e) => {
                if let Some(c) = contact {
                    state.contacts.remove(&c);
                }
                return Err(e);
            }
        };
        let uid = state.sales.next_uid();
        let created_at = state.now();
        state.sales.unsorted.push(UnsortedItem {
            uid: uid.clone(),
            source_uid: item["source_uid"].as_str().unwrap_or_default().to_owned(),
            source_name: item["source_name"].as_str().unwrap_or_default().to_owned(),
            category: category.to_owned(),
            pipeline_id: pipeline,
            created_at,
            metadata: item.get("metadata").cloned().unwrap_or(Value::Null),
            lead: Some(LeadId(written)),
            contact: contact.map(kommo_client::ids::ContactId),
            state: UnsortedState::Waiting,
            sorted_at: None,
        });
        let request_id = item
            .get("request_id")
            .cloned()
            .unwrap_or_else(|| json!(i.to_string()));
        answers.push(json!({
            "uid": uid,
            "account_id": app.config.account_id,
            "request_id": request_id,
            "_embedded": {
                "leads": [{"id": written}],
                "contacts": contact.map(|c| vec![json!({"id": c})]).unwrap_or_default(),
            },
        }));
    }
    app.commit(&mut state, &changes);
    Ok(hal(
        json!({ "_total_items": answers.len(), "_embedded": { "unsorted": answers } }),
    ))
}

fn waiting(state: &Store, uid: &str) -> Result<usize, ApiError> {
    let i = state
        .sales
        .unsorted
        .iter()
        .position(|u| u.uid == uid)
        .ok_or_else(|| ApiError::not_found(format!("Incoming lead {uid} not found")))?;
    if state.sales.unsorted[i].state != UnsortedState::Waiting {
        return Err(ApiError::bad_request(
            "The incoming lead was already sorted",
        ));
    }
    Ok(i)
}

fn decided_by(app: &super::super::Inner, body: &[u8]) -> Result<(UserId, Option<u64>), ApiError> {
    // An empty object is a decision by the token's user, unlike in entity writes.
    let item = match serde_json::from_slice::<Value>(body) {
        _ if body.iter().all(u8::is_ascii_whitespace) => Map::new(),
        Ok(Value::Object(item)) => item,
        _ => object_body(body)?,
    };
    let user = item
        .get("user_id")
        .and_then(Value::as_u64)
        .map_or(app.config.api_user, UserId);
    Ok((user, item.get("status_id").and_then(Value::as_u64)))
}

pub(super) async fn unsorted_accept(
    State(app): App,
    Path(uid): Path<String>,
    body: Bytes,
) -> ApiResult {
    let (user, status) = decided_by(&app, &body)?;
    let mut state = app.lock();
    let i = waiting(&state, &uid)?;
    let item = state.sales.unsorted[i].clone();
    let target = match status {
        Some(s) => StatusId(s),
        None => state
            .pipeline(item.pipeline_id)
            .and_then(Store::first_status)
            .ok_or_else(|| ApiError::bad_request("The pipeline has no stage"))?,
    };
    let lead = item.lead.map_or(0, |l| l.0);
    let mut update = Map::new();
    update.insert("id".into(), json!(lead));
    update.insert("status_id".into(), json!(target));
    update.insert("pipeline_id".into(), json!(item.pipeline_id));
    let (_, changes) = writes::update::<Lead>(&mut state, &[update], user)?;
    app.commit(&mut state, &changes);
    let now = state.now();
    let record = &mut state.sales.unsorted[i];
    record.state = UnsortedState::Accepted;
    record.sorted_at = Some(now);
    let mut answer = unsorted_json(&app.ctx(), record);
    answer.as_object_mut().map(|o| o.remove("metadata"));
    Ok(hal(answer))
}

pub(super) async fn unsorted_decline(
    State(app): App,
    Path(uid): Path<String>,
    body: Bytes,
) -> ApiResult {
    decided_by(&app, &body)?;
    let mut state = app.lock();
    let i = waiting(&state, &uid)?;
    if let Some(change) = state.sales.unsorted[i]
        .lead
        .and_then(|l| writes::delete_lead(&mut state, l))
    {
        app.commit(&mut state, &[change]);
    }
    let now = state.now();
    let record = &mut state.sales.unsorted[i];
    record.state = UnsortedState::Declined;
    record.sorted_at = Some(now);
    Ok(hal(json!({ "uid": record.uid, "_embedded": {} })))
}

pub(super) async fn unsorted_link(State(app): App, Path(uid): Path<String>) -> ApiResult {
    waiting(&app.lock(), &uid)?;
    Err(ApiError::bad_request("Only incoming chats can be linked"))
}
