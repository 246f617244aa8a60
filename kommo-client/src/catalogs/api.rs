//! The catalogs and elements handles.

use http::Method;

use super::{Catalog, CatalogElement, CatalogElementWrite, CatalogWrite, ProductsSettings};
use crate::client::Client;
use crate::common::EntityType;
use crate::crud::{self, Checked};
use crate::error::{Error, Result};
use crate::ids::{CatalogElementId, CatalogId, CustomFieldId, LeadId};
use crate::links::EntityLink;

/// Catalogs. Get it with [`Client::catalogs`].
///
/// ```no_run
/// use kommo_client::Client;
/// use kommo_client::catalogs::{CatalogElementWrite, CatalogWrite};
/// use kommo_client::ids::{CatalogElementId, CatalogId, LeadId};
///
/// # async fn run(client: Client) -> kommo_client::Result<()> {
/// let catalog = CatalogId(client.catalogs().add(vec![CatalogWrite::new("Plans")]).await?[0].id);
/// let pro = client
///     .catalog_elements(catalog)
///     .add(vec![CatalogElementWrite::new("Pro plan")])
///     .await?;
/// // Two seats of "Pro plan" on a lead.
/// client
///     .catalog_elements(catalog)
///     .link_to_lead(LeadId(152464), CatalogElementId(pro[0].id), 2.0, None)
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CatalogsApi {
    pub(crate) client: Client,
}

impl CatalogsApi {
    fn path(&self) -> String {
        "/api/v4/catalogs".to_owned()
    }

    /// `GET /api/v4/catalogs/products/settings`.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn products_settings(&self) -> Result<ProductsSettings> {
        Ok(self
            .client
            .get_json("/api/v4/catalogs/products/settings", None)
            .await?
            .unwrap_or_default())
    }

    /// `PATCH /api/v4/catalogs/products/settings`: turns the products module on or off.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn set_products_enabled(&self, enabled: bool) -> Result<ProductsSettings> {
        let body = ProductsSettings {
            is_enabled: Some(enabled),
        };
        Ok(self
            .client
            .send_json(
                Method::PATCH,
                "/api/v4/catalogs/products/settings",
                &body,
                true,
            )
            .await?
            .unwrap_or(body))
    }
}

impl Checked for CatalogWrite {
    fn check(&self) -> Result<()> {
        crud::required(self.name.as_deref(), "a catalog's name")
    }
}

crud::list_calls!(CatalogsApi, Catalog, "catalogs", "the catalogs");
crud::get_call!(CatalogsApi, Catalog, CatalogId, "the catalogs");
crud::add_call!(CatalogsApi, CatalogWrite, "catalogs", "catalogs");
crud::update_call!(CatalogsApi, CatalogWrite, "catalogs", "catalog");
crud::update_one_call!(CatalogsApi, CatalogWrite, CatalogId, "the catalogs");

/// The elements of one catalog. Get it with [`Client::catalog_elements`].
#[derive(Debug, Clone)]
pub struct CatalogElementsApi {
    pub(crate) client: Client,
    pub(crate) catalog: CatalogId,
}

impl CatalogElementsApi {
    fn path(&self) -> String {
        format!("/api/v4/catalogs/{}/elements", self.catalog)
    }

    /// Puts `quantity` of an element on a lead (`POST /api/v4/leads/{id}/link` with
    /// `catalog_elements`); `price` picks the price field when the catalog has several.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for a quantity that is not a positive number (nothing is
    /// sent), otherwise any [`Error`] of the request.
    pub async fn link_to_lead(
        &self,
        lead: LeadId,
        element: CatalogElementId,
        quantity: f64,
        price: Option<CustomFieldId>,
    ) -> Result<Vec<EntityLink>> {
        if !(quantity.is_finite() && quantity > 0.0) {
            return Err(Error::invalid_request(format!(
                "a quantity must be a positive number, not {quantity}"
            )));
        }
        let link = EntityLink::catalog_element(self.catalog, element, quantity, price);
        self.client
            .links()
            .link(EntityType::Leads, lead.0, vec![link])
            .await
    }

    /// Takes an element off a lead.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn unlink_from_lead(&self, lead: LeadId, element: CatalogElementId) -> Result<()> {
        let mut link = EntityLink::catalog_element(self.catalog, element, 1.0, None);
        if let Some(metadata) = link.metadata.as_mut() {
            metadata.quantity = None;
        }
        self.client
            .links()
            .unlink(EntityType::Leads, lead.0, vec![link])
            .await
    }

    /// Removes elements: a batch `DELETE` of the collection with their ids.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for no id (nothing is sent), otherwise any [`Error`] of the
    /// request.
    pub async fn delete(&self, ids: &[CatalogElementId]) -> Result<()> {
        if ids.is_empty() {
            return Err(Error::invalid_request("name at least one element"));
        }
        let body: Vec<_> = ids
            .iter()
            .map(|id| serde_json::json!({ "id": id }))
            .collect();
        self.client.delete(self.path(), Some(&body)).await
    }
}

impl Checked for CatalogElementWrite {
    fn check(&self) -> Result<()> {
        crud::required(self.name.as_deref(), "an element's name")
    }
}

crud::list_calls!(
    CatalogElementsApi,
    CatalogElement,
    "elements",
    "the catalog's elements"
);
crud::get_call!(
    CatalogElementsApi,
    CatalogElement,
    CatalogElementId,
    "the catalog's elements"
);
crud::add_call!(
    CatalogElementsApi,
    CatalogElementWrite,
    "elements",
    "elements"
);
crud::update_call!(
    CatalogElementsApi,
    CatalogElementWrite,
    "elements",
    "element"
);
crud::update_one_call!(
    CatalogElementsApi,
    CatalogElementWrite,
    CatalogElementId,
    "the catalog's elements"
);
