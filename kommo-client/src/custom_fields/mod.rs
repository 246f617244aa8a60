//! Custom field definitions (`/api/v4/{leads|contacts|companies}/custom_fields`).
//! Values on entities are in [`crate::field_values`].

use serde::{Deserialize, Serialize};

use crate::ids::{CustomFieldId, EnumId, PipelineId, StatusId};
use crate::serde_util;
use crate::string_enum::string_enum;

string_enum! {
    /// A custom field type (`type` of a definition, `field_type` of a value). New types are
    /// kept in [`FieldType::Other`].
    pub enum FieldType {
        /// `text`.
        Text => "text",
        /// `numeric`.
        Numeric => "numeric",
        /// `checkbox`.
        Checkbox => "checkbox",
        /// `select`.
        Select => "select",
        /// `multiselect`.
        Multiselect => "multiselect",
        /// `multitext` (PHONE, EMAIL).
        Multitext => "multitext",
        /// `date`.
        Date => "date",
        /// `date_time`.
        DateTime => "date_time",
        /// `birthday`.
        Birthday => "birthday",
        /// `url`.
        Url => "url",
        /// `textarea`.
        Textarea => "textarea",
        /// `radiobutton`.
        Radiobutton => "radiobutton",
        /// `streetaddress`.
        StreetAddress => "streetaddress",
        /// `smart_address`.
        SmartAddress => "smart_address",
        /// `legal_entity`.
        LegalEntity => "legal_entity",
        /// `price`.
        Price => "price",
        /// `category`.
        Category => "category",
        /// `items`.
        Items => "items",
        /// `tracking_data`.
        TrackingData => "tracking_data",
        /// `linked_entity`.
        LinkedEntity => "linked_entity",
        /// `monetary`.
        Monetary => "monetary",
        /// `chained_list`.
        ChainedList => "chained_list",
        /// `file`.
        File => "file",
        /// `payer`.
        Payer => "payer",
        /// `supplier`.
        Supplier => "supplier",
        /// `org_legal_name`.
        OrgLegalName => "org_legal_name",
    }
}

/// One option of a select-like field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldEnum {
    /// The option id.
    pub id: EnumId,
    /// The label (or the multitext code, e.g. `WORK`).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub value: Option<String>,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
}

/// A stage where the field is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequiredStatus {
    /// The status.
    pub status_id: StatusId,
    /// The pipeline.
    pub pipeline_id: PipelineId,
}

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomFieldDefinition {
    /// The field id.
    pub id: CustomFieldId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The code (`PHONE`, `EMAIL`, ...), for predefined fields.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub code: Option<String>,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// The type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// `leads`, `contacts`, `companies`, ...
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub entity_type: Option<String>,
    /// Whether Kommo predefined it.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_predefined: Option<bool>,
    /// Whether it can be deleted.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_deletable: Option<bool>,
    /// Whether it is visible in the UI.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_visible: Option<bool>,
    /// Whether it is required.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_required: Option<bool>,
    /// Whether only the API may change it.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_api_only: Option<bool>,
    /// The field group id.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub group_id: Option<String>,
    /// The options of select-like fields (empty otherwise).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub enums: Vec<FieldEnum>,
    /// The stages where the field is required.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub required_statuses: Vec<RequiredStatus>,
    /// Type-specific settings, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
    /// Birthday reminder (`never`, `day`, `week`, `month`).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub remind: Option<String>,
    /// The currency of monetary fields.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub currency: Option<String>,
}

impl CustomFieldDefinition {
    /// The option with this label (case-sensitive), for writing select values by name.
    #[must_use]
    pub fn enum_by_value(&self, value: &str) -> Option<&FieldEnum> {
        self.enums
            .iter()
            .find(|e| e.value.as_deref() == Some(value))
    }
}

/// An option of a select-like field, in a write.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct EnumWrite {
    /// The option to keep or change (updates); new options have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<EnumId>,
    /// The label.
    pub value: String,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
}

impl EnumWrite {
    /// A new option.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            ..Self::default()
        }
    }
}

/// Whether values of this type pick from the field's options.
fn has_options(t: &FieldType) -> bool {
    matches!(
        t,
        FieldType::Select | FieldType::Multiselect | FieldType::Radiobutton | FieldType::Category
    )
}

/// A field definition to add, or (with `id`) to change. Only the fields set are sent.
///
/// ```
/// use kommo_client::custom_fields::{CustomFieldWrite, FieldType};
///
/// // The "Loops status" field an onboarding tool creates on contacts.
/// let field = CustomFieldWrite::new("Loops status", FieldType::Select)
///     .options(["subscribed", "unsubscribed", "bounced"])
///     .code("LOOPS_STATUS")
///     .api_only(true);
/// assert_eq!(field.enums.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct CustomFieldWrite {
    /// The field to change (batch updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<CustomFieldId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The type (required to add; cannot change).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub field_type: Option<FieldType>,
    /// A code to find the field by, e.g. `LOOPS_STATUS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// The field group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Whether only the API may change it (users see it read-only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_api_only: Option<bool>,
    /// Whether it is visible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_visible: Option<bool>,
    /// Stages where it is required.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_statuses: Vec<RequiredStatus>,
    /// The options of a select-like field (all of them: options not sent are removed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub enums: Vec<EnumWrite>,
    /// Birthday reminder: `never`, `day`, `week`, `month`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind: Option<String>,
    /// The currency of a monetary field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Type-specific settings, as the API documents them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<serde_json::Value>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl CustomFieldWrite {
    /// A new field.
    #[must_use]
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        Self {
            name: Some(name.into()),
            field_type: Some(field_type),
            ..Self::default()
        }
    }

    /// A change of field `id`.
    #[must_use]
    pub fn update(id: CustomFieldId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// Sets the options, in order.
    #[must_use]
    pub fn options<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.enums = labels
            .into_iter()
            .zip(1..)
            .map(|(label, sort)| EnumWrite {
                id: None,
                value: label.into(),
                sort: Some(sort * 10),
            })
            .collect();
        self
    }

    /// Sets the code.
    #[must_use]
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Makes the field read-only for users.
    #[must_use]
    pub fn api_only(mut self, api_only: bool) -> Self {
        self.is_api_only = Some(api_only);
        self
    }

    /// What the API would refuse, checked before sending: a new field without a name or
    /// type, options on a type without them (or none on a select), or a type the entity
    /// cannot have (`multitext` on leads; `price`, `category`, `items`, `linked_entity` off
    /// catalogs; `chained_list` off leads and customers).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) naming the problem.
    pub fn check_for(&self, entity: &str, adding: bool) -> crate::Result<()> {
        let refuse = |why: String| Err(crate::Error::InvalidRequest(why));
        if adding {
            if self.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                return refuse("a new field needs a name".into());
            }
            let Some(t) = &self.field_type else {
                return refuse("a new field needs a type".into());
            };
            if has_options(t) && self.enums.is_empty() {
                return refuse(format!("a {t} field needs its options"));
            }
        }
        if let Some(t) = &self.field_type {
            if !has_options(t) && !matches!(t, FieldType::Multitext) && !self.enums.is_empty() {
                return refuse(format!("a {t} field has no options"));
            }
            let catalog = entity.starts_with("catalogs");
            let allowed = match t {
                FieldType::Multitext => entity != "leads",
                FieldType::Price
                | FieldType::Category
                | FieldType::Items
                | FieldType::LinkedEntity => catalog,
                FieldType::ChainedList => matches!(entity, "leads" | "customers"),
                _ => true,
            };
            if !allowed {
                return refuse(format!("{entity} cannot have {t} fields"));
            }
        }
        if self.enums.iter().any(|e| e.value.trim().is_empty()) {
            return refuse("an option needs a label".into());
        }
        Ok(())
    }
}

/// A group of fields (a tab in the entity card).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomFieldGroup {
    /// The id (a string such as `leads_16231615`).
    #[serde(deserialize_with = "crate::serde_util::lenient_string_required")]
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The sort order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// The entity type.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub entity_type: Option<String>,
    /// Whether Kommo made it.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_predefined: Option<bool>,
    /// The fields in it (`with=fields`).
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub fields: Vec<CustomFieldId>,
}

/// A group to add, or to change. Only the fields set are sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct CustomFieldGroupWrite {
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
    /// The fields in it (replaces them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<CustomFieldId>>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl CustomFieldGroupWrite {
    /// A new group.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }
}

#[cfg(feature = "client")]
pub use api::CustomFieldsApi;

#[cfg(feature = "client")]
mod api;
