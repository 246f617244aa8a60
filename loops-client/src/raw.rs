//! The escape hatch for endpoints this crate does not model yet.

use http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::endpoint::{ApiRequest, Endpoint};
use crate::error::{Error, raw_body_text};

/// The answer to a [raw request](crate::Client::raw).
///
/// Error statuses never arrive here: they become [`Error`]s, classified as for the typed
/// methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status: a 2xx, or `409` with an empty body when the request carried an
    /// idempotency key and an earlier attempt whose answer was lost had been accepted.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body as received.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Decodes the body as JSON: `None` for a `204` or an empty body.
    ///
    /// # Errors
    ///
    /// [`Error::Decode`], with the body kept, when the body is not `T` as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> crate::Result<Option<T>> {
        if self.status == 204 || self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| Error::Decode {
                endpoint: Endpoint::Raw,
                status: self.status,
                message: e.to_string(),
                raw_body: raw_body_text(&self.body),
            })
    }
}

impl crate::Client {
    /// Sends any request through the same auth, pacing, retries and error classification as
    /// the typed methods.
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::{ApiRequest, Method};
    ///
    /// let response = client
    ///     .raw(ApiRequest::raw(Method::GET, "/v1/themes").query("perPage", "10"))
    ///     .await?;
    /// let themes: Option<serde_json::Value> = response.json()?;
    /// # let _ = themes; Ok(()) }
    /// ```
    pub async fn raw(&self, request: ApiRequest) -> crate::Result<RawResponse> {
        let response = self.execute(&request).await?;
        Ok(RawResponse {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            headers: HeaderMap::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn json_table() {
        type Got = crate::Result<Option<serde_json::Value>>;
        let cases: Vec<(RawResponse, &str)> = vec![
            (response(200, r#"{"id":"g1"}"#), "some"),
            (response(201, "[]"), "some"),
            (response(204, ""), "none"),
            (response(204, "ignored"), "none"),
            (response(200, ""), "none"),
            (response(200, " \n"), "none"),
            (response(200, "<html>"), "decode"),
        ];
        for (raw, expected) in cases {
            let got: Got = raw.json();
            let kind = match &got {
                Ok(Some(_)) => "some",
                Ok(None) => "none",
                Err(Error::Decode { raw_body, .. }) => {
                    assert_eq!(raw_body.as_bytes(), raw.body.as_slice());
                    "decode"
                }
                Err(_) => "other",
            };
            assert_eq!(kind, expected, "{raw:?}: {got:?}");
        }
        let typed: crate::Result<Option<u32>> = response(200, r#"{"id":"g1"}"#).json();
        assert!(matches!(typed, Err(Error::Decode { status: 200, .. })));
    }
}
