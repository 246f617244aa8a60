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
