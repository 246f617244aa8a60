//! JSON fixtures deserialize into the models (what the rule engine does with snapshots,
//! without the client feature).

use kommo_client::common::Page;
use kommo_client::companies::Company;
use kommo_client::contacts::Contact;
use kommo_client::custom_fields::FieldType;
use kommo_client::error::{ApiProblem, Error};
use kommo_client::field_values::FieldValue;
use kommo_client::ids::*;
use kommo_client::leads::{ComplexLeadResult, Lead};
use kommo_client::pipelines::PipelineList;
use serde_json::json;

use crate::support::{fixture, fixture_json};

#[test]
fn lead_with_contacts_snapshot() {
    let lead: Lead = serde_json::from_str(&fixture("get_lead_with_contacts.json")).unwrap();
    assert_eq!(lead.id, LeadId(152464));
    assert_eq!(lead.price, Some(20000.0));
    assert_eq!(lead.status_id, Some(StatusId(58141807)));
    assert_eq!(lead.pipeline_id, Some(PipelineId(6950551)));
    assert_eq!(lead.main_contact_id(), Some(ContactId(1558245)));
    assert_eq!(
        lead.contact_ids(),
        vec![ContactId(1558245), ContactId(1558246)]
    );
    assert_eq!(lead.company_id(), Some(CompanyId(1558243)));
    let sale = lead
        .custom_fields_values
        .by_id(CustomFieldId(184994))
        .unwrap();
    assert_eq!(sale.field_type, FieldType::Checkbox);
    assert_eq!(sale.values, vec![FieldValue::Checkbox(true)]);
    assert_eq!(sale.is_computed, Some(false));
    assert!(!lead.is_won() && !lead.is_lost());
    // Serialize then deserialize gives the same model (snapshots can be stored).
    let again: Lead = serde_json::from_value(serde_json::to_value(&lead).unwrap()).unwrap();
    assert_eq!(again, lead);
}

#[test]
fn contact_search_page_and_helpers() {
    let page: Page<Contact> =
        Page::from_hal(fixture_json("get_contacts_query_email.json"), "contacts").unwrap();
    assert_eq!(page.page, Some(1));
    assert!(page.next_href().is_none());
    let c = &page.items[0];
    assert_eq!(c.id, ContactId(64990189));
    assert_eq!(c.first_name.as_deref(), Some("Эрик"));
    assert_eq!(c.primary_email().as_deref(), Some("user@example.com"));
    assert_eq!(c.primary_phone().as_deref(), Some("+70000000000"));
    assert!(c.has_email(" USER@example.com "));
    assert!(c.has_phone("+7 (000) 000-00-00"));
    assert_eq!(c.company_id(), Some(CompanyId(64990217)));
    let email = c.custom_field_by_code("email").unwrap();
    assert_eq!(email.values[0].enum_code(), Some("WORK"));
    assert_eq!(email.values[0].enum_id(), Some(EnumId(4808283)));
    let position = c.custom_fields_values.by_code("POSITION").unwrap();
    assert_eq!(position.values, vec![FieldValue::Text("designer".into())]);
}

#[test]
fn pipelines_with_system_statuses() {
    let list: PipelineList = serde_json::from_str(&fixture("get_pipelines.json")).unwrap();
    let p = &list.pipelines()[0];
    assert_eq!(p.id, PipelineId(6950551));
    assert_eq!(p.statuses().len(), 4);
    assert!(p.statuses()[0].is_incoming());
    assert!(p.status(StatusId::WON).unwrap().is_won());
    assert!(p.status(StatusId::LOST).unwrap().is_lost());
    assert_eq!(
        list.find_status(PipelineId(6950551), StatusId(58141807))
            .unwrap()
            .name,
        "Initial contact"
    );
}

#[test]
fn complex_add_response_is_a_bare_array() {
    let results: Vec<ComplexLeadResult> =
        serde_json::from_str(&fixture("post_leads_complex_response.json")).unwrap();
    assert_eq!(results[0].id, LeadId(9774766));
    assert_eq!(results[0].contact_id, Some(ContactId(12117258)));
    assert_eq!(results[0].company_id, Some(CompanyId(12117260)));
    assert_eq!(results[0].request_id, vec!["1".to_owned()]);
    assert!(!results[0].merged);
}

#[test]
fn error_fixtures() {
    let v = Error::from_response(
        400,
        None,
        None,
        fixture("error_400_validation.json").as_bytes(),
    );
    let errors = v.validation_errors();
    assert_eq!(errors[0].errors.len(), 2);
    assert_eq!(errors[0].errors[1].path, "status_id");
    assert_eq!(errors[0].errors[1].code, "InvalidType");
    let r = Error::from_response(
        429,
        None,
        None,
        fixture("error_429_too_many_requests.json").as_bytes(),
    );
    assert_eq!(r.retry_after(), Some(std::time::Duration::from_secs(300)));
    let p = ApiProblem::from_response(
        401,
        None,
        fixture("error_401_oauth_refresh_revoked.json").as_bytes(),
    );
    assert_eq!(p.hint.as_deref(), Some("Token has been revoked"));
    assert!(p.is_problem_json());
}

#[test]
fn tolerant_of_nulls_strings_and_unknown_fields() {
    let lead: Lead = serde_json::from_value(json!({
        "id": "42",
        "price": "99.5",
        "status_id": "142",
        "responsible_user_id": null,
        "custom_fields_values": null,
        "created_at": "1686673337",
        "is_deleted": 0,
        "brand_new_field": {"x": 1},
        "_embedded": {"tags": null, "contacts": [{"id": "7", "is_main": "1"}]}
    }))
    .unwrap();
    assert_eq!(lead.id, LeadId(42));
    assert_eq!(lead.price, Some(99.5));
    assert!(lead.is_won());
    assert!(lead.custom_fields_values.is_empty());
    assert_eq!(lead.created_at, Some(1686673337));
    assert_eq!(lead.is_deleted, Some(false));
    assert_eq!(lead.main_contact_id(), Some(ContactId(7)));
    let company: Company = serde_json::from_value(json!({"id": 1, "custom_fields_values": [
        {"field_id": 5, "field_code": "PHONE", "field_type": "multitext", "values": [{"value": "+1", "enum_code": "WORK"}]}
    ]}))
    .unwrap();
    assert_eq!(company.phones(), vec!["+1".to_owned()]);
}
