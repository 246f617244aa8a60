//! The account (`GET /api/v4/account`): the cheapest "who am I" call.

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, TaskTypeId, UserId};
use crate::serde_util;

/// A task type (`_embedded.task_types` with `with=task_types`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskType {
    /// The id.
    pub id: TaskTypeId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The color.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub color: Option<String>,
    /// The icon id.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub icon_id: Option<i64>,
    /// The code (`FOLLOW_UP`, `MEETING`).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub code: Option<String>,
}

/// `_embedded` of the account.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountEmbedded {
    /// Task types (`with=task_types`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub task_types: Vec<TaskType>,
    /// User groups (`with=users_groups`), as sent.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub users_groups: Vec<serde_json::Value>,
    /// Chat rights (`with=amojo_rights`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amojo_rights: Option<serde_json::Value>,
}

/// The account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Account {
    /// The id.
    pub id: AccountId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The subdomain.
    #[serde(default)]
    pub subdomain: String,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// The user the token acts as.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub current_user_id: Option<UserId>,
    /// The country code.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub country: Option<String>,
    /// The currency code.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub currency: Option<String>,
    /// The currency symbol.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub currency_symbol: Option<String>,
    /// `unavailable`, `disabled`, `segments`, `dynamic`, `periodicity`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub customers_mode: Option<String>,
    /// Whether incoming leads are on.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_unsorted_on: Option<bool>,
    /// Whether loss reasons are on.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_loss_reason_enabled: Option<bool>,
    /// Whether this is a technical account.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_technical_account: Option<bool>,
    /// `1` first-last, `2` last-first.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub contact_name_display_order: Option<i64>,
    /// The chats id (`with=amojo_id`).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub amojo_id: Option<String>,
    /// The version (`with=version`).
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub version: Option<i64>,
    /// The file storage URL (`with=drive_url`).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub drive_url: Option<String>,
    /// Embedded extras.
    #[serde(rename = "_embedded", default)]
    pub embedded: AccountEmbedded,
}

#[cfg(feature = "client")]
pub use api::AccountApi;

#[cfg(feature = "client")]
mod api {
    use super::Account;
    use crate::client::Client;
    use crate::error::{Error, Result};
    use crate::pagination::with_param;

    /// The account the client talks to. Get it with [`Client::account`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let account = client.account().get(&["task_types"]).await?;
    /// println!("{} ({})", account.name, account.subdomain);
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct AccountApi {
        pub(crate) client: Client,
    }

    impl AccountApi {
        /// `GET /api/v4/account` with the given `with=` values (`amojo_id`, `task_types`,
        /// `users_groups`, `version`, `datetime_settings`, `drive_url`, ...).
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request; an empty answer is [`Error::Decode`].
        pub async fn get(&self, with: &[&str]) -> Result<Account> {
            self.client
                .get_json("/api/v4/account", with_param(with))
                .await?
                .ok_or_else(|| Error::unexpected_body("empty account response", b""))
        }
    }
}
