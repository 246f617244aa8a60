//! Recognising the Kommo webhooks the bridge's own writes cause.
//!
//! A tag change through the API makes Kommo send `update` webhooks for that entity, which would
//! run `lead_updated`/`contact_updated` rules again. The write's answer carries the entity's new
//! `updated_at`; a webhook for the same entity with that same `updated_at` is the echo.
//! (Notes and tasks come back as note and task webhooks, which never trigger rules.)
//!
//! The echo can overtake the write's answer: Kommo (or the sandbox) sends the webhook as soon
//! as the change is made, and another worker may plan it before the writing worker has read
//! the answer. So a write is registered as *in flight* before it is sent, and planning an
//! update of an entity with a write in flight waits (bounded) until that write has finished
//! and its `updated_at` is known.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How long an expected echo is remembered; Kommo sends webhooks within seconds.
const REMEMBER: Duration = Duration::from_secs(15 * 60);

type Entity = (&'static str, u64);

#[derive(Debug, Default)]
struct State {
    expected: HashMap<(&'static str, u64, i64), Instant>,
    in_flight: HashMap<Entity, usize>,
}

/// Writes whose webhooks are still expected.
#[derive(Debug, Default)]
pub(crate) struct Echoes {
    state: Mutex<State>,
    settled: Notify,
}

/// A write in flight; dropping it (after [`Echoes::expect`], or on failure) ends it.
#[derive(Debug)]
pub(crate) struct InFlight {
    echoes: Arc<Echoes>,
    entity: Entity,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        {
            let mut state = self.echoes.lock();
            if let Some(count) = state.in_flight.get_mut(&self.entity) {
                *count -= 1;
                if *count == 0 {
                    state.in_flight.remove(&self.entity);
                }
            }
        }
        self.echoes.settled.notify_waiters();
    }
}

fn entity(kind: &str, id: u64) -> Option<Entity> {
    match kind {
        "lead" => Some(("lead", id)),
        "contact" => Some(("contact", id)),
        _ => None,
    }
}

impl Echoes {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a write to `kind` `id` that is about to be sent.
    pub(crate) fn begin(self: &Arc<Self>, kind: &'static str, id: u64) -> InFlight {
        *self.lock().in_flight.entry((kind, id)).or_default() += 1;
        InFlight {
            echoes: Arc::clone(self),
            entity: (kind, id),
        }
    }

    /// Remembers that `kind` `id` was changed by the bridge at `updated_at`.
    pub(crate) fn expect(&self, kind: &'static str, id: u64, updated_at: i64, now: Instant) {
        let mut state = self.lock();
        state
            .expected
            .retain(|_, at| now.duration_since(*at) < REMEMBER);
        state.expected.insert((kind, id, updated_at), now);
    }

    /// Whether a webhook about `kind` `id` at `updated_at` is the echo of a bridge write.
    pub(crate) fn is_echo(&self, kind: &str, id: u64, updated_at: i64) -> bool {
        let Some((kind, id)) = entity(kind, id) else {
            return false;
        };
        self.lock().expected.contains_key(&(kind, id, updated_at))
    }

    /// Waits until no write to `kind` `id` is in flight, for at most `limit`; returns whether
    /// it settled (a write that outlives `limit` has failed or hangs, and its echo, if any,
    /// is then planned as a change).
    pub(crate) async fn settled(&self, kind: &str, id: u64, limit: Duration) -> bool {
        let Some(key) = entity(kind, id) else {
            return true;
        };
        let wait = async {
            loop {
                // Registered before the check, so a write ending in between still wakes us.
                let notified = self.settled.notified();
                if !self.lock().in_flight.contains_key(&key) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
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

    #[tokio::test]
    async fn an_echo_that_overtakes_the_write_waits_for_it() {
        let echoes = Arc::new(Echoes::default());
        let write = echoes.begin("contact", 3);
        let waiter = {
            let echoes = Arc::clone(&echoes);
            tokio::spawn(async move {
                let settled = echoes.settled("contact", 3, Duration::from_secs(5)).await;
                (settled, echoes.is_echo("contact", 3, 42))
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "waits while the write is in flight");
        echoes.expect("contact", 3, 42, crate::runtime::clock::instant());
        drop(write);
        assert_eq!(waiter.await.unwrap(), (true, true));
    }

    #[tokio::test]
    async fn other_entities_and_hung_writes_do_not_block() {
        let echoes = Arc::new(Echoes::default());
        let _write = echoes.begin("lead", 1);
        assert!(echoes.settled("lead", 2, Duration::from_secs(5)).await);
        assert!(echoes.settled("company", 1, Duration::from_secs(5)).await);
        assert!(!echoes.settled("lead", 1, Duration::from_millis(20)).await);
    }
}
