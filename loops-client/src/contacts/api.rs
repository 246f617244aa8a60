//! [`ContactsApi`]: the contact endpoints, sent through the client.

use serde::Deserialize;

use super::{
    Contact, ContactId, ContactLookup, CreateContactRequest, DeleteContactResponse,
    SuppressionRemoval, SuppressionStatus, UpdateContactRequest,
};
use crate::client::Client;

#[derive(Deserialize)]
struct IdResponse {
    id: ContactId,
}

/// Contacts and the suppression list. Get it with [`Client::contacts`].
///
/// ```no_run
/// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
/// use loops_client::contacts::{ContactLookup, CreateContactRequest, UpdateContactRequest};
///
/// let contacts = client.contacts();
/// match contacts.create(&CreateContactRequest::new("ada@example.com")).await {
///     Ok(id) => println!("created {}", id.as_str()),
///     Err(e) if e.is_already_exists() => {
///         contacts
///             .update(&UpdateContactRequest::by_email("ada@example.com").property("plan", "pro"))
///             .await?;
///     }
///     Err(e) => return Err(e),
/// }
/// let lookup = ContactLookup::email("ada@example.com");
/// if let Some(contact) = contacts.find(&lookup).await? {
///     println!("{} is subscribed: {:?}", contact.email, contact.subscribed);
/// }
/// if contacts.check_suppression(&lookup).await?.is_suppressed {
///     contacts.remove_suppression(&lookup).await?;
/// }
/// contacts.delete(&lookup).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ContactsApi {
    pub(crate) client: Client,
}

impl ContactsApi {
    /// Creates a contact (`POST /v1/contacts/create`). Fails with
    /// [`Error::AlreadyExists`](crate::Error::AlreadyExists) when the email or userId is taken;
    /// [`update`](Self::update) creates or updates.
    pub async fn create(&self, request: &CreateContactRequest) -> crate::Result<ContactId> {
        let response = self.client.execute(&request.to_api_request()?).await?;
        Ok(response.json::<IdResponse>()?.id)
    }

    /// Updates a contact, creating it when none matches (`PUT /v1/contacts/update`).
    /// Safe to retry: applying it twice leaves the same contact.
    pub async fn update(&self, request: &UpdateContactRequest) -> crate::Result<ContactId> {
        let response = self.client.execute(&request.to_api_request()?).await?;
        Ok(response.json::<IdResponse>()?.id)
    }

    /// Finds a contact by email or userId (`GET /v1/contacts/find`); `None` when there is
    /// none.
    pub async fn find(&self, lookup: &ContactLookup) -> crate::Result<Option<Contact>> {
        let response = self.client.execute(&lookup.find_request()?).await?;
        let mut contacts: Vec<Contact> =
            response.json::<Option<Vec<Contact>>>()?.unwrap_or_default();
        Ok(if contacts.is_empty() {
            None
        } else {
            Some(contacts.swap_remove(0))
        })
    }

    /// Deletes a contact (`POST /v1/contacts/delete`). A missing contact is a 404 error, except
    /// on a retry after an attempt that may have deleted it, which counts as done.
    pub async fn delete(&self, lookup: &ContactLookup) -> crate::Result<DeleteContactResponse> {
        let response = self.client.execute(&lookup.delete_request()?).await?;
        if response.replayed {
            return Ok(DeleteContactResponse { message: None });
        }
        #[derive(Deserialize)]
        struct Body {
            #[serde(default)]
            message: Option<String>,
        }
        Ok(DeleteContactResponse {
            message: response.json::<Body>()?.message,
        })
    }

    /// Whether Loops suppresses sends to this contact after bounces or complaints
    /// (`GET /v1/contacts/suppression`).
    pub async fn check_suppression(
        &self,
        lookup: &ContactLookup,
    ) -> crate::Result<SuppressionStatus> {
        self.client
            .execute(&lookup.check_suppression_request()?)
            .await?
            .json()
    }

    /// Removes the contact from the suppression list (`DELETE /v1/contacts/suppression`);
    /// this uses up the removal quota.
    pub async fn remove_suppression(
        &self,
        lookup: &ContactLookup,
    ) -> crate::Result<SuppressionRemoval> {
        self.client
            .execute(&lookup.remove_suppression_request()?)
            .await?
            .json()
    }
}
