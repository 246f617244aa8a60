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
//!
//! The parser is split along its seams: [`parse_tree`] is the streaming build (`stream`), the
//! reference build it is tested against walks every pair in from the root (`reference`), key
//! names are interned (`intern`), and components are percent-decoded (`percent`).

mod intern;
mod map;
mod percent;
mod reference;
mod stream;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use super::{Limits, WebhookError};
use intern::intern;
pub use map::{FormMap, Iter as FormMapIter};
use percent::percent_decode;
pub use stream::parse_tree;

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
pub(super) type RawPair<'b> = (usize, &'b [u8], &'b [u8]);

/// A body's pairs, still encoded: the size and pair limits enforced, empty pairs and pairs
/// with an empty key skipped (PHP skips them too).
pub(super) fn raw_pairs<'b>(
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
