//! Leads (`/api/v4/leads`): read model, write models, complex add and the API.

use serde::{Deserialize, Serialize};

use crate::common::{LinkedCompany, LinkedContact, Links, Tag, TagRef};
use crate::field_values::{CustomFields, FieldValueUpdate};
use crate::ids::{
    AccountId, CompanyId, ContactId, GroupId, LeadId, LossReasonId, PipelineId, StatusId, UserId,
};
use crate::serde_util;

/// A loss reason embedded in a lead (`with=loss_reason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LossReason {
    /// The id.
    pub id: LossReasonId,
    /// The name.
    #[serde(default)]
    pub name: String,
}

/// `_embedded` of a lead.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeadEmbedded {
    /// Tags.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub tags: Vec<Tag>,
    /// Linked contacts (`with=contacts`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub contacts: Vec<LinkedContact>,
    /// The linked company (at most one).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub companies: Vec<LinkedCompany>,
    /// The loss reason (`with=loss_reason`; an array of at most one).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub loss_reason: Vec<LossReason>,
    /// Catalog elements (`with=catalog_elements`), as sent.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub catalog_elements: Vec<serde_json::Value>,
    /// The source (`with=source`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<serde_json::Value>,
}

/// A lead as returned by `GET /api/v4/leads[/{id}]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lead {
    /// The id.
    pub id: LeadId,
    /// The name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub name: Option<String>,
    /// The sale value (fractional on Kommo).
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    pub price: Option<f64>,
    /// The responsible user.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub responsible_user_id: Option<UserId>,
    /// The user group.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub group_id: Option<GroupId>,
    /// The status.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub status_id: Option<StatusId>,
    /// The pipeline.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
    /// The loss reason (with status 143).
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub loss_reason_id: Option<LossReasonId>,
    /// Who created it (`0` = robot).
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Who changed it last.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub updated_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// Closing time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub closed_at: Option<i64>,
    /// The nearest task's due time.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub closest_task_at: Option<i64>,
    /// Whether it is in the trash.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_deleted: Option<bool>,
    /// Custom field values (`null` reads as empty).
    #[serde(default)]
    pub custom_fields_values: CustomFields,
    /// The lead score.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub score: Option<i64>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
    /// Labor cost.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub labor_cost: Option<i64>,
    /// Whether a robot changed the price (`with=is_price_modified_by_robot`).
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_price_modified_by_robot: Option<bool>,
    /// Whether the price is computed.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_price_computed: Option<bool>,
    /// HAL links.
    #[serde(rename = "_links", default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Embedded tags, contacts, companies, ...
    #[serde(rename = "_embedded", default)]
    pub embedded: LeadEmbedded,
}

crate::entity::custom_field_getters!(Lead);

impl Lead {
    /// The main contact (`is_main: true`), from a lead fetched `with=contacts`.
    #[must_use]
    pub fn main_contact_id(&self) -> Option<ContactId> {
        self.embedded
            .contacts
            .iter()
            .find(|c| c.is_main == Some(true))
            .map(|c| c.id)
    }

    /// Every linked contact id, main first.
    #[must_use]
    pub fn contact_ids(&self) -> Vec<ContactId> {
        let mut ids: Vec<_> = self
            .embedded
            .contacts
            .iter()
            .filter(|c| c.is_main == Some(true))
            .map(|c| c.id)
            .collect();
        ids.extend(
            self.embedded
                .contacts
                .iter()
                .filter(|c| c.is_main != Some(true))
                .map(|c| c.id),
        );
        ids
    }

    /// The linked company.
    #[must_use]
    pub fn company_id(&self) -> Option<CompanyId> {
        self.embedded.companies.first().map(|c| c.id)
    }

    /// Whether the lead is in the system "won" status.
    #[must_use]
    pub fn is_won(&self) -> bool {
        self.status_id.is_some_and(StatusId::is_won)
    }

    /// Whether the lead is in the system "lost" status.
    #[must_use]
    pub fn is_lost(&self) -> bool {
        self.status_id.is_some_and(StatusId::is_lost)
    }

    /// Tag names.
    #[must_use]
    pub fn tag_names(&self) -> Vec<&str> {
        self.embedded.tags.iter().map(|t| t.name.as_str()).collect()
    }
}

/// `with=` values for leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LeadWith {
    /// `contacts`.
    Contacts,
    /// `catalog_elements`.
    CatalogElements,
    /// `is_price_modified_by_robot`.
    IsPriceModifiedByRobot,
    /// `loss_reason`.
    LossReason,
    /// `only_deleted`.
    OnlyDeleted,
    /// `source_id`.
    SourceId,
    /// `source`.
    Source,
}

impl LeadWith {
    /// The wire value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            LeadWith::Contacts => "contacts",
            LeadWith::CatalogElements => "catalog_elements",
            LeadWith::IsPriceModifiedByRobot => "is_price_modified_by_robot",
            LeadWith::LossReason => "loss_reason",
            LeadWith::OnlyDeleted => "only_deleted",
            LeadWith::SourceId => "source_id",
            LeadWith::Source => "source",
        }
    }
}

impl AsRef<str> for LeadWith {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// An entity link inside a lead write (`_embedded.contacts[]` on create).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ContactRef {
    /// The contact.
    pub id: ContactId,
    /// Whether it is the main contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_main: Option<bool>,
}

/// `_embedded` of a lead write.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct LeadWriteEmbedded {
    /// Replaces the whole tag set (prefer `tags_to_add`/`tags_to_delete`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagRef>>,
    /// Existing contacts to link (create only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactRef>,
    /// An existing company to link (create only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companies: Vec<LinkedCompany>,
}

impl LeadWriteEmbedded {
    fn is_empty(&self) -> bool {
        self.tags.is_none() && self.contacts.is_empty() && self.companies.is_empty()
    }
}

/// A lead write: the body item of `POST /api/v4/leads` (create) and `PATCH /api/v4/leads`
/// (update; set `id`). Only the fields you set are sent.
///
/// ```
/// use kommo_client::leads::LeadWrite;
/// use kommo_client::ids::{ContactId, PipelineId, StatusId};
///
/// let lead = LeadWrite::new()
///     .name("Website order #42")
///     .price(1500.0)
///     .status(PipelineId(6950551), StatusId(58141807))
///     .contact(ContactId(1558245), true)
///     .add_tag("website");
/// let json = serde_json::to_value(&lead).unwrap();
/// assert_eq!(json["tags_to_add"][0]["name"], "website");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct LeadWrite {
    /// The lead to update (required for batch updates, absent on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<LeadId>,
    /// The name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sale value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// The status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<StatusId>,
    /// The pipeline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<PipelineId>,
    /// The responsible user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<UserId>,
    /// The loss reason (meaningful with status 143).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_reason_id: Option<LossReasonId>,
    /// Creator (`0` = robot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// Last editor (`0` = robot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Closing time, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    /// Custom field values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields_values: Vec<FieldValueUpdate>,
    /// Tags to add without touching the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_add: Vec<TagRef>,
    /// Tags to remove without touching the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_delete: Vec<TagRef>,
    /// Echoed back in the response, to correlate results and errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Tags (replace semantics) and links.
    #[serde(
        rename = "_embedded",
        skip_serializing_if = "LeadWriteEmbedded::is_empty"
    )]
    pub embedded: LeadWriteEmbedded,
}

impl LeadWrite {
    /// An empty write (for a create).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the price.
    #[must_use]
    pub fn price(mut self, price: f64) -> Self {
        self.price = Some(price);
        self
    }

    /// Moves the lead to `status` in `pipeline`.
    #[must_use]
    pub fn status(mut self, pipeline: PipelineId, status: StatusId) -> Self {
        self.pipeline_id = Some(pipeline);
        self.status_id = Some(status);
        self
    }

    /// Sets the loss reason.
    #[must_use]
    pub fn loss_reason(mut self, reason: LossReasonId) -> Self {
        self.loss_reason_id = Some(reason);
        self
    }

    /// Replaces the whole tag set (`_embedded.tags`; wins over `tags_to_add/delete`).
    #[must_use]
    pub fn replace_tags(mut self, tags: Vec<TagRef>) -> Self {
        self.embedded.tags = Some(tags);
        self
    }

    /// Links an existing contact (create only).
    #[must_use]
    pub fn contact(mut self, id: ContactId, is_main: bool) -> Self {
        self.embedded.contacts.push(ContactRef {
            id,
            is_main: Some(is_main),
        });
        self
    }

    /// Links an existing company (create only).
    #[must_use]
    pub fn company(mut self, id: CompanyId) -> Self {
        self.embedded.companies = vec![LinkedCompany { id }];
        self
    }
}

crate::entity::entity_write_setters!(LeadWrite, LeadId, "lead");

/// A lead for `POST /api/v4/leads/complex`: the lead with at most one new contact and one new
/// company, created together and linked.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ComplexLead {
    /// The lead fields.
    #[serde(flatten)]
    pub lead: LeadWrite,
    /// The new contact and company.
    #[serde(
        rename = "_embedded",
        skip_serializing_if = "ComplexEmbedded::is_empty"
    )]
    pub embedded: ComplexEmbedded,
}

/// `_embedded` of a complex lead.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ComplexEmbedded {
    /// At most one full contact.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<crate::contacts::ContactWrite>,
    /// At most one full company.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companies: Vec<crate::companies::CompanyWrite>,
    /// Tags (replace semantics on the new lead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagRef>>,
    /// Incoming-lead metadata, which makes the lead unsorted; as documented by Kommo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
}

impl ComplexEmbedded {
    fn is_empty(&self) -> bool {
        self.contacts.is_empty()
            && self.companies.is_empty()
            && self.tags.is_none()
            && self.metadata.is_none()
    }
}

impl ComplexLead {
    /// A complex lead from lead fields (the lead's own `_embedded` links are not sent).
    #[must_use]
    pub fn new(mut lead: LeadWrite) -> Self {
        let tags = lead.embedded.tags.take();
        lead.embedded = LeadWriteEmbedded::default();
        Self {
            lead,
            embedded: ComplexEmbedded {
                tags,
                ..ComplexEmbedded::default()
            },
        }
    }

    /// Adds the new contact.
    #[must_use]
    pub fn contact(mut self, contact: crate::contacts::ContactWrite) -> Self {
        self.embedded.contacts = vec![contact];
        self
    }

    /// Adds the new company.
    #[must_use]
    pub fn company(mut self, company: crate::companies::CompanyWrite) -> Self {
        self.embedded.companies = vec![company];
        self
    }
}

/// One result of a complex add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ComplexLeadResult {
    /// The new lead.
    pub id: LeadId,
    /// The new (or merged) contact.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub contact_id: Option<ContactId>,
    /// The new (or merged) company.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub company_id: Option<CompanyId>,
    /// The echoed request ids (an array here, unlike other endpoints).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub request_id: Vec<String>,
    /// Whether duplicate control merged the entity into an existing one.
    #[serde(default)]
    pub merged: bool,
}

#[cfg(feature = "client")]
pub use api::{COMPLEX_MAX, LeadsApi};

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;
    use http::Method;

    use super::{ComplexLead, ComplexLeadResult, Lead, LeadWith, LeadWrite};
    use crate::ApiRequest;
    use crate::batch::Batch;
    use crate::client::Client;
    use crate::common::{Page, WriteResult};
    use crate::error::{Error, Result};
    use crate::ids::LeadId;
    use crate::pagination::{ListQuery, with_param};

    /// The most leads per complex add.
    pub const COMPLEX_MAX: usize = 50;

    const LEADS: Batch = Batch {
        path: "/api/v4/leads",
        key: "leads",
        noun: "lead",
    };

    /// Leads. Get it with [`Client::leads`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::ids::{LeadId, StatusId};
    /// use kommo_client::leads::{LeadWith, LeadWrite};
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let leads = client.leads();
    /// let lead = leads.get(LeadId(152464), &[LeadWith::Contacts]).await?;
    /// let first = leads.list_page(ListQuery::new().limit(50)).await?;
    /// let won: Vec<_> = leads
    ///     .list(ListQuery::new().filter_status(6950551u64, StatusId::WON))
    ///     .try_collect()
    ///     .await?;
    /// leads.update(vec![LeadWrite::update(LeadId(152464)).add_tag("vip")]).await?;
    /// # let _ = (lead, first, won); Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct LeadsApi {
        pub(crate) client: Client,
    }

    impl LeadsApi {
        /// `GET /api/v4/leads/{id}`; `None` when the API answers 204 (missing lead).
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn get(&self, id: LeadId, with: &[LeadWith]) -> Result<Option<Lead>> {
            self.client
                .get_json(format!("/api/v4/leads/{id}"), with_param(with))
                .await
        }

        /// One page of `GET /api/v4/leads`.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<Lead>> {
            self.client.list_page(LEADS.path, query, LEADS.key).await
        }

        /// `GET /api/v4/leads`, following `_links.next` until the last page.
        pub fn list(&self, query: ListQuery) -> impl Stream<Item = Result<Lead>> + Send + 'static {
            self.client.paginate(LEADS.path, query, LEADS.key)
        }

        /// `POST /api/v4/leads` in chunks of the client's batch size.
        ///
        /// # Errors
        ///
        /// [`Error::PartialBatch`] if a chunk after the first fails (with what was created),
        /// otherwise the chunk's error.
        pub async fn add(&self, leads: Vec<LeadWrite>) -> Result<Vec<WriteResult>> {
            self.client.batch_add(LEADS, leads).await
        }

        /// `PATCH /api/v4/leads` in chunks; every item needs `id`.
        ///
        /// # Errors
        ///
        /// As [`LeadsApi::add`], plus [`Error::InvalidRequest`] for an item without `id`
        /// (nothing is sent).
        pub async fn update(&self, leads: Vec<LeadWrite>) -> Result<Vec<WriteResult>> {
            self.client.batch_update(LEADS, leads).await
        }

        /// `PATCH /api/v4/leads/{id}`.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn update_one(&self, id: LeadId, mut lead: LeadWrite) -> Result<WriteResult> {
            lead.id = None;
            let request = ApiRequest::raw(Method::PATCH, format!("/api/v4/leads/{id}"))
                .json_body(&lead)?
                .safe_to_retry(true);
            self.client.write_one(request).await
        }

        /// `POST /api/v4/leads/complex`, in chunks of at most 50.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the requests ([`Error::PartialBatch`] loses the earlier results'
        /// contact and company ids; its `committed` lists the lead ids).
        pub async fn add_complex(&self, leads: Vec<ComplexLead>) -> Result<Vec<ComplexLeadResult>> {
            let mut out: Vec<ComplexLeadResult> = Vec::with_capacity(leads.len());
            let chunk_size = self.client.batch_size().min(COMPLEX_MAX);
            let mut iter = leads.into_iter().peekable();
            while iter.peek().is_some() {
                let chunk: Vec<ComplexLead> = iter.by_ref().take(chunk_size).collect();
                let result = match ApiRequest::raw(Method::POST, "/api/v4/leads/complex")
                    .json_body(&chunk)
                {
                    Ok(request) => self.client.json::<Vec<ComplexLeadResult>>(request).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(items) => out.extend(items.unwrap_or_default()),
                    Err(e) if out.is_empty() => return Err(e),
                    Err(e) => {
                        let committed = out
                            .iter()
                            .map(|r| crate::error::BatchItemResult {
                                id: r.id.0,
                                request_id: r.request_id.first().cloned(),
                                updated_at: None,
                            })
                            .collect();
                        return Err(Error::PartialBatch {
                            committed,
                            source: Box::new(e),
                        });
                    }
                }
            }
            Ok(out)
        }
    }
}
