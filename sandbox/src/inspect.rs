//! The inspection routes every fake serves the same way, under its `/_sandbox`: request
//! counts and the request log, the fault knobs, and the reset. Each fake merges
//! [`routes`] into its own inspection router.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use crate::faults::{FaultConfig, Faults};
use crate::records::RequestLog;
use crate::server::{json_ok, parse, refused};

/// What a fake's shared state offers the shared inspection routes.
pub(crate) trait Inspect: Send + Sync + 'static {
    /// The fault knobs.
    fn faults(&self) -> &Faults;

    /// Runs `read` on the request log and counters (under the fake's lock).
    fn read_requests<R>(&self, read: impl FnOnce(&RequestLog) -> R) -> R;

    /// Everything back to how the configuration started it.
    fn reset(&self);
}

/// Implements [`Inspect`] for a fake's shared state, which has the `faults` knobs, a `lock()`
/// on a store holding the `requests` log, and a `reset()`.
macro_rules! inspect_impl {
    ($inner:ty) => {
        impl $crate::inspect::Inspect for $inner {
            fn faults(&self) -> &$crate::faults::Faults {
                &self.faults
            }

            fn read_requests<R>(&self, read: impl FnOnce(&$crate::records::RequestLog) -> R) -> R {
                read(&self.lock().requests)
            }

            fn reset(&self) {
                <$inner>::reset(self);
            }
        }
    };
}

pub(crate) use inspect_impl;

/// `GET /requests`, `GET /requests/log`, `GET`/`PUT /faults` and `POST /reset`.
pub(crate) fn routes<T: Inspect>() -> Router<Arc<T>> {
    Router::new()
        .route("/requests", get(stats::<T>))
        .route("/requests/log", get(log::<T>))
        .route("/faults", get(faults::<T>).put(set_faults::<T>))
        .route("/reset", post(reset::<T>))
}

async fn stats<T: Inspect>(State(app): State<Arc<T>>) -> Response {
    app.read_requests(|requests| json_ok(&requests.stats))
}

async fn log<T: Inspect>(State(app): State<Arc<T>>) -> Response {
    app.read_requests(|requests| json_ok(&requests.records))
}

async fn faults<T: Inspect>(State(app): State<Arc<T>>) -> Response {
    json_ok(&app.faults().config())
}

async fn set_faults<T: Inspect>(State(app): State<Arc<T>>, body: Bytes) -> Response {
    match parse::<FaultConfig>(&body) {
        Ok(config) => {
            app.faults().set(config);
            json_ok(&app.faults().config())
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn reset<T: Inspect>(State(app): State<Arc<T>>) -> Response {
    app.reset();
    json_ok(&json!({ "success": true }))
}
