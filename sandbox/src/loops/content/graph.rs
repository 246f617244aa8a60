//! A workflow graph and its edits: insert a node (between, before, after), update a node's
//! own fields, delete one node or a subtree, add a branch, reroute a connection.
//!
//! Every edit is checked before anything changes. Loops documents the rules (what can be
//! created, which node types an update can change, the 400-node cap, branch children) but not
//! the defaults of new nodes; the sandbox picks them (a timer of 1 day, a 50% experiment).

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::super::request::ApiError;

/// Loops caps workflows at 400 nodes.
pub(crate) const MAX_NODES: usize = 400;

const TRIGGERS: [&str; 5] = [
    "SignupTrigger",
    "EventTrigger",
    "ContactPropertyTrigger",
    "AddToListTrigger",
    "BlankTrigger",
];

/// Node types the API can create.
pub(crate) const CREATABLE: [&str; 6] = [
    "AudienceFilter",
    "BranchNode",
    "ExperimentBranchNode",
    "TimerAction",
    "SendEmailAction",
    "VariantNode",
];

/// One node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) type_name: String,
    pub(crate) next: Vec<String>,
    pub(crate) fields: Map<String, Value>,
}

impl Node {
    pub(crate) fn new(type_name: &str, fields: Map<String, Value>) -> Self {
        Node {
            type_name: type_name.to_owned(),
            next: Vec::new(),
            fields,
        }
    }
}

/// A workflow.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Workflow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) mailing_list_id: Option<String>,
    pub(crate) status: String,
    pub(crate) revision: Option<String>,
    pub(crate) root: String,
    pub(crate) nodes: BTreeMap<String, Node>,
    /// Contacts waiting at each node (set by tests through the inspection API).
    pub(crate) queued: BTreeMap<String, u64>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
}

/// What an update may consult outside the workflow.
pub(crate) struct Lookups<'a> {
    pub(crate) segment_exists: &'a dyn Fn(&str) -> bool,
    /// An event pattern's name and properties, by id.
    pub(crate) pattern: &'a dyn Fn(&str) -> Option<(String, Value)>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

impl Workflow {
    pub(crate) fn to_json(&self) -> Value {
        let nodes: Map<String, Value> = self
            .nodes
            .iter()
            .map(|(id, node)| {
                let mut out = node.fields.clone();
                out.insert("typeName".into(), json!(node.type_name));
                out.insert("nextNodeIds".into(), json!(node.next));
                (id.clone(), Value::Object(out))
            })
            .collect();
        json!({
            "id": self.id,
            "url": format!("https://app.loops.so/workflows/{}", self.id),
            "status": self.status,
            "name": self.name,
            "description": self.description,
            "mailingListId": self.mailing_list_id,
            "rootNodeId": self.root,
            "workflowRevisionId": self.revision,
            "nodes": nodes,
        })
    }

    pub(crate) fn summary_json(&self) -> Value {
        json!({
            "id": self.id,
            "url": format!("https://app.loops.so/workflows/{}", self.id),
            "name": self.name,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        })
    }

    /// A node in full, with the workflow's revision.
    pub(crate) fn node_json(&self, id: &str) -> Result<Value, ApiError> {
        let node = self.node(id)?;
        let mut out = node.fields.clone();
        out.insert("id".into(), json!(id));
        out.insert("workflowId".into(), json!(self.id));
        out.insert("typeName".into(), json!(node.type_name));
        out.insert("nextNodeIds".into(), json!(node.next));
        out.insert("workflowRevisionId".into(), json!(self.revision));
        Ok(Value::Object(out))
    }

    pub(crate) fn node(&self, id: &str) -> Result<&Node, ApiError> {
        self.nodes
            .get(id)
            .ok_or_else(|| ApiError::not_found("Workflow node not found."))
    }

    fn parents(&self, id: &str) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.next.iter().any(|x| x == id))
            .map(|(p, _)| p.clone())
            .collect()
    }

    pub(crate) fn queued_at(&self, ids: &[String]) -> u64 {
        ids.iter().filter_map(|id| self.queued.get(id)).sum()
    }

    pub(crate) fn queued_total(&self) -> u64 {
        self.queued.values().sum()
    }

    pub(crate) fn check_editable(&self) -> Result<(), ApiError> {
        if self.status == "Sending" {
            return Err(bad("The workflow cannot be edited while it is sending."));
        }
        Ok(())
    }

    /// Where `insertMode` puts a new node: the connection `(from, to)` it goes on.
    pub(crate) fn placement(
        &self,
        mode: &str,
        node_type: &str,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<(String, String), ApiError> {
        let (from, to) = match (mode, from, to) {
            ("between", Some(from), Some(to)) => (from.to_owned(), to.to_owned()),
            ("before", _, Some(to)) => {
                if node_type == "VariantNode" {
                    return Err(bad(
                        "A VariantNode cannot be inserted before a node; use between.",
                    ));
                }
                match self.parents(to).as_slice() {
                    [parent] => (parent.clone(), to.to_owned()),
                    [] => return Err(bad("The target node has no parent.")),
                    _ => return Err(bad("The target node has several parents; use between.")),
                }
            }
            ("after", Some(from), _) => match self.node(from)?.next.as_slice() {
                [only] => (from.to_owned(), only.clone()),
                _ => {
                    return Err(bad(
                        "`after` needs a node with exactly one outgoing connection.",
                    ));
                }
            },
            ("between" | "before" | "after", _, _) => {
                return Err(bad("The node ids this insertMode needs are missing."));
            }
            _ => return Err(bad("`insertMode` must be between, before or after.")),
        };
        if !self.node(&from)?.next.contains(&to) {
            return Err(bad(format!("There is no connection from {from} to {to}.")));
        }
        if TRIGGERS.contains(&self.node(&to)?.type_name.as_str()) {
            return Err(bad("Nothing can be inserted before a trigger."));
        }
        if self.node(&from)?.type_name == "ExperimentBranchNode" && node_type != "VariantNode" {
            return Err(bad(
                "Under an ExperimentBranchNode only a VariantNode can be inserted.",
            ));
        }
        Ok((from, to))
    }

    /// Puts `node` (and its `children`, for branch types) on the connection `from` → `to`.
    pub(crate) fn insert(
        &mut self,
        (from, to): (String, String),
        id: String,
        mut node: Node,
        children: Vec<(String, Node)>,
    ) -> Result<(), ApiError> {
        if self.nodes.len() + 1 + children.len() > MAX_NODES {
            return Err(bad(format!("A workflow holds at most {MAX_NODES} nodes.")));
        }
        if children.is_empty() {
            node.next = vec![to.clone()];
        }
        for (child_id, mut child) in children {
            child.next = vec![to.clone()];
            node.next.push(child_id.clone());
            self.nodes.insert(child_id, child);
        }
        if let Some(source) = self.nodes.get_mut(&from) {
            for next in &mut source.next {
                if *next == to {
                    *next = id.clone();
                }
            }
        }
        self.nodes.insert(id, node);
        Ok(())
    }

    /// Sets a node's own fields from an update `payload`.
    pub(crate) fn update(
        &mut self,
        id: &str,
        payload: &Map<String, Value>,
        lookups: &Lookups<'_>,
    ) -> Result<(), ApiError> {
        if payload.is_empty() {
            return Err(bad("The payload must set at least one field."));
        }
        let node = self.node(id)?.clone();
        let mut fields = node.fields.clone();
        let mut type_name = node.type_name.clone();
        let is_trigger = TRIGGERS.contains(&type_name.as_str());
        if let Some(new_type) = payload.get("typeName") {
            let new_type = new_type.as_str().unwrap_or_default();
            if !is_trigger || new_type == "BlankTrigger" || !TRIGGERS.contains(&new_type) {
                return Err(bad(
                    "`typeName` can only change a trigger into another trigger type.",
                ));
            }
            if new_type != type_name {
                fields = Map::new();
                type_name = new_type.to_owned();
            }
        }
        let allowed: &[&str] = match type_name.as_str() {
            "SignupTrigger" => &[],
            "EventTrigger" => &["eventName", "eventPatternId", "reEligible"],
            "ContactPropertyTrigger" => &["contactPropertyQuery", "reEligible"],
            "AddToListTrigger" => &["reEligible"],
            "BlankTrigger" => return Err(bad("Give a blank trigger a `typeName`.")),
            "AudienceFilter" => &["audienceSegmentId", "audienceFilter", "appliesDownstream"],
            "TimerAction" => &["amount", "unit"],
            "ExperimentBranchNode" => &["samplingRate"],
            "VariantNode" => &["isControl"],
            _ => {
                return Err(ApiError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    format!("Updating a {type_name} node is not implemented."),
                ));
            }
        };
        for (key, value) in payload {
            if key == "typeName" {
                continue;
            }
            if !allowed.contains(&key.as_str()) {
                return Err(bad(format!("`{key}` cannot be set on a {type_name} node."))
                    .with("path", json!(key)));
            }
            check_field(key, value, lookups)?;
            fields.insert(key.clone(), value.clone());
        }
        if type_name == "EventTrigger" {
            settle_event(&mut fields, payload, lookups)?;
        }
        if payload.get("isControl") == Some(&json!(true)) {
            self.clear_sibling_controls(id);
        }
        let node = self.nodes.get_mut(id).ok_or_else(|| bad("gone"))?;
        node.type_name = type_name;
        node.fields = fields;
        Ok(())
    }

    fn clear_sibling_controls(&mut self, id: &str) {
        for parent in self.parents(id) {
            let siblings = self.nodes[&parent].next.clone();
            for sibling in siblings {
                if let Some(node) = self.nodes.get_mut(&sibling) {
                    node.fields.insert("isControl".into(), json!(false));
                }
            }
        }
    }

    /// The nodes a delete removes: the node alone (reconnecting its parents to its only
    /// successor), or its subtree (what is no longer reachable from the trigger without it).
    pub(crate) fn deletion(&self, id: &str, recursive: bool) -> Result<Vec<String>, ApiError> {
        let node = self.node(id)?;
        if id == self.root || TRIGGERS.contains(&node.type_name.as_str()) {
            return Err(bad("The trigger cannot be deleted."));
        }
        if !recursive {
            if node.type_name == "ExitAction" {
                return Err(bad("An exit node cannot be deleted on its own."));
            }
            if node.next.len() != 1 {
                return Err(bad(
                    "This node has several branches; delete it recursively.",
                ));
            }
            return Ok(vec![id.to_owned()]);
        }
        let reachable = self.reachable_without(id);
        Ok(self
            .nodes
            .keys()
            .filter(|n| !reachable.contains(*n))
            .cloned()
            .collect())
    }

    fn reachable_without(&self, skip: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![self.root.clone()];
        while let Some(id) = todo.pop() {
            if id == skip || !seen.insert(id.clone()) {
                continue;
            }
            if let Some(node) = self.nodes.get(&id) {
                todo.extend(node.next.iter().cloned());
            }
        }
        seen
    }

    /// Applies a deletion worked out by [`deletion`](Self::deletion); `exit_id` names the
    /// exit that ends the paths a subtree delete cuts.
    pub(crate) fn delete(&mut self, id: &str, removed: &[String], exit_id: String) {
        let replacement = if removed.len() == 1 {
            self.nodes[id].next.first().cloned()
        } else {
            None
        };
        let replacement = replacement.unwrap_or_else(|| {
            self.nodes
                .insert(exit_id.clone(), Node::new("ExitAction", Map::new()));
            exit_id
        });
        for node in self.nodes.values_mut() {
            for next in &mut node.next {
                if next == id {
                    *next = replacement.clone();
                }
            }
        }
        for gone in removed {
            self.nodes.remove(gone);
            self.queued.remove(gone);
        }
    }

    /// Moves the only outgoing connection of `id` to `target`.
    pub(crate) fn reroute(&mut self, id: &str, target: &str) -> Result<(), ApiError> {
        let node = self.node(id)?;
        let [current] = node.next.as_slice() else {
            return Err(bad(
                "Only a node with exactly one outgoing connection can be rerouted.",
            ));
        };
        let current = current.clone();
        let target_node = self.node(target)?;
        if target == id || TRIGGERS.contains(&target_node.type_name.as_str()) {
            return Err(bad("That node cannot receive the connection."));
        }
        if current != target && self.parents(&current).len() < 2 {
            return Err(bad(
                "The current target would be left without an incoming connection.",
            ));
        }
        if let Some(node) = self.nodes.get_mut(id) {
            node.next = vec![target.to_owned()];
        }
        Ok(())
    }
}

fn check_field(key: &str, value: &Value, lookups: &Lookups<'_>) -> Result<(), ApiError> {
    let valid = match key {
        "reEligible" | "appliesDownstream" | "isControl" => value.is_boolean(),
        "amount" => value.as_u64().is_some(),
        "unit" => matches!(value.as_str(), Some("m" | "h" | "d")),
        "samplingRate" => value.as_u64().is_some_and(|r| r <= 100),
        "eventName" | "eventPatternId" => {
            value.is_null() || value.as_str().is_some_and(|s| !s.is_empty())
        }
        "audienceSegmentId" => match value {
            Value::Null => true,
            Value::String(id) => {
                if !(lookups.segment_exists)(id) {
                    return Err(ApiError::not_found("Audience segment not found."));
                }
                true
            }
            _ => false,
        },
        "audienceFilter" => {
            super::library::check_filter(value)?;
            true
        }
        "contactPropertyQuery" => {
            value.get("key").and_then(Value::as_str).is_some()
                && value.get("is").is_some()
                && value.get("was").is_some()
        }
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err(bad(format!("Invalid `{key}`.")).with("path", json!(key)))
    }
}

/// An event trigger names its event by `eventName` or by `eventPatternId`, not both; a
/// pattern brings its event's name and properties.
fn settle_event(
    fields: &mut Map<String, Value>,
    payload: &Map<String, Value>,
    lookups: &Lookups<'_>,
) -> Result<(), ApiError> {
    let named = payload.get("eventName").is_some_and(|v| !v.is_null());
    let by_pattern = payload.get("eventPatternId").and_then(Value::as_str);
    if named && by_pattern.is_some() {
        return Err(bad("Set eventName or eventPatternId, not both."));
    }
    if let Some(pattern_id) = by_pattern {
        let (name, properties) = (lookups.pattern)(pattern_id)
            .ok_or_else(|| ApiError::not_found("Event pattern not found."))?;
        fields.insert("eventName".into(), json!(name));
        fields.insert("eventProperties".into(), properties);
    }
    if named {
        fields.remove("eventPatternId");
        fields.entry("eventProperties").or_insert_with(|| json!([]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow() -> Workflow {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "t".to_owned(),
            Node {
                type_name: "BlankTrigger".into(),
                next: vec!["x".into()],
                fields: Map::new(),
            },
        );
        nodes.insert("x".to_owned(), Node::new("ExitAction", Map::new()));
        Workflow {
            id: "w".into(),
            name: "W".into(),
            description: None,
            mailing_list_id: None,
            status: "Draft".into(),
            revision: Some("r1".into()),
            root: "t".into(),
            nodes,
            queued: BTreeMap::new(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn lookups() -> Lookups<'static> {
        Lookups {
            segment_exists: &|id| id == "s1",
            pattern: &|id| {
                (id == "p1").then(|| {
                    (
                        "signup".to_owned(),
                        json!([{"name": "plan", "type": "string"}]),
                    )
                })
            },
        }
    }

    /// Inserts a default node of `node_type` after `from`.
    fn add_after(w: &mut Workflow, from: &str, id: &str, node_type: &str) {
        let at = w.placement("after", node_type, Some(from), None).unwrap();
        w.insert(at, id.into(), Node::new(node_type, Map::new()), vec![])
            .unwrap();
    }

    fn path(w: &Workflow) -> Vec<String> {
        let mut out = vec![w.root.clone()];
        while let [next] = w.nodes[out.last().unwrap()].next.as_slice() {
            out.push(next.clone());
        }
        out
    }

    #[test]
    fn inserting_and_deleting_keeps_the_path_whole() {
        let mut w = workflow();
        add_after(&mut w, "t", "a", "TimerAction");
        let at = w
            .placement("before", "SendEmailAction", None, Some("x"))
            .unwrap();
        w.insert(
            at,
            "b".into(),
            Node::new("SendEmailAction", Map::new()),
            vec![],
        )
        .unwrap();
        assert_eq!(path(&w), ["t", "a", "b", "x"]);
        let removed = w.deletion("a", false).unwrap();
        w.delete("a", &removed, "unused".into());
        assert_eq!(path(&w), ["t", "b", "x"]);
        assert!(w.deletion("t", false).is_err());
        assert!(w.deletion("x", false).is_err());
    }

    #[test]
    fn branches_and_subtrees() {
        let mut w = workflow();
        let at = w
            .placement("between", "BranchNode", Some("t"), Some("x"))
            .unwrap();
        let children = vec![
            ("f1".to_owned(), Node::new("AudienceFilter", Map::new())),
            ("f2".to_owned(), Node::new("AudienceFilter", Map::new())),
        ];
        w.insert(
            at,
            "b".into(),
            Node::new("BranchNode", Map::new()),
            children,
        )
        .unwrap();
        assert_eq!(w.nodes["b"].next, ["f1", "f2"]);
        assert!(w.deletion("b", false).is_err(), "several branches");
        let removed = w.deletion("b", true).unwrap();
        assert_eq!(removed, ["b", "f1", "f2", "x"]);
        w.delete("b", &removed, "x2".into());
        assert_eq!(path(&w), ["t", "x2"]);
        assert!(
            w.placement("before", "TimerAction", None, Some("t"))
                .is_err()
        );
        assert!(
            w.placement("after", "TimerAction", Some("x2"), None)
                .is_err()
        );
        assert!(
            w.placement("sideways", "TimerAction", Some("t"), None)
                .is_err()
        );
    }

    #[test]
    fn updates_follow_the_node_type() {
        let mut w = workflow();
        let l = lookups();
        let payload = |v: Value| v.as_object().unwrap().clone();
        assert!(
            w.update("t", &payload(json!({"eventName": "x"})), &l)
                .is_err(),
            "a blank trigger needs a type"
        );
        w.update(
            "t",
            &payload(
                json!({"typeName": "EventTrigger", "eventPatternId": "p1", "reEligible": true}),
            ),
            &l,
        )
        .unwrap();
        assert_eq!(w.nodes["t"].fields["eventName"], "signup");
        assert!(
            w.update(
                "t",
                &payload(json!({"eventName": "a", "eventPatternId": "p1"})),
                &l
            )
            .is_err()
        );
        assert!(w.update("t", &payload(json!({"amount": 1})), &l).is_err());
        let at = w
            .placement("after", "SendEmailAction", Some("t"), None)
            .unwrap();
        w.insert(
            at,
            "e".into(),
            Node::new("SendEmailAction", Map::new()),
            vec![],
        )
        .unwrap();
        let err = w
            .update("e", &payload(json!({"subject": "x"})), &l)
            .unwrap_err();
        assert_eq!(err.status, StatusCode::NOT_IMPLEMENTED);
        add_after(&mut w, "t", "m", "TimerAction");
        w.update("m", &payload(json!({"amount": 2, "unit": "h"})), &l)
            .unwrap();
        assert!(w.update("m", &payload(json!({"unit": "w"})), &l).is_err());
        let at = w
            .placement("after", "AudienceFilter", Some("m"), None)
            .unwrap();
        w.insert(
            at,
            "f".into(),
            Node::new("AudienceFilter", Map::new()),
            vec![],
        )
        .unwrap();
        assert_eq!(
            w.update("f", &payload(json!({"audienceSegmentId": "nope"})), &l)
                .unwrap_err()
                .status,
            StatusCode::NOT_FOUND
        );
        w.update(
            "f",
            &payload(json!({"audienceSegmentId": "s1", "appliesDownstream": true})),
            &l,
        )
        .unwrap();
    }

    #[test]
    fn reroutes_keep_every_node_reachable() {
        let mut w = workflow();
        add_after(&mut w, "t", "a", "TimerAction");
        assert!(w.reroute("t", "x").is_err(), "a would be orphaned");
        assert!(w.reroute("a", "t").is_err(), "not to a trigger");
        w.reroute("a", "x").unwrap();
    }
}
