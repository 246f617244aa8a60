//! Catalogs (lists, `/api/v4/catalogs`) and their elements (`/api/v4/catalogs/{id}/elements`),
//! including the products catalog; an element goes on a lead through a link with a quantity
//! and a price ([`crate::links::EntityLink::catalog_element`]).

use serde::{Deserialize, Serialize};

use crate::field_values::{CustomFields, FieldValueUpdate};
use crate::ids::{AccountId, CatalogElementId, CatalogId, UserId};
use crate::serde_util;
use crate::string_enum::string_enum;

string_enum! {
    /// The kind of a catalog.
    pub enum CatalogType {
        /// `regular`: a list the account made.
        Regular => "regular",
        /// `invoices`.
        Invoices => "invoices",
        /// `products`.
        Products => "products",
    }
}

/// A catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Catalog {
    /// The id.
    pub id: CatalogId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The kind.
    #[serde(rename = "type", default, deserialize_with = "serde_util::lenient_opt")]
    pub catalog_type: Option<CatalogType>,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// Whether elements can be added in the UI.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub can_add_elements: Option<bool>,
    /// Whether it shows as a tab in entity cards.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub can_show_in_cards: Option<bool>,
    /// Whether one element can be linked to several entities.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub can_link_multiple: Option<bool>,
    /// Whether it can be deleted.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub can_be_deleted: Option<bool>,
    /// The widget that manages it, if any.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub sdk_widget_code: Option<String>,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
}

/// A catalog to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct CatalogWrite {
    /// The catalog to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CatalogId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The kind (`regular` when absent).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub catalog_type: Option<CatalogType>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// Whether elements can be added in the UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_add_elements: Option<bool>,
    /// Whether one element can be linked to several entities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_link_multiple: Option<bool>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl CatalogWrite {
    /// A new catalog.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A change of catalog `id`.
    #[must_use]
    pub fn update(id: CatalogId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }
}

/// An element of a catalog (a product, an invoice, a row of a list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CatalogElement {
    /// The id.
    pub id: CatalogElementId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// Its catalog.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub catalog_id: Option<CatalogId>,
    /// Whether it is deleted.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_deleted: Option<bool>,
    /// Custom field values (price, SKU, ...).
    #[serde(default)]
    pub custom_fields_values: CustomFields,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
}

/// An element to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct CatalogElementWrite {
    /// The element to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CatalogElementId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Custom field values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields_values: Vec<FieldValueUpdate>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl CatalogElementWrite {
    /// A new element.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A change of element `id`.
    #[must_use]
    pub fn update(id: CatalogElementId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// Adds a custom field write.
    #[must_use]
    pub fn field(mut self, value: FieldValueUpdate) -> Self {
        self.custom_fields_values.push(value);
        self
    }
}

/// The products module's settings (`/api/v4/catalogs/products/settings`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProductsSettings {
    /// Whether the products module is on.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_enabled: Option<bool>,
}

#[cfg(feature = "client")]
pub use api::{CatalogElementsApi, CatalogsApi};

#[cfg(feature = "client")]
mod api;
