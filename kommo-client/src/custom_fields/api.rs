//! The custom fields handle: definitions and groups of one entity type, a catalog, or the
//! customer segments.

use futures_util::Stream;
use http::Method;

use super::{CustomFieldDefinition, CustomFieldGroup, CustomFieldGroupWrite, CustomFieldWrite};
use crate::ApiRequest;
use crate::client::Client;
use crate::common::{Page, WriteResult};
use crate::error::{Error, Result};
use crate::ids::CustomFieldId;
use crate::pagination::ListQuery;

/// Custom field definitions and groups of one entity type. Get it with
/// [`Client::custom_fields`] (leads, contacts, companies, customers),
/// [`Client::catalog_custom_fields`] or [`Client::segment_custom_fields`].
///
/// ```no_run
/// use futures_util::TryStreamExt;
/// use kommo_client::Client;
/// use kommo_client::common::EntityType;
/// use kommo_client::custom_fields::{CustomFieldWrite, FieldType};
/// use kommo_client::pagination::ListQuery;
///
/// # async fn run(client: Client) -> kommo_client::Result<()> {
/// let contacts = client.custom_fields(EntityType::Contacts);
/// let fields: Vec<_> = contacts.list(ListQuery::new().limit(250)).try_collect().await?;
/// if !fields.iter().any(|f| f.code.as_deref() == Some("LOOPS_STATUS")) {
///     let status = CustomFieldWrite::new("Loops status", FieldType::Select)
///         .options(["subscribed", "unsubscribed"])
///         .code("LOOPS_STATUS");
///     contacts.add(vec![status]).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CustomFieldsApi {
    pub(crate) client: Client,
    /// `leads`, `contacts`, `companies`, `customers`, `customers/segments` or
    /// `catalogs/{id}`.
    pub(crate) scope: String,
}

/// Group ids go into paths.
fn group_id(id: &str) -> Result<&str> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(id)
    } else {
        Err(Error::invalid_request(format!(
            "not a field group id: {id:?}"
        )))
    }
}

impl CustomFieldsApi {
    fn path(&self) -> String {
        format!("/api/v4/{}/custom_fields", self.scope)
    }

    /// One page of definitions (`limit` up to 250; Kommo's default is 50).
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn list_page(&self, query: ListQuery) -> Result<Page<CustomFieldDefinition>> {
        self.client
            .list_page(self.path(), query, "custom_fields")
            .await
    }

    /// Every definition, following pages.
    pub fn list(
        &self,
        query: ListQuery,
    ) -> impl Stream<Item = Result<CustomFieldDefinition>> + Send + 'static {
        self.client.paginate(self.path(), query, "custom_fields")
    }

    /// One definition; `None` when the API answers 204.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn get(&self, id: CustomFieldId) -> Result<Option<CustomFieldDefinition>> {
        self.client
            .get_json(format!("{}/{id}", self.path()), None)
            .await
    }

    /// `POST .../custom_fields`: new definitions (admins only).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for what [`CustomFieldWrite::check_for`] refuses (nothing
    /// is sent), otherwise as [`crate::leads::LeadsApi::add`].
    pub async fn add(&self, fields: Vec<CustomFieldWrite>) -> Result<Vec<WriteResult>> {
        for field in &fields {
            field.check_for(&self.scope, true)?;
        }
        self.client
            .batch_add_at(&self.path(), "custom_fields", fields)
            .await
    }

    /// `PATCH .../custom_fields`: changes definitions; every item needs its id.
    ///
    /// # Errors
    ///
    /// As [`CustomFieldsApi::add`], plus an item without an id.
    pub async fn update(&self, fields: Vec<CustomFieldWrite>) -> Result<Vec<WriteResult>> {
        for field in &fields {
            field.check_for(&self.scope, false)?;
        }
        self.client
            .batch_update_at(&self.path(), "custom_fields", "custom field", fields)
            .await
    }

    /// `PATCH .../custom_fields/{id}`.
    ///
    /// # Errors
    ///
    /// As [`CustomFieldsApi::update`].
    pub async fn update_one(
        &self,
        id: CustomFieldId,
        mut field: CustomFieldWrite,
    ) -> Result<WriteResult> {
        field.id = None;
        field.check_for(&self.scope, false)?;
        let request = ApiRequest::raw(Method::PATCH, format!("{}/{id}", self.path()))
            .json_body(&field)?
            .safe_to_retry(true);
        self.client.write_one(request).await
    }

    /// `DELETE .../custom_fields/{id}` (predefined fields cannot be deleted: the API answers
    /// with an error).
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn delete(&self, id: CustomFieldId) -> Result<()> {
        self.client
            .delete::<()>(format!("{}/{id}", self.path()), None)
            .await
    }

    /// One page of the field groups (`with=fields` lists their fields).
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn groups_page(&self, query: ListQuery) -> Result<Page<CustomFieldGroup>> {
        self.client
            .list_page(
                format!("{}/groups", self.path()),
                query,
                "custom_field_groups",
            )
            .await
    }

    /// Every field group, following pages.
    pub fn groups(
        &self,
        query: ListQuery,
    ) -> impl Stream<Item = Result<CustomFieldGroup>> + Send + 'static {
        self.client.paginate(
            format!("{}/groups", self.path()),
            query,
            "custom_field_groups",
        )
    }

    /// One group; `None` on 204.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for an id that cannot be a path segment, otherwise any
    /// [`Error`] of the request.
    pub async fn group(&self, id: &str) -> Result<Option<CustomFieldGroup>> {
        let id = group_id(id)?;
        self.client
            .get_json(format!("{}/groups/{id}", self.path()), None)
            .await
    }

    /// `POST .../custom_fields/groups`: new groups.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for no group or one without a name (nothing is sent),
    /// otherwise any [`Error`] of the request.
    pub async fn add_groups(
        &self,
        groups: Vec<CustomFieldGroupWrite>,
    ) -> Result<Vec<CustomFieldGroup>> {
        if groups.is_empty() {
            return Err(Error::invalid_request("name at least one group"));
        }
        for group in &groups {
            crate::crud::required(group.name.as_deref(), "a field group's name")?;
        }
        let request =
            ApiRequest::raw(Method::POST, format!("{}/groups", self.path())).json_body(&groups)?;
        Ok(self
            .client
            .page(request, "custom_field_groups")
            .await?
            .items)
    }

    /// `PATCH .../custom_fields/groups/{id}`.
    ///
    /// # Errors
    ///
    /// As [`CustomFieldsApi::group`].
    pub async fn update_group(
        &self,
        id: &str,
        group: &CustomFieldGroupWrite,
    ) -> Result<Option<CustomFieldGroup>> {
        let id = group_id(id)?;
        self.client
            .send_json(
                Method::PATCH,
                format!("{}/groups/{id}", self.path()),
                group,
                true,
            )
            .await
    }

    /// `DELETE .../custom_fields/groups/{id}` (its fields move to the main tab).
    ///
    /// # Errors
    ///
    /// As [`CustomFieldsApi::group`].
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        let id = group_id(id)?;
        self.client
            .delete::<()>(format!("{}/groups/{id}", self.path()), None)
            .await
    }
}
