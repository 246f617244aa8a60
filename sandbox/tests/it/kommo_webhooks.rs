//! Outgoing Kommo webhooks, checked by a small local receiver with the client's parser.

use std::time::{Duration, Instant};

use kommo_client::common::{EntityType, TagRef};
use kommo_client::ids::{ContactId, LeadId, PipelineId, StatusId, TaskTypeId};
use kommo_client::leads::LeadWrite;
use kommo_client::notes::NewNote;
use kommo_client::tasks::TaskWrite;
use kommo_client::webhook_subscriptions::{Subscribe, WebhookSetting};
use kommo_client::webhooks::{EventKind, WebhookEntity, WebhookEvent};
use kommo_loops_sandbox::DeliveryOutcome;
use kommo_loops_sandbox::kommo::{
    CompanyUpdate, Config, ContactUpdate, NewCompany, NewContact, NewLead, NewTask, PipelineSeed,
    StatusSeed, WebhookPolicy, defaults, saas_onboarding as saas_ids,
};

use crate::kommo_support::{Receiver, client, kommo, saas};

fn kinds(events: &[WebhookEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind.clone()).collect()
}

#[tokio::test]
async fn scenario_actions_send_kommo_shaped_webhooks() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas().account_url("https://acme.kommo.com")).await;
    sandbox.subscribe_all(&receiver.url);

    let company = sandbox
        .create_company(NewCompany::new("Analytical Engines").email("office@engines.example"))
        .unwrap();
    let ada = sandbox
        .create_contact(NewContact {
            name: "Ada Lovelace".into(),
            emails: vec![("ada@example.com".into(), "WORK".into())],
            phones: vec![("+15550100".into(), "MOB".into())],
            company: Some(company),
            ..Default::default()
        })
        .unwrap();
    let lead = sandbox
        .create_lead(
            NewLead::new("Ada's trial")
                .status(saas_ids::PIPELINE_ID, saas_ids::TRIAL)
                .price(49.0)
                .contact(ada)
                .company(company)
                .field("PLAN", "pro")
                .field(saas_ids::TRIAL_DAYS_FIELD, 14)
                .tag("trial"),
        )
        .unwrap();
    sandbox.move_lead(lead, saas_ids::ACTIVATED).unwrap();
    sandbox
        .update_contact(ada, ContactUpdate::new().email("ada@newmail.example"))
        .unwrap();
    sandbox
        .update_company(company, CompanyUpdate::new().name("Engines Ltd"))
        .unwrap();
    sandbox.flush_webhooks().await;

    let hooks = receiver.hooks();
    assert_eq!(hooks.len(), 6, "one body per action");
    for hook in &hooks {
        assert_eq!(hook.header("user-agent"), "amoCRM-Webhooks/3.0");
        assert_eq!(
            hook.header("content-type"),
            "application/x-www-form-urlencoded"
        );
        let id = hook.header("x-amocrm-requestid");
        assert_eq!(id.len(), 36, "{id}");
        assert!(hook.body.starts_with("account%5B"), "account first");
        let payload = hook.payload();
        assert_eq!(payload.account.id, Some(defaults::ACCOUNT_ID));
        assert_eq!(
            payload.account.base_url.as_deref(),
            Some("https://acme.kommo.com")
        );
        assert_eq!(payload.events.len(), 1);
    }
    let payloads = receiver.payloads();

    // The company arrives under `contacts` with type=company.
    let added_company = &payloads[0].events[0];
    assert_eq!(added_company.kind, EventKind::CompanyAdded);
    let c = added_company.company().unwrap();
    assert!(c.is_company());
    assert_eq!(c.company_id(), Some(company));
    assert_eq!(c.emails(), vec!["office@engines.example"]);
    assert!(
        hooks[0]
            .body
            .contains("contacts%5Badd%5D%5B0%5D%5Btype%5D=company")
    );

    let added_contact = payloads[1].events[0].contact().unwrap();
    assert_eq!(payloads[1].events[0].kind, EventKind::ContactAdded);
    assert_eq!(added_contact.entity_type.as_deref(), Some("contact"));
    assert_eq!(added_contact.emails(), vec!["ada@example.com"]);
    assert_eq!(added_contact.phones(), vec!["+15550100"]);
    assert_eq!(added_contact.linked_company_id, Some(company));
    assert_eq!(added_contact.created_user_id, Some(defaults::UI_USER));
    let email = added_contact.custom_field_by_code("EMAIL").unwrap();
    assert!(
        email.values[0].enum_id.is_some(),
        "multitext values carry the option id"
    );

    let added_lead = payloads[2].events[0].lead().unwrap();
    assert_eq!(payloads[2].events[0].kind, EventKind::LeadAdded);
    assert_eq!(added_lead.id, Some(lead));
    assert_eq!(added_lead.status_id, Some(saas_ids::TRIAL));
    assert_eq!(added_lead.pipeline_id, Some(saas_ids::PIPELINE_ID));
    assert_eq!(added_lead.price, Some(49.0));
    assert_eq!(added_lead.tags[0].name.as_deref(), Some("trial"));
    let plan = added_lead.custom_field(saas_ids::PLAN_FIELD).unwrap();
    assert_eq!(plan.code.as_deref(), Some("PLAN"));
    assert_eq!(plan.first_value(), Some("pro"));
    assert_eq!(plan.values[0].enum_id, Some(saas_ids::PLAN_PRO));
    let days = added_lead.custom_field(saas_ids::TRIAL_DAYS_FIELD).unwrap();
    assert_eq!(days.name.as_deref(), Some("Trial days"));
    assert_eq!(days.first_value(), Some("14"));
    assert_eq!(added_lead.date_create, added_lead.created_at);
    assert_eq!(added_lead.account_id, Some(defaults::ACCOUNT_ID));

    let moved = payloads[3].events[0].lead().unwrap();
    assert_eq!(payloads[3].events[0].kind, EventKind::LeadStatusChanged);
    assert_eq!(moved.old_status_id, Some(saas_ids::TRIAL));
    assert_eq!(moved.status_id, Some(saas_ids::ACTIVATED));
    assert_eq!(moved.pipeline_id, Some(saas_ids::PIPELINE_ID));
    assert_eq!(moved.old_pipeline_id, None, "same pipeline");
    assert_eq!(moved.modified_user_id, Some(defaults::UI_USER));
    assert!(moved.updated_at.unwrap() > added_lead.updated_at.unwrap());

    let changed = &payloads[4].events[0];
    assert_eq!(changed.kind, EventKind::ContactUpdated);
    assert_eq!(
        changed.contact().unwrap().emails(),
        vec!["ada@newmail.example"]
    );

    let renamed = &payloads[5].events[0];
    assert_eq!(renamed.kind, EventKind::CompanyUpdated);
    assert_eq!(
        renamed.company().unwrap().name.as_deref(),
        Some("Engines Ltd")
    );
    assert_eq!(renamed.company().unwrap().linked_leads_id, vec![lead]);

    // The sandbox recorded the same deliveries.
    let deliveries = sandbox.webhook_deliveries();
    assert_eq!(deliveries.len(), 6);
    assert!(
        deliveries
            .iter()
            .all(|d| d.acknowledged() && d.attempt == 1)
    );
    assert_eq!(deliveries[3].events, vec!["leads[status]"]);
    assert_eq!(deliveries[3].body, hooks[3].body);
    assert_eq!(
        deliveries[3].request_id,
        hooks[3].header("x-amocrm-requestid")
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_pipeline_change_carries_the_old_pipeline() {
    let receiver = Receiver::start().await;
    let other = PipelineSeed::new(PipelineId(7002), "Partners")
        .status(StatusSeed::new(StatusId(5100), "Referral"));
    let sandbox = kommo(saas().pipeline(other)).await;
    sandbox.subscribe(&receiver.url, [WebhookSetting::StatusLead]);
    let lead = sandbox.seed_lead(NewLead::new("Moving")).unwrap();
    assert_eq!(
        sandbox.lead(lead).unwrap().status_id,
        saas_ids::TRIAL,
        "first regular stage"
    );
    sandbox
        .move_lead_to(lead, PipelineId(7002), StatusId(5100))
        .unwrap();
    // Won keeps the lead in its pipeline.
    sandbox.move_lead(lead, StatusId::WON).unwrap();
    sandbox.flush_webhooks().await;
    let payloads = receiver.payloads();
    let first = payloads[0].events[0].lead().unwrap();
    assert_eq!(first.old_pipeline_id, Some(saas_ids::PIPELINE_ID));
    assert_eq!(first.pipeline_id, Some(PipelineId(7002)));
    let won = payloads[1].events[0].lead().unwrap();
    assert_eq!(won.status_id, Some(StatusId::WON));
    assert_eq!(won.pipeline_id, Some(PipelineId(7002)));
    assert_eq!(won.old_pipeline_id, None);
    assert!(sandbox.lead(lead).unwrap().closed_at.is_some());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn api_writes_echo_the_webhooks_kommo_sends() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas()).await;
    sandbox.subscribe_all(&receiver.url);
    let client = client(&sandbox);
    let contact = sandbox.seed_contact(NewContact::new("Ada")).unwrap();
    let lead = sandbox
        .seed_lead(NewLead::new("Trial").contact(contact).tag("keep"))
        .unwrap();

    client
        .notes(EntityType::Leads)
        .add(vec![NewNote::common(lead.0, "Welcome email sent")])
        .await
        .unwrap();
    client
        .notes(EntityType::Contacts)
        .add(vec![NewNote::common(contact.0, "Opened the email")])
        .await
        .unwrap();
    client
        .tags()
        .add_to_lead(lead, vec![TagRef::name("loops:welcomed")])
        .await
        .unwrap();
    let due = sandbox.now() + 3600;
    client
        .tasks()
        .add(vec![
            TaskWrite::new("Follow up", due)
                .entity(EntityType::Leads, lead.0)
                .task_type(TaskTypeId::FOLLOW_UP),
        ])
        .await
        .unwrap();
    let added = client
        .leads()
        .add(vec![LeadWrite::new().name("From the bridge")])
        .await
        .unwrap();
    sandbox.flush_webhooks().await;

    let payloads = receiver.payloads();
    assert_eq!(payloads.len(), 5);
    let note = payloads[0].events[0].note().unwrap();
    assert_eq!(payloads[0].events[0].kind, EventKind::LeadNoteAdded);
    assert_eq!(note.text.as_deref(), Some("Welcome email sent"));
    assert_eq!(note.note_type, Some(4));
    assert_eq!(note.element_type, Some(2));
    assert_eq!(note.element_id, Some(lead.0));
    assert_eq!(
        note.created_by,
        Some(defaults::API_USER),
        "the bridge can spot its own note"
    );
    assert_eq!(note.date_create.as_deref().map(str::len), Some(19));
    let note_id = sandbox.notes_for(EntityType::Leads, lead.0)[0].id;
    assert_eq!(note.id, Some(note_id));

    let contact_note = &payloads[1].events[0];
    assert_eq!(contact_note.kind, EventKind::ContactNoteAdded);
    assert_eq!(
        contact_note.note().unwrap().parent_type.as_deref(),
        Some("contact")
    );
    assert_eq!(contact_note.note().unwrap().element_type, Some(1));

    let tagged = &payloads[2].events[0];
    assert_eq!(tagged.kind, EventKind::LeadUpdated);
    let tags: Vec<_> = tagged
        .lead()
        .unwrap()
        .tags
        .iter()
        .map(|t| t.name.clone().unwrap())
        .collect();
    assert_eq!(tags, vec!["keep", "loops:welcomed"]);
    assert_eq!(
        tagged.lead().unwrap().modified_user_id,
        Some(defaults::API_USER)
    );

    let task = &payloads[3].events[0];
    assert_eq!(task.kind, EventKind::TaskAdded);
    let task = task.task().unwrap();
    assert_eq!(task.element_id, Some(lead.0));
    assert_eq!(task.element_type, Some(2));
    assert_eq!(task.complete_before, Some(due));
    assert_eq!(task.is_completed(), Some(false));
    assert_eq!(task.text.as_deref(), Some("Follow up"));

    assert_eq!(payloads[4].events[0].kind, EventKind::LeadAdded);
    assert_eq!(payloads[4].events[0].entity_id(), Some(added[0].id));

    // A write that changes nothing sends nothing.
    client
        .tags()
        .add_to_lead(lead, vec![TagRef::name("keep")])
        .await
        .unwrap();
    sandbox.flush_webhooks().await;
    assert_eq!(receiver.hooks().len(), 5);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn subscription_settings_filter_events() {
    let statuses = Receiver::start().await;
    let adds = Receiver::start().await;
    let sandbox = kommo(saas()).await;
    sandbox.subscribe(&statuses.url, [WebhookSetting::StatusLead]);
    // Subscribing through the API works the same.
    client(&sandbox)
        .webhook_subscriptions()
        .subscribe(&Subscribe::new(
            adds.url.clone(),
            vec![
                WebhookSetting::AddLead,
                WebhookSetting::NoteLead,
                WebhookSetting::AddTask,
            ],
        ))
        .await
        .unwrap();

    let lead = sandbox.create_lead(NewLead::new("Filtered")).unwrap();
    sandbox.move_lead(lead, saas_ids::NURTURE).unwrap();
    sandbox
        .add_note(EntityType::Leads, lead.0, "A call")
        .unwrap();
    let task = sandbox
        .add_task(NewTask::new("Call", sandbox.now() + 60).for_lead(lead))
        .unwrap();
    sandbox.complete_task(task, "done").unwrap();
    sandbox
        .update_lead(
            lead,
            kommo_loops_sandbox::kommo::LeadUpdate::new().price(5.0),
        )
        .unwrap();
    sandbox.flush_webhooks().await;

    let got: Vec<EventKind> = statuses
        .payloads()
        .iter()
        .flat_map(|p| kinds(&p.events))
        .collect();
    assert_eq!(got, vec![EventKind::LeadStatusChanged]);
    let got: Vec<EventKind> = adds
        .payloads()
        .iter()
        .flat_map(|p| kinds(&p.events))
        .collect();
    assert_eq!(
        got,
        vec![
            EventKind::LeadAdded,
            EventKind::LeadNoteAdded,
            EventKind::TaskAdded
        ]
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn redelivery_multi_entity_bodies_and_raw_bodies() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas()).await;
    sandbox.subscribe(&receiver.url, [WebhookSetting::AddLead]);
    let lead = sandbox.create_lead(NewLead::new("Once")).unwrap();
    sandbox.flush_webhooks().await;
    let original = sandbox.webhook_deliveries()[0].clone();

    let again = sandbox.redeliver_webhook(original.id).await.unwrap();
    assert!(again.redelivery);
    assert!(again.acknowledged());
    let hooks = receiver.hooks();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].body, hooks[1].body, "byte for byte");
    assert_eq!(
        hooks[0].header("x-amocrm-requestid"),
        hooks[1].header("x-amocrm-requestid")
    );
    assert!(sandbox.redeliver_webhook(999).await.is_err());

    // Several entities in one body.
    let other = sandbox.seed_lead(NewLead::new("Twice")).unwrap();
    let contact = sandbox
        .seed_contact(NewContact::new("Ada").email("a@b.co"))
        .unwrap();
    let payload = sandbox
        .webhook_payload()
        .with_event(
            EventKind::LeadAdded,
            WebhookEntity::Lead(sandbox.webhook_lead(lead).unwrap()),
        )
        .with_event(
            EventKind::LeadAdded,
            WebhookEntity::Lead(sandbox.webhook_lead(other).unwrap()),
        )
        .with_event(
            EventKind::ContactUpdated,
            WebhookEntity::Contact(sandbox.webhook_contact(contact).unwrap()),
        );
    let delivery = sandbox.send_webhook(&receiver.url, &payload).await;
    assert_eq!(
        delivery.events,
        vec!["contacts[update]", "leads[add]", "leads[add]"]
    );
    let parsed = receiver.hooks()[2].payload();
    assert_eq!(parsed.events.len(), 3);
    assert!(
        receiver.hooks()[2]
            .body
            .contains("leads%5Badd%5D%5B1%5D%5Bid%5D")
    );
    let ids: Vec<Option<LeadId>> = parsed
        .events
        .iter()
        .filter_map(|e| e.lead().map(|l| l.id))
        .collect();
    assert_eq!(ids, vec![Some(lead), Some(other)]);
    assert_eq!(
        parsed.events[0].contact().unwrap().contact_id(),
        Some(contact)
    );

    // A raw body goes out as given (a receiver's parser must cope).
    let raw = sandbox.send_raw_webhook(&receiver.url, "leads%5Badd").await;
    assert_eq!(raw.outcome, DeliveryOutcome::Status(200));
    assert_eq!(receiver.hooks()[3].body, "leads%5Badd");
    assert!(raw.parse().is_err());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn failures_are_recorded_retried_when_configured_and_time_out() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas().webhook_retries(3, Duration::from_millis(10))).await;
    sandbox.subscribe(&receiver.url, [WebhookSetting::AddContact]);
    receiver.fail_first(2);
    sandbox.create_contact(NewContact::new("Retried")).unwrap();
    sandbox.flush_webhooks().await;
    let deliveries = sandbox.webhook_deliveries();
    let attempts: Vec<(u32, Option<u16>)> =
        deliveries.iter().map(|d| (d.attempt, d.status())).collect();
    assert_eq!(
        attempts,
        vec![(1, Some(500)), (2, Some(500)), (3, Some(200))]
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.request_id == deliveries[0].request_id)
    );

    // Nobody listening: a transport error, recorded; no retries by default.
    let nobody = kommo(saas()).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        drop(listener);
        url
    };
    nobody.subscribe_all(&closed);
    nobody.create_contact(NewContact::new("Lost")).unwrap();
    nobody.flush_webhooks().await;
    let lost = nobody.webhook_deliveries();
    assert_eq!(lost.len(), 1);
    assert!(matches!(
        lost[0].outcome,
        DeliveryOutcome::TransportError(_)
    ));
    assert!(!lost[0].acknowledged());

    // A receiver slower than the timeout failed too (Kommo allows 2 s).
    let slow_receiver = Receiver::start().await;
    slow_receiver.delay(Duration::from_millis(400));
    let strict = kommo(saas().webhook_timeout(Duration::from_millis(100))).await;
    strict.subscribe_all(&slow_receiver.url);
    strict.create_contact(NewContact::new("Slow")).unwrap();
    strict.flush_webhooks().await;
    let timed_out = strict.webhook_deliveries();
    let DeliveryOutcome::TransportError(why) = &timed_out[0].outcome else {
        panic!("expected a timeout, got {:?}", timed_out[0].outcome);
    };
    assert!(why.contains("no answer within"), "{why}");
    strict.shutdown().await;
    nobody.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_subscription_failing_too_often_is_disabled_until_saved_again() {
    let receiver = Receiver::start().await;
    receiver.answer_with(410);
    let mut policy = WebhookPolicy::default();
    policy.disable_after = Some(2);
    let sandbox = kommo(saas().webhook_policy(policy)).await;
    sandbox.subscribe(&receiver.url, [WebhookSetting::AddContact]);
    for i in 0..4 {
        sandbox
            .create_contact(NewContact::new(format!("C{i}")))
            .unwrap();
        sandbox.flush_webhooks().await;
    }
    let deliveries = sandbox.webhook_deliveries();
    assert_eq!(deliveries.len(), 3, "the fourth was not sent");
    assert!(
        deliveries
            .iter()
            .all(|d| d.status() == Some(410) && !d.acknowledged())
    );
    assert!(sandbox.subscriptions()[0].disabled);
    // Saving the hook again re-enables it, as in Kommo's settings.
    receiver.answer_with(200);
    let again = sandbox.subscribe(&receiver.url, [WebhookSetting::AddContact]);
    assert!(!again.disabled);
    sandbox.create_contact(NewContact::new("C4")).unwrap();
    sandbox.flush_webhooks().await;
    assert!(sandbox.webhook_deliveries()[3].acknowledged());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn webhooks_are_asynchronous_and_in_order_per_entity() {
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_millis(60));
    let sandbox = kommo(saas()).await;
    sandbox.subscribe(&receiver.url, [WebhookSetting::StatusLead]);
    let lead = sandbox.seed_lead(NewLead::new("Busy")).unwrap();
    let path = [
        saas_ids::ACTIVATED,
        saas_ids::UPGRADE_OFFERED,
        saas_ids::NURTURE,
        saas_ids::TRIAL,
        StatusId::WON,
    ];
    let started = Instant::now();
    for status in path {
        sandbox.move_lead(lead, status).unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_millis(60),
        "actions do not wait for the receiver"
    );
    assert!(sandbox.pending_webhooks() > 0);
    sandbox.flush_webhooks().await;
    assert_eq!(sandbox.pending_webhooks(), 0);

    let leads: Vec<_> = receiver
        .payloads()
        .into_iter()
        .map(|p| p.events[0].lead().unwrap().clone())
        .collect();
    let statuses: Vec<StatusId> = leads.iter().map(|l| l.status_id.unwrap()).collect();
    assert_eq!(statuses, path);
    let mut previous = saas_ids::TRIAL;
    for lead in &leads {
        assert_eq!(lead.old_status_id, Some(previous));
        previous = lead.status_id.unwrap();
    }
    let stamps: Vec<i64> = leads.iter().map(|l| l.updated_at.unwrap()).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn deleting_a_lead_and_responsible_changes() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(Config::saas_onboarding().rate_limit(None)).await;
    sandbox.subscribe(
        &receiver.url,
        [
            WebhookSetting::DeleteLead,
            WebhookSetting::ResponsibleLead,
            WebhookSetting::ResponsibleContact,
        ],
    );
    let lead = sandbox.seed_lead(NewLead::new("Gone")).unwrap();
    let contact: ContactId = sandbox.seed_contact(NewContact::new("Ada")).unwrap();
    sandbox
        .update_lead(
            lead,
            kommo_loops_sandbox::kommo::LeadUpdate::new().responsible(defaults::API_USER),
        )
        .unwrap();
    sandbox
        .update_contact(
            contact,
            ContactUpdate::new().responsible(defaults::API_USER),
        )
        .unwrap();
    sandbox.delete_lead(lead).unwrap();
    sandbox.flush_webhooks().await;
    let payloads = receiver.payloads();
    let responsible = payloads[0].events[0].lead().unwrap();
    assert_eq!(
        payloads[0].events[0].kind,
        EventKind::LeadResponsibleChanged
    );
    assert_eq!(responsible.old_responsible_user_id, Some(defaults::UI_USER));
    let contact_change = payloads[1].events[0].contact().unwrap();
    assert_eq!(
        contact_change.old_responsible_user_id,
        Some(defaults::UI_USER)
    );
    let deleted = &payloads[2].events[0];
    assert_eq!(deleted.kind, EventKind::LeadDeleted);
    assert_eq!(deleted.lead().unwrap().status_id, Some(saas_ids::TRIAL));
    assert!(sandbox.lead(lead).is_none());
    sandbox.shutdown().await;
}
