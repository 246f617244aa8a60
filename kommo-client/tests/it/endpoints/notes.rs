//! `client.notes(entity)`.

use futures_util::TryStreamExt;
use kommo_client::common::EntityType;
use kommo_client::ids::*;
use kommo_client::notes::NewNote;
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::MockServer;

use super::{added, mount, ok};
use crate::support::client;

#[tokio::test]
async fn notes_add_list_get() {
    let server = MockServer::start().await;
    let body = json!([{"entity_id": 5, "note_type": "common", "params": {"text": "hello"}, "created_by": 0, "request_id": "r"}]);
    mount(
        &server,
        "POST",
        "/api/v4/companies/notes",
        &[],
        Some(body),
        ok(added("notes", 77..78)),
    )
    .await;
    let notes = json!({"_links": {}, "_embedded": {"notes": [{"id": 77, "entity_id": 5, "note_type": "common", "params": {"text": "hello"}},
        {"id": 78, "entity_id": 5, "note_type": "future_type", "params": {}}]}});
    mount(
        &server,
        "GET",
        "/api/v4/companies/5/notes",
        &[],
        None,
        ok(notes),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/companies/notes/77",
        &[],
        None,
        ok(json!({"id": 77, "note_type": "common", "params": {"text": "hello"}})),
    )
    .await;
    let api = client(&server).notes(EntityType::Companies);
    let r = api
        .add(vec![
            NewNote::common(5, "hello")
                .created_by(UserId(0))
                .request_id("r"),
        ])
        .await
        .unwrap();
    assert_eq!(r[0].id, 77);
    let listed: Vec<_> = api
        .list_for(5, ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed[0].text(), Some("hello"));
    assert_eq!(listed[1].note_type.as_str(), "future_type");
    assert_eq!(api.get(NoteId(77)).await.unwrap().unwrap().id, NoteId(77));
}

#[tokio::test]
async fn notes_of_the_whole_type_and_one_page_of_an_entity() {
    let server = MockServer::start().await;
    let notes = json!({"_page": 1, "_links": {}, "_embedded": {"notes": [
        {"id": 1, "entity_id": 5, "note_type": "common", "params": {"text": "a"}},
        {"id": 2, "entity_id": 6, "note_type": "common", "params": {"text": "b"}}]}});
    mount(
        &server,
        "GET",
        "/api/v4/leads/notes",
        &[("filter[note_type]", "common")],
        None,
        ok(notes.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/notes",
        &[("limit", "2")],
        None,
        ok(notes.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/5/notes",
        &[("limit", "50"), ("order[id]", "desc")],
        None,
        ok(notes),
    )
    .await;
    let api = client(&server).notes(EntityType::Leads);
    let all: Vec<_> = api
        .list(ListQuery::new().filter("note_type", "common"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let page = api.list_page(ListQuery::new().limit(2)).await.unwrap();
    assert_eq!(page.items[1].text(), Some("b"));
    let recent = api
        .list_page_for(5, ListQuery::new().limit(50).order("id", false))
        .await
        .unwrap();
    assert_eq!(recent.items[0].id, NoteId(1));
}
