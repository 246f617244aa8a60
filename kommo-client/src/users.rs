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

/// The most users per add, activation or deactivation.
pub const USERS_PER_REQUEST: usize = 10;

/// A user to invite (`POST /api/v4/users`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewUser {
    /// The name (required).
    pub name: String,
    /// The login email (required).
    pub email: String,
    /// The interface language (`en`, `es`, `pt`, `ru`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The rights, in the shape of [`UserRights`] (`{"leads": {"view": "A"}, "role_id": 1}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<serde_json::Value>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewUser {
    /// A user with a name and email.
    #[must_use]
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            email: email.into(),
            lang: None,
            rights: None,
            request_id: None,
        }
    }

    /// Sets the rights.
    #[must_use]
    pub fn rights(mut self, rights: serde_json::Value) -> Self {
        self.rights = Some(rights);
        self
    }
}

#[cfg(feature = "client")]
pub use api::UsersApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use http::Method;
    use serde_json::json;

    use super::{NewUser, USERS_PER_REQUEST, User};
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::common::{Page, WriteResult};
    use crate::error::{Error, Result};
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

        /// `POST /api/v4/users`: invites users, at most 10 per request (Kommo refuses adds in
        /// accounts with more than 100 users).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no user, more than 10, or a blank name or an email
        /// without `@` (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn add(&self, users: Vec<NewUser>) -> Result<Vec<WriteResult>> {
            check_count(users.len())?;
            for user in &users {
                crate::crud::required(Some(&user.name), "a user's name")?;
                if !user.email.contains('@') {
                    return Err(Error::invalid_request(format!(
                        "not an email: {:?}",
                        user.email
                    )));
                }
            }
            let request = ApiRequest::raw(Method::POST, PATH).json_body(&users)?;
            Ok(self.client.page(request, "users").await?.items)
        }

        /// `POST /api/v4/users/activate`, at most 10 users.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no user or more than 10 (nothing is sent), otherwise
        /// any [`Error`] of the request.
        pub async fn activate(&self, users: &[UserId]) -> Result<()> {
            self.set_active(users, "activate").await
        }

        /// `POST /api/v4/users/deactivate`, at most 10 users.
        ///
        /// # Errors
        ///
        /// As [`UsersApi::activate`].
        pub async fn deactivate(&self, users: &[UserId]) -> Result<()> {
            self.set_active(users, "deactivate").await
        }

        async fn set_active(&self, users: &[UserId], verb: &str) -> Result<()> {
            check_count(users.len())?;
            let body: Vec<_> = users.iter().map(|id| json!({ "id": id })).collect();
            let request = ApiRequest::raw(Method::POST, format!("{PATH}/{verb}"))
                .json_body(&body)?
                .safe_to_retry(true);
            self.client.execute(&request).await.map(drop)
        }
    }

    fn check_count(n: usize) -> Result<()> {
        if n == 0 || n > USERS_PER_REQUEST {
            return Err(Error::invalid_request(format!(
                "users are added, activated or deactivated 1 to {USERS_PER_REQUEST} at a time"
            )));
        }
        Ok(())
    }
}
