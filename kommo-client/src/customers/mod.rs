//! Customers (`/api/v4/customers`): Kommo's recurring-revenue module. A customer buys again
//! and again; its purchases are [`transactions`], its stage a
//! [status](statuses) (in "periodicity" mode) or [`segments`] (in "segments" mode),
//! and it may collect bonus points.

pub mod segments;
pub mod statuses;
pub mod transactions;

use serde::{Deserialize, Serialize};

use crate::common::{LinkedEntity, Tag, TagRef};
use crate::field_values::{CustomFields, FieldValueUpdate};
use crate::ids::{AccountId, CustomerId, CustomerStatusId, SegmentId, UserId};
use crate::serde_util;

/// `_embedded` of a customer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomerEmbedded {
    /// Tags.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub tags: Vec<Tag>,
    /// Segments.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub segments: Vec<LinkedEntity>,
    /// Linked contacts (`with=contacts`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub contacts: Vec<LinkedEntity>,
    /// Linked companies (`with=companies`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub companies: Vec<LinkedEntity>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Customer {
    /// The id.
    pub id: CustomerId,
    /// The name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub name: Option<String>,
    /// The expected amount of the next purchase.
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    pub next_price: Option<f64>,
    /// The expected date of the next purchase, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub next_date: Option<i64>,
    /// The responsible user.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub responsible_user_id: Option<UserId>,
    /// The status (periodicity mode).
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub status_id: Option<CustomerStatusId>,
    /// Days between purchases.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub periodicity: Option<i64>,
    /// Lifetime value.
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    pub ltv: Option<f64>,
    /// Number of purchases.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub purchases_count: Option<i64>,
    /// Average purchase.
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    pub average_check: Option<f64>,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// Whether it is deleted.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_deleted: Option<bool>,
    /// Custom field values.
    #[serde(default)]
    pub custom_fields_values: CustomFields,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
    /// Tags, segments, linked contacts and companies.
    #[serde(rename = "_embedded", default)]
    pub embedded: CustomerEmbedded,
}

/// `_embedded` of a customer write.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct CustomerWriteEmbedded {
    /// The segments (replaces them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<LinkedEntity>,
}

impl CustomerWriteEmbedded {
    fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

/// A customer to add, or (with `id`) to change. Only the fields set are sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct CustomerWrite {
    /// The customer to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CustomerId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The expected amount of the next purchase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_price: Option<f64>,
    /// The expected date of the next purchase (required to add in periodicity mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_date: Option<i64>,
    /// The responsible user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<UserId>,
    /// The status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<CustomerStatusId>,
    /// Days between purchases.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periodicity: Option<i64>,
    /// Custom field values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields_values: Vec<FieldValueUpdate>,
    /// Tags to add, keeping the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_add: Vec<TagRef>,
    /// Tags to remove, keeping the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_delete: Vec<TagRef>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Segments.
    #[serde(
        rename = "_embedded",
        skip_serializing_if = "CustomerWriteEmbedded::is_empty"
    )]
    pub embedded: CustomerWriteEmbedded,
}

impl CustomerWrite {
    /// A new customer.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A change of customer `id`.
    #[must_use]
    pub fn update(id: CustomerId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// Sets the next purchase.
    #[must_use]
    pub fn next_purchase(mut self, price: f64, date: i64) -> Self {
        self.next_price = Some(price);
        self.next_date = Some(date);
        self
    }

    /// Puts the customer in these segments.
    #[must_use]
    pub fn segments(mut self, segments: impl IntoIterator<Item = SegmentId>) -> Self {
        self.embedded.segments = segments
            .into_iter()
            .map(|s| LinkedEntity { id: s.0 })
            .collect();
        self
    }

    /// Adds a tag, keeping the others.
    #[must_use]
    pub fn add_tag(mut self, tag: impl Into<TagRef>) -> Self {
        self.tags_to_add.push(tag.into());
        self
    }
}

/// How the customers module works in the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CustomersMode {
    /// Customers grouped by segments.
    Segments,
    /// Customers moved through statuses by purchase periodicity.
    Periodicity,
}

#[cfg(feature = "client")]
pub use api::CustomersApi;

#[cfg(feature = "client")]
mod api;
