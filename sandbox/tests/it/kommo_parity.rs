//! The fake's state for the last resources of the PHP-library parity: chats linked to
//! contacts, customer statuses and segments, elements of catalogs on leads, the customers and
//! products modules' settings and the single-item updates, driven through `kommo_client`.

use futures_util::TryStreamExt;
use kommo_client::Error;
use kommo_client::catalogs::{CatalogElementWrite, CatalogWrite};
use kommo_client::common::EntityType;
use kommo_client::contact_chats::{ChatLinksQuery, NewChatLink};
use kommo_client::contacts::ContactWrite;
use kommo_client::custom_fields::{CustomFieldWrite, FieldType};
use kommo_client::customers::segments::SegmentWrite;
use kommo_client::customers::statuses::CustomerStatusWrite;
use kommo_client::customers::transactions::NewTransaction;
use kommo_client::customers::{CustomerWrite, CustomersMode};
use kommo_client::ids::{
    CatalogElementId, CatalogId, ContactId, CustomFieldId, CustomerId, CustomerStatusId, LeadId,
    SegmentId, TransactionId,
};
use kommo_client::leads::{LeadWith, LeadWrite};
use kommo_client::pagination::ListQuery;
use serde_json::json;

use crate::kommo_support::{api as raw, client, http, kommo, saas};

async fn contacts(api: &kommo_client::Client, names: &[&str]) -> Vec<ContactId> {
    let writes = names.iter().map(|n| ContactWrite::new().name(*n)).collect();
    api.contacts()
        .add(writes)
        .await
        .unwrap()
        .iter()
        .map(|w| ContactId(w.id))
        .collect()
}

#[tokio::test]
async fn chats_are_linked_to_contacts_and_listed_by_contact_or_chat() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let people = contacts(&api, &["Ada", "Bob"]).await;
    let (ada, bob) = (people[0], people[1]);
    let chats = api.contact_chats();

    let linked = chats
        .link(vec![
            NewChatLink::new(ada, "chat-1").request_id("first"),
            NewChatLink::new(ada, "chat-2"),
        ])
        .await
        .unwrap();
    assert_eq!(linked.len(), 2);
    assert_eq!(linked[0].request_id.as_deref(), Some("first"));
    assert_eq!(
        linked[1].request_id.as_deref(),
        Some("1"),
        "the index by default"
    );
    let first_id = linked[0].id.expect("a link id");

    let of_ada = chats
        .list_page(ChatLinksQuery::contacts([ada]))
        .await
        .unwrap()
        .items;
    let mut ids: Vec<&str> = of_ada.iter().map(|l| l.chat_id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["chat-1", "chat-2"]);
    assert!(
        chats
            .list_page(ChatLinksQuery::contacts([bob]))
            .await
            .unwrap()
            .items
            .is_empty(),
        "no chat of Bob's: 204, an empty list"
    );

    // Linked again to the same contact: the same link. To another: it moves, with a new id.
    let again = chats
        .link(vec![NewChatLink::new(ada, "chat-1")])
        .await
        .unwrap();
    assert_eq!(again[0].id, Some(first_id));
    let moved = chats
        .link(vec![NewChatLink::new(bob, "chat-1")])
        .await
        .unwrap();
    assert_ne!(moved[0].id, Some(first_id));
    let by_chat: Vec<_> = chats
        .list(ChatLinksQuery::chats(["chat-1", "chat-2"]))
        .try_collect()
        .await
        .unwrap();
    let owners: Vec<(String, ContactId)> = by_chat
        .iter()
        .map(|l| (l.chat_id.clone(), l.contact_id))
        .collect();
    assert_eq!(
        owners,
        [("chat-1".to_owned(), bob), ("chat-2".to_owned(), ada)]
    );

    let err = chats
        .link(vec![NewChatLink::new(ContactId(999_999), "chat-3")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { errors, .. } if errors[0].errors[0].path == "contact_id"),
        "{err:?}"
    );
    let both = raw(
        &sandbox,
        reqwest::Method::GET,
        "/api/v4/contacts/chats?contact_id=1&chat_id=chat-1",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(both.status(), 400, "one filter or the other");
    // A contact id that is not a number is refused, not dropped from the filter: dropped, the
    // list would answer for the other ids as if the caller had asked only for them.
    let mixed = raw(
        &sandbox,
        reqwest::Method::GET,
        "/api/v4/contacts/chats?contact_id[]=1&contact_id[]=bob",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(mixed.status(), 400, "a contact id must be a number");
    let problem: serde_json::Value = mixed.json().await.unwrap();
    assert!(
        problem.to_string().contains("contact_id takes numbers"),
        "{problem}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn customer_statuses_keep_state_and_built_ins_stay() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let statuses = api.customer_statuses();

    let built_in = statuses.list_page(ListQuery::new()).await.unwrap().items;
    assert_eq!(built_in.len(), 4);
    assert!(built_in.iter().all(|s| s.is_default == Some(true)));

    let mut vip = CustomerStatusWrite::new("VIP");
    vip.color = Some("#ffcc66".into());
    let added = statuses
        .add(vec![vip, CustomerStatusWrite::new("Dormant")])
        .await
        .unwrap();
    let vip = CustomerStatusId(added[0].id);
    let got = statuses.get(vip).await.unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.color.as_deref(), got.is_default),
        ("VIP", Some("#ffcc66"), Some(false))
    );

    let mut rename = CustomerStatusWrite::update(vip);
    rename.name = Some("Very important".into());
    statuses.update(vec![rename]).await.unwrap();
    let mut resort = CustomerStatusWrite::update(vip);
    resort.sort = Some(0);
    let changed = statuses.update_one(vip, resort).await.unwrap();
    assert_eq!(changed.id, vip.0);
    let all: Vec<_> = statuses.list(ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].name, "Very important", "sorted by `sort`, 0 first");

    statuses.delete(vip).await.unwrap();
    assert!(statuses.get(vip).await.unwrap().is_none(), "gone: 204");
    let err = statuses.delete(built_in[0].id).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "a built-in status stays: {err:?}");
    let mut rename = CustomerStatusWrite::update(built_in[0].id);
    rename.name = Some("Mine".into());
    let err = statuses.update(vec![rename]).await.unwrap_err();
    assert!(
        matches!(&err, Error::Validation { errors, .. } if errors[0].errors[0].path == "id"),
        "nor is it changed: {err:?}"
    );
    let many = (0..27)
        .map(|i| CustomerStatusWrite::new(format!("S{i}")))
        .collect();
    let err = statuses.add(many).await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(400),
        "at most 30, built-in ones included"
    );
    let err = statuses
        .update(vec![CustomerStatusWrite::update(CustomerStatusId(1))])
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "an unknown status");
    sandbox.shutdown().await;
}

/// A status may be given any `sort`; one at the top of the range must not break the next add,
/// which places its statuses after the highest `sort`.
#[tokio::test]
async fn a_customer_status_sorted_last_of_all_does_not_break_the_next_add() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let statuses = api.customer_statuses();
    let added = statuses
        .add(vec![CustomerStatusWrite::new("Last")])
        .await
        .unwrap();
    let mut last = CustomerStatusWrite::update(CustomerStatusId(added[0].id));
    last.sort = Some(i64::MAX);
    statuses.update(vec![last]).await.unwrap();

    let next = statuses
        .add(vec![
            CustomerStatusWrite::new("Next"),
            CustomerStatusWrite::new("And next"),
        ])
        .await
        .expect("an add after a status sorted at i64::MAX");
    assert_eq!(next.len(), 2);
    let all: Vec<_> = statuses.list(ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(all.len(), 7, "{all:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn customer_segments_keep_state() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let segments = api.customer_segments();
    assert!(
        segments
            .list_page(ListQuery::new())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let vip = segments
        .add(&SegmentWrite::new("VIP", "ae003f"))
        .await
        .unwrap();
    assert_eq!(
        (vip.name.as_str(), vip.color.as_deref()),
        ("VIP", Some("ae003f"))
    );
    segments
        .add(&SegmentWrite::new("Churn risk", "10599d"))
        .await
        .unwrap();
    let listed: Vec<_> = segments.list(ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(listed.len(), 2);

    let mut rename = SegmentWrite::default();
    rename.name = Some("Top customers".into());
    segments.update_one(vip.id, rename).await.unwrap();
    let got = segments.get(vip.id).await.unwrap().unwrap();
    assert_eq!(
        (got.name.as_str(), got.color.as_deref()),
        ("Top customers", Some("ae003f"))
    );

    segments.delete(vip.id).await.unwrap();
    assert!(segments.get(vip.id).await.unwrap().is_none());
    assert!(segments.delete(vip.id).await.unwrap_err().is_not_found());
    let colorless = raw(
        &sandbox,
        reqwest::Method::POST,
        "/api/v4/customers/segments",
    )
    .json(&json!({"name": "No color"}))
    .send()
    .await
    .unwrap();
    assert_eq!(colorless.status(), 400, "a segment needs a color");
    assert!(segments.get(SegmentId(1)).await.unwrap().is_none());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn catalog_elements_are_linked_to_leads_with_quantity_and_price() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let catalog = CatalogId(
        api.catalogs()
            .add(vec![CatalogWrite::new("Products")])
            .await
            .unwrap()[0]
            .id,
    );
    let other = CatalogId(
        api.catalogs()
            .add(vec![CatalogWrite::new("Services")])
            .await
            .unwrap()[0]
            .id,
    );
    let elements = api.catalog_elements(catalog);
    let added = elements
        .add(vec![
            CatalogElementWrite::new("Seat"),
            CatalogElementWrite::new("Support"),
        ])
        .await
        .unwrap();
    let (seat, support) = (CatalogElementId(added[0].id), CatalogElementId(added[1].id));
    let lead = LeadId(
        api.leads()
            .add(vec![LeadWrite::new().name("Deal")])
            .await
            .unwrap()[0]
            .id,
    );

    let linked = elements
        .link_to_lead(lead, seat, 2.0, Some(CustomFieldId(77)))
        .await
        .unwrap();
    let metadata = linked[0].metadata.as_ref().unwrap();
    assert_eq!(
        (metadata.quantity, metadata.price_id, metadata.catalog_id),
        (Some(2.0), Some(77), Some(catalog.0 as i64))
    );
    elements
        .link_to_lead(lead, support, 1.0, None)
        .await
        .unwrap();
    // Linked again: the quantity is replaced, not added.
    elements.link_to_lead(lead, seat, 5.0, None).await.unwrap();

    let with = api
        .leads()
        .get(lead, &[LeadWith::CatalogElements])
        .await
        .unwrap()
        .unwrap();
    let on_lead: Vec<(u64, f64)> = with
        .embedded
        .catalog_elements
        .iter()
        .map(|e| {
            (
                e["id"].as_u64().unwrap(),
                e["metadata"]["quantity"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(on_lead, [(seat.0, 5.0), (support.0, 1.0)]);
    let links: Vec<_> = api
        .links()
        .list(EntityType::Leads, lead.0, ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    let to_elements = links
        .iter()
        .filter(|l| l.to_entity_type == "catalog_elements")
        .count();
    assert_eq!(to_elements, 2);

    elements.unlink_from_lead(lead, seat).await.unwrap();
    elements.delete(&[support]).await.unwrap();
    let without = api
        .leads()
        .get(lead, &[LeadWith::CatalogElements])
        .await
        .unwrap()
        .unwrap();
    assert!(
        without.embedded.catalog_elements.is_empty(),
        "unlinked, and a deleted element leaves its leads"
    );
    assert!(elements.get(support).await.unwrap().is_none());

    let err = api
        .catalog_elements(other)
        .link_to_lead(lead, seat, 1.0, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { errors, .. } if errors[0].errors[0].path == "to_entity_id"),
        "an element of another catalog: {err:?}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn customers_module_settings_products_and_single_updates_keep_state() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);

    api.customers()
        .set_mode(CustomersMode::Segments, true)
        .await
        .unwrap();
    let err = api
        .customer_statuses()
        .list_page(ListQuery::new())
        .await
        .unwrap_err();
    assert_eq!(
        err.status(),
        Some(422),
        "statuses need the periodicity mode"
    );
    let bad_mode = raw(&sandbox, reqwest::Method::PATCH, "/api/v4/customers/mode")
        .json(&json!({"mode": "weekly"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_mode.status(), 400);
    let catalogs = api.catalogs();
    assert_eq!(
        catalogs.products_settings().await.unwrap().is_enabled,
        Some(true)
    );
    catalogs.set_products_enabled(false).await.unwrap();
    assert_eq!(
        catalogs.products_settings().await.unwrap().is_enabled,
        Some(false)
    );

    let acme = CustomerId(
        api.customers()
            .add(vec![CustomerWrite::new("Acme")])
            .await
            .unwrap()[0]
            .id,
    );
    let mut rename = CustomerWrite::update(acme);
    rename.name = Some("Acme Ltd".into());
    assert_eq!(
        api.customers().update_one(acme, rename).await.unwrap().id,
        acme.0
    );
    assert_eq!(
        api.customers()
            .get(acme)
            .await
            .unwrap()
            .unwrap()
            .name
            .as_deref(),
        Some("Acme Ltd")
    );
    let bought = api
        .customer_transactions()
        .add(acme, vec![NewTransaction::new(120.0)], false)
        .await
        .unwrap();
    let purchase = api
        .customer_transactions()
        .get(TransactionId(bought[0].id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(purchase.price, Some(120.0));

    let catalog = CatalogId(
        catalogs
            .add(vec![CatalogWrite::new("Products")])
            .await
            .unwrap()[0]
            .id,
    );
    let elements = api.catalog_elements(catalog);
    let seat = CatalogElementId(
        elements
            .add(vec![CatalogElementWrite::new("Seat")])
            .await
            .unwrap()[0]
            .id,
    );
    let mut rename = CatalogElementWrite::update(seat);
    rename.name = Some("Seat (yearly)".into());
    elements.update_one(seat, rename).await.unwrap();
    assert_eq!(
        elements.get(seat).await.unwrap().unwrap().name,
        "Seat (yearly)"
    );

    let fields = api.custom_fields(EntityType::Customers);
    fields
        .add(vec![CustomFieldWrite::new("Plan", FieldType::Text)])
        .await
        .unwrap();
    let listed: Vec<_> = fields.list(ListQuery::new()).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "Plan");
    sandbox.shutdown().await;
}

/// Every new route, with every path id and body member it reads given wrong: a clear 4xx (or a
/// harmless 2xx), never a panic (a dropped connection) or a 5xx.
#[tokio::test]
async fn the_parity_routes_answer_bad_input_without_failing() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let lead = api
        .leads()
        .add(vec![LeadWrite::new().name("L")])
        .await
        .unwrap()[0]
        .id;
    let catalog = api
        .catalogs()
        .add(vec![CatalogWrite::new("Products")])
        .await
        .unwrap()[0]
        .id;
    let ids = [
        "abc",
        "-1",
        "0",
        "1.5",
        "99999999999999999999999",
        "%20",
        "4000001",
    ];
    let bodies = [
        "",
        "null",
        "[]",
        "{}",
        "[1]",
        "[null]",
        "\"x\"",
        r#"[{"id":"x","name":5,"color":7,"sort":"s"}]"#,
        r#"[{"id":-1,"name":"a","sort":9223372036854775807}]"#,
        r#"[{"name":"a","sort":-9223372036854775808}]"#,
        r#"[{"name":"","color":""}]"#,
        r#"{"name":"a","color":"b","custom_fields_values":{}}"#,
        r#"{"name":"a","color":"b","custom_fields_values":[1,null]}"#,
        r#"[{"contact_id":1e30,"chat_id":"c"},{"contact_id":-5,"chat_id":5}]"#,
        r#"[{"contact_id":"1","chat_id":" "}]"#,
        r#"{"mode":5,"is_enabled":"yes"}"#,
        r#"{"mode":"segments","is_enabled":null}"#,
        r#"{"is_enabled":1}"#,
        r#"[{"to_entity_type":"catalog_elements","to_entity_id":1,"metadata":{"catalog_id":1,"quantity":-1}}]"#,
        r#"[{"to_entity_type":"catalog_elements","to_entity_id":"x","metadata":[]}]"#,
        r#"[{"to_entity_type":"catalog_elements","metadata":{"catalog_id":1e300,"quantity":"2","price_id":-3}}]"#,
    ];
    let mut paths: Vec<(reqwest::Method, String)> = vec![
        (
            reqwest::Method::GET,
            "/api/v4/customers/statuses?page=0&limit=-1".into(),
        ),
        (reqwest::Method::POST, "/api/v4/customers/statuses".into()),
        (reqwest::Method::PATCH, "/api/v4/customers/statuses".into()),
        (
            reqwest::Method::GET,
            "/api/v4/customers/segments?page=99999999999999999999".into(),
        ),
        (reqwest::Method::POST, "/api/v4/customers/segments".into()),
        (reqwest::Method::POST, "/api/v4/contacts/chats".into()),
        (reqwest::Method::GET, "/api/v4/contacts/chats".into()),
        (
            reqwest::Method::GET,
            "/api/v4/contacts/chats?contact_id=x".into(),
        ),
        (
            reqwest::Method::GET,
            "/api/v4/contacts/chats?contact_id=1&chat_id=c".into(),
        ),
        (
            reqwest::Method::GET,
            "/api/v4/contacts/chats?chat_id[]=&chat_id[9999999999999999999]=c".into(),
        ),
        (reqwest::Method::PATCH, "/api/v4/customers/mode".into()),
        (
            reqwest::Method::PATCH,
            "/api/v4/catalogs/products/settings".into(),
        ),
        (reqwest::Method::POST, format!("/api/v4/leads/{lead}/link")),
        (
            reqwest::Method::POST,
            format!("/api/v4/leads/{lead}/unlink"),
        ),
        (
            reqwest::Method::GET,
            format!("/api/v4/leads/{lead}?with=catalog_elements"),
        ),
        (
            reqwest::Method::GET,
            "/api/v4/leads/notes?order[created_at]=sideways&order[x]=desc".into(),
        ),
        (
            reqwest::Method::DELETE,
            format!("/api/v4/catalogs/{catalog}/elements"),
        ),
        (
            reqwest::Method::GET,
            "/api/v4/customers/custom_fields?page=-1".into(),
        ),
    ];
    for id in ids {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::PATCH,
            reqwest::Method::DELETE,
        ] {
            paths.push((method.clone(), format!("/api/v4/customers/statuses/{id}")));
            paths.push((method, format!("/api/v4/customers/segments/{id}")));
        }
        paths.push((
            reqwest::Method::GET,
            format!("/api/v4/customers/transactions/{id}"),
        ));
        paths.push((reqwest::Method::PATCH, format!("/api/v4/customers/{id}")));
        paths.push((
            reqwest::Method::PATCH,
            format!("/api/v4/catalogs/{id}/elements/{id}"),
        ));
        paths.push((
            reqwest::Method::PATCH,
            format!("/api/v4/catalogs/{catalog}/elements/{id}"),
        ));
        paths.push((
            reqwest::Method::DELETE,
            format!("/api/v4/catalogs/{id}/elements"),
        ));
    }
    let http = http();
    let mut seen = 0;
    for (method, path) in &paths {
        for body in bodies {
            let answer = http
                .request(method.clone(), format!("{}{path}", sandbox.base_url()))
                .bearer_auth(sandbox.token())
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {path} with {body}: no answer ({e})"));
            let status = answer.status().as_u16();
            assert!(status < 500, "{method} {path} with {body}: {status}");
            seen += 1;
        }
    }
    assert_eq!(seen, paths.len() * bodies.len());
    // Every mode switched back and forth through the fuzz leaves the module in a known one.
    let mode = raw(&sandbox, reqwest::Method::PATCH, "/api/v4/customers/mode")
        .header("content-type", "application/json")
        .body(r#"{"mode":"periodicity","is_enabled":true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(mode.status().as_u16(), 200);
    sandbox.shutdown().await;
}
