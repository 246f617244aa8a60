//! Gathering what the candidate rules of one event need from the snapshot (or saying what is
//! still to be fetched), and the contacts the actions would go to.

use std::collections::BTreeSet;

use super::context::choose_email;
use super::{KommoEvent, Subject};
use crate::facts::{CompanyFacts, ContactFacts, LeadFacts};
use crate::plan::Needs;
use crate::rules::{Rules, Uses};
use crate::snapshot::Snapshot;

/// One contact the actions would go to.
#[derive(Debug, Clone)]
pub(super) struct Person<'a> {
    pub(super) contact: Option<&'a ContactFacts>,
    pub(super) company: Option<&'a CompanyFacts>,
    pub(super) email: Option<String>,
    pub(super) no_email_reason: String,
    pub(super) notes: Vec<String>,
}

#[derive(Debug)]
pub(super) struct Gathered<'a> {
    pub(super) lead: Option<&'a LeadFacts>,
    pub(super) company: Option<&'a CompanyFacts>,
    pub(super) people: Vec<Person<'a>>,
    pub(super) notes: Vec<String>,
}

/// Why an event has no one to write to (written only when that happens).
pub(super) fn no_people_reason(subject: &Subject) -> String {
    match subject {
        Subject::Lead(lead) => format!(
            "lead {} has no contact, so there is no one to write to in Loops",
            lead.id
        ),
        Subject::Company(company) => format!(
            "company {} has no contacts, so there is no one to write to in Loops",
            company.id
        ),
        Subject::Contact(contact) => format!("contact {} could not be read", contact.id),
    }
}

pub(super) fn describe(needs: &Needs) -> String {
    let mut parts = Vec::new();
    let ids = |ids: &BTreeSet<u64>| {
        ids.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !needs.leads.is_empty() {
        parts.push(format!("lead {}", ids(&needs.leads)));
    }
    if !needs.contacts.is_empty() {
        parts.push(format!("contact {}", ids(&needs.contacts)));
    }
    if !needs.companies.is_empty() {
        parts.push(format!("company {}", ids(&needs.companies)));
    }
    if needs.pipelines {
        parts.push("pipelines".into());
    }
    parts.join(", ")
}

/// Finds the entities the candidates need, or says which are still to be fetched.
pub(super) fn gather<'a>(
    event: &'a KommoEvent,
    snapshot: &'a Snapshot,
    uses: Uses,
) -> Result<Gathered<'a>, Needs> {
    let mut needs = Needs::default();
    let mut notes = Vec::new();
    match &event.subject {
        Subject::Lead(webhook_lead) => {
            let id = webhook_lead.id;
            let lead = match snapshot.leads.get(&id) {
                Some(lead) => lead,
                None if snapshot.missing.leads.contains(&id) => {
                    notes.push(format!(
                        "lead {id} is gone from Kommo; using the webhook's data"
                    ));
                    webhook_lead
                }
                None => {
                    needs.leads.insert(id);
                    return Err(needs);
                }
            };
            if uses.pipelines && snapshot.pipelines.is_none() {
                needs.pipelines = true;
            }
            let company = company_of(
                lead.company_id,
                uses.company,
                snapshot,
                &mut needs,
                &mut notes,
            );
            let contact = match lead.main_contact() {
                None => None,
                Some(cid) => match snapshot.contacts.get(&cid) {
                    Some(contact) => Some(contact),
                    None if snapshot.missing.contacts.contains(&cid) => {
                        notes.push(format!("contact {cid} is gone from Kommo"));
                        None
                    }
                    None => {
                        needs.contacts.insert(cid);
                        None
                    }
                },
            };
            if !needs.is_empty() {
                return Err(needs);
            }
            let people = contact
                .map(|c| vec![Person::of(c, None)])
                .unwrap_or_default();
            Ok(Gathered {
                lead: Some(lead),
                company,
                people,
                notes,
            })
        }
        Subject::Contact(webhook_contact) => {
            let id = webhook_contact.id;
            let contact = match snapshot.contacts.get(&id) {
                Some(contact) => contact,
                None if snapshot.missing.contacts.contains(&id) => {
                    notes.push(format!(
                        "contact {id} is gone from Kommo; using the webhook's data"
                    ));
                    webhook_contact
                }
                None => {
                    needs.contacts.insert(id);
                    return Err(needs);
                }
            };
            let company = company_of(
                contact.company_id,
                uses.company,
                snapshot,
                &mut needs,
                &mut notes,
            );
            if !needs.is_empty() {
                return Err(needs);
            }
            Ok(Gathered {
                lead: None,
                company,
                people: vec![Person::of(contact, None)],
                notes,
            })
        }
        Subject::Company(webhook_company) => {
            let id = webhook_company.id;
            let company = match snapshot.companies.get(&id) {
                Some(company) => company,
                None if snapshot.missing.companies.contains(&id) => {
                    notes.push(format!(
                        "company {id} is gone from Kommo; its contacts are unknown"
                    ));
                    webhook_company
                }
                None => {
                    needs.companies.insert(id);
                    return Err(needs);
                }
            };
            let mut people = Vec::new();
            for cid in &company.contacts {
                match snapshot.contacts.get(cid) {
                    Some(contact) => people.push(Person::of(contact, Some(company))),
                    None if snapshot.missing.contacts.contains(cid) => {
                        notes.push(format!("contact {cid} is gone from Kommo"))
                    }
                    None => {
                        needs.contacts.insert(*cid);
                    }
                }
            }
            if !needs.is_empty() {
                return Err(needs);
            }
            Ok(Gathered {
                lead: None,
                company: Some(company),
                people,
                notes,
            })
        }
    }
}

fn company_of<'a>(
    id: Option<u64>,
    used: bool,
    snapshot: &'a Snapshot,
    needs: &mut Needs,
    notes: &mut Vec<String>,
) -> Option<&'a CompanyFacts> {
    let id = id.filter(|_| used)?;
    match snapshot.companies.get(&id) {
        Some(company) => Some(company),
        None if snapshot.missing.companies.contains(&id) => {
            notes.push(format!("company {id} is gone from Kommo"));
            None
        }
        None => {
            needs.companies.insert(id);
            None
        }
    }
}

impl<'a> Person<'a> {
    fn of(contact: &'a ContactFacts, company: Option<&'a CompanyFacts>) -> Self {
        Person {
            contact: Some(contact),
            company,
            email: None,
            no_email_reason: String::new(),
            notes: Vec::new(),
        }
    }
}

/// Picks each person's email with the rules' identity settings.
pub(super) fn choose_emails(people: &mut [Person<'_>], rules: &Rules) {
    for person in people {
        if let Some(contact) = person.contact {
            person.email = choose_email(contact, rules.inner.identity.email, &mut person.notes);
            if person.email.is_none() {
                person.no_email_reason = format!("contact {} has no usable email", contact.id);
            }
        }
    }
}
