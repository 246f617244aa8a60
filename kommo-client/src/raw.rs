//! Requests as data, and the escape hatch for endpoints this crate does not model.
//!
//! Every typed call builds an [`ApiRequest`] and sends it through the one request loop; so
//! does [`Client::raw`](crate::Client::raw), with the same authentication, rate limiter,
//! circuit breaker, retries and error decoding.

use std::fmt;

use http::{HeaderMap, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, RawBody, Result};

/// One request to the Kommo API, as data: method, path, query, JSON body and whether it is
/// safe to send again.
///
/// ```
/// use kommo_client::{ApiRequest, Method};
///
/// let request = ApiRequest::raw(Method::PATCH, "/api/v4/leads/loss_reasons")
///     .query("with", "leads")
///     .json_body(&serde_json::json!([{"id": 1, "name": "Too expensive"}]))?
///     .safe_to_retry(true);
/// assert_eq!(request.method(), &Method::PATCH);
/// assert_eq!(request.path_and_query(), "/api/v4/leads/loss_reasons?with=leads");
/// assert_eq!(request.body(), Some(&br#"[{"id":1,"name":"Too expensive"}]"#[..]));
/// assert!(request.is_safe_to_retry());
/// # Ok::<(), kommo_client::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiRequest {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    safe_to_retry: bool,
    /// Off only for the OAuth token endpoint, which authenticates with the client secret.
    pub(crate) authenticated: bool,
    /// Another origin of the same account (its file drive); the client's base URL when `None`.
    pub(crate) origin: Option<url::Url>,
    /// The body's type when it is not JSON (file uploads).
    pub(crate) content_type: Option<String>,
}

impl ApiRequest {
    /// A request to `path` (from the account root, e.g. `/api/v4/leads/loss_reasons`; query
    /// parameters go in [`ApiRequest::query`]).
    ///
    /// Reads (`GET`, `HEAD`) are retried after transient failures; writes are retried only
    /// after a connection that never opened, unless [`ApiRequest::safe_to_retry`] says that
    /// sending them twice is harmless.
    pub fn raw(method: Method, path: impl Into<String>) -> Self {
        Self {
            safe_to_retry: method.is_safe(),
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            authenticated: true,
            origin: None,
            content_type: None,
        }
    }

    /// Sends the request to another origin of the account (its drive) instead of the base URL.
    pub(crate) fn at_origin(mut self, origin: url::Url) -> Self {
        self.origin = Some(origin);
        self
    }

    /// A body that is not JSON, with its type.
    pub(crate) fn bytes_body(mut self, bytes: Vec<u8>, content_type: impl Into<String>) -> Self {
        self.body = Some(bytes);
        self.content_type = Some(content_type.into());
        self
    }

    /// `GET path`.
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::raw(Method::GET, path)
    }

    /// Adds a query parameter (percent-encoded when sent; PHP bracket keys such as
    /// `filter[id][]` are fine).
    #[must_use]
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds query parameters.
    #[must_use]
    pub(crate) fn queries(mut self, pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        self.query.extend(pairs);
        self
    }

    /// Sets the JSON body.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when `body` cannot be encoded as JSON (a map with non-string
    /// keys, a failing `Serialize` impl).
    pub fn json_body<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::invalid_request(format!("cannot encode the request body as JSON: {e}"))
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    /// Declares whether sending the request twice is harmless (a read, an update that sets
    /// values, a link). Only such requests are retried after a 5xx, a 429 or a connection
    /// lost mid-request.
    #[must_use]
    pub fn safe_to_retry(mut self, safe: bool) -> Self {
        self.safe_to_retry = safe;
        self
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path, without the query.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query parameters, not yet encoded, in the order they were added.
    #[must_use]
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// The JSON body, if any.
    #[must_use]
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// Whether the request may be sent again after an ambiguous failure.
    #[must_use]
    pub fn is_safe_to_retry(&self) -> bool {
        self.safe_to_retry
    }

    /// The path with its percent-encoded query (brackets encoded too, as any PHP backend
    /// accepts).
    #[must_use]
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.query {
            encoder.append_pair(name, value);
        }
        format!("{}?{}", self.path, encoder.finish())
    }

    /// Refuses what cannot be sent to the configured account: a path that is not absolute
    /// (it would resolve against whatever the base URL holds) or that carries its own query
    /// or fragment (the query belongs in [`ApiRequest::query`], where it is encoded).
    pub(crate) fn check(&self) -> Result<()> {
        if !self.path.starts_with('/') || self.path.starts_with("//") {
            return Err(Error::invalid_request(format!(
                "paths start with a single '/': {:?}",
                self.path
            )));
        }
        if self.path.contains(['?', '#']) {
            return Err(Error::invalid_request(
                "put query parameters in ApiRequest::query, not in the path",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for ApiRequest {
    // Query values (a search for an email) and bodies (contact data) are personal data:
    // Debug shows their size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_params", &self.query.len())
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .field("safe_to_retry", &self.safe_to_retry)
            .finish()
    }
}

/// A successful (2xx) answer to a request. Error statuses are an [`Error`] instead.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RawResponse {
    /// The status (200, 201, 202 or 204, ...).
    pub status: u16,
    /// The response headers (`X-Request-Id`, ...).
    pub headers: HeaderMap,
    /// The body (empty for 204).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body parsed as `T`; `None` for a 204 or an empty body.
    ///
    /// ```
    /// # #[cfg(feature = "client")] {
    /// use kommo_client::RawResponse;
    /// # fn answer(status: u16, body: &str) -> RawResponse {
    /// #     let mut r = RawResponse::default(); r.status = status; r.body = body.into(); r }
    /// let ok = answer(200, r#"{"id": 7}"#);
    /// assert_eq!(ok.json::<serde_json::Value>()?.unwrap()["id"], 7);
    /// assert_eq!(answer(204, "").json::<serde_json::Value>()?, None);
    /// assert!(answer(200, "<html>").json::<serde_json::Value>().is_err());
    /// # }
    /// # Ok::<(), kommo_client::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Decode`] with the raw body when it does not match `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        if self.status == 204 || self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|source| Error::Decode {
                source,
                body: RawBody::from_bytes(&self.body),
            })
    }
}

impl Default for RawResponse {
    /// An empty `204 No Content`.
    fn default() -> Self {
        Self {
            status: 204,
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }
}

impl fmt::Debug for RawResponse {
    // Bodies hold contact data (and, from the token endpoint, tokens): Debug shows the size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawResponse")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_safe_to_retry_by_default_and_writes_are_not() {
        let table = [
            (Method::GET, true),
            (Method::HEAD, true),
            (Method::POST, false),
            (Method::PATCH, false),
            (Method::PUT, false),
            (Method::DELETE, false),
        ];
        for (method, safe) in table {
            let request = ApiRequest::raw(method.clone(), "/api/v4/x");
            assert_eq!(request.is_safe_to_retry(), safe, "{method}");
            assert!(request.clone().safe_to_retry(true).is_safe_to_retry());
            assert!(!request.safe_to_retry(false).is_safe_to_retry());
        }
    }

    #[test]
    fn paths_are_checked_before_sending() {
        let table = [
            ("/api/v4/leads", true),
            ("api/v4/leads", false),
            ("", false),
            ("//evil.example/api", false),
            ("/api/v4/leads?page=2", false),
            ("/api/v4/leads#x", false),
        ];
        for (path, ok) in table {
            let checked = ApiRequest::get(path).check();
            assert_eq!(checked.is_ok(), ok, "{path}");
            if let Err(e) = checked {
                assert!(matches!(e, Error::InvalidRequest(_)), "{path}: {e:?}");
            }
        }
    }

    #[test]
    fn debug_shows_no_query_values_or_body() {
        let request = ApiRequest::get("/api/v4/contacts")
            .query("query", "ada@example.com")
            .json_body(&serde_json::json!({"name": "Ada Lovelace"}))
            .unwrap();
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("ada@") && !shown.contains("Lovelace"),
            "{shown}"
        );
        assert_eq!(
            request.path_and_query(),
            "/api/v4/contacts?query=ada%40example.com"
        );
        let response = RawResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: b"{\"access_token\":\"SECRET\"}".to_vec(),
        };
        assert!(!format!("{response:?}").contains("SECRET"));
    }

    #[test]
    fn unencodable_bodies_are_invalid_requests() {
        let mut map = std::collections::HashMap::new();
        map.insert(vec![1u8], 1);
        let err = ApiRequest::raw(Method::POST, "/x")
            .json_body(&map)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    }
}
