//! The single-item reads and writes of catalogs and customers, and the segment list: every
//! call of those handles has its own case (the lists and batch adds are in `parity_sales`).

use kommo_client::catalogs::{CatalogElementWrite, CatalogWrite};
use kommo_client::customers::segments::SegmentWrite;
use kommo_client::customers::statuses::CustomerStatusWrite;
use kommo_client::ids::*;
use kommo_client::pagination::ListQuery;
use serde_json::{Value, json};

use super::table::{Case, run, written};
use crate::support::fixture_json;

fn first(fixture: &str, key: &str) -> Value {
    fixture_json(fixture)["_embedded"][key][0].clone()
}

#[tokio::test]
async fn sales_single_item_endpoints() {
    run(vec![
        Case {
            method: "GET",
            path: "/api/v4/customers/segments",
            query: &[("limit", "10")],
            body: None,
            status: 200,
            answer: fixture_json("get_customers_segments.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .customer_segments()
                        .list_page(ListQuery::new().limit(10))
                        .await?;
                    let vip = &p.items[0];
                    assert_eq!((vip.id, vip.customers_count), (SegmentId(29), Some(2)));
                    assert_eq!(vip.custom_fields_values.0[0].field_id, CustomFieldId(1123));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/customers/segments/29",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_customers_segments.json", "segments"),
            call: |c| {
                Box::pin(async move {
                    let s = c.customer_segments().get(SegmentId(29)).await?;
                    assert_eq!(s.map(|s| s.color), Some(Some("ae003f".to_owned())));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/customers/segments/29",
            query: &[],
            body: Some(json!({"name": "Top customers"})),
            status: 200,
            answer: first("get_customers_segments.json", "segments"),
            call: |c| {
                Box::pin(async move {
                    let mut rename = SegmentWrite::default();
                    rename.name = Some("Top customers".into());
                    let w = c
                        .customer_segments()
                        .update_one(SegmentId(29), rename)
                        .await?;
                    assert_eq!(w.id, 29);
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/customers/statuses/4051135",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_customers_statuses.json", "statuses"),
            call: |c| {
                Box::pin(async move {
                    let s = c
                        .customer_statuses()
                        .get(CustomerStatusId(4051135))
                        .await?
                        .expect("a status");
                    assert_eq!((s.status_type, s.is_default), (Some(4), Some(true)));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/customers/statuses",
            query: &[],
            body: Some(json!([{"id": 4051140, "name": "Loyal", "color": "#ccc8f9"}])),
            status: 200,
            answer: written("statuses", 1),
            call: |c| {
                Box::pin(async move {
                    let mut loyal = CustomerStatusWrite::update(CustomerStatusId(4051140));
                    loyal.name = Some("Loyal".into());
                    loyal.color = Some("#ccc8f9".into());
                    c.customer_statuses().update(vec![loyal]).await.map(drop)
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/customers/134923",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_customers.json", "customers"),
            call: |c| {
                Box::pin(async move {
                    let acme = c.customers().get(CustomerId(134923)).await?;
                    assert_eq!(acme.map(|a| a.id), Some(CustomerId(134923)));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/customers/transactions",
            query: &[("page", "2")],
            body: None,
            status: 200,
            answer: fixture_json("get_customers_transactions.json"),
            call: |c| {
                Box::pin(async move {
                    let p = c
                        .customer_transactions()
                        .list_page(ListQuery::new().page(2))
                        .await?;
                    assert_eq!(p.items[0].customer_id, Some(CustomerId(134923)));
                    Ok(())
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/customers/transactions/198",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_customers_transactions.json", "transactions"),
            call: |c| {
                Box::pin(async move {
                    let t = c.customer_transactions().get(TransactionId(198)).await?;
                    assert_eq!(t.and_then(|t| t.price), Some(500.0));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/catalogs/4113",
            query: &[],
            body: Some(json!({"name": "Plans"})),
            status: 200,
            answer: json!({"id": 4113, "updated_at": 1590829567}),
            call: |c| {
                Box::pin(async move {
                    c.catalogs()
                        .update_one(CatalogId(4113), CatalogWrite::new("Plans"))
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "GET",
            path: "/api/v4/catalogs/4113/elements/525439",
            query: &[],
            body: None,
            status: 200,
            answer: first("get_catalog_elements.json", "elements"),
            call: |c| {
                Box::pin(async move {
                    let e = c
                        .catalog_elements(CatalogId(4113))
                        .get(CatalogElementId(525439))
                        .await?;
                    assert_eq!(e.map(|e| e.id), Some(CatalogElementId(525439)));
                    Ok(())
                })
            },
        },
        Case {
            method: "PATCH",
            path: "/api/v4/catalogs/4113/elements",
            query: &[],
            body: Some(json!([{"id": 525439, "name": "Pro plan (yearly)"}])),
            status: 200,
            answer: written("elements", 1),
            call: |c| {
                Box::pin(async move {
                    let mut rename = CatalogElementWrite::update(CatalogElementId(525439));
                    rename.name = Some("Pro plan (yearly)".into());
                    c.catalog_elements(CatalogId(4113))
                        .update(vec![rename])
                        .await
                        .map(drop)
                })
            },
        },
        Case {
            method: "DELETE",
            path: "/api/v4/catalogs/4113/elements",
            query: &[],
            body: Some(json!([{"id": 525439}, {"id": 525440}])),
            status: 204,
            answer: Value::Null,
            call: |c| {
                Box::pin(async move {
                    c.catalog_elements(CatalogId(4113))
                        .delete(&[CatalogElementId(525439), CatalogElementId(525440)])
                        .await
                })
            },
        },
    ])
    .await;
}
