//! What leads, contacts and companies share, so that one implementation of a batch write, a
//! single update, a list, a get, an inspection route or a scenario change serves all three.

use std::collections::BTreeMap;

use kommo_client::common::EntityType;
use kommo_client::ids::{CompanyId, ContactId, LeadId, UserId};
use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{Company, Contact, FieldValues, Lead, Tag, ValidationIssue};
use super::render::{self, Ctx};
use super::request::Query;
use super::state::State;
use super::writes::{self, Change, CompanyPlan, ContactPlan, LeadPlan, Plan};

/// The members filters and searches read.
#[derive(Debug, Clone)]
pub(crate) struct Meta<'a> {
    pub(crate) id: u64,
    pub(crate) name: &'a str,
    /// Names a search also looks at (a contact's first and last names; empty for others).
    pub(crate) other_names: [&'a str; 2],
    pub(crate) responsible: UserId,
    pub(crate) created_by: UserId,
    pub(crate) updated_by: UserId,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) fields: &'a [FieldValues],
}

/// The members every write may change the same way.
#[derive(Debug)]
pub(crate) struct CommonMut<'a> {
    pub(crate) fields: &'a mut Vec<FieldValues>,
    pub(crate) tags: &'a mut Vec<Tag>,
    pub(crate) responsible: &'a mut UserId,
    pub(crate) created_by: &'a mut UserId,
}

/// A lead, contact or company as the store keeps it.
pub(crate) trait Entity: Clone + PartialEq + Serialize + Send + Sync + 'static {
    /// `leads`, `contacts` or `companies`.
    const TYPE: EntityType;
    /// As the API's messages name it: `Lead`.
    const NOUN: &'static str;
    /// As scenario errors name it: `lead`.
    const NAME: &'static str;
    /// A checked write.
    type Plan: Plan<Self>;

    fn map(state: &State) -> &BTreeMap<u64, Self>;
    fn next_id(state: &mut State) -> u64;
    fn map_mut(state: &mut State) -> &mut BTreeMap<u64, Self>;
    fn meta(&self) -> Meta<'_>;
    fn common_mut(&mut self) -> CommonMut<'_>;
    /// Sets `updated_at` and `updated_by`.
    fn stamp(&mut self, at: i64, by: UserId);
    /// The change that reports a creation.
    fn added(id: u64) -> Change;
    /// The change that reports an update, with the snapshot from before it.
    fn updated(old: Self) -> Change;
    /// The entity in the v4 JSON, with what `query`'s `with=` asks for.
    fn render(&self, ctx: &Ctx, state: &State, query: &Query) -> Value;
    /// Checks a write (`existing` is the entity being updated, `None` to create).
    fn plan(
        state: &State,
        item: &Map<String, Value>,
        index: usize,
        existing: Option<&Self>,
    ) -> Result<Self::Plan, Vec<ValidationIssue>>;
}

/// Implements [`Entity`] for a model type; `other_names` lists what a search reads besides
/// the name, `plan` checks a write.
macro_rules! entity {
    (
        $ty:ty, $kind:ident, $noun:literal, $name:literal, $map:ident, $plan:ty,
        other_names: |$e:ident| $other:expr,
        plan: $plan_fn:expr,
        next_id: $next:ident, added: $added:ident($id:ident), updated: $updated:ident,
        render: $render:path $(,)?
    ) => {
        impl Entity for $ty {
            const TYPE: EntityType = EntityType::$kind;
            const NOUN: &'static str = $noun;
            const NAME: &'static str = $name;
            type Plan = $plan;

            fn map(state: &State) -> &BTreeMap<u64, Self> {
                &state.$map
            }

            fn map_mut(state: &mut State) -> &mut BTreeMap<u64, Self> {
                &mut state.$map
            }

            fn next_id(state: &mut State) -> u64 {
                state.$next()
            }

            fn meta(&self) -> Meta<'_> {
                let $e = self;
                Meta {
                    id: self.id.0,
                    name: &self.name,
                    other_names: $other,
                    responsible: self.responsible_user_id,
                    created_by: self.created_by,
                    updated_by: self.updated_by,
                    created_at: self.created_at,
                    updated_at: self.updated_at,
                    fields: &self.custom_fields,
                }
            }

            fn common_mut(&mut self) -> CommonMut<'_> {
                CommonMut {
                    fields: &mut self.custom_fields,
                    tags: &mut self.tags,
                    responsible: &mut self.responsible_user_id,
                    created_by: &mut self.created_by,
                }
            }

            fn stamp(&mut self, at: i64, by: UserId) {
                self.updated_at = at;
                self.updated_by = by;
            }

            fn added(id: u64) -> Change {
                Change::$added($id(id))
            }

            fn updated(old: Self) -> Change {
                Change::$updated(Box::new(old))
            }

            fn render(&self, ctx: &Ctx, state: &State, query: &Query) -> Value {
                $render(ctx, state, self, query)
            }

            fn plan(
                state: &State,
                item: &Map<String, Value>,
                index: usize,
                existing: Option<&Self>,
            ) -> Result<Self::Plan, Vec<ValidationIssue>> {
                ($plan_fn)(state, item, index, existing)
            }
        }
    };
}

entity!(
    Lead, Leads, "Lead", "lead", leads, LeadPlan,
    other_names: |_lead| ["", ""],
    plan: |state, item, index, existing| writes::plan_lead(state, item, index, existing, false),
    next_id: next_lead, added: LeadAdded(LeadId), updated: LeadUpdated,
    render: render::lead,
);

entity!(
    Contact, Contacts, "Contact", "contact", contacts, ContactPlan,
    other_names: |contact| [
        contact.first_name.as_deref().unwrap_or_default(),
        contact.last_name.as_deref().unwrap_or_default(),
    ],
    plan: writes::plan_contact,
    next_id: next_contact, added: ContactAdded(ContactId),
    updated: ContactUpdated,
    render: render::contact,
);

entity!(
    Company, Companies, "Company", "company", companies, CompanyPlan,
    other_names: |_company| ["", ""],
    plan: writes::plan_company,
    next_id: next_company, added: CompanyAdded(CompanyId),
    updated: CompanyUpdated,
    render: render::company,
);
