//! Incoming leads, catalogs and their elements, and customers with statuses, segments,
//! transactions and bonus points.

use kommo_client::catalogs::{CatalogElementWrite, CatalogType, CatalogWrite};
use kommo_client::common::EntityType;
use kommo_client::contacts::ContactWrite;
use kommo_client::customers::segments::SegmentWrite;
use kommo_client::customers::statuses::CustomerStatusWrite;
use kommo_client::customers::transactions::NewTransaction;
use kommo_client::customers::{CustomerWrite, CustomersMode};
use kommo_client::ids::*;
use kommo_client::leads::LeadWrite;
use kommo_client::pagination::ListQuery;
use kommo_client::unsorted::{
    FormMetadata, NewUnsorted, SipMetadata, UnsortedCategory, UnsortedDecision, UnsortedMetadata,
};
use serde_json::{Value, json};

use super::table::{Case, refused, run, written};
use crate::support::fixture_json;

const UID: &str = "6aaba6ddea1f2f89c4b1e5c0ba2ba53d2ea53b5b1d7ac7a0f1e8df0e3f4d";

fn form() -> FormMetadata {
    serde_json::from_value(
        json!({"form_id": "1", "form_name": "Site form", "form_page": "https://example.com",
        "ip": "127.0.0.1", "form_sent_at": 1590829567}),
    )
    .unwrap()
}

fn sip() -> SipMetadata {
    serde_json::from_value(
        json!({"uniq": "call-1", "duration": 54, "service_code": "acme_pbx",
        "phone": "+15550100", "called_at": 1590829567, "from": "Ada"}),
    )
    .unwrap()
}

fn form_body() -> Value {
    json!([{"source_uid": "s-1", "source_name": "Site", "metadata": {"form_id": "1", "form_name": "Site form",
        "form_page": "https://example.com", "ip": "127.0.0.1", "form_sent_at": 1590829567},
        "_embedded": {"leads": [{"name": "Website request"}], "contacts": [{"name": "Ada"}]}}])
}

#[tokio::test]
async fn sales_endpoints() {
    let cases = vec![
        Case {
            method: "GET",
            path: "/api/v4/leads/unsorted",
            query: &[
                ("filter[category][]", "forms"),
                ("order[created_at]", "desc"),
            ],
            body: None,
            status: 200,
            answer: fixture_json("get_unsorted.json"),
            call: |c| {
                Box::pin(async move {
                    let q = ListQuery::new()
                        .filter_ids("category", ["forms"])
                        .order("created_at", false);
                    let p = c.unsorted().list_page(q).await?;
                    let u = &p.items[0];
                    assert_eq!(u.category, Some(UnsortedCategory::Forms));
                    assert_eq!(u.embedded.leads[0].id, 26053797);
                    assert_eq!(u.metadata.as_ref().unwrap()["form_id"], "1");
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/leads/unsorted/6aaba6ddea1f2f89c4b1e5c0ba2ba53d2ea53b5b1d7ac7a0f1e8df0e3f4d",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_unsorted.json")["_embedded"]["unsorted"][0].clone(),
            call: |c| {
                Box::pin(async move { c.unsorted().get(UID).await.map(|u| assert!(u.is_some())) })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/unsorted/forms",
            query: &[],
            body: Some(form_body()),
            status: 200,
            answer: json!({"_total_items": 1, "_embedded": {"unsorted": [{"uid": UID, "account_id": 1, "request_id": "0",
                "_embedded": {"leads": [{"id": 26053797}], "contacts": [{"id": 33936761}]}}]}}),
            call: |c| {
                Box::pin(async move {
                    let item = NewUnsorted::new("s-1", "Site", UnsortedMetadata::Form(form()))
                        .lead(LeadWrite::new().name("Website request"))
                        .contact(ContactWrite::new().name("Ada"));
                    let r = c.unsorted().add_forms(vec![item]).await?;
                    assert_eq!(r[0].embedded.contacts[0].id, 33936761);
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/unsorted/sip",
            query: &[],
            body: Some(
                json!([{"source_uid": "call-1", "source_name": "PBX", "pipeline_id": 7,
                "metadata": {"uniq": "call-1", "duration": 54, "service_code": "acme_pbx", "phone": "+15550100",
                "called_at": 1590829567, "from": "Ada"}, "_embedded": {}}]),
            ),
            status: 200,
            answer: json!({"_embedded": {"unsorted": [{"uid": "abc"}]}}),
            call: |c| {
                Box::pin(async move {
                    let item = NewUnsorted::new("call-1", "PBX", UnsortedMetadata::Sip(sip()))
                        .pipeline(PipelineId(7));
                    c.unsorted().add_sip(vec![item]).await.map(drop)
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/unsorted/6aaba6ddea1f2f89c4b1e5c0ba2ba53d2ea53b5b1d7ac7a0f1e8df0e3f4d/accept",
            query: &[],
            body: Some(json!({"user_id": 5, "status_id": 142})),
            status: 200,
            answer: fixture_json("post_unsorted_accept.json"),
            call: |c| {
                Box::pin(async move {
                    let d = UnsortedDecision::by(UserId(5)).to_status(StatusId::WON);
                    let r = c.unsorted().accept(UID, d).await?;
                    assert_eq!(r.embedded.leads[0].id, 26053797);
                    Ok(())
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/leads/unsorted/6aaba6ddea1f2f89c4b1e5c0ba2ba53d2ea53b5b1d7ac7a0f1e8df0e3f4d/decline",
            query: &[],
            body: Some(json!({"user_id": 5})),
            status: 200,
            answer: json!({"uid": UID, "_embedded": {}}),
            call: |c| {
                Box::pin(async move { c.unsorted().decline(UID, Some(UserId(5))).await.map(drop) })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/unsorted/6aaba6ddea1f2f89c4b1e5c0ba2ba53d2ea53b5b1d7ac7a0f1e8df0e3f4d/link",
            query: &[],
            body: Some(json!({"link": {"entity_id": 26053797, "entity_type": "leads"}})),
            status: 200,
            answer: json!({"uid": UID, "_embedded": {"leads": [{"id": 26053797}]}}),
            call: |c| {
                Box::pin(async move {
                    c.unsorted()
                        .link(UID, EntityType::Leads, 26053797)
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/leads/unsorted/summary",
            query: &[("filter[pipeline_id]", "3166396")],
            body: None,
            status: 200,
            answer: fixture_json("get_unsorted_summary.json"),
            call: |c| {
                Box::pin(async move {
                    let s = c
                        .unsorted()
                        .summary(ListQuery::new().filter("pipeline_id", 3166396))
                        .await?;
                    assert_eq!((s.total, s.categories.unwrap()["chats"]), (Some(53), 31));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/catalogs",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_catalogs.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c.catalogs().list_page(ListQuery::new()).await?;
                    assert_eq!(p.items[0].catalog_type, Some(CatalogType::Products));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/catalogs/4113",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_catalogs.json")["_embedded"]["catalogs"][1].clone(),
            call: |c| {
                Box::pin(async move {
                    c.catalogs()
                        .get(CatalogId(4113))
                        .await
                        .map(|x| assert!(x.is_some()))
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/catalogs",
            query: &[],
            body: Some(json!([{"name": "Plans", "type": "regular"}])),
            status: 200,
            answer: written("catalogs", 1),
            call: |c| {
                Box::pin(async move {
                    let mut w = CatalogWrite::new("Plans");
                    w.catalog_type = Some(CatalogType::Regular);
                    c.catalogs().add(vec![w]).await.map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/catalogs",
            query: &[],
            body: Some(json!([{"id": 4113, "name": "Tariffs"}])),
            status: 200,
            answer: written("catalogs", 1),
            call: |c| {
                Box::pin(async move {
                    let mut w = CatalogWrite::update(CatalogId(4113));
                    w.name = Some("Tariffs".into());
                    c.catalogs().update(vec![w]).await.map(drop)
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/catalogs/products/settings",
            query: &[],
            body: None,
            status: 200,
            answer: json!({"is_enabled": true}),
            call: |c| {
                Box::pin(async move {
                    assert_eq!(
                        c.catalogs().products_settings().await?.is_enabled,
                        Some(true)
                    );
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/catalogs/products/settings",
            query: &[],
            body: Some(json!({"is_enabled": false})),
            status: 200,
            answer: json!({"is_enabled": false}),
            call: |c| {
                Box::pin(async move { c.catalogs().set_products_enabled(false).await.map(drop) })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/catalogs/4113/elements",
            query: &[("query", "Pro")],
            body: None,
            status: 200,
            answer: fixture_json("get_catalog_elements.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .catalog_elements(CatalogId(4113))
                        .list_page(ListQuery::new().query("Pro"))
                        .await?;
                    assert_eq!(
                        p.items[0].custom_fields_values.texts_by_code("SKU"),
                        vec!["PRO-1"]
                    );
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/catalogs/4113/elements",
            query: &[],
            body: Some(json!([{"name": "Team plan"}])),
            status: 200,
            answer: written("elements", 1),
            call: |c| {
                Box::pin(async move {
                    c.catalog_elements(CatalogId(4113))
                        .add(vec![CatalogElementWrite::new("Team plan")])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/catalogs/4113/elements/525439",
            query: &[],
            body: Some(json!({"name": "Pro plan (2025)"})),
            status: 200,
            answer: json!({"id": 525439}),
            call: |c| {
                Box::pin(async move {
                    let mut w = CatalogElementWrite::update(CatalogElementId(525439));
                    w.name = Some("Pro plan (2025)".into());
                    c.catalog_elements(CatalogId(4113))
                        .update_one(CatalogElementId(525439), w)
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/leads/152464/link",
            query: &[],
            body: Some(
                json!([{"to_entity_id": 525439, "to_entity_type": "catalog_elements",
                "metadata": {"quantity": 2.0, "catalog_id": 4113, "price_id": 170891}}]),
            ),
            status: 200,
            answer: json!({"_embedded": {"links": [{"entity_id": 152464, "to_entity_id": 525439, "to_entity_type": "catalog_elements",
                "metadata": {"quantity": 2, "catalog_id": 4113}}]}}),
            call: |c| {
                Box::pin(async move {
                    let l = c
                        .catalog_elements(CatalogId(4113))
                        .link_to_lead(
                            LeadId(152464),
                            CatalogElementId(525439),
                            2.0,
                            Some(CustomFieldId(170891)),
                        )
                        .await?;
                    assert_eq!(l[0].metadata.as_ref().unwrap().quantity, Some(2.0));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/customers",
            query: &[("with", "segments")],
            body: None,
            status: 200,
            answer: fixture_json("get_customers.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .customers()
                        .list_page(ListQuery::new().with(["segments"]))
                        .await?;
                    let acme = &p.items[0];
                    assert_eq!((acme.ltv, acme.embedded.segments[0].id), (Some(1500.0), 29));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/customers",
            query: &[],
            body: Some(
                json!([{"name": "Acme", "next_price": 500.0, "next_date": 1700000000, "_embedded": {"segments": [{"id": 29}]}}]),
            ),
            status: 200,
            answer: written("customers", 1),
            call: |c| {
                Box::pin(async move {
                    let w = CustomerWrite::new("Acme")
                        .next_purchase(500.0, 1_700_000_000)
                        .segments([SegmentId(29)]);
                    c.customers().add(vec![w]).await.map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/customers/134923",
            query: &[],
            body: Some(json!({"tags_to_add": [{"name": "vip"}]})),
            status: 200,
            answer: json!({"id": 134923}),
            call: |c| {
                Box::pin(async move {
                    c.customers()
                        .update_one(
                            CustomerId(134923),
                            CustomerWrite::update(CustomerId(134923)).add_tag("vip"),
                        )
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/customers/mode",
            query: &[],
            body: Some(json!({"mode": "segments", "is_enabled": true})),
            status: 200,
            answer: json!({"mode": "segments", "is_enabled": true}),
            call: |c| {
                Box::pin(async move { c.customers().set_mode(CustomersMode::Segments, true).await })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/customers/134923/bonus_points",
            query: &[],
            body: Some(json!({"earn": 50})),
            status: 200,
            answer: json!({"bonus_points": 150}),
            call: |c| {
                Box::pin(async move {
                    assert_eq!(
                        c.customers().earn_points(CustomerId(134923), 50).await?,
                        Some(150)
                    );
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/customers/134923/bonus_points",
            query: &[],
            body: Some(json!({"redeem": 20})),
            status: 200,
            answer: json!({"bonus_points": 130}),
            call: |c| {
                Box::pin(async move {
                    c.customers()
                        .redeem_points(CustomerId(134923), 20)
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/customers/statuses",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_customers_statuses.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c.customer_statuses().list_page(ListQuery::new()).await?;
                    assert_eq!(p.items[1].status_type, Some(2));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/customers/statuses",
            query: &[],
            body: Some(json!([{"name": "VIP"}])),
            status: 200,
            answer: written("statuses", 1),
            call: |c| {
                Box::pin(async move {
                    c.customer_statuses()
                        .add(vec![CustomerStatusWrite::new("VIP")])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/customers/statuses/4051135",
            query: &[],
            body: Some(json!({"color": "#fffeb2"})),
            status: 200,
            answer: json!({"id": 4051135}),
            call: |c| {
                Box::pin(async move {
                    let mut w = CustomerStatusWrite::update(CustomerStatusId(4051135));
                    w.color = Some("#fffeb2".into());
                    c.customer_statuses()
                        .update_one(CustomerStatusId(4051135), w)
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/customers/statuses/4051135",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.customer_statuses()
                        .delete(CustomerStatusId(4051135))
                        .await
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/customers/segments",
            query: &[],
            body: Some(json!({"name": "VIP", "color": "ae003f"})),
            status: 200,
            answer: json!({"id": 29, "name": "VIP", "color": "ae003f", "customers_count": 0}),
            call: |c| {
                Box::pin(async move {
                    let s = c
                        .customer_segments()
                        .add(&SegmentWrite::new("VIP", "ae003f"))
                        .await?;
                    assert_eq!(s.id, SegmentId(29));
                    Ok(())
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/customers/segments/29",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| Box::pin(async move { c.customer_segments().delete(SegmentId(29)).await }),
        },
        Case {
            method: "GET",
            path: "/api/v4/customers/134923/transactions",
            query: &[],
            body: None,
            status: 200,
            answer: fixture_json("get_customers_transactions.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .customer_transactions()
                        .list_page_for(CustomerId(134923), ListQuery::new())
                        .await?;
                    assert_eq!(p.items[0].price, Some(500.0));
                    Ok(())
                })
            },
        },
        Case {
            method: "POST",
            path: "/api/v4/customers/134923/transactions",
            query: &[("accrue_bonus", "true")],
            body: Some(json!([{"price": 99.0, "comment": "Renewal"}])),
            status: 200,
            answer: written("transactions", 1),
            call: |c| {
                Box::pin(async move {
                    c.customer_transactions()
                        .add(
                            CustomerId(134923),
                            vec![NewTransaction::new(99.0).comment("Renewal")],
                            true,
                        )
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/customers/transactions/198",
            query: &[],
            body: None,
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move { c.customer_transactions().delete(TransactionId(198)).await })
            },
        },
    ];
    run(cases).await;
}

#[tokio::test]
async fn sales_calls_kommo_refuses_are_never_sent() {
    refused(vec![
        ("form metadata for a call", |c| {
            Box::pin(async move {
                c.unsorted()
                    .add_sip(vec![NewUnsorted::new(
                        "s",
                        "S",
                        UnsortedMetadata::Form(form()),
                    )])
                    .await
                    .map(drop)
            })
        }),
        ("no incoming lead", |c| {
            Box::pin(async move { c.unsorted().add_forms(vec![]).await.map(drop) })
        }),
        ("two contacts", |c| {
            Box::pin(async move {
                let mut item = NewUnsorted::new("s", "S", UnsortedMetadata::Form(form()));
                item.embedded.contacts = vec![ContactWrite::new(), ContactWrite::new()];
                c.unsorted().add_forms(vec![item]).await.map(drop)
            })
        }),
        ("a uid is a path segment", |c| {
            Box::pin(async move {
                c.unsorted()
                    .accept("../x", UnsortedDecision::default())
                    .await
                    .map(drop)
            })
        }),
        ("incoming leads link to leads", |c| {
            Box::pin(async move {
                c.unsorted()
                    .link(UID, EntityType::Contacts, 1)
                    .await
                    .map(drop)
            })
        }),
        ("a catalog needs a name", |c| {
            Box::pin(async move {
                c.catalogs()
                    .add(vec![CatalogWrite::default()])
                    .await
                    .map(drop)
            })
        }),
        ("a positive quantity", |c| {
            Box::pin(async move {
                c.catalog_elements(CatalogId(1))
                    .link_to_lead(LeadId(1), CatalogElementId(1), 0.0, None)
                    .await
                    .map(drop)
            })
        }),
        ("no element to delete", |c| {
            Box::pin(async move { c.catalog_elements(CatalogId(1)).delete(&[]).await })
        }),
        ("a customer needs a name", |c| {
            Box::pin(async move {
                c.customers()
                    .add(vec![CustomerWrite::default()])
                    .await
                    .map(drop)
            })
        }),
        ("no zero points", |c| {
            Box::pin(async move { c.customers().earn_points(CustomerId(1), 0).await.map(drop) })
        }),
        ("a segment needs a color", |c| {
            Box::pin(async move {
                let mut s = SegmentWrite::new("VIP", "");
                s.color = None;
                c.customer_segments().add(&s).await.map(drop)
            })
        }),
        ("no negative purchase", |c| {
            Box::pin(async move {
                c.customer_transactions()
                    .add(CustomerId(1), vec![NewTransaction::new(-1.0)], false)
                    .await
                    .map(drop)
            })
        }),
    ])
    .await;
}
