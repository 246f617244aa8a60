//! Chats linked to contacts (`/api/v4/contacts/chats`).
//!
//! The fake's choices: any chat id is accepted (the fake has no Chats API to check it
//! against); a chat belongs to one contact, so linking it to another moves it and gives the
//! link a new id, while linking it again to the same contact keeps the id; a list names
//! contacts or chats (one id, or a `[]` list), not both and not neither, and a contact id
//! that is not a number is refused (400).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use kommo_client::common::EntityType;
use serde_json::{Value, json};

use super::super::model::ValidationIssue;
use super::super::render::{self, Ctx};
use super::super::request::{ApiError, ApiResult, MAX_BATCH, Query, batch_body, hal, request_id};
use super::super::sales::ChatLinkRecord;
use super::super::writes::check_all;
use super::App;

const PATH: &str = "/api/v4/contacts/chats";

fn chat_json(link: &ChatLinkRecord, request_id: Option<&str>) -> Value {
    let mut value = json!({
        "chat_id": link.chat_id,
        "contact_id": link.contact_id,
        "id": link.id,
    });
    if let Some(request_id) = request_id {
        value["request_id"] = json!(request_id);
    }
    value
}

/// `GET /api/v4/contacts/chats?contact_id=…` or `?chat_id[]=…`; 204 when nothing matches.
pub(super) async fn chats_list(State(app): App, RawQuery(q): RawQuery) -> ApiResult {
    let query = Query::parse(q.as_deref());
    let contacts = query.numbers("contact_id")?.unwrap_or_default();
    let chats = query.values("chat_id").unwrap_or_default();
    if contacts.is_empty() == chats.is_empty() {
        return Err(ApiError::bad_request(
            "Pass contact_id or chat_id (one of them)",
        ));
    }
    let ctx: Ctx = app.ctx();
    let state = app.lock();
    let items = state
        .sales
        .chat_links
        .values()
        .filter(|l| contacts.contains(&l.contact_id) || chats.contains(&l.chat_id.as_str()))
        .map(|l| chat_json(l, None))
        .collect();
    Ok(render::collection(&ctx, PATH, items, "chats"))
}

/// `POST /api/v4/contacts/chats`: every item names an existing contact and a chat.
pub(super) async fn chats_link(State(app): App, body: Bytes) -> ApiResult {
    let items = batch_body(&body, MAX_BATCH)?;
    let mut state = app.lock();
    let plans = check_all(&items, |_, item| {
        let mut issues = Vec::new();
        let contact = item.get("contact_id").and_then(Value::as_u64);
        match contact {
            None => issues.push(ValidationIssue::blank("contact_id")),
            Some(c) if !state.exists(EntityType::Contacts, c) => {
                issues.push(ValidationIssue::choice("contact_id"));
            }
            Some(_) => {}
        }
        let chat = item
            .get("chat_id")
            .and_then(Value::as_str)
            .filter(|c| !c.trim().is_empty());
        if chat.is_none() {
            issues.push(ValidationIssue::blank("chat_id"));
        }
        match (contact, chat) {
            (Some(contact), Some(chat)) if issues.is_empty() => Ok((contact, chat.to_owned())),
            _ => Err(issues),
        }
    })?;
    let mut answer = Vec::new();
    for (i, (item, (contact, chat))) in items.iter().zip(plans).enumerate() {
        let kept = state
            .sales
            .chat_links
            .get(&chat)
            .filter(|l| l.contact_id == contact)
            .map(|l| l.id);
        let id = match kept {
            Some(id) => id,
            None => state.sales.next_id(),
        };
        let link = ChatLinkRecord {
            id,
            chat_id: chat.clone(),
            contact_id: contact,
        };
        answer.push(chat_json(&link, Some(&request_id(item, i))));
        state.sales.chat_links.insert(chat, link);
    }
    Ok(hal(json!({
        "_total_items": answer.len(),
        "_embedded": { "chats": answer },
    })))
}
