//! Contacts: create, update (upsert), find, delete, and the suppression list
//! (`/v1/contacts/*`).
//!
//! The request types turn into [`ApiRequest`]s without IO; [`ContactsApi`] (from
//! [`Client::contacts`](crate::Client::contacts)) sends them.

use std::collections::BTreeMap;

use http::Method;
use serde::Serialize;

use crate::endpoint::{ApiRequest, Endpoint};
use crate::json::to_json;
use crate::validate::{self, ValidationError};
use crate::value::{ContactProperties, MailingLists, PropertyValue};

#[cfg(feature = "client")]
mod api;
mod model;
mod suppression;

#[cfg(feature = "client")]
pub use api::ContactsApi;
pub use model::{Contact, ContactId, DeleteContactResponse, OptInStatus};
pub use suppression::{RemovalQuota, SuppressedContact, SuppressionRemoval, SuppressionStatus};

/// Exactly one contact identifier, for find, delete and suppression calls.
///
/// ```
/// use loops_client::contacts::ContactLookup;
///
/// assert!(ContactLookup::from_parts(Some("a@example.com"), None).is_ok());
/// assert!(ContactLookup::from_parts(Some("a@example.com"), Some("u1")).is_err());
/// assert!(ContactLookup::from_parts(None, None).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactLookup {
    /// By email address.
    Email(String),
    /// By the contact's `userId`.
    UserId(String),
}

impl ContactLookup {
    /// By email address.
    pub fn email(email: impl Into<String>) -> Self {
        ContactLookup::Email(email.into())
    }

    /// By `userId`.
    pub fn user_id(user_id: impl Into<String>) -> Self {
        ContactLookup::UserId(user_id.into())
    }

    /// From two optional identifiers, exactly one of which must be given.
    pub fn from_parts(email: Option<&str>, user_id: Option<&str>) -> Result<Self, ValidationError> {
        let email = email.filter(|s| !s.trim().is_empty());
        let user_id = user_id.filter(|s| !s.trim().is_empty());
        match (email, user_id) {
            (Some(email), None) => Ok(ContactLookup::email(email)),
            (None, Some(user_id)) => Ok(ContactLookup::user_id(user_id)),
            (Some(_), Some(_)) => Err(ValidationError::BothIdentifiers),
            (None, None) => Err(ValidationError::MissingIdentifier),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        match self {
            ContactLookup::Email(email) => validate::require_non_empty("email", email),
            ContactLookup::UserId(id) => validate::require_non_empty("userId", id),
        }
    }

    /// The query parameter (`email` or `userId`) and its value.
    pub(crate) fn query_pair(&self) -> (&'static str, &str) {
        match self {
            ContactLookup::Email(email) => ("email", email),
            ContactLookup::UserId(id) => ("userId", id),
        }
    }

    /// `GET /v1/contacts/find`.
    pub fn find_request(&self) -> Result<ApiRequest, ValidationError> {
        self.validate()?;
        let (name, value) = self.query_pair();
        Ok(
            ApiRequest::new(Endpoint::FindContact, Method::GET, "/v1/contacts/find")
                .query(name, value),
        )
    }

    /// `POST /v1/contacts/delete` (a POST with a JSON body, not a DELETE).
    pub fn delete_request(&self) -> Result<ApiRequest, ValidationError> {
        self.validate()?;
        let body = match self {
            ContactLookup::Email(email) => serde_json::json!({ "email": email }),
            ContactLookup::UserId(id) => serde_json::json!({ "userId": id }),
        };
        Ok(
            ApiRequest::new(Endpoint::DeleteContact, Method::POST, "/v1/contacts/delete")
                .with_json_bytes(body.to_string().into_bytes()),
        )
    }
}

/// One or both contact identifiers, for updates and events.
///
/// With both, Loops looks for a contact matching either and fills in the other; this is how a
/// contact's email is changed (send its `userId` with the new email).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContactIdentity {
    email: Option<String>,
    user_id: Option<String>,
}

impl ContactIdentity {
    /// By email.
    pub fn email(email: impl Into<String>) -> Self {
        ContactIdentity {
            email: Some(email.into()),
            user_id: None,
        }
    }

    /// By `userId`.
    pub fn user_id(user_id: impl Into<String>) -> Self {
        ContactIdentity {
            email: None,
            user_id: Some(user_id.into()),
        }
    }

    /// By both.
    pub fn both(email: impl Into<String>, user_id: impl Into<String>) -> Self {
        ContactIdentity {
            email: Some(email.into()),
            user_id: Some(user_id.into()),
        }
    }

    /// From two optional identifiers, at least one of which must be given.
    pub fn from_parts(
        email: Option<String>,
        user_id: Option<String>,
    ) -> Result<Self, ValidationError> {
        let identity = ContactIdentity {
            email: email.filter(|s| !s.trim().is_empty()),
            user_id: user_id.filter(|s| !s.trim().is_empty()),
        };
        identity.validate()?;
        Ok(identity)
    }

    /// The email, if given.
    pub fn email_address(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The `userId`, if given.
    pub fn user_id_value(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        if self.email.is_none() && self.user_id.is_none() {
            return Err(ValidationError::MissingIdentifier);
        }
        if let Some(email) = &self.email {
            validate::require_non_empty("email", email)?;
        }
        if let Some(id) = &self.user_id {
            validate::require_non_empty("userId", id)?;
        }
        Ok(())
    }
}

/// The JSON body shared by create, update and (with event fields) send-event.
#[derive(Serialize)]
pub(crate) struct ContactBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<&'a str>,
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    pub(crate) user_id: Option<&'a str>,
    #[serde(flatten)]
    pub(crate) properties: &'a ContactProperties,
    #[serde(rename = "mailingLists", skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) mailing_lists: &'a MailingLists,
}

/// The setters of the contact data that create and update requests both carry (the
/// `properties` and `mailing_lists` fields).
macro_rules! contact_data_setters {
    () => {
        /// Sets the contact properties (default and custom).
        pub fn properties(mut self, properties: ContactProperties) -> Self {
            self.properties = properties;
            self
        }

        /// Sets one property.
        pub fn property(
            mut self,
            name: impl Into<String>,
            value: impl Into<PropertyValue>,
        ) -> Self {
            self.properties.insert(name, value);
            self
        }

        /// Subscribes (`true`) or unsubscribes (`false`) the contact to a mailing list.
        pub fn mailing_list(mut self, list_id: impl Into<String>, subscribed: bool) -> Self {
            self.mailing_lists.insert(list_id.into(), subscribed);
            self
        }
    };
}

/// `POST /v1/contacts/create`: creates a contact, or fails with
/// [`Error::AlreadyExists`](crate::Error::AlreadyExists) when the email or userId exists.
///
/// ```
/// use loops_client::contacts::CreateContactRequest;
/// use loops_client::value::ContactProperties;
///
/// let request = CreateContactRequest::new("ada@example.com")
///     .user_id("usr_1")
///     .properties(ContactProperties::new().first_name("Ada").set("plan", "pro"))
///     .mailing_list("cm06f5v0e45nf0ml5754o9cix", true);
/// let body = request.to_api_request().unwrap();
/// assert_eq!(
///     std::str::from_utf8(body.body().unwrap()).unwrap(),
///     r#"{"email":"ada@example.com","userId":"usr_1","firstName":"Ada","plan":"pro","mailingLists":{"cm06f5v0e45nf0ml5754o9cix":true}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CreateContactRequest {
    email: String,
    user_id: Option<String>,
    properties: ContactProperties,
    mailing_lists: MailingLists,
}

impl CreateContactRequest {
    /// A new contact with this email.
    pub fn new(email: impl Into<String>) -> Self {
        CreateContactRequest {
            email: email.into(),
            user_id: None,
            properties: ContactProperties::new(),
            mailing_lists: MailingLists::new(),
        }
    }

    /// Links the contact to your own user id.
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    contact_data_setters!();

    /// Validates and turns the request into data.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty("email", &self.email)?;
        if let Some(id) = &self.user_id {
            validate::require_non_empty("userId", id)?;
        }
        validate::check_contact_properties(&self.properties)?;
        validate::check_mailing_lists(&self.mailing_lists)?;
        let body = ContactBody {
            email: Some(&self.email),
            user_id: self.user_id.as_deref(),
            properties: &self.properties,
            mailing_lists: &self.mailing_lists,
        };
        Ok(
            ApiRequest::new(Endpoint::CreateContact, Method::POST, "/v1/contacts/create")
                .with_json_bytes(to_json(&body)),
        )
    }
}

/// `PUT /v1/contacts/update`: updates the contact, or creates it when none matches.
///
/// Leave a property out to keep its value; set it to [`PropertyValue::Null`] to empty it.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateContactRequest {
    identity: ContactIdentity,
    properties: ContactProperties,
    mailing_lists: MailingLists,
}

impl UpdateContactRequest {
    /// Updates the contact with this identity.
    pub fn new(identity: ContactIdentity) -> Self {
        UpdateContactRequest {
            identity,
            properties: ContactProperties::new(),
            mailing_lists: MailingLists::new(),
        }
    }

    /// Updates (or creates) the contact with this email.
    pub fn by_email(email: impl Into<String>) -> Self {
        UpdateContactRequest::new(ContactIdentity::email(email))
    }

    /// Updates the contact with this `userId`. Loops refuses a `userId` it has never seen
    /// unless an email comes with it.
    pub fn by_user_id(user_id: impl Into<String>) -> Self {
        UpdateContactRequest::new(ContactIdentity::user_id(user_id))
    }

    contact_data_setters!();

    /// The identity the update targets.
    pub fn identity(&self) -> &ContactIdentity {
        &self.identity
    }

    /// Validates and turns the request into data.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        self.identity.validate()?;
        validate::check_contact_properties(&self.properties)?;
        validate::check_mailing_lists(&self.mailing_lists)?;
        let body = ContactBody {
            email: self.identity.email.as_deref(),
            user_id: self.identity.user_id.as_deref(),
            properties: &self.properties,
            mailing_lists: &self.mailing_lists,
        };
        Ok(
            ApiRequest::new(Endpoint::UpdateContact, Method::PUT, "/v1/contacts/update")
                .with_json_bytes(to_json(&body)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(request: &ApiRequest) -> serde_json::Value {
        serde_json::from_slice(request.body().unwrap()).unwrap()
    }

    #[test]
    fn update_bodies() {
        let request = UpdateContactRequest::new(ContactIdentity::both("new@example.com", "u1"))
            .property("plan", PropertyValue::Null)
            .mailing_list("l1", false)
            .to_api_request()
            .unwrap();
        assert_eq!(request.method(), Method::PUT);
        assert_eq!(request.path(), "/v1/contacts/update");
        assert_eq!(
            body(&request),
            serde_json::json!({"email":"new@example.com","userId":"u1","plan":null,"mailingLists":{"l1":false}})
        );
    }

    #[test]
    fn validation_table() {
        let long = "x".repeat(600);
        let cases: Vec<(Result<ApiRequest, ValidationError>, &str)> = vec![
            (
                CreateContactRequest::new("").to_api_request(),
                "`email` must not be empty",
            ),
            (
                CreateContactRequest::new("a@b.c")
                    .property("id", "x")
                    .to_api_request(),
                "reserved",
            ),
            (
                CreateContactRequest::new("a@b.c")
                    .property("teamId", 1)
                    .to_api_request(),
                "reserved",
            ),
            (
                CreateContactRequest::new("a@b.c")
                    .property("email", "x")
                    .to_api_request(),
                "own `email` field",
            ),
            (
                CreateContactRequest::new("a@b.c")
                    .property("note", long.as_str())
                    .to_api_request(),
                "at most 500",
            ),
            (
                UpdateContactRequest::new(ContactIdentity {
                    email: None,
                    user_id: None,
                })
                .to_api_request(),
                "email or a userId is required",
            ),
            (
                ContactLookup::email(" ").find_request(),
                "must not be empty",
            ),
            (
                ContactLookup::user_id("").delete_request(),
                "`userId` must not be empty",
            ),
        ];
        for (result, expected) in cases {
            let err = result.unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{err} should contain {expected}"
            );
        }
        assert_eq!(
            ContactLookup::from_parts(Some("a"), Some("b")),
            Err(ValidationError::BothIdentifiers)
        );
        assert_eq!(
            ContactLookup::from_parts(Some(""), None),
            Err(ValidationError::MissingIdentifier)
        );
        assert_eq!(
            ContactIdentity::from_parts(None, None),
            Err(ValidationError::MissingIdentifier)
        );
    }

    #[test]
    fn delete_is_a_post_with_one_identifier() {
        let request = ContactLookup::user_id("u1").delete_request().unwrap();
        assert_eq!(
            (request.method(), request.path()),
            (&Method::POST, "/v1/contacts/delete")
        );
        assert_eq!(body(&request), serde_json::json!({"userId":"u1"}));
    }
}
