//! What the Kommo sandbox stores and records, as public read-only snapshots.

use std::time::SystemTime;

use kommo_client::common::EntityType;
use kommo_client::ids::{
    CompanyId, ContactId, CustomFieldId, EnumId, LeadId, NoteId, PipelineId, StatusId, TagId,
    TaskId, TaskTypeId, UserId, WebhookId,
};
use kommo_client::webhook_subscriptions::WebhookSetting;
use kommo_client::webhooks::{WebhookError, WebhookPayload};
use serde::Serialize;
use serde_json::Value;

use crate::records::DeliveryOutcome;
use crate::time::serialize_rfc3339;

/// One stored value of a custom field, in the v4 shape: `value`, and for select-like and
/// multitext fields the option's `enum_id` and `enum_code`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FieldValue {
    /// The value: a string for text, numeric (as Kommo answers it), select labels and
    /// multitext; a boolean for checkboxes; unix seconds for dates.
    pub value: Value,
    /// The option id (select, multiselect, radiobutton, multitext).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enum_id: Option<EnumId>,
    /// The option code (multitext kinds such as `WORK`; select options that have a code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enum_code: Option<String>,
}

impl FieldValue {
    /// The value as text (numbers and booleans included).
    pub fn text(&self) -> String {
        match &self.value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
}

/// The values of one custom field on an entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FieldValues {
    /// The field.
    pub field_id: CustomFieldId,
    /// Its name.
    pub field_name: String,
    /// Its code, if any.
    pub field_code: Option<String>,
    /// Its type (`text`, `select`, `multitext`, ...).
    pub field_type: String,
    /// The values, in order (never empty: a cleared field is removed).
    pub values: Vec<FieldValue>,
}

/// Lookups shared by leads, contacts and companies.
fn field_by_code<'a>(fields: &'a [FieldValues], code: &str) -> Option<&'a FieldValues> {
    fields.iter().find(|f| {
        f.field_code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(code))
    })
}

fn texts_by_code(fields: &[FieldValues], code: &str) -> Vec<String> {
    field_by_code(fields, code)
        .map(|f| f.values.iter().map(FieldValue::text).collect())
        .unwrap_or_default()
}

macro_rules! field_lookups {
    () => {
        /// The custom field with this id.
        pub fn field(&self, id: CustomFieldId) -> Option<&FieldValues> {
            self.custom_fields.iter().find(|f| f.field_id == id)
        }

        /// The custom field with this code (case-insensitive).
        pub fn field_by_code(&self, code: &str) -> Option<&FieldValues> {
            field_by_code(&self.custom_fields, code)
        }

        /// The first value's text of the field with this code.
        pub fn field_text(&self, code: &str) -> Option<String> {
            texts_by_code(&self.custom_fields, code).into_iter().next()
        }

        /// Tag names, in the order they were attached.
        pub fn tag_names(&self) -> Vec<&str> {
            self.tags.iter().map(|t| t.name.as_str()).collect()
        }
    };
}

/// A tag in an entity type's directory (and attached to entities).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Tag {
    /// The id (one counter for every entity type; the directories are separate).
    pub id: TagId,
    /// The name.
    pub name: String,
    /// The color (leads only in Kommo; the sandbox leaves it unset unless given).
    pub color: Option<String>,
}

/// A contact linked to a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LeadContactLink {
    /// The contact.
    pub id: ContactId,
    /// Whether it is the lead's main contact (a lead with contacts always has one).
    pub is_main: bool,
}

/// A lead held by the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Lead {
    /// The id.
    pub id: LeadId,
    /// The name.
    pub name: String,
    /// The sale value.
    pub price: f64,
    /// The pipeline.
    pub pipeline_id: PipelineId,
    /// The status.
    pub status_id: StatusId,
    /// The loss reason, if set.
    pub loss_reason_id: Option<u64>,
    /// The responsible user.
    pub responsible_user_id: UserId,
    /// Who created it.
    pub created_by: UserId,
    /// Who changed it last.
    pub updated_by: UserId,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds (strictly increasing per entity).
    pub updated_at: i64,
    /// When it entered 142 or 143, unix seconds.
    pub closed_at: Option<i64>,
    /// Custom field values.
    pub custom_fields: Vec<FieldValues>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// Linked contacts, in link order.
    pub contacts: Vec<LeadContactLink>,
    /// The linked company.
    pub company: Option<CompanyId>,
}

impl Lead {
    field_lookups!();

    /// The main contact.
    pub fn main_contact(&self) -> Option<ContactId> {
        self.contacts.iter().find(|c| c.is_main).map(|c| c.id)
    }

    /// Every linked contact id, in link order.
    pub fn contact_ids(&self) -> Vec<ContactId> {
        self.contacts.iter().map(|c| c.id).collect()
    }
}

/// A contact held by the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Contact {
    /// The id.
    pub id: ContactId,
    /// The full name.
    pub name: String,
    /// The first name.
    pub first_name: Option<String>,
    /// The last name.
    pub last_name: Option<String>,
    /// The responsible user.
    pub responsible_user_id: UserId,
    /// Who created it.
    pub created_by: UserId,
    /// Who changed it last.
    pub updated_by: UserId,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds (strictly increasing per entity).
    pub updated_at: i64,
    /// Custom field values (PHONE and EMAIL are multitext fields here).
    pub custom_fields: Vec<FieldValues>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// The linked company (at most one).
    pub company: Option<CompanyId>,
}

impl Contact {
    field_lookups!();

    /// Every `EMAIL` value, in order.
    pub fn emails(&self) -> Vec<String> {
        texts_by_code(&self.custom_fields, "EMAIL")
    }

    /// Every `PHONE` value, in order.
    pub fn phones(&self) -> Vec<String> {
        texts_by_code(&self.custom_fields, "PHONE")
    }

    /// Whether an `EMAIL` value equals `email` (case-insensitive).
    pub fn has_email(&self, email: &str) -> bool {
        self.emails()
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(email.trim()))
    }
}

/// A company held by the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Company {
    /// The id.
    pub id: CompanyId,
    /// The name.
    pub name: String,
    /// The responsible user.
    pub responsible_user_id: UserId,
    /// Who created it.
    pub created_by: UserId,
    /// Who changed it last.
    pub updated_by: UserId,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds (strictly increasing per entity).
    pub updated_at: i64,
    /// Custom field values.
    pub custom_fields: Vec<FieldValues>,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl Company {
    field_lookups!();

    /// Every `EMAIL` value, in order.
    pub fn emails(&self) -> Vec<String> {
        texts_by_code(&self.custom_fields, "EMAIL")
    }
}

/// A note held by the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Note {
    /// The id.
    pub id: NoteId,
    /// The entity type it is on: `leads`, `contacts` or `companies`.
    pub entity_type: EntityType,
    /// The entity it is on.
    pub entity_id: u64,
    /// The v4 note type (`common`, `service_message`, ...).
    pub note_type: String,
    /// The type's parameters as sent (`{"text": ...}` for common notes).
    pub params: Value,
    /// The author.
    pub created_by: UserId,
    /// Who changed it last.
    pub updated_by: UserId,
    /// The responsible user.
    pub responsible_user_id: UserId,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds.
    pub updated_at: i64,
}

impl Note {
    /// `params.text`, for notes that have one.
    pub fn text(&self) -> Option<&str> {
        self.params.get("text").and_then(Value::as_str)
    }
}

/// A task held by the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Task {
    /// The id.
    pub id: TaskId,
    /// The entity type it is attached to, if any.
    pub entity_type: Option<EntityType>,
    /// The entity it is attached to, if any.
    pub entity_id: Option<u64>,
    /// The text.
    pub text: String,
    /// The task type.
    pub task_type_id: TaskTypeId,
    /// Due time, unix seconds.
    pub complete_till: i64,
    /// Duration, seconds.
    pub duration: i64,
    /// Whether it is done.
    pub is_completed: bool,
    /// The completion result text.
    pub result_text: Option<String>,
    /// The responsible user.
    pub responsible_user_id: UserId,
    /// Who created it.
    pub created_by: UserId,
    /// Who changed it last.
    pub updated_by: UserId,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds.
    pub updated_at: i64,
}

/// A link between two entities, as `GET /api/v4/{entity}/{id}/links` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Link {
    /// The source entity type.
    pub entity_type: EntityType,
    /// The source entity.
    pub entity_id: u64,
    /// The target entity type.
    pub to_entity_type: EntityType,
    /// The target entity.
    pub to_entity_id: u64,
    /// For lead-contact links: whether the contact is the main one.
    pub is_main: Option<bool>,
}

/// A webhook subscription (`/api/v4/webhooks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Subscription {
    /// The id.
    pub id: WebhookId,
    /// Where deliveries go.
    pub destination: String,
    /// The events it receives.
    pub settings: Vec<WebhookSetting>,
    /// The delivery order.
    pub sort: i64,
    /// Whether the sandbox disabled it after too many failed deliveries.
    pub disabled: bool,
    /// Who created it.
    pub created_by: UserId,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last change, unix seconds.
    pub updated_at: i64,
}

impl Subscription {
    /// Whether it receives `setting`.
    pub fn wants(&self, setting: &WebhookSetting) -> bool {
        self.settings.contains(setting)
    }
}

/// One attempt to deliver a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The sandbox's sequence number of this attempt (1, 2, ...).
    pub id: u64,
    /// The subscription it was for (none for deliveries a test sent directly).
    pub subscription: Option<WebhookId>,
    /// Where it was sent.
    pub url: String,
    /// `X-Amocrm-Requestid` (retries and redeliveries repeat the original's).
    pub request_id: String,
    /// The `group[action]` keys in the body, in body order (`leads[status]`, `contacts[add]`).
    pub events: Vec<String>,
    /// The exact body (`application/x-www-form-urlencoded`).
    pub body: String,
    /// What the receiver did.
    pub outcome: DeliveryOutcome,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// Whether a test asked to send it again ([`redeliver_webhook`](crate::kommo::Sandbox::redeliver_webhook)).
    pub redelivery: bool,
    /// When it was sent.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub sent_at: SystemTime,
    /// How long the receiver took, in milliseconds.
    pub elapsed_ms: u64,
}

impl WebhookDelivery {
    /// The status the receiver answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            DeliveryOutcome::Status(status) => Some(status),
            _ => None,
        }
    }

    /// Whether the receiver accepted it (100 to 299, within the timeout), as Kommo counts.
    pub fn acknowledged(&self) -> bool {
        self.status().is_some_and(|s| (100..300).contains(&s))
    }

    /// The body parsed with the client's webhook parser.
    pub fn parse(&self) -> Result<WebhookPayload, WebhookError> {
        kommo_client::webhooks::parse(self.body.as_bytes())
    }
}

/// The issue behind one entry of `validation-errors[].errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ValidationIssue {
    /// `NotSupportedChoice`, `InvalidType`, `NotBlank`, `NotFound`, ...
    pub code: String,
    /// The field path inside the item (`status_id`, `custom_fields_values.0.field_id`).
    pub path: String,
    /// A human-readable reason.
    pub detail: String,
}

impl ValidationIssue {
    pub(crate) fn new(code: &str, path: impl Into<String>, detail: impl Into<String>) -> Self {
        ValidationIssue {
            code: code.to_owned(),
            path: path.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn choice(path: impl Into<String>) -> Self {
        ValidationIssue::new(
            "NotSupportedChoice",
            path,
            "The value you selected is not a valid choice.",
        )
    }

    pub(crate) fn invalid_type(path: impl Into<String>, expected: &str) -> Self {
        ValidationIssue::new(
            "InvalidType",
            path,
            format!("This value should be of type {expected}."),
        )
    }

    pub(crate) fn blank(path: impl Into<String>) -> Self {
        ValidationIssue::new("NotBlank", path, "This value should not be blank.")
    }
}
