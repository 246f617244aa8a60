//! The customers handle, and bonus points.

use http::Method;
use serde::Deserialize;
use serde_json::json;

use super::{Customer, CustomerWrite, CustomersMode};
use crate::client::Client;
use crate::crud::{self, Checked};
use crate::error::{Error, Result};
use crate::ids::CustomerId;

/// Customers. Get it with [`Client::customers`]; statuses, segments and transactions have
/// their own handles ([`Client::customer_statuses`], [`Client::customer_segments`],
/// [`Client::customer_transactions`]).
///
/// ```no_run
/// use kommo_client::Client;
/// use kommo_client::customers::CustomerWrite;
/// use kommo_client::customers::transactions::NewTransaction;
/// use kommo_client::ids::CustomerId;
///
/// # async fn run(client: Client) -> kommo_client::Result<()> {
/// let added = client
///     .customers()
///     .add(vec![CustomerWrite::new("Acme").next_purchase(500.0, 1_700_000_000)])
///     .await?;
/// let acme = CustomerId(added[0].id);
/// client
///     .customer_transactions()
///     .add(acme, vec![NewTransaction::new(500.0)], false)
///     .await?;
/// let balance = client.customers().earn_points(acme, 50).await?;
/// # let _ = balance; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct CustomersApi {
    pub(crate) client: Client,
}

#[derive(Deserialize)]
struct Balance {
    #[serde(default, deserialize_with = "crate::serde_util::lenient_i64")]
    bonus_points: Option<i64>,
}

impl CustomersApi {
    fn path(&self) -> String {
        "/api/v4/customers".to_owned()
    }

    /// `PATCH /api/v4/customers/mode`: switches the module on (in a mode) or off.
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn set_mode(&self, mode: CustomersMode, enabled: bool) -> Result<()> {
        let body = json!({ "mode": mode, "is_enabled": enabled });
        self.client
            .send_json::<_, serde_json::Value>(Method::PATCH, "/api/v4/customers/mode", &body, true)
            .await
            .map(drop)
    }

    async fn points(&self, customer: CustomerId, action: &str, points: u64) -> Result<Option<i64>> {
        if points == 0 {
            return Err(Error::invalid_request("bonus points must be more than 0"));
        }
        let answer: Option<Balance> = self
            .client
            .send_json(
                Method::POST,
                format!("/api/v4/customers/{customer}/bonus_points"),
                &json!({ action: points }),
                false,
            )
            .await?;
        Ok(answer.and_then(|b| b.bonus_points))
    }

    /// `POST /api/v4/customers/{id}/bonus_points` with `earn`: adds points; the new balance.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for 0 points (nothing is sent), otherwise any [`Error`] of
    /// the request.
    pub async fn earn_points(&self, customer: CustomerId, points: u64) -> Result<Option<i64>> {
        self.points(customer, "earn", points).await
    }

    /// `POST /api/v4/customers/{id}/bonus_points` with `redeem`: spends points; the new
    /// balance.
    ///
    /// # Errors
    ///
    /// As [`CustomersApi::earn_points`].
    pub async fn redeem_points(&self, customer: CustomerId, points: u64) -> Result<Option<i64>> {
        self.points(customer, "redeem", points).await
    }
}

impl Checked for CustomerWrite {
    fn check(&self) -> Result<()> {
        crud::required(self.name.as_deref(), "a customer's name")
    }
}

crud::list_calls!(CustomersApi, Customer, "customers", "the customers");
crud::get_call!(CustomersApi, Customer, CustomerId, "the customers");
crud::add_call!(CustomersApi, CustomerWrite, "customers", "customers");
crud::update_call!(CustomersApi, CustomerWrite, "customers", "customer");
crud::update_one_call!(CustomersApi, CustomerWrite, CustomerId, "the customers");
