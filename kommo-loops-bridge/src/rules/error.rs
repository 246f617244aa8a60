//! Errors in a rules file, naming the file, the rule and the key.

use std::fmt;

/// A rules file that cannot be used, and exactly where it is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RulesError {
    /// The file name given when loading.
    pub file: String,
    /// The section or rule, e.g. `[[kommo]] "won"` or `[contact]`.
    pub rule: Option<String>,
    /// The key path inside it, e.g. `when.to` or `do[1].send_event.properties.plan`.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl RulesError {
    pub(crate) fn syntax(file: &str, message: String) -> Self {
        RulesError {
            file: file.to_owned(),
            rule: None,
            key: None,
            message,
        }
    }
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(rule) = &self.rule {
            write!(f, ": {rule}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": `{key}`")?;
        }
        // TOML/JSON syntax errors span several lines; keep the error on one line for logs.
        let message = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        write!(f, ": {message}")
    }
}

impl std::error::Error for RulesError {}
