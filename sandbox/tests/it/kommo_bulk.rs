//! A bulk change in the Kommo fake: many leads moved at once arrive as bodies of several
//! leads each, in order, with one events log entry per lead.

use kommo_client::ids::{LeadId, StatusId};
use kommo_client::webhook_subscriptions::WebhookSetting;
use kommo_client::webhooks::EventKind;
use kommo_loops_sandbox::kommo::{
    NewLead, ScenarioError, WebhookPolicy, saas_onboarding as saas_ids,
};

use crate::kommo_support::{Receiver, kommo, saas};

#[tokio::test]
async fn a_bulk_move_arrives_in_bodies_of_several_leads() {
    let receiver = Receiver::start().await;
    let sandbox = kommo(saas()).await;
    sandbox.subscribe(&receiver.url, [WebhookSetting::StatusLead]);
    let leads: Vec<LeadId> = (0..120)
        .map(|i| {
            sandbox
                .seed_lead(
                    NewLead::new(format!("Lead {i}"))
                        .status(saas_ids::PIPELINE_ID, saas_ids::INCOMING),
                )
                .unwrap()
        })
        .collect();
    let logged_before = sandbox.events_log().len();

    let moved = sandbox.move_leads(&leads, saas_ids::TRIAL).unwrap();
    assert_eq!(moved.len(), 120);
    assert!(moved.iter().all(|l| l.status_id == saas_ids::TRIAL));
    sandbox.flush_webhooks().await;

    let payloads = receiver.payloads();
    let sizes: Vec<usize> = payloads.iter().map(|p| p.events.len()).collect();
    assert_eq!(sizes, vec![50, 50, 20], "50 leads per body by default");
    let hooks = receiver.hooks();
    assert!(hooks[0].body.contains("leads%5Bstatus%5D%5B49%5D%5Bid%5D"));
    assert!(!hooks[0].body.contains("leads%5Bstatus%5D%5B50%5D"));
    let ids: Vec<Option<LeadId>> = payloads
        .iter()
        .flat_map(|p| p.events.iter())
        .map(|e| {
            assert_eq!(e.kind, EventKind::LeadStatusChanged);
            let lead = e.lead().unwrap();
            assert_eq!(lead.status_id, Some(saas_ids::TRIAL));
            assert_eq!(lead.old_status_id, Some(saas_ids::INCOMING));
            lead.id
        })
        .collect();
    assert_eq!(
        ids,
        leads.iter().copied().map(Some).collect::<Vec<_>>(),
        "in order"
    );
    let request_ids: std::collections::HashSet<&str> = hooks
        .iter()
        .map(|h| h.header("x-amocrm-requestid"))
        .collect();
    assert_eq!(request_ids.len(), 3, "each body is its own request");

    let logged = &sandbox.events_log()[logged_before..];
    assert_eq!(logged.len(), 120);
    assert!(logged.iter().all(|e| e.event_type == "lead_status_changed"));
    let logged_ids: Vec<u64> = logged.iter().map(|e| e.entity_id).collect();
    assert_eq!(logged_ids, leads.iter().map(|l| l.0).collect::<Vec<_>>());
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_body_size_is_configurable_and_a_bad_move_changes_nothing() {
    let receiver = Receiver::start().await;
    let mut policy = WebhookPolicy::default();
    policy.per_body = 3;
    let sandbox = kommo(saas().webhook_policy(policy)).await;
    sandbox.subscribe(&receiver.url, [WebhookSetting::StatusLead]);
    let leads: Vec<LeadId> = (0..7)
        .map(|i| sandbox.seed_lead(NewLead::new(format!("L{i}"))).unwrap())
        .collect();

    let missing = [leads[0], LeadId(999_999_999)];
    assert!(matches!(
        sandbox.move_leads(&missing, saas_ids::ACTIVATED),
        Err(ScenarioError::NotFound {
            id: 999_999_999,
            ..
        })
    ));
    assert!(matches!(
        sandbox.move_leads(&leads, StatusId(1)),
        Err(ScenarioError::Invalid(_))
    ));
    assert!(
        sandbox
            .move_leads(&[], saas_ids::ACTIVATED)
            .unwrap()
            .is_empty()
    );
    sandbox.flush_webhooks().await;
    assert!(receiver.hooks().is_empty(), "nothing moved, nothing sent");
    let before = sandbox.lead(leads[0]).unwrap().status_id;
    assert_ne!(before, saas_ids::ACTIVATED);

    sandbox.move_leads(&leads, saas_ids::ACTIVATED).unwrap();
    sandbox.flush_webhooks().await;
    let sizes: Vec<usize> = receiver.payloads().iter().map(|p| p.events.len()).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    sandbox.shutdown().await;
}
