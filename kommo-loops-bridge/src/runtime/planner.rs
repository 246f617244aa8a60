//! Planning a Kommo delivery: drop the echoes of the bridge's own writes, fetch exactly what
//! the engine asks for (pipelines cached), plan again, and keep older events from
//! overwriting newer contact data.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use kommo_client::pipelines::Pipeline;
use kommo_client::webhooks::WebhookPayload;

use super::catch_up::LoggedChange;
use super::changes::Observation;
use super::echo::Echoes;
use super::ports::{KommoApi, PortError};
use super::prefetch::{Known, Prefetched, read_needed};
use super::state::StateStore;
use crate::engine::Mode;
use crate::plan::{Explain, Needs, Plan, Planning};
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
    /// How far apart a webhook's time and its log entry's may be.
    pub(crate) tolerance: Duration,
    /// Entities the catch-up read in bulk for the changes it recovered.
    pub(crate) prefetched: Mutex<Prefetched>,
}

/// Where a payload's events come from, which decides how their changes are identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A Kommo delivery: its changes are resolved (and skipped when the catch-up planned them
    /// first).
    Webhook,
    /// A change from the events log: resolved by the catch-up, its occurrence in the snapshot.
    Log,
    /// A change from the events log planned only to be shown (a dry run): nothing is
    /// written, not even the entity versions the ordering guard keeps.
    DryRun,
    /// Made up by the caller (the backfill): keyed by the event itself, recorded nowhere.
    Made,
}

/// Why a delivery could not be planned.
#[derive(Debug)]
pub(crate) enum PlanFailure {
    /// Kommo (or the store) failed; try the whole planning again later.
    Retry(PortError),
    /// It can never be planned (an unparsable body, or the engine kept asking for more).
    Permanent(String),
}

impl std::fmt::Display for PlanFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanFailure::Retry(e) => write!(f, "{e}"),
            PlanFailure::Permanent(reason) => f.write_str(reason),
        }
    }
}

impl Planner {
    /// Plans a stored delivery; `shared` holds what was read, fresh, for the deliveries
    /// claimed with it (see [`read_together`](Self::read_together)).
    pub(crate) async fn plan(
        &self,
        body: &[u8],
        shared: Option<&Prefetched>,
    ) -> Result<Plan, PlanFailure> {
        let payload = kommo_client::webhooks::parse(body).map_err(|e| {
            PlanFailure::Permanent(format!("the stored body no longer parses: {e}"))
        })?;
        self.plan_payload(payload, Snapshot::new(), Origin::Webhook, shared)
            .await
    }

    /// About how many entities of each kind planning `body` reads: its events, each naming
    /// one (at least 1, so that a body that no longer parses still counts).
    pub(crate) fn weight(body: &[u8]) -> usize {
        kommo_client::webhooks::parse(body).map_or(1, |payload| payload.events.len().max(1))
    }

    /// Reads, fresh and in bulk, what the engine asks for to plan several stored deliveries
    /// claimed together (a bulk change's bodies): one request per 250 leads, contacts or
    /// companies for all of them, where each delivery would make its own. The reads happen
    /// now, for these deliveries only, as each delivery's own would. Best effort: what is not
    /// read here (a failed read, a need that only shows once echoes are dropped or a previous
    /// email is known) each delivery reads itself when it is planned.
    pub(crate) async fn read_together(&self, bodies: &[&[u8]]) -> Prefetched {
        let now = super::clock::instant();
        let mut shared = Prefetched::default();
        let mut work: Vec<(WebhookPayload, Snapshot)> = bodies
            .iter()
            .filter_map(|body| kommo_client::webhooks::parse(body).ok())
            .map(|payload| (payload, Snapshot::new()))
            .collect();
        if work.len() < 2 {
            return shared;
        }
        for _ in 0..MAX_ROUNDS {
            let asked: Vec<Option<Needs>> = work
                .iter()
                .map(|(payload, snapshot)| {
                    let planning = self.rules.plan_kommo(payload, snapshot, self.mode);
                    planning.needs().cloned()
                })
                .collect();
            let mut all = Needs::default();
            for needs in asked.iter().flatten() {
                all.merge(needs.clone());
            }
            all.leads
                .retain(|&id| matches!(shared.lead(id, now), Known::Unknown));
            all.contacts
                .retain(|&id| matches!(shared.contact(id, now), Known::Unknown));
            all.companies
                .retain(|&id| matches!(shared.company(id, now), Known::Unknown));
            if all.leads.is_empty() && all.contacts.is_empty() && all.companies.is_empty() {
                break;
            }
            if self.read_into(&all, &mut shared, now).await.is_err() {
                break;
            }
            let pipelines = if all.pipelines {
                match self.pipelines().await {
                    Ok(pipelines) => Some(pipelines),
                    Err(_) => break,
                }
            } else {
                None
            };
            for ((_, snapshot), needs) in work.iter_mut().zip(&asked) {
                if let Some(needs) = needs {
                    fill(snapshot, needs, &shared, pipelines.as_deref(), now);
                }
            }
        }
        shared
    }

    /// Reads the entities `needs` names into `shared`, 250 per request.
    async fn read_into(
        &self,
        needs: &Needs,
        shared: &mut Prefetched,
        now: Instant,
    ) -> Result<(), PortError> {
        let (asked, found) = split(
            read_needed(
                &needs.leads,
                |_| Known::Unknown,
                |ids| async move { self.kommo.leads_by_id(&ids).await },
                |id| self.kommo.lead(id),
                |l| l.id.0,
            )
            .await?,
        );
        shared.put_leads(&asked, found, now);
        let (asked, found) = split(
            read_needed(
                &needs.contacts,
                |_| Known::Unknown,
                |ids| async move { self.kommo.contacts_by_id(&ids).await },
                |id| self.kommo.contact(id),
                |c| c.id.0,
            )
            .await?,
        );
        shared.put_contacts(&asked, found, now);
        let (asked, found) = split(
            read_needed(
                &needs.companies,
                |_| Known::Unknown,
                |ids| async move { self.kommo.companies_by_id(&ids).await },
                |id| self.kommo.company(id),
                |c| c.id.0,
            )
            .await?,
        );
        shared.put_companies(&asked, found, now);
        Ok(())
    }

    /// Plans a change the catch-up found in Kommo's events log, as the webhook that would have
    /// reported it, with the occurrence the catch-up resolved; with `dry_run`, writes nothing.
    pub(crate) async fn plan_change(
        &self,
        change: &LoggedChange,
        dry_run: bool,
    ) -> Result<Plan, PlanFailure> {
        let payload = change.payload(change.account_subdomain.as_deref());
        let mut snapshot = Snapshot::new();
        if let (Some(key), Some(occurrence)) = (change.key(), change.occurrence) {
            snapshot.set_occurrence(key.text, occurrence);
        }
        let origin = if dry_run { Origin::DryRun } else { Origin::Log };
        self.plan_payload(payload, snapshot, origin, None).await
    }

    /// Plans a parsed delivery, starting from what the caller already fetched, and taking
    /// from `shared` what was read for it together with other deliveries.
    pub(crate) async fn plan_payload(
        &self,
        mut payload: WebhookPayload,
        mut snapshot: Snapshot,
        origin: Origin,
        shared: Option<&Prefetched>,
    ) -> Result<Plan, PlanFailure> {
        let mut echoes = self.drop_echoes(&mut payload).await;
        if origin == Origin::Webhook {
            echoes.extend(self.resolve_changes(&mut payload, &mut snapshot).await?);
        }
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
            let bulk = matches!(origin, Origin::Log | Origin::DryRun);
            self.fetch(&needs, &mut snapshot, bulk, shared)
                .await
                .map_err(PlanFailure::Retry)?;
            planning = self.rules.plan_kommo(&payload, &snapshot, self.mode);
        }

        // Events older than a change already planned keep their sends but not their upserts.
        // A dry run records no version, so it leaves the guard as it found it.
        let account = payload.account.id.map_or(0, |a| a.0);
        let mut stale = false;
        let guarded = if origin == Origin::DryRun {
            &[][..]
        } else {
            &payload.events[..]
        };
        for event in guarded {
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

    /// Resolves which change each event of a delivery is (a webhook's sighting), gives the
    /// engine the occurrences, and removes the events whose change the catch-up found in the
    /// events log and planned before this delivery was planned; explains each removal.
    async fn resolve_changes(
        &self,
        payload: &mut WebhookPayload,
        snapshot: &mut Snapshot,
    ) -> Result<Vec<Explain>, PlanFailure> {
        let mut observations = Vec::new();
        let mut positions = Vec::new();
        for (i, change) in crate::engine::event_changes(payload)
            .into_iter()
            .enumerate()
        {
            let Some((key, at)) = change else { continue };
            // A change that happens once needs no time; one that repeats cannot be told
            // from its repeats without one (Kommo always sends it).
            let at = match (at, key.repeats) {
                (Some(at), _) => at,
                (None, false) => 0,
                (None, true) => continue,
            };
            observations.push(Observation::webhook(key.text, key.repeats, at));
            positions.push(i);
        }
        if observations.is_empty() {
            return Ok(Vec::new());
        }
        let resolutions = self
            .state
            .observe_changes(&observations, self.tolerance)
            .await
            .map_err(|e| {
                PlanFailure::Retry(PortError::Transient {
                    after: None,
                    reason: e.to_string(),
                })
            })?;
        let mut planned = vec![false; payload.events.len()];
        let mut explained = Vec::new();
        for ((position, observation), resolution) in
            positions.into_iter().zip(observations).zip(resolutions)
        {
            if !resolution.first {
                planned[position] = true;
                explained.push(Explain::note(
                    label(&payload.events[position]),
                    format!(
                        "already planned from Kommo's events log (occurrence {} of {}): the \
                         catch-up found this change before its webhook was planned",
                        resolution.occurrence, observation.key
                    ),
                ));
            }
            snapshot.set_occurrence(observation.key, resolution.occurrence);
        }
        let mut flags = planned.into_iter();
        payload.events.retain(|_| !flags.next().unwrap_or(false));
        Ok(explained)
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
                    label(event),
                    "the echo of the bridge's own write to Kommo; ignored",
                ));
            }
            echo.push(is_echo);
        }
        let mut flags = echo.into_iter();
        payload.events.retain(|_| !flags.next().unwrap_or(false));
        explained
    }

    /// Fetches what the engine asked for; with `bulk`, takes what the catch-up read in bulk
    /// first. Several entities of one kind (a delivery of many changes) are read 250 per
    /// request; a single one is read by id, as before.
    async fn fetch(
        &self,
        needs: &crate::plan::Needs,
        snapshot: &mut Snapshot,
        bulk: bool,
        shared: Option<&Prefetched>,
    ) -> Result<(), PortError> {
        let now = super::clock::instant();
        let cached = || {
            self.prefetched
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        // What this claim read for its deliveries first (fresh); then, for a recovered
        // change, what the catch-up read in bulk.
        let leads = read_needed(
            &needs.leads,
            |id| match shared.map(|s| s.lead(id, now)) {
                Some(known @ (Known::Found(_) | Known::Missing)) => known,
                _ => cached_if(bulk, || cached().lead(id, now)),
            },
            |ids| async move { self.kommo.leads_by_id(&ids).await },
            |id| self.kommo.lead(id),
            |l| l.id.0,
        )
        .await?;
        for (id, found) in leads {
            match found {
                Some(lead) => snapshot.add_lead(&lead),
                None => snapshot.mark_lead_missing(id),
            }
        }
        let contacts = read_needed(
            &needs.contacts,
            |id| match shared.map(|s| s.contact(id, now)) {
                Some(known @ (Known::Found(_) | Known::Missing)) => known,
                _ => cached_if(bulk, || cached().contact(id, now)),
            },
            |ids| async move { self.kommo.contacts_by_id(&ids).await },
            |id| self.kommo.contact(id),
            |c| c.id.0,
        )
        .await?;
        for (id, found) in contacts {
            match found {
                Some(contact) => snapshot.add_contact(&contact),
                None => snapshot.mark_contact_missing(id),
            }
            if let Some(email) = self.synced_email(id).await? {
                snapshot.set_previous_email(id, email);
            }
        }
        let companies = read_needed(
            &needs.companies,
            |id| match shared.map(|s| s.company(id, now)) {
                Some(known @ (Known::Found(_) | Known::Missing)) => known,
                _ => cached_if(bulk, || cached().company(id, now)),
            },
            |ids| async move { self.kommo.companies_by_id(&ids).await },
            |id| self.kommo.company(id),
            |c| c.id.0,
        )
        .await?;
        for (id, found) in companies {
            match found {
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

/// The ids asked for and the entities found, from what `read_needed` answered.
fn split<T>(read: Vec<(u64, Option<T>)>) -> (Vec<u64>, Vec<T>) {
    let asked = read.iter().map(|(id, _)| *id).collect();
    (asked, read.into_iter().filter_map(|(_, e)| e).collect())
}

/// Gives a snapshot what `shared` holds of what `needs` asked for (as `fetch` would have).
fn fill(
    snapshot: &mut Snapshot,
    needs: &Needs,
    shared: &Prefetched,
    pipelines: Option<&[Pipeline]>,
    now: Instant,
) {
    for &id in &needs.leads {
        match shared.lead(id, now) {
            Known::Found(lead) => snapshot.add_lead(&lead),
            Known::Missing => snapshot.mark_lead_missing(id),
            Known::Unknown => {}
        }
    }
    for &id in &needs.contacts {
        match shared.contact(id, now) {
            Known::Found(contact) => snapshot.add_contact(&contact),
            Known::Missing => snapshot.mark_contact_missing(id),
            Known::Unknown => {}
        }
    }
    for &id in &needs.companies {
        match shared.company(id, now) {
            Known::Found(company) => snapshot.add_company(&company),
            Known::Missing => snapshot.mark_company_missing(id),
            Known::Unknown => {}
        }
    }
    if let (true, Some(pipelines)) = (needs.pipelines, pipelines) {
        snapshot.set_pipelines(pipelines);
    }
}

/// What the catch-up's bulk read knows, for the planning of a recovered change (`bulk`); a
/// webhook's planning reads fresh data.
fn cached_if<T>(bulk: bool, known: impl FnOnce() -> Known<T>) -> Known<T> {
    if bulk { known() } else { Known::Unknown }
}

/// How the explain trace names an event the planner removed: `leads[status] lead 42`.
fn label(event: &kommo_client::webhooks::WebhookEvent) -> String {
    format!(
        "{}[{}] {} {}",
        event.kind.group(),
        event.kind.action(),
        entity_kind(&event.kind),
        event.entity_id().unwrap_or(0)
    )
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
