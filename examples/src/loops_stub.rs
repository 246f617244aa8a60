//! A minimal stand-in for the Loops API, for load tests of clients: `POST
//! /api/v1/events/send` answers `{"success":true}` at once, and nothing else is modelled (no
//! key check, no state, no rate limit). It counts the TCP connections it accepted and the
//! requests it answered, so a load test can check that its client reuses connections:
//! `GET /_stats` answers `{"connections":..,"requests":..}`.
//!
//! It does far less per request than [`loops::Sandbox`](kommo_loops_sandbox::loops::Sandbox)
//! (which authenticates, validates, keeps contacts and idempotency keys, and logs each
//! request), so the client under test, not the server, sets the pace.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::serve::ListenerExt;

/// What the stub has seen.
#[derive(Debug, Default)]
pub struct StubStats {
    /// TCP connections accepted.
    pub connections: AtomicU64,
    /// `events/send` requests answered.
    pub requests: AtomicU64,
}

impl StubStats {
    /// The figures as JSON.
    pub fn to_json(&self) -> String {
        format!(
            r#"{{"connections":{},"requests":{}}}"#,
            self.connections.load(Ordering::Relaxed),
            self.requests.load(Ordering::Relaxed)
        )
    }
}

/// The routes.
pub fn router(stats: Arc<StubStats>) -> Router {
    Router::new()
        .route("/api/v1/events/send", post(send_event))
        .route("/_stats", get(stats_route))
        .with_state(stats)
}

const SUCCESS: &str = r#"{"success":true}"#;

async fn send_event(State(stats): State<Arc<StubStats>>, _body: Bytes) -> impl IntoResponse {
    stats.requests.fetch_add(1, Ordering::Relaxed);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        SUCCESS,
    )
}

async fn stats_route(State(stats): State<Arc<StubStats>>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        stats.to_json(),
    )
}

/// Binds `addr` and returns the bound address and the server future (run it to serve).
pub async fn bind(
    addr: SocketAddr,
    stats: Arc<StubStats>,
) -> std::io::Result<(
    SocketAddr,
    impl std::future::Future<Output = std::io::Result<()>>,
)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let counter = stats.clone();
    let listener = listener.tap_io(move |tcp| {
        counter.connections.fetch_add(1, Ordering::Relaxed);
        // Small answers on a reused connection: send them without Nagle's delay.
        let _ = tcp.set_nodelay(true);
    });
    let app = router(stats);
    Ok((local, async move { axum::serve(listener, app).await }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_and_counts_connections() {
        let stats = Arc::new(StubStats::default());
        let (addr, server) = bind(SocketAddr::from(([127, 0, 0, 1], 0)), stats.clone())
            .await
            .unwrap();
        let server = tokio::spawn(server);
        let client = loops_client::Client::builder()
            .api_key("k")
            .base_url(format!("http://{addr}/api"))
            .rate_limit(loops_client::RateLimit::Off)
            .build()
            .unwrap();
        for i in 0..5 {
            client
                .events()
                .send(&crate::loadgen::request(i))
                .await
                .unwrap();
        }
        assert_eq!(stats.requests.load(Ordering::Relaxed), 5);
        // Sequential calls on one client share one kept-alive connection.
        assert_eq!(stats.connections.load(Ordering::Relaxed), 1);
        assert_eq!(stats.to_json(), r#"{"connections":1,"requests":5}"#);
        server.abort();
    }
}
