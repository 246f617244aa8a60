//! Every endpoint: method, path, auth header, query and JSON body asserted; responses parsed
//! from the shared fixtures.

use futures_util::TryStreamExt;
use loops_client::contact_properties::{PropertyList, PropertyType};
use loops_client::contacts::{
    ContactIdentity, ContactLookup, CreateContactRequest, UpdateContactRequest,
};
use loops_client::events::SendEventRequest;
use loops_client::transactional::{SendTransactionalRequest, TransactionalList};
use loops_client::value::{ContactProperties, PropertyValue};
use serde_json::json;
use wiremock::matchers::{body_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{bearer, client, fixture};

fn ok(body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test]
async fn test_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/api-key"))
        .and(header("authorization", bearer().as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ok(fixture("api-key.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    let info = client(&server).api_key().test().await.unwrap();
    assert_eq!(info.team_name, "My team");
}

#[tokio::test]
async fn create_contact() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contacts/create"))
        .and(header("authorization", bearer().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(fixture("contacts-create.request.json")))
        .respond_with(ok(fixture("contacts-create.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    let request = CreateContactRequest::new("user@example.com")
        .user_id("usr_123")
        .properties(
            ContactProperties::new()
                .first_name("Alex")
                .last_name("Chen")
                .subscribed(true)
                .user_group("premium")
                .set("customProperty", "value"),
        )
        .mailing_list("cm06f5v0e45nf0ml5754o9cix", true);
    let id = client(&server).contacts().create(&request).await.unwrap();
    assert_eq!(id.as_str(), "id_of_contact");
}

#[tokio::test]
async fn update_contact_is_a_put_upsert_and_can_reset_properties() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/contacts/update"))
        .and(header("authorization", bearer().as_str()))
        .and(body_json(json!({
            "email": "new@example.com",
            "userId": "usr_123",
            "plan": null,
            "seats": 3,
            "mailingLists": {"list_a": false}
        })))
        .respond_with(ok(fixture("contacts-create.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    let request = UpdateContactRequest::new(ContactIdentity::both("new@example.com", "usr_123"))
        .property("plan", PropertyValue::Null)
        .property("seats", 3)
        .mailing_list("list_a", false);
    client(&server).contacts().update(&request).await.unwrap();
}

#[tokio::test]
async fn find_contact_by_email_encodes_plus() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts/find"))
        .and(query_param("email", "hello+crm@gmail.com"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ok(fixture("contacts-find.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    let contact = client(&server)
        .contacts()
        .find(&ContactLookup::email("hello+crm@gmail.com"))
        .await
        .unwrap()
        .expect("a contact");
    assert_eq!(contact.first_name.as_deref(), Some("Bob"));
    assert_eq!(contact.user_id.as_deref(), Some("12345"));
    assert_eq!(contact.property("favoriteColor"), Some(&json!("Blue")));
    assert_eq!(
        contact.mailing_lists.get("cm06f5v0e45nf0ml5754o9cix"),
        Some(&true)
    );
    let received = server.received_requests().await.unwrap();
    assert!(
        received[0]
            .url
            .query()
            .unwrap()
            .contains("email=hello%2Bcrm%40gmail.com")
    );
}

#[tokio::test]
async fn find_contact_by_user_id_and_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts/find"))
        .and(query_param("userId", "nobody"))
        .respond_with(ok(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(&server)
        .contacts()
        .find(&ContactLookup::user_id("nobody"))
        .await
        .unwrap();
    assert!(found.is_none());
}

#[tokio::test]
async fn delete_contact_is_a_post_with_one_identifier() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contacts/delete"))
        .and(header("authorization", bearer().as_str()))
        .and(body_json(json!({"email": "gone@example.com"})))
        .respond_with(ok(fixture("contacts-delete.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    let deleted = client(&server)
        .contacts()
        .delete(&ContactLookup::email("gone@example.com"))
        .await
        .unwrap();
    assert_eq!(deleted.message.as_deref(), Some("Contact deleted."));
}

#[tokio::test]
async fn contact_properties_list_and_create() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts/properties"))
        .and(query_param("list", "custom"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ok(fixture("contacts-properties.list.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/contacts/properties"))
        .and(header("authorization", bearer().as_str()))
        .and(body_json(json!({"name": "planName", "type": "string"})))
        .respond_with(ok(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let properties = client
        .contact_properties()
        .list(PropertyList::Custom)
        .await
        .unwrap();
    assert_eq!(properties.len(), 11);
    assert_eq!(properties[8].key, "createdAt");
    assert_eq!(properties[8].property_type, PropertyType::Date);
    client
        .contact_properties()
        .create("planName", PropertyType::String)
        .await
        .unwrap();
}

#[tokio::test]
async fn mailing_lists() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/lists"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ok(fixture("lists.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    let lists = client(&server).mailing_lists().list().await.unwrap();
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0].description, None);
    assert_eq!(
        lists[1].description.as_deref(),
        Some("Get pre-launch updates about Product B.")
    );
    assert!(lists[1].is_public);
}

#[tokio::test]
async fn send_event_with_generated_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/events/send"))
        .and(header("authorization", bearer().as_str()))
        .and(header_exists("idempotency-key"))
        .and(body_json(fixture("events-send.request.json")))
        .respond_with(ok(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let request = SendEventRequest::new(
        ContactIdentity::both("user@example.com", "usr_123"),
        "signup",
    )
    .event_property("plan", "pro")
    .event_property("trialDays", 14)
    .contact_property("firstName", "Alex")
    .mailing_list("cm06f5v0e45nf0ml5754o9cix", true);
    let receipt = client(&server).events().send(&request).await.unwrap();
    let received = server.received_requests().await.unwrap();
    let sent_key = received[0]
        .headers
        .get("idempotency-key")
        .unwrap()
        .to_str()
        .unwrap();
    assert_eq!(sent_key, receipt.idempotency_key.as_str());
    assert_eq!(sent_key.len(), 36, "a UUID v4");
    assert_eq!((receipt.attempts, receipt.deduplicated), (1, false));
}

#[tokio::test]
async fn send_transactional_with_caller_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/transactional"))
        .and(header("authorization", bearer().as_str()))
        .and(header("idempotency-key", "welcome-lead-42"))
        .and(body_json(json!({
            "transactionalId": "cl_welcome",
            "email": "ada@example.com",
            "addToAudience": true,
            "dataVariables": {"name": "Ada", "items": [{"item": "Seat", "qty": 2}], "seats": 2}
        })))
        .respond_with(ok(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let mut row = std::collections::BTreeMap::new();
    row.insert(
        "item".to_owned(),
        loops_client::value::DataScalar::from("Seat"),
    );
    row.insert("qty".to_owned(), loops_client::value::DataScalar::from(2));
    let request = SendTransactionalRequest::new("cl_welcome", "ada@example.com")
        .add_to_audience(true)
        .data_variable("name", "Ada")
        .data_variable("seats", 2)
        .data_variable("items", vec![row])
        .idempotency_key(
            loops_client::idempotency::IdempotencyKey::new("welcome-lead-42").unwrap(),
        );
    let receipt = client(&server)
        .transactional()
        .send(&request)
        .await
        .unwrap();
    assert_eq!(receipt.idempotency_key.as_str(), "welcome-lead-42");
}

#[tokio::test]
async fn list_transactional_emails_follows_cursors() {
    let server = MockServer::start().await;
    let page = |ids: &[&str], next: Option<&str>| {
        json!({
            "pagination": {"totalResults": 3, "returnedResults": ids.len(), "perPage": 20, "totalPages": 2,
                           "nextCursor": next, "nextPage": null},
            "data": ids.iter().map(|id| json!({"id": id, "name": format!("Email {id}"),
                "draftEmailMessageId": null, "publishedEmailMessageId": "m", "transactionalGroupId": null,
                "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-02T00:00:00.000Z",
                "dataVariables": ["name"]})).collect::<Vec<_>>()
        })
    };
    Mock::given(method("GET"))
        .and(path("/api/v1/transactional-emails"))
        .and(query_param("cursor", "c2"))
        .and(query_param("perPage", "20"))
        .respond_with(ok(page(&["t3"], None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/transactional-emails"))
        .and(query_param("perPage", "20"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ok(page(&["t1", "t2"], Some("c2"))))
        .expect(1)
        .mount(&server)
        .await;
    let emails: Vec<_> = client(&server)
        .transactional()
        .list(TransactionalList::Current, Some(20))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = emails.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["t1", "t2", "t3"]);
    assert_eq!(emails[0].published_email_message_id.as_deref(), Some("m"));
}

#[tokio::test]
async fn legacy_transactional_list_and_repeated_cursor_stops() {
    let server = MockServer::start().await;
    let mut body = fixture("transactional.list-legacy.200.json");
    // A server bug that repeats the cursor must not loop forever.
    body["pagination"]["nextCursor"] = json!("same");
    Mock::given(method("GET"))
        .and(path("/api/v1/transactional"))
        .respond_with(ok(body))
        .expect(2)
        .mount(&server)
        .await;
    let emails: Vec<_> = client(&server)
        .transactional()
        .list(TransactionalList::Legacy, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(emails.len(), 6);
    assert_eq!(
        emails[0].last_updated.as_deref(),
        Some("2023-11-06T17:48:07.249Z")
    );
}

#[tokio::test]
async fn suppression_check_and_remove() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/contacts/suppression"))
        .and(query_param("email", "adam@loops.so"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ok(fixture("contacts-suppression.get.200.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/contacts/suppression"))
        .and(query_param("userId", "u1"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ok(
            json!({"success": true, "message": "Email removed from suppression list.",
                                "removalQuota": {"limit": 100, "remaining": 3}}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let status = client
        .contacts()
        .check_suppression(&ContactLookup::email("adam@loops.so"))
        .await
        .unwrap();
    assert!(status.is_suppressed);
    assert_eq!(status.removal_quota.unwrap().remaining, 4);
    assert_eq!(
        status.contact.unwrap().id.as_deref(),
        Some("cll6b3i8901a9jx0oyktl2m4u")
    );
    let removed = client
        .contacts()
        .remove_suppression(&ContactLookup::user_id("u1"))
        .await
        .unwrap();
    assert_eq!(removed.removal_quota.unwrap().remaining, 3);
    let received = server.received_requests().await.unwrap();
    assert!(received[1].body.is_empty(), "the DELETE carries no body");
}

#[tokio::test]
async fn dedicated_sending_ips() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/dedicated-sending-ips"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ok(json!(["1.2.3.4", "5.6.7.8"])))
        .expect(1)
        .mount(&server)
        .await;
    let ips = client(&server)
        .dedicated_sending_ips()
        .list()
        .await
        .unwrap();
    assert_eq!(ips, ["1.2.3.4", "5.6.7.8"]);
}

#[tokio::test]
async fn raw_escape_hatch() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/campaign-groups"))
        .and(header("authorization", bearer().as_str()))
        .and(body_json(json!({"name": "Onboarding"})))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "g1", "name": "Onboarding"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let request = loops_client::ApiRequest::raw(loops_client::Method::POST, "/v1/campaign-groups")
        .json_body(&json!({"name": "Onboarding"}))
        .unwrap();
    let response = client(&server).raw(request).await.unwrap();
    assert_eq!(response.status, 201);
    assert_eq!(response.headers["content-type"], "application/json");
    let body: serde_json::Value = response.json().unwrap().expect("a body");
    assert_eq!(body["id"], "g1");
}

#[tokio::test]
async fn validation_happens_before_any_request() {
    let server = MockServer::start().await;
    let client = client(&server);
    let errors = vec![
        client
            .contacts()
            .create(&CreateContactRequest::new("a@b.c").property("listId", "x"))
            .await
            .unwrap_err(),
        client
            .contacts()
            .update(&UpdateContactRequest::by_email("a@b.c").property("note", "x".repeat(501)))
            .await
            .unwrap_err(),
        client
            .contacts()
            .find(&ContactLookup::email(""))
            .await
            .unwrap_err(),
        client
            .events()
            .send(&SendEventRequest::by_email("a@b.c", ""))
            .await
            .unwrap_err(),
    ];
    for err in errors {
        assert!(
            matches!(err, loops_client::Error::InvalidRequest(_)),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
