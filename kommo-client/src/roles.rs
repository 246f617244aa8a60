//! User roles (`/api/v4/roles`): named sets of rights given to users.

use serde::{Deserialize, Serialize};

use crate::ids::{RoleId, UserId};
use crate::serde_util;
use crate::users::UserRights;

/// `_embedded` of a role (`with=users`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleEmbedded {
    /// The users with this role.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub users: Vec<RoleUser>,
}

/// A user with a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleUser {
    /// The user.
    pub id: UserId,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Role {
    /// The id.
    pub id: RoleId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The rights.
    #[serde(default, deserialize_with = "serde_util::lenient_object")]
    pub rights: Option<UserRights>,
    /// Users with the role.
    #[serde(rename = "_embedded", default)]
    pub embedded: RoleEmbedded,
}

/// A role to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct RoleWrite {
    /// The role to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<RoleId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The rights, in the shape of [`UserRights`] (`{"leads": {"view": "A", ...}, ...}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rights: Option<serde_json::Value>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl RoleWrite {
    /// A new role with these rights.
    #[must_use]
    pub fn new(name: impl Into<String>, rights: serde_json::Value) -> Self {
        Self {
            name: Some(name.into()),
            rights: Some(rights),
            ..Self::default()
        }
    }

    /// A change of role `id`.
    #[must_use]
    pub fn update(id: RoleId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }
}

#[cfg(feature = "client")]
pub use api::RolesApi;

#[cfg(feature = "client")]
mod api {
    use super::{Role, RoleWrite};
    use crate::client::Client;
    use crate::crud::{self, Checked};
    use crate::ids::RoleId;

    /// Roles (admins only). Get it with [`Client::roles`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::pagination::ListQuery;
    /// use kommo_client::roles::RoleWrite;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let page = client.roles().list_page(ListQuery::new().with(["users"])).await?;
    /// let rights = serde_json::json!({"leads": {"view": "A", "edit": "A"}});
    /// client.roles().add(vec![RoleWrite::new("Support", rights)]).await?;
    /// # let _ = page; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct RolesApi {
        pub(crate) client: Client,
    }

    impl RolesApi {
        fn path(&self) -> String {
            "/api/v4/roles".to_owned()
        }
    }

    impl Checked for RoleWrite {
        fn check(&self) -> crate::Result<()> {
            crud::required(self.name.as_deref(), "a role's name")
        }
    }

    crud::list_calls!(RolesApi, Role, "roles", "the roles");
    crud::get_call!(RolesApi, Role, RoleId, "the roles");
    crud::add_call!(RolesApi, RoleWrite, "roles", "roles");
    crud::update_call!(RolesApi, RoleWrite, "roles", "role");
    crud::update_one_call!(RolesApi, RoleWrite, RoleId, "the roles");
    crud::delete_call!(RolesApi, RoleId, "the roles");
}
