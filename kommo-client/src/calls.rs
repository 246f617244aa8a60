//! Calls (`/api/v4/calls`): logging a phone call, which Kommo attaches to the contact,
//! company or lead with that phone number (as a call note).

use serde::{Deserialize, Serialize};

use crate::ids::{CallId, UserId};
use crate::serde_util;

/// The direction of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CallDirection {
    /// `inbound`.
    Inbound,
    /// `outbound`.
    Outbound,
}

/// How a call ended (`call_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallStatus {
    /// `1`: left a voicemail.
    Voicemail,
    /// `2`: call back later.
    CallBackLater,
    /// `3`: not available.
    NotAvailable,
    /// `4`: the call took place.
    Successful,
    /// `5`: wrong number.
    WrongNumber,
    /// `6`: no answer.
    NoAnswer,
    /// `7`: busy.
    Busy,
}

impl CallStatus {
    /// The code the API uses.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            CallStatus::Voicemail => 1,
            CallStatus::CallBackLater => 2,
            CallStatus::NotAvailable => 3,
            CallStatus::Successful => 4,
            CallStatus::WrongNumber => 5,
            CallStatus::NoAnswer => 6,
            CallStatus::Busy => 7,
        }
    }
}

impl Serialize for CallStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// A call to log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewCall {
    /// In or out.
    pub direction: CallDirection,
    /// The phone number (required).
    pub phone: String,
    /// The duration in seconds.
    pub duration: u32,
    /// The telephony integration's name (required).
    pub source: String,
    /// A unique id of the call in the telephony system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uniq: Option<String>,
    /// A link to the recording.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A free-text result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_result: Option<String>,
    /// How it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_status: Option<CallStatus>,
    /// The responsible user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responsible_user_id: Option<UserId>,
    /// Who made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    /// When, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewCall {
    /// A call of `duration` seconds with `phone`, reported by `source`.
    #[must_use]
    pub fn new(
        direction: CallDirection,
        phone: impl Into<String>,
        duration: u32,
        source: impl Into<String>,
    ) -> Self {
        Self {
            direction,
            phone: phone.into(),
            duration,
            source: source.into(),
            uniq: None,
            link: None,
            call_result: None,
            call_status: None,
            responsible_user_id: None,
            created_by: None,
            created_at: None,
            request_id: None,
        }
    }

    /// Sets how it ended.
    #[must_use]
    pub fn status(mut self, status: CallStatus) -> Self {
        self.call_status = Some(status);
        self
    }

    /// Sets the telephony system's id of the call.
    #[must_use]
    pub fn uniq(mut self, uniq: impl Into<String>) -> Self {
        self.uniq = Some(uniq.into());
        self
    }
}

/// A logged call: where Kommo attached it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallResult {
    /// The call (the note) id.
    pub id: CallId,
    /// The entity it was attached to.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub entity_id: Option<u64>,
    /// `contacts`, `companies` or `leads`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub entity_type: Option<String>,
    /// The echoed `request_id`.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub request_id: Option<String>,
}

#[cfg(feature = "client")]
pub use api::CallsApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;

    use super::{CallResult, NewCall};
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::client::MAX_BATCH_SIZE;
    use crate::error::{Error, Result};

    /// Calls. Get it with [`Client::calls`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::calls::{CallDirection, CallStatus, NewCall};
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let call = NewCall::new(CallDirection::Inbound, "+15550100", 95, "acme-pbx")
    ///     .status(CallStatus::Successful);
    /// let logged = client.calls().add(vec![call]).await?;
    /// # let _ = logged; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct CallsApi {
        pub(crate) client: Client,
    }

    impl CallsApi {
        /// `POST /api/v4/calls`, at most 250 calls. Not re-sent after an ambiguous failure (a
        /// call logged twice shows twice).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no call, more than 250, or a call without a phone or
        /// source (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn add(&self, calls: Vec<NewCall>) -> Result<Vec<CallResult>> {
            if calls.is_empty() || calls.len() > MAX_BATCH_SIZE {
                return Err(Error::invalid_request("calls are added 1 to 250 at a time"));
            }
            for call in &calls {
                crate::crud::required(Some(&call.phone), "a call's phone")?;
                crate::crud::required(Some(&call.source), "a call's source")?;
            }
            let request = ApiRequest::raw(Method::POST, "/api/v4/calls").json_body(&calls)?;
            Ok(self.client.page(request, "calls").await?.items)
        }
    }
}
