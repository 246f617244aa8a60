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

/// How often a repeated warning about refused requests may be logged: the first at once, then
/// at most one a minute, saying how many were held back. Anyone can send refused requests, so
/// without a limit they could flood the logs.
pub const LOG_EVERY: Duration = Duration::from_secs(60);

/// Lets a repeated log line through at most once per interval, and counts the ones held back.
/// Pure: the caller passes `now`.
#[derive(Debug, Clone)]
pub struct LogLimiter {
    every: Duration,
    last: Option<Instant>,
    held_back: u64,
}

impl LogLimiter {
    /// A limiter letting one line through per `every`.
    pub const fn new(every: Duration) -> Self {
        LogLimiter {
            every,
            last: None,
            held_back: 0,
        }
    }

    /// Whether to log the line now: `Some(n)` when it may be logged, `n` being how many lines
    /// were held back since the last one logged; `None` when it is held back.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.every => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

impl Default for LogLimiter {
    fn default() -> Self {
        LogLimiter::new(LOG_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_limiter_table() {
        let t0 = crate::runtime::clock::instant();
        let s = |secs: u64| t0 + Duration::from_secs(secs);
        let mut limiter = LogLimiter::new(Duration::from_secs(60));
        // (when, expected answer)
        let table = [
            (s(0), Some(0)),
            (s(1), None),
            (s(30), None),
            (s(59), None),
            (s(60), Some(3)),
            (s(61), None),
            (s(200), Some(1)),
            (s(260), Some(0)),
            // A clock that goes backwards does not open the gate.
            (s(100), None),
            (s(320), Some(1)),
        ];
        for (n, (now, expected)) in table.into_iter().enumerate() {
            assert_eq!(limiter.allow(now), expected, "row {n}");
        }
    }

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
