//! The sandbox's in-memory store: contacts, catalogue, recorded facts, idempotency keys.
//!
//! Everything sits behind one mutex and handlers never await while holding it, so each request
//! is applied atomically (two concurrent sends with the same idempotency key cannot both pass).
//! Contacts are kept in a `Vec` and searched linearly: a test holds at most thousands of
//! contacts, and one list is far simpler to keep consistent than several indexes.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::config::{Config, MailingListSeed, PropertyKind, TransactionalTemplate};
use super::content::{self, ContentState, Parent};
use super::model::{Contact, IdempotencyConflict, RecordedEvent, RecordedTransactional};
use super::webhooks::WebhookDelivery;
use crate::records::{RequestLog, RequestRecord};

/// Default contact properties, as `GET /v1/contacts/properties` lists them.
pub(crate) const DEFAULT_PROPERTIES: &[(&str, &str, PropertyKind)] = &[
    ("firstName", "First Name", PropertyKind::String),
    ("lastName", "Last Name", PropertyKind::String),
    ("email", "Email", PropertyKind::String),
    ("notes", "Notes", PropertyKind::String),
    ("source", "Source", PropertyKind::String),
    ("userGroup", "User Group", PropertyKind::String),
    ("userId", "User Id", PropertyKind::String),
    ("subscribed", "Subscribed", PropertyKind::Boolean),
    ("createdAt", "Created At", PropertyKind::Date),
];

/// Names Loops refuses for custom properties.
pub(crate) const RESERVED_NAMES: &[&str] = &["id", "listId", "softDeleteAt", "teamId", "updatedAt"];

/// A transactional email with the ids and times the list endpoints show. Its draft and
/// published versions are email messages in the content store.
#[derive(Debug, Clone)]
pub(crate) struct StoredTemplate {
    pub(crate) template: TransactionalTemplate,
    pub(crate) created_at: SystemTime,
    pub(crate) updated_at: SystemTime,
    pub(crate) draft_message_id: Option<String>,
    pub(crate) published_message_id: Option<String>,
    pub(crate) group_id: Option<String>,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) contacts: Vec<Contact>,
    pub(crate) lists: Vec<MailingListSeed>,
    pub(crate) custom_properties: Vec<(String, PropertyKind)>,
    pub(crate) transactional: Vec<StoredTemplate>,
    pub(crate) removal_remaining: u32,
    pub(crate) events: Vec<RecordedEvent>,
    pub(crate) sends: Vec<RecordedTransactional>,
    pub(crate) conflicts: Vec<IdempotencyConflict>,
    pub(crate) requests: RequestLog,
    pub(crate) deliveries: Vec<WebhookDelivery>,
    pub(crate) content: ContentState,
    /// `(endpoint, key)` → when the key may be used again.
    idempotency: HashMap<(String, String), Instant>,
    ids: fastrand::Rng,
}

impl State {
    /// A fresh store holding the configuration's seed data.
    pub(crate) fn new(config: &Config) -> Self {
        let mut state = State {
            contacts: Vec::new(),
            lists: config.lists.clone(),
            custom_properties: config.custom_properties.clone(),
            transactional: Vec::new(),
            removal_remaining: config.removal_quota,
            events: Vec::new(),
            sends: Vec::new(),
            conflicts: Vec::new(),
            requests: RequestLog::default(),
            deliveries: Vec::new(),
            content: ContentState::new(config),
            idempotency: HashMap::new(),
            // Distinct from the fault generator, so that ids do not shift the fault sequence.
            ids: fastrand::Rng::with_seed(config.shared.seed ^ 0x1D5_1D5_1D5),
        };
        state.seed_content_defaults();
        for template in &config.transactional {
            state.add_transactional(template.clone());
        }
        state
    }

    /// A cuid-like id: `c` and 24 lowercase letters or digits.
    pub(crate) fn new_id(&mut self) -> String {
        self.random_string("c", 24)
    }

    /// A webhook message id, `msg_` and 27 letters or digits.
    pub(crate) fn new_message_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let tail: String = (0..27)
            .map(|_| char::from(ALPHABET[self.ids.usize(..ALPHABET.len())]))
            .collect();
        format!("msg_{tail}")
    }

    fn random_string(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let tail: String = (0..len)
            .map(|_| char::from(ALPHABET[self.ids.usize(..ALPHABET.len())]))
            .collect();
        format!("{prefix}{tail}")
    }

    pub(crate) fn by_email(&self, email: &str) -> Option<usize> {
        self.contacts.iter().position(|c| c.matches_email(email))
    }

    pub(crate) fn by_user_id(&self, user_id: &str) -> Option<usize> {
        self.contacts
            .iter()
            .position(|c| c.user_id.as_deref() == Some(user_id))
    }

    pub(crate) fn custom_property(&self, name: &str) -> Option<PropertyKind> {
        self.custom_properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, kind)| *kind)
    }

    pub(crate) fn list_exists(&self, id: &str) -> bool {
        self.lists.iter().any(|l| l.id == id)
    }

    pub(crate) fn template(&self, id: &str) -> Option<&StoredTemplate> {
        self.transactional.iter().find(|t| t.template.id == id)
    }

    /// Adds or replaces a transactional email: a published one has a published message and
    /// no draft, a draft one a draft message only (with a subject, so it can be published).
    pub(crate) fn add_transactional(&mut self, template: TransactionalTemplate) {
        let parent = Parent::Transactional(template.id.clone());
        let (message, _) = self.create_message(parent);
        let (draft_message_id, published_message_id) = if template.published {
            (None, Some(message))
        } else {
            (Some(message), None)
        };
        let group_id = self
            .content
            .transactional_groups
            .first()
            .map(|g| content::id_of(g).to_owned());
        let now = SystemTime::now();
        let stored = StoredTemplate {
            template,
            created_at: now,
            updated_at: now,
            draft_message_id,
            published_message_id,
            group_id,
        };
        match self
            .transactional
            .iter_mut()
            .find(|t| t.template.id == stored.template.id)
        {
            Some(existing) => *existing = stored,
            None => self.transactional.push(stored),
        }
    }

    /// Adds or replaces a mailing list.
    pub(crate) fn add_list(&mut self, list: MailingListSeed) {
        match self.lists.iter_mut().find(|l| l.id == list.id) {
            Some(existing) => *existing = list,
            None => self.lists.push(list),
        }
    }

    /// Whether `key` was used on `endpoint` within the window ending `now`.
    pub(crate) fn key_in_use(&mut self, endpoint: &str, key: &str, now: Instant) -> bool {
        self.idempotency.retain(|_, until| *until > now);
        self.idempotency
            .contains_key(&(endpoint.to_owned(), key.to_owned()))
    }

    /// Remembers `key` on `endpoint` until `now + window`.
    pub(crate) fn remember_key(
        &mut self,
        endpoint: &str,
        key: &str,
        now: Instant,
        window: Duration,
    ) {
        self.idempotency
            .insert((endpoint.to_owned(), key.to_owned()), now + window);
    }

    pub(crate) fn record_request(&mut self, record: RequestRecord) {
        self.requests.record(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_seeded_and_shaped() {
        let config = Config::default().seed(9);
        let mut a = State::new(&config);
        let mut b = State::new(&config);
        let id = a.new_id();
        assert_eq!(id, b.new_id());
        assert_eq!(id.len(), 25);
        assert!(id.starts_with('c'));
        let msg = a.new_message_id();
        assert!(msg.starts_with("msg_") && msg.len() == 31, "{msg}");
    }

    #[test]
    fn keys_expire() {
        let mut state = State::new(&Config::default());
        let t0 = Instant::now();
        let window = Duration::from_secs(60);
        assert!(!state.key_in_use("e", "k", t0));
        state.remember_key("e", "k", t0, window);
        assert!(state.key_in_use("e", "k", t0 + Duration::from_secs(59)));
        assert!(!state.key_in_use("other", "k", t0));
        assert!(!state.key_in_use("e", "k", t0 + window));
    }

    #[test]
    fn templates_and_lists_are_replaced_by_id() {
        let mut state = State::new(&Config::default());
        state.add_transactional(TransactionalTemplate::new("t1", "One"));
        state.add_transactional(TransactionalTemplate::new("t1", "Uno").draft());
        assert_eq!(state.transactional.len(), 1);
        assert_eq!(state.template("t1").unwrap().template.name, "Uno");
        assert!(state.template("t1").unwrap().published_message_id.is_none());
        state.add_list(MailingListSeed::new("l1", "A"));
        state.add_list(MailingListSeed::new("l1", "B"));
        assert_eq!(state.lists.len(), 1);
        assert!(state.list_exists("l1"));
    }
}
