//! The retry policy: a pure function from "what happened on attempt N" to "retry after D, or
//! stop". No IO, no clock, no randomness inside: the caller passes the jitter in, which keeps
//! the policy table-testable. The request loop sleeps with `tokio::time::sleep`.
//!
//! Rules:
//! - Only requests that are safe to repeat are retried: reads and idempotent writes. A
//!   connection that never opened is the one exception: nothing reached the server, so any
//!   request may be sent again.
//! - Retried statuses: 408, 429, 500, 502, 503, 504. Other statuses are final.
//! - 429 honours the server's wait (`retry_after` in the body, or `Retry-After`). When that wait
//!   is longer than [`RetryPolicy::max_retry_after`] the policy stops, so the caller gets
//!   [`Error::RateLimited`](crate::Error::RateLimited) with the wait and can schedule the work
//!   instead of holding a task asleep for minutes.
//! - Otherwise the wait is capped exponential backoff with "equal jitter": half the step is
//!   fixed, half is scaled by the jitter in `[0, 1)`.

use std::time::Duration;

use crate::error::TransportErrorKind;

/// What one attempt produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// An HTTP response with a non-success status.
    Status {
        /// The status code.
        status: u16,
        /// The server's requested wait, from the body or the `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// No response.
    Transport(TransportErrorKind),
}

/// The policy's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Sleep this long, then send the request again.
    Retry(Duration),
    /// Give up and return the error.
    Stop,
}

/// Bounded, capped exponential backoff with jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts including the first (1 disables retries; the client refuses 0 when it
    /// is built).
    pub max_attempts: u32,
    /// The first backoff step.
    pub initial_backoff: Duration,
    /// The cap on a backoff step (the client refuses one below `initial_backoff`).
    pub max_backoff: Duration,
    /// The longest server-requested wait (429 `retry_after`) the policy will sleep through.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    #[must_use]
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the total number of attempts, the first included.
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the first backoff step and the cap on a step.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Sets the longest 429 wait the policy sleeps through.
    #[must_use]
    pub fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// Why the client cannot use this policy, if it cannot. [`RetryPolicy::decide`] itself
    /// accepts any policy: 0 attempts stops at once, a cap below the first step caps it.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.max_attempts == 0 {
            Some("a retry policy needs at least 1 attempt (1 means no retries)")
        } else if self.max_backoff < self.initial_backoff {
            Some("the retry policy's max_backoff is below its initial_backoff")
        } else {
            None
        }
    }

    /// Decides what to do after attempt number `attempt` (1-based) ended with `outcome`.
    ///
    /// `safe_to_repeat` says whether the request is a read or an idempotent write. `jitter` is
    /// a number in `[0, 1)` supplied by the caller (clamped otherwise).
    #[must_use]
    pub fn decide(
        &self,
        attempt: u32,
        outcome: AttemptOutcome,
        safe_to_repeat: bool,
        jitter: f64,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::Stop;
        }
        match outcome {
            AttemptOutcome::Transport(TransportErrorKind::Connect) => {
                RetryDecision::Retry(self.backoff(attempt, jitter))
            }
            AttemptOutcome::Transport(
                TransportErrorKind::Timeout | TransportErrorKind::ConnectionLost,
            ) if safe_to_repeat => RetryDecision::Retry(self.backoff(attempt, jitter)),
            AttemptOutcome::Transport(_) => RetryDecision::Stop,
            AttemptOutcome::Status {
                status,
                retry_after,
            } => {
                if !safe_to_repeat || !matches!(status, 408 | 429 | 500 | 502 | 503 | 504) {
                    return RetryDecision::Stop;
                }
                match retry_after {
                    Some(wait) if wait > self.max_retry_after => RetryDecision::Stop,
                    Some(wait) => RetryDecision::Retry(wait),
                    None => RetryDecision::Retry(self.backoff(attempt, jitter)),
                }
            }
        }
    }

    /// The backoff before attempt `attempt + 1`: `initial * 2^(attempt-1)`, capped, then
    /// jittered into `[step/2, step)`.
    #[must_use]
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(31);
        let step = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let half = step / 2;
        half + half.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptOutcome::{Status, Transport};
    use RetryDecision::{Retry, Stop};
    use TransportErrorKind::{Connect, ConnectionLost, Other, Timeout};

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_max_attempts(4)
            .with_backoff(Duration::from_millis(100), Duration::from_millis(350))
            .with_max_retry_after(Duration::from_secs(60))
    }

    fn status(code: u16) -> AttemptOutcome {
        Status {
            status: code,
            retry_after: None,
        }
    }

    #[test]
    fn decision_table() {
        let ms = Duration::from_millis;
        let secs = Duration::from_secs;
        // (attempt, outcome, safe, jitter, expected)
        let table: &[(u32, AttemptOutcome, bool, f64, RetryDecision)] = &[
            (1, status(500), true, 0.0, Retry(ms(50))),
            (1, status(500), true, 1.0, Retry(ms(100))),
            (2, status(502), true, 0.0, Retry(ms(100))),
            (3, status(503), true, 0.0, Retry(ms(175))), // capped at 350 / 2
            (4, status(503), true, 0.0, Stop),           // budget spent
            (1, status(504), true, 0.5, Retry(ms(75))),
            (1, status(408), true, 0.0, Retry(ms(50))),
            (1, status(500), false, 0.0, Stop), // POST create: never repeat
            (1, status(429), false, 0.0, Stop),
            (1, status(400), true, 0.0, Stop),
            (1, status(401), true, 0.0, Stop),
            (1, status(402), true, 0.0, Stop),
            (1, status(403), true, 0.0, Stop),
            (1, status(404), true, 0.0, Stop),
            (1, status(422), true, 0.0, Stop),
            (1, status(501), true, 0.0, Stop),
            (
                1,
                Status {
                    status: 429,
                    retry_after: Some(secs(2)),
                },
                true,
                0.7,
                Retry(secs(2)),
            ),
            (
                1,
                Status {
                    status: 429,
                    retry_after: Some(secs(60)),
                },
                true,
                0.0,
                Retry(secs(60)),
            ),
            (
                1,
                Status {
                    status: 429,
                    retry_after: Some(secs(300)),
                },
                true,
                0.0,
                Stop,
            ),
            (1, status(429), true, 0.0, Retry(ms(50))),
            (1, Transport(Connect), false, 0.0, Retry(ms(50))),
            (1, Transport(Connect), true, 0.0, Retry(ms(50))),
            (1, Transport(Timeout), true, 0.0, Retry(ms(50))),
            (1, Transport(Timeout), false, 0.0, Stop),
            (1, Transport(ConnectionLost), true, 0.0, Retry(ms(50))),
            (1, Transport(ConnectionLost), false, 0.0, Stop),
            (1, Transport(Other), true, 0.0, Stop),
            (4, Transport(Connect), true, 0.0, Stop),
        ];
        for (i, (attempt, outcome, safe, jitter, want)) in table.iter().enumerate() {
            let got = policy().decide(*attempt, *outcome, *safe, *jitter);
            assert_eq!(
                got, *want,
                "row {i}: attempt {attempt} {outcome:?} safe={safe}"
            );
        }
    }

    #[test]
    fn no_retry_policy_stops_immediately() {
        assert_eq!(RetryPolicy::never().decide(1, status(503), true, 0.0), Stop);
        assert_eq!(
            RetryPolicy::default()
                .with_max_attempts(0)
                .decide(1, status(503), true, 0.0),
            Stop
        );
    }

    #[test]
    fn unusable_policies_are_named() {
        let ms = Duration::from_millis;
        let table = [
            (RetryPolicy::default(), false),
            (RetryPolicy::never(), false),
            (RetryPolicy::default().with_max_attempts(0), true),
            (RetryPolicy::default().with_backoff(ms(10), ms(10)), false),
            (RetryPolicy::default().with_backoff(ms(10), ms(9)), true),
        ];
        for (policy, refused) in table {
            assert_eq!(policy.problem().is_some(), refused, "{policy:?}");
        }
    }

    #[test]
    fn backoff_is_bounded_for_huge_attempts_and_bad_jitter() {
        let p = policy();
        assert_eq!(p.backoff(u32::MAX, f64::NAN), Duration::from_millis(175));
        assert_eq!(p.backoff(40, 7.0), Duration::from_millis(350));
        assert_eq!(p.backoff(0, -1.0), Duration::from_millis(50));
    }
}
