//! Planning a Kommo delivery: drop the echoes of the bridge's own writes, fetch exactly what
//! the engine asks for (pipelines cached), plan again, and keep older events from
//! overwriting newer contact data.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kommo_client::pipelines::Pipeline;
use kommo_client::webhooks::WebhookPayload;

use super::echo::Echoes;
use super::ports::{KommoApi, PortError};
use super::state::StateStore;
use crate::engine::Mode;
use crate::plan::{Explain, Plan, Planning};
use crate::rules::Rules;
use crate::snapshot::Snapshot;

/// Rounds of fetch-and-plan; a lead, then its contact and company, then pipelines: 3 suffice.
const MAX_ROUNDS: usize = 5;

/// How long fetched pipelines are reused; stages change rarely.
pub(crate) const PIPELINES_TTL: Duration = Duration::from_secs(10 * 60);

/// The longest an update waits for the bridge's own write to the same entity to answer (the
/// Kommo client's request timeout is 30 s; a write that takes longer has failed).
const ECHO_WAIT: Duration = Duration::from_secs(30);

pub(crate) struct Planner {
    pub(crate) rules: Rules,
    pub(crate) mode: Mode,
    pub(crate) kommo: Arc<dyn KommoApi>,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) echoes: Arc<Echoes>,
    pub(crate) pipelines: Mutex<Option<(Instant, Vec<Pipeline>)>>,
}

/// Why a delivery could not be planned.
#[derive(Debug)]
pub(crate) enum PlanFailure {
    /// Kommo (or the store) failed; try the whole planning again later.
    Retry(PortError),
    /// It can never be planned (an unparsable body, or the engine kept asking for more).
    Permanent(String),
}

impl Planner {
    pub(crate) async fn plan(&self, body: &[u8]) -> Result<Plan, PlanFailure> {
        let payload = kommo_client::webhooks::parse(body).map_err(|e| {
            PlanFailure::Permanent(format!("the stored body no longer parses: {e}"))
        })?;
        self.plan_payload(payload, Snapshot::new()).await
    }

    /// Plans a parsed delivery, starting from what the caller already fetched.
    pub(crate) async fn plan_payload(
        &self,
        mut payload: WebhookPayload,
        mut snapshot: Snapshot,
    ) -> Result<Plan, PlanFailure> {
        let echoes = self.drop_echoes(&mut payload).await;
        for id in snapshot.contact_ids() {
            if let Some(email) = self.synced_email(id).await.map_err(PlanFailure::Retry)? {
                snapshot.set_previous_email(id, email);
            }
        }

        let mut planning = self.rules.plan_kommo(&payload, &snapshot, self.mode);
        let mut rounds = 0;
        while let Some(needs) = planning.needs().cloned() {
            rounds += 1;
            if rounds > MAX_ROUNDS {
                return Err(PlanFailure::Permanent(format!(
                    "still missing data after {MAX_ROUNDS} rounds: {needs:?}"
                )));
            }
            self.fetch(&needs, &mut snapshot)
                .await
                .map_err(PlanFailure::Retry)?;
            planning = self.rules.plan_kommo(&payload, &snapshot, self.mode);
        }

        // Events older than a change already planned keep their sends but not their upserts.
        let account = payload.account.id.map_or(0, |a| a.0);
        let mut stale = false;
        for event in &payload.events {
            let (Some(id), Some(version)) = (event.entity_id(), event.updated_at()) else {
                continue;
            };
            let kind = entity_kind(&event.kind);
            let fresh = self
                .state
                .advance_version(&format!("{account}:{kind}:{id}"), version)
                .await
                .map_err(|e| {
                    PlanFailure::Retry(PortError::Transient {
                        after: None,
                        reason: e.to_string(),
                    })
                })?;
            if !fresh {
                snapshot.mark_stale(kind, id);
                stale = true;
            }
        }
        if stale {
            planning = self.rules.plan_kommo(&payload, &snapshot, self.mode);
        }

        let Planning::Ready(mut plan) = planning else {
            return Err(PlanFailure::Permanent(
                "planning needed more data after the data was given".into(),
            ));
        };
        plan.explain.extend(echoes);
        Ok(plan)
    }

    /// Removes update events that are the echo of a bridge write; explains each. An update of
    /// an entity the bridge is writing right now waits for that write's answer first.
    async fn drop_echoes(&self, payload: &mut WebhookPayload) -> Vec<Explain> {
        let mut explained = Vec::new();
        let mut echo = Vec::with_capacity(payload.events.len());
        for event in &payload.events {
            let kind = entity_kind(&event.kind);
            let is_echo = match (event.kind.action(), event.entity_id(), event.updated_at()) {
                ("update", Some(id), Some(at)) => {
                    self.echoes.settled(kind, id, ECHO_WAIT).await;
                    self.echoes.is_echo(kind, id, at)
                }
                _ => false,
            };
            if is_echo {
                explained.push(Explain::note(
                    format!(
                        "{}[{}] {kind} {}",
                        event.kind.group(),
                        event.kind.action(),
                        event.entity_id().unwrap_or(0)
                    ),
                    "the echo of the bridge's own write to Kommo; ignored",
                ));
            }
            echo.push(is_echo);
        }
        let mut flags = echo.into_iter();
        payload.events.retain(|_| !flags.next().unwrap_or(false));
        explained
    }

    async fn fetch(
        &self,
        needs: &crate::plan::Needs,
        snapshot: &mut Snapshot,
    ) -> Result<(), PortError> {
        for &id in &needs.leads {
            match self.kommo.lead(id).await? {
                Some(lead) => snapshot.add_lead(&lead),
                None => snapshot.mark_lead_missing(id),
            }
        }
        for &id in &needs.contacts {
            match self.kommo.contact(id).await? {
                Some(contact) => snapshot.add_contact(&contact),
                None => snapshot.mark_contact_missing(id),
            }
            if let Some(email) = self.synced_email(id).await? {
                snapshot.set_previous_email(id, email);
            }
        }
        for &id in &needs.companies {
            match self.kommo.company(id).await? {
                Some(company) => snapshot.add_company(&company),
                None => snapshot.mark_company_missing(id),
            }
        }
        if needs.pipelines {
            snapshot.set_pipelines(&self.pipelines().await?);
        }
        Ok(())
    }

    async fn synced_email(&self, contact: u64) -> Result<Option<String>, PortError> {
        self.state
            .synced_email(&contact.to_string())
            .await
            .map_err(|e| PortError::Transient {
                after: None,
                reason: e.to_string(),
            })
    }

    async fn pipelines(&self) -> Result<Vec<Pipeline>, PortError> {
        let now = super::clock::instant();
        if let Some((at, cached)) = &*self
            .pipelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            && now.duration_since(*at) < PIPELINES_TTL
        {
            return Ok(cached.clone());
        }
        let fresh = self.kommo.pipelines().await?;
        *self
            .pipelines
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some((now, fresh.clone()));
        Ok(fresh)
    }
}

/// `lead`, `contact` or `company` for an event kind (companies arrive under `contacts`).
pub(crate) fn entity_kind(kind: &kommo_client::webhooks::EventKind) -> &'static str {
    match kind.group() {
        "leads" => "lead",
        "contacts" if kind_is_company(kind) => "company",
        "contacts" => "contact",
        _ => "other",
    }
}

fn kind_is_company(kind: &kommo_client::webhooks::EventKind) -> bool {
    use kommo_client::webhooks::EventKind as K;
    matches!(
        kind,
        K::CompanyAdded
            | K::CompanyUpdated
            | K::CompanyDeleted
            | K::CompanyRestored
            | K::CompanyResponsibleChanged
            | K::CompanyNoteAdded
    )
}
