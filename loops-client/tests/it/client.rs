//! The builder's settings as they reach the wire, single pages, and the raw escape hatch.

use std::time::Duration;

use loops_client::pagination::PageRequest;
use loops_client::transactional::TransactionalList;
use loops_client::{ApiRequest, Client, Error, Method, RateLimit, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{KEY, bearer, client};

#[tokio::test]
async fn builder_settings_reach_the_wire() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/api-key"))
        .and(header("authorization", bearer().as_str()))
        .and(header("user-agent", "crm-sync/2.1"))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"teamName": "T"})))
        .expect(1)
        .mount(&server)
        .await;
    // A trailing slash on the base is ignored; its path is kept.
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api/", server.uri()))
        .user_agent("crm-sync/2.1")
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(1))
        .retry_policy(RetryPolicy::never())
        .rate_limit(RateLimit::Off)
        .http_client(reqwest::Client::new())
        .build();
    let err = client.unwrap_err();
    assert!(
        matches!(err, Error::Config(_)),
        "connect_timeout with http_client: {err}"
    );

    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api/", server.uri()))
        .user_agent("crm-sync/2.1")
        .connect_timeout(Duration::from_secs(1))
        .retry_policy(RetryPolicy::never())
        .rate_limit(RateLimit::Off)
        .build()
        .unwrap();
    assert_eq!(client.base_url().path(), "/api");
    assert_eq!(client.api_key().test().await.unwrap().team_name, "T");
}

#[tokio::test]
async fn one_page_of_transactional_emails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/transactional-emails"))
        .and(query_param("perPage", "10"))
        .and(query_param("cursor", "c1"))
        .and(header("authorization", bearer().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "pagination": {"nextCursor": "c2"},
            "data": [{"id": "t1", "name": "Welcome", "dataVariables": null}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .transactional()
        .list_page(
            TransactionalList::Current,
            &PageRequest {
                per_page: Some(10),
                cursor: Some("c1".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(page.data[0].id, "t1");
    assert!(page.data[0].data_variables.is_empty());
    assert_eq!(page.pagination.next_cursor.as_deref(), Some("c2"));
}

#[tokio::test]
async fn raw_requests_with_query_and_no_content() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/api/v1/campaign-groups/g1"))
        .and(query_param("force", "true"))
        .and(header("authorization", bearer().as_str()))
        .and(body_string(""))
        .respond_with(ResponseTemplate::new(204).insert_header("x-request-id", "r-1"))
        .expect(1)
        .mount(&server)
        .await;
    // The leading slash is added when missing.
    let request = ApiRequest::raw(Method::DELETE, "v1/campaign-groups/g1").query("force", "true");
    let response = client(&server).raw(request).await.unwrap();
    assert_eq!(response.status, 204);
    assert_eq!(response.headers["x-request-id"], "r-1");
    assert_eq!(response.json::<serde_json::Value>().unwrap(), None);
}

#[tokio::test]
async fn raw_requests_classify_errors_like_typed_ones() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/themes"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"success": false, "message": "Not found"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .raw(ApiRequest::raw(Method::GET, "/v1/themes"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.body().unwrap().message.as_deref(), Some("Not found"));
}
