//! Batch writes and reads of many entities at once, with state: notes, tasks and tag changes
//! of several leads in one request each, and lists filtered by several entity ids.

use kommo_client::common::EntityType;
use kommo_client::ids::LeadId;
use kommo_client::leads::LeadWrite;
use kommo_client::notes::NewNote;
use kommo_client::tasks::TaskWrite;
use kommo_client::{ApiRequest, Error, Method};
use kommo_loops_sandbox::kommo::NewLead;
use serde_json::Value;

use crate::kommo_support::{client, kommo, saas};

fn texts(answer: &Value, key: &str, text: &str) -> Vec<(u64, String)> {
    answer["_embedded"][key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let text = item
                .pointer(text)
                .and_then(Value::as_str)
                .unwrap_or_default();
            (
                item["entity_id"].as_u64().unwrap_or_default(),
                text.to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn notes_tasks_and_tags_of_many_leads_go_in_one_request_each() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let leads: Vec<LeadId> = (0..3)
        .map(|i| {
            sandbox
                .seed_lead(NewLead::new(format!("Deal {i}")))
                .unwrap()
        })
        .collect();
    let other = sandbox.seed_lead(NewLead::new("Not asked for")).unwrap();
    let before = sandbox.request_stats();

    // Notes: one POST, results in request order with their request_id.
    let notes = leads
        .iter()
        .chain([&other])
        .enumerate()
        .map(|(i, lead)| {
            NewNote::service_message(lead.0, "bridge", format!("note {i}"))
                .request_id(i.to_string())
        })
        .collect();
    let written = client.notes(EntityType::Leads).add(notes).await.unwrap();
    let ids: Vec<Option<&str>> = written.iter().map(|w| w.request_id.as_deref()).collect();
    assert_eq!(ids, vec![Some("0"), Some("1"), Some("2"), Some("3")]);
    for (i, lead) in leads.iter().enumerate() {
        let on_lead = sandbox.notes_for(EntityType::Leads, lead.0);
        assert_eq!(on_lead.len(), 1);
        assert_eq!(on_lead[0].text(), Some(format!("note {i}").as_str()));
    }
    // A second note on lead 0, so that the read shows the order.
    client
        .notes(EntityType::Leads)
        .add(vec![NewNote::service_message(
            leads[0].0, "bridge", "later",
        )])
        .await
        .unwrap();

    // The notes of several leads, newest first, and only theirs.
    let mut request = ApiRequest::raw(Method::GET, "/api/v4/leads/notes")
        .query("filter[note_type][0]", "service_message")
        .query("filter[note_type][1]", "common")
        .query("order[id]", "desc")
        .query("limit", "250");
    for lead in &leads {
        request = request.query("filter[entity_id][]", lead.0.to_string());
    }
    let answer = client.raw(request).await.unwrap().json().unwrap().unwrap();
    assert_eq!(
        texts(&answer, "notes", "/params/text"),
        vec![
            (leads[0].0, "later".to_owned()),
            (leads[2].0, "note 2".to_owned()),
            (leads[1].0, "note 1".to_owned()),
            (leads[0].0, "note 0".to_owned()),
        ]
    );

    // Tasks: one POST for several leads; the open ones of several leads in one read.
    let due = sandbox.now() + 3600;
    let tasks = leads
        .iter()
        .enumerate()
        .map(|(i, lead)| {
            TaskWrite::new(format!("task {i}"), due)
                .entity(EntityType::Leads, lead.0)
                .request_id(i.to_string())
        })
        .collect();
    let written = client.tasks().add(tasks).await.unwrap();
    assert_eq!(written.len(), 3);
    client
        .tasks()
        .add(vec![
            TaskWrite::new("elsewhere", due).entity(EntityType::Leads, other.0),
        ])
        .await
        .unwrap();
    let mut request = ApiRequest::raw(Method::GET, "/api/v4/tasks")
        .query("filter[entity_type]", "leads")
        .query("filter[is_completed]", "0")
        .query("limit", "250");
    for lead in &leads[..2] {
        request = request.query("filter[entity_id][]", lead.0.to_string());
    }
    let answer = client.raw(request).await.unwrap().json().unwrap().unwrap();
    assert_eq!(
        texts(&answer, "tasks", "/text"),
        vec![
            (leads[0].0, "task 0".to_owned()),
            (leads[1].0, "task 1".to_owned())
        ]
    );

    // Tags: one PATCH of several leads, each answered with its updated_at.
    let writes = leads
        .iter()
        .enumerate()
        .map(|(i, lead)| {
            LeadWrite::update(*lead)
                .add_tag("bulk")
                .request_id(i.to_string())
        })
        .collect();
    let updated = client.leads().update(writes).await.unwrap();
    assert_eq!(updated.len(), 3);
    assert!(
        updated.iter().all(|u| u.updated_at.is_some()),
        "{updated:?}"
    );
    for lead in &leads {
        assert_eq!(sandbox.lead(*lead).unwrap().tag_names(), vec!["bulk"]);
    }
    assert!(sandbox.lead(other).unwrap().tag_names().is_empty());

    let after = sandbox.request_stats();
    let count = |endpoint: &str| after.requests_to(endpoint) - before.requests_to(endpoint);
    assert_eq!(count("POST /api/v4/leads/notes"), 2);
    assert_eq!(count("GET /api/v4/leads/notes"), 1);
    assert_eq!(count("POST /api/v4/tasks"), 2);
    assert_eq!(count("GET /api/v4/tasks"), 1);
    assert_eq!(count("PATCH /api/v4/leads"), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_batch_with_one_bad_item_is_refused_whole_naming_that_item() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let lead = sandbox.seed_lead(NewLead::new("Real")).unwrap();
    let notes = vec![
        NewNote::service_message(lead.0, "bridge", "fine").request_id("0"),
        NewNote::service_message(999_999_999, "bridge", "nowhere").request_id("1"),
    ];
    let error = client
        .notes(EntityType::Leads)
        .add(notes)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Validation { .. }), "{error:?}");
    let named: Vec<Option<&str>> = error
        .validation_errors()
        .iter()
        .map(|g| g.request_id.as_deref())
        .collect();
    assert_eq!(named, vec![Some("1")]);
    assert!(
        sandbox.notes_for(EntityType::Leads, lead.0).is_empty(),
        "nothing of a refused batch is applied"
    );
    sandbox.shutdown().await;
}
