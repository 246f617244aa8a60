//! Upserts merged into events, end to end against the sandbox fakes: the same Loops state as
//! with separate calls, one call per stage change, and the synced email still remembered for
//! email-change detection. (That a merged call keeps the event's key is checked by the golden
//! plans: across two stacks the keys differ, as Kommo's timestamps do.)

mod common;

use common::{new_customers, onboarding, settle};
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::BridgeConfig;
use kommo_loops_examples::demo::Stack;
use kommo_loops_sandbox::kommo::{ContactUpdate, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops::Contact;

const UPDATE: &str = "PUT /v1/contacts/update";
const EVENT: &str = "POST /v1/events/send";
const TRANSACTIONAL: &str = "POST /v1/transactional";

/// What one run left in Loops, without what differs by nature (generated ids, times, how
/// the contact properties travelled), and the Loops calls each stage change cost.
#[derive(Debug, PartialEq)]
struct Outcome {
    contacts: Vec<Contact>,
    /// Email, event name, event properties, whether it had an idempotency key.
    events: Vec<(String, String, serde_json::Value, bool)>,
    transactional: Vec<(String, String, bool)>,
}

async fn run(rules: Rules) -> (Outcome, Vec<(u64, u64, u64)>) {
    let stack = Stack::start(rules, BridgeConfig::default()).await.unwrap();
    let lead = new_customers(&stack, "merge", 1)[0].lead;
    settle(&stack).await;

    let calls = |stack: &Stack| {
        let stats = stack.loops.request_stats();
        (
            stats.requests_to(UPDATE),
            stats.requests_to(EVENT),
            stats.requests_to(TRANSACTIONAL),
        )
    };
    let mut per_change = Vec::new();
    for stage in [
        saas_onboarding::TRIAL,
        saas_onboarding::ACTIVATED,
        saas_onboarding::WON,
    ] {
        let before = calls(&stack);
        stack.kommo.move_lead(lead, stage).unwrap();
        settle(&stack).await;
        let after = calls(&stack);
        per_change.push((after.0 - before.0, after.1 - before.1, after.2 - before.2));
    }

    let mut contacts = stack.loops.contacts();
    for contact in &mut contacts {
        contact.id.clear();
    }
    let events = stack
        .loops
        .events()
        .into_iter()
        .map(|e| {
            (
                e.email,
                e.event_name,
                serde_json::Value::Object(e.event_properties),
                e.idempotency_key.is_some(),
            )
        })
        .collect();
    let transactional = stack
        .loops
        .transactional_sends()
        .into_iter()
        .map(|t| (t.email, t.transactional_id, t.idempotency_key.is_some()))
        .collect();
    stack.stop().await;
    (
        Outcome {
            contacts,
            events,
            transactional,
        },
        per_change,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_and_separate_calls_leave_loops_in_the_same_state() {
    let (merged, merged_calls) = run(onboarding()).await;
    let (separate, separate_calls) = run(onboarding().merging_upserts_into_events(false)).await;

    assert_eq!(merged, separate, "the same contacts, events and emails");
    assert_eq!(merged.contacts.len(), 1);
    let ada = &merged.contacts[0];
    assert_eq!(ada.user_group, "customers");
    assert_eq!(ada.properties["kommoStage"], "Closed - won");
    let names: Vec<&str> = merged.events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        names,
        [
            "lead_created",
            "trial_started",
            "account_activated",
            "deal_won"
        ]
    );

    // (upserts, events, transactional sends) per stage change: Trial, Activated, Won.
    assert_eq!(merged_calls, [(0, 1, 0), (0, 1, 0), (0, 1, 1)]);
    assert_eq!(separate_calls, [(1, 1, 0), (1, 1, 0), (1, 1, 1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_is_seen_after_a_merged_upsert() {
    // No userId, and the contact reaches Loops only through the merged lead_created event:
    // that call must still record the synced email, or the old address would stay.
    let rules = Rules::from_toml_str(
        "merged.toml",
        r#"
        [contact]
        source = "kommo_crm"
        [[kommo]]
        name = "new lead"
        when = { event = "lead_added" }
        do = [ { upsert_contact = {} }, { send_event = { event = "lead_created" } } ]
        [[kommo]]
        name = "contact changed"
        when = { event = "contact_updated" }
        do = [ { upsert_contact = {} } ]
        "#,
    )
    .unwrap();
    let stack = Stack::start(rules, BridgeConfig::default()).await.unwrap();
    let ada = stack
        .kommo
        .create_contact(NewContact::new("Ada Lovelace").email_kind("ada@acme.io", "WORK"))
        .unwrap();
    stack
        .kommo
        .create_lead(
            NewLead::new("Acme")
                .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                .contact(ada),
        )
        .unwrap();
    settle(&stack).await;
    assert_eq!(stack.loops.request_stats().requests_to(UPDATE), 0, "merged");
    assert_eq!(
        stack.loops.contact("ada@acme.io").unwrap().source,
        "kommo_crm"
    );

    stack
        .kommo
        .update_contact(ada, ContactUpdate::new().email("ada.lovelace@acme.io"))
        .unwrap();
    settle(&stack).await;
    assert!(stack.loops.contact("ada.lovelace@acme.io").is_some());
    assert!(
        stack.loops.contact("ada@acme.io").is_none(),
        "the old address was deleted"
    );
    assert_eq!(stack.loops.contacts().len(), 1);
    stack.stop().await;
}
