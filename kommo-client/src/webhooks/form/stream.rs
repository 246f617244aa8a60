//! The stream build of the tree ([`parse_tree`]), the one the parser uses, and its checks
//! against the reference build.

use super::percent::{decode_value, percent_decode_into};
use super::reference::{parse_tree_by_insert, split_key};
use super::{FormKey, FormMap, FormNode, Limits, WebhookError, raw_pairs, truncate};

/// Decodes a body into the bracket tree. Same rules as [`super::decode_pairs`], built for speed:
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
