//! `client.webhook_subscriptions()`.

use futures_util::TryStreamExt;
use kommo_client::ids::WebhookId;
use kommo_client::pagination::ListQuery;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSetting};
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn webhook_subscriptions() {
    let server = MockServer::start().await;
    let sub = json!({"id": 1, "destination": "https://hooks.example/kommo", "settings": ["add_lead", "status_lead", "add_message"],
        "sort": 10, "disabled": false, "account_id": 31361463});
    mount(
        &server,
        "GET",
        "/api/v4/webhooks",
        &[("filter[destination]", "https://hooks.example/kommo")],
        None,
        ok(json!({"_total_items": 1, "_embedded": {"webhooks": [sub.clone()]}})),
    )
    .await;
    let body = json!({"destination": "https://hooks.example/kommo", "settings": ["add_lead", "status_lead", "add_message"], "sort": 10});
    mount(
        &server,
        "POST",
        "/api/v4/webhooks",
        &[],
        Some(body),
        ok(sub),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/api/v4/webhooks",
        &[],
        Some(json!({"destination": "https://hooks.example/kommo"})),
        ResponseTemplate::new(204),
    )
    .await;
    let api = client(&server).webhook_subscriptions();
    let listed: Vec<_> = api
        .list(ListQuery::new().filter("destination", "https://hooks.example/kommo"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        listed[0].settings[2],
        WebhookSetting::Other("add_message".into())
    );
    let mut subscribe = Subscribe::new(
        "https://hooks.example/kommo",
        vec![
            WebhookSetting::AddLead,
            WebhookSetting::StatusLead,
            WebhookSetting::Other("add_message".into()),
        ],
    );
    subscribe.sort = Some(10);
    assert_eq!(
        api.subscribe(&subscribe).await.unwrap().id,
        Some(WebhookId(1))
    );
    api.unsubscribe("https://hooks.example/kommo")
        .await
        .unwrap();
}

#[tokio::test]
async fn webhook_subscriptions_list_page_counts_them() {
    let server = MockServer::start().await;
    let sub =
        json!({"id": 2, "destination": "https://hooks.example/b", "settings": ["add_contact"]});
    mount(
        &server,
        "GET",
        "/api/v4/webhooks",
        &[],
        None,
        ok(json!({"_total_items": 1, "_embedded": {"webhooks": [sub]}})),
    )
    .await;
    let page = client(&server)
        .webhook_subscriptions()
        .list_page(ListQuery::new())
        .await
        .unwrap();
    assert_eq!(
        (page.total_items, page.items[0].id),
        (Some(1), Some(WebhookId(2)))
    );
}
