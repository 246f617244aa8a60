//! The escape hatch for endpoints this crate does not model yet.

use crate::endpoint::ApiRequest;

/// The answer to a raw request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status (always 2xx; error statuses become [`Error`](crate::Error)).
    pub status: u16,
    /// The body as received.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Decodes the body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl crate::Client {
    /// Sends any request through the same auth, pacing, retries and error classification as
    /// the typed methods.
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> Result<(), loops_client::Error> {
    /// use loops_client::{ApiRequest, Method};
    ///
    /// let response = client.raw(ApiRequest::raw(Method::Get, "/v1/themes").query("perPage", "10")).await?;
    /// let themes: serde_json::Value = response.json().expect("JSON");
    /// # let _ = themes; Ok(()) }
    /// ```
    pub async fn raw(&self, request: ApiRequest) -> Result<RawResponse, crate::Error> {
        let response = self.execute(&request).await?;
        Ok(RawResponse {
            status: response.status,
            body: response.body,
        })
    }
}
