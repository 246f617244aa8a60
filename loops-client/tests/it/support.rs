use std::time::Duration;

use loops_client::{Client, RateLimit, RetryPolicy};
use wiremock::MockServer;

pub const KEY: &str = "test_api_key_0123456789";

/// Retries with tiny waits, so retry tests take milliseconds.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(3)
        .with_backoff(Duration::from_millis(2), Duration::from_millis(5))
        .with_rate_limit_wait(Duration::from_millis(5))
        .with_max_retry_after(Duration::from_secs(5))
}

pub fn client(server: &MockServer) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api", server.uri()))
        .retry_policy(fast_retries())
        .rate_limit(RateLimit::Off)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

pub fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn bearer() -> String {
    format!("Bearer {KEY}")
}

/// Mounts one expectation: this method and path, the API key, a JSON body when given (and
/// then `Content-Type: application/json`), answered with `status` and `answer`, exactly once.
pub async fn expect_call(
    server: &MockServer,
    http_method: &str,
    request_path: &str,
    body: Option<serde_json::Value>,
    status: u16,
    answer: serde_json::Value,
) {
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, ResponseTemplate};
    let mut mock = Mock::given(method(http_method))
        .and(path(format!("/api{request_path}")))
        .and(header("authorization", bearer().as_str()))
        .and(header("accept", "application/json"));
    if let Some(body) = body {
        mock = mock
            .and(header("content-type", "application/json"))
            .and(body_json(body));
    }
    mock.respond_with(ResponseTemplate::new(status).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}
