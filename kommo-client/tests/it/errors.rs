//! Error mapping, retries, the rate limiter and the circuit breaker against a mock server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kommo_client::breaker::{BreakerConfig, BreakerState};
use kommo_client::error::TransportErrorKind;
use kommo_client::ids::LeadId;
use kommo_client::leads::LeadWrite;
use kommo_client::rate_limit::{RateLimiter, WindowLimit};
use kommo_client::{Client, Error, RateLimit, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{TOKEN, builder, client, fixture};

fn problem(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/problem+json")
}

/// Answers from a script, one response per call (the last one repeats).
struct Script(Vec<ResponseTemplate>, AtomicUsize);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.1.fetch_add(1, Ordering::SeqCst);
        self.0[i.min(self.0.len() - 1)].clone()
    }
}

async fn lead_endpoint(server: &MockServer, responses: Vec<ResponseTemplate>) {
    Mock::given(method("GET"))
        .and(path("/api/v4/leads/1"))
        .respond_with(Script(responses, AtomicUsize::new(0)))
        .mount(server)
        .await;
}

#[tokio::test]
async fn statuses_map_to_distinct_errors() {
    type Check = fn(&Error) -> bool;
    let cases: Vec<(ResponseTemplate, Check)> = vec![
        (problem(400, &fixture("error_400_validation.json")), |e| {
            matches!(e, Error::Validation { .. })
        }),
        (
            problem(
                400,
                r#"{"title":"Bad Request","status":400,"detail":"Request data can not be empty"}"#,
            ),
            |e| matches!(e, Error::BadRequest(_)),
        ),
        (
            problem(401, r#"{"title":"Unauthorized","status":401}"#),
            |e| matches!(e, Error::Unauthorized(_)),
        ),
        (
            problem(402, r#"{"title":"Payment Required","status":402}"#),
            |e| matches!(e, Error::PaymentRequired(_)),
        ),
        (
            problem(
                403,
                r#"{"title":"Forbidden","status":403,"detail":"no rights"}"#,
            ),
            |e| matches!(e, Error::Forbidden(_)),
        ),
        (problem(404, r#"{"title":"Not Found","status":404}"#), |e| {
            matches!(e, Error::NotFound(_))
        }),
        (
            problem(405, r#"{"title":"Method Not Allowed","status":405}"#),
            |e| matches!(e, Error::Api(_)),
        ),
        (
            ResponseTemplate::new(200).set_body_string("not json"),
            |e| matches!(e, Error::Decode { .. }),
        ),
    ];
    for (response, check) in cases {
        let server = MockServer::start().await;
        lead_endpoint(&server, vec![response]).await;
        let err = client(&server)
            .leads()
            .get(LeadId(1), &[])
            .await
            .unwrap_err();
        assert!(check(&err), "{err:?}");
        assert!(!format!("{err:?} {err}").contains(TOKEN));
    }
}

#[tokio::test]
async fn validation_errors_name_the_field_and_keep_the_request_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v4/leads"))
        .respond_with(
            problem(400, &fixture("error_400_validation.json"))
                .insert_header("x-request-id", "abc-123"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .leads()
        .add(vec![LeadWrite::new().name("x")])
        .await
        .unwrap_err();
    let groups = err.validation_errors();
    assert_eq!(groups[0].request_id.as_deref(), Some("0"));
    assert_eq!(groups[0].errors[0].path, "custom_fields_values.0.field_id");
    assert_eq!(
        err.problem().unwrap().request_id.as_deref(),
        Some("abc-123")
    );
}

#[tokio::test]
async fn retries_429_then_succeeds_honouring_retry_after() {
    let server = MockServer::start().await;
    let limited = ResponseTemplate::new(429)
        .set_body_json(json!({"title": "Too Many Requests", "status": 429, "retry_after": 1}));
    lead_endpoint(
        &server,
        vec![
            limited,
            ResponseTemplate::new(200).set_body_json(json!({"id": 1})),
        ],
    )
    .await;
    let started = Instant::now();
    let lead = client(&server)
        .leads()
        .get(LeadId(1), &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.id, LeadId(1));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited retry_after"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn long_429_waits_are_returned_not_slept() {
    let server = MockServer::start().await;
    lead_endpoint(
        &server,
        vec![problem(429, &fixture("error_429_too_many_requests.json"))],
    )
    .await;
    let err = client(&server)
        .leads()
        .get(LeadId(1), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(300))
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_only() {
    let server = MockServer::start().await;
    lead_endpoint(
        &server,
        vec![
            ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"),
            ResponseTemplate::new(200).set_body_json(json!({"id": 1})),
        ],
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v4/leads"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert!(c.leads().get(LeadId(1), &[]).await.unwrap().is_some());
    let err = c.leads().add(vec![LeadWrite::new()]).await.unwrap_err();
    assert!(matches!(err, Error::Server(_)));
    let server = MockServer::start().await;
    lead_endpoint(&server, vec![ResponseTemplate::new(500)]).await;
    let err = client(&server)
        .leads()
        .get(LeadId(1), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server(_)));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "bounded attempts"
    );
}

#[tokio::test]
async fn request_timeouts_are_transport_timeouts() {
    let server = MockServer::start().await;
    lead_endpoint(
        &server,
        vec![ResponseTemplate::new(200).set_delay(Duration::from_millis(500))],
    )
    .await;
    let c = builder(&server)
        .timeout(Duration::from_millis(50))
        .retry_policy(RetryPolicy::never())
        .long_lived_token(TOKEN)
        .build()
        .unwrap();
    let err = c.leads().get(LeadId(1), &[]).await.unwrap_err();
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
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let c = Client::builder()
        .base_url("http://127.0.0.1:9")
        .rate_limit(RateLimit::Off)
        .retry_policy(RetryPolicy::never())
        .long_lived_token(TOKEN)
        .build()
        .unwrap();
    let err = c.leads().get(LeadId(1), &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportErrorKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient() && !err.is_timeout());
}

#[tokio::test]
async fn html_403_opens_the_breaker_and_stops_calling_until_the_probe() {
    let server = MockServer::start().await;
    let block = ResponseTemplate::new(403).set_body_raw(
        b"<html><body>403 Forbidden</body></html>".to_vec(),
        "text/html",
    );
    lead_endpoint(
        &server,
        vec![
            block.clone(),
            block,
            ResponseTemplate::new(200).set_body_json(json!({"id": 1})),
        ],
    )
    .await;
    let c = builder(&server)
        .breaker(
            BreakerConfig::default()
                .with_cool_down(Duration::from_millis(300), Duration::from_secs(1)),
        )
        .long_lived_token(TOKEN)
        .build()
        .unwrap();
    let err = c.leads().get(LeadId(1), &[]).await.unwrap_err();
    let Error::Blocked {
        retry_after,
        problem,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(*retry_after <= Duration::from_millis(300));
    assert!(
        problem.as_ref().unwrap().body.looks_like_html(),
        "the HTML page is kept"
    );
    assert!(matches!(c.breaker_state(), BreakerState::Open { .. }));
    // While open, calls fail fast without touching the network.
    for _ in 0..5 {
        assert!(
            c.leads()
                .get(LeadId(1), &[])
                .await
                .unwrap_err()
                .is_blocked()
        );
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // After the cool-down, one probe; it still gets 403, so the breaker reopens (longer).
    tokio::time::sleep(Duration::from_millis(320)).await;
    assert!(matches!(
        c.breaker_state(),
        BreakerState::HalfOpen {
            probe_in_flight: false
        }
    ));
    let probe_sent = Instant::now();
    assert!(
        c.leads()
            .get(LeadId(1), &[])
            .await
            .unwrap_err()
            .is_blocked()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let BreakerState::Open { until } = c.breaker_state() else {
        panic!()
    };
    assert!(
        until >= probe_sent + Duration::from_millis(600),
        "cool-down doubled"
    );
    // The block lifts: the next probe succeeds and the breaker closes.
    tokio::time::sleep(Duration::from_millis(620)).await;
    assert!(c.leads().get(LeadId(1), &[]).await.unwrap().is_some());
    assert_eq!(c.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn repeated_429_then_403_is_a_block_even_as_problem_json() {
    let server = MockServer::start().await;
    let limited =
        ResponseTemplate::new(429).set_body_json(json!({"status": 429, "retry_after": 0}));
    let forbidden = problem(403, r#"{"title":"Forbidden","status":403}"#);
    lead_endpoint(&server, vec![limited.clone(), limited, forbidden]).await;
    let c = builder(&server)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(5)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .long_lived_token(TOKEN)
        .build()
        .unwrap();
    let err = c.leads().get(LeadId(1), &[]).await.unwrap_err();
    assert!(err.is_blocked(), "{err:?}");
    assert!(err.retry_after().is_some());
    c.reset_breaker();
    assert_eq!(c.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn rate_limiter_spaces_requests_and_is_shared_by_clones() {
    let server = MockServer::start().await;
    lead_endpoint(
        &server,
        vec![ResponseTemplate::new(200).set_body_json(json!({"id": 1}))],
    )
    .await;
    let c = builder(&server)
        .rate_limit(RateLimit::new(2, Duration::from_millis(400)))
        .long_lived_token(TOKEN)
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.leads().get(LeadId(1), &[]).await.map(|l| l.is_some()) })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    // 5 requests at 2 per 400 ms: the 5th starts no earlier than 800 ms in.
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    let shared = Arc::new(RateLimiter::new(WindowLimit::per_second(7)));
    let a = builder(&server)
        .rate_limiter(shared.clone())
        .long_lived_token(TOKEN)
        .build()
        .unwrap();
    assert_eq!(
        a.leads().get(LeadId(1), &[]).await.unwrap().unwrap().id,
        LeadId(1)
    );
    assert_eq!(RateLimit::from(shared.limit()), RateLimit::KOMMO_DEFAULT);
}

#[tokio::test]
async fn long_lived_token_401_is_final_and_secrets_stay_out_of_debug() {
    let server = MockServer::start().await;
    lead_endpoint(
        &server,
        vec![problem(
            401,
            r#"{"title":"Unauthorized","status":401,"detail":"Invalid user name or password"}"#,
        )],
    )
    .await;
    let c = client(&server);
    let err = c.leads().get(LeadId(1), &[]).await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "no refresh, no retry"
    );
    let printed = format!("{c:?} {err:?} {err}");
    assert!(!printed.contains(TOKEN), "{printed}");
}
