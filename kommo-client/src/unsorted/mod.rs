//! Unsorted (incoming leads, `/api/v4/leads/unsorted`): leads from forms, calls, chats and
//! mail that wait in a pipeline's first column until a manager accepts, declines or links
//! them. Over the API, forms and SIP calls can be added.

use serde::{Deserialize, Serialize};

use crate::common::LinkedEntity;
use crate::companies::CompanyWrite;
use crate::contacts::ContactWrite;
use crate::ids::{PipelineId, StatusId, UserId};
use crate::leads::LeadWrite;
use crate::serde_util;
use crate::string_enum::string_enum;

/// The most incoming leads per add.
pub const UNSORTED_MAX: usize = 250;

string_enum! {
    /// Where an incoming lead came from.
    pub enum UnsortedCategory {
        /// `sip`: a call.
        Sip => "sip",
        /// `mail`.
        Mail => "mail",
        /// `chats`.
        Chats => "chats",
        /// `forms`.
        Forms => "forms",
    }
}

/// `_embedded` of an incoming lead: what it will become (a lead, its contact and company).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsortedEmbedded {
    /// The lead.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub leads: Vec<LinkedEntity>,
    /// The contact.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub contacts: Vec<LinkedEntity>,
    /// The company.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub companies: Vec<LinkedEntity>,
}

/// An incoming lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Unsorted {
    /// The id (a string).
    pub uid: String,
    /// The source's own id of it.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub source_uid: Option<String>,
    /// The source's name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub source_name: Option<String>,
    /// Where it came from.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub category: Option<UnsortedCategory>,
    /// Its pipeline.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// The form or call details, as sent (see [`FormMetadata`], [`SipMetadata`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    /// The lead, contact and company.
    #[serde(rename = "_embedded", default)]
    pub embedded: UnsortedEmbedded,
}

/// The details of a form submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FormMetadata {
    /// The form's id on the site.
    pub form_id: String,
    /// The form's name.
    pub form_name: String,
    /// The page the form is on.
    pub form_page: String,
    /// The visitor's IP address.
    pub ip: String,
    /// When it was sent, unix seconds.
    pub form_sent_at: i64,
    /// Where the visitor came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referer: Option<String>,
    /// The visitor's id on the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_uid: Option<String>,
}

/// The details of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SipMetadata {
    /// The telephony system's id of the call.
    pub uniq: String,
    /// The duration in seconds.
    pub duration: u32,
    /// The telephony widget's code.
    pub service_code: String,
    /// The caller's number.
    pub phone: String,
    /// When, unix seconds.
    pub called_at: i64,
    /// Who called (a name or number).
    pub from: String,
    /// A link to the recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Whether Kommo should also log a call event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_call_event_needed: Option<bool>,
}

/// The details of a new incoming lead: a form or a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum UnsortedMetadata {
    /// A form (`POST .../unsorted/forms`).
    Form(FormMetadata),
    /// A call (`POST .../unsorted/sip`).
    Sip(SipMetadata),
}

/// `_embedded` of a new incoming lead.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct NewUnsortedEmbedded {
    /// The lead (at most one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leads: Vec<LeadWrite>,
    /// The contact (at most one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactWrite>,
    /// The company (at most one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub companies: Vec<CompanyWrite>,
}

/// A new incoming lead.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NewUnsorted {
    /// The source's id of it (required).
    pub source_uid: String,
    /// The source's name (required).
    pub source_name: String,
    /// The pipeline (the main one when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<PipelineId>,
    /// When, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// The form or call.
    pub metadata: UnsortedMetadata,
    /// The lead, contact and company to create.
    #[serde(rename = "_embedded")]
    pub embedded: NewUnsortedEmbedded,
    /// Echoed back in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl NewUnsorted {
    /// An incoming lead with these details.
    #[must_use]
    pub fn new(
        source_uid: impl Into<String>,
        source_name: impl Into<String>,
        metadata: UnsortedMetadata,
    ) -> Self {
        Self {
            source_uid: source_uid.into(),
            source_name: source_name.into(),
            pipeline_id: None,
            created_at: None,
            metadata,
            embedded: NewUnsortedEmbedded::default(),
            request_id: None,
        }
    }

    /// Puts it in `pipeline`.
    #[must_use]
    pub fn pipeline(mut self, pipeline: PipelineId) -> Self {
        self.pipeline_id = Some(pipeline);
        self
    }

    /// The lead to create.
    #[must_use]
    pub fn lead(mut self, lead: LeadWrite) -> Self {
        self.embedded.leads = vec![lead];
        self
    }

    /// The contact to create.
    #[must_use]
    pub fn contact(mut self, contact: ContactWrite) -> Self {
        self.embedded.contacts = vec![contact];
        self
    }

    /// The company to create.
    #[must_use]
    pub fn company(mut self, company: CompanyWrite) -> Self {
        self.embedded.companies = vec![company];
        self
    }
}

/// The answer for one added, accepted, declined or linked incoming lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsortedResult {
    /// The incoming lead.
    pub uid: String,
    /// The echoed `request_id` (adds).
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub request_id: Option<String>,
    /// Its pipeline.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub pipeline_id: Option<PipelineId>,
    /// The entities created or linked.
    #[serde(rename = "_embedded", default)]
    pub embedded: UnsortedEmbedded,
}

/// Who accepts or declines, and (accept) where the lead goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct UnsortedDecision {
    /// The user acting (the token's user when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// The stage an accepted lead goes to (the pipeline's first when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_id: Option<StatusId>,
}

impl UnsortedDecision {
    /// Made by `user`.
    #[must_use]
    pub fn by(user: UserId) -> Self {
        Self {
            user_id: Some(user),
            status_id: None,
        }
    }

    /// The accepted lead goes to `status`.
    #[must_use]
    pub fn to_status(mut self, status: StatusId) -> Self {
        self.status_id = Some(status);
        self
    }
}

/// Counts of incoming leads per category (`forms`, `sip`, `chats`, `mail`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsortedSummary {
    /// All incoming leads.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub total: Option<i64>,
    /// Accepted ones.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub accepted: Option<i64>,
    /// Declined ones.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub declined: Option<i64>,
    /// The average time to sort one, seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub average_sort_time: Option<i64>,
    /// The count per category.
    #[serde(default, deserialize_with = "serde_util::lenient_object")]
    pub categories: Option<std::collections::BTreeMap<String, i64>>,
}

#[cfg(feature = "client")]
pub use api::UnsortedApi;

#[cfg(feature = "client")]
mod api;
