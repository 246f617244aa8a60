//! Transactional emails: send one (`POST /v1/transactional`), list them
//! (`GET /v1/transactional-emails`), and manage them: create one with an empty draft, get,
//! rename or regroup it, make sure it has a draft, publish the draft.
//!
//! A transactional email's content lives in its draft email message: create the email, set
//! the draft's subject and LMX with
//! [`EmailMessagesApi::update`](crate::email_messages::EmailMessagesApi::update) (the first
//! `expectedRevisionId` is [`TransactionalEmail::draft_email_message_content_revision_id`]),
//! then [publish](TransactionalApi::publish) it. Publishing without a draft is refused with
//! [`Error::DraftRequired`](crate::Error::DraftRequired); a draft that fails Loops' checks
//! (content, an unverified sending domain) with
//! [`Error::Unprocessable`](crate::Error::Unprocessable), its messages kept.
//!
//! The request types turn into [`ApiRequest`]s without IO; [`TransactionalApi`] (from
//! [`Client::transactional`](crate::Client::transactional)) sends them.

mod manage;

pub use manage::{
    CreateTransactionalEmailRequest, UpdateTransactionalEmailRequest,
    ensure_transactional_draft_request, get_transactional_email_request,
    publish_transactional_email_request,
};

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint};
use crate::idempotency::IdempotencyKey;
use crate::json::{null_as_default, to_json};
use crate::pagination::{PageRequest, list_request};
use crate::validate::{self, MAX_TRANSACTIONAL_BYTES, ValidationError};
use crate::value::{DataVariable, DataVariables};

/// A file attached to a transactional email (attachments must be enabled on the account).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    /// The file name shown to the recipient.
    pub filename: String,
    /// The MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// The file's bytes, base64-encoded.
    pub data: String,
}

impl Attachment {
    /// An attachment from bytes, base64-encoded here.
    pub fn from_bytes(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        bytes: &[u8],
    ) -> Self {
        use base64::Engine as _;
        Attachment {
            filename: filename.into(),
            content_type: content_type.into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

impl std::fmt::Debug for Attachment {
    // The data can be megabytes; show its size instead.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("data_len", &self.data.len())
            .finish()
    }
}

/// Sends a published transactional email to one recipient (`POST /v1/transactional`).
///
/// ```
/// use loops_client::transactional::SendTransactionalRequest;
///
/// let request = SendTransactionalRequest::new("cl_welcome", "ada@example.com")
///     .data_variable("name", "Ada")
///     .data_variable("seats", 3)
///     .add_to_audience(false);
/// let data = request.to_api_request().unwrap();
/// assert_eq!(
///     std::str::from_utf8(data.body().unwrap()).unwrap(),
///     r#"{"transactionalId":"cl_welcome","email":"ada@example.com","addToAudience":false,"dataVariables":{"name":"Ada","seats":3}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SendTransactionalRequest {
    transactional_id: String,
    email: String,
    add_to_audience: Option<bool>,
    data_variables: DataVariables,
    attachments: Vec<Attachment>,
    idempotency_key: Option<IdempotencyKey>,
}

impl SendTransactionalRequest {
    /// The email `transactional_id` to `email`.
    pub fn new(transactional_id: impl Into<String>, email: impl Into<String>) -> Self {
        SendTransactionalRequest {
            transactional_id: transactional_id.into(),
            email: email.into(),
            add_to_audience: None,
            data_variables: DataVariables::new(),
            attachments: Vec::new(),
            idempotency_key: None,
        }
    }

    /// Whether to create a contact for the recipient when none exists (Loops' default: no).
    pub fn add_to_audience(mut self, add: bool) -> Self {
        self.add_to_audience = Some(add);
        self
    }

    /// Sets one data variable.
    pub fn data_variable(
        mut self,
        name: impl Into<String>,
        value: impl Into<DataVariable>,
    ) -> Self {
        self.data_variables.insert(name.into(), value.into());
        self
    }

    /// Sets all data variables.
    pub fn data_variables(mut self, variables: DataVariables) -> Self {
        self.data_variables = variables;
        self
    }

    /// Adds an attachment.
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Uses this idempotency key instead of a generated one.
    pub fn idempotency_key(mut self, key: IdempotencyKey) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    /// Validates and turns the request into data.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty("transactionalId", &self.transactional_id)?;
        validate::require_non_empty("email", &self.email)?;
        validate::check_data_variables(&self.data_variables)?;
        for attachment in &self.attachments {
            validate::require_non_empty("attachments[].filename", &attachment.filename)?;
            validate::require_non_empty("attachments[].contentType", &attachment.content_type)?;
            if attachment.data.is_empty() {
                return Err(ValidationError::EmptyField {
                    field: "attachments[].data",
                });
            }
        }

        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            transactional_id: &'a str,
            email: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            add_to_audience: Option<bool>,
            #[serde(skip_serializing_if = "DataVariables::is_empty")]
            data_variables: &'a DataVariables,
            #[serde(skip_serializing_if = "<[Attachment]>::is_empty")]
            attachments: &'a [Attachment],
        }
        let bytes = to_json(&Body {
            transactional_id: &self.transactional_id,
            email: &self.email,
            add_to_audience: self.add_to_audience,
            data_variables: &self.data_variables,
            attachments: &self.attachments,
        });
        if bytes.len() >= MAX_TRANSACTIONAL_BYTES {
            return Err(ValidationError::PayloadTooLarge {
                bytes: bytes.len(),
                max: MAX_TRANSACTIONAL_BYTES,
            });
        }
        let mut request = ApiRequest::new(
            Endpoint::SendTransactional,
            Method::POST,
            "/v1/transactional",
        )
        .with_json_bytes(bytes);
        if let Some(key) = &self.idempotency_key {
            request.set_idempotency_key(key.clone());
        }
        Ok(request)
    }
}

/// A transactional email, as listed, got, created, updated or published.
///
/// Both list shapes are read: the current `/v1/transactional-emails` (with draft and
/// published message ids and timestamps) and the legacy `/v1/transactional` (with
/// `lastUpdated`). Fields absent from one shape are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TransactionalEmail {
    /// The id to send with.
    pub id: String,
    /// Its name in Loops.
    #[serde(default)]
    pub name: String,
    /// The data variables the published version expects.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data_variables: Vec<String>,
    /// Last change (legacy list).
    #[serde(default)]
    pub last_updated: Option<String>,
    /// Creation time (current list).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last change (current list).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// The draft message, if any (current list).
    #[serde(default)]
    pub draft_email_message_id: Option<String>,
    /// The published message, if any (current list).
    #[serde(default)]
    pub published_email_message_id: Option<String>,
    /// The group it belongs to (current list).
    #[serde(default)]
    pub transactional_group_id: Option<String>,
    /// Its page in the Loops app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// On a create or an ensure-draft: the draft's `contentRevisionId`, to pass as
    /// `expectedRevisionId` on the draft's first update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_email_message_content_revision_id: Option<String>,
}

/// Which list endpoint to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransactionalList {
    /// `GET /v1/transactional-emails`: every transactional email, drafts included.
    #[default]
    Current,
    /// `GET /v1/transactional`: published ones only (deprecated by Loops).
    Legacy,
}

/// `GET /v1/transactional-emails` (or the legacy path) for one page.
pub fn list_transactional_request(
    list: TransactionalList,
    page: &PageRequest,
) -> Result<ApiRequest, ValidationError> {
    let path = match list {
        TransactionalList::Current => "/v1/transactional-emails",
        TransactionalList::Legacy => "/v1/transactional",
    };
    list_request(Endpoint::ListTransactionalEmails, path, page)
}

#[cfg(feature = "client")]
pub use api::TransactionalApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        CreateTransactionalEmailRequest, SendTransactionalRequest, TransactionalEmail,
        TransactionalList, UpdateTransactionalEmailRequest, ensure_transactional_draft_request,
        get_transactional_email_request, list_transactional_request,
        publish_transactional_email_request,
    };
    use crate::client::Client;
    use crate::idempotency::SendReceipt;
    use crate::pagination::{Page, PageRequest, paginate};

    /// Transactional emails: send, list, and manage. Get it with [`Client::transactional`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::email_messages::UpdateEmailMessageRequest;
    /// use loops_client::transactional::{CreateTransactionalEmailRequest, SendTransactionalRequest};
    ///
    /// let transactional = client.transactional();
    /// let email = transactional.create(&CreateTransactionalEmailRequest::new("Password reset")).await?;
    /// client
    ///     .email_messages()
    ///     .update(
    ///         email.draft_email_message_id.as_deref().unwrap_or_default(),
    ///         &UpdateEmailMessageRequest::new()
    ///             .expected_revision_id(email.draft_email_message_content_revision_id.clone())
    ///             .subject("Reset your password")
    ///             .lmx("<Paragraph><Text>Click {data.resetLink} to reset.</Text></Paragraph>"),
    ///     )
    ///     .await?;
    /// let published = transactional.publish(&email.id).await?;
    /// transactional
    ///     .send(&SendTransactionalRequest::new(&published.id, "ada@example.com").data_variable("resetLink", "https://example.com/r"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use loops_client::transactional::{SendTransactionalRequest, TransactionalList};
    ///
    /// let transactional = client.transactional();
    /// let receipt = transactional
    ///     .send(&SendTransactionalRequest::new("cl_welcome", "ada@example.com").data_variable("name", "Ada"))
    ///     .await?;
    /// println!("sent with key {}", receipt.idempotency_key);
    ///
    /// // Every transactional email, page after page.
    /// let emails: Vec<_> = transactional.list(TransactionalList::Current, Some(50)).try_collect().await?;
    /// for email in emails {
    ///     println!("{} {} {:?}", email.id, email.name, email.data_variables);
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct TransactionalApi {
        pub(crate) client: Client,
    }

    impl TransactionalApi {
        /// Sends a transactional email (`POST /v1/transactional`), always with an idempotency
        /// key (yours, or one generated for this call and reused on each retry).
        pub async fn send(&self, request: &SendTransactionalRequest) -> crate::Result<SendReceipt> {
            self.client.send_keyed(request.to_api_request()?).await
        }

        /// One page of transactional emails.
        pub async fn list_page(
            &self,
            list: TransactionalList,
            page: &PageRequest,
        ) -> crate::Result<Page<TransactionalEmail>> {
            self.client
                .execute(&list_transactional_request(list, page)?)
                .await?
                .json()
        }

        /// One transactional email by id.
        pub async fn get(&self, id: &str) -> crate::Result<TransactionalEmail> {
            self.client
                .execute(&get_transactional_email_request(id)?)
                .await?
                .json()
        }

        /// Creates a transactional email with an empty draft (201); not retried after an
        /// ambiguous failure. A sending domain must be set up in Loops first.
        pub async fn create(
            &self,
            request: &CreateTransactionalEmailRequest,
        ) -> crate::Result<TransactionalEmail> {
            self.client
                .execute(&request.to_api_request()?)
                .await?
                .json()
        }

        /// Renames it or moves it to another group.
        pub async fn update(
            &self,
            id: &str,
            request: &UpdateTransactionalEmailRequest,
        ) -> crate::Result<TransactionalEmail> {
            self.client
                .execute(&request.to_api_request(id)?)
                .await?
                .json()
        }

        /// Makes sure it has a draft (seeded from the published version when there is one)
        /// and answers with the draft's ids; the existing draft when there is one.
        pub async fn ensure_draft(&self, id: &str) -> crate::Result<TransactionalEmail> {
            self.client
                .execute(&ensure_transactional_draft_request(id)?)
                .await?
                .json()
        }

        /// Publishes the draft: it becomes the version sends use, and the draft is cleared.
        /// [`Error::DraftRequired`](crate::Error::DraftRequired) without a draft,
        /// [`Error::Unprocessable`](crate::Error::Unprocessable) when the draft fails Loops'
        /// checks. Not retried after an ambiguous failure (a repeat would find no draft).
        pub async fn publish(&self, id: &str) -> crate::Result<TransactionalEmail> {
            self.client
                .execute(&publish_transactional_email_request(id)?)
                .await?
                .json()
        }

        /// Every transactional email, following `pagination.nextCursor` page by page;
        /// `per_page` is 10 to 50 (Loops' default: 20). The stream owns a clone of the client.
        pub fn list(
            &self,
            list: TransactionalList,
            per_page: Option<u32>,
        ) -> impl futures_util::Stream<Item = crate::Result<TransactionalEmail>> + Send + 'static
        {
            let api = self.clone();
            paginate(per_page, move |page| {
                let api = api.clone();
                async move { api.list_page(list, &page).await }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn fixture_shaped_body() {
        let request =
            SendTransactionalRequest::new("clfq6dinn000yl70fgwwyp82l", "favorite@example.com")
                .add_to_audience(true)
                .data_variable("name", "Chris")
                .data_variable("passwordResetLink", "https://example.com/reset-password")
                .data_variable("bccAddress", "me@company.com")
                .attachment(Attachment {
                    filename: "presentation.pdf".into(),
                    content_type: "application/pdf".into(),
                    data: "JVBERi0xLjMKJcTl8uXrp/Og0MTGCjQgMCBvYmoKPD...".into(),
                })
                .to_api_request()
                .unwrap();
        let body: serde_json::Value = serde_json::from_slice(request.body().unwrap()).unwrap();
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/transactional.request.json"
        ))
        .unwrap();
        assert_eq!(body, fixture);
    }

    #[test]
    fn arrays_of_objects() {
        let mut row = BTreeMap::new();
        row.insert("item".to_owned(), crate::value::DataScalar::from("Seat"));
        row.insert("price".to_owned(), crate::value::DataScalar::from(10));
        let request = SendTransactionalRequest::new("t", "a@b.c")
            .data_variable("items", vec![row])
            .to_api_request()
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(request.body().unwrap()).unwrap();
        assert_eq!(
            body["dataVariables"]["items"],
            serde_json::json!([{"item":"Seat","price":10}])
        );
    }

    #[test]
    fn validation() {
        let huge = "A".repeat(MAX_TRANSACTIONAL_BYTES);
        let cases = vec![
            (
                SendTransactionalRequest::new("", "a@b.c"),
                "transactionalId",
            ),
            (SendTransactionalRequest::new("t", ""), "email"),
            (
                SendTransactionalRequest::new("t", "a@b.c").data_variable("x", "y".repeat(600)),
                "at most 500",
            ),
            (
                SendTransactionalRequest::new("t", "a@b.c").attachment(Attachment::from_bytes(
                    "f",
                    "text/plain",
                    huge.as_bytes(),
                )),
                "less than 4000000",
            ),
            (
                SendTransactionalRequest::new("t", "a@b.c").attachment(Attachment::from_bytes(
                    "",
                    "text/plain",
                    b"x",
                )),
                "filename",
            ),
        ];
        for (request, expected) in cases {
            let err = request.to_api_request().unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should contain {expected}");
        }
    }

    #[test]
    fn list_requests() {
        let page = PageRequest {
            per_page: Some(20),
            cursor: Some("abc".into()),
        };
        let request = list_transactional_request(TransactionalList::Current, &page).unwrap();
        assert_eq!(
            request.path_and_query(),
            "/v1/transactional-emails?perPage=20&cursor=abc"
        );
        let legacy =
            list_transactional_request(TransactionalList::Legacy, &PageRequest::default()).unwrap();
        assert_eq!(legacy.path_and_query(), "/v1/transactional");
        let bad = PageRequest {
            per_page: Some(5),
            cursor: None,
        };
        assert!(list_transactional_request(TransactionalList::Current, &bad).is_err());
    }

    #[test]
    fn legacy_list_fixture_parses() {
        let page: crate::pagination::Page<TransactionalEmail> = serde_json::from_str(include_str!(
            "../../tests/fixtures/transactional.list-legacy.200.json"
        ))
        .unwrap();
        assert_eq!(page.data.len(), 3);
        assert_eq!(
            page.data[2].data_variables,
            vec!["firstName", "lastName", "inviteLink"]
        );
        assert_eq!(
            page.pagination.next_cursor.as_deref(),
            Some("clyo0q4wo01p59fsecyxqsh38")
        );
    }
}
