//! The suppression list: check whether a contact is suppressed, and remove it.

use http::Method;
use serde::{Deserialize, Serialize};

use super::ContactLookup;
use crate::endpoint::{ApiRequest, Endpoint};
use crate::validate::ValidationError;

/// How many suppression removals the team has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RemovalQuota {
    /// Removals allowed per rolling 30 days.
    #[serde(default)]
    pub limit: u32,
    /// Removals left.
    #[serde(default)]
    pub remaining: u32,
}

/// The contact a suppression answer is about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SuppressedContact {
    /// Loops' id for the contact.
    #[serde(default)]
    pub id: Option<String>,
    /// The email.
    #[serde(default)]
    pub email: Option<String>,
    /// Your id for the contact.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// Whether a contact is suppressed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SuppressionStatus {
    /// The contact.
    #[serde(default)]
    pub contact: Option<SuppressedContact>,
    /// Whether Loops will not send to it.
    pub is_suppressed: bool,
    /// The removal quota.
    #[serde(default)]
    pub removal_quota: Option<RemovalQuota>,
}

/// The answer to a removal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SuppressionRemoval {
    /// Loops' confirmation.
    #[serde(default)]
    pub message: Option<String>,
    /// The removal quota after this removal.
    #[serde(default)]
    pub removal_quota: Option<RemovalQuota>,
}

impl ContactLookup {
    /// `GET /v1/contacts/suppression`.
    pub fn check_suppression_request(&self) -> Result<ApiRequest, ValidationError> {
        self.suppression_request(Endpoint::CheckSuppression, Method::GET)
    }

    /// `DELETE /v1/contacts/suppression` (identifier in the query, no body).
    pub fn remove_suppression_request(&self) -> Result<ApiRequest, ValidationError> {
        self.suppression_request(Endpoint::RemoveSuppression, Method::DELETE)
    }

    fn suppression_request(
        &self,
        endpoint: Endpoint,
        method: Method,
    ) -> Result<ApiRequest, ValidationError> {
        self.validate()?;
        let (name, value) = self.query_pair();
        Ok(ApiRequest::new(endpoint, method, "/v1/contacts/suppression").query(name, value))
    }
}
