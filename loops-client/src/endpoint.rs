//! Requests as plain data.
//!
//! Every typed request turns into an [`ApiRequest`] without any IO: method, path, query,
//! JSON body and idempotency key. The bundled [`Client`](crate::Client) sends them, but an
//! application with its own HTTP stack can send them too, and tests can assert on them.

use std::fmt;

use http::Method;

use crate::idempotency::IdempotencyKey;
use crate::retry::RetrySafety;
use crate::validate::ValidationError;

/// Which gated part of the Loops API an endpoint belongs to.
///
/// Loops enables the content API and the workflow API per team; until then their endpoints
/// answer 401 even for a valid key. The client tells the two apart from a bad key (see
/// [`Error::ApiNotEnabled`](crate::Error::ApiNotEnabled)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GatedApi {
    /// Campaigns, groups, segments, email messages, themes, components, uploads and the
    /// transactional-email management endpoints.
    Content,
    /// Workflows and event patterns.
    Workflows,
}

impl fmt::Display for GatedApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GatedApi::Content => "content API",
            GatedApi::Workflows => "workflow API",
        })
    }
}

/// How repeating a write behaves, which decides whether it is retried after an ambiguous
/// failure (a 5xx, a timeout, a lost connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// A read, or a write whose repeat leaves the same state (set semantics, an upsert).
    Harmless,
    /// A write guarded by `expectedRevisionId`: a repeat of a write that landed is refused
    /// as stale, never applied twice.
    Guarded,
    /// A create or a send: a repeat could do it twice.
    Unsafe,
}

macro_rules! endpoints {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, $repeat:ident, $gate:expr; )*) => {
        /// The endpoints this crate models. Responses are classified by endpoint and status
        /// code, never by message text, because Loops rewords its messages.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Endpoint {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl Endpoint {
            /// Every endpoint, in declaration order.
            pub const ALL: &'static [Endpoint] = &[ $( Endpoint::$variant, )* ];

            /// A short stable name, used in errors and tracing.
            pub fn name(self) -> &'static str {
                match self { $( Endpoint::$variant => $name, )* }
            }

            fn repeat(self) -> Repeat {
                match self { $( Endpoint::$variant => Repeat::$repeat, )* }
            }

            /// The gated part of the API this endpoint belongs to, if any.
            pub fn gated_api(self) -> Option<GatedApi> {
                match self { $( Endpoint::$variant => $gate, )* }
            }
        }
    };
}

const CONTENT: Option<GatedApi> = Some(GatedApi::Content);
const WORKFLOWS: Option<GatedApi> = Some(GatedApi::Workflows);

endpoints! {
    /// `GET /v1/api-key`
    TestApiKey = "test_api_key", Harmless, None;
    /// `POST /v1/contacts/create`
    CreateContact = "create_contact", Unsafe, None;
    /// `PUT /v1/contacts/update` (an upsert: applying it twice leaves the same contact)
    UpdateContact = "update_contact", Harmless, None;
    /// `GET /v1/contacts/find`
    FindContact = "find_contact", Harmless, None;
    /// `POST /v1/contacts/delete` (a repeat after a delete that landed answers 404, which the
    /// client reads as done)
    DeleteContact = "delete_contact", Harmless, None;
    /// `GET /v1/contacts/suppression`
    CheckSuppression = "check_suppression", Harmless, None;
    /// `DELETE /v1/contacts/suppression` (a repeat is refused with 400, without effect)
    RemoveSuppression = "remove_suppression", Harmless, None;
    /// `GET /v1/contacts/properties`
    ListContactProperties = "list_contact_properties", Harmless, None;
    /// `POST /v1/contacts/properties`
    CreateContactProperty = "create_contact_property", Unsafe, None;
    /// `GET /v1/lists`
    ListMailingLists = "list_mailing_lists", Harmless, None;
    /// `POST /v1/events/send` (safe only with the idempotency key the client always adds)
    SendEvent = "send_event", Unsafe, None;
    /// `POST /v1/transactional` (safe only with the idempotency key the client always adds)
    SendTransactional = "send_transactional", Unsafe, None;
    /// `GET /v1/transactional-emails` (or the legacy `GET /v1/transactional`)
    ListTransactionalEmails = "list_transactional_emails", Harmless, None;
    /// `GET /v1/transactional-emails/{id}`
    GetTransactionalEmail = "get_transactional_email", Harmless, CONTENT;
    /// `POST /v1/transactional-emails`
    CreateTransactionalEmail = "create_transactional_email", Unsafe, CONTENT;
    /// `POST /v1/transactional-emails/{id}`
    UpdateTransactionalEmail = "update_transactional_email", Harmless, CONTENT;
    /// `POST /v1/transactional-emails/{id}/draft` (returns the existing draft when there is one)
    EnsureTransactionalDraft = "ensure_transactional_draft", Harmless, CONTENT;
    /// `POST /v1/transactional-emails/{id}/publish` (a repeat after a publish that landed finds
    /// no draft: not retried)
    PublishTransactionalEmail = "publish_transactional_email", Unsafe, CONTENT;
    /// `GET /v1/transactional-groups`
    ListTransactionalGroups = "list_transactional_groups", Harmless, CONTENT;
    /// `POST /v1/transactional-groups`
    CreateTransactionalGroup = "create_transactional_group", Unsafe, CONTENT;
    /// `GET /v1/transactional-groups/{id}`
    GetTransactionalGroup = "get_transactional_group", Harmless, CONTENT;
    /// `POST /v1/transactional-groups/{id}`
    UpdateTransactionalGroup = "update_transactional_group", Harmless, CONTENT;
    /// `GET /v1/campaign-groups`
    ListCampaignGroups = "list_campaign_groups", Harmless, CONTENT;
    /// `POST /v1/campaign-groups`
    CreateCampaignGroup = "create_campaign_group", Unsafe, CONTENT;
    /// `GET /v1/campaign-groups/{id}`
    GetCampaignGroup = "get_campaign_group", Harmless, CONTENT;
    /// `POST /v1/campaign-groups/{id}`
    UpdateCampaignGroup = "update_campaign_group", Harmless, CONTENT;
    /// `GET /v1/audience-segments`
    ListAudienceSegments = "list_audience_segments", Harmless, CONTENT;
    /// `GET /v1/audience-segments/{id}`
    GetAudienceSegment = "get_audience_segment", Harmless, CONTENT;
    /// `POST /v1/audience-segments`
    CreateAudienceSegment = "create_audience_segment", Unsafe, CONTENT;
    /// `GET /v1/themes`
    ListThemes = "list_themes", Harmless, CONTENT;
    /// `GET /v1/themes/{id}`
    GetTheme = "get_theme", Harmless, CONTENT;
    /// `POST /v1/themes`
    CreateTheme = "create_theme", Unsafe, CONTENT;
    /// `POST /v1/themes/{id}`
    UpdateTheme = "update_theme", Harmless, CONTENT;
    /// `GET /v1/components`
    ListComponents = "list_components", Harmless, CONTENT;
    /// `GET /v1/components/{id}`
    GetComponent = "get_component", Harmless, CONTENT;
    /// `POST /v1/components`
    CreateComponent = "create_component", Unsafe, CONTENT;
    /// `POST /v1/components/{id}`
    UpdateComponent = "update_component", Harmless, CONTENT;
    /// `GET /v1/campaigns`
    ListCampaigns = "list_campaigns", Harmless, CONTENT;
    /// `POST /v1/campaigns`
    CreateCampaign = "create_campaign", Unsafe, CONTENT;
    /// `GET /v1/campaigns/{id}`
    GetCampaign = "get_campaign", Harmless, CONTENT;
    /// `POST /v1/campaigns/{id}`
    UpdateCampaign = "update_campaign", Harmless, CONTENT;
    /// `GET /v1/email-messages/{id}`
    GetEmailMessage = "get_email_message", Harmless, CONTENT;
    /// `POST /v1/email-messages/{id}` (guarded by `expectedRevisionId` when one is sent;
    /// otherwise it sets fields, which a repeat leaves the same)
    UpdateEmailMessage = "update_email_message", Guarded, CONTENT;
    /// `POST /v1/email-messages/{id}/preview` (sends email: never repeated)
    SendEmailMessagePreview = "send_email_message_preview", Unsafe, CONTENT;
    /// `GET /v1/email-messages/{id}/guardian`
    RunEmailMessageGuardian = "run_email_message_guardian", Harmless, CONTENT;
    /// `POST /v1/uploads`
    CreateUpload = "create_upload", Unsafe, CONTENT;
    /// The `PUT` of the bytes to the presigned URL an upload slot names (not under the API
    /// base; sent without the API key). Repeating it writes the same object.
    PutUpload = "put_upload", Harmless, CONTENT;
    /// `POST /v1/uploads/{id}/complete`
    CompleteUpload = "complete_upload", Harmless, CONTENT;
    /// `GET /v1/event-patterns`
    ListEventPatterns = "list_event_patterns", Harmless, WORKFLOWS;
    /// `GET /v1/event-patterns/{id}`
    GetEventPattern = "get_event_pattern", Harmless, WORKFLOWS;
    /// `GET /v1/event-patterns/by-name/{eventName}`
    GetEventPatternByName = "get_event_pattern_by_name", Harmless, WORKFLOWS;
    /// `GET /v1/workflows`
    ListWorkflows = "list_workflows", Harmless, WORKFLOWS;
    /// `POST /v1/workflows`
    CreateWorkflow = "create_workflow", Unsafe, WORKFLOWS;
    /// `GET /v1/workflows/{id}`
    GetWorkflow = "get_workflow", Harmless, WORKFLOWS;
    /// `POST /v1/workflows/{id}`
    UpdateWorkflow = "update_workflow", Guarded, WORKFLOWS;
    /// `DELETE /v1/workflows/{id}` with a JSON body (a repeat after a delete that landed
    /// answers 404, which the client reads as done)
    DeleteWorkflow = "delete_workflow", Guarded, WORKFLOWS;
    /// `POST /v1/workflows/{id}/mailing-list`
    ChangeWorkflowMailingList = "change_workflow_mailing_list", Guarded, WORKFLOWS;
    /// `POST /v1/workflows/{id}/nodes`
    CreateWorkflowNode = "create_workflow_node", Guarded, WORKFLOWS;
    /// `GET /v1/workflows/{id}/nodes/{nodeId}`
    GetWorkflowNode = "get_workflow_node", Harmless, WORKFLOWS;
    /// `POST /v1/workflows/{id}/nodes/{nodeId}`
    UpdateWorkflowNode = "update_workflow_node", Guarded, WORKFLOWS;
    /// `DELETE /v1/workflows/{id}/nodes/{nodeId}` with a JSON body
    DeleteWorkflowNode = "delete_workflow_node", Guarded, WORKFLOWS;
    /// `POST /v1/workflows/{id}/nodes/{nodeId}/add-branch`
    AddWorkflowBranch = "add_workflow_branch", Guarded, WORKFLOWS;
    /// `POST /v1/workflows/{id}/nodes/{nodeId}/reroute`
    RerouteWorkflowNode = "reroute_workflow_node", Guarded, WORKFLOWS;
    /// `DELETE /v1/workflows/{id}/nodes/{nodeId}/recursive` with a JSON body
    DeleteWorkflowNodesRecursive = "delete_workflow_nodes_recursive", Guarded, WORKFLOWS;
    /// `GET /v1/dedicated-sending-ips`
    ListDedicatedSendingIps = "list_dedicated_sending_ips", Harmless, None;
    /// Any other path, sent through the raw escape hatch.
    Raw = "raw", Unsafe, None;
}

impl Endpoint {
    /// Whether a repeat of this request with the same body cannot do anything twice, so a
    /// retry after an ambiguous failure (5xx, lost connection) is allowed.
    ///
    /// Writes guarded by `expectedRevisionId` count as safe: when the first attempt landed,
    /// the repeat carries a revision that is no longer current and Loops refuses it (the
    /// caller then gets [`Error::StaleRevision`](crate::Error::StaleRevision) with
    /// `maybe_applied_earlier` set), so nothing is applied twice.
    pub(crate) fn natural_safety(self) -> RetrySafety {
        match self.repeat() {
            Repeat::Harmless | Repeat::Guarded => RetrySafety::Safe,
            Repeat::Unsafe => RetrySafety::Unsafe,
        }
    }

    /// Whether this write carries `expectedRevisionId` (email messages, workflow mutations).
    pub fn is_revision_guarded(self) -> bool {
        self.repeat() == Repeat::Guarded
    }

    /// The size limit Loops documents for this endpoint's 413, in bytes.
    pub fn documented_size_limit(self) -> Option<u64> {
        match self {
            Endpoint::UpdateEmailMessage => Some(crate::validate::MAX_LMX_BYTES as u64),
            Endpoint::CreateUpload | Endpoint::PutUpload => {
                Some(crate::validate::MAX_UPLOAD_BYTES as u64)
            }
            Endpoint::SendTransactional => Some(crate::validate::MAX_TRANSACTIONAL_BYTES as u64),
            _ => None,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Builds `/v1/{prefix}/{id}{suffix}` with the id percent-encoded as one path segment, and
/// refuses an empty id (which would silently address the collection instead).
pub(crate) fn id_path(
    prefix: &str,
    field: &'static str,
    id: &str,
    suffix: &str,
) -> Result<String, ValidationError> {
    if id.trim().is_empty() {
        return Err(ValidationError::EmptyField { field });
    }
    Ok(format!("{prefix}/{}{suffix}", encode_segment(id)))
}

/// `GET {prefix}/{id}`.
pub(crate) fn get_by_id(
    endpoint: Endpoint,
    prefix: &str,
    field: &'static str,
    id: &str,
) -> Result<ApiRequest, ValidationError> {
    Ok(ApiRequest::new(
        endpoint,
        Method::GET,
        id_path(prefix, field, id, "")?,
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so `/`, `?`, `#` and
/// spaces in an id or an event name stay inside their path segment.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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
    /// `Some` when the body carries `expectedRevisionId` (whose value may be `null`).
    revision_guard: Option<Option<String>>,
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
            revision_guard: None,
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

    /// Records the `expectedRevisionId` the body carries, so that a 409 can be reported with
    /// both revisions.
    pub(crate) fn with_revision_guard(mut self, expected: Option<String>) -> Self {
        self.revision_guard = Some(expected);
        self
    }

    /// Overrides the endpoint's natural retry safety (e.g. a node create that is only safe to
    /// repeat when a revision guards it).
    pub(crate) fn with_safety(mut self, safety: RetrySafety) -> Self {
        self.safety = safety;
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

    /// The `expectedRevisionId` the body carries: `None` when the request is not guarded by a
    /// revision, `Some(None)` when it sends `null` (a workflow that has no revision yet).
    pub fn expected_revision(&self) -> Option<Option<&str>> {
        self.revision_guard.as_ref().map(Option::as_deref)
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
            .field("revision_guard", &self.revision_guard)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for endpoint in Endpoint::ALL {
            let name = endpoint.name();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn safety_and_gates() {
        let table = [
            (
                Endpoint::GetCampaign,
                RetrySafety::Safe,
                Some(GatedApi::Content),
                false,
            ),
            (
                Endpoint::CreateCampaign,
                RetrySafety::Unsafe,
                Some(GatedApi::Content),
                false,
            ),
            (
                Endpoint::UpdateCampaign,
                RetrySafety::Safe,
                Some(GatedApi::Content),
                false,
            ),
            (
                Endpoint::UpdateEmailMessage,
                RetrySafety::Safe,
                Some(GatedApi::Content),
                true,
            ),
            (
                Endpoint::SendEmailMessagePreview,
                RetrySafety::Unsafe,
                Some(GatedApi::Content),
                false,
            ),
            (
                Endpoint::PublishTransactionalEmail,
                RetrySafety::Unsafe,
                Some(GatedApi::Content),
                false,
            ),
            (
                Endpoint::DeleteWorkflow,
                RetrySafety::Safe,
                Some(GatedApi::Workflows),
                true,
            ),
            (
                Endpoint::ListEventPatterns,
                RetrySafety::Safe,
                Some(GatedApi::Workflows),
                false,
            ),
            (
                Endpoint::CreateWorkflow,
                RetrySafety::Unsafe,
                Some(GatedApi::Workflows),
                false,
            ),
            (Endpoint::SendEvent, RetrySafety::Unsafe, None, false),
            (
                Endpoint::ListTransactionalEmails,
                RetrySafety::Safe,
                None,
                false,
            ),
            (Endpoint::Raw, RetrySafety::Unsafe, None, false),
        ];
        for (endpoint, safety, gate, guarded) in table {
            assert_eq!(endpoint.natural_safety(), safety, "{endpoint}");
            assert_eq!(endpoint.gated_api(), gate, "{endpoint}");
            assert_eq!(endpoint.is_revision_guarded(), guarded, "{endpoint}");
        }
    }

    #[test]
    fn ids_stay_in_their_segment() {
        let table = [
            ("abc", Ok("/v1/themes/abc")),
            ("a/b?c#d", Ok("/v1/themes/a%2Fb%3Fc%23d")),
            ("Payment Received", Ok("/v1/themes/Payment%20Received")),
            ("é", Ok("/v1/themes/%C3%A9")),
            ("", Err(())),
            ("  ", Err(())),
        ];
        for (id, expected) in table {
            let got = id_path("/v1/themes", "themeId", id, "").map_err(|_| ());
            assert_eq!(got.as_deref().map_err(|_| ()), expected, "{id:?}");
        }
        assert_eq!(
            id_path("/v1/uploads", "emailAssetId", "x1", "/complete").unwrap(),
            "/v1/uploads/x1/complete"
        );
    }
}
