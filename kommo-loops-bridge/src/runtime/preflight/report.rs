//! The preflight's answer: one line per check, `✓`/`⚠`/`✗`/`–` with what to do, or JSON.

use std::fmt;

use loops_client::contact_properties::PropertyType;
use serde_json::json;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Status {
    /// It holds.
    Ok,
    /// It holds, but something looks wrong (a cast that does not fit the field's type, a
    /// webhook setting no rule needs). The report still passes.
    Warning,
    /// It does not hold: the bridge would fail (a dead letter, a rule that never matches, an
    /// event never delivered). The report fails.
    Failed,
    /// It could not be checked from here (no API for it); the message says how to check it.
    Skipped,
}

impl Status {
    /// `✓`, `⚠`, `✗` or `–`.
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warning => "⚠",
            Status::Failed => "✗",
            Status::Skipped => "–",
        }
    }

    /// `ok`, `warning`, `failed` or `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// Which account a check is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Side {
    /// The Kommo account.
    Kommo,
    /// The Loops team.
    Loops,
}

impl Side {
    /// `Kommo` or `Loops`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Kommo => "Kommo",
            Side::Loops => "Loops",
        }
    }
}

/// One check: what holds or not, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// How it came out.
    pub status: Status,
    /// The account it is about.
    pub side: Side,
    /// A stable name for machines, e.g. `property:plan`, `stage:5001`, `field:lead:PLAN`,
    /// `transactional:cl_welcome`, `webhook:kommo`.
    pub subject: String,
    /// What was found, naming the rules that need it.
    pub message: String,
    /// What to do, when there is something to do.
    pub fix: Option<String>,
}

impl Check {
    pub(crate) fn new(
        status: Status,
        side: Side,
        subject: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Check {
            status,
            side,
            subject: subject.into(),
            message: message.into(),
            fix: None,
        }
    }

    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// The check as JSON: `{"status", "side", "subject", "message", "fix"}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "status": self.status.as_str(),
            "side": self.side.as_str().to_lowercase(),
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        })
    }
}

impl fmt::Display for Check {
    /// `✗ Loops: contact property plan does not exist ... → create it ...`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.symbol(),
            self.side.as_str(),
            self.message
        )?;
        if let Some(fix) = &self.fix {
            write!(f, " → {fix}")?;
        }
        Ok(())
    }
}

/// Every check of one preflight run, in a stable order (Kommo first, then Loops).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
    /// The Loops contact properties the rules set that do not exist, with the type the rules
    /// imply (text when they do not say), which [`fix`](super::fix) would create.
    pub missing_properties: Vec<(String, PropertyType)>,
}

impl Report {
    /// Whether every check holds (warnings and skipped checks allowed).
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Failed)
    }

    /// The checks with this status.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.status == status)
    }

    /// The report as JSON: `{"ok": bool, "failed": n, "warnings": n, "checks": [...]}`.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "ok": self.passed(),
            "failed": self.with_status(Status::Failed).count(),
            "warnings": self.with_status(Status::Warning).count(),
            "checks": self.checks.iter().map(Check::to_json).collect::<Vec<_>>(),
        })
    }
}

impl fmt::Display for Report {
    /// One line per check, then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(f, "{check}")?;
        }
        let count = |status| self.with_status(status).count();
        let (failed, warnings, skipped) = (
            count(Status::Failed),
            count(Status::Warning),
            count(Status::Skipped),
        );
        if failed == 0 {
            write!(f, "passed: {} checks", self.checks.len())?;
        } else {
            write!(f, "failed: {failed} of {} checks", self.checks.len())?;
        }
        if warnings > 0 {
            write!(
                f,
                ", {warnings} warning{}",
                if warnings == 1 { "" } else { "s" }
            )?;
        }
        if skipped > 0 {
            write!(f, ", {skipped} to check by hand")?;
        }
        Ok(())
    }
}
