//! Client-side pacing so that requests stay under the Loops rate limit (10 per second per
//! team by default) instead of bouncing off it.
//!
//! [`Pacer`] is the pure core: given `now`, it hands out send slots spaced `1/rate` apart.
//! The client wraps one in a mutex shared by all clones, sleeps until each slot, and pushes the
//! next free slot back after a 429 so every caller waits, not only the one that was refused.
//!
//! This is a small hand-written scheduler rather than a crate such as `governor` because the
//! rate must change at run time when Loops reports a different `x-ratelimit-limit`.

use std::time::{Duration, Instant};

/// The rate Loops grants a team unless it has asked for more.
pub const DEFAULT_REQUESTS_PER_SECOND: f64 = 10.0;

/// How the client paces its requests.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum RateLimit {
    /// Start at 10 requests/second and follow the `x-ratelimit-limit` Loops reports.
    #[default]
    Auto,
    /// Never exceed this many requests/second (lowered if Loops reports a lower limit).
    /// Useful when several processes share one team's budget.
    Fixed(f64),
    /// No client-side pacing; 429s are still retried.
    Off,
}

#[cfg_attr(not(feature = "client"), allow(dead_code))]
impl RateLimit {
    /// The rate to start with, or `None` when pacing is off.
    pub(crate) fn initial_rate(self) -> Option<f64> {
        match self {
            RateLimit::Auto => Some(DEFAULT_REQUESTS_PER_SECOND),
            RateLimit::Fixed(rps) => Some(rps),
            RateLimit::Off => None,
        }
    }

    /// The rate to use once Loops has reported `reported` requests/second.
    pub(crate) fn adjusted_rate(self, reported: u32) -> Option<f64> {
        let reported = f64::from(reported.max(1));
        match self {
            RateLimit::Auto => Some(reported),
            RateLimit::Fixed(ceiling) => Some(ceiling.min(reported)),
            RateLimit::Off => None,
        }
    }
}

/// The rate-limit figures from the last response that carried them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimitInfo {
    /// `x-ratelimit-limit`: requests allowed per second.
    pub limit: Option<u32>,
    /// `x-ratelimit-remaining`: requests left in the current window.
    pub remaining: Option<u32>,
}

impl RateLimitInfo {
    /// Reads the two headers; unparsable values count as absent.
    pub fn from_headers(limit: Option<&str>, remaining: Option<&str>) -> Self {
        RateLimitInfo {
            limit: limit.and_then(parse_count),
            remaining: remaining.and_then(parse_count),
        }
    }

    /// Whether either figure was present.
    pub fn is_known(&self) -> bool {
        self.limit.is_some() || self.remaining.is_some()
    }
}

fn parse_count(value: &str) -> Option<u32> {
    value.trim().parse().ok()
}

/// Parses a `Retry-After` header given in seconds (integer or decimal).
///
/// The HTTP-date form is not supported: turning it into a delay needs a clock, and Loops is
/// not known to send it.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    if (0.0..86_400.0).contains(&secs) {
        Some(Duration::from_secs_f64(secs))
    } else {
        None
    }
}

/// Hands out evenly spaced send slots. Pure: the caller supplies `now`.
///
/// ```
/// use loops_client::rate_limit::Pacer;
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// let mut pacer = Pacer::new(10.0);
/// assert_eq!(pacer.reserve(start), Duration::ZERO);
/// assert_eq!(pacer.reserve(start), Duration::from_millis(100));
/// assert_eq!(pacer.reserve(start), Duration::from_millis(200));
/// ```
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    next_slot: Option<Instant>,
}

impl Pacer {
    /// A pacer for `requests_per_second` (values below 0.01 are raised to 0.01).
    pub fn new(requests_per_second: f64) -> Self {
        Pacer {
            interval: interval_for(requests_per_second),
            next_slot: None,
        }
    }

    /// Reserves the next slot and returns how long to wait for it from `now`.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let slot = match self.next_slot {
            Some(next) if next > now => next,
            _ => now,
        };
        self.next_slot = Some(slot + self.interval);
        slot - now
    }

    /// Changes the rate for slots not yet handed out.
    pub fn set_rate(&mut self, requests_per_second: f64) {
        self.interval = interval_for(requests_per_second);
    }

    /// The current rate in requests/second.
    pub fn rate(&self) -> f64 {
        1.0 / self.interval.as_secs_f64()
    }

    /// Hands out no slot before `until` (after a 429, so that every caller backs off).
    pub fn pause_until(&mut self, until: Instant) {
        match self.next_slot {
            Some(next) if next >= until => {}
            _ => self.next_slot = Some(until),
        }
    }
}

fn interval_for(requests_per_second: f64) -> Duration {
    let rps = if requests_per_second.is_finite() {
        requests_per_second.max(0.01)
    } else {
        DEFAULT_REQUESTS_PER_SECOND
    };
    Duration::from_secs_f64(1.0 / rps)
}

#[cfg(feature = "client")]
pub(crate) use shared::SharedPacer;

#[cfg(feature = "client")]
mod shared {
    use super::*;
    use std::sync::{Arc, Mutex, PoisonError};

    /// A [`Pacer`] shared by every clone of a client.
    #[derive(Debug, Clone)]
    pub(crate) struct SharedPacer {
        mode: RateLimit,
        pacer: Option<Arc<Mutex<Pacer>>>,
    }

    impl SharedPacer {
        pub(crate) fn new(mode: RateLimit) -> Self {
            SharedPacer {
                mode,
                pacer: mode
                    .initial_rate()
                    .map(|rps| Arc::new(Mutex::new(Pacer::new(rps)))),
            }
        }

        /// Waits for this caller's slot.
        pub(crate) async fn acquire(&self) {
            let Some(pacer) = &self.pacer else { return };
            let wait = pacer
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .reserve(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }

        /// Follows the limit Loops reports.
        pub(crate) fn observe_limit(&self, reported: u32) {
            let (Some(pacer), Some(rate)) = (&self.pacer, self.mode.adjusted_rate(reported)) else {
                return;
            };
            let mut pacer = pacer.lock().unwrap_or_else(PoisonError::into_inner);
            if (pacer.rate() - rate).abs() > 1e-9 {
                pacer.set_rate(rate);
            }
        }

        /// Makes every caller wait `delay` after a 429.
        pub(crate) fn pause_for(&self, delay: Duration) {
            if let Some(pacer) = &self.pacer {
                pacer
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pause_until(Instant::now() + delay);
            }
        }

        pub(crate) fn current_rate(&self) -> Option<f64> {
            self.pacer
                .as_ref()
                .map(|p| p.lock().unwrap_or_else(PoisonError::into_inner).rate())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spaced_and_idle_time_is_not_banked() {
        let t0 = Instant::now();
        let mut p = Pacer::new(4.0);
        assert_eq!(p.reserve(t0), Duration::ZERO);
        assert_eq!(p.reserve(t0), Duration::from_millis(250));
        // After a long idle period the next request goes at once, but no burst is banked.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(p.reserve(later), Duration::ZERO);
        assert_eq!(p.reserve(later), Duration::from_millis(250));
    }

    #[test]
    fn pause_pushes_every_later_slot() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10.0);
        p.reserve(t0);
        p.pause_until(t0 + Duration::from_secs(1));
        assert_eq!(p.reserve(t0), Duration::from_secs(1));
        assert_eq!(p.reserve(t0), Duration::from_millis(1100));
        // A shorter pause never pulls slots earlier.
        p.pause_until(t0);
        assert_eq!(p.reserve(t0), Duration::from_millis(1200));
    }

    #[test]
    fn rate_changes_apply_to_new_slots() {
        let t0 = Instant::now();
        let mut p = Pacer::new(10.0);
        p.reserve(t0);
        p.set_rate(2.0);
        assert_eq!(p.reserve(t0), Duration::from_millis(100));
        assert_eq!(p.reserve(t0), Duration::from_millis(600));
    }

    #[test]
    fn modes_follow_the_reported_limit() {
        let table = [
            (RateLimit::Auto, 20, Some(20.0)),
            (RateLimit::Auto, 0, Some(1.0)),
            (RateLimit::Fixed(5.0), 10, Some(5.0)),
            (RateLimit::Fixed(50.0), 10, Some(10.0)),
            (RateLimit::Off, 10, None),
        ];
        for (mode, reported, expected) in table {
            assert_eq!(
                mode.adjusted_rate(reported),
                expected,
                "{mode:?} {reported}"
            );
        }
    }

    #[test]
    fn header_parsing() {
        let info = RateLimitInfo::from_headers(Some("10"), Some(" 3 "));
        assert_eq!((info.limit, info.remaining), (Some(10), Some(3)));
        assert!(!RateLimitInfo::from_headers(Some("x"), None).is_known());
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }

    #[test]
    fn silly_rates_are_clamped() {
        assert!(Pacer::new(0.0).rate() > 0.0);
        assert_eq!(
            Pacer::new(f64::NAN).rate().round(),
            DEFAULT_REQUESTS_PER_SECOND
        );
    }
}
