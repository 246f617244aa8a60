//! Typed webhook entities, in the legacy (API v2) field set webhooks use: `custom_fields`,
//! `date_create`, `last_modified`, `created_user_id`, … Every value arrives as a string; typed
//! fields hold what parsed, and [`Extra`] keeps everything else.
//!
//! The structs are `#[non_exhaustive]`: build one with `Default::default()` and set its public
//! fields.

use super::fields::{Extra, Fields, FormWriter};
use super::form::{FormKey, FormMap, FormNode};
use super::{Limits, WebhookError};
use crate::ids::{
    AccountId, CompanyId, ContactId, CustomFieldId, EnumId, GroupId, LeadId, PipelineId, StatusId,
    TagId, UserId, parse_u64,
};

/// One value of a webhook custom field.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookFieldValue {
    /// The value as sent (a date is a unix timestamp string, a checkbox `"1"`/`"0"`). Empty when
    /// the delivery carried only an enum.
    pub value: String,
    /// The option id (`enum`) of a select, multiselect, radiobutton or multitext value.
    pub enum_id: Option<EnumId>,
    /// A non-numeric `enum` (`WORK`) or an `enum_code`.
    pub enum_code: Option<String>,
    /// Other members of the value.
    pub extra: Extra,
}

impl WebhookFieldValue {
    /// A plain value.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            ..Self::default()
        }
    }

    /// The value parsed as an integer (dates, numeric fields).
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        self.value.trim().parse().ok()
    }

    fn from_node(node: FormNode) -> Self {
        match node {
            FormNode::Text(value) => Self::new(value),
            FormNode::Map(map) => {
                let mut f = Fields::new(map);
                let value = f.string("value").unwrap_or_default();
                let mut enum_id = None;
                let mut enum_code = None;
                if let Some(e) = f.string("enum") {
                    match parse_u64(&e) {
                        Some(id) => enum_id = Some(EnumId(id)),
                        None if !e.is_empty() => enum_code = Some(e),
                        None => {}
                    }
                }
                if enum_id.is_none() {
                    enum_id = f.id("enum_id");
                }
                if enum_code.is_none() {
                    enum_code = f.string("enum_code");
                }
                Self {
                    value,
                    enum_id,
                    enum_code,
                    extra: f.into_extra(),
                }
            }
        }
    }

    fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.text("value", Some(&self.value));
        match (&self.enum_id, &self.enum_code) {
            (Some(id), code) => {
                w.num("enum", Some(id.0));
                w.text("enum_code", code.as_deref());
            }
            (None, Some(code)) => {
                w.text("enum", Some(code));
            }
            (None, None) => {}
        }
        w.finish()
    }
}

/// A custom field in a webhook (`custom_fields[i][…]`).
///
/// `values` accepts every shape Kommo sends: a list of `{value, enum}` objects, a bare
/// `values[0]=1615845600` (date fields), and a single object instead of a list (radiobutton).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookCustomField {
    /// The field id.
    pub id: Option<CustomFieldId>,
    /// The field name as shown in the account (any language).
    pub name: Option<String>,
    /// The field code for predefined fields (`PHONE`, `EMAIL`, `POSITION`).
    pub code: Option<String>,
    /// The values, in order.
    pub values: Vec<WebhookFieldValue>,
    /// Other members.
    pub extra: Extra,
}

impl WebhookCustomField {
    /// A field with an id and values.
    #[must_use]
    pub fn new(id: CustomFieldId, values: Vec<WebhookFieldValue>) -> Self {
        Self {
            id: Some(id),
            values,
            ..Self::default()
        }
    }

    /// The first value's text.
    #[must_use]
    pub fn first_value(&self) -> Option<&str> {
        self.values.first().map(|v| v.value.as_str())
    }

    fn from_form(map: FormMap, limits: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        let id = f.id("id");
        let name = f.string("name");
        let code = f.string("code");
        let values = match f.map("values") {
            None => match f.string("values") {
                Some(v) => vec![WebhookFieldValue::new(v)],
                None => Vec::new(),
            },
            // A list: every key is an index.
            Some(m) if m.keys().all(|k| matches!(k, FormKey::Index(_))) => {
                let mut out = Vec::with_capacity(m.len());
                for (key, node) in m {
                    super::fields::check_index(&key, "values", limits)?;
                    out.push(WebhookFieldValue::from_node(node));
                }
                out
            }
            // A single object (radiobutton).
            Some(m) => vec![WebhookFieldValue::from_node(FormNode::Map(m))],
        };
        Ok(Self {
            id,
            name,
            code,
            values,
            extra: f.into_extra(),
        })
    }

    fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.num("id", self.id.map(|i| i.0))
            .text("name", self.name.as_deref())
            .text("code", self.code.as_deref());
        w.list("values", self.values.iter().map(WebhookFieldValue::to_form));
        w.finish()
    }
}

/// A tag on a webhook lead or contact.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookTag {
    /// The tag id.
    pub id: Option<TagId>,
    /// The tag name.
    pub name: Option<String>,
    /// Other members.
    pub extra: Extra,
}

impl WebhookTag {
    /// A tag with an id and a name.
    #[must_use]
    pub fn new(id: TagId, name: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            name: Some(name.into()),
            extra: Extra::new(),
        }
    }

    fn from_form(map: FormMap, _: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        Ok(Self {
            id: f.id("id"),
            name: f.string("name"),
            extra: f.into_extra(),
        })
    }

    fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.num("id", self.id.map(|i| i.0))
            .text("name", self.name.as_deref());
        w.finish()
    }
}

fn find_field(fields: &[WebhookCustomField], id: CustomFieldId) -> Option<&WebhookCustomField> {
    fields.iter().find(|f| f.id == Some(id))
}

fn find_code<'a>(fields: &'a [WebhookCustomField], code: &str) -> Option<&'a WebhookCustomField> {
    fields.iter().find(|f| {
        f.code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(code))
    })
}

macro_rules! custom_field_helpers {
    () => {
        /// The custom field with this id.
        #[must_use]
        pub fn custom_field(&self, id: CustomFieldId) -> Option<&WebhookCustomField> {
            find_field(&self.custom_fields, id)
        }

        /// The custom field with this code (`PHONE`, `EMAIL`, ...; case-insensitive).
        #[must_use]
        pub fn custom_field_by_code(&self, code: &str) -> Option<&WebhookCustomField> {
            find_code(&self.custom_fields, code)
        }

        /// The modification time: `updated_at`, else `last_modified` (unix seconds).
        #[must_use]
        pub fn updated_at(&self) -> Option<i64> {
            self.updated_at.or(self.last_modified)
        }
    };
}

/// A lead in `leads[add|update|status|responsible|delete|restore][i]`, and the short lead of
/// Digital Pipeline webhooks.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookLead {
    /// The lead id.
    pub id: Option<LeadId>,
    /// The lead name.
    pub name: Option<String>,
    /// The current status.
    pub status_id: Option<StatusId>,
    /// The previous status (status-change and update hooks).
    pub old_status_id: Option<StatusId>,
    /// The current pipeline.
    pub pipeline_id: Option<PipelineId>,
    /// The previous pipeline (Digital Pipeline hooks; on account hooks unconfirmed).
    pub old_pipeline_id: Option<PipelineId>,
    /// The sale value.
    pub price: Option<f64>,
    /// The responsible user.
    pub responsible_user_id: Option<UserId>,
    /// The previous responsible user (responsible-change hooks).
    pub old_responsible_user_id: Option<UserId>,
    /// Who created the lead.
    pub created_user_id: Option<UserId>,
    /// Who changed it last.
    pub modified_user_id: Option<UserId>,
    /// Creation time, unix seconds (legacy name).
    pub date_create: Option<i64>,
    /// Last change, unix seconds (legacy name).
    pub last_modified: Option<i64>,
    /// Creation time, unix seconds.
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    pub updated_at: Option<i64>,
    /// The account.
    pub account_id: Option<AccountId>,
    /// The user group.
    pub group_id: Option<GroupId>,
    /// Tags.
    pub tags: Vec<WebhookTag>,
    /// Custom field values.
    pub custom_fields: Vec<WebhookCustomField>,
    /// Unmodelled fields.
    pub extra: Extra,
}

impl WebhookLead {
    /// A lead with an id.
    #[must_use]
    pub fn new(id: LeadId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    custom_field_helpers!();

    pub(crate) fn from_form(map: FormMap, limits: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        Ok(Self {
            id: f.id("id"),
            name: f.string("name"),
            status_id: f.id("status_id"),
            old_status_id: f.id("old_status_id"),
            pipeline_id: f.id("pipeline_id"),
            old_pipeline_id: f.id("old_pipeline_id"),
            price: f.f64("price"),
            responsible_user_id: f.id("responsible_user_id"),
            old_responsible_user_id: f.id("old_responsible_user_id"),
            created_user_id: f.id("created_user_id"),
            modified_user_id: f.id("modified_user_id"),
            date_create: f.i64("date_create"),
            last_modified: f.i64("last_modified"),
            created_at: f.i64("created_at"),
            updated_at: f.i64("updated_at"),
            account_id: f.id("account_id"),
            group_id: f.id("group_id"),
            tags: f.list("tags", limits, WebhookTag::from_form)?,
            custom_fields: f.list("custom_fields", limits, WebhookCustomField::from_form)?,
            extra: f.into_extra(),
        })
    }

    pub(crate) fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.num("id", self.id.map(|i| i.0))
            .text("name", self.name.as_deref())
            .num("status_id", self.status_id.map(|i| i.0))
            .num("old_status_id", self.old_status_id.map(|i| i.0))
            .num("pipeline_id", self.pipeline_id.map(|i| i.0))
            .num("old_pipeline_id", self.old_pipeline_id.map(|i| i.0))
            .num("price", self.price)
            .num("responsible_user_id", self.responsible_user_id.map(|i| i.0))
            .num(
                "old_responsible_user_id",
                self.old_responsible_user_id.map(|i| i.0),
            )
            .num("created_user_id", self.created_user_id.map(|i| i.0))
            .num("modified_user_id", self.modified_user_id.map(|i| i.0))
            .num("date_create", self.date_create)
            .num("last_modified", self.last_modified)
            .num("created_at", self.created_at)
            .num("updated_at", self.updated_at)
            .num("account_id", self.account_id.map(|i| i.0))
            .num("group_id", self.group_id.map(|i| i.0))
            .list("tags", self.tags.iter().map(WebhookTag::to_form))
            .list(
                "custom_fields",
                self.custom_fields.iter().map(WebhookCustomField::to_form),
            );
        w.finish()
    }
}

/// A contact or a company in `contacts[…][i]` (Kommo sends companies under `contacts` with
/// `type=company`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookContact {
    /// The contact or company id (see [`WebhookContact::contact_id`] and
    /// [`WebhookContact::company_id`]).
    pub id: Option<u64>,
    /// `contact` or `company`.
    pub entity_type: Option<String>,
    /// The full name.
    pub name: Option<String>,
    /// The first name, when sent.
    pub first_name: Option<String>,
    /// The last name, when sent.
    pub last_name: Option<String>,
    /// The responsible user.
    pub responsible_user_id: Option<UserId>,
    /// The previous responsible user (responsible changes).
    pub old_responsible_user_id: Option<UserId>,
    /// Who created it.
    pub created_user_id: Option<UserId>,
    /// Who changed it last.
    pub modified_user_id: Option<UserId>,
    /// Creation time, unix seconds (legacy name).
    pub date_create: Option<i64>,
    /// Last change, unix seconds (legacy name).
    pub last_modified: Option<i64>,
    /// Creation time, unix seconds.
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    pub updated_at: Option<i64>,
    /// The account.
    pub account_id: Option<AccountId>,
    /// The user group.
    pub group_id: Option<GroupId>,
    /// The linked company id, when sent on a contact.
    pub linked_company_id: Option<CompanyId>,
    /// Leads linked to a company (`linked_leads_id[<id>][ID]=<id>`), in id order.
    pub linked_leads_id: Vec<LeadId>,
    /// Tags.
    pub tags: Vec<WebhookTag>,
    /// Custom field values.
    pub custom_fields: Vec<WebhookCustomField>,
    /// Unmodelled fields.
    pub extra: Extra,
}

impl WebhookContact {
    /// A contact (`type=contact`) with an id.
    #[must_use]
    pub fn contact(id: ContactId) -> Self {
        Self {
            id: Some(id.0),
            entity_type: Some("contact".into()),
            ..Self::default()
        }
    }

    /// A company (`type=company`) with an id.
    #[must_use]
    pub fn company(id: CompanyId) -> Self {
        Self {
            id: Some(id.0),
            entity_type: Some("company".into()),
            ..Self::default()
        }
    }

    /// Whether Kommo marked this entity a company.
    #[must_use]
    pub fn is_company(&self) -> bool {
        self.entity_type.as_deref() == Some("company")
    }

    /// The id as a contact id (for contacts).
    #[must_use]
    pub fn contact_id(&self) -> Option<ContactId> {
        self.id.map(ContactId)
    }

    /// The id as a company id (for companies).
    #[must_use]
    pub fn company_id(&self) -> Option<CompanyId> {
        self.id.map(CompanyId)
    }

    custom_field_helpers!();

    /// The values of the `EMAIL` field, in order.
    #[must_use]
    pub fn emails(&self) -> Vec<&str> {
        self.coded_values("EMAIL")
    }

    /// The values of the `PHONE` field, in order.
    #[must_use]
    pub fn phones(&self) -> Vec<&str> {
        self.coded_values("PHONE")
    }

    fn coded_values(&self, code: &str) -> Vec<&str> {
        self.custom_fields
            .iter()
            .filter(|f| {
                f.code
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(code))
            })
            .flat_map(|f| f.values.iter().map(|v| v.value.as_str()))
            .filter(|v| !v.trim().is_empty())
            .collect()
    }

    pub(crate) fn from_form(map: FormMap, limits: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        let mut contact = Self {
            id: f.u64("id"),
            entity_type: f.string("type"),
            name: f.string("name"),
            first_name: f.string("first_name"),
            last_name: f.string("last_name"),
            responsible_user_id: f.id("responsible_user_id"),
            old_responsible_user_id: f.id("old_responsible_user_id"),
            created_user_id: f.id("created_user_id"),
            modified_user_id: f.id("modified_user_id"),
            date_create: f.i64("date_create"),
            last_modified: f.i64("last_modified"),
            created_at: f.i64("created_at"),
            updated_at: f.i64("updated_at"),
            account_id: f.id("account_id"),
            group_id: f.id("group_id"),
            linked_company_id: f.id("linked_company_id"),
            linked_leads_id: Vec::new(),
            tags: f.list("tags", limits, WebhookTag::from_form)?,
            custom_fields: f.list("custom_fields", limits, WebhookCustomField::from_form)?,
            extra: Extra::new(),
        };
        if let Some(links) = f.map("linked_leads_id") {
            // Keys are lead ids; the `[ID]` leaf repeats them. Only a well-formed map is typed.
            let ids: Option<Vec<LeadId>> = links
                .iter()
                .map(|(k, v)| match (k, v) {
                    (FormKey::Index(i), FormNode::Map(m)) if m.len() == 1 => m
                        .get(&FormKey::Name("ID".into()))
                        .and_then(FormNode::as_text)
                        .and_then(parse_u64)
                        .filter(|id| id == i)
                        .map(LeadId),
                    _ => None,
                })
                .collect();
            match ids {
                Some(ids) => contact.linked_leads_id = ids,
                None => {
                    contact
                        .extra
                        .insert("linked_leads_id".into(), FormNode::Map(links));
                }
            }
        }
        let mut extra = f.into_extra();
        extra.append(&mut contact.extra);
        contact.extra = extra;
        Ok(contact)
    }

    pub(crate) fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.num("id", self.id)
            .text("type", self.entity_type.as_deref())
            .text("name", self.name.as_deref())
            .text("first_name", self.first_name.as_deref())
            .text("last_name", self.last_name.as_deref())
            .num("responsible_user_id", self.responsible_user_id.map(|i| i.0))
            .num(
                "old_responsible_user_id",
                self.old_responsible_user_id.map(|i| i.0),
            )
            .num("created_user_id", self.created_user_id.map(|i| i.0))
            .num("modified_user_id", self.modified_user_id.map(|i| i.0))
            .num("date_create", self.date_create)
            .num("last_modified", self.last_modified)
            .num("created_at", self.created_at)
            .num("updated_at", self.updated_at)
            .num("account_id", self.account_id.map(|i| i.0))
            .num("group_id", self.group_id.map(|i| i.0))
            .num("linked_company_id", self.linked_company_id.map(|i| i.0))
            .list("tags", self.tags.iter().map(WebhookTag::to_form))
            .list(
                "custom_fields",
                self.custom_fields.iter().map(WebhookCustomField::to_form),
            );
        if !self.linked_leads_id.is_empty() {
            let links: FormMap = self
                .linked_leads_id
                .iter()
                .map(|id| {
                    let inner: FormMap =
                        [(FormKey::Name("ID".into()), FormNode::Text(id.0.to_string()))].into();
                    (FormKey::Index(id.0), FormNode::Map(inner))
                })
                .collect();
            w.node("linked_leads_id", Some(FormNode::Map(links)));
        }
        w.finish()
    }
}
