//! The backfill: walks every Kommo contact, page by page, and plans a `contact_updated` for
//! each in backfill mode (upserts only, never an email). Actions go through the outbox like
//! webhook work, so both rate limits hold and a repeat run adds nothing for unchanged contacts.
//! A checkpoint file records the next page, so an interrupted backfill resumes there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kommo_client::companies::CompanyWith;
use kommo_client::ids::{AccountId, CompanyId};
use kommo_client::pagination::ListQuery;
use kommo_client::webhooks::{
    EventKind, WebhookAccount, WebhookContact, WebhookEntity, WebhookPayload,
};
use kommo_loops_bridge::Snapshot;
use kommo_loops_bridge::runtime::Bridge;
use serde::{Deserialize, Serialize};

/// Contacts per page (Kommo's maximum).
pub const PAGE_SIZE: u32 = 250;

/// How a backfill runs.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// Where the next page is recorded.
    pub checkpoint: PathBuf,
    /// Ignore the checkpoint and start from the first page.
    pub restart: bool,
    /// Stop after this many contacts (for a trial run).
    pub limit: Option<usize>,
    /// Contacts per page (at most 250).
    pub page_size: u32,
}

/// Where a backfill stands, reported as it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Contacts read from Kommo.
    pub contacts: usize,
    /// Actions planned (upserts).
    pub planned: usize,
    /// Planned actions that were not in the outbox yet.
    pub new: usize,
    /// Contacts no rule wrote for (no usable email, or no matching rule).
    pub without_action: usize,
    /// Outbox items finished so far (done, already done or skipped).
    pub finished: u64,
    /// Outbox items given up on.
    pub dead: u64,
}

/// The end of a backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The final counts.
    pub progress: Progress,
    /// From start to the outbox being empty.
    pub elapsed: Duration,
    /// The page the run started from (1 unless resumed).
    pub started_at_page: u32,
}

#[derive(Debug, Serialize, Deserialize, Default)]
struct Checkpoint {
    next_page: u32,
    contacts: usize,
    complete: bool,
}

fn read_checkpoint(path: &Path) -> Result<Option<Checkpoint>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{} is not a backfill checkpoint: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Written to a temporary file and renamed, so a crash never leaves half a checkpoint.
fn write_checkpoint(path: &Path, checkpoint: &Checkpoint) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    let text = serde_json::to_string(checkpoint).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs a backfill; the bridge must be in backfill mode and have workers running.
/// `report` is called after every contact and while the outbox drains.
pub async fn run(
    bridge: &Bridge,
    kommo: &kommo_client::Client,
    options: &BackfillOptions,
    mut report: impl FnMut(&Progress),
) -> Result<Summary, String> {
    if !bridge.rules().kommo_events().contains(&"contact_updated") {
        return Err("the rules have no [[kommo]] rule for contact_updated, so a backfill would write nothing: \
add one, e.g. when = { event = \"contact_updated\" }, do = [ { upsert_contact = {} } ]"
            .into());
    }
    let start = Instant::now();
    let account = kommo
        .account()
        .get(&[])
        .await
        .map_err(|e| format!("cannot read the Kommo account: {e}"))?;
    let mut checkpoint = match (options.restart, read_checkpoint(&options.checkpoint)?) {
        (false, Some(saved)) if saved.complete => {
            return Err(format!(
                "{} says the backfill is complete; use --restart to run it again",
                options.checkpoint.display()
            ));
        }
        (false, Some(saved)) => saved,
        _ => Checkpoint {
            next_page: 1,
            contacts: 0,
            complete: false,
        },
    };
    let started_at_page = checkpoint.next_page;
    let page_size = options.page_size.clamp(1, PAGE_SIZE);
    let mut progress = Progress {
        contacts: checkpoint.contacts,
        ..Progress::default()
    };
    let mut companies = HashMap::new();
    let with_companies = bridge.rules().uses_company_data();
    let base_url = kommo.base_url().to_string();
    let web_account = WebhookAccount::new(
        AccountId(account.id.0),
        account.subdomain.clone(),
        base_url.trim_end_matches('/'),
    );

    let query = ListQuery::new()
        .limit(page_size)
        .page(checkpoint.next_page)
        .order("id", true);
    let mut contacts = Box::pin(kommo.contacts().list(query));
    let mut in_page = 0u32;
    let mut this_run = 0usize;
    while let Some(contact) = contacts.next().await {
        let contact = contact.map_err(|e| format!("reading contacts from Kommo: {e}"))?;
        let mut snapshot = Snapshot::new();
        snapshot.add_contact(&contact);
        if with_companies && let Some(company_id) = contact.company_id() {
            if let std::collections::hash_map::Entry::Vacant(slot) = companies.entry(company_id.0) {
                let company = kommo
                    .companies()
                    .get(CompanyId(company_id.0), &[CompanyWith::Contacts])
                    .await
                    .map_err(|e| format!("reading company {}: {e}", company_id.0))?;
                slot.insert(company);
            }
            match &companies[&company_id.0] {
                Some(company) => snapshot.add_company(company),
                None => snapshot.mark_company_missing(company_id.0),
            }
        }
        let mut entity = WebhookContact::default();
        entity.id = Some(contact.id.0);
        entity.name = contact.name.clone();
        entity.entity_type = Some("contact".into());
        entity.updated_at = contact.updated_at;
        let payload = WebhookPayload::new(web_account.clone())
            .with_event(EventKind::ContactUpdated, WebhookEntity::Contact(entity));
        let (plan, new) = bridge.plan_and_store(payload, snapshot, "backfill").await?;
        progress.contacts += 1;
        progress.planned += plan.actions.len();
        progress.new += new;
        if plan.actions.is_empty() {
            progress.without_action += 1;
        }
        report(&progress);

        in_page += 1;
        this_run += 1;
        if in_page == page_size {
            in_page = 0;
            checkpoint.next_page += 1;
            checkpoint.contacts = progress.contacts;
            write_checkpoint(&options.checkpoint, &checkpoint)?;
        }
        if options.limit.is_some_and(|limit| this_run >= limit) {
            break;
        }
    }
    let walked_everything = options.limit.is_none_or(|limit| this_run < limit);
    // Wait for the workers to finish what was planned.
    loop {
        let stats = bridge.outbox().stats().await.map_err(|e| e.to_string())?;
        progress.finished = stats.done + stats.already_done;
        progress.dead = stats.dead;
        report(&progress);
        if stats.unfinished() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    checkpoint.contacts = progress.contacts;
    checkpoint.complete = walked_everything;
    if walked_everything && in_page > 0 {
        checkpoint.next_page += 1;
    }
    write_checkpoint(&options.checkpoint, &checkpoint)?;
    Ok(Summary {
        progress,
        elapsed: start.elapsed(),
        started_at_page,
    })
}
