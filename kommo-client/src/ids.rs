//! Identifier newtypes.
//!
//! Kommo identifiers are positive integers, but the API and especially webhooks sometimes send
//! them as strings (`"30267969"`). Every id here deserializes from either form and serializes as
//! a JSON number, so write requests always carry the shape the API documents.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The error returned when a string is not a valid Kommo id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid Kommo id: expected a non-negative integer")]
pub struct ParseIdError;

/// Parses a decimal id, accepting surrounding whitespace (seen in hand-made webhook bodies).
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) struct U64Visitor;

impl Visitor<'_> for U64Visitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer or a string holding one")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // Some endpoints echo ids as floats (`123.0`); accept exact integers only.
        if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(v as u64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        parse_u64(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// A bare id that may arrive as a number or a numeric string.
pub(crate) fn deserialize_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(U64Visitor)
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl $name {
            /// Wraps a raw id.
            #[must_use]
            pub const fn new(id: u64) -> Self {
                Self(id)
            }

            /// The raw id.
            #[must_use]
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_u64(s).map(Self).ok_or(ParseIdError)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_u64(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(U64Visitor).map(Self)
            }
        }
    };
}

id_type!(
    /// A Kommo account id.
    AccountId
);
id_type!(
    /// A lead id.
    LeadId
);
id_type!(
    /// A contact id.
    ContactId
);
id_type!(
    /// A company id.
    CompanyId
);
id_type!(
    /// A pipeline id.
    PipelineId
);
id_type!(
    /// A pipeline status (stage) id. The system statuses are [`StatusId::WON`] and
    /// [`StatusId::LOST`], the same in every pipeline.
    StatusId
);
id_type!(
    /// A user id. `0` means "the robot" in `created_by`/`updated_by`.
    UserId
);
id_type!(
    /// A user group id.
    GroupId
);
id_type!(
    /// A custom field id.
    CustomFieldId
);
id_type!(
    /// The id of one option (enum) of a select, multiselect, radiobutton or multitext field.
    EnumId
);
id_type!(
    /// A note id.
    NoteId
);
id_type!(
    /// A task id.
    TaskId
);
id_type!(
    /// A task type id (`1` follow-up, `2` meeting, others are account-defined).
    TaskTypeId
);
id_type!(
    /// A tag id. Tag ids are scoped per entity type.
    TagId
);
id_type!(
    /// A webhook subscription id.
    WebhookId
);
id_type!(
    /// A loss reason id.
    LossReasonId
);
id_type!(
    /// A catalog (list) id.
    CatalogId
);

id_type!(
    /// A lead source id (`/api/v4/sources`).
    SourceId
);
id_type!(
    /// A user role id.
    RoleId
);
id_type!(
    /// An element of a catalog (list), e.g. a product.
    CatalogElementId
);
id_type!(
    /// A customer id (the recurring-revenue module).
    CustomerId
);
id_type!(
    /// A customer status id.
    CustomerStatusId
);
id_type!(
    /// A customer segment id.
    SegmentId
);
id_type!(
    /// A customer transaction (purchase) id.
    TransactionId
);
id_type!(
    /// A chat template id.
    ChatTemplateId
);
id_type!(
    /// A talk (chat conversation) id.
    TalkId
);
id_type!(
    /// A call id.
    CallId
);
id_type!(
    /// A widget id.
    WidgetId
);

impl StatusId {
    /// The system status "Closed - won", present in every pipeline.
    pub const WON: StatusId = StatusId(142);
    /// The system status "Closed - lost", present in every pipeline.
    pub const LOST: StatusId = StatusId(143);

    /// Whether this is the system "won" status (142).
    #[must_use]
    pub const fn is_won(self) -> bool {
        self.0 == 142
    }

    /// Whether this is the system "lost" status (143).
    #[must_use]
    pub const fn is_lost(self) -> bool {
        self.0 == 143
    }

    /// Whether this is one of the two closing system statuses.
    #[must_use]
    pub const fn is_closed(self) -> bool {
        self.is_won() || self.is_lost()
    }
}

impl TaskTypeId {
    /// The built-in "Follow-up" (call) task type.
    pub const FOLLOW_UP: TaskTypeId = TaskTypeId(1);
    /// The built-in "Meeting" task type.
    pub const MEETING: TaskTypeId = TaskTypeId(2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_numbers_and_strings() {
        let cases = [
            ("123", Some(123)),
            ("\"123\"", Some(123)),
            ("\" 42 \"", Some(42)),
            ("123.0", Some(123)),
            ("-1", None),
            ("\"-1\"", None),
            ("\"12a\"", None),
            ("\"\"", None),
            ("1.5", None),
            ("null", None),
        ];
        for (json, want) in cases {
            let got = serde_json::from_str::<LeadId>(json).ok().map(LeadId::get);
            assert_eq!(got, want, "input {json}");
        }
    }

    #[test]
    fn ids_serialize_as_numbers() {
        assert_eq!(serde_json::to_string(&LeadId(7)).unwrap(), "7");
        assert_eq!("15".parse::<ContactId>(), Ok(ContactId(15)));
        assert_eq!("x".parse::<ContactId>(), Err(ParseIdError));
        assert!(StatusId::WON.is_won() && StatusId::LOST.is_lost());
        assert!(!StatusId(58141807).is_closed());
    }
}
