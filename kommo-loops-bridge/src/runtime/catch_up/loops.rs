//! The Loops side. Loops keeps no event log, so a lost bounce, complaint or unsubscribe webhook
//! leaves nothing to replay; what the API does tell is each contact's state now. For every
//! contact the bridge has synced, [`Bridge::recover_loops`] asks whether it is unsubscribed or
//! suppressed, and plans a `contact.unsubscribed` (what Loops also sends after a hard bounce)
//! for each one without an unsubscribe, bounce or complaint on record.
//!
//! The record is the same record of changes the Kommo catch-up uses: a Loops delivery of one
//! of those events is a webhook sighting of the email's unsubscribe, a recovery the other
//! source. An unsubscribe happens once per email as far as the record goes: a recovery plans
//! nothing for an email with a sighting, and an unsubscribe delivery arriving after a
//! recovery plans nothing either (a bounce or a complaint still does: a recovery cannot tell
//! them, so their rules never ran).

use sha2::{Digest, Sha256};

use super::CatchUpError;
use crate::plan::Plan;
use crate::runtime::bridge::Bridge;
use crate::runtime::changes::{Observation, Resolution, resolve_changes};
use crate::runtime::outbox::NewItem;
use crate::runtime::ports::LoopsContactStatus;
use crate::text::push_hex;

/// The Loops events that unsubscribe a contact or stop sends to it.
pub(crate) const UNSUBSCRIBING: [&str; 4] = [
    "contact.unsubscribed",
    "email.unsubscribed",
    "email.hardBounced",
    "email.spamReported",
];

/// Synced contacts read per page.
const PAGE: usize = 100;

/// The change key of an email's unsubscribe.
pub(crate) fn unsubscribe_key(email: &str) -> String {
    format!("loops:unsubscribed:{}", email.trim().to_ascii_lowercase())
}

/// What [`Bridge::recover_loops`] found and did.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LoopsRecovery {
    /// Synced contacts checked in Loops (two calls each).
    pub checked: u64,
    /// Of those, unknown to Loops (deleted there).
    pub unknown: u64,
    /// Unsubscribed or suppressed.
    pub unsubscribed: u64,
    /// Of those, suppressed (a hard bounce or a spam complaint; Loops does not say which).
    pub suppressed: u64,
    /// Unsubscribes already on record (their webhook arrived, or an earlier recovery).
    pub known: u64,
    /// Unsubscribes recovered: planned as `contact.unsubscribed`.
    pub recovered: u64,
    /// Actions new to the outbox (none in a dry run).
    pub enqueued: u64,
    /// In a dry run, the plan of each recovered unsubscribe, with its email.
    pub plans: Vec<(String, Plan)>,
}

/// The synthetic delivery id of an email's recovered unsubscribe: the same for every run, so
/// its actions get the same keys.
fn recovered_id(email: &str) -> String {
    let mut id = String::from("recovered-unsubscribe-");
    push_hex(
        &mut id,
        &Sha256::digest(email.trim().to_ascii_lowercase().as_bytes())[..12],
    );
    id
}

/// `contact.unsubscribed` for `email`, as Loops would have posted it.
fn unsubscribed_event(
    email: &str,
    status: &LoopsContactStatus,
    now: i64,
) -> Option<loops_client::webhooks::WebhookEvent> {
    let body = serde_json::json!({
        "eventName": "contact.unsubscribed",
        "eventTime": now,
        "webhookSchemaVersion": "1.0.0",
        "contactIdentity": { "id": status.id, "email": email, "userId": status.user_id },
    });
    loops_client::webhooks::WebhookEvent::parse(body.to_string().as_bytes()).ok()
}

impl Bridge {
    /// Checks every contact the bridge has synced to Loops (`GET /v1/contacts/find` and
    /// `GET /v1/contacts/suppression`, paced by the Loops client) and plans, through the
    /// outbox, a `contact.unsubscribed` for each unsubscribed or suppressed one whose
    /// unsubscribe is not on record. With `dry_run`, nothing is stored: the plans are
    /// returned. Safe to run twice. `progress` is called after every contact.
    pub async fn recover_loops(
        &self,
        dry_run: bool,
        progress: &mut (dyn FnMut(&LoopsRecovery) + Send),
    ) -> Result<LoopsRecovery, CatchUpError> {
        let mut out = LoopsRecovery::default();
        let mut after: Option<String> = None;
        let loops = &self.inner.executor.loops;
        loop {
            let page = self
                .inner
                .state
                .synced_contacts(after.as_deref(), PAGE)
                .await?;
            let Some((last, _)) = page.last() else {
                return Ok(out);
            };
            after = Some(last.clone());
            for (_, email) in page {
                out.checked += 1;
                let status = loops
                    .contact_status(&email)
                    .await
                    .map_err(CatchUpError::Loops)?;
                let Some(status) = status else {
                    out.unknown += 1;
                    progress(&out);
                    continue;
                };
                if status.subscribed != Some(false) && !status.suppressed {
                    progress(&out);
                    continue;
                }
                out.unsubscribed += 1;
                out.suppressed += u64::from(status.suppressed);
                let now = super::unix_secs(crate::runtime::clock::now());
                let resolution = self.resolve_unsubscribe(&email, now, dry_run).await?;
                // Not first: a webhook reported it. First but not new: an earlier recovery
                // planned it (planned again below, harmless: the same keys).
                if !resolution.first || (!resolution.recorded && !dry_run) {
                    out.known += 1;
                    if !resolution.first {
                        progress(&out);
                        continue;
                    }
                }
                let Some(event) = unsubscribed_event(&email, &status, now) else {
                    progress(&out);
                    continue;
                };
                out.recovered += u64::from(resolution.recorded || dry_run);
                let id = recovered_id(&email);
                let plan = self.inner.rules.plan_loops(&id, &event);
                if dry_run {
                    out.plans.push((email, plan));
                } else {
                    let items = plan
                        .actions
                        .into_iter()
                        .map(|a| NewItem::action(a, format!("loops:{id}")))
                        .collect();
                    out.enqueued += self.enqueue(items).await? as u64;
                }
                progress(&out);
            }
        }
    }

    /// Resolves a recovery's sighting of `email`'s unsubscribe (stored unless `dry_run`).
    async fn resolve_unsubscribe(
        &self,
        email: &str,
        now: i64,
        dry_run: bool,
    ) -> Result<Resolution, CatchUpError> {
        let key = unsubscribe_key(email);
        let observation = [Observation::log(key.clone(), false, now, "loops-state")];
        let tolerance = self.inner.config.change_tolerance;
        let resolutions = if dry_run {
            let records = self.inner.state.changes(&[key]).await?;
            resolve_changes(&records, &observation, 0).0
        } else {
            self.inner
                .state
                .observe_changes(&observation, tolerance)
                .await?
        };
        Ok(resolutions.first().copied().unwrap_or(Resolution {
            occurrence: 1,
            first: true,
            recorded: true,
        }))
    }

    /// Records a Loops delivery that unsubscribes its contact (see the module docs). Returns
    /// `false` for an unsubscribe (`contact.unsubscribed`, `email.unsubscribed`) that a
    /// recovery already planned, so the delivery must plan nothing; a bounce or a complaint
    /// is always planned, since a recovery could not tell it.
    pub(crate) async fn first_unsubscribe(
        &self,
        event: &loops_client::webhooks::WebhookEvent,
    ) -> Result<bool, crate::runtime::outbox::OutboxError> {
        let (Some(email), true) = (
            event.contact_email(),
            UNSUBSCRIBING.contains(&event.event_name()),
        ) else {
            return Ok(true);
        };
        let observation = [Observation::webhook(
            unsubscribe_key(email),
            false,
            event.event_time().unwrap_or(0),
        )];
        let resolutions = self
            .inner
            .state
            .observe_changes(&observation, self.inner.config.change_tolerance)
            .await?;
        let unsubscribe = event.event_name().ends_with(".unsubscribed");
        Ok(!unsubscribe || resolutions.first().is_none_or(|r| r.first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovered_ids_and_keys_ignore_case() {
        assert_eq!(
            recovered_id("Ada@Example.com"),
            recovered_id(" ada@example.com")
        );
        assert_ne!(
            recovered_id("ada@example.com"),
            recovered_id("bob@example.com")
        );
        assert_eq!(
            unsubscribe_key("Ada@Example.COM"),
            "loops:unsubscribed:ada@example.com"
        );
    }

    #[test]
    fn the_synthetic_event_is_a_loops_unsubscribe() {
        let status = LoopsContactStatus::new("cl1", Some("u-1".into()), Some(false), true);
        let event = unsubscribed_event("ada@example.com", &status, 1_700_000_000).unwrap();
        assert_eq!(event.event_name(), "contact.unsubscribed");
        assert_eq!(event.contact_email(), Some("ada@example.com"));
        assert_eq!(event.event_time(), Some(1_700_000_000));
    }
}
