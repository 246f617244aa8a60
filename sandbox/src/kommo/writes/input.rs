//! Reading one item of a write body: typed members with their problems collected, the tag
//! part, the members leads, contacts and companies share, and the single-entity collections
//! of `_embedded`.

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, TagId, UserId};
use serde_json::{Map, Value};

use super::super::entity::CommonMut;
use super::super::fields::{self, FieldWrite};
use super::super::model::{Tag, ValidationIssue};
use super::super::state::State;

/// Reads typed members of one body item, collecting problems instead of stopping at the first.
pub(crate) struct Reader<'a> {
    pub(super) object: &'a Map<String, Value>,
    pub(crate) issues: Vec<ValidationIssue>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(object: &'a Map<String, Value>) -> Self {
        Reader {
            object,
            issues: Vec::new(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.object.contains_key(key)
    }

    pub(crate) fn string(&mut self, key: &str) -> Option<String> {
        match self.get(key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.issues
                    .push(ValidationIssue::invalid_type(key, "string"));
                None
            }
        }
    }

    pub(crate) fn int(&mut self, key: &str) -> Option<i64> {
        let value = self.get(key)?;
        match value.as_i64() {
            Some(n) => Some(n),
            None => {
                self.issues.push(ValidationIssue::invalid_type(key, "int"));
                None
            }
        }
    }

    pub(crate) fn id(&mut self, key: &str) -> Option<u64> {
        let value = self.get(key)?;
        match value.as_u64() {
            Some(n) => Some(n),
            None => {
                self.issues.push(ValidationIssue::invalid_type(key, "int"));
                None
            }
        }
    }

    pub(crate) fn float(&mut self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Value::Number(n) => n.as_f64(),
            _ => {
                self.issues.push(ValidationIssue::invalid_type(key, "int"));
                None
            }
        }
    }

    pub(crate) fn bool(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            _ => {
                self.issues.push(ValidationIssue::invalid_type(key, "bool"));
                None
            }
        }
    }

    /// A user id: an existing user, or `0` (the robot) where `robot` allows it.
    pub(crate) fn user(&mut self, state: &State, key: &str, robot: bool) -> Option<UserId> {
        let id = self.id(key)?;
        if (robot && id == 0) || state.user(UserId(id)).is_some() {
            Some(UserId(id))
        } else {
            self.issues.push(ValidationIssue::choice(key));
            None
        }
    }

    pub(crate) fn embedded(&mut self) -> Option<&'a Map<String, Value>> {
        match self.get("_embedded")? {
            Value::Object(o) => Some(o),
            _ => {
                self.issues
                    .push(ValidationIssue::invalid_type("_embedded", "object"));
                None
            }
        }
    }
}

/// `_embedded.{key}` where Kommo takes at most one entity: the item (`Some(None)` for an
/// empty list), or `None` with the problem recorded.
pub(super) fn at_most_one<'a>(
    value: &'a Value,
    key: &str,
    issues: &mut Vec<ValidationIssue>,
) -> Option<Option<&'a Value>> {
    match value {
        Value::Array(items) if items.len() > 1 => {
            issues.push(ValidationIssue::new(
                "Count",
                format!("_embedded.{key}"),
                "This collection should contain 1 element or less.",
            ));
            None
        }
        Value::Array(items) => Some(items.first()),
        _ => {
            issues.push(ValidationIssue::invalid_type(
                format!("_embedded.{key}"),
                "array",
            ));
            None
        }
    }
}

/// The company a lead or contact write links through `_embedded.companies`: at most one,
/// and it must exist.
pub(super) fn embedded_company(
    state: &State,
    embedded: &Map<String, Value>,
    issues: &mut Vec<ValidationIssue>,
) -> Option<CompanyId> {
    let value = embedded.get("companies").filter(|v| !v.is_null())?;
    let item = at_most_one(value, "companies", issues)??;
    match item.get("id").and_then(Value::as_u64) {
        Some(id) if state.companies.contains_key(&id) => Some(CompanyId(id)),
        _ => {
            issues.push(ValidationIssue::choice("_embedded.companies.0.id"));
            None
        }
    }
}

/// A tag named in a write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TagName {
    Id(TagId),
    Name(String, Option<String>),
}

/// The tag part of a write: `_embedded.tags` replaces the set (and wins), `tags_to_add` /
/// `tags_to_delete` change it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TagsInput {
    pub(crate) replace: Option<Vec<TagName>>,
    pub(crate) add: Vec<TagName>,
    pub(crate) delete: Vec<TagName>,
}

fn parse_tags(
    state: &State,
    entity: EntityType,
    value: &Value,
    path: &str,
    must_exist: bool,
    issues: &mut Vec<ValidationIssue>,
) -> Vec<TagName> {
    let Value::Array(items) = value else {
        issues.push(ValidationIssue::invalid_type(path, "array"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}.{i}");
        match item {
            Value::Object(o) if o.get("id").is_some_and(|v| !v.is_null()) => {
                match o.get("id").and_then(Value::as_u64) {
                    Some(id) if !must_exist || state.tag_by_id(entity, TagId(id)).is_some() => {
                        out.push(TagName::Id(TagId(id)));
                    }
                    Some(_) => issues.push(ValidationIssue::choice(format!("{at}.id"))),
                    None => issues.push(ValidationIssue::invalid_type(format!("{at}.id"), "int")),
                }
            }
            Value::Object(o) => match o.get("name") {
                Some(Value::String(name)) if !name.trim().is_empty() => {
                    let color = o.get("color").and_then(Value::as_str).map(str::to_owned);
                    out.push(TagName::Name(name.trim().to_owned(), color));
                }
                _ => issues.push(ValidationIssue::blank(format!("{at}.name"))),
            },
            // A bare string is read as a name (lenient; the scenario API writes that way).
            Value::String(name) if !name.trim().is_empty() => {
                out.push(TagName::Name(name.trim().to_owned(), None));
            }
            _ => issues.push(ValidationIssue::invalid_type(at, "object")),
        }
    }
    out
}

/// What leads, contacts and companies share in a write.
#[derive(Debug, Clone, Default)]
pub(crate) struct Common {
    pub(crate) responsible: Option<UserId>,
    pub(crate) created_by: Option<UserId>,
    pub(crate) updated_by: Option<UserId>,
    pub(crate) created_at: Option<i64>,
    pub(crate) updated_at: Option<i64>,
    pub(crate) fields: Vec<FieldWrite>,
    pub(crate) tags: TagsInput,
}

pub(super) fn parse_common(state: &State, entity: EntityType, r: &mut Reader<'_>) -> Common {
    let mut common = Common {
        responsible: r.user(state, "responsible_user_id", false),
        created_by: r.user(state, "created_by", true),
        updated_by: r.user(state, "updated_by", true),
        created_at: r.int("created_at"),
        updated_at: r.int("updated_at"),
        ..Common::default()
    };
    if let Some(value) = r.object.get("custom_fields_values") {
        let defs = state.field_defs(entity);
        common.fields = fields::parse_writes(&defs, value, "custom_fields_values", &mut r.issues);
    }
    if let Some(Value::Object(embedded)) = r.object.get("_embedded")
        && let Some(tags) = embedded.get("tags")
    {
        common.tags.replace = Some(match tags {
            Value::Null => Vec::new(),
            other => parse_tags(state, entity, other, "_embedded.tags", true, &mut r.issues),
        });
    }
    for (key, must_exist) in [("tags_to_add", true), ("tags_to_delete", false)] {
        if let Some(value) = r.get(key) {
            let tags = parse_tags(state, entity, value, key, must_exist, &mut r.issues);
            if key == "tags_to_add" {
                common.tags.add = tags;
            } else {
                common.tags.delete = tags;
            }
        }
    }
    common
}

/// Applies the tag part of a write to a tag list; creates tags named but missing.
fn apply_tags(state: &mut State, entity: EntityType, tags: &mut Vec<Tag>, input: &TagsInput) {
    let resolve = |state: &mut State, name: &TagName| -> Option<Tag> {
        match name {
            TagName::Id(id) => state.tag_by_id(entity, *id).cloned(),
            TagName::Name(name, color) => Some(state.tag_by_name(entity, name, color.clone())),
        }
    };
    if let Some(replace) = &input.replace {
        let mut new: Vec<Tag> = Vec::new();
        for name in replace {
            if let Some(tag) = resolve(state, name)
                && !new.iter().any(|t| t.id == tag.id)
            {
                new.push(tag);
            }
        }
        *tags = new;
        return;
    }
    for name in &input.add {
        if let Some(tag) = resolve(state, name)
            && !tags.iter().any(|t| t.id == tag.id)
        {
            tags.push(tag);
        }
    }
    for name in &input.delete {
        tags.retain(|t| match name {
            TagName::Id(id) => t.id != *id,
            TagName::Name(n, _) => !t.name.eq_ignore_ascii_case(n),
        });
    }
}

/// Applies the custom fields, tags and responsible user of a write.
pub(super) fn apply_common(
    state: &mut State,
    entity: EntityType,
    common: &Common,
    target: CommonMut<'_>,
) {
    fields::apply(target.fields, &common.fields);
    apply_tags(state, entity, target.tags, &common.tags);
    if let Some(user) = common.responsible {
        *target.responsible = user;
    }
}
