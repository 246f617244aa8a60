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
use std::cmp::Ordering;
use std::fmt;

use super::{Limits, WebhookError};

/// One key segment.
///
/// Ordering: indices first, by number; then names, by string. Sparse indices therefore come out
/// in numeric order.
#[derive(Debug, Clone, Eq)]
pub enum FormKey {
    /// A canonical decimal segment (`[0]`, `[15319601]`).
    Index(u64),
    /// Any other segment (`[status]`, `[007]`). The names Kommo uses are borrowed from a
    /// static vocabulary, so parsing and looking them up allocates nothing.
    Name(Cow<'static, str>),
}

// The derived order, written out: names are short and most often the same borrowed
// vocabulary entry, so a pointer check and a byte loop beat a call to `memcmp`.
impl Ord for FormKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (FormKey::Index(a), FormKey::Index(b)) => a.cmp(b),
            (FormKey::Index(_), FormKey::Name(_)) => Ordering::Less,
            (FormKey::Name(_), FormKey::Index(_)) => Ordering::Greater,
            (FormKey::Name(a), FormKey::Name(b)) => compare_names(a.as_bytes(), b.as_bytes()),
        }
    }
}

impl PartialOrd for FormKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for FormKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

// Equal keys hash alike: the same variant, the same number or the same text.
impl std::hash::Hash for FormKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            FormKey::Index(i) => {
                state.write_u8(0);
                i.hash(state);
            }
            FormKey::Name(s) => {
                state.write_u8(1);
                s.hash(state);
            }
        }
    }
}

fn compare_names(a: &[u8], b: &[u8]) -> Ordering {
    if std::ptr::eq(a, b) {
        return Ordering::Equal;
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
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

    /// The segment's text: the name, or the index in decimal.
    #[must_use]
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            FormKey::Name(s) => Cow::Borrowed(s),
            FormKey::Index(i) => Cow::Owned(i.to_string()),
        }
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

pub use super::form_map::{FormMap, Iter as FormMapIter};

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
    while let Some(at) = memchr::memchr2(b'%', b'+', rest) {
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

/// The `&`-separated pieces of a body (`body.split(|b| *b == b'&')`, with a vectorised search).
fn pieces(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(body);
    std::iter::from_fn(move || {
        let current = rest?;
        Some(match memchr::memchr(b'&', current) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                &current[..at]
            }
            None => {
                rest = None;
                current
            }
        })
    })
}

/// One pair of a body, still encoded: its index among the body's pieces, key and value.
type RawPair<'b> = (usize, &'b [u8], &'b [u8]);

/// A body's pairs, still encoded: the size and pair limits enforced, empty pairs and pairs
/// with an empty key skipped (PHP skips them too).
fn raw_pairs<'b>(
    body: &'b [u8],
    limits: &Limits,
) -> Result<impl Iterator<Item = Result<RawPair<'b>, WebhookError>>, WebhookError> {
    if body.len() > limits.max_body_bytes {
        return Err(WebhookError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let max_pairs = limits.max_pairs;
    let mut pairs = 0usize;
    Ok(pieces(body).enumerate().filter_map(move |(index, piece)| {
        let (raw_key, raw_value) = match memchr::memchr(b'=', piece) {
            Some(eq) => (&piece[..eq], &piece[eq + 1..]),
            None => (piece, &[][..]),
        };
        if raw_key.is_empty() {
            return None;
        }
        if pairs >= max_pairs {
            return Some(Err(WebhookError::TooManyPairs { limit: max_pairs }));
        }
        pairs += 1;
        Some(Ok((index, raw_key, raw_value)))
    }))
}

/// Splits a body into decoded `(key, value)` pairs, enforcing the size and pair limits.
pub fn decode_pairs(body: &[u8], limits: &Limits) -> Result<Vec<(String, String)>, WebhookError> {
    let mut pairs = Vec::new();
    for pair in raw_pairs(body, limits)? {
        let (index, raw_key, raw_value) = pair?;
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
        let node = map.get_or_insert_with(form_key, || FormNode::Map(FormMap::new()));
        match node {
            FormNode::Map(inner) => map = inner,
            FormNode::Text(_) => return Err(conflict()),
        }
    }
    Ok(())
}

/// Decodes a body into the bracket tree. Same rules as [`decode_pairs`], built for speed:
/// keys are split without decoding when they are plain, a key reuses the segments it shares
/// with the key before it (Kommo sends an entity's keys together, so most of a key usually is
/// the one before it), and the tree is built like a stream: the open path is kept on a stack,
/// each pair only compares its new segments with that path, and a level becomes a map once
/// the stream leaves it. Pairs that come back to a level closed earlier are merged at the end.
pub fn parse_tree(body: &[u8], limits: &Limits) -> Result<FormMap, WebhookError> {
    let pairs = raw_pairs(body, limits)?;
    // Bodies are nearly always valid UTF-8 as a whole: checked once here, the values that
    // need no decoding are then copied without checking each again.
    let text = std::str::from_utf8(body).ok();
    let mut builder = StreamBuilder::default();
    let mut key_buf = Vec::new();
    let mut split = RawSplit::default();
    for pair in pairs {
        let (index, raw_key, raw_value) = pair?;
        let value =
            decode_value(raw_value, text).map_err(|_| WebhookError::InvalidUtf8 { pair: index })?;
        // The common case: brackets (raw or `%5B`/`%5D`) around plain ASCII names, split
        // without decoding the key at all. Anything else is decoded first, then split.
        if let Some(shared) = split.split(raw_key, limits) {
            if split.segments[shared.max(1)..].iter().any(|s| s.is_empty()) {
                return parse_tree_by_insert(body, limits);
            }
            builder.push(&split.segments, shared, value)?;
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
        builder.push(&segments, 0, value)?;
    }
    builder.finish()
}

/// Decodes a value; most values have nothing to decode and are copied once. `body` is the
/// whole body when it is valid UTF-8, of which `raw` is a part.
fn decode_value(raw: &[u8], body: Option<&str>) -> Result<String, std::str::Utf8Error> {
    if memchr::memchr2(b'%', b'+', raw).is_none() {
        if let Some(body) = body {
            // `raw` lies between ASCII delimiters of `body`, so these are char boundaries.
            // (An empty `raw` may point anywhere; any slice of length 0 is then right.)
            let start = raw.as_ptr().addr().wrapping_sub(body.as_ptr().addr());
            if let Some(value) = start
                .checked_add(raw.len())
                .and_then(|end| body.get(start..end))
            {
                return Ok(value.to_owned());
            }
        }
        return std::str::from_utf8(raw).map(str::to_owned);
    }
    String::from_utf8(percent_decode(raw)).map_err(|e| e.utf8_error())
}

/// What a byte of a raw key is to the splitter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyByte {
    /// Printable ASCII that stands for itself.
    Plain,
    Open,
    Close,
    Percent,
    /// `+`, a space, a control or a non-ASCII byte: the key needs decoding first.
    Other,
}

const KEY_BYTES: [KeyByte; 256] = {
    let mut table = [KeyByte::Other; 256];
    let mut b = 0x21;
    while b < 0x7f {
        table[b] = KeyByte::Plain;
        b += 1;
    }
    table[b'[' as usize] = KeyByte::Open;
    table[b']' as usize] = KeyByte::Close;
    table[b'%' as usize] = KeyByte::Percent;
    table[b'+' as usize] = KeyByte::Other;
    table
};

/// Splits raw (still encoded) keys into segments when every segment is plain: printable
/// ASCII without `%`, `+` or brackets, between `[`/`%5B` and `]`/`%5D`. Anything else
/// (escapes inside names, malformed keys, too deep) is left to the general decode-then-split
/// path, with its precise errors.
///
/// The segments of the key before are kept: where the new key starts with the same bytes,
/// the segments those bytes hold are reused rather than scanned again.
#[derive(Default)]
struct RawSplit<'b> {
    raw: &'b [u8],
    segments: Vec<&'b str>,
    /// For each segment: where scanning resumes after it (after the head, at the opening
    /// delimiter that follows it; after a bracket segment, just past its closing delimiter),
    /// and how many leading bytes a next key must share with this one to share the segment
    /// (the head's opening delimiter included; `usize::MAX` for a key without brackets).
    bounds: Vec<(usize, usize)>,
}

impl<'b> RawSplit<'b> {
    /// Splits `raw`; returns how many leading segments are those of the key before, or
    /// `None` when the key is not plain.
    fn split(&mut self, raw: &'b [u8], limits: &Limits) -> Option<usize> {
        let common = common_prefix(self.raw, raw);
        let shared = self
            .bounds
            .iter()
            .take_while(|&&(_, need)| need <= common)
            .count();
        self.raw = raw;
        self.segments.truncate(shared);
        self.bounds.truncate(shared);
        let scanned = self.scan(raw, limits);
        if scanned.is_none() {
            // Nothing of a key that is not plain may be reused by the next one.
            self.raw = &[];
            self.segments.clear();
            self.bounds.clear();
        }
        scanned.map(|()| shared)
    }

    /// Scans from the end of the segments kept.
    fn scan(&mut self, bytes: &'b [u8], limits: &Limits) -> Option<()> {
        // Scanned segments are printable ASCII, so the conversions cannot fail.
        let text = |range: std::ops::Range<usize>| std::str::from_utf8(&bytes[range]).ok();
        let mut i = match self.bounds.last() {
            Some(&(end, _)) => end,
            None => {
                let (head_end, open_len) = scan_head(bytes)?;
                self.segments.push(text(0..head_end)?);
                let need = if open_len == 0 {
                    usize::MAX
                } else {
                    head_end + open_len
                };
                self.bounds.push((head_end, need));
                head_end
            }
        };
        while i < bytes.len() {
            let start = i + delimiter(bytes, i, b'B')?;
            let mut j = start;
            let close_len = loop {
                match KEY_BYTES[usize::from(*bytes.get(j)?)] {
                    KeyByte::Plain => j += 1,
                    KeyByte::Close => break 1,
                    KeyByte::Percent if delimiter(bytes, j, b'D') == Some(3) => break 3,
                    _ => return None,
                }
            };
            self.segments.push(text(start..j)?);
            if self.segments.len() > limits.max_depth {
                return None;
            }
            i = j + close_len;
            self.bounds.push((i, i));
        }
        Some(())
    }
}

/// The head of a plain key: its length and the length of the opening delimiter after it
/// (0 for a key without brackets).
fn scan_head(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut j = 0;
    while j < bytes.len() {
        match KEY_BYTES[usize::from(bytes[j])] {
            KeyByte::Plain => j += 1,
            KeyByte::Open | KeyByte::Percent if j > 0 => {
                return Some((j, delimiter(bytes, j, b'B')?));
            }
            _ => return None,
        }
    }
    (j > 0).then_some((j, 0))
}

/// The length of the bracket at `at`: `[`/`]` is 1, `%5B`/`%5D` (either case) is 3; `None`
/// for anything else. `kind` is `B` for an opening bracket, `D` for a closing one.
fn delimiter(bytes: &[u8], at: usize, kind: u8) -> Option<usize> {
    let raw = if kind == b'B' { b'[' } else { b']' };
    match bytes.get(at..at + 3) {
        _ if bytes.get(at) == Some(&raw) => Some(1),
        Some([b'%', b'5', k]) if k.to_ascii_uppercase() == kind => Some(3),
        _ => None,
    }
}

/// The length of the common prefix of two byte strings, eight bytes at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut i = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        if x != y {
            break;
        }
        i += 8;
    }
    i + a[i..]
        .iter()
        .zip(&b[i..])
        .take_while(|(x, y)| x == y)
        .count()
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
    /// Adds a pair; the first `reused` segments are those of the pair before.
    fn push(
        &mut self,
        segments: &[&str],
        reused: usize,
        value: String,
    ) -> Result<(), WebhookError> {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        // The keys of the segments shared with the pair before are already here.
        let reused = reused.min(self.keys.len()).min(segments.len());
        self.keys.truncate(reused);
        self.keys
            .extend(segments[reused..].iter().map(|s| FormKey::from_segment(s)));
        let parents = self.keys.len() - 1;
        // The open path is the pair before's parents, so the reused keys are on it.
        let known = reused.min(parents).min(self.path.len());
        let shared = known
            + self.path[known..]
                .iter()
                .zip(&self.keys[known..parents])
                .take_while(|(open, new)| open == new)
                .count();
        while self.path.len() > shared {
            self.close_level()?;
        }
        for parent in &self.keys[shared..parents] {
            self.path.push(parent.clone());
            // An entity level holds a few dozen fields at most: one allocation, no regrowth.
            self.levels.push(Vec::with_capacity(16));
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
fn build_map(
    mut entries: Vec<(FormKey, FormNode)>,
    path: &[FormKey],
) -> Result<FormMap, WebhookError> {
    // Kommo sends an entity's fields in its own order, not sorted, so most levels are sorted
    // here; a stable sort keeps repeats in arrival order, next to each other.
    if !entries.windows(2).all(|w| w[0].0 < w[1].0) {
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            entries = fold_repeats(entries, path)?;
        }
    }
    // Sorted and unique: the level's vector is the map.
    Ok(FormMap::from_sorted_unique(entries))
}

/// Folds runs of one key (sorted, in arrival order) into one entry.
fn fold_repeats(
    entries: Vec<(FormKey, FormNode)>,
    path: &[FormKey],
) -> Result<Vec<(FormKey, FormNode)>, WebhookError> {
    let mut out: Vec<(FormKey, FormNode)> = Vec::with_capacity(entries.len());
    for (key, node) in entries {
        let Some(last) = out.last_mut().filter(|(k, _)| *k == key) else {
            out.push((key, node));
            continue;
        };
        let old = std::mem::replace(&mut last.1, FormNode::Text(String::new()));
        last.1 = match (old, node) {
            (FormNode::Text(_), node @ FormNode::Text(_)) => node,
            (FormNode::Map(old), FormNode::Map(new)) => {
                FormNode::Map(merge_maps(old, new, path, &key)?)
            }
            _ => return Err(conflict(path, &key)),
        };
    }
    Ok(out)
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

    /// A raw key built from pieces: names, brackets in both encodings, escapes and the odd
    /// malformed bit, so neighbouring keys share prefixes of every shape.
    fn raw_key() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::collection::vec(
            proptest::prop_oneof![
                6 => proptest::sample::select(vec!["leads", "status", "0", "1", "id", "x", "name"]),
                3 => proptest::sample::select(vec!["[", "]", "%5B", "%5D", "%5b", "%5d"]),
                1 => proptest::sample::select(vec!["%78", "+", "%", "[]", "%5", "%C3%A9", "%FF", " "]),
            ],
            1..10,
        )
        .prop_map(|pieces| pieces.concat())
    }

    proptest::proptest! {
        /// Same agreement on raw keys of any shape, with runs of keys that share prefixes.
        #[test]
        fn raw_split_matches_the_reference(
            keys in proptest::collection::vec((raw_key(), 0usize..3), 0..16),
            value in "[a-z%+]{0,4}",
        ) {
            let mut body = Vec::new();
            let mut previous = String::new();
            for (key, keep) in &keys {
                // Often continue from the key before, so the reuse of shared segments runs.
                let key = if *keep > 0 { format!("{previous}{key}") } else { key.clone() };
                body.push(format!("{key}={value}"));
                previous = key;
            }
            let body = body.join("&");
            let limits = Limits { max_depth: 4, ..Limits::default() };
            let fast = parse_tree(body.as_bytes(), &limits);
            let reference = parse_tree_by_insert(body.as_bytes(), &limits);
            match (fast, reference) {
                (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a, b, "{}", body),
                // Which error comes first may differ: the reference decodes every pair
                // before it splits any key.
                (Err(_), Err(_)) => {}
                (a, b) => proptest::prop_assert!(false, "{body}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn shared_prefixes_are_reused_only_when_whole() {
        let limits = Limits::default();
        let mut split = RawSplit::default();
        let cases: [(&str, Option<usize>, &[&str]); 7] = [
            (
                "leads%5Bstatus%5D%5B0%5D%5Bid%5D",
                Some(0),
                &["leads", "status", "0", "id"],
            ),
            (
                "leads%5Bstatus%5D%5B0%5D%5Bname%5D",
                Some(3),
                &["leads", "status", "0", "name"],
            ),
            (
                "leads%5Bstatus%5D%5B0%5D",
                Some(3),
                &["leads", "status", "0"],
            ),
            // Same bytes, a longer segment: `0` is not `01`.
            (
                "leads%5Bstatus%5D%5B01%5D",
                Some(2),
                &["leads", "status", "01"],
            ),
            // A longer head is another head.
            ("leadsx%5Bstatus%5D", Some(0), &["leadsx", "status"]),
            ("leadsx", Some(0), &["leadsx"]),
            ("leadsx%41", None, &[]),
        ];
        for (key, shared, segments) in cases {
            assert_eq!(split.split(key.as_bytes(), &limits), shared, "{key}");
            if shared.is_some() {
                assert_eq!(split.segments, segments, "{key}");
            }
        }
        // After a key that is not plain, nothing is reused.
        assert_eq!(split.split(b"leadsx[a]", &limits), Some(0));
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
