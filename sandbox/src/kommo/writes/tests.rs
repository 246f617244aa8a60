//! The write rules, table by table: defaults and placement, batch refusal, tags, complex adds
//! and links.

use kommo_client::common::EntityType;
use kommo_client::ids::ContactId;
use serde_json::json;

use super::super::model::{Contact, Lead};
use super::links::Linked;
use super::test_items as items;
use super::*;
use crate::kommo::config::Config;
use crate::kommo::sales::ElementLink;
use crate::kommo::seeds::defaults;

#[test]
fn lead_defaults_and_placement() {
    let mut state = State::new(&Config::default());
    let (written, changes) = add::<Lead>(
        &mut state,
        &items(json!([{"name": "A"}, {"status_id": 142, "request_id": "x"}])),
        defaults::API_USER,
    )
    .unwrap();
    assert_eq!(written[1].request_id, "x");
    assert_eq!(changes.len(), 2);
    let a = &state.leads[&written[0].id];
    assert_eq!(a.pipeline_id, defaults::PIPELINE_ID);
    assert_eq!(a.status_id, defaults::INITIAL_CONTACT);
    assert_eq!(a.closed_at, None);
    let b = &state.leads[&written[1].id];
    assert_eq!(b.name, format!("Lead #{}", written[1].id));
    assert!(b.closed_at.is_some());
}

#[test]
fn a_bad_item_refuses_the_whole_batch() {
    let mut state = State::new(&Config::default());
    let error = add::<Lead>(
        &mut state,
        &items(json!([
            {"name": "ok"},
            {"status_id": 1, "responsible_user_id": 5, "request_id": "r1"},
        ])),
        defaults::API_USER,
    )
    .unwrap_err();
    assert!(state.leads.is_empty());
    assert_eq!(error.issues.len(), 1);
    assert_eq!(error.issues[0].0, "r1");
    let paths: Vec<&str> = error.issues[0].1.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, vec!["responsible_user_id", "status_id"]);
}

#[test]
fn tags_are_additive_unless_replaced_and_noop_writes_keep_updated_at() {
    let mut state = State::new(&Config::default());
    let actor = defaults::API_USER;
    let (written, _) = add::<Contact>(
        &mut state,
        &items(json!([{"name": "Ada", "tags_to_add": [{"name": "a"}, {"name": "b"}]}])),
        actor,
    )
    .unwrap();
    let id = written[0].id;
    let before = state.contacts[&id].updated_at;
    let (_, changes) = update::<Contact>(
        &mut state,
        &items(
            json!([{"id": id, "tags_to_add": [{"name": "c"}], "tags_to_delete": [{"name": "A"}]}]),
        ),
        actor,
    )
    .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(state.contacts[&id].tag_names(), vec!["b", "c"]);
    assert!(state.contacts[&id].updated_at > before);
    let stamp = state.contacts[&id].updated_at;
    let (_, changes) = update::<Contact>(
        &mut state,
        &items(json!([{"id": id, "tags_to_add": [{"name": "b"}]}])),
        actor,
    )
    .unwrap();
    assert!(changes.is_empty());
    assert_eq!(state.contacts[&id].updated_at, stamp);
    update::<Contact>(
        &mut state,
        &items(json!([{"id": id, "_embedded": {"tags": null}, "tags_to_add": [{"name": "z"}]}])),
        actor,
    )
    .unwrap();
    assert!(state.contacts[&id].tags.is_empty(), "_embedded.tags wins");
    let missing = update::<Contact>(&mut state, &items(json!([{"id": 1}])), actor).unwrap_err();
    assert_eq!(missing.issues[0].1[0].code, "NotFound");
}

#[test]
fn complex_links_new_entities_and_links_move_the_main_contact() {
    let mut state = State::new(&Config::default());
    let actor = defaults::API_USER;
    let (written, changes) = add_complex(
        &mut state,
        &items(json!([{"name": "Deal", "_embedded": {
            "contacts": [{"first_name": "Ada", "last_name": "L"}],
            "companies": [{"name": "Acme"}]}}])),
        actor,
    )
    .unwrap();
    assert_eq!(changes.len(), 3);
    let w = &written[0];
    let contact = &state.contacts[&w.contact_id.unwrap()];
    assert_eq!(contact.name, "Ada L");
    assert_eq!(contact.company.map(|c| c.0), w.company_id);
    let lead = &state.leads[&w.id];
    assert_eq!(lead.main_contact().map(|c| c.0), w.contact_id);

    let (other, _) = add::<Contact>(&mut state, &items(json!([{"name": "Bob"}])), actor).unwrap();
    let Linked { links, changes, .. } = link(
        &mut state,
        EntityType::Leads,
        w.id,
        &items(json!([{"to_entity_id": other[0].id, "to_entity_type": "contacts", "metadata": {"is_main": true}}])),
        actor,
        false,
    )
    .unwrap();
    assert_eq!(links[0].is_main, Some(true));
    assert_eq!(changes.len(), 1);
    assert_eq!(
        state.leads[&w.id].main_contact(),
        Some(ContactId(other[0].id))
    );
    link(
        &mut state,
        EntityType::Leads,
        w.id,
        &items(json!([{"to_entity_id": other[0].id, "to_entity_type": "contacts"}])),
        actor,
        true,
    )
    .unwrap();
    assert_eq!(state.leads[&w.id].main_contact().map(|c| c.0), w.contact_id);
    let bad = link(
        &mut state,
        EntityType::Leads,
        w.id,
        &items(json!([{"to_entity_id": 1, "to_entity_type": "tasks"}])),
        actor,
        false,
    )
    .unwrap_err();
    assert_eq!(bad.issues[0].1[0].path, "to_entity_type");
    let bad = link(
        &mut state,
        EntityType::Leads,
        w.id,
        &items(json!([{"to_entity_id": 1, "to_entity_type": "catalog_elements"}])),
        actor,
        false,
    )
    .unwrap_err();
    assert_eq!(
        bad.issues[0].1[0].path, "metadata.catalog_id",
        "an element names its catalog"
    );
}

#[test]
fn a_deleted_lead_leaves_no_links_behind() {
    let mut state = State::new(&Config::default());
    let actor = defaults::API_USER;
    let (written, _) = add_complex(
        &mut state,
        &items(json!([
            {"name": "Gone", "_embedded": {"contacts": [{"first_name": "Ada"}], "companies": [{"name": "Acme"}]}},
            {"name": "Kept"},
        ])),
        actor,
    )
    .unwrap();
    let (gone, kept) = (written[0].id, written[1].id);
    for lead in [gone, kept] {
        state.sales.element_links.push(ElementLink {
            lead,
            element: 7,
            catalog: 3,
            quantity: 1.0,
            price_id: None,
        });
    }
    assert!(delete_lead(&mut state, kommo_client::ids::LeadId(gone)).is_some());
    let leads: Vec<u64> = state.sales.element_links.iter().map(|l| l.lead).collect();
    assert_eq!(
        leads,
        vec![kept],
        "the deleted lead's elements are taken off"
    );
    let names_gone = |l: &crate::kommo::model::Link| {
        (l.entity_type == EntityType::Leads && l.entity_id == gone)
            || (l.to_entity_type == EntityType::Leads && l.to_entity_id == gone)
    };
    assert!(!state.all_links().iter().any(names_gone));
    let contact = written[0].contact_id.unwrap();
    let company = written[0].company_id.unwrap();
    assert!(
        !state
            .links_of(EntityType::Contacts, contact)
            .iter()
            .chain(&state.links_of(EntityType::Companies, company))
            .any(names_gone)
    );
}
