//! Chat templates (`/api/v4/chats/templates`): canned messages for chats, including
//! WhatsApp (WABA) templates that Meta reviews before use.

use serde::{Deserialize, Serialize};

use crate::ids::{ChatTemplateId, SourceId};
use crate::serde_util;
use crate::string_enum::string_enum;

string_enum! {
    /// The state of a template's review.
    pub enum ReviewStatus {
        /// `draft`.
        Draft => "draft",
        /// `review`.
        Review => "review",
        /// `rejected`.
        Rejected => "rejected",
        /// `approved`.
        Approved => "approved",
        /// `paused`.
        Paused => "paused",
    }
}

/// One review of a template, per WhatsApp source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TemplateReview {
    /// The review id.
    #[serde(deserialize_with = "crate::ids::deserialize_u64")]
    pub id: u64,
    /// The WhatsApp source.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub source_id: Option<SourceId>,
    /// The state.
    pub status: ReviewStatus,
    /// Why it was rejected.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub reject_reason: Option<String>,
}

/// A chat template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatTemplate {
    /// The id.
    pub id: ChatTemplateId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The text, with `{{placeholders}}`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub content: Option<String>,
    /// `amocrm` or `waba`.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "serde_util::lenient_string"
    )]
    pub template_type: Option<String>,
    /// Whether users may edit it.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_editable: Option<bool>,
    /// The integration's own id.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub external_id: Option<String>,
    /// Buttons, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buttons: Option<serde_json::Value>,
    /// The attachment, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<serde_json::Value>,
    /// WABA: the category (`UTILITY`, `MARKETING`, ...).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub waba_category: Option<String>,
    /// WABA: the language.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub waba_language: Option<String>,
    /// WABA: the header.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub waba_header: Option<String>,
    /// WABA: the footer.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub waba_footer: Option<String>,
    /// The reviews.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub reviews: Vec<TemplateReview>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
}

/// A template to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ChatTemplateWrite {
    /// The template to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ChatTemplateId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The text (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// `amocrm` (default) or `waba`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub template_type: Option<String>,
    /// Whether users may edit it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_editable: Option<bool>,
    /// The integration's own id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Buttons, as the API documents them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buttons: Option<serde_json::Value>,
    /// WABA fields and the attachment, as the API documents them.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ChatTemplateWrite {
    /// A new template.
    #[must_use]
    pub fn new(name: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            content: Some(content.into()),
            ..Self::default()
        }
    }

    /// A change of template `id`.
    #[must_use]
    pub fn update(id: ChatTemplateId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }
}

#[cfg(feature = "client")]
pub use api::ChatTemplatesApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;
    use serde_json::json;

    use super::{ChatTemplate, ChatTemplateWrite, ReviewStatus, TemplateReview};
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::crud::{self, Checked};
    use crate::error::{Error, Result};
    use crate::ids::ChatTemplateId;

    /// Chat templates. Get it with [`Client::chat_templates`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::chat_templates::ChatTemplateWrite;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let added = client
    ///     .chat_templates()
    ///     .add(vec![ChatTemplateWrite::new("Welcome", "Hi {{contact.name}}!")])
    ///     .await?;
    /// # let _ = added; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ChatTemplatesApi {
        pub(crate) client: Client,
    }

    impl Checked for ChatTemplateWrite {
        fn check(&self) -> Result<()> {
            crud::required(self.name.as_deref(), "a template's name")?;
            crud::required(self.content.as_deref(), "a template's content")
        }
    }

    impl ChatTemplatesApi {
        fn path(&self) -> String {
            "/api/v4/chats/templates".to_owned()
        }

        /// `DELETE /api/v4/chats/templates` with several ids at once.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no id (nothing is sent), otherwise any [`Error`] of
        /// the request.
        pub async fn delete_many(&self, ids: &[ChatTemplateId]) -> Result<()> {
            if ids.is_empty() {
                return Err(Error::invalid_request("name at least one template"));
            }
            let body: Vec<_> = ids.iter().map(|id| json!({ "id": id })).collect();
            self.client.delete(self.path(), Some(&body)).await
        }

        /// `POST /api/v4/chats/templates/{id}/review`: sends a WABA template to review.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn send_on_review(&self, id: ChatTemplateId) -> Result<Vec<TemplateReview>> {
            let request = ApiRequest::raw(Method::POST, format!("{}/{id}/review", self.path()));
            Ok(self.client.page(request, "reviews").await?.items)
        }

        /// `POST /api/v4/chats/templates/{id}/review/{review_id}`: sets a review's state.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn update_review_status(
            &self,
            id: ChatTemplateId,
            review_id: u64,
            status: ReviewStatus,
            reject_reason: Option<&str>,
        ) -> Result<Option<TemplateReview>> {
            let mut body = json!({ "status": status });
            if let Some(reason) = reject_reason {
                body["reject_reason"] = json!(reason);
            }
            self.client
                .send_json(
                    Method::POST,
                    format!("{}/{id}/review/{review_id}", self.path()),
                    &body,
                    true,
                )
                .await
        }
    }

    crud::list_calls!(
        ChatTemplatesApi,
        ChatTemplate,
        "chat_templates",
        "the chat templates"
    );
    crud::get_call!(
        ChatTemplatesApi,
        ChatTemplate,
        ChatTemplateId,
        "the chat templates"
    );
    crud::add_call!(
        ChatTemplatesApi,
        ChatTemplateWrite,
        "chat_templates",
        "chat templates"
    );
    crud::update_call!(
        ChatTemplatesApi,
        ChatTemplateWrite,
        "chat_templates",
        "chat template"
    );
    crud::update_one_call!(
        ChatTemplatesApi,
        ChatTemplateWrite,
        ChatTemplateId,
        "the chat templates"
    );
    crud::delete_call!(ChatTemplatesApi, ChatTemplateId, "the chat templates");
}
