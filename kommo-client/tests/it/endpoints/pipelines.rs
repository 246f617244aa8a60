//! `client.pipelines()`.

use futures_util::TryStreamExt;
use kommo_client::ids::{PipelineId, StatusId};
use serde_json::json;
use wiremock::MockServer;

use super::{mount, ok};
use crate::support::{client, fixture_json};

#[tokio::test]
async fn pipelines_and_statuses() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines",
        &[],
        None,
        ok(fixture_json("get_pipelines.json")),
    )
    .await;
    let one = fixture_json("get_pipelines.json")["_embedded"]["pipelines"][0].clone();
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines/6950551",
        &[],
        None,
        ok(one.clone()),
    )
    .await;
    let statuses =
        json!({"_total_items": 4, "_embedded": {"statuses": one["_embedded"]["statuses"]}});
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines/6950551/statuses",
        &[],
        None,
        ok(statuses),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines/6950551/statuses/142",
        &[],
        None,
        ok(one["_embedded"]["statuses"][2].clone()),
    )
    .await;
    let c = client(&server);
    let pipelines: Vec<_> = c.pipelines().list().try_collect().await.unwrap();
    assert_eq!(pipelines[0].statuses().len(), 4);
    assert_eq!(
        c.pipelines()
            .get(PipelineId(6950551))
            .await
            .unwrap()
            .unwrap()
            .name,
        "Pipeline"
    );
    assert_eq!(
        c.pipelines()
            .statuses(PipelineId(6950551))
            .await
            .unwrap()
            .len(),
        4
    );
    assert!(
        c.pipelines()
            .status(PipelineId(6950551), StatusId::WON)
            .await
            .unwrap()
            .unwrap()
            .is_won()
    );
}

#[tokio::test]
async fn pipelines_list_page_is_the_whole_list() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines",
        &[],
        None,
        ok(fixture_json("get_pipelines.json")),
    )
    .await;
    let page = client(&server).pipelines().list_page().await.unwrap();
    assert_eq!(page.items.len() as u64, page.total_items.unwrap());
    assert_eq!(page.next_href(), None, "the endpoint is not paginated");
}
