//! The reference build of the tree: every pair is decoded, its key split, and the pair walked
//! in from the root. It is the plain statement of the rules; the stream build
//! ([`super::stream`]) must agree with it on every input, and falls back to it for `[]`.

use super::{FormKey, FormMap, FormNode, Limits, WebhookError, decode_pairs, truncate};

/// The segments of a decoded key: `a[b][]` → `["a", "b", ""]`.
pub(super) fn split_key<'k>(key: &'k str, limits: &Limits) -> Result<Vec<&'k str>, WebhookError> {
    let malformed = || WebhookError::MalformedKey { key: truncate(key) };
    let (head, mut rest) = match key.find('[') {
        Some(0) => return Err(malformed()),
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    let mut segments = vec![head];
    while !rest.is_empty() {
        let Some(after_open) = rest.strip_prefix('[') else {
            return Err(malformed());
        };
        let close = after_open.find(']').ok_or_else(malformed)?;
        segments.push(&after_open[..close]);
        if segments.len() > limits.max_depth {
            return Err(WebhookError::DepthExceeded {
                key: truncate(key),
                limit: limits.max_depth,
            });
        }
        rest = &after_open[close + 1..];
    }
    Ok(segments)
}

fn insert(
    root: &mut FormMap,
    segments: &[&str],
    value: String,
    key: &str,
) -> Result<(), WebhookError> {
    let conflict = || WebhookError::Conflict { key: truncate(key) };
    let mut map = root;
    let last = segments.len() - 1;
    for (depth, segment) in segments.iter().enumerate() {
        let form_key = if segment.is_empty() && depth > 0 {
            // `[]` appends after the largest index, like PHP.
            let next = map
                .keys()
                .filter_map(|k| match k {
                    FormKey::Index(i) => Some(*i),
                    FormKey::Name(_) => None,
                })
                .max()
                .map_or(0, |i| i.saturating_add(1));
            FormKey::Index(next)
        } else {
            FormKey::from_segment(segment)
        };
        if depth == last {
            match map.get(&form_key) {
                Some(FormNode::Map(_)) => return Err(conflict()),
                _ => {
                    map.insert(form_key, FormNode::Text(value));
                    return Ok(());
                }
            }
        }
        let node = map.get_or_insert_with(form_key, || FormNode::Map(FormMap::new()));
        match node {
            FormNode::Map(inner) => map = inner,
            FormNode::Text(_) => return Err(conflict()),
        }
    }
    Ok(())
}

/// The straightforward build: every pair walks the tree from the root. It handles `[]`, and
/// the tests check the stream build against it.
pub(super) fn parse_tree_by_insert(body: &[u8], limits: &Limits) -> Result<FormMap, WebhookError> {
    let mut root = FormMap::new();
    for (key, value) in decode_pairs(body, limits)? {
        let segments = split_key(&key, limits)?;
        insert(&mut root, &segments, value, &key)?;
    }
    Ok(root)
}
