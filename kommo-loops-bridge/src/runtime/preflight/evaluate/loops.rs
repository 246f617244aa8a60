//! The Loops side: the key, the contact properties, the transactional emails, the mailing
//! lists and the webhook secret.

use std::collections::BTreeSet;
use std::time::SystemTime;

use kommo_client::custom_fields::FieldType;
use loops_client::contact_properties::PropertyType;
use loops_client::webhooks::{WebhookHeaders, WebhookSecret, WebhookVerifier};

use super::super::fetch::{Facts, Failure};
use super::super::needs::{Implied, Kind, Needs};
use super::super::report::{Check, Report, Side, Status};
use super::super::{LoopsSecret, PreflightOptions};
use super::{FieldTypes, listed, places};

fn check(status: Status, subject: impl Into<String>, message: impl Into<String>) -> Check {
    Check::new(status, Side::Loops, subject, message)
}

fn unreadable(subject: &str, what: &str, failure: &Failure) -> Check {
    super::unreadable(Side::Loops, subject, what, failure)
}

pub(super) fn evaluate(
    needs: &Needs,
    facts: &Facts,
    types: &FieldTypes,
    options: &PreflightOptions,
    report: &mut Report,
) {
    let out = &mut report.checks;
    match &facts.loops_team {
        None => return,
        Some(Err(failure)) => {
            out.push(
                check(
                    Status::Failed,
                    "account:loops",
                    format!("the API key is refused: {}", failure.message),
                )
                .fix("check LOOPS_API_KEY (Loops > Settings > API)"),
            );
            return;
        }
        Some(Ok(team)) => out.push(check(
            Status::Ok,
            "account:loops",
            format!("the API key works (team {team:?})"),
        )),
    }
    properties(needs, facts, types, report);
    let out = &mut report.checks;
    transactional(needs, facts, out);
    lists(needs, facts, out);
    webhooks(needs, options, out);
}

/// The Loops type a Kommo field's value is sent as (`api_fields` in the engine's facts).
fn kind_of_field(field: &FieldType) -> Kind {
    match field {
        FieldType::Numeric | FieldType::Price | FieldType::Monetary => Kind::Number,
        FieldType::Checkbox => Kind::Boolean,
        FieldType::Date | FieldType::DateTime | FieldType::Birthday => Kind::Date,
        _ => Kind::String,
    }
}

fn property_type(kind: Kind) -> PropertyType {
    match kind {
        Kind::String => PropertyType::String,
        Kind::Number => PropertyType::Number,
        Kind::Boolean => PropertyType::Boolean,
        Kind::Date => PropertyType::Date,
    }
}

/// How a value of `kind` fits a property of type `property`.
pub(super) fn fits(kind: Kind, property: &PropertyType) -> Status {
    match (kind, property) {
        (Kind::String, PropertyType::String)
        | (Kind::Number, PropertyType::Number)
        | (Kind::Boolean, PropertyType::Boolean)
        | (Kind::Date, PropertyType::Date) => Status::Ok,
        // A type this crate does not know: nothing to compare with.
        (_, PropertyType::Other(_)) => Status::Ok,
        // Loops may store a number or a date as text; it is not documented.
        (_, PropertyType::String) => Status::Warning,
        _ => Status::Failed,
    }
}

fn properties(needs: &Needs, facts: &Facts, types: &FieldTypes, report: &mut Report) {
    let definitions = match &facts.properties {
        None => return,
        Some(Err(failure)) => {
            report
                .checks
                .push(unreadable("properties", "the contact properties", failure));
            return;
        }
        Some(Ok(definitions)) => definitions,
    };
    for (name, uses) in &needs.properties {
        let subject = format!("property:{name}");
        let at: Vec<&str> = uses.iter().map(|(at, _)| at.as_str()).collect();
        // `None`: a field whose type is unknown (its own check fails).
        let kinds: Vec<(&str, Option<Kind>)> = uses
            .iter()
            .map(|(at, implied)| {
                let kind = match implied {
                    Implied::Known(kind) => Some(*kind),
                    Implied::Field(entity, key) => {
                        types.get(&(*entity, key.clone())).map(kind_of_field)
                    }
                };
                (at.as_str(), kind)
            })
            .collect();
        let distinct: BTreeSet<Kind> = kinds.iter().filter_map(|(_, k)| *k).collect();
        let Some(definition) = definitions.iter().find(|d| d.key == *name) else {
            // Text when the rules disagree or do not say: every value can be sent as text.
            let kind = match distinct.iter().collect::<Vec<_>>().as_slice() {
                [one] => **one,
                _ => Kind::String,
            };
            report.checks.push(
                check(
                    Status::Failed,
                    subject,
                    format!(
                        "contact property {name} does not exist ({}): every upsert that sets \
                         it is refused (400) and ends as a dead letter",
                        places(&at)
                    ),
                )
                .fix(format!(
                    "create it as a {} property (Loops > Settings > Contact properties), or run \
                     the check with --fix",
                    kind.name()
                )),
            );
            report
                .missing_properties
                .push((name.clone(), property_type(kind)));
            continue;
        };
        let worst = kinds
            .iter()
            .filter_map(|(at, kind)| kind.map(|k| (fits(k, &definition.property_type), at, k)))
            .max_by_key(|(status, _, _)| *status);
        match worst {
            Some((status @ (Status::Warning | Status::Failed), at, kind)) => {
                report.checks.push(
                    check(
                        status,
                        subject,
                        format!(
                            "contact property {name} is a {} in Loops, and {at} sends a {}",
                            definition.property_type.as_str(),
                            kind.name()
                        ),
                    )
                    .fix(format!(
                        "make the types agree: a cast in the template (e.g. {{…:{}}}), or a \
                         {} property",
                        match definition.property_type {
                            PropertyType::Boolean => "bool",
                            ref other => other.as_str(),
                        },
                        kind.name()
                    )),
                );
            }
            _ => report.checks.push(check(
                Status::Ok,
                subject,
                format!(
                    "contact property {name} exists ({}) ({})",
                    definition.property_type.as_str(),
                    places(&at)
                ),
            )),
        }
    }
}

fn transactional(needs: &Needs, facts: &Facts, out: &mut Vec<Check>) {
    let emails = match &facts.transactional {
        None => return,
        Some(Err(failure)) => {
            out.push(unreadable(
                "transactional",
                "the transactional emails",
                failure,
            ));
            return;
        }
        Some(Ok(emails)) => emails,
    };
    for needed in &needs.transactional {
        let subject = format!("transactional:{}", needed.id);
        let Some(email) = emails.iter().find(|e| e.id == needed.id) else {
            out.push(
                check(
                    Status::Failed,
                    subject,
                    format!(
                        "transactional email {} does not exist ({}): every send is refused \
                         (404) and ends as a dead letter",
                        needed.id, needed.at
                    ),
                )
                .fix(format!(
                    "use the id Loops shows for the email; these exist: {}",
                    listed(emails.iter().map(|e| format!("{} {:?}", e.id, e.name)))
                )),
            );
            continue;
        };
        if email.published_email_message_id.is_none() {
            out.push(
                check(
                    Status::Failed,
                    subject,
                    format!(
                        "transactional email {} {:?} is not published ({}): every send is \
                         refused (400)",
                        needed.id, email.name, needed.at
                    ),
                )
                .fix("publish it in Loops"),
            );
            continue;
        }
        let missing: Vec<&String> = email
            .data_variables
            .iter()
            .filter(|v| !needed.data.contains(v))
            .collect();
        let unused: Vec<&String> = needed
            .data
            .iter()
            .filter(|v| !email.data_variables.contains(v))
            .collect();
        if !missing.is_empty() {
            out.push(
                check(
                    Status::Failed,
                    subject.clone(),
                    format!(
                        "transactional email {} {:?} needs the data variable{} {}, which {} \
                         does not fill: every send is refused (400)",
                        needed.id,
                        email.name,
                        if missing.len() == 1 { "" } else { "s" },
                        listed(missing.iter().map(|v| v.to_string())),
                        needed.at
                    ),
                )
                .fix(format!(
                    "add {} to the action's `data`",
                    listed(missing.iter().map(|v| v.to_string()))
                )),
            );
        } else {
            out.push(check(
                Status::Ok,
                subject.clone(),
                format!(
                    "transactional email {} {:?} is published and {} fills its data variables{}",
                    needed.id,
                    email.name,
                    needed.at,
                    if email.data_variables.is_empty() {
                        " (it has none)".to_owned()
                    } else {
                        format!(" ({})", listed(email.data_variables.iter().cloned()))
                    }
                ),
            ));
        }
        if !unused.is_empty() {
            out.push(check(
                Status::Warning,
                subject,
                format!(
                    "{} sends {} to transactional email {}, which does not use {}",
                    needed.at,
                    listed(unused.iter().map(|v| v.to_string())),
                    needed.id,
                    if unused.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
    }
}

fn lists(needs: &Needs, facts: &Facts, out: &mut Vec<Check>) {
    let lists = match &facts.lists {
        None => return,
        Some(Err(failure)) => {
            out.push(unreadable("lists", "the mailing lists", failure));
            return;
        }
        Some(Ok(lists)) => lists,
    };
    let mut seen: Vec<(&str, Vec<&str>)> = Vec::new();
    for (at, id) in &needs.mailing_lists {
        match seen.iter_mut().find(|(i, _)| i == id) {
            Some((_, places)) => places.push(at),
            None => seen.push((id, vec![at])),
        }
    }
    for (id, at) in seen {
        let subject = format!("list:{id}");
        match lists.iter().find(|l| l.id == id) {
            Some(list) => out.push(check(
                Status::Ok,
                subject,
                format!("mailing list {id} {:?} exists ({})", list.name, places(&at)),
            )),
            None => out.push(
                check(
                    Status::Failed,
                    subject,
                    format!(
                        "mailing list {id} does not exist ({}): every upsert naming it is \
                         refused (400)",
                        places(&at)
                    ),
                )
                .fix(format!(
                    "use one of: {}",
                    listed(lists.iter().map(|l| format!("{} {:?}", l.id, l.name)))
                )),
            ),
        }
    }
}

/// A `testing.testEvent` delivery signed with each configured secret, as Loops signs it, must
/// pass the verifier the bridge builds from the same setting.
fn verifies(secrets: &str) -> Result<(), String> {
    let secrets: Vec<&str> = secrets
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let verifier =
        WebhookVerifier::with_secrets(secrets.iter().copied()).map_err(|e| e.to_string())?;
    // Any moment does: the delivery is signed and verified at the same one (the evaluation
    // reads no clock).
    let timestamp: i64 = 1_767_312_000;
    let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(timestamp as u64);
    let body = br#"{"eventName":"testing.testEvent","eventTime":0,"webhookSchemaVersion":"1.0.0","message":"test"}"#;
    for secret in secrets {
        let secret = WebhookSecret::parse(secret).map_err(|e| e.to_string())?;
        let signature = secret.sign("msg_preflight", timestamp, body);
        let stamp = timestamp.to_string();
        let headers = WebhookHeaders::new("msg_preflight", &stamp, &signature);
        verifier
            .verify_and_parse(&headers, body, now)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn webhooks(needs: &Needs, options: &PreflightOptions, out: &mut Vec<Check>) {
    if needs.loops_events.is_empty() {
        return;
    }
    let subject = "webhook:loops";
    match &options.loops_secret {
        LoopsSecret::NotGiven => out.push(check(
            Status::Skipped,
            subject,
            "the Loops signing secret was not given to the check",
        )),
        LoopsSecret::Absent => out.push(
            check(
                Status::Failed,
                subject,
                "[[loops]] rules listen to Loops webhooks, but no signing secret is configured: \
                 every Loops delivery is refused (503)",
            )
            .fix("set LOOPS_WEBHOOK_SECRET to the whsec_... secret of Loops > Settings > Webhooks"),
        ),
        LoopsSecret::Given(secrets) => match verifies(secrets) {
            Ok(()) => out.push(check(
                Status::Ok,
                subject,
                "the signing secret verifies a test delivery signed as Loops signs it",
            )),
            Err(why) => out.push(
                check(
                    Status::Failed,
                    subject,
                    format!("the signing secret cannot verify a delivery: {why}"),
                )
                .fix("copy the whsec_... secret again from Loops > Settings > Webhooks"),
            ),
        },
    }
    out.push(check(
        Status::Skipped,
        "webhook:loops:settings",
        format!(
            "Loops has no API for its webhook settings: check by hand that Loops > Settings > \
             Webhooks posts to the bridge's /webhooks/loops with {} enabled, and send a test \
             event (/healthz then shows it as the last verified Loops delivery)",
            listed(needs.loops_events.iter().cloned())
        ),
    ));
}
