//! The `content` example against the sandbox: it exits through the same entry point as the
//! binary, and what it made is in the fake's state.

use kommo_loops_examples::content::{PIXEL_PNG, run, run_from_env};
use kommo_loops_sandbox::loops::{Config, Sandbox};
use loops_client::Client;

#[tokio::test]
async fn the_example_runs_against_the_sandbox_by_default() {
    let mut out = Vec::new();
    let report = run_from_env(None, &mut out).await;
    let text = String::from_utf8(out).unwrap();
    let report = report.unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        text.starts_with("against the sandbox at http://127.0.0.1:"),
        "{text}"
    );
    assert_eq!(
        report.workflow.1,
        [
            "EventTrigger",
            "TimerAction",
            "SendEmailAction",
            "ExitAction"
        ]
    );
    assert_eq!(report.transactional.1, ["resetLink"]);
}

#[tokio::test]
async fn what_the_example_made_is_in_the_fake() {
    let sandbox = Sandbox::start(Config::default()).await.unwrap();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let report = run(&client, &mut std::io::sink()).await.unwrap();

    let uploads = sandbox.uploads();
    assert_eq!(uploads.len(), 1);
    assert!(uploads[0].completed && !uploads[0].authorization_sent);
    assert_eq!(
        sandbox.upload_bytes(&uploads[0].email_asset_id).as_deref(),
        Some(PIXEL_PNG)
    );

    let message = client
        .email_messages()
        .get(&report.campaign_message.0)
        .await
        .unwrap();
    assert_eq!(message.subject, "Big spring updates");
    assert!(message.lmx.contains(&report.image_url));
    assert_eq!(message.content_revision_id, report.campaign_message.1);

    let workflow = client.workflows().get(&report.workflow.0).await.unwrap();
    let trigger = workflow.root().unwrap();
    assert_eq!(trigger.text("eventName"), Some("example_signup"));
    let timer = &workflow.nodes[workflow.main_path()[1]];
    assert_eq!(
        (timer.fields["amount"].as_u64(), timer.text("unit")),
        (Some(1), Some("d"))
    );

    let published = client
        .transactional()
        .get(&report.transactional.0)
        .await
        .unwrap();
    assert!(
        published.published_email_message_id.is_some()
            && published.draft_email_message_id.is_none()
    );
    // Nothing was retried or refused: one answer per request, all 2xx.
    assert_eq!(
        sandbox.request_stats().total,
        sandbox.request_stats().with_status(200) + sandbox.request_stats().with_status(201)
    );
    sandbox.shutdown().await;
}
