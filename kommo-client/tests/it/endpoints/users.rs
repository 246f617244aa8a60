//! `client.users()`.

use futures_util::TryStreamExt;
use kommo_client::ids::UserId;
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::MockServer;

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn users_list_and_get() {
    let server = MockServer::start().await;
    let page = json!({"_total_items": 1, "_page": 1, "_page_count": 1, "_links": {},
        "_embedded": {"users": [{"id": 1, "name": "Admin", "email": "a@x", "rights": {"is_admin": true, "leads": {"view": "A"}}}]}});
    mount(
        &server,
        "GET",
        "/api/v4/users",
        &[("limit", "250")],
        None,
        ok(page),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/users/1",
        &[],
        None,
        ok(json!({"id": 1, "name": "Admin"})),
    )
    .await;
    let c = client(&server);
    let users: Vec<_> = c
        .users()
        .list(ListQuery::new().limit(250))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users[0].rights.is_admin, Some(true));
    assert_eq!(users[0].rights.other["leads"]["view"], "A");
    assert_eq!(
        c.users().get(UserId(1)).await.unwrap().unwrap().name,
        "Admin"
    );
}

#[tokio::test]
async fn users_list_page_reports_the_totals() {
    let server = MockServer::start().await;
    let page = json!({"_total_items": 3, "_page": 2, "_page_count": 2,
        "_links": {"self": {"href": "https://acme.kommo.com/api/v4/users?page=2&limit=2"}},
        "_embedded": {"users": [{"id": 3, "name": "Third"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/users",
        &[("page", "2"), ("limit", "2")],
        None,
        ok(page),
    )
    .await;
    let page = client(&server)
        .users()
        .list_page(ListQuery::new().page(2).limit(2))
        .await
        .unwrap();
    assert_eq!(
        (
            page.items[0].id,
            page.page,
            page.total_items,
            page.next_href()
        ),
        (UserId(3), Some(2), Some(3), None)
    );
    assert!(page.links.self_link.is_some());
}
