//! Property tests: planning never panics, whatever the webhook and the fetched data, and the
//! same inputs always give the same plan.

use kommo_loops_bridge::{Mode, Planning, Rules, Snapshot};
use proptest::prelude::*;

fn rules() -> Rules {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/rules/saas-onboarding.toml"
    );
    Rules::from_path(path).unwrap()
}

fn key() -> impl Strategy<Value = String> {
    let group = prop_oneof![
        Just("leads"),
        Just("contacts"),
        Just("task"),
        Just("unsorted"),
        Just("x")
    ];
    let action = prop_oneof![
        Just("add"),
        Just("update"),
        Just("status"),
        Just("delete"),
        Just("restore"),
        Just("responsible"),
        Just("note")
    ];
    let field = prop_oneof![
        Just("[id]".to_owned()),
        Just("[status_id]".to_owned()),
        Just("[old_status_id]".to_owned()),
        Just("[pipeline_id]".to_owned()),
        Just("[price]".to_owned()),
        Just("[name]".to_owned()),
        Just("[type]".to_owned()),
        Just("[updated_at]".to_owned()),
        (0u8..3, prop_oneof![Just("id"), Just("code"), Just("name")])
            .prop_map(|(j, k)| format!("[custom_fields][{j}][{k}]")),
        (0u8..3, 0u8..2).prop_map(|(j, k)| format!("[custom_fields][{j}][values][{k}][value]")),
        (0u8..3).prop_map(|j| format!("[custom_fields][{j}][values][0]")),
    ];
    prop_oneof![
        (group, action, 0u8..3, field).prop_map(|(g, a, i, f)| format!("{g}[{a}][{i}]{f}")),
        Just("account[id]".to_owned()),
        Just("account[subdomain]".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u64..10).prop_map(|n| n.to_string()),
        Just("142".to_owned()),
        Just("5001".to_owned()),
        Just("7001".to_owned()),
        Just("company".to_owned()),
        Just("EMAIL".to_owned()),
        Just("PLAN".to_owned()),
        Just("ada@acme.io".to_owned()),
        "[ -~]{0,12}",
        "\\PC{0,6}",
    ]
}

fn body() -> impl Strategy<Value = String> {
    proptest::collection::vec((key(), value()), 0..24).prop_map(|pairs| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(&k, &v);
        }
        s.finish()
    })
}

/// A fetched entity for whatever the engine asks, with arbitrary-ish content.
fn entity(id: u64, seed: u64) -> serde_json::Value {
    let status = [5001, 142, 143, 5002][(seed % 4) as usize];
    serde_json::json!({
        "id": id,
        "name": if seed.is_multiple_of(3) { serde_json::Value::Null } else { format!("Name {seed}").into() },
        "price": seed % 5,
        "status_id": status,
        "pipeline_id": 7001,
        "custom_fields_values": if seed.is_multiple_of(2) { serde_json::Value::Null } else { serde_json::json!([
            {"field_id": 1, "field_code": "EMAIL", "field_type": "multitext", "values": [{"value": format!("u{seed}@x.io"), "enum_code": "WORK"}]},
            {"field_id": 912340, "field_code": "PLAN", "field_type": "select", "values": [{"value": "pro"}]},
            {"field_id": 912345, "field_type": "numeric", "values": [{"value": "abc"}]},
            {"field_id": 3, "field_type": "tracking_data", "values": [{"value": {"deep": [1, 2]}}]}
        ]) },
        "_embedded": {"contacts": [{"id": id + 1, "is_main": seed.is_multiple_of(2)}], "companies": [{"id": id + 2}]}
    })
}

/// Plans like the runtime: fetch what is needed, plan again, at most a few rounds.
fn plan_to_the_end(rules: &Rules, body: &str, seed: u64, mode: Mode) -> Option<Planning> {
    let payload = kommo_client::webhooks::parse(body.as_bytes()).ok()?;
    let mut snapshot = serde_json::json!({"leads": [], "contacts": [], "companies": []});
    let mut planning = rules.plan_kommo(
        &payload,
        &Snapshot::from_json(&snapshot.to_string()).unwrap(),
        mode,
    );
    for round in 0..4 {
        let Some(needs) = planning.needs().cloned() else {
            break;
        };
        for (i, id) in needs.leads.iter().enumerate() {
            if (seed + i as u64).is_multiple_of(7) {
                snapshot["missing"]["leads"] = serde_json::json!([id]);
            } else {
                snapshot["leads"]
                    .as_array_mut()
                    .unwrap()
                    .push(entity(*id, seed + round));
            }
        }
        for id in &needs.contacts {
            snapshot["contacts"]
                .as_array_mut()
                .unwrap()
                .push(entity(*id, seed * 3 + round));
        }
        for id in &needs.companies {
            snapshot["companies"]
                .as_array_mut()
                .unwrap()
                .push(entity(*id, seed * 5 + round));
        }
        if needs.pipelines {
            snapshot["pipelines"] = serde_json::json!([{"id": 7001, "name": "P", "_embedded": {"statuses": [{"id": 5001, "name": "Trial"}]}}]);
        }
        if snapshot.get("missing").is_none() {
            snapshot["missing"] = serde_json::json!({});
        }
        let parsed = Snapshot::from_json(&snapshot.to_string()).unwrap();
        planning = rules.plan_kommo(&payload, &parsed, mode);
    }
    Some(planning)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn planning_never_panics_and_is_deterministic(body in body(), seed in 0u64..1000, backfill in any::<bool>()) {
        let rules = rules();
        let mode = if backfill { Mode::Backfill } else { Mode::Live };
        let first = plan_to_the_end(&rules, &body, seed, mode);
        let second = plan_to_the_end(&rules, &body, seed, mode);
        prop_assert_eq!(&first, &second);
        if let Some(planning) = first {
            let mut keys: Vec<&str> = planning.actions().iter().map(|a| a.idempotency_key()).collect();
            let total = keys.len();
            keys.sort_unstable();
            keys.dedup();
            prop_assert_eq!(keys.len(), total, "two actions share a key");
            for key in keys {
                prop_assert!(key.len() <= 100);
            }
            if backfill {
                prop_assert!(planning.actions().iter().all(|a| !a.is_send()));
            }
            // The plan always serializes (the dry run's output).
            serde_json::to_string(&planning).unwrap();
        }
    }

    #[test]
    fn loops_planning_never_panics(name in "[a-zA-Z.]{0,24}", email in "[ -~]{0,24}", id in "[ -~]{0,40}") {
        let rules = rules();
        let body = serde_json::json!({"eventName": name, "eventTime": 1, "contactIdentity": {"id": "c", "email": email, "userId": null},
            "email": {"id": "e"}, "mailingList": {"id": "l"}, "contact": {"id": "c"}});
        if let Ok(event) = loops_client::webhooks::WebhookEvent::parse(body.to_string().as_bytes()) {
            let plan = rules.plan_loops(&id, &event);
            prop_assert_eq!(&plan, &rules.plan_loops(&id, &event));
            for action in &plan.actions {
                prop_assert!(action.idempotency_key().len() <= 100);
            }
        }
    }

    #[test]
    fn rules_parsing_never_panics(text in "\\PC{0,200}") {
        let _ = Rules::from_toml_str("fuzz.toml", &text);
        let _ = Rules::from_json_str("fuzz.json", &text);
    }
}
