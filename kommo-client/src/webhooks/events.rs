//! Typed webhook events and the mapping from the bracket tree to them.

use super::activity::{WebhookNote, WebhookTask};
use super::chat::{WebhookMessage, WebhookTalk, WebhookUnsorted};
use super::entities::{WebhookContact, WebhookLead};
use super::fields::{Fields, check_index};
use super::form::{FormKey, FormMap, FormNode};
use super::{Limits, WebhookError};
use crate::ids::AccountId;

/// The Digital Pipeline trigger of a `leads[<trigger>]` webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigitalPipelineTrigger {
    /// `mail_in`: an incoming email.
    MailIn,
    /// `call_in`: an incoming call.
    CallIn,
    /// `chat`: an incoming chat message.
    Chat,
    /// `site_visit`: a site visit.
    SiteVisit,
}

impl DigitalPipelineTrigger {
    /// The payload key.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MailIn => "mail_in",
            Self::CallIn => "call_in",
            Self::Chat => "chat",
            Self::SiteVisit => "site_visit",
        }
    }
}

/// What happened. Each kind maps to one `group[action]` payload key; see
/// [`EventKind::group`] and [`EventKind::action`].
///
/// Digital Pipeline stage changes arrive as `leads[status]`, exactly like account status hooks,
/// so they are [`EventKind::LeadStatusChanged`] (with `old_pipeline_id` set on the lead).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// `leads[add]`.
    LeadAdded,
    /// `leads[update]`.
    LeadUpdated,
    /// `leads[status]`: the lead moved to another status or pipeline.
    LeadStatusChanged,
    /// `leads[responsible]`.
    LeadResponsibleChanged,
    /// `leads[delete]`.
    LeadDeleted,
    /// `leads[restore]`.
    LeadRestored,
    /// `leads[note]`.
    LeadNoteAdded,
    /// `leads[mail_in|call_in|chat|site_visit]` from a Digital Pipeline "send webhook" action.
    LeadDigitalPipeline(DigitalPipelineTrigger),
    /// `contacts[add]` with `type=contact`.
    ContactAdded,
    /// `contacts[update]` with `type=contact`.
    ContactUpdated,
    /// `contacts[delete]` with `type=contact`.
    ContactDeleted,
    /// `contacts[restore]` with `type=contact`.
    ContactRestored,
    /// `contacts[responsible]` with `type=contact` (Kommo's example sends responsible changes
    /// as `update` with `old_responsible_user_id`; both are handled).
    ContactResponsibleChanged,
    /// `contacts[note]` with `type=contact`.
    ContactNoteAdded,
    /// `contacts[add]` with `type=company`.
    CompanyAdded,
    /// `contacts[update]` with `type=company`.
    CompanyUpdated,
    /// `contacts[delete]` with `type=company`.
    CompanyDeleted,
    /// `contacts[restore]` with `type=company`.
    CompanyRestored,
    /// `contacts[responsible]` with `type=company`.
    CompanyResponsibleChanged,
    /// `contacts[note]` with `type=company`.
    CompanyNoteAdded,
    /// `task[add]`.
    TaskAdded,
    /// `task[update]`.
    TaskUpdated,
    /// `task[delete]`.
    TaskDeleted,
    /// `task[responsible]`.
    TaskResponsibleChanged,
    /// `message[add]`: an incoming or outgoing chat message.
    MessageAdded,
    /// `talk[add]`.
    TalkAdded,
    /// `talk[update]`.
    TalkUpdated,
    /// `unsorted[add]`.
    UnsortedAdded,
    /// `unsorted[update]`.
    UnsortedUpdated,
    /// `unsorted[delete]` (accepted or declined).
    UnsortedDeleted,
    /// Anything else (customers, catalogs, new event types); the entity is
    /// [`WebhookEntity::Raw`]. `action` is empty when the group was not `group[action][i]`-shaped.
    Unknown {
        /// The top-level key.
        group: String,
        /// The action key.
        action: String,
    },
}

impl EventKind {
    /// The payload's top-level key (`leads`, `contacts`, `task`, ...).
    #[must_use]
    pub fn group(&self) -> &str {
        use EventKind::*;
        match self {
            LeadAdded
            | LeadUpdated
            | LeadStatusChanged
            | LeadResponsibleChanged
            | LeadDeleted
            | LeadRestored
            | LeadNoteAdded
            | LeadDigitalPipeline(_) => "leads",
            ContactAdded
            | ContactUpdated
            | ContactDeleted
            | ContactRestored
            | ContactResponsibleChanged
            | ContactNoteAdded
            | CompanyAdded
            | CompanyUpdated
            | CompanyDeleted
            | CompanyRestored
            | CompanyResponsibleChanged
            | CompanyNoteAdded => "contacts",
            TaskAdded | TaskUpdated | TaskDeleted | TaskResponsibleChanged => "task",
            MessageAdded => "message",
            TalkAdded | TalkUpdated => "talk",
            UnsortedAdded | UnsortedUpdated | UnsortedDeleted => "unsorted",
            Unknown { group, .. } => group,
        }
    }

    /// The action key (`add`, `status`, `note`, ...).
    #[must_use]
    pub fn action(&self) -> &str {
        use EventKind::*;
        match self {
            LeadAdded | ContactAdded | CompanyAdded | TaskAdded | MessageAdded | TalkAdded
            | UnsortedAdded => "add",
            LeadUpdated | ContactUpdated | CompanyUpdated | TaskUpdated | TalkUpdated
            | UnsortedUpdated => "update",
            LeadStatusChanged => "status",
            LeadResponsibleChanged
            | ContactResponsibleChanged
            | CompanyResponsibleChanged
            | TaskResponsibleChanged => "responsible",
            LeadDeleted | ContactDeleted | CompanyDeleted | TaskDeleted | UnsortedDeleted => {
                "delete"
            }
            LeadRestored | ContactRestored | CompanyRestored => "restore",
            LeadNoteAdded | ContactNoteAdded | CompanyNoteAdded => "note",
            LeadDigitalPipeline(t) => t.as_str(),
            Unknown { action, .. } => action,
        }
    }

    /// Whether this is a note event.
    #[must_use]
    pub fn is_note(&self) -> bool {
        matches!(
            self,
            Self::LeadNoteAdded | Self::ContactNoteAdded | Self::CompanyNoteAdded
        )
    }

    fn lead(action: &str) -> Option<Self> {
        Some(match action {
            "add" => Self::LeadAdded,
            "update" => Self::LeadUpdated,
            "status" => Self::LeadStatusChanged,
            "responsible" => Self::LeadResponsibleChanged,
            "delete" => Self::LeadDeleted,
            "restore" => Self::LeadRestored,
            "note" => Self::LeadNoteAdded,
            "mail_in" => Self::LeadDigitalPipeline(DigitalPipelineTrigger::MailIn),
            "call_in" => Self::LeadDigitalPipeline(DigitalPipelineTrigger::CallIn),
            "chat" => Self::LeadDigitalPipeline(DigitalPipelineTrigger::Chat),
            "site_visit" => Self::LeadDigitalPipeline(DigitalPipelineTrigger::SiteVisit),
            _ => return None,
        })
    }

    fn contact(action: &str, company: bool) -> Option<Self> {
        Some(match (action, company) {
            ("add", false) => Self::ContactAdded,
            ("update", false) => Self::ContactUpdated,
            ("delete", false) => Self::ContactDeleted,
            ("restore", false) => Self::ContactRestored,
            ("responsible", false) => Self::ContactResponsibleChanged,
            ("note", false) => Self::ContactNoteAdded,
            ("add", true) => Self::CompanyAdded,
            ("update", true) => Self::CompanyUpdated,
            ("delete", true) => Self::CompanyDeleted,
            ("restore", true) => Self::CompanyRestored,
            ("responsible", true) => Self::CompanyResponsibleChanged,
            ("note", true) => Self::CompanyNoteAdded,
            _ => return None,
        })
    }

    fn simple(group: &str, action: &str) -> Option<Self> {
        Some(match (group, action) {
            ("task", "add") => Self::TaskAdded,
            ("task", "update") => Self::TaskUpdated,
            ("task", "delete") => Self::TaskDeleted,
            ("task", "responsible") => Self::TaskResponsibleChanged,
            ("message", "add") => Self::MessageAdded,
            ("talk", "add") => Self::TalkAdded,
            ("talk", "update") => Self::TalkUpdated,
            ("unsorted", "add") => Self::UnsortedAdded,
            ("unsorted", "update") => Self::UnsortedUpdated,
            ("unsorted", "delete") => Self::UnsortedDeleted,
            _ => return None,
        })
    }
}

/// The entity an event carries.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WebhookEntity {
    /// A lead.
    Lead(WebhookLead),
    /// A contact.
    Contact(WebhookContact),
    /// A company (same shape as a contact, `type=company`).
    Company(WebhookContact),
    /// A note (on a lead, contact or company; see the event kind).
    Note(WebhookNote),
    /// A task.
    Task(WebhookTask),
    /// A chat message.
    Message(WebhookMessage),
    /// A talk.
    Talk(WebhookTalk),
    /// An incoming (unsorted) lead.
    Unsorted(WebhookUnsorted),
    /// The raw subtree of an unknown event.
    Raw(FormNode),
}

/// One event: what happened, and to what.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// What happened.
    pub kind: EventKind,
    /// The entity.
    pub entity: WebhookEntity,
}

impl WebhookEvent {
    /// Pairs a kind with an entity. The encoder trusts the pair; the parser only produces
    /// matching pairs.
    #[must_use]
    pub fn new(kind: EventKind, entity: WebhookEntity) -> Self {
        Self { kind, entity }
    }

    /// The lead, for lead events.
    #[must_use]
    pub fn lead(&self) -> Option<&WebhookLead> {
        match &self.entity {
            WebhookEntity::Lead(l) => Some(l),
            _ => None,
        }
    }

    /// The contact, for contact events.
    #[must_use]
    pub fn contact(&self) -> Option<&WebhookContact> {
        match &self.entity {
            WebhookEntity::Contact(c) => Some(c),
            _ => None,
        }
    }

    /// The company, for company events.
    #[must_use]
    pub fn company(&self) -> Option<&WebhookContact> {
        match &self.entity {
            WebhookEntity::Company(c) => Some(c),
            _ => None,
        }
    }

    /// The note, for note events.
    #[must_use]
    pub fn note(&self) -> Option<&WebhookNote> {
        match &self.entity {
            WebhookEntity::Note(n) => Some(n),
            _ => None,
        }
    }

    /// The task, for task events.
    #[must_use]
    pub fn task(&self) -> Option<&WebhookTask> {
        match &self.entity {
            WebhookEntity::Task(t) => Some(t),
            _ => None,
        }
    }

    /// The message, for message events.
    #[must_use]
    pub fn message(&self) -> Option<&WebhookMessage> {
        match &self.entity {
            WebhookEntity::Message(m) => Some(m),
            _ => None,
        }
    }

    /// The entity's modification time (`updated_at`, else `last_modified`), where it has one:
    /// use it to drop stale or duplicate deliveries.
    #[must_use]
    pub fn updated_at(&self) -> Option<i64> {
        match &self.entity {
            WebhookEntity::Lead(l) => l.updated_at(),
            WebhookEntity::Contact(c) | WebhookEntity::Company(c) => c.updated_at(),
            WebhookEntity::Note(n) => n.updated_at,
            WebhookEntity::Task(t) => t.updated_at,
            WebhookEntity::Talk(t) => t.updated_at.or(t.created_at),
            WebhookEntity::Message(m) => m.created_at,
            WebhookEntity::Unsorted(u) => u.created_at,
            WebhookEntity::Raw(_) => None,
        }
    }

    /// The id of the entity the event is about, as a raw number (lead, contact, company, task,
    /// note or talk id). Messages and unsorted entries have string ids and return `None`.
    #[must_use]
    pub fn entity_id(&self) -> Option<u64> {
        match &self.entity {
            WebhookEntity::Lead(l) => l.id.map(|i| i.0),
            WebhookEntity::Contact(c) | WebhookEntity::Company(c) => c.id,
            WebhookEntity::Note(n) => n.id.map(|i| i.0),
            WebhookEntity::Task(t) => t.id.map(|i| i.0),
            WebhookEntity::Talk(t) => t.talk_id,
            _ => None,
        }
    }
}

/// The account that sent the webhook (`account[...]`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookAccount {
    /// `account[id]`.
    pub id: Option<AccountId>,
    /// `account[subdomain]`.
    pub subdomain: Option<String>,
    /// `account[_links][self]`, e.g. `https://acme.kommo.com`.
    pub base_url: Option<String>,
    /// Other members.
    pub extra: super::fields::Extra,
}

impl WebhookAccount {
    /// An account with all three identifying fields.
    #[must_use]
    pub fn new(id: AccountId, subdomain: impl Into<String>, base_url: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            subdomain: Some(subdomain.into()),
            base_url: Some(base_url.into()),
            ..Self::default()
        }
    }

    fn from_form(map: FormMap) -> Self {
        let mut f = Fields::new(map);
        let id = f.id("id");
        let subdomain = f.string("subdomain");
        let mut base_url = None;
        if let Some(links) = f.map("_links") {
            let mut l = Fields::new(links);
            base_url = l.string("self");
            let rest = l.into_extra();
            if !rest.is_empty() {
                return Self {
                    id,
                    subdomain,
                    base_url,
                    extra: {
                        let mut e = f.into_extra();
                        let rest: FormMap = rest
                            .into_iter()
                            .map(|(k, v)| (FormKey::from_segment(&k), v))
                            .collect();
                        e.insert("_links".into(), FormNode::Map(rest));
                        e
                    },
                };
            }
        }
        Self {
            id,
            subdomain,
            base_url,
            extra: f.into_extra(),
        }
    }

    pub(crate) fn to_form(&self) -> FormMap {
        let mut w = super::fields::FormWriter::with_extra(&self.extra);
        let mut links = match self.extra.get("_links") {
            Some(FormNode::Map(m)) => m.clone(),
            _ => FormMap::new(),
        };
        if let Some(url) = &self.base_url {
            links.insert(FormKey::Name("self".into()), FormNode::Text(url.clone()));
        }
        w.text("subdomain", self.subdomain.as_deref())
            .num("id", self.id.map(|i| i.0))
            .node(
                "_links",
                (!links.is_empty()).then_some(FormNode::Map(links)),
            );
        w.finish()
    }

    /// Whether the account block was absent or empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.subdomain.is_none()
            && self.base_url.is_none()
            && self.extra.is_empty()
    }
}

/// A parsed webhook delivery: the account, and every event in the body.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct WebhookPayload {
    /// The account that sent it.
    pub account: WebhookAccount,
    /// The events, ordered by group, action and index (never by key order in the body).
    pub events: Vec<WebhookEvent>,
}

impl WebhookPayload {
    /// A payload for an account, with no events yet.
    #[must_use]
    pub fn new(account: WebhookAccount) -> Self {
        Self {
            account,
            events: Vec::new(),
        }
    }

    /// Adds an event (builder style).
    #[must_use]
    pub fn with_event(mut self, kind: EventKind, entity: WebhookEntity) -> Self {
        self.events.push(WebhookEvent::new(kind, entity));
        self
    }

    /// Encodes the payload the way Kommo does (see [`super::encode`]).
    #[must_use]
    pub fn encode(&self) -> String {
        super::encode::encode(self)
    }

    pub(crate) fn from_tree(root: FormMap, limits: &Limits) -> Result<Self, WebhookError> {
        let mut payload = WebhookPayload::default();
        let mut entities = 0usize;
        for (group_key, group_node) in root {
            let group = group_key.text();
            match (&*group, group_node) {
                ("account", FormNode::Map(m)) => payload.account = WebhookAccount::from_form(m),
                (_, FormNode::Map(actions)) => {
                    for (action_key, action_node) in actions {
                        let action = action_key.text();
                        map_action(
                            &group,
                            &action,
                            action_node,
                            limits,
                            &mut entities,
                            &mut payload.events,
                        )?;
                    }
                }
                (_, node @ FormNode::Text(_)) => {
                    count(&mut entities, limits)?;
                    payload.events.push(unknown(&group, "", node));
                }
            }
        }
        Ok(payload)
    }
}

fn count(entities: &mut usize, limits: &Limits) -> Result<(), WebhookError> {
    *entities += 1;
    if *entities > limits.max_entities {
        return Err(WebhookError::TooManyEntities {
            limit: limits.max_entities,
        });
    }
    Ok(())
}

fn unknown(group: &str, action: &str, node: FormNode) -> WebhookEvent {
    WebhookEvent::new(
        EventKind::Unknown {
            group: group.to_owned(),
            action: action.to_owned(),
        },
        WebhookEntity::Raw(node),
    )
}

fn map_action(
    group: &str,
    action: &str,
    node: FormNode,
    limits: &Limits,
    entities: &mut usize,
    out: &mut Vec<WebhookEvent>,
) -> Result<(), WebhookError> {
    let FormNode::Map(items) = node else {
        count(entities, limits)?;
        out.push(unknown(group, action, node));
        return Ok(());
    };
    // Exactly as many events as entities (most bodies carry one): an event is large, and
    // growing the list by the usual steps would ask the allocator for several times that.
    out.reserve_exact(items.len());
    for (index, item) in items {
        check_index(&index, format_args!("{group}[{action}]"), limits)?;
        count(entities, limits)?;
        let FormNode::Map(map) = item else {
            out.push(unknown(group, action, item));
            continue;
        };
        out.push(map_entity(group, action, map, limits)?);
    }
    Ok(())
}

fn map_entity(
    group: &str,
    action: &str,
    map: FormMap,
    limits: &Limits,
) -> Result<WebhookEvent, WebhookError> {
    let event = match group {
        "leads" => match EventKind::lead(action) {
            Some(kind @ EventKind::LeadNoteAdded) => WebhookEvent::new(
                kind,
                WebhookEntity::Note(WebhookNote::from_envelope(map, limits)?),
            ),
            Some(kind) => WebhookEvent::new(
                kind,
                WebhookEntity::Lead(WebhookLead::from_form(map, limits)?),
            ),
            None => unknown(group, action, FormNode::Map(map)),
        },
        "contacts" => {
            let is_company = map
                .get(&FormKey::Name("type".into()))
                .and_then(FormNode::as_text)
                .is_some_and(|t| t == "company");
            match EventKind::contact(action, is_company) {
                Some(kind) if kind.is_note() => WebhookEvent::new(
                    kind,
                    WebhookEntity::Note(WebhookNote::from_envelope(map, limits)?),
                ),
                Some(kind) => {
                    let contact = WebhookContact::from_form(map, limits)?;
                    let entity = if is_company {
                        WebhookEntity::Company(contact)
                    } else {
                        WebhookEntity::Contact(contact)
                    };
                    WebhookEvent::new(kind, entity)
                }
                None => unknown(group, action, FormNode::Map(map)),
            }
        }
        _ => match EventKind::simple(group, action) {
            Some(kind) => {
                let entity = match group {
                    "task" => WebhookEntity::Task(WebhookTask::from_form(map, limits)?),
                    "message" => WebhookEntity::Message(WebhookMessage::from_form(map, limits)?),
                    "talk" => WebhookEntity::Talk(WebhookTalk::from_form(map, limits)?),
                    _ => WebhookEntity::Unsorted(WebhookUnsorted::from_form(map, limits)?),
                };
                WebhookEvent::new(kind, entity)
            }
            None => unknown(group, action, FormNode::Map(map)),
        },
    };
    Ok(event)
}
