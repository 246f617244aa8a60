//! What was last delivered to Loops per contact: the hash that lets an upsert identical to it
//! be skipped (docs/architecture.md, "Skipping unchanged upserts").

use std::collections::BTreeMap;
use std::sync::Arc;

use loops_client::value::PropertyValue;
use sha2::{Digest, Sha256};

use crate::plan::{SendEvent, UpsertContact};
use crate::text::push_hex;

/// The contact part of an upsert (or of an event carrying one): what Loops is asked to store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ContactPart<'a> {
    pub email: &'a str,
    pub user_id: Option<&'a str>,
    pub properties: &'a BTreeMap<Arc<str>, PropertyValue>,
    pub mailing_lists: &'a BTreeMap<String, bool>,
}

impl<'a> ContactPart<'a> {
    pub(crate) fn of_upsert(a: &'a UpsertContact) -> Self {
        ContactPart {
            email: &a.email,
            user_id: a.user_id.as_deref(),
            properties: &a.properties,
            mailing_lists: &a.mailing_lists,
        }
    }

    /// The contact part of an event that carries an upsert.
    pub(crate) fn of_event(a: &'a SendEvent) -> Self {
        ContactPart {
            email: &a.email,
            user_id: a.user_id.as_deref(),
            properties: &a.contact_properties,
            mailing_lists: &a.mailing_lists,
        }
    }

    /// The key the hash is stored under: the email, lowercased (the contact's partition).
    pub(crate) fn contact(&self) -> String {
        self.email.to_lowercase()
    }

    /// SHA-256 of the part's canonical JSON (maps sorted by key), in hex.
    pub(crate) fn hash(&self) -> String {
        let canonical = serde_json::json!({
            "email": self.email,
            "userId": self.user_id,
            "properties": self.properties,
            "mailingLists": self.mailing_lists,
        });
        let mut hex = String::with_capacity(64);
        push_hex(&mut hex, &Sha256::digest(canonical.to_string().as_bytes()));
        hex
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(
        email: &str,
        user: Option<&str>,
        props: &[(&str, &str)],
        lists: &[(&str, bool)],
    ) -> String {
        let properties: BTreeMap<Arc<str>, PropertyValue> = props
            .iter()
            .map(|(k, v)| (Arc::from(*k), PropertyValue::from(*v)))
            .collect();
        let mailing_lists: BTreeMap<String, bool> =
            lists.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        ContactPart {
            email,
            user_id: user,
            properties: &properties,
            mailing_lists: &mailing_lists,
        }
        .hash()
    }

    #[test]
    fn the_hash_changes_with_every_part_and_nothing_else() {
        let base = hash(
            "a@x.io",
            None,
            &[("firstName", "Ada"), ("plan", "pro")],
            &[("l1", true)],
        );
        assert_eq!(base.len(), 64);
        let same_in_other_order = hash(
            "a@x.io",
            None,
            &[("plan", "pro"), ("firstName", "Ada")],
            &[("l1", true)],
        );
        assert_eq!(base, same_in_other_order);
        let different = [
            (
                "email",
                hash(
                    "b@x.io",
                    None,
                    &[("firstName", "Ada"), ("plan", "pro")],
                    &[("l1", true)],
                ),
            ),
            (
                "userId",
                hash(
                    "a@x.io",
                    Some("u1"),
                    &[("firstName", "Ada"), ("plan", "pro")],
                    &[("l1", true)],
                ),
            ),
            (
                "a value",
                hash(
                    "a@x.io",
                    None,
                    &[("firstName", "Ada"), ("plan", "team")],
                    &[("l1", true)],
                ),
            ),
            (
                "a property fewer",
                hash("a@x.io", None, &[("firstName", "Ada")], &[("l1", true)]),
            ),
            (
                "a list",
                hash(
                    "a@x.io",
                    None,
                    &[("firstName", "Ada"), ("plan", "pro")],
                    &[("l1", false)],
                ),
            ),
            (
                "no list",
                hash(
                    "a@x.io",
                    None,
                    &[("firstName", "Ada"), ("plan", "pro")],
                    &[],
                ),
            ),
        ];
        for (what, other) in different {
            assert_ne!(base, other, "{what}");
        }
    }
}
