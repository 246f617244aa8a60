//! The single-item calls of sources, website buttons and chat templates, and their batch
//! updates (the lists and adds are in `parity_misc`).

use kommo_client::chat_templates::ChatTemplateWrite;
use kommo_client::ids::*;
use kommo_client::sources::SourceWrite;
use serde_json::{Value, json};

use super::table::{Case, run, written};
use crate::support::fixture_json;

fn first(fixture: &str, key: &str) -> Value {
    fixture_json(fixture)["_embedded"][key][0].clone()
}

#[tokio::test]
async fn misc_single_item_endpoints() {
    run(vec![
        Case {
            method: "GET",
            path: "/api/v4/sources/7",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_sources.json", "sources"),
            call: |c| {
                Box::pin(async move {
                    let s = c.sources().get(SourceId(7)).await?.expect("a source");
                    assert_eq!(s.external_id.as_deref(), Some("form-1"));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/sources",
            query: &[],
            body: Some(json!([{"id": 7, "pipeline_id": 8}])),
            status: 200,
            answer: written("sources", 1),
            call: |c| {
                Box::pin(async move {
                    c.sources()
                        .update(vec![
                            SourceWrite::update(SourceId(7)).pipeline(PipelineId(8)),
                        ])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/sources/7",
            query: &[],
            body: Some(json!({"pipeline_id": 8})),
            status: 200,
            answer: json!({"id": 7}),
            call: |c| {
                Box::pin(async move {
                    let change = SourceWrite::update(SourceId(7)).pipeline(PipelineId(8));
                    let w = c.sources().update_one(SourceId(7), change).await?;
                    assert_eq!(w.id, 7);
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/website_buttons/7",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_website_buttons.json", "website_buttons"),
            call: |c| {
                Box::pin(async move {
                    let b = c.website_buttons().get(SourceId(7)).await?;
                    assert_eq!(b.map(|b| b.source_id), Some(SourceId(7)));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/chats/templates/5",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_chat_templates.json", "chat_templates"),
            call: |c| {
                Box::pin(async move {
                    let t = c.chat_templates().get(ChatTemplateId(5)).await?;
                    assert_eq!(t.map(|t| t.id), Some(ChatTemplateId(5)));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/chats/templates",
            query: &[],
            body: Some(json!([{"id": 5, "content": "Hello, {{contact.name}}!"}])),
            status: 200,
            answer: written("chat_templates", 1),
            call: |c| {
                Box::pin(async move {
                    let mut change = ChatTemplateWrite::update(ChatTemplateId(5));
                    change.content = Some("Hello, {{contact.name}}!".into());
                    c.chat_templates().update(vec![change]).await.map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/chats/templates/5",
            query: &[],
            body: Some(json!({"name": "Greeting"})),
            status: 200,
            answer: json!({"id": 5}),
            call: |c| {
                Box::pin(async move {
                    let mut change = ChatTemplateWrite::update(ChatTemplateId(5));
                    change.name = Some("Greeting".into());
                    c.chat_templates()
                        .update_one(ChatTemplateId(5), change)
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/chats/templates/5",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.chat_templates().delete(ChatTemplateId(5)).await }),
        },
    ])
    .await;
}
