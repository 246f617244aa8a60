//! Managing Loops content from code: a campaign draft with its subject and LMX, an uploaded
//! image, a two-step workflow and a published transactional email.
//!
//! [`run`] does it with any [`Client`]; [`run_from_env`] is the `content` example's entry
//! point: against a fresh sandbox by default, against real Loops when `LOOPS_API_KEY` is set.
//! Every write that Loops guards by a revision passes the revision the previous answer
//! returned, as code that edits content should.

use std::io::Write;

use kommo_loops_sandbox::loops::{Config, Sandbox};
use loops_client::Client;
use loops_client::campaigns::CreateCampaignRequest;
use loops_client::email_messages::UpdateEmailMessageRequest;
use loops_client::transactional::CreateTransactionalEmailRequest;
use loops_client::workflows::{
    CreateNodeRequest, CreateWorkflowRequest, NodeType, NodeUpdate, TimerUnit, UpdateNodeRequest,
};

/// A 1×1 PNG, small enough to upload on every run.
pub const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xd0, 0xce, 0x79, 0x07,
    0x00, 0x02, 0x4b, 0x01, 0x86, 0x55, 0xff, 0xc1, 0x67, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// What the run made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentReport {
    /// The campaign draft.
    pub campaign_id: String,
    /// Its email message, and the revision it ended at.
    pub campaign_message: (String, Option<String>),
    /// The public URL of the uploaded image.
    pub image_url: String,
    /// The workflow, and the node types along its path from the trigger.
    pub workflow: (String, Vec<String>),
    /// The published transactional email and the data variables sends must carry.
    pub transactional: (String, Vec<String>),
}

fn say(out: &mut dyn Write, line: impl AsRef<str>) {
    let _ = writeln!(out, "{}", line.as_ref());
}

/// Creates the content with `client`, printing each step to `out`.
pub async fn run(client: &Client, out: &mut dyn Write) -> loops_client::Result<ContentReport> {
    // 1. A campaign draft: Loops makes its email message, with a first revision.
    let campaign = client
        .campaigns()
        .create(&CreateCampaignRequest::new("Spring news (content example)"))
        .await?;
    let message_id = campaign.email_message_id.clone().unwrap_or_default();
    say(
        out,
        format!(
            "campaign {} created (draft), email message {message_id}",
            campaign.id
        ),
    );

    // 2. An image for it: slot, PUT to the presigned URL, complete, in one call.
    let image = client.uploads().upload("image/png", PIXEL_PNG).await?;
    say(out, format!("image uploaded: {}", image.final_url));

    // 3. The email's subject and LMX, guarded by the revision the create returned.
    let lmx = format!(
        "<Paragraph><Text>Hi {{contact.firstName}}, here is what is new.</Text></Paragraph>\n\
         <Image src=\"{}\" alt=\"Our spring look\" />",
        image.final_url
    );
    let message = client
        .email_messages()
        .update(
            &message_id,
            &UpdateEmailMessageRequest::new()
                .expected_revision_id(campaign.email_message_content_revision_id.clone())
                .subject("Big spring updates")
                .preview_text("A quick look at what is new")
                .from_name("Example")
                .from_email("hello")
                .lmx(lmx)
                .contact_fallback("firstName", "there"),
        )
        .await?;
    say(
        out,
        format!(
            "subject and LMX set, revision {}",
            message.content_revision_id.as_deref().unwrap_or("-")
        ),
    );

    // 4. A two-step workflow: on `example_signup`, wait a day, then send an email.
    let workflows = client.workflows();
    let workflow = workflows
        .create(&CreateWorkflowRequest::new("Onboarding (content example)"))
        .await?;
    let trigger = workflow.root_node_id.clone();
    let node = workflows
        .update_node(
            &workflow.id,
            &trigger,
            &UpdateNodeRequest::new(
                workflow.workflow_revision_id.clone(),
                NodeUpdate::event_trigger("example_signup"),
            ),
        )
        .await?;
    let timer = workflows
        .create_node(
            &workflow.id,
            &CreateNodeRequest::after(
                node.workflow_revision_id.clone(),
                NodeType::TimerAction,
                &trigger,
            ),
        )
        .await?;
    let timer_node = workflows
        .update_node(
            &workflow.id,
            &timer.node.id,
            &UpdateNodeRequest::new(
                timer.workflow.workflow_revision_id.clone(),
                NodeUpdate::timer(1, TimerUnit::Days),
            ),
        )
        .await?;
    let email = workflows
        .create_node(
            &workflow.id,
            &CreateNodeRequest::after(
                timer_node.workflow_revision_id.clone(),
                NodeType::SendEmailAction,
                &timer.node.id,
            ),
        )
        .await?;
    if let Some(email_message) = email.node.email_message_id() {
        let current = client.email_messages().get(email_message).await?;
        client
            .email_messages()
            .update(
                email_message,
                &UpdateEmailMessageRequest::new()
                    .expected_revision_id(current.content_revision_id)
                    .subject("Welcome aboard")
                    .lmx("<Paragraph><Text>Thanks for signing up.</Text></Paragraph>"),
            )
            .await?;
    }
    let path: Vec<String> = email
        .workflow
        .main_path()
        .iter()
        .map(|id| email.workflow.nodes[*id].type_name.to_string())
        .collect();
    say(
        out,
        format!("workflow {}: {}", workflow.id, path.join(" -> ")),
    );

    // 5. A transactional email: create (with a draft), write the draft, publish.
    let transactional = client.transactional();
    let created = transactional
        .create(&CreateTransactionalEmailRequest::new(
            "Password reset (content example)",
        ))
        .await?;
    let draft = created.draft_email_message_id.clone().unwrap_or_default();
    client
        .email_messages()
        .update(
            &draft,
            &UpdateEmailMessageRequest::new()
                .expected_revision_id(created.draft_email_message_content_revision_id.clone())
                .subject("Reset your password")
                .from_name("Example")
                .from_email("hello")
                .lmx("<Paragraph><Text>Reset it here: {data.resetLink}</Text></Paragraph>"),
        )
        .await?;
    let published = transactional.publish(&created.id).await?;
    say(
        out,
        format!(
            "transactional email {} published; sends need {:?}",
            published.id, published.data_variables
        ),
    );

    Ok(ContentReport {
        campaign_id: campaign.id,
        campaign_message: (message_id, message.content_revision_id),
        image_url: image.final_url,
        workflow: (workflow.id, path),
        transactional: (published.id, published.data_variables),
    })
}

/// The example's entry point: against real Loops with `api_key`, otherwise against a sandbox
/// started for the run (and stopped after it).
pub async fn run_from_env(
    api_key: Option<String>,
    out: &mut dyn Write,
) -> Result<ContentReport, String> {
    match api_key.filter(|k| !k.trim().is_empty()) {
        Some(key) => {
            say(
                out,
                "against Loops (LOOPS_API_KEY is set): this creates real drafts and uses one upload",
            );
            let client = Client::new(key).map_err(|e| e.to_string())?;
            run(&client, out).await.map_err(|e| e.to_string())
        }
        None => {
            let sandbox = Sandbox::start(Config::default())
                .await
                .map_err(|e| e.to_string())?;
            say(
                out,
                format!("against the sandbox at {}", sandbox.base_url()),
            );
            let client = Client::builder()
                .api_key(sandbox.api_key())
                .base_url(sandbox.base_url())
                .build()
                .map_err(|e| e.to_string())?;
            let report = run(&client, out).await.map_err(|e| e.to_string());
            sandbox.shutdown().await;
            report
        }
    }
}
