//! Contacts (`/api/v4/contacts`): read model with email/phone helpers, write model, search.

use serde::{Deserialize, Serialize};

use crate::common::{LinkedCompany, LinkedEntity, Links, Tag, TagRef};
use crate::field_values::{CustomFields, FieldValueUpdate};
use crate::ids::{AccountId, CompanyId, ContactId, GroupId, UserId};
use crate::serde_util;

/// `_embedded` of a contact.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContactEmbedded {
    /// Tags.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub tags: Vec<Tag>,
    /// The linked company (at most one).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub companies: Vec<LinkedCompany>,
    /// Linked leads (`with=leads`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub leads: Vec<LinkedEntity>,
    /// Linked customers (`with=customers`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub customers: Vec<LinkedEntity>,
}

/// A contact as returned by `GET /api/v4/contacts[/{id}]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Contact {
    /// The id.
    pub id: ContactId,
    /// The full name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub name: Option<String>,
    /// The first name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub last_name: Option<String>,
    /// The responsible user.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub responsible_user_id: Option<UserId>,
    /// The user group.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub group_id: Option<GroupId>,
    /// Who created it.
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
    /// The nearest task's due time.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub closest_task_at: Option<i64>,
    /// Whether it is in the trash.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_deleted: Option<bool>,
    /// Whether it came from an unsorted (incoming) lead.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_unsorted: Option<bool>,
    /// Custom field values (`null` reads as empty).
    #[serde(default)]
    pub custom_fields_values: CustomFields,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
    /// HAL links.
    #[serde(rename = "_links", default, skip_serializing_if = "Option::is_none")]
    pub links: Option<Links>,
    /// Embedded tags, company, leads.
    #[serde(rename = "_embedded", default)]
    pub embedded: ContactEmbedded,
}

crate::entity::custom_field_getters!(Contact, contact_fields);

impl Contact {
    /// The primary email: the first `EMAIL` value (Kommo shows the first as primary).
    #[must_use]
    pub fn primary_email(&self) -> Option<String> {
        self.emails().into_iter().next()
    }

    /// The primary phone: the first `PHONE` value.
    #[must_use]
    pub fn primary_phone(&self) -> Option<String> {
        self.phones().into_iter().next()
    }

    /// The linked company.
    #[must_use]
    pub fn company_id(&self) -> Option<CompanyId> {
        self.embedded.companies.first().map(|c| c.id)
    }

    /// Whether an `EMAIL` value equals `email` (trimmed, case-insensitive).
    #[must_use]
    pub fn has_email(&self, email: &str) -> bool {
        let want = email.trim();
        self.emails()
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(want))
    }

    /// Whether a `PHONE` value has the same digits as `phone` (formatting ignored; a leading
    /// `8` vs `7` country prefix is not normalised).
    #[must_use]
    pub fn has_phone(&self, phone: &str) -> bool {
        let want = digits(phone);
        !want.is_empty() && self.phones().iter().any(|p| digits(p) == want)
    }
}

pub(crate) fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// `with=` values for contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContactWith {
    /// `leads`.
    Leads,
    /// `customers`.
    Customers,
    /// `catalog_elements`.
    CatalogElements,
}

impl AsRef<str> for ContactWith {
    fn as_ref(&self) -> &str {
        match self {
            ContactWith::Leads => "leads",
            ContactWith::Customers => "customers",
            ContactWith::CatalogElements => "catalog_elements",
        }
    }
}

/// `_embedded` of a contact write.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ContactWriteEmbedded {
    /// Replaces the whole tag set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagRef>>,
    /// A company to link.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companies: Vec<LinkedCompany>,
}

impl ContactWriteEmbedded {
    fn is_empty(&self) -> bool {
        self.tags.is_none() && self.companies.is_empty()
    }
}

/// A contact write (create, or update with `id`). Only the fields set are sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct ContactWrite {
    /// The contact to update (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ContactId>,
    /// The full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The first name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The responsible user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<UserId>,
    /// Custom field values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields_values: Vec<FieldValueUpdate>,
    /// Tags to add without touching the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_add: Vec<TagRef>,
    /// Tags to remove without touching the others.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_to_delete: Vec<TagRef>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Tags (replace) and company link.
    #[serde(
        rename = "_embedded",
        skip_serializing_if = "ContactWriteEmbedded::is_empty"
    )]
    pub embedded: ContactWriteEmbedded,
}

impl ContactWrite {
    /// An empty write (for a create).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets first and last name.
    #[must_use]
    pub fn names(mut self, first: impl Into<String>, last: impl Into<String>) -> Self {
        self.first_name = Some(first.into());
        self.last_name = Some(last.into());
        self
    }

    /// Sets the `EMAIL` field to one work address.
    #[must_use]
    pub fn email(self, email: impl Into<String>) -> Self {
        self.field(FieldValueUpdate::multitext_by_code(
            "EMAIL",
            [(email.into(), "WORK")],
        ))
    }

    /// Sets the `PHONE` field to one work number.
    #[must_use]
    pub fn phone(self, phone: impl Into<String>) -> Self {
        self.field(FieldValueUpdate::multitext_by_code(
            "PHONE",
            [(phone.into(), "WORK")],
        ))
    }

    /// Links a company.
    #[must_use]
    pub fn company(mut self, id: CompanyId) -> Self {
        self.embedded.companies = vec![LinkedCompany { id }];
        self
    }
}

crate::entity::entity_write_setters!(ContactWrite, ContactId, "contact", "Sets the full name.");

#[cfg(feature = "client")]
pub use api::ContactsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::{Stream, TryStreamExt};
    use http::Method;

    use super::{Contact, ContactWith, ContactWrite};
    use crate::ApiRequest;
    use crate::batch::Batch;
    use crate::client::Client;
    use crate::common::{Page, WriteResult};
    use crate::error::Result;
    use crate::ids::ContactId;
    use crate::pagination::{ListQuery, with_param};

    const CONTACTS: Batch = Batch {
        path: "/api/v4/contacts",
        key: "contacts",
        noun: "contact",
    };

    /// Contacts. Get it with [`Client::contacts`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::contacts::ContactWrite;
    /// use kommo_client::ids::ContactId;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let contacts = client.contacts();
    /// for contact in contacts.find_by_email("ada@example.com").await? {
    ///     contacts
    ///         .update_one(contact.id, ContactWrite::update(contact.id).add_tag("newsletter"))
    ///         .await?;
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ContactsApi {
        pub(crate) client: Client,
    }

    impl ContactsApi {
        /// `GET /api/v4/contacts/{id}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: ContactId, with: &[ContactWith]) -> Result<Option<Contact>> {
            self.client
                .get_json(format!("/api/v4/contacts/{id}"), with_param(with))
                .await
        }

        /// One page of `GET /api/v4/contacts`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<Contact>> {
            self.client
                .list_page(CONTACTS.path, query, CONTACTS.key)
                .await
        }

        /// `GET /api/v4/contacts`, following pages.
        pub fn list(
            &self,
            query: ListQuery,
        ) -> impl Stream<Item = Result<Contact>> + Send + 'static {
            self.client.paginate(CONTACTS.path, query, CONTACTS.key)
        }

        /// Contacts whose `EMAIL` equals `email` exactly (case-insensitive). Kommo's `query=` is
        /// a fuzzy full-text search, so the results are filtered here; no hits (204) is empty.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the requests.
        pub async fn find_by_email(&self, email: &str) -> Result<Vec<Contact>> {
            let found: Vec<Contact> = self
                .list(ListQuery::new().query(email.trim()).limit(250))
                .try_collect()
                .await?;
            Ok(found.into_iter().filter(|c| c.has_email(email)).collect())
        }

        /// Contacts whose `PHONE` has the same digits as `phone`. Searches by the digits (Kommo
        /// stores phones in many formats) and filters exactly.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the requests.
        pub async fn find_by_phone(&self, phone: &str) -> Result<Vec<Contact>> {
            let digits = super::digits(phone);
            if digits.is_empty() {
                return Ok(Vec::new());
            }
            let found: Vec<Contact> = self
                .list(ListQuery::new().query(&digits).limit(250))
                .try_collect()
                .await?;
            Ok(found.into_iter().filter(|c| c.has_phone(&digits)).collect())
        }

        /// `POST /api/v4/contacts` in chunks.
        ///
        /// # Errors
        ///
        /// As [`crate::leads::LeadsApi::add`].
        pub async fn add(&self, contacts: Vec<ContactWrite>) -> Result<Vec<WriteResult>> {
            self.client.batch_add(CONTACTS, contacts).await
        }

        /// `PATCH /api/v4/contacts` in chunks; every item needs `id`.
        ///
        /// # Errors
        ///
        /// As [`crate::leads::LeadsApi::update`].
        pub async fn update(&self, contacts: Vec<ContactWrite>) -> Result<Vec<WriteResult>> {
            self.client.batch_update(CONTACTS, contacts).await
        }

        /// `PATCH /api/v4/contacts/{id}`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn update_one(
            &self,
            id: ContactId,
            mut contact: ContactWrite,
        ) -> Result<WriteResult> {
            contact.id = None;
            let request = ApiRequest::raw(Method::PATCH, format!("/api/v4/contacts/{id}"))
                .json_body(&contact)?
                .safe_to_retry(true);
            self.client.write_one(request).await
        }
    }
}
