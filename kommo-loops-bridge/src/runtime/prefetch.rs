//! Entities read in bulk for the catch-up's planning jobs.
//!
//! A recovered change is planned like a webhook, which reads its lead, the lead's main contact
//! and company one request each: 5,000 recovered moves would cost 10,000 or more reads at
//! Kommo's 7 per second. The catch-up reads them 250 at a time instead (`filter[id][]`) before
//! it stores the planning jobs, and the planner takes them from here. Only planning jobs of
//! recovered changes do: a webhook's planning reads fresh data. Entries expire after
//! [`TTL`]; a job that finds none reads as usual.
//!
//! A webhook delivery of several entities (Kommo sends a bulk change as bodies of many leads)
//! is read in bulk too, with [`read_many`], but fresh and for that delivery only.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::leads::Lead;

use crate::runtime::PortError;

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

/// Entities per bulk read (Kommo's largest page).
pub(crate) const BULK: usize = 250;

/// The entities `ids` name, in that order (`None`: Kommo does not have it): from `cached`
/// when it knows, the others read [`BULK`] per request with `many` when there are two or
/// more, or with `one` when there is one (a single entity is read by id, as it always was).
pub(crate) async fn read_needed<T, Many, One>(
    ids: &std::collections::BTreeSet<u64>,
    cached: impl Fn(u64) -> Known<T>,
    many: impl Fn(Vec<u64>) -> Many,
    one: impl Fn(u64) -> One,
    id_of: impl Fn(&T) -> u64,
) -> Result<Vec<(u64, Option<T>)>, PortError>
where
    Many: Future<Output = Result<Vec<T>, PortError>>,
    One: Future<Output = Result<Option<T>, PortError>>,
{
    let mut known: Vec<(u64, Known<T>)> = ids.iter().map(|&id| (id, cached(id))).collect();
    let unknown: Vec<u64> = known
        .iter()
        .filter(|(_, k)| matches!(k, Known::Unknown))
        .map(|(id, _)| *id)
        .collect();
    if unknown.len() >= 2 {
        let mut read: HashMap<u64, T> = HashMap::with_capacity(unknown.len());
        for chunk in unknown.chunks(BULK) {
            read.extend(
                many(chunk.to_vec())
                    .await?
                    .into_iter()
                    .map(|e| (id_of(&e), e)),
            );
        }
        for (id, k) in &mut known {
            if matches!(k, Known::Unknown) {
                // Asked for and not returned: Kommo does not have it.
                *k = read.remove(id).map_or(Known::Missing, Known::Found);
            }
        }
    }
    let mut out = Vec::with_capacity(known.len());
    for (id, k) in known {
        let found = match k {
            Known::Found(found) => Some(found),
            Known::Missing => None,
            Known::Unknown => one(id).await?,
        };
        out.push((id, found));
    }
    Ok(out)
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

    /// What was found for each id, the bulk requests' sizes, the ids read one by one.
    type Reads = (Vec<(u64, bool)>, Vec<usize>, Vec<u64>);

    /// Reads `ids` with `cached` knowing 1 (found) and 2 (missing), Kommo having the even
    /// ids; the answers and the requests made (`many` sizes, `one` ids).
    fn read(ids: &[u64]) -> Reads {
        use std::sync::Mutex;
        let many_calls = Mutex::new(Vec::new());
        let one_calls = Mutex::new(Vec::new());
        let ids: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
        let cached = |id| match id {
            1 => Known::Found(lead(1)),
            2 => Known::Missing,
            _ => Known::Unknown,
        };
        let answer = futures_executor(read_needed(
            &ids,
            cached,
            |asked: Vec<u64>| {
                many_calls.lock().unwrap().push(asked.len());
                let found = asked.iter().filter(|id| *id % 2 == 0).map(|&id| lead(id));
                std::future::ready(Ok(found.collect()))
            },
            |id| {
                one_calls.lock().unwrap().push(id);
                std::future::ready(Ok((id % 2 == 0).then(|| lead(id))))
            },
            |l: &Lead| l.id.0,
        ))
        .unwrap();
        let answer = answer
            .into_iter()
            .map(|(id, l)| (id, l.is_some()))
            .collect();
        (
            answer,
            many_calls.into_inner().unwrap(),
            one_calls.into_inner().unwrap(),
        )
    }

    fn futures_executor<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn several_unknown_entities_are_read_in_bulk_one_by_id() {
        let all: Vec<u64> = (10..610).collect();
        let cases: [(&[u64], Reads); 5] = [
            (&[], (vec![], vec![], vec![])),
            (&[1, 2], (vec![(1, true), (2, false)], vec![], vec![])),
            (&[1, 4], (vec![(1, true), (4, true)], vec![], vec![4])),
            (&[4, 5], (vec![(4, true), (5, false)], vec![2], vec![])),
            (
                &all,
                (
                    all.iter().map(|&id| (id, id % 2 == 0)).collect(),
                    vec![250, 250, 100],
                    vec![],
                ),
            ),
        ];
        for (ids, expected) in cases {
            assert_eq!(read(ids), expected, "{ids:?}");
        }
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
