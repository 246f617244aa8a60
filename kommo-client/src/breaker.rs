//! The circuit breaker for Kommo's IP block.
//!
//! Kommo answers repeated 429s by blocking the IP: from then on every request gets 403 (often an
//! nginx HTML page), and the block is lifted only through support. Calling on while blocked
//! achieves nothing and may prolong the block, so after a block-shaped 403 the client stops
//! calling, fails fast with [`Error::Blocked`](crate::Error::Blocked) (carrying when to try
//! again), and after a cool-down lets exactly one probe request through (half-open). A probe
//! that gets any answer other than 403 closes the breaker; a probe that gets 403 reopens it with
//! a doubled cool-down (capped).
//!
//! # When is a 403 a block?
//!
//! A 403 is also Kommo's answer to missing rights (e.g. `/api/v4/users` for a non-admin), and
//! tripping the breaker on those would stop a healthy integration. [`classify_403`] decides:
//!
//! 1. A 403 whose body is **not** `problem+json` (HTML, plain text, empty) is a block. The API
//!    itself answers rights errors with `problem+json`; bare 403 pages come from the edge, which
//!    is where the IP block is enforced.
//! 2. A 403 within [`BreakerConfig::rate_limit_memory`] of a 429 is a block: that is the
//!    documented path into one.
//! 3. [`BreakerConfig::forbidden_threshold`] 403s in a row, with no other response in between,
//!    are a block (a block answered with `problem+json` on every endpoint). A rights error on
//!    one endpoint interleaved with successes elsewhere never trips.
//!
//! Otherwise the 403 is [`Error::Forbidden`](crate::Error::Forbidden).
//!
//! The state machine here is pure (time is passed in) and table-tested; the request loop owns
//! the clock.

use std::time::{Duration, Instant};

/// Circuit-breaker settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// How long to stop calling after a block is detected, before one probe.
    pub cool_down: Duration,
    /// The cap for the cool-down, which doubles after each failed probe.
    pub max_cool_down: Duration,
    /// How many 403s in a row count as a block even when they are `problem+json`.
    pub forbidden_threshold: u32,
    /// How long after a 429 a 403 is read as a block.
    pub rate_limit_memory: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            cool_down: Duration::from_secs(60),
            max_cool_down: Duration::from_secs(30 * 60),
            forbidden_threshold: 3,
            rate_limit_memory: Duration::from_secs(10 * 60),
        }
    }
}

impl BreakerConfig {
    /// Sets the first cool-down and its cap.
    #[must_use]
    pub fn with_cool_down(mut self, cool_down: Duration, max_cool_down: Duration) -> Self {
        self.cool_down = cool_down;
        self.max_cool_down = max_cool_down.max(cool_down);
        self
    }

    /// Sets how many consecutive 403s trip the breaker (at least 1).
    #[must_use]
    pub fn with_forbidden_threshold(mut self, threshold: u32) -> Self {
        self.forbidden_threshold = threshold.max(1);
        self
    }

    /// Sets how long after a 429 a 403 is read as a block.
    #[must_use]
    pub fn with_rate_limit_memory(mut self, memory: Duration) -> Self {
        self.rate_limit_memory = memory;
        self
    }
}

/// What a 403 means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenKind {
    /// The IP or account is blocked: stop calling.
    Block,
    /// Missing rights for this request only.
    Rights,
}

/// Classifies one 403 (see the module docs for the rules).
#[must_use]
pub fn classify_403(
    body_is_problem_json: bool,
    recent_429: bool,
    consecutive_403_including_this: u32,
    threshold: u32,
) -> ForbiddenKind {
    if !body_is_problem_json || recent_429 || consecutive_403_including_this >= threshold.max(1) {
        ForbiddenKind::Block
    } else {
        ForbiddenKind::Rights
    }
}

/// The breaker's state, as exposed to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests flow.
    Closed,
    /// Requests fail fast until `until`.
    Open {
        /// When one probe will be allowed.
        until: Instant,
    },
    /// The cool-down passed: the next request is the probe (or the probe is in flight).
    HalfOpen {
        /// Whether the probe request is currently in flight.
        probe_in_flight: bool,
    },
}

/// Whether a request may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Send it.
    Allow,
    /// Send it as the single half-open probe; report its result with `probe = true`.
    Probe,
    /// Do not send; the breaker is open until the given instant.
    Reject {
        /// When to try again.
        until: Instant,
    },
}

/// What a response means to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseSignal {
    /// Any response other than 403 and 429 (including 4xx and 5xx).
    Other,
    /// A 429.
    RateLimited,
    /// A 403, with whether its body was `problem+json`.
    Forbidden {
        /// Whether the body was `problem+json`.
        problem_json: bool,
    },
}

/// The breaker's verdict on a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle the response normally.
    Pass,
    /// This response is (or arrived during) a block; report `Blocked` until `until`.
    Blocked {
        /// When one probe will be allowed.
        until: Instant,
    },
}

/// How long other callers are told to wait while the half-open probe is in flight.
const PROBE_WAIT: Duration = Duration::from_secs(1);

/// The pure breaker state machine.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: BreakerState,
    consecutive_403: u32,
    last_429: Option<Instant>,
    current_cool_down: Duration,
}

impl CircuitBreaker {
    /// A closed breaker.
    #[must_use]
    pub fn new(config: BreakerConfig) -> Self {
        let current_cool_down = config.cool_down;
        Self {
            config,
            state: BreakerState::Closed,
            consecutive_403: 0,
            last_429: None,
            current_cool_down,
        }
    }

    /// The state at `now` (an open breaker whose cool-down has passed reads as half-open).
    #[must_use]
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.state {
            BreakerState::Open { until } if now >= until => BreakerState::HalfOpen {
                probe_in_flight: false,
            },
            other => other,
        }
    }

    /// Decides whether a request may be sent at `now`.
    pub fn admit(&mut self, now: Instant) -> Admission {
        match self.state(now) {
            BreakerState::Closed => Admission::Allow,
            BreakerState::Open { until } => Admission::Reject { until },
            BreakerState::HalfOpen {
                probe_in_flight: true,
            } => Admission::Reject {
                until: now + PROBE_WAIT,
            },
            BreakerState::HalfOpen {
                probe_in_flight: false,
            } => {
                self.state = BreakerState::HalfOpen {
                    probe_in_flight: true,
                };
                Admission::Probe
            }
        }
    }

    /// Records a response to a request admitted with [`Admission::Allow`] (`probe = false`) or
    /// [`Admission::Probe`] (`probe = true`).
    pub fn on_response(&mut self, now: Instant, signal: ResponseSignal, probe: bool) -> Verdict {
        match signal {
            ResponseSignal::Forbidden { problem_json } => {
                self.consecutive_403 = self.consecutive_403.saturating_add(1);
                let recent_429 = self.last_429.is_some_and(|t| {
                    now.saturating_duration_since(t) <= self.config.rate_limit_memory
                });
                let kind = classify_403(
                    problem_json,
                    recent_429,
                    self.consecutive_403,
                    self.config.forbidden_threshold,
                );
                if probe {
                    // The probe still gets 403 (of any shape): the block has not lifted.
                    self.current_cool_down =
                        (self.current_cool_down * 2).min(self.config.max_cool_down);
                    return self.open(now);
                }
                match (kind, self.state) {
                    (_, BreakerState::Open { until }) => Verdict::Blocked { until },
                    (ForbiddenKind::Block, _) => self.open(now),
                    (ForbiddenKind::Rights, _) => Verdict::Pass,
                }
            }
            ResponseSignal::RateLimited | ResponseSignal::Other => {
                if signal == ResponseSignal::RateLimited {
                    self.last_429 = Some(now);
                }
                self.consecutive_403 = 0;
                if probe {
                    // Any non-403 answer means the block is gone.
                    self.state = BreakerState::Closed;
                    self.current_cool_down = self.config.cool_down;
                }
                Verdict::Pass
            }
        }
    }

    /// Records that a probe ended without a response (transport error or cancellation): the
    /// next request may probe again.
    pub fn probe_abandoned(&mut self) {
        if self.state
            == (BreakerState::HalfOpen {
                probe_in_flight: true,
            })
        {
            self.state = BreakerState::HalfOpen {
                probe_in_flight: false,
            };
        }
    }

    /// Closes the breaker and forgets its history (for an operator who knows the block lifted).
    pub fn reset(&mut self) {
        *self = Self::new(self.config.clone());
    }

    fn open(&mut self, now: Instant) -> Verdict {
        let until = now + self.current_cool_down;
        self.state = BreakerState::Open { until };
        Verdict::Blocked { until }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResponseSignal::{Forbidden, Other, RateLimited};

    const HTML_403: ResponseSignal = Forbidden {
        problem_json: false,
    };
    const JSON_403: ResponseSignal = Forbidden { problem_json: true };

    #[test]
    fn classify_table() {
        use ForbiddenKind::{Block, Rights};
        // (problem_json, recent_429, consecutive, threshold, expected)
        let table = [
            (false, false, 1, 3, Block),
            (true, false, 1, 3, Rights),
            (true, false, 2, 3, Rights),
            (true, false, 3, 3, Block),
            (true, true, 1, 3, Block),
            (true, false, 1, 0, Block), // threshold clamps to 1
        ];
        for (i, (pj, r429, n, th, want)) in table.into_iter().enumerate() {
            assert_eq!(classify_403(pj, r429, n, th), want, "row {i}");
        }
    }

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(
            BreakerConfig::default()
                .with_cool_down(Duration::from_secs(10), Duration::from_secs(25))
                .with_forbidden_threshold(3)
                .with_rate_limit_memory(Duration::from_secs(60)),
        )
    }

    #[test]
    fn html_403_opens_then_probe_closes() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = breaker();
        assert_eq!(b.admit(t0), Admission::Allow);
        assert_eq!(
            b.on_response(t0, HTML_403, false),
            Verdict::Blocked { until: t0 + s(10) }
        );
        assert_eq!(b.admit(t0 + s(5)), Admission::Reject { until: t0 + s(10) });
        assert_eq!(
            b.state(t0 + s(10)),
            BreakerState::HalfOpen {
                probe_in_flight: false
            }
        );
        assert_eq!(b.admit(t0 + s(10)), Admission::Probe);
        // Others are held back while the probe is in flight.
        assert_eq!(b.admit(t0 + s(10)), Admission::Reject { until: t0 + s(11) });
        assert_eq!(b.on_response(t0 + s(11), Other, true), Verdict::Pass);
        assert_eq!(b.state(t0 + s(11)), BreakerState::Closed);
        assert_eq!(b.admit(t0 + s(11)), Admission::Allow);
    }

    #[test]
    fn failed_probe_doubles_cool_down_up_to_cap() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = breaker();
        b.on_response(t0, HTML_403, false);
        assert_eq!(b.admit(t0 + s(10)), Admission::Probe);
        assert_eq!(
            b.on_response(t0 + s(10), JSON_403, true),
            Verdict::Blocked { until: t0 + s(30) }
        );
        assert_eq!(b.admit(t0 + s(30)), Admission::Probe);
        assert_eq!(
            b.on_response(t0 + s(30), HTML_403, true),
            Verdict::Blocked { until: t0 + s(55) }
        );
        assert_eq!(b.admit(t0 + s(55)), Admission::Probe);
        assert_eq!(b.on_response(t0 + s(55), Other, true), Verdict::Pass);
        // The cool-down is back to its base after a successful probe.
        b.on_response(t0 + s(56), HTML_403, false);
        assert_eq!(
            b.state(t0 + s(56)),
            BreakerState::Open { until: t0 + s(66) }
        );
    }

    #[test]
    fn rights_403_does_not_trip_unless_repeated_or_after_429() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = breaker();
        assert_eq!(b.on_response(t0, JSON_403, false), Verdict::Pass);
        assert_eq!(b.on_response(t0, Other, false), Verdict::Pass);
        assert_eq!(b.on_response(t0, JSON_403, false), Verdict::Pass);
        assert_eq!(b.on_response(t0, JSON_403, false), Verdict::Pass);
        assert_eq!(
            b.on_response(t0, JSON_403, false),
            Verdict::Blocked { until: t0 + s(10) }
        );

        let mut b = breaker();
        assert_eq!(b.on_response(t0, RateLimited, false), Verdict::Pass);
        assert_eq!(
            b.on_response(t0 + s(30), JSON_403, false),
            Verdict::Blocked { until: t0 + s(40) }
        );

        let mut b = breaker();
        b.on_response(t0, RateLimited, false);
        assert_eq!(
            b.on_response(t0 + s(61), JSON_403, false),
            Verdict::Pass,
            "429 forgotten"
        );
    }

    #[test]
    fn abandoned_probe_frees_the_slot_and_late_responses_do_not_close() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = breaker();
        b.on_response(t0, HTML_403, false);
        // A request admitted before the trip comes back successful: still open.
        assert_eq!(b.on_response(t0 + s(1), Other, false), Verdict::Pass);
        assert!(matches!(b.state(t0 + s(1)), BreakerState::Open { .. }));
        assert_eq!(
            b.on_response(t0 + s(2), JSON_403, false),
            Verdict::Blocked { until: t0 + s(10) }
        );
        assert_eq!(b.admit(t0 + s(10)), Admission::Probe);
        b.probe_abandoned();
        assert_eq!(b.admit(t0 + s(10)), Admission::Probe);
        b.reset();
        assert_eq!(b.admit(t0 + s(10)), Admission::Allow);
    }
}
