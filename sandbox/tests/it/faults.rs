//! Fault injection: 5xx without effect, latency, dropped connections with effect, and that the
//! client's retries with one idempotency key record every send exactly once.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use kommo_loops_sandbox::loops::{Config, NewContact, Sandbox};
use kommo_loops_sandbox::{FaultConfig, InjectedFault};
use loops_client::RateLimit;
use loops_client::contacts::{ContactLookup, UpdateContactRequest};
use loops_client::events::SendEventRequest;
use loops_client::transactional::SendTransactionalRequest;
use reqwest::Method;
use serde_json::json;

use crate::support::{api, client, client_with, fast_retries, http, sandbox, unlimited};

/// Every recorded key is distinct and there is one record per send.
fn assert_once(keys: Vec<Option<String>>, sends: usize) {
    assert_eq!(keys.len(), sends, "one record per send");
    let distinct: HashSet<_> = keys.iter().map(|k| k.clone().expect("keyed")).collect();
    assert_eq!(distinct.len(), sends, "no key recorded twice");
}

#[tokio::test]
async fn error_rate_and_latency_every_send_recorded_once() {
    let config = unlimited().seed(7).faults(
        FaultConfig::none()
            .error_rate(0.3)
            .latency(Duration::from_millis(5))
            .latency_jitter(Duration::from_millis(5)),
    );
    let sandbox = sandbox(config).await;
    let client = client_with(&sandbox, fast_retries(10), RateLimit::Off);
    let started = Instant::now();
    const N: usize = 30;
    for i in 0..N {
        if i % 2 == 0 {
            client
                .events()
                .send(&SendEventRequest::by_email(
                    format!("e{i}@example.com"),
                    "flaky",
                ))
                .await
                .unwrap();
        } else {
            client
                .transactional()
                .send(&SendTransactionalRequest::new(
                    "tx",
                    format!("t{i}@example.com"),
                ))
                .await
                .unwrap();
        }
    }
    let stats = sandbox.request_stats();
    assert!(
        stats.server_errors() > 0,
        "some 5xx were injected: {stats:?}"
    );
    assert_eq!(stats.total, N as u64 + stats.server_errors());
    assert!(started.elapsed() >= Duration::from_millis(5) * stats.total as u32);
    assert_once(
        sandbox
            .events()
            .into_iter()
            .map(|e| e.idempotency_key)
            .collect(),
        N / 2,
    );
    assert_once(
        sandbox
            .transactional_sends()
            .into_iter()
            .map(|s| s.idempotency_key)
            .collect(),
        N / 2,
    );
    assert!(
        sandbox.idempotency_conflicts().is_empty(),
        "a 5xx applies nothing"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_dropped_answer_is_applied_and_the_retry_is_deduplicated() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);
    sandbox.faults().drop_next(1);
    let receipt = client
        .events()
        .send(&SendEventRequest::by_email("ada@example.com", "dropped"))
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 2);
    assert!(
        receipt.deduplicated,
        "the retry got 409: the first attempt had landed"
    );
    assert_eq!(sandbox.events().len(), 1);
    assert_eq!(sandbox.idempotency_conflicts().len(), 1);
    let log = sandbox.request_log();
    assert_eq!(log[0].fault, Some(InjectedFault::Dropped));
    assert_eq!(log[0].status, 200);
    assert_eq!(log[1].status, 409);
    assert_eq!(
        sandbox.request_stats().by_endpoint["POST /v1/events/send"].dropped,
        1
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn drop_rate_every_send_recorded_once() {
    let sandbox = sandbox(
        unlimited()
            .seed(11)
            .faults(FaultConfig::none().drop_rate(0.4)),
    )
    .await;
    let client = client_with(&sandbox, fast_retries(10), RateLimit::Off);
    const N: usize = 20;
    let mut deduplicated = 0;
    for i in 0..N {
        let receipt = client
            .events()
            .send(&SendEventRequest::by_email(
                format!("d{i}@example.com"),
                "lossy",
            ))
            .await
            .unwrap();
        deduplicated += usize::from(receipt.deduplicated);
    }
    let dropped: u64 = sandbox
        .request_stats()
        .by_endpoint
        .values()
        .map(|s| s.dropped)
        .sum();
    assert!(dropped > 0);
    assert!(deduplicated > 0);
    assert_once(
        sandbox
            .events()
            .into_iter()
            .map(|e| e.idempotency_key)
            .collect(),
        N,
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_for_raw_clients() {
    let sandbox = sandbox(unlimited()).await;
    sandbox.faults().drop_next(1);
    let result = async {
        api(&sandbox, Method::PUT, "/v1/contacts/update")
            .json(&json!({"email": "ada@example.com"}))
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(
        result.is_err(),
        "the answer must not arrive whole: {result:?}"
    );
    assert!(sandbox.contact("ada@example.com").is_some(), "applied");

    // Safe requests are simply retried by the client; a delete whose answer was lost and that
    // then finds nothing counts as done.
    sandbox.faults().drop_next(1);
    client(&sandbox)
        .contacts()
        .update(&UpdateContactRequest::by_email("bob@example.com"))
        .await
        .unwrap();
    assert!(sandbox.contact("bob@example.com").is_some());
    sandbox.faults().drop_next(1);
    let deleted = client(&sandbox)
        .contacts()
        .delete(&ContactLookup::email("bob@example.com"))
        .await
        .unwrap();
    assert_eq!(
        deleted.message, None,
        "answer lost, retry found nothing left"
    );
    assert!(sandbox.contact("bob@example.com").is_none());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn injected_errors_apply_nothing_and_look_like_a_load_balancer() {
    let sandbox = sandbox(unlimited().seed(3)).await;
    sandbox.faults().fail_next(12);
    let mut seen = HashSet::new();
    for i in 0..12 {
        let response = api(&sandbox, Method::POST, "/v1/events/send")
            .json(&json!({"email": format!("x{i}@example.com"), "eventName": "e"}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.text().await.unwrap();
        match status {
            500 => assert!(
                content_type.starts_with("application/json") && body.contains("\"success\":false")
            ),
            502 | 503 => assert!(content_type.starts_with("text/html") && body.contains("<html>")),
            other => panic!("unexpected {other}"),
        }
        seen.insert(status);
    }
    assert_eq!(seen.len(), 3, "500, 502 and 503 all show up: {seen:?}");
    assert!(sandbox.events().is_empty());
    assert!(sandbox.contacts().is_empty());
    assert!(
        sandbox
            .request_log()
            .iter()
            .all(|r| r.fault == Some(InjectedFault::ServerError))
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn inspection_routes_never_see_faults() {
    let sandbox =
        sandbox(unlimited().faults(FaultConfig::none().error_rate(1.0).drop_rate(1.0))).await;
    sandbox
        .add_contact(NewContact::new("ada@example.com"))
        .unwrap();
    for _ in 0..5 {
        let response = http()
            .get(format!("{}/contacts", sandbox.inspect_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body[0]["email"], "ada@example.com");
    }
    assert_eq!(
        sandbox.request_stats().total,
        0,
        "inspection is not counted"
    );
    sandbox.shutdown().await;
}

async fn statuses(sandbox: &Sandbox, n: usize) -> Vec<u16> {
    let http = http();
    let mut out = Vec::new();
    for _ in 0..n {
        let response = http
            .get(format!("{}/v1/lists", sandbox.base_url()))
            .bearer_auth(sandbox.api_key())
            .send()
            .await
            .unwrap();
        out.push(response.status().as_u16());
    }
    out
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let config = || {
        Config::default()
            .rate_limit(None)
            .seed(1234)
            .faults(FaultConfig::none().error_rate(0.5).force_429_rate(0.2))
    };
    let a = sandbox(config()).await;
    let b = sandbox(config()).await;
    let first = statuses(&a, 40).await;
    assert_eq!(first, statuses(&b, 40).await);
    assert!(first.contains(&200) && first.contains(&429) && first.iter().any(|s| *s >= 500));
    // Turning the knobs off at run time takes effect at once.
    a.faults().clear();
    assert!(statuses(&a, 10).await.iter().all(|s| *s == 200));
    // And reset brings back the configured faults and generator.
    a.reset();
    assert_eq!(statuses(&a, 40).await, first);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_refused_key_does_not_use_up_a_one_shot_fault() {
    let sandbox = sandbox(unlimited()).await;
    sandbox.faults().fail_next(1);
    let http = http();
    let url = format!("{}/v1/api-key", sandbox.base_url());
    let refused = http.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let failed = http
        .get(&url)
        .bearer_auth(sandbox.api_key())
        .send()
        .await
        .unwrap();
    assert!(failed.status().is_server_error(), "{}", failed.status());
    let fine = http
        .get(&url)
        .bearer_auth(sandbox.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), 200);
    sandbox.shutdown().await;
}
