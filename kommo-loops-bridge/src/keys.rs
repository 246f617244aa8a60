//! Idempotency keys: derived only from the event, the rule and the action's place in it.
//!
//! The same delivery twice gives the same keys, so Loops (and the outbox) recognise a repeat;
//! anything that makes it a different transition (another status, another `updated_at`,
//! another Loops `webhook-id`) changes them. No clock, no randomness.

use std::cell::OnceCell;

use sha2::{Digest, Sha256};

use crate::text::{Decimal, push_hex};

/// Hex characters of the digest kept in a key: 96 bits, far beyond any collision risk here.
const DIGEST_HEX: usize = 24;

/// Builds keys for the actions of one event.
///
/// The fingerprint is kept as the bytes to hash, not as a running hasher: one `update` over a
/// short buffer costs less than many small ones. Every key starts with the fingerprint, so
/// the hasher state after it is computed once and cloned per key.
#[derive(Debug, Clone)]
pub(crate) struct KeyBase {
    prefix: String,
    fingerprint: Vec<u8>,
    hashed: OnceCell<Sha256>,
}

impl KeyBase {
    /// `prefix` is readable context (e.g. `k-16503244-lead30267969`); `fingerprint` is every
    /// fact that tells this event apart from another one about the same entity.
    pub(crate) fn new(prefix: String, fingerprint: &[&str]) -> Self {
        let mut bytes = Vec::with_capacity(160);
        for part in fingerprint {
            feed(&mut bytes, part);
        }
        // Keys are at most 100 characters (the Loops limit); keep the readable part short.
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
        let prefix = if prefix.len() <= 64 && prefix.chars().all(allowed) {
            prefix
        } else {
            prefix.chars().filter(|&c| allowed(c)).take(64).collect()
        };
        KeyBase {
            prefix,
            fingerprint: bytes,
            hashed: OnceCell::new(),
        }
    }

    /// Adds a text part to the fingerprint.
    pub(crate) fn text(&mut self, part: &str) {
        feed(&mut self.fingerprint, part);
        self.hashed = OnceCell::new();
    }

    /// Adds a number part to the fingerprint (absent is the empty text).
    pub(crate) fn number(&mut self, part: Option<u64>) {
        match part {
            Some(n) => feed_decimal(&mut self.fingerprint, n),
            None => feed(&mut self.fingerprint, ""),
        }
        self.hashed = OnceCell::new();
    }

    /// The hasher after the fingerprint.
    fn hashed(&self) -> Sha256 {
        self.hashed
            .get_or_init(|| Sha256::new_with_prefix(&self.fingerprint))
            .clone()
    }

    /// A digest of the fingerprint alone, to recognise the same event twice.
    pub(crate) fn identity(&self) -> [u8; 32] {
        self.hashed().finalize().into()
    }

    /// The key of one action: the rule, its place in the rule, and a discriminator (the
    /// contact, when one rule acts for several contacts).
    pub(crate) fn key(&self, rule: &str, action_index: usize, discriminator: &str) -> String {
        self.pending(rule, action_index, discriminator).finish()
    }

    /// The same key, fed but not finished: an action that may yet be merged into another
    /// one (an upsert into the event after it) only pays for the digest if it is kept.
    pub(crate) fn pending(
        &self,
        rule: &str,
        action_index: usize,
        discriminator: &str,
    ) -> PendingKey {
        let mut hasher = self.hashed();
        feed(&mut hasher, rule);
        feed_decimal(&mut hasher, action_index as u64);
        feed(&mut hasher, discriminator);
        let mut prefix = String::with_capacity(self.prefix.len() + 1 + DIGEST_HEX);
        prefix.push_str(&self.prefix);
        PendingKey { hasher, prefix }
    }
}

/// A key whose digest is computed only when it is needed ([`KeyBase::pending`]).
#[derive(Debug, Clone)]
pub(crate) struct PendingKey {
    hasher: Sha256,
    /// The readable prefix, with room for the rest of the key.
    prefix: String,
}

impl PendingKey {
    pub(crate) fn finish(self) -> String {
        let digest = self.hasher.finalize();
        let mut key = self.prefix;
        key.push('-');
        push_hex(&mut key, &digest[..DIGEST_HEX / 2]);
        key
    }
}

/// Where fingerprint parts go: the buffer of a key base, or straight into a hasher.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

/// Feeds a number as its decimal text, like `feed(&n.to_string())` without the allocation.
fn feed_decimal(bytes: &mut impl Sink, n: u64) {
    let digits = Decimal::new(n);
    bytes.put(&(digits.as_bytes().len() as u64).to_le_bytes());
    bytes.put(digits.as_bytes());
}

/// Length-prefixed, so ("ab","c") and ("a","bc") hash differently.
fn feed(bytes: &mut impl Sink, part: &str) {
    bytes.put(&(part.len() as u64).to_le_bytes());
    bytes.put(part.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_distinct_and_short() {
        let base = KeyBase::new(
            "k-1-lead2".into(),
            &["lead_status", "142", "5001", "1700000000"],
        );
        let again = KeyBase::new(
            "k-1-lead2".into(),
            &["lead_status", "142", "5001", "1700000000"],
        );
        let key = base.key("won", 0, "");
        assert_eq!(key, again.key("won", 0, ""), "same inputs, same key");
        assert_eq!(key, base.pending("won", 0, "").finish(), "finished later");
        assert!(key.starts_with("k-1-lead2-"));
        assert_eq!(key.len(), "k-1-lead2-".len() + DIGEST_HEX);

        let table = [
            base.key("won", 1, ""),
            base.key("lost", 0, ""),
            base.key("won", 0, "contact-7"),
            KeyBase::new(
                "k-1-lead2".into(),
                &["lead_status", "143", "5001", "1700000000"],
            )
            .key("won", 0, ""),
            KeyBase::new(
                "k-1-lead2".into(),
                &["lead_status", "142", "5001", "1700000001"],
            )
            .key("won", 0, ""),
            KeyBase::new(
                "k-1-lead2".into(),
                &["lead_status1", "42", "5001", "1700000000"],
            )
            .key("won", 0, ""),
        ];
        for other in &table {
            assert_ne!(&key, other);
        }
    }

    #[test]
    fn decimal_feeding_matches_the_text() {
        for n in [0u64, 7, 10, 99, 12345, u64::MAX] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            feed_decimal(&mut a, n);
            feed(&mut b, &n.to_string());
            assert_eq!(a, b, "{n}");
        }
    }

    #[test]
    fn keys_are_valid_loops_idempotency_keys() {
        let long = "x".repeat(500);
        let key = KeyBase::new(format!("k-{long} ünï"), &[&long]).key(&long, 99, &long);
        assert!(key.len() <= 100, "{}", key.len());
        assert!(
            loops_client::idempotency::IdempotencyKey::new(&key).is_ok(),
            "{key}"
        );
    }
}
