//! Email messages (`/v1/email-messages/{id}`): the content of a campaign, a transactional
//! email or a workflow email. Get, update (guarded by `expectedRevisionId`), send a preview,
//! run the Guardian checks.
//!
//! # Revisions
//!
//! Every successful update answers with a new `contentRevisionId`; pass it as
//! `expectedRevisionId` on the next update. If someone changed the message in between, Loops
//! refuses the update with 409 and nothing is applied: the client reports
//! [`Error::StaleRevision`](crate::Error::StaleRevision) with the revision you sent and the
//! current one (read after the 409 when Loops does not say). A 409 whose revision still
//! matches has another cause (a campaign that left `Draft`, an MJML message) and stays an
//! [`Error::Api`](crate::Error::Api) with status 409.
//!
//! An update is retried after an ambiguous failure (5xx, timeout): with a revision, a repeat
//! of an update that landed is refused as stale (`maybe_applied_earlier` is then set), never
//! applied twice; without one, the repeat sets the same fields again.

use std::collections::BTreeMap;

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::endpoint::{ApiRequest, Endpoint, get_by_id, id_path};
use crate::json::{null_as_default, to_json};
use crate::validate::{self, MAX_LMX_BYTES, ValidationError};
use crate::wire_enum::wire_enum;

wire_enum! {
    /// How an email is rendered.
    EmailFormat {
        /// With the theme's styles.
        Styled = "styled",
        /// Plain, like a personal email.
        Plain = "plain",
    }
}

/// A non-fatal issue found while compiling LMX, returned with a successful update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmailMessageWarning {
    /// The rule that fired.
    #[serde(default)]
    pub rule: String,
    /// `warning`.
    #[serde(default)]
    pub severity: String,
    /// What is wrong.
    #[serde(default)]
    pub message: String,
    /// Where, when Loops says.
    #[serde(default)]
    pub path: Option<String>,
}

/// An email message.
///
/// Both shapes are read: the current one (`id`; the fallbacks, CC/BCC and language fields)
/// and the one before JS SDK 7.0 (`emailMessageId`, with a top-level `success`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EmailMessage {
    /// Its id.
    #[serde(alias = "emailMessageId")]
    pub id: String,
    /// The campaign it belongs to, if any.
    #[serde(default)]
    pub campaign_id: Option<String>,
    /// The transactional email it belongs to, if any.
    #[serde(default)]
    pub transactional_id: Option<String>,
    /// Subject.
    #[serde(default)]
    pub subject: String,
    /// Preview text.
    #[serde(default)]
    pub preview_text: String,
    /// Sender name.
    #[serde(default)]
    pub from_name: String,
    /// Sender username (the part before `@`; Loops adds the team's sending domain).
    #[serde(default)]
    pub from_email: String,
    /// Reply-to address.
    #[serde(default)]
    pub reply_to_email: String,
    /// CC address (when CC is enabled for the team).
    #[serde(default)]
    pub cc_email: Option<String>,
    /// BCC address (when BCC is enabled for the team).
    #[serde(default)]
    pub bcc_email: Option<String>,
    /// Language (when translation is enabled).
    #[serde(default)]
    pub language_code: Option<String>,
    /// Rendering format.
    #[serde(default)]
    pub email_format: Option<EmailFormat>,
    /// The body, as LMX.
    #[serde(default)]
    pub lmx: String,
    /// The revision to pass as `expectedRevisionId` on the next update.
    #[serde(default)]
    pub content_revision_id: Option<String>,
    /// Last change (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Fallbacks for `{contact.*}` tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub contact_properties_fallbacks: BTreeMap<String, String>,
    /// Fallbacks for `{event.*}` tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_properties_fallbacks: BTreeMap<String, String>,
    /// Fallbacks for `{data.*}` tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data_variables_fallbacks: BTreeMap<String, String>,
    /// On an update: non-fatal LMX compilation warnings.
    #[serde(default, deserialize_with = "null_as_default")]
    pub warnings: Vec<EmailMessageWarning>,
}

/// Changes an email message (`POST /v1/email-messages/{id}`): any of its fields, at least
/// one. Fallback maps merge per key: a value sets the fallback, [`remove`](Self::remove_contact_fallback)
/// sends `null`, which deletes it, and keys not named stay as they are.
///
/// ```
/// use loops_client::email_messages::UpdateEmailMessageRequest;
///
/// let data = UpdateEmailMessageRequest::new()
///     .expected_revision_id(Some("rev_1".to_owned()))
///     .subject("Big spring updates")
///     .contact_fallback("firstName", "there")
///     .remove_data_fallback("resetLink")
///     .to_api_request("em1")
///     .unwrap();
/// assert_eq!(data.expected_revision(), Some(Some("rev_1")));
/// assert_eq!(
///     data.body().unwrap(),
///     br#"{"expectedRevisionId":"rev_1","subject":"Big spring updates","contactPropertiesFallbacks":{"firstName":"there"},"dataVariablesFallbacks":{"resetLink":null}}"#
/// );
/// assert!(UpdateEmailMessageRequest::new().expected_revision_id(Some("rev_1".into())).to_api_request("em1").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateEmailMessageRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_revision_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preview_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    from_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cc_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bcc_email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_format: Option<EmailFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lmx: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    contact_properties_fallbacks: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    event_properties_fallbacks: BTreeMap<String, Option<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data_variables_fallbacks: BTreeMap<String, Option<String>>,
}

macro_rules! text_setters {
    ($( $field:ident => $doc:literal, )*) => {
        $(
            #[doc = $doc]
            pub fn $field(mut self, value: impl Into<String>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

impl UpdateEmailMessageRequest {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        UpdateEmailMessageRequest::default()
    }

    /// The `contentRevisionId` last read (`None`: send no guard). Takes an `Option` so that
    /// `campaign.email_message_content_revision_id` or `message.content_revision_id` can be
    /// passed as they are.
    pub fn expected_revision_id(mut self, revision: Option<String>) -> Self {
        self.expected_revision_id = revision;
        self
    }

    text_setters! {
        subject => "Sets the subject.",
        preview_text => "Sets the preview text.",
        from_name => "Sets the sender name.",
        from_email => "Sets the sender username: the part before `@`, without a domain.",
        reply_to_email => "Sets the reply-to address (empty, or a valid address).",
        cc_email => "Sets the CC address (CC must be enabled for the team).",
        bcc_email => "Sets the BCC address (BCC must be enabled for the team).",
        language_code => "Sets the language (translation must be enabled for the team).",
        lmx => "Replaces the body with this LMX (at most 100 KB).",
    }

    /// Sets the rendering format.
    pub fn email_format(mut self, format: EmailFormat) -> Self {
        self.email_format = Some(format);
        self
    }

    /// Sets the fallback of `{contact.<key>}`.
    pub fn contact_fallback(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.contact_properties_fallbacks
            .insert(key.into(), Some(value.into()));
        self
    }

    /// Deletes the fallback of `{contact.<key>}` (sends `null`).
    pub fn remove_contact_fallback(mut self, key: impl Into<String>) -> Self {
        self.contact_properties_fallbacks.insert(key.into(), None);
        self
    }

    /// Sets the fallback of `{event.<key>}`.
    pub fn event_fallback(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.event_properties_fallbacks
            .insert(key.into(), Some(value.into()));
        self
    }

    /// Deletes the fallback of `{event.<key>}` (sends `null`).
    pub fn remove_event_fallback(mut self, key: impl Into<String>) -> Self {
        self.event_properties_fallbacks.insert(key.into(), None);
        self
    }

    /// Sets the fallback of `{data.<key>}`.
    pub fn data_fallback(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data_variables_fallbacks
            .insert(key.into(), Some(value.into()));
        self
    }

    /// Deletes the fallback of `{data.<key>}` (sends `null`).
    pub fn remove_data_fallback(mut self, key: impl Into<String>) -> Self {
        self.data_variables_fallbacks.insert(key.into(), None);
        self
    }

    fn check(&self) -> Result<(), ValidationError> {
        let unguarded = UpdateEmailMessageRequest {
            expected_revision_id: None,
            ..self.clone()
        };
        if unguarded == UpdateEmailMessageRequest::default() {
            return Err(ValidationError::EmptyUpdate {
                request: "UpdateEmailMessageRequest",
            });
        }
        if let Some(revision) = &self.expected_revision_id {
            validate::require_non_empty_any("expectedRevisionId", revision)?;
        }
        if let Some(lmx) = &self.lmx {
            validate::check_bytes("lmx", lmx.len(), MAX_LMX_BYTES)?;
        }
        if self.from_email.as_deref().is_some_and(|f| f.contains('@')) {
            return Err(ValidationError::InvalidValue {
                field: "fromEmail",
                reason: "give the username only; Loops appends the team's sending domain",
            });
        }
        for (field, address) in [
            ("replyToEmail", &self.reply_to_email),
            ("ccEmail", &self.cc_email),
            ("bccEmail", &self.bcc_email),
        ] {
            if address
                .as_deref()
                .is_some_and(|a| !a.trim().is_empty() && !a.contains('@'))
            {
                return Err(ValidationError::InvalidValue {
                    field,
                    reason: "not an email address",
                });
            }
        }
        Ok(())
    }

    /// Validates and turns the request into data.
    pub fn to_api_request(&self, id: &str) -> Result<ApiRequest, ValidationError> {
        self.check()?;
        let path = id_path("/v1/email-messages", "emailMessageId", id, "")?;
        let request = ApiRequest::new(Endpoint::UpdateEmailMessage, Method::POST, path)
            .with_json_bytes(to_json(self));
        Ok(match &self.expected_revision_id {
            Some(revision) => request.with_revision_guard(Some(revision.clone())),
            None => request,
        })
    }
}

/// Sends a preview to up to a few addresses (`POST /v1/email-messages/{id}/preview`). Which
/// variables apply depends on the message: contact properties for campaigns, contact and
/// event properties for workflow emails, data variables for transactional emails. Loops
/// allows 100 previews per team per rolling 24 hours.
///
/// ```
/// use loops_client::email_messages::SendPreviewRequest;
///
/// let data = SendPreviewRequest::new(["you@example.com"])
///     .contact_property("firstName", "Alex")
///     .to_api_request("em1")
///     .unwrap();
/// assert_eq!(data.body().unwrap(), br#"{"emails":["you@example.com"],"contactProperties":{"firstName":"Alex"}}"#);
/// assert!(SendPreviewRequest::new(Vec::<String>::new()).to_api_request("em1").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendPreviewRequest {
    emails: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    contact_properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    event_properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    data_variables: serde_json::Map<String, Value>,
}

impl SendPreviewRequest {
    /// A preview to these addresses.
    pub fn new<I, S>(emails: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SendPreviewRequest {
            emails: emails.into_iter().map(Into::into).collect(),
            ..SendPreviewRequest::default()
        }
    }

    /// A contact property value to render.
    pub fn contact_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.contact_properties.insert(name.into(), value.into());
        self
    }

    /// An event property value to render (workflow emails).
    pub fn event_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.event_properties.insert(name.into(), value.into());
        self
    }

    /// A data variable to render (transactional emails); any JSON value, arrays included.
    pub fn data_variable(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.data_variables.insert(name.into(), value.into());
        self
    }

    /// Validates and turns the request into data. A preview sends email, so it is never
    /// repeated after an ambiguous failure.
    pub fn to_api_request(&self, id: &str) -> Result<ApiRequest, ValidationError> {
        if self.emails.is_empty() {
            return Err(ValidationError::EmptyField { field: "emails" });
        }
        for email in &self.emails {
            validate::require_non_empty("emails[]", email)?;
        }
        let path = id_path("/v1/email-messages", "emailMessageId", id, "/preview")?;
        Ok(
            ApiRequest::new(Endpoint::SendEmailMessagePreview, Method::POST, path)
                .with_json_bytes(to_json(self)),
        )
    }
}

/// The answer to a preview: the message it was sent for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PreviewSent {
    /// The email message id.
    #[serde(default)]
    pub id: String,
}

wire_enum! {
    /// The Guardian rules Loops documents.
    GuardianRuleName {
        /// A contact property the email type cannot use.
        UnsupportedContactProperties = "unsupportedContactProperties",
        /// A contact property without a fallback.
        MissingFallbackContactProperties = "missingFallbackContactProperties",
        /// An event property the email type cannot use.
        UnsupportedEventProperties = "unsupportedEventProperties",
        /// An event property without a fallback.
        MissingFallbackEventProperties = "missingFallbackEventProperties",
        /// A data variable the email type cannot use.
        UnsupportedDataVariables = "unsupportedDataVariables",
        /// A data variable with an invalid name.
        InvalidCustomDataVariables = "invalidCustomDataVariables",
        /// A required data variable is missing.
        MissingRequiredDataVariables = "missingRequiredDataVariables",
        /// A button without a link.
        MissingButtonHrefs = "missingButtonHrefs",
        /// A button with an invalid link.
        InvalidButtonHrefs = "invalidButtonHrefs",
        /// A button with a shortened YouTube link.
        ShortenedYouTubeButtonHrefs = "shortenedYouTubeButtonHrefs",
        /// A text link without a target.
        MissingLinkHrefs = "missingLinkHrefs",
        /// A text link with an invalid target.
        InvalidLinkHrefs = "invalidLinkHrefs",
        /// A text link with a shortened YouTube link.
        ShortenedYouTubeLinkHrefs = "shortenedYouTubeLinkHrefs",
        /// An image with a shortened YouTube link.
        ShortenedYouTubeImageHrefs = "shortenedYouTubeImageHrefs",
        /// A button pointing at an email address without `mailto:`.
        EmailWithoutMailtoButtonHrefs = "emailWithoutMailtoButtonHrefs",
        /// A link pointing at an email address without `mailto:`.
        EmailWithoutMailtoLinkHrefs = "emailWithoutMailtoLinkHrefs",
        /// An image pointing at an email address without `mailto:`.
        EmailWithoutMailtoImageHrefs = "emailWithoutMailtoImageHrefs",
        /// An array block used outside an array.
        BareArrayNodes = "bareArrayNodes",
        /// A social icon without a link.
        MissingSocialIconHrefs = "missingSocialIconHrefs",
    }
}

/// One element a Guardian rule fired on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GuardianItem {
    /// A label for it (link text, a property name).
    #[serde(default)]
    pub label: String,
    /// The property or variable name, when the rule is about one.
    #[serde(default)]
    pub code_name: Option<String>,
}

/// One Guardian rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuardianRule {
    /// Which rule.
    pub rule: GuardianRuleName,
    /// A short summary.
    #[serde(default)]
    pub title: String,
    /// Why it matters.
    #[serde(default)]
    pub description: String,
    /// The elements it fired on.
    #[serde(default, deserialize_with = "null_as_default")]
    pub items: Vec<GuardianItem>,
}

/// The Guardian checks of an email message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GuardianReport {
    /// Problems that block publishing.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<GuardianRule>,
    /// Advice.
    #[serde(default, deserialize_with = "null_as_default")]
    pub warnings: Vec<GuardianRule>,
}

impl GuardianReport {
    /// Whether nothing blocks publishing.
    pub fn is_clear(&self) -> bool {
        self.errors.is_empty()
    }
}

/// One email message by id (`GET`; 409 for a legacy MJML message).
pub fn get_email_message_request(id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(
        Endpoint::GetEmailMessage,
        "/v1/email-messages",
        "emailMessageId",
        id,
    )
}

/// The Guardian checks of an email message (`GET .../guardian`).
pub fn run_guardian_request(id: &str) -> Result<ApiRequest, ValidationError> {
    let path = id_path("/v1/email-messages", "emailMessageId", id, "/guardian")?;
    Ok(ApiRequest::new(
        Endpoint::RunEmailMessageGuardian,
        Method::GET,
        path,
    ))
}

#[cfg(feature = "client")]
pub use api::EmailMessagesApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        EmailMessage, GuardianReport, PreviewSent, SendPreviewRequest, UpdateEmailMessageRequest,
        get_email_message_request, run_guardian_request,
    };
    use crate::client::Client;

    /// Email messages. Get it with [`Client::email_messages`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::email_messages::{SendPreviewRequest, UpdateEmailMessageRequest};
    ///
    /// let messages = client.email_messages();
    /// let message = messages.get("em1").await?;
    /// let update = UpdateEmailMessageRequest::new()
    ///     .expected_revision_id(message.content_revision_id.clone())
    ///     .subject("Welcome aboard");
    /// let updated = match messages.update(&message.id, &update).await {
    ///     Err(e) if e.is_stale_revision() => {
    ///         // Someone else edited it: read again, re-apply, send with the new revision.
    ///         let fresh = messages.get(&message.id).await?;
    ///         messages.update(&fresh.id, &update.expected_revision_id(fresh.content_revision_id.clone())).await?
    ///     }
    ///     other => other?,
    /// };
    /// for warning in &updated.warnings {
    ///     println!("{}: {}", warning.rule, warning.message);
    /// }
    /// if messages.run_guardian(&message.id).await?.is_clear() {
    ///     messages.send_preview(&message.id, &SendPreviewRequest::new(["me@example.com"])).await?;
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct EmailMessagesApi {
        pub(crate) client: Client,
    }

    impl EmailMessagesApi {
        /// One email message by id.
        pub async fn get(&self, id: &str) -> crate::Result<EmailMessage> {
            self.client
                .execute(&get_email_message_request(id)?)
                .await?
                .json()
        }

        /// Updates an email message. With `expected_revision_id`, a 409 is settled by reading
        /// the message: [`Error::StaleRevision`](crate::Error::StaleRevision) with both
        /// revisions when it moved, otherwise the 409 as Loops sent it. A 413 (LMX over
        /// 100 KB) and a 422 (LMX that does not compile, with Loops' errors and warnings) have
        /// their own variants.
        pub async fn update(
            &self,
            id: &str,
            request: &UpdateEmailMessageRequest,
        ) -> crate::Result<EmailMessage> {
            let api_request = request.to_api_request(id)?;
            self.client
                .execute_guarded(&api_request, || async {
                    Ok(self.get(id).await?.content_revision_id)
                })
                .await?
                .json()
        }

        /// Sends a preview; never retried after an ambiguous failure. Past 100 previews in
        /// 24 hours Loops answers 429.
        pub async fn send_preview(
            &self,
            id: &str,
            request: &SendPreviewRequest,
        ) -> crate::Result<PreviewSent> {
            self.client
                .execute(&request.to_api_request(id)?)
                .await?
                .json()
        }

        /// Runs the Guardian checks (what the editor checks before publishing).
        pub async fn run_guardian(&self, id: &str) -> crate::Result<GuardianReport> {
            self.client
                .execute(&run_guardian_request(id)?)
                .await?
                .json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_message_shapes_parse() {
        let current: EmailMessage = serde_json::from_value(json!({
            "id": "em1", "campaignId": "cmp1", "subject": "Hi", "previewText": "", "fromName": "Loops",
            "fromEmail": "hello", "replyToEmail": "", "emailFormat": "styled", "lmx": "<Paragraph/>",
            "contentRevisionId": "rev2", "updatedAt": "2026-01-01T00:00:00Z",
            "contactPropertiesFallbacks": {"firstName": "there"}, "eventPropertiesFallbacks": null,
            "warnings": [{"rule": "missingAlt", "severity": "warning", "message": "add alt"}]
        }))
        .unwrap();
        assert_eq!(current.email_format, Some(EmailFormat::Styled));
        assert_eq!(current.contact_properties_fallbacks["firstName"], "there");
        assert!(current.event_properties_fallbacks.is_empty());
        assert_eq!(current.warnings[0].rule, "missingAlt");
        let legacy: EmailMessage = serde_json::from_value(json!({
            "success": true, "emailMessageId": "em2", "campaignId": null, "subject": "",
            "previewText": "", "fromName": "", "fromEmail": "", "replyToEmail": "", "lmx": "",
            "contentRevisionId": null, "updatedAt": "x"
        }))
        .unwrap();
        assert_eq!(legacy.id, "em2");
        assert_eq!(legacy.content_revision_id, None);
    }

    #[test]
    fn update_checks() {
        let over = "x".repeat(MAX_LMX_BYTES + 1);
        let cases: Vec<(UpdateEmailMessageRequest, &str)> = vec![
            (UpdateEmailMessageRequest::new(), "nothing to update"),
            (UpdateEmailMessageRequest::new().lmx(over), "102400"),
            (
                UpdateEmailMessageRequest::new().from_email("hello@acme.com"),
                "fromEmail",
            ),
            (
                UpdateEmailMessageRequest::new().reply_to_email("nope"),
                "replyToEmail",
            ),
            (
                UpdateEmailMessageRequest::new()
                    .subject("x")
                    .expected_revision_id(Some(String::new())),
                "expectedRevisionId",
            ),
        ];
        for (request, expected) in cases {
            let err = request.to_api_request("em1").unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        let at_limit = UpdateEmailMessageRequest::new().lmx("x".repeat(MAX_LMX_BYTES));
        assert!(at_limit.to_api_request("em1").is_ok());
        let cleared = UpdateEmailMessageRequest::new()
            .reply_to_email("")
            .to_api_request("em1")
            .unwrap();
        assert_eq!(cleared.expected_revision(), None, "no revision, no guard");
        let plain = UpdateEmailMessageRequest::new()
            .email_format(EmailFormat::Plain)
            .to_api_request("em1")
            .unwrap();
        assert_eq!(plain.body().unwrap(), br#"{"emailFormat":"plain"}"#);
    }

    #[test]
    fn guardian_report_parses_unknown_rules() {
        let report: GuardianReport = serde_json::from_value(json!({
            "errors": [{"rule": "missingRequiredDataVariables", "title": "Missing", "description": "d",
                        "items": [{"label": "resetLink", "codeName": "resetLink"}]}],
            "warnings": [{"rule": "someNewRule", "title": "New", "description": "", "items": null}]
        }))
        .unwrap();
        assert!(!report.is_clear());
        assert_eq!(
            report.errors[0].items[0].code_name.as_deref(),
            Some("resetLink")
        );
        assert_eq!(
            report.warnings[0].rule,
            GuardianRuleName::Other("someNewRule".into())
        );
        assert_eq!(
            run_guardian_request("em1").unwrap().path(),
            "/v1/email-messages/em1/guardian"
        );
        assert_eq!(
            get_email_message_request("em1").unwrap().method(),
            Method::GET
        );
    }

    #[test]
    fn previews_carry_the_right_variables() {
        let data = SendPreviewRequest::new(["a@example.com", "b@example.com"])
            .data_variable("items", json!([{"name": "Seat", "price": 10}]))
            .to_api_request("em1")
            .unwrap();
        let body: Value = serde_json::from_slice(data.body().unwrap()).unwrap();
        assert_eq!(body["dataVariables"]["items"][0]["price"], 10);
        assert_eq!(data.path(), "/v1/email-messages/em1/preview");
        assert!(SendPreviewRequest::new([""]).to_api_request("em1").is_err());
    }
}
