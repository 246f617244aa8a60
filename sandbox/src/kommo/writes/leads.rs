//! Lead writes: where a lead goes in the pipelines, its contacts and company on create, and
//! what a move changes.

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId, LeadId, PipelineId, StatusId};
use serde_json::{Map, Value};

use super::super::model::{Lead, LeadContactLink, ValidationIssue};
use super::super::request::request_id;
use super::super::state::State;
use super::input::{Reader, embedded_company, parse_common};
use super::{Created, Head, Plan};

/// A checked lead write.
#[derive(Debug, Clone)]
pub(crate) struct LeadPlan {
    head: Head,
    name: Option<String>,
    price: Option<f64>,
    placement: Option<(PipelineId, StatusId)>,
    closed_at: Option<i64>,
    loss_reason_id: Option<Option<u64>>,
    pub(super) contacts: Vec<(ContactId, Option<bool>)>,
    pub(super) company: Option<CompanyId>,
}

/// Where a write puts a lead: the pipeline and status named, the pipeline's first stage, the
/// pipeline holding the status, or (on create) the main pipeline's first stage.
fn placement(
    state: &State,
    pipeline: Option<PipelineId>,
    status: Option<StatusId>,
    existing: Option<&Lead>,
    issues: &mut Vec<ValidationIssue>,
) -> Option<(PipelineId, StatusId)> {
    match (pipeline, status) {
        (Some(p), Some(s)) => match state.pipeline(p) {
            None => {
                issues.push(ValidationIssue::choice("pipeline_id"));
                None
            }
            Some(pipe) if pipe.find_status(s).is_none() => {
                issues.push(ValidationIssue::choice("status_id"));
                None
            }
            Some(_) => Some((p, s)),
        },
        (Some(p), None) => match state.pipeline(p) {
            None => {
                issues.push(ValidationIssue::choice("pipeline_id"));
                None
            }
            Some(_) if existing.is_some_and(|l| l.pipeline_id == p) => None,
            Some(pipe) => State::first_status(pipe).map(|s| (p, s)),
        },
        (None, Some(s)) => match state.pipeline_of(s, existing.map(|l| l.pipeline_id)) {
            Some(p) => Some((p, s)),
            None => {
                issues.push(ValidationIssue::choice("status_id"));
                None
            }
        },
        (None, None) if existing.is_none() => match state.main_pipeline() {
            Some(main) => State::first_status(main).map(|s| (main.id, s)),
            None => {
                issues.push(ValidationIssue::blank("pipeline_id"));
                None
            }
        },
        (None, None) => None,
    }
}

/// `_embedded.contacts` of a lead write: existing contacts, with their `is_main` flags.
fn embedded_contacts(
    state: &State,
    value: &Value,
    issues: &mut Vec<ValidationIssue>,
) -> Vec<(ContactId, Option<bool>)> {
    let Value::Array(items) = value else {
        issues.push(ValidationIssue::invalid_type("_embedded.contacts", "array"));
        return Vec::new();
    };
    let mut contacts = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.get("id").and_then(Value::as_u64) {
            Some(id) if state.contacts.contains_key(&id) => {
                contacts.push((ContactId(id), item.get("is_main").and_then(Value::as_bool)))
            }
            _ => issues.push(ValidationIssue::choice(format!(
                "_embedded.contacts.{i}.id"
            ))),
        }
    }
    contacts
}

/// Checks a lead write. `existing` is the lead being updated (`None` to create); `complex`
/// skips `_embedded.contacts`/`companies`, which carry full entities in a complex add.
pub(crate) fn plan_lead(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
    existing: Option<&Lead>,
    complex: bool,
) -> Result<LeadPlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let name = r.string("name");
    let price = r.float("price");
    let status = r.id("status_id").map(StatusId);
    let pipeline = r.id("pipeline_id").map(PipelineId);
    let closed_at = r.int("closed_at");
    let loss_reason_id = if r.has("loss_reason_id") {
        Some(r.id("loss_reason_id"))
    } else {
        None
    };
    let common = parse_common(state, EntityType::Leads, &mut r);
    let placement = placement(state, pipeline, status, existing, &mut r.issues);
    let mut contacts = Vec::new();
    let mut company = None;
    // Links in `_embedded` work on create only (as the official library documents).
    if !complex
        && existing.is_none()
        && let Some(embedded) = r.embedded()
    {
        if let Some(value) = embedded.get("contacts").filter(|v| !v.is_null()) {
            contacts = embedded_contacts(state, value, &mut r.issues);
        }
        company = embedded_company(state, embedded, &mut r.issues);
    }
    if !r.issues.is_empty() {
        return Err(r.issues);
    }
    Ok(LeadPlan {
        head: Head {
            request_id: request_id(item, index),
            target: existing.map_or(0, |l| l.id.0),
            common,
        },
        name,
        price,
        placement,
        closed_at,
        loss_reason_id,
        contacts,
        company,
    })
}

/// Main-contact rules: the one marked main, else the first.
fn contact_links(contacts: &[(ContactId, Option<bool>)]) -> Vec<LeadContactLink> {
    let mut links: Vec<LeadContactLink> = Vec::new();
    for (id, is_main) in contacts {
        if links.iter().any(|l| l.id == *id) {
            continue;
        }
        links.push(LeadContactLink {
            id: *id,
            is_main: is_main == &Some(true) && !links.iter().any(|l| l.is_main),
        });
    }
    if !links.is_empty() && !links.iter().any(|l| l.is_main) {
        links[0].is_main = true;
    }
    links
}

impl Plan<Lead> for LeadPlan {
    fn head(&self) -> &Head {
        &self.head
    }

    fn build(&self, id: u64, created: &Created) -> Lead {
        let (pipeline_id, status_id) = self.placement.unwrap_or((PipelineId(0), StatusId(0)));
        Lead {
            id: LeadId(id),
            name: self.name.clone().unwrap_or_else(|| format!("Lead #{id}")),
            price: self.price.unwrap_or(0.0),
            pipeline_id,
            status_id,
            loss_reason_id: self.loss_reason_id.flatten(),
            responsible_user_id: created.actor,
            created_by: created.created_by,
            updated_by: created.updated_by,
            created_at: created.created_at,
            updated_at: created.updated_at,
            closed_at: self
                .closed_at
                .or(status_id.is_closed().then_some(created.now)),
            custom_fields: Vec::new(),
            tags: Vec::new(),
            contacts: contact_links(&self.contacts),
            company: self.company,
        }
    }

    fn apply(&self, state: &State, lead: &mut Lead) {
        if let Some(name) = &self.name {
            lead.name = name.clone();
        }
        if let Some(price) = self.price {
            lead.price = price;
        }
        if let Some((pipeline, status)) = self.placement {
            let was_closed = lead.status_id.is_closed();
            lead.pipeline_id = pipeline;
            lead.status_id = status;
            if status.is_closed() && !was_closed {
                lead.closed_at = Some(state.now());
            } else if !status.is_closed() {
                lead.closed_at = None;
            }
        }
        if let Some(closed_at) = self.closed_at {
            lead.closed_at = Some(closed_at);
        }
        if let Some(reason) = self.loss_reason_id {
            lead.loss_reason_id = reason;
        }
        if let Some(created_at) = self.head.common.created_at {
            lead.created_at = created_at;
        }
    }
}
