//! Idempotency keys: derived only from the event, the rule and the action's place in it.
//!
//! The same delivery twice gives the same keys, so Loops (and the outbox) recognise a repeat;
//! anything that makes it a different transition (another status, another `updated_at`,
//! another Loops `webhook-id`) changes them. No clock, no randomness.

use sha2::{Digest, Sha256};

/// Hex characters of the digest kept in a key: 96 bits, far beyond any collision risk here.
const DIGEST_HEX: usize = 24;

/// Builds keys for the actions of one event.
#[derive(Debug, Clone)]
pub(crate) struct KeyBase {
    prefix: String,
    hasher: Sha256,
}

impl KeyBase {
    /// `prefix` is readable context (e.g. `k-16503244-lead30267969`); `fingerprint` is every
    /// fact that tells this event apart from another one about the same entity.
    pub(crate) fn new(prefix: String, fingerprint: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in fingerprint {
            feed(&mut hasher, part);
        }
        // Keys are at most 100 characters (the Loops limit); keep the readable part short.
        let prefix: String = prefix
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
            .take(64)
            .collect();
        KeyBase { prefix, hasher }
    }

    /// The key of one action: the rule, its place in the rule, and a discriminator (the
    /// contact, when one rule acts for several contacts).
    pub(crate) fn key(&self, rule: &str, action_index: usize, discriminator: &str) -> String {
        let mut hasher = self.hasher.clone();
        feed(&mut hasher, rule);
        feed(&mut hasher, &action_index.to_string());
        feed(&mut hasher, discriminator);
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(DIGEST_HEX);
        for byte in digest.iter().take(DIGEST_HEX / 2) {
            hex.push_str(&format!("{byte:02x}"));
        }
        format!("{}-{hex}", self.prefix)
    }
}

/// Length-prefixed, so ("ab","c") and ("a","bc") hash differently.
fn feed(hasher: &mut Sha256, part: &str) {
    hasher.update((part.len() as u64).to_le_bytes());
    hasher.update(part.as_bytes());
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
    fn keys_are_valid_loops_idempotency_keys() {
        let long = "x".repeat(500);
        let key = KeyBase::new(format!("k-{long} ünï"), &[&long]).key(&long, 99, &long);
        assert!(key.len() <= 100, "{}", key.len());
        assert!(loops_client::IdempotencyKey::new(&key).is_ok(), "{key}");
    }
}
