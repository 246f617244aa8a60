//! How each action (and each planning job) ended.

use std::fmt;
use std::time::Duration;

use super::ports::PortError;

/// The typed end of one attempt at an action. Nothing ends without one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Carried out.
    Done {
        /// What was done, for the log.
        detail: String,
    },
    /// The other side had already done it (a repeated idempotency key, a note already there):
    /// success, not failure.
    AlreadyDone {
        /// How it was recognised.
        detail: String,
    },
    /// There was nothing to do (e.g. a Loops event about an email Kommo does not know).
    Skipped {
        /// Why.
        reason: String,
    },
    /// Failed for now; worth trying again after `after`.
    Retry {
        /// How long to wait (at least what the other side asked for).
        after: Option<Duration>,
        /// What failed.
        reason: String,
    },
    /// Failed for good; goes to the dead letters with this reason.
    Failed {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// Whether the action needs no further attempt.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Outcome::Done { .. } | Outcome::AlreadyDone { .. } | Outcome::Skipped { .. }
        )
    }

    /// A short name: `done`, `already_done`, `skipped`, `retry`, `failed`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Done { .. } => "done",
            Outcome::AlreadyDone { .. } => "already_done",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Retry { .. } => "retry",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// The detail or reason.
    pub fn detail(&self) -> &str {
        match self {
            Outcome::Done { detail } | Outcome::AlreadyDone { detail } => detail,
            Outcome::Skipped { reason }
            | Outcome::Retry { reason, .. }
            | Outcome::Failed { reason } => reason,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.detail())
    }
}

impl From<PortError> for Outcome {
    fn from(error: PortError) -> Self {
        match error {
            PortError::Transient { after, reason } => Outcome::Retry { after, reason },
            PortError::Permanent { reason } => Outcome::Failed { reason },
            PortError::AlreadyDone { reason } => Outcome::AlreadyDone { detail: reason },
        }
    }
}
