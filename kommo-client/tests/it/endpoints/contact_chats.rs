//! `client.contact_chats()`: chats linked to contacts.

use futures_util::TryStreamExt;
use kommo_client::Error;
use kommo_client::contact_chats::{ChatLinksQuery, NewChatLink};
use kommo_client::ids::ContactId;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::mount;
use super::table::{Case, refused, run};
use crate::support::{builder, fixture_json};

const CHAT: &str = "9fb564bb-369e-48f6-87d2-562e77bc59e6";

#[tokio::test]
async fn contact_chat_endpoints() {
    run(vec![
        Case {
            method: "GET",
            path: "/api/v4/contacts/chats",
            query: &[("contact_id", "8074730")],
            body: None,
            status: 200,
            answer: fixture_json("get_contacts_chats.json"),
            call: |c| {
                Box::pin(async move {
                    let links = c
                        .contact_chats()
                        .list_page(ChatLinksQuery::contacts([ContactId(8074730)]))
                        .await?
                        .items;
                    assert_eq!(links.len(), 1);
                    assert_eq!(links[0].chat_id, "4a9d72f9-9933-49f0-841d-8380d369ac11");
                    assert_eq!(links[0].contact_id, ContactId(8074730));
                    assert_eq!(links[0].id, Some(6436428));
                    assert_eq!(links[0].request_id, None);
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/contacts/chats",
            query: &[("chat_id[]", CHAT), ("chat_id[]", "c2")],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    let links: Vec<_> = c
                        .contact_chats()
                        .list(ChatLinksQuery::chats([CHAT, "c2"]))
                        .try_collect()
                        .await?;
                    assert!(links.is_empty(), "204 is no link");
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/contacts/chats",
            query: &[("contact_id[]", "1"), ("contact_id[]", "2")],
            body: None,
            status: 200,
            answer: json!({"_total_items": 0, "_embedded": {"chats": []}}),
            call: |c| {
                Box::pin(async move {
                    let q = ChatLinksQuery::contacts([ContactId(1), ContactId(2)]);
                    c.contact_chats().list_page(q).await.map(drop)
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/contacts/chats",
            query: &[],
            body: Some(json!([{"contact_id": 10711214, "chat_id": CHAT, "request_id": "0"}])),
            status: 200,
            answer: fixture_json("post_contacts_chats.json"),
            call: |c| {
                Box::pin(async move {
                    let links = c
                        .contact_chats()
                        .link(vec![
                            NewChatLink::new(ContactId(10711214), CHAT).request_id("0"),
                        ])
                        .await?;
                    assert_eq!(links[0].id, Some(6436429));
                    assert_eq!(links[0].request_id.as_deref(), Some("0"));
                    assert_eq!(links[0].contact_id, ContactId(10711214));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/contacts/chats",
            query: &[],
            body: Some(json!([{"contact_id": 5, "chat_id": "c5"}])),
            status: 200,
            // Ids as strings and a missing link id are read, not errors.
            answer: json!({"_embedded": {"chats": [{"chat_id": "c5", "contact_id": "5"}]}}),
            call: |c| {
                Box::pin(async move {
                    let links = c
                        .contact_chats()
                        .link(vec![NewChatLink::new(ContactId(5), "c5")])
                        .await?;
                    assert_eq!(links[0].contact_id, ContactId(5));
                    assert_eq!(links[0].id, None);
                    Ok(())
                })
            },
        },
    ])
    .await;
}

#[tokio::test]
async fn contact_chat_calls_kommo_would_refuse_are_never_sent() {
    refused(vec![
        ("a list names a contact or a chat", |c| {
            Box::pin(async move {
                c.contact_chats()
                    .list_page(ChatLinksQuery::contacts([]))
                    .await
                    .map(drop)
            })
        }),
        ("a blank chat id names no chat", |c| {
            Box::pin(async move {
                c.contact_chats()
                    .list(ChatLinksQuery::chats(["a", " "]))
                    .try_collect::<Vec<_>>()
                    .await
                    .map(drop)
            })
        }),
        ("a link needs its chat", |c| {
            Box::pin(async move {
                c.contact_chats()
                    .link(vec![NewChatLink::new(ContactId(1), "")])
                    .await
                    .map(drop)
            })
        }),
    ])
    .await;
}

#[tokio::test]
async fn chat_links_are_sent_in_chunks_and_a_failed_chunk_reports_the_committed() {
    let server = MockServer::start().await;
    mount(
        &server,
        "POST",
        "/api/v4/contacts/chats",
        &[],
        Some(json!([{"contact_id": 1, "chat_id": "c1", "request_id": "a"}])),
        ResponseTemplate::new(200).set_body_json(json!({"_total_items": 1, "_embedded":
            {"chats": [{"chat_id": "c1", "contact_id": 1, "id": 11, "request_id": "a"}]}})),
    )
    .await;
    // The second chunk gets a 503 every time: linking is retried (it is idempotent), then
    // reported with what the first chunk committed.
    Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/api/v4/contacts/chats"))
        .and(wiremock::matchers::body_json(
            json!([{"contact_id": 2, "chat_id": "c2", "request_id": "b"}]),
        ))
        .respond_with(ResponseTemplate::new(503))
        .expect(3)
        .mount(&server)
        .await;
    let client = builder(&server)
        .long_lived_token(crate::support::TOKEN)
        .batch_size(1)
        .build()
        .unwrap();
    let err = client
        .contact_chats()
        .link(vec![
            NewChatLink::new(ContactId(1), "c1").request_id("a"),
            NewChatLink::new(ContactId(2), "c2").request_id("b"),
        ])
        .await
        .unwrap_err();
    let Error::PartialBatch { committed, source } = err else {
        panic!("{err:?}")
    };
    assert_eq!(committed.len(), 1);
    // Reported by the contact, not by the link's id (which an answer may leave out).
    assert_eq!(committed[0].id, 1);
    assert_eq!(committed[0].request_id.as_deref(), Some("a"));
    assert!(matches!(*source, Error::Server { .. }), "{source:?}");
}
