//! Every content and workflow method against each error status Loops documents for it, and
//! the 401 that means "this API is not enabled for your team" rather than "bad key".

use futures_util::future::BoxFuture;
use loops_client::audience_segments::{AudienceFilter, CreateAudienceSegmentRequest};
use loops_client::campaigns::{CreateCampaignRequest, UpdateCampaignRequest};
use loops_client::components::{CreateComponentRequest, UpdateComponentRequest};
use loops_client::email_messages::{SendPreviewRequest, UpdateEmailMessageRequest};
use loops_client::endpoint::{Endpoint, GatedApi};
use loops_client::groups::{CreateGroupRequest, UpdateGroupRequest};
use loops_client::pagination::PageRequest;
use loops_client::themes::{CreateThemeRequest, UpdateThemeRequest};
use loops_client::transactional::{
    CreateTransactionalEmailRequest, UpdateTransactionalEmailRequest,
};
use loops_client::uploads::CreateUploadRequest;
use loops_client::workflows::{
    AddBranchRequest, ChangeMailingListRequest, CreateNodeRequest, CreateWorkflowRequest,
    DeleteNodesRequest, DeleteWorkflowRequest, NodeType, NodeUpdate, RerouteNodeRequest,
    UpdateNodeRequest, UpdateWorkflowRequest,
};
use loops_client::{Client, Error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::client;

type Call = fn(Client) -> BoxFuture<'static, Result<(), Error>>;

macro_rules! call {
    ($c:ident => $e:expr) => {
        |$c: Client| -> BoxFuture<'static, Result<(), Error>> {
            Box::pin(async move { $e.await.map(|_| ()) })
        }
    };
}

fn rev() -> Option<String> {
    Some("rev_1".to_owned())
}

/// Each method, the endpoint it calls, and the error statuses Loops documents for it.
fn table() -> Vec<(Endpoint, Call, &'static [u16])> {
    vec![
        (
            Endpoint::ListCampaignGroups,
            call!(c => c.campaign_groups().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::CreateCampaignGroup,
            call!(c => c.campaign_groups().create(&CreateGroupRequest::new("G"))),
            &[400, 401, 409],
        ),
        (
            Endpoint::GetCampaignGroup,
            call!(c => c.campaign_groups().get("g1")),
            &[401, 404],
        ),
        (
            Endpoint::UpdateCampaignGroup,
            call!(c => c.campaign_groups().update("g1", &UpdateGroupRequest::new().name("H"))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::ListTransactionalGroups,
            call!(c => c.transactional_groups().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::CreateTransactionalGroup,
            call!(c => c.transactional_groups().create(&CreateGroupRequest::new("G"))),
            &[400, 401, 409],
        ),
        (
            Endpoint::GetTransactionalGroup,
            call!(c => c.transactional_groups().get("g1")),
            &[401, 404],
        ),
        (
            Endpoint::UpdateTransactionalGroup,
            call!(c => c.transactional_groups().update("g1", &UpdateGroupRequest::new().description("d"))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::ListAudienceSegments,
            call!(c => c.audience_segments().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::GetAudienceSegment,
            call!(c => c.audience_segments().get("s1")),
            &[401, 404],
        ),
        (
            Endpoint::CreateAudienceSegment,
            call!(c => c.audience_segments().create(&CreateAudienceSegmentRequest::new("S", AudienceFilter::all([])))),
            &[400, 401, 404],
        ),
        (
            Endpoint::ListThemes,
            call!(c => c.themes().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::GetTheme,
            call!(c => c.themes().get("th1")),
            &[401, 404],
        ),
        (
            Endpoint::CreateTheme,
            call!(c => c.themes().create(&CreateThemeRequest::new("T"))),
            &[400, 401],
        ),
        (
            Endpoint::UpdateTheme,
            call!(c => c.themes().update("th1", &UpdateThemeRequest::new().name("U"))),
            &[400, 401, 404],
        ),
        (
            Endpoint::ListComponents,
            call!(c => c.components().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::GetComponent,
            call!(c => c.components().get("cp1")),
            &[401, 404],
        ),
        (
            Endpoint::CreateComponent,
            call!(c => c.components().create(&CreateComponentRequest::new("C", "<Section/>"))),
            &[400, 401, 413, 422],
        ),
        (
            Endpoint::UpdateComponent,
            call!(c => c.components().update("cp1", &UpdateComponentRequest::new().lmx("<Section/>"))),
            &[400, 401, 404, 413, 422],
        ),
        (
            Endpoint::ListCampaigns,
            call!(c => c.campaigns().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::CreateCampaign,
            call!(c => c.campaigns().create(&CreateCampaignRequest::new("C"))),
            &[400, 401, 404],
        ),
        (
            Endpoint::GetCampaign,
            call!(c => c.campaigns().get("cmp1")),
            &[401, 404],
        ),
        (
            Endpoint::UpdateCampaign,
            call!(c => c.campaigns().update("cmp1", &UpdateCampaignRequest::new().name("D"))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::GetEmailMessage,
            call!(c => c.email_messages().get("em1")),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::UpdateEmailMessage,
            call!(c => c.email_messages().update("em1", &UpdateEmailMessageRequest::new().expected_revision_id(rev()).subject("S"))),
            &[400, 401, 404, 409, 413, 422],
        ),
        (
            Endpoint::SendEmailMessagePreview,
            call!(c => c.email_messages().send_preview("em1", &SendPreviewRequest::new(["a@example.com"]))),
            &[400, 401, 404, 429],
        ),
        (
            Endpoint::RunEmailMessageGuardian,
            call!(c => c.email_messages().run_guardian("em1")),
            &[401, 404, 409],
        ),
        (
            Endpoint::CreateUpload,
            call!(c => c.uploads().create(&CreateUploadRequest::new("image/png", 10))),
            &[400, 401, 413, 429],
        ),
        (
            Endpoint::CompleteUpload,
            call!(c => c.uploads().complete("ea1")),
            &[400, 401, 404, 425],
        ),
        (
            Endpoint::ListEventPatterns,
            call!(c => c.event_patterns().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::GetEventPattern,
            call!(c => c.event_patterns().get("ep1")),
            &[401, 404],
        ),
        (
            Endpoint::GetEventPatternByName,
            call!(c => c.event_patterns().get_by_name("signup")),
            &[401, 404],
        ),
        (
            Endpoint::ListWorkflows,
            call!(c => c.workflows().list_page(&PageRequest::default())),
            &[400, 401],
        ),
        (
            Endpoint::CreateWorkflow,
            call!(c => c.workflows().create(&CreateWorkflowRequest::new("W"))),
            &[400, 401, 500],
        ),
        (
            Endpoint::GetWorkflow,
            call!(c => c.workflows().get("wf1")),
            &[400, 401, 404],
        ),
        (
            Endpoint::UpdateWorkflow,
            call!(c => c.workflows().update("wf1", &UpdateWorkflowRequest::new(rev()).name("W"))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::DeleteWorkflow,
            call!(c => c.workflows().delete("wf1", &DeleteWorkflowRequest::new(rev()))),
            &[401, 409],
        ),
        (
            Endpoint::ChangeWorkflowMailingList,
            call!(c => c.workflows().change_mailing_list("wf1", &ChangeMailingListRequest::new(rev(), None))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::CreateWorkflowNode,
            call!(c => c.workflows().create_node("wf1", &CreateNodeRequest::after(rev(), NodeType::TimerAction, "n1"))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::GetWorkflowNode,
            call!(c => c.workflows().get_node("wf1", "n1")),
            &[400, 401, 404],
        ),
        (
            Endpoint::UpdateWorkflowNode,
            call!(c => c.workflows().update_node("wf1", "n1", &UpdateNodeRequest::new(rev(), NodeUpdate::sampling_rate(50)))),
            &[400, 401, 404, 409, 501],
        ),
        (
            Endpoint::DeleteWorkflowNode,
            call!(c => c.workflows().delete_node("wf1", "n1", &DeleteNodesRequest::new(rev()))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::AddWorkflowBranch,
            call!(c => c.workflows().add_branch("wf1", "n1", &AddBranchRequest::new(rev()))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::RerouteWorkflowNode,
            call!(c => c.workflows().reroute_node("wf1", "n1", &RerouteNodeRequest::new(rev(), "n2"))),
            &[400, 401, 409],
        ),
        (
            Endpoint::DeleteWorkflowNodesRecursive,
            call!(c => c.workflows().delete_nodes_recursive("wf1", "n1", &DeleteNodesRequest::new(rev()))),
            &[400, 401, 404, 409],
        ),
        (
            Endpoint::GetTransactionalEmail,
            call!(c => c.transactional().get("tx1")),
            &[401, 404],
        ),
        (
            Endpoint::CreateTransactionalEmail,
            call!(c => c.transactional().create(&CreateTransactionalEmailRequest::new("T"))),
            &[400, 401],
        ),
        (
            Endpoint::UpdateTransactionalEmail,
            call!(c => c.transactional().update("tx1", &UpdateTransactionalEmailRequest::new().name("U"))),
            &[400, 401, 404],
        ),
        (
            Endpoint::EnsureTransactionalDraft,
            call!(c => c.transactional().ensure_draft("tx1")),
            &[401, 404],
        ),
        (
            Endpoint::PublishTransactionalEmail,
            call!(c => c.transactional().publish("tx1")),
            &[401, 404, 409, 422],
        ),
    ]
}

/// What each status becomes on each endpoint, when every request to the server (the
/// follow-up reads included) gets that status.
fn expected(endpoint: Endpoint, status: u16) -> &'static str {
    match status {
        409 if matches!(
            endpoint,
            Endpoint::PublishTransactionalEmail | Endpoint::UpdateCampaign
        ) =>
        {
            "draft"
        }
        // The read that would settle the cause fails too: the 409 stays as Loops sent it.
        409 if matches!(
            endpoint,
            Endpoint::UpdateEmailMessage | Endpoint::DeleteWorkflow
        ) =>
        {
            "api"
        }
        409 if endpoint.is_revision_guarded() => "stale",
        413 => "413",
        422 => "422",
        429 => "rate",
        501 => "501",
        _ => "api",
    }
}

fn kind(error: &Error) -> &'static str {
    match error {
        Error::DraftRequired { .. } => "draft",
        Error::StaleRevision { .. } => "stale",
        Error::PayloadTooLarge { .. } => "413",
        Error::Unprocessable { .. } => "422",
        Error::RateLimited { .. } => "rate",
        Error::NotImplemented { .. } => "501",
        Error::Api { .. } => "api",
        _ => "other",
    }
}

#[tokio::test]
async fn every_documented_error_status() {
    let mut checked = 0;
    for (endpoint, call, statuses) in table() {
        for &status in statuses {
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(
                    ResponseTemplate::new(status)
                        .set_body_json(json!({"success": false, "message": "m"})),
                )
                .mount(&server)
                .await;
            let err = call(client(&server)).await.expect_err("an error status");
            assert_eq!(
                kind(&err),
                expected(endpoint, status),
                "{endpoint} {status}: {err:?}"
            );
            assert_eq!(err.status(), Some(status), "{endpoint} {status}");
            if status != 429 {
                // A rate limit is the team's, not the endpoint's: the error names no endpoint.
                assert_eq!(err.endpoint(), Some(endpoint), "{endpoint} {status}");
            }
            assert_eq!(err.body().and_then(|b| b.message.as_deref()), Some("m"));
            if status == 401 {
                assert!(
                    err.is_unauthorized(),
                    "GET /v1/api-key refused the key too: a bad key"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "{checked}");
}

#[tokio::test]
async fn every_content_and_workflow_method_is_in_the_table() {
    let covered: Vec<Endpoint> = table().iter().map(|(e, _, _)| *e).collect();
    for endpoint in Endpoint::ALL {
        let tested_elsewhere = matches!(endpoint, Endpoint::PutUpload);
        if endpoint.gated_api().is_some() && !tested_elsewhere {
            assert!(covered.contains(endpoint), "{endpoint} has no row");
        }
    }
}

async fn not_enabled(key_check_status: u16) -> (Error, MockServer) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/api-key"))
        .respond_with(
            ResponseTemplate::new(key_check_status)
                .set_body_json(json!({"success": true, "teamName": "T"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/workflows/wf1"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"success": false, "message": "Unauthorized"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).workflows().get("wf1").await.unwrap_err();
    (err, server)
}

#[tokio::test]
async fn a_401_with_a_good_key_is_an_api_not_enabled() {
    let (err, _server) = not_enabled(200).await;
    match &err {
        Error::ApiNotEnabled { api, endpoint, .. } => {
            assert_eq!(
                (*api, *endpoint),
                (GatedApi::Workflows, Endpoint::GetWorkflow)
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_unauthorized());
    assert!(
        err.to_string().contains("workflow API is not enabled"),
        "{err}"
    );
}

#[tokio::test]
async fn a_401_with_a_bad_key_stays_a_bad_key() {
    let (err, _server) = not_enabled(401).await;
    assert!(matches!(err, Error::Api { status: 401, .. }), "{err:?}");
    assert!(err.is_unauthorized());
}

#[tokio::test]
async fn creates_are_not_repeated_after_a_5xx_but_updates_are() {
    for (call, attempts) in [
        (
            call!(c => c.campaigns().create(&CreateCampaignRequest::new("C"))),
            1,
        ),
        (
            call!(c => c.campaigns().update("cmp1", &UpdateCampaignRequest::new().name("D"))),
            3,
        ),
        (call!(c => c.themes().get("th1")), 3),
        (call!(c => c.transactional().publish("tx1")), 1),
        (
            call!(c => c.workflows().update("wf1", &UpdateWorkflowRequest::new(rev()).name("W"))),
            3,
        ),
        (
            call!(c => c.workflows().create_node("wf1", &CreateNodeRequest::after(None, NodeType::TimerAction, "n1"))),
            1,
        ),
    ] as [(Call, usize); 6]
    {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        call(client(&server)).await.unwrap_err();
        assert_eq!(server.received_requests().await.unwrap().len(), attempts);
    }
}
