//! The Kommo sandbox's inspection, seeding and scenario routes under `/_sandbox`, request
//! counting, reset and determinism.

use std::time::Duration;

use kommo_client::common::EntityType;
use kommo_client::ids::{LeadId, StatusId};
use kommo_loops_sandbox::kommo::{
    Config, IdBases, NewContact, NewLead, defaults, saas_onboarding as saas_ids,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kommo_support::{Receiver, api, client, http, json, kommo, saas};

async fn get(url: String) -> Value {
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json(response).await
}

async fn send(method: reqwest::Method, url: String, body: Value) -> (StatusCode, Value) {
    let response = http()
        .request(method, url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, json(response).await)
}

#[tokio::test]
async fn seeding_and_scenarios_over_http() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas()).await;
    let base = sandbox.inspect_url();
    let (status, sub) = send(
        reqwest::Method::POST,
        format!("{base}/subscriptions"),
        json!({ "destination": receiver.url, "settings": "all" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sub["destination"], receiver.url);

    // Seeding without webhooks, then a scenario action with them.
    let (status, contact) = send(
        reqwest::Method::POST,
        format!("{base}/contacts"),
        json!({ "name": "Ada", "emails": [["ada@example.com", "WORK"]] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{contact}");
    let contact_id = contact["id"].as_u64().unwrap();
    let (status, lead) = send(
        reqwest::Method::POST,
        format!("{base}/leads?webhooks=true"),
        json!({
            "name": "Trial",
            "pipeline_id": 7001,
            "status_id": 5001,
            "contacts": [contact_id],
            "fields": [{ "field": "PLAN", "values": ["basic"] }],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{lead}");
    let lead_id = lead["id"].as_u64().unwrap();
    let (status, moved) = send(
        reqwest::Method::POST,
        format!("{base}/leads/{lead_id}/move"),
        json!({ "status_id": 5002 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(moved["status_id"], 5002);
    let (status, refused) = send(
        reqwest::Method::POST,
        format!("{base}/leads/{lead_id}/move"),
        json!({ "status_id": 1 }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["issues"][0]["path"], "status_id");
    let (status, updated) = send(
        reqwest::Method::PATCH,
        format!("{base}/contacts/{contact_id}"),
        json!({ "emails": [["ada@new.example", "WORK"]] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        updated["custom_fields"][0]["values"][0]["value"],
        "ada@new.example"
    );
    let (status, _) = send(
        reqwest::Method::POST,
        format!("{base}/webhooks/flush"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let hooks = get(format!("{base}/webhooks")).await;
    let events: Vec<&str> = hooks
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["events"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        vec!["leads[add]", "leads[status]", "contacts[update]"]
    );
    assert_eq!(receiver.hooks().len(), 3);
    let first_id = hooks[0]["id"].as_u64().unwrap();
    let (status, again) = send(
        reqwest::Method::POST,
        format!("{base}/webhooks/{first_id}/redeliver"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["redelivery"], true);

    // Inspection of the state.
    let leads = get(format!("{base}/leads")).await;
    assert_eq!(leads[0]["custom_fields"][0]["values"][0]["value"], "basic");
    assert_eq!(leads[0]["contacts"][0]["is_main"], true);
    let found = get(format!("{base}/contacts?email=ADA@new.example")).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let links = get(format!("{base}/links")).await;
    assert_eq!(links[0]["to_entity_id"], contact_id);
    let pipelines = get(format!("{base}/pipelines")).await;
    assert_eq!(pipelines[0]["id"], 7001);
    let fields = get(format!("{base}/custom-fields?entity_type=leads")).await;
    assert_eq!(fields.as_array().unwrap().len(), 2);
    assert_eq!(
        get(format!("{base}/users")).await.as_array().unwrap().len(),
        2
    );
    let code = send(
        reqwest::Method::POST,
        format!("{base}/oauth/code"),
        json!({}),
    )
    .await;
    assert!(code.1["code"].as_str().unwrap().starts_with("def50200"));
    let missing = http()
        .get(format!("{base}/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn requests_are_counted_by_endpoint_and_inspection_is_free() {
    let sandbox = kommo(saas()).await;
    let client = client(&sandbox);
    let lead = sandbox.seed_lead(NewLead::new("Counted")).unwrap();
    client.leads().get(lead, &[]).await.unwrap();
    client.leads().get(LeadId(1), &[]).await.unwrap();
    client.account().get(&[]).await.unwrap();
    let stats = sandbox.request_stats();
    assert_eq!(stats.requests_to("GET /api/v4/leads/{id}"), 2);
    assert_eq!(stats.endpoint_status("GET /api/v4/leads/{id}", 204), 1);
    assert_eq!(stats.total, 3);
    let log = sandbox.request_log();
    assert_eq!(log[0].path, format!("/api/v4/leads/{lead}"));

    // Faults, blocks and the rate limit never touch inspection routes.
    let base = sandbox.inspect_url();
    let (status, faults) = send(
        reqwest::Method::PUT,
        format!("{base}/faults"),
        json!({ "errorRate": 1.0 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(faults["errorRate"], 1.0);
    let answer = api(&sandbox, reqwest::Method::GET, "/api/v4/account")
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_server_error());
    sandbox.faults().clear();
    let (status, conditions) =
        send(reqwest::Method::POST, format!("{base}/block"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(conditions["blocked"], true);
    let answer = api(&sandbox, reqwest::Method::GET, "/api/v4/account")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let stats = get(format!("{base}/requests")).await;
    assert_eq!(stats["total"], 5, "inspection calls are not counted");
    assert_eq!(
        stats["byEndpoint"]["GET /api/v4/account"]["byStatus"]["403"],
        1
    );
    let (_, conditions) = send(
        reqwest::Method::PUT,
        format!("{base}/conditions"),
        json!({ "blocked": false, "payment_required": true }),
    )
    .await;
    assert_eq!(conditions["payment_required"], true);
    let answer = api(&sandbox, reqwest::Method::GET, "/api/v4/account")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::PAYMENT_REQUIRED);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn reset_returns_to_the_configured_start() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas().subscription(
        &receiver.url,
        vec![kommo_client::webhook_subscriptions::WebhookSetting::AddLead],
    ))
    .await;
    let first = sandbox.create_lead(NewLead::new("Before")).unwrap();
    sandbox.flush_webhooks().await;
    sandbox.block();
    sandbox.add_note(EntityType::Leads, first.0, "x").unwrap();
    sandbox.advance_clock(Duration::from_secs(3600));
    sandbox.subscribe_all("http://127.0.0.1:9/other");
    sandbox.reset();
    assert!(sandbox.leads().is_empty());
    assert!(sandbox.notes().is_empty());
    assert!(sandbox.webhook_deliveries().is_empty());
    assert!(!sandbox.is_blocked());
    assert_eq!(
        sandbox.subscriptions().len(),
        1,
        "the configured subscription is back"
    );
    assert_eq!(sandbox.request_stats().total, 0);
    let again = sandbox.create_lead(NewLead::new("After")).unwrap();
    assert_eq!(again, first, "ids start over");
    sandbox.flush_webhooks().await;
    assert_eq!(receiver.hooks().len(), 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn ids_and_webhook_request_ids_are_deterministic() {
    let bases = IdBases {
        leads: 100,
        contacts: 200,
        ..IdBases::default()
    };
    let run = || async {
        let receiver = Receiver::start().await;
        let sandbox = kommo(saas().seed(11).id_bases(bases)).await;
        sandbox.subscribe_all(&receiver.url);
        let contact = sandbox
            .create_contact(NewContact::new("Ada").email("ada@example.com"))
            .unwrap();
        let lead = sandbox
            .create_lead(
                NewLead::new("L")
                    .contact(contact)
                    .status(saas_ids::PIPELINE_ID, StatusId::LOST),
            )
            .unwrap();
        sandbox.flush_webhooks().await;
        let ids: Vec<String> = sandbox
            .webhook_deliveries()
            .into_iter()
            .map(|d| d.request_id)
            .collect();
        let tokens = sandbox.issue_tokens();
        sandbox.shutdown().await;
        (contact, lead, ids, tokens.access_token)
    };
    let (contact, lead, ids, token) = run().await;
    assert_eq!(contact.0, 200);
    assert_eq!(lead.0, 100);
    let (contact2, lead2, ids2, token2) = run().await;
    assert_eq!((contact, lead), (contact2, lead2));
    assert_eq!(ids, ids2);
    assert_eq!(token, token2);
}

#[tokio::test]
async fn the_default_config_has_a_sales_pipeline() {
    let sandbox = kommo(Config::default().rate_limit(None)).await;
    let lead = sandbox.seed_lead(NewLead::new("Plain")).unwrap();
    let stored = sandbox.lead(lead).unwrap();
    assert_eq!(stored.pipeline_id, defaults::PIPELINE_ID);
    assert_eq!(stored.status_id, defaults::INITIAL_CONTACT);
    assert_eq!(stored.responsible_user_id, defaults::UI_USER);
    let error = sandbox
        .seed_lead(NewLead::new("x").field("PLAN", "pro"))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("custom_fields_values.0.field_code"),
        "{error}"
    );
    sandbox.shutdown().await;
}
