//! Chats linked to contacts (`/api/v4/contacts/chats`): which conversation of Kommo's Chats
//! API belongs to which contact. An integration that brings its own chat channel creates the
//! chat over the Chats API and then links it here, so the conversation shows on the contact.

use serde::{Deserialize, Serialize};

use crate::ids::ContactId;
use crate::serde_util;

/// A chat linked to a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatLink {
    /// The link's id; Kommo gives a new one when the chat is linked again.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<u64>,
    /// The chat's id in Kommo's Chats API (a UUID).
    #[serde(default, deserialize_with = "serde_util::lenient_string_required")]
    pub chat_id: String,
    /// The contact.
    pub contact_id: ContactId,
    /// The `request_id` of the item that made the link (answers to a link only).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub request_id: Option<String>,
}

/// A chat to link to a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewChatLink {
    /// The contact.
    pub contact_id: ContactId,
    /// The chat's id in Kommo's Chats API.
    pub chat_id: String,
    /// Echoed back in the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewChatLink {
    /// Links chat `chat_id` to `contact`.
    #[must_use]
    pub fn new(contact: ContactId, chat_id: impl Into<String>) -> Self {
        Self {
            contact_id: contact,
            chat_id: chat_id.into(),
            request_id: None,
        }
    }

    /// Sets the `request_id` the answer echoes.
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// Which links to list: those of some contacts, or those of some chats. Kommo's reference
/// says to filter by one of the two, never both, so a query is one or the other.
///
/// One id is sent as `contact_id=` (or `chat_id=`), the form Kommo's reference shows;
/// several as `contact_id[]=` (or `chat_id[]=`), the list form amoCRM's reference allows.
///
/// ```
/// use kommo_client::contact_chats::ChatLinksQuery;
/// use kommo_client::ids::ContactId;
///
/// let one = ChatLinksQuery::contacts([ContactId(8074730)]);
/// assert_eq!(one.into_pairs(), vec![("contact_id".to_owned(), "8074730".to_owned())]);
/// let two = ChatLinksQuery::chats(["a", "b"]);
/// assert_eq!(
///     two.into_pairs(),
///     vec![
///         ("chat_id[]".to_owned(), "a".to_owned()),
///         ("chat_id[]".to_owned(), "b".to_owned()),
///     ]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLinksQuery {
    name: &'static str,
    values: Vec<String>,
}

impl ChatLinksQuery {
    /// The chats linked to these contacts.
    #[must_use]
    pub fn contacts(ids: impl IntoIterator<Item = ContactId>) -> Self {
        Self {
            name: "contact_id",
            values: ids.into_iter().map(|id| id.to_string()).collect(),
        }
    }

    /// The links of these chats (by their Chats API id).
    #[must_use]
    pub fn chats<S: Into<String>>(ids: impl IntoIterator<Item = S>) -> Self {
        Self {
            name: "chat_id",
            values: ids.into_iter().map(Into::into).collect(),
        }
    }

    /// Whether the query names at least one id and no blank one (Kommo has no "every link"
    /// call, and a blank chat id names no chat).
    #[must_use]
    pub fn is_valid(&self) -> bool {
        !self.values.is_empty() && self.values.iter().all(|v| !v.trim().is_empty())
    }

    /// The query pairs, in the order given.
    #[must_use]
    pub fn into_pairs(self) -> Vec<(String, String)> {
        let key = if self.values.len() == 1 {
            self.name.to_owned()
        } else {
            format!("{}[]", self.name)
        };
        self.values.into_iter().map(|v| (key.clone(), v)).collect()
    }
}

#[cfg(feature = "client")]
pub use api::ContactChatsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::TryStreamExt;
    use http::Method;

    use super::{ChatLink, ChatLinksQuery, NewChatLink};
    use crate::client::Client;
    use crate::error::{BatchItemResult, Error, Result};
    use crate::raw::ApiRequest;

    const PATH: &str = "/api/v4/contacts/chats";

    /// Chats linked to contacts. Get it with [`Client::contact_chats`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::contact_chats::{ChatLinksQuery, NewChatLink};
    /// use kommo_client::ids::ContactId;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let chat = "9fb564bb-369e-48f6-87d2-562e77bc59e6";
    /// client.contact_chats().link(vec![NewChatLink::new(ContactId(10711214), chat)]).await?;
    /// let links = client.contact_chats().list(ChatLinksQuery::chats([chat])).await?;
    /// assert_eq!(links[0].contact_id, ContactId(10711214));
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ContactChatsApi {
        pub(crate) client: Client,
    }

    impl ContactChatsApi {
        /// `GET /api/v4/contacts/chats`: the links of the contacts or chats the query names;
        /// a 204 is no link. The answer is not paginated (`_total_items`, no page links), but
        /// a `next` link would be followed.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for a query that names nothing or a blank chat id
        /// (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn list(&self, query: ChatLinksQuery) -> Result<Vec<ChatLink>> {
            if !query.is_valid() {
                return Err(Error::invalid_request(
                    "name at least one contact or chat, and no blank chat id",
                ));
            }
            let request = ApiRequest::get(PATH).queries(query.into_pairs());
            self.client
                .paginate_request(request, "chats")
                .try_collect()
                .await
        }

        /// `POST /api/v4/contacts/chats`: links chats to contacts, in chunks of the client's
        /// batch size. Linking a chat to the contact it is already linked to changes nothing,
        /// so it is retried on transient errors.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for a blank chat id (nothing is sent),
        /// [`Error::PartialBatch`] when a later chunk fails, otherwise any [`Error`] of the
        /// request.
        pub async fn link(&self, links: Vec<NewChatLink>) -> Result<Vec<ChatLink>> {
            if links.iter().any(|l| l.chat_id.trim().is_empty()) {
                return Err(Error::invalid_request("a chat link needs its chat_id"));
            }
            self.client
                .batch_write_as(Method::POST, PATH, links, "chats", true, committed)
                .await
        }
    }

    fn committed(link: &ChatLink) -> BatchItemResult {
        BatchItemResult {
            id: link.id.unwrap_or_default(),
            request_id: link.request_id.clone(),
            updated_at: None,
        }
    }
}
