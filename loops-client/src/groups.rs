//! Campaign groups (`/v1/campaign-groups`) and transactional groups
//! (`/v1/transactional-groups`): list, create, get, update.
//!
//! The two resources have the same shape and rules, so one set of types serves both, chosen
//! by [`GroupKind`]; [`Client::campaign_groups`](crate::Client::campaign_groups) and
//! [`Client::transactional_groups`](crate::Client::transactional_groups) hand out a
//! [`GroupsApi`] for each. The name `"Unsorted"` is reserved for Loops' default group and is
//! refused before sending.

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint, id_path};
use crate::json::to_json;
use crate::pagination::{PageRequest, list_request};
use crate::validate::{self, ValidationError};

/// Which kind of group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GroupKind {
    /// Campaign groups.
    Campaign,
    /// Transactional groups.
    Transactional,
}

impl GroupKind {
    fn path(self) -> &'static str {
        match self {
            GroupKind::Campaign => "/v1/campaign-groups",
            GroupKind::Transactional => "/v1/transactional-groups",
        }
    }

    fn id_field(self) -> &'static str {
        match self {
            GroupKind::Campaign => "campaignGroupId",
            GroupKind::Transactional => "transactionalGroupId",
        }
    }

    /// `(list, create, get, update)`.
    fn endpoints(self) -> (Endpoint, Endpoint, Endpoint, Endpoint) {
        match self {
            GroupKind::Campaign => (
                Endpoint::ListCampaignGroups,
                Endpoint::CreateCampaignGroup,
                Endpoint::GetCampaignGroup,
                Endpoint::UpdateCampaignGroup,
            ),
            GroupKind::Transactional => (
                Endpoint::ListTransactionalGroups,
                Endpoint::CreateTransactionalGroup,
                Endpoint::GetTransactionalGroup,
                Endpoint::UpdateTransactionalGroup,
            ),
        }
    }
}

/// A campaign or transactional group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Group {
    /// Its id (`campaignGroupId` / `transactionalGroupId` elsewhere).
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its description (`None` when Loops sends none or `null`).
    #[serde(default)]
    pub description: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last change (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// Creates a group.
///
/// ```
/// use loops_client::groups::{CreateGroupRequest, GroupKind};
///
/// let request = CreateGroupRequest::new("Onboarding").description("Signup and welcome flows");
/// let data = request.to_api_request(GroupKind::Campaign).unwrap();
/// assert_eq!(data.path(), "/v1/campaign-groups");
/// assert_eq!(
///     data.body().unwrap(),
///     br#"{"name":"Onboarding","description":"Signup and welcome flows"}"#
/// );
/// assert!(CreateGroupRequest::new("Unsorted").to_api_request(GroupKind::Transactional).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateGroupRequest {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl CreateGroupRequest {
    /// A group with this name (not `"Unsorted"`).
    pub fn new(name: impl Into<String>) -> Self {
        CreateGroupRequest {
            name: name.into(),
            description: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `POST /v1/campaign-groups` or `/v1/transactional-groups`. A create is not repeated
    /// after an ambiguous failure (it could make two groups).
    pub fn to_api_request(&self, kind: GroupKind) -> Result<ApiRequest, ValidationError> {
        validate::check_group_name(&self.name)?;
        let (_, create, _, _) = kind.endpoints();
        Ok(ApiRequest::new(create, Method::POST, kind.path()).with_json_bytes(to_json(self)))
    }
}

/// Changes a group's name or description (at least one).
///
/// ```
/// use loops_client::groups::{GroupKind, UpdateGroupRequest};
///
/// let data = UpdateGroupRequest::new().name("Renamed").to_api_request(GroupKind::Transactional, "g1").unwrap();
/// assert_eq!(data.path(), "/v1/transactional-groups/g1");
/// assert!(UpdateGroupRequest::new().to_api_request(GroupKind::Transactional, "g1").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateGroupRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

impl UpdateGroupRequest {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        UpdateGroupRequest::default()
    }

    /// Renames the group (not to `"Unsorted"`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `POST /v1/{campaign,transactional}-groups/{id}`; safe to repeat (it sets fields).
    pub fn to_api_request(&self, kind: GroupKind, id: &str) -> Result<ApiRequest, ValidationError> {
        if self.name.is_none() && self.description.is_none() {
            return Err(ValidationError::EmptyUpdate {
                request: "UpdateGroupRequest",
            });
        }
        if let Some(name) = &self.name {
            validate::check_group_name(name)?;
        }
        let (_, _, _, update) = kind.endpoints();
        let path = id_path(kind.path(), kind.id_field(), id, "")?;
        Ok(ApiRequest::new(update, Method::POST, path).with_json_bytes(to_json(self)))
    }
}

/// One page of groups.
pub fn list_groups_request(
    kind: GroupKind,
    page: &PageRequest,
) -> Result<ApiRequest, ValidationError> {
    let (list, _, _, _) = kind.endpoints();
    list_request(list, kind.path(), page)
}

/// One group by id.
pub fn get_group_request(kind: GroupKind, id: &str) -> Result<ApiRequest, ValidationError> {
    let (_, _, get, _) = kind.endpoints();
    Ok(ApiRequest::new(
        get,
        Method::GET,
        id_path(kind.path(), kind.id_field(), id, "")?,
    ))
}

#[cfg(feature = "client")]
pub use api::GroupsApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        CreateGroupRequest, Group, GroupKind, UpdateGroupRequest, get_group_request,
        list_groups_request,
    };
    use crate::client::Client;
    use crate::pagination::{Page, PageRequest};

    /// Campaign or transactional groups. Get it with
    /// [`Client::campaign_groups`] or [`Client::transactional_groups`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use futures_util::TryStreamExt;
    /// use loops_client::groups::{CreateGroupRequest, UpdateGroupRequest};
    ///
    /// let groups = client.campaign_groups();
    /// let group = groups.create(&CreateGroupRequest::new("Product updates")).await?;
    /// groups.update(&group.id, &UpdateGroupRequest::new().description("Feature news")).await?;
    /// let all: Vec<_> = groups.list(None).try_collect().await?;
    /// assert!(all.iter().any(|g| g.id == group.id));
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct GroupsApi {
        pub(crate) client: Client,
        pub(crate) kind: GroupKind,
    }

    impl GroupsApi {
        /// Which groups this handle manages.
        pub fn kind(&self) -> GroupKind {
            self.kind
        }

        /// One page of groups.
        pub async fn list_page(&self, page: &PageRequest) -> crate::Result<Page<Group>> {
            self.client
                .page(&list_groups_request(self.kind, page)?)
                .await
        }

        /// Every group, page after page (`per_page` 10 to 50).
        pub fn list(
            &self,
            per_page: Option<u32>,
        ) -> impl futures_util::Stream<Item = crate::Result<Group>> + Send + 'static {
            match self.kind {
                GroupKind::Campaign => self
                    .client
                    .pages(per_page, |p| list_groups_request(GroupKind::Campaign, p)),
                GroupKind::Transactional => self.client.pages(per_page, |p| {
                    list_groups_request(GroupKind::Transactional, p)
                }),
            }
        }

        /// Creates a group; not retried after an ambiguous failure.
        pub async fn create(&self, request: &CreateGroupRequest) -> crate::Result<Group> {
            self.client
                .execute(&request.to_api_request(self.kind)?)
                .await?
                .json()
        }

        /// One group by id.
        pub async fn get(&self, id: &str) -> crate::Result<Group> {
            self.client
                .execute(&get_group_request(self.kind, id)?)
                .await?
                .json()
        }

        /// Updates a group's name or description.
        pub async fn update(&self, id: &str, request: &UpdateGroupRequest) -> crate::Result<Group> {
            self.client
                .execute(&request.to_api_request(self.kind, id)?)
                .await?
                .json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_for_both_kinds() {
        let page = PageRequest::after(Some(10), "c1");
        for (kind, base, id_field) in [
            (
                GroupKind::Campaign,
                "/v1/campaign-groups",
                "campaignGroupId",
            ),
            (
                GroupKind::Transactional,
                "/v1/transactional-groups",
                "transactionalGroupId",
            ),
        ] {
            let list = list_groups_request(kind, &page).unwrap();
            assert_eq!(
                list.path_and_query(),
                format!("{base}?perPage=10&cursor=c1")
            );
            assert_eq!(
                get_group_request(kind, "g 1").unwrap().path(),
                format!("{base}/g%201")
            );
            let err = get_group_request(kind, "").unwrap_err();
            assert!(err.to_string().contains(id_field), "{err}");
            let update = UpdateGroupRequest::new()
                .description("d")
                .to_api_request(kind, "g1")
                .unwrap();
            assert_eq!(update.body().unwrap(), br#"{"description":"d"}"#);
        }
    }

    #[test]
    fn groups_parse_with_missing_and_null_fields() {
        let group: Group = serde_json::from_str(
            r#"{"id":"g1","name":"A","description":null,"createdAt":"2026-01-01T00:00:00Z","extra":1}"#,
        )
        .unwrap();
        assert_eq!(group.description, None);
        assert_eq!(group.updated_at, None);
        let bare: Group = serde_json::from_str(r#"{"id":"g2"}"#).unwrap();
        assert_eq!(bare.name, "");
    }
}
