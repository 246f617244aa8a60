use std::time::Duration;

use kommo_loops_sandbox::loops::{Config, Sandbox};
use loops_client::{Client, RateLimit, RetryPolicy};

/// Starts a sandbox without rate limit (tests about the limit set their own).
pub async fn sandbox(config: Config) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

pub fn unlimited() -> Config {
    Config::default().rate_limit(None)
}

/// Retries with tiny waits, so retry tests take milliseconds.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(max_attempts)
        .with_backoff(Duration::from_millis(2), Duration::from_millis(10))
        .with_rate_limit_wait(Duration::from_millis(20))
        .with_max_retry_after(Duration::from_secs(5))
}

/// A client for the sandbox, without client-side pacing.
pub fn client(sandbox: &Sandbox) -> Client {
    client_with(sandbox, fast_retries(4), RateLimit::Off)
}

pub fn client_with(sandbox: &Sandbox, retry: RetryPolicy, rate: RateLimit) -> Client {
    Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry_policy(retry)
        .rate_limit(rate)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// A plain HTTP client for raw requests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest")
}

pub fn bearer(sandbox: &Sandbox) -> String {
    format!("Bearer {}", sandbox.api_key())
}

/// A raw authenticated request to `/api{path}` (on a new client: use one client in loops).
pub fn api(sandbox: &Sandbox, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .header("authorization", bearer(sandbox))
}

pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let bytes = response.bytes().await.expect("body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}
