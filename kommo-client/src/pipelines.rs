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

/// The most statuses a pipeline holds.
pub const MAX_STATUSES: usize = 100;

/// A stage to add, or (with `id`) to change. Only the fields set are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct StatusWrite {
    /// The status to change (updates only; not sent).
    #[serde(skip)]
    pub id: Option<StatusId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// The color, one of Kommo's palette (e.g. `#fffeb2`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl StatusWrite {
    /// A new stage.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Sets the sort order.
    #[must_use]
    pub fn sort(mut self, sort: i64) -> Self {
        self.sort = Some(sort);
        self
    }

    /// Sets the color.
    #[must_use]
    pub fn color(mut self, color: impl Into<String>) -> Self {
        self.color = Some(color.into());
        self
    }
}

/// `_embedded` of a pipeline write.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct PipelineWriteEmbedded {
    /// The stages of a new pipeline (Kommo adds the incoming column, 142 and 143).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statuses: Vec<StatusWrite>,
}

impl PipelineWriteEmbedded {
    fn is_empty(&self) -> bool {
        self.statuses.is_empty()
    }
}

/// A pipeline to add, or to change. Only the fields set are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct PipelineWrite {
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// Whether it becomes the main pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_main: Option<bool>,
    /// Whether the incoming-leads column is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_unsorted_on: Option<bool>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The stages (adds only).
    #[serde(
        rename = "_embedded",
        skip_serializing_if = "PipelineWriteEmbedded::is_empty"
    )]
    pub embedded: PipelineWriteEmbedded,
}

impl PipelineWrite {
    /// A new pipeline with these stages.
    #[must_use]
    pub fn new(name: impl Into<String>, statuses: Vec<StatusWrite>) -> Self {
        Self {
            name: Some(name.into()),
            embedded: PipelineWriteEmbedded { statuses },
            ..Self::default()
        }
    }

    /// A change (set the fields to change).
    #[must_use]
    pub fn change() -> Self {
        Self::default()
    }

    /// Sets the name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the sort order.
    #[must_use]
    pub fn sort(mut self, sort: i64) -> Self {
        self.sort = Some(sort);
        self
    }
}

#[cfg(feature = "client")]
pub use api::PipelinesApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;
    use http::Method;

    use super::{MAX_STATUSES, Pipeline, PipelineWrite, Status, StatusWrite};
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::{Error, Result};
    use crate::ids::{PipelineId, StatusId};
    use crate::pagination::ListQuery;

    /// Statuses the API refuses to delete or rename: "Closed - won" and "Closed - lost".
    fn refuse_system(status: StatusId, what: &str) -> Result<()> {
        if status.is_closed() {
            return Err(Error::invalid_request(format!(
                "the system status {status} cannot be {what}"
            )));
        }
        Ok(())
    }

    fn check_new_statuses(statuses: &[StatusWrite]) -> Result<()> {
        if statuses.len() > MAX_STATUSES {
            return Err(Error::invalid_request(format!(
                "a pipeline holds at most {MAX_STATUSES} statuses"
            )));
        }
        for status in statuses {
            crate::crud::required(status.name.as_deref(), "a status's name")?;
        }
        Ok(())
    }

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

        /// `POST /api/v4/leads/pipelines`: new pipelines with their stages (Kommo adds the
        /// incoming column, 142 and 143 itself). Answers the new pipelines.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no pipeline, a pipeline or stage without a name, or
        /// more than 100 stages (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn add(&self, pipelines: Vec<PipelineWrite>) -> Result<Vec<Pipeline>> {
            if pipelines.is_empty() {
                return Err(Error::invalid_request("name at least one pipeline"));
            }
            for p in &pipelines {
                crate::crud::required(p.name.as_deref(), "a pipeline's name")?;
                check_new_statuses(&p.embedded.statuses)?;
            }
            let request = ApiRequest::raw(Method::POST, PATH).json_body(&pipelines)?;
            Ok(self.client.page(request, "pipelines").await?.items)
        }

        /// `PATCH /api/v4/leads/pipelines/{id}` (stages are changed with
        /// [`PipelinesApi::update_status`]).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for a write carrying stages (nothing is sent), otherwise
        /// any [`Error`] of the request.
        pub async fn update(
            &self,
            id: PipelineId,
            write: &PipelineWrite,
        ) -> Result<Option<Pipeline>> {
            if !write.embedded.statuses.is_empty() {
                return Err(Error::invalid_request(
                    "change stages with update_status, not in a pipeline update",
                ));
            }
            self.client
                .send_json(Method::PATCH, format!("{PATH}/{id}"), write, true)
                .await
        }

        /// `DELETE /api/v4/leads/pipelines/{id}` (the main pipeline cannot be deleted).
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn delete(&self, id: PipelineId) -> Result<()> {
            self.client.delete::<()>(format!("{PATH}/{id}"), None).await
        }

        /// `POST /api/v4/leads/pipelines/{id}/statuses`: new stages.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no stage, a stage without a name, or more than 100
        /// (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn add_statuses(
            &self,
            pipeline: PipelineId,
            statuses: Vec<StatusWrite>,
        ) -> Result<Vec<Status>> {
            if statuses.is_empty() {
                return Err(Error::invalid_request("name at least one status"));
            }
            check_new_statuses(&statuses)?;
            let request = ApiRequest::raw(Method::POST, format!("{PATH}/{pipeline}/statuses"))
                .json_body(&statuses)?;
            Ok(self.client.page(request, "statuses").await?.items)
        }

        /// `PATCH /api/v4/leads/pipelines/{id}/statuses/{status}`.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for 142 or 143, which cannot be edited (nothing is sent),
        /// otherwise any [`Error`] of the request.
        pub async fn update_status(
            &self,
            pipeline: PipelineId,
            status: StatusId,
            write: &StatusWrite,
        ) -> Result<Option<Status>> {
            refuse_system(status, "edited")?;
            self.client
                .send_json(
                    Method::PATCH,
                    format!("{PATH}/{pipeline}/statuses/{status}"),
                    write,
                    true,
                )
                .await
        }

        /// `DELETE /api/v4/leads/pipelines/{id}/statuses/{status}`.
        ///
        /// ```
        /// # async fn run() {
        /// use kommo_client::Client;
        /// use kommo_client::ids::{PipelineId, StatusId};
        ///
        /// let client = Client::new("acme.kommo.com", "token").unwrap();
        /// let refused = client.pipelines().delete_status(PipelineId(7), StatusId::WON).await;
        /// assert!(matches!(refused, Err(kommo_client::Error::InvalidRequest(_))));
        /// # }
        /// ```
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for 142 or 143, which every pipeline keeps (nothing is
        /// sent), otherwise any [`Error`] of the request.
        pub async fn delete_status(&self, pipeline: PipelineId, status: StatusId) -> Result<()> {
            refuse_system(status, "deleted")?;
            self.client
                .delete::<()>(format!("{PATH}/{pipeline}/statuses/{status}"), None)
                .await
        }
    }
}
