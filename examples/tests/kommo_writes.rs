//! `kommo_writes`, small and fast: notes, tasks and tags of many leads cost one marker read and
//! one write per group instead of per lead, each lands exactly once, also when answers are
//! lost and when the actions are replayed through an outbox that knows nothing of them.

mod common;

use common::root;
use kommo_loops_examples::demo;
use kommo_loops_examples::kommo_writes::{KommoWritesArgs, run};

fn args(leads: usize, group: usize) -> KommoWritesArgs {
    KommoWritesArgs {
        leads,
        group,
        kommo_rate: 500,
        workers: 2,
        drop_rate: 0.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_of_many_leads_go_in_groups_and_land_once() {
    let leads = 60;
    let rules = root().join(demo::RULES);
    let grouped = run(&args(leads, 50), &rules).await.unwrap();
    assert_eq!((grouped.lost, grouped.duplicates), (0, 0), "{grouped:?}");
    let baseline = run(&args(leads, 1), &rules).await.unwrap();
    assert_eq!((baseline.lost, baseline.duplicates), (0, 0), "{baseline:?}");

    // One at a time: a marker read and an add per note and task, a PATCH per tag change.
    let first = &baseline.first;
    assert_eq!(
        (
            first.note_reads,
            first.note_adds,
            first.task_reads,
            first.task_adds,
            first.tag_writes
        ),
        (60, 60, 60, 60, 60),
        "{baseline:?}"
    );
    // In groups: how the claims split the 60 leads varies with the workers' timing, but a
    // group of one is rare; far fewer requests of each kind than leads.
    let first = &grouped.first;
    for (what, count) in [
        ("note reads", first.note_reads),
        ("note adds", first.note_adds),
        ("task reads", first.task_reads),
        ("task adds", first.task_adds),
        ("tag writes", first.tag_writes),
    ] {
        assert!((1..=15).contains(&count), "{what}: {count} ({grouped:?})");
    }
    assert!(
        first.total * 4 <= baseline.first.total,
        "{grouped:?} {baseline:?}"
    );

    // The replay writes no note and no task: the marker reads find all of them.
    for report in [&grouped, &baseline] {
        let replay = &report.replay;
        assert_eq!((replay.note_adds, replay.task_adds), (0, 0), "{report:?}");
        assert!(
            replay.note_reads >= 1 && replay.task_reads >= 1,
            "{report:?}"
        );
    }
    assert!(
        grouped.replay.total * 4 <= baseline.replay.total,
        "{grouped:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_to_group_writes_double_nothing() {
    // A quarter of Kommo's answers are cut after the request was applied: whole groups are
    // retried, and the marker read of the retry finds what landed.
    let mut lossy = args(40, 50);
    lossy.drop_rate = 0.25;
    let report = run(&lossy, &root().join(demo::RULES)).await.unwrap();
    assert!(report.first.dropped > 0, "{report:?}");
    assert_eq!((report.lost, report.duplicates), (0, 0), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_item_fails_alone_and_the_rest_of_its_group_lands() {
    use kommo_client::common::EntityType;
    use kommo_loops_bridge::Action;
    use kommo_loops_bridge::runtime::outbox::{ItemState, NewItem};
    use kommo_loops_bridge::runtime::{BridgeConfig, Outcome};
    use kommo_loops_examples::demo::{Stack, StackOptions};
    use kommo_loops_sandbox::kommo::NewLead;
    use std::time::Duration;

    let rules = kommo_loops_bridge::Rules::from_path(root().join(demo::RULES)).unwrap();
    let stack = Stack::start_with(
        rules,
        BridgeConfig::default(),
        StackOptions::new().workers(0),
    )
    .await
    .unwrap();
    let mut leads: Vec<u64> = (0..3)
        .map(|i| {
            stack
                .kommo
                .seed_lead(NewLead::new(format!("Real {i}")))
                .unwrap()
                .0
        })
        .collect();
    // Kommo has no such lead: its note is refused by name in the batch's validation errors.
    leads.insert(1, 999_999_999);
    let items: Vec<NewItem> = leads
        .iter()
        .map(|lead| {
            let action: Action = serde_json::from_value(serde_json::json!({
                "type": "kommo.add_note", "idempotencyKey": format!("refused-{lead}"),
                "target": {"leadId": lead}, "text": "Grouped", "rule": "bulk"
            }))
            .unwrap();
            NewItem::action(action, "test")
        })
        .collect();
    let before = stack.kommo.request_stats();
    stack.bridge.enqueue(items).await.unwrap();
    let reports = stack.bridge.drain(Duration::from_secs(30)).await.unwrap();

    // The notes' webhooks come back as planning jobs of their own (planned to nothing).
    let reports: Vec<_> = reports
        .into_iter()
        .filter(|r| r.key.starts_with("refused-"))
        .collect();
    let ends: Vec<(&str, ItemState)> = reports.iter().map(|r| (r.key.as_str(), r.state)).collect();
    assert_eq!(ends.len(), 4, "{reports:#?}");
    for (key, state) in &ends {
        let expected = if key.ends_with("999999999") {
            ItemState::Dead
        } else {
            ItemState::Done
        };
        assert_eq!(*state, expected, "{key}: {reports:#?}");
    }
    let refused = reports.iter().find(|r| r.state == ItemState::Dead).unwrap();
    assert!(
        matches!(&refused.outcome, Outcome::Failed { reason } if reason.contains("validation")),
        "{refused:?}"
    );
    for lead in leads.iter().filter(|l| **l != 999_999_999) {
        assert_eq!(stack.kommo.notes_for(EntityType::Leads, *lead).len(), 1);
    }
    // One marker read; the refused batch, then the other three in one request.
    let after = stack.kommo.request_stats();
    let count = |endpoint: &str| after.requests_to(endpoint) - before.requests_to(endpoint);
    assert_eq!(count("GET /api/v4/leads/notes"), 1);
    assert_eq!(count("POST /api/v4/leads/notes"), 2);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marker_read_of_many_leads_reads_a_crowded_out_lead_on_its_own() {
    use kommo_client::common::EntityType;
    use kommo_client::notes::NewNote;
    use kommo_loops_bridge::runtime::{BridgeConfig, KommoApi, KommoEntity, NOTE_SERVICE};
    use kommo_loops_examples::demo::{Stack, StackOptions};
    use kommo_loops_sandbox::kommo::{self, NewLead};

    let rules = kommo_loops_bridge::Rules::from_path(root().join(demo::RULES)).unwrap();
    let stack = Stack::start_with(
        rules,
        BridgeConfig::default(),
        // No rate limit: every request counted below is one the read made, none a retry.
        StackOptions::new()
            .workers(0)
            .kommo(kommo::Config::saas_onboarding().rate_limit(None)),
    )
    .await
    .unwrap();
    let client = kommo_client::Client::builder()
        .base_url(&stack.kommo.base_url())
        .long_lived_token(stack.kommo.token())
        .rate_limit(kommo_client::RateLimit::Off)
        .batch_size(250)
        .build()
        .unwrap();
    let quiet = stack.kommo.seed_lead(NewLead::new("Quiet")).unwrap().0;
    let busy = stack.kommo.seed_lead(NewLead::new("Busy")).unwrap().0;
    let empty = stack.kommo.seed_lead(NewLead::new("Empty")).unwrap().0;
    // The quiet lead's note is the oldest; 1,100 newer notes of the busy lead fill the four
    // pages of 250 the batched read follows.
    client
        .notes(EntityType::Leads)
        .add(vec![NewNote::service_message(
            quiet,
            NOTE_SERVICE,
            "ref kl-quiet",
        )])
        .await
        .unwrap();
    let crowd = (0..1100)
        .map(|i| NewNote::service_message(busy, NOTE_SERVICE, format!("busy {i}")))
        .collect();
    client.notes(EntityType::Leads).add(crowd).await.unwrap();

    let before = stack.kommo.request_stats();
    let entities = [
        KommoEntity::Lead(quiet),
        KommoEntity::Lead(busy),
        KommoEntity::Lead(empty),
    ];
    let notes = client.recent_notes_of(&entities).await.unwrap();
    assert_eq!(
        notes[&KommoEntity::Lead(quiet)],
        vec!["ref kl-quiet".to_owned()]
    );
    assert!(notes[&KommoEntity::Lead(busy)].len() >= 50);
    assert_eq!(
        notes[&KommoEntity::Lead(busy)][0],
        "busy 1099",
        "newest first"
    );
    assert!(notes[&KommoEntity::Lead(empty)].is_empty());
    let after = stack.kommo.request_stats();
    let count = |endpoint: &str| after.requests_to(endpoint) - before.requests_to(endpoint);
    assert_eq!(
        count("GET /api/v4/leads/notes"),
        4,
        "the pages of the batched read"
    );
    // The busy lead had its 50; the quiet and the empty ones are read on their own.
    assert_eq!(count("GET /api/v4/leads/{id}/notes"), 2);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_marker_read_finds_the_newest_task_of_a_busy_lead() {
    use kommo_client::common::EntityType;
    use kommo_client::tasks::TaskWrite;
    use kommo_loops_bridge::runtime::{BridgeConfig, KommoApi, KommoEntity};
    use kommo_loops_examples::demo::{Stack, StackOptions};
    use kommo_loops_sandbox::kommo::{self, NewLead};

    let rules = kommo_loops_bridge::Rules::from_path(root().join(demo::RULES)).unwrap();
    let stack = Stack::start_with(
        rules,
        BridgeConfig::default(),
        StackOptions::new()
            .workers(0)
            .kommo(kommo::Config::saas_onboarding().rate_limit(None)),
    )
    .await
    .unwrap();
    let client = kommo_client::Client::builder()
        .base_url(&stack.kommo.base_url())
        .long_lived_token(stack.kommo.token())
        .rate_limit(kommo_client::RateLimit::Off)
        .batch_size(250)
        .build()
        .unwrap();
    let busy = stack.kommo.seed_lead(NewLead::new("Busy")).unwrap().0;
    let quiet = stack.kommo.seed_lead(NewLead::new("Quiet")).unwrap().0;
    // Sixty open tasks, then the one a write whose answer was lost added, newest: more than
    // the 50 a marker read looks at, so only a newest-first read sees it.
    let due = 4_102_444_800;
    let older = (0..60)
        .map(|i| TaskWrite::new(format!("call {i}"), due).entity(EntityType::Leads, busy))
        .collect();
    client.tasks().add(older).await.unwrap();
    client
        .tasks()
        .add(vec![
            TaskWrite::new("follow up (ref kl-lost)", due).entity(EntityType::Leads, busy),
        ])
        .await
        .unwrap();

    let marker = |texts: &[String]| texts.iter().any(|t| t.contains("ref kl-lost"));
    let alone = client.open_tasks(KommoEntity::Lead(busy)).await.unwrap();
    assert!(marker(&alone), "one entity's read finds the newest task");
    let many = client
        .open_tasks_of(&[KommoEntity::Lead(busy), KommoEntity::Lead(quiet)])
        .await
        .unwrap();
    assert!(
        marker(&many[&KommoEntity::Lead(busy)]),
        "the read of many entities finds it too"
    );
    stack.stop().await;
}
