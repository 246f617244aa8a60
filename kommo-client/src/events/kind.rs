//! Event types (`type` of an event, `key` of an event type).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::ids::CustomFieldId;

macro_rules! event_types {
    ($( $(#[$meta:meta])* $variant:ident => $text:literal, )*) => {
        /// What an event records. Kommo adds types over time: an unknown one is kept in
        /// [`EventType::Other`], and a field change of one field,
        /// `custom_field_{ID}_value_changed`, is [`EventType::CustomFieldChanged`] with the id.
        ///
        /// ```
        /// use kommo_client::events::EventType;
        /// use kommo_client::ids::CustomFieldId;
        ///
        /// assert_eq!("lead_status_changed".parse(), Ok(EventType::LeadStatusChanged));
        /// assert_eq!(
        ///     "custom_field_777777_value_changed".parse(),
        ///     Ok(EventType::CustomFieldChanged(CustomFieldId(777777)))
        /// );
        /// let new: EventType = "hologram_added".parse().unwrap();
        /// assert_eq!(new.as_str(), "hologram_added");
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventType {
            $( $(#[$meta])* $variant, )*
            /// `custom_field_{ID}_value_changed`: a value of this field changed.
            CustomFieldChanged(CustomFieldId),
            /// A type this crate does not know, kept as sent.
            Other(String),
        }

        impl EventType {
            /// Every type with a fixed name, in the order of Kommo's table.
            pub const KNOWN: &'static [EventType] = &[$( EventType::$variant, )*];

            /// The wire name (`custom_field_{ID}_value_changed` for a field change).
            #[must_use]
            pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
                match self {
                    $( EventType::$variant => std::borrow::Cow::Borrowed($text), )*
                    EventType::CustomFieldChanged(id) => {
                        std::borrow::Cow::Owned(format!("custom_field_{id}_value_changed"))
                    }
                    EventType::Other(s) => std::borrow::Cow::Borrowed(s),
                }
            }

            fn known(s: &str) -> Option<Self> {
                Some(match s {
                    $( $text => EventType::$variant, )*
                    _ => return custom_field_id(s).map(EventType::CustomFieldChanged),
                })
            }
        }
    };
}

event_types! {
    /// `lead_added`.
    LeadAdded => "lead_added",
    /// `lead_deleted`.
    LeadDeleted => "lead_deleted",
    /// `lead_restored`.
    LeadRestored => "lead_restored",
    /// `lead_status_changed`: `value_before`/`value_after` hold the stage
    /// ([`EventValue::LeadStatus`](super::EventValue::LeadStatus)).
    LeadStatusChanged => "lead_status_changed",
    /// `lead_linked`.
    LeadLinked => "lead_linked",
    /// `lead_unlinked`.
    LeadUnlinked => "lead_unlinked",
    /// `contact_added`.
    ContactAdded => "contact_added",
    /// `contact_deleted`.
    ContactDeleted => "contact_deleted",
    /// `contact_restored`.
    ContactRestored => "contact_restored",
    /// `contact_linked`.
    ContactLinked => "contact_linked",
    /// `contact_unlinked`.
    ContactUnlinked => "contact_unlinked",
    /// `company_added`.
    CompanyAdded => "company_added",
    /// `company_deleted`.
    CompanyDeleted => "company_deleted",
    /// `company_restored`.
    CompanyRestored => "company_restored",
    /// `company_linked`.
    CompanyLinked => "company_linked",
    /// `company_unlinked`.
    CompanyUnlinked => "company_unlinked",
    /// `customer_added`.
    CustomerAdded => "customer_added",
    /// `customer_deleted`.
    CustomerDeleted => "customer_deleted",
    /// `customer_status_changed`.
    CustomerStatusChanged => "customer_status_changed",
    /// `customer_linked`.
    CustomerLinked => "customer_linked",
    /// `customer_unlinked`.
    CustomerUnlinked => "customer_unlinked",
    /// `task_added`.
    TaskAdded => "task_added",
    /// `task_deleted`.
    TaskDeleted => "task_deleted",
    /// `task_completed`.
    TaskCompleted => "task_completed",
    /// `task_type_changed`.
    TaskTypeChanged => "task_type_changed",
    /// `task_text_changed`.
    TaskTextChanged => "task_text_changed",
    /// `task_deadline_changed`.
    TaskDeadlineChanged => "task_deadline_changed",
    /// `task_result_added`.
    TaskResultAdded => "task_result_added",
    /// `incoming_call`.
    IncomingCall => "incoming_call",
    /// `outgoing_call`.
    OutgoingCall => "outgoing_call",
    /// `incoming_mail`.
    IncomingMail => "incoming_mail",
    /// `outgoing_mail`.
    OutgoingMail => "outgoing_mail",
    /// `incoming_chat_message`.
    IncomingChatMessage => "incoming_chat_message",
    /// `outgoing_chat_message`.
    OutgoingChatMessage => "outgoing_chat_message",
    /// `entity_direct_message`.
    EntityDirectMessage => "entity_direct_message",
    /// `incoming_sms`.
    IncomingSms => "incoming_sms",
    /// `outgoing_sms`.
    OutgoingSms => "outgoing_sms",
    /// `entity_tag_added`.
    EntityTagAdded => "entity_tag_added",
    /// `entity_tag_deleted`.
    EntityTagDeleted => "entity_tag_deleted",
    /// `entity_linked`.
    EntityLinked => "entity_linked",
    /// `entity_unlinked`.
    EntityUnlinked => "entity_unlinked",
    /// `sale_field_changed` (a lead's price).
    SaleFieldChanged => "sale_field_changed",
    /// `name_field_changed`.
    NameFieldChanged => "name_field_changed",
    /// `ltv_field_changed`.
    LtvFieldChanged => "ltv_field_changed",
    /// `custom_field_value_changed` (any field; see [`EventType::CustomFieldChanged`]).
    CustomFieldValueChanged => "custom_field_value_changed",
    /// `entity_responsible_changed`.
    EntityResponsibleChanged => "entity_responsible_changed",
    /// `robot_replied`.
    RobotReplied => "robot_replied",
    /// `intent_identified`.
    IntentIdentified => "intent_identified",
    /// `nps_rate_added`.
    NpsRateAdded => "nps_rate_added",
    /// `link_followed`.
    LinkFollowed => "link_followed",
    /// `transaction_added`.
    TransactionAdded => "transaction_added",
    /// `common_note_added`.
    CommonNoteAdded => "common_note_added",
    /// `common_note_deleted`.
    CommonNoteDeleted => "common_note_deleted",
    /// `attachment_note_added`.
    AttachmentNoteAdded => "attachment_note_added",
    /// `targeting_in_note_added`.
    TargetingInNoteAdded => "targeting_in_note_added",
    /// `targeting_out_note_added`.
    TargetingOutNoteAdded => "targeting_out_note_added",
    /// `geo_note_added`.
    GeoNoteAdded => "geo_note_added",
    /// `service_note_added`.
    ServiceNoteAdded => "service_note_added",
    /// `site_visit_note_added`.
    SiteVisitNoteAdded => "site_visit_note_added",
    /// `message_to_cashier_note_added`.
    MessageToCashierNoteAdded => "message_to_cashier_note_added",
    /// `key_action_completed`.
    KeyActionCompleted => "key_action_completed",
    /// `entity_merged`.
    EntityMerged => "entity_merged",
}

/// The id in `custom_field_{ID}_value_changed`.
fn custom_field_id(s: &str) -> Option<CustomFieldId> {
    let digits = s
        .strip_prefix("custom_field_")?
        .strip_suffix("_value_changed")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(CustomFieldId)
}

impl std::str::FromStr for EventType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(EventType::known(s).unwrap_or_else(|| EventType::Other(s.to_owned())))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    // A catch-up reads thousands of events: known names are matched on the borrowed text,
    // and only an unknown one is copied.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EventType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event type name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EventType, E> {
                Ok(EventType::known(v).unwrap_or_else(|| EventType::Other(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in EventType::KNOWN {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), *t);
        }
        let table = [
            ("custom_field_1_value_changed", Some(1)),
            ("custom_field__value_changed", None),
            ("custom_field_x_value_changed", None),
            ("custom_field_ 1_value_changed", None),
            ("custom_field_value_changed", None),
        ];
        for (name, id) in table {
            let parsed: EventType = name.parse().unwrap();
            match id {
                Some(id) => assert_eq!(parsed, EventType::CustomFieldChanged(CustomFieldId(id))),
                None => assert!(
                    !matches!(parsed, EventType::CustomFieldChanged(_)),
                    "{name}"
                ),
            }
            assert_eq!(parsed.as_str(), name);
        }
    }
}
