//! One wiremock test per endpoint: method, path, exact query, bearer header and JSON body.

use futures_util::TryStreamExt;
use kommo_client::common::{EntityType, TagRef};
use kommo_client::companies::CompanyWith;
use kommo_client::contacts::{ContactWith, ContactWrite};
use kommo_client::field_values::FieldValueUpdate;
use kommo_client::ids::*;
use kommo_client::leads::{ComplexLead, LeadWith, LeadWrite};
use kommo_client::links::EntityLink;
use kommo_client::notes::NewNote;
use kommo_client::pagination::ListQuery;
use kommo_client::tasks::TaskWrite;
use kommo_client::webhooks_api::{Subscribe, WebhookSetting};
use kommo_client::{Error, Method};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{ExactQuery, bearer, client, fixture_json};

async fn mount(
    server: &MockServer,
    m: &str,
    p: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
    resp: ResponseTemplate,
) {
    let mut mock = Mock::given(method(m))
        .and(path(p))
        .and(ExactQuery::new(query))
        .and(bearer());
    if let Some(b) = body {
        mock = mock.and(body_json(b));
    }
    mock.respond_with(resp).expect(1).mount(server).await;
}

fn ok(v: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

fn added(key: &str, ids: std::ops::Range<u64>) -> Value {
    let items: Vec<Value> = ids
        .map(|i| json!({"id": i, "request_id": i.to_string(), "_links": {}}))
        .collect();
    json!({"_links": {}, "_embedded": {key: items}})
}

#[tokio::test]
async fn account() {
    let server = MockServer::start().await;
    let body = json!({"id": 31361463, "name": "Acme", "subdomain": "acme", "current_user_id": 8375357,
        "_embedded": {"task_types": [{"id": 1, "name": "Follow-up", "code": "FOLLOW_UP"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/account",
        &[("with", "task_types,version")],
        None,
        ok(body),
    )
    .await;
    let account = client(&server)
        .account(&["task_types", "version"])
        .await
        .unwrap();
    assert_eq!(
        (account.id, account.subdomain.as_str()),
        (AccountId(31361463), "acme")
    );
    assert_eq!(account.embedded.task_types[0].id, TaskTypeId::FOLLOW_UP);
}

#[tokio::test]
async fn users_list_and_get() {
    let server = MockServer::start().await;
    let page = json!({"_total_items": 1, "_page": 1, "_page_count": 1, "_links": {},
        "_embedded": {"users": [{"id": 1, "name": "Admin", "email": "a@x", "rights": {"is_admin": true, "leads": {"view": "A"}}}]}});
    mount(
        &server,
        "GET",
        "/api/v4/users",
        &[("limit", "250")],
        None,
        ok(page),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/users/1",
        &[],
        None,
        ok(json!({"id": 1, "name": "Admin"})),
    )
    .await;
    let c = client(&server);
    let users: Vec<_> = c
        .users()
        .list(ListQuery::new().limit(250))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(users[0].rights.is_admin, Some(true));
    assert_eq!(users[0].rights.other["leads"]["view"], "A");
    assert_eq!(
        c.users().get(UserId(1)).await.unwrap().unwrap().name,
        "Admin"
    );
}

#[tokio::test]
async fn pipelines_and_statuses() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines",
        &[],
        None,
        ok(fixture_json("get_pipelines.json")),
    )
    .await;
    let one = fixture_json("get_pipelines.json")["_embedded"]["pipelines"][0].clone();
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines/6950551",
        &[],
        None,
        ok(one.clone()),
    )
    .await;
    let statuses =
        json!({"_total_items": 4, "_embedded": {"statuses": one["_embedded"]["statuses"]}});
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines/6950551/statuses",
        &[],
        None,
        ok(statuses),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/pipelines/6950551/statuses/142",
        &[],
        None,
        ok(one["_embedded"]["statuses"][2].clone()),
    )
    .await;
    let c = client(&server);
    let pipelines = c.pipelines().list().await.unwrap();
    assert_eq!(pipelines[0].statuses().len(), 4);
    assert_eq!(
        c.pipelines()
            .get(PipelineId(6950551))
            .await
            .unwrap()
            .unwrap()
            .name,
        "Pipeline"
    );
    assert_eq!(
        c.pipelines()
            .statuses(PipelineId(6950551))
            .await
            .unwrap()
            .len(),
        4
    );
    assert!(
        c.pipelines()
            .status(PipelineId(6950551), StatusId::WON)
            .await
            .unwrap()
            .unwrap()
            .is_won()
    );
}

#[tokio::test]
async fn custom_field_definitions_follow_pages() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let page1 = json!({"_page": 1, "_links": {"next": {"href": format!("{uri}/api/v4/contacts/custom_fields?page=2&limit=2")}},
        "_embedded": {"custom_fields": [
            {"id": 1, "name": "Phone", "code": "PHONE", "type": "multitext", "enums": [{"id": 10, "value": "WORK", "sort": 2}]},
            {"id": 2, "name": "Email", "code": "EMAIL", "type": "multitext", "enums": null}]}});
    let page2 = json!({"_page": 2, "_links": {}, "_embedded": {"custom_fields": [{"id": 3, "name": "X", "type": "tracking_data_v9"}]}});
    mount(
        &server,
        "GET",
        "/api/v4/contacts/custom_fields",
        &[("limit", "2")],
        None,
        ok(page1),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts/custom_fields",
        &[("page", "2"), ("limit", "2")],
        None,
        ok(page2),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts/custom_fields/1",
        &[],
        None,
        ok(json!({"id": 1, "name": "Phone", "type": "multitext"})),
    )
    .await;
    let api = client(&server).custom_fields(EntityType::Contacts);
    let defs: Vec<_> = api
        .list(ListQuery::new().limit(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        defs.iter().map(|d| d.id.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(defs[0].enum_by_value("WORK").unwrap().id, EnumId(10));
    assert_eq!(defs[2].field_type.as_str(), "tracking_data_v9");
    assert_eq!(api.get(CustomFieldId(1)).await.unwrap().unwrap().code, None);
}

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
async fn pagination_stops_on_a_self_loop_and_on_empty_results() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let looping = json!({"_links": {"next": {"href": format!("{uri}/api/v4/companies?limit=1")}}, "_embedded": {"companies": [{"id": 1}]}});
    mount(
        &server,
        "GET",
        "/api/v4/companies",
        &[("limit", "1")],
        None,
        ok(looping),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "nobody")],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let companies: Vec<_> = c
        .companies()
        .list(ListQuery::new().limit(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        companies.len(),
        1,
        "the next link equal to the current page ends the stream"
    );
    let none: Vec<_> = c
        .contacts()
        .list(ListQuery::new().query("nobody"))
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn leads_add_splits_into_chunks_of_50() {
    let server = MockServer::start().await;
    let leads: Vec<LeadWrite> = (0..120)
        .map(|i| {
            LeadWrite::new()
                .name(format!("L{i}"))
                .request_id(i.to_string())
        })
        .collect();
    for (start, end) in [(0u64, 50u64), (50, 100), (100, 120)] {
        let body: Vec<Value> = (start..end)
            .map(|i| json!({"name": format!("L{i}"), "request_id": i.to_string()}))
            .collect();
        mount(
            &server,
            "POST",
            "/api/v4/leads",
            &[],
            Some(json!(body)),
            ok(added("leads", start + 1..end + 1)),
        )
        .await;
    }
    let results = client(&server).leads().add(leads).await.unwrap();
    assert_eq!(results.len(), 120);
    assert_eq!(
        (results[0].id, results[119].request_id.as_deref()),
        (1, Some("120"))
    );
}

#[tokio::test]
async fn leads_add_reports_a_partial_batch() {
    let server = MockServer::start().await;
    let c = crate::support::builder(&server)
        .batch_size(1)
        .long_lived_token(crate::support::TOKEN)
        .build()
        .unwrap();
    mount(
        &server,
        "POST",
        "/api/v4/leads",
        &[],
        Some(json!([{"name": "a"}])),
        ok(added("leads", 1..2)),
    )
    .await;
    let problem = json!({"title": "Gateway Timeout", "status": 504});
    mount(
        &server,
        "POST",
        "/api/v4/leads",
        &[],
        Some(json!([{"name": "b"}])),
        ResponseTemplate::new(504).set_body_json(problem),
    )
    .await;
    let err = c
        .leads()
        .add(vec![LeadWrite::new().name("a"), LeadWrite::new().name("b")])
        .await
        .unwrap_err();
    let Error::PartialBatch { committed, source } = err else {
        panic!("{err:?}")
    };
    assert_eq!(committed.len(), 1);
    assert!(
        matches!(*source, Error::GatewayTimeout(_)),
        "a POST is not retried: {source:?}"
    );
}

#[tokio::test]
async fn batch_updates_are_halved_on_504_but_creates_are_not() {
    let server = MockServer::start().await;
    let timeout =
        || ResponseTemplate::new(504).set_body_string("<html>504 Gateway Time-out</html>");
    let two = json!([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]);
    Mock::given(method("PATCH"))
        .and(path("/api/v4/leads"))
        .and(body_json(two))
        .respond_with(timeout())
        .mount(&server)
        .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 1, "name": "a"}])),
        ok(added("leads", 1..2)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 2, "name": "b"}])),
        ok(added("leads", 2..3)),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/api/v4/leads"))
        .respond_with(timeout())
        .expect(1)
        .mount(&server)
        .await;
    let c = crate::support::builder(&server)
        .retry(kommo_client::retry::RetryPolicy::none())
        .long_lived_token(crate::support::TOKEN)
        .build()
        .unwrap();
    let updates = vec![
        LeadWrite::update(LeadId(1)).name("a"),
        LeadWrite::update(LeadId(2)).name("b"),
    ];
    let results = c.leads().update(updates).await.unwrap();
    assert_eq!(results.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2]);
    let err = c
        .leads()
        .add(vec![LeadWrite::new().name("a"), LeadWrite::new().name("b")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::GatewayTimeout(_)), "{err:?}");
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
    assert!(matches!(missing_id, Error::Config(_)));
}

#[tokio::test]
async fn contacts_get_search_add_update() {
    let server = MockServer::start().await;
    let search = fixture_json("get_contacts_query_email.json");
    mount(
        &server,
        "GET",
        "/api/v4/contacts/64990189",
        &[("with", "leads")],
        None,
        ok(search["_embedded"]["contacts"][0].clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "user@example.com"), ("limit", "250")],
        None,
        ok(search.clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "70000000000"), ("limit", "250")],
        None,
        ok(search),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/contacts",
        &[("query", "other@example.com"), ("limit", "250")],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let add_body = json!([{"name": "Ann", "responsible_user_id": 2,
        "custom_fields_values": [{"field_code": "PHONE", "values": [{"value": "+1 555", "enum_code": "WORK"}]}],
        "_embedded": {"companies": [{"id": 3}]}}]);
    mount(
        &server,
        "POST",
        "/api/v4/contacts",
        &[],
        Some(add_body),
        ok(added("contacts", 10..11)),
    )
    .await;
    let upd = json!([{"id": 10, "first_name": "A", "last_name": "L"}]);
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts",
        &[],
        Some(upd),
        ok(added("contacts", 10..11)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts/10",
        &[],
        Some(json!({"name": "B"})),
        ok(json!({"id": 10})),
    )
    .await;
    let c = client(&server);
    let contact = c
        .contacts()
        .get(ContactId(64990189), &[ContactWith::Leads])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(contact.primary_email().as_deref(), Some("user@example.com"));
    assert_eq!(
        c.contacts()
            .find_by_email(" user@example.com ")
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        c.contacts()
            .find_by_phone("+7 (000) 000-00-00")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        c.contacts()
            .find_by_email("other@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    let new = ContactWrite::new()
        .name("Ann")
        .responsible(UserId(2))
        .phone("+1 555")
        .company(CompanyId(3));
    assert_eq!(c.contacts().add(vec![new]).await.unwrap()[0].id, 10);
    c.contacts()
        .update(vec![ContactWrite::update(ContactId(10)).names("A", "L")])
        .await
        .unwrap();
    c.contacts()
        .update_one(ContactId(10), ContactWrite::new().name("B"))
        .await
        .unwrap();
}

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
    let links = c.links().list(EntityType::Leads, 5).await.unwrap();
    assert!(links[0].metadata.as_ref().unwrap().is_main_contact());
    let company = EntityLink::company(CompanyId(1));
    assert_eq!(
        serde_json::to_value(&company).unwrap(),
        json!({"to_entity_id": 1, "to_entity_type": "companies"})
    );
}

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
async fn tasks_list_get_add_update() {
    let server = MockServer::start().await;
    let q: &[(&str, &str)] = &[
        ("filter[entity_type]", "leads"),
        ("filter[entity_id][]", "5"),
        ("filter[is_completed]", "0"),
    ];
    let page = json!({"_links": {}, "_embedded": {"tasks": [{"id": 1, "text": "Call", "complete_till": 1735689600,
        "entity_id": 5, "entity_type": "leads", "task_type_id": 1, "is_completed": false, "result": []}]}});
    mount(&server, "GET", "/api/v4/tasks", q, None, ok(page)).await;
    mount(
        &server,
        "GET",
        "/api/v4/tasks/1",
        &[],
        None,
        ok(json!({"id": 1, "text": "Call", "result": {"text": "ok"}})),
    )
    .await;
    let add = json!([{"text": "Call back", "complete_till": 1735689600, "entity_type": "leads", "entity_id": 5,
        "task_type_id": 2, "responsible_user_id": 9}]);
    mount(
        &server,
        "POST",
        "/api/v4/tasks",
        &[],
        Some(add),
        ok(added("tasks", 2..3)),
    )
    .await;
    let upd = json!([{"id": 2, "is_completed": true, "result": {"text": "Done"}}]);
    mount(
        &server,
        "PATCH",
        "/api/v4/tasks",
        &[],
        Some(upd),
        ok(added("tasks", 2..3)),
    )
    .await;
    let api = client(&server).tasks();
    let query = ListQuery::new()
        .filter("entity_type", "leads")
        .filter_ids("entity_id", [5])
        .filter("is_completed", 0);
    let tasks: Vec<_> = api.list(query).try_collect().await.unwrap();
    assert_eq!(tasks[0].task_type_id, Some(TaskTypeId::FOLLOW_UP));
    assert_eq!(
        tasks[0].result, None,
        "an empty array where an object was expected is absent"
    );
    assert_eq!(
        api.get(TaskId(1))
            .await
            .unwrap()
            .unwrap()
            .result
            .unwrap()
            .text
            .as_deref(),
        Some("ok")
    );
    let new = TaskWrite::new("Call back", 1735689600)
        .entity(EntityType::Leads, 5)
        .task_type(TaskTypeId::MEETING)
        .responsible(UserId(9));
    assert_eq!(api.add(vec![new]).await.unwrap()[0].id, 2);
    api.update(vec![TaskWrite::update(TaskId(2)).complete("Done")])
        .await
        .unwrap();
    assert!(matches!(
        api.add(vec![TaskWrite::update(TaskId(3))]).await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn tags_add_and_remove_without_replacing() {
    let server = MockServer::start().await;
    let one = |id: u64| json!({"_links": {}, "_embedded": {"leads": [{"id": id}], "contacts": [{"id": id}]}});
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 1, "tags_to_add": [{"name": "vip"}, {"id": 7}]}])),
        ok(one(1)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/leads",
        &[],
        Some(json!([{"id": 1, "tags_to_delete": [{"name": "cold"}]}])),
        ok(one(1)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts",
        &[],
        Some(json!([{"id": 2, "tags_to_add": [{"name": "vip"}]}])),
        ok(one(2)),
    )
    .await;
    mount(
        &server,
        "PATCH",
        "/api/v4/contacts",
        &[],
        Some(json!([{"id": 2, "tags_to_delete": [{"id": 8}]}])),
        ok(one(2)),
    )
    .await;
    let dir =
        json!({"_links": {}, "_embedded": {"tags": [{"id": 7, "name": "vip", "color": null}]}});
    mount(
        &server,
        "GET",
        "/api/v4/leads/tags",
        &[("filter[name]", "vip")],
        None,
        ok(dir),
    )
    .await;
    let tags = client(&server).tags();
    tags.add_to_lead(LeadId(1), vec![TagRef::from("vip"), TagRef::from(TagId(7))])
        .await
        .unwrap();
    tags.remove_from_lead(LeadId(1), vec!["cold".into()])
        .await
        .unwrap();
    tags.add_to_contact(ContactId(2), vec!["vip".into()])
        .await
        .unwrap();
    tags.remove_from_contact(ContactId(2), vec![TagId(8).into()])
        .await
        .unwrap();
    let found: Vec<_> = tags
        .list(EntityType::Leads, ListQuery::new().filter("name", "vip"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(found[0].id, TagId(7));
}

#[tokio::test]
async fn webhook_subscriptions() {
    let server = MockServer::start().await;
    let sub = json!({"id": 1, "destination": "https://hooks.example/kommo", "settings": ["add_lead", "status_lead", "add_message"],
        "sort": 10, "disabled": false, "account_id": 31361463});
    mount(
        &server,
        "GET",
        "/api/v4/webhooks",
        &[("filter[destination]", "https://hooks.example/kommo")],
        None,
        ok(json!({"_total_items": 1, "_embedded": {"webhooks": [sub.clone()]}})),
    )
    .await;
    let body = json!({"destination": "https://hooks.example/kommo", "settings": ["add_lead", "status_lead", "add_message"], "sort": 10});
    mount(
        &server,
        "POST",
        "/api/v4/webhooks",
        &[],
        Some(body),
        ok(sub),
    )
    .await;
    mount(
        &server,
        "DELETE",
        "/api/v4/webhooks",
        &[],
        Some(json!({"destination": "https://hooks.example/kommo"})),
        ResponseTemplate::new(204),
    )
    .await;
    let api = client(&server).webhooks();
    let listed = api.list(Some("https://hooks.example/kommo")).await.unwrap();
    assert_eq!(
        listed[0].settings[2],
        WebhookSetting::Other("add_message".into())
    );
    let mut subscribe = Subscribe::new(
        "https://hooks.example/kommo",
        vec![
            WebhookSetting::AddLead,
            WebhookSetting::StatusLead,
            WebhookSetting::Other("add_message".into()),
        ],
    );
    subscribe.sort = Some(10);
    assert_eq!(
        api.subscribe(&subscribe).await.unwrap().id,
        Some(WebhookId(1))
    );
    api.unsubscribe("https://hooks.example/kommo")
        .await
        .unwrap();
}

#[tokio::test]
async fn raw_escape_hatch() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/leads/loss_reasons",
        &[("page", "1")],
        None,
        ok(json!({"_embedded": {"loss_reasons": []}})),
    )
    .await;
    mount(
        &server,
        "POST",
        "/api/v4/leads/unsorted/forms",
        &[],
        Some(json!([{"source_uid": "x"}])),
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let v: Option<Value> = c
        .request_json::<Value, ()>(
            Method::GET,
            "/api/v4/leads/loss_reasons",
            &[("page".into(), "1".into())],
            None,
            true,
        )
        .await
        .unwrap();
    assert!(v.unwrap()["_embedded"]["loss_reasons"].is_array());
    let raw = c
        .request_raw(
            Method::POST,
            "/api/v4/leads/unsorted/forms",
            Some(br#"[{"source_uid":"x"}]"#.to_vec()),
            false,
        )
        .await
        .unwrap();
    assert_eq!((raw.status, raw.json::<Value>().unwrap()), (204, None));
    assert!(matches!(
        c.request_raw(Method::GET, "api/v4/x", None, true).await,
        Err(Error::Config(_))
    ));
}
