//! The events log: every change appends what Kommo would log, the log agrees with the
//! webhooks sent for the same changes, and `GET /api/v4/events` filters it as Kommo does.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use kommo_client::common::EntityType;
use kommo_client::events::{Event, EventType, EventsQuery, ValueFilter};
use kommo_client::ids::{LeadId, UserId};
use kommo_client::leads::LeadWrite;
use kommo_client::links::EntityLink;
use kommo_client::notes::NewNote;
use kommo_client::tasks::TaskWrite;
use kommo_client::webhooks::{EventKind, WebhookEvent};
use kommo_loops_sandbox::kommo::{
    FieldSet, LeadUpdate, NewCompany, NewContact, NewLead, NewTask, saas_onboarding as ids,
};

use crate::kommo_support::{Receiver, client, kommo, saas};

/// The class of change a webhook or a logged event reports, for matching the two.
fn class_of_event(e: &Event) -> &'static str {
    match &e.event_type {
        EventType::LeadAdded | EventType::ContactAdded | EventType::CompanyAdded => "add",
        EventType::TaskAdded => "add",
        EventType::LeadStatusChanged => "status",
        EventType::LeadDeleted => "delete",
        EventType::EntityResponsibleChanged => "responsible",
        t if t.as_str().ends_with("_note_added")
            || matches!(t, EventType::IncomingCall | EventType::OutgoingCall) =>
        {
            "note"
        }
        _ => "update",
    }
}

/// `(class, entity, id)` of a webhook event.
fn class_of_hook(e: &WebhookEvent) -> Option<(&'static str, &'static str, u64)> {
    let id = e.entity_id()?;
    Some(match e.kind {
        EventKind::LeadAdded => ("add", "lead", id),
        EventKind::LeadStatusChanged => ("status", "lead", id),
        EventKind::LeadDeleted => ("delete", "lead", id),
        EventKind::LeadResponsibleChanged => ("responsible", "lead", id),
        EventKind::LeadUpdated => ("update", "lead", id),
        EventKind::ContactAdded => ("add", "contact", id),
        EventKind::ContactUpdated => ("update", "contact", id),
        EventKind::CompanyAdded => ("add", "company", id),
        EventKind::CompanyUpdated => ("update", "company", id),
        EventKind::TaskAdded => ("add", "task", id),
        EventKind::TaskUpdated => ("update", "task", id),
        EventKind::TaskResponsibleChanged => ("responsible", "task", id),
        EventKind::LeadNoteAdded | EventKind::ContactNoteAdded | EventKind::CompanyNoteAdded => {
            let note = e.note()?;
            let entity = match e.kind {
                EventKind::LeadNoteAdded => "lead",
                EventKind::ContactNoteAdded => "contact",
                _ => "company",
            };
            ("note", entity, note.element_id?)
        }
        _ => return None,
    })
}

#[tokio::test]
async fn the_events_log_agrees_with_the_webhooks() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas()).await;
    sandbox.subscribe_all(&receiver.url);
    let api = client(&sandbox);

    // Changes through the scenario API (a person in the UI)...
    let company = sandbox.create_company(NewCompany::new("Engines")).unwrap();
    let ada = sandbox
        .create_contact(NewContact::new("Ada").email("ada@example.com"))
        .unwrap();
    let lead = sandbox
        .create_lead(
            NewLead::new("Ada's trial")
                .status(ids::PIPELINE_ID, ids::TRIAL)
                .contact(ada),
        )
        .unwrap();
    sandbox.move_lead(lead, ids::ACTIVATED).unwrap();
    sandbox
        .update_lead(
            lead,
            LeadUpdate {
                fields: vec![FieldSet::new("PLAN", "team")],
                add_tags: vec!["vip".into()],
                ..LeadUpdate::new()
            },
        )
        .unwrap();
    // ...and through the API (the code under test).
    api.leads()
        .update(vec![
            LeadWrite::update(lead)
                .name("Ada's upgrade")
                .price(99.0)
                .responsible(kommo_loops_sandbox::kommo::defaults::UI_USER),
        ])
        .await
        .unwrap();
    api.links()
        .link(
            EntityType::Leads,
            lead.0,
            vec![EntityLink::company(company)],
        )
        .await
        .unwrap();
    api.notes(EntityType::Leads)
        .add(vec![NewNote::common(lead.0, "Called")])
        .await
        .unwrap();
    let task = api
        .tasks()
        .add(vec![
            TaskWrite::new("Follow up", sandbox.now() + 3600).entity(EntityType::Leads, lead.0),
        ])
        .await
        .unwrap()[0]
        .id;
    api.tasks()
        .update(vec![
            TaskWrite::update(kommo_client::ids::TaskId(task)).complete("Done"),
        ])
        .await
        .unwrap();
    sandbox
        .add_task(NewTask::new("Demo", sandbox.now() + 7200).for_lead(lead))
        .unwrap();
    let other = sandbox
        .create_lead(NewLead::new("Gone").status(ids::PIPELINE_ID, ids::TRIAL))
        .unwrap();
    sandbox.delete_lead(other).unwrap();
    sandbox.flush_webhooks().await;

    let log: Vec<Event> = api
        .events()
        .list(EventsQuery::new().limit(100))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(log.len(), sandbox.events_log().len());
    let logged: BTreeSet<(&str, String, u64)> = log
        .iter()
        .map(|e| {
            (
                class_of_event(e),
                e.entity_type.as_ref().unwrap().as_str().to_owned(),
                e.entity_id.unwrap(),
            )
        })
        .collect();
    let hooks: Vec<WebhookEvent> = receiver
        .payloads()
        .into_iter()
        .flat_map(|p| p.events)
        .collect();
    let hooked: BTreeSet<(&str, String, u64)> = hooks
        .iter()
        .filter_map(class_of_hook)
        .map(|(c, e, id)| (c, e.to_owned(), id))
        .collect();
    assert_eq!(
        logged, hooked,
        "the log and the webhooks report the same changes"
    );

    // The values agree too.
    for hook in &hooks {
        let Some(w) = hook.lead() else { continue };
        let of_lead = |t: EventType| {
            log.iter()
                .filter(move |e| e.event_type == t && e.entity_id == w.id.map(|i| i.0))
        };
        match hook.kind {
            EventKind::LeadStatusChanged => {
                let e = of_lead(EventType::LeadStatusChanged)
                    .find(|e| e.status_after().map(|(_, s)| s) == w.status_id)
                    .expect("a logged move for each leads[status]");
                assert_eq!(e.status_before().map(|(_, s)| s), w.old_status_id);
                assert_eq!(e.created_at, w.updated_at.or(w.last_modified));
            }
            EventKind::LeadResponsibleChanged => {
                let e = of_lead(EventType::EntityResponsibleChanged).next().unwrap();
                assert_eq!(e.responsible_before(), w.old_responsible_user_id);
                assert_eq!(e.responsible_after(), w.responsible_user_id);
            }
            EventKind::LeadAdded => {
                let e = of_lead(EventType::LeadAdded).next().unwrap();
                assert_eq!(e.status_after().map(|(_, s)| s), w.status_id);
                assert_eq!(e.created_by, w.created_user_id);
            }
            _ => {}
        }
    }
    // Who did what: the UI user moved the lead, the integration renamed it.
    let by = |t: EventType| log.iter().find(|e| e.event_type == t).unwrap().created_by;
    assert_eq!(
        by(EventType::LeadStatusChanged),
        Some(kommo_loops_sandbox::kommo::defaults::UI_USER)
    );
    assert_eq!(
        by(EventType::NameFieldChanged),
        Some(kommo_loops_sandbox::kommo::defaults::API_USER)
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_events_list_filters_and_pages_as_kommo_does() {
    let sandbox = kommo(saas()).await;
    let api = client(&sandbox);
    let mut leads = Vec::new();
    for i in 0..3 {
        let lead = sandbox
            .create_lead(NewLead::new(format!("L{i}")).status(ids::PIPELINE_ID, ids::TRIAL))
            .unwrap();
        leads.push(lead);
    }
    sandbox.move_lead(leads[0], ids::ACTIVATED).unwrap();
    sandbox.move_lead(leads[1], ids::NURTURE).unwrap();
    sandbox
        .update_lead(
            leads[2],
            LeadUpdate {
                price: Some(155.0),
                responsible_user_id: Some(kommo_loops_sandbox::kommo::defaults::API_USER),
                ..LeadUpdate::new()
            },
        )
        .unwrap();
    let events = api.events();
    let count = |q: EventsQuery| {
        let events = events.clone();
        async move { events.list(q).try_collect::<Vec<_>>().await.unwrap() }
    };
    assert_eq!(count(EventsQuery::new()).await.len(), 7);
    let moves = count(EventsQuery::new().types([EventType::LeadStatusChanged])).await;
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[0].entity_id, Some(leads[1].0), "newest first");
    let to_activated = count(
        EventsQuery::new().value_after(ValueFilter::LeadsStatuses(vec![(
            ids::PIPELINE_ID,
            ids::ACTIVATED,
        )])),
    )
    .await;
    assert_eq!(to_activated.len(), 1);
    assert_eq!(to_activated[0].entity_id, Some(leads[0].0));
    let from_trial = count(
        EventsQuery::new()
            .types([EventType::LeadStatusChanged])
            .value_before(ValueFilter::LeadsStatuses(vec![(
                ids::PIPELINE_ID,
                ids::TRIAL,
            )])),
    )
    .await;
    assert_eq!(from_trial.len(), 2);
    let of_one = count(EventsQuery::new().entity("lead").entity_ids([leads[2].0])).await;
    assert_eq!(of_one.len(), 3, "added, sale, responsible");
    let sale = count(
        EventsQuery::new()
            .types([EventType::SaleFieldChanged])
            .value_after(ValueFilter::Value("155".into())),
    )
    .await;
    assert_eq!(sale.len(), 1);
    let reassigned = count(
        EventsQuery::new().value_after(ValueFilter::ResponsibleUsers(vec![
            kommo_loops_sandbox::kommo::defaults::API_USER,
        ])),
    )
    .await;
    assert_eq!(reassigned.len(), 1);
    let by_robot = count(EventsQuery::new().created_by([UserId(0)])).await;
    assert!(by_robot.is_empty());
    let now = sandbox.now();
    assert_eq!(
        count(EventsQuery::new().created_at(Some(now + 10), None))
            .await
            .len(),
        0
    );
    assert_eq!(
        count(EventsQuery::new().created_at(None, Some(now + 10)))
            .await
            .len(),
        7
    );

    // Pages of at most 100, following `_links.next`.
    for i in 0..105 {
        sandbox
            .seed_lead(NewLead::new(format!("Bulk {i}")))
            .unwrap();
    }
    let first = events
        .list_page(EventsQuery::new().limit(100))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 100);
    assert!(first.next_href().is_some());
    assert_eq!(count(EventsQuery::new().limit(100)).await.len(), 112);

    // One event, the types, and a refused filter.
    let one = events.get(&moves[0].id, &[]).await.unwrap().unwrap();
    assert_eq!(one, moves[0]);
    assert!(events.get("01unknown", &[]).await.unwrap().is_none());
    let types = events.types(None).await.unwrap();
    assert!(types.iter().any(|t| t.key == EventType::LeadStatusChanged));
    let refused = kommo_client::ApiRequest::raw(kommo_client::Method::GET, "/api/v4/events")
        .query("filter[entity_id]", "1");
    let err = api.raw(refused).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    let _ = LeadId(0);
    sandbox.shutdown().await;
}
