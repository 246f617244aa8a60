//! Entities read in bulk for the catch-up's planning jobs.
//!
//! A recovered change is planned like a webhook, which reads its lead, the lead's main contact
//! and company one request each: 5,000 recovered moves would cost 10,000 or more reads at
//! Kommo's 7 per second. The catch-up reads them 250 at a time instead (`filter[id][]`) before
//! it stores the planning jobs, and the planner takes them from here. Only planning jobs of
//! recovered changes do: a webhook's planning reads fresh data. Entries expire after
//! [`TTL`]; a job that finds none reads as usual.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::leads::Lead;

/// How long bulk-read entities are used.
pub(crate) const TTL: Duration = Duration::from_secs(10 * 60);

/// The most entities kept; beyond it, jobs read their own.
const CAPACITY: usize = 60_000;

/// One entity as read: `None` when Kommo has no such entity.
type Entry<T> = (Instant, Option<T>);

/// Entities read in bulk, by id.
#[derive(Debug, Default)]
pub(crate) struct Prefetched {
    leads: HashMap<u64, Entry<Lead>>,
    contacts: HashMap<u64, Entry<Contact>>,
    companies: HashMap<u64, Entry<Company>>,
}

/// What the cache knows of one entity.
#[derive(Debug, PartialEq)]
pub(crate) enum Known<T> {
    /// Read at most [`TTL`] ago.
    Found(T),
    /// Kommo did not have it.
    Missing,
    /// Not read (or read too long ago).
    Unknown,
}

impl<T> Known<T> {
    /// The entity, from the bulk read when it knows, else from `read` (one request).
    pub(crate) async fn or_read(
        self,
        read: impl std::future::Future<Output = Result<Option<T>, crate::runtime::PortError>>,
    ) -> Result<Option<T>, crate::runtime::PortError> {
        match self {
            Known::Found(found) => Ok(Some(found)),
            Known::Missing => Ok(None),
            Known::Unknown => read.await,
        }
    }
}

fn get<T: Clone>(map: &HashMap<u64, Entry<T>>, id: u64, now: Instant) -> Known<T> {
    match map.get(&id) {
        Some((at, found)) if now.saturating_duration_since(*at) < TTL => match found {
            Some(found) => Known::Found(found.clone()),
            None => Known::Missing,
        },
        _ => Known::Unknown,
    }
}

impl Prefetched {
    fn len(&self) -> usize {
        self.leads.len() + self.contacts.len() + self.companies.len()
    }

    /// Drops what expired; whether there is room for `more`.
    fn room(&mut self, more: usize, now: Instant) -> bool {
        let fresh = |at: &Instant| now.saturating_duration_since(*at) < TTL;
        self.leads.retain(|_, (at, _)| fresh(at));
        self.contacts.retain(|_, (at, _)| fresh(at));
        self.companies.retain(|_, (at, _)| fresh(at));
        self.len() + more <= CAPACITY
    }

    /// Keeps the leads read for `asked`; those Kommo did not return are missing.
    pub(crate) fn put_leads(&mut self, asked: &[u64], found: Vec<Lead>, now: Instant) {
        if !self.room(asked.len(), now) {
            return;
        }
        for id in asked {
            self.leads.insert(*id, (now, None));
        }
        for lead in found {
            self.leads.insert(lead.id.0, (now, Some(lead)));
        }
    }

    /// Keeps the contacts read for `asked`.
    pub(crate) fn put_contacts(&mut self, asked: &[u64], found: Vec<Contact>, now: Instant) {
        if !self.room(asked.len(), now) {
            return;
        }
        for id in asked {
            self.contacts.insert(*id, (now, None));
        }
        for contact in found {
            self.contacts.insert(contact.id.0, (now, Some(contact)));
        }
    }

    /// Keeps the companies read for `asked`.
    pub(crate) fn put_companies(&mut self, asked: &[u64], found: Vec<Company>, now: Instant) {
        if !self.room(asked.len(), now) {
            return;
        }
        for id in asked {
            self.companies.insert(*id, (now, None));
        }
        for company in found {
            self.companies.insert(company.id.0, (now, Some(company)));
        }
    }

    pub(crate) fn lead(&self, id: u64, now: Instant) -> Known<Lead> {
        get(&self.leads, id, now)
    }

    pub(crate) fn contact(&self, id: u64, now: Instant) -> Known<Contact> {
        get(&self.contacts, id, now)
    }

    pub(crate) fn company(&self, id: u64, now: Instant) -> Known<Company> {
        get(&self.companies, id, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(id: u64) -> Lead {
        serde_json::from_value(serde_json::json!({ "id": id })).unwrap()
    }

    #[test]
    fn found_missing_expired() {
        let t0 = crate::runtime::clock::instant();
        let mut cache = Prefetched::default();
        cache.put_leads(&[1, 2], vec![lead(1)], t0);
        assert_eq!(cache.lead(1, t0), Known::Found(lead(1)));
        assert_eq!(cache.lead(2, t0), Known::Missing, "asked and not returned");
        assert_eq!(cache.lead(3, t0), Known::Unknown);
        let later = t0 + TTL;
        assert_eq!(cache.lead(1, later), Known::Unknown, "expired");
        cache.put_leads(&[3], vec![lead(3)], later);
        assert_eq!(cache.len(), 1, "the expired ones were dropped");
    }

    #[test]
    fn a_full_cache_takes_no_more() {
        let t0 = crate::runtime::clock::instant();
        let mut cache = Prefetched::default();
        let ids: Vec<u64> = (0..CAPACITY as u64).collect();
        cache.put_leads(&ids, Vec::new(), t0);
        cache.put_leads(&[u64::MAX], vec![lead(u64::MAX)], t0);
        assert_eq!(cache.lead(u64::MAX, t0), Known::Unknown);
        assert_eq!(cache.lead(7, t0), Known::Missing);
    }
}
