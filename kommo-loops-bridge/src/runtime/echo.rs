//! Recognising the Kommo webhooks the bridge's own writes cause.
//!
//! A tag change through the API makes Kommo send `update` webhooks for that entity, which would
//! run `lead_updated`/`contact_updated` rules again. The write's answer carries the entity's new
//! `updated_at`; a webhook for the same entity with that same `updated_at` is the echo.
//! (Notes and tasks come back as note and task webhooks, which never trigger rules.)

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an expected echo is remembered; Kommo sends webhooks within seconds.
const REMEMBER: Duration = Duration::from_secs(15 * 60);

/// Writes whose webhooks are still expected.
#[derive(Debug, Default)]
pub(crate) struct Echoes {
    expected: Mutex<HashMap<(&'static str, u64, i64), Instant>>,
}

impl Echoes {
    /// Remembers that `kind` `id` was changed by the bridge at `updated_at`.
    pub(crate) fn expect(&self, kind: &'static str, id: u64, updated_at: i64, now: Instant) {
        let mut expected = self.expected.lock().unwrap_or_else(PoisonError::into_inner);
        expected.retain(|_, at| now.duration_since(*at) < REMEMBER);
        expected.insert((kind, id, updated_at), now);
    }

    /// Whether a webhook about `kind` `id` at `updated_at` is the echo of a bridge write.
    pub(crate) fn is_echo(&self, kind: &str, id: u64, updated_at: i64) -> bool {
        let expected = self.expected.lock().unwrap_or_else(PoisonError::into_inner);
        let key = match kind {
            "lead" => ("lead", id, updated_at),
            "contact" => ("contact", id, updated_at),
            _ => return false,
        };
        expected.contains_key(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_write_is_an_echo() {
        let echoes = Echoes::default();
        let t0 = crate::runtime::clock::instant();
        echoes.expect("lead", 7, 1_700_000_000, t0);
        assert!(echoes.is_echo("lead", 7, 1_700_000_000));
        assert!(
            !echoes.is_echo("lead", 7, 1_700_000_001),
            "a later human edit is not an echo"
        );
        assert!(!echoes.is_echo("contact", 7, 1_700_000_000));
        assert!(!echoes.is_echo("lead", 8, 1_700_000_000));
        echoes.expect("contact", 1, 5, t0 + REMEMBER + Duration::from_secs(1));
        assert!(
            !echoes.is_echo("lead", 7, 1_700_000_000),
            "forgotten after a while"
        );
    }
}
