//! Client-side checks that run before any request is sent.
//!
//! Loops answers most of these mistakes with a generic 400; catching them here gives an error
//! that names the field, and spends no request from the rate limit.

use crate::value::{
    ContactProperties, DataVariable, DataVariables, EventProperties, PropertyValue,
};

/// Property names Loops reserves; they cannot be sent as custom properties.
pub const RESERVED_PROPERTY_NAMES: [&str; 5] =
    ["id", "listId", "softDeleteAt", "teamId", "updatedAt"];

/// Keys that have their own typed field in request bodies and so cannot be properties.
const TYPED_BODY_KEYS: [&str; 5] = [
    "email",
    "userId",
    "mailingLists",
    "eventName",
    "eventProperties",
];

/// The longest value Loops accepts, counted in characters including the two JSON quotes.
pub const MAX_VALUE_CHARS: usize = 500;

/// The largest transactional request body Loops accepts (strictly less than 4 MB).
pub const MAX_TRANSACTIONAL_BYTES: usize = 4_000_000;

/// The largest LMX body an email-message update may carry. Loops documents "100 KB"; the
/// larger reading (100 × 1024 bytes) is used so that nothing Loops accepts is refused here.
pub const MAX_LMX_BYTES: usize = 100 * 1024;

/// The largest upload Loops accepts: 4,000,000 bytes.
pub const MAX_UPLOAD_BYTES: usize = 4_000_000;

/// The longest audience-segment name Loops accepts, in characters.
pub const MAX_SEGMENT_NAME_CHARS: usize = 255;

/// The longest audience-segment description Loops accepts, in characters.
pub const MAX_SEGMENT_DESCRIPTION_CHARS: usize = 1000;

/// The group name Loops reserves for its default group; groups cannot be created or renamed
/// to it.
pub const RESERVED_GROUP_NAME: &str = "Unsorted";

/// A request that was refused before it was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Neither an email nor a userId was given.
    #[error("an email or a userId is required")]
    MissingIdentifier,
    /// Both an email and a userId were given where exactly one is allowed.
    #[error("give either an email or a userId, not both")]
    BothIdentifiers,
    /// A required field is empty.
    #[error("`{field}` must not be empty")]
    EmptyField {
        /// The field's name in the Loops API.
        field: &'static str,
    },
    /// A property uses a name Loops reserves.
    #[error("`{name}` is a reserved Loops property name")]
    ReservedPropertyName {
        /// The property name.
        name: String,
    },
    /// A property uses a key that has its own field in the request.
    #[error("`{name}` cannot be sent as a property: use the request's own `{name}` field")]
    TypedFieldAsProperty {
        /// The property name.
        name: String,
    },
    /// A value is longer than Loops accepts.
    #[error(
        "the value of `{field}` has {chars} characters; Loops accepts at most {max} including quotes"
    )]
    ValueTooLong {
        /// The field or property name.
        field: String,
        /// Its length in characters, quotes included.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// `null` was given where Loops does not accept it.
    #[error("`{field}` cannot be null")]
    NullNotAllowed {
        /// The field or property name.
        field: String,
    },
    /// An idempotency key is empty or longer than 100 characters.
    #[error("invalid idempotency key: {reason}")]
    InvalidIdempotencyKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A page size outside 10..=50.
    #[error("perPage must be between 10 and 50, got {value}")]
    InvalidPageSize {
        /// The value given.
        value: u32,
    },
    /// A size or length over a limit Loops documents (LMX, uploads, segment names).
    #[error("`{field}` is {size} {unit}; Loops accepts at most {max}")]
    LimitExceeded {
        /// The field's name in the Loops API.
        field: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
        /// `bytes` or `characters`.
        unit: &'static str,
    },
    /// An update that sets nothing; Loops requires at least one field.
    #[error("nothing to update: set at least one field of the {request}")]
    EmptyUpdate {
        /// The request type.
        request: &'static str,
    },
    /// A value Loops would refuse for a documented reason.
    #[error("invalid `{field}`: {reason}")]
    InvalidValue {
        /// The field's name in the Loops API.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A transactional body that would exceed the 4 MB limit.
    #[error("the transactional request is {bytes} bytes; Loops accepts less than {max}")]
    PayloadTooLarge {
        /// The serialized size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

pub(crate) fn require_non_empty(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::EmptyField { field });
    }
    check_len(field, value)
}

/// Checks one string against the 500-character limit (quotes count, as the Loops docs say).
pub(crate) fn check_len(field: &str, value: &str) -> Result<(), ValidationError> {
    // Counting chars is O(n); skip it for short strings that cannot be over the limit.
    if value.len() + 2 <= MAX_VALUE_CHARS {
        return Ok(());
    }
    let chars = value.chars().count() + 2;
    if chars > MAX_VALUE_CHARS {
        return Err(ValidationError::ValueTooLong {
            field: field.to_owned(),
            chars,
            max: MAX_VALUE_CHARS,
        });
    }
    Ok(())
}

/// Refuses a value longer than `max` characters (no quotes counted: the content endpoints
/// state their limits in characters of the value).
pub(crate) fn check_chars(
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), ValidationError> {
    if value.len() <= max {
        return Ok(());
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(ValidationError::LimitExceeded {
            field,
            size: chars,
            max,
            unit: "characters",
        });
    }
    Ok(())
}

/// Refuses more than `max` bytes.
pub(crate) fn check_bytes(
    field: &'static str,
    bytes: usize,
    max: usize,
) -> Result<(), ValidationError> {
    if bytes > max {
        return Err(ValidationError::LimitExceeded {
            field,
            size: bytes,
            max,
            unit: "bytes",
        });
    }
    Ok(())
}

/// Refuses the reserved group name, compared as Loops' UI shows it (case and surrounding
/// spaces ignored, so "unsorted " is refused too).
pub(crate) fn check_group_name(name: &str) -> Result<(), ValidationError> {
    require_non_empty_any("name", name)?;
    if name.trim().eq_ignore_ascii_case(RESERVED_GROUP_NAME) {
        return Err(ValidationError::InvalidValue {
            field: "name",
            reason: "\"Unsorted\" is reserved for Loops' default group",
        });
    }
    Ok(())
}

/// Like [`require_non_empty`], without the 500-character limit of the core endpoints (names
/// and LMX on the content endpoints have their own limits).
pub(crate) fn require_non_empty_any(
    field: &'static str,
    value: &str,
) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::EmptyField { field });
    }
    Ok(())
}

fn check_property_name(name: &str) -> Result<(), ValidationError> {
    if name.trim().is_empty() {
        return Err(ValidationError::EmptyField {
            field: "property name",
        });
    }
    if RESERVED_PROPERTY_NAMES.contains(&name) {
        return Err(ValidationError::ReservedPropertyName {
            name: name.to_owned(),
        });
    }
    if TYPED_BODY_KEYS.contains(&name) {
        return Err(ValidationError::TypedFieldAsProperty {
            name: name.to_owned(),
        });
    }
    check_len("property name", name)
}

fn check_value(name: &str, value: &PropertyValue) -> Result<(), ValidationError> {
    match value {
        PropertyValue::String(s) => check_len(name, s),
        _ => Ok(()),
    }
}

pub(crate) fn check_contact_properties(props: &ContactProperties) -> Result<(), ValidationError> {
    for (name, value) in props.iter() {
        check_property_name(name)?;
        check_value(name, value)?;
    }
    Ok(())
}

pub(crate) fn check_event_properties(props: &EventProperties) -> Result<(), ValidationError> {
    for (name, value) in props {
        if name.trim().is_empty() {
            return Err(ValidationError::EmptyField {
                field: "event property name",
            });
        }
        check_len("event property name", name)?;
        if value.is_null() {
            return Err(ValidationError::NullNotAllowed {
                field: format!("eventProperties.{name}"),
            });
        }
        check_value(name, value)?;
    }
    Ok(())
}

pub(crate) fn check_data_variables(vars: &DataVariables) -> Result<(), ValidationError> {
    for (name, value) in vars {
        if name.trim().is_empty() {
            return Err(ValidationError::EmptyField {
                field: "data variable name",
            });
        }
        match value {
            DataVariable::String(s) => check_len(name, s)?,
            DataVariable::Number(_) => {}
            DataVariable::List(items) => {
                for item in items {
                    for (key, scalar) in item {
                        if let crate::value::DataScalar::String(s) = scalar {
                            check_len(&format!("{name}[].{key}"), s)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn check_mailing_lists(
    lists: &crate::value::MailingLists,
) -> Result<(), ValidationError> {
    for id in lists.keys() {
        require_non_empty("mailingLists key", id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_name_table() {
        let cases: &[(&str, Option<&str>)] = &[
            ("plan", None),
            ("favoriteColor", None),
            ("id", Some("reserved")),
            ("listId", Some("reserved")),
            ("softDeleteAt", Some("reserved")),
            ("teamId", Some("reserved")),
            ("updatedAt", Some("reserved")),
            ("email", Some("typed")),
            ("userId", Some("typed")),
            ("mailingLists", Some("typed")),
            ("", Some("empty")),
            ("  ", Some("empty")),
        ];
        for (name, expected) in cases {
            let got = check_property_name(name).err().map(|e| match e {
                ValidationError::ReservedPropertyName { .. } => "reserved",
                ValidationError::TypedFieldAsProperty { .. } => "typed",
                ValidationError::EmptyField { .. } => "empty",
                other => panic!("unexpected {other:?}"),
            });
            assert_eq!(got, *expected, "{name:?}");
        }
    }

    #[test]
    fn length_limit_counts_characters_and_quotes() {
        let ok = "é".repeat(MAX_VALUE_CHARS - 2);
        assert!(check_len("x", &ok).is_ok());
        let too_long = "a".repeat(MAX_VALUE_CHARS - 1);
        assert_eq!(
            check_len("x", &too_long),
            Err(ValidationError::ValueTooLong {
                field: "x".into(),
                chars: MAX_VALUE_CHARS + 1,
                max: MAX_VALUE_CHARS
            })
        );
    }

    #[test]
    fn content_limits() {
        assert!(check_chars("name", &"é".repeat(255), MAX_SEGMENT_NAME_CHARS).is_ok());
        assert_eq!(
            check_chars("name", &"a".repeat(256), MAX_SEGMENT_NAME_CHARS),
            Err(ValidationError::LimitExceeded {
                field: "name",
                size: 256,
                max: 255,
                unit: "characters"
            })
        );
        assert!(check_bytes("lmx", MAX_LMX_BYTES, MAX_LMX_BYTES).is_ok());
        assert!(check_bytes("lmx", MAX_LMX_BYTES + 1, MAX_LMX_BYTES).is_err());
        for (name, ok) in [
            ("Onboarding", true),
            ("Unsorted", false),
            ("unsorted ", false),
            ("Unsorted 2", true),
            ("", false),
        ] {
            assert_eq!(check_group_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn event_properties_refuse_null() {
        let mut props = EventProperties::new();
        props.insert("plan".into(), PropertyValue::Null);
        assert!(matches!(
            check_event_properties(&props),
            Err(ValidationError::NullNotAllowed { .. })
        ));
    }

    #[test]
    fn long_values_inside_array_variables_are_caught() {
        let mut item = std::collections::BTreeMap::new();
        item.insert(
            "name".to_owned(),
            crate::value::DataScalar::from("x".repeat(600)),
        );
        let mut vars = DataVariables::new();
        vars.insert("items".into(), DataVariable::List(vec![item]));
        let err = check_data_variables(&vars).unwrap_err();
        assert!(err.to_string().contains("items[].name"), "{err}");
    }
}
