//! `client.companies()`.

use kommo_client::companies::CompanyWith;
use kommo_client::ids::CompanyId;
use kommo_client::pagination::ListQuery;
use serde_json::json;
use wiremock::MockServer;

use super::{mount, ok};
use crate::support::client;

#[tokio::test]
async fn companies_get() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/companies/3",
        &[("with", "contacts,leads")],
        None,
        ok(json!({"id": 3, "name": "Acme",
        "_embedded": {"contacts": [{"id": 1}], "leads": [{"id": 2}]}})),
    )
    .await;
    let company = client(&server)
        .companies()
        .get(CompanyId(3), &[CompanyWith::Contacts, CompanyWith::Leads])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            company.embedded.contacts[0].id,
            company.embedded.leads[0].id
        ),
        (1, 2)
    );
}

#[tokio::test]
async fn companies_list_page() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/companies",
        &[("query", "Acme"), ("limit", "5")],
        None,
        ok(json!({"_page": 1, "_links": {}, "_embedded": {"companies": [{"id": 3, "name": "Acme"}]}})),
    )
    .await;
    let page = client(&server)
        .companies()
        .list_page(ListQuery::new().query("Acme").limit(5))
        .await
        .unwrap();
    assert_eq!(
        (page.items[0].id, page.items[0].name.as_deref()),
        (CompanyId(3), Some("Acme"))
    );
}
