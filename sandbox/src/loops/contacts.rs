//! Contact rules: how a create/update/event body changes a contact.
//!
//! Every check runs before anything changes, so a 400 or 409 leaves the store untouched.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::config::PropertyKind;
use super::model::Contact;
use super::request::{ApiError, is_valid_email, optional_string};
use super::state::{DEFAULT_PROPERTIES, RESERVED_NAMES, State};

/// Keys with a meaning of their own in contact bodies; never custom properties.
const IDENTITY_KEYS: &[&str] = &["email", "userId", "mailingLists"];

/// Default properties the API does not set: `notes` is UI-only, `createdAt` is Loops' own, and
/// `optInStatus` follows the double opt-in flow. They are ignored when sent.
const IGNORED_KEYS: &[&str] = &["notes", "createdAt", "optInStatus"];

/// A change to a default string property: absent, reset (`null`) or set.
type Change = Option<Option<String>>;

/// What a create/update/event body asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ContactInput {
    pub(crate) email: Option<String>,
    pub(crate) user_id: Option<String>,
    first_name: Change,
    last_name: Change,
    source: Change,
    user_group: Change,
    subscribed: Option<bool>,
    custom: Map<String, Value>,
    pub(crate) mailing_lists: BTreeMap<String, bool>,
    /// Every property key as sent (defaults and custom), for the event record.
    pub(crate) sent_properties: Map<String, Value>,
}

impl ContactInput {
    /// Reads a body; `skip` names keys that belong to the endpoint (e.g. `eventName`).
    pub(crate) fn parse(body: &Map<String, Value>, skip: &[&str]) -> Result<Self, ApiError> {
        let mut input = ContactInput {
            email: optional_string(body, "email")?,
            user_id: optional_string(body, "userId")?,
            mailing_lists: parse_mailing_lists(body.get("mailingLists"))?,
            ..ContactInput::default()
        };
        if let Some(email) = &input.email
            && !is_valid_email(email)
        {
            return Err(
                ApiError::bad_request("Invalid email address.").with("path", "email".into())
            );
        }
        if input.user_id.as_deref() == Some("") {
            input.user_id = None;
        }
        for (key, value) in body {
            let key = key.as_str();
            if IDENTITY_KEYS.contains(&key) || IGNORED_KEYS.contains(&key) || skip.contains(&key) {
                continue;
            }
            input.sent_properties.insert(key.to_owned(), value.clone());
            match key {
                "firstName" => input.first_name = Some(string_or_null(key, value)?),
                "lastName" => input.last_name = Some(string_or_null(key, value)?),
                "source" => input.source = Some(string_or_null(key, value)?),
                "userGroup" => input.user_group = Some(string_or_null(key, value)?),
                "subscribed" => match value {
                    Value::Bool(b) => input.subscribed = Some(*b),
                    Value::Null => {}
                    _ => return Err(type_error(key, "a boolean")),
                },
                _ if RESERVED_NAMES.contains(&key) => {
                    return Err(ApiError::bad_request(format!(
                        "`{key}` is a reserved name and cannot be set."
                    )));
                }
                _ => match value {
                    Value::Array(_) | Value::Object(_) => {
                        return Err(type_error(key, "a string, number, boolean or null"));
                    }
                    scalar => {
                        input.custom.insert(key.to_owned(), scalar.clone());
                    }
                },
            }
        }
        Ok(input)
    }

    /// Checks the custom properties and lists against the store. Returns the properties to
    /// create first when `strict` is off.
    pub(crate) fn check(
        &self,
        state: &State,
        strict: bool,
    ) -> Result<Vec<(String, PropertyKind)>, ApiError> {
        let mut to_create = Vec::new();
        for (key, value) in &self.custom {
            if state.custom_property(key).is_some() {
                continue;
            }
            if strict {
                return Err(ApiError::bad_request(format!(
                    "Contact property `{key}` does not exist. Create it first."
                ))
                .with("path", key.clone().into()));
            }
            let kind = match value {
                Value::Bool(_) => PropertyKind::Boolean,
                Value::Number(_) => PropertyKind::Number,
                _ => PropertyKind::String,
            };
            // A `null` for a property that never existed resets nothing; no need to create it.
            if !value.is_null() {
                to_create.push((key.clone(), kind));
            }
        }
        for list in self.mailing_lists.keys() {
            if !state.list_exists(list) {
                return Err(ApiError::bad_request(format!(
                    "Mailing list `{list}` does not exist."
                ))
                .with("path", "mailingLists".into()));
            }
        }
        Ok(to_create)
    }

    /// Changes the contact. Call [`check`](Self::check) first.
    pub(crate) fn apply(&self, contact: &mut Contact) {
        if let Some(email) = &self.email {
            contact.email = email.clone();
        }
        if let Some(user_id) = &self.user_id {
            contact.user_id = Some(user_id.clone());
        }
        if let Some(value) = &self.first_name {
            contact.first_name = value.clone();
        }
        if let Some(value) = &self.last_name {
            contact.last_name = value.clone();
        }
        if let Some(value) = &self.source {
            contact.source = value.clone().unwrap_or_else(|| "API".to_owned());
        }
        if let Some(value) = &self.user_group {
            contact.user_group = value.clone().unwrap_or_default();
        }
        if let Some(subscribed) = self.subscribed {
            contact.subscribed = subscribed;
        }
        for (key, value) in &self.custom {
            if value.is_null() {
                contact.properties.remove(key);
            } else {
                contact.properties.insert(key.clone(), value.clone());
            }
        }
        for (list, on) in &self.mailing_lists {
            // Loops: contacts unsubscribed from the audience cannot be added to lists.
            if *on && contact.subscribed {
                contact.mailing_lists.insert(list.clone(), true);
            } else if !*on {
                contact.mailing_lists.remove(list);
            }
        }
    }
}

fn type_error(key: &str, expected: &str) -> ApiError {
    ApiError::bad_request(format!("`{key}` must be {expected}.")).with("path", key.into())
}

fn string_or_null(key: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::String(s) => Ok(Some(s.clone())),
        Value::Null => Ok(None),
        _ => Err(type_error(key, "a string or null")),
    }
}

fn parse_mailing_lists(value: Option<&Value>) -> Result<BTreeMap<String, bool>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        // PHP sends `[]` for an empty map.
        Some(Value::Array(items)) if items.is_empty() => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(id, on)| match on {
                Value::Bool(b) => Ok((id.clone(), *b)),
                _ => Err(type_error("mailingLists", "a map of list ids to booleans")),
            })
            .collect(),
        Some(_) => Err(type_error("mailingLists", "a map of list ids to booleans")),
    }
}

fn create_properties(state: &mut State, properties: Vec<(String, PropertyKind)>) {
    for (name, kind) in properties {
        if state.custom_property(&name).is_none() {
            state.custom_properties.push((name, kind));
        }
    }
}

/// `POST /v1/contacts/create`: 409 when the email or the userId is taken.
pub(crate) fn create(
    state: &mut State,
    input: &ContactInput,
    strict: bool,
) -> Result<usize, ApiError> {
    let Some(email) = &input.email else {
        return Err(ApiError::bad_request("An email is required.").with("path", "email".into()));
    };
    let taken = state.by_email(email).is_some()
        || input
            .user_id
            .as_deref()
            .is_some_and(|id| state.by_user_id(id).is_some());
    if taken {
        return Err(ApiError::conflict("Email or userId is already on list."));
    }
    let to_create = input.check(state, strict)?;
    create_properties(state, to_create);
    let id = state.new_id();
    let mut contact = Contact::new(id, email.clone());
    input.apply(&mut contact);
    state.contacts.push(contact);
    Ok(state.contacts.len() - 1)
}

/// `PUT /v1/contacts/update` and the contact part of `POST /v1/events/send`: finds the contact
/// by either identifier and updates it (filling in the other identifier), or creates it.
///
/// - email only: update, or create.
/// - userId only: update, or 400 (Loops cannot create a contact without an email).
/// - both: a contact matching either is updated and gets the other identifier (this is how an
///   email changes); none matching creates one; two different contacts matching is a 400.
pub(crate) fn upsert(
    state: &mut State,
    input: &ContactInput,
    strict: bool,
) -> Result<usize, ApiError> {
    let by_email = input.email.as_deref().and_then(|e| state.by_email(e));
    let by_user = input.user_id.as_deref().and_then(|u| state.by_user_id(u));
    let target = match (&input.email, &input.user_id, by_email, by_user) {
        (None, None, _, _) => {
            return Err(ApiError::bad_request("An email or userId is required."));
        }
        (None, Some(_), _, None) => {
            return Err(ApiError::bad_request(
                "No contact has this userId. Send an email to create the contact.",
            )
            .with("path", "userId".into()));
        }
        (_, _, Some(a), Some(b)) if a != b => {
            return Err(ApiError::bad_request(
                "The email and the userId belong to different contacts.",
            ));
        }
        (_, _, Some(index), _) | (_, _, None, Some(index)) => Some(index),
        (Some(_), _, None, None) => None,
    };
    let to_create = input.check(state, strict)?;
    create_properties(state, to_create);
    let index = match target {
        Some(index) => index,
        None => {
            let id = state.new_id();
            let email = input.email.clone().unwrap_or_default();
            state.contacts.push(Contact::new(id, email));
            state.contacts.len() - 1
        }
    };
    input.apply(&mut state.contacts[index]);
    Ok(index)
}

/// Checks a new custom property name: not empty, letters and digits only starting with a
/// letter (Loops asks for camelCase), not reserved, not taken.
pub(crate) fn check_new_property(state: &State, name: &str) -> Result<(), ApiError> {
    let well_formed = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if !well_formed {
        return Err(ApiError::bad_request(
            "The property name must be in camelCase (letters and digits, starting with a letter).",
        ));
    }
    if RESERVED_NAMES.contains(&name) || IDENTITY_KEYS.contains(&name) {
        return Err(ApiError::bad_request(format!(
            "`{name}` is a reserved name."
        )));
    }
    let is_default = DEFAULT_PROPERTIES.iter().any(|(key, _, _)| *key == name);
    if is_default || state.custom_property(name).is_some() {
        return Err(ApiError::bad_request(format!(
            "A property named `{name}` already exists."
        )));
    }
    Ok(())
}

/// `favoriteColor` → `Favorite Color`, as Loops labels properties.
pub(crate) fn label_for(key: &str) -> String {
    let mut label = String::with_capacity(key.len() + 4);
    for (i, c) in key.chars().enumerate() {
        if i == 0 {
            label.extend(c.to_uppercase());
        } else if c.is_ascii_uppercase() {
            label.push(' ');
            label.push(c);
        } else {
            label.push(c);
        }
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loops::config::{Config, MailingListSeed};
    use serde_json::json;

    fn state() -> State {
        State::new(
            &Config::default()
                .custom_property("plan", PropertyKind::String)
                .list(MailingListSeed::new("l1", "List")),
        )
    }

    fn input(body: Value) -> Result<ContactInput, ApiError> {
        let Value::Object(body) = body else {
            unreachable!()
        };
        ContactInput::parse(&body, &["eventName", "eventProperties"])
    }

    #[test]
    fn parsing() {
        let parsed = input(json!({
            "email": "a@b.co", "userId": "u1", "firstName": "Ada", "lastName": null,
            "plan": "pro", "mailingLists": {"l1": true}, "notes": "x", "eventName": "e"
        }))
        .unwrap();
        assert_eq!(parsed.first_name, Some(Some("Ada".into())));
        assert_eq!(parsed.last_name, Some(None));
        assert_eq!(parsed.custom["plan"], "pro");
        assert!(!parsed.sent_properties.contains_key("notes"));
        assert!(!parsed.sent_properties.contains_key("eventName"));
        assert_eq!(
            input(json!({"mailingLists": []}))
                .unwrap()
                .mailing_lists
                .len(),
            0
        );

        for bad in [
            json!({"email": "nope"}),
            json!({"email": 3}),
            json!({"teamId": "x"}),
            json!({"plan": [1]}),
            json!({"subscribed": "yes"}),
            json!({"firstName": 1}),
            json!({"mailingLists": {"l1": "yes"}}),
        ] {
            assert!(input(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_then_conflict() {
        let mut state = state();
        let i = input(json!({"email": "a@b.co", "userId": "u1"})).unwrap();
        create(&mut state, &i, true).unwrap();
        let err = create(
            &mut state,
            &input(json!({"email": "A@B.co"})).unwrap(),
            true,
        )
        .unwrap_err();
        assert_eq!(err.status, 409);
        let err = create(
            &mut state,
            &input(json!({"email": "c@d.co", "userId": "u1"})).unwrap(),
            true,
        )
        .unwrap_err();
        assert_eq!(err.status, 409);
        // Unknown property or list: 400 and nothing created.
        for body in [
            json!({"email": "e@f.co", "color": "red"}),
            json!({"email": "e@f.co", "mailingLists": {"nope": true}}),
        ] {
            assert_eq!(
                create(&mut state, &input(body).unwrap(), true)
                    .unwrap_err()
                    .status,
                400
            );
        }
        assert_eq!(state.contacts.len(), 1);
        // Non-strict mode creates the property.
        create(
            &mut state,
            &input(json!({"email": "e@f.co", "color": "red", "score": 3})).unwrap(),
            false,
        )
        .unwrap();
        assert_eq!(state.custom_property("score"), Some(PropertyKind::Number));
    }

    #[test]
    fn upsert_rules() {
        let mut state = state();
        // Email only creates, then updates.
        let a = upsert(
            &mut state,
            &input(json!({"email": "a@b.co", "plan": "pro"})).unwrap(),
            true,
        )
        .unwrap();
        let again = upsert(
            &mut state,
            &input(json!({"email": "a@b.co", "plan": null})).unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(a, again);
        assert!(state.contacts[a].properties.is_empty());
        // userId alone, unknown: 400.
        assert_eq!(
            upsert(&mut state, &input(json!({"userId": "u9"})).unwrap(), true)
                .unwrap_err()
                .status,
            400
        );
        // Both: the email matches, the userId is filled in.
        upsert(
            &mut state,
            &input(json!({"email": "a@b.co", "userId": "u1"})).unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(state.contacts[a].user_id.as_deref(), Some("u1"));
        // Email change through the userId.
        upsert(
            &mut state,
            &input(json!({"email": "new@b.co", "userId": "u1"})).unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(state.contacts[a].email, "new@b.co");
        assert_eq!(state.contacts.len(), 1);
        // Two different contacts: 400.
        upsert(
            &mut state,
            &input(json!({"email": "x@y.co"})).unwrap(),
            true,
        )
        .unwrap();
        let err = upsert(
            &mut state,
            &input(json!({"email": "x@y.co", "userId": "u1"})).unwrap(),
            true,
        )
        .unwrap_err();
        assert_eq!(err.status, 400);
        // Neither matches: created with both.
        let n = upsert(
            &mut state,
            &input(json!({"email": "n@y.co", "userId": "u2"})).unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(state.contacts[n].user_id.as_deref(), Some("u2"));
    }

    #[test]
    fn lists_follow_the_audience() {
        let mut state = state();
        let i = upsert(
            &mut state,
            &input(json!({"email": "a@b.co", "subscribed": false, "mailingLists": {"l1": true}}))
                .unwrap(),
            true,
        )
        .unwrap();
        assert!(state.contacts[i].mailing_lists.is_empty());
        upsert(
            &mut state,
            &input(json!({"email": "a@b.co", "subscribed": true, "mailingLists": {"l1": true}}))
                .unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(state.contacts[i].mailing_lists.len(), 1);
        upsert(
            &mut state,
            &input(json!({"email": "a@b.co", "mailingLists": {"l1": false}})).unwrap(),
            true,
        )
        .unwrap();
        assert!(state.contacts[i].mailing_lists.is_empty());
    }

    #[test]
    fn property_names() {
        let state = state();
        assert!(check_new_property(&state, "planName").is_ok());
        for bad in [
            "",
            "plan name",
            "1abc",
            "teamId",
            "plan",
            "email",
            "firstName",
            "mailingLists",
        ] {
            assert!(check_new_property(&state, bad).is_err(), "{bad}");
        }
        assert_eq!(label_for("favoriteColor"), "Favorite Color");
        assert_eq!(label_for("plan"), "Plan");
    }
}
