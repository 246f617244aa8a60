//! `client.leads()`: reads, lists and the single and complex writes (batches are in
//! `batches.rs`).

use futures_util::TryStreamExt;
use kommo_client::Error;
use kommo_client::contacts::ContactWrite;
use kommo_client::field_values::FieldValueUpdate;
use kommo_client::ids::*;
use kommo_client::leads::{ComplexLead, LeadWith, LeadWrite};
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::{mount, ok};
use crate::support::{client, fixture_json};

#[tokio::test]
async fn leads_get_with_contacts_and_204() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/152464",
        &[("with", "contacts,loss_reason")],
        None,
        ok(fixture_json("get_lead_with_contacts.json")),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/1",
        &[],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let lead = c
        .leads()
        .get(LeadId(152464), &[LeadWith::Contacts, LeadWith::LossReason])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.main_contact_id(), Some(ContactId(1558245)));
    assert!(
        c.leads().get(LeadId(1), &[]).await.unwrap().is_none(),
        "204 is None, not an error"
    );
}

#[tokio::test]
async fn leads_list_pages_with_filters_and_stops_on_204() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let q: &[(&str, &str)] = &[
        ("limit", "2"),
        ("with", "contacts"),
        ("filter[statuses][0][pipeline_id]", "7"),
        ("filter[statuses][0][status_id]", "142"),
        ("filter[updated_at][from]", "1000"),
        ("order[updated_at]", "asc"),
    ];
    let next = format!("{uri}/api/v4/leads?page=2&limit=2&with=contacts");
    let page1 = json!({"_page": 1, "_links": {"next": {"href": next}}, "_embedded": {"leads": [{"id": 1}, {"id": 2}]}});
    let page2 = json!({"_page": 2, "_links": {"next": {"href": format!("{uri}/api/v4/leads?page=3&limit=2&with=contacts")}},
        "_embedded": {"leads": [{"id": 3}]}});
    mount(&server, "GET", "/api/v4/leads", q, None, ok(page1)).await;
    mount(
        &server,
        "GET",
        "/api/v4/leads",
        &[("page", "2"), ("limit", "2"), ("with", "contacts")],
        None,
        ok(page2),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/leads",
        &[("page", "3"), ("limit", "2"), ("with", "contacts")],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let query = ListQuery::new()
        .limit(2)
        .with([LeadWith::Contacts])
        .filter_status(PipelineId(7), StatusId::WON)
        .filter_range("updated_at", Some(1000), None)
        .order("updated_at", true);
    let leads: Vec<_> = client(&server)
        .leads()
        .list(query)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        leads.iter().map(|l| l.id.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn leads_list_page_keeps_the_hal_links_and_204_is_an_empty_page() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let page = json!({"_page": 1,
        "_links": {"self": {"href": format!("{uri}/api/v4/leads?page=1&limit=2")},
                   "next": {"href": format!("{uri}/api/v4/leads?page=2&limit=2")}},
        "_embedded": {"leads": [{"id": 1}, {"id": 2}]}});
    mount(
        &server,
        "GET",
        "/api/v4/leads",
        &[("limit", "2")],
        None,
        ok(page),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/leads",
        &[("query", "nobody")],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let page = c
        .leads()
        .list_page(ListQuery::new().limit(2))
        .await
        .unwrap();
    assert_eq!(
        page.items.iter().map(|l| l.id.0).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(page.page, Some(1));
    assert_eq!(
        page.next_href(),
        Some(format!("{uri}/api/v4/leads?page=2&limit=2").as_str())
    );
    let empty = c
        .leads()
        .list_page(ListQuery::new().query("nobody"))
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.next_href().is_none());
}

#[tokio::test]
async fn leads_update_batch_one_and_complex() {
    let server = MockServer::start().await;
    let update = LeadWrite::update(LeadId(5))
        .status(PipelineId(7), StatusId::LOST)
        .loss_reason(LossReasonId(3))
        .field(FieldValueUpdate::text(CustomFieldId(9), "x"))
        .add_tag("vip")
        .remove_tag(TagId(4));
    let body = json!([{"id": 5, "pipeline_id": 7, "status_id": 143, "loss_reason_id": 3,
        "custom_fields_values": [{"field_id": 9, "values": [{"value": "x"}]}],
        "tags_to_add": [{"name": "vip"}], "tags_to_delete": [{"id": 4}]}]);
    let resp = json!({"_links": {}, "_embedded": {"leads": [{"id": 5, "updated_at": 1700000000, "_links": {}}]}});
    mount(&server, "PATCH", "/api/v4/leads", &[], Some(body), ok(resp)).await;
    mount(
        &server,
        "PATCH",
        "/api/v4/leads/6",
        &[],
        Some(json!({"price": 10.5})),
        ok(json!({"id": 6, "updated_at": 1})),
    )
    .await;
    let complex_body = json!([{"name": "Deal", "_embedded": {
        "contacts": [{"first_name": "Ann", "last_name": "Lee",
            "custom_fields_values": [{"field_code": "EMAIL", "values": [{"value": "ann@x.io", "enum_code": "WORK"}]}]}]}}]);
    mount(
        &server,
        "POST",
        "/api/v4/leads/complex",
        &[],
        Some(complex_body),
        ok(fixture_json("post_leads_complex_response.json")),
    )
    .await;
    let c = client(&server);
    let r = c.leads().update(vec![update]).await.unwrap();
    assert_eq!(r[0].updated_at, Some(1700000000));
    assert_eq!(
        c.leads()
            .update_one(LeadId(6), LeadWrite::update(LeadId(6)).price(10.5))
            .await
            .unwrap()
            .id,
        6
    );
    let complex = ComplexLead::new(LeadWrite::new().name("Deal"))
        .contact(ContactWrite::new().names("Ann", "Lee").email("ann@x.io"));
    let results = c.leads().add_complex(vec![complex]).await.unwrap();
    assert_eq!(results[0].contact_id, Some(ContactId(12117258)));
    let missing_id = c.leads().update(vec![LeadWrite::new()]).await.unwrap_err();
    assert!(matches!(missing_id, Error::InvalidRequest(_)));
}
