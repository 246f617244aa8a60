//! Executing one action: Loops calls through [`LoopsApi`], Kommo writes through [`KommoApi`]
//! after finding where they land.
//!
//! Every Kommo write is safe to repeat: a note or task carries a short marker derived from the
//! action's idempotency key and is not added again when the entity already has it; adding or
//! removing a tag twice changes nothing. So a retry after a crash or a lost answer never
//! doubles a write.

use std::sync::Arc;
use std::time::SystemTime;

use kommo_client::contacts::Contact;
use kommo_client::leads::Lead;
use sha2::{Digest, Sha256};

use super::delivered::ContactPart;
use super::echo::Echoes;
use super::outcome::Outcome;
use super::ports::{KommoApi, KommoEntity, LoopsApi, PortError};
use super::state::StateStore;
use crate::plan::{Action, SendEvent, Target, TargetEntity, UpsertContact};
use crate::rules::{STATUS_LOST, STATUS_WON};
use crate::text::push_hex;

/// How many leads of a contact are looked at to find the one a note goes on.
const MAX_LEADS_LOOKED_AT: usize = 20;

/// The service name the bridge's notes are written under (Kommo shows notes of type
/// `service_message` as a system message from this service, apart from what people wrote).
pub const NOTE_SERVICE: &str = "kommo-loops";

/// The marker that makes a note or task written for `key` recognisable, e.g.
/// `ref kl-3f9a2c1b7d4e`: 12 hex digits of the key's SHA-256. Kommo notes and tasks have no
/// hidden field, so the marker is visible; it is kept this short so that it reads as a
/// reference, not as noise (a key can be 100 characters long).
pub fn marker(key: &str) -> String {
    let mut marker = String::from("ref kl-");
    push_hex(&mut marker, &Sha256::digest(key.as_bytes())[..6]);
    marker
}

/// Whether a note or task text carries the marker of `key`, in its current form or in the
/// `[kommo-loops <key>]` form of 0.1.0 (so that a retry right after an upgrade does not write
/// again).
pub(crate) fn carries(text: &str, key: &str) -> bool {
    text.contains(&marker(key)) || text.contains(&format!("[kommo-loops {key}]"))
}

/// Executes actions against the two APIs.
pub(crate) struct Executor {
    pub(crate) loops: Arc<dyn LoopsApi>,
    pub(crate) kommo: Arc<dyn KommoApi>,
    pub(crate) state: Arc<dyn StateStore>,
    pub(crate) echoes: Arc<Echoes>,
    /// Whether an upsert identical to what was last delivered for its contact is skipped.
    pub(crate) skip_unchanged: bool,
}

impl Executor {
    pub(crate) async fn execute(&self, action: &Action, now: SystemTime) -> Outcome {
        match action {
            Action::UpsertContact(a) => {
                let part = ContactPart::of_upsert(a);
                if self.unchanged(&part).await {
                    return Outcome::AlreadyDone {
                        detail: format!(
                            "contact {} not sent: identical to what was last delivered",
                            a.email
                        ),
                    };
                }
                match self.loops.upsert_contact(a).await {
                    Ok(()) => {
                        self.synced(a.kommo_contact_id, &a.email).await;
                        self.delivered(&part).await;
                        Outcome::Done {
                            detail: format!("contact {} upserted in Loops", a.email),
                        }
                    }
                    Err(e) => e.into(),
                }
            }
            // An event is never skipped; the contact part it carried is remembered.
            Action::SendEvent(a) => match self.loops.send_event(a).await {
                Ok(()) if a.carries_upsert() => {
                    self.synced(a.kommo_contact_id, &a.email).await;
                    self.delivered(&ContactPart::of_event(a)).await;
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
                Err(PortError::Permanent { reason }) if a.carries_upsert() => {
                    self.split(a, reason).await
                }
                Err(e) => e.into(),
            },
            Action::SendTransactional(a) => match self.loops.send_transactional(a).await {
                Ok(()) => Outcome::Done {
                    detail: format!("transactional {} sent to {}", a.transactional_id, a.email),
                },
                Err(e) => e.into(),
            },
            Action::DeleteContact(a) => {
                // Before the call: a crash after it must not leave a hash that would skip
                // the upsert re-creating the contact.
                let contact = a.email.as_deref().map(str::to_lowercase);
                if let Err(e) = self
                    .state
                    .forget_delivered_upsert(contact.as_deref(), a.user_id.as_deref())
                    .await
                {
                    return Outcome::Retry {
                        after: None,
                        reason: format!("could not forget the contact's last upsert: {e}"),
                    };
                }
                match self.loops.delete_contact(a).await {
                    Ok(()) => Outcome::Done {
                        detail: format!(
                            "contact {} deleted in Loops",
                            a.email.as_deref().or(a.user_id.as_deref()).unwrap_or("?")
                        ),
                    },
                    Err(e) => e.into(),
                }
            }
            // One action alone is a group of one: the calls it has always made.
            Action::AddNote(_) | Action::AddTask(_) | Action::AddTags(_) => self
                .execute_kommo(&[action], now, 1, None)
                .await
                .pop()
                .unwrap_or_else(|| Outcome::Failed {
                    reason: "the Kommo write had no outcome".into(),
                }),
        }
    }

    /// Remembers the email a Kommo contact was last synced under, for email-change detection.
    /// A merged event that Loops refused for good (a contact property that does not exist,
    /// say): it changed nothing, so the two calls it stood for are made one by one. The
    /// upsert goes first, as the merged call would have applied it; the event goes out
    /// whatever the upsert's fate, so a property problem never holds back an email that a
    /// separate upsert would not have held back. The lone event has a key of its own,
    /// derived from the merged one, so a replay of this job sends it once.
    async fn split(&self, merged: &SendEvent, merged_refusal: String) -> Outcome {
        let upsert = UpsertContact {
            idempotency_key: merged.idempotency_key.clone(),
            email: merged.email.clone(),
            user_id: merged.user_id.clone(),
            properties: merged.contact_properties.clone(),
            mailing_lists: merged.mailing_lists.clone(),
            kommo_contact_id: merged.kommo_contact_id,
            rule: merged.upsert_rule.clone().unwrap_or_default(),
        };
        let upserted = self.loops.upsert_contact(&upsert).await;
        if upserted.is_ok() {
            self.synced(merged.kommo_contact_id, &merged.email).await;
            self.delivered(&ContactPart::of_upsert(&upsert)).await;
        }
        let alone = SendEvent {
            idempotency_key: alone_key(&merged.idempotency_key),
            contact_properties: Default::default(),
            mailing_lists: Default::default(),
            kommo_contact_id: None,
            upsert_rule: None,
            ..merged.clone()
        };
        let sent = match self.loops.send_event(&alone).await {
            Ok(()) => Ok(format!(
                "event {} sent for {}",
                alone.event_name, alone.email
            )),
            Err(PortError::AlreadyDone { reason }) => Ok(format!(
                "event {} had been sent for {} ({reason})",
                alone.event_name, alone.email
            )),
            Err(e) => Err(e),
        };
        match (upserted, sent) {
            (Ok(()), Ok(sent)) => Outcome::Done {
                detail: format!(
                    "{sent}, the contact upserted on its own (the one call was refused: \
                     {merged_refusal})"
                ),
            },
            (Err(upsert), Ok(sent)) => Outcome::Failed {
                reason: format!("{sent} alone; the contact's properties were refused: {upsert}"),
            },
            // The event is what matters: it decides whether to try again.
            (_, Err(e)) => e.into(),
        }
    }

    /// Whether `part` is what was last delivered for its contact (when skipping is on). A
    /// store that cannot answer means "no": the upsert is sent.
    async fn unchanged(&self, part: &ContactPart<'_>) -> bool {
        if !self.skip_unchanged {
            return false;
        }
        match self.state.delivered_upsert(&part.contact()).await {
            Ok(last) => last.is_some_and(|last| last == part.hash()),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the contact's last upsert; sending");
                false
            }
        }
    }

    /// Remembers `part` as delivered, after Loops accepted it. A crash before this write only
    /// means the next identical upsert is sent again.
    async fn delivered(&self, part: &ContactPart<'_>) {
        if let Err(e) = self
            .state
            .set_delivered_upsert(&part.contact(), part.user_id, &part.hash())
            .await
        {
            // The upsert happened; only the next identical one will be sent again.
            tracing::warn!(error = %e, "could not remember the delivered upsert");
        }
    }

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

    /// The entities a target lands on, or why there are none.
    pub(crate) async fn resolve(
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

/// The key of an event sent without the upsert it was merged with: stable, distinct from the
/// merged call's, within Loops' 100 characters.
fn alone_key(merged: &str) -> String {
    const SUFFIX: &str = ":alone";
    let mut end = merged.len().min(100 - SUFFIX.len());
    while !merged.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{SUFFIX}", &merged[..end])
}

pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    super::outbox::unix_millis(t) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_event_has_its_own_stable_key_within_the_limit() {
        let cases = [
            ("k-1-lead2-abc", "k-1-lead2-abc:alone".to_owned()),
            (&"x".repeat(100)[..], format!("{}:alone", "x".repeat(94))),
            (&"y".repeat(94)[..], format!("{}:alone", "y".repeat(94))),
        ];
        for (merged, expected) in cases {
            let key = alone_key(merged);
            assert_eq!(key, expected);
            assert!(key.len() <= 100);
            assert_ne!(key, merged);
        }
    }

    #[test]
    fn markers_are_short_distinct_and_recognise_the_old_form() {
        let key = "l-msg_2ZtHb0unce-hard-bounce-0-8ff0d0521954b1aa1448e3af";
        let m = marker(key);
        assert_eq!(m.len(), "ref kl-".len() + 12, "{m}");
        assert_ne!(
            m,
            marker("l-msg_2ZtHb0unce-hard-bounce-1-8ff0d0521954b1aa1448e3af")
        );
        let note = format!("Loops: email not delivered\n{m}");
        assert!(carries(&note, key));
        assert!(!carries(&note, "another-key"));
        assert!(carries(&format!("Loops: bounce\n[kommo-loops {key}]"), key));
        assert!(!carries("Loops: bounce", key));
    }
}
