//! Entity subscriptions (`/api/v4/{entity}/{id}/subscriptions`): the users and groups that
//! follow a lead, contact, company or customer and are notified of its changes.

use serde::{Deserialize, Serialize};

use crate::serde_util;

/// A follower of an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntitySubscription {
    /// The user or group.
    #[serde(deserialize_with = "crate::ids::deserialize_u64")]
    pub subscriber_id: u64,
    /// `user` or `group`.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "serde_util::lenient_string"
    )]
    pub subscriber_type: Option<String>,
}

#[cfg(feature = "client")]
pub use api::EntitySubscriptionsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::EntitySubscription;
    use crate::client::Client;
    use crate::common::{EntityType, Page};
    use crate::error::Result;
    use crate::pagination::ListQuery;

    /// Followers of entities. Get it with [`Client::entity_subscriptions`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::common::EntityType;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let followers = client
    ///     .entity_subscriptions()
    ///     .list_page(EntityType::Leads, 152464, ListQuery::new())
    ///     .await?;
    /// # let _ = followers; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct EntitySubscriptionsApi {
        pub(crate) client: Client,
    }

    fn path(entity: EntityType, id: u64) -> String {
        format!("/api/v4/{}/{id}/subscriptions", entity.as_str())
    }

    impl EntitySubscriptionsApi {
        /// One page of an entity's followers.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(
            &self,
            entity: EntityType,
            id: u64,
            query: ListQuery,
        ) -> Result<Page<EntitySubscription>> {
            self.client
                .list_page(path(entity, id), query, "subscriptions")
                .await
        }

        /// Every follower of an entity, following pages.
        pub fn list(
            &self,
            entity: EntityType,
            id: u64,
            query: ListQuery,
        ) -> impl Stream<Item = Result<EntitySubscription>> + Send + 'static {
            self.client
                .paginate(path(entity, id), query, "subscriptions")
        }
    }
}
