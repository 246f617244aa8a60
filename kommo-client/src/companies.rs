//! Companies (`/api/v4/companies`).

use serde::{Deserialize, Serialize};

use crate::common::{LinkedEntity, Links, Tag, TagRef};
use crate::field_values::{CustomFields, FieldValueUpdate};
use crate::ids::{AccountId, CompanyId, GroupId, UserId};
use crate::serde_util;

/// `_embedded` of a company.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompanyEmbedded {
    /// Tags.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub tags: Vec<Tag>,
    /// Linked contacts (`with=contacts`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub contacts: Vec<LinkedEntity>,
    /// Linked leads (`with=leads`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub leads: Vec<LinkedEntity>,
    /// Linked customers (`with=customers`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub customers: Vec<LinkedEntity>,
}

/// A company as returned by `GET /api/v4/companies[/{id}]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Company {
    /// The id.
    pub id: CompanyId,
    /// The name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub name: Option<String>,
    /// The responsible user.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub responsible_user_id: Option<UserId>,
    /// The user group.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub group_id: Option<GroupId>,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Who changed it last.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub updated_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// The nearest task's due time.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub closest_task_at: Option<i64>,
    /// Whether it is in the trash.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_deleted: Option<bool>,
    /// Custom field values (`null` reads as empty).
    #[serde(default)]
    pub custom_fields_values: CustomFields,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
    /// HAL links.
    #[serde(rename = "_links", default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Embedded tags, contacts, leads.
    #[serde(rename = "_embedded", default)]
    pub embedded: CompanyEmbedded,
}

crate::entity::custom_field_getters!(Company, contact_fields);

/// `with=` values for companies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompanyWith {
    /// `contacts`.
    Contacts,
    /// `leads`.
    Leads,
    /// `customers`.
    Customers,
    /// `catalog_elements`.
    CatalogElements,
}

impl AsRef<str> for CompanyWith {
    fn as_ref(&self) -> &str {
        match self {
            CompanyWith::Contacts => "contacts",
            CompanyWith::Leads => "leads",
            CompanyWith::Customers => "customers",
            CompanyWith::CatalogElements => "catalog_elements",
        }
    }
}

/// `_embedded` of a company write.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct CompanyWriteEmbedded {
    /// Replaces the whole tag set (prefer `tags_to_add`/`tags_to_delete`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagRef>>,
}

impl CompanyWriteEmbedded {
    fn is_empty(&self) -> bool {
        self.tags.is_none()
    }
}

/// A company write (create, or update with `id`; also inside complex lead adds). Only the
/// fields set are sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct CompanyWrite {
    /// The company to update (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CompanyId>,
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The responsible user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<UserId>,
    /// Custom field values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields_values: Vec<FieldValueUpdate>,
    /// Tags to add without touching the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_add: Vec<TagRef>,
    /// Tags to remove without touching the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_delete: Vec<TagRef>,
    /// Who created it (imports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Tags (replace).
    #[serde(
        rename = "_embedded",
        skip_serializing_if = "CompanyWriteEmbedded::is_empty"
    )]
    pub embedded: CompanyWriteEmbedded,
}

impl CompanyWrite {
    /// A company with a name.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

crate::entity::entity_write_setters!(CompanyWrite, CompanyId, "company");

#[cfg(feature = "client")]
pub use api::CompaniesApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::{Company, CompanyWith, CompanyWrite};
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::Result;
    use crate::ids::CompanyId;
    use crate::pagination::{ListQuery, with_param};

    const PATH: &str = "/api/v4/companies";

    /// Companies. Get it with [`Client::companies`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::companies::CompanyWith;
    /// use kommo_client::ids::CompanyId;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let company = client.companies().get(CompanyId(7), &[CompanyWith::Contacts]).await?;
    /// let page = client.companies().list_page(ListQuery::new().query("Acme")).await?;
    /// client
    ///     .companies()
    ///     .update(vec![kommo_client::companies::CompanyWrite::update(CompanyId(7)).add_tag("partner")])
    ///     .await?;
    /// # let _ = (company, page); Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct CompaniesApi {
        pub(crate) client: Client,
    }

    impl CompaniesApi {
        /// `GET /api/v4/companies/{id}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: CompanyId, with: &[CompanyWith]) -> Result<Option<Company>> {
            self.client
                .get_json(format!("{PATH}/{id}"), with_param(with))
                .await
        }

        /// One page of `GET /api/v4/companies`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<Company>> {
            self.client.list_page(PATH, query, "companies").await
        }

        /// `GET /api/v4/companies`, following pages.
        pub fn list(
            &self,
            query: ListQuery,
        ) -> impl Stream<Item = Result<Company>> + Send + 'static {
            self.client.paginate(PATH, query, "companies")
        }
    }

    impl CompaniesApi {
        fn path(&self) -> String {
            PATH.to_owned()
        }
    }

    impl crate::crud::Checked for CompanyWrite {}

    crate::crud::add_call!(CompaniesApi, CompanyWrite, "companies", "companies");
    crate::crud::update_call!(CompaniesApi, CompanyWrite, "companies", "company");
    crate::crud::update_one_call!(CompaniesApi, CompanyWrite, CompanyId, "the companies");
}
