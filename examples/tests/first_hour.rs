//! A new user's first hour, against the sandbox fakes: subscribing Kommo with what the rules
//! return delivers their events; a Loops team without the rules' contact properties fails the
//! preflight naming each one, `fix` creates them, and the onboarding then leaves no dead
//! letter; stage names resolve (or say why not); the server runs the preflight at startup and
//! `/healthz` shows it and the dead letters.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use futures_util::TryStreamExt;
use kommo_client::pagination::ListQuery;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSetting};
use kommo_loops_bridge::Rules;
use kommo_loops_bridge::runtime::preflight::{self, Status};
use kommo_loops_bridge::runtime::{Bridge, BuildError};
use kommo_loops_examples::config::ServerConfig;
use kommo_loops_examples::demo::{Stack, eventually};
use kommo_loops_examples::{check, server};
use kommo_loops_sandbox::kommo::{self, PipelineSeed, StatusSeed, saas_onboarding};
use kommo_loops_sandbox::loops;

/// The onboarding rules' custom contact properties, as the preflight names them.
const PROPERTIES: [&str; 4] = ["companyName", "kommoPipeline", "kommoStage", "plan"];

/// The onboarding stack on a Loops team where none of the rules' custom properties exist yet.
async fn new_loops_team() -> Stack {
    Stack::start_with(
        onboarding(),
        fast_bridge(),
        fast_options(loops::Config::default()).without_loops_properties(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_with_what_the_rules_return_delivers_their_events() {
    let rules = onboarding();
    // The rules' own event names are not Kommo settings, and cannot be taken for them.
    for event in rules.kommo_events() {
        assert!(event.parse::<WebhookSetting>().is_err(), "{event}");
    }
    let stack = Stack::start_with(
        rules.clone(),
        fast_bridge(),
        fast_options(loops::Config::default()),
    )
    .await
    .unwrap();
    // Replace the stack's subscribe-to-everything with exactly what the rules need, through
    // the API as a user would.
    let url = stack.kommo_webhook_url();
    let subscriptions = stack.kommo_client().webhook_subscriptions();
    subscriptions.unsubscribe(&url).await.unwrap();
    let settings = rules.kommo_webhook_settings();
    subscriptions
        .subscribe(&Subscribe::new(url.as_str(), settings.clone()))
        .await
        .unwrap();
    let listed: Vec<_> = subscriptions
        .list(ListQuery::new().filter("destination", url.as_str()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].settings, settings);
    assert!(settings.contains(&WebhookSetting::StatusLead));

    let customers = new_customers(&stack, "subscribed", 1);
    settle(&stack).await;
    stack
        .kommo
        .move_lead(customers[0].lead, saas_onboarding::TRIAL)
        .unwrap();
    settle(&stack).await;

    let deliveries = stack.kommo.webhook_deliveries();
    assert!(
        deliveries
            .iter()
            .any(|d| d.events.contains(&"leads[status]".to_owned()) && d.acknowledged()),
        "{deliveries:#?}"
    );
    let events: Vec<String> = stack
        .loops
        .events_for(&customers[0].email)
        .into_iter()
        .map(|e| e.event_name)
        .collect();
    assert_eq!(events, ["lead_created", "trial_started"]);
    assert_eq!(dead_letters(&stack).await, 0);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preflight_names_each_missing_property_fix_creates_them_and_nothing_dead_letters() {
    let stack = new_loops_team().await;
    let (loops_client, kommo_client) = (stack.loops_client(), stack.kommo_client());
    let options = stack.preflight_options();
    let before = (
        stack.kommo.request_stats().total,
        stack.loops.request_stats().total,
    );
    let report = preflight::check(&onboarding(), &loops_client, &kommo_client, &options).await;
    // What it costs: the account, the pipelines, the lead fields and the subscriptions in
    // Kommo; the key, the properties and the transactional emails in Loops.
    let cost = (
        stack.kommo.request_stats().total - before.0,
        stack.loops.request_stats().total - before.1,
    );
    assert_eq!(cost, (4, 3), "requests to Kommo and to Loops");
    let failed: Vec<&str> = report
        .with_status(Status::Failed)
        .map(|c| c.subject.as_str())
        .collect();
    let expected: Vec<String> = PROPERTIES.iter().map(|p| format!("property:{p}")).collect();
    assert_eq!(failed, expected, "{report}");
    assert!(!report.passed());
    for property in PROPERTIES {
        assert!(
            report
                .to_string()
                .contains(&format!("contact property {property} does not exist")),
            "{report}"
        );
    }

    let fixed = preflight::fix(&loops_client, &report).await;
    assert_eq!(fixed.len(), PROPERTIES.len());
    assert!(fixed.iter().all(|c| c.status == Status::Ok), "{fixed:?}");
    let report = preflight::check(&onboarding(), &loops_client, &kommo_client, &options).await;
    assert!(report.passed(), "{report}");

    // The onboarding scenario: new leads, a trial for the paid plan, won deals.
    let customers = new_customers(&stack, "preflight", 3);
    settle(&stack).await;
    for c in &customers {
        stack
            .kommo
            .move_lead(c.lead, saas_onboarding::TRIAL)
            .unwrap();
    }
    settle(&stack).await;
    win(&stack, &customers);
    settle(&stack).await;
    assert_eq!(dead_letters(&stack).await, 0);
    for c in &customers {
        let contact = stack.loops.contact(&c.email).expect("upserted");
        assert_eq!(contact.user_group, "customers");
        let property = |name: &str| {
            contact
                .properties
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        assert_eq!(property("plan").as_deref(), Some("pro"), "{contact:?}");
        assert_eq!(property("kommoPipeline").as_deref(), Some("SaaS sales"));
        assert!(property("companyName").is_some_and(|n| n.starts_with("Company preflight")));
    }
    assert_onboarding_sent_once(&stack, &customers, true);
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_property_dead_letters_and_healthz_says_why() {
    let stack = new_loops_team().await;
    let customers = new_customers(&stack, "missing", 1);
    settle(&stack).await;
    assert!(dead_letters(&stack).await > 0);
    // The events still went out: the event that carried the upsert was refused as one call,
    // then sent alone; only the contact's properties are dead letters.
    assert_eq!(stack.loops.events_for(&customers[0].email).len(), 1);

    let health: serde_json::Value = reqwest::get(format!("{}/healthz", stack.server.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "warning", "{health}");
    let dead = &health["deadLetters"];
    assert!(dead["count"].as_u64().unwrap() > 0, "{health}");
    let reason = dead["latest"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("Contact property") && reason.contains("does not exist"),
        "{reason}"
    );
    assert!(
        dead["latest"]["job"]
            .as_str()
            .unwrap()
            .starts_with("loops.send_event"),
        "{health}"
    );
    assert!(
        !reason.contains(&customers[0].email),
        "emails are masked: {reason}"
    );
    stack.stop().await;
}

fn named(when: &str) -> Rules {
    Rules::from_toml_str(
        "named.toml",
        &format!(
            "[[kommo]]\nname = \"by name\"\nwhen = {when}\n\
             do = [ {{ send_event = {{ event = \"moved\" }} }} ]\n"
        ),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_names_resolve_against_the_account_or_say_why_not() {
    let partners = PipelineSeed::new(kommo_client::ids::PipelineId(7002), "Partners")
        .status(StatusSeed::new(kommo_client::ids::StatusId(6000), "Incoming").incoming())
        .status(StatusSeed::new(kommo_client::ids::StatusId(6001), "Trial"));
    let fakes = kommo_loops_examples::demo::fakes(
        loops::Config::default(),
        kommo::Config::saas_onboarding().pipeline(partners),
    )
    .await
    .unwrap();
    let kommo_client = kommo_client::Client::builder()
        .base_url(&fakes.1.base_url())
        .long_lived_token(fakes.1.token())
        .build()
        .unwrap();

    let ambiguous = preflight::resolve_names(
        &named(r#"{ event = "lead_status", to = "Trial" }"#),
        &kommo_client,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        ambiguous.contains(r#"`when.to`: stage "Trial" is in 2 pipelines: "SaaS sales" (7001, stage 5001), "Partners" (7002, stage 6001)"#),
        "{ambiguous}"
    );
    let unknown = preflight::resolve_names(
        &named(r#"{ event = "lead_status", to = "Demo booked" }"#),
        &kommo_client,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        unknown.starts_with(r#"named.toml: [[kommo]] "by name": `when.to`: unknown stage "Demo booked" (stages: "SaaS sales": Incoming, Trial, Activated"#),
        "{unknown}"
    );

    // Unresolved rules cannot run a bridge.
    let rules = named(r#"{ event = "lead_status", pipeline = "SaaS sales", to = "trial" }"#);
    let loops_client = loops_client::Client::new("unused").unwrap();
    let refused = Bridge::builder(
        rules.clone(),
        std::sync::Arc::new(loops_client),
        std::sync::Arc::new(kommo_client.clone()),
    )
    .build()
    .unwrap_err();
    assert_eq!(refused, BuildError::UnresolvedNames);

    // Resolved, they run: the stage moved to by name sends the event.
    let resolved = preflight::resolve_names(&rules, &kommo_client)
        .await
        .unwrap();
    drop(fakes);
    let stack = Stack::start_with(
        resolved,
        fast_bridge(),
        fast_options(loops::Config::default()),
    )
    .await
    .unwrap();
    let customers = new_customers(&stack, "named", 1);
    settle(&stack).await;
    stack
        .kommo
        .move_lead(customers[0].lead, saas_onboarding::TRIAL)
        .unwrap();
    settle(&stack).await;
    let events = stack.loops.events_for(&customers[0].email);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event_name, "moved");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_command_fails_naming_the_properties_and_fix_makes_it_pass() {
    let rules = root()
        .join(kommo_loops_examples::demo::RULES)
        .display()
        .to_string();
    let run = |extra: &'static [&'static str]| {
        let rules = rules.clone();
        async move {
            let mut args = vec!["--rules".to_owned(), rules, "--json".to_owned()];
            args.extend(extra.iter().map(|s| s.to_string()));
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let code = check::main(args, &|_| None, &mut out, &mut err).await;
            let json: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
            (code, json, String::from_utf8(err).unwrap())
        }
    };
    let (code, json, err) = run(&[]).await;
    assert_eq!(code, check::FAILED, "{err}");
    assert_eq!(json["ok"], false);
    let failed: Vec<&str> = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        PROPERTIES.map(|p| format!("property:{p}")),
        "{json}"
    );

    let (code, json, err) = run(&["--fix"]).await;
    assert_eq!(code, check::PASSED, "{err}\n{json}");
    assert_eq!(json["fixed"].as_array().unwrap().len(), PROPERTIES.len());
    assert_eq!(json["ok"], true);

    let (code, _, err) = run(&["--frobnicate"]).await;
    assert_eq!(code, check::CANNOT_RUN);
    assert!(err.contains("unknown argument"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_the_preflight_at_startup_and_healthz_reports_it() {
    let (loops, kommo) = kommo_loops_examples::demo::fakes_with(
        loops::Config::default(),
        kommo::Config::saas_onboarding(),
        false,
    )
    .await
    .unwrap();
    let rules = root().join(kommo_loops_examples::demo::RULES);
    let env: HashMap<&str, String> = [
        ("RULES_FILE", rules.display().to_string()),
        ("KOMMO_BASE_URL", kommo.base_url()),
        ("KOMMO_TOKEN", kommo.token().to_owned()),
        ("KOMMO_WEBHOOK_TOKEN", "0123456789abcdef0123".into()),
        ("LOOPS_API_KEY", loops.api_key().to_owned()),
        ("LOOPS_BASE_URL", loops.base_url()),
        ("OUTBOX", "memory".into()),
        ("BIND_ADDR", "127.0.0.1:0".into()),
    ]
    .into_iter()
    .collect();
    let config = ServerConfig::from_env(|k| env.get(k).cloned()).unwrap();
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        server::run(
            &config,
            |addr| {
                let _ = addr_tx.send(addr);
            },
            async {
                let _ = stop_rx.await;
            },
        )
        .await
    });
    let addr = addr_rx.await.unwrap();
    let health = || async move {
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    assert!(
        eventually(Duration::from_secs(30), || async {
            !health().await["preflight"].is_null()
        })
        .await,
        "the preflight did not finish"
    );
    let body = health().await;
    assert_eq!(body["status"], "warning", "{body}");
    let preflight = &body["preflight"];
    assert_eq!(preflight["ok"], false, "{body}");
    let failed: Vec<&str> = preflight["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // The fake is subscribed to nothing, and has none of the properties; no secret is set.
    assert!(
        failed
            .iter()
            .any(|l| l.contains("no webhook subscription posts to the bridge")),
        "{failed:#?}"
    );
    for property in PROPERTIES {
        assert!(
            failed
                .iter()
                .any(|l| l.contains(&format!("contact property {property} does not exist"))),
            "{failed:#?}"
        );
    }
    assert!(
        failed
            .iter()
            .any(|l| l.contains("no signing secret is configured")),
        "{failed:#?}"
    );
    assert!(
        !body.to_string().contains("0123456789abcdef0123"),
        "the token is a secret"
    );
    assert_eq!(body["deadLetters"]["count"], 0);
    assert!(body["loopsWebhook"]["lastVerifiedDelivery"].is_null());
    let _ = stop_tx.send(());
    running.await.unwrap().unwrap();
}
