//! The inspection, seeding and scenario API over HTTP, under `/_sandbox`: JSON (snake_case,
//! like Kommo), no token, no rate limit, no faults, not counted. The routes are listed in the
//! crate's README; the ones every fake shares are in `crate::inspect`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId, LeadId, PipelineId, StatusId};
use kommo_client::webhook_subscriptions::WebhookSetting;
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::all_webhook_settings;
use super::entity::Entity;
use super::inspect::Conditions;
use super::model::{Company, Contact, Lead};
use super::request::{Query, path_id};
use super::scenario::{
    CompanyUpdate, ContactUpdate, LeadUpdate, NewCompany, NewContact, NewLead, ScenarioError,
};
use super::seeds::{CustomFieldSeed, PipelineSeed, UserSeed};
use super::{Inner, Sandbox};
use crate::server::{json_ok, parse, refused};

type App = State<Arc<Inner>>;

/// The `/_sandbox` router.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/leads", get(list::<Lead>).post(seed_lead))
        .route("/leads/{id}", get(one::<Lead>).patch(update_lead))
        .route("/leads/{id}/move", post(move_lead))
        .route("/contacts", get(contacts).post(seed_contact))
        .route("/contacts/{id}", get(one::<Contact>).patch(update_contact))
        .route("/companies", get(list::<Company>).post(seed_company))
        .route("/companies/{id}", get(one::<Company>).patch(update_company))
        .route("/notes", get(notes))
        .route("/events", get(events_log))
        .route("/tasks", get(tasks))
        .route("/tags", get(tags))
        .route("/links", get(links))
        .route("/pipelines", get(pipelines).post(add_pipeline))
        .route("/custom-fields", get(custom_fields).post(add_custom_field))
        .route("/users", get(users).post(add_user))
        .route("/webhooks", get(deliveries))
        .route("/webhooks/flush", post(flush))
        .route("/webhooks/send", post(send_raw))
        .route("/webhooks/{id}/redeliver", post(redeliver))
        .route(
            "/subscriptions",
            get(subscriptions).post(subscribe).delete(unsubscribe),
        )
        .route("/conditions", get(conditions).put(set_conditions))
        .route("/block", post(block))
        .route("/unblock", post(unblock))
        .route("/oauth/code", post(oauth_code))
        .route("/oauth/tokens", post(oauth_tokens))
        .route("/oauth/revoke", post(oauth_revoke))
        .route("/clock", post(advance_clock))
        .merge(crate::inspect::routes())
        .fallback(|| async { refused(StatusCode::NOT_FOUND, "no such inspection route") })
        .with_state(inner)
}

/// Parses the body as a `T`, runs a scenario step with it and answers with the step's result:
/// a 400 for a body that does not parse, the step's own error otherwise.
fn step<T: serde::de::DeserializeOwned, R: serde::Serialize>(
    body: &[u8],
    run: impl FnOnce(T) -> Result<R, ScenarioError>,
) -> Response {
    match parse::<T>(body) {
        Ok(input) => match run(input) {
            Ok(result) => json_ok(&result),
            Err(e) => scenario_error(e),
        },
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

fn scenario_error(error: ScenarioError) -> Response {
    let status = match error {
        ScenarioError::NotFound { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    let issues = match &error {
        ScenarioError::Invalid(issues) => json!(issues),
        _ => json!([]),
    };
    (
        status,
        axum::Json(json!({ "success": false, "message": error.to_string(), "issues": issues })),
    )
        .into_response()
}

/// The Rust API over the shared state (a view without the server handle).
fn view(app: &Arc<Inner>) -> Sandbox {
    Sandbox::view(app.clone())
}

/// `entity_type=leads|contacts|companies`; the error is the text of a 400.
fn entity_param(query: &Query) -> Result<Option<EntityType>, String> {
    match query.get("entity_type") {
        None => Ok(None),
        Some("leads") => Ok(Some(EntityType::Leads)),
        Some("contacts") => Ok(Some(EntityType::Contacts)),
        Some("companies") => Ok(Some(EntityType::Companies)),
        Some(other) => Err(format!("unknown entity_type {other:?}")),
    }
}

fn emit_param(query: &Query) -> bool {
    matches!(query.get("webhooks"), Some("true" | "1"))
}

/// `GET /leads`, `/companies`: every entity of a kind.
async fn list<E: Entity>(State(app): App) -> Response {
    json_ok(&E::map(&app.lock()).values().collect::<Vec<_>>())
}

/// `GET /leads/{id}`, `/contacts/{id}`, `/companies/{id}`.
async fn one<E: Entity>(State(app): App, Path(id): Path<String>) -> Response {
    match path_id(&id).and_then(|id| E::map(&app.lock()).get(&id).cloned()) {
        Some(entity) => json_ok(&entity),
        None => refused(StatusCode::NOT_FOUND, format!("no such {}", E::NAME)),
    }
}

/// `GET /contacts[?email=]`.
async fn contacts(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let email = query.get("email");
    let state = app.lock();
    let found: Vec<_> = state
        .contacts
        .values()
        .filter(|c| email.is_none_or(|e| c.has_email(e)))
        .collect();
    json_ok(&found)
}

/// What `entity_type=` and `entity_id=` ask for: whether an attachment passes.
struct AttachedTo {
    entity: Option<EntityType>,
    id: Option<u64>,
}

impl AttachedTo {
    /// The error is the text of a 400.
    fn parse(q: Option<&str>) -> Result<Self, String> {
        let query = Query::parse(q);
        Ok(AttachedTo {
            entity: entity_param(&query)?,
            id: query.get("entity_id").and_then(|v| v.parse::<u64>().ok()),
        })
    }

    fn passes(&self, entity: Option<EntityType>, id: Option<u64>) -> bool {
        self.entity.is_none_or(|e| entity == Some(e)) && self.id.is_none_or(|i| id == Some(i))
    }
}

/// `GET /notes[?entity_type=&entity_id=]`.
/// The events log, oldest first; `?entity_type=lead&entity_id=…` narrows it.
async fn events_log(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = super::request::Query::parse(q.as_deref());
    let entity = query.get("entity_type");
    let id = query.get("entity_id").and_then(|v| v.parse::<u64>().ok());
    let state = app.lock();
    let found: Vec<_> = state
        .events
        .iter()
        .filter(|e| {
            entity.is_none_or(|t| e.entity_type == t) && id.is_none_or(|i| e.entity_id == i)
        })
        .collect();
    json_ok(&found)
}

async fn notes(State(app): App, RawQuery(q): RawQuery) -> Response {
    let filter = match AttachedTo::parse(q.as_deref()) {
        Ok(filter) => filter,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e),
    };
    let state = app.lock();
    let found: Vec<_> = state
        .notes
        .values()
        .filter(|n| filter.passes(Some(n.entity_type), Some(n.entity_id)))
        .collect();
    json_ok(&found)
}

/// `GET /tasks[?entity_type=&entity_id=]`.
async fn tasks(State(app): App, RawQuery(q): RawQuery) -> Response {
    let filter = match AttachedTo::parse(q.as_deref()) {
        Ok(filter) => filter,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e),
    };
    let state = app.lock();
    let found: Vec<_> = state
        .tasks
        .values()
        .filter(|t| filter.passes(t.entity_type, t.entity_id))
        .collect();
    json_ok(&found)
}

async fn tags(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    match entity_param(&query) {
        Ok(Some(entity)) => json_ok(&state.tag_directory(entity)),
        Ok(None) => json_ok(&json!({
            "leads": state.tag_directory(EntityType::Leads),
            "contacts": state.tag_directory(EntityType::Contacts),
            "companies": state.tag_directory(EntityType::Companies),
        })),
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn links(State(app): App) -> Response {
    json_ok(&app.lock().all_links())
}

async fn pipelines(State(app): App) -> Response {
    json_ok(&app.lock().pipelines)
}

async fn add_pipeline(State(app): App, body: Bytes) -> Response {
    match parse::<PipelineSeed>(&body) {
        Ok(seed) => {
            view(&app).add_pipeline(seed);
            json_ok(&json!({ "success": true }))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn custom_fields(State(app): App, RawQuery(q): RawQuery) -> Response {
    let query = Query::parse(q.as_deref());
    let state = app.lock();
    match entity_param(&query) {
        Ok(Some(entity)) => json_ok(&state.field_defs(entity)),
        Ok(None) => json_ok(&state.fields),
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn add_custom_field(State(app): App, body: Bytes) -> Response {
    match parse::<CustomFieldSeed>(&body) {
        Ok(seed) => {
            view(&app).add_custom_field(seed);
            json_ok(&json!({ "success": true }))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn users(State(app): App) -> Response {
    json_ok(&app.lock().users)
}

async fn add_user(State(app): App, body: Bytes) -> Response {
    match parse::<UserSeed>(&body) {
        Ok(seed) => {
            view(&app).add_user(seed);
            json_ok(&json!({ "success": true }))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn deliveries(State(app): App) -> Response {
    json_ok(&app.lock().deliveries)
}

async fn flush(State(app): App) -> Response {
    let done = tokio::time::timeout(Duration::from_secs(30), app.hooks.idle()).await;
    match done {
        Ok(()) => json_ok(&json!({ "success": true, "pending": 0 })),
        Err(_) => refused(
            StatusCode::GATEWAY_TIMEOUT,
            format!("{} webhooks still pending", app.hooks.pending()),
        ),
    }
}

#[derive(Deserialize)]
struct RawSend {
    url: String,
    body: String,
}

async fn send_raw(State(app): App, body: Bytes) -> Response {
    let send: RawSend = match parse(&body) {
        Ok(s) => s,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e),
    };
    let delivery = view(&app).send_raw_webhook(&send.url, send.body).await;
    json_ok(&delivery)
}

async fn redeliver(State(app): App, Path(id): Path<String>) -> Response {
    let Some(id) = path_id(&id) else {
        return refused(StatusCode::NOT_FOUND, "no such delivery");
    };
    match view(&app).redeliver_webhook(id).await {
        Ok(delivery) => json_ok(&delivery),
        Err(e) => scenario_error(e),
    }
}

async fn subscriptions(State(app): App) -> Response {
    json_ok(&app.lock().subscriptions)
}

#[derive(Deserialize)]
struct SubscribeBody {
    destination: String,
    /// A list of setting names, or `"all"`.
    settings: Value,
}

async fn subscribe(State(app): App, body: Bytes) -> Response {
    let request: SubscribeBody = match parse(&body) {
        Ok(r) => r,
        Err(e) => return refused(StatusCode::BAD_REQUEST, e),
    };
    let settings: Vec<WebhookSetting> = match &request.settings {
        Value::String(all) if all == "all" => all_webhook_settings(),
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(WebhookSetting::other)
            .collect(),
        _ => {
            return refused(
                StatusCode::BAD_REQUEST,
                "settings must be a list of names or \"all\"",
            );
        }
    };
    let by = app.config.api_user;
    let sub = app
        .lock()
        .subscribe(&request.destination, settings, None, by);
    json_ok(&sub)
}

#[derive(Deserialize)]
struct Destination {
    destination: String,
}

async fn unsubscribe(State(app): App, body: Bytes) -> Response {
    match parse::<Destination>(&body) {
        Ok(d) => json_ok(&json!({ "success": app.lock().unsubscribe(&d.destination) })),
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn conditions(State(app): App) -> Response {
    json_ok(&view(&app).conditions())
}

async fn set_conditions(State(app): App, body: Bytes) -> Response {
    match parse::<Conditions>(&body) {
        Ok(c) => {
            let k = view(&app);
            k.set_conditions(c);
            json_ok(&k.conditions())
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn block(State(app): App) -> Response {
    let k = view(&app);
    k.block();
    json_ok(&k.conditions())
}

async fn unblock(State(app): App) -> Response {
    let k = view(&app);
    k.unblock();
    json_ok(&k.conditions())
}

async fn oauth_code(State(app): App) -> Response {
    json_ok(&json!({ "code": app.lock().issue_code() }))
}

async fn oauth_tokens(State(app): App) -> Response {
    json_ok(&view(&app).issue_tokens())
}

async fn oauth_revoke(State(app): App) -> Response {
    app.lock().oauth.revoke_all();
    json_ok(&json!({ "success": true }))
}

#[derive(Deserialize)]
struct Advance {
    seconds: u64,
}

async fn advance_clock(State(app): App, body: Bytes) -> Response {
    match parse::<Advance>(&body) {
        Ok(a) => {
            let k = view(&app);
            k.advance_clock(Duration::from_secs(a.seconds));
            json_ok(&json!({ "now": k.now() }))
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn seed_contact(State(app): App, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let emit = emit_param(&Query::parse(q.as_deref()));
    step::<NewContact, _>(&body, |new| {
        app.create_contact(&new, emit).map(|id| json!({ "id": id }))
    })
}

async fn seed_company(State(app): App, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let emit = emit_param(&Query::parse(q.as_deref()));
    step::<NewCompany, _>(&body, |new| {
        app.create_company(&new, emit).map(|id| json!({ "id": id }))
    })
}

async fn seed_lead(State(app): App, RawQuery(q): RawQuery, body: Bytes) -> Response {
    let emit = emit_param(&Query::parse(q.as_deref()));
    step::<NewLead, _>(&body, |new| {
        app.create_lead(&new, emit).map(|id| json!({ "id": id }))
    })
}

#[derive(Deserialize)]
struct Move {
    status_id: StatusId,
    #[serde(default)]
    pipeline_id: Option<PipelineId>,
}

async fn move_lead(State(app): App, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = path_id(&id) else {
        return refused(StatusCode::NOT_FOUND, "no such lead");
    };
    step::<Move, _>(&body, |request| {
        let k = view(&app);
        match request.pipeline_id {
            Some(pipeline) => k.move_lead_to(LeadId(id), pipeline, request.status_id),
            None => k.move_lead(LeadId(id), request.status_id),
        }
    })
}

async fn update_lead(State(app): App, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = path_id(&id) else {
        return refused(StatusCode::NOT_FOUND, "no such lead");
    };
    step::<LeadUpdate, _>(&body, |update| view(&app).update_lead(LeadId(id), update))
}

async fn update_contact(State(app): App, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = path_id(&id) else {
        return refused(StatusCode::NOT_FOUND, "no such contact");
    };
    step::<ContactUpdate, _>(&body, |update| {
        view(&app).update_contact(ContactId(id), update)
    })
}

async fn update_company(State(app): App, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(id) = path_id(&id) else {
        return refused(StatusCode::NOT_FOUND, "no such company");
    };
    step::<CompanyUpdate, _>(&body, |update| {
        view(&app).update_company(CompanyId(id), update)
    })
}
