//! Talks (`/api/v4/talks`): chat conversations with a contact, and closing them.

use serde::{Deserialize, Serialize};

use crate::ids::{ContactId, TalkId};
use crate::serde_util;

/// A talk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Talk {
    /// The id.
    pub talk_id: TalkId,
    /// The contact.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub contact_id: Option<ContactId>,
    /// The chat (a UUID).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub chat_id: Option<String>,
    /// The lead or customer it belongs to.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub entity_id: Option<u64>,
    /// `lead` or `customer`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub entity_type: Option<String>,
    /// The channel, e.g. `com.amocrm.amocrmwa`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub origin: Option<String>,
    /// Whether a manager is working on it.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_in_work: Option<bool>,
    /// Whether it was read.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_read: Option<bool>,
    /// The customer's rating.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub rate: Option<String>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// When it was missed, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub missed_at: Option<i64>,
}

#[cfg(feature = "client")]
pub use api::TalksApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;
    use serde_json::json;

    use super::Talk;
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::error::Result;
    use crate::ids::TalkId;

    /// Talks. Get it with [`Client::talks`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::ids::TalkId;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// if let Some(talk) = client.talks().get(TalkId(1213)).await? {
    ///     client.talks().close(talk.talk_id, false).await?;
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct TalksApi {
        pub(crate) client: Client,
    }

    impl TalksApi {
        /// `GET /api/v4/talks/{id}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: TalkId) -> Result<Option<Talk>> {
            self.client
                .get_json(format!("/api/v4/talks/{id}"), None)
                .await
        }

        /// `POST /api/v4/talks/{id}/close`; `force` closes it even without the NPS bot.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn close(&self, id: TalkId, force: bool) -> Result<()> {
            let request = ApiRequest::raw(Method::POST, format!("/api/v4/talks/{id}/close"))
                .json_body(&json!({ "force_close": force }))?
                .safe_to_retry(true);
            self.client.execute(&request).await.map(drop)
        }
    }
}
