//! Webhook entities for activities: notes (`leads[note][i][note][…]`,
//! `contacts[note][i][note][…]`) and tasks (`task[add|update|delete|responsible][i]`).

use super::fields::{Extra, Fields, FormWriter};
use super::form::{FormKey, FormMap, FormNode};
use super::{Limits, WebhookError};
use crate::ids::{AccountId, GroupId, NoteId, TaskId, TaskTypeId, UserId};

/// A note in `leads[note][i][note][…]` or `contacts[note][i][note][…]`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookNote {
    /// The note id.
    pub id: Option<NoteId>,
    /// The numeric note type of the legacy API (`4` common text, `5` attachment; `10`/`11`
    /// incoming/outgoing call per third-party code).
    pub note_type: Option<u32>,
    /// The text.
    pub text: Option<String>,
    /// The entity type code: `1` contact, `2` lead, `3` company.
    pub element_type: Option<u32>,
    /// The entity the note is attached to.
    pub element_id: Option<u64>,
    /// The attachment name (Kommo spells the key `attachement`).
    pub attachment: Option<String>,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// Who changed it last.
    pub modified_by: Option<UserId>,
    /// The responsible user of the note.
    pub main_user_id: Option<UserId>,
    /// The user group.
    pub group_id: Option<GroupId>,
    /// The account.
    pub account_id: Option<AccountId>,
    /// Creation time as sent (`YYYY-MM-DD HH:MM:SS` on notes).
    pub date_create: Option<String>,
    /// Last change as sent (`YYYY-MM-DD HH:MM:SS`).
    pub timestamp_x: Option<String>,
    /// Creation time, unix seconds.
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    pub updated_at: Option<i64>,
    /// The `metadata` JSON string as sent (see [`WebhookNote::metadata_json`]).
    pub metadata: Option<String>,
    /// The outer `type` of contact-group notes: `contact` or `company`.
    pub parent_type: Option<String>,
    /// Unmodelled fields of the note itself.
    pub extra: Extra,
    /// Unmodelled fields next to `[note]` in the event envelope.
    pub envelope_extra: Extra,
}

impl WebhookNote {
    /// A note with an id and a text.
    #[must_use]
    pub fn new(id: NoteId, text: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// `metadata` parsed as JSON, when it is valid JSON.
    #[must_use]
    pub fn metadata_json(&self) -> Option<serde_json::Value> {
        self.metadata
            .as_deref()
            .and_then(|m| serde_json::from_str(m).ok())
    }

    /// The modification time: `updated_at` (unix seconds).
    #[must_use]
    pub fn updated_at(&self) -> Option<i64> {
        self.updated_at
    }

    /// Parses the event envelope `{note: {...}, type, ...}`.
    pub(crate) fn from_envelope(map: FormMap, _: &Limits) -> Result<Self, WebhookError> {
        let mut outer = Fields::new(map);
        let inner = outer.map("note").unwrap_or_default();
        let parent_type = outer.string("type");
        let mut f = Fields::new(inner);
        Ok(Self {
            id: f.id("id"),
            note_type: f.u32("note_type"),
            text: f.string("text"),
            element_type: f.u32("element_type"),
            element_id: f.u64("element_id"),
            attachment: f.string("attachement"),
            created_by: f.id("created_by"),
            modified_by: f.id("modified_by"),
            main_user_id: f.id("main_user_id"),
            group_id: f.id("group_id"),
            account_id: f.id("account_id"),
            date_create: f.string("date_create"),
            timestamp_x: f.string("timestamp_x"),
            created_at: f.i64("created_at"),
            updated_at: f.i64("updated_at"),
            metadata: f.string("metadata"),
            parent_type,
            extra: f.into_extra(),
            envelope_extra: outer.into_extra(),
        })
    }

    pub(crate) fn to_envelope(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.num("id", self.id.map(|i| i.0))
            .num("note_type", self.note_type)
            .text("text", self.text.as_deref())
            .num("element_type", self.element_type)
            .num("element_id", self.element_id)
            .text("attachement", self.attachment.as_deref())
            .num("created_by", self.created_by.map(|i| i.0))
            .num("modified_by", self.modified_by.map(|i| i.0))
            .num("main_user_id", self.main_user_id.map(|i| i.0))
            .num("group_id", self.group_id.map(|i| i.0))
            .num("account_id", self.account_id.map(|i| i.0))
            .text("date_create", self.date_create.as_deref())
            .text("timestamp_x", self.timestamp_x.as_deref())
            .num("created_at", self.created_at)
            .num("updated_at", self.updated_at)
            .text("metadata", self.metadata.as_deref());
        let note = w.finish();
        let mut outer = FormWriter::with_extra(&self.envelope_extra);
        outer
            .node("note", Some(FormNode::Map(note)))
            .text("type", self.parent_type.as_deref());
        outer.finish()
    }
}

/// A task in `task[add|update|delete|responsible][i]`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookTask {
    /// The task id.
    pub id: Option<TaskId>,
    /// The entity the task is attached to.
    pub element_id: Option<u64>,
    /// The entity type code: `1` contact, `2` lead, `3` company.
    pub element_type: Option<u32>,
    /// The task type.
    pub task_type: Option<TaskTypeId>,
    /// The text.
    pub text: Option<String>,
    /// The previous text (updates).
    pub old_text: Option<String>,
    /// `"0"` open, `"1"` completed (see [`WebhookTask::is_completed`]).
    pub status: Option<String>,
    /// Set when the task was closed by this change.
    pub action_close: Option<String>,
    /// The completion result text.
    pub result_text: Option<String>,
    /// The completion result id.
    pub result_id: Option<u64>,
    /// The responsible user.
    pub responsible_user_id: Option<UserId>,
    /// The previous responsible user (responsible changes).
    pub old_responsible_user_id: Option<UserId>,
    /// Who created it.
    pub created_user_id: Option<UserId>,
    /// Who changed it last.
    pub modified_user_id: Option<UserId>,
    /// The due time as sent (`YYYY-MM-DD HH:MM:SS`).
    pub complete_till: Option<String>,
    /// The due time, unix seconds.
    pub complete_before: Option<i64>,
    /// Creation time as sent (`YYYY-MM-DD HH:MM:SS` on tasks).
    pub date_create: Option<String>,
    /// Last change as sent (`YYYY-MM-DD HH:MM:SS` on tasks).
    pub last_modified: Option<String>,
    /// Creation time, unix seconds.
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    pub updated_at: Option<i64>,
    /// The account.
    pub account_id: Option<AccountId>,
    /// The user group.
    pub group_id: Option<GroupId>,
    /// Unmodelled fields.
    pub extra: Extra,
}

impl WebhookTask {
    /// A task with an id.
    #[must_use]
    pub fn new(id: TaskId) -> Self {
        Self {
            id: Some(id),
            ..Self::default()
        }
    }

    /// Whether the task is completed (`status=1`).
    #[must_use]
    pub fn is_completed(&self) -> Option<bool> {
        match self.status.as_deref().map(str::trim) {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        }
    }

    /// The modification time: `updated_at` (unix seconds).
    #[must_use]
    pub fn updated_at(&self) -> Option<i64> {
        self.updated_at
    }

    pub(crate) fn from_form(map: FormMap, _: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        let mut result_text = None;
        let mut result_id = None;
        if let Some(result) = f.map("result") {
            let mut r = Fields::new(result);
            result_text = r.string("text");
            result_id = r.u64("id");
            let rest = r.into_extra();
            if !rest.is_empty() {
                let rest: FormMap = rest
                    .into_iter()
                    .map(|(k, v)| (FormKey::from_segment(&k), v))
                    .collect();
                return Self::finish(f, result_text, result_id, Some(rest));
            }
        }
        Self::finish(f, result_text, result_id, None)
    }

    fn finish(
        mut f: Fields,
        result_text: Option<String>,
        result_id: Option<u64>,
        result_rest: Option<FormMap>,
    ) -> Result<Self, WebhookError> {
        let mut task = Self {
            id: f.id("id"),
            element_id: f.u64("element_id"),
            element_type: f.u32("element_type"),
            task_type: f.id("task_type"),
            text: f.string("text"),
            old_text: f.string("old_text"),
            status: f.string("status"),
            action_close: f.string("action_close"),
            result_text,
            result_id,
            responsible_user_id: f.id("responsible_user_id"),
            old_responsible_user_id: f.id("old_responsible_user_id"),
            created_user_id: f.id("created_user_id"),
            modified_user_id: f.id("modified_user_id"),
            complete_till: f.string("complete_till"),
            complete_before: f.i64("complete_before"),
            date_create: f.string("date_create"),
            last_modified: f.string("last_modified"),
            created_at: f.i64("created_at"),
            updated_at: f.i64("updated_at"),
            account_id: f.id("account_id"),
            group_id: f.id("group_id"),
            extra: Extra::new(),
        };
        task.extra = f.into_extra();
        if let Some(rest) = result_rest {
            // Keep unknown result members where they came from.
            task.extra.insert("result".into(), FormNode::Map(rest));
        }
        Ok(task)
    }

    pub(crate) fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        let mut result = match self.extra.get("result") {
            Some(FormNode::Map(m)) => m.clone(),
            _ => FormMap::new(),
        };
        if let Some(id) = self.result_id {
            result.insert(FormKey::Name("id".into()), FormNode::Text(id.to_string()));
        }
        if let Some(text) = &self.result_text {
            result.insert(FormKey::Name("text".into()), FormNode::Text(text.clone()));
        }
        w.num("id", self.id.map(|i| i.0))
            .num("element_id", self.element_id)
            .num("element_type", self.element_type)
            .num("task_type", self.task_type.map(|i| i.0))
            .text("text", self.text.as_deref())
            .text("old_text", self.old_text.as_deref())
            .text("status", self.status.as_deref())
            .text("action_close", self.action_close.as_deref())
            .node(
                "result",
                (!result.is_empty()).then_some(FormNode::Map(result)),
            )
            .num("responsible_user_id", self.responsible_user_id.map(|i| i.0))
            .num(
                "old_responsible_user_id",
                self.old_responsible_user_id.map(|i| i.0),
            )
            .num("created_user_id", self.created_user_id.map(|i| i.0))
            .num("modified_user_id", self.modified_user_id.map(|i| i.0))
            .text("complete_till", self.complete_till.as_deref())
            .num("complete_before", self.complete_before)
            .text("date_create", self.date_create.as_deref())
            .text("last_modified", self.last_modified.as_deref())
            .num("created_at", self.created_at)
            .num("updated_at", self.updated_at)
            .num("account_id", self.account_id.map(|i| i.0))
            .num("group_id", self.group_id.map(|i| i.0));
        w.finish()
    }
}
