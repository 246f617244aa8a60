//! Contact property definitions: list them, create custom ones (`/v1/contacts/properties`).

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint};
use crate::json::to_json;
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
        Method::GET,
        "/v1/contacts/properties",
    )
    .query("list", value)
}

/// `POST /v1/contacts/properties` with `{name, type}`.
///
/// ```
/// use loops_client::contact_properties::{PropertyType, create_contact_property_request};
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
        Method::POST,
        "/v1/contacts/properties",
    )
    .with_json_bytes(to_json(&body)))
}

#[cfg(feature = "client")]
pub use api::ContactPropertiesApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        ContactPropertyDefinition, PropertyList, PropertyType, create_contact_property_request,
        list_contact_properties_request,
    };
    use crate::client::Client;

    /// Contact property definitions. Get it with [`Client::contact_properties`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::contact_properties::{PropertyList, PropertyType};
    ///
    /// let properties = client.contact_properties();
    /// let custom = properties.list(PropertyList::Custom).await?;
    /// if !custom.iter().any(|p| p.key == "planName") {
    ///     properties.create("planName", PropertyType::String).await?;
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ContactPropertiesApi {
        pub(crate) client: Client,
    }

    impl ContactPropertiesApi {
        /// Lists contact properties, all or custom only.
        pub async fn list(
            &self,
            list: PropertyList,
        ) -> crate::Result<Vec<ContactPropertyDefinition>> {
            let response = self
                .client
                .execute(&list_contact_properties_request(list))
                .await?;
            Ok(response.json::<Option<Vec<_>>>()?.unwrap_or_default())
        }

        /// Creates a custom contact property. Names should be camelCase; reserved names are
        /// refused before sending.
        pub async fn create(&self, name: &str, property_type: PropertyType) -> crate::Result<()> {
            self.client
                .execute(&create_contact_property_request(name, property_type)?)
                .await?;
            Ok(())
        }
    }
}
