//! The pure half of the preflight: what the rules need against what the accounts hold.

mod kommo;
mod loops;

use std::collections::BTreeMap;

use kommo_client::custom_fields::FieldType;

use super::PreflightOptions;
use super::fetch::{Facts, Failure};
use super::needs::{FieldEntity, Needs};
use super::report::{Check, Report, Side, Status};
use crate::facts::PipelineFacts;
use crate::rules::Rules;
use crate::template::FieldKey;

/// The types of the custom fields found, for the types of the values sent to Loops.
type FieldTypes = BTreeMap<(FieldEntity, FieldKey), FieldType>;

/// The most places or candidates a line lists.
const MAX_LISTED: usize = 8;

/// The checks for `rules` against `facts`: Kommo first (the account, names, pipelines and
/// stages, custom fields, the webhook subscription), then Loops (the key, contact
/// properties, transactional emails, mailing lists, the webhook secret).
pub(crate) fn evaluate(rules: &Rules, facts: &Facts, options: &PreflightOptions) -> Report {
    let (rules, names) = match &facts.pipelines {
        Some(Ok(pipelines)) => {
            let pipelines: Vec<PipelineFacts> = pipelines.iter().map(PipelineFacts::from).collect();
            crate::rules::resolve(rules, &pipelines)
        }
        _ => (rules.clone(), Vec::new()),
    };
    let needs = Needs::of(&rules);
    let mut report = Report::default();
    let types = kommo::evaluate(&needs, &names, facts, options, &mut report.checks);
    loops::evaluate(&needs, facts, &types, options, &mut report);
    report
}

/// A failed check: `what` could not be read.
fn unreadable(side: Side, subject: &str, what: &str, failure: &Failure) -> Check {
    Check::new(
        Status::Failed,
        side,
        subject,
        format!("cannot read {what}: {}", failure.message),
    )
}

/// `a, b, c` (at most [`MAX_LISTED`], then how many more); `none` when empty.
fn listed(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return "none".into();
    }
    let mut text = items
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_LISTED {
        text.push_str(&format!(" and {} more", items.len() - MAX_LISTED));
    }
    text
}

/// Where the rules use something: the first place, and how many more.
fn places(at: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for place in at {
        if !unique.contains(place) {
            unique.push(place);
        }
    }
    match unique.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first, rest @ ..] => format!("{first}, and {} more", rest.len()),
    }
}

#[cfg(test)]
mod tests;
