//! Custom field values on leads, contacts and companies (`custom_fields_values`).
//!
//! Reading: each value is typed by its field's `field_type` ([`FieldValue`]); a type this crate
//! does not know, or a value whose shape does not match its type, is kept as
//! [`FieldValue::Raw`] instead of failing the entity (the official PHP library throws here).
//! `custom_fields_values: null` reads as an empty [`CustomFields`].
//!
//! Writing: [`FieldValueUpdate`] sends `{field_id|field_code, values}`, or `values: null` to
//! clear the field.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::custom_fields::FieldType;
use crate::ids::{CustomFieldId, EnumId};
use crate::serde_util::{value_to_bool, value_to_f64, value_to_i64};

/// One typed value of a custom field.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// `text`, `streetaddress`, `tracking_data`.
    Text(String),
    /// `textarea`.
    Textarea(String),
    /// `url`.
    Url(String),
    /// `numeric`, `price`, `monetary`.
    Numeric(f64),
    /// `checkbox`.
    Checkbox(bool),
    /// `select`, `multiselect` (one value per chosen option), `radiobutton`, `category`.
    Enum {
        /// The option id.
        enum_id: Option<EnumId>,
        /// The option label.
        value: Option<String>,
        /// The option code, when the account defines one.
        enum_code: Option<String>,
    },
    /// `multitext` (PHONE, EMAIL, ...): a value with its kind (`enum_code` such as `WORK`).
    Multitext {
        /// The phone number, address, ...
        value: String,
        /// The kind's option id.
        enum_id: Option<EnumId>,
        /// The kind: `WORK`, `WORKDD`, `MOB`, `FAX`, `HOME`, `PRIV`, `OTHER`.
        enum_code: Option<String>,
    },
    /// `date`, `birthday`: unix seconds.
    Date(i64),
    /// `date_time`: unix seconds.
    DateTime(i64),
    /// Any other type, or a value that did not match its type: the JSON as received.
    Raw(Value),
}

impl FieldValue {
    /// A text form of the value: the string for text-like values and enum labels, the number
    /// for numbers and dates, `"1"`/`"0"` for checkboxes. `None` for raw values that are not
    /// scalars.
    #[must_use]
    pub fn as_text(&self) -> Option<String> {
        match self {
            FieldValue::Text(s) | FieldValue::Textarea(s) | FieldValue::Url(s) => Some(s.clone()),
            FieldValue::Multitext { value, .. } => Some(value.clone()),
            FieldValue::Enum { value, .. } => value.clone(),
            FieldValue::Numeric(n) => Some(n.to_string()),
            FieldValue::Checkbox(b) => Some(if *b { "1" } else { "0" }.to_owned()),
            FieldValue::Date(t) | FieldValue::DateTime(t) => Some(t.to_string()),
            FieldValue::Raw(Value::String(s)) => Some(s.clone()),
            FieldValue::Raw(Value::Object(o)) => match o.get("value") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            FieldValue::Raw(Value::Number(n)) => Some(n.to_string()),
            FieldValue::Raw(_) => None,
        }
    }

    /// The option id of enum and multitext values.
    #[must_use]
    pub fn enum_id(&self) -> Option<EnumId> {
        match self {
            FieldValue::Enum { enum_id, .. } | FieldValue::Multitext { enum_id, .. } => *enum_id,
            _ => None,
        }
    }

    /// The option code of enum and multitext values.
    #[must_use]
    pub fn enum_code(&self) -> Option<&str> {
        match self {
            FieldValue::Enum { enum_code, .. } | FieldValue::Multitext { enum_code, .. } => {
                enum_code.as_deref()
            }
            _ => None,
        }
    }

    fn from_json(field_type: &FieldType, raw: Value) -> FieldValue {
        let Value::Object(obj) = &raw else {
            return FieldValue::Raw(raw);
        };
        let value = obj.get("value");
        let string = || match value {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let enum_id = obj
            .get("enum_id")
            .and_then(value_to_i64)
            .and_then(|i| u64::try_from(i).ok())
            .map(EnumId);
        let enum_code = match obj.get("enum_code").or_else(|| obj.get("enum")) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let typed = match field_type {
            FieldType::Text | FieldType::StreetAddress | FieldType::TrackingData => {
                string().map(FieldValue::Text)
            }
            FieldType::Textarea => string().map(FieldValue::Textarea),
            FieldType::Url => string().map(FieldValue::Url),
            FieldType::Numeric | FieldType::Price | FieldType::Monetary => {
                value.and_then(value_to_f64).map(FieldValue::Numeric)
            }
            FieldType::Checkbox => value.and_then(value_to_bool).map(FieldValue::Checkbox),
            FieldType::Select
            | FieldType::Multiselect
            | FieldType::Radiobutton
            | FieldType::Category => Some(FieldValue::Enum {
                enum_id,
                value: string(),
                enum_code,
            }),
            FieldType::Multitext => string().map(|value| FieldValue::Multitext {
                value,
                enum_id,
                enum_code,
            }),
            FieldType::Date | FieldType::Birthday => {
                value.and_then(value_to_i64).map(FieldValue::Date)
            }
            FieldType::DateTime => value.and_then(value_to_i64).map(FieldValue::DateTime),
            _ => None,
        };
        typed.unwrap_or(FieldValue::Raw(raw))
    }

    fn to_json(&self) -> Value {
        fn with_enum(
            mut obj: Map<String, Value>,
            enum_id: Option<EnumId>,
            enum_code: &Option<String>,
        ) -> Value {
            if let Some(id) = enum_id {
                obj.insert("enum_id".into(), json!(id.0));
            }
            if let Some(code) = enum_code {
                obj.insert("enum_code".into(), json!(code));
            }
            Value::Object(obj)
        }
        match self {
            FieldValue::Text(s) | FieldValue::Textarea(s) | FieldValue::Url(s) => {
                json!({ "value": s })
            }
            FieldValue::Numeric(n) => json!({ "value": n }),
            FieldValue::Checkbox(b) => json!({ "value": b }),
            FieldValue::Date(t) | FieldValue::DateTime(t) => json!({ "value": t }),
            FieldValue::Enum {
                enum_id,
                value,
                enum_code,
            } => {
                let mut obj = Map::new();
                if let Some(v) = value {
                    obj.insert("value".into(), json!(v));
                }
                with_enum(obj, *enum_id, enum_code)
            }
            FieldValue::Multitext {
                value,
                enum_id,
                enum_code,
            } => {
                let mut obj = Map::new();
                obj.insert("value".into(), json!(value));
                with_enum(obj, *enum_id, enum_code)
            }
            FieldValue::Raw(v) => v.clone(),
        }
    }
}

/// The values of one custom field on an entity.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CustomFieldValues {
    /// The field id.
    pub field_id: CustomFieldId,
    /// The field name (account language).
    pub field_name: Option<String>,
    /// The field code (`PHONE`, `EMAIL`, `POSITION`, ...).
    pub field_code: Option<String>,
    /// The field type.
    pub field_type: FieldType,
    /// Whether the value is computed.
    pub is_computed: Option<bool>,
    /// The values, in order.
    pub values: Vec<FieldValue>,
}

impl CustomFieldValues {
    /// The first value.
    #[must_use]
    pub fn first(&self) -> Option<&FieldValue> {
        self.values.first()
    }

    /// The text of every value, in order (see [`FieldValue::as_text`]).
    #[must_use]
    pub fn texts(&self) -> Vec<String> {
        self.values.iter().filter_map(FieldValue::as_text).collect()
    }
}

impl<'de> Deserialize<'de> for CustomFieldValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            field_id: CustomFieldId,
            #[serde(default, deserialize_with = "crate::serde_util::lenient_string")]
            field_name: Option<String>,
            #[serde(default, deserialize_with = "crate::serde_util::lenient_string")]
            field_code: Option<String>,
            #[serde(default)]
            field_type: Option<FieldType>,
            #[serde(default, deserialize_with = "crate::serde_util::lenient_bool")]
            is_computed: Option<bool>,
            #[serde(default)]
            values: Value,
        }
        let raw = Raw::deserialize(deserializer)?;
        let field_type = raw
            .field_type
            .unwrap_or_else(|| FieldType::Other(String::new()));
        let values = match raw.values {
            Value::Array(items) => items
                .into_iter()
                .map(|v| FieldValue::from_json(&field_type, v))
                .collect(),
            Value::Null => Vec::new(),
            // A single object where a list was documented: keep it as one value.
            other => vec![FieldValue::from_json(&field_type, other)],
        };
        Ok(Self {
            field_id: raw.field_id,
            field_name: raw.field_name,
            field_code: raw.field_code,
            field_type,
            is_computed: raw.is_computed,
            values,
        })
    }
}

impl Serialize for CustomFieldValues {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let values: Vec<Value> = self.values.iter().map(FieldValue::to_json).collect();
        let mut obj = Map::new();
        obj.insert("field_id".into(), json!(self.field_id.0));
        obj.insert("field_name".into(), json!(self.field_name));
        obj.insert("field_code".into(), json!(self.field_code));
        obj.insert("field_type".into(), json!(self.field_type.as_str()));
        if let Some(c) = self.is_computed {
            obj.insert("is_computed".into(), json!(c));
        }
        obj.insert("values".into(), Value::Array(values));
        Value::Object(obj).serialize(serializer)
    }
}

/// The custom field values of an entity, with lookups. Deserializes from a list or `null`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct CustomFields(pub Vec<CustomFieldValues>);

impl<'de> Deserialize<'de> for CustomFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(CustomFields(
            Option::<Vec<CustomFieldValues>>::deserialize(deserializer)?.unwrap_or_default(),
        ))
    }
}

impl CustomFields {
    /// The field with this id.
    #[must_use]
    pub fn by_id(&self, id: CustomFieldId) -> Option<&CustomFieldValues> {
        self.0.iter().find(|f| f.field_id == id)
    }

    /// The field with this code (`EMAIL`, `PHONE`, ...; case-insensitive).
    #[must_use]
    pub fn by_code(&self, code: &str) -> Option<&CustomFieldValues> {
        self.0.iter().find(|f| {
            f.field_code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })
    }

    /// Every value text of the field with this code, in order.
    #[must_use]
    pub fn texts_by_code(&self, code: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|f| {
                f.field_code
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(code))
            })
            .flat_map(CustomFieldValues::texts)
            .filter(|s| !s.trim().is_empty())
            .collect()
    }

    /// Iterates over the fields.
    pub fn iter(&self) -> std::slice::Iter<'_, CustomFieldValues> {
        self.0.iter()
    }

    /// Whether there are no values.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Which field a write targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    /// By id.
    Id(CustomFieldId),
    /// By code (`PHONE`, `EMAIL`).
    Code(String),
}

/// One value in a write.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WriteValue {
    /// The value (string, number or boolean, depending on the field type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The option id (select, multiselect, radiobutton, multitext).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enum_id: Option<EnumId>,
    /// The option code (multitext kinds such as `WORK`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enum_code: Option<String>,
}

impl WriteValue {
    /// A plain value.
    #[must_use]
    pub fn value(value: impl Into<Value>) -> Self {
        Self {
            value: Some(value.into()),
            enum_id: None,
            enum_code: None,
        }
    }

    /// An option by id.
    #[must_use]
    pub fn enum_id(id: EnumId) -> Self {
        Self {
            value: None,
            enum_id: Some(id),
            enum_code: None,
        }
    }

    /// A multitext value with its kind (`WORK`, `MOB`, ...).
    #[must_use]
    pub fn multitext(value: impl Into<String>, enum_code: impl Into<String>) -> Self {
        Self {
            value: Some(Value::String(value.into())),
            enum_id: None,
            enum_code: Some(enum_code.into()),
        }
    }
}

/// A custom field write: set the values of one field, or clear it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FieldValueUpdate {
    /// The field.
    pub field: FieldRef,
    /// The new values; `None` clears the field (`values: null`).
    pub values: Option<Vec<WriteValue>>,
}

impl FieldValueUpdate {
    /// Sets explicit values.
    #[must_use]
    pub fn new(field: FieldRef, values: Vec<WriteValue>) -> Self {
        Self {
            field,
            values: Some(values),
        }
    }

    /// A text, textarea or url value.
    #[must_use]
    pub fn text(id: CustomFieldId, value: impl Into<String>) -> Self {
        Self::new(FieldRef::Id(id), vec![WriteValue::value(value.into())])
    }

    /// A numeric value.
    #[must_use]
    pub fn numeric(id: CustomFieldId, value: f64) -> Self {
        Self::new(FieldRef::Id(id), vec![WriteValue::value(value)])
    }

    /// A checkbox value.
    #[must_use]
    pub fn checkbox(id: CustomFieldId, value: bool) -> Self {
        Self::new(FieldRef::Id(id), vec![WriteValue::value(value)])
    }

    /// A date or date-time value, as unix seconds (the API's read format; the PHP library
    /// writes RFC 3339 strings, which [`FieldValueUpdate::new`] can send).
    #[must_use]
    pub fn date(id: CustomFieldId, unix_seconds: i64) -> Self {
        Self::new(FieldRef::Id(id), vec![WriteValue::value(unix_seconds)])
    }

    /// A select or radiobutton option.
    #[must_use]
    pub fn select(id: CustomFieldId, option: EnumId) -> Self {
        Self::new(FieldRef::Id(id), vec![WriteValue::enum_id(option)])
    }

    /// Multiselect options.
    #[must_use]
    pub fn multiselect(id: CustomFieldId, options: impl IntoIterator<Item = EnumId>) -> Self {
        Self::new(
            FieldRef::Id(id),
            options.into_iter().map(WriteValue::enum_id).collect(),
        )
    }

    /// A multitext field by code, e.g. `("EMAIL", [("a@b.c", "WORK")])`.
    #[must_use]
    pub fn multitext_by_code<V: Into<String>, K: Into<String>>(
        code: impl Into<String>,
        values: impl IntoIterator<Item = (V, K)>,
    ) -> Self {
        Self::new(
            FieldRef::Code(code.into()),
            values
                .into_iter()
                .map(|(v, k)| WriteValue::multitext(v, k))
                .collect(),
        )
    }

    /// Clears a field (`values: null`).
    #[must_use]
    pub fn clear(field: FieldRef) -> Self {
        Self {
            field,
            values: None,
        }
    }
}

impl Serialize for FieldValueUpdate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        match &self.field {
            FieldRef::Id(id) => map.serialize_entry("field_id", id)?,
            FieldRef::Code(code) => map.serialize_entry("field_code", code)?,
        }
        map.serialize_entry("values", &self.values)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_by_field_type() {
        let json = json!([
            {"field_id": 1, "field_type": "text", "values": [{"value": "a"}]},
            {"field_id": 2, "field_type": "numeric", "values": [{"value": "12.5"}]},
            {"field_id": 3, "field_type": "checkbox", "values": [{"value": true}]},
            {"field_id": 4, "field_type": "select", "values": [{"value": "Google", "enum_id": 932073}]},
            {"field_id": 5, "field_type": "multiselect", "values": [{"enum_id": 1}, {"enum_id": "2"}]},
            {"field_id": 6, "field_code": "EMAIL", "field_type": "multitext",
             "values": [{"value": "a@b.c", "enum_id": 4808283, "enum_code": "WORK"}]},
            {"field_id": 7, "field_type": "date", "values": [{"value": 1615845600}]},
            {"field_id": 8, "field_type": "date_time", "values": [{"value": "1615845601"}]},
            {"field_id": 9, "field_type": "url", "values": [{"value": "https://x"}]},
            {"field_id": 10, "field_type": "textarea", "values": [{"value": "l1\nl2"}]},
            {"field_id": 11, "field_type": "tracking_data_v2", "values": [{"value": {"utm": 1}}]},
            {"field_id": 12, "field_type": "numeric", "values": [{"value": "not a number"}]},
            {"field_id": 13, "field_type": "legal_entity", "values": null},
            {"field_id": 14, "field_type": "radiobutton", "values": {"value": "2", "enum_id": 566642}},
        ]);
        let fields: CustomFields = serde_json::from_value(json).unwrap();
        let first = |id: u64| fields.by_id(CustomFieldId(id)).unwrap().values[0].clone();
        assert_eq!(first(1), FieldValue::Text("a".into()));
        assert_eq!(first(2), FieldValue::Numeric(12.5));
        assert_eq!(first(3), FieldValue::Checkbox(true));
        assert_eq!(first(4).enum_id(), Some(EnumId(932073)));
        assert_eq!(
            fields.by_id(CustomFieldId(5)).unwrap().values[1].enum_id(),
            Some(EnumId(2))
        );
        assert_eq!(first(6).enum_code(), Some("WORK"));
        assert_eq!(fields.texts_by_code("email"), vec!["a@b.c".to_owned()]);
        assert_eq!(first(7), FieldValue::Date(1_615_845_600));
        assert_eq!(first(8), FieldValue::DateTime(1_615_845_601));
        assert_eq!(first(9), FieldValue::Url("https://x".into()));
        assert_eq!(first(10), FieldValue::Textarea("l1\nl2".into()));
        assert!(matches!(first(11), FieldValue::Raw(_)));
        assert_eq!(
            fields.by_id(CustomFieldId(11)).unwrap().field_type,
            FieldType::Other("tracking_data_v2".into())
        );
        assert!(
            matches!(first(12), FieldValue::Raw(_)),
            "a mismatched value is kept raw"
        );
        assert!(fields.by_id(CustomFieldId(13)).unwrap().values.is_empty());
        assert_eq!(first(14).enum_id(), Some(EnumId(566642)));
        // Round trip through Serialize keeps the typed values.
        let again: CustomFields =
            serde_json::from_value(serde_json::to_value(&fields).unwrap()).unwrap();
        assert_eq!(again, fields);
    }

    #[test]
    fn null_custom_fields_is_empty() {
        let fields: CustomFields = serde_json::from_value(Value::Null).unwrap();
        assert!(fields.is_empty());
    }

    #[test]
    fn writes_serialize_only_what_is_set() {
        let cases = [
            (
                FieldValueUpdate::text(CustomFieldId(1), "x"),
                json!({"field_id": 1, "values": [{"value": "x"}]}),
            ),
            (
                FieldValueUpdate::select(CustomFieldId(2), EnumId(9)),
                json!({"field_id": 2, "values": [{"enum_id": 9}]}),
            ),
            (
                FieldValueUpdate::multitext_by_code("EMAIL", [("a@b.c", "WORK")]),
                json!({"field_code": "EMAIL", "values": [{"value": "a@b.c", "enum_code": "WORK"}]}),
            ),
            (
                FieldValueUpdate::clear(FieldRef::Id(CustomFieldId(3))),
                json!({"field_id": 3, "values": null}),
            ),
            (
                FieldValueUpdate::checkbox(CustomFieldId(4), true),
                json!({"field_id": 4, "values": [{"value": true}]}),
            ),
            (
                FieldValueUpdate::date(CustomFieldId(5), 10),
                json!({"field_id": 5, "values": [{"value": 10}]}),
            ),
        ];
        for (update, want) in cases {
            assert_eq!(serde_json::to_value(&update).unwrap(), want);
        }
    }
}
