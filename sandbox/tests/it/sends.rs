//! Events and transactional sends: recorded exactly once, idempotency keys honoured.

use std::time::Duration;

use kommo_loops_sandbox::loops::{
    MailingListSeed, NewContact, PropertyKind, TransactionalTemplate,
};
use loops_client::Error;
use loops_client::contacts::ContactIdentity;
use loops_client::events::SendEventRequest;
use loops_client::idempotency::IdempotencyKey;
use loops_client::transactional::SendTransactionalRequest;
use reqwest::Method;
use serde_json::json;

use crate::support::{api, client, json, sandbox, unlimited};

#[tokio::test]
async fn a_repeated_key_is_already_done_and_recorded_once() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);
    let key = IdempotencyKey::new("kommo-lead-42-won").unwrap();
    let event = SendEventRequest::by_email("ada@example.com", "deal_won")
        .event_property("value", 1200)
        .idempotency_key(key.clone());

    let receipt = client.events().send(&event).await.unwrap();
    assert_eq!(receipt.idempotency_key, key);
    let err = client.events().send(&event).await.unwrap_err();
    match &err {
        Error::AlreadyDone {
            idempotency_key, ..
        } => assert_eq!(idempotency_key, &key),
        other => panic!("expected AlreadyDone, got {other:?}"),
    }
    assert!(err.is_already_done());
    assert_eq!(sandbox.events().len(), 1);
    assert_eq!(
        sandbox.events()[0].idempotency_key.as_deref(),
        Some(key.as_str())
    );

    let send =
        SendTransactionalRequest::new("tx_any", "ada@example.com").idempotency_key(key.clone());
    client.transactional().send(&send).await.unwrap();
    assert!(
        client
            .transactional()
            .send(&send)
            .await
            .unwrap_err()
            .is_already_done()
    );
    assert_eq!(sandbox.transactional_sends().len(), 1);

    let conflicts = sandbox.idempotency_conflicts();
    assert_eq!(conflicts.len(), 2);
    assert_eq!(conflicts[0].endpoint, "POST /v1/events/send");
    assert_eq!(conflicts[1].endpoint, "POST /v1/transactional");
    assert!(conflicts.iter().all(|c| c.idempotency_key == key.as_str()));

    let stats = sandbox.request_stats();
    assert_eq!(stats.endpoint_status("POST /v1/events/send", 409), 1);
    assert_eq!(stats.endpoint_status("POST /v1/transactional", 200), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn keys_longer_than_100_characters_are_refused() {
    let sandbox = sandbox(unlimited()).await;
    let body = json!({"email": "a@example.com", "eventName": "e"});
    let long = api(&sandbox, Method::POST, "/v1/events/send")
        .header("idempotency-key", "k".repeat(101))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(long.status(), 400);
    assert_eq!(json(long).await["success"], false);
    let ok = api(&sandbox, Method::POST, "/v1/events/send")
        .header("idempotency-key", "k".repeat(100))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(json(ok).await, json!({"success": true}));
    assert_eq!(sandbox.events().len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn keys_are_forgotten_after_24_hours_on_tokio_time() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);
    let event = SendEventRequest::by_email("ada@example.com", "daily")
        .idempotency_key(IdempotencyKey::new("daily-2026-01-01").unwrap());
    client.events().send(&event).await.unwrap();

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(23 * 3600)).await;
    tokio::time::resume();
    assert!(
        client
            .events()
            .send(&event)
            .await
            .unwrap_err()
            .is_already_done()
    );

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(3600)).await;
    tokio::time::resume();
    client.events().send(&event).await.unwrap();
    assert_eq!(sandbox.events().len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn events_update_contacts_and_lists() {
    let sandbox = sandbox(
        unlimited()
            .list(MailingListSeed::new("cm06f5v0e45nf0ml5754o9cix", "Beta"))
            .custom_property("plan", PropertyKind::String),
    )
    .await;
    let client = client(&sandbox);
    sandbox
        .add_contact(NewContact::new("known@example.com").user_id("usr_1"))
        .unwrap();

    // The fixture's body: both identifiers, event props, a contact prop and a list.
    client
        .events()
        .send(
            &SendEventRequest::new(
                ContactIdentity::both("user@example.com", "usr_123"),
                "signup",
            )
            .event_property("plan", "pro")
            .event_property("trialDays", 14)
            .mailing_list("cm06f5v0e45nf0ml5754o9cix", true)
            .contact_property("firstName", "Alex"),
        )
        .await
        .unwrap();
    let contact = sandbox.contact_by_user_id("usr_123").unwrap();
    assert_eq!(contact.email, "user@example.com");
    assert_eq!(contact.first_name.as_deref(), Some("Alex"));
    assert_eq!(contact.mailing_lists.len(), 1);

    // By userId alone: fine for a known one, 400 for an unknown one.
    client
        .events()
        .send(&SendEventRequest::by_user_id("usr_1", "login"))
        .await
        .unwrap();
    let err = client
        .events()
        .send(&SendEventRequest::by_user_id("usr_404", "login"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));

    let names: Vec<String> = sandbox.events().into_iter().map(|e| e.event_name).collect();
    assert_eq!(names, ["signup", "login"]);
    assert_eq!(sandbox.events_for("known@example.com").len(), 1);
    // A list that does not exist is refused.
    let err = client
        .events()
        .send(&SendEventRequest::by_email("x@example.com", "e").mailing_list("nope", true))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn transactional_details() {
    let sandbox = sandbox(
        unlimited()
            .attachments_enabled(false)
            .transactional(
                TransactionalTemplate::new("tx_reset", "Reset")
                    .required(["login_url"])
                    .optional(["name"]),
            )
            .transactional(TransactionalTemplate::new("tx_draft", "Draft").draft()),
    )
    .await;
    let client = client(&sandbox);

    // addToAudience creates the contact; without it none is made.
    client
        .transactional()
        .send(
            &SendTransactionalRequest::new("tx_reset", "a@example.com")
                .data_variable("login_url", "https://x"),
        )
        .await
        .unwrap();
    assert!(sandbox.contact("a@example.com").is_none());
    client
        .transactional()
        .send(
            &SendTransactionalRequest::new("tx_reset", "b@example.com")
                .data_variable("login_url", "https://x")
                .data_variable("name", "")
                .add_to_audience(true),
        )
        .await
        .unwrap();
    assert!(sandbox.contact("b@example.com").is_some());
    assert!(sandbox.transactional_sends()[1].add_to_audience);

    // Raw: the exact 400 body for missing variables.
    let response = api(&sandbox, Method::POST, "/v1/transactional")
        .json(&json!({"transactionalId": "tx_reset", "email": "c@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await,
        json!({
            "success": false,
            "message": "Missing required fields: login_url",
            "error": {"path": "dataVariables", "message": "Missing required fields: login_url"},
            "transactionalId": "tx_reset"
        })
    );
    // A draft cannot be sent; attachments are off here.
    let err = client
        .transactional()
        .send(&SendTransactionalRequest::new("tx_draft", "c@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    let err = client
        .transactional()
        .send(
            &SendTransactionalRequest::new("tx_reset", "c@example.com")
                .data_variable("login_url", "https://x")
                .attachment(loops_client::transactional::Attachment::from_bytes(
                    "a.txt",
                    "text/plain",
                    b"hi",
                )),
        )
        .await
        .unwrap_err();
    assert_eq!(err.body().unwrap().path.as_deref(), Some("attachments"));
    assert_eq!(sandbox.transactional_sends().len(), 2);
    sandbox.shutdown().await;
}
