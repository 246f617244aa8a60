//! Lead sources (`/api/v4/sources`): the channels an integration feeds incoming leads from,
//! and (module [`crate::website_buttons`]) the website buttons built on them.

use serde::{Deserialize, Serialize};

use crate::ids::{PipelineId, SourceId};
use crate::serde_util;

/// A source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Source {
    /// The id.
    pub id: SourceId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The pipeline its incoming leads go to.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
    /// The integration's own id for it.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub external_id: Option<String>,
    /// Whether it is the integration's default source.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub default: Option<bool>,
    /// The chat channel code, for chat sources.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub origin_code: Option<String>,
    /// The services (e.g. WhatsApp templates) offered through it, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<serde_json::Value>,
}

/// A source to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct SourceWrite {
    /// The source to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<SourceId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The integration's own id (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<PipelineId>,
    /// Whether it is the default source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
    /// The chat channel code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_code: Option<String>,
    /// Services, as the API documents them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub services: Option<serde_json::Value>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl SourceWrite {
    /// A new source.
    #[must_use]
    pub fn new(name: impl Into<String>, external_id: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            external_id: Some(external_id.into()),
            ..Self::default()
        }
    }

    /// A change of source `id`.
    #[must_use]
    pub fn update(id: SourceId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// Sets the pipeline.
    #[must_use]
    pub fn pipeline(mut self, pipeline: PipelineId) -> Self {
        self.pipeline_id = Some(pipeline);
        self
    }
}

#[cfg(feature = "client")]
pub use api::SourcesApi;

#[cfg(feature = "client")]
mod api {
    use super::{Source, SourceWrite};
    use crate::client::Client;
    use crate::crud::{self, Checked};
    use crate::ids::SourceId;

    /// Sources of the integration. Get it with [`Client::sources`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::sources::SourceWrite;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let added = client.sources().add(vec![SourceWrite::new("Web form", "form-1")]).await?;
    /// client.sources().delete(kommo_client::ids::SourceId(added[0].id)).await?;
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct SourcesApi {
        pub(crate) client: Client,
    }

    impl SourcesApi {
        fn path(&self) -> String {
            "/api/v4/sources".to_owned()
        }
    }

    impl Checked for SourceWrite {
        fn check(&self) -> crate::Result<()> {
            crud::required(self.name.as_deref(), "a source's name")?;
            crud::required(self.external_id.as_deref(), "a source's external_id")
        }
    }

    crud::list_calls!(SourcesApi, Source, "sources", "the sources");
    crud::get_call!(SourcesApi, Source, SourceId, "the sources");
    crud::add_call!(SourcesApi, SourceWrite, "sources", "sources");
    crud::update_call!(SourcesApi, SourceWrite, "sources", "source");
    crud::update_one_call!(SourcesApi, SourceWrite, SourceId, "the sources");
    crud::delete_call!(SourcesApi, SourceId, "the sources");
}
