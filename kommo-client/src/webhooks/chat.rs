//! Webhook entities for chats and incoming leads: messages (`message[add][i]`), talks
//! (`talk[add|update][i]`) and unsorted leads (`unsorted[add|update|delete][i]`).

use super::fields::{Extra, Fields, FormWriter};
use super::form::{FormMap, FormNode};
use super::{Limits, WebhookError};
use crate::ids::{AccountId, ContactId, PipelineId};

/// The author of a chat message.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookMessageAuthor {
    /// The author id (a UUID for external authors).
    pub id: Option<String>,
    /// `external` or `internal`.
    pub author_type: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The avatar URL.
    pub avatar_url: Option<String>,
    /// Unmodelled fields.
    pub extra: Extra,
}

/// A message attachment.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookAttachment {
    /// The attachment type (`picture`, `file`, ...).
    pub attachment_type: Option<String>,
    /// The download link.
    pub link: Option<String>,
    /// Unmodelled fields.
    pub extra: Extra,
}

/// An incoming or outgoing chat message (`message[add][i]`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookMessage {
    /// The message id (a UUID).
    pub id: Option<String>,
    /// The chat id (a UUID).
    pub chat_id: Option<String>,
    /// The talk id.
    pub talk_id: Option<u64>,
    /// The contact who wrote (or received) it.
    pub contact_id: Option<ContactId>,
    /// The text.
    pub text: Option<String>,
    /// When it was sent, unix seconds.
    pub created_at: Option<i64>,
    /// The entity type code: `1` contact, `2` lead, `3` company.
    pub element_type: Option<u32>,
    /// The entity id.
    pub element_id: Option<u64>,
    /// The entity type name (`lead`, `contact`).
    pub entity_type: Option<String>,
    /// The entity id.
    pub entity_id: Option<u64>,
    /// `incoming` or `outgoing`.
    pub message_type: Option<String>,
    /// The author.
    pub author: Option<WebhookMessageAuthor>,
    /// The attachment, if any.
    pub attachment: Option<WebhookAttachment>,
    /// The channel (`telegram`, `whatsapp`, ...).
    pub origin: Option<String>,
    /// Unmodelled fields.
    pub extra: Extra,
}

impl WebhookMessage {
    /// Whether Kommo marked the message `incoming`.
    #[must_use]
    pub fn is_incoming(&self) -> bool {
        self.message_type.as_deref() == Some("incoming")
    }

    pub(crate) fn from_form(map: FormMap, _: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        let author = f.map("author").map(|m| {
            let mut a = Fields::new(m);
            WebhookMessageAuthor {
                id: a.string("id"),
                author_type: a.string("type"),
                name: a.string("name"),
                avatar_url: a.string("avatar_url"),
                extra: a.into_extra(),
            }
        });
        let attachment = f.map("attachment").map(|m| {
            let mut a = Fields::new(m);
            WebhookAttachment {
                attachment_type: a.string("type"),
                link: a.string("link"),
                extra: a.into_extra(),
            }
        });
        Ok(Self {
            id: f.string("id"),
            chat_id: f.string("chat_id"),
            talk_id: f.u64("talk_id"),
            contact_id: f.id("contact_id"),
            text: f.string("text"),
            created_at: f.i64("created_at"),
            element_type: f.u32("element_type"),
            element_id: f.u64("element_id"),
            entity_type: f.string("entity_type"),
            entity_id: f.u64("entity_id"),
            message_type: f.string("type"),
            author,
            attachment,
            origin: f.string("origin"),
            extra: f.into_extra(),
        })
    }

    pub(crate) fn to_form(&self) -> FormMap {
        let author = self.author.as_ref().map(|a| {
            let mut w = FormWriter::with_extra(&a.extra);
            w.text("id", a.id.as_deref())
                .text("type", a.author_type.as_deref())
                .text("name", a.name.as_deref())
                .text("avatar_url", a.avatar_url.as_deref());
            FormNode::Map(w.finish())
        });
        let attachment = self.attachment.as_ref().map(|a| {
            let mut w = FormWriter::with_extra(&a.extra);
            w.text("type", a.attachment_type.as_deref())
                .text("link", a.link.as_deref());
            FormNode::Map(w.finish())
        });
        let mut w = FormWriter::with_extra(&self.extra);
        w.text("id", self.id.as_deref())
            .text("chat_id", self.chat_id.as_deref())
            .num("talk_id", self.talk_id)
            .num("contact_id", self.contact_id.map(|i| i.0))
            .text("text", self.text.as_deref())
            .num("created_at", self.created_at)
            .num("element_type", self.element_type)
            .num("element_id", self.element_id)
            .text("entity_type", self.entity_type.as_deref())
            .num("entity_id", self.entity_id)
            .text("type", self.message_type.as_deref())
            .node(
                "author",
                author.filter(|n| n.as_map().is_some_and(|m| !m.is_empty())),
            )
            .node(
                "attachment",
                attachment.filter(|n| n.as_map().is_some_and(|m| !m.is_empty())),
            )
            .text("origin", self.origin.as_deref());
        w.finish()
    }
}

/// A talk (conversation) in `talk[add|update][i]`.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookTalk {
    /// The talk id.
    pub talk_id: Option<u64>,
    /// The chat id (a UUID).
    pub chat_id: Option<String>,
    /// The contact.
    pub contact_id: Option<ContactId>,
    /// The entity id.
    pub entity_id: Option<u64>,
    /// The entity type name (`lead`, `contact`).
    pub entity_type: Option<String>,
    /// Whether the talk is in work.
    pub is_in_work: Option<bool>,
    /// Whether the talk was read.
    pub is_read: Option<bool>,
    /// The rating, when rated.
    pub rate: Option<i64>,
    /// The channel.
    pub origin: Option<String>,
    /// Creation time, unix seconds.
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    pub updated_at: Option<i64>,
    /// The account.
    pub account_id: Option<AccountId>,
    /// Unmodelled fields.
    pub extra: Extra,
}

impl WebhookTalk {
    pub(crate) fn from_form(map: FormMap, _: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        Ok(Self {
            talk_id: f.u64("talk_id"),
            chat_id: f.string("chat_id"),
            contact_id: f.id("contact_id"),
            entity_id: f.u64("entity_id"),
            entity_type: f.string("entity_type"),
            is_in_work: f.bool("is_in_work"),
            is_read: f.bool("is_read"),
            rate: f.i64("rate"),
            origin: f.string("origin"),
            created_at: f.i64("created_at"),
            updated_at: f.i64("updated_at"),
            account_id: f.id("account_id"),
            extra: f.into_extra(),
        })
    }

    pub(crate) fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.num("talk_id", self.talk_id)
            .text("chat_id", self.chat_id.as_deref())
            .num("contact_id", self.contact_id.map(|i| i.0))
            .num("entity_id", self.entity_id)
            .text("entity_type", self.entity_type.as_deref())
            .flag("is_in_work", self.is_in_work)
            .flag("is_read", self.is_read)
            .num("rate", self.rate)
            .text("origin", self.origin.as_deref())
            .num("created_at", self.created_at)
            .num("updated_at", self.updated_at)
            .num("account_id", self.account_id.map(|i| i.0));
        w.finish()
    }
}

/// An incoming (unsorted) lead in `unsorted[add|update|delete][i]`. The field set is only
/// partly documented; everything not listed here is in `extra` (for deletes, the
/// `accept_result`/`decline_result` trees).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookUnsorted {
    /// The unsorted entry's UID.
    pub uid: Option<String>,
    /// The source UID.
    pub source_uid: Option<String>,
    /// `forms`, `sip`, `chats`, `mail`.
    pub category: Option<String>,
    /// The pipeline it is waiting in.
    pub pipeline_id: Option<PipelineId>,
    /// On delete: `accept` or `decline`.
    pub action: Option<String>,
    /// Creation time, unix seconds.
    pub created_at: Option<i64>,
    /// The account.
    pub account_id: Option<AccountId>,
    /// Unmodelled fields.
    pub extra: Extra,
}

impl WebhookUnsorted {
    pub(crate) fn from_form(map: FormMap, _: &Limits) -> Result<Self, WebhookError> {
        let mut f = Fields::new(map);
        Ok(Self {
            uid: f.string("uid"),
            source_uid: f.string("source_uid"),
            category: f.string("category"),
            pipeline_id: f.id("pipeline_id"),
            action: f.string("action"),
            created_at: f.i64("created_at"),
            account_id: f.id("account_id"),
            extra: f.into_extra(),
        })
    }

    pub(crate) fn to_form(&self) -> FormMap {
        let mut w = FormWriter::with_extra(&self.extra);
        w.text("uid", self.uid.as_deref())
            .text("source_uid", self.source_uid.as_deref())
            .text("category", self.category.as_deref())
            .num("pipeline_id", self.pipeline_id.map(|i| i.0))
            .text("action", self.action.as_deref())
            .num("created_at", self.created_at)
            .num("account_id", self.account_id.map(|i| i.0));
        w.finish()
    }
}
