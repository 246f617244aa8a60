//! Pipelines and stages named in rules (`to = "Demo booked"`), resolved once, at startup,
//! against the account's pipelines. The engine itself only ever compares ids.

use std::collections::BTreeSet;
use std::sync::Arc;

use kommo_client::pipelines::Pipeline;

use super::{Ids, KommoRule, Rules, RulesError, STATUS_LOST, STATUS_WON, StageNames};
use crate::facts::PipelineFacts;

/// The most stage or pipeline names an error lists.
const MAX_LISTED: usize = 30;

/// One name of a rule, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedName {
    pub(crate) rule: Arc<str>,
    /// `when.pipeline`, `when.to` or `when.from`.
    pub(crate) key: &'static str,
    pub(crate) name: String,
    /// `(pipeline id, pipeline name, status id)`; no status for a pipeline name.
    pub(crate) found: Vec<(u64, String, Option<u64>)>,
}

impl Rules {
    /// Whether some `[[kommo]]` rule names a pipeline or a stage (`to = "Demo booked"`), so
    /// that the rules must be resolved with [`resolve_names`](Self::resolve_names) before
    /// they plan. Until then such a rule never matches (its explain entry says why), and the
    /// runtime's `Bridge` refuses to be built with them.
    pub fn has_unresolved_names(&self) -> bool {
        self.inner.kommo.iter().any(|r| !r.when.names.is_empty())
    }

    /// The rules with every pipeline and stage name replaced by its id, looked up in the
    /// account's pipelines (`GET /api/v4/leads/pipelines`). A name matches exactly, else
    /// ignoring case. A stage name is looked up in the rule's own pipelines when it names
    /// some, else in every pipeline.
    ///
    /// # Errors
    ///
    /// The first name that is unknown, or ambiguous (a pipeline name two pipelines share, a
    /// stage name found in several pipelines of a rule that names no pipeline); the error
    /// names the rule, the key and the candidates.
    ///
    /// ```
    /// use kommo_client::pipelines::Pipeline;
    /// use kommo_loops_bridge::Rules;
    ///
    /// let rules = Rules::from_toml_str("rules.toml", r#"
    ///     [[kommo]]
    ///     name = "demo"
    ///     when = { event = "lead_status", to = "Demo booked" }
    ///     do = [ { send_event = { event = "demo_booked" } } ]
    /// "#).unwrap();
    /// assert!(rules.has_unresolved_names());
    /// let pipelines: Vec<Pipeline> = serde_json::from_str(r#"[
    ///     {"id": 7001, "name": "SaaS sales", "_embedded": {"statuses": [
    ///         {"id": 5000, "name": "Incoming"}, {"id": 5010, "name": "Demo booked"}]}},
    ///     {"id": 7002, "name": "Partners", "_embedded": {"statuses": [
    ///         {"id": 6000, "name": "Incoming"}]}}
    /// ]"#).unwrap();
    /// let resolved = rules.resolve_names(&pipelines).unwrap();
    /// assert!(!resolved.has_unresolved_names());
    ///
    /// let unknown = Rules::from_toml_str("rules.toml", r#"
    ///     [[kommo]]
    ///     name = "incoming"
    ///     when = { event = "lead_status", to = "Incoming" }
    ///     do = [ { send_event = { event = "new" } } ]
    /// "#).unwrap();
    /// let err = unknown.resolve_names(&pipelines).unwrap_err();
    /// assert!(err.to_string().starts_with(
    ///     r#"rules.toml: [[kommo]] "incoming": `when.to`: stage "Incoming" is in 2 pipelines"#
    /// ));
    /// ```
    pub fn resolve_names(&self, pipelines: &[Pipeline]) -> Result<Rules, RulesError> {
        let facts: Vec<PipelineFacts> = pipelines.iter().map(PipelineFacts::from).collect();
        let (rules, outcomes) = resolve(self, &facts);
        match outcomes.into_iter().find_map(Result::err) {
            Some(error) => Err(error),
            None => Ok(rules),
        }
    }
}

/// Resolves every name it can; a rule with a name that fails keeps all its names (so it still
/// never matches). Returns one outcome per name, in file order.
pub(crate) fn resolve(
    rules: &Rules,
    pipelines: &[PipelineFacts],
) -> (Rules, Vec<Result<ResolvedName, RulesError>>) {
    let mut inner = (*rules.inner).clone();
    let mut outcomes = Vec::new();
    for rule in &mut inner.kommo {
        if rule.when.names.is_empty() {
            continue;
        }
        let before = outcomes.len();
        let resolved = resolve_rule(&rules.inner.file, rule, pipelines, &mut outcomes);
        if outcomes[before..].iter().all(Result::is_ok) {
            rule.when = resolved;
        }
    }
    (
        Rules {
            inner: Arc::new(inner),
            merge_upserts: rules.merge_upserts,
        },
        outcomes,
    )
}

fn resolve_rule(
    file: &str,
    rule: &KommoRule,
    pipelines: &[PipelineFacts],
    outcomes: &mut Vec<Result<ResolvedName, RulesError>>,
) -> super::KommoWhen {
    let names = &rule.when.names;
    let error = |key: &str, message: String| RulesError {
        file: file.to_owned(),
        rule: Some(format!("[[kommo]] \"{}\"", rule.name)),
        key: Some(key.to_owned()),
        message,
    };
    let mut when = rule.when.clone();
    when.names = StageNames::default();

    // Pipelines first: they narrow where the stage names are looked up.
    let mut pipeline_ids: Vec<(u64, Option<String>)> = unlabeled(when.pipelines.as_deref());
    for name in &names.pipeline {
        let found = matching(pipelines, name, |p| p.name.as_deref());
        let outcome = match found.as_slice() {
            [] => Err(error(
                "when.pipeline",
                format!("unknown pipeline {name:?} ({})", pipeline_list(pipelines)),
            )),
            [one] => {
                pipeline_ids.push((one.id, Some(name.clone())));
                Ok(named(
                    rule,
                    "when.pipeline",
                    name,
                    vec![(one.id, label(one), None)],
                ))
            }
            several => Err(error(
                "when.pipeline",
                format!(
                    "pipeline name {name:?} is used by {} pipelines ({}): write the id instead",
                    several.len(),
                    several
                        .iter()
                        .map(|p| p.id.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
        outcomes.push(outcome);
    }
    if when.pipelines.is_some() {
        when.pipelines = Some(Ids::labeled(pipeline_ids.clone()));
    }
    let scope: Vec<&PipelineFacts> = match &when.pipelines {
        Some(ids) => pipelines.iter().filter(|p| ids.contains(&p.id)).collect(),
        None => pipelines.iter().collect(),
    };

    for (key, stage_names, ids) in [
        ("when.to", &names.to, &mut when.to),
        ("when.from", &names.from, &mut when.from),
    ] {
        let mut labeled = unlabeled(ids.as_deref());
        for name in stage_names {
            let outcome =
                stage(&scope, name, rule.when.pipelines.is_some()).map_err(|m| error(key, m));
            if let Ok(found) = &outcome {
                let distinct: BTreeSet<u64> = found.iter().filter_map(|f| f.2).collect();
                labeled.extend(distinct.into_iter().map(|id| (id, Some(name.clone()))));
            }
            outcomes.push(outcome.map(|found| named(rule, key, name, found)));
        }
        if ids.is_some() {
            *ids = Some(Ids::labeled(labeled));
        }
    }
    when
}

/// Where a stage name is, within `scope`; several places only when the rule chose its
/// pipelines.
fn stage(
    scope: &[&PipelineFacts],
    name: &str,
    rule_names_pipelines: bool,
) -> Result<Vec<(u64, String, Option<u64>)>, String> {
    let places = |exact: bool| -> Vec<(u64, String, Option<u64>)> {
        scope
            .iter()
            .flat_map(|p| {
                p.statuses
                    .iter()
                    .filter(move |(_, stage)| same(stage, name, exact))
                    .map(move |(id, _)| (p.id, label(p), Some(*id)))
            })
            .collect()
    };
    let mut found = places(true);
    if found.is_empty() {
        found = places(false);
    }
    let distinct: BTreeSet<u64> = found.iter().filter_map(|f| f.2).collect();
    match distinct.len() {
        0 => Err(format!(
            "unknown stage {name:?} ({})",
            stage_list(scope, rule_names_pipelines)
        )),
        1 => Ok(found),
        // The rule listed these pipelines itself: the stage in each of them is meant.
        _ if rule_names_pipelines => Ok(found),
        n => Err(format!(
            "stage {name:?} is in {n} pipelines: {}; add `pipeline = <id or name>` to this \
             rule's `when` to choose",
            found
                .iter()
                .map(|(pipeline, pipeline_name, status)| format!(
                    "{pipeline_name} ({pipeline}, stage {})",
                    status.unwrap_or_default()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn named(
    rule: &KommoRule,
    key: &'static str,
    name: &str,
    found: Vec<(u64, String, Option<u64>)>,
) -> ResolvedName {
    ResolvedName {
        rule: Arc::clone(&rule.name),
        key,
        name: name.to_owned(),
        found,
    }
}

fn unlabeled(ids: Option<&[u64]>) -> Vec<(u64, Option<String>)> {
    ids.unwrap_or_default()
        .iter()
        .map(|&id| (id, None))
        .collect()
}

/// Exactly, or (when `exact` is false) ignoring case and surrounding spaces.
fn same(candidate: &str, name: &str, exact: bool) -> bool {
    if exact {
        candidate == name
    } else {
        candidate.trim().to_lowercase() == name.trim().to_lowercase()
    }
}

fn matching<'a>(
    pipelines: &'a [PipelineFacts],
    name: &str,
    name_of: fn(&PipelineFacts) -> Option<&str>,
) -> Vec<&'a PipelineFacts> {
    let find = |exact: bool| -> Vec<&'a PipelineFacts> {
        pipelines
            .iter()
            .filter(|p| name_of(p).is_some_and(|n| same(n, name, exact)))
            .collect()
    };
    let exact = find(true);
    if exact.is_empty() { find(false) } else { exact }
}

/// `"SaaS sales"` for messages.
fn label(pipeline: &PipelineFacts) -> String {
    format!("{:?}", pipeline.name.as_deref().unwrap_or("(unnamed)"))
}

fn pipeline_list(pipelines: &[PipelineFacts]) -> String {
    if pipelines.is_empty() {
        return "the account has no pipelines".into();
    }
    let listed: Vec<String> = pipelines
        .iter()
        .take(MAX_LISTED)
        .map(|p| format!("{} ({})", label(p), p.id))
        .collect();
    format!("pipelines: {}{}", listed.join(", "), more(pipelines.len()))
}

fn stage_list(scope: &[&PipelineFacts], rule_names_pipelines: bool) -> String {
    if scope.is_empty() {
        return if rule_names_pipelines {
            "the rule's pipelines do not exist".into()
        } else {
            "the account has no pipelines".into()
        };
    }
    let listed: Vec<String> = scope
        .iter()
        .take(MAX_LISTED)
        .map(|pipeline| {
            // Kommo lists the system stages (won, lost) last.
            let mut stages: Vec<(&u64, &String)> = pipeline.statuses.iter().collect();
            stages.sort_by_key(|(id, _)| matches!(**id, STATUS_WON | STATUS_LOST));
            let names: Vec<&str> = stages.iter().map(|(_, name)| name.as_str()).collect();
            format!("{}: {}", label(pipeline), names.join(", "))
        })
        .collect();
    format!("stages: {}{}", listed.join("; "), more(scope.len()))
}

fn more(total: usize) -> String {
    if total > MAX_LISTED {
        format!(", and {} more", total - MAX_LISTED)
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests;
