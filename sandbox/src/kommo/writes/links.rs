//! `POST /api/v4/{entity}/{id}/link` and `unlink`: links between leads, contacts and
//! companies, kept on the entity that holds the reference, and elements of catalogs on leads
//! (products with a quantity), kept with the catalogs.

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId, UserId};
use serde_json::{Map, Value};

use super::super::model::{Contact, Lead, LeadContactLink, Link, ValidationIssue};
use super::super::request::ApiError;
use super::super::sales::ElementLink;
use super::super::state::State;
use super::{Change, check_all, commit};

/// The entity types `from` may link to.
fn linkable(from: EntityType, to: EntityType) -> bool {
    matches!(
        (from, to),
        (EntityType::Leads, EntityType::Contacts)
            | (EntityType::Leads, EntityType::Companies)
            | (EntityType::Contacts, EntityType::Companies)
            | (EntityType::Contacts, EntityType::Leads)
            | (EntityType::Companies, EntityType::Contacts)
            | (EntityType::Companies, EntityType::Leads)
    )
}

fn parse_entity_type(name: &str) -> Option<EntityType> {
    match name {
        "leads" => Some(EntityType::Leads),
        "contacts" => Some(EntityType::Contacts),
        "companies" => Some(EntityType::Companies),
        _ => None,
    }
}

/// A checked link item.
enum LinkItem {
    Entity {
        to: EntityType,
        to_id: u64,
        is_main: Option<bool>,
    },
    /// An element of a catalog on a lead.
    Element(ElementLink),
}

/// What a link call did: the links between entities, the elements put on (or taken off) a
/// lead, and the changes (the entity that holds the reference changes: the lead for
/// lead↔contact and lead↔company links, the contact for contact↔company links; elements
/// change no entity).
#[derive(Debug)]
pub(crate) struct Linked {
    pub(crate) links: Vec<Link>,
    pub(crate) elements: Vec<ElementLink>,
    pub(crate) changes: Vec<Change>,
}

/// Checks a `catalog_elements` item of a lead: the element must be in the catalog
/// `metadata.catalog_id` names; the quantity (1 when absent) must be positive.
fn element_item(
    state: &State,
    lead: u64,
    item: &Map<String, Value>,
    unlink: bool,
) -> Result<ElementLink, Vec<ValidationIssue>> {
    let metadata = item.get("metadata").and_then(Value::as_object);
    let catalog = metadata
        .and_then(|m| m.get("catalog_id"))
        .and_then(Value::as_u64);
    let element = item.get("to_entity_id").and_then(Value::as_u64);
    let quantity = match metadata.and_then(|m| m.get("quantity")) {
        None | Some(Value::Null) => Some(1.0),
        Some(q) => q.as_f64().filter(|q| q.is_finite() && *q > 0.0),
    };
    let mut issues = Vec::new();
    match (catalog, element) {
        (None, _) => issues.push(ValidationIssue::blank("metadata.catalog_id")),
        (Some(_), None) => issues.push(ValidationIssue::blank("to_entity_id")),
        (Some(catalog), Some(element))
            if state
                .sales
                .elements
                .get(&element)
                .is_none_or(|e| e.catalog_id != catalog) =>
        {
            issues.push(ValidationIssue::choice("to_entity_id"));
        }
        _ => {}
    }
    if quantity.is_none() && !unlink {
        issues.push(ValidationIssue::invalid_type("metadata.quantity", "number"));
    }
    match (catalog, element) {
        (Some(catalog), Some(element)) if issues.is_empty() => Ok(ElementLink {
            lead,
            element,
            catalog,
            quantity: quantity.unwrap_or(1.0),
            price_id: metadata
                .and_then(|m| m.get("price_id"))
                .and_then(Value::as_u64),
        }),
        _ => Err(issues),
    }
}

/// Puts an element on a lead (its quantity and price replace an earlier link's) or takes
/// it off.
fn apply_element(state: &mut State, link: &ElementLink, unlink: bool) {
    let links = &mut state.sales.element_links;
    let same = |l: &ElementLink| l.lead == link.lead && l.element == link.element;
    if unlink {
        links.retain(|l| !same(l));
    } else if let Some(existing) = links.iter_mut().find(|l| same(l)) {
        *existing = link.clone();
    } else {
        links.push(link.clone());
    }
}

/// `POST /api/v4/{entity}/{id}/link` (or `unlink`): checks every item, then applies them.
pub(crate) fn link(
    state: &mut State,
    entity: EntityType,
    id: u64,
    items: &[Map<String, Value>],
    actor: UserId,
    unlink: bool,
) -> Result<Linked, ApiError> {
    let plans = check_all(items, |_, item| {
        if entity == EntityType::Leads
            && item.get("to_entity_type").and_then(Value::as_str) == Some("catalog_elements")
        {
            return element_item(state, id, item, unlink).map(LinkItem::Element);
        }
        let mut issues = Vec::new();
        let to = item
            .get("to_entity_type")
            .and_then(Value::as_str)
            .and_then(parse_entity_type)
            .filter(|to| linkable(entity, *to));
        let to_id = item.get("to_entity_id").and_then(Value::as_u64);
        match (to, to_id) {
            (None, _) => issues.push(ValidationIssue::choice("to_entity_type")),
            (Some(_), None) => issues.push(ValidationIssue::blank("to_entity_id")),
            (Some(to), Some(to_id)) if !state.exists(to, to_id) => {
                issues.push(ValidationIssue::choice("to_entity_id"));
            }
            _ => {}
        }
        let metadata = item.get("metadata").and_then(Value::as_object);
        let is_main = metadata.and_then(|m| {
            m.get("is_main")
                .or_else(|| m.get("main_contact"))
                .and_then(Value::as_bool)
        });
        match (to, to_id) {
            (Some(to), Some(to_id)) if issues.is_empty() => {
                Ok(LinkItem::Entity { to, to_id, is_main })
            }
            _ => Err(issues),
        }
    })?;
    let mut applied = Vec::new();
    let mut elements = Vec::new();
    let mut leads: Vec<Lead> = Vec::new();
    let mut contacts: Vec<Contact> = Vec::new();
    // Work on copies, committed once per entity at the end.
    let lead_copy = |state: &State, leads: &mut Vec<Lead>, lead_id: u64| -> Option<usize> {
        if let Some(i) = leads.iter().position(|l| l.id.0 == lead_id) {
            return Some(i);
        }
        leads.push(state.leads.get(&lead_id)?.clone());
        Some(leads.len() - 1)
    };
    let contact_copy =
        |state: &State, contacts: &mut Vec<Contact>, contact_id: u64| -> Option<usize> {
            if let Some(i) = contacts.iter().position(|c| c.id.0 == contact_id) {
                return Some(i);
            }
            contacts.push(state.contacts.get(&contact_id)?.clone());
            Some(contacts.len() - 1)
        };
    for item in &plans {
        let (to, to_id, is_main) = match item {
            LinkItem::Entity { to, to_id, is_main } => (*to, *to_id, *is_main),
            LinkItem::Element(link) => {
                apply_element(state, link, unlink);
                elements.push(link.clone());
                continue;
            }
        };
        let (lead_id, contact_id, company_id) = match (entity, to) {
            (EntityType::Leads, EntityType::Contacts) => (Some(id), Some(to_id), None),
            (EntityType::Contacts, EntityType::Leads) => (Some(to_id), Some(id), None),
            (EntityType::Leads, EntityType::Companies) => (Some(id), None, Some(to_id)),
            (EntityType::Companies, EntityType::Leads) => (Some(to_id), None, Some(id)),
            (EntityType::Contacts, EntityType::Companies) => (None, Some(id), Some(to_id)),
            (EntityType::Companies, EntityType::Contacts) => (None, Some(to_id), Some(id)),
            _ => continue,
        };
        let mut main_after = None;
        match (lead_id, contact_id, company_id) {
            (Some(lead_id), Some(contact_id), None) => {
                let Some(i) = lead_copy(state, &mut leads, lead_id) else {
                    continue;
                };
                let lead = &mut leads[i];
                let contact = ContactId(contact_id);
                if unlink {
                    lead.contacts.retain(|c| c.id != contact);
                    if !lead.contacts.is_empty() && !lead.contacts.iter().any(|c| c.is_main) {
                        lead.contacts[0].is_main = true;
                    }
                } else {
                    if !lead.contacts.iter().any(|c| c.id == contact) {
                        lead.contacts.push(LeadContactLink {
                            id: contact,
                            is_main: false,
                        });
                    }
                    if is_main == Some(true) || !lead.contacts.iter().any(|c| c.is_main) {
                        for c in &mut lead.contacts {
                            c.is_main = c.id == contact;
                        }
                    } else if is_main == Some(false) && lead.contacts.len() > 1 {
                        let was_main = lead.contacts.iter().any(|c| c.id == contact && c.is_main);
                        if was_main {
                            for c in &mut lead.contacts {
                                c.is_main = false;
                            }
                            if let Some(other) = lead.contacts.iter_mut().find(|c| c.id != contact)
                            {
                                other.is_main = true;
                            }
                        }
                    }
                    main_after = lead
                        .contacts
                        .iter()
                        .find(|c| c.id == contact)
                        .map(|c| c.is_main);
                }
            }
            (Some(lead_id), None, Some(company_id)) => {
                let Some(i) = lead_copy(state, &mut leads, lead_id) else {
                    continue;
                };
                let lead = &mut leads[i];
                if unlink {
                    if lead.company == Some(CompanyId(company_id)) {
                        lead.company = None;
                    }
                } else {
                    lead.company = Some(CompanyId(company_id));
                }
            }
            (None, Some(contact_id), Some(company_id)) => {
                let Some(i) = contact_copy(state, &mut contacts, contact_id) else {
                    continue;
                };
                let contact = &mut contacts[i];
                if unlink {
                    if contact.company == Some(CompanyId(company_id)) {
                        contact.company = None;
                    }
                } else {
                    contact.company = Some(CompanyId(company_id));
                }
            }
            _ => continue,
        }
        applied.push(Link {
            entity_type: entity,
            entity_id: id,
            to_entity_type: to,
            to_entity_id: to_id,
            is_main: main_after,
        });
    }
    let mut changes = Vec::new();
    for lead in leads {
        changes.extend(commit(state, lead, actor, None, None));
    }
    for contact in contacts {
        changes.extend(commit(state, contact, actor, None, None));
    }
    Ok(Linked {
        links: applied,
        elements,
        changes,
    })
}
