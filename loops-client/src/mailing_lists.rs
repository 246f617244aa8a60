//! Mailing lists: `GET /v1/lists`.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint};

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
    ApiRequest::new(Endpoint::ListMailingLists, Method::GET, "/v1/lists")
}

#[cfg(feature = "client")]
pub use api::MailingListsApi;

#[cfg(feature = "client")]
mod api {
    use super::{MailingList, list_mailing_lists_request};
    use crate::client::Client;

    /// Mailing lists. Get it with [`Client::mailing_lists`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// for list in client.mailing_lists().list().await? {
    ///     println!("{} {} (public: {})", list.id, list.name, list.is_public);
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct MailingListsApi {
        pub(crate) client: Client,
    }

    impl MailingListsApi {
        /// The team's mailing lists (the endpoint is not paginated).
        pub async fn list(&self) -> crate::Result<Vec<MailingList>> {
            let response = self.client.execute(&list_mailing_lists_request()).await?;
            Ok(response.json::<Option<Vec<_>>>()?.unwrap_or_default())
        }
    }
}
