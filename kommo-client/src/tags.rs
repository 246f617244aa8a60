//! Tags: the per-entity directory (list, add, delete), and adding or removing tags on leads,
//! contacts, companies and customers **without replacing the existing set**.
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

/// A tag to add to an entity type's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewTag {
    /// The name.
    pub name: String,
    /// The color (leads only), e.g. `DDEBB5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewTag {
    /// A tag named `name`.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            color: None,
            request_id: None,
        }
    }

    /// Sets the color (leads only).
    #[must_use]
    pub fn color(mut self, color: impl Into<String>) -> Self {
        self.color = Some(color.into());
        self
    }
}

/// A tag added to a directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AddedTag {
    /// The id.
    pub id: TagId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The echoed `request_id`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub request_id: Option<String>,
}

#[cfg(feature = "client")]
pub use api::TagsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use http::Method;

    use super::{AddedTag, NewTag, TagInfo};
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::common::{EntityType, Page, TagRef, WriteResult};
    use crate::companies::CompanyWrite;
    use crate::contacts::ContactWrite;
    use crate::customers::CustomerWrite;
    use crate::error::{Error, Result};
    use crate::ids::{CompanyId, ContactId, CustomerId, LeadId, TagId};
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

        /// `POST /api/v4/{entity}/tags`: adds tags to the directory (at most 250).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no tag, more than 250, a blank name, or a color on a
        /// type other than leads (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn add(&self, entity: EntityType, tags: Vec<NewTag>) -> Result<Vec<AddedTag>> {
            if tags.is_empty() || tags.len() > crate::client::MAX_BATCH_SIZE {
                return Err(Error::invalid_request("tags are added 1 to 250 at a time"));
            }
            for tag in &tags {
                crate::crud::required(Some(&tag.name), "a tag's name")?;
                if tag.color.is_some() && entity != EntityType::Leads {
                    return Err(Error::invalid_request("only lead tags have a color"));
                }
            }
            let request = ApiRequest::raw(Method::POST, path(entity)).json_body(&tags)?;
            Ok(self.client.page(request, "tags").await?.items)
        }

        /// `DELETE /api/v4/{entity}/tags` with the ids: removes tags from the directory
        /// (and from every entity that has them).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no id (nothing is sent), otherwise any [`Error`] of
        /// the request.
        pub async fn delete(&self, entity: EntityType, ids: &[TagId]) -> Result<()> {
            if ids.is_empty() {
                return Err(Error::invalid_request("name at least one tag"));
            }
            let body: Vec<_> = ids.iter().map(|&id| TagRef::id(id)).collect();
            self.client.delete(path(entity), Some(&body)).await
        }

        /// Adds tags to a company, keeping its other tags.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn add_to_company(
            &self,
            company: CompanyId,
            tags: Vec<TagRef>,
        ) -> Result<WriteResult> {
            let write = CompanyWrite {
                tags_to_add: tags,
                ..CompanyWrite::update(company)
            };
            single(self.client.companies().update(vec![write]).await?)
        }

        /// Removes tags from a company, keeping the others.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn remove_from_company(
            &self,
            company: CompanyId,
            tags: Vec<TagRef>,
        ) -> Result<WriteResult> {
            let write = CompanyWrite {
                tags_to_delete: tags,
                ..CompanyWrite::update(company)
            };
            single(self.client.companies().update(vec![write]).await?)
        }

        /// Adds tags to a customer, keeping its other tags.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn add_to_customer(
            &self,
            customer: CustomerId,
            tags: Vec<TagRef>,
        ) -> Result<WriteResult> {
            let write = CustomerWrite {
                tags_to_add: tags,
                ..CustomerWrite::update(customer)
            };
            single(self.client.customers().update(vec![write]).await?)
        }

        /// Removes tags from a customer, keeping the others.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn remove_from_customer(
            &self,
            customer: CustomerId,
            tags: Vec<TagRef>,
        ) -> Result<WriteResult> {
            let write = CustomerWrite {
                tags_to_delete: tags,
                ..CustomerWrite::update(customer)
            };
            single(self.client.customers().update(vec![write]).await?)
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

    fn single(mut results: Vec<WriteResult>) -> Result<WriteResult> {
        results.pop().ok_or_else(empty_result)
    }

    fn empty_result() -> crate::Error {
        crate::Error::unexpected_body("the update returned no entity", b"")
    }

    fn path(entity: EntityType) -> String {
        format!("/api/v4/{}/tags", entity.as_str())
    }
}
