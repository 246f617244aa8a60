//! The inputs of scenario actions: entities to create and changes to make, as Rust builders
//! and as the JSON the inspection API's seeding and change routes accept. Each turns into the
//! body the matching API write would carry.

use kommo_client::common::EntityType;
use kommo_client::ids::{
    CompanyId, ContactId, CustomFieldId, EnumId, LeadId, PipelineId, StatusId, TaskTypeId, UserId,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The setters the entity inputs share: custom fields, tags, the responsible user, and who
/// makes the change. `new` inputs have `tags`; `update` inputs have `add_tags` and
/// `remove_tags`.
macro_rules! shared_setters {
    (new) => {
        shared_setters!(common);

        /// Adds a tag (created when missing).
        pub fn tag(mut self, tag: impl Into<String>) -> Self {
            self.tags.push(tag.into());
            self
        }
    };
    (update) => {
        shared_setters!(common);

        /// Adds a tag (created when missing).
        pub fn add_tag(mut self, tag: impl Into<String>) -> Self {
            self.add_tags.push(tag.into());
            self
        }

        /// Removes a tag.
        pub fn remove_tag(mut self, tag: impl Into<String>) -> Self {
            self.remove_tags.push(tag.into());
            self
        }
    };
    (common) => {
        /// Sets a custom field (`"PLAN"` and `"pro"`, or an id and a number).
        pub fn field(mut self, field: impl Into<FieldKey>, value: impl Into<Value>) -> Self {
            self.fields.push(FieldSet::new(field, value));
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
    };
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

    pub(super) fn to_json(&self) -> Value {
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

/// The `custom_fields_values` of a body: the fields set, then `EMAIL` and `PHONE` when given
/// (an empty list clears them).
fn field_values(
    fields: &[FieldSet],
    emails: Option<&Vec<(String, String)>>,
    phones: Option<&Vec<(String, String)>>,
) -> Vec<Value> {
    let mut values: Vec<Value> = fields.iter().map(FieldSet::to_json).collect();
    values.extend(emails.map(|emails| multitext("EMAIL", emails)));
    values.extend(phones.map(|phones| multitext("PHONE", phones)));
    values
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

    shared_setters!(new);

    pub(super) fn to_body(&self) -> Map<String, Value> {
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
        let fields = field_values(
            &self.fields,
            (!self.emails.is_empty()).then_some(&self.emails),
            (!self.phones.is_empty()).then_some(&self.phones),
        );
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

    shared_setters!(new);

    pub(super) fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("name".into(), json!(self.name));
        let fields = field_values(
            &self.fields,
            (!self.emails.is_empty()).then_some(&self.emails),
            (!self.phones.is_empty()).then_some(&self.phones),
        );
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

    shared_setters!(new);

    pub(super) fn to_body(&self) -> Map<String, Value> {
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
        let fields = field_values(&self.fields, None, None);
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

    shared_setters!(update);

    pub(super) fn to_body(&self) -> Map<String, Value> {
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
        let fields = field_values(&self.fields, self.emails.as_ref(), self.phones.as_ref());
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

    shared_setters!(update);

    pub(super) fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        if let Some(name) = &self.name {
            body.insert("name".into(), json!(name));
        }
        let fields = field_values(&self.fields, self.emails.as_ref(), self.phones.as_ref());
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

    shared_setters!(update);

    pub(super) fn to_body(&self) -> Map<String, Value> {
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
        let fields = field_values(&self.fields, None, None);
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

    pub(super) fn to_body(&self) -> Map<String, Value> {
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
