//! Building Loops actions for one contact, merging upserts for the same contact, and (when
//! the rules allow it) sending each upsert with the event that follows it.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use loops_client::validate::MAX_VALUE_CHARS;
use loops_client::value::PropertyValue;

use super::Mode;
use super::context::KommoContext;
use super::merge::{self, Decision, SUBSCRIBED};
use crate::keys::{KeyBase, PendingKey};
use crate::plan::{
    Action, DataValue, DeleteContact, Explain, SendEvent, SendTransactional, UpsertContact,
};
use crate::rules::{ContactDefaults, KommoAction, RulesInner, UpsertSpec};
use crate::template::{Resolve, Template};
use crate::text::{Decimal, concat_quoted};
use crate::value::Val;

/// Contact properties the engine names itself, shared by every plan.
struct Names {
    first_name: Arc<str>,
    last_name: Arc<str>,
    source: Arc<str>,
    user_group: Arc<str>,
    subscribed: Arc<str>,
}

static NAMES: LazyLock<Names> = LazyLock::new(|| Names {
    first_name: "firstName".into(),
    last_name: "lastName".into(),
    source: "source".into(),
    user_group: "userGroup".into(),
    subscribed: SUBSCRIBED.into(),
});

/// The contact one set of actions is for.
#[derive(Debug, Clone)]
pub(crate) struct Recipient<'a> {
    pub(crate) ctx: KommoContext<'a>,
    pub(crate) email: &'a str,
    pub(crate) user_id: Option<&'a str>,
    pub(crate) kommo_contact_id: Option<u64>,
    /// The email last synced for this contact, when it differs from `email`.
    pub(crate) previous_email: Option<&'a str>,
}

impl Recipient<'_> {
    /// Upserts for the same Loops contact merge into one.
    fn merge_key(&self) -> MergeKey {
        match self.kommo_contact_id {
            Some(id) => MergeKey::Contact(id),
            None => MergeKey::Email(self.email.to_lowercase()),
        }
    }
}

/// Which Loops contact an upsert is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MergeKey {
    Contact(u64),
    Email(String),
}

/// The rule an action comes from, and where its line of the explain trace will be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub(crate) rule: &'a Arc<str>,
    pub(crate) explain_slot: usize,
}

/// Collects the actions of one plan in order.
#[derive(Debug)]
pub(crate) struct ActionsBuilder<'r> {
    rules: &'r RulesInner,
    mode: Mode,
    /// Whether upserts travel with the event after them.
    merge_into_events: bool,
    actions: Vec<Action>,
    /// The explain slot of each action's rule, in step with `actions`.
    slots: Vec<usize>,
    /// Each contact's upsert: where it is in `actions`, and its properties in two layers, so
    /// a later rule's defaults never override an earlier rule's own values. The action's
    /// properties are filled from the layers once, in `finish`. A plan has a handful of
    /// contacts, so a list beats a map.
    upserts: Vec<MergedUpsert>,
    /// The event of the delivery whose rules are being added.
    event: usize,
}

#[derive(Debug)]
struct MergedUpsert {
    merge_key: MergeKey,
    index: usize,
    /// The event whose context `base` was rendered in.
    base_event: usize,
    /// Names and `[contact]` defaults.
    base: BTreeMap<Arc<str>, PropertyValue>,
    /// What the rules themselves said (a later rule wins).
    own: BTreeMap<Arc<str>, PropertyValue>,
    /// Its key, finished only if the upsert stays its own call.
    key: PendingKey,
    /// It replaces the contact's email.
    email_change: bool,
}

impl<'r> ActionsBuilder<'r> {
    pub(crate) fn new(rules: &'r RulesInner, mode: Mode, merge_into_events: bool) -> Self {
        ActionsBuilder {
            rules,
            mode,
            merge_into_events,
            actions: Vec::new(),
            slots: Vec::new(),
            upserts: Vec::new(),
            event: 0,
        }
    }

    /// The rules added from now on are for the delivery's event number `index`.
    pub(crate) fn start_event(&mut self, index: usize) {
        self.event = index;
    }

    fn push(&mut self, action: Action, slot: usize) {
        self.actions.push(action);
        self.slots.push(slot);
    }

    /// The plan's actions; notes about merges go to the rules' lines in `explain`.
    pub(crate) fn finish(mut self, explain: &mut [Explain]) -> Vec<Action> {
        let mut merges = 0;
        for merged in self.upserts {
            let index = merged.index;
            if let Action::UpsertContact(upsert) = &mut self.actions[index] {
                let mut properties = merged.base;
                properties.extend(merged.own);
                upsert.properties = properties;
            }
            let decision = if self.merge_into_events {
                merge::decide(&self.actions, index, merged.email_change)
            } else {
                Decision::Keep(None)
            };
            let mut note = |slot: usize, text: String| {
                if let Some(line) = explain.get_mut(slot) {
                    line.notes.push(text);
                }
            };
            match decision {
                Decision::Merge(event) => {
                    if merge::apply(&mut self.actions, index, event) {
                        merges += 1;
                        if let Action::SendEvent(carrier) = &self.actions[event] {
                            merge_notes(carrier, self.slots[index], self.slots[event], note);
                        }
                        continue;
                    }
                }
                Decision::Keep(Some(why)) => note(self.slots[index], why),
                Decision::Keep(None) => {}
            }
            if let Action::UpsertContact(upsert) = &mut self.actions[index] {
                upsert.idempotency_key = merged.key.finish();
            }
        }
        let mut actions = self.actions;
        if merges > 0 {
            // Every kept upsert has its key by now; the merged ones are the empty shells.
            actions
                .retain(|a| !matches!(a, Action::UpsertContact(u) if u.idempotency_key.is_empty()));
        }
        actions
    }

    /// Adds the actions of one matched rule for one recipient; `notes` explain drops.
    pub(crate) fn add_rule(
        &mut self,
        origin: Origin<'_>,
        actions: &[KommoAction],
        recipient: &Recipient<'_>,
        keys: &KeyBase,
        stale: bool,
        notes: &mut Vec<String>,
    ) {
        let rule = origin.rule;
        let slot = origin.explain_slot;
        let contact_id = recipient.kommo_contact_id.map(Decimal::new);
        let discriminator = contact_id.as_ref().map_or(recipient.email, Decimal::as_str);
        for (index, action) in actions.iter().enumerate() {
            match action {
                KommoAction::UpsertContact(_) if stale => notes.push(
                    "upsert dropped: a newer change of this entity was already synced, and this older event must not overwrite it"
                        .to_owned(),
                ),
                KommoAction::UpsertContact(spec) => {
                    // Finished only if the upsert is kept: a merged one needs none.
                    let key = || keys.pending(rule, index, discriminator);
                    self.upsert(origin, spec, recipient, key, keys, notes)
                }
                KommoAction::SendEvent { event, properties } => {
                    if self.mode == Mode::Backfill {
                        notes.push(format!(
                            "send_event {event:?} dropped: backfill mode never sends"
                        ));
                        continue;
                    }
                    let event_properties =
                        render_properties(properties, &recipient.ctx, notes, "event property");
                    let action = Action::SendEvent(SendEvent {
                        idempotency_key: keys.key(rule, index, discriminator),
                        email: recipient.email.to_owned(),
                        user_id: recipient.user_id.map(str::to_owned),
                        event_name: Arc::clone(event),
                        event_properties,
                        contact_properties: BTreeMap::new(),
                        mailing_lists: BTreeMap::new(),
                        kommo_contact_id: None,
                        upsert_rule: None,
                        rule: Arc::clone(rule),
                    });
                    self.push(action, slot);
                }
                KommoAction::SendTransactional {
                    id,
                    data,
                    add_to_audience,
                } => {
                    if self.mode == Mode::Backfill {
                        notes.push(format!(
                            "send_transactional {id:?} dropped: backfill mode never sends"
                        ));
                        continue;
                    }
                    let mut data_variables = BTreeMap::new();
                    for (name, template) in data {
                        let mut why = Vec::new();
                        let value = match template.render_value(&recipient.ctx, &mut why) {
                            Some(Val::Number(n)) => DataValue::Number(n),
                            Some(Val::Date(ms)) => DataValue::Number(ms.into()),
                            Some(v) => DataValue::String(clip(name, v.into_text(), notes)),
                            None => DataValue::String(String::new()),
                        };
                        for w in why {
                            notes.push(format!("data variable {name}: {w}; sent as \"\""));
                        }
                        data_variables.insert(Arc::clone(name), value);
                    }
                    let action = Action::SendTransactional(SendTransactional {
                        idempotency_key: keys.key(rule, index, discriminator),
                        email: recipient.email.to_owned(),
                        transactional_id: Arc::clone(id),
                        data_variables,
                        add_to_audience: *add_to_audience,
                        rule: Arc::clone(rule),
                    });
                    self.push(action, slot);
                }
            }
        }
    }

    fn upsert(
        &mut self,
        origin: Origin<'_>,
        spec: &UpsertSpec,
        recipient: &Recipient<'_>,
        key: impl FnOnce() -> PendingKey,
        keys: &KeyBase,
        notes: &mut Vec<String>,
    ) {
        let rule = origin.rule;
        let defaults = &self.rules.contact;
        let merge_key = recipient.merge_key();
        let existing = self.upserts.iter().position(|m| m.merge_key == merge_key);
        // Names and defaults depend only on the contact and the event, so an upsert that
        // another rule of the same event started already holds them: not rendered again.
        let base_known = existing.is_some_and(|i| self.upserts[i].base_event == self.event);
        let base = if base_known {
            BTreeMap::new()
        } else {
            render_base(defaults, recipient, notes)
        };
        let mut own = BTreeMap::new();
        render_layer(
            &mut own,
            &spec.source,
            &spec.user_group,
            &spec.properties,
            &recipient.ctx,
            notes,
        );
        if let Some(subscribed) = spec.subscribed {
            // Only ever set because the rule asked for it.
            own.insert(
                Arc::clone(&NAMES.subscribed),
                PropertyValue::Bool(subscribed),
            );
        }
        let mut mailing_lists = defaults.mailing_lists.clone();
        mailing_lists.extend(spec.mailing_lists.iter().map(|(k, v)| (k.clone(), *v)));

        if let Some(merged) = existing.map(|i| &mut self.upserts[i]) {
            merged.base.extend(base);
            merged.base_event = self.event;
            merged.own.extend(own);
            if let Action::UpsertContact(existing) = &mut self.actions[merged.index] {
                existing.mailing_lists.extend(mailing_lists);
                notes.push(concat_quoted(&[
                    ("upsert merged into the one from rule ", false),
                    (&existing.rule, true),
                ]));
            }
            return;
        }
        // The old address is deleted only when the contact has no userId to update it by.
        let replaced = recipient
            .previous_email
            .filter(|_| recipient.user_id.is_none());
        let delete_key = replaced.map(|old| {
            let discriminator = match &merge_key {
                MergeKey::Contact(id) => format!("contact:{id}:delete:{}", old.to_lowercase()),
                MergeKey::Email(email) => format!("email:{email}:delete:{}", old.to_lowercase()),
            };
            keys.key(rule, usize::MAX, &discriminator)
        });
        self.upserts.push(MergedUpsert {
            merge_key,
            index: self.actions.len(),
            base_event: self.event,
            base,
            own,
            key: key(),
            email_change: recipient.previous_email.is_some(),
        });
        let action = Action::UpsertContact(UpsertContact {
            // Both filled in `finish`, once every rule has had its say.
            idempotency_key: String::new(),
            email: recipient.email.to_owned(),
            user_id: recipient.user_id.map(str::to_owned),
            properties: BTreeMap::new(),
            mailing_lists,
            kommo_contact_id: recipient.kommo_contact_id,
            rule: Arc::clone(rule),
        });
        self.push(action, origin.explain_slot);

        match (recipient.previous_email, delete_key) {
            (Some(old), Some(idempotency_key)) => {
                notes.push(format!(
                    "email changed from {old} to {}: the new contact is upserted and the old one deleted",
                    recipient.email
                ));
                let action = Action::DeleteContact(DeleteContact {
                    idempotency_key,
                    email: Some(old.to_owned()),
                    user_id: None,
                    rule: Arc::clone(rule),
                });
                self.push(action, origin.explain_slot);
            }
            (Some(old), None) => notes.push(format!(
                "email changed from {old} to {}: updated in place by userId",
                recipient.email
            )),
            (None, _) => {}
        }
    }
}

/// Tells both rules' lines of the trace (or the one line, when one rule did both) that an
/// upsert travels with an event.
fn merge_notes(
    event: &SendEvent,
    upsert_slot: usize,
    event_slot: usize,
    mut note: impl FnMut(usize, String),
) {
    // On most plans now, so written without the formatter.
    let name: &str = &event.event_name;
    if upsert_slot == event_slot {
        let text = concat_quoted(&[
            ("upsert merged into send_event ", false),
            (name, true),
            (": one call to Loops", false),
        ]);
        note(upsert_slot, text);
        return;
    }
    let text = concat_quoted(&[
        ("upsert merged into send_event ", false),
        (name, true),
        (" of rule ", false),
        (&event.rule, true),
        (": one call to Loops", false),
    ]);
    note(upsert_slot, text);
    let text = concat_quoted(&[
        ("send_event ", false),
        (name, true),
        (" carries the upsert of rule ", false),
        (event.upsert_rule.as_deref().unwrap_or_default(), true),
    ]);
    note(event_slot, text);
}

/// The names of the contact and the `[contact]` defaults.
fn render_base(
    defaults: &ContactDefaults,
    recipient: &Recipient<'_>,
    notes: &mut Vec<String>,
) -> BTreeMap<Arc<str>, PropertyValue> {
    let mut base = BTreeMap::new();
    if let Some(contact) = recipient.ctx.contact {
        let (first, last) = contact.names();
        for (name, value) in [(&NAMES.first_name, first), (&NAMES.last_name, last)] {
            if let Some(value) = value {
                let value = clip(name, value.to_owned(), notes);
                base.insert(Arc::clone(name), PropertyValue::String(value));
            }
        }
    }
    render_layer(
        &mut base,
        &defaults.source,
        &defaults.user_group,
        &defaults.properties,
        &recipient.ctx,
        notes,
    );
    base
}

/// Renders `source`, `userGroup` and the properties of one layer into `into`.
fn render_layer(
    into: &mut BTreeMap<Arc<str>, PropertyValue>,
    source: &Option<Template>,
    user_group: &Option<Template>,
    properties: &BTreeMap<Arc<str>, Template>,
    data: &dyn Resolve,
    notes: &mut Vec<String>,
) {
    for (name, template) in [(&NAMES.source, source), (&NAMES.user_group, user_group)] {
        if let Some(template) = template
            && let Some(v) = render_one(name, template, data, notes, "property")
        {
            into.insert(Arc::clone(name), v);
        }
    }
    for (name, template) in properties {
        if let Some(v) = render_one(name, template, data, notes, "property") {
            into.insert(Arc::clone(name), v);
        }
    }
}

fn render_one(
    name: &str,
    template: &Template,
    data: &dyn Resolve,
    notes: &mut Vec<String>,
    what: &str,
) -> Option<PropertyValue> {
    let mut why = Vec::new();
    let value = template.render_value(data, &mut why);
    for w in why {
        if value.is_some() {
            notes.push(format!("{what} {name}: {w}; rendered as nothing"));
        } else {
            notes.push(format!("{what} {name} dropped: {w}"));
        }
    }
    Some(match value? {
        Val::Text(s) => {
            let s = clip(name, s, notes);
            PropertyValue::String(s)
        }
        Val::Number(n) => PropertyValue::Number(n),
        Val::Bool(b) => PropertyValue::Bool(b),
        Val::Date(ms) => PropertyValue::Date(ms),
    })
}

fn render_properties(
    templates: &BTreeMap<Arc<str>, Template>,
    data: &dyn Resolve,
    notes: &mut Vec<String>,
    what: &str,
) -> BTreeMap<Arc<str>, PropertyValue> {
    templates
        .iter()
        .filter_map(|(name, template)| {
            render_one(name, template, data, notes, what).map(|v| (Arc::clone(name), v))
        })
        .collect()
}

/// Loops refuses values over 500 characters (quotes included); cut them rather than fail
/// the whole action, and say so.
fn clip(name: &str, value: String, notes: &mut Vec<String>) -> String {
    let max = MAX_VALUE_CHARS - 2;
    if value.len() <= max || value.chars().count() <= max {
        return value;
    }
    notes.push(format!("{name}: cut to {max} characters (the Loops limit)"));
    value.chars().take(max).collect()
}
