//! Groups, audience segments, themes, components, campaigns and transactional-email
//! management: method, path, key, query and body asserted for every call, answers parsed.

use futures_util::TryStreamExt;
use loops_client::audience_segments::{
    AudienceCondition, AudienceFilter, CreateAudienceSegmentRequest, PropertyOperator,
};
use loops_client::campaigns::{
    CampaignStatus, CreateCampaignRequest, Scheduling, UpdateCampaignRequest,
};
use loops_client::components::{CreateComponentRequest, UpdateComponentRequest};
use loops_client::groups::{CreateGroupRequest, UpdateGroupRequest};
use loops_client::pagination::PageRequest;
use loops_client::themes::{CreateThemeRequest, ThemeStyles, UpdateThemeRequest};
use loops_client::transactional::{
    CreateTransactionalEmailRequest, UpdateTransactionalEmailRequest,
};
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, expect_call, fixture};

fn group(id: &str) -> serde_json::Value {
    json!({"id": id, "name": "Onboarding", "description": "Signup flows",
           "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"})
}

fn page(items: Vec<serde_json::Value>, next: Option<&str>) -> serde_json::Value {
    json!({"pagination": {"totalResults": 3, "returnedResults": items.len(), "perPage": 10,
           "totalPages": 2, "nextCursor": next, "nextPage": null}, "data": items})
}

#[tokio::test]
async fn campaign_and_transactional_groups() {
    for (base, campaign) in [
        ("/v1/campaign-groups", true),
        ("/v1/transactional-groups", false),
    ] {
        let server = MockServer::start().await;
        let body = json!({"name": "Onboarding", "description": "Signup flows"});
        expect_call(&server, "POST", base, Some(body), 201, group("g1")).await;
        expect_call(
            &server,
            "GET",
            &format!("{base}/g1"),
            None,
            200,
            group("g1"),
        )
        .await;
        expect_call(
            &server,
            "POST",
            &format!("{base}/g1"),
            Some(json!({"name": "Renamed"})),
            200,
            group("g1"),
        )
        .await;
        let client = client(&server);
        let groups = if campaign {
            client.campaign_groups()
        } else {
            client.transactional_groups()
        };
        let created = groups
            .create(&CreateGroupRequest::new("Onboarding").description("Signup flows"))
            .await
            .unwrap();
        assert_eq!(created.description.as_deref(), Some("Signup flows"));
        assert_eq!(groups.get("g1").await.unwrap().id, "g1");
        groups
            .update("g1", &UpdateGroupRequest::new().name("Renamed"))
            .await
            .unwrap();
        // The reserved name never leaves the machine.
        assert!(matches!(
            groups.create(&CreateGroupRequest::new("Unsorted")).await,
            Err(loops_client::Error::InvalidRequest(_))
        ));
    }
}

#[tokio::test]
async fn group_lists_follow_the_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/transactional-groups"))
        .and(query_param("perPage", "10"))
        .and(query_param("cursor", "c2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![group("g3")], None)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/transactional-groups"))
        .and(query_param("perPage", "10"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page(vec![group("g1"), group("g2")], Some("c2"))),
        )
        .expect(1)
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .transactional_groups()
        .list(Some(10))
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<&str> = all.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["g1", "g2", "g3"]);
}

#[tokio::test]
async fn audience_segments() {
    let server = MockServer::start().await;
    let segment = json!({"id": "s1", "name": "Active users", "description": "Opened a campaign in the last 30 days",
        "filter": fixture("audience-segments-create.request.json")["filter"],
        "createdAt": "x", "updatedAt": "y"});
    expect_call(
        &server,
        "POST",
        "/v1/audience-segments",
        Some(fixture("audience-segments-create.request.json")),
        201,
        segment.clone(),
    )
    .await;
    expect_call(
        &server,
        "GET",
        "/v1/audience-segments/s1",
        None,
        200,
        segment.clone(),
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/audience-segments"))
        .and(query_param("perPage", "20"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(vec![segment], None)))
        .expect(1)
        .mount(&server)
        .await;
    let segments = client(&server).audience_segments();
    let request = CreateAudienceSegmentRequest::new(
        "Active users",
        AudienceFilter::all([AudienceCondition::property(
            "planTier",
            PropertyOperator::Equals,
            "pro",
        )]),
    )
    .description("Opened a campaign in the last 30 days");
    let created = segments.create(&request).await.unwrap();
    assert_eq!(created.filter.unwrap().conditions.len(), 1);
    assert_eq!(segments.get("s1").await.unwrap().name, "Active users");
    let listed = segments
        .list_page(&PageRequest::first(Some(20)))
        .await
        .unwrap();
    assert_eq!(listed.data.len(), 1);
}

#[tokio::test]
async fn themes() {
    let server = MockServer::start().await;
    let theme = json!({"id": "th1", "name": "Dark mode", "isDefault": false,
        "styles": {"backgroundColor": "#111827", "bodyXPadding": 24}, "createdAt": "x", "updatedAt": "y"});
    expect_call(
        &server,
        "POST",
        "/v1/themes",
        Some(json!({"name": "Dark mode", "styles": {"backgroundColor": "#111827"}})),
        200,
        theme.clone(),
    )
    .await;
    expect_call(&server, "GET", "/v1/themes/th1", None, 200, theme.clone()).await;
    let mut updated = theme.clone();
    updated["affectedEmailCount"] = json!(4);
    expect_call(
        &server,
        "POST",
        "/v1/themes/th1",
        Some(json!({"name": "Dark v2", "styles": {"buttonBodyColor": "#1d4ed8"}})),
        200,
        updated,
    )
    .await;
    expect_call(
        &server,
        "GET",
        "/v1/themes",
        None,
        200,
        page(vec![theme], None),
    )
    .await;
    let themes = client(&server).themes();
    let mut styles = ThemeStyles::default();
    styles.background_color = Some("#111827".into());
    let created = themes
        .create(&CreateThemeRequest::new("Dark mode").styles(styles))
        .await
        .unwrap();
    assert_eq!(created.styles.body_x_padding, Some(24.into()));
    assert_eq!(themes.get("th1").await.unwrap().name, "Dark mode");
    let mut change = ThemeStyles::default();
    change.button_body_color = Some("#1d4ed8".into());
    let after = themes
        .update(
            "th1",
            &UpdateThemeRequest::new().name("Dark v2").styles(change),
        )
        .await
        .unwrap();
    assert_eq!(after.affected_email_count, Some(4));
    let all: Vec<_> = themes.list(None).try_collect().await.unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn components() {
    let server = MockServer::start().await;
    let lmx = "<Section><H1><Text>Welcome to Acme</Text></H1></Section>";
    let component = json!({"id": "cp1", "name": "Header", "lmx": lmx});
    expect_call(
        &server,
        "POST",
        "/v1/components",
        Some(json!({"name": "Header", "lmx": lmx})),
        200,
        component.clone(),
    )
    .await;
    expect_call(
        &server,
        "GET",
        "/v1/components/cp1",
        None,
        200,
        component.clone(),
    )
    .await;
    expect_call(
        &server,
        "POST",
        "/v1/components/cp1",
        Some(json!({"lmx": "<Section/>"})),
        200,
        json!({"id": "cp1", "name": "Header", "lmx": "<Section/>", "affectedEmailCount": 2}),
    )
    .await;
    expect_call(
        &server,
        "GET",
        "/v1/components",
        None,
        200,
        page(vec![component], None),
    )
    .await;
    let components = client(&server).components();
    components
        .create(&CreateComponentRequest::new("Header", lmx))
        .await
        .unwrap();
    assert_eq!(components.get("cp1").await.unwrap().lmx, lmx);
    let changed = components
        .update("cp1", &UpdateComponentRequest::new().lmx("<Section/>"))
        .await
        .unwrap();
    assert_eq!(changed.affected_email_count, Some(2));
    assert_eq!(
        components
            .list_page(&PageRequest::default())
            .await
            .unwrap()
            .data
            .len(),
        1
    );
}

#[tokio::test]
async fn campaigns() {
    let server = MockServer::start().await;
    let campaign = json!({"id": "cmp1", "url": "https://app.loops.so/campaigns/cmp1", "name": "Spring product announcement",
        "status": "Draft", "createdAt": "x", "updatedAt": "y", "emailMessageId": "em1",
        "emailMessageContentRevisionId": "rev1", "campaignGroupId": "ccg42l54f20i1la0lfooe3z12",
        "mailingListId": "cm06f5v0e45nf0ml5754o9cix", "audienceSegmentId": null, "audienceFilter": null,
        "scheduling": {"method": "now", "timestamp": null}});
    expect_call(
        &server,
        "POST",
        "/v1/campaigns",
        Some(fixture("campaigns-create.request.json")),
        201,
        campaign.clone(),
    )
    .await;
    expect_call(
        &server,
        "GET",
        "/v1/campaigns/cmp1",
        None,
        200,
        campaign.clone(),
    )
    .await;
    expect_call(&server, "POST", "/v1/campaigns/cmp1",
        Some(json!({"name": "Renamed", "scheduling": {"method": "schedule", "timestamp": "2026-06-22T14:00:00.000Z"}})),
        200, campaign.clone()).await;
    expect_call(
        &server,
        "GET",
        "/v1/campaigns",
        None,
        200,
        page(vec![campaign], None),
    )
    .await;
    let campaigns = client(&server).campaigns();
    let request = CreateCampaignRequest::new("Spring product announcement")
        .campaign_group_id("ccg42l54f20i1la0lfooe3z12")
        .mailing_list_id(Some("cm06f5v0e45nf0ml5754o9cix"))
        .audience_segment_id(None)
        .audience_filter(None)
        .scheduling(Scheduling::now());
    let created = campaigns.create(&request).await.unwrap();
    assert_eq!(
        created.email_message_content_revision_id.as_deref(),
        Some("rev1")
    );
    assert_eq!(
        campaigns.get("cmp1").await.unwrap().status,
        CampaignStatus::Draft
    );
    campaigns
        .update(
            "cmp1",
            &UpdateCampaignRequest::new()
                .name("Renamed")
                .scheduling(Scheduling::at("2026-06-22T14:00:00.000Z")),
        )
        .await
        .unwrap();
    let all: Vec<_> = campaigns.list(None).try_collect().await.unwrap();
    assert_eq!(all[0].id, "cmp1");
}

#[tokio::test]
async fn transactional_email_management() {
    let server = MockServer::start().await;
    let email = json!({"id": "tx1", "name": "Welcome email", "draftEmailMessageId": "em1",
        "draftEmailMessageContentRevisionId": "rev1", "publishedEmailMessageId": null,
        "transactionalGroupId": "tg1", "createdAt": "x", "updatedAt": "y", "dataVariables": []});
    let published = json!({"id": "tx1", "name": "Welcome email", "draftEmailMessageId": null,
        "publishedEmailMessageId": "em1", "transactionalGroupId": "tg1", "createdAt": "x",
        "updatedAt": "y", "dataVariables": ["firstName"]});
    expect_call(
        &server,
        "POST",
        "/v1/transactional-emails",
        Some(json!({"name": "Welcome email", "transactionalGroupId": "tg1"})),
        201,
        email.clone(),
    )
    .await;
    expect_call(
        &server,
        "GET",
        "/v1/transactional-emails/tx1",
        None,
        200,
        email.clone(),
    )
    .await;
    expect_call(
        &server,
        "POST",
        "/v1/transactional-emails/tx1",
        Some(json!({"name": "Welcome"})),
        200,
        email.clone(),
    )
    .await;
    expect_call(
        &server,
        "POST",
        "/v1/transactional-emails/tx1/draft",
        None,
        200,
        email.clone(),
    )
    .await;
    expect_call(
        &server,
        "POST",
        "/v1/transactional-emails/tx1/publish",
        None,
        200,
        published,
    )
    .await;
    let transactional = client(&server).transactional();
    let created = transactional
        .create(
            &CreateTransactionalEmailRequest::new("Welcome email").transactional_group_id("tg1"),
        )
        .await
        .unwrap();
    assert_eq!(
        created.draft_email_message_content_revision_id.as_deref(),
        Some("rev1")
    );
    transactional.get("tx1").await.unwrap();
    transactional
        .update(
            "tx1",
            &UpdateTransactionalEmailRequest::new().name("Welcome"),
        )
        .await
        .unwrap();
    assert_eq!(
        transactional
            .ensure_draft("tx1")
            .await
            .unwrap()
            .draft_email_message_id
            .as_deref(),
        Some("em1")
    );
    let live = transactional.publish("tx1").await.unwrap();
    assert_eq!(live.data_variables, ["firstName"]);
    assert!(live.draft_email_message_id.is_none());
    // The documented current list shape.
    let page: loops_client::pagination::Page<loops_client::transactional::TransactionalEmail> =
        serde_json::from_value(fixture("transactional-emails.list.200.json")).unwrap();
    assert_eq!(
        page.data[0].transactional_group_id.as_deref(),
        Some("ctg42l54f20i1la0lfooe3z12")
    );
}

#[test]
fn the_readme_maps_every_js_sdk_method() {
    // The public methods of the npm package `loops` 7.3.0 (`LoopsClient` in its index.d.ts).
    const JS_7_3_0: &str = "testApiKey createContact updateContact findContact deleteContact \
        checkContactSuppression removeContactSuppression createContactProperty \
        listContactProperties listMailingLists sendEvent sendTransactionalEmail \
        listTransactionalEmails getTransactionalEmail createTransactionalEmail \
        updateTransactionalEmail ensureTransactionalEmailDraft publishTransactionalEmail \
        listDedicatedSendingIps listAudienceSegments getAudienceSegment createAudienceSegment \
        listThemes getTheme createTheme updateTheme listComponents getComponent createComponent \
        updateComponent listCampaigns createCampaign getCampaign updateCampaign getEmailMessage \
        updateEmailMessage sendEmailMessagePreview runEmailMessageGuardian listEventPatterns \
        getEventPattern getEventPatternByName listWorkflows createWorkflow getWorkflow \
        updateWorkflow deleteWorkflow changeWorkflowMailingList createWorkflowNode \
        getWorkflowNode updateWorkflowNode deleteWorkflowNode addWorkflowBranch \
        rerouteWorkflowNode deleteWorkflowNodesRecursive listCampaignGroups createCampaignGroup \
        getCampaignGroup updateCampaignGroup listTransactionalGroups createTransactionalGroup \
        getTransactionalGroup updateTransactionalGroup createUpload completeUpload";
    let readme = include_str!("../../README.md");
    let start = readme
        .find("## JavaScript SDK to Rust")
        .expect("the section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |i| i + 3)];
    let methods: Vec<&str> = JS_7_3_0.split_whitespace().collect();
    assert_eq!(methods.len(), 64);
    for method in methods {
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{method}(")))
            .unwrap_or_else(|| panic!("{method} is missing from the README table"));
        assert!(row.contains("c."), "{method} has no Rust method: {row}");
        assert!(!row.to_lowercase().contains("missing"), "{row}");
    }
}
