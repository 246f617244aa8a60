//! Reading what recovered changes will be planned with, 250 entities per request, before their
//! planning jobs are stored (see `runtime/prefetch.rs`).

use std::collections::BTreeSet;

use super::{CatchUpError, LoggedChange};
use crate::runtime::bridge::Bridge;
use crate::runtime::prefetch::BULK;

impl Bridge {
    /// Reads, in bulk, the leads, contacts and companies that planning `changes` needs (as the
    /// engine gathers them: a lead with its main contact and company, a contact with its
    /// company, a company with its contacts), and leaves them to the planner. Returns the
    /// requests made.
    pub(crate) async fn prefetch(&self, changes: &[&LoggedChange]) -> Result<u64, CatchUpError> {
        let kommo = &self.inner.planner.kommo;
        let companies_too = self.inner.rules.uses_company_data();
        let mut requests = 0;
        let (mut leads, mut contacts, mut companies) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for change in changes {
            match change.entity() {
                "lead" => leads.insert(change.entity_id),
                "contact" => contacts.insert(change.entity_id),
                _ => companies.insert(change.entity_id),
            };
        }
        let cache = &self.inner.planner.prefetched;
        let now = || crate::runtime::clock::instant();
        let lock = || {
            cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };

        for ids in Vec::from_iter(leads).chunks(BULK) {
            let found = kommo.leads_by_id(ids).await.map_err(CatchUpError::Kommo)?;
            requests += 1;
            for lead in &found {
                let contacts_of = &lead.embedded.contacts;
                let main = contacts_of
                    .iter()
                    .find(|c| c.is_main == Some(true))
                    .or(contacts_of.first());
                contacts.extend(main.map(|c| c.id.0));
                if companies_too {
                    companies.extend(lead.company_id().map(|c| c.0));
                }
            }
            lock().put_leads(ids, found, now());
        }
        let mut read_contacts = BTreeSet::new();
        for ids in Vec::from_iter(contacts).chunks(BULK) {
            let found = kommo
                .contacts_by_id(ids)
                .await
                .map_err(CatchUpError::Kommo)?;
            requests += 1;
            if companies_too {
                companies.extend(found.iter().filter_map(|c| c.company_id()).map(|c| c.0));
            }
            read_contacts.extend(ids.iter().copied());
            lock().put_contacts(ids, found, now());
        }
        let mut more_contacts = BTreeSet::new();
        for ids in Vec::from_iter(companies).chunks(BULK) {
            let found = kommo
                .companies_by_id(ids)
                .await
                .map_err(CatchUpError::Kommo)?;
            requests += 1;
            for company in &found {
                more_contacts.extend(
                    company
                        .embedded
                        .contacts
                        .iter()
                        .map(|c| c.id)
                        .filter(|id| !read_contacts.contains(id)),
                );
            }
            lock().put_companies(ids, found, now());
        }
        for ids in Vec::from_iter(more_contacts).chunks(BULK) {
            let found = kommo
                .contacts_by_id(ids)
                .await
                .map_err(CatchUpError::Kommo)?;
            requests += 1;
            lock().put_contacts(ids, found, now());
        }
        Ok(requests)
    }
}
