//! The explain trace: one entry per event and rule, with a reason that is kept as its parts
//! and written out only when it is read.
//!
//! A plan explains every rule that did not match, and most plans are never shown to anyone:
//! the parts of a reason (the rule's event list, a status id) are shared or copied, and the
//! sentence is only put together by [`Display`](std::fmt::Display) or serialization.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::Decimal;

/// One line of the explain trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Explain {
    /// The event, e.g. `lead_status lead 30267969` (shared by the entries of one event).
    pub event: Arc<str>,
    /// The rule, or `None` for a note about the event itself (shared with the rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Arc<str>>,
    /// Whether the rule matched.
    pub matched: bool,
    /// Why (not).
    pub reason: Reason,
    /// Details: dropped properties, skipped emails, merged upserts, dropped sends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Explain {
    /// A note about an event as a whole (no rule), e.g. why it is ignored.
    pub(crate) fn note(event: impl Into<Arc<str>>, reason: impl Into<Reason>) -> Explain {
        Explain {
            event: event.into(),
            rule: None,
            matched: false,
            reason: reason.into(),
            notes: Vec::new(),
        }
    }
}

/// Why a rule matched or not, e.g. `moved to status 142, not 5001`.
///
/// Read it as text: it implements [`Display`](fmt::Display) (so `to_string()`), and
/// [`Reason::text`] borrows it when it is already one piece. It serializes as that text, and
/// two reasons are equal when their texts are.
///
/// ```
/// use kommo_loops_bridge::Reason;
///
/// let reason = Reason::from("matched");
/// assert_eq!(reason.to_string(), "matched");
/// assert_eq!(reason, Reason::from(String::from("matched")));
/// assert_eq!(serde_json::to_string(&reason).unwrap(), r#""matched""#);
/// ```
#[derive(Clone)]
pub struct Reason(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Text(String),
    /// `listens to {listed}, not {event}`.
    ListensTo {
        listed: Arc<str>,
        event: &'static str,
    },
    /// `moved {direction} status {status}, not {listed}`.
    Moved {
        direction: &'static str,
        status: u64,
        listed: Arc<str>,
    },
    /// `pipeline {pipeline} is not {listed}`.
    Pipeline {
        pipeline: u64,
        listed: Arc<str>,
    },
}

impl Reason {
    /// `listens to lead_added, lead_status, not contact_added`.
    pub(crate) fn listens_to(listed: &Arc<str>, event: &'static str) -> Reason {
        Reason(Repr::ListensTo {
            listed: Arc::clone(listed),
            event,
        })
    }

    /// `moved to status 142, not 5001` (`direction` is `to` or `from`).
    pub(crate) fn moved(direction: &'static str, status: u64, listed: &Arc<str>) -> Reason {
        Reason(Repr::Moved {
            direction,
            status,
            listed: Arc::clone(listed),
        })
    }

    /// `pipeline 7002 is not 7001`.
    pub(crate) fn pipeline(pipeline: u64, listed: &Arc<str>) -> Reason {
        Reason(Repr::Pipeline {
            pipeline,
            listed: Arc::clone(listed),
        })
    }

    /// The text: borrowed when the reason is one piece, written out otherwise.
    pub fn text(&self) -> Cow<'_, str> {
        match &self.0 {
            Repr::Static(s) => Cow::Borrowed(s),
            Repr::Text(s) => Cow::Borrowed(s),
            _ => {
                let mut text = String::with_capacity(64);
                self.pieces(&mut |piece| {
                    text.push_str(piece);
                    Ok(())
                })
                .unwrap_or_default();
                Cow::Owned(text)
            }
        }
    }

    /// The text's pieces in order (the dry run writes thousands of these: no formatter).
    fn pieces(&self, put: &mut dyn FnMut(&str) -> fmt::Result) -> fmt::Result {
        match &self.0 {
            Repr::Static(s) => put(s),
            Repr::Text(s) => put(s),
            Repr::ListensTo { listed, event } => {
                for piece in ["listens to ", listed, ", not ", event] {
                    put(piece)?;
                }
                Ok(())
            }
            Repr::Moved {
                direction,
                status,
                listed,
            } => {
                let status = Decimal::new(*status);
                for piece in [
                    "moved ",
                    direction,
                    " status ",
                    status.as_str(),
                    ", not ",
                    listed,
                ] {
                    put(piece)?;
                }
                Ok(())
            }
            Repr::Pipeline { pipeline, listed } => {
                let pipeline = Decimal::new(*pipeline);
                for piece in ["pipeline ", pipeline.as_str(), " is not ", listed] {
                    put(piece)?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.pieces(&mut |piece| f.write_str(piece))
    }
}

impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.text(), f)
    }
}

impl PartialEq for Reason {
    fn eq(&self, other: &Reason) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Reason {}

impl From<&'static str> for Reason {
    fn from(text: &'static str) -> Reason {
        Reason(Repr::Static(text))
    }
}

impl From<String> for Reason {
    fn from(text: String) -> Reason {
        Reason(Repr::Text(text))
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Static(s) => serializer.serialize_str(s),
            Repr::Text(s) => serializer.serialize_str(s),
            // Put together once (cheaper than the formatter's piece-by-piece escaping).
            _ => serializer.serialize_str(&self.text()),
        }
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Reason, D::Error> {
        String::deserialize(deserializer).map(Reason::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_reason_serializes_whole() {
        let listed: Arc<str> = "lead_added, ".repeat(40).into();
        let reason = Reason::listens_to(&listed, "lead_status");
        let json: String = serde_json::from_str(&serde_json::to_string(&reason).unwrap()).unwrap();
        assert_eq!(json, reason.to_string());
        assert!(json.len() > 256);
    }

    #[test]
    fn reasons_read_as_their_sentences() {
        let events: Arc<str> = "lead_added, contact_added".into();
        let statuses: Arc<str> = "5001, 5002".into();
        let table: Vec<(Reason, &str)> = vec![
            (Reason::from("matched"), "matched"),
            (
                Reason::from(String::from("waiting for data: lead 1")),
                "waiting for data: lead 1",
            ),
            (
                Reason::listens_to(&events, "lead_status"),
                "listens to lead_added, contact_added, not lead_status",
            ),
            (
                Reason::moved("to", 142, &statuses),
                "moved to status 142, not 5001, 5002",
            ),
            (
                Reason::moved("from", 4, &statuses),
                "moved from status 4, not 5001, 5002",
            ),
            (
                Reason::pipeline(7, &statuses),
                "pipeline 7 is not 5001, 5002",
            ),
        ];
        for (reason, text) in table {
            assert_eq!(reason.to_string(), text);
            assert_eq!(reason.text(), text);
            assert_eq!(format!("{reason:?}"), format!("{text:?}"));
            assert_eq!(reason, Reason::from(text.to_owned()), "equal by text");
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            let back: Reason = serde_json::from_str(&json).unwrap();
            assert_eq!(back, reason);
        }
    }
}
