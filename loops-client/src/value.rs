//! Property values, contact properties, event properties and transactional data variables.
//!
//! Loops accepts four value types for contact and event properties (string, number, boolean,
//! date) and `null` to reset a contact property. Transactional data variables are narrower:
//! strings, numbers, and arrays of flat objects for array blocks, never `null`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde::{Deserialize, Deserializer};

/// One property value sent to Loops.
///
/// Dates are sent as Unix timestamps in milliseconds, the form Loops documents for date
/// properties. `Null` resets a contact property; event properties cannot be `Null`.
///
/// ```
/// use loops_client::value::PropertyValue;
///
/// let plan = PropertyValue::from("pro");
/// let seats = PropertyValue::from(12);
/// let trial = PropertyValue::from(true);
/// let joined = PropertyValue::date_millis(1_704_711_066_000);
/// assert_eq!(serde_json::to_string(&joined).unwrap(), "1704711066000");
/// assert_eq!(serde_json::to_string(&PropertyValue::Null).unwrap(), "null");
/// # let _ = (plan, seats, trial);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PropertyValue {
    /// Resets the property on the contact.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (integer or finite float).
    Number(serde_json::Number),
    /// A string (at most 500 characters including the JSON quotes, per the Loops docs).
    String(String),
    /// A date, as milliseconds since the Unix epoch.
    Date(i64),
}

impl PropertyValue {
    /// A date given as milliseconds since the Unix epoch.
    pub fn date_millis(millis: i64) -> Self {
        PropertyValue::Date(millis)
    }

    /// A date given as seconds since the Unix epoch (Kommo sends dates this way).
    pub fn date_seconds(seconds: i64) -> Self {
        PropertyValue::Date(seconds.saturating_mul(1000))
    }

    /// A date from a [`SystemTime`] the caller already has (no clock is read here).
    pub fn date(time: SystemTime) -> Self {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => duration_millis(after),
            Err(before) => duration_millis(before.duration()).saturating_neg(),
        };
        PropertyValue::Date(millis)
    }

    /// A float, or `None` when it is NaN or infinite (JSON cannot carry those).
    pub fn float(value: f64) -> Option<Self> {
        serde_json::Number::from_f64(value).map(PropertyValue::Number)
    }

    /// Whether this is [`PropertyValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, PropertyValue::Null)
    }

    /// The string content, when this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropertyValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to the JSON value that goes on the wire.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            PropertyValue::Null => serde_json::Value::Null,
            PropertyValue::Bool(b) => serde_json::Value::Bool(*b),
            PropertyValue::Number(n) => serde_json::Value::Number(n.clone()),
            PropertyValue::String(s) => serde_json::Value::String(s.clone()),
            PropertyValue::Date(ms) => serde_json::Value::from(*ms),
        }
    }
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Serialize for PropertyValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PropertyValue::Null => serializer.serialize_none(),
            PropertyValue::Bool(b) => serializer.serialize_bool(*b),
            PropertyValue::Number(n) => n.serialize(serializer),
            PropertyValue::String(s) => serializer.serialize_str(s),
            PropertyValue::Date(ms) => serializer.serialize_i64(*ms),
        }
    }
}

impl<'de> Deserialize<'de> for PropertyValue {
    /// Reads any scalar. A date cannot be told apart from a number on the wire, so it reads back
    /// as [`PropertyValue::Number`]; arrays and objects are rejected.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Null => Ok(PropertyValue::Null),
            serde_json::Value::Bool(b) => Ok(PropertyValue::Bool(b)),
            serde_json::Value::Number(n) => Ok(PropertyValue::Number(n)),
            serde_json::Value::String(s) => Ok(PropertyValue::String(s)),
            other => Err(serde::de::Error::custom(format!(
                "expected a string, number, boolean or null property value, got {}",
                json_kind(&other)
            ))),
        }
    }
}

pub(crate) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl From<&str> for PropertyValue {
    fn from(value: &str) -> Self {
        PropertyValue::String(value.to_owned())
    }
}

impl From<String> for PropertyValue {
    fn from(value: String) -> Self {
        PropertyValue::String(value)
    }
}

impl From<&String> for PropertyValue {
    fn from(value: &String) -> Self {
        PropertyValue::String(value.clone())
    }
}

impl From<bool> for PropertyValue {
    fn from(value: bool) -> Self {
        PropertyValue::Bool(value)
    }
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for PropertyValue {
            fn from(value: $t) -> Self {
                PropertyValue::Number(serde_json::Number::from(value))
            }
        }
    )*};
}
from_integer!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

impl From<serde_json::Number> for PropertyValue {
    fn from(value: serde_json::Number) -> Self {
        PropertyValue::Number(value)
    }
}

impl<T: Into<PropertyValue>> From<Option<T>> for PropertyValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(PropertyValue::Null, Into::into)
    }
}

/// Contact properties sent as top-level keys of a contact or event body.
///
/// The default properties have typed setters; custom properties go through [`set`](Self::set).
/// Keys are kept sorted, so the same properties always serialize to the same bytes.
///
/// ```
/// use loops_client::value::{ContactProperties, PropertyValue};
///
/// let props = ContactProperties::new()
///     .first_name("Ada")
///     .user_group("leads")
///     .set("plan", "pro")
///     .set("trialEndsAt", PropertyValue::date_millis(1_767_225_600_000))
///     .reset("lastName");
/// assert_eq!(props.get("plan"), Some(&PropertyValue::from("pro")));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactProperties(BTreeMap<String, PropertyValue>);

impl ContactProperties {
    /// No properties.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets any property, default or custom.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<PropertyValue>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets a property in place.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<PropertyValue>) {
        self.0.insert(name.into(), value.into());
    }

    /// Sends `null` for the property, which empties it in Loops.
    pub fn reset(self, name: impl Into<String>) -> Self {
        self.set(name, PropertyValue::Null)
    }

    /// The contact's first name.
    pub fn first_name(self, value: impl Into<String>) -> Self {
        self.set("firstName", value.into())
    }

    /// The contact's last name.
    pub fn last_name(self, value: impl Into<String>) -> Self {
        self.set("lastName", value.into())
    }

    /// Where the contact came from (replaces Loops' default `API`).
    pub fn source(self, value: impl Into<String>) -> Self {
        self.set("source", value.into())
    }

    /// The contact's user group (one per contact).
    pub fn user_group(self, value: impl Into<String>) -> Self {
        self.set("userGroup", value.into())
    }

    /// Whether the contact is subscribed to the audience.
    ///
    /// `true` re-subscribes a contact who unsubscribed: only send it when the contact asked.
    pub fn subscribed(self, value: bool) -> Self {
        self.set("subscribed", value)
    }

    /// The value of one property.
    pub fn get(&self, name: &str) -> Option<&PropertyValue> {
        self.0.get(name)
    }

    /// Removes a property from the request (it is then left unchanged in Loops).
    pub fn remove(&mut self, name: &str) -> Option<PropertyValue> {
        self.0.remove(name)
    }

    /// Adds every property of `other`, replacing values set here for the same key.
    pub fn merge(&mut self, other: ContactProperties) {
        self.0.extend(other.0);
    }

    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The properties in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PropertyValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

impl<K: Into<String>, V: Into<PropertyValue>> FromIterator<(K, V)> for ContactProperties {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        ContactProperties(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl Serialize for ContactProperties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ContactProperties {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(ContactProperties)
    }
}

/// Properties of one event, available to the emails the event triggers.
///
/// Values are strings, numbers, booleans or dates; `null` is refused before sending.
pub type EventProperties = BTreeMap<String, PropertyValue>;

/// Mailing-list subscriptions: list id to `true` (subscribe) or `false` (unsubscribe).
pub type MailingLists = BTreeMap<String, bool>;

/// A scalar inside an array data variable.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DataScalar {
    /// A string.
    String(String),
    /// A number.
    Number(serde_json::Number),
}

impl Serialize for DataScalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DataScalar::String(s) => serializer.serialize_str(s),
            DataScalar::Number(n) => n.serialize(serializer),
        }
    }
}

impl From<&str> for DataScalar {
    fn from(value: &str) -> Self {
        DataScalar::String(value.to_owned())
    }
}

impl From<String> for DataScalar {
    fn from(value: String) -> Self {
        DataScalar::String(value)
    }
}

macro_rules! scalar_from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for DataScalar {
            fn from(value: $t) -> Self {
                DataScalar::Number(serde_json::Number::from(value))
            }
        }
        impl From<$t> for DataVariable {
            fn from(value: $t) -> Self {
                DataVariable::Number(serde_json::Number::from(value))
            }
        }
    )*};
}
scalar_from_integer!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

/// One transactional data variable.
///
/// Loops documents strings and numbers, plus arrays of flat objects for array blocks. An
/// optional variable is sent as `""` or left out; `null` is not accepted by Loops, so this type
/// cannot express it.
///
/// ```
/// use loops_client::value::{DataScalar, DataVariable};
/// use std::collections::BTreeMap;
///
/// let item: BTreeMap<String, DataScalar> =
///     [("name".to_owned(), DataScalar::from("Seat")), ("qty".to_owned(), DataScalar::from(2))]
///         .into_iter()
///         .collect();
/// let items = DataVariable::List(vec![item]);
/// assert_eq!(serde_json::to_string(&items).unwrap(), r#"[{"name":"Seat","qty":2}]"#);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DataVariable {
    /// A string (use `""` for an optional variable with no value).
    String(String),
    /// A number.
    Number(serde_json::Number),
    /// An array of flat objects, for array blocks.
    List(Vec<BTreeMap<String, DataScalar>>),
}

impl DataVariable {
    /// A float, or `None` when it is NaN or infinite.
    pub fn float(value: f64) -> Option<Self> {
        serde_json::Number::from_f64(value).map(DataVariable::Number)
    }
}

impl Serialize for DataVariable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DataVariable::String(s) => serializer.serialize_str(s),
            DataVariable::Number(n) => n.serialize(serializer),
            DataVariable::List(items) => {
                use serde::ser::SerializeSeq;
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&FlatObject(item))?;
                }
                seq.end()
            }
        }
    }
}

struct FlatObject<'a>(&'a BTreeMap<String, DataScalar>);

impl Serialize for FlatObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl From<&str> for DataVariable {
    fn from(value: &str) -> Self {
        DataVariable::String(value.to_owned())
    }
}

impl From<String> for DataVariable {
    fn from(value: String) -> Self {
        DataVariable::String(value)
    }
}

impl From<Vec<BTreeMap<String, DataScalar>>> for DataVariable {
    fn from(value: Vec<BTreeMap<String, DataScalar>>) -> Self {
        DataVariable::List(value)
    }
}

/// Transactional data variables, by name (case-sensitive).
pub type DataVariables = BTreeMap<String, DataVariable>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_serialize_as_loops_expects() {
        let cases: Vec<(PropertyValue, &str)> = vec![
            (PropertyValue::Null, "null"),
            (true.into(), "true"),
            (42.into(), "42"),
            (PropertyValue::float(1.5).unwrap(), "1.5"),
            ("pro".into(), "\"pro\""),
            (PropertyValue::date_seconds(1_704_711_066), "1704711066000"),
            (
                PropertyValue::date(UNIX_EPOCH + Duration::from_millis(5)),
                "5",
            ),
            (
                PropertyValue::date(UNIX_EPOCH - Duration::from_millis(5)),
                "-5",
            ),
            (Option::<&str>::None.into(), "null"),
        ];
        for (value, json) in cases {
            assert_eq!(serde_json::to_string(&value).unwrap(), json, "{value:?}");
        }
    }

    #[test]
    fn non_finite_floats_are_refused() {
        assert!(PropertyValue::float(f64::NAN).is_none());
        assert!(DataVariable::float(f64::INFINITY).is_none());
    }

    #[test]
    fn property_values_read_scalars_only() {
        let v: PropertyValue = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(v, PropertyValue::from("x"));
        assert!(serde_json::from_str::<PropertyValue>("[1]").is_err());
        assert!(serde_json::from_str::<PropertyValue>("{}").is_err());
    }

    #[test]
    fn contact_properties_are_sorted_and_mergeable() {
        let mut a = ContactProperties::new().set("b", 1).set("a", "x");
        a.merge(ContactProperties::new().set("b", 2));
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"a":"x","b":2}"#);
    }
}
