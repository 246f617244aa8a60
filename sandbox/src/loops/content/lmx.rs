//! A small LMX checker: enough of what Loops checks to answer 422 with errors, keep warnings,
//! and find the `{data.*}`, `{contact.*}` and `{event.*}` tags an email uses.
//!
//! Loops documents its compile failures (invalid tags, `<Image>` without `src`, `<Component>`
//! without `componentId`, `<Icon>` without `name`, `<Link>` without `href`) but not their rule
//! names or wording: the names here are the sandbox's own.

use serde_json::{Value, json};

/// What checking an LMX body found.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Checked {
    /// Problems that stop the body from being saved (422).
    pub(crate) errors: Vec<Value>,
    /// Advice, returned with a successful update.
    pub(crate) warnings: Vec<Value>,
    /// `{data.name}` tags, in order of first use.
    pub(crate) data: Vec<String>,
    /// `{contact.name}` tags.
    pub(crate) contact: Vec<String>,
    /// `{event.name}` tags.
    pub(crate) event: Vec<String>,
    /// `<Button>`s without an `href`.
    pub(crate) buttons_without_href: usize,
}

fn issue(rule: &str, message: String) -> Value {
    json!({ "rule": rule, "message": message, "path": "lmx" })
}

/// Checks `lmx`; `component_exists` says whether a `componentId` names a known component.
pub(crate) fn check(lmx: &str, component_exists: impl Fn(&str) -> bool) -> Checked {
    let mut checked = Checked::default();
    let mut open: Vec<String> = Vec::new();
    let mut rest = lmx;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else {
            checked
                .errors
                .push(issue("invalidTag", "a tag is not closed with `>`".into()));
            break;
        };
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        let closing = tag.starts_with('/');
        let self_closing = tag.ends_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        if name.is_empty() {
            checked
                .errors
                .push(issue("invalidTag", format!("`<{tag}>` is not a tag")));
            continue;
        }
        if closing {
            match open.pop() {
                Some(top) if top == name => {}
                Some(top) => checked.errors.push(issue(
                    "unbalancedTag",
                    format!("`</{name}>` closes `<{top}>`"),
                )),
                None => checked.errors.push(issue(
                    "unbalancedTag",
                    format!("`</{name}>` closes nothing"),
                )),
            }
            continue;
        }
        check_attributes(&name, tag, &component_exists, &mut checked);
        if !self_closing {
            open.push(name);
        }
    }
    for name in open {
        checked.errors.push(issue(
            "unbalancedTag",
            format!("`<{name}>` is never closed"),
        ));
    }
    collect_tags(lmx, &mut checked);
    checked
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let value = &tag[at..];
    value.find('"').map(|end| &value[..end])
}

fn check_attributes(
    name: &str,
    tag: &str,
    component_exists: &impl Fn(&str) -> bool,
    checked: &mut Checked,
) {
    let required = match name {
        "Image" => Some(("src", "missingImageSrc")),
        "Component" => Some(("componentId", "missingComponentId")),
        "Icon" => Some(("name", "missingIconName")),
        "Link" => Some(("href", "missingLinkHref")),
        _ => None,
    };
    if let Some((attr, rule)) = required
        && attribute(tag, attr).is_none_or(|v| v.trim().is_empty())
    {
        checked.errors.push(issue(
            rule,
            format!("`<{name}>` needs a `{attr}` attribute"),
        ));
    }
    if name == "Component"
        && let Some(id) = attribute(tag, "componentId").filter(|id| !id.is_empty())
        && !component_exists(id)
    {
        checked
            .errors
            .push(issue("unknownComponent", format!("no component `{id}`")));
    }
    if name == "Image" && attribute(tag, "alt").is_none() {
        checked.warnings.push(json!({
            "rule": "missingAlt",
            "severity": "warning",
            "message": "`<Image>` has no `alt` text",
            "path": "lmx",
        }));
    }
    if name == "Button" && attribute(tag, "href").is_none_or(|v| v.trim().is_empty()) {
        checked.buttons_without_href += 1;
    }
}

/// `{data.x}`, `{contact.x}`, `{event.x}`.
fn collect_tags(lmx: &str, checked: &mut Checked) {
    let mut rest = lmx;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            break;
        };
        let inner = after[..end].trim();
        rest = &after[end + 1..];
        let Some((namespace, key)) = inner.split_once('.') else {
            continue;
        };
        let key = key.trim().to_owned();
        if key.is_empty() {
            continue;
        }
        let list = match namespace {
            "data" => &mut checked.data,
            "contact" => &mut checked.contact,
            "event" => &mut checked.event,
            _ => continue,
        };
        if !list.contains(&key) {
            list.push(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(values: &[Value]) -> Vec<&str> {
        values.iter().map(|v| v["rule"].as_str().unwrap()).collect()
    }

    #[test]
    fn checks_table() {
        let known = |id: &str| id == "cp1";
        let table: &[(&str, &[&str], &[&str])] = &[
            (
                "<Paragraph><Text>Hi {data.name}</Text></Paragraph>",
                &[],
                &[],
            ),
            ("<Image src=\"https://x/y.png\" alt=\"y\" />", &[], &[]),
            ("<Image src=\"https://x/y.png\" />", &[], &["missingAlt"]),
            ("<Image />", &["missingImageSrc"], &["missingAlt"]),
            ("<Component componentId=\"cp1\" />", &[], &[]),
            (
                "<Component componentId=\"nope\" />",
                &["unknownComponent"],
                &[],
            ),
            ("<Icon />", &["missingIconName"], &[]),
            ("<Link>x</Link>", &["missingLinkHref"], &[]),
            (
                "<Paragraph><Text>x</Paragraph>",
                &["unbalancedTag", "unbalancedTag"],
                &[],
            ),
            ("<Paragraph>", &["unbalancedTag"], &[]),
            ("<Paragraph", &["invalidTag"], &[]),
            ("<Style themeId=\"th1\" />", &[], &[]),
        ];
        for (lmx, errors, warnings) in table {
            let checked = check(lmx, known);
            assert_eq!(rules(&checked.errors), *errors, "{lmx}");
            assert_eq!(rules(&checked.warnings), *warnings, "{lmx}");
        }
    }

    #[test]
    fn dynamic_tags() {
        let checked = check(
            "<Text>{data.resetLink} {contact.firstName} {event.plan} {data.resetLink} {other} {data.}</Text>",
            |_| true,
        );
        assert_eq!(checked.data, ["resetLink"]);
        assert_eq!(checked.contact, ["firstName"]);
        assert_eq!(checked.event, ["plan"]);
        let buttons = check(
            "<Button>Go</Button><Button href=\"https://x\">Go</Button>",
            |_| true,
        );
        assert_eq!(buttons.buttons_without_href, 1);
    }
}
