//! What every list stream does: stop on a self-loop, on an empty page and on 204.

use futures_util::TryStreamExt;
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn pagination_stops_on_a_self_loop_and_on_empty_results() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let looping = json!({"_links": {"next": {"href": format!("{uri}/api/v4/companies?limit=1")}}, "_embedded": {"companies": [{"id": 1}]}});
    mount(
        &server,
        "GET",
        "/api/v4/companies",
        &[("limit", "1")],
        None,
        ok(looping),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "nobody")],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let companies: Vec<_> = c
        .companies()
        .list(ListQuery::new().limit(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        companies.len(),
        1,
        "the next link equal to the current page ends the stream"
    );
    let none: Vec<_> = c
        .contacts()
        .list(ListQuery::new().query("nobody"))
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
}
