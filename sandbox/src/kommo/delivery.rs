//! Sending webhooks: a queue per destination, so deliveries to one URL go out one at a time
//! in the order the changes happened (per entity, and overall), without the request that
//! caused them waiting (Kommo does not wait either).
//!
//! Each attempt is recorded with its outcome. A receiver that answers outside 100–299, or not
//! within the timeout (2 s), failed; failed deliveries are retried when the policy says so
//! (off by default), and a subscription with more than 100 failures in two hours is disabled,
//! as Kommo does. Jobs queued before a reset are dropped unsent.

use std::collections::HashMap;
use std::sync::Weak;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant as StdInstant, SystemTime};

use kommo_client::ids::WebhookId;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

use super::Inner;
use super::config::WebhookPolicy;
use super::model::WebhookDelivery;
use crate::records::DeliveryOutcome;

/// How far back failures count towards disabling a subscription.
const FAILURE_WINDOW: Duration = Duration::from_secs(2 * 60 * 60);

/// The `User-Agent` of Kommo's webhook sender.
pub(crate) const USER_AGENT: &str = "amoCRM-Webhooks/3.0";

/// One body to deliver to one URL.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) generation: u64,
    pub(crate) subscription: Option<WebhookId>,
    pub(crate) url: String,
    pub(crate) request_id: String,
    pub(crate) events: Vec<String>,
    pub(crate) body: String,
}

/// The queue's handle inside the sandbox.
#[derive(Debug)]
pub(crate) struct HookQueue {
    tx: mpsc::UnboundedSender<Job>,
    pending: AtomicUsize,
    idle: Notify,
    generation: AtomicU64,
}

impl HookQueue {
    /// A queue and the receiving end for [`run`].
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            HookQueue {
                tx,
                pending: AtomicUsize::new(0),
                idle: Notify::new(),
                generation: AtomicU64::new(0),
            },
            rx,
        )
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Drops every queued job (they are skipped when their turn comes).
    pub(crate) fn next_generation(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn push(&self, job: Job) {
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(job).is_err() {
            self.done();
        }
    }

    fn done(&self) {
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Jobs queued or in flight.
    pub(crate) fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Waits until every queued job was delivered (or given up).
    pub(crate) async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.pending() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The HTTP client webhooks are sent with: Kommo's user agent, no redirects.
pub(crate) fn http_client() -> std::io::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(std::io::Error::other)
}

/// Distributes jobs to one worker per destination URL. Ends when the sandbox is gone.
pub(crate) async fn run(
    mut rx: mpsc::UnboundedReceiver<Job>,
    inner: Weak<Inner>,
    http: reqwest::Client,
    policy: WebhookPolicy,
) {
    let mut workers: HashMap<String, mpsc::UnboundedSender<Job>> = HashMap::new();
    while let Some(job) = rx.recv().await {
        let worker = workers.entry(job.url.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(work(rx, inner.clone(), http.clone(), policy));
            tx
        });
        if worker.send(job).is_err()
            && let Some(inner) = inner.upgrade()
        {
            inner.hooks.done();
        }
    }
}

async fn work(
    mut rx: mpsc::UnboundedReceiver<Job>,
    inner: Weak<Inner>,
    http: reqwest::Client,
    policy: WebhookPolicy,
) {
    while let Some(job) = rx.recv().await {
        deliver_with_retries(&inner, &http, policy, &job).await;
        match inner.upgrade() {
            Some(inner) => inner.hooks.done(),
            None => return,
        }
    }
}

async fn deliver_with_retries(
    inner: &Weak<Inner>,
    http: &reqwest::Client,
    policy: WebhookPolicy,
    job: &Job,
) {
    let attempts = policy.retries.saturating_add(1);
    for attempt in 1..=attempts {
        match inner.upgrade() {
            Some(inner) if inner.job_is_current(job) => {}
            _ => return,
        }
        let (outcome, sent_at, elapsed) =
            post(http, &job.url, &job.request_id, &job.body, policy.timeout).await;
        let acknowledged = acknowledged(&outcome);
        match inner.upgrade() {
            // A reset while the POST was in flight: the fresh state never saw this job.
            Some(inner) if inner.hooks.generation() == job.generation => {
                inner.record_delivery(job, outcome, attempt, false, sent_at, elapsed);
            }
            _ => return,
        }
        if acknowledged {
            return;
        }
        if attempt < attempts {
            let factor = 1u32 << (attempt - 1).min(16);
            tokio::time::sleep(policy.backoff.saturating_mul(factor)).await;
        }
    }
}

/// Whether Kommo would count the answer as a success (100–299).
pub(crate) fn acknowledged(outcome: &DeliveryOutcome) -> bool {
    matches!(outcome, DeliveryOutcome::Status(s) if (100..300).contains(s))
}

/// One POST, as Kommo sends it.
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    request_id: &str,
    body: &str,
    timeout: Duration,
) -> (DeliveryOutcome, SystemTime, Duration) {
    let sent_at = SystemTime::now();
    let started = StdInstant::now();
    let result = http
        .post(url)
        .timeout(timeout)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-amocrm-requestid", request_id)
        .body(body.to_owned())
        .send()
        .await;
    let outcome = match result {
        Ok(response) => DeliveryOutcome::Status(response.status().as_u16()),
        Err(error) if error.is_timeout() => {
            DeliveryOutcome::TransportError(format!("no answer within {timeout:?}"))
        }
        Err(error) => DeliveryOutcome::TransportError(error.without_url().to_string()),
    };
    (outcome, sent_at, started.elapsed())
}

impl Inner {
    /// Whether a queued job should still go out: no reset since, and its subscription still
    /// exists and is enabled.
    pub(crate) fn job_is_current(&self, job: &Job) -> bool {
        if job.generation != self.hooks.generation() {
            return false;
        }
        match job.subscription {
            None => true,
            Some(id) => self
                .lock()
                .subscriptions
                .iter()
                .any(|s| s.id == id && !s.disabled),
        }
    }

    /// Records one attempt; disables the subscription after too many failures.
    pub(crate) fn record_delivery(
        &self,
        job: &Job,
        outcome: DeliveryOutcome,
        attempt: u32,
        redelivery: bool,
        sent_at: SystemTime,
        elapsed: Duration,
    ) -> WebhookDelivery {
        let failed = !acknowledged(&outcome);
        let mut state = self.lock();
        let delivery = WebhookDelivery {
            id: state.next_delivery(),
            subscription: job.subscription,
            url: job.url.clone(),
            request_id: job.request_id.clone(),
            events: job.events.clone(),
            body: job.body.clone(),
            outcome,
            attempt,
            redelivery,
            sent_at,
            elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        state.deliveries.push(delivery.clone());
        if failed
            && let (Some(id), Some(limit)) = (job.subscription, self.config.webhooks.disable_after)
        {
            let now = Instant::now();
            let failures = state.failures.entry(id).or_default();
            failures.push_back(now);
            while failures
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) > FAILURE_WINDOW)
            {
                failures.pop_front();
            }
            if failures.len() > limit as usize
                && let Some(sub) = state.subscriptions.iter_mut().find(|s| s.id == id)
            {
                sub.disabled = true;
            }
        }
        delivery
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgement_range() {
        for (outcome, ok) in [
            (DeliveryOutcome::Status(200), true),
            (DeliveryOutcome::Status(204), true),
            (DeliveryOutcome::Status(100), true),
            (DeliveryOutcome::Status(301), false),
            (DeliveryOutcome::Status(500), false),
            (DeliveryOutcome::TransportError("reset".into()), false),
        ] {
            assert_eq!(acknowledged(&outcome), ok, "{outcome:?}");
        }
    }
}
