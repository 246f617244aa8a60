//! `client.links()`.

use futures_util::TryStreamExt;
use kommo_client::common::EntityType;
use kommo_client::ids::*;
use kommo_client::links::EntityLink;
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn links_between_a_lead_and_contacts() {
    let server = MockServer::start().await;
    let link_body =
        json!([{"to_entity_id": 9, "to_entity_type": "contacts", "metadata": {"is_main": true}}]);
    let resp = json!({"_links": {}, "_embedded": {"links": [{"entity_id": 5, "entity_type": "leads", "to_entity_id": 9,
        "to_entity_type": "contacts", "metadata": {"main_contact": true}}]}});
    mount(
        &server,
        "POST",
        "/api/v4/leads/5/link",
        &[],
        Some(link_body),
        ok(resp.clone()),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v4/leads/5/unlink",
        &[],
        Some(json!([{"to_entity_id": 9, "to_entity_type": "contacts"}])),
        ResponseTemplate::new(204),
    )
    .await;
    mount(&server, "GET", "/api/v4/leads/5/links", &[], None, ok(resp)).await;
    let c = client(&server);
    c.links()
        .link_contact_to_lead(LeadId(5), ContactId(9), true)
        .await
        .unwrap();
    c.links()
        .unlink_contact_from_lead(LeadId(5), ContactId(9))
        .await
        .unwrap();
    let links: Vec<_> = c
        .links()
        .list(EntityType::Leads, 5, ListQuery::new())
        .try_collect()
        .await
        .unwrap();
    assert!(links[0].metadata.as_ref().unwrap().is_main_contact());
    let company = EntityLink::company(CompanyId(1));
    assert_eq!(
        serde_json::to_value(&company).unwrap(),
        json!({"to_entity_id": 1, "to_entity_type": "companies"})
    );
}

#[tokio::test]
async fn links_list_page_with_a_filter() {
    let server = MockServer::start().await;
    let resp = json!({"_links": {}, "_embedded": {"links": [{"entity_id": 3, "entity_type": "companies",
        "to_entity_id": 2, "to_entity_type": "leads"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/companies/3/links",
        &[("filter[to_entity_type]", "leads")],
        None,
        ok(resp),
    )
    .await;
    let page = client(&server)
        .links()
        .list_page(
            EntityType::Companies,
            3,
            ListQuery::new().filter("to_entity_type", "leads"),
        )
        .await
        .unwrap();
    assert_eq!(page.items[0].to_entity_id, 2);
}
