//! `client.tasks()`.

use futures_util::TryStreamExt;
use kommo_client::Error;
use kommo_client::common::EntityType;
use kommo_client::ids::*;
use kommo_client::pagination::ListQuery;
use kommo_client::tasks::TaskWrite;
use serde_json::json;
use wiremock::MockServer;

use super::{added, mount, ok};
use crate::support::client;

#[tokio::test]
async fn tasks_list_get_add_update() {
    let server = MockServer::start().await;
    let q: &[(&str, &str)] = &[
        ("filter[entity_type]", "leads"),
        ("filter[entity_id][]", "5"),
        ("filter[is_completed]", "0"),
    ];
    let page = json!({"_links": {}, "_embedded": {"tasks": [{"id": 1, "text": "Call", "complete_till": 1735689600,
        "entity_id": 5, "entity_type": "leads", "task_type_id": 1, "is_completed": false, "result": []}]}});
    mount(&server, "GET", "/api/v4/tasks", q, None, ok(page)).await;
    mount(
        &server,
        "GET",
        "/api/v4/tasks/1",
        &[],
        None,
        ok(json!({"id": 1, "text": "Call", "result": {"text": "ok"}})),
    )
    .await;
    let add = json!([{"text": "Call back", "complete_till": 1735689600, "entity_type": "leads", "entity_id": 5,
        "task_type_id": 2, "responsible_user_id": 9}]);
    mount(
        &server,
        "POST",
        "/api/v4/tasks",
        &[],
        Some(add),
        ok(added("tasks", 2..3)),
    )
    .await;
    let upd = json!([{"id": 2, "is_completed": true, "result": {"text": "Done"}}]);
    mount(
        &server,
        "PATCH",
        "/api/v4/tasks",
        &[],
        Some(upd),
        ok(added("tasks", 2..3)),
    )
    .await;
    let api = client(&server).tasks();
    let query = ListQuery::new()
        .filter("entity_type", "leads")
        .filter_ids("entity_id", [5])
        .filter("is_completed", 0);
    let tasks: Vec<_> = api.list(query).try_collect().await.unwrap();
    assert_eq!(tasks[0].task_type_id, Some(TaskTypeId::FOLLOW_UP));
    assert_eq!(
        tasks[0].result, None,
        "an empty array where an object was expected is absent"
    );
    assert_eq!(
        api.get(TaskId(1))
            .await
            .unwrap()
            .unwrap()
            .result
            .unwrap()
            .text
            .as_deref(),
        Some("ok")
    );
    let new = TaskWrite::new("Call back", 1735689600)
        .entity(EntityType::Leads, 5)
        .task_type(TaskTypeId::MEETING)
        .responsible(UserId(9));
    assert_eq!(api.add(vec![new]).await.unwrap()[0].id, 2);
    api.update(vec![TaskWrite::update(TaskId(2)).complete("Done")])
        .await
        .unwrap();
    assert!(matches!(
        api.add(vec![TaskWrite::update(TaskId(3))]).await,
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn tasks_list_page() {
    let server = MockServer::start().await;
    let page =
        json!({"_page": 1, "_links": {}, "_embedded": {"tasks": [{"id": 4, "text": "Call"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/tasks",
        &[("filter[is_completed]", "0"), ("limit", "50")],
        None,
        ok(page),
    )
    .await;
    let page = client(&server)
        .tasks()
        .list_page(ListQuery::new().filter("is_completed", 0).limit(50))
        .await
        .unwrap();
    assert_eq!(page.items[0].id, TaskId(4));
}
