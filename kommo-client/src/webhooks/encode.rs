//! The encoder: typed payloads back to Kommo's wire format.
//!
//! Output is `application/x-www-form-urlencoded` with bracket keys, percent-encoded the way
//! Kommo's PHP senders do (`[` and `]` as `%5B`/`%5D`, space as `+`, UTF-8 bytes as `%XX`).
//! The `account[...]` keys come first, as in current deliveries. Events are numbered from `0`
//! per `group[action]`, in the order given. [`super::parse`] reads the result back to an equal
//! payload (when the payload is in the parser's canonical form, e.g. events already sorted by
//! group and action).

use std::collections::BTreeMap;

use super::events::{WebhookEntity, WebhookPayload};
use super::form::{FormKey, FormMap, FormNode, flatten};

fn merge(into: &mut FormMap, key: FormKey, node: FormNode) {
    match (into.get_mut(&key), node) {
        (Some(FormNode::Map(existing)), FormNode::Map(new)) => {
            for (k, v) in new {
                merge(existing, k, v);
            }
        }
        (_, node) => {
            into.insert(key, node);
        }
    }
}

fn entity_form(entity: &WebhookEntity) -> FormNode {
    FormNode::Map(match entity {
        WebhookEntity::Lead(l) => l.to_form(),
        WebhookEntity::Contact(c) | WebhookEntity::Company(c) => c.to_form(),
        WebhookEntity::Note(n) => n.to_envelope(),
        WebhookEntity::Task(t) => t.to_form(),
        WebhookEntity::Message(m) => m.to_form(),
        WebhookEntity::Talk(t) => t.to_form(),
        WebhookEntity::Unsorted(u) => u.to_form(),
        WebhookEntity::Raw(node) => return node.clone(),
    })
}

/// Builds the bracket tree of a payload (without the account).
#[must_use]
pub fn events_tree(payload: &WebhookPayload) -> FormMap {
    let mut root = FormMap::new();
    let mut next_index: BTreeMap<(String, String), u64> = BTreeMap::new();
    for event in &payload.events {
        let group = FormKey::from_segment(event.kind.group());
        let action = event.kind.action();
        let node = entity_form(&event.entity);
        if action.is_empty() {
            merge(&mut root, group, node);
            continue;
        }
        let counter = next_index
            .entry((event.kind.group().to_owned(), action.to_owned()))
            .or_insert(0);
        let index = *counter;
        *counter += 1;
        let item: FormMap = [(FormKey::Index(index), node)].into();
        let actions: FormMap = [(FormKey::from_segment(action), FormNode::Map(item))].into();
        merge(&mut root, group, FormNode::Map(actions));
    }
    root
}

/// Serializes a tree as a form body (keys in tree order).
#[must_use]
pub fn encode_tree(tree: &FormMap) -> String {
    encode_pairs(flatten(tree))
}

/// Serializes `(bracket key, value)` pairs as a form body, in the given order.
#[must_use]
pub fn encode_pairs<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k.as_ref(), v.as_ref());
    }
    serializer.finish()
}

/// Encodes a payload as Kommo would send it: account first, then the events.
#[must_use]
pub fn encode(payload: &WebhookPayload) -> String {
    let mut pairs = Vec::new();
    if !payload.account.is_empty() {
        let account: FormMap = [(
            FormKey::Name("account".into()),
            FormNode::Map(payload.account.to_form()),
        )]
        .into();
        pairs.extend(flatten(&account));
    }
    pairs.extend(flatten(&events_tree(payload)));
    encode_pairs(pairs)
}
