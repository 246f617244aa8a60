//! Users (`/api/v4/users`, admin only).

use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, UserId};
use crate::serde_util;

/// A user's rights. The frequently needed flags are typed; the per-entity rights are kept as
/// sent in `other`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserRights {
    /// Whether the user is an admin.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_admin: Option<bool>,
    /// Whether the user is a free (read-only) user.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_free: Option<bool>,
    /// Whether the user is active.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_active: Option<bool>,
    /// The group.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub group_id: Option<GroupId>,
    /// The role id.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub role_id: Option<i64>,
    /// Every other right (`leads`, `contacts`, `status_rights`, ...), as sent.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// The id.
    pub id: UserId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The login email.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub email: Option<String>,
    /// The interface language.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub lang: Option<String>,
    /// The rights.
    #[serde(default)]
    pub rights: UserRights,
}

#[cfg(feature = "client")]
pub use api::UsersApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::User;
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::Result;
    use crate::ids::UserId;
    use crate::pagination::ListQuery;

    const PATH: &str = "/api/v4/users";

    /// Users (admin tokens only; others get 403). Get it with [`Client::users`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let users: Vec<_> = client.users().list(ListQuery::new().limit(250)).try_collect().await?;
    /// # let _ = users; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct UsersApi {
        pub(crate) client: Client,
    }

    impl UsersApi {
        /// One page of `GET /api/v4/users`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<User>> {
            self.client.list_page(PATH, query, "users").await
        }

        /// `GET /api/v4/users`, following pages.
        pub fn list(&self, query: ListQuery) -> impl Stream<Item = Result<User>> + Send + 'static {
            self.client.paginate(PATH, query, "users")
        }

        /// `GET /api/v4/users/{id}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: UserId) -> Result<Option<User>> {
            self.client.get_json(format!("{PATH}/{id}"), None).await
        }
    }
}
