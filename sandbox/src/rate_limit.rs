//! A token bucket, shared by the fakes (Loops allows 10 requests/second per team; Kommo has its
//! own per-account limit).
//!
//! The bucket is pure: the caller passes `now`. The fakes pass tokio's clock, so a test that
//! pauses time (`tokio::time::pause`) controls refills too.

use std::time::Duration;

use tokio::time::Instant;

/// `rate` tokens per second, at most `rate` stored (so a burst is at most one second's worth).
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

/// What a refused request learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refused {
    /// How long until one token is available again.
    pub(crate) retry_in: Duration,
}

impl TokenBucket {
    /// A full bucket for `per_second` requests/second (at least 1).
    pub(crate) fn new(per_second: u32, now: Instant) -> Self {
        let rate = f64::from(per_second.max(1));
        TokenBucket {
            rate,
            capacity: rate,
            tokens: rate,
            last: now,
        }
    }

    /// A full bucket for `per_second` requests/second that also holds `tolerance` worth of
    /// refill beyond one second's worth. A client spacing its requests exactly at the rate is
    /// then never refused because its requests reached the server a little closer together
    /// than it sent them (network jitter, a first request slowed by the connection set-up),
    /// while a burst of one request more than the rate still is (for tolerances under one
    /// request's worth).
    pub(crate) fn with_tolerance(per_second: u32, now: Instant, tolerance: Duration) -> Self {
        let mut bucket = TokenBucket::new(per_second, now);
        bucket.capacity = bucket.rate * (1.0 + tolerance.as_secs_f64());
        bucket.tokens = bucket.capacity;
        bucket
    }

    /// The configured rate, for `x-ratelimit-limit`.
    pub(crate) fn limit(&self) -> u32 {
        self.rate as u32
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
    }

    /// Takes one token; on success returns the whole tokens left (`x-ratelimit-remaining`).
    pub(crate) fn try_take(&mut self, now: Instant) -> Result<u32, Refused> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(self.tokens.floor() as u32)
        } else {
            let missing = 1.0 - self.tokens;
            Err(Refused {
                retry_in: Duration::from_secs_f64(missing / self.rate),
            })
        }
    }

    /// The whole tokens left, without taking one (for answers that do not count).
    pub(crate) fn remaining(&mut self, now: Instant) -> u32 {
        self.refill(now);
        self.tokens.floor() as u32
    }

    /// Refills completely (after a reset).
    pub(crate) fn fill(&mut self, now: Instant) {
        self.tokens = self.capacity;
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10, t0);
        assert_eq!(bucket.limit(), 10);
        let remaining: Vec<u32> = (0..10).map(|_| bucket.try_take(t0).unwrap()).collect();
        assert_eq!(remaining, vec![9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        let refused = bucket.try_take(t0).unwrap_err();
        assert_eq!(refused.retry_in, Duration::from_millis(100));
        // 100 ms later one token is back, not more.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(bucket.try_take(t1), Ok(0));
        assert!(bucket.try_take(t1).is_err());
        // A long idle period refills to capacity only.
        let t2 = t1 + Duration::from_secs(60);
        assert_eq!(bucket.remaining(t2), 10);
        bucket.try_take(t2).unwrap();
        bucket.fill(t2);
        assert_eq!(bucket.remaining(t2), 10);
    }

    #[test]
    fn tolerance_absorbs_jitter_but_not_an_extra_request() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::with_tolerance(7, t0, Duration::from_millis(50));
        for _ in 0..7 {
            bucket.try_take(t0).unwrap();
        }
        assert!(bucket.try_take(t0).is_err(), "a burst of 8 is refused");
        // The next seven arrive 3 ms less than a second after the first seven.
        let t1 = t0 + Duration::from_millis(997);
        for _ in 0..7 {
            bucket.try_take(t1).unwrap();
        }
        // Without tolerance the seventh would have been refused.
        let mut strict = TokenBucket::new(7, t0);
        for _ in 0..7 {
            strict.try_take(t0).unwrap();
        }
        let refused = (0..7).filter(|_| strict.try_take(t1).is_err()).count();
        assert_eq!(refused, 1);
    }

    #[test]
    fn zero_rate_is_raised_to_one() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(0, t0);
        assert_eq!(bucket.try_take(t0), Ok(0));
        assert!(bucket.try_take(t0).is_err());
    }
}
