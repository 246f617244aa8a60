//! Tags: the per-entity directory, and adding or removing tags on leads and contacts **without
//! replacing the existing set**.
//!
//! Additive changes use `tags_to_add` / `tags_to_delete` on `PATCH /api/v4/leads` and
//! `PATCH /api/v4/contacts`. These fields are seen only in the official PHP library ("the new
//! format"), not in Kommo's reference pages; `_embedded.tags`, which Kommo does document,
//! *replaces* the whole set, and wins if both are sent.

use serde::{Deserialize, Serialize};

use crate::ids::TagId;
use crate::serde_util;

/// A tag in the directory (`GET /api/v4/{entity}/tags`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagInfo {
    /// The id.
    pub id: TagId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The color (leads only).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub color: Option<String>,
}

#[cfg(feature = "client")]
pub use api::TagsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::TagInfo;
    use crate::client::Client;
    use crate::common::{EntityType, Page, TagRef, WriteResult};
    use crate::contacts::ContactWrite;
    use crate::error::Result;
    use crate::ids::{ContactId, LeadId};
    use crate::leads::LeadWrite;
    use crate::pagination::ListQuery;

    /// Tags. Get it with [`Client::tags`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::common::{EntityType, TagRef};
    /// use kommo_client::ids::LeadId;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// // Adds "vip" and keeps the lead's other tags.
    /// client.tags().add_to_lead(LeadId(152464), vec![TagRef::from("vip")]).await?;
    /// let directory = client.tags().list_page(EntityType::Leads, ListQuery::new()).await?;
    /// # let _ = directory; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct TagsApi {
        pub(crate) client: Client,
    }

    impl TagsApi {
        /// One page of the tag directory of an entity type: `GET /api/v4/{entity}/tags`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(
            &self,
            entity: EntityType,
            query: ListQuery,
        ) -> Result<Page<TagInfo>> {
            self.client.list_page(path(entity), query, "tags").await
        }

        /// The tag directory of an entity type, following pages.
        pub fn list(
            &self,
            entity: EntityType,
            query: ListQuery,
        ) -> impl Stream<Item = Result<TagInfo>> + Send + 'static {
            self.client.paginate(path(entity), query, "tags")
        }

        /// Adds tags to a lead, keeping its other tags (`tags_to_add`).
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn add_to_lead(&self, lead: LeadId, tags: Vec<TagRef>) -> Result<WriteResult> {
            self.change_lead(LeadWrite {
                tags_to_add: tags,
                ..LeadWrite::update(lead)
            })
            .await
        }

        /// Removes tags from a lead, keeping the others (`tags_to_delete`).
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn remove_from_lead(
            &self,
            lead: LeadId,
            tags: Vec<TagRef>,
        ) -> Result<WriteResult> {
            self.change_lead(LeadWrite {
                tags_to_delete: tags,
                ..LeadWrite::update(lead)
            })
            .await
        }

        /// Adds tags to a contact, keeping its other tags.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn add_to_contact(
            &self,
            contact: ContactId,
            tags: Vec<TagRef>,
        ) -> Result<WriteResult> {
            self.change_contact(ContactWrite {
                tags_to_add: tags,
                ..ContactWrite::update(contact)
            })
            .await
        }

        /// Removes tags from a contact, keeping the others.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn remove_from_contact(
            &self,
            contact: ContactId,
            tags: Vec<TagRef>,
        ) -> Result<WriteResult> {
            self.change_contact(ContactWrite {
                tags_to_delete: tags,
                ..ContactWrite::update(contact)
            })
            .await
        }

        async fn change_lead(&self, write: LeadWrite) -> Result<WriteResult> {
            let mut results = self.client.leads().update(vec![write]).await?;
            results.pop().ok_or_else(empty_result)
        }

        async fn change_contact(&self, write: ContactWrite) -> Result<WriteResult> {
            let mut results = self.client.contacts().update(vec![write]).await?;
            results.pop().ok_or_else(empty_result)
        }
    }

    fn empty_result() -> crate::Error {
        crate::Error::unexpected_body("the update returned no entity", b"")
    }

    fn path(entity: EntityType) -> String {
        format!("/api/v4/{}/tags", entity.as_str())
    }
}
