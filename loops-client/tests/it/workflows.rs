//! Workflows and nodes: every call's method, path and body; deletes with a JSON body; the
//! 409s (stale revision, delete while sending) and the 501 of an unsupported node update.

use futures_util::TryStreamExt;
use loops_client::Error;
use loops_client::workflows::{
    AddBranchRequest, ChangeMailingListRequest, CreateNodeRequest, CreateWorkflowRequest,
    DeleteNodesRequest, DeleteWorkflowRequest, NodeType, NodeUpdate, QueuedContactOutcome,
    QueuedContactPolicy, RerouteNodeRequest, UpdateNodeRequest, UpdateWorkflowRequest,
    WorkflowStatus,
};
use serde_json::json;
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, expect_call, fixture};

const WF: &str = "/v1/workflows/cwf42l54f20i1la0lfooe3z12";
const ID: &str = "cwf42l54f20i1la0lfooe3z12";
const REV: &str = "crv42l54f20i1la0lfooe3z99";

fn workflow() -> serde_json::Value {
    fixture("workflows-get.200.json")
}

fn rev() -> Option<String> {
    Some(REV.to_owned())
}

fn node(id: &str, type_name: &str) -> serde_json::Value {
    json!({"id": id, "workflowId": ID, "typeName": type_name, "nextNodeIds": [], "workflowRevisionId": "rev_next"})
}

#[tokio::test]
async fn workflow_calls() {
    let server = MockServer::start().await;
    expect_call(
        &server,
        "GET",
        "/v1/workflows",
        None,
        200,
        fixture("workflows-list.200.json"),
    )
    .await;
    expect_call(&server, "POST", "/v1/workflows",
        Some(json!({"name": "Onboarding drip", "description": "Welcome new signups", "mailingListId": "cm06f5v0e45nf0ml5754o9cix"})),
        200, workflow()).await;
    expect_call(&server, "GET", WF, None, 200, workflow()).await;
    expect_call(
        &server,
        "POST",
        WF,
        Some(json!({"expectedRevisionId": REV, "name": "Onboarding drip v2"})),
        200,
        workflow(),
    )
    .await;
    expect_call(&server, "POST", &format!("{WF}/mailing-list"),
        Some(json!({"expectedRevisionId": REV, "mailingListId": null, "dryRun": true})), 200,
        json!({"status": "dryRun", "mailingListId": null, "queuedContactCount": 0, "queuedContactLimitReached": false})).await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api{WF}")))
        .and(body_json(json!({"expectedRevisionId": REV})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    let workflows = client(&server).workflows();
    let listed: Vec<_> = workflows.list(None).try_collect().await.unwrap();
    assert_eq!(listed[0].name, "Onboarding drip");
    let created = workflows
        .create(
            &CreateWorkflowRequest::new("Onboarding drip")
                .description("Welcome new signups")
                .mailing_list_id(Some("cm06f5v0e45nf0ml5754o9cix")),
        )
        .await
        .unwrap();
    assert_eq!(created.status, WorkflowStatus::Draft);
    assert_eq!(workflows.get(ID).await.unwrap().nodes.len(), 4);
    workflows
        .update(
            ID,
            &UpdateWorkflowRequest::new(rev()).name("Onboarding drip v2"),
        )
        .await
        .unwrap();
    let preview = workflows
        .change_mailing_list(
            ID,
            &ChangeMailingListRequest::new(rev(), None).dry_run(true),
        )
        .await
        .unwrap();
    assert_eq!(preview.status, QueuedContactOutcome::DryRun);
    workflows
        .delete(ID, &DeleteWorkflowRequest::new(rev()))
        .await
        .unwrap();
}

#[tokio::test]
async fn node_calls() {
    let server = MockServer::start().await;
    expect_call(
        &server,
        "POST",
        &format!("{WF}/nodes"),
        Some(fixture("workflows-nodes-create.request.json")),
        200,
        json!({"node": node("t1", "TimerAction"), "workflow": workflow()}),
    )
    .await;
    expect_call(
        &server,
        "GET",
        &format!("{WF}/nodes/t1"),
        None,
        200,
        node("t1", "TimerAction"),
    )
    .await;
    let mut updated = node("cf16k73gq014h3mmj5b6jdi9r", "EventTrigger");
    updated["workflow"] = workflow();
    updated["eventName"] = json!("signup");
    expect_call(
        &server,
        "POST",
        &format!("{WF}/nodes/cf16k73gq014h3mmj5b6jdi9r"),
        Some(fixture("workflows-nodes-update.request.json")),
        200,
        updated,
    )
    .await;
    expect_call(&server, "DELETE", &format!("{WF}/nodes/t1"),
        Some(json!({"expectedRevisionId": REV, "queuedContactPolicy": "discard"})), 200,
        json!({"status": "deleted", "nodeIds": ["t1"], "workflowRevisionId": "rev_3", "queuedContactCount": 2})).await;
    expect_call(&server, "DELETE", &format!("{WF}/nodes/b1/recursive"),
        Some(json!({"expectedRevisionId": REV, "dryRun": true})), 200,
        json!({"status": "queuedContactsFound", "nodeIds": ["b1", "f1", "f2"], "queuedContactCount": 5})).await;
    expect_call(
        &server,
        "POST",
        &format!("{WF}/nodes/b1/add-branch"),
        Some(json!({"expectedRevisionId": REV})),
        200,
        json!({"node": node("f3", "AudienceFilter"), "workflow": workflow()}),
    )
    .await;
    expect_call(
        &server,
        "POST",
        &format!("{WF}/nodes/t1/reroute"),
        Some(json!({"expectedRevisionId": REV, "newTargetNodeId": "e2"})),
        200,
        node("t1", "TimerAction"),
    )
    .await;

    let workflows = client(&server).workflows();
    let created = workflows
        .create_node(
            ID,
            &CreateNodeRequest::between(
                rev(),
                NodeType::TimerAction,
                "cf16k73gq014h3mmj5b6jdi9r",
                "cf16k73gq014h3mmj5b4jdixi",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        created.node.workflow_revision_id.as_deref(),
        Some("rev_next")
    );
    assert_eq!(
        workflows.get_node(ID, "t1").await.unwrap().type_name,
        NodeType::TimerAction
    );
    let trigger = workflows
        .update_node(
            ID,
            "cf16k73gq014h3mmj5b6jdi9r",
            &UpdateNodeRequest::new(
                rev(),
                NodeUpdate::event_trigger("signup").re_eligible(false),
            ),
        )
        .await
        .unwrap();
    assert_eq!(trigger.text("eventName"), Some("signup"));
    assert!(trigger.workflow.is_some());
    let deleted = workflows
        .delete_node(
            ID,
            "t1",
            &DeleteNodesRequest::new(rev()).queued_contact_policy(QueuedContactPolicy::Discard),
        )
        .await
        .unwrap();
    assert_eq!(
        (deleted.status, deleted.queued_contact_count),
        (QueuedContactOutcome::Deleted, 2)
    );
    let found = workflows
        .delete_nodes_recursive(ID, "b1", &DeleteNodesRequest::new(rev()).dry_run(true))
        .await
        .unwrap();
    assert_eq!(found.status, QueuedContactOutcome::QueuedContactsFound);
    assert_eq!(found.node_ids.len(), 3);
    let branch = workflows
        .add_branch(ID, "b1", &AddBranchRequest::new(rev()))
        .await
        .unwrap();
    assert_eq!(branch.node.type_name, NodeType::AudienceFilter);
    workflows
        .reroute_node(ID, "t1", &RerouteNodeRequest::new(rev(), "e2"))
        .await
        .unwrap();
}

async fn delete_conflict(current: serde_json::Value) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("/api{WF}")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"success": false, "message": "Conflict."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut current_workflow = workflow();
    current_workflow["workflowRevisionId"] = current;
    current_workflow["status"] = json!("Sending");
    expect_call(&server, "GET", WF, None, 200, current_workflow).await;
    client(&server)
        .workflows()
        .delete(ID, &DeleteWorkflowRequest::new(rev()))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn delete_while_sending_needs_confirmation() {
    let err = delete_conflict(json!(REV)).await;
    assert!(matches!(err, Error::ConfirmationRequired { .. }), "{err:?}");
    assert_eq!(err.status(), Some(409));
}

#[tokio::test]
async fn delete_with_a_stale_revision_is_stale() {
    let err = delete_conflict(json!("rev_newer")).await;
    assert_eq!(err.current_revision(), Some("rev_newer"), "{err:?}");
}

#[tokio::test]
async fn a_delete_that_landed_before_a_lost_answer_counts_as_done() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "Workflow not found."})),
        )
        .mount(&server)
        .await;
    client(&server)
        .workflows()
        .delete(ID, &DeleteWorkflowRequest::new(rev()))
        .await
        .unwrap();
}

#[tokio::test]
async fn stale_mutations_read_the_current_revision() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api{WF}/nodes")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"message": "workflowRevisionId mismatch."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut moved = workflow();
    moved["workflowRevisionId"] = json!("rev_9");
    expect_call(&server, "GET", WF, None, 200, moved).await;
    let err = client(&server)
        .workflows()
        .create_node(
            ID,
            &CreateNodeRequest::after(rev(), NodeType::SendEmailAction, "t1"),
        )
        .await
        .unwrap_err();
    match err {
        Error::StaleRevision {
            expected, current, ..
        } => {
            assert_eq!(
                (expected.as_deref(), current.as_deref()),
                (Some(REV), Some("rev_9"))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_unsupported_node_update_is_501() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(501)
                .set_body_json(json!({"success": false, "message": "Not implemented."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .workflows()
        .update_node(
            ID,
            "s1",
            &UpdateNodeRequest::new(rev(), NodeUpdate::new().set("subject", "x")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotImplemented { .. }), "{err:?}");
    assert!(!err.is_transient());
}
