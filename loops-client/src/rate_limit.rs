//! Client-side pacing so that requests stay under the Loops rate limit (10 per second per
//! team by default) instead of bouncing off it.
//!
//! [`Pacer`] is the pure core: given `now`, it hands out send slots spaced `1/rate` apart.
//! The client wraps one in a mutex shared by all clones, sleeps until each slot, and pushes the
//! next free slot back after a 429 so every caller waits, not only the one that was refused.
//!
//! A slot nobody was waiting for is normally lost, so callers that are sometimes late (a worker
//! busy with its database between two sends) fall a few percent short of the rate. In
//! [`RateLimit::Auto`] mode, when Loops reports room to spare (`x-ratelimit-remaining`), the
//! pacer lets late callers catch up on a few of the slots they missed, at most a tenth of a
//! second's worth and never more than the reported room; with no room reported, and always in
//! [`RateLimit::Fixed`] mode, it keeps strictly to the spacing.
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
    /// Start at 10 requests/second and follow the `x-ratelimit-limit` Loops reports; when
    /// `x-ratelimit-remaining` shows room, a caller that was late may use a few of the slots it
    /// missed (at most a tenth of a second's worth), so busy callers still reach the rate.
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
    /// Slots missed in the past that late callers may still use.
    catch_up: u32,
}

impl Pacer {
    /// A pacer for `requests_per_second` (values below 0.01 are raised to 0.01).
    pub fn new(requests_per_second: f64) -> Self {
        Pacer {
            interval: interval_for(requests_per_second),
            next_slot: None,
            catch_up: 0,
        }
    }

    /// Reserves the next slot and returns how long to wait for it from `now`.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        // Slots older than the catch-up allowance are gone: a caller never makes up for more.
        let earliest = now
            .checked_sub(self.interval * self.catch_up)
            .unwrap_or(now);
        let slot = match self.next_slot {
            // Nothing was missed before the first slot.
            None => now,
            Some(next) if next > earliest => next,
            Some(_) => earliest,
        };
        self.next_slot = Some(slot + self.interval);
        slot.saturating_duration_since(now)
    }

    /// Lets late callers use up to `slots` missed slots (0, the default, keeps strictly to the
    /// spacing: idle time is never banked).
    ///
    /// ```
    /// use loops_client::rate_limit::Pacer;
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now();
    /// let mut pacer = Pacer::new(10.0);
    /// pacer.reserve(t0);
    /// pacer.set_catch_up(2);
    /// // Nobody came for the slots at 100, 200 and 300 ms. At 350 ms the current slot and two
    /// // missed ones go at once (still 100 ms apart on the schedule), then the spacing resumes.
    /// let late = t0 + Duration::from_millis(350);
    /// for _ in 0..3 {
    ///     assert_eq!(pacer.reserve(late), Duration::ZERO);
    /// }
    /// assert_eq!(pacer.reserve(late), Duration::from_millis(100));
    /// ```
    pub fn set_catch_up(&mut self, slots: u32) {
        self.catch_up = slots;
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

/// How many missed slots late callers may use: at most a tenth of a second's worth at `rate`,
/// and never more than the room Loops reported (less one, for a request of another process
/// that may be in flight); none when no room was reported.
pub fn catch_up_slots(rate: f64, remaining: Option<u32>) -> u32 {
    let tenth = if rate.is_finite() && rate > 0.0 {
        (rate / 10.0).floor().min(f64::from(u32::MAX)) as u32
    } else {
        0
    };
    remaining.map_or(0, |room| room.saturating_sub(1).min(tenth))
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
        pub(super) pacer: Option<Arc<Mutex<Pacer>>>,
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

        /// Follows the limit Loops reports, and the room it reports for catching up.
        pub(crate) fn observe(&self, info: RateLimitInfo) {
            let Some(pacer) = &self.pacer else { return };
            let mut pacer = pacer.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(rate) = info.limit.and_then(|limit| self.mode.adjusted_rate(limit))
                && (pacer.rate() - rate).abs() > 1e-9
            {
                pacer.set_rate(rate);
            }
            // Only `Auto` catches up: `Fixed` promises never to exceed its rate in any second.
            let slots = match self.mode {
                RateLimit::Auto => catch_up_slots(pacer.rate(), info.remaining),
                RateLimit::Fixed(_) | RateLimit::Off => 0,
            };
            pacer.set_catch_up(slots);
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

    /// The pacer against a model of the server's limiter (a token bucket holding one second's
    /// worth, as Loops and the sandbox keep), with callers that are always waiting and requests
    /// that reach the server late by a varying delay: at every rate, no request is refused and
    /// the server sees the full rate. (The end-to-end figure, with the bridge's workers and the
    /// sandbox over HTTP, is the `rate_limit_backfill` example; see `docs/performance.md`.)
    #[test]
    fn paced_requests_fill_a_token_bucket_without_refusals() {
        // (rate, worst network delay in ms)
        let table = [
            (10u32, 0u64),
            (10, 40),
            (50, 15),
            (200, 0),
            (200, 5),
            (1000, 3),
        ];
        for (rate, worst_delay) in table {
            let t0 = Instant::now();
            let mut pacer = Pacer::new(f64::from(rate));
            let capacity = f64::from(rate);
            let (mut tokens, mut last) = (capacity, Duration::ZERO);
            let n = 20 * rate as usize;
            let (mut refused, mut first, mut latest) = (0, None, Duration::ZERO);
            for i in 0..n {
                let sent = t0 + pacer.reserve(t0);
                // A deterministic spread of delays in [0, worst_delay] ms.
                let delay = Duration::from_millis((i as u64 * 7919) % (worst_delay + 1));
                let arrival = (sent + delay) - t0;
                // The bucket refills by elapsed time (arrivals may be out of order).
                let elapsed = arrival.saturating_sub(last).as_secs_f64();
                tokens = (tokens + elapsed * capacity).min(capacity);
                last = last.max(arrival);
                if tokens >= 1.0 {
                    tokens -= 1.0;
                } else {
                    refused += 1;
                }
                first.get_or_insert(sent - t0);
                latest = latest.max(sent - t0);
            }
            assert_eq!(refused, 0, "rate {rate}, delay up to {worst_delay} ms");
            let span = (latest - first.unwrap()).as_secs_f64();
            let achieved = (n - 1) as f64 / span;
            assert!(
                achieved >= 0.95 * f64::from(rate),
                "rate {rate}: achieved {achieved:.2}/s"
            );
        }
    }

    #[test]
    fn catch_up_is_bounded_by_the_reported_room_and_a_tenth_of_a_second() {
        let table = [
            (10.0, None, 0),
            (10.0, Some(9), 1),
            (10.0, Some(0), 0),
            (10.0, Some(1), 0),
            (200.0, Some(199), 20),
            (200.0, Some(5), 4),
            (200.0, None, 0),
            (5.0, Some(4), 0),
            (f64::NAN, Some(10), 0),
        ];
        for (rate, remaining, expected) in table {
            assert_eq!(
                catch_up_slots(rate, remaining),
                expected,
                "{rate}/s, {remaining:?} left"
            );
        }
    }

    #[test]
    fn late_callers_catch_up_only_on_recent_slots() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut p = Pacer::new(10.0);
        p.set_catch_up(3);
        assert_eq!(p.reserve(t0), Duration::ZERO);
        // After 10 s idle, only three missed slots (and the current one) go at once.
        let later = t0 + Duration::from_secs(10);
        let waits: Vec<Duration> = (0..6).map(|_| p.reserve(later)).collect();
        assert_eq!(
            waits,
            [
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
                Duration::ZERO,
                ms(100),
                ms(200)
            ]
        );
        // A pause after a 429 is never shortened by catching up.
        p.pause_until(later + Duration::from_secs(1));
        assert_eq!(p.reserve(later), Duration::from_secs(1));
        // No catch-up: strict spacing again.
        p.set_catch_up(0);
        let much_later = later + Duration::from_secs(60);
        assert_eq!(p.reserve(much_later), Duration::ZERO);
        assert_eq!(p.reserve(much_later), ms(100));
    }

    /// Four callers (a bridge's workers) that are sometimes late: after each send a caller is
    /// busy 16 ms before it asks for its next slot, and 80 ms every twentieth time (a slow disk
    /// write). Without catch-up the slots nobody was waiting for are lost; with it the server
    /// sees the full rate, and since the schedule keeps its spacing, a token bucket of one
    /// second's worth (Loops, the sandbox) refuses nothing.
    #[test]
    fn catching_up_recovers_the_slots_late_callers_missed() {
        let rate = 200.0;
        let mut achieved_by_catch_up = Vec::new();
        for catch_up in [0, catch_up_slots(rate, Some(199))] {
            let t0 = Instant::now();
            let mut p = Pacer::new(rate);
            p.set_catch_up(catch_up);
            let mut ready = [t0; 4];
            let mut sends = Vec::new();
            for i in 0..4000u32 {
                // The caller ready first asks next.
                let w = (0..4).min_by_key(|&w| ready[w]).unwrap();
                let now = ready[w];
                let sent = now + p.reserve(now);
                sends.push(sent);
                let busy = if i % 20 == 19 { 80 } else { 16 };
                ready[w] = sent + Duration::from_millis(busy);
            }
            sends.sort();
            let span = (*sends.last().unwrap() - sends[0]).as_secs_f64();
            achieved_by_catch_up.push((sends.len() - 1) as f64 / span / rate);
            let (mut tokens, mut last) = (rate, sends[0]);
            for &at in &sends {
                tokens = (tokens + (at - last).as_secs_f64() * rate).min(rate);
                last = at;
                assert!(
                    tokens >= 1.0,
                    "catch-up {catch_up}: refused at {:?}",
                    at - t0
                );
                tokens -= 1.0;
            }
        }
        let (without, with) = (achieved_by_catch_up[0], achieved_by_catch_up[1]);
        assert!(
            without < 0.97,
            "late callers lose slots without catch-up: {without:.3}"
        );
        assert!(with >= 0.99, "catch-up recovers them: {with:.3}");
    }

    #[cfg(feature = "client")]
    #[test]
    fn only_auto_catches_up() {
        let t0 = Instant::now();
        let room = RateLimitInfo::from_headers(Some("10"), Some("9"));
        for (mode, immediate) in [(RateLimit::Auto, 2), (RateLimit::Fixed(10.0), 1)] {
            let shared = SharedPacer::new(mode);
            shared.observe(room);
            let pacer = shared.pacer.as_ref().unwrap();
            let mut pacer = pacer.lock().unwrap();
            pacer.reserve(t0);
            // 350 ms later: Auto may use one missed slot (10/s: a tenth of a second's worth).
            let late = t0 + Duration::from_millis(350);
            let at_once = (0..3).filter(|_| pacer.reserve(late).is_zero()).count();
            assert_eq!(at_once, immediate, "{mode:?}");
        }
        // Off has no pacer at all.
        SharedPacer::new(RateLimit::Off).observe(room);
        assert!(SharedPacer::new(RateLimit::Off).pacer.is_none());
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
