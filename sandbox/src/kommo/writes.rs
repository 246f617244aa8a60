//! Entity writes: how an add/update body changes leads, contacts and companies, and links.
//!
//! Every item of a batch is checked before anything changes; if any item has a problem the
//! whole request is refused with 400 `validation-errors` (one group per failing item, keyed by
//! its `request_id`) and the store is untouched. A write that changes nothing keeps
//! `updated_at` and causes no webhook. Each applied change is reported as a [`Change`] for the
//! webhook layer.

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId, LeadId, PipelineId, StatusId, TagId, UserId};
use serde_json::{Map, Value};

use super::fields::{self, FieldWrite};
use super::model::{Company, Contact, Lead, LeadContactLink, Link, Tag, ValidationIssue};
use super::request::{ApiError, request_id};
use super::state::State;

/// Something that happened to the store, for the webhook layer. Updates carry the snapshot
/// from before the change.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    LeadAdded(LeadId),
    LeadUpdated(Box<Lead>),
    LeadDeleted(Box<Lead>),
    ContactAdded(ContactId),
    ContactUpdated(Box<Contact>),
    CompanyAdded(CompanyId),
    CompanyUpdated(Box<Company>),
    NoteAdded(kommo_client::ids::NoteId),
    TaskAdded(kommo_client::ids::TaskId),
    TaskUpdated(Box<super::model::Task>),
}

/// The result of one entity in a batch write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Written {
    pub(crate) id: u64,
    pub(crate) request_id: String,
    pub(crate) updated_at: i64,
}

/// Reads typed members of one body item, collecting problems instead of stopping at the first.
pub(crate) struct Reader<'a> {
    object: &'a Map<String, Value>,
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

fn parse_common(state: &State, entity: EntityType, r: &mut Reader<'_>) -> Common {
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

fn apply_common_fields(
    state: &mut State,
    entity: EntityType,
    common: &Common,
    custom: &mut Vec<super::model::FieldValues>,
    tags: &mut Vec<Tag>,
    responsible: &mut UserId,
) {
    fields::apply(custom, &common.fields);
    apply_tags(state, entity, tags, &common.tags);
    if let Some(user) = common.responsible {
        *responsible = user;
    }
}

fn not_found_issue() -> ValidationIssue {
    ValidationIssue::new("NotFound", "id", "Entity not found")
}

// ---- leads ---------------------------------------------------------------------------------

/// A checked lead write.
#[derive(Debug, Clone)]
pub(crate) struct LeadPlan {
    pub(crate) request_id: String,
    id: Option<LeadId>,
    name: Option<String>,
    price: Option<f64>,
    placement: Option<(PipelineId, StatusId)>,
    closed_at: Option<i64>,
    loss_reason_id: Option<Option<u64>>,
    common: Common,
    contacts: Vec<(ContactId, Option<bool>)>,
    company: Option<CompanyId>,
}

/// Checks a lead write. `existing` is the lead being updated (`None` to create); `complex`
/// skips `_embedded.contacts`/`companies`, which carry full entities in a complex add.
pub(crate) fn plan_lead(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
    existing: Option<&Lead>,
    complex: bool,
) -> Result<LeadPlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let name = r.string("name");
    let price = r.float("price");
    let status = r.id("status_id").map(StatusId);
    let pipeline = r.id("pipeline_id").map(PipelineId);
    let closed_at = r.int("closed_at");
    let loss_reason_id = if r.has("loss_reason_id") {
        Some(r.id("loss_reason_id"))
    } else {
        None
    };
    let common = parse_common(state, EntityType::Leads, &mut r);
    let placement = match (pipeline, status) {
        (Some(p), Some(s)) => match state.pipeline(p) {
            None => {
                r.issues.push(ValidationIssue::choice("pipeline_id"));
                None
            }
            Some(pipe) if pipe.find_status(s).is_none() => {
                r.issues.push(ValidationIssue::choice("status_id"));
                None
            }
            Some(_) => Some((p, s)),
        },
        (Some(p), None) => match state.pipeline(p) {
            None => {
                r.issues.push(ValidationIssue::choice("pipeline_id"));
                None
            }
            Some(_) if existing.is_some_and(|l| l.pipeline_id == p) => None,
            Some(pipe) => State::first_status(pipe).map(|s| (p, s)),
        },
        (None, Some(s)) => match state.pipeline_of(s, existing.map(|l| l.pipeline_id)) {
            Some(p) => Some((p, s)),
            None => {
                r.issues.push(ValidationIssue::choice("status_id"));
                None
            }
        },
        (None, None) if existing.is_none() => match state.main_pipeline() {
            Some(main) => State::first_status(main).map(|s| (main.id, s)),
            None => {
                r.issues.push(ValidationIssue::blank("pipeline_id"));
                None
            }
        },
        (None, None) => None,
    };
    let mut contacts = Vec::new();
    let mut company = None;
    // Links in `_embedded` work on create only (as the official library documents).
    if !complex
        && existing.is_none()
        && let Some(embedded) = r.embedded()
    {
        if let Some(value) = embedded.get("contacts").filter(|v| !v.is_null()) {
            match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let id = item.get("id").and_then(Value::as_u64);
                        match id {
                            Some(id) if state.contacts.contains_key(&id) => contacts.push((
                                ContactId(id),
                                item.get("is_main").and_then(Value::as_bool),
                            )),
                            _ => r.issues.push(ValidationIssue::choice(format!(
                                "_embedded.contacts.{i}.id"
                            ))),
                        }
                    }
                }
                _ => r
                    .issues
                    .push(ValidationIssue::invalid_type("_embedded.contacts", "array")),
            }
        }
        if let Some(value) = embedded.get("companies").filter(|v| !v.is_null()) {
            match value {
                Value::Array(items) if items.len() > 1 => r.issues.push(ValidationIssue::new(
                    "Count",
                    "_embedded.companies",
                    "This collection should contain 1 element or less.",
                )),
                Value::Array(items) => {
                    if let Some(item) = items.first() {
                        match item.get("id").and_then(Value::as_u64) {
                            Some(id) if state.companies.contains_key(&id) => {
                                company = Some(CompanyId(id));
                            }
                            _ => r
                                .issues
                                .push(ValidationIssue::choice("_embedded.companies.0.id")),
                        }
                    }
                }
                _ => r.issues.push(ValidationIssue::invalid_type(
                    "_embedded.companies",
                    "array",
                )),
            }
        }
    }
    if !r.issues.is_empty() {
        return Err(r.issues);
    }
    Ok(LeadPlan {
        request_id: request_id(item, index),
        id: existing.map(|l| l.id),
        name,
        price,
        placement,
        closed_at,
        loss_reason_id,
        common,
        contacts,
        company,
    })
}

/// Main-contact rules: the one marked main, else the first.
fn contact_links(contacts: &[(ContactId, Option<bool>)]) -> Vec<LeadContactLink> {
    let mut links: Vec<LeadContactLink> = Vec::new();
    for (id, is_main) in contacts {
        if links.iter().any(|l| l.id == *id) {
            continue;
        }
        links.push(LeadContactLink {
            id: *id,
            is_main: is_main == &Some(true) && !links.iter().any(|l| l.is_main),
        });
    }
    if !links.is_empty() && !links.iter().any(|l| l.is_main) {
        links[0].is_main = true;
    }
    links
}

/// Creates a lead from a checked plan.
pub(crate) fn create_lead(state: &mut State, plan: &LeadPlan, actor: UserId) -> (Written, Change) {
    let id = state.next_lead();
    let now = state.now();
    let (pipeline_id, status_id) = plan.placement.unwrap_or((PipelineId(0), StatusId(0)));
    let mut lead = Lead {
        id: LeadId(id),
        name: plan.name.clone().unwrap_or_else(|| format!("Lead #{id}")),
        price: plan.price.unwrap_or(0.0),
        pipeline_id,
        status_id,
        loss_reason_id: plan.loss_reason_id.flatten(),
        responsible_user_id: actor,
        created_by: plan.common.created_by.unwrap_or(actor),
        updated_by: plan.common.updated_by.unwrap_or(actor),
        created_at: plan.common.created_at.unwrap_or(now),
        updated_at: plan.common.updated_at.unwrap_or(now),
        closed_at: plan.closed_at.or(status_id.is_closed().then_some(now)),
        custom_fields: Vec::new(),
        tags: Vec::new(),
        contacts: contact_links(&plan.contacts),
        company: plan.company,
    };
    let (mut custom, mut tags, mut responsible) =
        (Vec::new(), Vec::new(), lead.responsible_user_id);
    apply_common_fields(
        state,
        EntityType::Leads,
        &plan.common,
        &mut custom,
        &mut tags,
        &mut responsible,
    );
    lead.custom_fields = custom;
    lead.tags = tags;
    lead.responsible_user_id = responsible;
    let written = Written {
        id,
        request_id: plan.request_id.clone(),
        updated_at: lead.updated_at,
    };
    state.leads.insert(id, lead);
    (written, Change::LeadAdded(LeadId(id)))
}

/// Whether two leads differ in anything but the change stamps.
fn lead_content_differs(a: &Lead, b: &Lead) -> bool {
    let strip = |l: &Lead| Lead {
        updated_at: 0,
        updated_by: UserId(0),
        ..l.clone()
    };
    strip(a) != strip(b)
}

/// Stores `new` as the next version of a lead when it differs from the current one.
pub(crate) fn commit_lead(
    state: &mut State,
    mut new: Lead,
    actor: UserId,
    explicit_updated_at: Option<i64>,
    explicit_updated_by: Option<UserId>,
) -> Option<Change> {
    let old = state.leads.get(&new.id.0)?.clone();
    if !lead_content_differs(&old, &new) {
        return None;
    }
    new.updated_at = explicit_updated_at.unwrap_or_else(|| state.bump(old.updated_at));
    new.updated_by = explicit_updated_by.unwrap_or(actor);
    state.leads.insert(new.id.0, new);
    Some(Change::LeadUpdated(Box::new(old)))
}

/// Updates a lead from a checked plan.
pub(crate) fn update_lead(
    state: &mut State,
    plan: &LeadPlan,
    actor: UserId,
) -> (Written, Option<Change>) {
    let id = plan.id.map_or(0, |i| i.0);
    let Some(old) = state.leads.get(&id).cloned() else {
        return (
            Written {
                id,
                request_id: plan.request_id.clone(),
                updated_at: 0,
            },
            None,
        );
    };
    let mut new = old.clone();
    if let Some(name) = &plan.name {
        new.name = name.clone();
    }
    if let Some(price) = plan.price {
        new.price = price;
    }
    if let Some((pipeline, status)) = plan.placement {
        new.pipeline_id = pipeline;
        new.status_id = status;
        if status.is_closed() && !old.status_id.is_closed() {
            new.closed_at = Some(state.now());
        } else if !status.is_closed() {
            new.closed_at = None;
        }
    }
    if let Some(closed_at) = plan.closed_at {
        new.closed_at = Some(closed_at);
    }
    if let Some(reason) = plan.loss_reason_id {
        new.loss_reason_id = reason;
    }
    if let Some(created_by) = plan.common.created_by {
        new.created_by = created_by;
    }
    if let Some(created_at) = plan.common.created_at {
        new.created_at = created_at;
    }
    let mut responsible = new.responsible_user_id;
    apply_common_fields(
        state,
        EntityType::Leads,
        &plan.common,
        &mut new.custom_fields,
        &mut new.tags,
        &mut responsible,
    );
    new.responsible_user_id = responsible;
    let change = commit_lead(
        state,
        new,
        actor,
        plan.common.updated_at,
        plan.common.updated_by,
    );
    let updated_at = state.leads.get(&id).map_or(0, |l| l.updated_at);
    (
        Written {
            id,
            request_id: plan.request_id.clone(),
            updated_at,
        },
        change,
    )
}

// ---- contacts ------------------------------------------------------------------------------

/// A checked contact write.
#[derive(Debug, Clone)]
pub(crate) struct ContactPlan {
    pub(crate) request_id: String,
    id: Option<ContactId>,
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    common: Common,
    company: Option<CompanyId>,
}

/// Checks a contact write (`existing` is the contact being updated).
pub(crate) fn plan_contact(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
    existing: Option<&Contact>,
) -> Result<ContactPlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let name = r.string("name");
    let first_name = r.string("first_name");
    let last_name = r.string("last_name");
    let common = parse_common(state, EntityType::Contacts, &mut r);
    let mut company = None;
    if let Some(embedded) = r.embedded()
        && let Some(value) = embedded.get("companies").filter(|v| !v.is_null())
    {
        match value {
            Value::Array(items) if items.len() > 1 => r.issues.push(ValidationIssue::new(
                "Count",
                "_embedded.companies",
                "This collection should contain 1 element or less.",
            )),
            Value::Array(items) => {
                if let Some(item) = items.first() {
                    match item.get("id").and_then(Value::as_u64) {
                        Some(id) if state.companies.contains_key(&id) => {
                            company = Some(CompanyId(id));
                        }
                        _ => r
                            .issues
                            .push(ValidationIssue::choice("_embedded.companies.0.id")),
                    }
                }
            }
            _ => r.issues.push(ValidationIssue::invalid_type(
                "_embedded.companies",
                "array",
            )),
        }
    }
    if !r.issues.is_empty() {
        return Err(r.issues);
    }
    Ok(ContactPlan {
        request_id: request_id(item, index),
        id: existing.map(|c| c.id),
        name,
        first_name,
        last_name,
        common,
        company,
    })
}

fn joined_name(first: Option<&str>, last: Option<&str>) -> String {
    [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Creates a contact from a checked plan.
pub(crate) fn create_contact(
    state: &mut State,
    plan: &ContactPlan,
    actor: UserId,
) -> (Written, Change) {
    let id = state.next_contact();
    let now = state.now();
    let mut contact = Contact {
        id: ContactId(id),
        name: plan
            .name
            .clone()
            .unwrap_or_else(|| joined_name(plan.first_name.as_deref(), plan.last_name.as_deref())),
        first_name: plan.first_name.clone(),
        last_name: plan.last_name.clone(),
        responsible_user_id: actor,
        created_by: plan.common.created_by.unwrap_or(actor),
        updated_by: plan.common.updated_by.unwrap_or(actor),
        created_at: plan.common.created_at.unwrap_or(now),
        updated_at: plan.common.updated_at.unwrap_or(now),
        custom_fields: Vec::new(),
        tags: Vec::new(),
        company: plan.company,
    };
    let mut responsible = contact.responsible_user_id;
    apply_common_fields(
        state,
        EntityType::Contacts,
        &plan.common,
        &mut contact.custom_fields,
        &mut contact.tags,
        &mut responsible,
    );
    contact.responsible_user_id = responsible;
    let written = Written {
        id,
        request_id: plan.request_id.clone(),
        updated_at: contact.updated_at,
    };
    state.contacts.insert(id, contact);
    (written, Change::ContactAdded(ContactId(id)))
}

/// Stores `new` as the next version of a contact when it differs from the current one.
pub(crate) fn commit_contact(
    state: &mut State,
    mut new: Contact,
    actor: UserId,
    explicit_updated_at: Option<i64>,
    explicit_updated_by: Option<UserId>,
) -> Option<Change> {
    let old = state.contacts.get(&new.id.0)?.clone();
    let strip = |c: &Contact| Contact {
        updated_at: 0,
        updated_by: UserId(0),
        ..c.clone()
    };
    if strip(&old) == strip(&new) {
        return None;
    }
    new.updated_at = explicit_updated_at.unwrap_or_else(|| state.bump(old.updated_at));
    new.updated_by = explicit_updated_by.unwrap_or(actor);
    state.contacts.insert(new.id.0, new);
    Some(Change::ContactUpdated(Box::new(old)))
}

/// Updates a contact from a checked plan.
pub(crate) fn update_contact(
    state: &mut State,
    plan: &ContactPlan,
    actor: UserId,
) -> (Written, Option<Change>) {
    let id = plan.id.map_or(0, |i| i.0);
    let mut new = match state.contacts.get(&id) {
        Some(c) => c.clone(),
        None => {
            return (
                Written {
                    id,
                    request_id: plan.request_id.clone(),
                    updated_at: 0,
                },
                None,
            );
        }
    };
    if let Some(name) = &plan.name {
        new.name = name.clone();
    }
    if plan.first_name.is_some() {
        new.first_name = plan.first_name.clone();
    }
    if plan.last_name.is_some() {
        new.last_name = plan.last_name.clone();
    }
    if plan.company.is_some() {
        new.company = plan.company;
    }
    if let Some(created_by) = plan.common.created_by {
        new.created_by = created_by;
    }
    let mut responsible = new.responsible_user_id;
    apply_common_fields(
        state,
        EntityType::Contacts,
        &plan.common,
        &mut new.custom_fields,
        &mut new.tags,
        &mut responsible,
    );
    new.responsible_user_id = responsible;
    let change = commit_contact(
        state,
        new,
        actor,
        plan.common.updated_at,
        plan.common.updated_by,
    );
    let updated_at = state.contacts.get(&id).map_or(0, |c| c.updated_at);
    (
        Written {
            id,
            request_id: plan.request_id.clone(),
            updated_at,
        },
        change,
    )
}

// ---- companies -----------------------------------------------------------------------------

/// A checked company write.
#[derive(Debug, Clone)]
pub(crate) struct CompanyPlan {
    pub(crate) request_id: String,
    id: Option<CompanyId>,
    name: Option<String>,
    common: Common,
}

/// Checks a company write (`existing` is the company being updated).
pub(crate) fn plan_company(
    state: &State,
    item: &Map<String, Value>,
    index: usize,
    existing: Option<&Company>,
) -> Result<CompanyPlan, Vec<ValidationIssue>> {
    let mut r = Reader::new(item);
    let name = r.string("name");
    let common = parse_common(state, EntityType::Companies, &mut r);
    if !r.issues.is_empty() {
        return Err(r.issues);
    }
    Ok(CompanyPlan {
        request_id: request_id(item, index),
        id: existing.map(|c| c.id),
        name,
        common,
    })
}

/// Creates a company from a checked plan.
pub(crate) fn create_company(
    state: &mut State,
    plan: &CompanyPlan,
    actor: UserId,
) -> (Written, Change) {
    let id = state.next_company();
    let now = state.now();
    let mut company = Company {
        id: CompanyId(id),
        name: plan.name.clone().unwrap_or_default(),
        responsible_user_id: actor,
        created_by: plan.common.created_by.unwrap_or(actor),
        updated_by: plan.common.updated_by.unwrap_or(actor),
        created_at: plan.common.created_at.unwrap_or(now),
        updated_at: plan.common.updated_at.unwrap_or(now),
        custom_fields: Vec::new(),
        tags: Vec::new(),
    };
    let mut responsible = company.responsible_user_id;
    apply_common_fields(
        state,
        EntityType::Companies,
        &plan.common,
        &mut company.custom_fields,
        &mut company.tags,
        &mut responsible,
    );
    company.responsible_user_id = responsible;
    let written = Written {
        id,
        request_id: plan.request_id.clone(),
        updated_at: company.updated_at,
    };
    state.companies.insert(id, company);
    (written, Change::CompanyAdded(CompanyId(id)))
}

/// Updates a company from a checked plan.
pub(crate) fn update_company(
    state: &mut State,
    plan: &CompanyPlan,
    actor: UserId,
) -> (Written, Option<Change>) {
    let id = plan.id.map_or(0, |i| i.0);
    let Some(old) = state.companies.get(&id).cloned() else {
        return (
            Written {
                id,
                request_id: plan.request_id.clone(),
                updated_at: 0,
            },
            None,
        );
    };
    let mut new = old.clone();
    if let Some(name) = &plan.name {
        new.name = name.clone();
    }
    if let Some(created_by) = plan.common.created_by {
        new.created_by = created_by;
    }
    let mut responsible = new.responsible_user_id;
    apply_common_fields(
        state,
        EntityType::Companies,
        &plan.common,
        &mut new.custom_fields,
        &mut new.tags,
        &mut responsible,
    );
    new.responsible_user_id = responsible;
    let strip = |c: &Company| Company {
        updated_at: 0,
        updated_by: UserId(0),
        ..c.clone()
    };
    let mut change = None;
    if strip(&old) != strip(&new) {
        new.updated_at = plan
            .common
            .updated_at
            .unwrap_or_else(|| state.bump(old.updated_at));
        new.updated_by = plan.common.updated_by.unwrap_or(actor);
        state.companies.insert(id, new);
        change = Some(Change::CompanyUpdated(Box::new(old)));
    }
    let updated_at = state.companies.get(&id).map_or(0, |c| c.updated_at);
    (
        Written {
            id,
            request_id: plan.request_id.clone(),
            updated_at,
        },
        change,
    )
}

// ---- batches -------------------------------------------------------------------------------

/// Checks every item first, so a failing batch changes nothing.
fn check_all<P>(
    items: &[Map<String, Value>],
    mut plan: impl FnMut(usize, &Map<String, Value>) -> Result<P, Vec<ValidationIssue>>,
) -> Result<Vec<P>, ApiError> {
    let mut plans = Vec::with_capacity(items.len());
    let mut groups = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match plan(i, item) {
            Ok(p) => plans.push(p),
            Err(issues) => groups.push((request_id(item, i), issues)),
        }
    }
    if groups.is_empty() {
        Ok(plans)
    } else {
        Err(ApiError::validation(groups))
    }
}

/// The entity an update item names by `id`, or the item's issues.
fn target<'a, T>(
    map: &'a std::collections::BTreeMap<u64, T>,
    item: &Map<String, Value>,
) -> Result<&'a T, Vec<ValidationIssue>> {
    match item.get("id") {
        None | Some(Value::Null) => Err(vec![ValidationIssue::blank("id")]),
        Some(v) => match v.as_u64() {
            Some(id) => map.get(&id).ok_or_else(|| vec![not_found_issue()]),
            None => Err(vec![ValidationIssue::invalid_type("id", "int")]),
        },
    }
}

/// `POST /api/v4/leads`.
pub(crate) fn add_leads(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| plan_lead(state, item, i, None, false))?;
    Ok(plans
        .iter()
        .map(|plan| create_lead(state, plan, actor))
        .unzip())
}

/// `PATCH /api/v4/leads`.
pub(crate) fn update_leads(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| {
        let lead = target(&state.leads, item)?;
        plan_lead(state, item, i, Some(lead), false)
    })?;
    Ok(apply_updates(state, &plans, |state, plan| {
        update_lead(state, plan, actor)
    }))
}

/// Applies checked update plans in order; an update that changed nothing has no change.
fn apply_updates<P>(
    state: &mut State,
    plans: &[P],
    mut update: impl FnMut(&mut State, &P) -> (Written, Option<Change>),
) -> (Vec<Written>, Vec<Change>) {
    let mut written = Vec::with_capacity(plans.len());
    let mut changes = Vec::new();
    for plan in plans {
        let (w, change) = update(state, plan);
        written.push(w);
        changes.extend(change);
    }
    (written, changes)
}

/// `POST /api/v4/contacts`.
pub(crate) fn add_contacts(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| plan_contact(state, item, i, None))?;
    Ok(plans
        .iter()
        .map(|plan| create_contact(state, plan, actor))
        .unzip())
}

/// `PATCH /api/v4/contacts`.
pub(crate) fn update_contacts(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| {
        let contact = target(&state.contacts, item)?;
        plan_contact(state, item, i, Some(contact))
    })?;
    Ok(apply_updates(state, &plans, |state, plan| {
        update_contact(state, plan, actor)
    }))
}

/// `POST /api/v4/companies`.
pub(crate) fn add_companies(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| plan_company(state, item, i, None))?;
    Ok(plans
        .iter()
        .map(|plan| create_company(state, plan, actor))
        .unzip())
}

/// `PATCH /api/v4/companies`.
pub(crate) fn update_companies(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<Written>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| {
        let company = target(&state.companies, item)?;
        plan_company(state, item, i, Some(company))
    })?;
    Ok(apply_updates(state, &plans, |state, plan| {
        update_company(state, plan, actor)
    }))
}

// ---- complex add ---------------------------------------------------------------------------

/// The result of one complex lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComplexWritten {
    pub(crate) id: u64,
    pub(crate) contact_id: Option<u64>,
    pub(crate) company_id: Option<u64>,
    pub(crate) request_id: String,
}

enum Part<P> {
    New(P),
    Existing(u64),
}

struct ComplexPlan {
    lead: LeadPlan,
    contact: Option<Part<ContactPlan>>,
    company: Option<Part<CompanyPlan>>,
}

/// One full entity of a complex lead's `_embedded.contacts`/`companies`: a new entity, or an
/// existing one named by `id`.
fn complex_part<P>(
    embedded: Option<&Map<String, Value>>,
    key: &str,
    exists: impl Fn(u64) -> bool,
    plan: impl Fn(&Map<String, Value>) -> Result<P, Vec<ValidationIssue>>,
    issues: &mut Vec<ValidationIssue>,
) -> Option<Part<P>> {
    let value = embedded?.get(key).filter(|v| !v.is_null())?;
    let Value::Array(items) = value else {
        issues.push(ValidationIssue::invalid_type(
            format!("_embedded.{key}"),
            "array",
        ));
        return None;
    };
    if items.len() > 1 {
        issues.push(ValidationIssue::new(
            "Count",
            format!("_embedded.{key}"),
            "This collection should contain 1 element or less.",
        ));
        return None;
    }
    let Value::Object(item) = items.first()? else {
        issues.push(ValidationIssue::invalid_type(
            format!("_embedded.{key}.0"),
            "object",
        ));
        return None;
    };
    if let Some(id) = item.get("id").filter(|v| !v.is_null()) {
        return match id.as_u64() {
            Some(id) if exists(id) => Some(Part::Existing(id)),
            _ => {
                issues.push(ValidationIssue::choice(format!("_embedded.{key}.0.id")));
                None
            }
        };
    }
    match plan(item) {
        Ok(p) => Some(Part::New(p)),
        Err(inner) => {
            issues.extend(inner.into_iter().map(|mut i| {
                i.path = format!("_embedded.{key}.0.{}", i.path);
                i
            }));
            None
        }
    }
}

/// The most leads per complex add.
pub(crate) const COMPLEX_MAX: usize = 50;

/// `POST /api/v4/leads/complex`: each lead with at most one contact and one company, new ones
/// linked together. Duplicate control is not modelled (`merged` is always false).
pub(crate) fn add_complex(
    state: &mut State,
    items: &[Map<String, Value>],
    actor: UserId,
) -> Result<(Vec<ComplexWritten>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| {
        let mut issues = Vec::new();
        let lead = match plan_lead(state, item, i, None, true) {
            Ok(plan) => Some(plan),
            Err(inner) => {
                issues.extend(inner);
                None
            }
        };
        let embedded = item.get("_embedded").and_then(Value::as_object);
        let contact = complex_part(
            embedded,
            "contacts",
            |id| state.contacts.contains_key(&id),
            |c| plan_contact(state, c, i, None),
            &mut issues,
        );
        let company = complex_part(
            embedded,
            "companies",
            |id| state.companies.contains_key(&id),
            |c| plan_company(state, c, i, None),
            &mut issues,
        );
        match lead {
            Some(lead) if issues.is_empty() => Ok(ComplexPlan {
                lead,
                contact,
                company,
            }),
            _ => Err(issues),
        }
    })?;
    let mut written = Vec::new();
    let mut changes = Vec::new();
    for plan in plans {
        let company_id = match &plan.company {
            Some(Part::New(p)) => {
                let (w, change) = create_company(state, p, actor);
                changes.push(change);
                Some(w.id)
            }
            Some(Part::Existing(id)) => Some(*id),
            None => None,
        };
        let contact_id = match &plan.contact {
            Some(Part::New(p)) => {
                let mut p = p.clone();
                // A new contact and company are linked together.
                if p.company.is_none() {
                    p.company = company_id.map(CompanyId);
                }
                let (w, change) = create_contact(state, &p, actor);
                changes.push(change);
                Some(w.id)
            }
            Some(Part::Existing(id)) => Some(*id),
            None => None,
        };
        let mut lead = plan.lead;
        lead.contacts = contact_id
            .map(|id| (ContactId(id), Some(true)))
            .into_iter()
            .collect();
        lead.company = company_id.map(CompanyId);
        let (w, change) = create_lead(state, &lead, actor);
        changes.push(change);
        written.push(ComplexWritten {
            id: w.id,
            contact_id,
            company_id,
            request_id: w.request_id,
        });
    }
    Ok((written, changes))
}

// ---- links ---------------------------------------------------------------------------------

/// The entity types `from` may link to.
fn linkable(from: EntityType, to: EntityType) -> bool {
    matches!(
        (from, to),
        (EntityType::Leads, EntityType::Contacts)
            | (EntityType::Leads, EntityType::Companies)
            | (EntityType::Contacts, EntityType::Companies)
            | (EntityType::Contacts, EntityType::Leads)
            | (EntityType::Companies, EntityType::Contacts)
            | (EntityType::Companies, EntityType::Leads)
    )
}

fn parse_entity_type(name: &str) -> Option<EntityType> {
    match name {
        "leads" => Some(EntityType::Leads),
        "contacts" => Some(EntityType::Contacts),
        "companies" => Some(EntityType::Companies),
        _ => None,
    }
}

/// A checked link item.
struct LinkItem {
    to: EntityType,
    to_id: u64,
    is_main: Option<bool>,
}

/// `POST /api/v4/{entity}/{id}/link` (or `unlink`): the links as applied, and the changes
/// (the entity that holds the reference changes: the lead for lead↔contact and
/// lead↔company links, the contact for contact↔company links).
pub(crate) fn link(
    state: &mut State,
    entity: EntityType,
    id: u64,
    items: &[Map<String, Value>],
    actor: UserId,
    unlink: bool,
) -> Result<(Vec<Link>, Vec<Change>), ApiError> {
    let plans = check_all(items, |i, item| {
        let _ = i;
        let mut issues = Vec::new();
        let to = item
            .get("to_entity_type")
            .and_then(Value::as_str)
            .and_then(parse_entity_type)
            .filter(|to| linkable(entity, *to));
        let to_id = item.get("to_entity_id").and_then(Value::as_u64);
        match (to, to_id) {
            (None, _) => issues.push(ValidationIssue::choice("to_entity_type")),
            (Some(_), None) => issues.push(ValidationIssue::blank("to_entity_id")),
            (Some(to), Some(to_id)) if !state.exists(to, to_id) => {
                issues.push(ValidationIssue::choice("to_entity_id"));
            }
            _ => {}
        }
        let metadata = item.get("metadata").and_then(Value::as_object);
        let is_main = metadata.and_then(|m| {
            m.get("is_main")
                .or_else(|| m.get("main_contact"))
                .and_then(Value::as_bool)
        });
        match (to, to_id) {
            (Some(to), Some(to_id)) if issues.is_empty() => Ok(LinkItem { to, to_id, is_main }),
            _ => Err(issues),
        }
    })?;
    let mut applied = Vec::new();
    let mut leads: Vec<Lead> = Vec::new();
    let mut contacts: Vec<Contact> = Vec::new();
    // Work on copies, committed once per entity at the end.
    let lead_copy = |state: &State, leads: &mut Vec<Lead>, lead_id: u64| -> Option<usize> {
        if let Some(i) = leads.iter().position(|l| l.id.0 == lead_id) {
            return Some(i);
        }
        leads.push(state.leads.get(&lead_id)?.clone());
        Some(leads.len() - 1)
    };
    let contact_copy =
        |state: &State, contacts: &mut Vec<Contact>, contact_id: u64| -> Option<usize> {
            if let Some(i) = contacts.iter().position(|c| c.id.0 == contact_id) {
                return Some(i);
            }
            contacts.push(state.contacts.get(&contact_id)?.clone());
            Some(contacts.len() - 1)
        };
    for item in &plans {
        let (lead_id, contact_id, company_id) = match (entity, item.to) {
            (EntityType::Leads, EntityType::Contacts) => (Some(id), Some(item.to_id), None),
            (EntityType::Contacts, EntityType::Leads) => (Some(item.to_id), Some(id), None),
            (EntityType::Leads, EntityType::Companies) => (Some(id), None, Some(item.to_id)),
            (EntityType::Companies, EntityType::Leads) => (Some(item.to_id), None, Some(id)),
            (EntityType::Contacts, EntityType::Companies) => (None, Some(id), Some(item.to_id)),
            (EntityType::Companies, EntityType::Contacts) => (None, Some(item.to_id), Some(id)),
            _ => continue,
        };
        let mut main_after = None;
        match (lead_id, contact_id, company_id) {
            (Some(lead_id), Some(contact_id), None) => {
                let Some(i) = lead_copy(state, &mut leads, lead_id) else {
                    continue;
                };
                let lead = &mut leads[i];
                let contact = ContactId(contact_id);
                if unlink {
                    lead.contacts.retain(|c| c.id != contact);
                    if !lead.contacts.is_empty() && !lead.contacts.iter().any(|c| c.is_main) {
                        lead.contacts[0].is_main = true;
                    }
                } else {
                    if !lead.contacts.iter().any(|c| c.id == contact) {
                        lead.contacts.push(LeadContactLink {
                            id: contact,
                            is_main: false,
                        });
                    }
                    if item.is_main == Some(true) || !lead.contacts.iter().any(|c| c.is_main) {
                        for c in &mut lead.contacts {
                            c.is_main = c.id == contact;
                        }
                    } else if item.is_main == Some(false) && lead.contacts.len() > 1 {
                        let was_main = lead.contacts.iter().any(|c| c.id == contact && c.is_main);
                        if was_main {
                            for c in &mut lead.contacts {
                                c.is_main = false;
                            }
                            if let Some(other) = lead.contacts.iter_mut().find(|c| c.id != contact)
                            {
                                other.is_main = true;
                            }
                        }
                    }
                    main_after = lead
                        .contacts
                        .iter()
                        .find(|c| c.id == contact)
                        .map(|c| c.is_main);
                }
            }
            (Some(lead_id), None, Some(company_id)) => {
                let Some(i) = lead_copy(state, &mut leads, lead_id) else {
                    continue;
                };
                let lead = &mut leads[i];
                if unlink {
                    if lead.company == Some(CompanyId(company_id)) {
                        lead.company = None;
                    }
                } else {
                    lead.company = Some(CompanyId(company_id));
                }
            }
            (None, Some(contact_id), Some(company_id)) => {
                let Some(i) = contact_copy(state, &mut contacts, contact_id) else {
                    continue;
                };
                let contact = &mut contacts[i];
                if unlink {
                    if contact.company == Some(CompanyId(company_id)) {
                        contact.company = None;
                    }
                } else {
                    contact.company = Some(CompanyId(company_id));
                }
            }
            _ => continue,
        }
        applied.push(Link {
            entity_type: entity,
            entity_id: id,
            to_entity_type: item.to,
            to_entity_id: item.to_id,
            is_main: main_after,
        });
    }
    let mut changes = Vec::new();
    for lead in leads {
        changes.extend(commit_lead(state, lead, actor, None, None));
    }
    for contact in contacts {
        changes.extend(commit_contact(state, contact, actor, None, None));
    }
    Ok((applied, changes))
}

/// Removes a lead (scenario API; the v4 API has no lead deletion).
pub(crate) fn delete_lead(state: &mut State, id: LeadId) -> Option<Change> {
    let lead = state.leads.remove(&id.0)?;
    state
        .tasks
        .retain(|_, t| !(t.entity_type == Some(EntityType::Leads) && t.entity_id == Some(id.0)));
    Some(Change::LeadDeleted(Box::new(lead)))
}

/// Batch items from a JSON array of objects, as the batch endpoints receive them.
#[cfg(test)]
pub(crate) fn test_items(value: Value) -> Vec<Map<String, Value>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::test_items as items;
    use super::*;
    use crate::kommo::config::Config;
    use crate::kommo::seeds::defaults;
    use serde_json::json;

    #[test]
    fn lead_defaults_and_placement() {
        let mut state = State::new(&Config::default());
        let (written, changes) = add_leads(
            &mut state,
            &items(json!([{"name": "A"}, {"status_id": 142, "request_id": "x"}])),
            defaults::API_USER,
        )
        .unwrap();
        assert_eq!(written[1].request_id, "x");
        assert_eq!(changes.len(), 2);
        let a = &state.leads[&written[0].id];
        assert_eq!(a.pipeline_id, defaults::PIPELINE_ID);
        assert_eq!(a.status_id, defaults::INITIAL_CONTACT);
        assert_eq!(a.closed_at, None);
        let b = &state.leads[&written[1].id];
        assert_eq!(b.name, format!("Lead #{}", written[1].id));
        assert!(b.closed_at.is_some());
    }

    #[test]
    fn a_bad_item_refuses_the_whole_batch() {
        let mut state = State::new(&Config::default());
        let error = add_leads(
            &mut state,
            &items(json!([
                {"name": "ok"},
                {"status_id": 1, "responsible_user_id": 5, "request_id": "r1"},
            ])),
            defaults::API_USER,
        )
        .unwrap_err();
        assert!(state.leads.is_empty());
        assert_eq!(error.issues.len(), 1);
        assert_eq!(error.issues[0].0, "r1");
        let paths: Vec<&str> = error.issues[0].1.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, vec!["responsible_user_id", "status_id"]);
    }

    #[test]
    fn tags_are_additive_unless_replaced_and_noop_writes_keep_updated_at() {
        let mut state = State::new(&Config::default());
        let actor = defaults::API_USER;
        let (written, _) = add_contacts(
            &mut state,
            &items(json!([{"name": "Ada", "tags_to_add": [{"name": "a"}, {"name": "b"}]}])),
            actor,
        )
        .unwrap();
        let id = written[0].id;
        let before = state.contacts[&id].updated_at;
        let (_, changes) = update_contacts(
            &mut state,
            &items(json!([{"id": id, "tags_to_add": [{"name": "c"}], "tags_to_delete": [{"name": "A"}]}])),
            actor,
        )
        .unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(state.contacts[&id].tag_names(), vec!["b", "c"]);
        assert!(state.contacts[&id].updated_at > before);
        let stamp = state.contacts[&id].updated_at;
        let (_, changes) = update_contacts(
            &mut state,
            &items(json!([{"id": id, "tags_to_add": [{"name": "b"}]}])),
            actor,
        )
        .unwrap();
        assert!(changes.is_empty());
        assert_eq!(state.contacts[&id].updated_at, stamp);
        update_contacts(
            &mut state,
            &items(
                json!([{"id": id, "_embedded": {"tags": null}, "tags_to_add": [{"name": "z"}]}]),
            ),
            actor,
        )
        .unwrap();
        assert!(state.contacts[&id].tags.is_empty(), "_embedded.tags wins");
        let missing = update_contacts(&mut state, &items(json!([{"id": 1}])), actor).unwrap_err();
        assert_eq!(missing.issues[0].1[0].code, "NotFound");
    }

    #[test]
    fn complex_links_new_entities_and_links_move_the_main_contact() {
        let mut state = State::new(&Config::default());
        let actor = defaults::API_USER;
        let (written, changes) = add_complex(
            &mut state,
            &items(json!([{"name": "Deal", "_embedded": {
                "contacts": [{"first_name": "Ada", "last_name": "L"}],
                "companies": [{"name": "Acme"}]}}])),
            actor,
        )
        .unwrap();
        assert_eq!(changes.len(), 3);
        let w = &written[0];
        let contact = &state.contacts[&w.contact_id.unwrap()];
        assert_eq!(contact.name, "Ada L");
        assert_eq!(contact.company.map(|c| c.0), w.company_id);
        let lead = &state.leads[&w.id];
        assert_eq!(lead.main_contact().map(|c| c.0), w.contact_id);

        let (other, _) = add_contacts(&mut state, &items(json!([{"name": "Bob"}])), actor).unwrap();
        let (links, changes) = link(
            &mut state,
            EntityType::Leads,
            w.id,
            &items(json!([{"to_entity_id": other[0].id, "to_entity_type": "contacts", "metadata": {"is_main": true}}])),
            actor,
            false,
        )
        .unwrap();
        assert_eq!(links[0].is_main, Some(true));
        assert_eq!(changes.len(), 1);
        assert_eq!(
            state.leads[&w.id].main_contact(),
            Some(ContactId(other[0].id))
        );
        link(
            &mut state,
            EntityType::Leads,
            w.id,
            &items(json!([{"to_entity_id": other[0].id, "to_entity_type": "contacts"}])),
            actor,
            true,
        )
        .unwrap();
        assert_eq!(state.leads[&w.id].main_contact().map(|c| c.0), w.contact_id);
        let bad = link(
            &mut state,
            EntityType::Leads,
            w.id,
            &items(json!([{"to_entity_id": 1, "to_entity_type": "catalog_elements"}])),
            actor,
            false,
        )
        .unwrap_err();
        assert_eq!(bad.issues[0].1[0].path, "to_entity_type");
    }
}
