//! `when` of a `[[kommo]]` rule: the events, the pipelines and stages (by id or by name), and
//! the `where` conditions.

use serde_json::Value;

use super::parse::{At, Res, join, show};
use super::{Condition, Ids, KOMMO_EVENTS, KommoWhen, STATUS_LOST, STATUS_WON, StageNames};
use crate::template::{Reference, Scope};

/// Ids and names of one `pipeline`, `to` or `from` key.
type IdsAndNames = (Vec<u64>, Vec<String>);

pub(super) fn kommo_when(at: &At<'_>, value: &Value) -> Res<KommoWhen> {
    let map = at.table(value, "when")?;
    at.check_keys(map, &["event", "pipeline", "to", "from", "where"], "when")?;
    let Some(event) = map.get("event") else {
        return Err(at.err(
            "when.event",
            format!("missing (one of {})", KOMMO_EVENTS.join(", ")),
        ));
    };
    let events = at.strings(event, "when.event")?;
    for event in &events {
        if !KOMMO_EVENTS.contains(&event.as_str()) {
            return Err(at.err(
                "when.event",
                format!(
                    "unknown Kommo event \"{event}\" (expected one of {})",
                    KOMMO_EVENTS.join(", ")
                ),
            ));
        }
    }
    let all_lead = events.iter().all(|e| e.starts_with("lead_"));
    let transitions = events
        .iter()
        .all(|e| e == "lead_status" || e == "lead_updated");
    let mut names = StageNames::default();
    let pipelines = match map.get("pipeline") {
        Some(v) => {
            let (ids, named) = pipelines(at, v, "when.pipeline")?;
            names.pipeline = named;
            Some(Ids::new(ids))
        }
        None => None,
    };
    if pipelines.is_some() && !all_lead {
        return Err(at.err("when.pipeline", "only lead events have a pipeline"));
    }
    let to = match map.get("to") {
        Some(v) => {
            let (ids, named) = statuses(at, v, "when.to")?;
            names.to = named;
            Some(Ids::new(ids))
        }
        None => None,
    };
    let from = match map.get("from") {
        Some(v) => {
            let (ids, named) = statuses(at, v, "when.from")?;
            names.from = named;
            Some(Ids::new(ids))
        }
        None => None,
    };
    if (to.is_some() || from.is_some()) && !transitions {
        let key = if to.is_some() { "when.to" } else { "when.from" };
        return Err(at.err(
            key,
            "to/from apply to lead_status (and lead_updated) events only",
        ));
    }
    let mut conditions = Vec::new();
    if let Some(v) = map.get("where") {
        for (reference, expected) in at.table(v, "when.where")? {
            let key = join("when.where", reference);
            let reference =
                Reference::parse(reference.trim(), Scope::Kommo).map_err(|e| at.err(&key, e))?;
            conditions.push(Condition {
                reference,
                any_of: at.strings(expected, &key)?,
            });
        }
    }
    Ok(KommoWhen {
        events_listed: events.join(", ").into(),
        events,
        pipelines,
        to,
        from,
        conditions,
        names,
    })
}

/// Pipeline ids, and pipeline names to resolve against the account.
fn pipelines(at: &At<'_>, value: &Value, key: &str) -> Res<IdsAndNames> {
    let (mut ids, mut names) = (Vec::new(), Vec::new());
    for v in at.one_or_many(value, key)? {
        match v {
            Value::Number(n) if n.as_u64().is_some_and(|id| id > 0) => {
                ids.push(n.as_u64().unwrap_or_default());
            }
            Value::String(s) if !s.trim().is_empty() => names.push(s.trim().to_owned()),
            other => {
                return Err(at.err(
                    key,
                    format!(
                        "expected a positive id or a pipeline name, got {}",
                        show(other)
                    ),
                ));
            }
        }
    }
    Ok((ids, names))
}

/// Status ids (`"won"` and `"lost"` included), and stage names to resolve against the
/// account.
fn statuses(at: &At<'_>, value: &Value, key: &str) -> Res<IdsAndNames> {
    let (mut ids, mut names) = (Vec::new(), Vec::new());
    for v in at.one_or_many(value, key)? {
        match v {
            Value::String(s) if s.eq_ignore_ascii_case("won") => ids.push(STATUS_WON),
            Value::String(s) if s.eq_ignore_ascii_case("lost") => ids.push(STATUS_LOST),
            // One letter away from a keyword is a typo far more often than a stage name, and
            // a typo resolved as a name would only fail later, against the account.
            Value::String(s) if near_keyword(s).is_some() => {
                let keyword = near_keyword(s).unwrap_or_default();
                return Err(at.err(
                    key,
                    format!(
                        r#"expected a status id, "won" or "lost", got {} (did you mean "{keyword}"?)"#,
                        show(v)
                    ),
                ));
            }
            Value::String(s) if !s.trim().is_empty() => names.push(s.trim().to_owned()),
            Value::Number(n) if n.as_u64().is_some_and(|id| id > 0) => {
                ids.push(n.as_u64().unwrap_or_default());
            }
            other => {
                return Err(at.err(
                    key,
                    format!(
                        r#"expected a status id, "won", "lost" or a stage name, got {}"#,
                        if matches!(other, Value::String(_)) {
                            "an empty name".to_owned()
                        } else {
                            show(other)
                        }
                    ),
                ));
            }
        }
    }
    Ok((ids, names))
}

/// `won` or `lost` when `text` is within one edit of it (ignoring case) without being it.
fn near_keyword(text: &str) -> Option<&'static str> {
    let text = text.to_lowercase();
    ["won", "lost"]
        .into_iter()
        .find(|keyword| text != *keyword && within_one_edit(&text, keyword))
}

fn within_one_edit(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    let prefix = short.iter().zip(&long).take_while(|(x, y)| x == y).count();
    if prefix == long.len() {
        return true;
    }
    // Past the common prefix, one character differs (same length) or is extra (the longer).
    let rest = if short.len() == long.len() {
        prefix + 1
    } else {
        prefix
    };
    short[rest.min(short.len())..] == long[prefix + 1..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_keywords() {
        for (text, near) in [
            ("wonn", Some("won")),
            ("Won", None),
            ("WONN", Some("won")),
            ("wn", Some("won")),
            ("lots", None),
            ("Lost", None),
            ("lst", Some("lost")),
            ("won", None),
            ("Trial", None),
            ("Demo booked", None),
            ("", None),
            ("w", None),
        ] {
            assert_eq!(near_keyword(text), near, "{text}");
        }
    }
}
