//! Links between entities (`/api/v4/leads/{id}/link`, `/unlink`, `/links`).

use serde::{Deserialize, Serialize};

use crate::serde_util;

/// Link metadata. Kommo's reference names the main-contact flag `main_contact` while the PHP
/// library sends `is_main`; both are read, and `is_main` is written.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkMetadata {
    /// Whether the contact is the lead's main contact.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_util::lenient_bool"
    )]
    pub is_main: Option<bool>,
    /// The reference's name for the same flag (read only).
    #[serde(
        default,
        skip_serializing,
        deserialize_with = "serde_util::lenient_bool"
    )]
    pub main_contact: Option<bool>,
    /// Quantity (catalog elements).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_util::lenient_f64"
    )]
    pub quantity: Option<f64>,
    /// The catalog (catalog elements).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_util::lenient_i64"
    )]
    pub catalog_id: Option<i64>,
    /// The price field used (catalog elements).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_util::lenient_i64"
    )]
    pub price_id: Option<i64>,
}

impl LinkMetadata {
    /// Whether the link marks the main contact, by either name.
    #[must_use]
    pub fn is_main_contact(&self) -> bool {
        self.is_main == Some(true) || self.main_contact == Some(true)
    }
}

/// A link from an entity to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntityLink {
    /// The source entity id (present in responses and mass links).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_util::lenient_opt"
    )]
    pub entity_id: Option<u64>,
    /// The source entity type.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "serde_util::lenient_string"
    )]
    pub entity_type: Option<String>,
    /// The target entity id.
    pub to_entity_id: u64,
    /// The target type: `contacts`, `companies`, `catalog_elements`, ...
    pub to_entity_type: String,
    /// Link metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<LinkMetadata>,
}

impl EntityLink {
    /// A link to a contact, optionally as the main contact.
    #[must_use]
    pub fn contact(contact_id: crate::ids::ContactId, is_main: bool) -> Self {
        Self {
            entity_id: None,
            entity_type: None,
            to_entity_id: contact_id.0,
            to_entity_type: "contacts".into(),
            metadata: Some(LinkMetadata {
                is_main: Some(is_main),
                ..LinkMetadata::default()
            }),
        }
    }

    /// A link to an element of a catalog (a product on a lead), with its quantity and, when
    /// the catalog has several price fields, the one to use.
    #[must_use]
    pub fn catalog_element(
        catalog: crate::ids::CatalogId,
        element: crate::ids::CatalogElementId,
        quantity: f64,
        price_id: Option<crate::ids::CustomFieldId>,
    ) -> Self {
        Self {
            entity_id: None,
            entity_type: None,
            to_entity_id: element.0,
            to_entity_type: "catalog_elements".into(),
            metadata: Some(LinkMetadata {
                quantity: Some(quantity),
                catalog_id: i64::try_from(catalog.0).ok(),
                price_id: price_id.and_then(|p| i64::try_from(p.0).ok()),
                ..LinkMetadata::default()
            }),
        }
    }

    /// This link made from `entity_id` (for the mass calls, which name the source in each
    /// item).
    #[must_use]
    pub fn from_entity(mut self, entity_id: u64) -> Self {
        self.entity_id = Some(entity_id);
        self
    }

    /// A link to a company.
    #[must_use]
    pub fn company(company_id: crate::ids::CompanyId) -> Self {
        Self {
            entity_id: None,
            entity_type: None,
            to_entity_id: company_id.0,
            to_entity_type: "companies".into(),
            metadata: None,
        }
    }
}

#[cfg(feature = "client")]
pub use api::LinksApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;
    use http::Method;

    use super::EntityLink;
    use crate::client::Client;
    use crate::common::{EntityType, Page};
    use crate::error::Result;
    use crate::ids::{ContactId, LeadId};
    use crate::pagination::ListQuery;
    use crate::raw::ApiRequest;

    /// Entity links. Get it with [`Client::links`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::common::EntityType;
    /// use kommo_client::ids::{ContactId, LeadId};
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// client.links().link_contact_to_lead(LeadId(152464), ContactId(8), true).await?;
    /// let linked: Vec<_> = client
    ///     .links()
    ///     .list(EntityType::Leads, 152464, ListQuery::new())
    ///     .try_collect()
    ///     .await?;
    /// # let _ = linked; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct LinksApi {
        pub(crate) client: Client,
    }

    impl LinksApi {
        /// `POST /api/v4/{entity}/{id}/link`. Linking is idempotent, so it is retried on
        /// transient errors.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for a quantity that is NaN
        /// or infinite (nothing is sent), otherwise any [`Error`](crate::Error) of the
        /// request.
        pub async fn link(
            &self,
            entity: EntityType,
            id: u64,
            links: Vec<EntityLink>,
        ) -> Result<Vec<EntityLink>> {
            self.post(entity, id, "link", links).await
        }

        /// `POST /api/v4/{entity}/{id}/unlink`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn unlink(
            &self,
            entity: EntityType,
            id: u64,
            links: Vec<EntityLink>,
        ) -> Result<()> {
            self.post(entity, id, "unlink", links).await.map(|_| ())
        }

        /// One page of `GET /api/v4/{entity}/{id}/links` (filters such as
        /// `filter[to_entity_type]` go in the query).
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(
            &self,
            entity: EntityType,
            id: u64,
            query: ListQuery,
        ) -> Result<Page<EntityLink>> {
            self.client
                .list_page(path(entity, id, "links"), query, "links")
                .await
        }

        /// Every link of an entity, following pages.
        pub fn list(
            &self,
            entity: EntityType,
            id: u64,
            query: ListQuery,
        ) -> impl Stream<Item = Result<EntityLink>> + Send + 'static {
            self.client
                .paginate(path(entity, id, "links"), query, "links")
        }

        /// Links a contact to a lead.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn link_contact_to_lead(
            &self,
            lead: LeadId,
            contact: ContactId,
            is_main: bool,
        ) -> Result<()> {
            self.link(
                EntityType::Leads,
                lead.0,
                vec![EntityLink::contact(contact, is_main)],
            )
            .await
            .map(|_| ())
        }

        /// Unlinks a contact from a lead.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn unlink_contact_from_lead(
            &self,
            lead: LeadId,
            contact: ContactId,
        ) -> Result<()> {
            let mut link = EntityLink::contact(contact, false);
            link.metadata = None;
            self.unlink(EntityType::Leads, lead.0, vec![link]).await
        }

        /// `POST /api/v4/{entity}/link`: links of several entities at once; every item names
        /// its source with [`EntityLink::from_entity`].
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for an item without its
        /// source or with a quantity that is NaN or infinite (nothing is sent), otherwise any
        /// [`Error`](crate::Error) of the request.
        pub async fn link_many(
            &self,
            entity: EntityType,
            links: Vec<EntityLink>,
        ) -> Result<Vec<EntityLink>> {
            sources_named(&links)?;
            self.send(format!("/api/v4/{}/link", entity.as_str()), links)
                .await
        }

        /// `POST /api/v4/{entity}/unlink` for several entities at once.
        ///
        /// # Errors
        ///
        /// As [`LinksApi::link_many`].
        pub async fn unlink_many(&self, entity: EntityType, links: Vec<EntityLink>) -> Result<()> {
            sources_named(&links)?;
            self.send(format!("/api/v4/{}/unlink", entity.as_str()), links)
                .await
                .map(drop)
        }

        /// One page of `GET /api/v4/{entity}/links`: the links of the entities named by
        /// `filter[entity_id][]` in the query.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_many_page(
            &self,
            entity: EntityType,
            query: ListQuery,
        ) -> Result<Page<EntityLink>> {
            self.client
                .list_page(format!("/api/v4/{}/links", entity.as_str()), query, "links")
                .await
        }

        async fn post(
            &self,
            entity: EntityType,
            id: u64,
            verb: &str,
            links: Vec<EntityLink>,
        ) -> Result<Vec<EntityLink>> {
            self.send(path(entity, id, verb), links).await
        }

        async fn send(&self, path: String, links: Vec<EntityLink>) -> Result<Vec<EntityLink>> {
            quantities_finite(&links)?;
            let request = ApiRequest::raw(Method::POST, path)
                .json_body(&links)?
                .safe_to_retry(true);
            let page: Page<EntityLink> = self.client.page(request, "links").await?;
            Ok(page.items)
        }
    }

    /// JSON has no NaN or infinity: serde_json would send `null`, which Kommo may read as
    /// "no quantity" (or as 1), so the mistake would land as a different product count.
    fn quantities_finite(links: &[EntityLink]) -> Result<()> {
        let bad = links
            .iter()
            .filter_map(|l| l.metadata.as_ref()?.quantity)
            .find(|q| !q.is_finite());
        match bad {
            Some(q) => Err(crate::Error::InvalidRequest(format!(
                "a link's quantity must be a finite number, not {q}"
            ))),
            None => Ok(()),
        }
    }

    fn sources_named(links: &[EntityLink]) -> Result<()> {
        if links.is_empty() || links.iter().any(|l| l.entity_id.is_none()) {
            return Err(crate::Error::InvalidRequest(
                "mass links need at least one link, each naming its source entity".into(),
            ));
        }
        Ok(())
    }

    fn path(entity: EntityType, id: u64, last: &str) -> String {
        format!("/api/v4/{}/{id}/{last}", entity.as_str())
    }
}
