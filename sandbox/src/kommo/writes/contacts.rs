//! Contact and company writes.

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId};
use serde_json::{Map, Value};

use super::super::model::{Company, Contact, ValidationIssue};
use super::super::request::request_id;
use super::super::state::State;
use super::input::{Reader, embedded_company, parse_common};
use super::{Created, Head, Plan};

/// A checked contact write.
#[derive(Debug, Clone)]
pub(crate) struct ContactPlan {
    head: Head,
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    pub(super) company: Option<CompanyId>,
}

/// Checks a contact write (`existing` is the contact being updated).
pub(crate) fn plan_contact(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
    existing: Option<&Contact>,
) -> Result<ContactPlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let name = r.string("name");
    let first_name = r.string("first_name");
    let last_name = r.string("last_name");
    let common = parse_common(state, EntityType::Contacts, &mut r);
    let company = match r.embedded() {
        Some(embedded) => embedded_company(state, embedded, &mut r.issues),
        None => None,
    };
    if !r.issues.is_empty() {
        return Err(r.issues);
    }
    Ok(ContactPlan {
        head: Head {
            request_id: request_id(item, index),
            target: existing.map_or(0, |c| c.id.0),
            common,
        },
        name,
        first_name,
        last_name,
        company,
    })
}

fn joined_name(first: Option<&str>, last: Option<&str>) -> String {
    [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Plan<Contact> for ContactPlan {
    fn head(&self) -> &Head {
        &self.head
    }

    fn build(&self, id: u64, created: &Created) -> Contact {
        Contact {
            id: ContactId(id),
            name: self.name.clone().unwrap_or_else(|| {
                joined_name(self.first_name.as_deref(), self.last_name.as_deref())
            }),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            responsible_user_id: created.actor,
            created_by: created.created_by,
            updated_by: created.updated_by,
            created_at: created.created_at,
            updated_at: created.updated_at,
            custom_fields: Vec::new(),
            tags: Vec::new(),
            company: self.company,
        }
    }

    fn apply(&self, _: &State, contact: &mut Contact) {
        if let Some(name) = &self.name {
            contact.name = name.clone();
        }
        if self.first_name.is_some() {
            contact.first_name = self.first_name.clone();
        }
        if self.last_name.is_some() {
            contact.last_name = self.last_name.clone();
        }
        if self.company.is_some() {
            contact.company = self.company;
        }
    }
}

/// A checked company write.
#[derive(Debug, Clone)]
pub(crate) struct CompanyPlan {
    head: Head,
    name: Option<String>,
}

/// Checks a company write (`existing` is the company being updated).
pub(crate) fn plan_company(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
    existing: Option<&Company>,
) -> Result<CompanyPlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let name = r.string("name");
    let common = parse_common(state, EntityType::Companies, &mut r);
    if !r.issues.is_empty() {
        return Err(r.issues);
    }
    Ok(CompanyPlan {
        head: Head {
            request_id: request_id(item, index),
            target: existing.map_or(0, |c| c.id.0),
            common,
        },
        name,
    })
}

impl Plan<Company> for CompanyPlan {
    fn head(&self) -> &Head {
        &self.head
    }

    fn build(&self, id: u64, created: &Created) -> Company {
        Company {
            id: CompanyId(id),
            name: self.name.clone().unwrap_or_default(),
            responsible_user_id: created.actor,
            created_by: created.created_by,
            updated_by: created.updated_by,
            created_at: created.created_at,
            updated_at: created.updated_at,
            custom_fields: Vec::new(),
            tags: Vec::new(),
        }
    }

    fn apply(&self, _: &State, company: &mut Company) {
        if let Some(name) = &self.name {
            company.name = name.clone();
        }
    }
}
