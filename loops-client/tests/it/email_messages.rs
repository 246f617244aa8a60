//! Email messages: get, update with revisions, previews, Guardian; and how a 409, a 413 and
//! a 422 on an update are reported.

use loops_client::Error;
use loops_client::email_messages::{EmailFormat, SendPreviewRequest, UpdateEmailMessageRequest};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, expect_call, fixture};

fn message(revision: &str) -> serde_json::Value {
    json!({"id": "em1", "campaignId": "cmp1", "subject": "Big spring updates", "previewText": "",
           "fromName": "Loops", "fromEmail": "hello", "replyToEmail": "", "emailFormat": "styled",
           "lmx": "<Paragraph/>", "contentRevisionId": revision, "updatedAt": "x"})
}

fn documented_update() -> UpdateEmailMessageRequest {
    UpdateEmailMessageRequest::new()
        .expected_revision_id(Some("crv52l54f20i1la0lfooe3z12".into()))
        .subject("Big spring updates")
        .preview_text("A quick look at what's new")
        .from_name("Loops")
        .from_email("hello")
        .reply_to_email("support@example.com")
        .cc_email("team@example.com")
        .bcc_email("archive@example.com")
        .language_code("en")
        .email_format(EmailFormat::Styled)
        .lmx("<Style themeId=\"cth42l54f20i1la0lfooe3z12\" />\n<Paragraph><Text>Hey there.</Text></Paragraph>\n<Component componentId=\"ccp42l54f20i1la0lfooe3z12\" />")
        .contact_fallback("firstName", "there")
        .event_fallback("planName", "Pro")
        .data_fallback("resetLink", "https://example.com/reset")
}

#[tokio::test]
async fn get_update_preview_guardian() {
    let server = MockServer::start().await;
    let mut updated = message("rev2");
    updated["warnings"] = json!([{"rule": "missingAlt", "severity": "warning", "message": "Add alt text", "path": "lmx"}]);
    expect_call(
        &server,
        "GET",
        "/v1/email-messages/em1",
        None,
        200,
        message("rev1"),
    )
    .await;
    expect_call(
        &server,
        "POST",
        "/v1/email-messages/em1",
        Some(fixture("email-messages-update.request.json")),
        200,
        updated,
    )
    .await;
    expect_call(
        &server,
        "POST",
        "/v1/email-messages/em1/preview",
        Some(json!({"emails": ["you@example.com"], "contactProperties": {"firstName": "Alex"}})),
        200,
        json!({"id": "em1"}),
    )
    .await;
    expect_call(&server, "GET", "/v1/email-messages/em1/guardian", None, 200,
        json!({"errors": [], "warnings": [{"rule": "missingFallbackContactProperties", "title": "t", "description": "d", "items": []}]})).await;
    let messages = client(&server).email_messages();
    assert_eq!(
        messages
            .get("em1")
            .await
            .unwrap()
            .content_revision_id
            .as_deref(),
        Some("rev1")
    );
    let after = messages.update("em1", &documented_update()).await.unwrap();
    assert_eq!(after.content_revision_id.as_deref(), Some("rev2"));
    assert_eq!(after.warnings[0].path.as_deref(), Some("lmx"));
    let preview = messages
        .send_preview(
            "em1",
            &SendPreviewRequest::new(["you@example.com"]).contact_property("firstName", "Alex"),
        )
        .await
        .unwrap();
    assert_eq!(preview.id, "em1");
    let report = messages.run_guardian("em1").await.unwrap();
    assert!(report.is_clear());
    assert_eq!(report.warnings.len(), 1);
}

async fn conflict_then_read(current: &str) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/email-messages/em1"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"success": false, "message": "Conflict."})),
        )
        .expect(1)
        .mount(&server)
        .await;
    expect_call(
        &server,
        "GET",
        "/v1/email-messages/em1",
        None,
        200,
        message(current),
    )
    .await;
    let update = UpdateEmailMessageRequest::new()
        .expected_revision_id(Some("rev1".into()))
        .subject("x");
    client(&server)
        .email_messages()
        .update("em1", &update)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_stale_revision_reports_both_revisions() {
    let err = conflict_then_read("rev7").await;
    match &err {
        Error::StaleRevision {
            expected,
            current,
            maybe_applied_earlier,
            ..
        } => {
            assert_eq!(expected.as_deref(), Some("rev1"));
            assert_eq!(current.as_deref(), Some("rev7"));
            assert!(!maybe_applied_earlier);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("rev7"), "{err}");
}

#[tokio::test]
async fn a_conflict_with_the_current_revision_is_not_called_stale() {
    // A campaign that left Draft, or an MJML message: the revision still matches.
    let err = conflict_then_read("rev1").await;
    assert!(matches!(err, Error::Api { status: 409, .. }), "{err:?}");
}

#[tokio::test]
async fn a_repeat_after_a_lost_answer_is_stale_and_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/email-messages/em1"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/email-messages/em1"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"message": "stale"})))
        .mount(&server)
        .await;
    expect_call(
        &server,
        "GET",
        "/v1/email-messages/em1",
        None,
        200,
        message("rev2"),
    )
    .await;
    let update = UpdateEmailMessageRequest::new()
        .expected_revision_id(Some("rev1".into()))
        .subject("x");
    let err = client(&server)
        .email_messages()
        .update("em1", &update)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::StaleRevision { maybe_applied_earlier: true, current: Some(c), .. } if c == "rev2"),
        "{err:?}"
    );
}

#[tokio::test]
async fn too_large_and_unprocessable_keep_the_details() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/email-messages/em1"))
        .respond_with(ResponseTemplate::new(413).set_body_json(
            json!({"success": false, "message": "LMX payload exceeds the 100KB limit."}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/email-messages/em1"))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "success": false, "message": "LMX failed to compile.",
            "errors": [{"rule": "missingImageSrc", "message": "<Image> needs src", "path": "lmx:2"}],
            "warnings": [{"rule": "missingAlt", "severity": "warning", "message": "Add alt text"}]
        })))
        .mount(&server)
        .await;
    let messages = client(&server).email_messages();
    let update = UpdateEmailMessageRequest::new().lmx("<Image/>");
    let too_large = messages.update("em1", &update).await.unwrap_err();
    assert!(
        matches!(
            too_large,
            Error::PayloadTooLarge {
                limit_bytes: Some(102_400),
                ..
            }
        ),
        "{too_large:?}"
    );
    let invalid = messages.update("em1", &update).await.unwrap_err();
    let Error::Unprocessable { body, .. } = &invalid else {
        panic!("{invalid:?}")
    };
    assert_eq!(body.message.as_deref(), Some("LMX failed to compile."));
    assert_eq!(body.errors[0].rule.as_deref(), Some("missingImageSrc"));
    assert_eq!(body.warnings[0].message.as_deref(), Some("Add alt text"));
    assert!(
        invalid.to_string().contains("<Image> needs src"),
        "{invalid}"
    );
}

#[tokio::test]
async fn previews_are_not_repeated_and_their_cap_is_a_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/email-messages/em1/preview"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let messages = client(&server).email_messages();
    let preview = SendPreviewRequest::new(["you@example.com"]);
    assert!(matches!(
        messages.send_preview("em1", &preview).await,
        Err(Error::Api { status: 500, .. })
    ));
    // Oversized LMX never leaves the machine.
    let huge = UpdateEmailMessageRequest::new().lmx("x".repeat(200_000));
    assert!(matches!(
        messages.update("em1", &huge).await,
        Err(Error::InvalidRequest(_))
    ));
}
