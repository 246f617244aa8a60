//! Validation: every mistake names the file, the rule and the key.

use super::*;

const GOOD: &str = r#"
[identity]
email = "first_work"
user_id = "kommo-{account.id}-{contact.id}"

[contact]
source = "kommo_crm"
user_group = "leads"
properties = { companyName = "{company.name}", kommoStage = "{lead.status_name}" }

[[kommo]]
name = "new lead"
when = { event = "lead_added", pipeline = 7001 }
do = [
  { upsert_contact = { user_group = "leads" } },
  { send_event = { event = "lead_created", properties = { lead_id = "{lead.id}", lead_name = "{lead.name}" } } },
]

[[kommo]]
name = "won"
when = { event = "lead_status", to = "won" }
do = [
  { send_event = { event = "deal_won", properties = { deal_value = "{lead.price}", company = "{company.name}" } } },
  { send_transactional = { id = "cl_welcome", data = { name = "{contact.name}", company = "{company.name}" } } },
]

[[kommo]]
name = "trial"
when = { event = "lead_status", to = 5001, where = { "lead.cf.PLAN" = "pro" } }
do = [ { send_event = { event = "trial_started", properties = { plan = "{lead.cf.PLAN}", trial_days = "{lead.cf.912345:number}" } } } ]

[[kommo]]
name = "contact changed"
when = { event = "contact_updated" }
do = [ { upsert_contact = {} } ]

[[loops]]
name = "hard bounce"
when = { event = "email.hardBounced" }
do = [
  { kommo_note = { text = "Loops: email not delivered (hard bounce) - {email}" } },
  { kommo_task = { text = "Loops: update contact email - hard bounce on {email}", due_in_hours = 24 } },
]

[[loops]]
name = "unsubscribed"
when = { event = ["contact.unsubscribed", "email.unsubscribed"] }
do = [ { kommo_note = { text = "Loops: contact {email} unsubscribed from mailing list" } }, { kommo_tags = { add = ["email_unsubscribed"] } } ]
"#;

#[test]
fn the_issue_example_is_valid() {
    let rules = Rules::from_toml_str("rules.toml", GOOD).unwrap();
    assert_eq!(
        rules.kommo_rule_names(),
        ["new lead", "won", "trial", "contact changed"]
    );
    assert_eq!(rules.loops_rule_names(), ["hard bounce", "unsubscribed"]);
    assert!(rules.uses_user_id());
    assert_eq!(
        rules.kommo_events(),
        ["contact_updated", "lead_added", "lead_status"]
    );
    let won = &rules.inner.kommo[1];
    assert_eq!(won.when.to.as_deref(), Some(&[STATUS_WON][..]));
    assert!(won.uses.company);
    // The upsert pulls in [contact], which names the stage.
    assert!(rules.inner.kommo[0].uses.pipelines);
    assert!(!rules.inner.kommo[2].uses.pipelines);
}

#[test]
fn json_with_the_same_structure_is_accepted() {
    let json = r#"{
        "kommo": [{"name": "won", "when": {"event": "lead_status", "to": ["won", 142, 5001]},
                   "do": [{"send_event": {"event": "deal_won"}}]}],
        "loops": [{"name": "spam", "when": {"event": "email.spamReported"},
                   "do": [{"kommo_tags": {"add": "spam_complaint", "on": "lead"}}]}]
    }"#;
    let rules = Rules::from_json_str("rules.json", json).unwrap();
    assert_eq!(
        rules.inner.kommo[0].when.to.as_deref(),
        Some(&[142, 142, 5001][..])
    );
}

fn error(text: &str) -> String {
    Rules::from_toml_str("rules.toml", text)
        .unwrap_err()
        .to_string()
}

const ACTION: &str = r#"do = [ { send_event = { event = "e" } } ]"#;

#[test]
fn mistakes_table() {
    let cases: Vec<(String, &str)> = vec![
        ("".into(), "rules.toml: the file has no rules"),
        ("[contact]\nsource = \"x\"".into(), "rules.toml: the file has no rules"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = []".into(), r#"rules.toml: [[kommo]] "a": `do`: the rule does nothing"#),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }".into(), r#"[[kommo]] "a": `do`: missing"#),
        (format!("[[kommo]]\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), r#"rules.toml: [[kommo]] #1: `name`: every rule needs a name"#),
        (format!("[[kommo]]\nname = \"a\"\nwehn = {{ event = \"lead_added\" }}\n{ACTION}"), r#"[[kommo]] "a": `wehn`: unknown key (expected name, when, do)"#),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_add\" }}\n{ACTION}"), r#"`when.event`: unknown Kommo event "lead_add""#),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_status\", to = \"wonn\" }}\n{ACTION}"), r#"`when.to`: expected a status id, "won" or "lost", got "wonn""#),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"contact_added\", to = \"won\" }}\n{ACTION}"), "`when.to`: to/from apply to lead_status"),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"contact_added\", pipeline = 1 }}\n{ACTION}"), "`when.pipeline`: only lead events have a pipeline"),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\", pipeline = 0 }}\n{ACTION}"), "`when.pipeline`: expected a positive id or a pipeline name, got 0"),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\", pipeline = [\"SaaS\", true] }}\n{ACTION}"), "`when.pipeline`: expected a positive id or a pipeline name, got true"),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_status\", to = \"Lst\" }}\n{ACTION}"), r#"`when.to`: expected a status id, "won" or "lost", got "Lst" (did you mean "lost"?)"#),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_status\", from = \" \" }}\n{ACTION}"), r#"`when.from`: expected a status id, "won", "lost" or a stage name, got an empty name"#),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_status\", to = 1.5 }}\n{ACTION}"), r#"`when.to`: expected a status id, "won", "lost" or a stage name, got 1.5"#),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\", where = {{ \"lead.nam\" = \"x\" }} }}\n{ACTION}"), "`when.where.lead.nam`: unknown reference `lead.nam`"),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\", flavour = 1 }}\n{ACTION}"), "`when.flavour`: unknown key"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { send_email = {} } ]".into(), "`do[0].send_email`: unknown action `send_email`"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { send_event = {} , upsert_contact = {} } ]".into(), "`do[0]`: each action is a table with exactly one key"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { send_event = { event = \"e\", properties = { x = \"{lead.nme}\" } } } ]".into(), "`do[0].send_event.properties.x`: unknown reference `lead.nme`"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { send_event = { event = \"e\", properties = { x = \"{lead.name\" } } } ]".into(), "unclosed `{`"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { send_event = { event = \"e\", properties = { x = \"{email}\" } } } ]".into(), "`email` cannot be used in [[kommo]] rules"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { send_event = { properties = {} } } ]".into(), "`do[0].send_event.event`: missing"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { upsert_contact = { properties = { teamId = \"x\" } } } ]".into(), "`do[0].upsert_contact.properties.teamId`: `teamId` is a reserved Loops property name"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { upsert_contact = { properties = { subscribed = \"true\" } } } ]".into(), "use `subscribed = true|false`"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { send_transactional = { id = \"t\", data = { \"bad name\" = \"x\" } } } ]".into(), "data variable names are letters"),
        ("[[kommo]]\nname = \"a\"\nwhen = { event = \"lead_added\" }\ndo = [ { kommo_note = { text = \"x\" } } ]".into(), "kommo_note belongs in [[loops]] rules"),
        (format!("[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}\n[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), r#"[[kommo]] "a": `name`: another rule has the same name"#),
        ("[[loops]]\nname = \"b\"\nwhen = { event = \"email.hardbounced\" }\ndo = [ { kommo_note = { text = \"x\" } } ]".into(), r#"unknown Loops event "email.hardbounced" (did you mean "email.hardBounced"?)"#),
        ("[[loops]]\nname = \"b\"\nwhen = { event = \"email.hardBounced\" }\ndo = [ { kommo_note = { text = \"{lead.name}\" } } ]".into(), "`do[0].kommo_note.text`: `lead.name` cannot be used in [[loops]] rules"),
        ("[[loops]]\nname = \"b\"\nwhen = { event = \"email.hardBounced\" }\ndo = [ { kommo_task = { text = \"x\", due_in_hours = 0 } } ]".into(), "`do[0].kommo_task.due_in_hours`: expected 1 to 8760 hours"),
        ("[[loops]]\nname = \"b\"\nwhen = { event = \"email.hardBounced\" }\ndo = [ { kommo_tags = {} } ]".into(), "give tags to `add` or `remove`"),
        ("[[loops]]\nname = \"b\"\nwhen = { event = \"email.hardBounced\" }\ndo = [ { kommo_note = { text = \"x\", on = \"deal\" } } ]".into(), r#"`do[0].kommo_note.on`: expected "contact" or "lead""#),
        ("[[loops]]\nname = \"b\"\nwhen = { event = \"email.hardBounced\" }\ndo = [ { send_event = { event = \"x\" } } ]".into(), "send_event belongs in [[kommo]] rules"),
        (format!("[identity]\nemail = \"second\"\n[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), r#"rules.toml: [identity]: `email`: expected "first_work" or "first", got "second""#),
        (format!("[identity]\nuser_id = \"{{lead.id}}\"\n[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), "a userId must stay the same for a contact"),
        (format!("[identity]\nuser_id = \"fixed\"\n[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), "a userId template must reference the contact"),
        (format!("[contact]\nsubscribed = true\n[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), "[contact]: `subscribed`: the engine never subscribes contacts on its own"),
        (format!("[contact]\ncolour = 1\n[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), "[contact]: `colour`: unknown key"),
        (format!("[kontakt]\n[[kommo]]\nname = \"a\"\nwhen = {{ event = \"lead_added\" }}\n{ACTION}"), "rules.toml: `kontakt`: unknown key (expected identity, contact, kommo, loops)"),
        ("[[kommo]\nname = 1".into(), "rules.toml: TOML parse error"),
    ];
    for (text, expected) in cases {
        let err = error(&text);
        assert!(
            err.contains(expected),
            "\n{text}\n--> {err}\nshould contain {expected}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn json_syntax_errors_name_the_file() {
    let err = Rules::from_json_str("rules.json", "{\"kommo\": [").unwrap_err();
    assert!(err.to_string().starts_with("rules.json: "), "{err}");
    let err = Rules::from_path("does/not/exist.toml").unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
}
