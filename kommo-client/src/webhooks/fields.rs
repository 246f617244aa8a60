//! Field extraction from one entity's map: typed fields are taken out, everything left over
//! (unknown keys, and known keys whose value did not fit the type) lands in `extra`, so nothing
//! a delivery carried is ever lost.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::form::{FormKey, FormMap, FormNode};
use super::{Limits, WebhookError};
use crate::ids::parse_u64;

/// Unmodelled fields of a webhook entity, keyed by their segment text.
pub type Extra = BTreeMap<String, FormNode>;

pub(crate) struct Fields {
    map: FormMap,
}

impl Fields {
    pub(crate) fn new(map: FormMap) -> Self {
        Self { map }
    }

    /// Names the typed layer asks for are never numbers, so the key is built without
    /// classifying or interning the name.
    fn take_node(&mut self, name: &'static str) -> Option<FormNode> {
        self.map
            .remove(&FormKey::Name(std::borrow::Cow::Borrowed(name)))
    }

    fn put_back(&mut self, name: &'static str, node: FormNode) {
        self.map
            .insert(FormKey::Name(std::borrow::Cow::Borrowed(name)), node);
    }

    /// A leaf string; a map under this name stays in `extra`.
    pub(crate) fn string(&mut self, name: &'static str) -> Option<String> {
        match self.take_node(name)? {
            FormNode::Text(s) => Some(s),
            node @ FormNode::Map(_) => {
                self.put_back(name, node);
                None
            }
        }
    }

    /// A parsed leaf; empty strings are `None`; unparsable values stay in `extra`.
    pub(crate) fn parsed<T>(
        &mut self,
        name: &'static str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let node = self.take_node(name)?;
        if let FormNode::Text(s) = &node {
            if s.trim().is_empty() {
                return None;
            }
            if let Some(v) = parse(s) {
                return Some(v);
            }
        }
        self.put_back(name, node);
        None
    }

    pub(crate) fn id<T: From<u64>>(&mut self, name: &'static str) -> Option<T> {
        self.parsed(name, |s| parse_u64(s).map(T::from))
    }

    pub(crate) fn u64(&mut self, name: &'static str) -> Option<u64> {
        self.parsed(name, parse_u64)
    }

    pub(crate) fn i64(&mut self, name: &'static str) -> Option<i64> {
        self.parsed(name, |s| i64::from_str(s.trim()).ok())
    }

    pub(crate) fn u32(&mut self, name: &'static str) -> Option<u32> {
        self.parsed(name, |s| u32::from_str(s.trim()).ok())
    }

    pub(crate) fn f64(&mut self, name: &'static str) -> Option<f64> {
        self.parsed(name, |s| {
            f64::from_str(s.trim()).ok().filter(|f| f.is_finite())
        })
    }

    pub(crate) fn bool(&mut self, name: &'static str) -> Option<bool> {
        self.parsed(name, |s| match s.trim() {
            "1" | "true" | "Y" => Some(true),
            "0" | "false" | "N" => Some(false),
            _ => None,
        })
    }

    /// A sub-map; a leaf under this name stays in `extra`.
    pub(crate) fn map(&mut self, name: &'static str) -> Option<FormMap> {
        match self.take_node(name)? {
            FormNode::Map(m) => Some(m),
            node @ FormNode::Text(_) => {
                self.put_back(name, node);
                None
            }
        }
    }

    /// A list-shaped sub-map whose children are all maps, each converted with `f`. If the
    /// shape is anything else the node stays in `extra` and the list is empty.
    pub(crate) fn list<T>(
        &mut self,
        name: &'static str,
        limits: &Limits,
        mut f: impl FnMut(FormMap, &Limits) -> Result<T, WebhookError>,
    ) -> Result<Vec<T>, WebhookError> {
        let Some(map) = self.map(name) else {
            return Ok(Vec::new());
        };
        if !map.values().all(|n| matches!(n, FormNode::Map(_))) {
            self.put_back(name, FormNode::Map(map));
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(map.len());
        for (key, node) in map {
            check_index(&key, name, limits)?;
            if let FormNode::Map(m) = node {
                out.push(f(m, limits)?);
            }
        }
        Ok(out)
    }

    pub(crate) fn into_extra(self) -> Extra {
        self.map
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    }
}

/// Enforces the index limit at a list position. Names made only of digits are indices too
/// large for `u64`.
pub(crate) fn check_index(
    key: &FormKey,
    path: impl std::fmt::Display,
    limits: &Limits,
) -> Result<(), WebhookError> {
    let too_large = match key {
        FormKey::Index(i) => *i > limits.max_index,
        FormKey::Name(s) => !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() > 19,
    };
    if too_large {
        return Err(WebhookError::IndexTooLarge {
            // Formatted only here: the path is built from its parts on the error path alone.
            path: super::form::truncate(&path.to_string()),
            index: super::form::truncate(&key.to_string()),
            limit: limits.max_index,
        });
    }
    Ok(())
}

/// Builds an entity map back from typed fields (the encoder's side).
#[derive(Default)]
pub(crate) struct FormWriter {
    map: FormMap,
}

impl FormWriter {
    pub(crate) fn with_extra(extra: &Extra) -> Self {
        let map = extra
            .iter()
            .map(|(k, v)| (FormKey::from_segment(k), v.clone()))
            .collect();
        Self { map }
    }

    pub(crate) fn text(&mut self, name: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.map
                .insert(FormKey::from_segment(name), FormNode::Text(v.to_owned()));
        }
        self
    }

    pub(crate) fn num(&mut self, name: &'static str, value: Option<impl ToString>) -> &mut Self {
        if let Some(v) = value {
            self.map
                .insert(FormKey::from_segment(name), FormNode::Text(v.to_string()));
        }
        self
    }

    pub(crate) fn flag(&mut self, name: &'static str, value: Option<bool>) -> &mut Self {
        self.num(name, value.map(u8::from))
    }

    pub(crate) fn node(&mut self, name: &'static str, node: Option<FormNode>) -> &mut Self {
        if let Some(n) = node {
            self.map.insert(FormKey::from_segment(name), n);
        }
        self
    }

    pub(crate) fn list(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = FormMap>,
    ) -> &mut Self {
        let list: FormMap = items
            .into_iter()
            .enumerate()
            .map(|(i, m)| (FormKey::Index(i as u64), FormNode::Map(m)))
            .collect();
        if !list.is_empty() {
            self.map
                .insert(FormKey::from_segment(name), FormNode::Map(list));
        }
        self
    }

    pub(crate) fn finish(&mut self) -> FormMap {
        std::mem::take(&mut self.map)
    }
}
