//! What the Loops sandbox stores and records, as public read-only snapshots.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::time::serialize_rfc3339;

/// A contact held by the sandbox.
///
/// It serializes to the shape `GET /v1/contacts/find` answers with: `firstName`/`lastName`
/// `null` when unset, `userGroup` `""` when unset, `mailingLists` with subscribed lists only,
/// `optInStatus`, and custom properties as top-level keys.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Contact {
    /// The id the sandbox gave the contact (cuid-like, e.g. `c3k9...`).
    pub id: String,
    /// The email address.
    pub email: String,
    /// Your own id for the contact.
    pub user_id: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Where the contact came from (`"API"` unless set).
    pub source: String,
    /// Subscribed to the audience.
    pub subscribed: bool,
    /// The user group (`""` when unset).
    pub user_group: String,
    /// Mailing lists the contact is subscribed to (only `true` entries are kept).
    pub mailing_lists: BTreeMap<String, bool>,
    /// Double opt-in state (`None` for contacts made through the API).
    pub opt_in_status: Option<String>,
    /// Custom properties.
    pub properties: Map<String, Value>,
    /// Whether the address is on the suppression list.
    pub suppressed: bool,
}

impl Contact {
    pub(crate) fn new(id: String, email: String) -> Self {
        Contact {
            id,
            email,
            user_id: None,
            first_name: None,
            last_name: None,
            source: "API".to_owned(),
            subscribed: true,
            user_group: String::new(),
            mailing_lists: BTreeMap::new(),
            opt_in_status: None,
            properties: Map::new(),
            suppressed: false,
        }
    }

    /// The contact as `GET /v1/contacts/find` shows it (one element of the array).
    pub fn to_find_json(&self) -> Value {
        let mut object = Map::new();
        // Custom properties first, so a default key can never be shadowed by one.
        for (key, value) in &self.properties {
            object.insert(key.clone(), value.clone());
        }
        let lists: Map<String, Value> = self
            .mailing_lists
            .iter()
            .filter(|(_, on)| **on)
            .map(|(id, _)| (id.clone(), Value::Bool(true)))
            .collect();
        let defaults = json!({
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "source": self.source,
            "subscribed": self.subscribed,
            "userGroup": self.user_group,
            "userId": self.user_id,
            "mailingLists": lists,
            "optInStatus": self.opt_in_status,
        });
        if let Value::Object(defaults) = defaults {
            object.extend(defaults);
        }
        Value::Object(object)
    }

    /// `{id, email, userId}`, as webhooks and suppression answers show a contact.
    pub(crate) fn identity_json(&self) -> Value {
        json!({ "id": self.id, "email": self.email, "userId": self.user_id })
    }

    pub(crate) fn matches_email(&self, email: &str) -> bool {
        // Addresses are compared without regard to case, as mail systems do.
        self.email.eq_ignore_ascii_case(email)
    }
}

impl Serialize for Contact {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = self.to_find_json();
        // The inspection API also shows the sandbox-only suppression flag, under a key that
        // cannot be a Loops property.
        if let Value::Object(object) = &mut value {
            object.insert("_suppressed".to_owned(), Value::Bool(self.suppressed));
        }
        value.serialize(serializer)
    }
}

/// An event accepted by `POST /v1/events/send`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecordedEvent {
    /// The contact the event was recorded on.
    pub contact_id: String,
    /// The contact's email (after the request was applied).
    pub email: String,
    /// The contact's `userId` (after the request was applied).
    pub user_id: Option<String>,
    /// `eventName`.
    pub event_name: String,
    /// `eventProperties` as sent.
    pub event_properties: Map<String, Value>,
    /// Contact properties sent along (top-level keys), as sent.
    pub contact_properties: Map<String, Value>,
    /// `mailingLists` as sent.
    pub mailing_lists: BTreeMap<String, bool>,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// When it was accepted.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub at: SystemTime,
}

/// A transactional email accepted by `POST /v1/transactional`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RecordedTransactional {
    /// `transactionalId`.
    pub transactional_id: String,
    /// The recipient.
    pub email: String,
    /// `dataVariables` as sent.
    pub data_variables: Map<String, Value>,
    /// `addToAudience`.
    pub add_to_audience: bool,
    /// The attachments' file names.
    pub attachments: Vec<String>,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// When it was accepted.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub at: SystemTime,
}

/// A send refused because its idempotency key had been used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IdempotencyConflict {
    /// `"POST /v1/events/send"` or `"POST /v1/transactional"`.
    pub endpoint: String,
    /// The repeated key.
    pub idempotency_key: String,
    /// When the repeat arrived.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub at: SystemTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_shape_matches_the_fixture() {
        let mut contact =
            Contact::new("cll6b3i8901a9jx0oyktl2m4u".into(), "hello@gmail.com".into());
        contact.first_name = Some("Bob".into());
        contact.user_id = Some("12345".into());
        contact
            .mailing_lists
            .insert("cm06f5v0e45nf0ml5754o9cix".into(), true);
        contact.mailing_lists.insert("unsubscribed".into(), false);
        contact
            .properties
            .insert("favoriteColor".into(), json!("Blue"));
        let fixture = json!({
            "id": "cll6b3i8901a9jx0oyktl2m4u", "email": "hello@gmail.com", "firstName": "Bob",
            "lastName": null, "source": "API", "subscribed": true, "userGroup": "",
            "userId": "12345", "mailingLists": {"cm06f5v0e45nf0ml5754o9cix": true},
            "optInStatus": null, "favoriteColor": "Blue"
        });
        assert_eq!(contact.to_find_json(), fixture);
        let inspected = serde_json::to_value(&contact).unwrap();
        assert_eq!(inspected["_suppressed"], false);
        assert!(contact.matches_email("HELLO@gmail.com"));
    }
}
