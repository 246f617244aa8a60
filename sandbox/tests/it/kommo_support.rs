//! Helpers for the Kommo tests: a sandbox, a `kommo_client::Client` for it, and a small local
//! webhook receiver.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kommo_client::webhooks::WebhookPayload;
use kommo_client::{Client, ClientBuilder, RateLimit, RetryPolicy};
use kommo_loops_sandbox::kommo::{Config, Sandbox};
use tokio::net::TcpListener;

/// Starts a sandbox.
pub async fn kommo(config: Config) -> Sandbox {
    Sandbox::start(config).await.expect("sandbox starts")
}

/// The SaaS preset without a server-side rate limit (tests about the limit set their own).
pub fn saas() -> Config {
    Config::saas_onboarding().rate_limit(None)
}

/// A builder for the sandbox: no client-side limiter, fast retries.
pub fn builder(sandbox: &Sandbox) -> ClientBuilder {
    Client::builder()
        .base_url(&sandbox.base_url())
        .rate_limit(RateLimit::Off)
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(2), Duration::from_millis(10)),
        )
        .timeout(Duration::from_secs(5))
}

/// A long-lived-token client for the sandbox.
pub fn client(sandbox: &Sandbox) -> Client {
    builder(sandbox)
        .long_lived_token(sandbox.token())
        .build()
        .expect("client builds")
}

/// A plain HTTP client for raw requests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("reqwest")
}

/// A raw authenticated request to `{base}{path}`.
pub fn api(sandbox: &Sandbox, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    http()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .header("authorization", format!("Bearer {}", sandbox.token()))
}

pub async fn json(response: reqwest::Response) -> serde_json::Value {
    let bytes = response.bytes().await.expect("body");
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
}

/// One webhook as the receiver got it.
#[derive(Debug, Clone)]
pub struct Hook {
    pub headers: HeaderMap,
    pub body: String,
}

impl Hook {
    pub fn payload(&self) -> WebhookPayload {
        kommo_client::webhooks::parse(self.body.as_bytes()).expect("a Kommo webhook body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header"))
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Shared {
    hooks: Mutex<Vec<Hook>>,
    /// The status to answer with (200 unless set).
    status: AtomicU16,
    /// Answer this many requests with 500 first.
    fail_first: AtomicU64,
    /// Wait this long (ms) before answering.
    delay_ms: AtomicU64,
}

/// A local webhook receiver on 127.0.0.1 recording every delivery.
pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Arc::new(Shared::default());
        shared.status.store(200, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/hooks/kommo", axum::routing::post(receive))
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/kommo", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, shared, task }
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.shared.hooks.lock().unwrap().clone()
    }

    pub fn payloads(&self) -> Vec<WebhookPayload> {
        self.hooks().iter().map(Hook::payload).collect()
    }

    pub fn answer_with(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn fail_first(&self, n: u64) {
        self.shared.fail_first.store(n, Ordering::SeqCst);
    }

    pub fn delay(&self, delay: Duration) {
        self.shared
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = shared.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    shared.hooks.lock().unwrap().push(Hook {
        headers,
        body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
    });
    let failing = shared
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::from_u16(shared.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
}
