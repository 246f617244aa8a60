//! The whole flow against the sandbox fakes: the demo scenario step by step, an email change
//! (with and without a userId), a lead without a contact, a Loops event for an email Kommo does
//! not know, and a duplicate Kommo delivery.

mod common;

use common::{onboarding, root, settle};
use kommo_client::common::EntityType;
use kommo_client::ids::ContactId;
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::{BridgeConfig, Outcome};
use kommo_loops_examples::demo::{self, Stack};
use kommo_loops_sandbox::kommo::{ContactUpdate, NewCompany, NewContact, NewLead, saas_onboarding};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scenario_holds_step_by_step() {
    let mut out = Vec::new();
    let checks = demo::run(root(), &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(checks.len() >= 15, "{text}");
    for check in &checks {
        assert!(check.held, "missing effect: {}\n{text}", check.what);
    }
}

async fn ada_with_a_lead(stack: &Stack) -> (ContactId, kommo_client::ids::LeadId) {
    let company = stack
        .kommo
        .create_company(NewCompany::new("Acme Inc"))
        .unwrap();
    let ada = stack
        .kommo
        .create_contact(
            NewContact::new("Ada Lovelace")
                .email_kind("ada@acme.io", "WORK")
                .company(company),
        )
        .unwrap();
    let lead = stack
        .kommo
        .create_lead(
            NewLead::new("Acme")
                .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                .contact(ada)
                .company(company)
                .field("PLAN", "pro"),
        )
        .unwrap();
    settle(stack).await;
    (ada, lead)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_with_a_user_id_updates_the_same_loops_contact() {
    let stack = Stack::start(onboarding(), BridgeConfig::default())
        .await
        .unwrap();
    let (ada, _) = ada_with_a_lead(&stack).await;
    let user_id = format!(
        "kommo-{}-{}",
        kommo_loops_sandbox::kommo::defaults::ACCOUNT_ID.0,
        ada.0
    );
    let before = stack
        .loops
        .contact_by_user_id(&user_id)
        .expect("synced with a userId");
    assert_eq!(before.email, "ada@acme.io");

    stack
        .kommo
        .update_contact(ada, ContactUpdate::new().email("ada.lovelace@acme.io"))
        .unwrap();
    settle(&stack).await;

    let after = stack
        .loops
        .contact_by_user_id(&user_id)
        .expect("still there");
    assert_eq!(after.id, before.id, "the same Loops contact");
    assert_eq!(after.email, "ada.lovelace@acme.io");
    assert!(
        stack.loops.contact("ada@acme.io").is_none(),
        "no contact left under the old email"
    );
    assert_eq!(stack.loops.contacts().len(), 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_without_a_user_id_replaces_the_loops_contact() {
    let rules = Rules::from_toml_str(
        "no-user-id.toml",
        r#"
        [contact]
        source = "kommo_crm"
        [[kommo]]
        name = "contact changed"
        when = { event = ["contact_added", "contact_updated"] }
        do = [ { upsert_contact = {} } ]
        "#,
    )
    .unwrap();
    let stack = Stack::start(rules, BridgeConfig::default()).await.unwrap();
    let ada = stack
        .kommo
        .create_contact(NewContact::new("Ada Lovelace").email_kind("ada@acme.io", "WORK"))
        .unwrap();
    settle(&stack).await;
    assert!(stack.loops.contact("ada@acme.io").is_some());

    stack
        .kommo
        .update_contact(ada, ContactUpdate::new().email("ada.lovelace@acme.io"))
        .unwrap();
    settle(&stack).await;
    assert!(
        stack.loops.contact("ada.lovelace@acme.io").is_some(),
        "the new email is a contact"
    );
    assert!(
        stack.loops.contact("ada@acme.io").is_none(),
        "the old one was deleted"
    );
    assert_eq!(stack.loops.contacts().len(), 1);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_without_a_contact_writes_nothing_to_loops() {
    let stack = Stack::start(onboarding(), BridgeConfig::default())
        .await
        .unwrap();
    let mut reports = stack.bridge.subscribe();
    stack
        .kommo
        .create_lead(
            NewLead::new("Nobody yet")
                .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING),
        )
        .unwrap();
    settle(&stack).await;
    assert!(stack.loops.contacts().is_empty());
    assert!(stack.loops.events().is_empty());
    let report = reports.try_recv().expect("the delivery was planned");
    let plan = report.plan.expect("a planning job");
    assert!(plan.actions.is_empty());
    assert!(
        plan.explain
            .iter()
            .any(|e| e.reason.text().contains("has no contact")),
        "the trace says why: {:?}",
        plan.explain
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loops_event_for_an_unknown_email_ends_as_skipped() {
    let stack = Stack::start(onboarding(), BridgeConfig::default())
        .await
        .unwrap();
    let mut reports = stack.bridge.subscribe();
    stack
        .loops
        .email_hard_bounced("stranger@example.com")
        .await
        .unwrap();
    settle(&stack).await;
    let mut outcomes = Vec::new();
    while let Ok(report) = reports.try_recv() {
        outcomes.push(report.outcome);
    }
    assert_eq!(outcomes.len(), 2, "the note and the task: {outcomes:?}");
    for outcome in &outcomes {
        match outcome {
            Outcome::Skipped { reason } => {
                assert!(reason.contains("no Kommo contact has the email stranger@example.com"))
            }
            other => panic!("expected skipped, got {other:?}"),
        }
    }
    assert!(stack.kommo.notes().is_empty());
    assert!(stack.kommo.tasks().is_empty());
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_kommo_delivery_sends_once() {
    let stack = Stack::start(onboarding(), BridgeConfig::default())
        .await
        .unwrap();
    let (_, lead) = ada_with_a_lead(&stack).await;
    stack.kommo.move_lead(lead, saas_onboarding::WON).unwrap();
    settle(&stack).await;
    let won = stack
        .kommo
        .webhook_deliveries()
        .into_iter()
        .rfind(|d| d.events.iter().any(|e| e.contains("status")))
        .expect("the status webhook");
    // Kommo delivers the same body again (it retries when it thinks an answer was lost).
    stack.kommo.redeliver_webhook(won.id).await.unwrap();
    stack.kommo.redeliver_webhook(won.id).await.unwrap();
    settle(&stack).await;

    let deal_won = stack
        .loops
        .events()
        .iter()
        .filter(|e| e.event_name == "deal_won")
        .count();
    assert_eq!(deal_won, 1, "exactly one deal_won");
    let welcome = stack
        .loops
        .transactional_sends()
        .iter()
        .filter(|t| t.transactional_id == "cl_welcome")
        .count();
    assert_eq!(welcome, 1, "exactly one welcome email");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridges_own_tag_writes_do_not_trigger_rules_again() {
    let stack = Stack::start(onboarding(), BridgeConfig::default())
        .await
        .unwrap();
    let (ada, _) = ada_with_a_lead(&stack).await;
    let upserts = |stats: kommo_loops_sandbox::RequestStats| -> u64 {
        stats
            .by_endpoint
            .iter()
            .filter(|(endpoint, _)| endpoint.contains("contacts/update"))
            .map(|(_, s)| s.total)
            .sum()
    };
    let upserts_before = upserts(stack.loops.request_stats());
    stack
        .loops
        .contact_unsubscribed("ada@acme.io")
        .await
        .unwrap();
    settle(&stack).await;
    assert!(
        stack
            .kommo
            .contact(ada)
            .unwrap()
            .tags
            .iter()
            .any(|t| t.name == "email_unsubscribed")
    );
    let notes = stack.kommo.notes_for(EntityType::Contacts, ada.0);
    assert_eq!(notes.len(), 1);
    // The tag write made Kommo send contacts[update]; it was recognised, so no upsert followed.
    assert!(upserts_before > 0);
    assert_eq!(
        upserts(stack.loops.request_stats()),
        upserts_before,
        "no upsert was caused by the bridge's own write"
    );
    stack.stop().await;
}
