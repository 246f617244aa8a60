//! Executing one action: Loops calls through [`LoopsApi`], Kommo writes through [`KommoApi`]
//! after finding where they land.
//!
//! Every Kommo write is safe to repeat: a note or task carries a marker with the action's
//! idempotency key and is not added again when the entity already has it; adding or removing a
//! tag twice changes nothing. So a retry after a crash or a lost answer never doubles a write.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use kommo_client::contacts::Contact;
use kommo_client::leads::Lead;

use super::echo::Echoes;
use super::outcome::Outcome;
use super::ports::{KommoApi, KommoEntity, LoopsApi, PortError};
use super::state::StateStore;
use crate::plan::{Action, Target, TargetEntity};
use crate::rules::{STATUS_LOST, STATUS_WON};

/// How many leads of a contact are looked at to find the one a note goes on.
const MAX_LEADS_LOOKED_AT: usize = 20;

/// The marker that makes a note or task written for `key` recognisable.
pub fn marker(key: &str) -> String {
    format!("[kommo-loops {key}]")
}

/// Executes actions against the two APIs.
pub(crate) struct Executor {
    pub(crate) loops: Arc<dyn LoopsApi>,
    pub(crate) kommo: Arc<dyn KommoApi>,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) echoes: Arc<Echoes>,
}

impl Executor {
    pub(crate) async fn execute(&self, action: &Action, now: SystemTime) -> Outcome {
        match action {
            Action::UpsertContact(a) => match self.loops.upsert_contact(a).await {
                Ok(()) => {
                    self.synced(a.kommo_contact_id, &a.email).await;
                    Outcome::Done {
                        detail: format!("contact {} upserted in Loops", a.email),
                    }
                }
                Err(e) => e.into(),
            },
            Action::SendEvent(a) => match self.loops.send_event(a).await {
                Ok(()) if a.carries_upsert() => {
                    self.synced(a.kommo_contact_id, &a.email).await;
                    Outcome::Done {
                        detail: format!(
                            "event {} sent for {}, with the contact's properties",
                            a.event_name, a.email
                        ),
                    }
                }
                Ok(()) => Outcome::Done {
                    detail: format!("event {} sent for {}", a.event_name, a.email),
                },
                Err(e) => e.into(),
            },
            Action::SendTransactional(a) => match self.loops.send_transactional(a).await {
                Ok(()) => Outcome::Done {
                    detail: format!("transactional {} sent to {}", a.transactional_id, a.email),
                },
                Err(e) => e.into(),
            },
            Action::DeleteContact(a) => match self.loops.delete_contact(a).await {
                Ok(()) => Outcome::Done {
                    detail: format!(
                        "contact {} deleted in Loops",
                        a.email.as_deref().or(a.user_id.as_deref()).unwrap_or("?")
                    ),
                },
                Err(e) => e.into(),
            },
            Action::AddNote(a) => {
                let text = format!("{}\n{}", a.text, marker(&a.idempotency_key));
                self.on_targets(&a.target, "note", |kommo, entity| {
                    let text = text.clone();
                    let key = a.idempotency_key.clone();
                    async move {
                        if kommo
                            .recent_notes(entity)
                            .await?
                            .iter()
                            .any(|n| n.contains(&marker(&key)))
                        {
                            return Ok(Step::Already);
                        }
                        kommo.add_note(entity, &text).await?;
                        Ok(Step::Wrote)
                    }
                })
                .await
            }
            Action::AddTask(a) => {
                let text = format!("{} {}", a.text, marker(&a.idempotency_key));
                let from = a.event_time.unwrap_or_else(|| unix_seconds(now));
                let due = from + i64::from(a.due_in_hours) * 3600;
                self.on_targets(&a.target, "task", |kommo, entity| {
                    let text = text.clone();
                    let key = a.idempotency_key.clone();
                    async move {
                        if kommo
                            .open_tasks(entity)
                            .await?
                            .iter()
                            .any(|t| t.contains(&marker(&key)))
                        {
                            return Ok(Step::Already);
                        }
                        kommo.add_task(entity, &text, due, a.task_type).await?;
                        Ok(Step::Wrote)
                    }
                })
                .await
            }
            Action::AddTags(a) => {
                let echoes = self.echoes.clone();
                self.on_targets(&a.target, "tags", |kommo, entity| {
                    let echoes = echoes.clone();
                    async move {
                        let (kind, id) = match entity {
                            KommoEntity::Lead(id) => ("lead", id),
                            KommoEntity::Contact(id) => ("contact", id),
                        };
                        // Ends (dropped) after the expectation is recorded, or on failure.
                        let _in_flight = echoes.begin(kind, id);
                        if let Some(updated_at) =
                            kommo.change_tags(entity, &a.tags, &a.remove_tags).await?
                        {
                            echoes.expect(kind, id, updated_at, clock_instant());
                        }
                        Ok(Step::Wrote)
                    }
                })
                .await
            }
        }
    }

    /// Runs `write` on every entity the target resolves to.
    /// Remembers the email a Kommo contact was last synced under, for email-change detection.
    async fn synced(&self, contact: Option<u64>, email: &str) {
        if let Some(contact) = contact
            && let Err(e) = self
                .state
                .set_synced_email(&contact.to_string(), email)
                .await
        {
            // The upsert happened; only the email-change detection is weakened.
            tracing::warn!(contact, error = %e, "could not remember the synced email");
        }
    }

    async fn on_targets<F, Fut>(&self, target: &Target, what: &str, write: F) -> Outcome
    where
        F: Fn(Arc<dyn KommoApi>, KommoEntity) -> Fut,
        Fut: Future<Output = Result<Step, PortError>>,
    {
        let entities = match self.resolve(target).await {
            Ok(Ok(entities)) => entities,
            Ok(Err(skip)) => return Outcome::Skipped { reason: skip },
            Err(e) => return e.into(),
        };
        let (mut wrote, mut already) = (Vec::new(), Vec::new());
        for entity in entities {
            match write(self.kommo.clone(), entity).await {
                Ok(Step::Wrote) => wrote.push(entity.to_string()),
                Ok(Step::Already) => already.push(entity.to_string()),
                // Entities done so far are recognised on the retry (markers, idempotent tags).
                Err(e) => return e.into(),
            }
        }
        if wrote.is_empty() {
            Outcome::AlreadyDone {
                detail: format!("{what} already on {}", already.join(", ")),
            }
        } else {
            Outcome::Done {
                detail: format!("{what} added on {}", wrote.join(", ")),
            }
        }
    }

    /// The entities a target lands on, or why there are none.
    async fn resolve(
        &self,
        target: &Target,
    ) -> Result<Result<Vec<KommoEntity>, String>, PortError> {
        let (email, on) = match target {
            Target::Lead { lead_id } => return Ok(Ok(vec![KommoEntity::Lead(*lead_id)])),
            Target::Contact { contact_id } => {
                return Ok(Ok(vec![KommoEntity::Contact(*contact_id)]));
            }
            Target::Email { email, on } => (email, *on),
        };
        let contacts = self.kommo.contacts_by_email(email).await?;
        if contacts.is_empty() {
            return Ok(Err(format!(
                "no Kommo contact has the email {email}; nothing to update"
            )));
        }
        let mut entities = Vec::new();
        for contact in contacts {
            let id = contact.id.0;
            match on {
                TargetEntity::Contact => entities.push(KommoEntity::Contact(id)),
                TargetEntity::Lead => match self.lead_of(&contact).await? {
                    Some(lead) => entities.push(KommoEntity::Lead(lead)),
                    // A contact without a lead still gets the note, on itself.
                    None => entities.push(KommoEntity::Contact(id)),
                },
            }
        }
        entities.sort();
        entities.dedup();
        Ok(Ok(entities))
    }

    /// The contact's most recently updated open lead, else its most recently updated lead.
    async fn lead_of(&self, contact: &Contact) -> Result<Option<u64>, PortError> {
        let ids: Vec<u64> = match &contact.embedded.leads {
            leads if !leads.is_empty() => leads.iter().map(|l| l.id).collect(),
            // The search answer carries no leads; the contact itself does.
            _ => match self.kommo.contact(contact.id.0).await? {
                Some(full) => full.embedded.leads.iter().map(|l| l.id).collect(),
                None => Vec::new(),
            },
        };
        let mut leads: Vec<Lead> = Vec::new();
        for id in ids.into_iter().take(MAX_LEADS_LOOKED_AT) {
            if let Some(lead) = self.kommo.lead(id).await? {
                leads.push(lead);
            }
        }
        let is_open =
            |l: &Lead| !matches!(l.status_id.map(|s| s.0), Some(STATUS_WON | STATUS_LOST));
        let newest = |list: Vec<&Lead>| {
            list.into_iter()
                .max_by_key(|l| (l.updated_at.unwrap_or(0), l.id.0))
                .map(|l| l.id.0)
        };
        Ok(newest(leads.iter().filter(|l| is_open(l)).collect())
            .or_else(|| newest(leads.iter().collect())))
    }
}

/// What one write on one entity did.
pub(crate) enum Step {
    Wrote,
    Already,
}

fn unix_seconds(t: SystemTime) -> i64 {
    super::outbox::unix_millis(t) / 1000
}

fn clock_instant() -> Instant {
    super::clock::instant()
}
