//! `GET /v1/api-key`: checks the key and names the team.

use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint, Method};

/// The team an API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApiKeyInfo {
    /// The team's name.
    pub team_name: String,
}

/// `GET /v1/api-key`.
pub fn test_api_key_request() -> ApiRequest {
    ApiRequest::new(Endpoint::TestApiKey, Method::Get, "/v1/api-key")
}

#[cfg(feature = "client")]
impl crate::Client {
    /// Checks the API key; answers with the team's name, or a 401
    /// ([`Error::is_unauthorized`](crate::Error::is_unauthorized)) for a bad key.
    pub async fn test_api_key(&self) -> Result<ApiKeyInfo, crate::Error> {
        self.execute(&test_api_key_request()).await?.json()
    }
}
