//! The scenario API: what a person does in Kommo's UI, as Rust calls. Each action changes the
//! store exactly as the matching API write would (same checks, same rules) and queues the
//! webhooks Kommo sends for it, made as the configured "UI user" unless the action names
//! another (`by`). The `seed_*` variants change the store without any webhook.
//!
//! The input structs have public fields and `Default`, so both struct literals
//! (`NewContact { name: "Ada".into(), ..Default::default() }`) and builder calls work; they
//! are also what the inspection API's seeding routes accept as JSON.

use kommo_client::common::EntityType;
use kommo_client::ids::{
    CompanyId, ContactId, CustomFieldId, EnumId, LeadId, NoteId, PipelineId, StatusId, TaskId,
    TaskTypeId, UserId,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::model::{Company, Contact, Lead, Task, ValidationIssue};
use super::request::ApiError;
use super::state::State;
use super::writes::{self, Change};
use super::{Inner, Sandbox, activity};

/// Why a scenario action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The API would have answered 400 with these `validation-errors` (unknown status,
    /// unknown custom field or option, ...).
    Invalid(Vec<ValidationIssue>),
    /// The entity does not exist.
    NotFound {
        /// `lead`, `contact`, `company`, `task`, `webhook delivery`, ...
        entity: &'static str,
        /// The id asked for.
        id: u64,
    },
    /// Refused for another reason (the API's `detail`).
    Refused(String),
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScenarioError::Invalid(issues) => {
                f.write_str("validation failed:")?;
                for issue in issues {
                    write!(f, " {} at `{}` ({});", issue.code, issue.path, issue.detail)?;
                }
                Ok(())
            }
            ScenarioError::NotFound { entity, id } => write!(f, "no {entity} with id {id}"),
            ScenarioError::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

impl std::error::Error for ScenarioError {}

impl From<ApiError> for ScenarioError {
    fn from(error: ApiError) -> Self {
        if error.issues.is_empty() {
            ScenarioError::Refused(error.detail())
        } else {
            ScenarioError::Invalid(error.issues.into_iter().flat_map(|(_, i)| i).collect())
        }
    }
}

/// A custom field, by id or by code (`"PLAN"`, `"EMAIL"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldKey {
    /// By id.
    Id(CustomFieldId),
    /// By code (case-insensitive).
    Code(String),
}

impl From<CustomFieldId> for FieldKey {
    fn from(id: CustomFieldId) -> Self {
        FieldKey::Id(id)
    }
}

impl From<u64> for FieldKey {
    fn from(id: u64) -> Self {
        FieldKey::Id(CustomFieldId(id))
    }
}

impl From<&str> for FieldKey {
    fn from(code: &str) -> Self {
        FieldKey::Code(code.to_owned())
    }
}

impl From<String> for FieldKey {
    fn from(code: String) -> Self {
        FieldKey::Code(code)
    }
}

/// The values to give one custom field. Each value is a scalar (`"pro"` for a select
/// option by label, `14` for a number, `true` for a checkbox, unix seconds or an RFC 3339
/// string for a date) or an object in the API's shape (`{"enum_id": 912341}`,
/// `{"value": "a@b.co", "enum_code": "PRIV"}`). No values clears the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSet {
    /// The field.
    pub field: FieldKey,
    /// The values (empty: clear).
    #[serde(default)]
    pub values: Vec<Value>,
}

impl FieldSet {
    /// One value.
    pub fn new(field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
        FieldSet {
            field: field.into(),
            values: vec![value.into()],
        }
    }

    /// A select option by id.
    pub fn option(field: impl Into<FieldKey>, option: EnumId) -> Self {
        FieldSet {
            field: field.into(),
            values: vec![json!({ "enum_id": option })],
        }
    }

    /// Clears the field.
    pub fn clear(field: impl Into<FieldKey>) -> Self {
        FieldSet {
            field: field.into(),
            values: Vec::new(),
        }
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        match &self.field {
            FieldKey::Id(id) => object.insert("field_id".into(), json!(id)),
            FieldKey::Code(code) => object.insert("field_code".into(), json!(code)),
        };
        let values: Value = if self.values.is_empty() {
            Value::Null
        } else {
            self.values
                .iter()
                .map(|v| match v {
                    Value::Object(_) => v.clone(),
                    scalar => json!({ "value": scalar }),
                })
                .collect()
        };
        object.insert("values".into(), values);
        Value::Object(object)
    }
}

fn multitext(code: &str, values: &[(String, String)]) -> Value {
    let values: Value = if values.is_empty() {
        Value::Null
    } else {
        values
            .iter()
            .map(|(value, kind)| json!({ "value": value, "enum_code": kind }))
            .collect()
    };
    json!({ "field_code": code, "values": values })
}

fn tag_list(names: &[String]) -> Value {
    names.iter().map(|n| json!({ "name": n })).collect()
}

/// Fills the members every entity body shares.
fn common_body(
    body: &mut Map<String, Value>,
    responsible: Option<UserId>,
    fields: Vec<Value>,
    add_tags: &[String],
    remove_tags: &[String],
) {
    if let Some(user) = responsible {
        body.insert("responsible_user_id".into(), json!(user));
    }
    if !fields.is_empty() {
        body.insert("custom_fields_values".into(), Value::Array(fields));
    }
    if !add_tags.is_empty() {
        body.insert("tags_to_add".into(), tag_list(add_tags));
    }
    if !remove_tags.is_empty() {
        body.insert("tags_to_delete".into(), tag_list(remove_tags));
    }
}

/// A contact to create.
///
/// ```
/// use kommo_loops_sandbox::kommo::NewContact;
/// let ada = NewContact::new("Ada Lovelace").email("ada@example.com").phone("+15550100");
/// let same = NewContact {
///     name: "Ada Lovelace".into(),
///     emails: vec![("ada@example.com".into(), "WORK".into())],
///     phones: vec![("+15550100".into(), "WORK".into())],
///     ..Default::default()
/// };
/// assert_eq!(ada, same);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewContact {
    /// The full name (joined from first and last names when empty).
    pub name: String,
    /// The first name.
    pub first_name: Option<String>,
    /// The last name.
    pub last_name: Option<String>,
    /// `EMAIL` values with their kinds (`WORK`, `PRIV`, `OTHER`).
    pub emails: Vec<(String, String)>,
    /// `PHONE` values with their kinds (`WORK`, `WORKDD`, `MOB`, `FAX`, `HOME`, `OTHER`).
    pub phones: Vec<(String, String)>,
    /// A company to link.
    pub company: Option<CompanyId>,
    /// The responsible user (default: who makes the change).
    pub responsible_user_id: Option<UserId>,
    /// Other custom fields.
    pub fields: Vec<FieldSet>,
    /// Tags, by name (created when missing).
    pub tags: Vec<String>,
    /// Who makes the change (default: the configured UI user).
    pub by: Option<UserId>,
}

impl NewContact {
    /// A contact with a name.
    pub fn new(name: impl Into<String>) -> Self {
        NewContact {
            name: name.into(),
            ..NewContact::default()
        }
    }

    /// Adds a work email.
    pub fn email(self, email: impl Into<String>) -> Self {
        self.email_kind(email, "WORK")
    }

    /// Adds an email of a kind (`WORK`, `PRIV`, `OTHER`).
    pub fn email_kind(mut self, email: impl Into<String>, kind: impl Into<String>) -> Self {
        self.emails.push((email.into(), kind.into()));
        self
    }

    /// Adds a work phone.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phones.push((phone.into(), "WORK".into()));
        self
    }

    /// Links a company.
    pub fn company(mut self, company: CompanyId) -> Self {
        self.company = Some(company);
        self
    }

    /// Sets a custom field.
    pub fn field(mut self, field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
        self.fields.push(FieldSet::new(field, value));
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Makes the change as this user.
    pub fn by(mut self, user: UserId) -> Self {
        self.by = Some(user);
        self
    }

    fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if !self.name.is_empty() {
            body.insert("name".into(), json!(self.name));
        }
        if let Some(first) = &self.first_name {
            body.insert("first_name".into(), json!(first));
        }
        if let Some(last) = &self.last_name {
            body.insert("last_name".into(), json!(last));
        }
        let mut fields: Vec<Value> = self.fields.iter().map(FieldSet::to_json).collect();
        if !self.emails.is_empty() {
            fields.push(multitext("EMAIL", &self.emails));
        }
        if !self.phones.is_empty() {
            fields.push(multitext("PHONE", &self.phones));
        }
        common_body(&mut body, self.responsible_user_id, fields, &self.tags, &[]);
        if let Some(company) = self.company {
            body.insert(
                "_embedded".into(),
                json!({ "companies": [{ "id": company }] }),
            );
        }
        body
    }
}

/// A company to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewCompany {
    /// The name.
    pub name: String,
    /// `EMAIL` values with their kinds.
    pub emails: Vec<(String, String)>,
    /// `PHONE` values with their kinds.
    pub phones: Vec<(String, String)>,
    /// The responsible user (default: who makes the change).
    pub responsible_user_id: Option<UserId>,
    /// Other custom fields (`WEB`, `ADDRESS`, ...).
    pub fields: Vec<FieldSet>,
    /// Tags, by name.
    pub tags: Vec<String>,
    /// Who makes the change (default: the configured UI user).
    pub by: Option<UserId>,
}

impl NewCompany {
    /// A company with a name.
    pub fn new(name: impl Into<String>) -> Self {
        NewCompany {
            name: name.into(),
            ..NewCompany::default()
        }
    }

    /// Adds a work email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.emails.push((email.into(), "WORK".into()));
        self
    }

    /// Sets a custom field.
    pub fn field(mut self, field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
        self.fields.push(FieldSet::new(field, value));
        self
    }

    /// Makes the change as this user.
    pub fn by(mut self, user: UserId) -> Self {
        self.by = Some(user);
        self
    }

    fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("name".into(), json!(self.name));
        let mut fields: Vec<Value> = self.fields.iter().map(FieldSet::to_json).collect();
        if !self.emails.is_empty() {
            fields.push(multitext("EMAIL", &self.emails));
        }
        if !self.phones.is_empty() {
            fields.push(multitext("PHONE", &self.phones));
        }
        common_body(&mut body, self.responsible_user_id, fields, &self.tags, &[]);
        body
    }
}

/// A lead to create.
///
/// ```
/// use kommo_loops_sandbox::kommo::{NewLead, saas_onboarding};
/// use kommo_client::ids::ContactId;
/// let lead = NewLead::new("Ada's trial")
///     .status(saas_onboarding::PIPELINE_ID, saas_onboarding::TRIAL)
///     .contact(ContactId(30_000_001))
///     .field("PLAN", "pro")
///     .field(saas_onboarding::TRIAL_DAYS_FIELD, 14)
///     .price(49.0);
/// assert_eq!(lead.fields.len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewLead {
    /// The name (`Lead #<id>` when empty).
    pub name: String,
    /// The pipeline (default: the main one, or the one holding `status_id`).
    pub pipeline_id: Option<PipelineId>,
    /// The status (default: the pipeline's first stage after "incoming").
    pub status_id: Option<StatusId>,
    /// The sale value.
    pub price: Option<f64>,
    /// Contacts to link; the first is the main contact.
    pub contacts: Vec<ContactId>,
    /// A company to link.
    pub company: Option<CompanyId>,
    /// The responsible user (default: who makes the change).
    pub responsible_user_id: Option<UserId>,
    /// Custom fields, by id or code.
    pub fields: Vec<FieldSet>,
    /// Tags, by name.
    pub tags: Vec<String>,
    /// Who makes the change (default: the configured UI user).
    pub by: Option<UserId>,
}

impl NewLead {
    /// A lead with a name.
    pub fn new(name: impl Into<String>) -> Self {
        NewLead {
            name: name.into(),
            ..NewLead::default()
        }
    }

    /// Places it in `status` of `pipeline`.
    pub fn status(mut self, pipeline: PipelineId, status: StatusId) -> Self {
        self.pipeline_id = Some(pipeline);
        self.status_id = Some(status);
        self
    }

    /// Sets the price.
    pub fn price(mut self, price: f64) -> Self {
        self.price = Some(price);
        self
    }

    /// Links a contact (the first one linked is the main contact).
    pub fn contact(mut self, contact: ContactId) -> Self {
        self.contacts.push(contact);
        self
    }

    /// Links a company.
    pub fn company(mut self, company: CompanyId) -> Self {
        self.company = Some(company);
        self
    }

    /// Sets a custom field (`"PLAN"` and `"pro"`, or an id and a number).
    pub fn field(mut self, field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
        self.fields.push(FieldSet::new(field, value));
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }

    /// Sets the responsible user.
    pub fn responsible(mut self, user: UserId) -> Self {
        self.responsible_user_id = Some(user);
        self
    }

    /// Makes the change as this user.
    pub fn by(mut self, user: UserId) -> Self {
        self.by = Some(user);
        self
    }

    fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if !self.name.is_empty() {
            body.insert("name".into(), json!(self.name));
        }
        if let Some(pipeline) = self.pipeline_id {
            body.insert("pipeline_id".into(), json!(pipeline));
        }
        if let Some(status) = self.status_id {
            body.insert("status_id".into(), json!(status));
        }
        if let Some(price) = self.price {
            body.insert("price".into(), json!(price));
        }
        let fields = self.fields.iter().map(FieldSet::to_json).collect();
        common_body(&mut body, self.responsible_user_id, fields, &self.tags, &[]);
        let mut embedded = Map::new();
        if !self.contacts.is_empty() {
            let contacts: Vec<Value> = self
                .contacts
                .iter()
                .enumerate()
                .map(|(i, id)| json!({ "id": id, "is_main": i == 0 }))
                .collect();
            embedded.insert("contacts".into(), Value::Array(contacts));
        }
        if let Some(company) = self.company {
            embedded.insert("companies".into(), json!([{ "id": company }]));
        }
        if !embedded.is_empty() {
            body.insert("_embedded".into(), Value::Object(embedded));
        }
        body
    }
}

/// Changes to a contact; unset members stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new first name.
    pub first_name: Option<String>,
    /// A new last name.
    pub last_name: Option<String>,
    /// Replaces every `EMAIL` value (an empty list clears them).
    pub emails: Option<Vec<(String, String)>>,
    /// Replaces every `PHONE` value.
    pub phones: Option<Vec<(String, String)>>,
    /// Links this company (replacing any other).
    pub company: Option<CompanyId>,
    /// A new responsible user.
    pub responsible_user_id: Option<UserId>,
    /// Custom fields to set.
    pub fields: Vec<FieldSet>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Who makes the change (default: the configured UI user).
    pub by: Option<UserId>,
}

impl ContactUpdate {
    /// No change yet.
    pub fn new() -> Self {
        ContactUpdate::default()
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Replaces the emails with one work email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.emails = Some(vec![(email.into(), "WORK".into())]);
        self
    }

    /// Replaces the phones with one work phone.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.phones = Some(vec![(phone.into(), "WORK".into())]);
        self
    }

    /// Links a company.
    pub fn company(mut self, company: CompanyId) -> Self {
        self.company = Some(company);
        self
    }

    /// Sets a custom field.
    pub fn field(mut self, field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
        self.fields.push(FieldSet::new(field, value));
        self
    }

    /// Adds a tag.
    pub fn add_tag(mut self, tag: impl Into<String>) -> Self {
        self.add_tags.push(tag.into());
        self
    }

    /// Removes a tag.
    pub fn remove_tag(mut self, tag: impl Into<String>) -> Self {
        self.remove_tags.push(tag.into());
        self
    }

    /// Sets the responsible user.
    pub fn responsible(mut self, user: UserId) -> Self {
        self.responsible_user_id = Some(user);
        self
    }

    /// Makes the change as this user.
    pub fn by(mut self, user: UserId) -> Self {
        self.by = Some(user);
        self
    }

    fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        for (key, value) in [
            ("name", &self.name),
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), json!(value));
            }
        }
        let mut fields: Vec<Value> = self.fields.iter().map(FieldSet::to_json).collect();
        if let Some(emails) = &self.emails {
            fields.push(multitext("EMAIL", emails));
        }
        if let Some(phones) = &self.phones {
            fields.push(multitext("PHONE", phones));
        }
        common_body(
            &mut body,
            self.responsible_user_id,
            fields,
            &self.add_tags,
            &self.remove_tags,
        );
        if let Some(company) = self.company {
            body.insert(
                "_embedded".into(),
                json!({ "companies": [{ "id": company }] }),
            );
        }
        body
    }
}

/// Changes to a company; unset members stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompanyUpdate {
    /// A new name.
    pub name: Option<String>,
    /// Replaces every `EMAIL` value.
    pub emails: Option<Vec<(String, String)>>,
    /// Replaces every `PHONE` value.
    pub phones: Option<Vec<(String, String)>>,
    /// A new responsible user.
    pub responsible_user_id: Option<UserId>,
    /// Custom fields to set.
    pub fields: Vec<FieldSet>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Who makes the change (default: the configured UI user).
    pub by: Option<UserId>,
}

impl CompanyUpdate {
    /// No change yet.
    pub fn new() -> Self {
        CompanyUpdate::default()
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets a custom field.
    pub fn field(mut self, field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
        self.fields.push(FieldSet::new(field, value));
        self
    }

    /// Makes the change as this user.
    pub fn by(mut self, user: UserId) -> Self {
        self.by = Some(user);
        self
    }

    fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if let Some(name) = &self.name {
            body.insert("name".into(), json!(name));
        }
        let mut fields: Vec<Value> = self.fields.iter().map(FieldSet::to_json).collect();
        if let Some(emails) = &self.emails {
            fields.push(multitext("EMAIL", emails));
        }
        if let Some(phones) = &self.phones {
            fields.push(multitext("PHONE", phones));
        }
        common_body(
            &mut body,
            self.responsible_user_id,
            fields,
            &self.add_tags,
            &self.remove_tags,
        );
        body
    }
}

/// Changes to a lead; unset members stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LeadUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new price.
    pub price: Option<f64>,
    /// A new pipeline (with `status_id`, or its first stage).
    pub pipeline_id: Option<PipelineId>,
    /// A new status (in the current pipeline when it has it).
    pub status_id: Option<StatusId>,
    /// A new responsible user.
    pub responsible_user_id: Option<UserId>,
    /// A loss reason (with status 143).
    pub loss_reason_id: Option<u64>,
    /// Custom fields to set.
    pub fields: Vec<FieldSet>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Who makes the change (default: the configured UI user).
    pub by: Option<UserId>,
}

impl LeadUpdate {
    /// No change yet.
    pub fn new() -> Self {
        LeadUpdate::default()
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the price.
    pub fn price(mut self, price: f64) -> Self {
        self.price = Some(price);
        self
    }

    /// Moves the lead.
    pub fn status(mut self, pipeline: PipelineId, status: StatusId) -> Self {
        self.pipeline_id = Some(pipeline);
        self.status_id = Some(status);
        self
    }

    /// Sets a custom field.
    pub fn field(mut self, field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
        self.fields.push(FieldSet::new(field, value));
        self
    }

    /// Adds a tag.
    pub fn add_tag(mut self, tag: impl Into<String>) -> Self {
        self.add_tags.push(tag.into());
        self
    }

    /// Removes a tag.
    pub fn remove_tag(mut self, tag: impl Into<String>) -> Self {
        self.remove_tags.push(tag.into());
        self
    }

    /// Sets the responsible user.
    pub fn responsible(mut self, user: UserId) -> Self {
        self.responsible_user_id = Some(user);
        self
    }

    /// Makes the change as this user.
    pub fn by(mut self, user: UserId) -> Self {
        self.by = Some(user);
        self
    }

    fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if let Some(name) = &self.name {
            body.insert("name".into(), json!(name));
        }
        if let Some(price) = self.price {
            body.insert("price".into(), json!(price));
        }
        if let Some(pipeline) = self.pipeline_id {
            body.insert("pipeline_id".into(), json!(pipeline));
        }
        if let Some(status) = self.status_id {
            body.insert("status_id".into(), json!(status));
        }
        if let Some(reason) = self.loss_reason_id {
            body.insert("loss_reason_id".into(), json!(reason));
        }
        let fields = self.fields.iter().map(FieldSet::to_json).collect();
        common_body(
            &mut body,
            self.responsible_user_id,
            fields,
            &self.add_tags,
            &self.remove_tags,
        );
        body
    }
}

/// A task to create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewTask {
    /// The text.
    pub text: String,
    /// Due time, unix seconds.
    pub complete_till: i64,
    /// The entity it is attached to.
    pub entity: Option<(EntityType, u64)>,
    /// The task type (default 1, follow-up).
    pub task_type_id: Option<TaskTypeId>,
    /// The responsible user (default: who makes the change).
    pub responsible_user_id: Option<UserId>,
    /// Who makes the change (default: the configured UI user).
    pub by: Option<UserId>,
}

impl NewTask {
    /// A task with its text and due time.
    pub fn new(text: impl Into<String>, complete_till: i64) -> Self {
        NewTask {
            text: text.into(),
            complete_till,
            ..NewTask::default()
        }
    }

    /// Attaches it to a lead.
    pub fn for_lead(mut self, lead: LeadId) -> Self {
        self.entity = Some((EntityType::Leads, lead.0));
        self
    }

    /// Attaches it to a contact.
    pub fn for_contact(mut self, contact: ContactId) -> Self {
        self.entity = Some((EntityType::Contacts, contact.0));
        self
    }

    fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("text".into(), json!(self.text));
        body.insert("complete_till".into(), json!(self.complete_till));
        if let Some((entity, id)) = self.entity {
            body.insert("entity_type".into(), json!(entity.as_str()));
            body.insert("entity_id".into(), json!(id));
        }
        if let Some(task_type) = self.task_type_id {
            body.insert("task_type_id".into(), json!(task_type));
        }
        if let Some(user) = self.responsible_user_id {
            body.insert("responsible_user_id".into(), json!(user));
        }
        body
    }
}

impl Inner {
    fn actor(&self, by: Option<UserId>) -> UserId {
        by.unwrap_or(self.config.ui_user)
    }

    /// Runs a change on the store and, when `emit`, queues its webhooks.
    fn act<T>(
        &self,
        emit: bool,
        f: impl FnOnce(&mut State) -> Result<(T, Vec<Change>), ScenarioError>,
    ) -> Result<T, ScenarioError> {
        let mut state = self.lock();
        let (value, changes) = f(&mut state)?;
        if emit {
            self.commit(&mut state, &changes);
        }
        Ok(value)
    }

    pub(crate) fn create_contact(
        &self,
        new: &NewContact,
        emit: bool,
    ) -> Result<ContactId, ScenarioError> {
        let actor = self.actor(new.by);
        self.act(emit, |state| {
            let (written, changes) = writes::add_contacts(state, &[new.to_body()], actor)?;
            Ok((ContactId(written[0].id), changes))
        })
    }

    pub(crate) fn create_company(
        &self,
        new: &NewCompany,
        emit: bool,
    ) -> Result<CompanyId, ScenarioError> {
        let actor = self.actor(new.by);
        self.act(emit, |state| {
            let (written, changes) = writes::add_companies(state, &[new.to_body()], actor)?;
            Ok((CompanyId(written[0].id), changes))
        })
    }

    pub(crate) fn create_lead(&self, new: &NewLead, emit: bool) -> Result<LeadId, ScenarioError> {
        let actor = self.actor(new.by);
        self.act(emit, |state| {
            let (written, changes) = writes::add_leads(state, &[new.to_body()], actor)?;
            Ok((LeadId(written[0].id), changes))
        })
    }

    fn update_lead_with(
        &self,
        id: LeadId,
        body: &Map<String, Value>,
        by: Option<UserId>,
    ) -> Result<Lead, ScenarioError> {
        let actor = self.actor(by);
        self.act(true, |state| {
            let lead = state
                .leads
                .get(&id.0)
                .cloned()
                .ok_or(ScenarioError::NotFound {
                    entity: "lead",
                    id: id.0,
                })?;
            let plan = writes::plan_lead(state, body, 0, Some(&lead), false)
                .map_err(ScenarioError::Invalid)?;
            let (_, change) = writes::update_lead(state, &plan, actor);
            let lead = state.leads[&id.0].clone();
            Ok((lead, change.into_iter().collect()))
        })
    }
}

/// The scenario API: actions as a person in Kommo's UI makes them, with their webhooks.
impl Sandbox {
    /// Creates a contact and sends `contacts[add]` (`add_contact`).
    pub fn create_contact(&self, contact: NewContact) -> Result<ContactId, ScenarioError> {
        self.inner.create_contact(&contact, true)
    }

    /// Creates a contact without any webhook (test set-up).
    pub fn seed_contact(&self, contact: NewContact) -> Result<ContactId, ScenarioError> {
        self.inner.create_contact(&contact, false)
    }

    /// Creates a company and sends `contacts[add]` with `type=company` (`add_company`).
    pub fn create_company(&self, company: NewCompany) -> Result<CompanyId, ScenarioError> {
        self.inner.create_company(&company, true)
    }

    /// Creates a company without any webhook.
    pub fn seed_company(&self, company: NewCompany) -> Result<CompanyId, ScenarioError> {
        self.inner.create_company(&company, false)
    }

    /// Creates a lead (linked to its contacts and company) and sends `leads[add]`
    /// (`add_lead`).
    pub fn create_lead(&self, lead: NewLead) -> Result<LeadId, ScenarioError> {
        self.inner.create_lead(&lead, true)
    }

    /// Creates a lead without any webhook.
    pub fn seed_lead(&self, lead: NewLead) -> Result<LeadId, ScenarioError> {
        self.inner.create_lead(&lead, false)
    }

    /// Moves a lead to `status` (in its pipeline when the pipeline has it, otherwise in the
    /// pipeline that does) and sends `leads[status]` with `old_status_id` (`status_lead`).
    pub fn move_lead(&self, lead: LeadId, status: StatusId) -> Result<Lead, ScenarioError> {
        self.update_lead(
            lead,
            LeadUpdate {
                status_id: Some(status),
                ..LeadUpdate::default()
            },
        )
    }

    /// Moves a lead to `status` of `pipeline`; a pipeline change adds `old_pipeline_id`.
    pub fn move_lead_to(
        &self,
        lead: LeadId,
        pipeline: PipelineId,
        status: StatusId,
    ) -> Result<Lead, ScenarioError> {
        self.update_lead(lead, LeadUpdate::new().status(pipeline, status))
    }

    /// Changes a lead: `leads[status]` for a move, `leads[update]` for other changes,
    /// `leads[responsible]` for a new responsible user.
    pub fn update_lead(&self, lead: LeadId, update: LeadUpdate) -> Result<Lead, ScenarioError> {
        self.inner
            .update_lead_with(lead, &update.to_body(), update.by)
    }

    /// Changes a contact (e.g. its email) and sends `contacts[update]`.
    pub fn update_contact(
        &self,
        contact: ContactId,
        update: ContactUpdate,
    ) -> Result<Contact, ScenarioError> {
        let actor = self.inner.actor(update.by);
        let body = update.to_body();
        self.inner.act(true, |state| {
            let existing =
                state
                    .contacts
                    .get(&contact.0)
                    .cloned()
                    .ok_or(ScenarioError::NotFound {
                        entity: "contact",
                        id: contact.0,
                    })?;
            let plan = writes::plan_contact(state, &body, 0, Some(&existing))
                .map_err(ScenarioError::Invalid)?;
            let (_, change) = writes::update_contact(state, &plan, actor);
            Ok((
                state.contacts[&contact.0].clone(),
                change.into_iter().collect(),
            ))
        })
    }

    /// Changes a company and sends `contacts[update]` with `type=company`.
    pub fn update_company(
        &self,
        company: CompanyId,
        update: CompanyUpdate,
    ) -> Result<Company, ScenarioError> {
        let actor = self.inner.actor(update.by);
        let body = update.to_body();
        self.inner.act(true, |state| {
            let existing =
                state
                    .companies
                    .get(&company.0)
                    .cloned()
                    .ok_or(ScenarioError::NotFound {
                        entity: "company",
                        id: company.0,
                    })?;
            let plan = writes::plan_company(state, &body, 0, Some(&existing))
                .map_err(ScenarioError::Invalid)?;
            let (_, change) = writes::update_company(state, &plan, actor);
            Ok((
                state.companies[&company.0].clone(),
                change.into_iter().collect(),
            ))
        })
    }

    /// Links a contact to a lead (optionally as the main contact); sends `leads[update]`.
    pub fn link_contact(
        &self,
        lead: LeadId,
        contact: ContactId,
        is_main: bool,
    ) -> Result<Lead, ScenarioError> {
        self.link_lead(lead, contact, Some(is_main), false)
    }

    /// Unlinks a contact from a lead; sends `leads[update]`.
    pub fn unlink_contact(&self, lead: LeadId, contact: ContactId) -> Result<Lead, ScenarioError> {
        self.link_lead(lead, contact, None, true)
    }

    fn link_lead(
        &self,
        lead: LeadId,
        contact: ContactId,
        is_main: Option<bool>,
        unlink: bool,
    ) -> Result<Lead, ScenarioError> {
        let actor = self.inner.actor(None);
        let mut item = Map::new();
        item.insert("to_entity_id".into(), json!(contact));
        item.insert("to_entity_type".into(), json!("contacts"));
        if let Some(main) = is_main {
            item.insert("metadata".into(), json!({ "is_main": main }));
        }
        self.inner.act(true, |state| {
            if !state.leads.contains_key(&lead.0) {
                return Err(ScenarioError::NotFound {
                    entity: "lead",
                    id: lead.0,
                });
            }
            let (_, changes) =
                writes::link(state, EntityType::Leads, lead.0, &[item], actor, unlink)?;
            Ok((state.leads[&lead.0].clone(), changes))
        })
    }

    /// Adds a common (text) note to a lead, contact or company; sends `leads[note]` or
    /// `contacts[note]` (`note_lead`, `note_contact`, `note_company`).
    pub fn add_note(
        &self,
        entity: EntityType,
        id: u64,
        text: impl Into<String>,
    ) -> Result<NoteId, ScenarioError> {
        let actor = self.inner.actor(None);
        let item = json!({ "note_type": "common", "params": { "text": text.into() } });
        let Value::Object(item) = item else {
            return Err(ScenarioError::Refused("note body".into()));
        };
        self.inner.act(true, |state| {
            if !state.exists(entity, id) {
                return Err(ScenarioError::NotFound {
                    entity: "note target",
                    id,
                });
            }
            let (written, changes) = activity::add_notes(state, entity, Some(id), &[item], actor)?;
            Ok((NoteId(written[0].id), changes))
        })
    }

    /// Adds a task; sends `task[add]` (`add_task`).
    pub fn add_task(&self, task: NewTask) -> Result<TaskId, ScenarioError> {
        let actor = self.inner.actor(task.by);
        let body = task.to_body();
        self.inner.act(true, |state| {
            let (written, changes) = activity::add_tasks(state, &[body], actor)?;
            Ok((TaskId(written[0].id), changes))
        })
    }

    /// Completes a task with a result; sends `task[update]` (`update_task`).
    pub fn complete_task(
        &self,
        task: TaskId,
        result: impl Into<String>,
    ) -> Result<Task, ScenarioError> {
        let actor = self.inner.actor(None);
        let item = json!({ "id": task, "is_completed": true, "result": { "text": result.into() } });
        let Value::Object(item) = item else {
            return Err(ScenarioError::Refused("task body".into()));
        };
        self.inner.act(true, |state| {
            if !state.tasks.contains_key(&task.0) {
                return Err(ScenarioError::NotFound {
                    entity: "task",
                    id: task.0,
                });
            }
            let (_, changes) = activity::update_tasks(state, &[item], actor)?;
            Ok((state.tasks[&task.0].clone(), changes))
        })
    }

    /// Deletes a lead; sends `leads[delete]` (`delete_lead`) with its id, status and pipeline.
    pub fn delete_lead(&self, lead: LeadId) -> Result<Lead, ScenarioError> {
        self.inner.act(true, |state| {
            let removed = state
                .leads
                .get(&lead.0)
                .cloned()
                .ok_or(ScenarioError::NotFound {
                    entity: "lead",
                    id: lead.0,
                })?;
            let change = writes::delete_lead(state, lead);
            Ok((removed, change.into_iter().collect()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_api_shaped() {
        let contact = NewContact::new("Ada")
            .email("ada@example.com")
            .email_kind("ada@home.example", "PRIV")
            .company(CompanyId(4))
            .tag("vip")
            .to_body();
        assert_eq!(contact["custom_fields_values"][0]["field_code"], "EMAIL");
        assert_eq!(
            contact["custom_fields_values"][0]["values"][1]["enum_code"],
            "PRIV"
        );
        assert_eq!(contact["_embedded"]["companies"][0]["id"], 4);
        assert_eq!(contact["tags_to_add"][0]["name"], "vip");

        let lead = NewLead::new("L")
            .contact(ContactId(1))
            .contact(ContactId(2))
            .field("PLAN", "pro")
            .field(CustomFieldId(9), 14)
            .to_body();
        assert_eq!(lead["_embedded"]["contacts"][0]["is_main"], true);
        assert_eq!(lead["_embedded"]["contacts"][1]["is_main"], false);
        assert_eq!(lead["custom_fields_values"][0]["field_code"], "PLAN");
        assert_eq!(lead["custom_fields_values"][1]["values"][0]["value"], 14);

        let update = ContactUpdate::new().email("new@example.com").to_body();
        assert_eq!(
            update["custom_fields_values"][0]["values"][0]["value"],
            "new@example.com"
        );
        assert_eq!(
            FieldSet::clear("PLAN").to_json(),
            json!({"field_code": "PLAN", "values": null})
        );
        let parsed: NewContact = serde_json::from_value(json!({
            "name": "Bob", "emails": [["bob@example.com", "WORK"]], "fields": [{"field": 5, "values": ["x"]}]
        }))
        .unwrap();
        assert_eq!(parsed.fields[0].field, FieldKey::Id(CustomFieldId(5)));
        let error: ScenarioError =
            ApiError::invalid(vec![ValidationIssue::choice("status_id")]).into();
        assert!(error.to_string().contains("status_id"));
    }
}
