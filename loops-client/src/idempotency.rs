//! Idempotency keys for sends.

use std::fmt;

use crate::validate::ValidationError;

/// The longest idempotency key Loops accepts.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 100;

/// A validated `Idempotency-Key` header value: 1 to 100 characters, visible ASCII.
///
/// Loops remembers a key for 24 hours; a second request with the same key gets `409`, which
/// this crate reports as "already done" rather than as a failure. Derive keys from what makes a
/// send unique (an event id, a delivery id) so that a redelivered trigger reuses its key.
///
/// ```
/// use loops_client::idempotency::IdempotencyKey;
///
/// let key = IdempotencyKey::new("kommo-lead-42-status-142").unwrap();
/// assert_eq!(key.as_str(), "kommo-lead-42-status-142");
/// assert!(IdempotencyKey::new("").is_err());
/// assert!(IdempotencyKey::new("x".repeat(101)).is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Validates a caller-chosen key.
    pub fn new(key: impl Into<String>) -> Result<Self, ValidationError> {
        let key = key.into();
        if key.is_empty() {
            return Err(ValidationError::InvalidIdempotencyKey {
                reason: "it is empty",
            });
        }
        if key.len() > MAX_IDEMPOTENCY_KEY_CHARS {
            return Err(ValidationError::InvalidIdempotencyKey {
                reason: "it is longer than 100 characters",
            });
        }
        // Header values must be visible ASCII; anything else would be mangled or refused.
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::InvalidIdempotencyKey {
                reason: "it must be visible ASCII without spaces",
            });
        }
        Ok(IdempotencyKey(key))
    }

    /// A fresh random key (a UUID v4), for one logical send.
    #[cfg(feature = "client")]
    pub fn random() -> Self {
        IdempotencyKey(uuid::Uuid::new_v4().to_string())
    }

    /// The key as sent in the header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("IdempotencyKey").field(&self.0).finish()
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        IdempotencyKey::new(value)
    }
}

impl TryFrom<&str> for IdempotencyKey {
    type Error = ValidationError;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        IdempotencyKey::new(value)
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Proof that Loops accepted a send.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendReceipt {
    /// The key the send carried; keep it to recognise the send later.
    pub idempotency_key: IdempotencyKey,
    /// How many attempts it took.
    pub attempts: u32,
    /// `true` when an attempt whose answer was lost had already been accepted, and Loops
    /// recognised the repeat by its key (a `409` on the retry). The email went out once.
    pub deduplicated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_rules() {
        let cases: &[(&str, bool)] = &[
            ("a", true),
            ("kommo:1:lead:2:status:142", true),
            (&"k".repeat(100), true),
            (&"k".repeat(101), false),
            ("", false),
            ("has space", false),
            ("ключ", false),
            ("tab\t", false),
        ];
        for (key, ok) in cases {
            assert_eq!(IdempotencyKey::new(*key).is_ok(), *ok, "{key:?}");
        }
    }

    #[cfg(feature = "client")]
    #[test]
    fn random_keys_are_valid_and_distinct() {
        let a = IdempotencyKey::random();
        let b = IdempotencyKey::random();
        assert_ne!(a, b);
        assert!(IdempotencyKey::new(a.as_str()).is_ok());
    }
}
