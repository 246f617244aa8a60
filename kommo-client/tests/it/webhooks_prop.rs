//! Property tests: the parser is total, and encoded payloads parse back to what was encoded.

use kommo_client::ids::*;
use kommo_client::webhooks::form::FormNode;
use kommo_client::webhooks::{
    self, DigitalPipelineTrigger, EventKind, Extra, WebhookAccount, WebhookContact,
    WebhookCustomField, WebhookEntity, WebhookEvent, WebhookFieldValue, WebhookLead,
    WebhookMessage, WebhookMessageAuthor, WebhookNote, WebhookPayload, WebhookTag, WebhookTalk,
    WebhookTask,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        let _ = webhooks::parse(&bytes);
        let _ = webhooks::should_acknowledge(Some("application/x-www-form-urlencoded"), &bytes);
    }

    #[test]
    fn bracket_soup_never_panics(s in "[\\[\\]=&%+a-c0-9]{0,300}") {
        let _ = webhooks::parse(s.as_bytes());
    }

    #[test]
    fn structured_keys_never_panic(pairs in vec(("(leads|contacts|task|talk|account|x)(\\[(add|status|note|0|1|99999999999|type|company|values|custom_fields|)\\]){0,9}", "[a-z0-9 ]{0,5}"), 0..40)) {
        let body = webhooks::encode::encode_pairs(pairs);
        let _ = webhooks::parse(body.as_bytes());
    }

    #[test]
    fn generated_payloads_round_trip(payload in payload()) {
        let body = payload.encode();
        let parsed = webhooks::parse(body.as_bytes()).expect("an encoded payload parses");
        prop_assert_eq!(parsed, payload);
    }
}

fn text() -> impl Strategy<Value = String> {
    // Printable text including the characters the encoding must protect, Cyrillic and emoji.
    prop_oneof![
        "\\PC{0,12}",
        Just("a+b&c=d[e]%20".to_owned()),
        Just("Абиба абибович 😀".to_owned()),
        Just(String::new()),
    ]
}

fn extra() -> impl Strategy<Value = Extra> {
    proptest::collection::btree_map("x_[a-z0-9]{1,6}", text().prop_map(FormNode::Text), 0..3)
}

fn field_value() -> impl Strategy<Value = WebhookFieldValue> {
    (
        text(),
        option::of(1u64..10_000_000),
        option::of("[A-Z]{1,6}"),
    )
        .prop_map(|(value, enum_id, enum_code)| {
            let mut v = WebhookFieldValue::new(value);
            v.enum_id = enum_id.map(EnumId);
            v.enum_code = enum_code;
            v
        })
}

fn custom_field() -> impl Strategy<Value = WebhookCustomField> {
    (
        1u64..1_000_000_000,
        option::of(text()),
        option::of("[A-Z]{1,8}"),
        vec(field_value(), 0..3),
    )
        .prop_map(|(id, name, code, values)| {
            let mut f = WebhookCustomField::new(CustomFieldId(id), values);
            f.name = name;
            f.code = code;
            f
        })
}

fn tag() -> impl Strategy<Value = WebhookTag> {
    (1u64..1_000_000, text()).prop_map(|(id, name)| WebhookTag::new(TagId(id), name))
}

fn lead() -> impl Strategy<Value = WebhookLead> {
    (
        (
            any::<u64>(),
            option::of(text()),
            option::of(any::<u64>()),
            option::of(any::<u64>()),
            option::of(any::<u64>()),
        ),
        (
            option::of(-1.0e12f64..1.0e12),
            option::of(any::<u64>()),
            option::of(any::<i64>()),
            option::of(any::<i64>()),
        ),
        (vec(tag(), 0..3), vec(custom_field(), 0..3), extra()),
    )
        .prop_map(
            |(
                (id, name, status, old_status, pipeline),
                (price, resp, created, updated),
                (tags, cfs, extra),
            )| {
                let mut l = WebhookLead::new(LeadId(id));
                l.name = name;
                l.status_id = status.map(StatusId);
                l.old_status_id = old_status.map(StatusId);
                l.pipeline_id = pipeline.map(PipelineId);
                l.price = price;
                l.responsible_user_id = resp.map(UserId);
                l.created_at = created;
                l.updated_at = updated;
                l.tags = tags;
                l.custom_fields = cfs;
                l.extra = extra;
                l
            },
        )
}

fn contact(company: bool) -> impl Strategy<Value = WebhookContact> {
    (
        any::<u64>(),
        option::of(text()),
        option::of(any::<i64>()),
        vec(custom_field(), 0..3),
        vec(1u64..u64::MAX, 0..3),
        extra(),
    )
        .prop_map(move |(id, name, updated, cfs, mut linked, extra)| {
            let mut c = if company {
                WebhookContact::company(CompanyId(id))
            } else {
                WebhookContact::contact(ContactId(id))
            };
            c.name = name;
            c.last_modified = updated;
            c.custom_fields = cfs;
            linked.sort_unstable();
            linked.dedup();
            c.linked_leads_id = linked.into_iter().map(LeadId).collect();
            c.extra = extra;
            c
        })
}

fn note(parent_type: Option<&'static str>) -> impl Strategy<Value = WebhookNote> {
    (
        any::<u64>(),
        text(),
        option::of(0u32..20),
        option::of(any::<u64>()),
        option::of(text()),
        extra(),
    )
        .prop_map(move |(id, body, note_type, element_id, metadata, extra)| {
            let mut n = WebhookNote::new(NoteId(id), body);
            n.note_type = note_type;
            n.element_id = element_id;
            n.metadata = metadata;
            n.parent_type = parent_type.map(str::to_owned);
            n.extra = extra;
            n
        })
}

fn task() -> impl Strategy<Value = WebhookTask> {
    (
        any::<u64>(),
        option::of(text()),
        option::of("[01]"),
        option::of(text()),
        option::of(any::<u64>()),
        option::of(any::<i64>()),
    )
        .prop_map(
            |(id, body, status, result_text, result_id, complete_before)| {
                let mut t = WebhookTask::new(TaskId(id));
                t.text = body;
                t.status = status;
                t.result_text = result_text;
                t.result_id = result_id;
                t.complete_before = complete_before;
                t
            },
        )
}

fn message() -> impl Strategy<Value = WebhookMessage> {
    (
        "[a-f0-9-]{1,36}",
        option::of(text()),
        option::of(any::<u64>()),
        option::of("[a-z ]{1,10}"),
    )
        .prop_map(|(id, body, talk_id, author)| {
            let mut m = WebhookMessage::default();
            m.id = Some(id);
            m.text = body;
            m.talk_id = talk_id;
            m.message_type = Some("incoming".into());
            m.author = author.map(|name| {
                let mut a = WebhookMessageAuthor::default();
                a.name = Some(name);
                a
            });
            m
        })
}

fn talk() -> impl Strategy<Value = WebhookTalk> {
    (
        any::<u64>(),
        option::of(any::<bool>()),
        option::of(any::<i64>()),
    )
        .prop_map(|(id, in_work, rate)| {
            let mut t = WebhookTalk::default();
            t.talk_id = Some(id);
            t.is_in_work = in_work;
            t.rate = rate;
            t
        })
}

fn event() -> impl Strategy<Value = WebhookEvent> {
    let lead_kind = prop_oneof![
        Just(EventKind::LeadAdded),
        Just(EventKind::LeadUpdated),
        Just(EventKind::LeadStatusChanged),
        Just(EventKind::LeadResponsibleChanged),
        Just(EventKind::LeadDeleted),
        Just(EventKind::LeadRestored),
        Just(EventKind::LeadDigitalPipeline(DigitalPipelineTrigger::Chat)),
    ];
    let contact_kind = prop_oneof![
        Just(EventKind::ContactAdded),
        Just(EventKind::ContactUpdated),
        Just(EventKind::ContactDeleted),
        Just(EventKind::ContactRestored),
        Just(EventKind::ContactResponsibleChanged),
    ];
    let company_kind = prop_oneof![
        Just(EventKind::CompanyAdded),
        Just(EventKind::CompanyUpdated),
        Just(EventKind::CompanyDeleted),
    ];
    let task_kind = prop_oneof![
        Just(EventKind::TaskAdded),
        Just(EventKind::TaskUpdated),
        Just(EventKind::TaskDeleted),
        Just(EventKind::TaskResponsibleChanged),
    ];
    prop_oneof![
        (lead_kind, lead()).prop_map(|(k, l)| WebhookEvent::new(k, WebhookEntity::Lead(l))),
        (contact_kind, contact(false))
            .prop_map(|(k, c)| WebhookEvent::new(k, WebhookEntity::Contact(c))),
        (company_kind, contact(true))
            .prop_map(|(k, c)| WebhookEvent::new(k, WebhookEntity::Company(c))),
        note(None)
            .prop_map(|n| WebhookEvent::new(EventKind::LeadNoteAdded, WebhookEntity::Note(n))),
        note(Some("contact"))
            .prop_map(|n| WebhookEvent::new(EventKind::ContactNoteAdded, WebhookEntity::Note(n))),
        note(Some("company"))
            .prop_map(|n| WebhookEvent::new(EventKind::CompanyNoteAdded, WebhookEntity::Note(n))),
        (task_kind, task()).prop_map(|(k, t)| WebhookEvent::new(k, WebhookEntity::Task(t))),
        message()
            .prop_map(|m| WebhookEvent::new(EventKind::MessageAdded, WebhookEntity::Message(m))),
        talk().prop_map(|t| WebhookEvent::new(EventKind::TalkUpdated, WebhookEntity::Talk(t))),
        "[a-z]{1,8}".prop_map(|v| {
            let raw: kommo_client::webhooks::form::FormMap =
                [("id".into(), FormNode::Text(v))].into_iter().collect();
            WebhookEvent::new(
                EventKind::Unknown {
                    group: "customers".into(),
                    action: "add".into(),
                },
                WebhookEntity::Raw(FormNode::Map(raw)),
            )
        }),
    ]
}

fn payload() -> impl Strategy<Value = WebhookPayload> {
    (any::<u64>(), "[a-z0-9-]{1,20}", vec(event(), 0..8)).prop_map(|(id, subdomain, mut events)| {
        // The parser reports events by group, then action, then index.
        events.sort_by(|a, b| {
            (a.kind.group(), a.kind.action()).cmp(&(b.kind.group(), b.kind.action()))
        });
        let base = format!("https://{subdomain}.kommo.com");
        let mut payload = WebhookPayload::new(WebhookAccount::new(AccountId(id), subdomain, base));
        payload.events = events;
        payload
    })
}
