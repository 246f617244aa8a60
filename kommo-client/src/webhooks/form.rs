//! The bracket-key tree: `application/x-www-form-urlencoded` pairs with PHP-style keys
//! (`leads[status][0][custom_fields][1][values][0]=…`) decoded into a tree of [`FormNode`]s.
//!
//! Rules (PHP's `parse_str` where it is sane, an error where it is not):
//!
//! - Pairs are split on `&`; a pair without `=` has the empty value; empty pairs and pairs with
//!   an empty key are skipped (PHP does the same).
//! - `+` decodes to a space and `%XX` to a byte; a `%` not followed by two hex digits is kept
//!   literally. After decoding, keys and values must be valid UTF-8, or the body is rejected.
//! - A key is `name` followed by zero or more `[segment]`s. Anything else after a `]`, or a
//!   missing `]`, is [`WebhookError::MalformedKey`].
//! - A segment that is a canonical decimal number fitting in `u64` becomes [`FormKey::Index`];
//!   maps are sparse, so `[99999999999]` allocates nothing. (Index *limits* apply where the
//!   typed layer expects a list: entities, custom fields, values and tags. Ids used as keys,
//!   like `linked_leads_id[15319601]`, are legitimately large.) `[]` appends after the largest
//!   index present, as PHP does.
//! - Duplicate keys: the last value wins (PHP semantics).
//! - A path that is both a value and a map (`a[b]=1&a[b][c]=2`) is
//!   [`WebhookError::Conflict`], whatever the order.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use super::{Limits, WebhookError};

/// One key segment.
///
/// Ordering: indices first, by number; then names, by string. Sparse indices therefore come out
/// in numeric order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormKey {
    /// A canonical decimal segment (`[0]`, `[15319601]`).
    Index(u64),
    /// Any other segment (`[status]`, `[007]`). The names Kommo uses are borrowed from a
    /// static vocabulary, so parsing and looking them up allocates nothing.
    Name(Cow<'static, str>),
}

/// The names Kommo webhooks are known to use come back borrowed, so the tree holds no copy.
fn intern(segment: &str) -> Cow<'static, str> {
    // A `match` on literals compiles to a switch on the length and inline comparisons: no
    // allocation and no search for the names Kommo uses.
    let known: &'static str = match segment {
        "_links" => "_links",
        "account" => "account",
        "account_id" => "account_id",
        "action" => "action",
        "action_close" => "action_close",
        "add" => "add",
        "attachement" => "attachement",
        "attachment" => "attachment",
        "author" => "author",
        "avatar_url" => "avatar_url",
        "catalogs" => "catalogs",
        "category" => "category",
        "chat_id" => "chat_id",
        "code" => "code",
        "complete_before" => "complete_before",
        "complete_till" => "complete_till",
        "contact_id" => "contact_id",
        "contacts" => "contacts",
        "created_at" => "created_at",
        "created_by" => "created_by",
        "created_user_id" => "created_user_id",
        "custom_fields" => "custom_fields",
        "customers" => "customers",
        "date_create" => "date_create",
        "delete" => "delete",
        "element_id" => "element_id",
        "element_type" => "element_type",
        "entity_id" => "entity_id",
        "entity_type" => "entity_type",
        "enum" => "enum",
        "enum_code" => "enum_code",
        "enum_id" => "enum_id",
        "first_name" => "first_name",
        "group_id" => "group_id",
        "id" => "id",
        "is_in_work" => "is_in_work",
        "is_read" => "is_read",
        "last_modified" => "last_modified",
        "last_name" => "last_name",
        "leads" => "leads",
        "link" => "link",
        "linked_company_id" => "linked_company_id",
        "linked_leads_id" => "linked_leads_id",
        "main_user_id" => "main_user_id",
        "message" => "message",
        "metadata" => "metadata",
        "modified_by" => "modified_by",
        "modified_user_id" => "modified_user_id",
        "name" => "name",
        "note" => "note",
        "note_type" => "note_type",
        "old_pipeline_id" => "old_pipeline_id",
        "old_responsible_user_id" => "old_responsible_user_id",
        "old_status_id" => "old_status_id",
        "old_text" => "old_text",
        "origin" => "origin",
        "pipeline_id" => "pipeline_id",
        "price" => "price",
        "rate" => "rate",
        "responsible" => "responsible",
        "responsible_user_id" => "responsible_user_id",
        "restore" => "restore",
        "result" => "result",
        "self" => "self",
        "source_uid" => "source_uid",
        "status" => "status",
        "status_id" => "status_id",
        "subdomain" => "subdomain",
        "tags" => "tags",
        "talk" => "talk",
        "talk_id" => "talk_id",
        "task" => "task",
        "task_type" => "task_type",
        "text" => "text",
        "timestamp_x" => "timestamp_x",
        "type" => "type",
        "uid" => "uid",
        "unsorted" => "unsorted",
        "update" => "update",
        "updated_at" => "updated_at",
        "value" => "value",
        "values" => "values",
        _ => return Cow::Owned(segment.to_owned()),
    };
    Cow::Borrowed(known)
}

impl FormKey {
    /// Classifies a decoded segment.
    #[must_use]
    pub fn from_segment(segment: &str) -> Self {
        let bytes = segment.as_bytes();
        let canonical = !bytes.is_empty()
            && bytes.len() <= 20
            && bytes.iter().all(u8::is_ascii_digit)
            && (bytes.len() == 1 || bytes[0] != b'0');
        if canonical && let Ok(n) = segment.parse::<u64>() {
            return FormKey::Index(n);
        }
        FormKey::Name(intern(segment))
    }

    /// The name, if this is a name segment.
    #[must_use]
    pub fn as_name(&self) -> Option<&str> {
        match self {
            FormKey::Name(s) => Some(s),
            FormKey::Index(_) => None,
        }
    }
}

impl fmt::Display for FormKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormKey::Index(i) => write!(f, "{i}"),
            FormKey::Name(s) => f.write_str(s),
        }
    }
}

impl From<&str> for FormKey {
    fn from(s: &str) -> Self {
        FormKey::from_segment(s)
    }
}

impl From<u64> for FormKey {
    fn from(i: u64) -> Self {
        FormKey::Index(i)
    }
}

/// A map level of the tree.
pub type FormMap = BTreeMap<FormKey, FormNode>;

/// A node of the decoded tree. All leaf values are strings, as Kommo sends them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormNode {
    /// A leaf value.
    Text(String),
    /// A nested level.
    Map(FormMap),
}

impl FormNode {
    /// The leaf value, if this is a leaf.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FormNode::Text(s) => Some(s),
            FormNode::Map(_) => None,
        }
    }

    /// The map, if this is a map.
    #[must_use]
    pub fn as_map(&self) -> Option<&FormMap> {
        match self {
            FormNode::Map(m) => Some(m),
            FormNode::Text(_) => None,
        }
    }

    /// Follows a path of name segments (`node.get_path(&["account", "id"])`).
    #[must_use]
    pub fn get_path(&self, path: &[&str]) -> Option<&FormNode> {
        let mut node = self;
        for segment in path {
            node = node.as_map()?.get(&FormKey::from_segment(segment))?;
        }
        Some(node)
    }

    /// Converts the tree to JSON (maps become objects keyed by the segment text), for logging
    /// or storing unknown events.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FormNode::Text(s) => serde_json::Value::String(s.clone()),
            FormNode::Map(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| (k.to_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// The value of a hex digit, or 0xff.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space) into `out`,
/// copying the runs between escapes in one go.
fn percent_decode_into(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len());
    let mut rest = input;
    while let Some(at) = rest.iter().position(|&b| b == b'%' || b == b'+') {
        out.extend_from_slice(&rest[..at]);
        if rest[at] == b'+' {
            out.push(b' ');
            rest = &rest[at + 1..];
            continue;
        }
        let hi = rest
            .get(at + 1)
            .map_or(0xff, |&b| HEX_VALUE[usize::from(b)]);
        let lo = rest
            .get(at + 2)
            .map_or(0xff, |&b| HEX_VALUE[usize::from(b)]);
        if hi != 0xff && lo != 0xff {
            out.push(hi << 4 | lo);
            rest = &rest[at + 3..];
        } else {
            // A `%` not followed by two hex digits is kept as it is.
            out.push(b'%');
            rest = &rest[at + 1..];
        }
    }
    out.extend_from_slice(rest);
}

/// Decodes one component into a new buffer.
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    percent_decode_into(input, &mut out);
    out
}

/// Splits a body into decoded `(key, value)` pairs, enforcing the size and pair limits.
pub fn decode_pairs(body: &[u8], limits: &Limits) -> Result<Vec<(String, String)>, WebhookError> {
    if body.len() > limits.max_body_bytes {
        return Err(WebhookError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let mut pairs = Vec::new();
    for (index, piece) in body.split(|b| *b == b'&').enumerate() {
        if piece.is_empty() {
            continue;
        }
        let (raw_key, raw_value) = match piece.iter().position(|b| *b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &[][..]),
        };
        if raw_key.is_empty() {
            continue;
        }
        if pairs.len() >= limits.max_pairs {
            return Err(WebhookError::TooManyPairs {
                limit: limits.max_pairs,
            });
        }
        let key = String::from_utf8(percent_decode(raw_key))
            .map_err(|_| WebhookError::InvalidUtf8 { pair: index })?;
        let value = String::from_utf8(percent_decode(raw_value))
            .map_err(|_| WebhookError::InvalidUtf8 { pair: index })?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// The segments of a decoded key: `a[b][]` → `["a", "b", ""]`.
fn split_key<'k>(key: &'k str, limits: &Limits) -> Result<Vec<&'k str>, WebhookError> {
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

/// Error keys are structure, not data, but cap them so an error stays printable.
pub(crate) fn truncate(key: &str) -> String {
    const MAX: usize = 160;
    if key.len() <= MAX {
        return key.to_owned();
    }
    let mut end = MAX;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &key[..end])
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
        let node = map
            .entry(form_key)
            .or_insert_with(|| FormNode::Map(FormMap::new()));
        match node {
            FormNode::Map(inner) => map = inner,
            FormNode::Text(_) => return Err(conflict()),
        }
    }
    Ok(())
}

/// Decodes a body into the bracket tree. Same rules as [`decode_pairs`], built for speed:
/// keys are decoded into one reused buffer and split in place, and since Kommo sends the keys
/// of one entity together, the tree is built like a stream: the open path is kept on a stack,
/// each pair only compares its segments with that path, and a level becomes a map once the
/// stream leaves it. Pairs that come back to a level closed earlier are merged at the end.
pub fn parse_tree(body: &[u8], limits: &Limits) -> Result<FormMap, WebhookError> {
    if body.len() > limits.max_body_bytes {
        return Err(WebhookError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let mut builder = StreamBuilder::default();
    let mut key_buf = Vec::new();
    let mut raw_segments: Vec<&str> = Vec::new();
    let mut pairs = 0usize;
    for (index, piece) in body.split(|b| *b == b'&').enumerate() {
        if piece.is_empty() {
            continue;
        }
        let (raw_key, raw_value) = match piece.iter().position(|b| *b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &[][..]),
        };
        if raw_key.is_empty() {
            continue;
        }
        if pairs >= limits.max_pairs {
            return Err(WebhookError::TooManyPairs {
                limit: limits.max_pairs,
            });
        }
        pairs += 1;
        let value = String::from_utf8(percent_decode(raw_value))
            .map_err(|_| WebhookError::InvalidUtf8 { pair: index })?;
        // The common case: brackets (raw or `%5B`/`%5D`) around plain ASCII names, split
        // without decoding the key at all. Anything else is decoded first, then split.
        if split_raw_key(raw_key, limits, &mut raw_segments) {
            if raw_segments[1..].iter().any(|s| s.is_empty()) {
                return parse_tree_by_insert(body, limits);
            }
            builder.push(&raw_segments, value)?;
            continue;
        }
        key_buf.clear();
        percent_decode_into(raw_key, &mut key_buf);
        let key =
            std::str::from_utf8(&key_buf).map_err(|_| WebhookError::InvalidUtf8 { pair: index })?;
        let segments = split_key(key, limits)?;
        if segments[1..].iter().any(|s| s.is_empty()) {
            // `[]` appends after the largest index so far, which needs the whole level: rare
            // in webhooks, so such bodies take the walk-from-the-root path.
            return parse_tree_by_insert(body, limits);
        }
        builder.push(&segments, value)?;
    }
    builder.finish()
}

/// Splits a raw (still encoded) key into segments when every segment is plain: printable
/// ASCII without `%`, `+` or brackets, between `[`/`%5B` and `]`/`%5D`. Returns false for
/// anything else (escapes inside names, malformed keys, too deep), which the caller then
/// decodes and splits the general way, with its precise errors.
fn split_raw_key<'b>(raw: &'b [u8], limits: &Limits, out: &mut Vec<&'b str>) -> bool {
    out.clear();
    if !raw.is_ascii() {
        return false;
    }
    let Ok(key) = std::str::from_utf8(raw) else {
        return false;
    };
    let bytes = key.as_bytes();
    // The next delimiter at or after `from`: (position, length, is_open).
    let next = |from: usize| -> Option<(usize, usize, bool)> {
        let at = from
            + bytes[from..]
                .iter()
                .position(|&b| matches!(b, b'[' | b']' | b'%' | b'+'))?;
        Some(match bytes[at] {
            b'[' => (at, 1, true),
            b']' => (at, 1, false),
            b'%' if bytes.get(at + 1) == Some(&b'5') => match bytes.get(at + 2) {
                Some(b'B' | b'b') => (at, 3, true),
                Some(b'D' | b'd') => (at, 3, false),
                // Any other escape inside a name: decode the general way.
                _ => (at, 0, false),
            },
            // `%XX` or `+` inside a name.
            _ => (at, 0, false),
        })
    };
    let plain = |segment: &'b str| segment.bytes().all(|b| b.is_ascii_graphic());
    let (head, mut i) = match next(0) {
        None => (key, key.len()),
        Some((0, _, _)) | Some((_, 0, _)) | Some((_, _, false)) => return false,
        Some((at, _, true)) => (&key[..at], at),
    };
    if !plain(head) {
        return false;
    }
    out.push(head);
    while i < key.len() {
        // `i` is at an opening delimiter.
        let Some((_, open_len, true)) = next(i) else {
            return false;
        };
        let start = i + open_len;
        let Some((end, close_len, false)) = next(start) else {
            return false;
        };
        if close_len == 0 {
            return false;
        }
        let segment = &key[start..end];
        if !plain(segment) {
            return false;
        }
        out.push(segment);
        if out.len() > limits.max_depth {
            return false;
        }
        i = end + close_len;
        if i < key.len() && !matches!(next(i), Some((at, n, true)) if at == i && n > 0) {
            return false;
        }
    }
    true
}

/// The straightforward build: every pair walks the tree from the root. It handles `[]`, and
/// the tests check the stream build against it.
fn parse_tree_by_insert(body: &[u8], limits: &Limits) -> Result<FormMap, WebhookError> {
    let mut root = FormMap::new();
    for (key, value) in decode_pairs(body, limits)? {
        let segments = split_key(&key, limits)?;
        insert(&mut root, &segments, value, &key)?;
    }
    Ok(root)
}

/// Open levels of the tree, root first; each holds its entries so far, in arrival order.
#[derive(Default)]
struct StreamBuilder {
    /// The key of each open level below the root (`path[i]` names `levels[i + 1]`).
    path: Vec<FormKey>,
    levels: Vec<Vec<(FormKey, FormNode)>>,
    /// The segments of the pair being added, reused between pairs.
    keys: Vec<FormKey>,
}

impl StreamBuilder {
    fn push(&mut self, segments: &[&str], value: String) -> Result<(), WebhookError> {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.keys.clear();
        self.keys
            .extend(segments.iter().map(|s| FormKey::from_segment(s)));
        let parents = self.keys.len() - 1;
        // How much of the open path this key shares.
        let shared = self
            .path
            .iter()
            .zip(&self.keys[..parents])
            .take_while(|(open, new)| open == new)
            .count();
        while self.path.len() > shared {
            self.close_level()?;
        }
        for parent in &self.keys[shared..parents] {
            self.path.push(parent.clone());
            self.levels.push(Vec::new());
        }
        let leaf = self.keys[parents].clone();
        let level = self.levels.last_mut().expect("the root is always open");
        level.push((leaf, FormNode::Text(value)));
        Ok(())
    }

    /// Closes the deepest open level into a map node of its parent.
    fn close_level(&mut self) -> Result<(), WebhookError> {
        let entries = self.levels.pop().expect("a level to close");
        let map = build_map(entries, &self.path)?;
        let name = self.path.pop().expect("a key for the level");
        let parent = self.levels.last_mut().expect("the root is always open");
        parent.push((name, FormNode::Map(map)));
        Ok(())
    }

    fn finish(mut self) -> Result<FormMap, WebhookError> {
        while !self.path.is_empty() {
            self.close_level()?;
        }
        build_map(self.levels.pop().unwrap_or_default(), &[])
    }
}

/// A level's map from its entries in arrival order: the last value of a repeated key wins,
/// maps under one key merge, and a key that is both a value and a map is a conflict.
fn build_map(entries: Vec<(FormKey, FormNode)>, path: &[FormKey]) -> Result<FormMap, WebhookError> {
    // The common case: keys arrived in order and once each, so the map is built in bulk.
    if entries.windows(2).all(|w| w[0].0 < w[1].0) {
        return Ok(entries.into_iter().collect());
    }
    let mut map = FormMap::new();
    for (key, node) in entries {
        let merged = match (map.remove(&key), node) {
            (None, node) | (Some(FormNode::Text(_)), node @ FormNode::Text(_)) => node,
            (Some(FormNode::Map(old)), FormNode::Map(new)) => {
                FormNode::Map(merge_maps(old, new, path, &key)?)
            }
            _ => return Err(conflict(path, &key)),
        };
        map.insert(key, merged);
    }
    Ok(map)
}

fn merge_maps(
    mut old: FormMap,
    new: FormMap,
    path: &[FormKey],
    at: &FormKey,
) -> Result<FormMap, WebhookError> {
    let mut here = path.to_vec();
    here.push(at.clone());
    for (key, node) in new {
        let merged = match (old.remove(&key), node) {
            (None, node) | (Some(FormNode::Text(_)), node @ FormNode::Text(_)) => node,
            (Some(FormNode::Map(a)), FormNode::Map(b)) => {
                FormNode::Map(merge_maps(a, b, &here, &key)?)
            }
            _ => return Err(conflict(&here, &key)),
        };
        old.insert(key, merged);
    }
    Ok(old)
}

fn conflict(path: &[FormKey], key: &FormKey) -> WebhookError {
    let mut text = String::new();
    for (i, segment) in path.iter().chain(std::iter::once(key)).enumerate() {
        if i == 0 {
            text.push_str(&segment.to_string());
        } else {
            text.push_str(&format!("[{segment}]"));
        }
    }
    WebhookError::Conflict {
        key: truncate(&text),
    }
}

/// Flattens a tree back into `(bracket key, value)` pairs, depth first in key order.
#[must_use]
pub fn flatten(map: &FormMap) -> Vec<(String, String)> {
    fn walk(prefix: &str, map: &FormMap, out: &mut Vec<(String, String)>) {
        for (key, node) in map {
            let path = if prefix.is_empty() {
                key.to_string()
            } else {
                format!("{prefix}[{key}]")
            };
            match node {
                FormNode::Text(v) => out.push((path, v.clone())),
                FormNode::Map(inner) => walk(&path, inner, out),
            }
        }
    }
    let mut out = Vec::new();
    walk("", map, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(body: &str) -> Result<FormMap, WebhookError> {
        parse_tree(body.as_bytes(), &Limits::default())
    }

    fn text(s: &str) -> FormNode {
        FormNode::Text(s.to_owned())
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// The stream build and the walk-from-the-root build agree on every input: same tree,
        /// or both an error.
        #[test]
        fn stream_build_matches_the_reference(
            pairs in proptest::collection::vec(
                (
                    proptest::collection::vec(
                        proptest::prop_oneof![
                            proptest::strategy::Just("leads".to_owned()),
                            proptest::strategy::Just("status".to_owned()),
                            proptest::strategy::Just("id".to_owned()),
                            proptest::strategy::Just("x".to_owned()),
                            (0u8..3).prop_map(|i| i.to_string()),
                        ],
                        1..5,
                    ),
                    "[a-z0-9 ]{0,3}",
                ),
                0..12,
            ),
            encoding in 0u8..3,
        ) {
            let body: Vec<String> = pairs
                .iter()
                .map(|(segments, value)| {
                    let mut key = segments[0].clone();
                    for s in &segments[1..] {
                        key.push_str(&format!("[{s}]"));
                    }
                    let key = match encoding {
                        0 => key,
                        1 => key.replace('[', "%5B").replace(']', "%5D"),
                        _ => key.replace('[', "%5b").replace(']', "%5d").replace('x', "%78"),
                    };
                    format!("{}={}", key, value.replace(' ', "+"))
                })
                .collect();
            let body = body.join("&");
            let limits = Limits::default();
            let fast = parse_tree(body.as_bytes(), &limits);
            let reference = parse_tree_by_insert(body.as_bytes(), &limits);
            match (fast, reference) {
                (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a, b),
                (Err(_), Err(_)) => {}
                (a, b) => proptest::prop_assert!(false, "{body}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn known_names_are_borrowed() {
        assert!(matches!(
            FormKey::from_segment("status"),
            FormKey::Name(Cow::Borrowed(_))
        ));
        assert!(matches!(
            FormKey::from_segment("elsewhere"),
            FormKey::Name(Cow::Owned(_))
        ));
    }

    #[test]
    fn decodes_brackets_plus_and_utf8() {
        let t = tree("a%5Bb%5D%5B0%5D=x+y&a[b][1]=%D0%90%F0%9F%98%80&c=50%25&d=%zz").unwrap();
        let root = FormNode::Map(t);
        assert_eq!(root.get_path(&["a", "b", "0"]), Some(&text("x y")));
        assert_eq!(root.get_path(&["a", "b", "1"]), Some(&text("А😀")));
        assert_eq!(root.get_path(&["c"]), Some(&text("50%")));
        assert_eq!(root.get_path(&["d"]), Some(&text("%zz")));
    }

    #[test]
    fn key_segment_classification() {
        let table = [
            ("0", FormKey::Index(0)),
            ("15319601", FormKey::Index(15_319_601)),
            ("007", FormKey::Name("007".into())),
            (
                "99999999999999999999999",
                FormKey::Name("99999999999999999999999".into()),
            ),
            ("-1", FormKey::Name("-1".into())),
            ("id", FormKey::Name("id".into())),
        ];
        for (segment, want) in table {
            assert_eq!(FormKey::from_segment(segment), want, "{segment}");
        }
    }

    #[test]
    fn error_table() {
        let limits = Limits::default().with_max_depth(3).with_max_pairs(2);
        type Check = fn(&WebhookError) -> bool;
        let cases: &[(&str, Check)] = &[
            ("[a]=1", |e| matches!(e, WebhookError::MalformedKey { .. })),
            ("a[b=1", |e| matches!(e, WebhookError::MalformedKey { .. })),
            ("a[b]c=1", |e| {
                matches!(e, WebhookError::MalformedKey { .. })
            }),
            ("a[b][c][d]=1", |e| {
                matches!(e, WebhookError::DepthExceeded { limit: 3, .. })
            }),
            ("a[b]=1&a[b][c]=2", |e| {
                matches!(e, WebhookError::Conflict { .. })
            }),
            ("a[b][c]=2&a[b]=1", |e| {
                matches!(e, WebhookError::Conflict { .. })
            }),
            ("a=1&b=2&c=3", |e| {
                matches!(e, WebhookError::TooManyPairs { limit: 2 })
            }),
            ("a=%FF", |e| {
                matches!(e, WebhookError::InvalidUtf8 { pair: 0 })
            }),
            ("x=1&%C3=1", |e| {
                matches!(e, WebhookError::InvalidUtf8 { pair: 1 })
            }),
        ];
        for (body, check) in cases {
            let err = parse_tree(body.as_bytes(), &limits).unwrap_err();
            assert!(check(&err), "{body}: {err:?}");
        }
        let small = Limits::default().with_max_body_bytes(4);
        assert!(matches!(
            parse_tree(b"abcde", &small),
            Err(WebhookError::BodyTooLarge { size: 5, limit: 4 })
        ));
    }

    #[test]
    fn append_sparse_duplicates_and_empty_pairs() {
        let t = FormNode::Map(tree("a[]=x&a[]=y&b[5]=p&b[2]=q&b[]=r&c=1&c=2&&=skip&flag").unwrap());
        assert_eq!(t.get_path(&["a", "0"]), Some(&text("x")));
        assert_eq!(t.get_path(&["a", "1"]), Some(&text("y")));
        assert_eq!(t.get_path(&["b", "6"]), Some(&text("r")));
        let b: Vec<_> = t
            .get_path(&["b"])
            .unwrap()
            .as_map()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            b,
            vec![FormKey::Index(2), FormKey::Index(5), FormKey::Index(6)]
        );
        assert_eq!(t.get_path(&["c"]), Some(&text("2")), "last value wins");
        assert_eq!(t.get_path(&["flag"]), Some(&text("")));
        assert_eq!(t.as_map().unwrap().len(), 4);
    }

    #[test]
    fn huge_index_does_not_allocate() {
        let t = FormNode::Map(tree("a[99999999999][b]=1").unwrap());
        assert_eq!(t.get_path(&["a", "99999999999", "b"]), Some(&text("1")));
    }

    #[test]
    fn flatten_round_trips() {
        let t = tree("a[b][0]=1&a[b][1]=2&a[c]=x&z=").unwrap();
        let pairs = flatten(&t);
        assert_eq!(
            pairs,
            vec![
                ("a[b][0]".to_owned(), "1".to_owned()),
                ("a[b][1]".to_owned(), "2".to_owned()),
                ("a[c]".to_owned(), "x".to_owned()),
                ("z".to_owned(), String::new()),
            ]
        );
    }
}
