//! The API key: `GET /v1/api-key` checks it and names the team.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint};

/// The team an API key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApiKeyInfo {
    /// The team's name.
    pub team_name: String,
}

/// `GET /v1/api-key`.
///
/// ```
/// use loops_client::Method;
/// use loops_client::api_key::test_api_key_request;
///
/// let request = test_api_key_request();
/// assert_eq!((request.method(), request.path()), (&Method::GET, "/v1/api-key"));
/// ```
pub fn test_api_key_request() -> ApiRequest {
    ApiRequest::new(Endpoint::TestApiKey, Method::GET, "/v1/api-key")
}

#[cfg(feature = "client")]
pub use api::ApiKeyApi;

#[cfg(feature = "client")]
mod api {
    use super::{ApiKeyInfo, test_api_key_request};
    use crate::client::Client;

    /// The API key. Get it with [`Client::api_key`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// match client.api_key().test().await {
    ///     Ok(info) => println!("connected to {}", info.team_name),
    ///     Err(e) if e.is_unauthorized() => eprintln!("Loops refused the key"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ApiKeyApi {
        pub(crate) client: Client,
    }

    impl ApiKeyApi {
        /// Checks the API key; answers with the team's name, or a 401
        /// ([`Error::is_unauthorized`](crate::Error::is_unauthorized)) for a bad key.
        pub async fn test(&self) -> crate::Result<ApiKeyInfo> {
            self.client.execute(&test_api_key_request()).await?.json()
        }
    }
}
