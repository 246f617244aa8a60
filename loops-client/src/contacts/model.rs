//! Contacts as Loops returns them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::json::null_as_default;

/// The id Loops gave a contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(transparent)]
pub struct ContactId(pub String);

impl ContactId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A contact's double opt-in state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OptInStatus {
    /// Waiting for confirmation.
    Pending,
    /// Confirmed.
    Accepted,
    /// Declined.
    Rejected,
    /// A value this crate does not know yet.
    Other(String),
}

impl<'de> Deserialize<'de> for OptInStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Ok(match s.as_str() {
            "pending" => OptInStatus::Pending,
            "accepted" => OptInStatus::Accepted,
            "rejected" => OptInStatus::Rejected,
            _ => OptInStatus::Other(s),
        })
    }
}

impl Serialize for OptInStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(match self {
            OptInStatus::Pending => "pending",
            OptInStatus::Accepted => "accepted",
            OptInStatus::Rejected => "rejected",
            OptInStatus::Other(s) => s,
        })
    }
}

/// A contact as Loops returns it (find, and the `contact.created` webhook).
///
/// Custom properties are in [`properties`](Self::properties), keyed as in Loops.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Contact {
    /// Loops' id for the contact.
    pub id: String,
    /// The email address.
    #[serde(default)]
    pub email: String,
    /// First name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Where the contact came from (`API`, `Form`, ... casing varies).
    #[serde(default)]
    pub source: Option<String>,
    /// Whether the contact is subscribed to the audience.
    #[serde(default)]
    pub subscribed: Option<bool>,
    /// The user group (`""` when unset).
    #[serde(default)]
    pub user_group: Option<String>,
    /// Your own id for the contact.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The mailing lists the contact is subscribed to (always `true`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub mailing_lists: BTreeMap<String, bool>,
    /// Double opt-in state, `None` unless the contact came through a double opt-in form.
    #[serde(default)]
    pub opt_in_status: Option<OptInStatus>,
    /// Every other key: the custom properties.
    #[serde(flatten)]
    pub properties: BTreeMap<String, serde_json::Value>,
}

impl Contact {
    /// One custom property.
    pub fn property(&self, name: &str) -> Option<&serde_json::Value> {
        self.properties.get(name)
    }
}

/// The answer to a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteContactResponse {
    /// Loops' confirmation message (`None` when an earlier attempt had already deleted it).
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_tolerate_nulls_and_unknown_opt_in() {
        let contact: Contact = serde_json::from_str(
            r#"{"id":"c1","email":"a@b.c","mailingLists":null,"optInStatus":"someday","score":3}"#,
        )
        .unwrap();
        assert!(contact.mailing_lists.is_empty());
        assert_eq!(
            contact.opt_in_status,
            Some(OptInStatus::Other("someday".into()))
        );
        assert_eq!(contact.property("score"), Some(&serde_json::json!(3)));
    }
}
