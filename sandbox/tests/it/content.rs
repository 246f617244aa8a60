//! The Loops fake's content API through the real client: campaigns and their email
//! messages with revisions, transactional emails from creation to a send, uploads across the
//! presigned URL, the library, the daily caps and the API switch.

use futures_util::TryStreamExt;
use kommo_loops_sandbox::loops::{Config, MailingListSeed, TransactionalTemplate};
use loops_client::Error;
use loops_client::audience_segments::{
    ActivityAction, ActivityTarget, AudienceCondition, AudienceFilter,
    CreateAudienceSegmentRequest, PropertyOperator,
};
use loops_client::campaigns::{CampaignStatus, CreateCampaignRequest, UpdateCampaignRequest};
use loops_client::components::{CreateComponentRequest, UpdateComponentRequest};
use loops_client::email_messages::{SendPreviewRequest, UpdateEmailMessageRequest};
use loops_client::endpoint::GatedApi;
use loops_client::groups::{CreateGroupRequest, UpdateGroupRequest};
use loops_client::themes::{CreateThemeRequest, ThemeStyles, UpdateThemeRequest};
use loops_client::transactional::{CreateTransactionalEmailRequest, SendTransactionalRequest};

use crate::support::{api, client, json, sandbox, unlimited};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n pretend pixels";

#[tokio::test]
async fn a_campaign_draft_and_its_email_with_revisions() {
    let sb = sandbox(unlimited().list(MailingListSeed::new("list_news", "News"))).await;
    let c = client(&sb);
    let campaign = c
        .campaigns()
        .create(&CreateCampaignRequest::new("Spring news").mailing_list_id(Some("list_news")))
        .await
        .unwrap();
    assert_eq!(campaign.status, CampaignStatus::Draft);
    let message_id = campaign.email_message_id.clone().unwrap();
    let first = campaign.email_message_content_revision_id.clone();
    let messages = c.email_messages();
    let update = UpdateEmailMessageRequest::new()
        .expected_revision_id(first.clone())
        .subject("Big spring updates")
        .lmx("<Paragraph><Text>Hi {contact.firstName}</Text></Paragraph>")
        .contact_fallback("firstName", "there");
    let updated = messages.update(&message_id, &update).await.unwrap();
    assert_ne!(
        updated.content_revision_id, first,
        "every write moves the revision"
    );
    assert_eq!(updated.contact_properties_fallbacks["firstName"], "there");

    // A second writer still holding the first revision is refused, and told the current one.
    let stale = messages
        .update(&message_id, &update.clone().subject("Other"))
        .await
        .unwrap_err();
    match &stale {
        Error::StaleRevision {
            expected, current, ..
        } => {
            assert_eq!(expected, &first);
            assert_eq!(current, &updated.content_revision_id);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        messages.get(&message_id).await.unwrap().subject,
        "Big spring updates",
        "nothing applied"
    );

    // `null` deletes a fallback; keys not named stay.
    let again = messages
        .update(
            &message_id,
            &UpdateEmailMessageRequest::new()
                .expected_revision_id(updated.content_revision_id.clone())
                .remove_contact_fallback("firstName"),
        )
        .await
        .unwrap();
    assert!(again.contact_properties_fallbacks.is_empty());

    // Once sent, the campaign and its content are frozen.
    sb.set_campaign_status(&campaign.id, "Sent").unwrap();
    let frozen = c
        .campaigns()
        .update(&campaign.id, &UpdateCampaignRequest::new().name("x"))
        .await
        .unwrap_err();
    assert!(matches!(frozen, Error::DraftRequired { .. }), "{frozen:?}");
    let locked = messages
        .update(
            &message_id,
            &UpdateEmailMessageRequest::new()
                .expected_revision_id(again.content_revision_id.clone())
                .subject("late"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(locked, Error::Api { status: 409, .. }),
        "the revision matched: not stale: {locked:?}"
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn lmx_is_checked_like_loops_checks_it() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    let campaign = c
        .campaigns()
        .create(&CreateCampaignRequest::new("C"))
        .await
        .unwrap();
    let id = campaign.email_message_id.unwrap();
    let broken = UpdateEmailMessageRequest::new()
        .lmx("<Paragraph><Image /></Paragraph><Component componentId=\"nope\" />");
    let err = c.email_messages().update(&id, &broken).await.unwrap_err();
    let Error::Unprocessable { body, .. } = &err else {
        panic!("{err:?}")
    };
    let rules: Vec<_> = body
        .errors
        .iter()
        .filter_map(|e| e.rule.as_deref())
        .collect();
    assert_eq!(rules, ["missingImageSrc", "unknownComponent"]);
    assert_eq!(body.warnings.len(), 1, "the image has no alt text either");

    let component = c
        .components()
        .create(&CreateComponentRequest::new(
            "Footer",
            "<Paragraph><Text>Bye</Text></Paragraph>",
        ))
        .await
        .unwrap();
    let ok = UpdateEmailMessageRequest::new().lmx(format!(
        "<Image src=\"https://x/y.png\" /><Component componentId=\"{}\" />",
        component.id
    ));
    let saved = c.email_messages().update(&id, &ok).await.unwrap();
    assert_eq!(
        saved.warnings[0].rule, "missingAlt",
        "warnings come back with a success"
    );
    let changed = c
        .components()
        .update(
            &component.id,
            &UpdateComponentRequest::new().lmx("<Paragraph/>"),
        )
        .await
        .unwrap();
    assert_eq!(changed.affected_email_count, Some(1));
    let report = c.email_messages().run_guardian(&id).await.unwrap();
    assert!(report.is_clear());
    sb.shutdown().await;
}

#[tokio::test]
async fn a_transactional_email_from_creation_to_a_send() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    let tx = c.transactional();
    let created = tx
        .create(&CreateTransactionalEmailRequest::new("Password reset"))
        .await
        .unwrap();
    assert!(created.published_email_message_id.is_none());
    let draft = created.draft_email_message_id.clone().unwrap();

    // Publishing an empty draft fails Loops' checks; the messages are kept.
    let empty = tx.publish(&created.id).await.unwrap_err();
    let Error::Unprocessable { body, .. } = &empty else {
        panic!("{empty:?}")
    };
    assert_eq!(body.errors.len(), 2, "{empty}");

    c.email_messages()
        .update(
            &draft,
            &UpdateEmailMessageRequest::new()
                .expected_revision_id(created.draft_email_message_content_revision_id.clone())
                .subject("Reset your password")
                .lmx("<Paragraph><Text>Click {data.resetLink} {data.name}</Text></Paragraph>")
                .data_fallback("name", "there"),
        )
        .await
        .unwrap();
    let published = tx.publish(&created.id).await.unwrap();
    assert_eq!(
        published.published_email_message_id.as_deref(),
        Some(draft.as_str())
    );
    assert!(published.draft_email_message_id.is_none());
    assert_eq!(published.data_variables, ["resetLink", "name"]);

    // No draft left: a second publish is refused.
    let again = tx.publish(&created.id).await.unwrap_err();
    assert!(matches!(again, Error::DraftRequired { .. }), "{again:?}");

    // The published email sends; its variable without a fallback is required.
    let missing = tx
        .send(&SendTransactionalRequest::new(
            &created.id,
            "ada@example.com",
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(400));
    tx.send(
        &SendTransactionalRequest::new(&created.id, "ada@example.com")
            .data_variable("resetLink", "https://x/r"),
    )
    .await
    .unwrap();
    assert_eq!(sb.transactional_sends().len(), 1);

    // A new draft starts from the published version.
    let redraft = tx.ensure_draft(&created.id).await.unwrap();
    let copy = c
        .email_messages()
        .get(redraft.draft_email_message_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(copy.subject, "Reset your password");
    assert_eq!(
        tx.ensure_draft(&created.id)
            .await
            .unwrap()
            .draft_email_message_id,
        redraft.draft_email_message_id,
        "idempotent"
    );
    let listed: Vec<_> = tx
        .list(Default::default(), None)
        .try_collect()
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|t| t.id == created.id && t.transactional_group_id.is_some())
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn seeded_transactional_emails_are_managed_too() {
    let sb = sandbox(
        unlimited()
            .transactional(TransactionalTemplate::new("tx_welcome", "Welcome").required(["name"])),
    )
    .await;
    let c = client(&sb);
    let welcome = c.transactional().get("tx_welcome").await.unwrap();
    assert!(welcome.published_email_message_id.is_some());
    assert!(welcome.draft_email_message_id.is_none());
    let missing = c.transactional().get("nope").await.unwrap_err();
    assert!(missing.is_not_found());
    sb.shutdown().await;
}

#[tokio::test]
async fn an_upload_goes_through_the_presigned_url_without_the_key() {
    let sb = sandbox(unlimited().daily_caps(2, 100)).await;
    let c = client(&sb);
    let done = c.uploads().upload("image/png", PNG).await.unwrap();
    assert!(
        done.final_url.starts_with("http://127.0.0.1:"),
        "{}",
        done.final_url
    );
    assert_eq!(sb.upload_bytes(&done.email_asset_id).as_deref(), Some(PNG));
    let uploads = sb.uploads();
    assert!(uploads[0].completed && !uploads[0].authorization_sent && uploads[0].refused_puts == 0);
    let served = reqwest::get(&done.final_url).await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);

    // A slot without its bytes answers 425 (retried, then reported).
    let slot = c
        .uploads()
        .create(&loops_client::uploads::CreateUploadRequest::new(
            "image/png",
            3,
        ))
        .await
        .unwrap();
    let early = c
        .uploads()
        .complete(&slot.email_asset_id)
        .await
        .unwrap_err();
    assert_eq!(early.status(), Some(425));

    // The daily cap names itself and is not retried.
    let capped = c.uploads().upload("image/gif", PNG).await.unwrap_err();
    assert!(
        matches!(capped, Error::QuotaExceeded { limit: Some(2), .. }),
        "{capped:?}"
    );
    assert_eq!(sb.request_stats().with_status(429), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_storage_host_refuses_a_put_that_does_not_match() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    let slot = c
        .uploads()
        .create(&loops_client::uploads::CreateUploadRequest::new(
            "image/png",
            PNG.len() as u64,
        ))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let cases = [
        ("image/jpeg", None, PNG.to_vec()),
        ("image/png", None, PNG[..4].to_vec()),
        (
            "image/png",
            Some(format!("Bearer {}", sb.api_key())),
            PNG.to_vec(),
        ),
    ];
    for (content_type, auth, body) in cases {
        let mut put = http
            .put(&slot.presigned_url)
            .header("content-type", content_type)
            .body(body);
        if let Some(auth) = auth {
            put = put.header("authorization", auth);
        }
        assert!(put.send().await.unwrap().status().is_client_error());
    }
    let upload = &sb.uploads()[0];
    assert_eq!(
        (
            upload.refused_puts,
            upload.authorization_sent,
            upload.received_bytes
        ),
        (3, true, None)
    );
    let forged = slot
        .presigned_url
        .replace("X-Sandbox-Signature=", "X-Sandbox-Signature=x");
    assert_eq!(
        http.put(forged)
            .header("content-type", "image/png")
            .body(PNG)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn previews_are_recorded_and_capped() {
    let sb = sandbox(unlimited().daily_caps(50, 1)).await;
    let c = client(&sb);
    let campaign = c
        .campaigns()
        .create(&CreateCampaignRequest::new("C"))
        .await
        .unwrap();
    let id = campaign.email_message_id.unwrap();
    let preview = SendPreviewRequest::new(["me@example.com"]).contact_property("firstName", "Ada");
    c.email_messages()
        .send_preview(&id, &preview)
        .await
        .unwrap();
    assert_eq!(sb.previews()[0].emails, ["me@example.com"]);
    let capped = c
        .email_messages()
        .send_preview(&id, &preview)
        .await
        .unwrap_err();
    assert!(matches!(capped, Error::RateLimited { .. }), "{capped:?}");
    // A campaign cannot render data variables.
    let wrong = SendPreviewRequest::new(["me@example.com"]).data_variable("x", "y");
    assert_eq!(
        c.email_messages()
            .send_preview(&id, &wrong)
            .await
            .unwrap_err()
            .status(),
        Some(400)
    );
    assert_eq!(sb.previews().len(), 1);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_library() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    let groups = c.campaign_groups();
    let all: Vec<_> = groups.list(None).try_collect().await.unwrap();
    assert_eq!(all[0].name, "Unsorted", "every team has its default group");
    let reserved = groups
        .update(&all[0].id, &UpdateGroupRequest::new().name("Mine"))
        .await
        .unwrap_err();
    assert_eq!(reserved.status(), Some(409));
    let news = groups
        .create(&CreateGroupRequest::new("News"))
        .await
        .unwrap();
    assert_eq!(
        groups
            .update(&news.id, &UpdateGroupRequest::new().description("d"))
            .await
            .unwrap()
            .description
            .as_deref(),
        Some("d")
    );
    assert_eq!(
        c.transactional_groups()
            .list_page(&Default::default())
            .await
            .unwrap()
            .data
            .len(),
        1
    );

    let campaign = c
        .campaigns()
        .create(&CreateCampaignRequest::new("C").campaign_group_id(&news.id))
        .await
        .unwrap();
    let filter = AudienceFilter::all([
        AudienceCondition::property("plan", PropertyOperator::Equals, "pro"),
        AudienceCondition::activity(
            ActivityAction::Opened,
            ActivityTarget::Campaign,
            &campaign.id,
            false,
        ),
    ]);
    let segments = c.audience_segments();
    let segment = segments
        .create(&CreateAudienceSegmentRequest::new(
            "Pro openers",
            filter.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(segment.filter, Some(filter.clone()));
    let duplicate = segments
        .create(&CreateAudienceSegmentRequest::new("Pro openers", filter))
        .await
        .unwrap_err();
    assert_eq!(duplicate.status(), Some(400));
    let dangling = AudienceFilter::all([AudienceCondition::activity(
        ActivityAction::Sent,
        ActivityTarget::Workflow,
        "nope",
        true,
    )]);
    assert!(
        segments
            .create(&CreateAudienceSegmentRequest::new("x", dangling))
            .await
            .unwrap_err()
            .is_not_found()
    );

    let themes = c.themes();
    let default = themes.list(None).try_collect::<Vec<_>>().await.unwrap();
    assert!(default[0].is_default);
    let dark = themes
        .create(&CreateThemeRequest::new("Dark"))
        .await
        .unwrap();
    let mut styles = ThemeStyles::default();
    styles.background_color = Some("#000".into());
    let updated = themes
        .update(&dark.id, &UpdateThemeRequest::new().styles(styles))
        .await
        .unwrap();
    assert_eq!(
        (
            updated.styles.background_color.as_deref(),
            updated.affected_email_count
        ),
        (Some("#000"), Some(0))
    );
    assert!(themes.get("nope").await.unwrap_err().is_not_found());
    sb.shutdown().await;
}

#[tokio::test]
async fn lists_page_with_cursors() {
    let sb = sandbox(unlimited()).await;
    let c = client(&sb);
    for i in 0..23 {
        c.components()
            .create(&CreateComponentRequest::new(
                format!("C{i}"),
                "<Paragraph/>",
            ))
            .await
            .unwrap();
    }
    let all: Vec<_> = c.components().list(Some(10)).try_collect().await.unwrap();
    assert_eq!(all.len(), 23);
    assert_eq!(all[0].name, "C22", "newest first");
    let gets = sb
        .request_log()
        .iter()
        .filter(|r| r.endpoint == "GET /v1/components")
        .count();
    assert_eq!(gets, 3);
    sb.shutdown().await;
}

#[tokio::test]
async fn an_api_that_is_not_enabled_is_not_a_bad_key() {
    let sb = sandbox(unlimited().content_api(false)).await;
    let c = client(&sb);
    let err = c.themes().get("th1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::ApiNotEnabled {
                api: GatedApi::Content,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_unauthorized());
    // The workflow API is separate, and the core API is untouched.
    c.workflows().list_page(&Default::default()).await.unwrap();
    c.transactional()
        .list_page(Default::default(), &Default::default())
        .await
        .unwrap();
    sb.set_api_enabled(GatedApi::Content, true);
    c.themes().list_page(&Default::default()).await.unwrap();
    sb.set_api_enabled(GatedApi::Workflows, false);
    let raw = api(&sb, reqwest::Method::GET, "/v1/event-patterns")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 401);
    assert!(
        json(raw).await["message"]
            .as_str()
            .unwrap()
            .contains("workflow API")
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn reset_brings_back_the_configured_content() {
    let sb = sandbox(Config::default().rate_limit(None).workflow_api(false)).await;
    let c = client(&sb);
    c.themes()
        .create(&CreateThemeRequest::new("Dark"))
        .await
        .unwrap();
    sb.set_api_enabled(GatedApi::Workflows, true);
    sb.reset();
    assert_eq!(
        c.themes()
            .list_page(&Default::default())
            .await
            .unwrap()
            .data
            .len(),
        1
    );
    assert!(
        c.workflows()
            .get("x")
            .await
            .unwrap_err()
            .is_api_not_enabled()
    );
    sb.shutdown().await;
}
