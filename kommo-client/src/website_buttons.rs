//! Website buttons (`/api/v4/website_buttons`): the chat and call buttons a site embeds, each
//! backed by a [source](crate::sources).

use serde::{Deserialize, Serialize};

use crate::ids::{PipelineId, SourceId};
use crate::serde_util;

/// A website button.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebsiteButton {
    /// The source behind it.
    pub source_id: SourceId,
    /// The name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub name: Option<String>,
    /// The pipeline its leads go to.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
    /// The sites allowed to show it.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub trusted_websites: Vec<String>,
    /// The embed script (`with=scripts`).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub script: Option<String>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
}

/// `POST /api/v4/website_buttons`: a new button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewWebsiteButton {
    /// The pipeline its leads go to.
    pub pipeline_id: PipelineId,
    /// The sites allowed to show it.
    pub trusted_websites: Vec<String>,
    /// Whether the button is also used in the mobile app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_used_in_app: Option<bool>,
}

impl NewWebsiteButton {
    /// A button for `pipeline` on these sites.
    #[must_use]
    pub fn new(pipeline: PipelineId, sites: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            pipeline_id: pipeline,
            trusted_websites: sites.into_iter().map(Into::into).collect(),
            is_used_in_app: None,
        }
    }
}

/// The answer to a creation: the button is set up asynchronously.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebsiteButtonCreated {
    /// The new source.
    pub source_id: SourceId,
    /// Whether the set-up is still running.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_pending: Option<bool>,
}

/// `PATCH /api/v4/website_buttons/{source_id}`: sites to allow.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct WebsiteButtonUpdate {
    /// The sites to add to the allowed list.
    pub trusted_websites: TrustedWebsites,
}

/// The change of the allowed sites.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct TrustedWebsites {
    /// Sites to add.
    pub add: Vec<String>,
}

impl WebsiteButtonUpdate {
    /// Allows these sites too.
    #[must_use]
    pub fn add_sites(sites: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            trusted_websites: TrustedWebsites {
                add: sites.into_iter().map(Into::into).collect(),
            },
        }
    }
}

#[cfg(feature = "client")]
pub use api::WebsiteButtonsApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;

    use super::{NewWebsiteButton, WebsiteButton, WebsiteButtonCreated, WebsiteButtonUpdate};
    use crate::client::Client;
    use crate::crud;
    use crate::error::{Error, Result};
    use crate::ids::SourceId;

    /// Website buttons. Get it with [`Client::website_buttons`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::ids::PipelineId;
    /// use kommo_client::website_buttons::NewWebsiteButton;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let created = client
    ///     .website_buttons()
    ///     .create(&NewWebsiteButton::new(PipelineId(7), ["https://example.com"]))
    ///     .await?;
    /// client.website_buttons().add_online_chat(created.source_id).await?;
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct WebsiteButtonsApi {
        pub(crate) client: Client,
    }

    impl WebsiteButtonsApi {
        fn path(&self) -> String {
            "/api/v4/website_buttons".to_owned()
        }

        /// `POST /api/v4/website_buttons`.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] without a trusted site (nothing is sent), otherwise any
        /// [`Error`] of the request.
        pub async fn create(&self, button: &NewWebsiteButton) -> Result<WebsiteButtonCreated> {
            if button.trusted_websites.is_empty() {
                return Err(Error::invalid_request(
                    "a website button needs at least one trusted website",
                ));
            }
            self.client
                .send_json(Method::POST, self.path(), button, false)
                .await?
                .ok_or_else(|| Error::unexpected_body("empty answer to a button creation", b""))
        }

        /// `PATCH /api/v4/website_buttons/{source_id}`.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn update(
            &self,
            source: SourceId,
            update: &WebsiteButtonUpdate,
        ) -> Result<Option<WebsiteButton>> {
            self.client
                .send_json(
                    Method::PATCH,
                    format!("{}/{source}", self.path()),
                    update,
                    true,
                )
                .await
        }

        /// `POST /api/v4/website_buttons/{source_id}/online_chat`: adds the online chat.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn add_online_chat(&self, source: SourceId) -> Result<()> {
            let request = crate::ApiRequest::raw(
                Method::POST,
                format!("{}/{source}/online_chat", self.path()),
            );
            self.client.execute(&request).await.map(drop)
        }
    }

    crud::list_calls!(
        WebsiteButtonsApi,
        WebsiteButton,
        "website_buttons",
        "the website buttons"
    );
    crud::get_call!(
        WebsiteButtonsApi,
        WebsiteButton,
        SourceId,
        "the website buttons (by source id)"
    );
}
