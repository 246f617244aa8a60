//! The evaluation, table-driven: rules and what the accounts hold in, checks out.

use std::collections::BTreeMap;

use serde_json::json;

use super::super::fetch::{Facts, Failure};
use super::super::needs::FieldEntity;
use super::super::report::Status;
use super::*;
use crate::runtime::preflight::PreflightOptions;

fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// The onboarding account: pipeline 7001 with its stages, the lead fields PLAN (select) and
/// 912345 (numeric), the onboarding properties, `cl_welcome` with name and company, and a
/// subscription with exactly the settings the rules need.
fn account() -> Facts {
    let statuses = json!([
        {"id": 5000, "name": "Incoming"}, {"id": 5001, "name": "Trial"},
        {"id": 5002, "name": "Activated"}, {"id": 5003, "name": "Upgrade offered"},
        {"id": 142, "name": "Closed - won"}, {"id": 143, "name": "Closed - lost"}
    ]);
    let mut fields = BTreeMap::new();
    fields.insert(
        FieldEntity::Lead,
        Ok(from(json!([
            {"id": 4400001, "name": "Plan", "code": "PLAN", "type": "select"},
            {"id": 912345, "name": "Trial days", "type": "numeric"},
            {"id": 4400003, "name": "Notes", "code": "NOTES", "type": "text"}
        ]))),
    );
    Facts {
        kommo_account: Some(Ok("acme (31000001)".into())),
        pipelines: Some(Ok(from(json!([
            {"id": 7001, "name": "SaaS sales", "_embedded": {"statuses": statuses}},
            {"id": 7002, "name": "Partners", "_embedded": {"statuses": [
                {"id": 6000, "name": "Incoming"}, {"id": 6001, "name": "Trial"}]}}
        ])))),
        fields,
        subscriptions: Some(Ok(from(json!([{
            "destination": "https://bridge.example.com/webhooks/kommo/tok3n-0123456789abcdef",
            "settings": ["add_lead", "update_lead", "status_lead", "add_contact", "update_contact"]
        }])))),
        loops_team: Some(Ok("Acme".into())),
        properties: Some(Ok(from(json!([
            {"key": "firstName", "label": "First name", "type": "string"},
            {"key": "plan", "label": "Plan", "type": "string"},
            {"key": "kommoStage", "label": "Stage", "type": "string"},
            {"key": "score", "label": "Score", "type": "number"}
        ])))),
        transactional: Some(Ok(from(json!([
            {"id": "cl_welcome", "name": "Welcome", "dataVariables": ["name", "company"],
             "publishedEmailMessageId": "m1"},
            {"id": "cl_draft", "name": "Draft", "dataVariables": [], "publishedEmailMessageId": null}
        ])))),
        lists: Some(Ok(from(
            json!([{"id": "list_news", "name": "News", "isPublic": true}]),
        ))),
    }
}

fn rules(text: &str) -> Rules {
    Rules::from_toml_str("rules.toml", text).unwrap()
}

/// One row: rules, a change to the account, and the lines expected (status and a fragment).
type Row = (&'static str, fn(&mut Facts), Vec<(Status, &'static str)>);

fn keep(_: &mut Facts) {}

#[test]
fn evaluation_table() {
    let table: Vec<Row> = vec![
        (
            r#"[contact]
               properties = { plan = "{lead.cf.PLAN}", kommoStage = "{lead.status_name}" }
               [[kommo]]
               name = "trial"
               when = { event = "lead_status", to = 5001, pipeline = 7001 }
               do = [ { upsert_contact = { properties = { trial = "{lead.cf.912345:number}" } } } ]"#,
            keep,
            vec![
                (Status::Ok, "Kommo: account acme (31000001) answers"),
                (
                    Status::Ok,
                    r#"pipeline 7001 "SaaS sales" exists ([[kommo]] "trial": `when.pipeline`)"#,
                ),
                (
                    Status::Ok,
                    r#"stage 5001 "Trial" exists in 7001 "SaaS sales""#,
                ),
                (
                    Status::Ok,
                    r#"lead custom field PLAN is "Plan" (select, id 4400001)"#,
                ),
                (
                    Status::Ok,
                    r#"lead custom field 912345 is "Trial days" (numeric"#,
                ),
                (
                    Status::Ok,
                    "the webhook subscription to https://bridge.example.com/… delivers status_lead",
                ),
                (
                    Status::Warning,
                    "also delivers add_lead, update_lead, add_contact, update_contact, which no rule needs",
                ),
                (Status::Ok, "Loops: the API key works"),
                (Status::Ok, "contact property kommoStage exists (string)"),
                (Status::Ok, "contact property plan exists (string)"),
                (
                    Status::Failed,
                    r#"contact property trial does not exist ([[kommo]] "trial": `do[0].upsert_contact.properties.trial`)"#,
                ),
            ],
        ),
        (
            // A number cast on a text field, a missing field, a stage of another pipeline.
            r#"[[kommo]]
               name = "x"
               when = { event = "lead_added", pipeline = 7009 }
               do = [ { send_event = { event = "e", properties = { a = "{lead.cf.NOTES:number}", b = "{lead.cf.NOPE}" } } } ]
               [[kommo]]
               name = "y"
               when = { event = "lead_status", to = 6001, pipeline = 7001 }
               do = [ { send_event = { event = "e" } } ]"#,
            keep,
            vec![
                (
                    Status::Failed,
                    r#"pipeline 7009 does not exist ([[kommo]] "x": `when.pipeline`) → use one of: 7001 "SaaS sales", 7002 "Partners""#,
                ),
                (
                    Status::Failed,
                    r#"stage 6001 is in 7002 "Partners", not in the rule's pipelines"#,
                ),
                (
                    Status::Warning,
                    "`{lead.cf.NOTES:number}` reads a text field as a number",
                ),
                (Status::Failed, "lead custom field NOPE does not exist"),
            ],
        ),
        (
            // Names: resolved, unknown and ambiguous.
            r#"[[kommo]]
               name = "names"
               when = { event = "lead_status", to = "Activated" }
               do = [ { send_event = { event = "e" } } ]
               [[kommo]]
               name = "typo"
               when = { event = "lead_status", to = "Activatd" }
               do = [ { send_event = { event = "e" } } ]
               [[kommo]]
               name = "ambiguous"
               when = { event = "lead_status", to = "Trial" }
               do = [ { send_event = { event = "e" } } ]"#,
            keep,
            vec![
                (
                    Status::Ok,
                    r#"stage "Activated" is 5002 in "SaaS sales" ([[kommo]] "names": `when.to`)"#,
                ),
                (
                    Status::Failed,
                    r#"[[kommo]] "typo": `when.to`: unknown stage "Activatd""#,
                ),
                (Status::Failed, r#"stage "Trial" is in 2 pipelines"#),
            ],
        ),
        (
            // Transactional emails: a missing variable, a draft, an unknown id, an unused one.
            r#"[[kommo]]
               name = "won"
               when = { event = "lead_status", to = "won" }
               do = [
                 { send_transactional = { id = "cl_welcome", data = { name = "{contact.first_name}", extra = "x" } } },
                 { send_transactional = { id = "cl_draft" } },
                 { send_transactional = { id = "cl_gone" } },
               ]"#,
            keep,
            vec![
                (
                    Status::Failed,
                    r#"transactional email cl_welcome "Welcome" needs the data variable company"#,
                ),
                (
                    Status::Warning,
                    "sends extra to transactional email cl_welcome, which does not use it",
                ),
                (
                    Status::Failed,
                    r#"transactional email cl_draft "Draft" is not published"#,
                ),
                (Status::Failed, "transactional email cl_gone does not exist"),
            ],
        ),
        (
            // Types: a number sent to a string property warns, text to a number fails.
            r#"[[kommo]]
               name = "types"
               when = { event = "lead_added" }
               do = [ { upsert_contact = { properties = { plan = "{lead.price}", score = "{lead.name}" }, mailing_lists = { list_news = true, list_gone = true } } } ]"#,
            keep,
            vec![
                (
                    Status::Warning,
                    "contact property plan is a string in Loops, and [[kommo]] \"types\": `do[0].upsert_contact.properties.plan` sends a number",
                ),
                (
                    Status::Failed,
                    "contact property score is a number in Loops, and",
                ),
                (Status::Ok, r#"mailing list list_news "News" exists"#),
                (Status::Failed, "mailing list list_gone does not exist"),
            ],
        ),
        (
            // The subscription: exact, disabled, extra settings, unreadable.
            r#"[[kommo]]
               name = "new"
               when = { event = "lead_added" }
               do = [ { upsert_contact = {} } ]"#,
            |f| {
                f.subscriptions = Some(Ok(from(json!([{
                    "destination": "https://b.example/webhooks/kommo/t", "disabled": true,
                    "settings": ["add_lead", "note_lead"]}]))));
            },
            vec![
                (
                    Status::Failed,
                    "the webhook subscription to https://b.example/… is disabled",
                ),
                (
                    Status::Warning,
                    "also delivers note_lead, which no rule needs",
                ),
            ],
        ),
        (
            r#"[[kommo]]
               name = "new"
               when = { event = "lead_added" }
               do = [ { upsert_contact = {} } ]"#,
            |f| {
                f.subscriptions = Some(Err(Failure {
                    status: Some(403),
                    message: "forbidden".into(),
                }));
            },
            vec![(Status::Warning, "only an administrator's token may")],
        ),
        (
            // An account that cannot be read stops its side.
            r#"[[kommo]]
               name = "new"
               when = { event = "lead_added", pipeline = 1 }
               do = [ { upsert_contact = { properties = { plan = "x" } } } ]"#,
            |f| {
                f.kommo_account = Some(Err(Failure {
                    status: Some(401),
                    message: "401 Unauthorized".into(),
                }));
                f.loops_team = Some(Err(Failure {
                    status: Some(401),
                    message: "invalid key".into(),
                }));
            },
            vec![
                (
                    Status::Failed,
                    "Kommo: the account cannot be read: 401 Unauthorized",
                ),
                (Status::Failed, "Loops: the API key is refused: invalid key"),
            ],
        ),
    ];
    for (text, change, expected) in table {
        let mut facts = account();
        change(&mut facts);
        let report = evaluate(&rules(text), &facts, &PreflightOptions::new());
        let shown = report.to_string();
        for (status, fragment) in &expected {
            assert!(
                report
                    .checks
                    .iter()
                    .any(|c| c.status == *status && c.to_string().contains(fragment)),
                "{text}\nno {status:?} line with {fragment:?}:\n{shown}"
            );
        }
        let failed = expected.iter().any(|(s, _)| *s == Status::Failed);
        assert_eq!(report.passed(), !failed, "{shown}");
        if text.contains("lead.status_name") {
            // Nothing but the expected lines fails.
            assert_eq!(report.with_status(Status::Failed).count(), 1, "{shown}");
        }
    }
}

#[test]
fn the_onboarding_rules_pass_against_the_onboarding_account() {
    let rules = Rules::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/rules/saas-onboarding.toml"
    ))
    .unwrap();
    let mut facts = account();
    if let Some(Ok(properties)) = &mut facts.properties {
        properties.push(from(json!({"key": "companyName", "type": "string"})));
        properties.push(from(json!({"key": "kommoPipeline", "type": "string"})));
    }
    facts.subscriptions = Some(Ok(from(json!([{
        "destination": "https://bridge.example.com/webhooks/kommo/tok3n-0123456789abcdef",
        "settings": ["add_lead", "update_lead", "status_lead", "add_contact", "update_contact",
                     "update_company"]
    }]))));
    let options = PreflightOptions::new()
        .kommo_webhook_token("tok3n-0123456789abcdef")
        .loops_webhook_secret("whsec_c2VjcmV0".to_owned());
    let report = evaluate(&rules, &facts, &options);
    assert!(report.passed(), "{report}");
    assert_eq!(report.with_status(Status::Warning).count(), 0, "{report}");
    let text = report.to_string();
    assert!(!text.contains("tok3n"), "the token is a secret: {text}");
    assert!(!text.contains("c2VjcmV0"), "{text}");
    assert!(!format!("{options:?}").contains("tok3n"));

    // Another bridge's subscription does not count; a missing secret fails.
    let options = PreflightOptions::new()
        .kommo_webhook_token("another-token")
        .loops_webhook_secret(None::<String>);
    let report = evaluate(&rules, &facts, &options);
    let failed: Vec<String> = report
        .with_status(Status::Failed)
        .map(|c| c.subject.clone())
        .collect();
    assert_eq!(failed, ["webhook:kommo", "webhook:loops"], "{report}");
    let json = report.to_json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["failed"], 2);
}
