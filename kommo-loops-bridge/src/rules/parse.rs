//! Turns the parsed TOML/JSON tree into validated rules, with errors that say where.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{
    ContactDefaults, EmailChoice, Identity, KommoAction, KommoRule, LoopsAction, LoopsRule, Rules,
    RulesError, RulesInner, TargetEntity, UpsertSpec,
};
use crate::template::{Entity, Scope, Template};
use crate::value::Val;

/// Where in the file we are, for error messages.
pub(super) struct At<'a> {
    pub(super) file: &'a str,
    pub(super) rule: Option<String>,
}

pub(super) type Res<T> = Result<T, RulesError>;

impl At<'_> {
    pub(super) fn err(&self, key: &str, message: impl Into<String>) -> RulesError {
        RulesError {
            file: self.file.to_owned(),
            rule: self.rule.clone(),
            key: (!key.is_empty()).then(|| key.to_owned()),
            message: message.into(),
        }
    }

    pub(super) fn table<'v>(&self, value: &'v Value, key: &str) -> Res<&'v Map<String, Value>> {
        value
            .as_object()
            .ok_or_else(|| self.err(key, format!("expected a table, got {}", kind(value))))
    }

    pub(super) fn check_keys(
        &self,
        map: &Map<String, Value>,
        allowed: &[&str],
        key: &str,
    ) -> Res<()> {
        for name in map.keys() {
            if !allowed.contains(&name.as_str()) {
                return Err(self.err(
                    &join(key, name),
                    format!("unknown key (expected {})", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    pub(super) fn string<'v>(&self, value: &'v Value, key: &str) -> Res<&'v str> {
        match value {
            Value::String(s) if !s.trim().is_empty() => Ok(s),
            Value::String(_) => Err(self.err(key, "must not be empty")),
            other => Err(self.err(key, format!("expected a string, got {}", kind(other)))),
        }
    }

    fn bool(&self, value: &Value, key: &str) -> Res<bool> {
        value
            .as_bool()
            .ok_or_else(|| self.err(key, format!("expected true or false, got {}", kind(value))))
    }

    fn template(&self, value: &Value, key: &str, scope: Scope) -> Res<Template> {
        match value {
            Value::String(s) => Template::parse(s, scope).map_err(|e| self.err(key, e)),
            // A literal number or boolean is a constant that keeps its type.
            Value::Number(n) => Ok(Template::constant(Val::Number(n.clone()))),
            Value::Bool(b) => Ok(Template::constant(Val::Bool(*b))),
            other => Err(self.err(
                key,
                format!("expected a string template, got {}", kind(other)),
            )),
        }
    }

    fn templates(
        &self,
        value: &Value,
        key: &str,
        scope: Scope,
        check_name: fn(&str) -> Result<(), String>,
    ) -> Res<BTreeMap<Arc<str>, Template>> {
        let map = self.table(value, key)?;
        let mut out = BTreeMap::new();
        for (name, v) in map {
            let k = join(key, name);
            check_name(name).map_err(|e| self.err(&k, e))?;
            out.insert(Arc::from(name.as_str()), self.template(v, &k, scope)?);
        }
        Ok(out)
    }

    fn mailing_lists(&self, value: &Value, key: &str) -> Res<BTreeMap<String, bool>> {
        let map = self.table(value, key)?;
        let mut out = BTreeMap::new();
        for (id, v) in map {
            if id.trim().is_empty() {
                return Err(self.err(key, "a mailing list id must not be empty"));
            }
            out.insert(id.clone(), self.bool(v, &join(key, id))?);
        }
        Ok(out)
    }

    /// One item or a list of items.
    pub(super) fn one_or_many<'v>(&self, value: &'v Value, key: &str) -> Res<Vec<&'v Value>> {
        match value {
            Value::Array(items) if items.is_empty() => {
                Err(self.err(key, "the list must not be empty"))
            }
            Value::Array(items) => Ok(items.iter().collect()),
            other => Ok(vec![other]),
        }
    }

    pub(super) fn ids(&self, value: &Value, key: &str) -> Res<Vec<u64>> {
        self.one_or_many(value, key)?
            .into_iter()
            .map(|v| {
                v.as_u64().filter(|&id| id > 0).ok_or_else(|| {
                    self.err(key, format!("expected a positive id, got {}", show(v)))
                })
            })
            .collect()
    }

    pub(super) fn strings(&self, value: &Value, key: &str) -> Res<Vec<String>> {
        self.one_or_many(value, key)?
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(self.err(key, format!("expected a string, got {}", kind(other)))),
            })
            .collect()
    }
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

pub(super) fn show(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => value.to_string(),
        other => kind(other).to_owned(),
    }
}

/// Contact property names: what Loops reserves or models as its own fields cannot be used.
fn check_property_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("a property name must not be empty".into());
    }
    if loops_client::validate::RESERVED_PROPERTY_NAMES.contains(&name) {
        return Err(format!("`{name}` is a reserved Loops property name"));
    }
    match name {
        "email" | "userId" => Err(format!(
            "`{name}` comes from [identity]; it cannot be set as a property"
        )),
        "mailingLists" => Err("use `mailing_lists` instead".into()),
        "subscribed" => Err(
            "use `subscribed = true|false` in a rule's upsert_contact (never in properties)".into(),
        ),
        "eventName" | "eventProperties" => Err(format!("`{name}` cannot be a contact property")),
        _ => Ok(()),
    }
}

fn check_event_property_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        Err("an event property name must not be empty".into())
    } else {
        Ok(())
    }
}

/// Loops data variable names: letters, numbers, underscores and dashes.
fn check_variable_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(())
    } else {
        Err(format!(
            "`{name}`: data variable names are letters, numbers, `_` and `-`"
        ))
    }
}

pub(super) fn compile(file: &str, root: &Value) -> Res<Rules> {
    let top = At { file, rule: None };
    let root = top.table(root, "")?;
    top.check_keys(root, &["identity", "contact", "kommo", "loops"], "")?;

    let identity = match root.get("identity") {
        Some(v) => identity(
            &At {
                file,
                rule: Some("[identity]".into()),
            },
            v,
        )?,
        None => Identity {
            email: EmailChoice::FirstWork,
            user_id: None,
        },
    };
    let contact = match root.get("contact") {
        Some(v) => contact_defaults(
            &At {
                file,
                rule: Some("[contact]".into()),
            },
            v,
        )?,
        None => ContactDefaults::default(),
    };

    let kommo = match root.get("kommo") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| kommo_rule(file, i, v))
            .collect::<Res<Vec<_>>>()?,
        Some(other) => {
            return Err(top.err(
                "kommo",
                format!("expected [[kommo]] rules (a list), got {}", kind(other)),
            ));
        }
        None => Vec::new(),
    };
    let loops = match root.get("loops") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| loops_rule(file, i, v))
            .collect::<Res<Vec<_>>>()?,
        Some(other) => {
            return Err(top.err(
                "loops",
                format!("expected [[loops]] rules (a list), got {}", kind(other)),
            ));
        }
        None => Vec::new(),
    };
    let mut kommo = kommo;
    for rule in &mut kommo {
        let mut uses = super::Uses::default();
        uses.add(rule.when.conditions.iter().map(|c| &c.reference));
        for action in &rule.actions {
            uses.add(action.templates().flat_map(Template::references));
            if matches!(action, KommoAction::UpsertContact(_)) {
                uses.add(contact.templates().flat_map(Template::references));
            }
        }
        rule.uses = uses;
    }
    if kommo.is_empty() && loops.is_empty() {
        return Err(top.err(
            "",
            "the file has no rules: add at least one [[kommo]] or [[loops]] rule",
        ));
    }
    unique_names(file, "kommo", kommo.iter().map(|r| &*r.name))?;
    unique_names(file, "loops", loops.iter().map(|r| &*r.name))?;

    Ok(Rules {
        inner: Arc::new(RulesInner {
            file: file.to_owned(),
            identity,
            contact,
            kommo,
            loops,
        }),
        merge_upserts: true,
    })
}

fn unique_names<'a>(file: &str, section: &str, names: impl Iterator<Item = &'a str>) -> Res<()> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            let at = At {
                file,
                rule: Some(format!("[[{section}]] \"{name}\"")),
            };
            // Names feed the idempotency keys, so two rules cannot share one.
            return Err(at.err(
                "name",
                "another rule has the same name; rule names must be unique",
            ));
        }
    }
    Ok(())
}

fn identity(at: &At<'_>, value: &Value) -> Res<Identity> {
    let map = at.table(value, "")?;
    at.check_keys(map, &["email", "user_id"], "")?;
    let email = match map.get("email") {
        None => EmailChoice::FirstWork,
        Some(v) => match at.string(v, "email")? {
            "first_work" => EmailChoice::FirstWork,
            "first" => EmailChoice::First,
            other => {
                return Err(at.err(
                    "email",
                    format!(r#"expected "first_work" or "first", got "{other}""#),
                ));
            }
        },
    };
    let user_id = match map.get("user_id") {
        None => None,
        Some(v) => {
            let template = at.template(v, "user_id", Scope::Kommo)?;
            if let Some(bad) = template
                .references()
                .find(|r| !matches!(r.entity(), Entity::Contact | Entity::Account))
            {
                return Err(at.err(
                    "user_id",
                    format!("`{bad}`: a userId must stay the same for a contact, so it may only use contact.* and account.*"),
                ));
            }
            if template.references().next().is_none() {
                return Err(at.err(
                    "user_id",
                    "a userId template must reference the contact (e.g. {contact.id})",
                ));
            }
            Some(template)
        }
    };
    Ok(Identity { email, user_id })
}

fn contact_defaults(at: &At<'_>, value: &Value) -> Res<ContactDefaults> {
    let map = at.table(value, "")?;
    if map.contains_key("subscribed") {
        return Err(at.err(
            "subscribed",
            "the engine never subscribes contacts on its own: set `subscribed` in a rule's upsert_contact",
        ));
    }
    at.check_keys(
        map,
        &["source", "user_group", "properties", "mailing_lists"],
        "",
    )?;
    Ok(ContactDefaults {
        source: map
            .get("source")
            .map(|v| at.template(v, "source", Scope::Kommo))
            .transpose()?,
        user_group: map
            .get("user_group")
            .map(|v| at.template(v, "user_group", Scope::Kommo))
            .transpose()?,
        properties: match map.get("properties") {
            Some(v) => at.templates(v, "properties", Scope::Kommo, check_property_name)?,
            None => BTreeMap::new(),
        },
        mailing_lists: match map.get("mailing_lists") {
            Some(v) => at.mailing_lists(v, "mailing_lists")?,
            None => BTreeMap::new(),
        },
    })
}

fn named<'a, 'v>(
    file: &'a str,
    section: &str,
    index: usize,
    value: &'v Value,
) -> Res<(At<'a>, &'v Map<String, Value>, String)> {
    let unnamed = At {
        file,
        rule: Some(format!("[[{section}]] #{}", index + 1)),
    };
    let map = unnamed.table(value, "")?;
    let name = match map.get("name") {
        Some(v) => unnamed.string(v, "name")?.to_owned(),
        None => {
            return Err(unnamed.err(
                "name",
                "every rule needs a name (it is part of the idempotency keys)",
            ));
        }
    };
    let at = At {
        file,
        rule: Some(format!("[[{section}]] \"{name}\"")),
    };
    at.check_keys(map, &["name", "when", "do"], "")?;
    if !map.contains_key("when") {
        return Err(at.err("when", "missing; say which event the rule reacts to"));
    }
    match map.get("do") {
        None => return Err(at.err("do", "missing; list at least one action")),
        Some(Value::Array(items)) if items.is_empty() => {
            return Err(at.err("do", "the rule does nothing: list at least one action"));
        }
        Some(Value::Array(_)) => {}
        Some(other) => {
            return Err(at.err(
                "do",
                format!("expected a list of actions, got {}", kind(other)),
            ));
        }
    }
    Ok((at, map, name))
}

/// Splits `{ send_event = { ... } }` into its one action name and body.
fn action<'v>(at: &At<'_>, value: &'v Value, key: &str) -> Res<(&'v str, &'v Map<String, Value>)> {
    let map = at.table(value, key)?;
    let mut entries = map.iter();
    let (Some((name, body)), None) = (entries.next(), entries.next()) else {
        return Err(at.err(
            key,
            "each action is a table with exactly one key, e.g. { send_event = { ... } }",
        ));
    };
    let body = at.table(body, &join(key, name))?;
    Ok((name, body))
}

fn kommo_rule(file: &str, index: usize, value: &Value) -> Res<KommoRule> {
    let (at, map, name) = named(file, "kommo", index, value)?;
    let when = super::when::kommo_when(&at, &map["when"])?;
    let mut actions = Vec::new();
    for (i, item) in map["do"].as_array().into_iter().flatten().enumerate() {
        let key = format!("do[{i}]");
        let (kind_name, body) = action(&at, item, &key)?;
        let k = join(&key, kind_name);
        let action = match kind_name {
            "upsert_contact" => {
                at.check_keys(
                    body,
                    &[
                        "source",
                        "user_group",
                        "properties",
                        "mailing_lists",
                        "subscribed",
                    ],
                    &k,
                )?;
                KommoAction::UpsertContact(UpsertSpec {
                    source: body
                        .get("source")
                        .map(|v| at.template(v, &join(&k, "source"), Scope::Kommo))
                        .transpose()?,
                    user_group: body
                        .get("user_group")
                        .map(|v| at.template(v, &join(&k, "user_group"), Scope::Kommo))
                        .transpose()?,
                    properties: match body.get("properties") {
                        Some(v) => at.templates(
                            v,
                            &join(&k, "properties"),
                            Scope::Kommo,
                            check_property_name,
                        )?,
                        None => BTreeMap::new(),
                    },
                    mailing_lists: match body.get("mailing_lists") {
                        Some(v) => at.mailing_lists(v, &join(&k, "mailing_lists"))?,
                        None => BTreeMap::new(),
                    },
                    subscribed: body
                        .get("subscribed")
                        .map(|v| at.bool(v, &join(&k, "subscribed")))
                        .transpose()?,
                })
            }
            "send_event" => {
                at.check_keys(body, &["event", "properties"], &k)?;
                let event = match body.get("event") {
                    Some(v) => Arc::from(at.string(v, &join(&k, "event"))?),
                    None => {
                        return Err(
                            at.err(&join(&k, "event"), "missing: the Loops event name to send")
                        );
                    }
                };
                KommoAction::SendEvent {
                    event,
                    properties: match body.get("properties") {
                        Some(v) => at.templates(
                            v,
                            &join(&k, "properties"),
                            Scope::Kommo,
                            check_event_property_name,
                        )?,
                        None => BTreeMap::new(),
                    },
                }
            }
            "send_transactional" => {
                at.check_keys(body, &["id", "data", "add_to_audience"], &k)?;
                let id = match body.get("id") {
                    Some(v) => Arc::from(at.string(v, &join(&k, "id"))?),
                    None => {
                        return Err(at.err(
                            &join(&k, "id"),
                            "missing: the transactional email id from Loops",
                        ));
                    }
                };
                KommoAction::SendTransactional {
                    id,
                    data: match body.get("data") {
                        Some(v) => {
                            at.templates(v, &join(&k, "data"), Scope::Kommo, check_variable_name)?
                        }
                        None => BTreeMap::new(),
                    },
                    add_to_audience: body
                        .get("add_to_audience")
                        .map(|v| at.bool(v, &join(&k, "add_to_audience")))
                        .transpose()?,
                }
            }
            "kommo_note" | "kommo_task" | "kommo_tags" => {
                return Err(at.err(
                    &k,
                    format!("{kind_name} belongs in [[loops]] rules (it writes to Kommo)"),
                ));
            }
            other => {
                return Err(at.err(
                    &k,
                    format!("unknown action `{other}` (expected upsert_contact, send_event or send_transactional)"),
                ));
            }
        };
        actions.push(action);
    }
    Ok(KommoRule {
        name: name.into(),
        when,
        actions,
        uses: super::Uses::default(),
    })
}

fn loops_rule(file: &str, index: usize, value: &Value) -> Res<LoopsRule> {
    let (at, map, name) = named(file, "loops", index, value)?;
    let when = at.table(&map["when"], "when")?;
    at.check_keys(when, &["event"], "when")?;
    let Some(event) = when.get("event") else {
        return Err(at.err(
            "when.event",
            "missing: one Loops webhook event name or a list",
        ));
    };
    let events = at.strings(event, "when.event")?;
    for event in &events {
        if !loops_client::webhooks::EVENT_NAMES.contains(&event.as_str()) {
            let hint = loops_client::webhooks::EVENT_NAMES
                .iter()
                .find(|known| known.eq_ignore_ascii_case(event))
                .map(|known| format!(" (did you mean \"{known}\"?)"))
                .unwrap_or_default();
            return Err(at.err(
                "when.event",
                format!("unknown Loops event \"{event}\"{hint}"),
            ));
        }
    }
    let mut actions = Vec::new();
    for (i, item) in map["do"].as_array().into_iter().flatten().enumerate() {
        let key = format!("do[{i}]");
        let (kind_name, body) = action(&at, item, &key)?;
        let k = join(&key, kind_name);
        let on = |body: &Map<String, Value>| -> Res<TargetEntity> {
            match body.get("on") {
                None => Ok(TargetEntity::Contact),
                Some(v) => match at.string(v, &join(&k, "on"))? {
                    "contact" => Ok(TargetEntity::Contact),
                    "lead" => Ok(TargetEntity::Lead),
                    other => Err(at.err(
                        &join(&k, "on"),
                        format!(r#"expected "contact" or "lead", got "{other}""#),
                    )),
                },
            }
        };
        let text = |body: &Map<String, Value>| -> Res<Template> {
            match body.get("text") {
                Some(v) => at.template(v, &join(&k, "text"), Scope::Loops),
                None => Err(at.err(&join(&k, "text"), "missing")),
            }
        };
        let action = match kind_name {
            "kommo_note" => {
                at.check_keys(body, &["text", "on"], &k)?;
                LoopsAction::Note {
                    text: text(body)?,
                    on: on(body)?,
                }
            }
            "kommo_task" => {
                at.check_keys(body, &["text", "due_in_hours", "task_type", "on"], &k)?;
                let due_in_hours = match body.get("due_in_hours") {
                    None => 24,
                    Some(v) => v
                        .as_u64()
                        .filter(|h| (1..=8760).contains(h))
                        .and_then(|h| u32::try_from(h).ok())
                        .ok_or_else(|| {
                            at.err(
                                &join(&k, "due_in_hours"),
                                format!("expected 1 to 8760 hours, got {}", show(v)),
                            )
                        })?,
                };
                LoopsAction::Task {
                    text: text(body)?,
                    due_in_hours,
                    task_type: body
                        .get("task_type")
                        .map(|v| at.ids(v, &join(&k, "task_type")))
                        .transpose()?
                        .map(|ids| ids[0]),
                    on: on(body)?,
                }
            }
            "kommo_tags" => {
                at.check_keys(body, &["add", "remove", "on"], &k)?;
                let list = |name: &str| -> Res<Vec<String>> {
                    let Some(v) = body.get(name) else {
                        return Ok(Vec::new());
                    };
                    let tags = at.strings(v, &join(&k, name))?;
                    if tags.iter().any(|t| t.trim().is_empty()) {
                        return Err(at.err(&join(&k, name), "a tag must not be empty"));
                    }
                    Ok(tags)
                };
                let (add, remove) = (list("add")?, list("remove")?);
                if add.is_empty() && remove.is_empty() {
                    return Err(at.err(&k, "give tags to `add` or `remove`"));
                }
                LoopsAction::Tags {
                    add,
                    remove,
                    on: on(body)?,
                }
            }
            "upsert_contact" | "send_event" | "send_transactional" => {
                return Err(at.err(
                    &k,
                    format!("{kind_name} belongs in [[kommo]] rules (it writes to Loops)"),
                ));
            }
            other => {
                return Err(at.err(
                    &k,
                    format!(
                        "unknown action `{other}` (expected kommo_note, kommo_task or kommo_tags)"
                    ),
                ));
            }
        };
        actions.push(action);
    }
    Ok(LoopsRule {
        name: name.into(),
        events,
        actions,
    })
}
