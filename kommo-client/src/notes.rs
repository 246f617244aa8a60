//! Notes on leads, contacts and companies (`/api/v4/{entity}/notes`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::EntityType;
use crate::ids::{AccountId, NoteId, UserId};
use crate::serde_util;
use crate::string_enum::string_enum;

string_enum! {
    /// A note type of the v4 API.
    pub enum NoteType {
        /// `common`: a text note.
        Common => "common",
        /// `call_in`.
        CallIn => "call_in",
        /// `call_out`.
        CallOut => "call_out",
        /// `service_message`.
        ServiceMessage => "service_message",
        /// `extended_service_message`.
        ExtendedServiceMessage => "extended_service_message",
        /// `geolocation`.
        Geolocation => "geolocation",
        /// `sms_in`.
        SmsIn => "sms_in",
        /// `sms_out`.
        SmsOut => "sms_out",
        /// `attachment`.
        Attachment => "attachment",
    }
}

/// A note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Note {
    /// The id.
    pub id: NoteId,
    /// The entity the note is on.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub entity_id: Option<u64>,
    /// The type.
    pub note_type: NoteType,
    /// Type-specific parameters (`{text}` for common notes), as sent.
    #[serde(default)]
    pub params: Value,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Who changed it last.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub updated_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// The responsible user.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub responsible_user_id: Option<UserId>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
}

impl Note {
    /// `params.text`, for text-bearing notes.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.params.get("text").and_then(Value::as_str)
    }
}

/// A note to add.
///
/// ```
/// use kommo_client::notes::NewNote;
/// let note = NewNote::common(152464, "Called, no answer");
/// assert_eq!(
///     serde_json::to_value(&note).unwrap(),
///     serde_json::json!({"entity_id": 152464, "note_type": "common", "params": {"text": "Called, no answer"}})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewNote {
    /// The entity to attach to.
    pub entity_id: u64,
    /// The type.
    pub note_type: NoteType,
    /// Type-specific parameters.
    pub params: Value,
    /// Author (`0` = robot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// Responsible user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<UserId>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewNote {
    /// A common text note.
    #[must_use]
    pub fn common(entity_id: u64, text: impl Into<String>) -> Self {
        Self::new(entity_id, NoteType::Common, json!({ "text": text.into() }))
    }

    /// A service message note from `service` (the integration name).
    #[must_use]
    pub fn service_message(
        entity_id: u64,
        service: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self::new(
            entity_id,
            NoteType::ServiceMessage,
            json!({ "service": service.into(), "text": text.into() }),
        )
    }

    /// Any note type with raw parameters.
    #[must_use]
    pub fn new(entity_id: u64, note_type: NoteType, params: Value) -> Self {
        Self {
            entity_id,
            note_type,
            params,
            created_by: None,
            responsible_user_id: None,
            request_id: None,
        }
    }

    /// Sets the author.
    #[must_use]
    pub fn created_by(mut self, user: UserId) -> Self {
        self.created_by = Some(user);
        self
    }

    /// Sets the `request_id`.
    #[must_use]
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }
}

/// Notes may be attached to these entity types.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn notes_path(entity: EntityType) -> String {
    format!("/api/v4/{}/notes", entity.as_str())
}

#[cfg(feature = "client")]
pub use api::NotesApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;

    use super::{NewNote, Note, notes_path};
    use crate::client::Client;
    use crate::common::{EntityType, Page, WriteResult};
    use crate::error::Result;
    use crate::ids::NoteId;
    use crate::pagination::ListQuery;

    /// Notes of one entity type. Get it with [`Client::notes`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::common::EntityType;
    /// use kommo_client::notes::NewNote;
    /// use kommo_client::pagination::ListQuery;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let notes = client.notes(EntityType::Leads);
    /// notes.add(vec![NewNote::common(152464, "Sent the welcome email")]).await?;
    /// let recent = notes
    ///     .list_page_for(152464, ListQuery::new().order("id", false).limit(10))
    ///     .await?;
    /// # let _ = recent; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct NotesApi {
        pub(crate) client: Client,
        pub(crate) entity: EntityType,
    }

    impl NotesApi {
        /// `POST /api/v4/{entity}/notes` in chunks (not retried: creating twice is visible).
        ///
        /// # Errors
        ///
        /// As [`crate::leads::LeadsApi::add`].
        pub async fn add(&self, notes: Vec<NewNote>) -> Result<Vec<WriteResult>> {
            self.client
                .batch_write(
                    http::Method::POST,
                    &notes_path(self.entity),
                    notes,
                    "notes",
                    false,
                )
                .await
        }

        /// One page of the notes of every entity of the type: `GET /api/v4/{entity}/notes`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<Note>> {
            self.client
                .list_page(notes_path(self.entity), query, "notes")
                .await
        }

        /// The notes of every entity of the type, following pages.
        pub fn list(&self, query: ListQuery) -> impl Stream<Item = Result<Note>> + Send + 'static {
            self.client
                .paginate(notes_path(self.entity), query, "notes")
        }

        /// One page of the notes of one entity: `GET /api/v4/{entity}/{id}/notes`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn list_page_for(&self, entity_id: u64, query: ListQuery) -> Result<Page<Note>> {
            self.client
                .list_page(self.path_for(entity_id), query, "notes")
                .await
        }

        /// The notes of one entity, following pages.
        pub fn list_for(
            &self,
            entity_id: u64,
            query: ListQuery,
        ) -> impl Stream<Item = Result<Note>> + Send + 'static {
            self.client
                .paginate(self.path_for(entity_id), query, "notes")
        }

        /// `GET /api/v4/{entity}/notes/{id}`; `None` on 204.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn get(&self, id: NoteId) -> Result<Option<Note>> {
            self.client
                .get_json(format!("{}/{id}", notes_path(self.entity)), None)
                .await
        }

        fn path_for(&self, entity_id: u64) -> String {
            format!("/api/v4/{}/{entity_id}/notes", self.entity.as_str())
        }
    }
}
