//! `client.raw(ApiRequest)`: the escape hatch, through the same pipeline as the typed calls.

use kommo_client::{ApiRequest, Error, Method};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{mount, ok};
use crate::support::{bearer, client};

#[tokio::test]
async fn raw_escape_hatch() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/loss_reasons",
        &[("page", "1")],
        None,
        ok(json!({"_embedded": {"loss_reasons": []}})).insert_header("x-request-id", "req-7"),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v4/leads/unsorted/forms",
        &[],
        Some(json!([{"source_uid": "x"}])),
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let response = c
        .raw(ApiRequest::raw(Method::GET, "/api/v4/leads/loss_reasons").query("page", "1"))
        .await
        .unwrap();
    let v: Option<Value> = response.json().unwrap();
    assert!(v.unwrap()["_embedded"]["loss_reasons"].is_array());
    assert_eq!(response.headers["x-request-id"], "req-7");
    let raw = c
        .raw(
            ApiRequest::raw(Method::POST, "/api/v4/leads/unsorted/forms")
                .json_body(&json!([{"source_uid": "x"}]))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!((raw.status, raw.json::<Value>().unwrap()), (204, None));
    for bad in ["api/v4/x", "/api/v4/x?page=2", "//elsewhere.example/api"] {
        assert!(
            matches!(
                c.raw(ApiRequest::raw(Method::GET, bad)).await,
                Err(Error::InvalidRequest(_))
            ),
            "{bad}"
        );
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "refused requests are never sent"
    );
}

#[tokio::test]
async fn raw_writes_are_retried_only_when_declared_safe() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/api/v4/leads/loss_reasons/1"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(503))
        .expect(1 + 3)
        .mount(&server)
        .await;
    let c = client(&server);
    let write = ApiRequest::raw(Method::PATCH, "/api/v4/leads/loss_reasons/1")
        .json_body(&json!({"name": "Too expensive"}))
        .unwrap();
    let once = c.raw(write.clone()).await.unwrap_err();
    assert!(matches!(once, Error::Server(_)), "{once:?}");
    let retried = c.raw(write.safe_to_retry(true)).await.unwrap_err();
    assert_eq!(retried.status(), Some(503));
}
