//! The currencies Kommo knows (`/api/v4/currencies`), for monetary fields and products.

use serde::{Deserialize, Serialize};

use crate::serde_util;

/// A currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Currency {
    /// The ISO 4217 code, e.g. `USD`.
    #[serde(default)]
    pub code: String,
    /// The name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub name: Option<String>,
    /// The symbol, e.g. `$`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub symbol: Option<String>,
}

#[cfg(feature = "client")]
pub use api::CurrenciesApi;

#[cfg(feature = "client")]
mod api {
    use super::Currency;
    use crate::client::Client;
    use crate::crud;

    /// Currencies. Get it with [`Client::currencies`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let all: Vec<_> = client.currencies().list(ListQuery::new().limit(250)).try_collect().await?;
    /// # let _ = all; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct CurrenciesApi {
        pub(crate) client: Client,
    }

    impl CurrenciesApi {
        fn path(&self) -> String {
            "/api/v4/currencies".to_owned()
        }
    }

    crud::list_calls!(CurrenciesApi, Currency, "currencies", "the currencies");
}
