//! The sandbox's in-memory store: entities, their links and tags, the account's settings,
//! webhook subscriptions and deliveries, OAuth tokens, counters.
//!
//! Everything sits behind one mutex and handlers never await while holding it, so each request
//! is applied atomically, and the webhooks a change causes are queued in the order of the
//! changes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::SystemTime;

use kommo_client::common::EntityType;
use kommo_client::ids::{
    CompanyId, ContactId, LeadId, PipelineId, StatusId, TagId, TaskTypeId, UserId, WebhookId,
};
use tokio::time::Instant;

use super::config::Config;
use super::model::{Company, Contact, Lead, Link, Note, Subscription, Tag, Task, WebhookDelivery};
use super::oauth::OAuthStore;
use super::seeds::{CustomFieldSeed, PipelineSeed, TaskTypeSeed, UserSeed};
use crate::records::RequestLog;
use crate::time::unix_seconds;

/// The id counters.
#[derive(Debug, Clone)]
pub(crate) struct Counters {
    pub(crate) lead: u64,
    pub(crate) contact: u64,
    pub(crate) company: u64,
    pub(crate) note: u64,
    pub(crate) task: u64,
    pub(crate) tag: u64,
    pub(crate) webhook: u64,
    pub(crate) delivery: u64,
}

fn take(counter: &mut u64) -> u64 {
    let id = *counter;
    *counter += 1;
    id
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) leads: BTreeMap<u64, Lead>,
    pub(crate) contacts: BTreeMap<u64, Contact>,
    pub(crate) companies: BTreeMap<u64, Company>,
    pub(crate) notes: BTreeMap<u64, Note>,
    pub(crate) tasks: BTreeMap<u64, Task>,
    lead_tags: Vec<Tag>,
    contact_tags: Vec<Tag>,
    company_tags: Vec<Tag>,
    pub(crate) pipelines: Vec<PipelineSeed>,
    pub(crate) fields: Vec<CustomFieldSeed>,
    pub(crate) users: Vec<UserSeed>,
    pub(crate) task_types: Vec<TaskTypeSeed>,
    pub(crate) subscriptions: Vec<Subscription>,
    /// Incoming leads, catalogs, customers.
    pub(crate) sales: super::sales::Sales,
    /// The events log, oldest first.
    pub(crate) events: Vec<super::event_log::LoggedEvent>,
    pub(crate) event_seq: u64,
    pub(crate) deliveries: Vec<WebhookDelivery>,
    /// Failed deliveries per subscription (tokio time), for disabling after too many.
    pub(crate) failures: HashMap<WebhookId, VecDeque<Instant>>,
    pub(crate) requests: RequestLog,
    pub(crate) ids: Counters,
    pub(crate) oauth: OAuthStore,
    /// Added to the wall clock ([`Sandbox::advance_clock`](crate::kommo::Sandbox::advance_clock)).
    pub(crate) clock_offset: i64,
    /// Tokens and webhook request ids; separate from the fault generator.
    pub(crate) rng: fastrand::Rng,
}

impl State {
    /// A fresh store holding the configuration's seed data.
    pub(crate) fn new(config: &Config) -> Self {
        let ids = config.ids;
        let mut pipelines: Vec<PipelineSeed> = config
            .pipelines
            .iter()
            .cloned()
            .map(PipelineSeed::completed)
            .collect();
        if !pipelines.iter().any(|p| p.is_main)
            && let Some(first) = pipelines.first_mut()
        {
            first.is_main = true;
        }
        let mut task_types = vec![
            TaskTypeSeed {
                code: Some("FOLLOW_UP".into()),
                ..TaskTypeSeed::new(TaskTypeId::FOLLOW_UP, "Follow-up")
            },
            TaskTypeSeed {
                code: Some("MEETING".into()),
                ..TaskTypeSeed::new(TaskTypeId::MEETING, "Meeting")
            },
        ];
        task_types.extend(config.task_types.iter().cloned());
        let mut state = State {
            leads: BTreeMap::new(),
            contacts: BTreeMap::new(),
            companies: BTreeMap::new(),
            notes: BTreeMap::new(),
            tasks: BTreeMap::new(),
            lead_tags: Vec::new(),
            contact_tags: Vec::new(),
            company_tags: Vec::new(),
            pipelines,
            fields: config.custom_fields.clone(),
            users: config.users.clone(),
            task_types,
            subscriptions: Vec::new(),
            sales: super::sales::Sales::default(),
            events: Vec::new(),
            event_seq: 0,
            deliveries: Vec::new(),
            failures: HashMap::new(),
            requests: RequestLog::default(),
            ids: Counters {
                lead: ids.leads,
                contact: ids.contacts,
                company: ids.companies,
                note: ids.notes,
                task: ids.tasks,
                tag: ids.tags,
                webhook: ids.webhooks,
                delivery: 1,
            },
            oauth: OAuthStore::default(),
            clock_offset: 0,
            rng: fastrand::Rng::with_seed(config.shared.seed ^ 0x0C0_FFEE),
        };
        for (destination, settings) in &config.subscriptions {
            state.subscribe(destination, settings.clone(), None, config.api_user);
        }
        state
    }

    /// Now, unix seconds (the wall clock plus any advance).
    pub(crate) fn now(&self) -> i64 {
        unix_seconds(SystemTime::now()) + self.clock_offset
    }

    /// The next `updated_at` of an entity last changed at `previous`: now, but always later
    /// than `previous`, so consecutive changes never share a timestamp.
    pub(crate) fn bump(&self, previous: i64) -> i64 {
        self.now().max(previous + 1)
    }

    pub(crate) fn next_lead(&mut self) -> u64 {
        take(&mut self.ids.lead)
    }

    pub(crate) fn next_contact(&mut self) -> u64 {
        take(&mut self.ids.contact)
    }

    pub(crate) fn next_company(&mut self) -> u64 {
        take(&mut self.ids.company)
    }

    pub(crate) fn next_note(&mut self) -> u64 {
        take(&mut self.ids.note)
    }

    pub(crate) fn next_task(&mut self) -> u64 {
        take(&mut self.ids.task)
    }

    pub(crate) fn next_delivery(&mut self) -> u64 {
        take(&mut self.ids.delivery)
    }

    /// A version-4 UUID from the seeded generator (`X-Amocrm-Requestid`).
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        for b in &mut bytes {
            *b = self.rng.u8(..);
        }
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    /// A random token: `prefix` and 40 lowercase letters or digits.
    pub(crate) fn token(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let tail: String = (0..40)
            .map(|_| char::from(ALPHABET[self.rng.usize(..ALPHABET.len())]))
            .collect();
        format!("{prefix}{tail}")
    }

    // ---- account settings --------------------------------------------------------------

    pub(crate) fn user(&self, id: UserId) -> Option<&UserSeed> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(crate) fn pipeline(&self, id: PipelineId) -> Option<&PipelineSeed> {
        self.pipelines.iter().find(|p| p.id == id)
    }

    /// The main pipeline (new leads without a pipeline go there).
    pub(crate) fn main_pipeline(&self) -> Option<&PipelineSeed> {
        self.pipelines
            .iter()
            .find(|p| p.is_main)
            .or_else(|| self.pipelines.first())
    }

    /// The first regular status of a pipeline: where a lead goes when only the pipeline is
    /// given (Kommo puts API-created leads in the first stage after "incoming").
    pub(crate) fn first_status(pipeline: &PipelineSeed) -> Option<StatusId> {
        pipeline
            .statuses
            .iter()
            .filter(|s| s.kind == 0 && !s.id.is_closed())
            .min_by_key(|s| s.sort)
            .or_else(|| pipeline.statuses.first())
            .map(|s| s.id)
    }

    /// The pipeline a status belongs to, preferring `current` (142 and 143 are in every
    /// pipeline; without a preference they resolve to the main pipeline).
    pub(crate) fn pipeline_of(
        &self,
        status: StatusId,
        current: Option<PipelineId>,
    ) -> Option<PipelineId> {
        if let Some(current) = current.and_then(|c| self.pipeline(c))
            && current.find_status(status).is_some()
        {
            return Some(current.id);
        }
        if status.is_closed() {
            return self.main_pipeline().map(|p| p.id);
        }
        self.pipelines
            .iter()
            .find(|p| p.find_status(status).is_some())
            .map(|p| p.id)
    }

    /// The custom field definitions of an entity type.
    pub(crate) fn field_defs(&self, entity: EntityType) -> Vec<&CustomFieldSeed> {
        self.fields
            .iter()
            .filter(|f| f.entity_type == entity)
            .collect()
    }

    pub(crate) fn task_type(&self, id: TaskTypeId) -> Option<&TaskTypeSeed> {
        self.task_types.iter().find(|t| t.id == id)
    }

    // ---- tags --------------------------------------------------------------------------

    /// The tag directory of an entity type (leads, contacts, companies; others are empty).
    pub(crate) fn tag_directory(&self, entity: EntityType) -> &[Tag] {
        match entity {
            EntityType::Leads => &self.lead_tags,
            EntityType::Contacts => &self.contact_tags,
            EntityType::Companies => &self.company_tags,
            _ => &[],
        }
    }

    fn tag_directory_mut(&mut self, entity: EntityType) -> Option<&mut Vec<Tag>> {
        match entity {
            EntityType::Leads => Some(&mut self.lead_tags),
            EntityType::Contacts => Some(&mut self.contact_tags),
            EntityType::Companies => Some(&mut self.company_tags),
            _ => None,
        }
    }

    pub(crate) fn tag_by_id(&self, entity: EntityType, id: TagId) -> Option<&Tag> {
        self.tag_directory(entity).iter().find(|t| t.id == id)
    }

    /// The tag with this name (trimmed, case-insensitive), created if missing.
    pub(crate) fn tag_by_name(
        &mut self,
        entity: EntityType,
        name: &str,
        color: Option<String>,
    ) -> Tag {
        let name = name.trim();
        if let Some(tag) = self
            .tag_directory(entity)
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
        {
            return tag.clone();
        }
        let tag = Tag {
            id: TagId(take(&mut self.ids.tag)),
            name: name.to_owned(),
            color,
        };
        if let Some(directory) = self.tag_directory_mut(entity) {
            directory.push(tag.clone());
        }
        tag
    }

    // ---- links ---------------------------------------------------------------------------

    /// Leads a contact is linked to, by lead id.
    pub(crate) fn leads_of_contact(&self, contact: ContactId) -> Vec<LeadId> {
        self.leads
            .values()
            .filter(|l| l.contacts.iter().any(|c| c.id == contact))
            .map(|l| l.id)
            .collect()
    }

    /// Contacts linked to a company.
    pub(crate) fn contacts_of_company(&self, company: CompanyId) -> Vec<ContactId> {
        self.contacts
            .values()
            .filter(|c| c.company == Some(company))
            .map(|c| c.id)
            .collect()
    }

    /// Leads linked to a company.
    pub(crate) fn leads_of_company(&self, company: CompanyId) -> Vec<LeadId> {
        self.leads
            .values()
            .filter(|l| l.company == Some(company))
            .map(|l| l.id)
            .collect()
    }

    /// Whether the entity exists.
    pub(crate) fn exists(&self, entity: EntityType, id: u64) -> bool {
        match entity {
            EntityType::Leads => self.leads.contains_key(&id),
            EntityType::Contacts => self.contacts.contains_key(&id),
            EntityType::Companies => self.companies.contains_key(&id),
            _ => false,
        }
    }

    /// The links of one entity, as `GET /api/v4/{entity}/{id}/links` lists them.
    pub(crate) fn links_of(&self, entity: EntityType, id: u64) -> Vec<Link> {
        let link = |to_entity_type: EntityType, to_entity_id: u64, is_main: Option<bool>| Link {
            entity_type: entity,
            entity_id: id,
            to_entity_type,
            to_entity_id,
            is_main,
        };
        match entity {
            EntityType::Leads => self
                .leads
                .get(&id)
                .map(|lead| {
                    let mut links: Vec<Link> = lead
                        .contacts
                        .iter()
                        .map(|c| link(EntityType::Contacts, c.id.0, Some(c.is_main)))
                        .collect();
                    links.extend(lead.company.map(|c| link(EntityType::Companies, c.0, None)));
                    links
                })
                .unwrap_or_default(),
            EntityType::Contacts => self
                .contacts
                .get(&id)
                .map(|contact| {
                    let mut links: Vec<Link> = contact
                        .company
                        .map(|c| link(EntityType::Companies, c.0, None))
                        .into_iter()
                        .collect();
                    links.extend(self.leads.values().filter_map(|l| {
                        l.contacts
                            .iter()
                            .find(|c| c.id.0 == id)
                            .map(|c| link(EntityType::Leads, l.id.0, Some(c.is_main)))
                    }));
                    links
                })
                .unwrap_or_default(),
            EntityType::Companies if self.companies.contains_key(&id) => {
                let company = CompanyId(id);
                let mut links: Vec<Link> = self
                    .contacts_of_company(company)
                    .into_iter()
                    .map(|c| link(EntityType::Contacts, c.0, None))
                    .collect();
                links.extend(
                    self.leads_of_company(company)
                        .into_iter()
                        .map(|l| link(EntityType::Leads, l.0, None)),
                );
                links
            }
            _ => Vec::new(),
        }
    }

    /// Every link, each once (lead→contact, lead→company, contact→company).
    pub(crate) fn all_links(&self) -> Vec<Link> {
        let mut links: Vec<Link> = self
            .leads
            .keys()
            .flat_map(|id| self.links_of(EntityType::Leads, *id))
            .collect();
        links.extend(self.contacts.values().filter_map(|c| {
            c.company.map(|company| Link {
                entity_type: EntityType::Contacts,
                entity_id: c.id.0,
                to_entity_type: EntityType::Companies,
                to_entity_id: company.0,
                is_main: None,
            })
        }));
        links
    }

    /// The earliest due time of the open tasks on an entity.
    pub(crate) fn closest_task_at(&self, entity: EntityType, id: u64) -> Option<i64> {
        self.tasks
            .values()
            .filter(|t| !t.is_completed && t.entity_type == Some(entity) && t.entity_id == Some(id))
            .map(|t| t.complete_till)
            .min()
    }

    // ---- webhook subscriptions -------------------------------------------------------------

    /// Subscribes `destination` (or updates its settings and re-enables it, as re-saving a
    /// hook does in Kommo).
    pub(crate) fn subscribe(
        &mut self,
        destination: &str,
        settings: Vec<kommo_client::webhook_subscriptions::WebhookSetting>,
        sort: Option<i64>,
        by: UserId,
    ) -> Subscription {
        let now = self.now();
        if let Some(existing) = self
            .subscriptions
            .iter_mut()
            .find(|s| s.destination == destination)
        {
            existing.settings = settings;
            if let Some(sort) = sort {
                existing.sort = sort;
            }
            existing.disabled = false;
            existing.updated_at = now;
            let existing = existing.clone();
            self.failures.remove(&existing.id);
            return existing;
        }
        let subscription = Subscription {
            id: WebhookId(take(&mut self.ids.webhook)),
            destination: destination.to_owned(),
            settings,
            sort: sort.unwrap_or(1),
            disabled: false,
            created_by: by,
            created_at: now,
            updated_at: now,
        };
        self.subscriptions.push(subscription.clone());
        subscription
    }

    /// Removes the subscription of `destination`; whether there was one.
    pub(crate) fn unsubscribe(&mut self, destination: &str) -> bool {
        let before = self.subscriptions.len();
        self.subscriptions.retain(|s| s.destination != destination);
        before != self.subscriptions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kommo::seeds::defaults;

    #[test]
    fn seeded_pipelines_get_system_statuses_and_a_main() {
        let state = State::new(&Config::default());
        let sales = state.pipeline(defaults::PIPELINE_ID).unwrap();
        assert!(sales.is_main);
        assert!(sales.find_status(StatusId::WON).is_some());
        assert!(sales.find_status(StatusId::LOST).is_some());
        assert_eq!(State::first_status(sales), Some(defaults::INITIAL_CONTACT));
        assert_eq!(
            state.pipeline_of(StatusId::WON, None),
            Some(defaults::PIPELINE_ID)
        );
        assert_eq!(state.pipeline_of(StatusId(1), None), None);
        assert_eq!(
            state.task_type(TaskTypeId::MEETING).unwrap().name,
            "Meeting"
        );
    }

    #[test]
    fn ids_tokens_and_clock() {
        let config = Config::default().seed(5);
        let mut a = State::new(&config);
        let mut b = State::new(&config);
        assert_eq!(a.uuid(), b.uuid());
        let uuid = a.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert_eq!(a.token("at_").len(), 43);
        assert_eq!(a.next_lead(), 20_000_001);
        assert_eq!(a.next_lead(), 20_000_002);
        let now = a.now();
        assert!(a.bump(now + 10) == now + 11);
        a.clock_offset = 3600;
        assert!(a.now() >= now + 3600);
    }

    #[test]
    fn tags_are_found_by_name_or_created() {
        let mut state = State::new(&Config::default());
        let vip = state.tag_by_name(EntityType::Leads, " VIP ", None);
        assert_eq!(vip.name, "VIP");
        assert_eq!(state.tag_by_name(EntityType::Leads, "vip", None).id, vip.id);
        let other = state.tag_by_name(EntityType::Contacts, "vip", None);
        assert_ne!(other.id, vip.id, "directories are per entity type");
        assert_eq!(state.tag_directory(EntityType::Leads).len(), 1);
        assert!(state.tag_by_id(EntityType::Contacts, vip.id).is_none());
    }
}
