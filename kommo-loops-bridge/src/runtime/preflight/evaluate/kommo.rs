//! The Kommo side: the account, the pipelines and stages, the custom fields and the webhook
//! subscription.

use std::collections::BTreeMap;

use kommo_client::custom_fields::{CustomFieldDefinition, FieldType};
use kommo_client::pipelines::Pipeline;
use kommo_client::webhook_subscriptions::{WebhookSetting, WebhookSubscription};

use super::super::fetch::{Facts, Failure};
use super::super::needs::{FieldEntity, FieldUse, Needs, StageUse};
use super::super::report::{Check, Side, Status};
use super::super::{KommoWebhook, PreflightOptions};
use super::{FieldTypes, listed, places};
use crate::rules::{ResolvedName, RulesError, STATUS_LOST, STATUS_WON};
use crate::template::FieldKey;
use crate::value::Cast;

fn check(status: Status, subject: impl Into<String>, message: impl Into<String>) -> Check {
    Check::new(status, Side::Kommo, subject, message)
}

fn unreadable(subject: &str, what: &str, failure: &Failure) -> Check {
    super::unreadable(Side::Kommo, subject, what, failure)
}

/// Appends the Kommo checks; returns the types of the custom fields found, for the Loops
/// property types.
pub(super) fn evaluate(
    needs: &Needs,
    names: &[Result<ResolvedName, RulesError>],
    facts: &Facts,
    options: &PreflightOptions,
    out: &mut Vec<Check>,
) -> FieldTypes {
    let mut types = FieldTypes::new();
    match &facts.kommo_account {
        None => return types,
        Some(Err(failure)) => {
            out.push(
                check(
                    Status::Failed,
                    "account:kommo",
                    format!("the account cannot be read: {}", failure.message),
                )
                .fix("check KOMMO_BASE_URL and the token (KOMMO_TOKEN, or the OAuth settings)"),
            );
            return types;
        }
        Some(Ok(account)) => out.push(check(
            Status::Ok,
            "account:kommo",
            format!("account {account} answers"),
        )),
    }
    match &facts.pipelines {
        None => {}
        Some(Err(failure)) => out.push(unreadable("pipelines", "the pipelines", failure)),
        Some(Ok(pipelines)) => stages(needs, names, pipelines, out),
    }
    fields(needs, facts, out, &mut types);
    subscription(needs, facts, options, out);
    types
}

fn pipeline_label(pipeline: &Pipeline) -> String {
    format!("{} {:?}", pipeline.id.0, pipeline.name)
}

/// The pipelines and stages, by name and by id.
fn stages(
    needs: &Needs,
    names: &[Result<ResolvedName, RulesError>],
    pipelines: &[Pipeline],
    out: &mut Vec<Check>,
) {
    // Ids that came from a name are reported with the name.
    let mut from_names: Vec<(String, u64)> = Vec::new();
    for outcome in names {
        match outcome {
            Ok(name) => {
                let at = format!("[[kommo]] {:?}: `{}`", &*name.rule, name.key);
                let mut found = Vec::new();
                for (pipeline, pipeline_name, status) in &name.found {
                    let id = status.unwrap_or(*pipeline);
                    from_names.push((at.clone(), id));
                    found.push(match status {
                        Some(status) => format!("{status} in {pipeline_name}"),
                        None => pipeline.to_string(),
                    });
                }
                let what = if name.key == "when.pipeline" {
                    "pipeline"
                } else {
                    "stage"
                };
                out.push(check(
                    Status::Ok,
                    format!("{what}:{}", name.name),
                    format!("{what} {:?} is {} ({at})", name.name, found.join(", ")),
                ));
            }
            Err(error) => out.push(
                check(
                    Status::Failed,
                    format!("name:{}", error.key.as_deref().unwrap_or_default()),
                    error.to_string(),
                )
                .fix("write the name as Kommo shows it (case is ignored), or use the id"),
            ),
        }
    }

    let mut seen: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (at, id) in &needs.pipelines {
        if !from_names.iter().any(|(a, i)| a == at && i == id) {
            seen.entry(*id).or_default().push(at);
        }
    }
    for (id, at) in seen {
        match pipelines.iter().find(|p| p.id.0 == id) {
            Some(pipeline) => out.push(check(
                Status::Ok,
                format!("pipeline:{id}"),
                format!(
                    "pipeline {} exists ({})",
                    pipeline_label(pipeline),
                    places(&at)
                ),
            )),
            None => out.push(
                check(
                    Status::Failed,
                    format!("pipeline:{id}"),
                    format!("pipeline {id} does not exist ({})", places(&at)),
                )
                .fix(format!(
                    "use one of: {}",
                    listed(pipelines.iter().map(pipeline_label))
                )),
            ),
        }
    }

    let mut seen: BTreeMap<(u64, Option<Vec<u64>>), Vec<&str>> = BTreeMap::new();
    for StageUse { at, id, pipelines } in &needs.stages {
        // The system stages are in every pipeline.
        if matches!(*id, STATUS_WON | STATUS_LOST)
            || from_names.iter().any(|(a, i)| a == at && i == id)
        {
            continue;
        }
        seen.entry((*id, pipelines.clone())).or_default().push(at);
    }
    for ((id, scope), at) in seen {
        let holding: Vec<&Pipeline> = pipelines
            .iter()
            .filter(|p| p.embedded.statuses.iter().any(|s| s.id.0 == id))
            .collect();
        let in_scope: Vec<&&Pipeline> = holding
            .iter()
            .filter(|p| scope.as_ref().is_none_or(|s| s.contains(&p.id.0)))
            .collect();
        let name_of = |p: &Pipeline| {
            p.embedded
                .statuses
                .iter()
                .find(|s| s.id.0 == id)
                .map(|s| s.name.clone())
                .unwrap_or_default()
        };
        let subject = format!("stage:{id}");
        if let Some(first) = in_scope.first() {
            out.push(check(
                Status::Ok,
                subject,
                format!(
                    "stage {id} {:?} exists in {} ({})",
                    name_of(first),
                    listed(in_scope.iter().map(|p| pipeline_label(p))),
                    places(&at)
                ),
            ));
            continue;
        }
        let scope_pipelines: Vec<&Pipeline> = pipelines
            .iter()
            .filter(|p| scope.as_ref().is_none_or(|s| s.contains(&p.id.0)))
            .collect();
        let choices = scope_pipelines
            .iter()
            .map(|p| {
                let stages = p.embedded.statuses.iter();
                let stages = listed(stages.map(|s| format!("{} {:?}", s.id.0, s.name)));
                format!("in {}: {stages}", pipeline_label(p))
            })
            .collect::<Vec<_>>()
            .join("; ");
        let message = if holding.is_empty() {
            format!(
                "stage {id} does not exist ({}): the rule never matches",
                places(&at)
            )
        } else {
            format!(
                "stage {id} is in {}, not in the rule's pipelines ({}): the rule never matches",
                listed(holding.iter().map(|p| pipeline_label(p))),
                places(&at)
            )
        };
        out.push(check(Status::Failed, subject, message).fix(format!("use one of: {choices}")));
    }
}

fn find<'a>(
    definitions: &'a [CustomFieldDefinition],
    key: &FieldKey,
) -> Option<&'a CustomFieldDefinition> {
    match key {
        FieldKey::Id(id) => definitions.iter().find(|d| d.id.0 == *id),
        FieldKey::Code(code) => definitions
            .iter()
            .find(|d| d.code.as_deref() == Some(code.as_str()))
            .or_else(|| {
                definitions.iter().find(|d| {
                    d.code
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(code))
                })
            }),
    }
}

/// Whether a field of this type reads well with this cast.
pub(super) fn cast_fits(cast: Cast, field: &FieldType) -> bool {
    match cast {
        Cast::String => true,
        Cast::Number => matches!(
            field,
            FieldType::Numeric | FieldType::Price | FieldType::Monetary
        ),
        Cast::Bool => matches!(field, FieldType::Checkbox),
        Cast::Date => matches!(
            field,
            FieldType::Date | FieldType::DateTime | FieldType::Birthday
        ),
    }
}

fn fields(needs: &Needs, facts: &Facts, out: &mut Vec<Check>, types: &mut FieldTypes) {
    let mut grouped: BTreeMap<(FieldEntity, FieldKey), Vec<&FieldUse>> = BTreeMap::new();
    for field in &needs.fields {
        grouped
            .entry((field.entity, field.key.clone()))
            .or_default()
            .push(field);
    }
    let mut unreadable_reported = Vec::new();
    for ((entity, key), uses) in grouped {
        let subject = format!("field:{}:{key}", entity.name());
        let at: Vec<&str> = uses.iter().map(|u| u.at.as_str()).collect();
        let definitions = match facts.fields.get(&entity) {
            None => continue,
            Some(Err(failure)) => {
                if !unreadable_reported.contains(&entity) {
                    unreadable_reported.push(entity);
                    let what = format!("the {} custom fields", entity.name());
                    out.push(unreadable(&subject, &what, failure));
                }
                continue;
            }
            Some(Ok(definitions)) => definitions,
        };
        let Some(definition) = find(definitions, &key) else {
            let codes = listed(definitions.iter().filter_map(|d| d.code.clone()));
            out.push(
                check(
                    Status::Failed,
                    subject,
                    format!(
                        "{} custom field {key} does not exist ({}): its value is always missing",
                        entity.name(),
                        places(&at)
                    ),
                )
                .fix(format!(
                    "use the field's id, or one of the {} field codes: {codes}",
                    entity.name()
                )),
            );
            continue;
        };
        types.insert((entity, key.clone()), definition.field_type.clone());
        out.push(check(
            Status::Ok,
            subject.clone(),
            format!(
                "{} custom field {key} is {:?} ({}, id {}) ({})",
                entity.name(),
                definition.name,
                definition.field_type,
                definition.id.0,
                places(&at)
            ),
        ));
        for field in uses {
            if let Some(cast) = field.cast
                && !cast_fits(cast, &definition.field_type)
            {
                out.push(
                    check(
                        Status::Warning,
                        subject.clone(),
                        format!(
                            "{}: `{{{}.cf.{key}:{}}}` reads a {} field as a {}: a value that \
                             does not convert is dropped",
                            field.at,
                            entity.name(),
                            cast.name(),
                            definition.field_type,
                            cast.name()
                        ),
                    )
                    .fix("check that the field holds such values, or drop the cast"),
                );
            }
        }
    }
}

/// Whether a subscription posts to the bridge.
fn posts_to_bridge(subscription: &WebhookSubscription, target: &KommoWebhook) -> bool {
    let destination = subscription.destination.trim_end_matches('/');
    match target {
        KommoWebhook::Url(url) => destination == url.trim_end_matches('/'),
        KommoWebhook::Token(token) => destination
            .split(['?', '#'])
            .next()
            .and_then(|path| path.rsplit('/').next())
            .is_some_and(|last| last == token.as_str()),
    }
}

/// `https://bridge.example.com/…`: the path may hold the secret token.
fn host_only(destination: &str) -> String {
    match destination.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split('/').next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "…".into(),
    }
}

fn subscription(needs: &Needs, facts: &Facts, options: &PreflightOptions, out: &mut Vec<Check>) {
    let subject = "webhook:kommo";
    let wanted = &needs.settings;
    let names =
        |settings: &[WebhookSetting]| listed(settings.iter().map(|s| s.as_str().to_owned()));
    let subscribe = format!(
        "subscribe the bridge's URL (…/webhooks/kommo/<KOMMO_WEBHOOK_TOKEN>) to exactly: {} \
         (Settings > Integrations > Web hooks, or POST /api/v4/webhooks)",
        names(wanted)
    );
    let subscriptions = match &facts.subscriptions {
        None => return,
        Some(Err(failure)) if failure.status == Some(403) => {
            out.push(
                check(
                    Status::Warning,
                    subject,
                    format!(
                        "the webhook subscriptions cannot be read (only an administrator's \
                         token may): {}",
                        failure.message
                    ),
                )
                .fix(subscribe),
            );
            return;
        }
        Some(Err(failure)) => {
            out.push(unreadable(subject, "the webhook subscriptions", failure).fix(subscribe));
            return;
        }
        Some(Ok(subscriptions)) => subscriptions,
    };
    let candidates: Vec<&WebhookSubscription> = subscriptions
        .iter()
        .filter(|s| {
            options
                .kommo_webhook
                .as_ref()
                .is_none_or(|target| posts_to_bridge(s, target))
        })
        .collect();
    let covered =
        |s: &WebhookSubscription| wanted.iter().filter(|w| s.settings.contains(w)).count();
    let Some(best) = candidates.iter().copied().max_by_key(|s| covered(s)) else {
        let whose = if options.kommo_webhook.is_some() {
            "posts to the bridge"
        } else {
            "exists"
        };
        out.push(
            check(
                Status::Failed,
                subject,
                format!("no webhook subscription {whose}: no Kommo event reaches the rules"),
            )
            .fix(subscribe),
        );
        return;
    };
    let at = host_only(&best.destination);
    let missing: Vec<WebhookSetting> = wanted
        .iter()
        .filter(|w| !best.settings.contains(w))
        .cloned()
        .collect();
    let extra: Vec<WebhookSetting> = best
        .settings
        .iter()
        .filter(|s| !wanted.contains(s))
        .cloned()
        .collect();
    if best.disabled == Some(true) {
        out.push(
            check(
                Status::Failed,
                subject,
                format!("the webhook subscription to {at} is disabled (Kommo disables one after too many failed deliveries)"),
            )
            .fix("save it again in Settings > Integrations > Web hooks; recover what was missed with the backfill"),
        );
    } else if !missing.is_empty() {
        out.push(
            check(
                Status::Failed,
                subject,
                format!(
                    "the webhook subscription to {at} does not deliver {}: rules listening to \
                     them never run",
                    names(&missing)
                ),
            )
            .fix(subscribe),
        );
    } else {
        out.push(check(
            Status::Ok,
            subject,
            format!(
                "the webhook subscription to {at} delivers {}",
                names(wanted)
            ),
        ));
    }
    if !extra.is_empty() {
        out.push(
            check(
                Status::Warning,
                subject,
                format!(
                    "the webhook subscription to {at} also delivers {}, which no rule needs \
                     (each is a delivery to acknowledge and a job to plan)",
                    names(&extra)
                ),
            )
            .fix(format!("subscribe it to exactly: {}", names(wanted))),
        );
    }
}
