//! Batch writes, the same for every resource that has them: chunks of the batch size,
//! partial failures, 504 halving, and updates refused without ids.

use kommo_client::contacts::ContactWrite;
use kommo_client::ids::*;
use kommo_client::leads::LeadWrite;
use kommo_client::tasks::TaskWrite;
use kommo_client::{Error, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{added, mount, ok};
use crate::support::client;

#[tokio::test]
async fn leads_add_splits_into_chunks_of_50() {
    let server = MockServer::start().await;
    let leads: Vec<LeadWrite> = (0..120)
        .map(|i| {
            LeadWrite::new()
                .name(format!("L{i}"))
                .request_id(i.to_string())
        })
        .collect();
    for (start, end) in [(0u64, 50u64), (50, 100), (100, 120)] {
        let body: Vec<Value> = (start..end)
            .map(|i| json!({"name": format!("L{i}"), "request_id": i.to_string()}))
            .collect();
        mount(
            &server,
            "POST",
            "/api/v4/leads",
            &[],
            Some(json!(body)),
            ok(added("leads", start + 1..end + 1)),
        )
        .await;
    }
    let results = client(&server).leads().add(leads).await.unwrap();
    assert_eq!(results.len(), 120);
    assert_eq!(
        (results[0].id, results[119].request_id.as_deref()),
        (1, Some("120"))
    );
}

#[tokio::test]
async fn leads_add_reports_a_partial_batch() {
    let server = MockServer::start().await;
    let c = crate::support::builder(&server)
        .batch_size(1)
        .long_lived_token(crate::support::TOKEN)
        .build()
        .unwrap();
    mount(
        &server,
        "POST",
        "/api/v4/leads",
        &[],
        Some(json!([{"name": "a"}])),
        ok(added("leads", 1..2)),
    )
    .await;
    let problem = json!({"title": "Gateway Timeout", "status": 504});
    mount(
        &server,
        "POST",
        "/api/v4/leads",
        &[],
        Some(json!([{"name": "b"}])),
        ResponseTemplate::new(504).set_body_json(problem),
    )
    .await;
    let err = c
        .leads()
        .add(vec![LeadWrite::new().name("a"), LeadWrite::new().name("b")])
        .await
        .unwrap_err();
    let Error::PartialBatch { committed, source } = err else {
        panic!("{err:?}")
    };
    assert_eq!(committed.len(), 1);
    assert!(
        matches!(*source, Error::GatewayTimeout(_)),
        "a POST is not retried: {source:?}"
    );
}

#[tokio::test]
async fn batch_updates_are_halved_on_504_but_creates_are_not() {
    let server = MockServer::start().await;
    let timeout =
        || ResponseTemplate::new(504).set_body_string("<html>504 Gateway Time-out</html>");
    let two = json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]);
    Mock::given(method("PATCH"))
        .and(path("/api/v4/leads"))
        .and(body_json(two))
        .respond_with(timeout())
        .mount(&server)
        .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 1, "name": "a"}])),
        ok(added("leads", 1..2)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 2, "name": "b"}])),
        ok(added("leads", 2..3)),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v4/leads"))
        .respond_with(timeout())
        .expect(1)
        .mount(&server)
        .await;
    let c = crate::support::builder(&server)
        .retry_policy(RetryPolicy::never())
        .long_lived_token(crate::support::TOKEN)
        .build()
        .unwrap();
    let updates = vec![
        LeadWrite::update(LeadId(1)).name("a"),
        LeadWrite::update(LeadId(2)).name("b"),
    ];
    let results = c.leads().update(updates).await.unwrap();
    assert_eq!(results.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2]);
    let err = c
        .leads()
        .add(vec![LeadWrite::new().name("a"), LeadWrite::new().name("b")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::GatewayTimeout(_)), "{err:?}");
}

#[tokio::test]
async fn batch_updates_without_ids_are_refused_before_sending() {
    let server = MockServer::start().await;
    let c = client(&server);
    let refused = [
        c.leads()
            .update(vec![LeadWrite::update(LeadId(1)), LeadWrite::new()])
            .await
            .unwrap_err(),
        c.contacts()
            .update(vec![ContactWrite::new().name("no id")])
            .await
            .unwrap_err(),
        c.tasks()
            .update(vec![TaskWrite::new("no id", 1)])
            .await
            .unwrap_err(),
    ];
    for (error, noun) in refused.iter().zip(["lead", "contact", "task"]) {
        let Error::InvalidRequest(reason) = error else {
            panic!("{noun}: {error:?}")
        };
        assert!(reason.contains(noun), "{reason}");
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing reached the API"
    );
}
