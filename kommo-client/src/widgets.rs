//! Widgets (`/api/v4/widgets`): integrations from the marketplace, installed per account.

use serde::{Deserialize, Serialize};

use crate::ids::{PipelineId, WidgetId};
use crate::serde_util;

/// A widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Widget {
    /// The id.
    pub id: WidgetId,
    /// The code, used in paths.
    #[serde(default)]
    pub code: String,
    /// The version.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub version: Option<String>,
    /// The marketplace rating.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub rating: Option<String>,
    /// Whether it is a lead source.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_lead_source: Option<bool>,
    /// Whether it works in the Digital Pipeline.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_work_with_dp: Option<bool>,
    /// Whether it is an industry solution.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_crm_template: Option<bool>,
    /// The OAuth integration behind it.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub client_uuid: Option<String>,
    /// Whether it is installed in this account.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_active_in_account: Option<bool>,
    /// The pipeline of a lead-source widget.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
    /// The settings form, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_template: Option<serde_json::Value>,
    /// The installed settings, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
}

#[cfg(feature = "client")]
pub use api::WidgetsApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;

    use super::Widget;
    use crate::client::Client;
    use crate::crud;
    use crate::error::{Error, Result};

    /// Widgets. Get it with [`Client::widgets`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let widget = client
    ///     .widgets()
    ///     .install("amo_dropbox", &serde_json::json!({"login": "ops"}))
    ///     .await?;
    /// client.widgets().uninstall(&widget.code).await?;
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct WidgetsApi {
        pub(crate) client: Client,
    }

    /// Widget codes go into paths: letters, digits, `_` and `-` only.
    fn checked(code: &str) -> Result<&str> {
        if !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Ok(code)
        } else {
            Err(Error::invalid_request(format!(
                "not a widget code: {code:?}"
            )))
        }
    }

    impl WidgetsApi {
        fn path(&self) -> String {
            "/api/v4/widgets".to_owned()
        }

        /// `GET /api/v4/widgets/{code}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for a code that cannot be a path segment, otherwise any
        /// [`Error`] of the request.
        pub async fn get(&self, code: &str) -> Result<Option<Widget>> {
            let code = checked(code)?;
            self.client
                .get_json(format!("{}/{code}", self.path()), None)
                .await
        }

        /// `POST /api/v4/widgets/{code}`: installs the widget with these settings.
        ///
        /// # Errors
        ///
        /// As [`WidgetsApi::get`].
        pub async fn install(&self, code: &str, settings: &serde_json::Value) -> Result<Widget> {
            let code = checked(code)?;
            self.client
                .send_json(
                    Method::POST,
                    format!("{}/{code}", self.path()),
                    settings,
                    true,
                )
                .await?
                .ok_or_else(|| Error::unexpected_body("empty answer to an install", b""))
        }

        /// `DELETE /api/v4/widgets/{code}`: uninstalls it.
        ///
        /// # Errors
        ///
        /// As [`WidgetsApi::get`].
        pub async fn uninstall(&self, code: &str) -> Result<()> {
            let code = checked(code)?;
            self.client
                .delete::<()>(format!("{}/{code}", self.path()), None)
                .await
        }
    }

    crud::list_calls!(WidgetsApi, Widget, "widgets", "the widgets");
}
