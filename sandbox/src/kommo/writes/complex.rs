//! `POST /api/v4/leads/complex`: leads created with a new or existing contact and company.

use kommo_client::ids::{CompanyId, ContactId, UserId};
use serde_json::{Map, Value};

use super::super::model::ValidationIssue;
use super::super::model::{Company, Contact, Lead};
use super::super::request::ApiError;
use super::super::state::State;
use super::contacts::{CompanyPlan, ContactPlan, plan_company, plan_contact};
use super::input::at_most_one;
use super::leads::{LeadPlan, plan_lead};
use super::{Change, check_all, create_one};

/// The most leads per complex add.
pub(crate) const COMPLEX_MAX: usize = 50;

/// The result of one complex lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComplexWritten {
    pub(crate) id: u64,
    pub(crate) contact_id: Option<u64>,
    pub(crate) company_id: Option<u64>,
    pub(crate) request_id: String,
}

enum Part<P> {
    New(P),
    Existing(u64),
}

struct ComplexPlan {
    lead: LeadPlan,
    contact: Option<Part<ContactPlan>>,
    company: Option<Part<CompanyPlan>>,
}

/// One full entity of a complex lead's `_embedded.contacts`/`companies`: a new entity, or an
/// existing one named by `id`.
fn complex_part<P>(
    embedded: Option<&Map<String, Value>>,
    key: &str,
    exists: impl Fn(u64) -> bool,
    plan: impl Fn(&Map<String, Value>) -> Result<P, Vec<ValidationIssue>>,
    issues: &mut Vec<ValidationIssue>,
) -> Option<Part<P>> {
    let value = embedded?.get(key).filter(|v| !v.is_null())?;
    let Value::Object(item) = at_most_one(value, key, issues)?? else {
        issues.push(ValidationIssue::invalid_type(
            format!("_embedded.{key}.0"),
            "object",
        ));
        return None;
    };
    if let Some(id) = item.get("id").filter(|v| !v.is_null()) {
        return match id.as_u64() {
            Some(id) if exists(id) => Some(Part::Existing(id)),
            _ => {
                issues.push(ValidationIssue::choice(format!("_embedded.{key}.0.id")));
                None
            }
        };
    }
    match plan(item) {
        Ok(p) => Some(Part::New(p)),
        Err(inner) => {
            issues.extend(inner.into_iter().map(|mut i| {
                i.path = format!("_embedded.{key}.0.{}", i.path);
                i
            }));
            None
        }
    }
}

/// Checks one complex lead: the lead itself, then its contact and company.
fn plan_complex(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
) -> Result<ComplexPlan, Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    let lead = match plan_lead(state, item, index, None, true) {
        Ok(plan) => Some(plan),
        Err(inner) => {
            issues.extend(inner);
            None
        }
    };
    let embedded = item.get("_embedded").and_then(Value::as_object);
    let contact = complex_part(
        embedded,
        "contacts",
        |id| state.contacts.contains_key(&id),
        |c| plan_contact(state, c, index, None),
        &mut issues,
    );
    let company = complex_part(
        embedded,
        "companies",
        |id| state.companies.contains_key(&id),
        |c| plan_company(state, c, index, None),
        &mut issues,
    );
    match lead {
        Some(lead) if issues.is_empty() => Ok(ComplexPlan {
            lead,
            contact,
            company,
        }),
        _ => Err(issues),
    }
}

/// Each lead with at most one contact and one company, new ones linked together. Duplicate
/// control is not modelled (`merged` is always false).
pub(crate) fn add_complex(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<ComplexWritten>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| plan_complex(state, item, i))?;
    let mut written = Vec::new();
    let mut changes = Vec::new();
    for plan in plans {
        let company_id = match &plan.company {
            Some(Part::New(p)) => {
                let (w, change) = create_one::<Company>(state, p, actor);
                changes.push(change);
                Some(w.id)
            }
            Some(Part::Existing(id)) => Some(*id),
            None => None,
        };
        let contact_id = match &plan.contact {
            Some(Part::New(p)) => {
                let mut p = p.clone();
                // A new contact and company are linked together.
                if p.company.is_none() {
                    p.company = company_id.map(CompanyId);
                }
                let (w, change) = create_one::<Contact>(state, &p, actor);
                changes.push(change);
                Some(w.id)
            }
            Some(Part::Existing(id)) => Some(*id),
            None => None,
        };
        let mut lead = plan.lead;
        lead.contacts = contact_id
            .map(|id| (ContactId(id), Some(true)))
            .into_iter()
            .collect();
        lead.company = company_id.map(CompanyId);
        let (w, change) = create_one::<Lead>(state, &lead, actor);
        changes.push(change);
        written.push(ComplexWritten {
            id: w.id,
            contact_id,
            company_id,
            request_id: w.request_id,
        });
    }
    Ok((written, changes))
}
