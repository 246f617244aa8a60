//! Property tests for the events log decoder: it never panics, keeps what it does not know,
//! and a decoded page serializes back to an equal page.

use kommo_client::common::Page;
use kommo_client::events::{Event, EventType, EventValue};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1.0e6f64..1.0e6).prop_map(Value::from),
        "[a-z_0-9]{0,12}".prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec(("[a-z_]{1,8}", inner), 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn value_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("lead_status".to_owned()),
        Just("responsible_user".to_owned()),
        Just("custom_field_value".to_owned()),
        Just("sale_field_value".to_owned()),
        Just("name_field_value".to_owned()),
        Just("link".to_owned()),
        Just("note".to_owned()),
        Just("message".to_owned()),
        Just("tag".to_owned()),
        "[a-z_]{1,10}",
    ]
}

fn type_name() -> impl Strategy<Value = String> {
    prop_oneof![
        (0usize..EventType::KNOWN.len()).prop_map(|i| EventType::KNOWN[i].as_str().into_owned()),
        (1u64..u64::MAX).prop_map(|id| format!("custom_field_{id}_value_changed")),
        "[a-z_0-9]{1,30}",
    ]
}

fn event() -> impl Strategy<Value = Value> {
    (
        "[0-9a-z]{1,26}",
        type_name(),
        vec((value_key(), json_value()), 0..3),
        vec((value_key(), json_value()), 0..3),
        any::<u32>(),
    )
        .prop_map(|(id, kind, before, after, at)| {
            let items = |v: Vec<(String, Value)>| {
                Value::Array(v.into_iter().map(|(k, v)| json!({ k: v })).collect())
            };
            json!({"id": id, "type": kind, "entity_id": 1, "entity_type": "lead",
                "created_by": 0, "created_at": at,
                "value_before": items(before), "value_after": items(after)})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bodies_never_panic(body in json_value(), bytes in vec(any::<u8>(), 0..512)) {
        let _ = Page::<Event>::from_hal_slice(body.to_string().as_bytes(), "events");
        let _ = Page::<Event>::from_hal_slice(&bytes, "events");
        let _ = serde_json::from_value::<Vec<EventValue>>(body);
    }

    #[test]
    fn well_formed_events_always_decode_and_round_trip(events in vec(event(), 0..8)) {
        let body = json!({"_page": 1, "_embedded": {"events": events}}).to_string();
        let page = Page::<Event>::from_hal_slice(body.as_bytes(), "events")
            .expect("events with any values decode");
        prop_assert_eq!(page.items.len(), events.len());
        for (event, raw) in page.items.iter().zip(&events) {
            prop_assert_eq!(event.event_type.as_str(), raw["type"].as_str().unwrap());
            prop_assert_eq!(event.value_after.len(), raw["value_after"].as_array().unwrap().len());
            let again: Event = serde_json::from_value(serde_json::to_value(event).unwrap()).unwrap();
            prop_assert_eq!(&again, event);
        }
    }
}

/// The case proptest shrank to: a container where a sub-object's text was expected (a message
/// id sent as `[]`) reads as "no id" instead of failing the whole page.
#[test]
fn containers_where_text_was_expected_read_as_absent() {
    let body = json!({"_page": 1, "_embedded": {"events": [{
        "id": "a", "type": "lead_added", "entity_id": 1, "entity_type": "lead",
        "created_by": 0, "created_at": 0, "value_before": [],
        "value_after": [
            {"message": {"id": [], "origin": {"x": 1}, "talk_id": 7}},
            {"custom_field_value": {"field_id": 5, "text": ["a"]}},
            {"link": {"entity": {"id": 3, "type": {}}}},
            {"name_field_value": {"name": [1]}},
        ],
        "_embedded": {"entity": {"id": 1, "name": {"first": "x"}}}
    }]}})
    .to_string();
    let page = Page::<Event>::from_hal_slice(body.as_bytes(), "events").expect("decodes");
    let values = &page.items[0].value_after;
    assert_eq!(values.len(), 4);
    assert!(matches!(&values[0], EventValue::Message(m) if m.id.is_none() && m.talk_id == Some(7)));
    assert!(matches!(&values[1], EventValue::CustomFieldValue(f) if f.text.is_none()));
    assert!(
        matches!(&values[2], EventValue::Link(l) if l.id == Some(3) && l.entity_type.is_none())
    );
    assert!(matches!(&values[3], EventValue::Name(None)));
}
