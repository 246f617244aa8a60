//! Deliveries claimed together are planned with reads made together: a bulk change's bodies
//! waiting in the outbox cost one request per 250 leads, contacts or companies for all of
//! them, where each body would make its own three, a page of leads at a time.

mod common;

use common::root;
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::BridgeConfig;
use kommo_loops_examples::demo::{self, Stack, StackOptions, eventually};
use kommo_loops_sandbox::kommo::{self, NewCompany, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_claimed_together_read_their_entities_together() {
    let rules = Rules::from_path(root().join(demo::RULES)).unwrap();
    // No workers: the deliveries wait in the outbox, as they do behind Kommo's rate limit
    // during a bulk change, and `drain` claims them eight at a time.
    let options = StackOptions::new()
        .loops(loops::Config::default().rate_limit(Some(1000)))
        .kommo(kommo::Config::saas_onboarding().rate_limit(Some(1000)))
        .kommo_client(|b| b.rate_limit(kommo_client::RateLimit::per_second(1000)))
        .workers(0);
    let stack = Stack::start_with(rules, BridgeConfig::default(), options)
        .await
        .unwrap();
    let mut leads = Vec::new();
    for i in 0..400 {
        let company = stack
            .kommo
            .seed_company(NewCompany::new(format!("Company {i}")))
            .unwrap();
        let contact = stack
            .kommo
            .seed_contact(
                NewContact::new(format!("Person{i} Together"))
                    .email_kind(format!("together{i}@example.com"), "WORK")
                    .company(company),
            )
            .unwrap();
        let lead = stack
            .kommo
            .seed_lead(
                NewLead::new(format!("Deal {i}"))
                    .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                    .price(1000.0)
                    .contact(contact)
                    .company(company)
                    .field("PLAN", "pro"),
            )
            .unwrap();
        leads.push(lead);
    }
    stack
        .kommo
        .move_leads(&leads, saas_onboarding::TRIAL)
        .unwrap();
    assert!(
        eventually(Duration::from_secs(30), || async {
            stack.kommo.pending_webhooks() == 0
        })
        .await
    );
    let stats = stack.bridge.outbox().stats().await.unwrap();
    assert_eq!(
        stats.unfinished(),
        8,
        "400 leads in bodies of 50: {stats:?}"
    );

    let before = stack.kommo.request_stats();
    let logged_before = stack.kommo.request_log().len();
    let reports = stack.bridge.drain(Duration::from_secs(60)).await.unwrap();
    let after = stack.kommo.request_stats();
    let count = |endpoint: &str| after.requests_to(endpoint) - before.requests_to(endpoint);

    // One claim of the eight bodies: 400 leads, their 400 contacts and 400 companies, 250 per
    // request, and the pipelines once. Each body on its own would read three times: 24.
    // The claim is read a page at a time: the first five bodies (250 leads) are read whole
    // and planned before the last three's leads are read, so their sends can start.
    let reads: Vec<String> = stack.kommo.request_log()[logged_before..]
        .iter()
        .map(|r| r.endpoint.clone())
        .filter(|e| e != "GET /api/v4/leads/pipelines")
        .collect();
    assert_eq!(
        reads,
        [
            "GET /api/v4/leads",
            "GET /api/v4/contacts",
            "GET /api/v4/companies",
            "GET /api/v4/leads",
            "GET /api/v4/contacts",
            "GET /api/v4/companies",
        ],
        "two parts of 250 and 150 leads"
    );
    assert_eq!(count("GET /api/v4/leads"), 2, "{after:?}");
    assert_eq!(count("GET /api/v4/contacts"), 2, "{after:?}");
    assert_eq!(count("GET /api/v4/companies"), 2, "{after:?}");
    assert_eq!(
        count("GET /api/v4/leads/{id}"),
        0,
        "no lead read on its own"
    );
    assert_eq!(
        count("GET /api/v4/contacts/{id}"),
        0,
        "no contact read on its own"
    );
    assert!(after.total - before.total <= 7, "{after:?}");

    // And every lead got its Trial event exactly once, with its own contact's data.
    assert!(
        reports.iter().all(|r| r.outcome.is_success()),
        "{reports:?}"
    );
    for i in 0..400 {
        let email = format!("together{i}@example.com");
        let sent: Vec<_> = stack
            .loops
            .events()
            .into_iter()
            .filter(|e| e.email == email && e.event_name == "trial_started")
            .collect();
        assert_eq!(sent.len(), 1, "{email}");
    }
    stack.stop().await;
}
