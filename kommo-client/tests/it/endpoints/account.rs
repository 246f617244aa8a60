//! `client.account()`.

use kommo_client::ids::{AccountId, TaskTypeId};
use serde_json::json;
use wiremock::MockServer;

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn account() {
    let server = MockServer::start().await;
    let body = json!({"id": 31361463, "name": "Acme", "subdomain": "acme", "current_user_id": 8375357,
        "_embedded": {"task_types": [{"id": 1, "name": "Follow-up", "code": "FOLLOW_UP"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/account",
        &[("with", "task_types,version")],
        None,
        ok(body),
    )
    .await;
    let account = client(&server)
        .account()
        .get(&["task_types", "version"])
        .await
        .unwrap();
    assert_eq!(
        (account.id, account.subdomain.as_str()),
        (AccountId(31361463), "acme")
    );
    assert_eq!(account.embedded.task_types[0].id, TaskTypeId::FOLLOW_UP);
}
