//! Kommo disables a webhook after more than 100 invalid answers (not 100-299, or slower than
//! 2 seconds) in the last 2 hours. This counts the bridge's own non-2xx answers in a sliding
//! 2-hour window and warns well before that.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Kommo's window.
pub const WINDOW: Duration = Duration::from_secs(2 * 60 * 60);
/// Kommo disables the hook above this many invalid answers in the window.
pub const DISABLE_THRESHOLD: usize = 100;
/// The bridge warns from this many on: half of Kommo's limit.
pub const WARN_THRESHOLD: usize = 50;

/// The health of the Kommo webhook, as seen from the answers the bridge gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookHealth {
    /// Non-2xx answers in the last 2 hours.
    pub invalid_in_window: usize,
    /// Whether the count passed the warning threshold.
    pub warning: bool,
}

/// A sliding-window counter of invalid answers. Pure: the caller passes `now`.
#[derive(Debug, Default)]
pub struct HealthGuard {
    invalid: VecDeque<Instant>,
}

impl HealthGuard {
    /// Records one answer; returns the health after it.
    pub fn record(&mut self, now: Instant, valid: bool) -> WebhookHealth {
        if !valid {
            self.invalid.push_back(now);
        }
        self.health(now)
    }

    /// The health at `now`.
    pub fn health(&mut self, now: Instant) -> WebhookHealth {
        while let Some(&oldest) = self.invalid.front() {
            if now.duration_since(oldest) >= WINDOW {
                self.invalid.pop_front();
            } else {
                break;
            }
        }
        let invalid_in_window = self.invalid.len();
        WebhookHealth {
            invalid_in_window,
            warning: invalid_in_window >= WARN_THRESHOLD,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_slide_out_after_two_hours() {
        let t0 = crate::runtime::clock::instant();
        let mut guard = HealthGuard::default();
        for i in 0..49 {
            assert!(!guard.record(t0 + Duration::from_secs(i), false).warning);
        }
        assert!(
            !guard.record(t0 + Duration::from_secs(50), true).warning,
            "valid answers do not count"
        );
        let h = guard.record(t0 + Duration::from_secs(60), false);
        assert_eq!(
            h,
            WebhookHealth {
                invalid_in_window: 50,
                warning: true
            }
        );
        // Two hours after the first ones, they no longer count.
        let later = guard.health(t0 + WINDOW + Duration::from_secs(30));
        assert_eq!(later.invalid_in_window, 1 + 48 - 30);
        assert!(!later.warning);
        const { assert!(WARN_THRESHOLD < DISABLE_THRESHOLD) };
    }
}
