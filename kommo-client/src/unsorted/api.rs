//! The unsorted handle.

use futures_util::Stream;
use http::Method;
use serde_json::json;

use super::{
    NewUnsorted, UNSORTED_MAX, Unsorted, UnsortedCategory, UnsortedDecision, UnsortedMetadata,
    UnsortedResult, UnsortedSummary,
};
use crate::ApiRequest;
use crate::client::Client;
use crate::common::{EntityType, Page};
use crate::error::{Error, Result};
use crate::pagination::ListQuery;

const PATH: &str = "/api/v4/leads/unsorted";

/// Incoming leads. Get it with [`Client::unsorted`].
///
/// ```no_run
/// use kommo_client::Client;
/// use kommo_client::contacts::ContactWrite;
/// use kommo_client::leads::LeadWrite;
/// use kommo_client::unsorted::{FormMetadata, NewUnsorted, UnsortedDecision, UnsortedMetadata};
///
/// # async fn run(client: Client, form: FormMetadata) -> kommo_client::Result<()> {
/// let added = client
///     .unsorted()
///     .add_forms(vec![
///         NewUnsorted::new("submission-1", "Site form", UnsortedMetadata::Form(form))
///             .lead(LeadWrite::new().name("Website request"))
///             .contact(ContactWrite::new().name("Ada")),
///     ])
///     .await?;
/// client.unsorted().accept(&added[0].uid, UnsortedDecision::default()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct UnsortedApi {
    pub(crate) client: Client,
}

/// Incoming-lead uids go into paths: letters and digits only.
fn uid(uid: &str) -> Result<&str> {
    if !uid.is_empty() && uid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(uid)
    } else {
        Err(Error::invalid_request(format!(
            "not an incoming lead uid: {uid:?}"
        )))
    }
}

impl UnsortedApi {
    /// One page of incoming leads (`filter[uid]`, `filter[category][]`,
    /// `filter[pipeline_id]`, `order[created_at|updated_at]` through the query).
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn list_page(&self, query: ListQuery) -> Result<Page<Unsorted>> {
        self.client.list_page(PATH, query, "unsorted").await
    }

    /// Every incoming lead, following pages.
    pub fn list(&self, query: ListQuery) -> impl Stream<Item = Result<Unsorted>> + Send + 'static {
        self.client.paginate(PATH, query, "unsorted")
    }

    /// `GET /api/v4/leads/unsorted/{uid}`; `None` on 204.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for a uid that cannot be a path segment, otherwise any
    /// [`Error`] of the request.
    pub async fn get(&self, id: &str) -> Result<Option<Unsorted>> {
        let id = uid(id)?;
        self.client.get_json(format!("{PATH}/{id}"), None).await
    }

    async fn add(
        &self,
        category: UnsortedCategory,
        items: Vec<NewUnsorted>,
    ) -> Result<Vec<UnsortedResult>> {
        if items.is_empty() || items.len() > UNSORTED_MAX {
            return Err(Error::invalid_request(
                "incoming leads are added 1 to 250 at a time",
            ));
        }
        for item in &items {
            let fits = matches!(
                (&category, &item.metadata),
                (UnsortedCategory::Forms, UnsortedMetadata::Form(_))
                    | (UnsortedCategory::Sip, UnsortedMetadata::Sip(_))
            );
            if !fits {
                return Err(Error::invalid_request(format!(
                    "an incoming lead added as {category} needs {category} metadata"
                )));
            }
            crate::crud::required(Some(&item.source_uid), "an incoming lead's source_uid")?;
            crate::crud::required(Some(&item.source_name), "an incoming lead's source_name")?;
            if item.embedded.leads.len() > 1
                || item.embedded.contacts.len() > 1
                || item.embedded.companies.len() > 1
            {
                return Err(Error::invalid_request(
                    "an incoming lead holds at most one lead, one contact and one company",
                ));
            }
        }
        let request =
            ApiRequest::raw(Method::POST, format!("{PATH}/{category}")).json_body(&items)?;
        Ok(self.client.page(request, "unsorted").await?.items)
    }

    /// `POST /api/v4/leads/unsorted/forms`: form submissions, at most 250. Not re-sent after
    /// an ambiguous failure.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for no item, more than 250, call metadata, a blank source, or
    /// more than one lead, contact or company in an item (nothing is sent), otherwise any
    /// [`Error`] of the request.
    pub async fn add_forms(&self, items: Vec<NewUnsorted>) -> Result<Vec<UnsortedResult>> {
        self.add(UnsortedCategory::Forms, items).await
    }

    /// `POST /api/v4/leads/unsorted/sip`: calls, at most 250.
    ///
    /// # Errors
    ///
    /// As [`UnsortedApi::add_forms`], with form metadata refused.
    pub async fn add_sip(&self, items: Vec<NewUnsorted>) -> Result<Vec<UnsortedResult>> {
        self.add(UnsortedCategory::Sip, items).await
    }

    /// `POST /api/v4/leads/unsorted/{uid}/accept`: turns it into a lead (and contact).
    ///
    /// # Errors
    ///
    /// As [`UnsortedApi::get`].
    pub async fn accept(&self, id: &str, decision: UnsortedDecision) -> Result<UnsortedResult> {
        let id = uid(id)?;
        self.client
            .send_json(
                Method::POST,
                format!("{PATH}/{id}/accept"),
                &decision,
                false,
            )
            .await?
            .ok_or_else(|| Error::unexpected_body("empty answer to an accept", b""))
    }

    /// `DELETE /api/v4/leads/unsorted/{uid}/decline`.
    ///
    /// # Errors
    ///
    /// As [`UnsortedApi::get`].
    pub async fn decline(
        &self,
        id: &str,
        user: Option<crate::ids::UserId>,
    ) -> Result<UnsortedResult> {
        let id = uid(id)?;
        let body = UnsortedDecision {
            user_id: user,
            status_id: None,
        };
        self.client
            .send_json(Method::DELETE, format!("{PATH}/{id}/decline"), &body, false)
            .await?
            .ok_or_else(|| Error::unexpected_body("empty answer to a decline", b""))
    }

    /// `POST /api/v4/leads/unsorted/{uid}/link`: attaches an incoming chat to an existing
    /// lead (or customer) instead of creating one.
    ///
    /// # Errors
    ///
    /// As [`UnsortedApi::get`]; [`Error::InvalidRequest`] for an entity type other than leads
    /// or customers.
    pub async fn link(
        &self,
        id: &str,
        entity: EntityType,
        entity_id: u64,
    ) -> Result<UnsortedResult> {
        let id = uid(id)?;
        if !matches!(entity, EntityType::Leads | EntityType::Customers) {
            return Err(Error::invalid_request(
                "incoming leads link to leads or customers only",
            ));
        }
        let body = json!({ "link": { "entity_id": entity_id, "entity_type": entity.as_str() } });
        self.client
            .send_json(Method::POST, format!("{PATH}/{id}/link"), &body, false)
            .await?
            .ok_or_else(|| Error::unexpected_body("empty answer to a link", b""))
    }

    /// `GET /api/v4/leads/unsorted/summary` (filters through the query, as for lists).
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn summary(&self, query: ListQuery) -> Result<UnsortedSummary> {
        Ok(self
            .client
            .get_json(format!("{PATH}/summary"), query.into_pairs())
            .await?
            .unwrap_or_default())
    }
}
