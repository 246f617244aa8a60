//! Customer transactions (purchases, `/api/v4/customers/transactions`).

use serde::{Deserialize, Serialize};

use crate::ids::{CustomerId, TransactionId, UserId};
use crate::serde_util;

/// A purchase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transaction {
    /// The id.
    pub id: TransactionId,
    /// The amount.
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    pub price: Option<f64>,
    /// A comment.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub comment: Option<String>,
    /// When it was completed, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub completed_at: Option<i64>,
    /// The customer.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub customer_id: Option<CustomerId>,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Whether it is deleted.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_deleted: Option<bool>,
}

/// A purchase to record.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct NewTransaction {
    /// The amount (required).
    pub price: f64,
    /// A comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When it was completed (now when absent), unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    /// The customer's next expected purchase amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_price: Option<f64>,
    /// The customer's next expected purchase date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_date: Option<i64>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewTransaction {
    /// A purchase of `price`.
    #[must_use]
    pub fn new(price: f64) -> Self {
        Self {
            price,
            ..Self::default()
        }
    }

    /// Adds a comment.
    #[must_use]
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }
}

#[cfg(feature = "client")]
pub use api::TransactionsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::{NewTransaction, Transaction};
    use crate::client::Client;
    use crate::common::{Page, WriteResult};
    use crate::crud;
    use crate::error::{Error, Result};
    use crate::ids::{CustomerId, TransactionId};
    use crate::pagination::ListQuery;

    /// Transactions. Get it with [`Client::customer_transactions`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::customers::transactions::NewTransaction;
    /// use kommo_client::ids::CustomerId;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// client
    ///     .customer_transactions()
    ///     .add(CustomerId(1), vec![NewTransaction::new(99.0).comment("Renewal")], true)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct TransactionsApi {
        pub(crate) client: Client,
    }

    impl TransactionsApi {
        fn path(&self) -> String {
            "/api/v4/customers/transactions".to_owned()
        }

        /// One page of one customer's purchases.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn list_page_for(
            &self,
            customer: CustomerId,
            query: ListQuery,
        ) -> Result<Page<Transaction>> {
            self.client
                .list_page(
                    format!("/api/v4/customers/{customer}/transactions"),
                    query,
                    "transactions",
                )
                .await
        }

        /// Every purchase of one customer.
        pub fn list_for(
            &self,
            customer: CustomerId,
            query: ListQuery,
        ) -> impl Stream<Item = Result<Transaction>> + Send + 'static {
            self.client.paginate(
                format!("/api/v4/customers/{customer}/transactions"),
                query,
                "transactions",
            )
        }

        /// `POST /api/v4/customers/{id}/transactions`; `accrue_bonus` also credits bonus
        /// points. Not re-sent after an ambiguous failure (a purchase recorded twice counts
        /// twice).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no purchase or a negative or non-finite price
        /// (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn add(
            &self,
            customer: CustomerId,
            transactions: Vec<NewTransaction>,
            accrue_bonus: bool,
        ) -> Result<Vec<WriteResult>> {
            if transactions.is_empty()
                || transactions
                    .iter()
                    .any(|t| !(t.price.is_finite() && t.price >= 0.0))
            {
                return Err(Error::invalid_request(
                    "name at least one purchase, each with a price of 0 or more",
                ));
            }
            let mut request = crate::ApiRequest::raw(
                http::Method::POST,
                format!("/api/v4/customers/{customer}/transactions"),
            )
            .json_body(&transactions)?;
            if accrue_bonus {
                request = request.query("accrue_bonus", "true");
            }
            Ok(self.client.page(request, "transactions").await?.items)
        }
    }

    crud::list_calls!(
        TransactionsApi,
        Transaction,
        "transactions",
        "every customer's purchases"
    );
    crud::get_call!(TransactionsApi, Transaction, TransactionId, "the purchases");
    crud::delete_call!(TransactionsApi, TransactionId, "the purchases");
}
