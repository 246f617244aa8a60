//! The Loops fake's workflow API through the real client: building a graph, revisions,
//! queued contacts, deleting a workflow while it sends, and event patterns.

use kommo_loops_sandbox::loops::{MailingListSeed, PropertyKind};
use loops_client::Error;
use loops_client::events::SendEventRequest;
use loops_client::workflows::{
    AddBranchRequest, ChangeMailingListRequest, CreateNodeRequest, CreateWorkflowRequest,
    DeleteNodesRequest, DeleteWorkflowRequest, NodeType, NodeUpdate, QueuedContactOutcome,
    QueuedContactPolicy, RerouteNodeRequest, TimerUnit, UpdateNodeRequest, UpdateWorkflowRequest,
    Workflow,
};

use crate::support::{client, sandbox, unlimited};

fn types(workflow: &Workflow) -> Vec<String> {
    workflow
        .main_path()
        .iter()
        .map(|id| workflow.nodes[*id].type_name.to_string())
        .collect()
}

#[tokio::test]
async fn a_two_step_workflow() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    let workflows = c.workflows();
    let created = workflows
        .create(&CreateWorkflowRequest::new("Onboarding"))
        .await
        .unwrap();
    assert_eq!(types(&created), ["BlankTrigger", "ExitAction"]);
    let trigger = created.root_node_id.clone();

    let node = workflows
        .update_node(
            &created.id,
            &trigger,
            &UpdateNodeRequest::new(
                created.workflow_revision_id.clone(),
                NodeUpdate::event_trigger("signup").re_eligible(false),
            ),
        )
        .await
        .unwrap();
    assert_ne!(node.workflow_revision_id, created.workflow_revision_id);
    let timer = workflows
        .create_node(
            &created.id,
            &CreateNodeRequest::after(
                node.workflow_revision_id.clone(),
                NodeType::TimerAction,
                &trigger,
            ),
        )
        .await
        .unwrap();
    let timer_node = workflows
        .update_node(
            &created.id,
            &timer.node.id,
            &UpdateNodeRequest::new(
                timer.workflow.workflow_revision_id.clone(),
                NodeUpdate::timer(2, TimerUnit::Hours),
            ),
        )
        .await
        .unwrap();
    let email = workflows
        .create_node(
            &created.id,
            &CreateNodeRequest::after(
                timer_node.workflow_revision_id.clone(),
                NodeType::SendEmailAction,
                &timer.node.id,
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        types(&email.workflow),
        [
            "EventTrigger",
            "TimerAction",
            "SendEmailAction",
            "ExitAction"
        ]
    );
    let message = email.node.email_message_id().unwrap();
    assert_eq!(c.email_messages().get(message).await.unwrap().subject, "");

    // An email node's content is not updated through the node: 501.
    let unsupported = workflows
        .update_node(
            &created.id,
            &email.node.id,
            &UpdateNodeRequest::new(
                email.workflow.workflow_revision_id.clone(),
                NodeUpdate::new().set("subject", "Hi"),
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(unsupported, Error::NotImplemented { .. }),
        "{unsupported:?}"
    );

    // A stale revision is refused with both revisions named.
    let stale = workflows
        .update(
            &created.id,
            &UpdateWorkflowRequest::new(created.workflow_revision_id.clone()).name("Old view"),
        )
        .await
        .unwrap_err();
    assert_eq!(
        stale.current_revision(),
        email.workflow.workflow_revision_id.as_deref(),
        "{stale:?}"
    );
    let fetched = workflows.get(&created.id).await.unwrap();
    assert_eq!(fetched.name.as_deref(), Some("Onboarding"));
    assert_eq!(
        workflows
            .get_node(&created.id, &timer.node.id)
            .await
            .unwrap()
            .fields["unit"],
        "h"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn branches_reroutes_and_subtrees() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    let w = c.workflows();
    let created = w
        .create(&CreateWorkflowRequest::new("Branches"))
        .await
        .unwrap();
    let exit = created.main_path()[1].to_owned();
    let branch = w
        .create_node(
            &created.id,
            &CreateNodeRequest::before(
                created.workflow_revision_id.clone(),
                NodeType::BranchNode,
                &exit,
            ),
        )
        .await
        .unwrap();
    assert_eq!(branch.node.created_child_nodes.len(), 2);
    assert!(
        branch
            .node
            .created_child_nodes
            .iter()
            .all(|n| n.type_name == NodeType::AudienceFilter)
    );
    let added = w
        .add_branch(
            &created.id,
            &branch.node.id,
            &AddBranchRequest::new(branch.workflow.workflow_revision_id.clone()),
        )
        .await
        .unwrap();
    assert_eq!(added.workflow.nodes[&branch.node.id].next_node_ids.len(), 3);

    // Put a timer on the first path, then point it past itself.
    let first = &branch.node.created_child_nodes[0].id;
    let timer = w
        .create_node(
            &created.id,
            &CreateNodeRequest::after(
                added.workflow.workflow_revision_id.clone(),
                NodeType::TimerAction,
                first,
            ),
        )
        .await
        .unwrap();
    let rerouted = w
        .reroute_node(
            &created.id,
            first,
            &RerouteNodeRequest::new(timer.workflow.workflow_revision_id.clone(), &exit),
        )
        .await
        .unwrap_err();
    assert_eq!(rerouted.status(), Some(400), "the timer would be orphaned");

    // A branch has several outputs: deleting it alone is refused; its subtree goes.
    let revision = timer.workflow.workflow_revision_id.clone();
    let alone = w
        .delete_node(
            &created.id,
            &branch.node.id,
            &DeleteNodesRequest::new(revision.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(alone.status(), Some(400));
    let gone = w
        .delete_nodes_recursive(
            &created.id,
            &branch.node.id,
            &DeleteNodesRequest::new(revision),
        )
        .await
        .unwrap();
    assert_eq!(gone.status, QueuedContactOutcome::Deleted);
    assert_eq!(
        types(gone.workflow.as_ref().unwrap()),
        ["BlankTrigger", "ExitAction"]
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn queued_contacts_stop_destructive_changes_until_discarded() {
    let sb = sandbox(unlimited().list(MailingListSeed::new("list_news", "News"))).await;
    let c = client(&sb);
    let w = c.workflows();
    let created = w
        .create(&CreateWorkflowRequest::new("Queue"))
        .await
        .unwrap();
    let trigger = created.root_node_id.clone();
    let timer = w
        .create_node(
            &created.id,
            &CreateNodeRequest::after(
                created.workflow_revision_id.clone(),
                NodeType::TimerAction,
                &trigger,
            ),
        )
        .await
        .unwrap();
    sb.queue_contacts(&created.id, &timer.node.id, 7).unwrap();
    let revision = timer.workflow.workflow_revision_id.clone();

    let preview = w
        .delete_node(
            &created.id,
            &timer.node.id,
            &DeleteNodesRequest::new(revision.clone()).dry_run(true),
        )
        .await
        .unwrap();
    assert_eq!(
        (preview.status, preview.queued_contact_count),
        (QueuedContactOutcome::DryRun, 7)
    );
    let held = w
        .delete_node(
            &created.id,
            &timer.node.id,
            &DeleteNodesRequest::new(revision.clone()),
        )
        .await
        .unwrap();
    assert_eq!(held.status, QueuedContactOutcome::QueuedContactsFound);
    let list = w
        .change_mailing_list(
            &created.id,
            &ChangeMailingListRequest::new(revision.clone(), Some("list_news")),
        )
        .await
        .unwrap();
    assert_eq!(list.status, QueuedContactOutcome::QueuedContactsFound);
    let list = w
        .change_mailing_list(
            &created.id,
            &ChangeMailingListRequest::new(revision.clone(), Some("list_news"))
                .queued_contact_policy(QueuedContactPolicy::Discard),
        )
        .await
        .unwrap();
    assert_eq!(list.status, QueuedContactOutcome::Updated);
    assert_eq!(
        list.workflow.unwrap().mailing_list_id.as_deref(),
        Some("list_news")
    );
    let deleted = w
        .delete_node(
            &created.id,
            &timer.node.id,
            &DeleteNodesRequest::new(list.workflow_revision_id.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        deleted.status,
        QueuedContactOutcome::Deleted,
        "the discard emptied the queue"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn deleting_a_workflow_while_it_sends_needs_confirming() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    let w = c.workflows();
    let created = w.create(&CreateWorkflowRequest::new("Live")).await.unwrap();
    sb.set_workflow_status(&created.id, "Sending").unwrap();
    let delete = DeleteWorkflowRequest::new(created.workflow_revision_id.clone());
    let err = w.delete(&created.id, &delete).await.unwrap_err();
    assert!(matches!(err, Error::ConfirmationRequired { .. }), "{err:?}");

    // Sending also freezes the graph.
    let frozen = w
        .create_node(
            &created.id,
            &CreateNodeRequest::after(
                created.workflow_revision_id.clone(),
                NodeType::TimerAction,
                &created.root_node_id,
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(frozen.status(), Some(400));

    // A stale revision is still a stale revision, even on a sending workflow.
    let stale = w
        .delete(&created.id, &DeleteWorkflowRequest::new(Some("old".into())))
        .await
        .unwrap_err();
    assert!(stale.is_stale_revision(), "{stale:?}");

    w.delete(&created.id, &delete.confirm_delete(true))
        .await
        .unwrap();
    assert!(w.get(&created.id).await.unwrap_err().is_not_found());
    sb.shutdown().await;
}

#[tokio::test]
async fn event_patterns_come_from_events() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    c.events()
        .send(
            &SendEventRequest::by_email("ada@example.com", "signup")
                .event_property("plan", "pro")
                .event_property("seats", 3),
        )
        .await
        .unwrap();
    let seeded = sb.add_event_pattern("invoice.paid", &[("amount", PropertyKind::Number)]);
    let signup = c.event_patterns().get_by_name("signup").await.unwrap();
    let names: Vec<&str> = signup
        .event_properties
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["plan", "seats"]);
    assert_eq!(
        c.event_patterns().get(&seeded).await.unwrap().event_name,
        "invoice.paid"
    );
    let page = c
        .event_patterns()
        .list_page(&Default::default())
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert!(
        page.data.iter().all(|p| p.event_properties.is_empty()),
        "lists carry summaries"
    );

    // A trigger can name its event by pattern.
    let w = c.workflows();
    let created = w.create(&CreateWorkflowRequest::new("Paid")).await.unwrap();
    let trigger = w
        .update_node(
            &created.id,
            &created.root_node_id,
            &UpdateNodeRequest::new(
                created.workflow_revision_id.clone(),
                NodeUpdate::event_trigger_pattern(&seeded),
            ),
        )
        .await
        .unwrap();
    assert_eq!(trigger.text("eventName"), Some("invoice.paid"));
    assert!(
        c.event_patterns()
            .get_by_name("Invoice.paid")
            .await
            .unwrap_err()
            .is_not_found(),
        "case-sensitive"
    );
    sb.shutdown().await;
}
