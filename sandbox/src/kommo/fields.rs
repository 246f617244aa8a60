//! Custom field values: reading `custom_fields_values` writes against the definitions, storing
//! them, and showing them in the v4 shape (API answers) and the legacy shape (webhooks).
//!
//! A write sets the whole value list of each field it names (as Kommo does: sending `EMAIL`
//! replaces every email of the contact), `values: null` or `[]` clears the field, and fields
//! not named keep their values.

use kommo_client::custom_fields::FieldType;
use kommo_client::ids::{CustomFieldId, EnumId};
use kommo_client::webhooks::form::{FormKey, FormNode};
use kommo_client::webhooks::{WebhookCustomField, WebhookFieldValue};
use serde_json::{Map, Value, json};

use super::model::{FieldValue, FieldValues, ValidationIssue};
use super::seeds::{CustomFieldSeed, EnumSeed};

/// One field of a write: the definition and the new values (`None` clears it).
#[derive(Debug, Clone)]
pub(crate) struct FieldWrite {
    pub(crate) def: CustomFieldSeed,
    pub(crate) values: Option<Vec<FieldValue>>,
}

/// Reads `custom_fields_values` (at `path`) against `defs`, the definitions of the entity
/// type. Problems are added to `issues`; the writes that are valid are returned.
pub(crate) fn parse_writes(
    defs: &[&CustomFieldSeed],
    value: &Value,
    path: &str,
    issues: &mut Vec<ValidationIssue>,
) -> Vec<FieldWrite> {
    let items = match value {
        Value::Null => return Vec::new(),
        Value::Array(items) => items,
        _ => {
            issues.push(ValidationIssue::invalid_type(path, "array"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}.{i}");
        let Value::Object(item) = item else {
            issues.push(ValidationIssue::invalid_type(at, "object"));
            continue;
        };
        let def = match (item.get("field_id"), item.get("field_code")) {
            (Some(id), _) if !id.is_null() => match as_u64(id) {
                Some(id) => defs.iter().find(|d| d.id == CustomFieldId(id)),
                None => {
                    issues.push(ValidationIssue::invalid_type(
                        format!("{at}.field_id"),
                        "int",
                    ));
                    continue;
                }
            }
            .ok_or_else(|| ValidationIssue::choice(format!("{at}.field_id"))),
            (_, Some(Value::String(code))) => defs
                .iter()
                .find(|d| {
                    d.code
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(code))
                })
                .ok_or_else(|| ValidationIssue::choice(format!("{at}.field_code"))),
            _ => Err(ValidationIssue::blank(format!("{at}.field_id"))),
        };
        let def = match def {
            Ok(def) => *def,
            Err(issue) => {
                issues.push(issue);
                continue;
            }
        };
        let values = match item.get("values") {
            None | Some(Value::Null) => None,
            Some(Value::Array(values)) if values.is_empty() => None,
            Some(Value::Array(values)) => {
                let before = issues.len();
                let parsed: Vec<FieldValue> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(j, v)| parse_value(def, v, &format!("{at}.values.{j}"), issues))
                    .collect();
                if parsed.len() > 1 && !allows_many(&def.field_type) {
                    issues.push(ValidationIssue::new(
                        "Count",
                        format!("{at}.values"),
                        "This collection should contain 1 element or less.",
                    ));
                }
                if issues.len() > before {
                    continue;
                }
                Some(parsed)
            }
            Some(_) => {
                issues.push(ValidationIssue::invalid_type(
                    format!("{at}.values"),
                    "array",
                ));
                continue;
            }
        };
        out.push(FieldWrite {
            def: def.clone(),
            values,
        });
    }
    out
}

fn allows_many(field_type: &FieldType) -> bool {
    matches!(field_type, FieldType::Multitext | FieldType::Multiselect)
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One value. A bare scalar is read as `{"value": scalar}` (the scenario API writes that way).
fn parse_value(
    def: &CustomFieldSeed,
    raw: &Value,
    at: &str,
    issues: &mut Vec<ValidationIssue>,
) -> Option<FieldValue> {
    let empty = Map::new();
    let (object, value) = match raw {
        Value::Object(o) => (o, o.get("value").unwrap_or(&Value::Null)),
        scalar => (&empty, scalar),
    };
    let plain = |value: Value| FieldValue {
        value,
        enum_id: None,
        enum_code: None,
    };
    match &def.field_type {
        FieldType::Numeric | FieldType::Price | FieldType::Monetary => {
            let text =
                scalar_text(value).filter(|t| t.trim().parse::<f64>().is_ok_and(f64::is_finite));
            match text {
                Some(t) => Some(plain(Value::String(t.trim().to_owned()))),
                None => {
                    issues.push(ValidationIssue::invalid_type(
                        format!("{at}.value"),
                        "numeric",
                    ));
                    None
                }
            }
        }
        FieldType::Checkbox => {
            let flag = match value {
                Value::Bool(b) => Some(*b),
                Value::Number(n) => n.as_u64().filter(|n| *n <= 1).map(|n| n == 1),
                Value::String(s) => match s.trim() {
                    "1" | "true" => Some(true),
                    "0" | "false" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            match flag {
                Some(b) => Some(plain(Value::Bool(b))),
                None => {
                    issues.push(ValidationIssue::invalid_type(format!("{at}.value"), "bool"));
                    None
                }
            }
        }
        FieldType::Date | FieldType::DateTime | FieldType::Birthday => {
            let seconds = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s
                    .trim()
                    .parse::<i64>()
                    .ok()
                    .or_else(|| crate::time::parse_datetime(s)),
                _ => None,
            };
            match seconds {
                Some(t) => Some(plain(json!(t))),
                None => {
                    issues.push(ValidationIssue::invalid_type(
                        format!("{at}.value"),
                        "datetime",
                    ));
                    None
                }
            }
        }
        FieldType::Select
        | FieldType::Multiselect
        | FieldType::Radiobutton
        | FieldType::Category => {
            let option = find_option(def, object, value);
            match option {
                Some(option) => Some(FieldValue {
                    value: Value::String(option.value.clone()),
                    enum_id: Some(option.id),
                    enum_code: option.code.clone(),
                }),
                None => {
                    let key = if object.contains_key("enum_id") {
                        "enum_id"
                    } else {
                        "value"
                    };
                    issues.push(ValidationIssue::choice(format!("{at}.{key}")));
                    None
                }
            }
        }
        FieldType::Multitext => {
            let Some(text) = scalar_text(value).filter(|t| !t.trim().is_empty()) else {
                issues.push(ValidationIssue::blank(format!("{at}.value")));
                return None;
            };
            let named = object
                .get("enum_id")
                .or_else(|| object.get("enum_code"))
                .or_else(|| object.get("enum"));
            let option = match named {
                None | Some(Value::Null) => def.enums.first(),
                Some(_) => find_option(def, object, &Value::Null),
            };
            match option {
                Some(option) => Some(FieldValue {
                    value: Value::String(text.trim().to_owned()),
                    enum_id: Some(option.id),
                    enum_code: Some(option.code.clone().unwrap_or_else(|| option.value.clone())),
                }),
                None => {
                    issues.push(ValidationIssue::choice(format!("{at}.enum_code")));
                    None
                }
            }
        }
        FieldType::Text
        | FieldType::Textarea
        | FieldType::Url
        | FieldType::StreetAddress
        | FieldType::TrackingData => match scalar_text(value) {
            Some(t) => Some(plain(Value::String(t))),
            None => {
                issues.push(ValidationIssue::invalid_type(
                    format!("{at}.value"),
                    "string",
                ));
                None
            }
        },
        // Complex types (legal entities, addresses, files, ...) are kept as sent.
        _ => {
            if value.is_null() && object.is_empty() {
                issues.push(ValidationIssue::blank(format!("{at}.value")));
                None
            } else if value.is_null() {
                Some(plain(Value::Object(object.clone())))
            } else {
                Some(plain(value.clone()))
            }
        }
    }
}

/// The option an `enum_id`, `enum_code`/`enum` or `value` names.
fn find_option<'a>(
    def: &'a CustomFieldSeed,
    object: &Map<String, Value>,
    value: &Value,
) -> Option<&'a EnumSeed> {
    let by_code = |code: &str| {
        def.enums.iter().find(|e| {
            e.code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
                || (def.field_type == FieldType::Multitext && e.value.eq_ignore_ascii_case(code))
        })
    };
    if let Some(id) = object.get("enum_id").filter(|v| !v.is_null()) {
        return as_u64(id).and_then(|id| def.find_enum(EnumId(id)));
    }
    for key in ["enum_code", "enum"] {
        match object.get(key) {
            Some(Value::String(code)) => {
                return match code.trim().parse::<u64>() {
                    Ok(id) => def.find_enum(EnumId(id)),
                    Err(_) => by_code(code),
                };
            }
            Some(Value::Number(n)) => return n.as_u64().and_then(|id| def.find_enum(EnumId(id))),
            _ => {}
        }
    }
    let label = scalar_text(value)?;
    def.enums
        .iter()
        .find(|e| e.value.eq_ignore_ascii_case(label.trim()))
        .or_else(|| by_code(label.trim()))
}

/// Applies writes to an entity's values; returns whether anything changed.
pub(crate) fn apply(fields: &mut Vec<FieldValues>, writes: &[FieldWrite]) -> bool {
    let before = fields.clone();
    for write in writes {
        let position = fields.iter().position(|f| f.field_id == write.def.id);
        match (&write.values, position) {
            (None, Some(i)) => {
                fields.remove(i);
            }
            (None, None) => {}
            (Some(values), Some(i)) => fields[i].values = values.clone(),
            (Some(values), None) => fields.push(FieldValues {
                field_id: write.def.id,
                field_name: write.def.name.clone(),
                field_code: write.def.code.clone(),
                field_type: write.def.field_type.as_str().to_owned(),
                values: values.clone(),
            }),
        }
    }
    *fields != before
}

/// `custom_fields_values` in the v4 shape: `null` when there are none.
pub(crate) fn to_json(fields: &[FieldValues]) -> Value {
    if fields.is_empty() {
        return Value::Null;
    }
    Value::Array(
        fields
            .iter()
            .map(|f| {
                json!({
                    "field_id": f.field_id,
                    "field_name": f.field_name,
                    "field_code": f.field_code,
                    "field_type": f.field_type,
                    "values": f.values,
                })
            })
            .collect(),
    )
}

/// `custom_fields[...]` in the legacy webhook shape: `values[j][value]` with the option id as
/// `values[j][enum]` for select-like and multitext fields, a bare `values[0]=<unix>` for
/// dates, `1`/`0` for checkboxes, and `code` for coded fields.
pub(crate) fn to_webhook(fields: &[FieldValues]) -> Vec<WebhookCustomField> {
    fields
        .iter()
        .map(|f| {
            let mut field = WebhookCustomField::new(f.field_id, Vec::new());
            field.name = Some(f.field_name.clone());
            field.code = f.field_code.clone();
            let is_date = matches!(f.field_type.as_str(), "date" | "date_time" | "birthday");
            if is_date {
                let bare = f
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (FormKey::Index(i as u64), FormNode::Text(v.text())))
                    .collect();
                field.extra.insert("values".into(), FormNode::Map(bare));
            } else {
                field.values = f
                    .values
                    .iter()
                    .map(|v| {
                        let text = match &v.value {
                            Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
                            _ => v.text(),
                        };
                        let mut value = WebhookFieldValue::new(text);
                        value.enum_id = v.enum_id;
                        value
                    })
                    .collect();
            }
            field
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kommo_client::common::EntityType;

    fn defs() -> Vec<CustomFieldSeed> {
        vec![
            CustomFieldSeed::multitext(
                EntityType::Contacts,
                CustomFieldId(1),
                "Email",
                "EMAIL",
                super::super::seeds::EMAIL_KINDS,
                100,
            ),
            CustomFieldSeed::new(
                EntityType::Leads,
                CustomFieldId(2),
                "Plan",
                FieldType::Select,
            )
            .code("PLAN")
            .option(EnumSeed::new(EnumId(21), "pro"))
            .option(EnumSeed::new(EnumId(22), "team")),
            CustomFieldSeed::new(
                EntityType::Leads,
                CustomFieldId(3),
                "Days",
                FieldType::Numeric,
            ),
            CustomFieldSeed::new(
                EntityType::Leads,
                CustomFieldId(4),
                "Start",
                FieldType::Date,
            ),
            CustomFieldSeed::new(
                EntityType::Leads,
                CustomFieldId(5),
                "Ok",
                FieldType::Checkbox,
            ),
        ]
    }

    fn parse(body: Value) -> (Vec<FieldWrite>, Vec<ValidationIssue>) {
        let defs = defs();
        let refs: Vec<&CustomFieldSeed> = defs.iter().collect();
        let mut issues = Vec::new();
        let writes = parse_writes(&refs, &body, "custom_fields_values", &mut issues);
        (writes, issues)
    }

    #[test]
    fn writes_are_typed_by_definition() {
        let (writes, issues) = parse(json!([
            {"field_code": "email", "values": [{"value": "a@b.co"}, {"value": "c@d.co", "enum_code": "PRIV"}]},
            {"field_id": 2, "values": [{"value": "Team"}]},
            {"field_id": "3", "values": [{"value": 14}]},
            {"field_id": 4, "values": [{"value": "2025-02-02T00:00:00Z"}]},
            {"field_id": 5, "values": [{"value": true}]},
        ]));
        assert!(issues.is_empty(), "{issues:?}");
        let email = writes[0].values.as_ref().unwrap();
        assert_eq!(email[0].enum_code.as_deref(), Some("WORK"));
        assert_eq!(email[0].enum_id, Some(EnumId(100)));
        assert_eq!(email[1].enum_code.as_deref(), Some("PRIV"));
        assert_eq!(
            writes[1].values.as_ref().unwrap()[0].enum_id,
            Some(EnumId(22))
        );
        assert_eq!(writes[2].values.as_ref().unwrap()[0].value, json!("14"));
        assert_eq!(
            writes[3].values.as_ref().unwrap()[0].value,
            json!(1_738_454_400)
        );

        let mut fields = Vec::new();
        assert!(apply(&mut fields, &writes));
        assert!(
            !apply(&mut fields, &writes),
            "the same write changes nothing"
        );
        let shown = to_json(&fields);
        assert_eq!(
            shown[1]["values"][0],
            json!({"value": "team", "enum_id": 22})
        );
        let hooks = to_webhook(&fields);
        assert_eq!(hooks[0].code.as_deref(), Some("EMAIL"));
        assert_eq!(hooks[0].values[1].enum_id, Some(EnumId(101)));
        assert!(hooks[3].values.is_empty() && hooks[3].extra.contains_key("values"));
        assert_eq!(hooks[4].values[0].value, "1");

        let (clear, _) = parse(json!([{"field_id": 2, "values": null}]));
        assert!(apply(&mut fields, &clear));
        assert_eq!(fields.len(), 4);
        assert_eq!(to_json(&[]), Value::Null);
    }

    #[test]
    fn bad_writes_name_the_path() {
        let (_, issues) = parse(json!([
            {"field_id": 99, "values": [{"value": "x"}]},
            {"field_id": 2, "values": [{"enum_id": 999}]},
            {"field_id": 3, "values": [{"value": "many"}]},
            {"field_code": "EMAIL", "values": [{"value": ""}]},
            {"field_id": 2, "values": [{"value": "pro"}, {"value": "team"}]},
            {"values": []},
        ]));
        let paths: Vec<(&str, &str)> = issues
            .iter()
            .map(|i| (i.code.as_str(), i.path.as_str()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("NotSupportedChoice", "custom_fields_values.0.field_id"),
                (
                    "NotSupportedChoice",
                    "custom_fields_values.1.values.0.enum_id"
                ),
                ("InvalidType", "custom_fields_values.2.values.0.value"),
                ("NotBlank", "custom_fields_values.3.values.0.value"),
                ("Count", "custom_fields_values.4.values"),
                ("NotBlank", "custom_fields_values.5.field_id"),
            ]
        );
    }
}
