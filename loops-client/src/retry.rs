//! The retry policy: a pure decision, tested by table.
//!
//! The IO loop in the client asks [`RetryPolicy::decide`] after each failed attempt and sleeps
//! for the answer. Nothing here reads a clock or a random source; jitter comes in as a number.

use std::time::Duration;

/// Whether repeating a request after an ambiguous failure is harmless.
///
/// A 5xx or a connection lost mid-request leaves it unknown whether Loops acted. Reads, the
/// contact upsert, and sends carrying an idempotency key can be repeated safely; creates and
/// raw requests cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetrySafety {
    /// Repeating the request cannot do anything twice.
    Safe,
    /// Repeating the request could do something twice.
    Unsafe,
}

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptFailure {
    /// The server answered with a non-success status.
    Status {
        /// The HTTP status code.
        status: u16,
        /// The `Retry-After` delay the server asked for, if any.
        retry_after: Option<Duration>,
    },
    /// No connection could be made, so the request never reached Loops.
    ConnectFailed,
    /// The connection broke or timed out after the request may have been sent.
    ConnectionLost,
    /// The attempt ran past its timeout.
    TimedOut,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay.
    RetryAfter(Duration),
    /// Stop and report the failure.
    GiveUp,
}

/// How many times to try, and how long to wait in between.
///
/// Build one from [`RetryPolicy::default()`] (4 attempts, 250 ms doubling to 8 s, 1 s after a
/// bare 429, `Retry-After` honoured up to 60 s) or [`RetryPolicy::never()`] and the `with_*`
/// methods; [`ClientBuilder::build`](crate::ClientBuilder::build) reports a policy that makes
/// no sense (no attempt at all, a cap below the first backoff) as
/// [`Error::Config`](crate::Error::Config).
///
/// ```
/// use loops_client::RetryPolicy;
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default()
///     .with_max_attempts(6)
///     .with_backoff(Duration::from_millis(100), Duration::from_secs(5))
///     .with_max_retry_after(Duration::from_secs(10));
/// assert_eq!(policy.max_attempts, 6);
/// assert_eq!(RetryPolicy::never().max_attempts, 1);
/// ```
///
/// The decision itself is pure:
///
/// ```
/// use loops_client::retry::{AttemptFailure, RetryDecision, RetryPolicy, RetrySafety};
/// use std::time::Duration;
///
/// let policy = RetryPolicy::default();
/// let rate_limited = AttemptFailure::Status { status: 429, retry_after: Some(Duration::from_secs(2)) };
/// assert_eq!(
///     policy.decide(1, rate_limited, RetrySafety::Unsafe, 0.0),
///     RetryDecision::RetryAfter(Duration::from_secs(2)),
/// );
/// let server_error = AttemptFailure::Status { status: 500, retry_after: None };
/// assert_eq!(policy.decide(1, server_error, RetrySafety::Unsafe, 0.5), RetryDecision::GiveUp);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total, the first included. `1` disables retries.
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further attempt.
    pub initial_backoff: Duration,
    /// The longest backoff between attempts after a 5xx or a connection failure.
    pub max_backoff: Duration,
    /// How long to wait after a 429 that carries no `Retry-After` (the Loops window is 1 s).
    pub rate_limit_wait: Duration,
    /// The longest `Retry-After` honoured; a longer one gives up instead of stalling a caller.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            rate_limit_wait: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Sets the number of attempts in total, the first included (`1`: no retries).
    #[must_use]
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the backoff before the second attempt (it doubles for each further attempt) and
    /// the longest backoff.
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Sets the longest `Retry-After` honoured; a longer one gives up at once.
    #[must_use]
    pub fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// Sets how long to wait after a 429 that carries no `Retry-After`.
    #[must_use]
    pub fn with_rate_limit_wait(mut self, wait: Duration) -> Self {
        self.rate_limit_wait = wait;
        self
    }

    /// What is wrong with this policy, if anything.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.max_attempts == 0 {
            Some("max_attempts must be at least 1")
        } else if self.max_backoff < self.initial_backoff {
            Some("max_backoff must not be shorter than initial_backoff")
        } else {
            None
        }
    }

    /// Decides whether to retry after attempt number `attempt` (1-based) failed.
    ///
    /// `jitter` is a number in `[0, 1)` supplied by the caller (random in production, fixed in
    /// tests); it spreads the backoff so that many clients do not retry in lockstep.
    pub fn decide(
        &self,
        attempt: u32,
        failure: AttemptFailure,
        safety: RetrySafety,
        jitter: f64,
    ) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match failure {
            // A 429 means Loops did nothing, so any request may be repeated.
            AttemptFailure::Status {
                status: 429,
                retry_after,
            } => match retry_after {
                Some(wait) if wait > self.max_retry_after => RetryDecision::GiveUp,
                Some(wait) => RetryDecision::RetryAfter(wait),
                None => RetryDecision::RetryAfter(
                    self.rate_limit_wait + self.rate_limit_wait.mul_f64(jitter * 0.25),
                ),
            },
            // The request never left this machine.
            AttemptFailure::ConnectFailed => {
                RetryDecision::RetryAfter(self.backoff(attempt, jitter))
            }
            AttemptFailure::Status {
                status,
                retry_after,
            } if is_transient(status) => {
                if safety == RetrySafety::Unsafe {
                    return RetryDecision::GiveUp;
                }
                let backoff = self.backoff(attempt, jitter);
                match retry_after {
                    Some(wait) if wait > self.max_retry_after => RetryDecision::GiveUp,
                    Some(wait) => RetryDecision::RetryAfter(wait.max(backoff)),
                    None => RetryDecision::RetryAfter(backoff),
                }
            }
            AttemptFailure::ConnectionLost | AttemptFailure::TimedOut => match safety {
                RetrySafety::Safe => RetryDecision::RetryAfter(self.backoff(attempt, jitter)),
                RetrySafety::Unsafe => RetryDecision::GiveUp,
            },
            AttemptFailure::Status { .. } => RetryDecision::GiveUp,
        }
    }

    /// Exponential backoff with "equal jitter": half fixed, half spread by `jitter`.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let full = self
            .initial_backoff
            .saturating_mul(1u32 << exponent)
            .min(self.max_backoff);
        full / 2 + (full / 2).mul_f64(jitter)
    }
}

/// Statuses that say "try again later" rather than "this request is wrong".
/// 425 is Loops' "uploaded object not yet visible, retry shortly" on completing an upload.
fn is_transient(status: u16) -> bool {
    matches!(status, 408 | 425 | 500 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptFailure::*;
    use RetryDecision::*;
    use RetrySafety::*;

    fn status(status: u16) -> AttemptFailure {
        Status {
            status,
            retry_after: None,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn decision_table() {
        let p = RetryPolicy::default();
        let secs = Duration::from_secs;
        #[rustfmt::skip]
        let table: Vec<(u32, AttemptFailure, RetrySafety, f64, RetryDecision)> = vec![
            // 429: always retried, Retry-After honoured exactly, ~1 s without it.
            (1, Status { status: 429, retry_after: Some(secs(3)) }, Unsafe, 0.9, RetryAfter(secs(3))),
            (1, status(429), Unsafe, 0.0, RetryAfter(secs(1))),
            (1, status(429), Safe, 1.0, RetryAfter(ms(1250))),
            (1, Status { status: 429, retry_after: Some(secs(61)) }, Safe, 0.0, GiveUp),
            // 5xx: only when the request is safe to repeat.
            (1, status(500), Safe, 0.0, RetryAfter(ms(125))),
            (1, status(500), Safe, 1.0, RetryAfter(ms(250))),
            (2, status(502), Safe, 0.0, RetryAfter(ms(250))),
            (3, status(503), Safe, 1.0, RetryAfter(secs(1))),
            (1, status(504), Safe, 0.0, RetryAfter(ms(125))),
            (1, Status { status: 503, retry_after: Some(secs(5)) }, Safe, 0.0, RetryAfter(secs(5))),
            (1, status(500), Unsafe, 0.0, GiveUp),
            (1, status(502), Unsafe, 0.0, GiveUp),
            (1, status(501), Safe, 0.0, GiveUp),
            // 4xx other than 429 are the caller's to fix.
            (1, status(400), Safe, 0.0, GiveUp),
            (1, status(401), Safe, 0.0, GiveUp),
            (1, status(404), Safe, 0.0, GiveUp),
            (1, status(409), Safe, 0.0, GiveUp),
            (1, status(408), Safe, 0.0, RetryAfter(ms(125))),
            (1, status(425), Safe, 0.0, RetryAfter(ms(125))),
            (1, status(425), Unsafe, 0.0, GiveUp),
            // Connections.
            (1, ConnectFailed, Unsafe, 0.0, RetryAfter(ms(125))),
            (1, ConnectionLost, Safe, 0.0, RetryAfter(ms(125))),
            (1, ConnectionLost, Unsafe, 0.0, GiveUp),
            (1, TimedOut, Safe, 0.0, RetryAfter(ms(125))),
            (1, TimedOut, Unsafe, 0.0, GiveUp),
            // Attempts are bounded.
            (4, status(429), Safe, 0.0, GiveUp),
            (4, status(500), Safe, 0.0, GiveUp),
            (4, ConnectFailed, Safe, 0.0, GiveUp),
        ];
        for (attempt, failure, safety, jitter, expected) in table {
            assert_eq!(
                p.decide(attempt, failure, safety, jitter),
                expected,
                "attempt {attempt}, {failure:?}, {safety:?}, jitter {jitter}"
            );
        }
    }

    #[test]
    fn backoff_is_capped() {
        let p = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        };
        for attempt in 1..100 {
            match p.decide(attempt, status(503), Safe, 0.999) {
                RetryAfter(d) => assert!(d <= p.max_backoff, "attempt {attempt}: {d:?}"),
                GiveUp => panic!("attempt {attempt} gave up"),
            }
        }
    }

    #[test]
    fn bad_jitter_is_harmless() {
        let p = RetryPolicy::default();
        for jitter in [f64::NAN, f64::INFINITY, -1.0, 7.0] {
            assert!(matches!(
                p.decide(1, status(500), Safe, jitter),
                RetryAfter(_)
            ));
        }
    }

    #[test]
    fn setters_and_problems() {
        let ms = Duration::from_millis;
        let p = RetryPolicy::never()
            .with_max_attempts(3)
            .with_backoff(ms(10), ms(40))
            .with_max_retry_after(ms(500))
            .with_rate_limit_wait(ms(20));
        assert_eq!(
            p,
            RetryPolicy {
                max_attempts: 3,
                initial_backoff: ms(10),
                max_backoff: ms(40),
                rate_limit_wait: ms(20),
                max_retry_after: ms(500),
            }
        );
        let table = [
            (RetryPolicy::default(), None),
            (RetryPolicy::never(), None),
            (
                RetryPolicy::default().with_max_attempts(0),
                Some("max_attempts"),
            ),
            (
                RetryPolicy::default().with_backoff(ms(10), ms(9)),
                Some("max_backoff"),
            ),
            (RetryPolicy::default().with_backoff(ms(10), ms(10)), None),
        ];
        for (policy, expected) in table {
            let got = policy.problem();
            assert_eq!(
                got.map(|m| m.split(' ').next().unwrap()),
                expected,
                "{policy:?}: {got:?}"
            );
        }
    }

    #[test]
    fn never_retries_nothing() {
        assert_eq!(
            RetryPolicy::never().decide(1, status(429), Safe, 0.0),
            GiveUp
        );
    }
}
