//! The engine's view of Kommo data, the same whether it came from a webhook (legacy field set,
//! every value a string) or from the API (v4 JSON). Adapters from `kommo-client` types live in
//! `facts/from_kommo.rs`.

mod from_kommo;

pub(crate) use from_kommo::delivery_from_payload;

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::template::FieldKey;
use crate::value::Val;

/// One custom field with its values.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldFact {
    pub(crate) id: u64,
    pub(crate) code: Option<String>,
    pub(crate) values: Vec<FieldValueFact>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldValueFact {
    pub(crate) value: Option<Val>,
    pub(crate) enum_code: Option<String>,
}

pub(crate) fn field<'a>(fields: &'a [FieldFact], key: &FieldKey) -> Option<&'a FieldFact> {
    match key {
        FieldKey::Id(id) => fields.iter().find(|f| f.id == *id),
        FieldKey::Code(code) => fields
            .iter()
            .find(|f| f.code.as_deref() == Some(code.as_str()))
            .or_else(|| {
                fields.iter().find(|f| {
                    f.code
                        .as_deref()
                        .is_some_and(|c| c.eq_ignore_ascii_case(code))
                })
            }),
    }
}

/// A field's value: one value keeps its type; several (a multiselect) join as text.
pub(crate) fn field_value(fields: &[FieldFact], key: &FieldKey) -> Option<Val> {
    let values: Vec<&Val> = field(fields, key)?
        .values
        .iter()
        .filter_map(|v| v.value.as_ref())
        .collect();
    match values.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => Val::text(
            many.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

/// The values of a coded multitext field (`EMAIL`, `PHONE`) in order, with their enum codes.
pub(crate) fn coded_values<'a>(
    fields: &'a [FieldFact],
    code: &'a str,
) -> impl Iterator<Item = (Cow<'a, str>, Option<&'a str>)> + 'a {
    fields
        .iter()
        .filter(move |f| {
            f.code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })
        .flat_map(|f| f.values.iter())
        .filter_map(|v| {
            let text = match v.value.as_ref()? {
                Val::Text(s) => Cow::Borrowed(s.trim()),
                other => Cow::Owned(other.to_string().trim().to_owned()),
            };
            (!text.is_empty()).then_some((text, v.enum_code.as_deref()))
        })
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LeadFacts {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) price: Option<Val>,
    pub(crate) status_id: Option<u64>,
    pub(crate) pipeline_id: Option<u64>,
    pub(crate) responsible_user_id: Option<u64>,
    pub(crate) fields: Vec<FieldFact>,
    /// Linked contacts with their `is_main` flag, in Kommo's order.
    pub(crate) contacts: Vec<(u64, bool)>,
    pub(crate) company_id: Option<u64>,
    pub(crate) updated_at: Option<i64>,
}

impl LeadFacts {
    /// The main contact, else the first.
    pub(crate) fn main_contact(&self) -> Option<u64> {
        self.contacts
            .iter()
            .find(|(_, main)| *main)
            .or_else(|| self.contacts.first())
            .map(|(id, _)| *id)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ContactFacts {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) fields: Vec<FieldFact>,
    pub(crate) company_id: Option<u64>,
    pub(crate) updated_at: Option<i64>,
}

impl ContactFacts {
    /// First and last name: the contact's own fields when set, else the full name split at
    /// the first space.
    pub(crate) fn names(&self) -> (Option<&str>, Option<&str>) {
        fn clean(s: &Option<String>) -> Option<&str> {
            let s = s.as_deref()?.trim();
            (!s.is_empty()).then_some(s)
        }
        let (first, last) = (clean(&self.first_name), clean(&self.last_name));
        if first.is_some() || last.is_some() {
            return (first, last);
        }
        match clean(&self.name) {
            None => (None, None),
            Some(full) => match full.split_once(' ') {
                Some((first, rest)) => (Some(first), Some(rest.trim()).filter(|s| !s.is_empty())),
                None => (Some(full), None),
            },
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CompanyFacts {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) fields: Vec<FieldFact>,
    pub(crate) contacts: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PipelineFacts {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) statuses: BTreeMap<u64, String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AccountFacts {
    pub(crate) id: Option<u64>,
    pub(crate) subdomain: Option<String>,
}

/// What the webhook says about the move itself; it wins over fetched data.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Transition {
    pub(crate) status_id: Option<u64>,
    pub(crate) old_status_id: Option<u64>,
    pub(crate) pipeline_id: Option<u64>,
    pub(crate) old_pipeline_id: Option<u64>,
    pub(crate) responsible_user_id: Option<u64>,
    pub(crate) old_responsible_user_id: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: Option<&str>, first: Option<&str>, last: Option<&str>) -> ContactFacts {
        ContactFacts {
            name: name.map(str::to_owned),
            first_name: first.map(str::to_owned),
            last_name: last.map(str::to_owned),
            ..ContactFacts::default()
        }
    }

    #[test]
    fn names_table() {
        let s = Some;
        let table = [
            (
                contact(Some("Ada Lovelace"), None, None),
                (s("Ada"), s("Lovelace")),
            ),
            (
                contact(Some("Ada King Lovelace"), None, None),
                (s("Ada"), s("King Lovelace")),
            ),
            (contact(Some("Ada"), None, None), (s("Ada"), None)),
            (contact(Some("  "), None, None), (None, None)),
            (
                contact(Some("X Y"), Some("Augusta"), Some("")),
                (s("Augusta"), None),
            ),
            (
                contact(Some("Абиба абибович"), None, None),
                (s("Абиба"), s("абибович")),
            ),
            (contact(None, None, Some("King")), (None, s("King"))),
        ];
        for (c, expected) in table {
            assert_eq!(c.names(), expected, "{c:?}");
        }
    }

    #[test]
    fn main_contact_then_first() {
        let mut lead = LeadFacts {
            contacts: vec![(1, false), (2, true)],
            ..LeadFacts::default()
        };
        assert_eq!(lead.main_contact(), Some(2));
        lead.contacts = vec![(3, false), (4, false)];
        assert_eq!(lead.main_contact(), Some(3));
        lead.contacts.clear();
        assert_eq!(lead.main_contact(), None);
    }

    #[test]
    fn field_lookup() {
        let fields = vec![
            FieldFact {
                id: 1,
                code: Some("PLAN".into()),
                values: vec![FieldValueFact {
                    value: Val::text("pro"),
                    enum_code: None,
                }],
            },
            FieldFact {
                id: 2,
                code: None,
                values: vec![
                    FieldValueFact {
                        value: Val::text("a"),
                        enum_code: None,
                    },
                    FieldValueFact {
                        value: Val::text("b"),
                        enum_code: None,
                    },
                ],
            },
        ];
        assert_eq!(field_value(&fields, &FieldKey::Id(1)), Val::text("pro"));
        assert_eq!(
            field_value(&fields, &FieldKey::Code("plan".into())),
            Val::text("pro")
        );
        assert_eq!(field_value(&fields, &FieldKey::Id(2)), Val::text("a, b"));
        assert_eq!(field_value(&fields, &FieldKey::Id(3)), None);
    }
}
