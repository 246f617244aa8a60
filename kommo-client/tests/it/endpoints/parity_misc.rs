//! Loss reasons, sources, website buttons, widgets, currencies, short links, calls, entity
//! subscriptions and files, talks and chat templates.

use kommo_client::calls::{CallDirection, CallStatus, NewCall};
use kommo_client::chat_templates::{ChatTemplateWrite, ReviewStatus};
use kommo_client::common::EntityType;
use kommo_client::entity_files::FileRef;
use kommo_client::ids::*;
use kommo_client::loss_reasons::LossReasonWrite;
use kommo_client::pagination::ListQuery;
use kommo_client::short_links::NewShortLink;
use kommo_client::sources::SourceWrite;
use kommo_client::website_buttons::{NewWebsiteButton, WebsiteButtonUpdate};
use serde_json::{Value, json};

use super::table::{Case, refused, run, written};
use crate::support::fixture_json;

const FILE: &str = "a1b2c3d4-0000-4000-8000-000000000001";

#[tokio::test]
async fn misc_endpoints() {
    let cases = vec![
        Case {
            method: "GET",
            path: "/api/v4/leads/loss_reasons",
            query: &[("limit", "250")],
            body: None,
            status: 200,
            answer: fixture_json("get_loss_reasons.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .loss_reasons()
                        .list_page(ListQuery::new().limit(250))
                        .await?;
                    assert_eq!(p.items[0].name, "Too expensive");
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/leads/loss_reasons/4241",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_loss_reasons.json")["_embedded"]["loss_reasons"][0].clone(),
            call: |c| {
                Box::pin(async move {
                    c.loss_reasons()
                        .get(LossReasonId(4241))
                        .await
                        .map(|r| assert!(r.is_some()))
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/loss_reasons",
            query: &[],
            body: Some(json!([{"name": "No budget", "sort": 10}])),
            status: 200,
            answer: written("loss_reasons", 1),
            call: |c| {
                Box::pin(async move {
                    c.loss_reasons()
                        .add(vec![LossReasonWrite::new("No budget").sort(10)])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/leads/loss_reasons",
            query: &[],
            body: Some(json!([{"id": 4241, "name": "Price"}])),
            status: 200,
            answer: written("loss_reasons", 1),
            call: |c| {
                Box::pin(async move {
                    c.loss_reasons()
                        .update(vec![
                            LossReasonWrite::update(LossReasonId(4241)).name("Price"),
                        ])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/leads/loss_reasons/4241",
            query: &[],
            body: Some(json!({"name": "Price"})),
            status: 200,
            answer: json!({"id": 4241}),
            call: |c| {
                Box::pin(async move {
                    c.loss_reasons()
                        .update_one(LossReasonId(4241), LossReasonWrite::new("Price"))
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/leads/loss_reasons/4241",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.loss_reasons().delete(LossReasonId(4241)).await }),
        },
        Case {
            method: "GET",
            path: "/api/v4/sources",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_sources.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c.sources().list_page(ListQuery::new()).await?;
                    assert_eq!(p.items[0].external_id.as_deref(), Some("form-1"));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/sources",
            query: &[],
            body: Some(json!([{"name": "Web form", "external_id": "form-1", "pipeline_id": 7}])),
            status: 200,
            answer: written("sources", 1),
            call: |c| {
                Box::pin(async move {
                    c.sources()
                        .add(vec![
                            SourceWrite::new("Web form", "form-1").pipeline(PipelineId(7)),
                        ])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/sources/7",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.sources().delete(SourceId(7)).await }),
        },
        Case {
            method: "GET",
            path: "/api/v4/website_buttons",
            query: &[("with", "scripts")],
            body: None,
            status: 200,
            answer: fixture_json("get_website_buttons.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .website_buttons()
                        .list_page(ListQuery::new().with(["scripts"]))
                        .await?;
                    assert!(p.items[0].script.is_some());
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/website_buttons",
            query: &[],
            body: Some(json!({"pipeline_id": 7, "trusted_websites": ["example.com"]})),
            status: 200,
            answer: json!({"source_id": 9, "is_pending": true}),
            call: |c| {
                Box::pin(async move {
                    let b = c
                        .website_buttons()
                        .create(&NewWebsiteButton::new(PipelineId(7), ["example.com"]))
                        .await?;
                    assert_eq!(b.source_id, SourceId(9));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/website_buttons/9",
            query: &[],
            body: Some(json!({"trusted_websites": {"add": ["shop.example.com"]}})),
            status: 200,
            answer: fixture_json("get_website_buttons.json")["_embedded"]["website_buttons"][0]
                .clone(),
            call: |c| {
                Box::pin(async move {
                    c.website_buttons()
                        .update(
                            SourceId(9),
                            &WebsiteButtonUpdate::add_sites(["shop.example.com"]),
                        )
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/website_buttons/9/online_chat",
            query: &[],
            body: None,
            status: 202,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move { c.website_buttons().add_online_chat(SourceId(9)).await })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/widgets",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_widgets.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c.widgets().list_page(ListQuery::new()).await?;
                    assert_eq!(p.items[0].code, "amo_dropbox");
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/widgets/amo_dropbox",
            query: &[],
            body: Some(json!({"login": "ops"})),
            status: 200,
            answer: fixture_json("get_widgets.json")["_embedded"]["widgets"][0].clone(),
            call: |c| {
                Box::pin(async move {
                    c.widgets()
                        .install("amo_dropbox", &json!({"login": "ops"}))
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/widgets/amo_dropbox",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.widgets().uninstall("amo_dropbox").await }),
        },
        Case {
            method: "GET",
            path: "/api/v4/widgets/amo_dropbox",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_widgets.json")["_embedded"]["widgets"][0].clone(),
            call: |c| {
                Box::pin(async move {
                    c.widgets()
                        .get("amo_dropbox")
                        .await
                        .map(|w| assert!(w.is_some()))
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/currencies",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_currencies.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c.currencies().list_page(ListQuery::new()).await?;
                    assert_eq!(p.items[1].symbol.as_deref(), Some("€"));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/short_links",
            query: &[],
            body: Some(
                json!([{"url": "https://example.com/offer", "metadata": {"entity_type": "contacts", "entity_id": 33936761}}]),
            ),
            status: 200,
            answer: fixture_json("post_short_links.json"),
            call: |c| {
                Box::pin(async move {
                    let l = c
                        .short_links()
                        .add(vec![NewShortLink::for_contact(
                            "https://example.com/offer",
                            ContactId(33936761),
                        )])
                        .await?;
                    assert!(l[0].url.contains("/s/"));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/calls",
            query: &[],
            body: Some(
                json!([{"direction": "inbound", "phone": "+15550100", "duration": 95, "source": "acme-pbx",
                "uniq": "call-1", "call_status": 4}]),
            ),
            status: 200,
            answer: fixture_json("post_calls.json"),
            call: |c| {
                Box::pin(async move {
                    let call = NewCall::new(CallDirection::Inbound, "+15550100", 95, "acme-pbx")
                        .uniq("call-1")
                        .status(CallStatus::Successful);
                    let r = c.calls().add(vec![call]).await?;
                    assert_eq!(r[0].entity_type.as_deref(), Some("contacts"));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/leads/152464/subscriptions",
            query: &[],
            body: None,
            status: 200,
            answer: json!({"_total_items": 1, "_embedded": {"subscriptions": [{"subscriber_id": 504141, "type": "user"}]}}),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .entity_subscriptions()
                        .list_page(EntityType::Leads, 152464, ListQuery::new())
                        .await?;
                    assert_eq!(p.items[0].subscriber_id, 504141);
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/contacts/7/files",
            query: &[],
            body: None,
            status: 200,
            answer: json!({"_embedded": {"files": [{"file_uuid": FILE, "id": 3}]}}),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .entity_files()
                        .list_page(EntityType::Contacts, 7, ListQuery::new())
                        .await?;
                    assert_eq!(p.items[0].file_uuid, FILE);
                    Ok(())
                })
            },
        },
        Case {
            method: "PUT",
            path: "/api/v4/leads/152464/files",
            query: &[],
            body: Some(json!([{"file_uuid": FILE}])),
            status: 200,
            answer: json!({"_embedded": {"files": [{"file_uuid": FILE, "id": 3}]}}),
            call: |c| {
                Box::pin(async move {
                    c.entity_files()
                        .attach(EntityType::Leads, 152464, vec![FileRef::new(FILE)])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/leads/152464/files",
            query: &[],
            body: Some(json!([{"file_uuid": FILE}])),
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.entity_files()
                        .detach(EntityType::Leads, 152464, vec![FileRef::new(FILE)])
                        .await
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/talks/1213",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_talk.json"),
            call: |c| {
                Box::pin(async move {
                    let t = c.talks().get(TalkId(1213)).await?.unwrap();
                    assert_eq!(t.contact_id, Some(ContactId(33936761)));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/talks/1213/close",
            query: &[],
            body: Some(json!({"force_close": true})),
            status: 202,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.talks().close(TalkId(1213), true).await }),
        },
        Case {
            method: "GET",
            path: "/api/v4/chats/templates",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_chat_templates.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c.chat_templates().list_page(ListQuery::new()).await?;
                    assert_eq!(p.items[0].reviews[0].status, ReviewStatus::Approved);
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/chats/templates",
            query: &[],
            body: Some(json!([{"name": "Welcome", "content": "Hi {{contact.name}}!"}])),
            status: 200,
            answer: written("chat_templates", 1),
            call: |c| {
                Box::pin(async move {
                    c.chat_templates()
                        .add(vec![ChatTemplateWrite::new(
                            "Welcome",
                            "Hi {{contact.name}}!",
                        )])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/chats/templates",
            query: &[],
            body: Some(json!([{"id": 5}, {"id": 6}])),
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.chat_templates()
                        .delete_many(&[ChatTemplateId(5), ChatTemplateId(6)])
                        .await
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/chats/templates/5/review",
            query: &[],
            body: None,
            status: 200,
            answer: json!({"_embedded": {"reviews": [{"id": 11, "source_id": 7, "status": "review"}]}}),
            call: |c| {
                Box::pin(async move {
                    let r = c.chat_templates().send_on_review(ChatTemplateId(5)).await?;
                    assert_eq!(r[0].status, ReviewStatus::Review);
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/chats/templates/5/review/11",
            query: &[],
            body: Some(json!({"status": "rejected", "reject_reason": "Wording"})),
            status: 200,
            answer: json!({"id": 11, "status": "rejected", "reject_reason": "Wording"}),
            call: |c| {
                Box::pin(async move {
                    c.chat_templates()
                        .update_review_status(
                            ChatTemplateId(5),
                            11,
                            ReviewStatus::Rejected,
                            Some("Wording"),
                        )
                        .await
                        .map(drop)
                })
            },
        },
    ];
    run(cases).await;
}

#[tokio::test]
async fn misc_calls_kommo_refuses_are_never_sent() {
    refused(vec![
        ("a loss reason needs a name", |c| {
            Box::pin(async move {
                c.loss_reasons()
                    .add(vec![LossReasonWrite::update(LossReasonId(1))])
                    .await
                    .map(drop)
            })
        }),
        ("a source needs an external id", |c| {
            Box::pin(async move {
                c.sources()
                    .add(vec![SourceWrite::new("Form", " ")])
                    .await
                    .map(drop)
            })
        }),
        ("a button needs a site", |c| {
            Box::pin(async move {
                c.website_buttons()
                    .create(&NewWebsiteButton::new(PipelineId(1), Vec::<String>::new()))
                    .await
                    .map(drop)
            })
        }),
        ("a widget code is a path segment", |c| {
            Box::pin(async move { c.widgets().uninstall("a/b").await })
        }),
        ("short links are http", |c| {
            Box::pin(async move {
                c.short_links()
                    .add(vec![NewShortLink::for_contact(
                        "javascript:alert(1)",
                        ContactId(1),
                    )])
                    .await
                    .map(drop)
            })
        }),
        ("at most 250 calls", |c| {
            Box::pin(async move {
                let many = (0..251)
                    .map(|_| NewCall::new(CallDirection::Outbound, "+1", 1, "pbx"))
                    .collect();
                c.calls().add(many).await.map(drop)
            })
        }),
        ("a call needs a phone", |c| {
            Box::pin(async move {
                c.calls()
                    .add(vec![NewCall::new(CallDirection::Outbound, "", 1, "pbx")])
                    .await
                    .map(drop)
            })
        }),
        ("a file needs its uuid", |c| {
            Box::pin(async move {
                c.entity_files()
                    .attach(EntityType::Leads, 1, vec![FileRef::new("")])
                    .await
                    .map(drop)
            })
        }),
        ("a template needs content", |c| {
            Box::pin(async move {
                c.chat_templates()
                    .add(vec![ChatTemplateWrite::update(ChatTemplateId(1))])
                    .await
                    .map(drop)
            })
        }),
    ])
    .await;
}
