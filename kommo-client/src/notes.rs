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
        /// `amomail_message`: an email.
        AmomailMessage => "amomail_message",
        /// `chat`.
        Chat => "chat",
        /// `site_visit`.
        SiteVisit => "site_visit",
        /// `targeting_in`.
        TargetingIn => "targeting_in",
        /// `targeting_out`.
        TargetingOut => "targeting_out",
        /// `transaction`: a customer's purchase.
        Transaction => "transaction",
        /// `message_cashier`.
        MessageCashier => "message_cashier",
        /// `invoice_paid`.
        InvoicePaid => "invoice_paid",
        /// `bill_paid`.
        BillPaid => "bill_paid",
        /// `zoom_meeting`.
        ZoomMeeting => "zoom_meeting",
        /// `dropbox_attachment`.
        DropboxAttachment => "dropbox_attachment",
        /// `link_followed`: a short link was clicked.
        LinkFollowed => "link_followed",
        /// `ai_result`.
        AiResult => "ai_result",
    }
}

/// The parameters of a note, by type. Types without typed parameters, and parameters that
/// do not have the documented shape, are [`NoteParams::Other`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NoteParams {
    /// `common`: `{text}`.
    Common {
        /// The text.
        text: String,
    },
    /// `call_in` / `call_out`.
    Call(CallParams),
    /// `service_message`: `{service, text}`.
    ServiceMessage {
        /// The integration's name.
        service: String,
        /// The text.
        text: String,
    },
    /// `geolocation`.
    Geolocation(GeoParams),
    /// `sms_in` / `sms_out`: `{text, phone}`.
    Sms {
        /// The text.
        text: String,
        /// The phone number.
        phone: String,
    },
    /// `attachment`: a drive file.
    Attachment(AttachmentParams),
    /// Anything else, as sent.
    Other(Value),
}

/// The parameters of a call note.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallParams {
    /// The telephony system's id of the call.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub uniq: Option<String>,
    /// The duration, seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub duration: Option<i64>,
    /// The telephony integration.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub source: Option<String>,
    /// A link to the recording.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub link: Option<String>,
    /// The phone number.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub phone: Option<String>,
    /// A free-text result.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub call_result: Option<String>,
    /// How it ended (see [`crate::calls::CallStatus`]).
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub call_status: Option<i64>,
}

/// The parameters of a geolocation note.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GeoParams {
    /// The text.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub text: Option<String>,
    /// The address.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub address: Option<String>,
    /// Longitude.
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    pub longitude: Option<f64>,
    /// Latitude.
    #[serde(default, deserialize_with = "serde_util::lenient_f64")]
    pub latitude: Option<f64>,
}

/// The parameters of an attachment note.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AttachmentParams {
    /// The file in the drive.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub file_uuid: Option<String>,
    /// The file's version.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub version_uuid: Option<String>,
    /// The file name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub file_name: Option<String>,
}

fn text_of(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
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
    /// The parameters, typed by the note's type.
    ///
    /// ```
    /// use kommo_client::notes::{Note, NoteParams};
    /// let note: Note = serde_json::from_str(
    ///     r#"{"id": 1, "note_type": "sms_in", "params": {"text": "Hi", "phone": "+1555"}}"#,
    /// ).unwrap();
    /// assert_eq!(note.typed_params(), NoteParams::Sms { text: "Hi".into(), phone: "+1555".into() });
    /// ```
    #[must_use]
    pub fn typed_params(&self) -> NoteParams {
        let p = &self.params;
        let typed = match self.note_type {
            NoteType::Common => text_of(p, "text").map(|text| NoteParams::Common { text }),
            NoteType::CallIn | NoteType::CallOut => {
                serde_json::from_value(p.clone()).ok().map(NoteParams::Call)
            }
            NoteType::ServiceMessage => text_of(p, "service")
                .zip(text_of(p, "text"))
                .map(|(service, text)| NoteParams::ServiceMessage { service, text }),
            NoteType::Geolocation => serde_json::from_value(p.clone())
                .ok()
                .map(NoteParams::Geolocation),
            NoteType::SmsIn | NoteType::SmsOut => text_of(p, "text")
                .zip(text_of(p, "phone"))
                .map(|(text, phone)| NoteParams::Sms { text, phone }),
            NoteType::Attachment => serde_json::from_value(p.clone())
                .ok()
                .map(NoteParams::Attachment),
            _ => None,
        };
        typed.unwrap_or_else(|| NoteParams::Other(p.clone()))
    }

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

/// A change of a note's parameters (`PATCH /api/v4/{entity}/notes`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NoteUpdate {
    /// The note (not sent by `update_one`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<NoteId>,
    /// The note's type (Kommo wants it with the parameters).
    pub note_type: NoteType,
    /// The new parameters.
    pub params: Value,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NoteUpdate {
    /// New text for common note `id`.
    #[must_use]
    pub fn text(id: NoteId, text: impl Into<String>) -> Self {
        Self::new(id, NoteType::Common, json!({ "text": text.into() }))
    }

    /// New parameters for note `id` of `note_type`.
    #[must_use]
    pub fn new(id: NoteId, note_type: NoteType, params: Value) -> Self {
        Self {
            id: Some(id),
            note_type,
            params,
            request_id: None,
        }
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

    use super::{NewNote, Note, NoteUpdate, notes_path};
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

        /// `PATCH /api/v4/{entity}/notes`: changes notes in chunks; every item needs its id.
        ///
        /// # Errors
        ///
        /// As [`crate::leads::LeadsApi::update`].
        pub async fn update(&self, notes: Vec<NoteUpdate>) -> Result<Vec<WriteResult>> {
            self.client
                .batch_update_at(&notes_path(self.entity), "notes", "note", notes)
                .await
        }

        /// `PATCH /api/v4/{entity}/notes/{id}`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn update_one(&self, id: NoteId, mut note: NoteUpdate) -> Result<WriteResult> {
            note.id = None;
            let request = crate::ApiRequest::raw(
                http::Method::PATCH,
                format!("{}/{id}", notes_path(self.entity)),
            )
            .json_body(&note)?
            .safe_to_retry(true);
            self.client.write_one(request).await
        }

        /// `POST /api/v4/{entity}/notes/{id}/pin`: pins a note to the top of the feed.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn pin(&self, id: NoteId) -> Result<()> {
            self.pin_state(id, "pin").await
        }

        /// `POST /api/v4/{entity}/notes/{id}/unpin`.
        ///
        /// # Errors
        ///
        /// Any [`Error`](crate::Error) of the request.
        pub async fn unpin(&self, id: NoteId) -> Result<()> {
            self.pin_state(id, "unpin").await
        }

        async fn pin_state(&self, id: NoteId, verb: &str) -> Result<()> {
            let request = crate::ApiRequest::raw(
                http::Method::POST,
                format!("{}/{id}/{verb}", notes_path(self.entity)),
            )
            .safe_to_retry(true);
            self.client.execute(&request).await.map(drop)
        }

        fn path_for(&self, entity_id: u64) -> String {
            format!("/api/v4/{}/{entity_id}/notes", self.entity.as_str())
        }
    }
}
