//! Planning: Kommo events into Loops actions, Loops events into Kommo actions.
//!
//! Pure: no IO, no clock, no randomness. The same rules and inputs always give the same plan.

mod actions;
mod change;
mod context;
mod gather;
mod kommo;
mod loops;
mod merge;

use std::fmt;
use std::str::FromStr;

use crate::facts::{AccountFacts, CompanyFacts, ContactFacts, LeadFacts, Transition};
use crate::plan::{Plan, Planning};
use crate::rules::Rules;
use crate::snapshot::Snapshot;

pub(crate) use change::{ChangeKey, change_key};
pub(crate) use context::is_plausible_email;

/// How sends are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Everything the rules say.
    #[default]
    Live,
    /// Contact upserts only: events and transactional sends are dropped, so syncing existing
    /// contacts can never email anyone.
    Backfill,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(Mode::Live),
            "backfill" => Ok(Mode::Backfill),
            other => Err(format!(
                "unknown mode {other:?} (expected live or backfill)"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Live => "live",
            Mode::Backfill => "backfill",
        })
    }
}

/// A Kommo event, normalized from the webhook.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KommoEvent {
    /// The rule event name, e.g. `lead_status`.
    pub(crate) name: &'static str,
    pub(crate) subject: Subject,
    pub(crate) transition: Transition,
    /// `updated_at`, else `last_modified`: tells one change of an entity from the next.
    pub(crate) changed_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Subject {
    Lead(LeadFacts),
    Contact(ContactFacts),
    Company(CompanyFacts),
}

impl Subject {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Subject::Lead(_) => "lead",
            Subject::Contact(_) => "contact",
            Subject::Company(_) => "company",
        }
    }

    pub(crate) fn id(&self) -> u64 {
        match self {
            Subject::Lead(l) => l.id,
            Subject::Contact(c) => c.id,
            Subject::Company(c) => c.id,
        }
    }
}

/// A webhook delivery, normalized: events the rules can listen to, and the rest with the
/// reason they are ignored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KommoDelivery {
    pub(crate) account: AccountFacts,
    pub(crate) events: Vec<Result<KommoEvent, String>>,
}

/// The change key of each event of a delivery (aligned with `payload.events`), with the
/// event's time (`updated_at`, else `last_modified`): what the runtime resolves to an
/// occurrence before planning.
#[cfg_attr(not(feature = "runtime"), allow(dead_code))]
pub(crate) fn event_changes(
    payload: &kommo_client::webhooks::WebhookPayload,
) -> Vec<Option<(ChangeKey, Option<i64>)>> {
    let delivery = crate::facts::delivery_from_payload(payload);
    delivery
        .events
        .iter()
        .map(|event| {
            let event = event.as_ref().ok()?;
            Some((change_key(delivery.account.id, event)?, event.changed_at))
        })
        .collect()
}

impl Rules {
    /// Plans a parsed Kommo webhook delivery against the fetched data in `snapshot`.
    ///
    /// Returns [`Planning::NeedsData`] with the exact leads, contacts, companies (and whether
    /// pipelines) still needed: fetch them, add them to the snapshot, and call again.
    pub fn plan_kommo(
        &self,
        payload: &kommo_client::webhooks::WebhookPayload,
        snapshot: &Snapshot,
        mode: Mode,
    ) -> Planning {
        let delivery = crate::facts::delivery_from_payload(payload);
        kommo::plan(self, &delivery, snapshot, mode)
    }

    /// Plans a verified Loops webhook delivery: Kommo actions aimed at the contact's email.
    /// `webhook_id` is the delivery's `webhook-id` header; it makes the idempotency keys.
    pub fn plan_loops(
        &self,
        webhook_id: &str,
        event: &loops_client::webhooks::WebhookEvent,
    ) -> Plan {
        loops::plan(self, webhook_id, event)
    }
}
