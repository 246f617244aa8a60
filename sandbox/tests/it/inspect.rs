//! The inspection API over HTTP, seeding, reset, and the server's life cycle.

use kommo_loops_sandbox::loops::{Config, NewContact, Sandbox};
use loops_client::contacts::{ContactLookup, CreateContactRequest};
use loops_client::events::SendEventRequest;
use loops_client::idempotency::IdempotencyKey;
use loops_client::transactional::SendTransactionalRequest;
use serde_json::{Value, json};

use crate::support::{client, http, sandbox, unlimited};

async fn get(sandbox: &Sandbox, path: &str) -> Value {
    let response = http()
        .get(format!("{}{path}", sandbox.inspect_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn post(sandbox: &Sandbox, path: &str, body: Value) -> (u16, Value) {
    let response = http()
        .post(format!("{}{path}", sandbox.inspect_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn what_the_client_did_is_visible_over_http() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);
    client
        .contacts()
        .create(&CreateContactRequest::new("ada@example.com").user_id("u_ada"))
        .await
        .unwrap();
    let key = IdempotencyKey::new("evt-1").unwrap();
    let event = SendEventRequest::by_email("ada@example.com", "signup").idempotency_key(key);
    client.events().send(&event).await.unwrap();
    let _ = client.events().send(&event).await.unwrap_err();
    client
        .transactional()
        .send(
            &SendTransactionalRequest::new("tx_1", "ada@example.com").data_variable("name", "Ada"),
        )
        .await
        .unwrap();

    let contacts = get(&sandbox, "/contacts?email=ADA@example.com").await;
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    assert_eq!(contacts[0]["userId"], "u_ada");
    assert_eq!(contacts[0]["firstName"], Value::Null);
    assert_eq!(contacts[0]["userGroup"], "");
    assert_eq!(contacts[0]["_suppressed"], false);
    assert_eq!(get(&sandbox, "/contacts?userId=u_ada").await, contacts);
    assert_eq!(get(&sandbox, "/contacts?userId=nobody").await, json!([]));

    let events = get(&sandbox, "/events?eventName=signup").await;
    assert_eq!(events.as_array().unwrap().len(), 1);
    assert_eq!(events[0]["idempotencyKey"], "evt-1");
    assert_eq!(events[0]["email"], "ada@example.com");
    assert!(events[0]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(get(&sandbox, "/events?eventName=other").await, json!([]));

    let sends = get(&sandbox, "/transactional?transactionalId=tx_1").await;
    assert_eq!(sends[0]["dataVariables"], json!({"name": "Ada"}));

    let stats = get(&sandbox, "/requests").await;
    assert_eq!(stats["total"], 4);
    assert_eq!(
        stats["byEndpoint"]["POST /v1/events/send"]["byStatus"]["200"],
        1
    );
    assert_eq!(
        stats["byEndpoint"]["POST /v1/events/send"]["byStatus"]["409"],
        1
    );
    assert_eq!(stats["byStatus"]["200"], 3);
    let log = get(&sandbox, "/requests/log").await;
    assert_eq!(log.as_array().unwrap().len(), 4);
    assert_eq!(log[0]["endpoint"], "POST /v1/contacts/create");

    let conflicts = get(&sandbox, "/idempotency-conflicts").await;
    assert_eq!(conflicts[0]["idempotencyKey"], "evt-1");
    assert_eq!(get(&sandbox, "/webhooks").await, json!([]));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn seeding_faults_and_reset_over_http() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);

    assert_eq!(
        post(&sandbox, "/lists", json!({"id": "l1", "name": "News"}))
            .await
            .0,
        200
    );
    assert_eq!(
        post(
            &sandbox,
            "/contact-properties",
            json!({"name": "plan", "type": "string"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &sandbox,
            "/contact-properties",
            json!({"name": "plan", "type": "string"})
        )
        .await
        .0,
        400
    );
    let (status, body) = post(
        &sandbox,
        "/contacts",
        json!({"email": "ada@example.com", "userId": "u1", "plan": "pro", "mailingLists": {"l1": true}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        post(&sandbox, "/contacts", json!({"email": "ada@example.com"}))
            .await
            .0,
        400
    );
    assert_eq!(post(&sandbox, "/contacts", json!({"nope": 1})).await.0, 400);
    assert_eq!(
        post(
            &sandbox,
            "/suppressions",
            json!({"email": "ada@example.com"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &sandbox,
            "/transactional-emails",
            json!({"id": "tx_1", "name": "Welcome", "requiredVariables": ["name"]}),
        )
        .await
        .0,
        200
    );

    let found = client
        .contacts()
        .find(&ContactLookup::email("ada@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.property("plan"), Some(&json!("pro")));
    assert_eq!(found.mailing_lists.get("l1"), Some(&true));
    assert!(
        client
            .contacts()
            .check_suppression(&ContactLookup::user_id("u1"))
            .await
            .unwrap()
            .is_suppressed
    );
    let err = client
        .transactional()
        .send(&SendTransactionalRequest::new("tx_1", "ada@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));

    // Faults over HTTP.
    let response = http()
        .put(format!("{}/faults", sandbox.inspect_url()))
        .json(&json!({"errorRate": 1.0, "latencyMs": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(sandbox.faults().config().error_rate, 1.0);
    assert_eq!(get(&sandbox, "/faults").await["latencyMs"], 1);
    assert!(client.api_key().test().await.is_err());

    // Reset: back to the (empty) configuration, faults off again.
    assert_eq!(post(&sandbox, "/reset", json!({})).await.0, 200);
    assert_eq!(get(&sandbox, "/contacts").await, json!([]));
    assert_eq!(get(&sandbox, "/requests").await["total"], 0);
    assert_eq!(sandbox.faults().config().error_rate, 0.0);
    assert!(client.mailing_lists().list().await.unwrap().is_empty());
    client
        .transactional()
        .send(&SendTransactionalRequest::new("tx_any", "a@example.com"))
        .await
        .expect("no catalogue after reset: any id goes");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn rust_seeding_and_unknown_routes() {
    let sandbox = sandbox(unlimited()).await;
    let id = sandbox
        .add_contact(
            NewContact::new("ada@example.com")
                .first_name("Ada")
                .unsubscribed(),
        )
        .unwrap();
    assert!(
        sandbox
            .add_contact(NewContact::new("ada@example.com"))
            .is_err()
    );
    assert!(
        sandbox
            .add_contact(NewContact::new("b@example.com").mailing_list("missing"))
            .is_err()
    );
    assert_eq!(sandbox.mark_suppressed("ada@example.com").unwrap(), id);
    let contact = sandbox.contact("ada@example.com").unwrap();
    assert!(contact.suppressed && !contact.subscribed);

    // Outside the API: 404. Inside it, the key is checked first, as for any API call.
    for path in ["/", "/_sandbox/nothing"] {
        let response = http()
            .get(format!("http://{}{path}", sandbox.addr()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    for (key, status) in [("wrong", 401), (sandbox.api_key(), 404)] {
        let response = http()
            .get(format!("{}/v2/contacts", sandbox.base_url()))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["success"], false);
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let config = Config::default()
        .api_key("sk_very_secret_value")
        .webhook(
            "http://127.0.0.1:9/",
            "whsec_c3VwZXItc2VjcmV0LWtleS1ieXRlcw==",
        )
        .unwrap();
    let printed = format!("{config:?}");
    assert!(!printed.contains("sk_very_secret_value"), "{printed}");
    assert!(!printed.contains("c3VwZXItc2Vj"), "{printed}");
    let sandbox = Sandbox::start(config).await.unwrap();
    let printed = format!("{sandbox:?}");
    assert!(!printed.contains("sk_very_secret_value"), "{printed}");
    assert_eq!(sandbox.api_key(), "sk_very_secret_value");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn shutdown_and_drop_close_the_port() {
    // A chosen port.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let sandbox = Sandbox::start(Config::default().port(port)).await.unwrap();
    assert_eq!(sandbox.base_url(), format!("http://127.0.0.1:{port}/api"));
    let client = client(&sandbox);
    client.api_key().test().await.unwrap();
    sandbox.shutdown().await;
    let err = client.api_key().test().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    // Dropping stops the server in the background, idle keep-alive connections included.
    let dropped = Sandbox::start(Config::default()).await.unwrap();
    let addr = dropped.addr();
    let client = crate::support::client(&dropped);
    client.api_key().test().await.unwrap();
    drop(dropped);
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(closed, "nothing listens after drop");
    assert!(
        client.api_key().test().await.is_err(),
        "the pooled connection is closed too"
    );
}
