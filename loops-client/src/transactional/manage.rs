//! Managing transactional emails: create, update, get, ensure a draft, publish.

use http::Method;
use serde::Serialize;

use crate::endpoint::{ApiRequest, Endpoint, get_by_id, id_path};
use crate::json::to_json;
use crate::validate::{self, ValidationError};

const BASE: &str = "/v1/transactional-emails";

/// Creates a transactional email and its empty draft (`POST /v1/transactional-emails`, 201).
///
/// ```
/// use loops_client::transactional::CreateTransactionalEmailRequest;
///
/// let data = CreateTransactionalEmailRequest::new("Welcome email").transactional_group_id("tg1").to_api_request().unwrap();
/// assert_eq!(data.body().unwrap(), br#"{"name":"Welcome email","transactionalGroupId":"tg1"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateTransactionalEmailRequest {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    transactional_group_id: Option<String>,
}

impl CreateTransactionalEmailRequest {
    /// A transactional email with this name, in the team's default group.
    pub fn new(name: impl Into<String>) -> Self {
        CreateTransactionalEmailRequest {
            name: name.into(),
            transactional_group_id: None,
        }
    }

    /// Puts it in this group.
    pub fn transactional_group_id(mut self, id: impl Into<String>) -> Self {
        self.transactional_group_id = Some(id.into());
        self
    }

    /// Validates and turns the request into data. Not repeated after an ambiguous failure.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty_any("name", &self.name)?;
        check_group(&self.transactional_group_id)?;
        Ok(
            ApiRequest::new(Endpoint::CreateTransactionalEmail, Method::POST, BASE)
                .with_json_bytes(to_json(self)),
        )
    }
}

/// Renames a transactional email or moves it to another group (at least one).
///
/// ```
/// use loops_client::transactional::UpdateTransactionalEmailRequest;
///
/// let data = UpdateTransactionalEmailRequest::new().name("Renamed").to_api_request("tx1").unwrap();
/// assert_eq!(data.path(), "/v1/transactional-emails/tx1");
/// assert!(UpdateTransactionalEmailRequest::new().to_api_request("tx1").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTransactionalEmailRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transactional_group_id: Option<String>,
}

impl UpdateTransactionalEmailRequest {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        UpdateTransactionalEmailRequest::default()
    }

    /// Renames it.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Moves it to this group.
    pub fn transactional_group_id(mut self, id: impl Into<String>) -> Self {
        self.transactional_group_id = Some(id.into());
        self
    }

    /// `POST /v1/transactional-emails/{id}`; safe to repeat (it sets fields).
    pub fn to_api_request(&self, id: &str) -> Result<ApiRequest, ValidationError> {
        if self.name.is_none() && self.transactional_group_id.is_none() {
            return Err(ValidationError::EmptyUpdate {
                request: "UpdateTransactionalEmailRequest",
            });
        }
        if let Some(name) = &self.name {
            validate::require_non_empty_any("name", name)?;
        }
        check_group(&self.transactional_group_id)?;
        let path = id_path(BASE, "transactionalId", id, "")?;
        Ok(
            ApiRequest::new(Endpoint::UpdateTransactionalEmail, Method::POST, path)
                .with_json_bytes(to_json(self)),
        )
    }
}

fn check_group(group: &Option<String>) -> Result<(), ValidationError> {
    match group {
        Some(group) => validate::require_non_empty_any("transactionalGroupId", group),
        None => Ok(()),
    }
}

/// One transactional email by id.
pub fn get_transactional_email_request(id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(Endpoint::GetTransactionalEmail, BASE, "transactionalId", id)
}

/// `POST /v1/transactional-emails/{id}/draft`: makes sure a draft exists.
pub fn ensure_transactional_draft_request(id: &str) -> Result<ApiRequest, ValidationError> {
    let path = id_path(BASE, "transactionalId", id, "/draft")?;
    Ok(ApiRequest::new(
        Endpoint::EnsureTransactionalDraft,
        Method::POST,
        path,
    ))
}

/// `POST /v1/transactional-emails/{id}/publish`: publishes the draft.
pub fn publish_transactional_email_request(id: &str) -> Result<ApiRequest, ValidationError> {
    let path = id_path(BASE, "transactionalId", id, "/publish")?;
    Ok(ApiRequest::new(
        Endpoint::PublishTransactionalEmail,
        Method::POST,
        path,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::RetrySafety;
    use crate::transactional::TransactionalEmail;

    #[test]
    fn management_requests() {
        let table = [
            (
                get_transactional_email_request("tx1").unwrap(),
                Method::GET,
                "/v1/transactional-emails/tx1",
                RetrySafety::Safe,
            ),
            (
                ensure_transactional_draft_request("tx1").unwrap(),
                Method::POST,
                "/v1/transactional-emails/tx1/draft",
                RetrySafety::Safe,
            ),
            (
                publish_transactional_email_request("tx1").unwrap(),
                Method::POST,
                "/v1/transactional-emails/tx1/publish",
                RetrySafety::Unsafe,
            ),
            (
                CreateTransactionalEmailRequest::new("A")
                    .to_api_request()
                    .unwrap(),
                Method::POST,
                "/v1/transactional-emails",
                RetrySafety::Unsafe,
            ),
        ];
        for (request, method, path, safety) in table {
            assert_eq!((request.method(), request.path()), (&method, path));
            assert_eq!(request.retry_safety(), safety, "{path}");
            assert!(request.endpoint().gated_api().is_some());
        }
        assert!(publish_transactional_email_request("").is_err());
        assert!(
            CreateTransactionalEmailRequest::new("A")
                .transactional_group_id("")
                .to_api_request()
                .is_err()
        );
    }

    #[test]
    fn created_answer_carries_the_draft_revision() {
        let created: TransactionalEmail = serde_json::from_value(serde_json::json!({
            "id": "tx1", "url": "https://app.loops.so/transactional/tx1", "name": "Welcome",
            "draftEmailMessageId": "em1", "draftEmailMessageContentRevisionId": "rev1",
            "publishedEmailMessageId": null, "transactionalGroupId": "tg1",
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z", "dataVariables": []
        }))
        .unwrap();
        assert_eq!(
            created.draft_email_message_content_revision_id.as_deref(),
            Some("rev1")
        );
        assert_eq!(
            created.url.as_deref(),
            Some("https://app.loops.so/transactional/tx1")
        );
    }
}
