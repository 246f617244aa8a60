//! The `reconcile` example's work, over real HTTP against the sandbox fakes, on an SQLite store
//! no webhook ever reached: a dry run stores nothing, a run recovers every change once, a
//! second run adds nothing; `--loops` recovers an unsubscribe whose webhook was lost, once.
//! The clients pace at the production limits (7/s and 10/s), as the example does.

mod common;

use std::collections::HashMap;

use common::root;
use kommo_client::common::EntityType;
use kommo_loops_examples::config::ServerConfig;
use kommo_loops_examples::demo;
use kommo_loops_examples::reconcile::{self, ReconcileOptions};
use kommo_loops_sandbox::kommo::{self, NewCompany, NewContact, NewLead, saas_onboarding};
use kommo_loops_sandbox::loops;

fn config(
    kommo: &kommo::Sandbox,
    loops: &loops::Sandbox,
    outbox: &std::path::Path,
) -> ServerConfig {
    let env: HashMap<&str, String> = [
        ("RULES_FILE", root().join(demo::RULES).display().to_string()),
        ("KOMMO_BASE_URL", kommo.base_url()),
        ("KOMMO_TOKEN", kommo.token().to_owned()),
        ("LOOPS_API_KEY", loops.api_key().to_owned()),
        ("LOOPS_BASE_URL", loops.base_url()),
        ("OUTBOX_PATH", outbox.display().to_string()),
        ("LOG_EMAILS", "full".to_owned()),
    ]
    .into_iter()
    .collect();
    ServerConfig::for_backfill(|k| env.get(k).cloned()).unwrap()
}

async fn run(config: &ServerConfig, options: &ReconcileOptions) -> (reconcile::Summary, String) {
    let mut out = Vec::new();
    let summary = reconcile::run(config, options, &mut out, false)
        .await
        .unwrap();
    (summary, String::from_utf8(out).unwrap())
}

fn count(loops: &loops::Sandbox, email: &str, event: &str) -> usize {
    loops
        .events()
        .iter()
        .filter(|e| e.email == email && e.event_name == event)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_recovers_once_and_a_second_run_adds_nothing() {
    let (loops, kommo) = demo::fakes(loops::Config::default(), kommo::Config::saas_onboarding())
        .await
        .unwrap();
    // Nobody is subscribed: every webhook of these changes is lost.
    let since = reconcile::now() - 1;
    let mut customers = Vec::new();
    for i in 0..2 {
        let email = format!("recon{i}@example.com");
        let company = kommo
            .create_company(NewCompany::new(format!("Company {i}")))
            .unwrap();
        let contact = kommo
            .create_contact(
                NewContact::new(format!("Recon {i}"))
                    .email_kind(&email, "WORK")
                    .company(company),
            )
            .unwrap();
        let lead = kommo
            .create_lead(
                NewLead::new(format!("Deal {i}"))
                    .status(saas_onboarding::PIPELINE_ID, saas_onboarding::INCOMING)
                    .contact(contact)
                    .company(company)
                    .field("PLAN", "pro"),
            )
            .unwrap();
        for stage in [
            saas_onboarding::TRIAL,
            saas_onboarding::ACTIVATED,
            saas_onboarding::WON,
        ] {
            kommo.move_lead(lead, stage).unwrap();
        }
        customers.push((email, contact));
    }
    let newest = kommo
        .events_log()
        .iter()
        .map(|e| e.created_at)
        .max()
        .unwrap();
    while reconcile::now() <= newest {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = config(&kommo, &loops, &dir.path().join("outbox.db"));
    let options = ReconcileOptions {
        since,
        until: reconcile::now(),
        dry_run: true,
        loops: false,
        enqueue_only: false,
    };

    // A dry run plans and prints, and stores and sends nothing.
    let (dry, printed) = run(&config, &options).await;
    assert_eq!(
        (dry.kommo.changes, dry.kommo.recovered),
        (10, 10),
        "{printed}"
    );
    assert_eq!(dry.kommo.enqueued, 0);
    assert!(
        printed.contains("moved 5000 -> 5001 (pipeline 7001)"),
        "{printed}"
    );
    assert!(
        printed.contains("loops.send_event trial_started -> recon0@example.com"),
        "{printed}"
    );
    assert!(printed.contains("10 recovered"), "{printed}");
    assert!(loops.events().is_empty() && loops.transactional_sends().is_empty());

    // The run recovers each change once.
    let options = ReconcileOptions {
        dry_run: false,
        ..options
    };
    let (first, printed) = run(&config, &options).await;
    assert_eq!(
        (first.kommo.recovered, first.kommo.enqueued),
        (10, 10),
        "{printed}"
    );
    assert_eq!(first.outbox.map(|(_, dead)| dead), Some(0));
    for (email, _) in &customers {
        for event in [
            "lead_created",
            "trial_started",
            "account_activated",
            "deal_won",
        ] {
            assert_eq!(count(&loops, email, event), 1, "{event} for {email}");
        }
    }
    let sends = loops.events().len() + loops.transactional_sends().len();
    assert_eq!(sends, 2 * 5);

    // Again: nothing new.
    let (second, printed) = run(&config, &options).await;
    assert_eq!(
        (second.kommo.recovered, second.kommo.enqueued),
        (0, 0),
        "{printed}"
    );
    assert_eq!(
        loops.events().len() + loops.transactional_sends().len(),
        sends
    );

    // Loops: an unsubscribe whose webhook went nowhere is recovered once.
    loops
        .register_webhook("http://127.0.0.1:9/lost", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0")
        .unwrap();
    let (email, contact) = &customers[0];
    loops.contact_unsubscribed(email).await.unwrap();
    let with_loops = ReconcileOptions {
        loops: true,
        dry_run: true,
        ..options.clone()
    };
    let (dry, printed) = run(&config, &with_loops).await;
    let recovery = dry.loops.unwrap();
    assert_eq!(
        (recovery.checked, recovery.unsubscribed, recovery.recovered),
        (2, 1, 1),
        "{printed}"
    );
    assert!(
        printed.contains("recon0@example.com: unsubscribed, no webhook; would plan"),
        "{printed}"
    );
    assert!(kommo.notes_for(EntityType::Contacts, contact.0).is_empty());
    let with_loops = ReconcileOptions {
        dry_run: false,
        ..with_loops
    };
    let (done, printed) = run(&config, &with_loops).await;
    assert_eq!(done.loops.as_ref().unwrap().recovered, 1, "{printed}");
    let notes = kommo.notes_for(EntityType::Contacts, contact.0);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let tagged = kommo.contact(*contact).unwrap();
    assert!(tagged.tags.iter().any(|t| t.name == "email_unsubscribed"));
    let (again, printed) = run(&config, &with_loops).await;
    let again = again.loops.unwrap();
    assert_eq!((again.known, again.recovered), (1, 0), "{printed}");
    assert_eq!(kommo.notes_for(EntityType::Contacts, contact.0).len(), 1);

    kommo.shutdown().await;
    loops.shutdown().await;
}
