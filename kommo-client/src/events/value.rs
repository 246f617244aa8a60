//! The items of `value_before` / `value_after`: one object per item, named by its only key
//! (`{"lead_status": {...}}`, `{"responsible_user": {...}}`, ...).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::ids::{CustomFieldId, EnumId, NoteId, PipelineId, StatusId, UserId};
use crate::serde_util;

/// A stage: `{"lead_status": {"id": 142, "pipeline_id": 3166396}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StageRef {
    /// The status.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<StatusId>,
    /// Its pipeline (absent for customer statuses).
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
}

/// A user: `{"responsible_user": {"id": 504141}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserRef {
    /// The user.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<UserId>,
}

/// A custom field value: `{"custom_field_value": {"field_id", "field_type", "enum_id",
/// "text"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldValueRef {
    /// The field.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub field_id: Option<CustomFieldId>,
    /// The field type as a number (the legacy numbering).
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub field_type: Option<i64>,
    /// The option, for select-like fields.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub enum_id: Option<EnumId>,
    /// The value as text.
    #[serde(default, deserialize_with = "serde_util::lenient_text")]
    pub text: Option<String>,
}

/// A linked entity: `{"link": {"entity": {"id": 123, "type": "contact"}}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkRef {
    /// The entity id.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<u64>,
    /// `lead`, `contact`, `company`, `customer`, `catalog_element`, ...
    #[serde(
        rename = "type",
        default,
        deserialize_with = "serde_util::lenient_text"
    )]
    pub entity_type: Option<String>,
}

/// A chat message: `{"message": {"id", "talk_id", "origin"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageRef {
    /// The message id.
    #[serde(default, deserialize_with = "serde_util::lenient_text")]
    pub id: Option<String>,
    /// The talk.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub talk_id: Option<u64>,
    /// The channel (`com.amocrm.amocrmwa`, ...).
    #[serde(default, deserialize_with = "serde_util::lenient_text")]
    pub origin: Option<String>,
}

/// One item of an event's `value_before` or `value_after`.
///
/// ```
/// use kommo_client::events::EventValue;
/// use kommo_client::ids::StatusId;
///
/// let v: Vec<EventValue> = serde_json::from_str(
///     r#"[{"lead_status": {"id": 142, "pipeline_id": 3166396}}, {"robot": {"x": 1}}]"#,
/// ).unwrap();
/// assert!(matches!(&v[0], EventValue::LeadStatus(s) if s.id == Some(StatusId::WON)));
/// assert!(matches!(&v[1], EventValue::Other { key, .. } if key == "robot"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventValue {
    /// `lead_status`: a lead's stage.
    LeadStatus(StageRef),
    /// `customer_status`: a customer's status.
    CustomerStatus(StageRef),
    /// `responsible_user`.
    ResponsibleUser(UserRef),
    /// `custom_field_value`.
    CustomFieldValue(FieldValueRef),
    /// `sale_field_value`: `{"sale": 1000}`.
    Sale(Option<f64>),
    /// `name_field_value`: `{"name": "..."}`.
    Name(Option<String>),
    /// `ltv_field_value`: `{"ltv": 1000}`.
    Ltv(Option<f64>),
    /// `tag`: `{"name": "vip"}`.
    Tag(Option<String>),
    /// `link`: `{"entity": {"id", "type"}}`.
    Link(LinkRef),
    /// `note`: `{"id": 42743871}`.
    Note(Option<NoteId>),
    /// `message`.
    Message(MessageRef),
    /// Any other item, kept as sent.
    Other {
        /// Its key.
        key: String,
        /// Its value.
        value: serde_json::Value,
    },
}

#[derive(Deserialize)]
struct SaleBody {
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    sale: Option<f64>,
}

#[derive(Deserialize)]
struct LtvBody {
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    ltv: Option<f64>,
}

#[derive(Deserialize)]
struct NameBody {
    #[serde(default, deserialize_with = "serde_util::lenient_text")]
    name: Option<String>,
}

#[derive(Deserialize)]
struct LinkBody {
    #[serde(default, deserialize_with = "serde_util::lenient_object")]
    entity: Option<LinkRef>,
}

#[derive(Deserialize)]
struct NoteBody {
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    id: Option<NoteId>,
}

enum Key {
    LeadStatus,
    CustomerStatus,
    ResponsibleUser,
    CustomFieldValue,
    Sale,
    Name,
    Ltv,
    Tag,
    Link,
    Note,
    Message,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value kind")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "lead_status" => Key::LeadStatus,
                    "customer_status" => Key::CustomerStatus,
                    "responsible_user" => Key::ResponsibleUser,
                    "custom_field_value" => Key::CustomFieldValue,
                    "sale_field_value" => Key::Sale,
                    "name_field_value" => Key::Name,
                    "ltv_field_value" => Key::Ltv,
                    "tag" => Key::Tag,
                    "link" => Key::Link,
                    "note" => Key::Note,
                    "message" => Key::Message,
                    other => Key::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// A body decoded straight from the input (no JSON tree in between): an object is read
/// into `T`, whose members are all lenient, and anything else (`null`, `[]`, a string) is
/// `None`, so an odd item never fails the page.
struct Body<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Body<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Body<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Body<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Body(Some(t)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body<T>, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Body(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Body<T>, E> {
                Ok(Body(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Body<T>, E> {
                Ok(Body(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Body<T>, E> {
                Ok(Body(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Body<T>, E> {
                Ok(Body(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Body<T>, E> {
                Ok(Body(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Body<T>, E> {
                Ok(Body(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Body<T>, E> {
                Ok(Body(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn known<'de, A, T>(
    map: &mut A,
    key: &str,
    wrap: impl FnOnce(T) -> EventValue,
) -> Result<EventValue, A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    Ok(match map.next_value::<Body<T>>()?.0 {
        Some(body) => wrap(body),
        None => EventValue::Other {
            key: key.to_owned(),
            value: serde_json::Value::Null,
        },
    })
}

impl<'de> Deserialize<'de> for EventValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EventValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with one member")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventValue, A::Error> {
                let Some(key) = map.next_key::<Key>()? else {
                    return Ok(EventValue::Other {
                        key: String::new(),
                        value: serde_json::Value::Null,
                    });
                };
                let value = match key {
                    Key::LeadStatus => known(&mut map, "lead_status", EventValue::LeadStatus)?,
                    Key::CustomerStatus => {
                        known(&mut map, "customer_status", EventValue::CustomerStatus)?
                    }
                    Key::ResponsibleUser => {
                        known(&mut map, "responsible_user", EventValue::ResponsibleUser)?
                    }
                    Key::CustomFieldValue => {
                        known(&mut map, "custom_field_value", EventValue::CustomFieldValue)?
                    }
                    Key::Sale => known(&mut map, "sale_field_value", |b: SaleBody| {
                        EventValue::Sale(b.sale)
                    })?,
                    Key::Name => known(&mut map, "name_field_value", |b: NameBody| {
                        EventValue::Name(b.name)
                    })?,
                    Key::Ltv => known(&mut map, "ltv_field_value", |b: LtvBody| {
                        EventValue::Ltv(b.ltv)
                    })?,
                    Key::Tag => known(&mut map, "tag", |b: NameBody| EventValue::Tag(b.name))?,
                    Key::Link => known(&mut map, "link", |b: LinkBody| {
                        EventValue::Link(b.entity.unwrap_or(LinkRef {
                            id: None,
                            entity_type: None,
                        }))
                    })?,
                    Key::Note => known(&mut map, "note", |b: NoteBody| EventValue::Note(b.id))?,
                    Key::Message => known(&mut map, "message", EventValue::Message)?,
                    Key::Other(key) => EventValue::Other {
                        value: map.next_value()?,
                        key,
                    },
                };
                // Items have one member; any further ones are skipped.
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(value)
            }
        }
        d.deserialize_map(V)
    }
}

/// `value_before` / `value_after`: a list of items; `null`, `{}` or a lone object read as
/// what they mean (nothing, nothing, one item).
pub(crate) fn values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<EventValue>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<EventValue>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of event values")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
            while let Some(item) = seq.next_element::<Option<EventValue>>()? {
                out.extend(item);
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let one = EventValue::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(match one {
                EventValue::Other { key, .. } if key.is_empty() => Vec::new(),
                one => vec![one],
            })
        }
    }
    d.deserialize_any(V)
}

impl Serialize for EventValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde_json::json;
        let (key, body) = match self {
            EventValue::LeadStatus(v) => ("lead_status", json!(v)),
            EventValue::CustomerStatus(v) => ("customer_status", json!(v)),
            EventValue::ResponsibleUser(v) => ("responsible_user", json!(v)),
            EventValue::CustomFieldValue(v) => ("custom_field_value", json!(v)),
            EventValue::Sale(v) => ("sale_field_value", json!({ "sale": v })),
            EventValue::Name(v) => ("name_field_value", json!({ "name": v })),
            EventValue::Ltv(v) => ("ltv_field_value", json!({ "ltv": v })),
            EventValue::Tag(v) => ("tag", json!({ "name": v })),
            EventValue::Link(v) => ("link", json!({ "entity": v })),
            EventValue::Note(v) => ("note", json!({ "id": v })),
            EventValue::Message(v) => ("message", json!(v)),
            EventValue::Other { key, value } => (key.as_str(), value.clone()),
        };
        let mut map = serde_json::Map::with_capacity(1);
        map.insert(key.to_owned(), body);
        map.serialize(s)
    }
}
