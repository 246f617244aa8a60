//! `POST /v1/events/send` and `POST /v1/transactional`: validated, applied, recorded once.
//!
//! Idempotency: a key is checked first (a repeat is a 409 and changes nothing) and remembered
//! only once the send is accepted, so a refused send (400/404) does not burn its key. Keys are
//! kept per endpoint; whether Loops shares them between events and transactional sends is not
//! documented.

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::contacts::{ContactInput, upsert};
use super::model::{Contact, IdempotencyConflict, RecordedEvent, RecordedTransactional};
use super::request::{ApiError, check_lengths, is_valid_email};
use super::state::State;

pub(crate) const EVENTS_ENDPOINT: &str = "POST /v1/events/send";
pub(crate) const TRANSACTIONAL_ENDPOINT: &str = "POST /v1/transactional";

/// Total payload Loops accepts on a transactional send.
pub(crate) const MAX_TRANSACTIONAL_BYTES: usize = 4_000_000;

/// What a send needs besides the store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SendContext {
    pub(crate) strict_properties: bool,
    pub(crate) attachments_enabled: bool,
    pub(crate) window: Duration,
    pub(crate) now: Instant,
}

/// 409 when the key was used on this endpoint within the window; the conflict is recorded.
fn check_key(
    state: &mut State,
    endpoint: &str,
    key: Option<&str>,
    now: Instant,
) -> Result<(), ApiError> {
    let Some(key) = key else { return Ok(()) };
    if state.key_in_use(endpoint, key, now) {
        state.conflicts.push(IdempotencyConflict {
            endpoint: endpoint.to_owned(),
            idempotency_key: key.to_owned(),
            at: SystemTime::now(),
        });
        return Err(ApiError::conflict(
            "A request with this Idempotency-Key was already processed in the last 24 hours.",
        ));
    }
    Ok(())
}

pub(crate) fn send_event(
    state: &mut State,
    ctx: SendContext,
    body: &Map<String, Value>,
    key: Option<&str>,
) -> Result<(), ApiError> {
    check_key(state, EVENTS_ENDPOINT, key, ctx.now)?;
    check_lengths(body, &[])?;
    let event_name = match body.get("eventName") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => {
            return Err(
                ApiError::bad_request("eventName is required.").with("path", "eventName".into())
            );
        }
    };
    let event_properties = match body.get("eventProperties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(props)) => {
            if props.values().any(|v| v.is_array() || v.is_object()) {
                return Err(ApiError::bad_request(
                    "Event property values must be strings, numbers, booleans or dates.",
                )
                .with("path", "eventProperties".into()));
            }
            props.clone()
        }
        Some(_) => {
            return Err(ApiError::bad_request("eventProperties must be an object.")
                .with("path", "eventProperties".into()));
        }
    };
    let input = ContactInput::parse(body, &["eventName", "eventProperties"])?;
    let index = upsert(state, &input, ctx.strict_properties)?;
    let contact = &state.contacts[index];
    let record = RecordedEvent {
        contact_id: contact.id.clone(),
        email: contact.email.clone(),
        user_id: contact.user_id.clone(),
        event_name,
        event_properties,
        contact_properties: input.sent_properties.clone(),
        mailing_lists: input.mailing_lists.clone(),
        idempotency_key: key.map(str::to_owned),
        at: SystemTime::now(),
    };
    state.observe_event(&record.event_name, &record.event_properties);
    state.events.push(record);
    if let Some(key) = key {
        state.remember_key(EVENTS_ENDPOINT, key, ctx.now, ctx.window);
    }
    Ok(())
}

pub(crate) fn send_transactional(
    state: &mut State,
    ctx: SendContext,
    body: &Map<String, Value>,
    key: Option<&str>,
) -> Result<(), ApiError> {
    check_key(state, TRANSACTIONAL_ENDPOINT, key, ctx.now)?;
    check_lengths(body, &["attachments"])?;
    let transactional_id = match body.get("transactionalId") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
        _ => {
            return Err(ApiError::bad_request("transactionalId is required.")
                .with("path", "transactionalId".into()));
        }
    };
    let email = match body.get("email") {
        Some(Value::String(email)) if is_valid_email(email) => email.clone(),
        _ => {
            return Err(
                ApiError::bad_request("A valid email is required.").with("path", "email".into())
            );
        }
    };
    let add_to_audience = match body.get("addToAudience") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_request("addToAudience must be a boolean.")
                .with("path", "addToAudience".into()));
        }
    };
    let data_variables = read_data_variables(body.get("dataVariables"))?;
    let attachments = read_attachments(body.get("attachments"), ctx.attachments_enabled)?;

    // The catalogue is only enforced once it holds something, so a sandbox without seeded
    // emails accepts any id.
    if !state.transactional.is_empty() {
        let Some(stored) = state.template(&transactional_id) else {
            return Err(ApiError::not_found("Transactional email not found."));
        };
        if stored.published_message_id.is_none() {
            return Err(
                ApiError::bad_request("This transactional email is not published.")
                    .with("transactionalId", transactional_id.clone().into()),
            );
        }
        let missing: Vec<&str> = stored
            .template
            .required_variables
            .iter()
            .filter(|name| is_missing(data_variables.get(name.as_str())))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let message = format!("Missing required fields: {}", missing.join(", "));
            return Err(ApiError::bad_request(message.clone())
                .with(
                    "error",
                    json!({ "path": "dataVariables", "message": message }),
                )
                .with("transactionalId", transactional_id.clone().into()));
        }
    }

    if add_to_audience && state.by_email(&email).is_none() {
        let id = state.new_id();
        state.contacts.push(Contact::new(id, email.clone()));
    }
    state.sends.push(RecordedTransactional {
        transactional_id,
        email,
        data_variables,
        add_to_audience,
        attachments,
        idempotency_key: key.map(str::to_owned),
        at: SystemTime::now(),
    });
    if let Some(key) = key {
        state.remember_key(TRANSACTIONAL_ENDPOINT, key, ctx.now, ctx.window);
    }
    Ok(())
}

/// Required variables must be present and neither `null` nor `""` (Loops: optional variables
/// may be left out or sent as `""`, and `null` does not work).
fn is_missing(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(_) => false,
    }
}

/// Strings, numbers, and arrays of flat objects (array blocks).
fn read_data_variables(value: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    let invalid = |message: &str| {
        ApiError::bad_request(message.to_owned()).with(
            "error",
            json!({ "path": "dataVariables", "message": message }),
        )
    };
    let variables = match value {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(invalid("dataVariables must be an object.")),
    };
    for value in variables.values() {
        let ok = match value {
            Value::String(_) | Value::Number(_) | Value::Null => true,
            Value::Array(rows) => rows.iter().all(|row| {
                row.as_object().is_some_and(|cells| {
                    cells
                        .values()
                        .all(|c| matches!(c, Value::String(_) | Value::Number(_)))
                })
            }),
            _ => false,
        };
        if !ok {
            return Err(invalid(
                "Data variable values must be strings, numbers or arrays of objects.",
            ));
        }
    }
    Ok(variables.clone())
}

/// Returns the file names; 400 when attachments are malformed or not enabled.
fn read_attachments(value: Option<&Value>, enabled: bool) -> Result<Vec<String>, ApiError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::bad_request("attachments must be an array.")
                .with("path", "attachments".into()));
        }
    };
    if items.is_empty() {
        return Ok(Vec::new());
    }
    if !enabled {
        return Err(
            ApiError::bad_request("Attachments are not enabled for this account.").with(
                "error",
                json!({ "path": "attachments", "reason": "Attachments are not enabled for this account." }),
            ),
        );
    }
    items
        .iter()
        .map(|item| {
            let field = |name: &str| {
                item.get(name)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            match (field("filename"), field("contentType"), field("data")) {
                (Some(filename), Some(_), Some(_)) => Ok(filename.to_owned()),
                _ => Err(ApiError::bad_request(
                    "Each attachment needs filename, contentType and data.",
                )
                .with("path", "attachments".into())),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loops::config::{Config, TransactionalTemplate};

    fn ctx() -> SendContext {
        SendContext {
            strict_properties: true,
            attachments_enabled: true,
            window: Duration::from_secs(60),
            now: Instant::now(),
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        let Value::Object(m) = v else { unreachable!() };
        m
    }

    #[test]
    fn events_are_recorded_once_per_key() {
        let mut state = State::new(&Config::default());
        let body = obj(
            json!({"email": "a@b.co", "eventName": "signup", "eventProperties": {"plan": "pro"}}),
        );
        send_event(&mut state, ctx(), &body, Some("k1")).unwrap();
        let err = send_event(&mut state, ctx(), &body, Some("k1")).unwrap_err();
        assert_eq!(err.status, 409);
        assert_eq!(state.events.len(), 1);
        assert_eq!(state.conflicts.len(), 1);
        assert_eq!(state.contacts.len(), 1);
        // The same key on the other endpoint is independent.
        let tx = obj(json!({"transactionalId": "t", "email": "a@b.co"}));
        send_transactional(&mut state, ctx(), &tx, Some("k1")).unwrap();
        // A refused send keeps its key usable.
        let bad = obj(json!({"email": "a@b.co"}));
        assert_eq!(
            send_event(&mut state, ctx(), &bad, Some("k2"))
                .unwrap_err()
                .status,
            400
        );
        send_event(&mut state, ctx(), &body, Some("k2")).unwrap();
        assert_eq!(state.events.len(), 2);
    }

    #[test]
    fn event_validation() {
        let mut state = State::new(&Config::default());
        for body in [
            json!({"email": "a@b.co"}),
            json!({"email": "a@b.co", "eventName": " "}),
            json!({"email": "a@b.co", "eventName": "e", "eventProperties": [1]}),
            json!({"email": "a@b.co", "eventName": "e", "eventProperties": {"x": {"y": 1}}}),
            json!({"userId": "unknown", "eventName": "e"}),
            json!({"eventName": "e"}),
        ] {
            let err = send_event(&mut state, ctx(), &obj(body.clone()), None).unwrap_err();
            assert_eq!(err.status, 400, "{body}");
        }
        assert!(state.events.is_empty());
        assert!(state.contacts.is_empty());
    }

    #[test]
    fn transactional_catalogue() {
        let mut state = State::new(
            &Config::default()
                .transactional(
                    TransactionalTemplate::new("t1", "Welcome")
                        .required(["name", "url"])
                        .optional(["extra"]),
                )
                .transactional(TransactionalTemplate::new("t2", "Draft").draft()),
        );
        let send =
            |state: &mut State, body: Value| send_transactional(state, ctx(), &obj(body), None);
        assert_eq!(
            send(
                &mut state,
                json!({"transactionalId": "nope", "email": "a@b.co"})
            )
            .unwrap_err()
            .status,
            404
        );
        assert_eq!(
            send(
                &mut state,
                json!({"transactionalId": "t2", "email": "a@b.co"})
            )
            .unwrap_err()
            .status,
            400
        );
        let err = send(&mut state, json!({"transactionalId": "t1", "email": "a@b.co", "dataVariables": {"name": "Ada", "url": ""}})).unwrap_err();
        assert_eq!(err.status, 400);
        assert_eq!(err.body["error"]["path"], "dataVariables");
        assert_eq!(err.body["error"]["message"], "Missing required fields: url");
        assert_eq!(err.body["transactionalId"], "t1");
        send(&mut state, json!({"transactionalId": "t1", "email": "a@b.co", "dataVariables": {"name": "Ada", "url": "https://x", "extra": ""}})).unwrap();
        assert!(state.contacts.is_empty(), "no addToAudience, no contact");
        send(&mut state, json!({"transactionalId": "t1", "email": "a@b.co", "addToAudience": true, "dataVariables": {"name": "Ada", "url": 1, "rows": [{"a": 1}]}})).unwrap();
        assert_eq!(state.contacts.len(), 1);
        assert_eq!(state.sends.len(), 2);
    }

    #[test]
    fn attachments() {
        let ok = json!([{"filename": "a.pdf", "contentType": "application/pdf", "data": "JVBER"}]);
        assert_eq!(read_attachments(Some(&ok), true).unwrap(), vec!["a.pdf"]);
        let err = read_attachments(Some(&ok), false).unwrap_err();
        assert_eq!(err.body["error"]["path"], "attachments");
        assert!(read_attachments(Some(&json!([{"filename": "a"}])), true).is_err());
        assert!(
            read_attachments(Some(&json!([])), false)
                .unwrap()
                .is_empty()
        );
    }
}
