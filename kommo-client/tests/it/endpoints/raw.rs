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

/// The escape hatch goes through everything the typed calls do: any method and path with a
/// JSON body and the bearer token, the error decoding (validation errors name the field),
/// the rate limiter and the circuit breaker.
#[tokio::test]
async fn raw_covers_any_method_and_the_whole_pipeline() {
    use std::time::{Duration, Instant};

    use kommo_client::RateLimit;

    use crate::support::{TOKEN, builder};

    let server = MockServer::start().await;
    for (m, p) in [
        ("PUT", "/api/v4/leads/7/files"),
        ("DELETE", "/api/v4/leads/7/files"),
        ("PATCH", "/api/v4/anything/new"),
    ] {
        mount(
            &server,
            m,
            p,
            &[("x", "1")],
            Some(json!([{"file_uuid": "u"}])),
            ResponseTemplate::new(204),
        )
        .await;
    }
    mount(
        &server,
        "POST",
        "/api/v4/leads/loss_reasons",
        &[],
        Some(json!([{}])),
        ResponseTemplate::new(400).set_body_raw(
            r#"{"validation-errors":[{"request_id":"0","errors":[{"code":"NotBlank","path":"name","detail":"This value should not be blank."}]}],"title":"Bad Request","status":400}"#,
            "application/problem+json",
        ),
    )
    .await;
    // Two requests per second: the third waits for the window.
    let limited = builder(&server)
        .long_lived_token(TOKEN)
        .rate_limit(RateLimit::per_second(2))
        .build()
        .unwrap();
    let started = Instant::now();
    for m in [Method::PUT, Method::DELETE, Method::PATCH] {
        let path = match m {
            Method::PATCH => "/api/v4/anything/new",
            _ => "/api/v4/leads/7/files",
        };
        let request = ApiRequest::raw(m, path)
            .query("x", "1")
            .json_body(&json!([{"file_uuid": "u"}]))
            .unwrap();
        assert_eq!(limited.raw(request).await.unwrap().status, 204);
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the shared limiter applies to raw requests: {:?}",
        started.elapsed()
    );
    let err = limited
        .raw(
            ApiRequest::raw(Method::POST, "/api/v4/leads/loss_reasons")
                .json_body(&json!([{}]))
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.validation_errors()[0].errors[0].path, "name");

    // An IP block (403 with an HTML page) opens the breaker: the next raw request fails fast.
    let blocked = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/whatever"))
        .and(bearer())
        .respond_with(ResponseTemplate::new(403).set_body_string("<html>403 Forbidden</html>"))
        .expect(1)
        .mount(&blocked)
        .await;
    let c = client(&blocked);
    let first = c
        .raw(ApiRequest::raw(Method::GET, "/api/v4/whatever"))
        .await
        .unwrap_err();
    assert!(first.is_blocked(), "{first:?}");
    let second = c
        .raw(ApiRequest::raw(Method::GET, "/api/v4/whatever"))
        .await
        .unwrap_err();
    assert!(
        second.is_blocked() && second.problem().is_none(),
        "{second:?}"
    );
}
