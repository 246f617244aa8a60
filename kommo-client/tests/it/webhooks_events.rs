//! Hand-written bodies for every event family, multi-entity bodies and key order.

use kommo_client::ids::{
    AccountId, CompanyId, ContactId, CustomFieldId, EnumId, LeadId, NoteId, PipelineId, StatusId,
    TaskId, TaskTypeId, UserId,
};
use kommo_client::webhooks::form::FormNode;
use kommo_client::webhooks::{self, DigitalPipelineTrigger, EventKind, WebhookEntity};

use crate::support::form;

const ACCOUNT: [(&str, &str); 3] = [
    ("account[subdomain]", "acme"),
    ("account[id]", "29085955"),
    ("account[_links][self]", "https://acme.kommo.com"),
];

fn parse(pairs: &[(&str, &str)]) -> webhooks::WebhookPayload {
    let mut all = ACCOUNT.to_vec();
    all.extend_from_slice(pairs);
    webhooks::parse(form(&all).as_bytes()).unwrap_or_else(|e| panic!("{e}: {pairs:?}"))
}

#[test]
fn lead_actions_map_to_kinds() {
    let table = [
        ("add", EventKind::LeadAdded),
        ("update", EventKind::LeadUpdated),
        ("status", EventKind::LeadStatusChanged),
        ("responsible", EventKind::LeadResponsibleChanged),
        ("delete", EventKind::LeadDeleted),
        ("restore", EventKind::LeadRestored),
        (
            "mail_in",
            EventKind::LeadDigitalPipeline(DigitalPipelineTrigger::MailIn),
        ),
        (
            "call_in",
            EventKind::LeadDigitalPipeline(DigitalPipelineTrigger::CallIn),
        ),
        (
            "chat",
            EventKind::LeadDigitalPipeline(DigitalPipelineTrigger::Chat),
        ),
        (
            "site_visit",
            EventKind::LeadDigitalPipeline(DigitalPipelineTrigger::SiteVisit),
        ),
    ];
    for (action, kind) in table {
        let key = format!("leads[{action}][0][id]");
        let p = parse(&[(key.as_str(), "77")]);
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].kind, kind, "{action}");
        assert_eq!(p.events[0].kind.action(), action);
        assert_eq!(p.events[0].kind.group(), "leads");
        assert_eq!(p.events[0].lead().unwrap().id, Some(LeadId(77)));
    }
}

#[test]
fn lead_update_and_responsible_carry_old_values() {
    let p = parse(&[
        ("leads[update][0][id]", "1"),
        ("leads[update][0][status_id]", "142"),
        ("leads[update][0][old_status_id]", "58141807"),
        ("leads[update][0][price]", "1500.50"),
        ("leads[responsible][0][id]", "2"),
        ("leads[responsible][0][responsible_user_id]", "10"),
        ("leads[responsible][0][old_responsible_user_id]", "11"),
        ("leads[responsible][0][some_new_field]", "kept"),
    ]);
    let kinds: Vec<_> = p.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![EventKind::LeadResponsibleChanged, EventKind::LeadUpdated]
    );
    let resp = p.events[0].lead().unwrap();
    assert_eq!(
        (resp.responsible_user_id, resp.old_responsible_user_id),
        (Some(UserId(10)), Some(UserId(11)))
    );
    assert_eq!(
        resp.extra.get("some_new_field"),
        Some(&FormNode::Text("kept".into()))
    );
    let update = p.events[1].lead().unwrap();
    assert_eq!(update.status_id, Some(StatusId::WON));
    assert_eq!(update.old_status_id, Some(StatusId(58141807)));
    assert_eq!(update.price, Some(1500.5));
}

#[test]
fn digital_pipeline_status_short_form() {
    let p = parse(&[
        ("leads[status][0][id]", "25399013"),
        ("leads[status][0][status_id]", "142"),
        ("leads[status][0][pipeline_id]", "3104455"),
        ("leads[status][0][old_status_id]", "28775740"),
        ("leads[status][0][old_pipeline_id]", "3104452"),
    ]);
    let lead = p.events[0].lead().unwrap();
    assert_eq!(p.events[0].kind, EventKind::LeadStatusChanged);
    assert_eq!(lead.old_pipeline_id, Some(PipelineId(3104452)));
    assert_eq!(lead.pipeline_id, Some(PipelineId(3104455)));
    assert!(lead.extra.is_empty());
}

#[test]
fn lead_note_with_double_note_key_and_metadata() {
    let p = parse(&[
        ("leads[note][0][note][id]", "123"),
        ("leads[note][0][note][note_type]", "4"),
        ("leads[note][0][note][text]", "Позвонить завтра 📞"),
        ("leads[note][0][note][element_type]", "2"),
        ("leads[note][0][note][element_id]", "30267969"),
        ("leads[note][0][note][date_create]", "2024-09-17 12:00:00"),
        (
            "leads[note][0][note][metadata]",
            r#"{"event_source":{"id":1,"author_name":"Bot","type":"api"}}"#,
        ),
        ("leads[note][0][note][attachement]", ""),
        ("leads[note][0][note][created_at]", "1726581295"),
    ]);
    let e = &p.events[0];
    assert_eq!(e.kind, EventKind::LeadNoteAdded);
    let note = e.note().unwrap();
    assert_eq!(note.id, Some(NoteId(123)));
    assert_eq!(note.note_type, Some(4));
    assert_eq!(note.text.as_deref(), Some("Позвонить завтра 📞"));
    assert_eq!(
        (note.element_type, note.element_id),
        (Some(2), Some(30267969))
    );
    assert_eq!(note.date_create.as_deref(), Some("2024-09-17 12:00:00"));
    assert_eq!(
        note.metadata_json().unwrap()["event_source"]["author_name"],
        "Bot"
    );
    assert_eq!(note.attachment.as_deref(), Some(""));
    assert_eq!(e.entity_id(), Some(123));
}

#[test]
fn contact_events_and_coded_fields() {
    let p = parse(&[
        ("contacts[update][0][id]", "5"),
        ("contacts[update][0][type]", "contact"),
        ("contacts[update][0][name]", "Ann+Lee"),
        ("contacts[update][0][old_responsible_user_id]", "3"),
        ("contacts[update][0][custom_fields][0][id]", "2161203"),
        ("contacts[update][0][custom_fields][0][name]", "Email"),
        ("contacts[update][0][custom_fields][0][code]", "EMAIL"),
        (
            "contacts[update][0][custom_fields][0][values][0][value]",
            "ann@example.com",
        ),
        (
            "contacts[update][0][custom_fields][0][values][0][enum]",
            "4808283",
        ),
        (
            "contacts[update][0][custom_fields][0][values][1][value]",
            "ann.lee@example.org",
        ),
        (
            "contacts[update][0][custom_fields][0][values][1][enum]",
            "PRIV",
        ),
        ("contacts[update][0][custom_fields][1][id]", "2161201"),
        ("contacts[update][0][custom_fields][1][code]", "PHONE"),
        (
            "contacts[update][0][custom_fields][1][values][0][value]",
            "+1 555 0100",
        ),
        ("contacts[delete][0][id]", "6"),
        ("contacts[delete][0][type]", "contact"),
        ("contacts[restore][0][id]", "7"),
        ("contacts[responsible][0][id]", "8"),
        ("contacts[note][0][note][text]", "hi"),
        ("contacts[note][0][note][id]", "9"),
        ("contacts[note][0][type]", "contact"),
    ]);
    let kinds: Vec<_> = p.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::ContactDeleted,
            EventKind::ContactNoteAdded,
            EventKind::ContactResponsibleChanged,
            EventKind::ContactRestored,
            EventKind::ContactUpdated,
        ]
    );
    let c = p.events[4].contact().unwrap();
    assert_eq!(
        c.name.as_deref(),
        Some("Ann+Lee"),
        "a literal plus survives encoding"
    );
    assert_eq!(c.emails(), vec!["ann@example.com", "ann.lee@example.org"]);
    assert_eq!(c.phones(), vec!["+1 555 0100"]);
    let email = c.custom_field_by_code("email").unwrap();
    assert_eq!(email.values[0].enum_id, Some(EnumId(4808283)));
    assert_eq!(email.values[1].enum_code.as_deref(), Some("PRIV"));
    assert_eq!(c.old_responsible_user_id, Some(UserId(3)));
    assert_eq!(
        p.events[1].note().unwrap().parent_type.as_deref(),
        Some("contact")
    );
}

#[test]
fn companies_arrive_under_contacts_with_type_company() {
    let p = parse(&[
        ("contacts[add][0][id]", "15319605"),
        ("contacts[add][0][type]", "company"),
        ("contacts[add][0][name]", "ООО Ромашка"),
        (
            "contacts[add][0][linked_leads_id][15319601][ID]",
            "15319601",
        ),
        (
            "contacts[add][0][linked_leads_id][15319700][ID]",
            "15319700",
        ),
        ("contacts[add][1][id]", "15319606"),
        ("contacts[add][1][type]", "contact"),
        ("contacts[update][0][id]", "1"),
        ("contacts[update][0][type]", "company"),
        ("contacts[delete][0][id]", "2"),
        ("contacts[delete][0][type]", "company"),
        ("contacts[restore][0][id]", "3"),
        ("contacts[restore][0][type]", "company"),
        ("contacts[responsible][0][id]", "4"),
        ("contacts[responsible][0][type]", "company"),
        ("contacts[note][0][note][id]", "5"),
        ("contacts[note][0][type]", "company"),
    ]);
    let kinds: Vec<_> = p.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::CompanyAdded,
            EventKind::ContactAdded,
            EventKind::CompanyDeleted,
            EventKind::CompanyNoteAdded,
            EventKind::CompanyResponsibleChanged,
            EventKind::CompanyRestored,
            EventKind::CompanyUpdated,
        ]
    );
    let company = p.events[0].company().unwrap();
    assert!(company.is_company());
    assert_eq!(company.company_id(), Some(CompanyId(15319605)));
    assert_eq!(company.name.as_deref(), Some("ООО Ромашка"));
    assert_eq!(
        company.linked_leads_id,
        vec![LeadId(15319601), LeadId(15319700)]
    );
    assert!(matches!(p.events[1].entity, WebhookEntity::Contact(_)));
}

#[test]
fn custom_field_value_shapes() {
    let p = parse(&[
        ("leads[add][0][id]", "1"),
        // A radiobutton value as an object, not a list.
        ("leads[add][0][custom_fields][0][id]", "10"),
        ("leads[add][0][custom_fields][0][values][value]", "2"),
        ("leads[add][0][custom_fields][0][values][enum]", "566642"),
        // A date as a bare value.
        ("leads[add][0][custom_fields][1][id]", "11"),
        ("leads[add][0][custom_fields][1][values][0]", "1729717200"),
        // A multiselect with two options.
        ("leads[add][0][custom_fields][2][id]", "12"),
        ("leads[add][0][custom_fields][2][values][0][value]", "a"),
        ("leads[add][0][custom_fields][2][values][0][enum]", "1"),
        ("leads[add][0][custom_fields][2][values][1][value]", "b"),
        ("leads[add][0][custom_fields][2][values][1][enum]", "2"),
        // Values as one scalar.
        ("leads[add][0][custom_fields][3][id]", "13"),
        ("leads[add][0][custom_fields][3][values]", "x"),
    ]);
    let lead = p.events[0].lead().unwrap();
    let radio = lead.custom_field(CustomFieldId(10)).unwrap();
    assert_eq!(
        (
            radio.values.len(),
            radio.values[0].value.as_str(),
            radio.values[0].enum_id
        ),
        (1, "2", Some(EnumId(566642)))
    );
    assert_eq!(
        lead.custom_field(CustomFieldId(11)).unwrap().values[0].as_i64(),
        Some(1729717200)
    );
    let multi = lead.custom_field(CustomFieldId(12)).unwrap();
    assert_eq!(
        multi
            .values
            .iter()
            .map(|v| v.enum_id.unwrap().0)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        lead.custom_field(CustomFieldId(13)).unwrap().first_value(),
        Some("x")
    );
}

#[test]
fn task_events() {
    let p = parse(&[
        ("task[add][0][id]", "100"),
        ("task[add][0][element_id]", "1"),
        ("task[add][0][element_type]", "2"),
        ("task[add][0][task_type]", "1"),
        ("task[add][0][text]", "Call back"),
        ("task[add][0][status]", "0"),
        ("task[add][0][complete_till]", "2024-09-18 23:59:00"),
        ("task[add][0][complete_before]", "1726703940"),
        ("task[add][0][responsible_user_id]", "8"),
        ("task[update][0][id]", "101"),
        ("task[update][0][status]", "1"),
        ("task[update][0][action_close]", "1"),
        ("task[update][0][result][text]", "Done"),
        ("task[update][0][result][id]", "555"),
        ("task[update][0][old_text]", "Old"),
        ("task[delete][0][id]", "102"),
        ("task[responsible][0][id]", "103"),
        ("task[responsible][0][old_responsible_user_id]", "4"),
    ]);
    let kinds: Vec<_> = p.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            EventKind::TaskAdded,
            EventKind::TaskDeleted,
            EventKind::TaskResponsibleChanged,
            EventKind::TaskUpdated
        ]
    );
    let add = p.events[0].task().unwrap();
    assert_eq!(add.id, Some(TaskId(100)));
    assert_eq!(add.task_type, Some(TaskTypeId::FOLLOW_UP));
    assert_eq!(add.is_completed(), Some(false));
    assert_eq!(add.complete_before, Some(1726703940));
    assert_eq!(add.complete_till.as_deref(), Some("2024-09-18 23:59:00"));
    let update = p.events[3].task().unwrap();
    assert_eq!(update.is_completed(), Some(true));
    assert_eq!(
        (update.result_text.as_deref(), update.result_id),
        (Some("Done"), Some(555))
    );
    assert_eq!(
        p.events[2].task().unwrap().old_responsible_user_id,
        Some(UserId(4))
    );
}

#[test]
fn talk_unsorted_and_unknown_events() {
    let p = parse(&[
        ("talk[add][0][talk_id]", "191"),
        ("talk[add][0][chat_id]", "33b41601"),
        ("talk[add][0][contact_id]", "11018118"),
        ("talk[add][0][is_in_work]", "1"),
        ("talk[add][0][is_read]", "0"),
        ("talk[add][0][rate]", "5"),
        ("talk[update][0][talk_id]", "191"),
        ("unsorted[add][0][uid]", "u-1"),
        ("unsorted[add][0][category]", "forms"),
        ("unsorted[add][0][pipeline_id]", "3104455"),
        ("unsorted[update][0][uid]", "u-1"),
        ("unsorted[delete][0][uid]", "u-1"),
        ("unsorted[delete][0][action]", "decline"),
        ("unsorted[delete][0][decline_result][leads][]", "10"),
        ("unsorted[delete][0][decline_result][leads][]", "11"),
        ("customers[add][0][id]", "1"),
        ("catalogs[update][0][id]", "2"),
        ("catalogs[update][0][type]", "catalog"),
        ("ping", "1"),
    ]);
    let kinds: Vec<_> = p.events.iter().map(|e| e.kind.clone()).collect();
    let unknown = |g: &str, a: &str| EventKind::Unknown {
        group: g.into(),
        action: a.into(),
    };
    assert_eq!(
        kinds,
        vec![
            unknown("catalogs", "update"),
            unknown("customers", "add"),
            unknown("ping", ""),
            EventKind::TalkAdded,
            EventKind::TalkUpdated,
            EventKind::UnsortedAdded,
            EventKind::UnsortedDeleted,
            EventKind::UnsortedUpdated,
        ]
    );
    let WebhookEntity::Raw(raw) = &p.events[1].entity else {
        panic!()
    };
    assert_eq!(raw.get_path(&["id"]).and_then(FormNode::as_text), Some("1"));
    assert_eq!(raw.to_json(), serde_json::json!({"id": "1"}));
    let WebhookEntity::Talk(talk) = &p.events[3].entity else {
        panic!()
    };
    assert_eq!(
        (talk.talk_id, talk.is_in_work, talk.is_read, talk.rate),
        (Some(191), Some(true), Some(false), Some(5))
    );
    assert_eq!(talk.contact_id, Some(ContactId(11018118)));
    let WebhookEntity::Unsorted(deleted) = &p.events[6].entity else {
        panic!()
    };
    assert_eq!(deleted.action.as_deref(), Some("decline"));
    let leads = deleted
        .extra
        .get("decline_result")
        .unwrap()
        .get_path(&["leads"])
        .unwrap()
        .as_map()
        .unwrap();
    assert_eq!(leads.len(), 2);
}

#[test]
fn several_entities_and_groups_with_sparse_indices() {
    let p = parse(&[
        ("leads[add][5][id]", "50"),
        ("leads[add][2][id]", "20"),
        ("leads[add][10][id]", "100"),
        ("contacts[add][0][id]", "1"),
        ("contacts[add][0][type]", "contact"),
        ("leads[status][0][id]", "7"),
    ]);
    let ids: Vec<_> = p
        .events
        .iter()
        .map(|e| (e.kind.clone(), e.entity_id()))
        .collect();
    assert_eq!(
        ids,
        vec![
            (EventKind::ContactAdded, Some(1)),
            (EventKind::LeadAdded, Some(20)),
            (EventKind::LeadAdded, Some(50)),
            (EventKind::LeadAdded, Some(100)),
            (EventKind::LeadStatusChanged, Some(7)),
        ]
    );
}

#[test]
fn key_order_never_matters() {
    let lead = [
        ("leads[status][0][id]", "1"),
        ("leads[status][0][status_id]", "143"),
        ("leads[status][0][custom_fields][0][id]", "9"),
        ("leads[status][0][custom_fields][0][values][0][value]", "x"),
    ];
    let mut first = ACCOUNT.to_vec();
    first.extend_from_slice(&lead);
    let mut last = lead.to_vec();
    last.extend_from_slice(&ACCOUNT);
    let mut shuffled = first.clone();
    shuffled.reverse();
    let a = webhooks::parse(form(&first).as_bytes()).unwrap();
    let b = webhooks::parse(form(&last).as_bytes()).unwrap();
    let c = webhooks::parse(form(&shuffled).as_bytes()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a.account.id, Some(AccountId(29085955)));
    assert!(a.events[0].lead().unwrap().status_id.unwrap().is_lost());
}

#[test]
fn legacy_2016_body_with_subdomain_only_and_no_account() {
    let p = webhooks::parse(
        form(&[("account[subdomain]", "old"), ("leads[add][0][id]", "1")]).as_bytes(),
    )
    .unwrap();
    assert_eq!(
        (p.account.subdomain.as_deref(), p.account.id),
        (Some("old"), None)
    );
    let p = webhooks::parse(form(&[("leads[add][0][id]", "1")]).as_bytes()).unwrap();
    assert!(p.account.is_empty());
    assert_eq!(p.events.len(), 1);
    let empty = webhooks::parse(b"").unwrap();
    assert!(empty.events.is_empty() && empty.account.is_empty());
}

#[test]
fn bad_values_are_kept_in_extra_not_errors() {
    let p = parse(&[
        ("leads[add][0][id]", "1"),
        ("leads[add][0][price]", "n/a"),
        ("leads[add][0][status_id]", ""),
        ("leads[add][0][pipeline_id][nested]", "x"),
        ("leads[add][0][custom_fields]", "garbled"),
    ]);
    let lead = p.events[0].lead().unwrap();
    assert_eq!(lead.price, None);
    assert_eq!(lead.status_id, None, "an empty string is absent");
    assert_eq!(lead.extra.get("price"), Some(&FormNode::Text("n/a".into())));
    assert!(lead.extra.contains_key("pipeline_id"));
    assert!(lead.extra.contains_key("custom_fields"));
    assert!(lead.custom_fields.is_empty());
}

#[test]
fn encoder_uses_kommo_percent_encoding() {
    let body = form(&[("leads[add][0][name]", "a b&c=d/é")]);
    assert_eq!(body, "leads%5Badd%5D%5B0%5D%5Bname%5D=a+b%26c%3Dd%2F%C3%A9");
}
