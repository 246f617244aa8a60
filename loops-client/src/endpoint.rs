//! Requests as plain data.
//!
//! Every typed request turns into an [`ApiRequest`] without any IO: method, path, query,
//! JSON body and idempotency key. The bundled [`Client`](crate::Client) sends them, but an
//! application with its own HTTP stack can send them too, and tests can assert on them.

use std::fmt;

use http::Method;

use crate::idempotency::IdempotencyKey;
use crate::retry::RetrySafety;

/// The endpoints this crate models. Responses are classified by endpoint and status code,
/// never by message text, because Loops rewords its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /v1/api-key`
    TestApiKey,
    /// `POST /v1/contacts/create`
    CreateContact,
    /// `PUT /v1/contacts/update`
    UpdateContact,
    /// `GET /v1/contacts/find`
    FindContact,
    /// `POST /v1/contacts/delete`
    DeleteContact,
    /// `GET /v1/contacts/suppression`
    CheckSuppression,
    /// `DELETE /v1/contacts/suppression`
    RemoveSuppression,
    /// `GET /v1/contacts/properties`
    ListContactProperties,
    /// `POST /v1/contacts/properties`
    CreateContactProperty,
    /// `GET /v1/lists`
    ListMailingLists,
    /// `POST /v1/events/send`
    SendEvent,
    /// `POST /v1/transactional`
    SendTransactional,
    /// `GET /v1/transactional-emails` (or the legacy `GET /v1/transactional`)
    ListTransactionalEmails,
    /// `GET /v1/dedicated-sending-ips`
    ListDedicatedSendingIps,
    /// Any other path, sent through the raw escape hatch.
    Raw,
}

impl Endpoint {
    /// A short stable name, used in errors and tracing.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::TestApiKey => "test_api_key",
            Endpoint::CreateContact => "create_contact",
            Endpoint::UpdateContact => "update_contact",
            Endpoint::FindContact => "find_contact",
            Endpoint::DeleteContact => "delete_contact",
            Endpoint::CheckSuppression => "check_suppression",
            Endpoint::RemoveSuppression => "remove_suppression",
            Endpoint::ListContactProperties => "list_contact_properties",
            Endpoint::CreateContactProperty => "create_contact_property",
            Endpoint::ListMailingLists => "list_mailing_lists",
            Endpoint::SendEvent => "send_event",
            Endpoint::SendTransactional => "send_transactional",
            Endpoint::ListTransactionalEmails => "list_transactional_emails",
            Endpoint::ListDedicatedSendingIps => "list_dedicated_sending_ips",
            Endpoint::Raw => "raw",
        }
    }

    /// Whether a repeat of this request with the same body has the same effect, so a
    /// retry after an ambiguous failure (5xx, lost connection) cannot do anything twice.
    pub(crate) fn natural_safety(self) -> RetrySafety {
        match self {
            Endpoint::TestApiKey
            | Endpoint::FindContact
            | Endpoint::CheckSuppression
            | Endpoint::ListContactProperties
            | Endpoint::ListMailingLists
            | Endpoint::ListTransactionalEmails
            | Endpoint::ListDedicatedSendingIps
            // An upsert: applying it twice leaves the same contact.
            | Endpoint::UpdateContact
            // Deleting twice deletes once; the second answer (404) is mapped to success
            // when it follows an attempt that may have landed.
            | Endpoint::DeleteContact
            // Removing a suppression twice: the second is refused with 400, no side effect.
            | Endpoint::RemoveSuppression => RetrySafety::Safe,
            // Sends are only safe with an idempotency key, which the client always adds.
            Endpoint::SendEvent | Endpoint::SendTransactional => RetrySafety::Unsafe,
            Endpoint::CreateContact | Endpoint::CreateContactProperty | Endpoint::Raw => {
                RetrySafety::Unsafe
            }
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One request to the Loops API, as data.
///
/// ```
/// use loops_client::Method;
/// use loops_client::contacts::ContactLookup;
/// use loops_client::endpoint::Endpoint;
///
/// let request = ContactLookup::email("ada+crm@example.com").find_request().unwrap();
/// assert_eq!(request.method(), Method::GET);
/// assert_eq!(request.endpoint(), Endpoint::FindContact);
/// assert_eq!(request.path_and_query(), "/v1/contacts/find?email=ada%2Bcrm%40example.com");
/// ```
#[derive(Clone, PartialEq)]
pub struct ApiRequest {
    endpoint: Endpoint,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    idempotency_key: Option<IdempotencyKey>,
    safety: RetrySafety,
}

impl ApiRequest {
    pub(crate) fn new(endpoint: Endpoint, method: Method, path: impl Into<String>) -> Self {
        ApiRequest {
            endpoint,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotency_key: None,
            safety: endpoint.natural_safety(),
        }
    }

    /// A request to an endpoint this crate does not model yet, sent with
    /// [`Client::raw`](crate::Client::raw).
    ///
    /// `path` is relative to the API base and starts with `/v1/` (a missing leading `/` is
    /// added). Raw requests are only retried after a 429 or a failed connection unless
    /// [`safe_to_retry`](Self::safe_to_retry) says repeating them is harmless.
    ///
    /// ```
    /// use loops_client::{ApiRequest, Method};
    ///
    /// let request = ApiRequest::raw(Method::POST, "v1/campaign-groups")
    ///     .json_body(&serde_json::json!({ "name": "Onboarding" }))
    ///     .unwrap()
    ///     .safe_to_retry(false);
    /// assert_eq!(request.path(), "/v1/campaign-groups");
    /// assert_eq!(request.body(), Some(&br#"{"name":"Onboarding"}"#[..]));
    /// ```
    pub fn raw(method: Method, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        ApiRequest::new(Endpoint::Raw, method, path)
    }

    /// Adds a query parameter (it is percent-encoded when sent).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body.
    pub fn json_body<T: serde::Serialize + ?Sized>(
        mut self,
        body: &T,
    ) -> Result<Self, serde_json::Error> {
        self.body = Some(serde_json::to_vec(body)?);
        Ok(self)
    }

    /// Sets the `Idempotency-Key` header; repeating a keyed request is then safe.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self.safety = RetrySafety::Safe;
        self
    }

    /// Declares that repeating this request is harmless, so 5xx answers may be retried.
    pub fn safe_to_retry(mut self, safe: bool) -> Self {
        self.safety = if safe || self.idempotency_key.is_some() {
            RetrySafety::Safe
        } else {
            RetrySafety::Unsafe
        };
        self
    }

    pub(crate) fn with_json_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.body = Some(bytes);
        self
    }

    pub(crate) fn set_idempotency_key(&mut self, key: IdempotencyKey) {
        self.idempotency_key = Some(key);
        self.safety = RetrySafety::Safe;
    }

    /// Which endpoint this is.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path under the API base, e.g. `/v1/contacts/create`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query parameters, not yet encoded.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.query
    }

    /// The path with its percent-encoded query string.
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.query {
            encoder.append_pair(k, v);
        }
        format!("{}?{}", self.path, encoder.finish())
    }

    /// The JSON body, if any.
    pub fn body(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    /// The idempotency key, if any.
    pub fn idempotency_key_value(&self) -> Option<&IdempotencyKey> {
        self.idempotency_key.as_ref()
    }

    /// Whether repeating the request after an ambiguous failure is harmless.
    pub fn retry_safety(&self) -> RetrySafety {
        self.safety
    }
}

impl fmt::Debug for ApiRequest {
    // The body can hold personal data (emails, names), so Debug shows only its size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("endpoint", &self.endpoint)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query_params", &self.query.len())
            .field("body_bytes", &self.body.as_ref().map(Vec::len))
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
}
