//! Dedicated sending IPs: `GET /v1/dedicated-sending-ips`, the addresses Loops sends from,
//! for allow-lists.

use http::Method;

use crate::endpoint::{ApiRequest, Endpoint};

/// `GET /v1/dedicated-sending-ips`.
pub fn list_dedicated_sending_ips_request() -> ApiRequest {
    ApiRequest::new(
        Endpoint::ListDedicatedSendingIps,
        Method::GET,
        "/v1/dedicated-sending-ips",
    )
}

#[cfg(feature = "client")]
pub use api::DedicatedSendingIpsApi;

#[cfg(feature = "client")]
mod api {
    use super::list_dedicated_sending_ips_request;
    use crate::client::Client;

    /// Dedicated sending IPs. Get it with [`Client::dedicated_sending_ips`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// let ips = client.dedicated_sending_ips().list().await?;
    /// println!("allow-list: {}", ips.join(", "));
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct DedicatedSendingIpsApi {
        pub(crate) client: Client,
    }

    impl DedicatedSendingIpsApi {
        /// The IP addresses Loops sends email from, as strings.
        pub async fn list(&self) -> crate::Result<Vec<String>> {
            let response = self
                .client
                .execute(&list_dedicated_sending_ips_request())
                .await?;
            Ok(response.json::<Option<Vec<String>>>()?.unwrap_or_default())
        }
    }
}
