//! `client.custom_fields(entity)`.

use futures_util::TryStreamExt;
use kommo_client::common::EntityType;
use kommo_client::ids::{CustomFieldId, EnumId};
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::MockServer;

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn custom_field_definitions_follow_pages() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let page1 = json!({"_page": 1, "_links": {"next": {"href": format!("{uri}/api/v4/contacts/custom_fields?page=2&limit=2")}},
        "_embedded": {"custom_fields": [
            {"id": 1, "name": "Phone", "code": "PHONE", "type": "multitext", "enums": [{"id": 10, "value": "WORK", "sort": 2}]},
            {"id": 2, "name": "Email", "code": "EMAIL", "type": "multitext", "enums": null}]}});
    let page2 = json!({"_page": 2, "_links": {}, "_embedded": {"custom_fields": [{"id": 3, "name": "X", "type": "tracking_data_v9"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/contacts/custom_fields",
        &[("limit", "2")],
        None,
        ok(page1),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts/custom_fields",
        &[("page", "2"), ("limit", "2")],
        None,
        ok(page2),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts/custom_fields/1",
        &[],
        None,
        ok(json!({"id": 1, "name": "Phone", "type": "multitext"})),
    )
    .await;
    let api = client(&server).custom_fields(EntityType::Contacts);
    let defs: Vec<_> = api
        .list(ListQuery::new().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        defs.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(defs[0].enum_by_value("WORK").unwrap().id, EnumId(10));
    assert_eq!(defs[2].field_type.as_str(), "tracking_data_v9");
    assert_eq!(api.get(CustomFieldId(1)).await.unwrap().unwrap().code, None);
}

#[tokio::test]
async fn custom_fields_list_page_is_one_request() {
    let server = MockServer::start().await;
    let page = json!({"_page": 1, "_links": {"next": {"href": "/api/v4/leads/custom_fields?page=2&limit=1"}},
        "_embedded": {"custom_fields": [{"id": 1, "name": "Budget", "type": "numeric"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/leads/custom_fields",
        &[("limit", "1")],
        None,
        ok(page),
    )
    .await;
    let page = client(&server)
        .custom_fields(EntityType::Leads)
        .list_page(ListQuery::new().limit(1))
        .await
        .unwrap();
    assert_eq!(page.items[0].id, CustomFieldId(1));
    assert_eq!(
        page.next_href(),
        Some("/api/v4/leads/custom_fields?page=2&limit=1"),
        "one page only: the next link is the caller's to follow"
    );
}
