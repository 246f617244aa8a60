//! The backfill against the fakes: every contact reaches Loops, nobody gets an email, and an
//! interrupted run resumes from its checkpoint without sending anything twice.

use std::path::Path;
use std::sync::Arc;

use kommo_loops_bridge::runtime::{Bridge, BridgeConfig, MemoryOutbox, MemoryState};
use kommo_loops_bridge::{Mode, Rules};
use kommo_loops_examples::backfill::{self, BackfillOptions};
use kommo_loops_sandbox::kommo::{self, NewCompany, NewContact};
use kommo_loops_sandbox::loops::{self, PropertyKind};

async fn fakes() -> (loops::Sandbox, kommo::Sandbox) {
    let loops = loops::Sandbox::start(loops::Config::default().rate_limit(Some(50)))
        .await
        .unwrap();
    for name in ["companyName", "kommoStage", "kommoPipeline", "plan"] {
        loops
            .add_contact_property(name, PropertyKind::String)
            .unwrap();
    }
    let kommo = kommo::Sandbox::start(kommo::Config::saas_onboarding())
        .await
        .unwrap();
    (loops, kommo)
}

fn bridge(loops: &loops::Sandbox, kommo: &kommo::Sandbox) -> (Bridge, kommo_client::Client) {
    let rules =
        Rules::from_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/saas-onboarding.toml"))
            .unwrap();
    let loops_client = loops_client::Client::builder()
        .api_key(loops.api_key())
        .base_url(loops.base_url())
        .rate_limit(loops_client::RateLimit::Fixed(50.0))
        .build()
        .unwrap();
    let kommo_client = kommo_client::Client::builder()
        .base_url(&kommo.base_url())
        .long_lived_token(kommo.token())
        .build()
        .unwrap();
    let bridge = Bridge::builder(
        rules,
        Arc::new(loops_client),
        Arc::new(kommo_client.clone()),
    )
    .outbox(Arc::new(MemoryOutbox::new()))
    .state(Arc::new(MemoryState::new()))
    .config(BridgeConfig::default().mode(Mode::Backfill))
    .build()
    .unwrap();
    (bridge, kommo_client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_contact_is_upserted_and_nobody_is_emailed() {
    let (loops, kommo) = fakes().await;
    let acme = kommo.seed_company(NewCompany::new("Acme Inc")).unwrap();
    for i in 0..30 {
        let mut contact =
            NewContact::new(format!("Person {i}")).email_kind(format!("person{i}@acme.io"), "WORK");
        if i % 2 == 0 {
            contact = contact.company(acme);
        }
        kommo.seed_contact(contact).unwrap();
    }
    // One contact without an email: nothing to write, and counted as such.
    kommo.seed_contact(NewContact::new("No Email")).unwrap();

    let (bridge, client) = bridge(&loops, &kommo);
    let workers = bridge.spawn_workers(2);
    let dir = tempfile::tempdir().unwrap();
    let options = BackfillOptions {
        checkpoint: dir.path().join("checkpoint.json"),
        restart: false,
        limit: None,
        page_size: 7,
    };
    let summary = backfill::run(&bridge, &client, &options, |_| {})
        .await
        .unwrap();
    workers.shutdown().await;

    assert_eq!(summary.progress.contacts, 31);
    assert_eq!(summary.progress.without_action, 1);
    assert_eq!(summary.progress.dead, 0);
    assert_eq!(loops.contacts().len(), 30);
    let person0 = loops.contact("person0@acme.io").unwrap();
    assert_eq!(
        person0
            .properties
            .get("companyName")
            .and_then(|v| v.as_str()),
        Some("Acme Inc")
    );
    assert!(loops.events().is_empty(), "a backfill never sends events");
    assert!(
        loops.transactional_sends().is_empty(),
        "a backfill never sends emails"
    );

    // Run again: the checkpoint says it is complete.
    let again = backfill::run(&bridge, &client, &options, |_| {})
        .await
        .unwrap_err();
    assert!(again.contains("complete"), "{again}");
    loops.shutdown().await;
    kommo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_backfill_resumes_from_its_checkpoint() {
    let (loops, kommo) = fakes().await;
    for i in 0..20 {
        kommo
            .seed_contact(
                NewContact::new(format!("Person {i}"))
                    .email_kind(format!("person{i}@acme.io"), "WORK"),
            )
            .unwrap();
    }
    let (bridge, client) = bridge(&loops, &kommo);
    let workers = bridge.spawn_workers(2);
    let dir = tempfile::tempdir().unwrap();
    let mut options = BackfillOptions {
        checkpoint: dir.path().join("checkpoint.json"),
        restart: false,
        limit: Some(12),
        page_size: 5,
    };
    // Stopped after 12 contacts: two full pages are checkpointed.
    let first = backfill::run(&bridge, &client, &options, |_| {})
        .await
        .unwrap();
    assert_eq!(first.progress.contacts, 12);
    let upserts_after_first = loops.request_stats().total;

    options.limit = None;
    let second = backfill::run(&bridge, &client, &options, |_| {})
        .await
        .unwrap();
    workers.shutdown().await;
    assert_eq!(
        second.started_at_page, 3,
        "resumed after the two full pages"
    );
    assert_eq!(loops.contacts().len(), 20);
    // Page 3 was planned again from its start (contacts 11 and 12 twice), but the outbox
    // recognised their keys: only the 8 new contacts were upserted.
    assert_eq!(loops.request_stats().total - upserts_after_first, 8);
    loops.shutdown().await;
    kommo.shutdown().await;
}
