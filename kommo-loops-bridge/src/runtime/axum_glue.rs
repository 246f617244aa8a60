//! `Reply` as an axum response (`axum` feature), so a handler returns the bridge's answer as
//! it is.
//!
//! ```
//! use axum_core::response::IntoResponse;
//! use kommo_loops_bridge::runtime::Reply;
//!
//! let response = Reply::error(403, "unknown webhook token").into_response();
//! assert_eq!(response.status(), 403);
//! assert_eq!(response.headers()["content-type"], "application/json");
//! ```

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};

use super::Reply;

impl IntoResponse for Reply {
    /// The status, and the JSON body with `content-type: application/json`. A status that is
    /// not a valid HTTP status (never one the bridge makes) becomes a 500.
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = Response::new(Body::from(self.body.to_string()));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

#[cfg(test)]
mod tests {
    use futures_util::TryStreamExt;

    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let chunks: Vec<_> = response
            .into_body()
            .into_data_stream()
            .try_collect()
            .await
            .unwrap();
        serde_json::from_slice(&chunks.concat()).unwrap()
    }

    #[tokio::test]
    async fn replies_keep_their_status_and_json_body() {
        let table = [
            (
                Reply::ok(serde_json::json!({"status": "accepted", "events": 1})),
                200,
                serde_json::json!({"status": "accepted", "events": 1}),
            ),
            (
                Reply::error(413, "too large"),
                413,
                serde_json::json!({"error": "too large"}),
            ),
            (
                Reply::error(1000, "not a status"),
                500,
                serde_json::json!({"error": "not a status"}),
            ),
        ];
        for (reply, status, expected) in table {
            let response = reply.into_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            assert_eq!(body(response).await, expected);
        }
    }
}
