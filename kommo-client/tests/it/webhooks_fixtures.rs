//! Every webhook fixture, parsed to typed events.

use kommo_client::ids::{
    AccountId, ContactId, CustomFieldId, EnumId, LeadId, PipelineId, StatusId, TagId, UserId,
};
use kommo_client::webhooks::{self, EventKind, WebhookEntity};

use crate::support::fixture;

#[test]
fn leads_status_2021_capture() {
    let payload = webhooks::parse(fixture("01_leads_status.form").as_bytes()).unwrap();
    assert_eq!(payload.account.subdomain.as_deref(), Some("acme"));
    assert_eq!(payload.account.id, Some(AccountId(16503244)));
    assert_eq!(
        payload.account.base_url.as_deref(),
        Some("https://acme.amocrm.ru")
    );
    assert_eq!(payload.events.len(), 1);
    let event = &payload.events[0];
    assert_eq!(event.kind, EventKind::LeadStatusChanged);
    let lead = event.lead().unwrap();
    assert_eq!(lead.id, Some(LeadId(30267969)));
    assert_eq!(lead.name.as_deref(), Some("apple tv 3"));
    assert_eq!(lead.status_id, Some(StatusId(16525558)));
    assert_eq!(lead.old_status_id, Some(StatusId(16525555)));
    assert_eq!(lead.pipeline_id, Some(PipelineId(788512)));
    assert_eq!(lead.price, Some(1.0));
    assert_eq!(lead.responsible_user_id, Some(UserId(1764433)));
    assert_eq!(lead.modified_user_id, Some(UserId(1760815)));
    assert_eq!(lead.created_user_id, Some(UserId(1764433)));
    assert_eq!(lead.date_create, Some(1615894221));
    assert_eq!(lead.last_modified, Some(1615985846));
    assert_eq!(lead.created_at, Some(1615894221));
    assert_eq!(lead.updated_at(), Some(1615985846));
    assert_eq!(lead.account_id, Some(AccountId(16503244)));
    assert_eq!(lead.tags.len(), 1);
    assert_eq!(
        (lead.tags[0].id, lead.tags[0].name.as_deref()),
        (Some(TagId(482205)), Some("Sasa"))
    );
    assert_eq!(lead.custom_fields.len(), 5);
    let imei = lead.custom_field(CustomFieldId(491053)).unwrap();
    assert_eq!(imei.name.as_deref(), Some("IMEI/SERIE"));
    assert_eq!(imei.first_value(), Some("1"));
    // A date arrives as a bare `values[0]`, without `[value]`.
    let date = lead.custom_field(CustomFieldId(481305)).unwrap();
    assert_eq!(date.name.as_deref(), Some("Cind trebuie?"));
    assert_eq!(date.values[0].as_i64(), Some(1615845600));
    let select = lead.custom_field(CustomFieldId(496779)).unwrap();
    assert_eq!(select.values[0].value, "Zghirieturi minore");
    assert_eq!(select.values[0].enum_id, Some(EnumId(959761)));
    assert_eq!(event.updated_at(), Some(1615985846));
    assert!(
        lead.extra.is_empty(),
        "every field is modelled: {:?}",
        lead.extra
    );
    assert!(payload.account.extra.is_empty());
}

#[test]
fn leads_add_2025_capture_with_account_first() {
    let payload = webhooks::parse(fixture("02_leads_add.form").as_bytes()).unwrap();
    assert_eq!(payload.account.id, Some(AccountId(16700680)));
    let event = &payload.events[0];
    assert_eq!(event.kind, EventKind::LeadAdded);
    let lead = event.lead().unwrap();
    assert_eq!(lead.id, Some(LeadId(30052055)));
    assert_eq!(lead.name.as_deref(), Some("TEST MISHA (SORRY)"));
    assert_eq!(lead.price, Some(0.0));
    assert_eq!(lead.status_id, Some(StatusId(17944873)));
    assert!(lead.custom_fields.is_empty() && lead.tags.is_empty());
}

#[test]
fn leads_delete_capture() {
    let payload = webhooks::parse(fixture("04_leads_delete.form").as_bytes()).unwrap();
    let event = &payload.events[0];
    assert_eq!(event.kind, EventKind::LeadDeleted);
    let lead = event.lead().unwrap();
    assert_eq!(
        (lead.id, lead.status_id, lead.pipeline_id),
        (
            Some(LeadId(30052055)),
            Some(StatusId(17944873)),
            Some(PipelineId(936736))
        )
    );
    assert_eq!(lead.name, None);
}

#[test]
fn contacts_add_capture_keeps_cyrillic() {
    let payload = webhooks::parse(fixture("05_contacts_add.form").as_bytes()).unwrap();
    let event = &payload.events[0];
    assert_eq!(event.kind, EventKind::ContactAdded);
    let contact = event.contact().unwrap();
    assert_eq!(contact.contact_id(), Some(ContactId(37054081)));
    assert_eq!(contact.name.as_deref(), Some("Абиба абибович"));
    assert_eq!(contact.entity_type.as_deref(), Some("contact"));
    assert_eq!(contact.responsible_user_id, Some(UserId(10000698)));
    assert!(contact.extra.is_empty());
}

#[test]
fn message_add_constructed_from_docs() {
    let payload = webhooks::parse(fixture("10_message_add_constructed.form").as_bytes()).unwrap();
    assert_eq!(
        payload.account.base_url.as_deref(),
        Some("https://subdomain.kommo.com")
    );
    let event = &payload.events[0];
    assert_eq!(event.kind, EventKind::MessageAdded);
    let WebhookEntity::Message(m) = &event.entity else {
        panic!("{event:?}")
    };
    assert_eq!(m.id.as_deref(), Some("660b5b93-4ead-ac38-3797c062146c"));
    assert_eq!(m.talk_id, Some(191));
    assert_eq!(m.contact_id, Some(ContactId(11018118)));
    assert_eq!(m.text.as_deref(), Some("Hello!"));
    assert_eq!(m.entity_type.as_deref(), Some("lead"));
    assert_eq!(
        (m.element_type, m.element_id, m.entity_id),
        (Some(2), Some(9276114), Some(9276114))
    );
    assert!(m.is_incoming());
    let author = m.author.as_ref().unwrap();
    assert_eq!(author.name.as_deref(), Some("user name"));
    assert_eq!(author.author_type.as_deref(), Some("external"));
    assert_eq!(m.origin.as_deref(), Some("telegram"));
    assert!(m.extra.is_empty());
}

#[test]
fn every_fixture_is_acknowledged_and_reencodes_to_the_same_events() {
    for name in [
        "01_leads_status.form",
        "02_leads_add.form",
        "04_leads_delete.form",
        "05_contacts_add.form",
        "10_message_add_constructed.form",
    ] {
        let body = fixture(name);
        let decision = webhooks::should_acknowledge(
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        );
        assert_eq!(decision.status(), 200, "{name}");
        let payload = webhooks::parse(body.as_bytes()).unwrap();
        let again = webhooks::parse(payload.encode().as_bytes()).unwrap();
        assert_eq!(again, payload, "{name}");
    }
}

#[test]
fn encoder_matches_kommo_byte_for_byte_on_a_capture() {
    // 04 is a verbatim capture whose keys are already in the encoder's order.
    let body = fixture("04_leads_delete.form");
    let payload = webhooks::parse(body.as_bytes()).unwrap();
    let encoded = payload.encode();
    let mut want: Vec<&str> = body.split('&').collect();
    let mut got: Vec<&str> = encoded.split('&').collect();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want);
}
