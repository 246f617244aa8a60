//! Entity writes: how an add/update body changes leads, contacts and companies, and links.
//!
//! Every item of a batch is checked before anything changes; if any item has a problem the
//! whole request is refused with 400 `validation-errors` (one group per failing item, keyed by
//! its `request_id`) and the store is untouched. A write that changes nothing keeps
//! `updated_at` and causes no webhook. Each applied change is reported as a [`Change`] for the
//! webhook layer.

mod complex;
mod contacts;
mod input;
mod leads;
mod links;
#[cfg(test)]
mod tests;

pub(crate) use complex::{COMPLEX_MAX, add_complex};
pub(crate) use contacts::{CompanyPlan, ContactPlan, plan_company, plan_contact};
pub(crate) use input::Reader;
pub(crate) use leads::{LeadPlan, plan_lead};
pub(crate) use links::link;

use std::collections::BTreeMap;

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId, LeadId, NoteId, TaskId, UserId};
use serde_json::{Map, Value};

use super::entity::Entity;
use super::model::{Company, Contact, Lead, Task, ValidationIssue};
use super::request::{ApiError, request_id};
use super::state::State;
use input::{Common, apply_common};

/// Something that happened to the store, for the webhook layer. Updates carry the snapshot
/// from before the change.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    LeadAdded(LeadId),
    LeadUpdated(Box<Lead>),
    LeadDeleted(Box<Lead>),
    ContactAdded(ContactId),
    ContactUpdated(Box<Contact>),
    CompanyAdded(CompanyId),
    CompanyUpdated(Box<Company>),
    NoteAdded(NoteId),
    TaskAdded(TaskId),
    TaskUpdated(Box<Task>),
}

/// The result of one entity in a batch write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) id: u64,
    pub(crate) request_id: String,
    pub(crate) updated_at: i64,
}

/// What every checked write of a lead, contact or company has.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    /// The item's `request_id` (its index when it has none).
    request_id: String,
    /// The entity being updated (`0` on create).
    target: u64,
    common: Common,
}

/// A checked write of one lead, contact or company.
pub(crate) trait Plan<E> {
    fn head(&self) -> &Head;
    /// The new entity, before the shared members are applied.
    fn build(&self, id: u64, created: &Created) -> E;
    /// Sets the members of the entity's own kind on an update.
    fn apply(&self, state: &State, entity: &mut E);
}

/// Who made a new entity and when: the write's own values, else the actor and now.
pub(crate) struct Created {
    actor: UserId,
    now: i64,
    created_by: UserId,
    updated_by: UserId,
    created_at: i64,
    updated_at: i64,
}

impl Created {
    fn new(common: &Common, actor: UserId, now: i64) -> Self {
        Created {
            actor,
            now,
            created_by: common.created_by.unwrap_or(actor),
            updated_by: common.updated_by.unwrap_or(actor),
            created_at: common.created_at.unwrap_or(now),
            updated_at: common.updated_at.unwrap_or(now),
        }
    }
}

/// Creates an entity from a checked plan.
pub(crate) fn create_one<E: Entity>(
    state: &mut State,
    plan: &E::Plan,
    actor: UserId,
) -> (Written, Change) {
    let head = plan.head();
    let id = E::next_id(state);
    let created = Created::new(&head.common, actor, state.now());
    let mut entity = plan.build(id, &created);
    apply_common(state, E::TYPE, &head.common, entity.common_mut());
    let written = Written {
        id,
        request_id: head.request_id.clone(),
        updated_at: entity.meta().updated_at,
    };
    E::map_mut(state).insert(id, entity);
    (written, E::added(id))
}

/// Updates an entity from a checked plan: the members of its own kind, then the shared
/// ones, then the new version is committed.
pub(crate) fn update_one<E: Entity>(
    state: &mut State,
    plan: &E::Plan,
    actor: UserId,
) -> (Written, Option<Change>) {
    let Head {
        request_id,
        target: id,
        common,
    } = plan.head();
    let id = *id;
    let mut written = Written {
        id,
        request_id: request_id.clone(),
        updated_at: 0,
    };
    let Some(mut new) = E::map(state).get(&id).cloned() else {
        return (written, None);
    };
    plan.apply(state, &mut new);
    let target = new.common_mut();
    if let Some(created_by) = common.created_by {
        *target.created_by = created_by;
    }
    apply_common(state, E::TYPE, common, target);
    let change = commit(state, new, actor, common.updated_at, common.updated_by);
    written.updated_at = E::map(state).get(&id).map_or(0, |e| e.meta().updated_at);
    (written, change)
}

/// Stores `new` as the next version of its entity when it differs from the current one in
/// anything but the change stamps; `updated_at` then moves on (strictly) unless given.
pub(crate) fn commit<E: Entity>(
    state: &mut State,
    mut new: E,
    actor: UserId,
    explicit_updated_at: Option<i64>,
    explicit_updated_by: Option<UserId>,
) -> Option<Change> {
    let id = new.meta().id;
    let old = E::map(state).get(&id)?.clone();
    let strip = |entity: &E| {
        let mut entity = entity.clone();
        entity.stamp(0, UserId(0));
        entity
    };
    if strip(&old) == strip(&new) {
        return None;
    }
    let at = explicit_updated_at.unwrap_or_else(|| state.bump(old.meta().updated_at));
    new.stamp(at, explicit_updated_by.unwrap_or(actor));
    E::map_mut(state).insert(id, new);
    Some(E::updated(old))
}

/// Checks every item first, so a failing batch changes nothing.
pub(crate) fn check_all<P>(
    items: &[Map<String, Value>],
    mut plan: impl FnMut(usize, &Map<String, Value>) -> Result<P, Vec<ValidationIssue>>,
) -> Result<Vec<P>, ApiError> {
    let mut plans = Vec::with_capacity(items.len());
    let mut groups = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match plan(i, item) {
            Ok(p) => plans.push(p),
            Err(issues) => groups.push((request_id(item, i), issues)),
        }
    }
    if groups.is_empty() {
        Ok(plans)
    } else {
        Err(ApiError::validation(groups))
    }
}

/// The entity an update item names by `id`, or the item's issues.
fn target<'a, T>(
    map: &'a BTreeMap<u64, T>,
    item: &Map<String, Value>,
) -> Result<&'a T, Vec<ValidationIssue>> {
    match item.get("id") {
        None | Some(Value::Null) => Err(vec![ValidationIssue::blank("id")]),
        Some(v) => match v.as_u64() {
            Some(id) => map
                .get(&id)
                .ok_or_else(|| vec![ValidationIssue::new("NotFound", "id", "Entity not found")]),
            None => Err(vec![ValidationIssue::invalid_type("id", "int")]),
        },
    }
}

/// `POST /api/v4/{leads,contacts,companies}`.
pub(crate) fn add<E: Entity>(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| E::plan(state, item, i, None))?;
    Ok(plans
        .iter()
        .map(|plan| create_one::<E>(state, plan, actor))
        .unzip())
}

/// `PATCH /api/v4/{leads,contacts,companies}`: the updates in order; one that changed nothing
/// has no change.
pub(crate) fn update<E: Entity>(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| {
        let existing = target(E::map(state), item)?;
        E::plan(state, item, i, Some(existing))
    })?;
    let mut written = Vec::with_capacity(plans.len());
    let mut changes = Vec::new();
    for plan in &plans {
        let (w, change) = update_one::<E>(state, plan, actor);
        written.push(w);
        changes.extend(change);
    }
    Ok((written, changes))
}

/// Removes a lead (scenario API; the v4 API has no lead deletion).
pub(crate) fn delete_lead(state: &mut State, id: LeadId) -> Option<Change> {
    let lead = state.leads.remove(&id.0)?;
    state
        .tasks
        .retain(|_, t| !(t.entity_type == Some(EntityType::Leads) && t.entity_id == Some(id.0)));
    // Its links to contacts and a company live on the lead and go with it; its elements of
    // catalogs are kept apart and would otherwise outlive it.
    state.sales.element_links.retain(|l| l.lead != id.0);
    Some(Change::LeadDeleted(Box::new(lead)))
}

/// Batch items from a JSON array of objects, as the batch endpoints receive them.
#[cfg(test)]
pub(crate) fn test_items(value: Value) -> Vec<Map<String, Value>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
}
