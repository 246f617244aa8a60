//! Starting and stopping a fake's HTTP server, shared by every fake in this crate.
//!
//! The server runs as a task on the caller's tokio runtime, bound to 127.0.0.1 only: a fake
//! must never be reachable from another machine.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a graceful shutdown waits for requests in flight before aborting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running server. Dropping it stops the server in the background;
/// [`ServerHandle::shutdown`] also waits until it has stopped.
#[derive(Debug)]
pub(crate) struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// Binds `127.0.0.1:port` (0 picks a free port) and serves the router `build` makes for
    /// the bound address (a fake may need its own URL, e.g. for `nextPage` links).
    pub(crate) async fn start(
        port: u16,
        build: impl FnOnce(SocketAddr) -> io::Result<Router>,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let router = build(addr)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    // A dropped sender also means "stop".
                    let _ = stopped.await;
                })
                .await
        });
        Ok(ServerHandle {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, lets requests in flight finish (up to two seconds), and
    /// waits until the listening socket is closed.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // No await in Drop. The stop signal makes the server task close the listener and every
        // idle connection at once, and finish requests in flight, in the background. Aborting
        // the task instead would leave its per-connection tasks serving keep-alive clients.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Detach: the task ends by itself once its connections are done.
        drop(self.task.take());
    }
}

/// The settings both fakes have, with the same meaning in both.
#[derive(Debug, Clone)]
pub(crate) struct SharedSettings {
    /// 0 picks a free port.
    pub(crate) port: u16,
    /// Requests per second; `None` = unlimited.
    pub(crate) rate_limit: Option<u32>,
    pub(crate) retry_after_header: bool,
    pub(crate) seed: u64,
    pub(crate) faults: crate::faults::FaultConfig,
}

impl SharedSettings {
    /// A free port, this rate limit, no `Retry-After`, seed 0, no faults.
    pub(crate) fn new(rate_limit: u32) -> Self {
        SharedSettings {
            port: 0,
            rate_limit: Some(rate_limit),
            retry_after_header: false,
            seed: 0,
            faults: crate::faults::FaultConfig::none(),
        }
    }
}

/// The setters of [`SharedSettings`], for a configuration that holds them as `shared`.
macro_rules! shared_config_setters {
    () => {
        /// Listens on this port of 127.0.0.1 (0, the default, picks a free one).
        pub fn port(mut self, port: u16) -> Self {
            self.shared.port = port;
            self
        }

        /// Requests per second (a token bucket holding one second's worth); `None` = unlimited
        /// (the Loops fake then sends no `x-ratelimit-*` headers).
        pub fn rate_limit(mut self, per_second: Option<u32>) -> Self {
            self.shared.rate_limit = per_second;
            self
        }

        /// Whether 429 answers carry a `Retry-After` header (whole seconds until a request
        /// would pass). Off by default: neither provider is known to send one.
        pub fn retry_after_header(mut self, send: bool) -> Self {
            self.shared.retry_after_header = send;
            self
        }

        /// Seeds the random generators (faults, ids, tokens, webhook request ids), so a run
        /// is reproducible.
        pub fn seed(mut self, seed: u64) -> Self {
            self.shared.seed = seed;
            self
        }

        /// The faults active from the start (they can be changed at run time).
        pub fn faults(mut self, faults: $crate::FaultConfig) -> Self {
            self.shared.faults = faults;
            self
        }
    };
}

pub(crate) use shared_config_setters;

/// A JSON answer with status 200.
pub(crate) fn json_ok<T: serde::Serialize>(value: &T) -> Response {
    axum::Json(value).into_response()
}

/// A refusal in the shape both fakes' inspection routes use: `{"success": false, "message"}`.
pub(crate) fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "success": false, "message": message.into() })),
    )
        .into_response()
}

/// Parses a JSON body; the error is the text of a 400.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}
