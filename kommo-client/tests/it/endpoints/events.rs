//! `client.events()`: the events log, every filter, paging, types, and the errors.

use futures_util::TryStreamExt;
use kommo_client::Error;
use kommo_client::events::{EventType, EventValue, EventWith, EventsQuery, ValueFilter};
use kommo_client::ids::{CustomFieldId, EnumId, PipelineId, StatusId, UserId};
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

use super::{mount, ok};
use crate::support::{client, fixture, fixture_json};

#[tokio::test]
async fn events_list_page_sends_every_filter() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/events",
        &[
            ("page", "2"),
            ("limit", "100"),
            ("with", "lead_name,contact_name"),
            ("filter[id]", "01a,01b"),
            (
                "filter[type]",
                "lead_status_changed,custom_field_7_value_changed",
            ),
            ("filter[entity]", "lead"),
            ("filter[entity_id]", "1,2"),
            ("filter[created_by]", "0,5"),
            ("filter[created_at][from]", "1700000000"),
            ("filter[created_at][to]", "1700003600"),
            ("filter[value_before][responsible_user_id]", "5,6"),
            (
                "filter[value_after][leads_statuses][0][pipeline_id]",
                "12345",
            ),
            (
                "filter[value_after][leads_statuses][0][status_id]",
                "99999999",
            ),
            (
                "filter[value_after][leads_statuses][1][pipeline_id]",
                "12345",
            ),
            ("filter[value_after][leads_statuses][1][status_id]", "142"),
        ],
        None,
        ok(fixture_json("get_events.json")),
    )
    .await;
    let query = EventsQuery::new()
        .page(2)
        .limit(500)
        .with([EventWith::LeadName, EventWith::ContactName])
        .ids(["01a", "01b"])
        .types([
            EventType::LeadStatusChanged,
            EventType::CustomFieldChanged(CustomFieldId(7)),
        ])
        .entity("lead")
        .entity_ids([1u64, 2])
        .created_by([UserId(0), UserId(5)])
        .created_at(Some(1_700_000_000), Some(1_700_003_600))
        .value_before(ValueFilter::ResponsibleUsers(vec![UserId(5), UserId(6)]))
        .value_after(ValueFilter::LeadsStatuses(vec![
            (PipelineId(12345), StatusId(99999999)),
            (PipelineId(12345), StatusId::WON),
        ]));
    let page = client(&server).events().list_page(query).await.unwrap();
    assert_eq!(page.items.len(), 7);
    assert_eq!(page.page, Some(1));
    assert!(page.next_href().is_some());
    let moved = &page.items[1];
    assert_eq!(moved.event_type, EventType::LeadStatusChanged);
    assert_eq!(
        moved.status_after(),
        Some((PipelineId(3166396), StatusId::WON))
    );
}

#[tokio::test]
async fn events_value_filters_for_fields_and_values() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/events",
        &[
            ("filter[type]", "custom_field_777777_value_changed"),
            ("filter[value_after][custom_field_values]", "145"),
        ],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/events",
        &[
            ("filter[type]", "sale_field_changed"),
            ("filter[value_after][value]", "155"),
        ],
        None,
        ResponseTemplate::new(204),
    )
    .await;
    let c = client(&server);
    let fields = c
        .events()
        .list_page(
            EventsQuery::new()
                .types([EventType::CustomFieldChanged(CustomFieldId(777777))])
                .value_after(ValueFilter::CustomFieldValues(vec![EnumId(145)])),
        )
        .await
        .unwrap();
    assert!(fields.items.is_empty(), "204 is an empty page");
    let sales: Vec<_> = c
        .events()
        .list(
            EventsQuery::new()
                .types([EventType::SaleFieldChanged])
                .value_after(ValueFilter::Value("155".into())),
        )
        .try_collect()
        .await
        .unwrap();
    assert!(sales.is_empty());
}

#[tokio::test]
async fn events_list_follows_pages() {
    let server = MockServer::start().await;
    let base = server.uri();
    let event =
        |id: &str| json!({"id": id, "type": "lead_added", "entity_id": 1, "entity_type": "lead"});
    mount(
        &server,
        "GET",
        "/api/v4/events",
        &[("limit", "2"), ("filter[entity]", "lead")],
        None,
        ok(json!({"_page": 1,
            "_links": {"next": {"href": format!("{base}/api/v4/events?limit=2&filter%5Bentity%5D=lead&page=2")}},
            "_embedded": {"events": [event("a"), event("b")]}})),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/events",
        &[("limit", "2"), ("filter[entity]", "lead"), ("page", "2")],
        None,
        ok(json!({"_page": 2, "_links": {}, "_embedded": {"events": [event("c")]}})),
    )
    .await;
    let ids: Vec<String> = client(&server)
        .events()
        .list(EventsQuery::new().limit(2).entity("lead"))
        .map_ok(|e| e.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[tokio::test]
async fn events_queries_kommo_refuses_are_never_sent() {
    let server = MockServer::start().await;
    let c = client(&server);
    let refused = [
        EventsQuery::new().entity_ids([1u64]),
        EventsQuery::new()
            .entity("lead")
            .entity("contact")
            .entity_ids([1u64]),
        EventsQuery::new().entity("lead").entity_ids(1u64..=11),
        EventsQuery::new().created_by((0..11).map(UserId)),
        EventsQuery::new().created_at(Some(10), Some(9)),
        EventsQuery::new().value_after(ValueFilter::CustomFieldValues(vec![EnumId(1)])),
        EventsQuery::new().value_before(ValueFilter::LeadsStatuses(vec![])),
    ];
    for query in refused {
        let err = c.events().list_page(query.clone()).await.unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest(_)),
            "{query:?}: {err:?}"
        );
        let first = c.events().list(query).try_collect::<Vec<_>>().await;
        assert!(matches!(first, Err(Error::InvalidRequest(_))));
    }
    assert!(matches!(
        c.events().get("../leads", &[]).await,
        Err(Error::InvalidRequest(_))
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn events_get_and_types() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/events/01pz58t6p04vx7s1q2cy4tzd2n",
        &[("with", "contact_name")],
        None,
        ok(fixture_json("get_events.json")["_embedded"]["events"][5].clone()),
    )
    .await;
    mount(
        &server,
        "GET",
        "/api/v4/events/types",
        &[("language_code", "en")],
        None,
        ok(fixture_json("get_events_types.json")),
    )
    .await;
    let c = client(&server);
    let linked = c
        .events()
        .get("01pz58t6p04vx7s1q2cy4tzd2n", &[EventWith::ContactName])
        .await
        .unwrap()
        .unwrap();
    let link = linked.linked().unwrap();
    assert_eq!(
        (link.id, link.entity_type.as_deref()),
        (Some(40447021), Some("contact"))
    );
    let types = c.events().types(Some("en")).await.unwrap();
    assert_eq!(types.len(), 4);
    assert_eq!(types[1].key, EventType::LeadStatusChanged);
    assert_eq!(types[1].lang.as_deref(), Some("Lead status changed"));
}

#[tokio::test]
async fn events_documented_errors() {
    type Expect = fn(&Error) -> bool;
    // (status, body, what)
    let table: &[(u16, &str, Expect)] = &[
        (
            400,
            r#"{"title":"Bad Request","status":400,"detail":"Invalid filter"}"#,
            |e| matches!(e, Error::BadRequest(_)),
        ),
        (401, r#"{"title":"Unauthorized","status":401}"#, |e| {
            e.is_unauthorized()
        }),
        (402, "{}", |e| matches!(e, Error::PaymentRequired(_))),
        (
            403,
            r#"{"title":"Forbidden","status":403,"detail":"Access denied"}"#,
            |e| matches!(e, Error::Forbidden(_)),
        ),
        (404, "", |e| e.is_not_found()),
    ];
    for (status, body, want) in table {
        let server = MockServer::start().await;
        mount(
            &server,
            "GET",
            "/api/v4/events",
            &[],
            None,
            ResponseTemplate::new(*status).set_body_string(*body),
        )
        .await;
        let err = client(&server)
            .events()
            .list_page(EventsQuery::new())
            .await
            .unwrap_err();
        assert!(want(&err), "{status}: {err:?}");
    }
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        "/api/v4/events",
        &[],
        None,
        ok(json!({"_embedded": {"events": [{"type": "lead_added"}]}})),
    )
    .await;
    let err = client(&server)
        .events()
        .list_page(EventsQuery::new())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Decode { .. }),
        "an event without an id: {err:?}"
    );
    let _ = fixture("get_events.json");
}

#[test]
fn events_fixture_values_decode() {
    let page: kommo_client::common::Page<kommo_client::events::Event> =
        kommo_client::common::Page::from_hal_slice(fixture("get_events.json").as_bytes(), "events")
            .unwrap();
    let e = &page.items;
    assert_eq!(e[0].event_type, EventType::LeadAdded);
    assert!(matches!(e[0].value_after[0], EventValue::Note(Some(_))));
    assert_eq!(e[2].responsible_before(), Some(UserId(939801)));
    assert_eq!(e[2].responsible_after(), Some(UserId(504141)));
    assert_eq!(e[3].custom_field_id(), Some(CustomFieldId(777777)));
    let after: Vec<_> = e[3].field_values_after().collect();
    assert_eq!(
        (after[0].enum_id, after[0].text.as_deref()),
        (Some(EnumId(145)), Some("Pro"))
    );
    assert_eq!(e[4].sale_after(), Some(155.0));
    assert!(matches!(&e[6].value_after[0], EventValue::Message(m) if m.talk_id == Some(1213)));
    assert_eq!(
        e[6].entity_type,
        Some(kommo_client::events::EventEntity::Contact)
    );
    // Serialized and read back, an event is the same (snapshots can be stored).
    for event in e {
        let again: kommo_client::events::Event =
            serde_json::from_value(serde_json::to_value(event).unwrap()).unwrap();
        assert_eq!(&again, event);
    }
}
