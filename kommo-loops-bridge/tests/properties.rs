//! Property tests: planning never panics, whatever the webhook and the fetched data, the
//! same inputs always give the same plan, and merging upserts into events changes what
//! Loops ends up with in no way (only how many calls it takes).

use std::collections::BTreeMap;

use kommo_loops_bridge::{Action, Mode, Planning, Rules, Snapshot};
use proptest::prelude::*;

fn rules() -> Rules {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/rules/saas-onboarding.toml"
    );
    Rules::from_path(path).unwrap()
}

/// Rules that exercise every merge decision: upserts from several rules, sends before and
/// after them, a transactional in between, `subscribed`, mailing lists.
fn tricky_rules() -> Rules {
    Rules::from_toml_str(
        "tricky.toml",
        r#"
        [contact]
        source = "kommo_crm"
        properties = { stage = "{lead.status_id}" }
        mailing_lists = { news = true }

        [[kommo]]
        name = "event first"
        when = { event = "lead_status", to = 5002 }
        do = [ { send_event = { event = "activated" } } ]

        [[kommo]]
        name = "stage"
        when = { event = ["lead_status", "lead_updated", "lead_added"] }
        do = [ { upsert_contact = { properties = { lead = "{lead.id}" } } } ]

        [[kommo]]
        name = "won"
        when = { event = "lead_status", to = "won" }
        do = [
          { upsert_contact = { user_group = "customers", mailing_lists = { customers = true } } },
          { send_transactional = { id = "welcome", add_to_audience = true } },
          { send_event = { event = "deal_won", properties = { price = "{lead.price}" } } },
        ]

        [[kommo]]
        name = "trial"
        when = { event = "lead_status", to = 5001 }
        do = [ { send_event = { event = "trial_started" } } ]

        [[kommo]]
        name = "opt in"
        when = { event = ["contact_added", "contact_updated"] }
        do = [ { upsert_contact = { subscribed = true } }, { send_event = { event = "opted_in" } } ]

        [[kommo]]
        name = "lost"
        when = { event = "lead_status", to = "lost" }
        do = [ { send_event = { event = "lost" } }, { upsert_contact = { user_group = "lost" } } ]
        "#,
    )
    .unwrap()
}

/// A contact in the model: its properties and lists, as `(name, value)` texts.
type ModelContact = Vec<(String, String)>;

/// A send: email, event name or transactional id, idempotency key, and the contact as it
/// was when the send started.
type ModelSend = (String, String, String, ModelContact);

/// What Loops holds after a plan's Loops actions, in order: each contact's properties and
/// lists, and every send with the contact as it was when the send started.
#[derive(Debug, Default, PartialEq)]
struct LoopsModel {
    contacts: BTreeMap<String, ModelContact>,
    sends: Vec<ModelSend>,
}

impl LoopsModel {
    fn of(actions: &[Action]) -> LoopsModel {
        let mut model = LoopsModel::default();
        for action in actions {
            match action {
                Action::UpsertContact(a) => {
                    model.update(&a.email, &a.properties, &a.mailing_lists);
                }
                Action::SendEvent(a) => {
                    model.update(&a.email, &a.contact_properties, &a.mailing_lists);
                    model.send(&a.email, &a.event_name, &a.idempotency_key);
                }
                Action::SendTransactional(a) => {
                    model.send(&a.email, &a.transactional_id, &a.idempotency_key);
                }
                Action::DeleteContact(a) => {
                    if let Some(email) = &a.email {
                        model.contacts.remove(&email.to_lowercase());
                    }
                }
                _ => {}
            }
        }
        model
    }

    fn update<V: std::fmt::Debug>(
        &mut self,
        email: &str,
        properties: &BTreeMap<std::sync::Arc<str>, V>,
        lists: &BTreeMap<String, bool>,
    ) {
        let contact = self.contacts.entry(email.to_lowercase()).or_default();
        let mut all: BTreeMap<String, String> = contact.drain(..).collect();
        for (name, value) in properties {
            all.insert(name.to_string(), format!("{value:?}"));
        }
        for (list, on) in lists {
            all.insert(format!("list:{list}"), on.to_string());
        }
        contact.extend(all);
    }

    fn send(&mut self, email: &str, what: &str, key: &str) {
        let contact = self
            .contacts
            .get(&email.to_lowercase())
            .cloned()
            .unwrap_or_default();
        self.sends
            .push((email.to_owned(), what.to_owned(), key.to_owned(), contact));
    }
}

/// The number of Loops calls a plan makes.
fn loops_calls(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| a.kind().starts_with("loops."))
        .count()
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

/// A well-formed delivery of a few lead and contact events on a small pool of ids, so that
/// one contact often has several events (and rules) in one plan.
fn structured_body() -> impl Strategy<Value = String> {
    let status = prop_oneof![Just(5000u64), Just(5001), Just(5002), Just(142), Just(143)];
    let event = (0u8..5, 1u64..5, status.clone(), status);
    proptest::collection::vec(event, 1..5).prop_map(|events| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (i, (kind, id, to, from)) in events.into_iter().enumerate() {
            let (group, action) = match kind {
                0 | 1 => ("leads", "status"),
                2 => ("leads", "add"),
                3 => ("leads", "update"),
                _ => ("contacts", "update"),
            };
            let at = |field: &str| format!("{group}[{action}][{i}][{field}]");
            s.append_pair(&at("id"), &id.to_string());
            s.append_pair(&at("updated_at"), &(1_700_000_000 + i).to_string());
            if group == "leads" {
                s.append_pair(&at("status_id"), &to.to_string());
                s.append_pair(&at("old_status_id"), &from.to_string());
                s.append_pair(&at("pipeline_id"), "7001");
            } else {
                s.append_pair(&at("type"), "contact");
            }
        }
        s.append_pair("account[id]", "1");
        s.append_pair("account[subdomain]", "acme");
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
    fn merging_changes_nothing_loops_ends_up_with(
        body in prop_oneof![1 => body(), 4 => structured_body()],
        seed in 0u64..1000,
        tricky in any::<bool>(),
    ) {
        let rules = if tricky { tricky_rules() } else { rules() };
        let separate = rules.clone().merging_upserts_into_events(false);
        let merged = plan_to_the_end(&rules, &body, seed, Mode::Live);
        let unmerged = plan_to_the_end(&separate, &body, seed, Mode::Live);
        if let (Some(merged), Some(unmerged)) = (merged, unmerged) {
            prop_assert_eq!(merged.needs(), unmerged.needs());
            // The same contacts, and every send (with its key) meets the contact as before.
            prop_assert_eq!(LoopsModel::of(merged.actions()), LoopsModel::of(unmerged.actions()));
            let merges = merged
                .actions()
                .iter()
                .filter(|a| matches!(a, Action::SendEvent(e) if e.carries_upsert()))
                .count();
            prop_assert_eq!(
                loops_calls(merged.actions()) + merges,
                loops_calls(unmerged.actions()),
                "each merge saves exactly one call"
            );
            let notes = merged
                .explain()
                .iter()
                .flat_map(|e| &e.notes)
                .filter(|n| n.starts_with("upsert merged into send_event"))
                .count();
            prop_assert_eq!(notes, merges, "the trace tells every merge");
            // Backfill has no event to merge into.
            prop_assert_eq!(
                plan_to_the_end(&rules, &body, seed, Mode::Backfill),
                plan_to_the_end(&separate, &body, seed, Mode::Backfill)
            );
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
