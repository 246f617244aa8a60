//! Coalescing at claim time: which pending upserts fold into the upsert a worker claims.
//!
//! A worker that claims the head of a partition, when that head upserts a Loops contact, also
//! leases the upserts of the same contact that directly follow it (a burst of edits) and sends
//! one call with the final properties. The decision is this pure function, shared by every
//! store, so the three apply the same rule; each store runs it inside its claim (the same
//! transaction, under the same partition lock), so no other claimer can take a folded item.

use crate::plan::{Action, UpsertContact};

use super::{Item, ItemState, Job};

/// The most items folded into one claimed upsert. Loops takes any number of properties in one
/// call; the bound keeps one claim's read (and one failed call's blast radius) small.
pub(crate) const MAX_FOLDED: usize = 50;

/// The upsert an item executes, if that is what it does.
fn upsert(item: &Item) -> Option<&UpsertContact> {
    match &item.job {
        Job::Execute {
            action: Action::UpsertContact(upsert),
        } => Some(upsert),
        _ => None,
    }
}

/// Whether `item` may have upserts folded into it (the stores skip the read otherwise).
pub(crate) fn may_fold(item: &Item) -> bool {
    upsert(item).is_some()
}

/// Whether `next` is the same contact as `head`, sent to Loops the same way and synced from
/// the same Kommo contact (so one call, and one synced-email record, stands for both).
fn same_contact(head: &UpsertContact, next: &UpsertContact) -> bool {
    head.email == next.email
        && head.user_id == next.user_id
        && head.kommo_contact_id == next.kommo_contact_id
}

/// How many of `following` fold into `head`: `following` holds the unfinished items after
/// `head` in its partition, oldest first; the answer is the length of the prefix that folds.
///
/// An item folds when it is an upsert of the same contact and could run now (pending and due,
/// or leased under a lease that expired: the claim only looks at partitions without a live
/// lease). The first item that does not fold ends the run, so an upsert never moves past an
/// event, a delete or anything else of its partition.
pub(crate) fn foldable(head: &Item, following: &[Item], now_ms: i64) -> usize {
    let Some(head) = upsert(head) else {
        return 0;
    };
    following
        .iter()
        .take(MAX_FOLDED)
        .take_while(|item| {
            let due = match item.state {
                ItemState::Pending => item.not_before_ms <= now_ms,
                ItemState::Leased => true,
                _ => false,
            };
            due && upsert(item).is_some_and(|next| same_contact(head, next))
        })
        .count()
}

/// The one upsert that stands for `head` and the upserts folded into it: the head's identity
/// and key, every property and mailing list with later values winning (as the engine merges
/// two upserts of one plan).
pub(crate) fn coalesce<'a>(
    head: &UpsertContact,
    folded: impl IntoIterator<Item = &'a UpsertContact>,
) -> UpsertContact {
    let mut merged = head.clone();
    for next in folded {
        merged
            .properties
            .extend(next.properties.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged
            .mailing_lists
            .extend(next.mailing_lists.iter().map(|(k, v)| (k.clone(), *v)));
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use loops_client::value::PropertyValue;

    fn upsert_item(id: i64, email: &str, props: &[(&str, &str)]) -> Item {
        let action: Action = serde_json::from_value(serde_json::json!({
            "type": "loops.upsert_contact",
            "idempotencyKey": format!("u{id}"),
            "email": email,
            "properties": props.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                .collect::<serde_json::Map<_, _>>(),
            "kommoContactId": 5,
        }))
        .expect("an upsert");
        item(id, Job::Execute { action })
    }

    fn item(id: i64, job: Job) -> Item {
        Item {
            id,
            key: format!("k{id}"),
            partition: "loops:a@example.com".into(),
            lane: job.lane(),
            job,
            source: "test".into(),
            state: ItemState::Pending,
            attempts: Vec::new(),
            not_before_ms: 0,
            created_at_ms: 0,
            dead_reason: None,
            folded: Vec::new(),
        }
    }

    fn event(id: i64) -> Item {
        let action: Action = serde_json::from_value(serde_json::json!({
            "type": "loops.send_event",
            "idempotencyKey": format!("e{id}"),
            "email": "a@example.com",
            "eventName": "trial",
        }))
        .expect("an event");
        item(id, Job::Execute { action })
    }

    #[test]
    fn foldable_table() {
        let u = |id| upsert_item(id, "a@example.com", &[]);
        let later = |mut i: Item| {
            i.not_before_ms = 10_000;
            i
        };
        let leased = |mut i: Item| {
            i.state = ItemState::Leased;
            i
        };
        let other_contact = |id| {
            let mut i = upsert_item(id, "a@example.com", &[]);
            if let Job::Execute {
                action: Action::UpsertContact(a),
            } = &mut i.job
            {
                a.kommo_contact_id = Some(6);
            }
            i
        };
        let cases: Vec<(&str, Item, Vec<Item>, usize)> = vec![
            ("nothing follows", u(1), vec![], 0),
            ("a burst folds", u(1), vec![u(2), u(3), u(4)], 3),
            ("an event ends the run", u(1), vec![u(2), event(3), u(4)], 1),
            ("an event first: nothing", u(1), vec![event(2), u(3)], 0),
            ("the head is an event", event(1), vec![u(2), u(3)], 0),
            (
                "another email",
                u(1),
                vec![upsert_item(2, "b@example.com", &[])],
                0,
            ),
            (
                "another Kommo contact",
                u(1),
                vec![u(2), other_contact(3)],
                1,
            ),
            ("not yet due", u(1), vec![u(2), later(u(3)), u(4)], 1),
            ("an expired lease", u(1), vec![leased(u(2))], 1),
            ("bounded", u(0), (1..=80).map(u).collect(), MAX_FOLDED),
        ];
        for (name, head, following, expected) in cases {
            assert_eq!(foldable(&head, &following, 5_000), expected, "{name}");
        }
    }

    #[test]
    fn later_values_win() {
        let head = upsert_item(
            1,
            "a@example.com",
            &[("firstName", "Ann"), ("plan", "free")],
        );
        let next = upsert_item(2, "a@example.com", &[("plan", "pro")]);
        let last = upsert_item(3, "a@example.com", &[("plan", "team"), ("city", "Oslo")]);
        let as_upsert = |i: &Item| upsert(i).cloned().expect("an upsert");
        let (head, next, last) = (as_upsert(&head), as_upsert(&next), as_upsert(&last));
        let merged = coalesce(&head, [&next, &last]);
        assert_eq!(merged.idempotency_key, "u1");
        let props: Vec<(String, PropertyValue)> = merged
            .properties
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(
            props,
            vec![
                ("city".into(), PropertyValue::from("Oslo")),
                ("firstName".into(), PropertyValue::from("Ann")),
                ("plan".into(), PropertyValue::from("team")),
            ]
        );
    }
}
