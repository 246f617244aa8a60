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
    /// The link's id. A chat belongs to one contact: linked to another, it moves and its
    /// link gets a new id, so find a link by `chat_id`, not by this id.
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
/// assert_eq!(one.into_pairs()?, vec![("contact_id".to_owned(), "8074730".to_owned())]);
/// let two = ChatLinksQuery::chats(["a", "b"]);
/// assert_eq!(
///     two.into_pairs()?,
///     vec![
///         ("chat_id[]".to_owned(), "a".to_owned()),
///         ("chat_id[]".to_owned(), "b".to_owned()),
///     ]
/// );
/// assert!(ChatLinksQuery::contacts([]).into_pairs().is_err());
/// # Ok::<(), kommo_client::Error>(())
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

    /// The query pairs, in the order given.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for a query that names no id
    /// (Kommo has no "every link" call) or a blank one.
    pub fn into_pairs(self) -> crate::Result<Vec<(String, String)>> {
        if self.values.is_empty() || self.values.iter().any(|v| v.trim().is_empty()) {
            return Err(crate::Error::InvalidRequest(
                "name at least one contact or chat, and no blank chat id".into(),
            ));
        }
        let key = if self.values.len() == 1 {
            self.name.to_owned()
        } else {
            format!("{}[]", self.name)
        };
        Ok(self.values.into_iter().map(|v| (key.clone(), v)).collect())
    }
}

#[cfg(feature = "client")]
pub use api::ContactChatsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::{Stream, StreamExt};
    use http::Method;

    use super::{ChatLink, ChatLinksQuery, NewChatLink};
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::{BatchItemResult, Error, Result};
    use crate::raw::ApiRequest;

    const PATH: &str = "/api/v4/contacts/chats";

    /// Chats linked to contacts. Get it with [`Client::contact_chats`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::contact_chats::{ChatLinksQuery, NewChatLink};
    /// use kommo_client::ids::ContactId;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let chat = "9fb564bb-369e-48f6-87d2-562e77bc59e6";
    /// client.contact_chats().link(vec![NewChatLink::new(ContactId(10711214), chat)]).await?;
    /// let links: Vec<_> = client
    ///     .contact_chats()
    ///     .list(ChatLinksQuery::chats([chat]))
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(links[0].contact_id, ContactId(10711214));
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ContactChatsApi {
        pub(crate) client: Client,
    }

    impl ContactChatsApi {
        /// One page of `GET /api/v4/contacts/chats`: the links of the contacts or chats the
        /// query names; a 204 is an empty page. Kommo answers them all at once
        /// (`_total_items`, no page links).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for a query that names no id or a blank one (nothing is
        /// sent), otherwise any [`Error`] of the request.
        pub async fn list_page(&self, query: ChatLinksQuery) -> Result<Page<ChatLink>> {
            let request = ApiRequest::get(PATH).queries(query.into_pairs()?);
            self.client.page(request, "chats").await
        }

        /// Every link the query names, following `_links.next` should Kommo ever page them.
        /// A query Kommo would refuse is the stream's only item, as an error.
        pub fn list(
            &self,
            query: ChatLinksQuery,
        ) -> impl Stream<Item = Result<ChatLink>> + Send + 'static {
            match query.into_pairs() {
                Ok(pairs) => self
                    .client
                    .paginate_request(ApiRequest::get(PATH).queries(pairs), "chats")
                    .boxed(),
                Err(e) => futures_util::stream::iter([Err(e)]).boxed(),
            }
        }

        /// `POST /api/v4/contacts/chats`: links chats to contacts, in chunks of the client's
        /// batch size. Linking a chat to the contact it is already linked to changes nothing,
        /// so it is retried on transient errors.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for a blank chat id (nothing is sent),
        /// [`Error::PartialBatch`] when a later chunk fails (each link already made is
        /// reported by its contact's id and its `request_id`), otherwise any [`Error`] of the
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

    /// A committed link is reported by its contact: the link's own id is not an entity's, it
    /// changes when the chat moves, and an answer may leave it out (0 would name nothing).
    fn committed(link: &ChatLink) -> BatchItemResult {
        BatchItemResult {
            id: link.contact_id.0,
            request_id: link.request_id.clone(),
            updated_at: None,
        }
    }
}
