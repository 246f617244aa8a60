//! The client-side rate limiter.
//!
//! Kommo allows "not more than 7 requests per second"; going over gets 429s, and repeated 429s
//! get the IP blocked. The limiter therefore guarantees the documented rule exactly: at most `N`
//! requests start in any window of `per`. It is a sliding-window log of reserved start times (a
//! token bucket would allow up to `2N` in a window straddling a refill).
//!
//! [`WindowLimiter`] is the pure core (time is passed in); [`RateLimiter`] wraps it for
//! concurrent async use and is shared by every clone of a client.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The client-side rate limit: off, or at most `requests` starts per window.
///
/// ```
/// use std::time::Duration;
/// use kommo_client::RateLimit;
///
/// assert_eq!(RateLimit::default(), RateLimit::KOMMO_DEFAULT);
/// assert_eq!(RateLimit::per_second(7), RateLimit::KOMMO_DEFAULT);
/// assert_eq!(RateLimit::new(2, Duration::from_millis(400)).window().map(|w| w.requests), Some(2));
/// assert_eq!(RateLimit::Off.window(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateLimit {
    /// No client-side limit. Kommo still answers 429 above its limit, and repeated 429s get
    /// the IP blocked, so this is for tests and for callers that pace themselves.
    Off,
    /// At most `requests` starts in any window of `per`.
    Window(WindowLimit),
}

/// How many requests may start per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    /// Requests per window; the client refuses 0 when it is built.
    pub requests: u32,
    /// The window length; the client refuses a zero window when it is built.
    pub per: Duration,
}

impl WindowLimit {
    /// `requests` per `per`.
    #[must_use]
    pub const fn new(requests: u32, per: Duration) -> Self {
        Self { requests, per }
    }

    /// `requests` per second.
    #[must_use]
    pub const fn per_second(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(1))
    }
}

impl From<WindowLimit> for RateLimit {
    fn from(window: WindowLimit) -> Self {
        RateLimit::Window(window)
    }
}

impl RateLimit {
    /// Kommo's documented limit: 7 requests per second.
    pub const KOMMO_DEFAULT: RateLimit = RateLimit::per_second(7);

    /// `requests` per `per`. Nothing is clamped: the client builder refuses `0` requests or
    /// a zero window with [`Error::Config`](crate::Error::Config).
    #[must_use]
    pub const fn new(requests: u32, per: Duration) -> Self {
        RateLimit::Window(WindowLimit::new(requests, per))
    }

    /// `requests` per second.
    #[must_use]
    pub const fn per_second(requests: u32) -> Self {
        RateLimit::Window(WindowLimit::per_second(requests))
    }

    /// The window limit, or `None` when the limit is off.
    #[must_use]
    pub fn window(self) -> Option<WindowLimit> {
        match self {
            RateLimit::Off => None,
            RateLimit::Window(window) => Some(window),
        }
    }

    /// Why this limit cannot be used, if it cannot.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn problem(self) -> Option<&'static str> {
        match self.window() {
            Some(w) if w.requests == 0 => Some("a rate limit of 0 requests lets nothing through"),
            Some(w) if w.per.is_zero() => Some("a rate limit window must be longer than zero"),
            _ => None,
        }
    }
}

impl Default for RateLimit {
    fn default() -> Self {
        Self::KOMMO_DEFAULT
    }
}

/// The pure sliding-window core: it hands out start times so that no window of `per` holds more
/// than `requests` starts.
#[derive(Debug, Clone)]
pub struct WindowLimiter {
    limit: WindowLimit,
    // Reserved start times, non-decreasing; at most `limit.requests` entries.
    starts: VecDeque<Instant>,
}

impl WindowLimiter {
    /// A limiter with no history. A limit of 0 requests is taken as 1: this core is used on
    /// its own too, and must never hand out a start time that is never reached.
    #[must_use]
    pub fn new(limit: WindowLimit) -> Self {
        let limit = WindowLimit {
            requests: limit.requests.max(1),
            per: limit.per,
        };
        Self {
            limit,
            starts: VecDeque::with_capacity(limit.requests as usize),
        }
    }

    /// The configured limit.
    #[must_use]
    pub fn limit(&self) -> WindowLimit {
        self.limit
    }

    /// Reserves the next start slot at or after `now` and returns how long to wait for it.
    ///
    /// Each call reserves a slot, so a caller that gives up after reserving still uses up its
    /// share; that errs on the side of sending fewer requests.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let n = self.limit.requests as usize;
        let mut start = now;
        if let Some(last) = self.starts.back() {
            // Never hand out a slot before one already handed out: keeps the log sorted.
            start = start.max(*last);
        }
        if self.starts.len() >= n {
            // The oldest of the last n starts must leave the window before we may start.
            let oldest = self.starts[self.starts.len() - n];
            start = start.max(oldest + self.limit.per);
        }
        self.starts.push_back(start);
        while self.starts.len() > n {
            self.starts.pop_front();
        }
        start.saturating_duration_since(now)
    }
}

#[cfg(feature = "client")]
pub use self::shared::RateLimiter;

#[cfg(feature = "client")]
mod shared {
    use std::sync::Mutex;
    use std::time::Instant;

    use super::{WindowLimit, WindowLimiter};

    /// An async, thread-safe rate limiter. Put it in an `Arc` to share it between clients that
    /// talk to the same account from one process (the client does this for its clones).
    #[derive(Debug)]
    pub struct RateLimiter {
        core: Mutex<WindowLimiter>,
    }

    impl RateLimiter {
        /// A limiter enforcing `limit`.
        #[must_use]
        pub fn new(limit: WindowLimit) -> Self {
            Self {
                core: Mutex::new(WindowLimiter::new(limit)),
            }
        }

        /// The configured limit.
        #[must_use]
        pub fn limit(&self) -> WindowLimit {
            self.lock().limit()
        }

        /// Waits until a request may start.
        pub async fn acquire(&self) {
            let wait = self.lock().reserve(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, WindowLimiter> {
            // The core has no invariants a panic could break halfway; recover from poison.
            self.core
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_n_then_spaces_by_window() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut l = WindowLimiter::new(WindowLimit {
            requests: 3,
            per: ms(1000),
        });
        // (offset of now from t0, expected wait)
        let table = [
            (0, 0),
            (0, 0),
            (10, 0),
            (20, 980),  // 4th start must wait for the 1st to leave the window
            (20, 980),  // 5th: 2nd started at 0 too
            (500, 510), // 6th: 3rd started at 10
            (3000, 0),
        ];
        for (i, (at, want)) in table.into_iter().enumerate() {
            assert_eq!(l.reserve(t0 + ms(at)), ms(want), "row {i}");
        }
    }

    #[test]
    fn never_more_than_n_in_any_window() {
        let t0 = Instant::now();
        let per = Duration::from_millis(1000);
        let mut l = WindowLimiter::new(WindowLimit { requests: 7, per });
        let mut starts = Vec::new();
        for i in 0..200u64 {
            let now = t0 + Duration::from_millis(i * 37 % 900 + i * 5);
            let wait = l.reserve(now);
            starts.push(now + wait);
        }
        starts.sort();
        for w in starts.windows(8) {
            assert!(w[7] - w[0] >= per, "8 starts inside one window: {w:?}");
        }
    }

    #[test]
    fn zero_requests_is_clamped_to_one() {
        let l = WindowLimiter::new(WindowLimit {
            requests: 0,
            per: Duration::from_secs(1),
        });
        assert_eq!(l.limit().requests, 1);
    }

    #[test]
    fn unusable_limits_are_named() {
        let table = [
            (RateLimit::Off, false),
            (RateLimit::KOMMO_DEFAULT, false),
            (RateLimit::per_second(0), true),
            (RateLimit::new(3, Duration::ZERO), true),
        ];
        for (limit, refused) in table {
            assert_eq!(limit.problem().is_some(), refused, "{limit:?}");
        }
    }
}
