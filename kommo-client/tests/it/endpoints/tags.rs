//! `client.tags()`.

use futures_util::TryStreamExt;
use kommo_client::common::{EntityType, TagRef};
use kommo_client::ids::*;
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::MockServer;

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn tags_add_and_remove_without_replacing() {
    let server = MockServer::start().await;
    let one = |id: u64| json!({"_links": {}, "_embedded": {"leads": [{"id": id}], "contacts": [{"id": id}]}});
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 1, "tags_to_add": [{"name": "vip"}, {"id": 7}]}])),
        ok(one(1)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 1, "tags_to_delete": [{"name": "cold"}]}])),
        ok(one(1)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts",
        &[],
        Some(json!([{"id": 2, "tags_to_add": [{"name": "vip"}]}])),
        ok(one(2)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts",
        &[],
        Some(json!([{"id": 2, "tags_to_delete": [{"id": 8}]}])),
        ok(one(2)),
    )
    .await;
    let dir =
        json!({"_links": {}, "_embedded": {"tags": [{"id": 7, "name": "vip", "color": null}]}});
    mount(
        &server,
        "GET",
        "/api/v4/leads/tags",
        &[("filter[name]", "vip")],
        None,
        ok(dir),
    )
    .await;
    let tags = client(&server).tags();
    tags.add_to_lead(LeadId(1), vec![TagRef::from("vip"), TagRef::from(TagId(7))])
        .await
        .unwrap();
    tags.remove_from_lead(LeadId(1), vec!["cold".into()])
        .await
        .unwrap();
    tags.add_to_contact(ContactId(2), vec!["vip".into()])
        .await
        .unwrap();
    tags.remove_from_contact(ContactId(2), vec![TagId(8).into()])
        .await
        .unwrap();
    let found: Vec<_> = tags
        .list(EntityType::Leads, ListQuery::new().filter("name", "vip"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found[0].id, TagId(7));
}

#[tokio::test]
async fn tags_list_page() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts/tags",
        &[("limit", "250")],
        None,
        ok(json!({"_page": 1, "_links": {}, "_embedded": {"tags": [{"id": 8, "name": "cold"}]}})),
    )
    .await;
    let page = client(&server)
        .tags()
        .list_page(EntityType::Contacts, ListQuery::new().limit(250))
        .await
        .unwrap();
    assert_eq!(page.items[0].id, TagId(8));
}
