//! Merging a contact's upsert into the event that follows it: one `POST /v1/events/send`
//! carrying the contact properties and mailing lists, instead of `PUT /v1/contacts/update`
//! and then the event. Loops applies them to the contact (creating it if needed) before the
//! event starts its workflows, which is what the two calls in a row did.
//!
//! An upsert keeps its own call when:
//!
//! - no event of the same contact follows it in the plan (nothing to travel with);
//! - another action of the contact comes between them (a transactional send, a delete, an
//!   upsert for a duplicate Kommo contact with the same email): moving the update past it
//!   would change what that action meets in Loops;
//! - the event names the contact differently (another email, another or no `userId`);
//! - it sets `subscribed`: Loops documents what it does (re-subscribing someone who
//!   unsubscribed) for contact updates only, so a rule's explicit (un)subscription never
//!   depends on behaviour the events endpoint does not promise;
//! - it changes the contact's email (the old address is deleted, or the `userId` moves the
//!   contact to the new one): that stays on the contact update, as documented.

use std::mem;
use std::sync::Arc;

use crate::plan::{Action, SendEvent, UpsertContact};

/// The property name that (un)subscribes a contact.
pub(super) const SUBSCRIBED: &str = "subscribed";

/// What happens to one upsert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    /// It travels with the event at this index.
    Merge(usize),
    /// It stays its own call; why, when an event of the contact follows it (otherwise there
    /// was nothing to merge into, which needs no explanation).
    Keep(Option<String>),
}

/// Decides for the upsert at `index`; `email_change` says it replaces the contact's email.
pub(super) fn decide(actions: &[Action], index: usize, email_change: bool) -> Decision {
    let Some(Action::UpsertContact(upsert)) = actions.get(index) else {
        return Decision::Keep(None);
    };
    let mut same_contact = actions
        .iter()
        .enumerate()
        .skip(index + 1)
        .filter(|(_, action)| touches(action, upsert));
    let Some((next_index, next)) = same_contact.next() else {
        return Decision::Keep(None);
    };
    let event_follows = matches!(next, Action::SendEvent(_))
        || same_contact.any(|(_, action)| matches!(action, Action::SendEvent(_)));
    if !event_follows {
        return Decision::Keep(None);
    }
    let why = if upsert.properties.contains_key(SUBSCRIBED) {
        "it sets `subscribed`, whose effect Loops documents for contact updates only".into()
    } else if email_change {
        "it changes the contact's email, which stays on the contact update".into()
    } else {
        match next {
            Action::SendEvent(event) if can_carry(event, upsert) => {
                return Decision::Merge(next_index);
            }
            Action::SendEvent(_) => "the event after it names the contact differently".into(),
            other => format!(
                "a {} for the contact comes before its event, and must still find the contact as it was",
                other.kind()
            ),
        }
    };
    Decision::Keep(Some(format!("upsert kept as its own call: {why}")))
}

/// Moves the upsert at `upsert` into the event at `event` (after it); the upsert is left
/// empty, for the caller to remove. False (and nothing moved) when those are not an upsert
/// and a later event that carries none yet.
pub(super) fn apply(actions: &mut [Action], upsert: usize, event: usize) -> bool {
    if upsert >= event || event >= actions.len() {
        return false;
    }
    let (head, tail) = actions.split_at_mut(event);
    let (Action::UpsertContact(from), Action::SendEvent(into)) = (&mut head[upsert], &mut tail[0])
    else {
        return false;
    };
    if into.carries_upsert() {
        return false;
    }
    into.contact_properties = mem::take(&mut from.properties);
    into.mailing_lists = mem::take(&mut from.mailing_lists);
    into.kommo_contact_id = from.kommo_contact_id;
    into.upsert_rule = Some(Arc::clone(&from.rule));
    true
}

/// The same Loops identity exactly, and nothing merged into the event yet.
fn can_carry(event: &SendEvent, upsert: &UpsertContact) -> bool {
    event.email == upsert.email && event.user_id == upsert.user_id && !event.carries_upsert()
}

/// Whether a Loops action concerns the upsert's contact (by email, as Loops matches it, or
/// by `userId`).
fn touches(action: &Action, upsert: &UpsertContact) -> bool {
    let same_user = |user_id: Option<&str>| {
        upsert.user_id.is_some() && user_id.is_some() && upsert.user_id.as_deref() == user_id
    };
    let same_email = |email: &str| email.eq_ignore_ascii_case(&upsert.email);
    match action {
        Action::UpsertContact(a) => same_email(&a.email) || same_user(a.user_id.as_deref()),
        Action::SendEvent(a) => same_email(&a.email) || same_user(a.user_id.as_deref()),
        Action::SendTransactional(a) => same_email(&a.email),
        Action::DeleteContact(a) => {
            a.email.as_deref().is_some_and(same_email) || same_user(a.user_id.as_deref())
        }
        Action::AddNote(_) | Action::AddTask(_) | Action::AddTags(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use loops_client::value::PropertyValue;

    use super::*;
    use crate::plan::{DeleteContact, SendTransactional};

    fn upsert(email: &str, user_id: Option<&str>) -> Action {
        Action::UpsertContact(UpsertContact {
            idempotency_key: String::new(),
            email: email.into(),
            user_id: user_id.map(Into::into),
            properties: BTreeMap::from([("plan".into(), PropertyValue::from("pro"))]),
            mailing_lists: BTreeMap::from([("list_1".to_owned(), true)]),
            kommo_contact_id: Some(7),
            rule: "trial".into(),
        })
    }

    fn subscribing(email: &str) -> Action {
        let mut action = upsert(email, None);
        if let Action::UpsertContact(u) = &mut action {
            u.properties
                .insert(SUBSCRIBED.into(), PropertyValue::Bool(true));
        }
        action
    }

    fn event(email: &str, user_id: Option<&str>) -> Action {
        Action::SendEvent(SendEvent {
            idempotency_key: "k-event".into(),
            email: email.into(),
            user_id: user_id.map(Into::into),
            event_name: "trial_started".into(),
            event_properties: BTreeMap::new(),
            contact_properties: BTreeMap::new(),
            mailing_lists: BTreeMap::new(),
            kommo_contact_id: None,
            upsert_rule: None,
            rule: "trial".into(),
        })
    }

    fn transactional(email: &str) -> Action {
        Action::SendTransactional(SendTransactional {
            idempotency_key: "k-tx".into(),
            email: email.into(),
            transactional_id: "cl_welcome".into(),
            data_variables: BTreeMap::new(),
            add_to_audience: None,
            rule: "won".into(),
        })
    }

    fn delete(email: &str) -> Action {
        Action::DeleteContact(DeleteContact {
            idempotency_key: "k-del".into(),
            email: Some(email.into()),
            user_id: None,
            rule: "r".into(),
        })
    }

    /// The decision for the plan's first action, and a fragment of the reason when kept.
    #[test]
    fn decision_table() {
        type Row = (
            &'static str,
            Vec<Action>,
            bool,
            Result<usize, Option<&'static str>>,
        );
        let ada = "ada@acme.io";
        let table: Vec<Row> = vec![
            (
                "upsert then its event",
                vec![upsert(ada, None), event(ada, None)],
                false,
                Ok(1),
            ),
            (
                "with a userId on both",
                vec![upsert(ada, Some("u1")), event(ada, Some("u1"))],
                false,
                Ok(1),
            ),
            (
                "another contact's actions in between do not matter",
                vec![
                    upsert(ada, None),
                    upsert("bob@acme.io", None),
                    transactional("bob@acme.io"),
                    event(ada, None),
                ],
                false,
                Ok(3),
            ),
            (
                "no event follows",
                vec![upsert(ada, None)],
                false,
                Err(None),
            ),
            (
                "only another contact's event follows",
                vec![upsert(ada, None), event("bob@acme.io", None)],
                false,
                Err(None),
            ),
            (
                "only a transactional follows",
                vec![upsert(ada, None), transactional(ada)],
                false,
                Err(None),
            ),
            (
                "a transactional in between",
                vec![upsert(ada, None), transactional(ada), event(ada, None)],
                false,
                Err(Some(
                    "a loops.send_transactional for the contact comes before",
                )),
            ),
            (
                "a delete of the same address in between",
                vec![upsert(ada, None), delete(ada), event(ada, None)],
                false,
                Err(Some("a loops.delete_contact")),
            ),
            (
                "a duplicate Kommo contact's upsert in between",
                vec![upsert(ada, None), upsert(ada, None), event(ada, None)],
                false,
                Err(Some("a loops.upsert_contact")),
            ),
            (
                "the same email in other letters is the same contact, but not the same identity",
                vec![upsert(ada, None), event("Ada@Acme.io", None)],
                false,
                Err(Some("names the contact differently")),
            ),
            (
                "the event has no userId",
                vec![upsert(ada, Some("u1")), event(ada, None)],
                false,
                Err(Some("names the contact differently")),
            ),
            (
                "the event is for the same userId under another email",
                vec![upsert(ada, Some("u1")), event("new@acme.io", Some("u1"))],
                false,
                Err(Some("names the contact differently")),
            ),
            (
                "subscribed stays on the contact update",
                vec![subscribing(ada), event(ada, None)],
                false,
                Err(Some("`subscribed`")),
            ),
            (
                "an email change stays on the contact update",
                vec![upsert(ada, Some("u1")), event(ada, Some("u1"))],
                true,
                Err(Some("changes the contact's email")),
            ),
        ];
        for (name, actions, email_change, expected) in table {
            let got = decide(&actions, 0, email_change);
            match (&got, expected) {
                (Decision::Merge(i), Ok(j)) => assert_eq!(*i, j, "{name}"),
                (Decision::Keep(None), Err(None)) => {}
                (Decision::Keep(Some(why)), Err(Some(fragment))) => {
                    assert!(why.contains(fragment), "{name}: {why}");
                    assert!(why.starts_with("upsert kept as its own call: "), "{name}");
                }
                _ => panic!("{name}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn an_event_carries_one_upsert_at_most() {
        let ada = "ada@acme.io";
        let mut actions = vec![upsert(ada, None), event(ada, None)];
        assert!(apply(&mut actions, 0, 1));
        actions.insert(1, upsert(ada, None));
        assert_eq!(
            decide(&actions, 1, false),
            Decision::Keep(Some(
                "upsert kept as its own call: the event after it names the contact differently"
                    .into()
            ))
        );
    }

    #[test]
    fn merging_moves_the_contact_data_into_the_event() {
        let ada = "ada@acme.io";
        let mut actions = vec![upsert(ada, Some("u1")), event(ada, Some("u1"))];
        assert!(apply(&mut actions, 0, 1));
        let Action::SendEvent(event) = &actions[1] else {
            panic!()
        };
        assert_eq!(event.contact_properties["plan"], PropertyValue::from("pro"));
        assert!(event.mailing_lists["list_1"]);
        assert_eq!(event.kommo_contact_id, Some(7));
        assert_eq!(event.upsert_rule.as_deref(), Some("trial"));
        assert_eq!(event.idempotency_key, "k-event", "the event's key");
        // Applying out of order or to other kinds does nothing.
        assert!(!apply(&mut actions, 1, 0));
        assert!(!apply(&mut actions, 0, 5));
        assert!(!apply(&mut actions, 0, 1), "the event already carries one");
    }
}
