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

#[cfg(feature = "client")]
pub use api::CustomFieldsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::CustomFieldDefinition;
    use crate::client::Client;
    use crate::common::{EntityType, Page};
    use crate::error::Result;
    use crate::ids::CustomFieldId;
    use crate::pagination::ListQuery;

    /// Custom field definitions of one entity type. Get it with [`Client::custom_fields`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::common::EntityType;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let fields: Vec<_> = client
    ///     .custom_fields(EntityType::Contacts)
    ///     .list(ListQuery::new().limit(250))
    ///     .try_collect()
    ///     .await?;
    /// # let _ = fields; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct CustomFieldsApi {
        pub(crate) client: Client,
        pub(crate) entity: EntityType,
    }

    impl CustomFieldsApi {
        fn path(&self) -> String {
            format!("/api/v4/{}/custom_fields", self.entity.as_str())
        }

        /// One page of definitions (`limit` up to 250; Kommo's default is 50).
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<CustomFieldDefinition>> {
            self.client
                .list_page(self.path(), query, "custom_fields")
                .await
        }

        /// Every definition, following pages.
        pub fn list(
            &self,
            query: ListQuery,
        ) -> impl Stream<Item = Result<CustomFieldDefinition>> + Send + 'static {
            self.client.paginate(self.path(), query, "custom_fields")
        }

        /// One definition; `None` when the API answers 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: CustomFieldId) -> Result<Option<CustomFieldDefinition>> {
            self.client
                .get_json(format!("{}/{id}", self.path()), None)
                .await
        }
    }
}
