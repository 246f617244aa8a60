//! Customer statuses (`/api/v4/customers/statuses`): the stages customers move through in
//! periodicity mode.

use serde::{Deserialize, Serialize};

use crate::ids::CustomerStatusId;
use crate::serde_util;

/// A customer status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomerStatus {
    /// The id.
    pub id: CustomerStatusId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// Whether it is a built-in status.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_default: Option<bool>,
    /// The color, e.g. `#fffeb2`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub color: Option<String>,
    /// `0` a regular status; the built-in ones: `1` "expected purchase", `2` "did not
    /// purchase", `3` "closed", `4` "recently purchased" (amoCRM's reference for customer
    /// stages).
    #[serde(rename = "type", default, deserialize_with = "serde_util::lenient_i64")]
    pub status_type: Option<i64>,
    /// The conditions that move customers here, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<serde_json::Value>,
}

/// A status to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct CustomerStatusWrite {
    /// The status to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CustomerStatusId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// The color.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl CustomerStatusWrite {
    /// A new status.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A change of status `id`.
    #[must_use]
    pub fn update(id: CustomerStatusId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }
}

#[cfg(feature = "client")]
pub use api::CustomerStatusesApi;

#[cfg(feature = "client")]
mod api {
    use super::{CustomerStatus, CustomerStatusWrite};
    use crate::client::Client;
    use crate::crud::{self, Checked};
    use crate::ids::CustomerStatusId;

    /// Customer statuses. Get it with [`Client::customer_statuses`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::customers::statuses::CustomerStatusWrite;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// client.customer_statuses().add(vec![CustomerStatusWrite::new("VIP")]).await?;
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct CustomerStatusesApi {
        pub(crate) client: Client,
    }

    impl CustomerStatusesApi {
        fn path(&self) -> String {
            "/api/v4/customers/statuses".to_owned()
        }
    }

    impl Checked for CustomerStatusWrite {
        fn check(&self) -> crate::Result<()> {
            crud::required(self.name.as_deref(), "a customer status's name")
        }
    }

    crud::list_calls!(
        CustomerStatusesApi,
        CustomerStatus,
        "statuses",
        "the customer statuses"
    );
    crud::get_call!(
        CustomerStatusesApi,
        CustomerStatus,
        CustomerStatusId,
        "the customer statuses"
    );
    crud::add_call!(
        CustomerStatusesApi,
        CustomerStatusWrite,
        "statuses",
        "customer statuses"
    );
    crud::update_call!(
        CustomerStatusesApi,
        CustomerStatusWrite,
        "statuses",
        "customer status"
    );
    crud::update_one_call!(
        CustomerStatusesApi,
        CustomerStatusWrite,
        CustomerStatusId,
        "the customer statuses"
    );
    crud::delete_call!(
        CustomerStatusesApi,
        CustomerStatusId,
        "the customer statuses"
    );
}
