//! Shapes shared by several resources: HAL links, tags, embedded references, entity types and
//! the results of batch writes.

use serde::{Deserialize, Serialize};

use crate::ids::{CompanyId, ContactId, TagId};
use crate::serde_util;

/// One HAL link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Link {
    /// The URL.
    #[serde(default)]
    pub href: String,
}

/// The `_links` object of an entity or a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct Links {
    /// `self`.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<Link>,
    /// `next` (pages only; absent on the last page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
    /// `prev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev: Option<Link>,
}

/// A tag attached to an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// The tag id (scoped per entity type).
    pub id: TagId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The color (leads only), e.g. `DDEBB5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// A tag reference in a write: by id or by name (send one, never both: Kommo mishandles both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TagRef {
    /// An existing tag.
    Id {
        /// The tag id.
        id: TagId,
    },
    /// A tag by name (created if missing, per Kommo's examples).
    Name {
        /// The tag name.
        name: String,
    },
}

impl TagRef {
    /// A tag by id.
    #[must_use]
    pub fn id(id: TagId) -> Self {
        TagRef::Id { id }
    }

    /// A tag by name.
    #[must_use]
    pub fn name(name: impl Into<String>) -> Self {
        TagRef::Name { name: name.into() }
    }
}

impl From<&str> for TagRef {
    fn from(name: &str) -> Self {
        TagRef::name(name)
    }
}

impl From<String> for TagRef {
    fn from(name: String) -> Self {
        TagRef::Name { name }
    }
}

impl From<TagId> for TagRef {
    fn from(id: TagId) -> Self {
        TagRef::Id { id }
    }
}

/// A contact linked to a lead (`_embedded.contacts[]` of a lead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkedContact {
    /// The contact id.
    pub id: ContactId,
    /// Whether this is the lead's main contact.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_main: Option<bool>,
}

/// A company linked to a lead or contact (`_embedded.companies[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkedCompany {
    /// The company id.
    pub id: CompanyId,
}

/// A linked entity by id (`_embedded.leads[]`, `_embedded.contacts[]` of a company, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkedEntity {
    /// The id.
    pub id: u64,
}

/// The main entity types, as they appear in paths (`/api/v4/{type}/...`) and `entity_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntityType {
    /// `leads`.
    Leads,
    /// `contacts`.
    Contacts,
    /// `companies`.
    Companies,
    /// `customers`.
    Customers,
}

impl EntityType {
    /// The path segment.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Leads => "leads",
            EntityType::Contacts => "contacts",
            EntityType::Companies => "companies",
            EntityType::Customers => "customers",
        }
    }
}

/// The result of one entity in a batch add or update: the id, the echoed `request_id`, and
/// `updated_at` where the API returns it.
pub type WriteResult = crate::error::BatchItemResult;

/// A HAL collection page: `{_page, _links, _embedded: {<key>: [...]}}`. What the
/// `list_page` calls return; a `204 No Content` is an empty page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The page number, when the API sent one.
    pub page: Option<u64>,
    /// `_total_items`, for collections that report it (pipelines, webhooks, users).
    pub total_items: Option<u64>,
    /// `_links`: `self`, and `next` / `prev` when such a page exists.
    pub links: Links,
}

impl<T> Page<T> {
    /// `_links.next.href`, when there is a next page.
    #[must_use]
    pub fn next_href(&self) -> Option<&str> {
        self.links
            .next
            .as_ref()
            .map(|l| l.href.as_str())
            .filter(|h| !h.is_empty())
    }
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            page: None,
            total_items: None,
            links: Links::default(),
        }
    }
}

impl<T: serde::de::DeserializeOwned> Page<T> {
    /// Parses a HAL page whose items live under `_embedded.<key>`. A missing `_embedded` or
    /// key is an empty page.
    ///
    /// # Errors
    ///
    /// The JSON error when the body or an item does not match.
    pub fn from_hal(value: serde_json::Value, key: &str) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(
                rename = "_page",
                default,
                deserialize_with = "serde_util::lenient_i64"
            )]
            page: Option<i64>,
            #[serde(
                rename = "_total_items",
                default,
                deserialize_with = "serde_util::lenient_i64"
            )]
            total_items: Option<i64>,
            #[serde(rename = "_links", default)]
            links: Option<Links>,
            #[serde(rename = "_embedded", default)]
            embedded: Option<serde_json::Map<String, serde_json::Value>>,
        }
        let raw: Raw = serde_json::from_value(value)?;
        let items = match raw.embedded.and_then(|mut e| e.remove(key)) {
            Some(serde_json::Value::Null) | None => Vec::new(),
            Some(v) => serde_json::from_value(v)?,
        };
        Ok(Page {
            items,
            page: raw.page.and_then(|p| u64::try_from(p).ok()),
            total_items: raw.total_items.and_then(|p| u64::try_from(p).ok()),
            links: raw.links.unwrap_or_default(),
        })
    }
}

impl<T: serde::de::DeserializeOwned> Page<T> {
    /// Parses a HAL page straight from the response bytes, without building a JSON tree
    /// first: only the items under `_embedded.<key>` are decoded, every other member is
    /// skipped. What the client's lists use; the same result as [`Page::from_hal`].
    ///
    /// ```
    /// use kommo_client::common::{LinkedEntity, Page};
    /// let body = br#"{"_page": 2, "_embedded": {"leads": [{"id": 1}], "other": [1, 2]}}"#;
    /// let page: Page<LinkedEntity> = Page::from_hal_slice(body, "leads").unwrap();
    /// assert_eq!((page.items.len(), page.page), (1, Some(2)));
    /// ```
    ///
    /// # Errors
    ///
    /// The JSON error when the body or an item does not match.
    pub fn from_hal_slice(body: &[u8], key: &str) -> Result<Self, serde_json::Error> {
        use serde::de::DeserializeSeed;
        let mut de = serde_json::Deserializer::from_slice(body);
        let page = hal::PageSeed::<T>::new(key).deserialize(&mut de)?;
        de.end()?;
        Ok(page)
    }
}

/// The seeds that pick `_embedded.<key>` out of a HAL body while it is read.
mod hal {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    use super::{Links, Page};
    use crate::serde_util;

    pub(super) struct PageSeed<'k, T> {
        key: &'k str,
        item: PhantomData<T>,
    }

    impl<'k, T> PageSeed<'k, T> {
        pub(super) fn new(key: &'k str) -> Self {
            Self {
                key,
                item: PhantomData,
            }
        }
    }

    impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for PageSeed<'_, T> {
        type Value = Page<T>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Page<T>, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de, T: DeserializeOwned> Visitor<'de> for PageSeed<'_, T> {
        type Value = Page<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a HAL collection object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page<T>, A::Error> {
            let mut page = Page::default();
            while let Some(name) = map.next_key::<HalKey>()? {
                match name {
                    HalKey::Page => {
                        let v = map.next_value_seed(Lenient)?;
                        page.page = v.and_then(|p| u64::try_from(p).ok());
                    }
                    HalKey::Total => {
                        let v = map.next_value_seed(Lenient)?;
                        page.total_items = v.and_then(|p| u64::try_from(p).ok());
                    }
                    HalKey::Links => {
                        page.links = map.next_value::<Option<Links>>()?.unwrap_or_default();
                    }
                    HalKey::Embedded => {
                        page.items = map.next_value_seed(EmbeddedSeed::<T> {
                            key: self.key,
                            item: PhantomData,
                        })?;
                    }
                    HalKey::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(page)
        }
    }

    enum HalKey {
        Page,
        Total,
        Links,
        Embedded,
        Other,
    }

    impl<'de> de::Deserialize<'de> for HalKey {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = HalKey;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a member name")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<HalKey, E> {
                    Ok(match v {
                        "_page" => HalKey::Page,
                        "_total_items" => HalKey::Total,
                        "_links" => HalKey::Links,
                        "_embedded" => HalKey::Embedded,
                        _ => HalKey::Other,
                    })
                }
            }
            d.deserialize_str(V)
        }
    }

    /// `_page` and `_total_items`: numbers or numeric strings.
    struct Lenient;

    impl<'de> DeserializeSeed<'de> for Lenient {
        type Value = Option<i64>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<i64>, D::Error> {
            serde_util::lenient_i64(d)
        }
    }

    struct EmbeddedSeed<'k, T> {
        key: &'k str,
        item: PhantomData<T>,
    }

    impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for EmbeddedSeed<'_, T> {
        type Value = Vec<T>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de, T: DeserializeOwned> Visitor<'de> for EmbeddedSeed<'_, T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the _embedded object")
        }

        // Kommo sends `[]` or `null` for an empty `_embedded` now and then.
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Vec::new())
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
            let mut items = Vec::new();
            while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if name == self.key {
                    items = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hal_page_shapes() {
        let p: Page<LinkedEntity> = Page::from_hal(
            json!({"_page": "2", "_links": {"next": {"href": "https://x/api?page=3"}}, "_embedded": {"leads": [{"id": 1}]}}),
            "leads",
        )
        .unwrap();
        assert_eq!(
            (p.items.len(), p.page, p.next_href()),
            (1, Some(2), Some("https://x/api?page=3"))
        );
        let empty: Page<LinkedEntity> = Page::from_hal(json!({"_links": {}}), "leads").unwrap();
        assert!(empty.items.is_empty() && empty.next_href().is_none());
        let blank: Page<LinkedEntity> =
            Page::from_hal(json!({"_links": {"next": {"href": ""}}}), "leads").unwrap();
        assert!(blank.next_href().is_none(), "an empty href is no next page");
        let null: Page<LinkedEntity> =
            Page::from_hal(json!({"_embedded": {"leads": null}}), "leads").unwrap();
        assert!(null.items.is_empty());
        assert_eq!(
            serde_json::to_string(&TagRef::from("vip")).unwrap(),
            r#"{"name":"vip"}"#
        );
        assert_eq!(
            serde_json::to_string(&TagRef::from(TagId(3))).unwrap(),
            r#"{"id":3}"#
        );
    }
}
