//! Loss reasons of leads (`/api/v4/leads/loss_reasons`): why a lead went to "Closed - lost".
//! Set one on a lead with `loss_reason_id` together with status 143.

use serde::{Deserialize, Serialize};

use crate::ids::LossReasonId;
use crate::serde_util;

/// A loss reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LossReason {
    /// The id.
    pub id: LossReasonId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
}

/// A loss reason to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct LossReasonWrite {
    /// The reason to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<LossReasonId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl LossReasonWrite {
    /// A new reason.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// A change of reason `id`.
    #[must_use]
    pub fn update(id: LossReasonId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
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
pub use api::LossReasonsApi;

#[cfg(feature = "client")]
mod api {
    use super::{LossReason, LossReasonWrite};
    use crate::client::Client;
    use crate::crud::{self, Checked};
    use crate::ids::LossReasonId;

    /// Loss reasons. Get it with [`Client::loss_reasons`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::loss_reasons::LossReasonWrite;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let reasons: Vec<_> = client.loss_reasons().list(ListQuery::new()).try_collect().await?;
    /// client.loss_reasons().add(vec![LossReasonWrite::new("Too expensive")]).await?;
    /// # let _ = reasons; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct LossReasonsApi {
        pub(crate) client: Client,
    }

    impl LossReasonsApi {
        fn path(&self) -> String {
            "/api/v4/leads/loss_reasons".to_owned()
        }
    }

    impl Checked for LossReasonWrite {
        fn check(&self) -> crate::Result<()> {
            crud::required(self.name.as_deref(), "a loss reason's name")
        }
    }

    crud::list_calls!(
        LossReasonsApi,
        LossReason,
        "loss_reasons",
        "the loss reasons"
    );
    crud::get_call!(LossReasonsApi, LossReason, LossReasonId, "the loss reasons");
    crud::add_call!(
        LossReasonsApi,
        LossReasonWrite,
        "loss_reasons",
        "loss reasons"
    );
    crud::update_call!(
        LossReasonsApi,
        LossReasonWrite,
        "loss_reasons",
        "loss reason"
    );
    crud::update_one_call!(
        LossReasonsApi,
        LossReasonWrite,
        LossReasonId,
        "the loss reasons"
    );
    crud::delete_call!(LossReasonsApi, LossReasonId, "the loss reasons");
}
