//! `client.contacts()`.

use futures_util::TryStreamExt;
use kommo_client::contacts::{ContactWith, ContactWrite};
use kommo_client::ids::*;
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::{added, mount, ok};
use crate::support::{client, fixture_json};

#[tokio::test]
async fn contacts_get_search_add_update() {
    let server = MockServer::start().await;
    let search = fixture_json("get_contacts_query_email.json");
    mount(
        &server,
        "GET",
        "/api/v4/contacts/64990189",
        &[("with", "leads")],
        None,
        ok(search["_embedded"]["contacts"][0].clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "user@example.com"), ("limit", "250")],
        None,
        ok(search.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "70000000000"), ("limit", "250")],
        None,
        ok(search),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "other@example.com"), ("limit", "250")],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let add_body = json!([{"name": "Ann", "responsible_user_id": 2,
        "custom_fields_values": [{"field_code": "PHONE", "values": [{"value": "+1 555", "enum_code": "WORK"}]}],
        "_embedded": {"companies": [{"id": 3}]}}]);
    mount(
        &server,
        "POST",
        "/api/v4/contacts",
        &[],
        Some(add_body),
        ok(added("contacts", 10..11)),
    )
    .await;
    let upd = json!([{"id": 10, "first_name": "A", "last_name": "L"}]);
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts",
        &[],
        Some(upd),
        ok(added("contacts", 10..11)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts/10",
        &[],
        Some(json!({"name": "B"})),
        ok(json!({"id": 10})),
    )
    .await;
    let c = client(&server);
    let contact = c
        .contacts()
        .get(ContactId(64990189), &[ContactWith::Leads])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.primary_email().as_deref(), Some("user@example.com"));
    assert_eq!(
        c.contacts()
            .find_by_email(" user@example.com ")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        c.contacts()
            .find_by_phone("+7 (000) 000-00-00")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        c.contacts()
            .find_by_email("other@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    let new = ContactWrite::new()
        .name("Ann")
        .responsible(UserId(2))
        .phone("+1 555")
        .company(CompanyId(3));
    assert_eq!(c.contacts().add(vec![new]).await.unwrap()[0].id, 10);
    c.contacts()
        .update(vec![ContactWrite::update(ContactId(10)).names("A", "L")])
        .await
        .unwrap();
    c.contacts()
        .update_one(ContactId(10), ContactWrite::new().name("B"))
        .await
        .unwrap();
}

#[tokio::test]
async fn contacts_list_page_and_list() {
    let server = MockServer::start().await;
    let page =
        json!({"_page": 1, "_links": {}, "_embedded": {"contacts": [{"id": 10, "name": "Ann"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("order[id]", "asc")],
        None,
        ok(page.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("order[id]", "desc")],
        None,
        ok(page),
    )
    .await;
    let c = client(&server);
    let first = c
        .contacts()
        .list_page(ListQuery::new().order("id", true))
        .await
        .unwrap();
    assert_eq!(first.items[0].id, ContactId(10));
    let all: Vec<_> = c
        .contacts()
        .list(ListQuery::new().order("id", false))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}
