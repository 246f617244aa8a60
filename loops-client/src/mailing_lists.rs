//! `GET /v1/lists`: the team's mailing lists.

use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint, Method};

/// A mailing list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MailingList {
    /// The id used in `mailingLists` maps.
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether contacts can see and join it from the preference center.
    #[serde(default)]
    pub is_public: bool,
}

/// `GET /v1/lists`.
pub fn list_mailing_lists_request() -> ApiRequest {
    ApiRequest::new(Endpoint::ListMailingLists, Method::Get, "/v1/lists")
}

#[cfg(feature = "client")]
impl crate::Client {
    /// Lists the team's mailing lists.
    pub async fn list_mailing_lists(&self) -> Result<Vec<MailingList>, crate::Error> {
        let response = self.execute(&list_mailing_lists_request()).await?;
        Ok(response.json::<Option<Vec<_>>>()?.unwrap_or_default())
    }
}
