//! Error bodies, status classification, retries and idempotency across retries.

use std::time::Duration;

use loops_client::Error;
use loops_client::contacts::{ContactLookup, CreateContactRequest, UpdateContactRequest};
use loops_client::error::TransportErrorKind;
use loops_client::events::SendEventRequest;
use loops_client::idempotency::IdempotencyKey;
use loops_client::transactional::SendTransactionalRequest;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, fixture};

async fn one_answer(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(template.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(template.clone())
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

fn keys_of(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            r.headers
                .get("idempotency-key")
                .expect("key")
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn every_error_body_shape_is_parsed() {
    let cases = vec![
        (
            json!({"success": false, "message": "Invalid email"}),
            "Invalid email",
            None,
        ),
        (json!({"error": "Invalid API key"}), "Invalid API key", None),
        (
            json!({"success": false, "message": "Bad", "path": "dataVariables"}),
            "Bad",
            Some("dataVariables"),
        ),
        (
            json!({"success": false, "message": "Invalid", "error": {"path": "email", "message": "Invalid email"}}),
            "Invalid email",
            Some("email"),
        ),
        (
            json!({"success": false, "message": "Invalid", "error": {"path": "attachments", "reason": "disabled"}}),
            "disabled",
            Some("attachments"),
        ),
        (
            fixture("transactional.400-nested-error.json"),
            "Missing required fields: login_url",
            Some("dataVariables"),
        ),
    ];
    for (body, message, field) in cases {
        let server = one_answer(ResponseTemplate::new(400).set_body_json(&body)).await;
        let err = client(&server)
            .transactional()
            .send(&SendTransactionalRequest::new("t", "a@b.c"))
            .await
            .unwrap_err();
        let Error::Api {
            status,
            body: parsed,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*status, 400);
        assert_eq!(parsed.message.as_deref(), Some(message), "{body}");
        assert_eq!(parsed.path.as_deref(), field, "{body}");
        assert!(err.to_string().contains(message), "{err}");
    }
}

#[tokio::test]
async fn html_bodies_are_kept_raw() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    let server = one_answer(ResponseTemplate::new(502).set_body_raw(html, "text/html")).await;
    let err = client(&server)
        .contacts()
        .create(&CreateContactRequest::new("a@b.c"))
        .await
        .unwrap_err();
    let Error::Api {
        status: 502, body, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(body.raw.as_deref(), Some(html));
    assert!(body.json.is_none());
    // Create is not safe to repeat, so a 502 is not retried.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn unauthorized_in_both_shapes() {
    for body in [
        fixture("api-key.401.json"),
        json!({"error": "Invalid API key"}),
    ] {
        let server = one_answer(ResponseTemplate::new(401).set_body_json(body)).await;
        let err = client(&server).api_key().test().await.unwrap_err();
        assert!(err.is_unauthorized(), "{err:?}");
        assert_eq!(
            err.body().unwrap().message.as_deref(),
            Some("Invalid API key")
        );
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "401 is not retried"
        );
    }
}

#[tokio::test]
async fn not_found() {
    let server = one_answer(
        ResponseTemplate::new(404)
            .set_body_json(json!({"success": false, "message": "Contact not found."})),
    )
    .await;
    let err = client(&server)
        .contacts()
        .delete(&ContactLookup::email("nobody@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn conflict_on_create_is_already_exists() {
    let server =
        one_answer(ResponseTemplate::new(409).set_body_json(fixture("contacts-create.409.json")))
            .await;
    let err = client(&server)
        .contacts()
        .create(&CreateContactRequest::new("user@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_already_exists(), "{err:?}");
    assert!(!err.is_already_done());
}

#[tokio::test]
async fn reworded_conflict_is_still_already_exists() {
    let body = json!({"success": false, "message": "A contact with this email address already exists in your audience."});
    let server = one_answer(ResponseTemplate::new(409).set_body_json(body)).await;
    let err = client(&server)
        .contacts()
        .create(&CreateContactRequest::new("user@example.com"))
        .await
        .unwrap_err();
    assert!(err.is_already_exists());
}

#[tokio::test]
async fn repeated_idempotency_key_is_already_done() {
    let server = one_answer(
        ResponseTemplate::new(409)
            .set_body_json(json!({"success": false, "message": "Idempotency key already used"})),
    )
    .await;
    let key = IdempotencyKey::new("lead-7-won").unwrap();
    let err = client(&server)
        .events()
        .send(&SendEventRequest::by_email("a@b.c", "deal_won").idempotency_key(key.clone()))
        .await
        .unwrap_err();
    match &err {
        Error::AlreadyDone {
            idempotency_key, ..
        } => assert_eq!(idempotency_key, &key),
        other => panic!("{other:?}"),
    }
    assert!(err.is_already_done());
    assert!(err.to_string().starts_with("already done"), "{err}");
}

#[tokio::test]
async fn rate_limited_then_ok_is_retried_with_the_same_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/events/send"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-limit", "10")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("retry-after", "0"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/events/send"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit", "10")
                .insert_header("x-ratelimit-remaining", "9")
                .set_body_json(json!({"success": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let receipt = client
        .events()
        .send(&SendEventRequest::by_email("a@b.c", "deal_won"))
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    let keys = keys_of(&received);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the retry reuses the key");
    assert_eq!(keys[0], receipt.idempotency_key.as_str());
    assert_eq!(receipt.attempts, 2);
    assert!(!receipt.deduplicated);
    let seen = client.last_rate_limit().unwrap();
    assert_eq!((seen.limit, seen.remaining), (Some(10), Some(9)));
}

#[tokio::test]
async fn server_error_then_ok_on_a_send() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/transactional"))
        .respond_with(ResponseTemplate::new(500).set_body_raw("", "text/plain"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/transactional"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    let receipt = client(&server)
        .transactional()
        .send(&SendTransactionalRequest::new("t", "a@b.c"))
        .await
        .unwrap();
    let keys = keys_of(&server.received_requests().await.unwrap());
    assert_eq!(keys, vec![receipt.idempotency_key.to_string(); 2]);
}

#[tokio::test]
async fn conflict_after_a_lost_answer_means_the_first_attempt_landed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(409).set_body_json(json!({"success": false, "message": "dup"})),
        )
        .mount(&server)
        .await;
    let receipt = client(&server)
        .events()
        .send(&SendEventRequest::by_email("a@b.c", "deal_won"))
        .await
        .unwrap();
    assert!(receipt.deduplicated);
    assert_eq!(receipt.attempts, 2);
}

#[tokio::test]
async fn delete_after_a_lost_answer_counts_as_done() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"success": false, "message": "Contact not found."})),
        )
        .mount(&server)
        .await;
    let deleted = client(&server)
        .contacts()
        .delete(&ContactLookup::email("a@b.c"))
        .await
        .unwrap();
    assert_eq!(deleted.message, None);
}

#[tokio::test]
async fn exhausted_retries_report_the_last_error() {
    let server = one_answer(
        ResponseTemplate::new(429)
            .insert_header("x-ratelimit-limit", "10")
            .insert_header("x-ratelimit-remaining", "0"),
    )
    .await;
    let err = client(&server)
        .contacts()
        .update(&UpdateContactRequest::by_email("a@b.c"))
        .await
        .unwrap_err();
    match err {
        Error::RateLimited {
            limit,
            remaining,
            retry_after,
            ..
        } => {
            assert_eq!((limit, remaining, retry_after), (Some(10), Some(0), None));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "max_attempts = 3"
    );

    let server = one_answer(ResponseTemplate::new(503)).await;
    let err = client(&server).api_key().test().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_transient());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_long_retry_after_gives_up_instead_of_stalling() {
    let server = one_answer(ResponseTemplate::new(429).insert_header("retry-after", "3600")).await;
    let err = client(&server).api_key().test().await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn non_json_success_is_a_decode_error_with_the_body() {
    let server = one_answer(ResponseTemplate::new(200).set_body_raw("OK", "text/plain")).await;
    let err = client(&server).api_key().test().await.unwrap_err();
    match err {
        Error::Decode {
            raw_body,
            status: 200,
            ..
        } => assert_eq!(raw_body, "OK"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn timeouts_are_retried_for_safe_requests_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(500))
                .set_body_json(json!([])),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(500))
                .set_body_json(json!({"id": "x"})),
        )
        .mount(&server)
        .await;
    let client = loops_client::Client::builder()
        .api_key(crate::support::KEY)
        .base_url(format!("{}/api", server.uri()))
        .retry_policy(crate::support::fast_retries().with_max_attempts(2))
        .rate_limit(loops_client::RateLimit::Off)
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let err = client.mailing_lists().list().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportErrorKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_timeout() && err.is_transient());
    assert!(
        err.to_string().contains("50ms"),
        "says how long it waited: {err}"
    );
    let err = client
        .contacts()
        .create(&CreateContactRequest::new("a@b.c"))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let received = server.received_requests().await.unwrap();
    let gets = received
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .count();
    let posts = received
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!((gets, posts), (2, 1));
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    // Bind and drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = loops_client::Client::builder()
        .api_key(crate::support::KEY)
        .base_url(format!("http://127.0.0.1:{port}/api"))
        .retry_policy(crate::support::fast_retries())
        .build()
        .unwrap();
    let err = client.api_key().test().await.unwrap_err();
    match &err {
        Error::Transport { kind, .. } => {
            assert_eq!(*kind, TransportErrorKind::Connect)
        }
        other => panic!("{other:?}"),
    }
    assert!(err.is_transient());
    assert!(!err.is_timeout());
}
