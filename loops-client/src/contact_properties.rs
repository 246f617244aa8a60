//! Contact property definitions: list them, create custom ones.

use serde::{Deserialize, Serialize};

use crate::contacts::to_json;
use crate::endpoint::{ApiRequest, Endpoint, Method};
use crate::validate::{self, RESERVED_PROPERTY_NAMES, ValidationError};

/// The type of a contact property.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropertyType {
    /// Text.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A date (sent as a millisecond timestamp).
    Date,
    /// A type this crate does not know yet.
    Other(String),
}

impl PropertyType {
    /// The name Loops uses.
    pub fn as_str(&self) -> &str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Boolean => "boolean",
            PropertyType::Date => "date",
            PropertyType::Other(s) => s,
        }
    }
}

impl Serialize for PropertyType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PropertyType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(match s.as_str() {
            "string" => PropertyType::String,
            "number" => PropertyType::Number,
            "boolean" => PropertyType::Boolean,
            "date" => PropertyType::Date,
            _ => PropertyType::Other(s),
        })
    }
}

/// A contact property defined in Loops.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct ContactPropertyDefinition {
    /// The key used in API bodies, e.g. `favoriteColor`.
    pub key: String,
    /// The label shown in the Loops app.
    #[serde(default)]
    pub label: String,
    /// The value type.
    #[serde(rename = "type")]
    pub property_type: PropertyType,
}

/// Which properties to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PropertyList {
    /// Default and custom properties.
    #[default]
    All,
    /// Custom properties only.
    Custom,
}

/// `GET /v1/contacts/properties?list=all|custom`.
pub fn list_contact_properties_request(list: PropertyList) -> ApiRequest {
    let value = match list {
        PropertyList::All => "all",
        PropertyList::Custom => "custom",
    };
    ApiRequest::new(
        Endpoint::ListContactProperties,
        Method::Get,
        "/v1/contacts/properties",
    )
    .query("list", value)
}

/// `POST /v1/contacts/properties` with `{name, type}`.
///
/// ```
/// use loops_client::{PropertyType, create_contact_property_request};
///
/// assert!(create_contact_property_request("planName", PropertyType::String).is_ok());
/// assert!(create_contact_property_request("teamId", PropertyType::String).is_err());
/// assert!(create_contact_property_request("x", PropertyType::Other("color".into())).is_err());
/// ```
pub fn create_contact_property_request(
    name: &str,
    property_type: PropertyType,
) -> Result<ApiRequest, ValidationError> {
    validate::require_non_empty("name", name)?;
    if RESERVED_PROPERTY_NAMES.contains(&name) {
        return Err(ValidationError::ReservedPropertyName {
            name: name.to_owned(),
        });
    }
    if let PropertyType::Other(_) = property_type {
        return Err(ValidationError::EmptyField {
            field: "type (one of string, number, boolean, date)",
        });
    }
    let body = serde_json::json!({ "name": name, "type": property_type.as_str() });
    Ok(ApiRequest::new(
        Endpoint::CreateContactProperty,
        Method::Post,
        "/v1/contacts/properties",
    )
    .with_json_bytes(to_json(&body)))
}

#[cfg(feature = "client")]
impl crate::Client {
    /// Lists contact properties, all or custom only.
    pub async fn list_contact_properties(
        &self,
        list: PropertyList,
    ) -> Result<Vec<ContactPropertyDefinition>, crate::Error> {
        let response = self.execute(&list_contact_properties_request(list)).await?;
        Ok(response.json::<Option<Vec<_>>>()?.unwrap_or_default())
    }

    /// Creates a custom contact property. Names should be camelCase; reserved names are refused
    /// before sending.
    pub async fn create_contact_property(
        &self,
        name: &str,
        property_type: PropertyType,
    ) -> Result<(), crate::Error> {
        self.execute(&create_contact_property_request(name, property_type)?)
            .await?;
        Ok(())
    }
}
