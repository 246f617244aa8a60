//! `GET /v1/dedicated-sending-ips`: the IPs Loops sends from, for allow-lists.

use crate::endpoint::{ApiRequest, Endpoint, Method};

/// `GET /v1/dedicated-sending-ips`.
pub fn list_dedicated_sending_ips_request() -> ApiRequest {
    ApiRequest::new(
        Endpoint::ListDedicatedSendingIps,
        Method::Get,
        "/v1/dedicated-sending-ips",
    )
}

#[cfg(feature = "client")]
impl crate::Client {
    /// The IP addresses Loops sends email from, as strings.
    pub async fn list_dedicated_sending_ips(&self) -> Result<Vec<String>, crate::Error> {
        let response = self.execute(&list_dedicated_sending_ips_request()).await?;
        Ok(response.json::<Option<Vec<String>>>()?.unwrap_or_default())
    }
}
