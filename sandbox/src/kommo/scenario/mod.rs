//! The scenario API: what a person does in Kommo's UI, as Rust calls. Each action changes the
//! store exactly as the matching API write would (same checks, same rules) and queues the
//! webhooks Kommo sends for it, made as the configured "UI user" unless the action names
//! another (`by`). The `seed_*` variants change the store without any webhook.
//!
//! The input structs have public fields and `Default`, so both struct literals
//! (`NewContact { name: "Ada".into(), ..Default::default() }`) and builder calls work; they
//! are also what the inspection API's seeding routes accept as JSON.

mod inputs;

pub use inputs::{
    CompanyUpdate, ContactUpdate, FieldKey, FieldSet, LeadUpdate, NewCompany, NewContact, NewLead,
    NewTask,
};

use kommo_client::common::EntityType;
use kommo_client::ids::{
    CompanyId, ContactId, LeadId, NoteId, PipelineId, StatusId, TaskId, UserId,
};
use serde_json::{Map, Value, json};

use super::entity::Entity;
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
        } else {
            self.log_events(&mut state, &changes);
        }
        Ok(value)
    }

    /// Creates an entity from an API-shaped body; its id.
    fn create<E: Entity>(
        &self,
        body: Map<String, Value>,
        by: Option<UserId>,
        emit: bool,
    ) -> Result<u64, ScenarioError> {
        let actor = self.actor(by);
        self.act(emit, |state| {
            let (written, changes) = writes::add::<E>(state, &[body], actor)?;
            Ok((written[0].id, changes))
        })
    }

    /// Changes entity `id` with an API-shaped body, with webhooks; the entity afterwards.
    fn update<E: Entity>(
        &self,
        id: u64,
        body: &Map<String, Value>,
        by: Option<UserId>,
    ) -> Result<E, ScenarioError> {
        let actor = self.actor(by);
        self.act(true, |state| {
            let existing = E::map(state)
                .get(&id)
                .cloned()
                .ok_or(ScenarioError::NotFound {
                    entity: E::NAME,
                    id,
                })?;
            let plan = E::plan(state, body, 0, Some(&existing)).map_err(ScenarioError::Invalid)?;
            let (_, change) = writes::update_one::<E>(state, &plan, actor);
            Ok((E::map(state)[&id].clone(), change.into_iter().collect()))
        })
    }

    pub(crate) fn create_contact(
        &self,
        new: &NewContact,
        emit: bool,
    ) -> Result<ContactId, ScenarioError> {
        self.create::<Contact>(new.to_body(), new.by, emit)
            .map(ContactId)
    }

    pub(crate) fn create_company(
        &self,
        new: &NewCompany,
        emit: bool,
    ) -> Result<CompanyId, ScenarioError> {
        self.create::<Company>(new.to_body(), new.by, emit)
            .map(CompanyId)
    }

    pub(crate) fn create_lead(&self, new: &NewLead, emit: bool) -> Result<LeadId, ScenarioError> {
        self.create::<Lead>(new.to_body(), new.by, emit).map(LeadId)
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

    /// Moves many leads to `status` in one bulk change, as a person does by selecting leads
    /// in a pipeline and changing their stage: one `leads[status]` event per lead, sent as
    /// bodies of several leads each (`leads[status][0]`, `leads[status][1]`, …, at most
    /// [`WebhookPolicy::per_body`](super::WebhookPolicy::per_body) to a body, in the order
    /// given), and one events log entry per lead. Nothing changes when any lead is missing or
    /// the move is invalid for any of them. Returns the leads afterwards.
    pub fn move_leads(
        &self,
        leads: &[LeadId],
        status: StatusId,
    ) -> Result<Vec<Lead>, ScenarioError> {
        let body = LeadUpdate {
            status_id: Some(status),
            ..LeadUpdate::default()
        }
        .to_body();
        let actor = self.inner.actor(None);
        self.inner.act(true, |state| {
            let mut plans = Vec::with_capacity(leads.len());
            for (index, lead) in leads.iter().enumerate() {
                let existing = state.leads.get(&lead.0).ok_or(ScenarioError::NotFound {
                    entity: "lead",
                    id: lead.0,
                })?;
                plans.push(
                    Lead::plan(state, &body, index, Some(existing))
                        .map_err(ScenarioError::Invalid)?,
                );
            }
            let mut changes = Vec::with_capacity(leads.len());
            for plan in &plans {
                changes.extend(writes::update_one::<Lead>(state, plan, actor).1);
            }
            let moved = leads.iter().map(|l| state.leads[&l.0].clone()).collect();
            Ok((moved, changes))
        })
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
            .update::<Lead>(lead.0, &update.to_body(), update.by)
    }

    /// Changes a contact (e.g. its email) and sends `contacts[update]`.
    pub fn update_contact(
        &self,
        contact: ContactId,
        update: ContactUpdate,
    ) -> Result<Contact, ScenarioError> {
        self.inner
            .update::<Contact>(contact.0, &update.to_body(), update.by)
    }

    /// Changes a company and sends `contacts[update]` with `type=company`.
    pub fn update_company(
        &self,
        company: CompanyId,
        update: CompanyUpdate,
    ) -> Result<Company, ScenarioError> {
        self.inner
            .update::<Company>(company.0, &update.to_body(), update.by)
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
            let linked = writes::link(state, EntityType::Leads, lead.0, &[item], actor, unlink)?;
            Ok((state.leads[&lead.0].clone(), linked.changes))
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
    use kommo_client::ids::CustomFieldId;

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
