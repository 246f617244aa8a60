//! Idempotency keys: derived only from the event, the rule and the action's place in it.
//!
//! The same delivery twice gives the same keys, so Loops (and the outbox) recognise a repeat;
//! anything that makes it a different transition (another status, another `updated_at`,
//! another Loops `webhook-id`) changes them. No clock, no randomness.

use sha2::{Digest, Sha256};

/// Hex characters of the digest kept in a key: 96 bits, far beyond any collision risk here.
const DIGEST_HEX: usize = 24;

/// Builds keys for the actions of one event.
///
/// The fingerprint is kept as the bytes to hash, not as a running hasher: one `digest` over a
/// short buffer costs less than many small `update` calls.
#[derive(Debug, Clone)]
pub(crate) struct KeyBase {
    prefix: String,
    fingerprint: Vec<u8>,
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
        let prefix: String = prefix
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
            .take(64)
            .collect();
        KeyBase {
            prefix,
            fingerprint: bytes,
        }
    }

    /// Adds a text part to the fingerprint.
    pub(crate) fn text(&mut self, part: &str) {
        feed(&mut self.fingerprint, part);
    }

    /// Adds a number part to the fingerprint (absent is the empty text).
    pub(crate) fn number(&mut self, part: Option<u64>) {
        match part {
            Some(n) => feed_decimal(&mut self.fingerprint, n),
            None => feed(&mut self.fingerprint, ""),
        }
    }

    /// A digest of the fingerprint alone, to recognise the same event twice.
    pub(crate) fn identity(&self) -> [u8; 32] {
        Sha256::digest(&self.fingerprint).into()
    }

    /// The key of one action: the rule, its place in the rule, and a discriminator (the
    /// contact, when one rule acts for several contacts).
    pub(crate) fn key(&self, rule: &str, action_index: usize, discriminator: &str) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut bytes =
            Vec::with_capacity(self.fingerprint.len() + rule.len() + discriminator.len() + 48);
        bytes.extend_from_slice(&self.fingerprint);
        feed(&mut bytes, rule);
        feed_decimal(&mut bytes, action_index as u64);
        feed(&mut bytes, discriminator);
        let digest = Sha256::digest(&bytes);
        let mut key = String::with_capacity(self.prefix.len() + 1 + DIGEST_HEX);
        key.push_str(&self.prefix);
        key.push('-');
        for byte in digest.iter().take(DIGEST_HEX / 2) {
            key.push(char::from(HEX[usize::from(byte >> 4)]));
            key.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        key
    }
}

/// Feeds a number as its decimal text, like `feed(&n.to_string())` without the allocation.
fn feed_decimal(bytes: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    bytes.extend_from_slice(&((digits.len() - start) as u64).to_le_bytes());
    bytes.extend_from_slice(&digits[start..]);
}

/// Length-prefixed, so ("ab","c") and ("a","bc") hash differently.
fn feed(bytes: &mut Vec<u8>, part: &str) {
    bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
    bytes.extend_from_slice(part.as_bytes());
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
        assert!(loops_client::IdempotencyKey::new(&key).is_ok(), "{key}");
    }
}
