//! Contact semantics: duplicates, upsert rules, find/delete, and request checks.

use kommo_loops_sandbox::loops::{Config, NewContact, PropertyKind};
use loops_client::Error;
use loops_client::contacts::{
    ContactIdentity, ContactLookup, CreateContactRequest, UpdateContactRequest,
};
use reqwest::Method;
use serde_json::json;

use crate::support::{api, client, json, sandbox, unlimited};

#[tokio::test]
async fn create_twice_is_already_exists() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);
    client
        .contacts()
        .create(&CreateContactRequest::new("ada@example.com").user_id("u1"))
        .await
        .unwrap();
    for request in [
        CreateContactRequest::new("ada@example.com"),
        CreateContactRequest::new("ADA@example.com"),
        CreateContactRequest::new("other@example.com").user_id("u1"),
    ] {
        let err = client.contacts().create(&request).await.unwrap_err();
        assert!(matches!(err, Error::AlreadyExists { .. }), "{err:?}");
        assert_eq!(
            err.body().unwrap().message.as_deref(),
            Some("Email or userId is already on list.")
        );
    }
    assert_eq!(sandbox.contacts().len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn upsert_semantics() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);

    // Email only: creates, then updates the same contact.
    let id = client
        .contacts()
        .update(&UpdateContactRequest::by_email("ada@example.com").property("firstName", "Ada"))
        .await
        .unwrap();
    let again = client
        .contacts()
        .update(&UpdateContactRequest::by_email("ada@example.com").property("lastName", "L"))
        .await
        .unwrap();
    assert_eq!(id, again);
    let contact = sandbox.contact("ada@example.com").unwrap();
    assert_eq!(
        (contact.first_name.as_deref(), contact.last_name.as_deref()),
        (Some("Ada"), Some("L"))
    );

    // userId alone, never linked: 400, nothing created.
    let err = client
        .contacts()
        .update(&UpdateContactRequest::by_user_id("u_unknown"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert_eq!(sandbox.contacts().len(), 1);

    // Both: the email matches, so the userId is filled in.
    let linked = client
        .contacts()
        .update(&UpdateContactRequest::new(ContactIdentity::both(
            "ada@example.com",
            "u_ada",
        )))
        .await
        .unwrap();
    assert_eq!(linked, id);
    assert_eq!(
        sandbox.contact_by_user_id("u_ada").unwrap().email,
        "ada@example.com"
    );

    // Email change through the userId.
    client
        .contacts()
        .update(&UpdateContactRequest::new(ContactIdentity::both(
            "ada@new.example.com",
            "u_ada",
        )))
        .await
        .unwrap();
    assert!(sandbox.contact("ada@example.com").is_none());
    assert_eq!(
        sandbox.contact("ada@new.example.com").unwrap().id,
        id.as_str()
    );

    // Neither known: a new contact with both.
    let other = client
        .contacts()
        .update(&UpdateContactRequest::new(ContactIdentity::both(
            "bob@example.com",
            "u_bob",
        )))
        .await
        .unwrap();
    assert_ne!(other, id);
    assert_eq!(sandbox.contacts().len(), 2);

    // The two identifiers on two different contacts: 400.
    let err = client
        .contacts()
        .update(&UpdateContactRequest::new(ContactIdentity::both(
            "bob@example.com",
            "u_ada",
        )))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn find_and_delete_edges() {
    let sandbox = sandbox(unlimited()).await;
    let client = client(&sandbox);
    sandbox
        .add_contact(NewContact::new("ada+crm@example.com").user_id("u1"))
        .unwrap();

    // A `+` in the address survives the query string.
    assert!(
        client
            .contacts()
            .find(&ContactLookup::email("ada+crm@example.com"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        client
            .contacts()
            .find(&ContactLookup::email("nobody@example.com"))
            .await
            .unwrap()
            .is_none()
    );

    // Exactly one identifier, else 400 (the client refuses to send these, so go raw).
    for query in ["", "?email=a@b.co&userId=u1", "?email=not-an-email"] {
        let response = api(&sandbox, Method::GET, &format!("/v1/contacts/find{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(json(response).await["success"], false);
    }
    let response = api(&sandbox, Method::POST, "/v1/contacts/delete")
        .json(&json!({"email": "ada+crm@example.com", "userId": "u1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // Missing: 404 on the first try.
    let err = client
        .contacts()
        .delete(&ContactLookup::user_id("u_missing"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    client
        .contacts()
        .delete(&ContactLookup::user_id("u1"))
        .await
        .unwrap();
    assert!(sandbox.contacts().is_empty());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn properties_must_exist_unless_lenient() {
    let strict = sandbox(unlimited()).await;
    let err = client(&strict)
        .contacts()
        .update(&UpdateContactRequest::by_email("a@example.com").property("color", "red"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(strict.contacts().is_empty());
    strict.shutdown().await;

    let lenient = sandbox(unlimited().strict_properties(false)).await;
    client(&lenient)
        .contacts()
        .update(&UpdateContactRequest::by_email("a@example.com").property("score", 3))
        .await
        .unwrap();
    assert_eq!(
        lenient.contact("a@example.com").unwrap().properties["score"],
        3
    );
    lenient.shutdown().await;

    // A seeded property can be used at once.
    let seeded = sandbox(Config::default().rate_limit(None)).await;
    seeded
        .add_contact_property("plan", PropertyKind::String)
        .unwrap();
    client(&seeded)
        .contacts()
        .update(&UpdateContactRequest::by_email("a@example.com").property("plan", "pro"))
        .await
        .unwrap();
    seeded.shutdown().await;
}

#[tokio::test]
async fn malformed_requests() {
    let sandbox = sandbox(unlimited()).await;
    let cases: Vec<(Method, &str, Option<&[u8]>, u16)> = vec![
        (Method::POST, "/v1/contacts/create", Some(b"{not json"), 400),
        (Method::POST, "/v1/contacts/create", Some(b"[1,2]"), 400),
        (
            Method::POST,
            "/v1/contacts/create",
            Some(br#"{"email":"x@y.co","teamId":"t"}"#),
            400,
        ),
        (
            Method::PUT,
            "/v1/contacts/update",
            Some(br#"{"email":"x@y.co","firstName":3}"#),
            400,
        ),
        (
            Method::POST,
            "/v1/events/send",
            Some(br#"{"email":"x@y.co"}"#),
            400,
        ),
        (Method::GET, "/v1/contacts/properties?list=some", None, 400),
        (Method::GET, "/v1/transactional-emails?perPage=5", None, 400),
        (
            Method::GET,
            "/v1/transactional-emails?cursor=nope",
            None,
            400,
        ),
        (Method::GET, "/v1/no-such-endpoint", None, 404),
    ];
    for (method, path, body, status) in cases {
        let mut request = api(&sandbox, method.clone(), path);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_vec());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        let body = json(response).await;
        assert_eq!(body["success"], false, "{method} {path}: {body}");
        assert!(body["message"].is_string(), "{method} {path}: {body}");
    }
    // A long value is refused as Loops documents.
    let response = api(&sandbox, Method::PUT, "/v1/contacts/update")
        .json(&json!({"email": "x@y.co", "firstName": "x".repeat(600)}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        json(response).await["message"],
        "Some body key or value is longer than allowable"
    );
    // Wrong method on a known path: 405.
    for (method, path) in [
        (Method::DELETE, "/v1/contacts/delete"),
        (Method::GET, "/v1/contacts/create"),
        (Method::POST, "/v1/contacts/update"),
    ] {
        let response = api(&sandbox, method.clone(), path).send().await.unwrap();
        assert_eq!(response.status(), 405, "{method} {path}");
    }
    assert!(sandbox.contacts().is_empty());
    sandbox.shutdown().await;
}
