//! [`FormMap`]: one level of the bracket tree, a map kept as a sorted vector.
//!
//! A webhook level holds a handful to a few dozen keys, is built once from pairs that arrive
//! mostly grouped, and is then taken apart field by field. A sorted vector suits that better
//! than a B-tree: the parser hands over the vector it collected the level in (no nodes to
//! allocate), lookups are a binary search over contiguous keys, and taking a field out moves a
//! few small entries. The profile of the parser showed the B-tree's building, node allocation
//! and removal at about a third of the time of a parse.

use std::fmt;

use super::{FormKey, FormNode};

/// A map level of the tree: keys in [`FormKey`] order, each once.
///
/// It offers the map operations the webhook models need, with the names and meaning of
/// [`std::collections::BTreeMap`]'s.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FormMap {
    /// Sorted by key, no key twice.
    entries: Vec<(FormKey, FormNode)>,
}

impl FormMap {
    /// An empty map.
    #[must_use]
    pub const fn new() -> Self {
        FormMap {
            entries: Vec::new(),
        }
    }

    /// A map from entries already sorted by key with no key twice (the parser's levels).
    pub(crate) fn from_sorted_unique(entries: Vec<(FormKey, FormNode)>) -> Self {
        debug_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
        FormMap { entries }
    }

    fn find(&self, key: &FormKey) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// The number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The node under `key`.
    #[must_use]
    pub fn get(&self, key: &FormKey) -> Option<&FormNode> {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The node under `key`, to change it.
    pub fn get_mut(&mut self, key: &FormKey) -> Option<&mut FormNode> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains_key(&self, key: &FormKey) -> bool {
        self.find(key).is_ok()
    }

    /// Puts `node` under `key`, returning the node it replaces.
    pub fn insert(&mut self, key: FormKey, node: FormNode) -> Option<FormNode> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, node)),
            Err(i) => {
                self.entries.insert(i, (key, node));
                None
            }
        }
    }

    /// The node under `key`, inserting `make()` first when there is none.
    pub fn get_or_insert_with(
        &mut self,
        key: FormKey,
        make: impl FnOnce() -> FormNode,
    ) -> &mut FormNode {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Takes the node under `key` out of the map.
    pub fn remove(&mut self, key: &FormKey) -> Option<FormNode> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self.entries.iter(),
        }
    }

    /// The keys in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &FormKey> + ExactSizeIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The nodes in key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &FormNode> + ExactSizeIterator {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl fmt::Debug for FormMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Collects entries in any order; for a key given twice, the last node wins.
impl FromIterator<(FormKey, FormNode)> for FormMap {
    fn from_iter<I: IntoIterator<Item = (FormKey, FormNode)>>(iter: I) -> Self {
        let mut entries: Vec<_> = iter.into_iter().collect();
        // Stable, so repeats stay in arrival order and the last of each run is kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut unique: Vec<(FormKey, FormNode)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        FormMap { entries: unique }
    }
}

impl<const N: usize> From<[(FormKey, FormNode); N]> for FormMap {
    fn from(entries: [(FormKey, FormNode); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl Extend<(FormKey, FormNode)> for FormMap {
    fn extend<I: IntoIterator<Item = (FormKey, FormNode)>>(&mut self, iter: I) {
        for (key, node) in iter {
            self.insert(key, node);
        }
    }
}

/// Borrowing iterator over a [`FormMap`], in key order.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    inner: std::slice::Iter<'a, (FormKey, FormNode)>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a FormKey, &'a FormNode);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (k, v))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a FormMap {
    type Item = (&'a FormKey, &'a FormNode);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl IntoIterator for FormMap {
    type Item = (FormKey, FormNode);
    type IntoIter = std::vec::IntoIter<(FormKey, FormNode)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> FormNode {
        FormNode::Text(s.to_owned())
    }

    #[test]
    fn behaves_like_a_sorted_map() {
        let mut map: FormMap = [
            (FormKey::from("b"), text("1")),
            (FormKey::Index(7), text("2")),
            (FormKey::from("a"), text("3")),
            (FormKey::from("b"), text("4")),
        ]
        .into();
        let keys: Vec<String> = map.keys().map(ToString::to_string).collect();
        assert_eq!(keys, ["7", "a", "b"]);
        assert_eq!(
            map.get(&"b".into()),
            Some(&text("4")),
            "the last repeat wins"
        );
        assert_eq!(map.insert(FormKey::Index(1), text("5")), None);
        assert_eq!(map.insert("a".into(), text("6")), Some(text("3")));
        assert_eq!(map.remove(&FormKey::Index(7)), Some(text("2")));
        assert_eq!(map.remove(&FormKey::Index(7)), None);
        assert!(map.contains_key(&FormKey::Index(1)));
        map.get_or_insert_with("c".into(), || text("7"));
        map.get_or_insert_with("c".into(), || text("never"));
        let all: Vec<(String, &str)> = map
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_text().unwrap()))
            .collect();
        assert_eq!(
            all,
            [
                ("1".to_owned(), "5"),
                ("a".to_owned(), "6"),
                ("b".to_owned(), "4"),
                ("c".to_owned(), "7")
            ]
        );
        assert_eq!(
            format!("{map:?}"),
            r#"{Index(1): Text("5"), Name("a"): Text("6"), Name("b"): Text("4"), Name("c"): Text("7")}"#
        );
    }
}
