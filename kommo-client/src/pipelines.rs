//! Pipelines and their statuses (`/api/v4/leads/pipelines`).

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, PipelineId, StatusId};
use crate::serde_util;

/// `type` of a status: `1` is the "incoming leads" (unsorted) column, `0` a regular stage.
pub const STATUS_TYPE_INCOMING: i64 = 1;

/// A pipeline stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Status {
    /// The id (142 and 143 are the same system statuses in every pipeline).
    pub id: StatusId,
    /// The name (account language).
    #[serde(default)]
    pub name: String,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// Whether it can be edited.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_editable: Option<bool>,
    /// The pipeline.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
    /// The color, e.g. `#99ccff`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub color: Option<String>,
    /// `1` incoming, `0` regular.
    #[serde(rename = "type", default, deserialize_with = "serde_util::lenient_i64")]
    pub status_type: Option<i64>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
}

impl Status {
    /// Whether this is "Closed - won" (142).
    #[must_use]
    pub fn is_won(&self) -> bool {
        self.id.is_won()
    }

    /// Whether this is "Closed - lost" (143).
    #[must_use]
    pub fn is_lost(&self) -> bool {
        self.id.is_lost()
    }

    /// Whether this is the incoming-leads column.
    #[must_use]
    pub fn is_incoming(&self) -> bool {
        self.status_type == Some(STATUS_TYPE_INCOMING)
    }
}

/// `_embedded` of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PipelineEmbedded {
    /// The statuses, in API order.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub statuses: Vec<Status>,
}

/// A pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Pipeline {
    /// The id.
    pub id: PipelineId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// Whether it is the main pipeline.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_main: Option<bool>,
    /// Whether the incoming-leads column is on.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_unsorted_on: Option<bool>,
    /// Whether it is archived.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_archive: Option<bool>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
    /// The statuses.
    #[serde(rename = "_embedded", default)]
    pub embedded: PipelineEmbedded,
}

impl Pipeline {
    /// The statuses, in API order.
    #[must_use]
    pub fn statuses(&self) -> &[Status] {
        &self.embedded.statuses
    }

    /// The status with this id.
    #[must_use]
    pub fn status(&self, id: StatusId) -> Option<&Status> {
        self.embedded.statuses.iter().find(|s| s.id == id)
    }

    /// The status with this name (exact match).
    #[must_use]
    pub fn status_by_name(&self, name: &str) -> Option<&Status> {
        self.embedded.statuses.iter().find(|s| s.name == name)
    }
}

/// The body of `GET /api/v4/leads/pipelines`, for callers that deserialize snapshots.
///
/// ```
/// let json = r#"{"_total_items":1,"_embedded":{"pipelines":[{"id":1,"name":"Sales",
///     "_embedded":{"statuses":[{"id":142,"name":"Won"}]}}]}}"#;
/// let list: kommo_client::pipelines::PipelineList = serde_json::from_str(json).unwrap();
/// assert!(list.pipelines()[0].statuses()[0].is_won());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PipelineList {
    /// `_total_items`.
    #[serde(
        rename = "_total_items",
        default,
        deserialize_with = "serde_util::lenient_i64"
    )]
    pub total_items: Option<i64>,
    /// The pipelines.
    #[serde(rename = "_embedded", default)]
    pub embedded: PipelineListEmbedded,
}

/// `_embedded` of [`PipelineList`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PipelineListEmbedded {
    /// The pipelines.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub pipelines: Vec<Pipeline>,
}

impl PipelineList {
    /// The pipelines.
    #[must_use]
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.embedded.pipelines
    }

    /// Finds a status in any pipeline: `(pipeline, status)`.
    #[must_use]
    pub fn find_status(&self, pipeline: PipelineId, status: StatusId) -> Option<&Status> {
        self.embedded
            .pipelines
            .iter()
            .find(|p| p.id == pipeline)?
            .status(status)
    }
}

#[cfg(feature = "client")]
pub use api::PipelinesApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::{Pipeline, Status};
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::Result;
    use crate::ids::{PipelineId, StatusId};
    use crate::pagination::ListQuery;

    const PATH: &str = "/api/v4/leads/pipelines";

    /// Pipelines and statuses. Get it with [`Client::pipelines`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::ids::{PipelineId, StatusId};
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let pipelines: Vec<_> = client.pipelines().list().try_collect().await?;
    /// let won = client.pipelines().status(PipelineId(6950551), StatusId::WON).await?;
    /// # let _ = (pipelines, won); Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct PipelinesApi {
        pub(crate) client: Client,
    }

    impl PipelinesApi {
        /// `GET /api/v4/leads/pipelines`: every pipeline with its statuses, in one page (the
        /// endpoint is not paginated).
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(&self) -> Result<Page<Pipeline>> {
            self.client
                .list_page(PATH, ListQuery::new(), "pipelines")
                .await
        }

        /// Every pipeline with its statuses, as a stream like every other list.
        pub fn list(&self) -> impl Stream<Item = Result<Pipeline>> + Send + 'static {
            self.client.paginate(PATH, ListQuery::new(), "pipelines")
        }

        /// One pipeline; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: PipelineId) -> Result<Option<Pipeline>> {
            self.client.get_json(format!("{PATH}/{id}"), None).await
        }

        /// The statuses of a pipeline (one request: the endpoint is not paginated).
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn statuses(&self, pipeline: PipelineId) -> Result<Vec<Status>> {
            let page: Page<Status> = self
                .client
                .list_page(
                    format!("{PATH}/{pipeline}/statuses"),
                    ListQuery::new(),
                    "statuses",
                )
                .await?;
            Ok(page.items)
        }

        /// One status; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn status(
            &self,
            pipeline: PipelineId,
            status: StatusId,
        ) -> Result<Option<Status>> {
            self.client
                .get_json(format!("{PATH}/{pipeline}/statuses/{status}"), None)
                .await
        }
    }
}
