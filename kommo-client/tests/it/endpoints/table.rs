//! Table-driven endpoint tests: each case names the exact request (method, path, query, JSON
//! body, bearer token) and the answer, and is run twice: against its documented success
//! answer, where the call must succeed, and against one of the documented errors, where the
//! call must fail with the matching [`Error`].

use futures_util::future::BoxFuture;
use kommo_client::{Client, Error, Result};
use serde_json::{Value, json};
use wiremock::{MockServer, ResponseTemplate};

use super::mount;
use crate::support::client;

/// A call under test: it asserts on what it got and returns the error, if any.
pub type Call = fn(Client) -> BoxFuture<'static, Result<()>>;

/// One endpoint.
pub struct Case {
    pub method: &'static str,
    pub path: &'static str,
    pub query: &'static [(&'static str, &'static str)],
    pub body: Option<Value>,
    /// The success answer: a status and a JSON body (`Value::Null` for none).
    pub status: u16,
    pub answer: Value,
    /// The call.
    pub call: Call,
}

/// The documented error statuses, one per case in turn.
const ERRORS: &[(u16, &str)] = &[
    (
        400,
        r#"{"validation-errors":[{"request_id":"0","errors":[{"code":"NotSupportedChoice","path":"name","detail":"The value you selected is not a valid choice."}]}],"title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}"#,
    ),
    (
        401,
        r#"{"title":"Unauthorized","type":"https://httpstatus.es/401","status":401,"detail":"Unauthorized"}"#,
    ),
    (402, r#"{"title":"Payment Required","status":402}"#),
    (
        403,
        r#"{"title":"Forbidden","type":"https://httpstatus.es/403","status":403,"detail":"Access denied"}"#,
    ),
    (404, r#"{"title":"Not Found","status":404}"#),
];

fn answer(status: u16, body: &Value) -> ResponseTemplate {
    let template = ResponseTemplate::new(status);
    if body.is_null() {
        template
    } else {
        template.set_body_json(body)
    }
}

/// Runs every case: the success answer, then an error answer.
pub async fn run(cases: Vec<Case>) {
    for (i, case) in cases.into_iter().enumerate() {
        let what = format!("{} {}", case.method, case.path);
        let server = MockServer::start().await;
        mount(
            &server,
            case.method,
            case.path,
            case.query,
            case.body.clone(),
            answer(case.status, &case.answer),
        )
        .await;
        if let Err(e) = (case.call)(client(&server)).await {
            panic!("{what}: {e:?}");
        }
        drop(server);

        let (status, body) = ERRORS[i % ERRORS.len()];
        let server = MockServer::start().await;
        mount(
            &server,
            case.method,
            case.path,
            case.query,
            case.body.clone(),
            ResponseTemplate::new(status).set_body_raw(body, "application/problem+json"),
        )
        .await;
        let err = (case.call)(client(&server))
            .await
            .expect_err(&format!("{what} with {status}"));
        let matches = match status {
            400 => {
                matches!(&err, Error::Validation { errors, .. } if errors[0].errors[0].path == "name")
            }
            401 => err.is_unauthorized(),
            402 => matches!(err, Error::PaymentRequired(_)),
            403 => matches!(err, Error::Forbidden(_)),
            _ => err.is_not_found(),
        };
        assert!(matches, "{what} with {status}: {err:?}");
    }
}

/// A batch answer: `_embedded.<key>` with ids from 1, echoing their index as `request_id`.
pub fn written(key: &str, n: u64) -> Value {
    let items: Vec<Value> = (1..=n)
        .map(|i| json!({"id": i, "request_id": (i - 1).to_string(), "_links": {}}))
        .collect();
    json!({"_links": {}, "_embedded": {key: items}})
}

/// Calls refused before sending: each must be [`Error::InvalidRequest`] and reach no server.
pub async fn refused(calls: Vec<(&'static str, Call)>) {
    let server = MockServer::start().await;
    for (what, call) in calls {
        let err = call(client(&server)).await.expect_err(what);
        assert!(matches!(err, Error::InvalidRequest(_)), "{what}: {err:?}");
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "refused calls are never sent"
    );
}
