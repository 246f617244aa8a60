//! The webhook subscription check: Kommo reports a subscription it disabled
//! (`GET /api/v4/webhooks`, `disabled: true`), and saving it again re-enables it.

use kommo_client::webhook_subscriptions::Subscribe;

use super::status::{Outage, SubscriptionState};
use super::unix_secs;
use crate::runtime::bridge::Bridge;

impl Bridge {
    /// Looks up the subscription whose destination is `url`, saves it again when Kommo
    /// disabled it and `resubscribe` is on, and records what it found. Never fails: a check
    /// that cannot be made (no admin rights, Kommo down) is recorded as unreadable. Returns
    /// the requests it made to Kommo.
    pub(crate) async fn check_subscription(&self, url: &str, resubscribe: bool) -> u64 {
        let kommo = &self.inner.planner.kommo;
        let now = unix_secs(crate::runtime::clock::now());
        let found = match kommo.webhook_subscription(url).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "catch-up: cannot read Kommo's webhook subscriptions");
                self.update_status(|s| {
                    s.subscription = SubscriptionState::Unreadable(e.to_string());
                    s.subscription_checked_at = Some(now);
                });
                return 1;
            }
        };
        let state = match &found {
            Some(sub) if sub.disabled == Some(true) => SubscriptionState::Disabled,
            Some(_) => SubscriptionState::Active,
            None => SubscriptionState::Missing,
        };
        if !state.is_lost() {
            self.update_status(|s| {
                s.subscription = state;
                s.subscription_checked_at = Some(now);
            });
            return 1;
        }
        // The URL holds the path token: it is never logged.
        tracing::error!(
            subscription = state.as_str(),
            "Kommo is not delivering webhooks to this bridge (its subscription is {state}); \
             the changes made meanwhile are recovered from Kommo's events log"
        );
        let mut outage = Outage {
            detected_at: now,
            subscription: state.clone(),
            resubscribed_at: None,
        };
        let mut current = state;
        let mut requests = 1;
        if let (Some(sub), true) = (found, resubscribe) {
            requests += 1;
            let mut again = Subscribe::new(url, sub.settings.clone());
            again.sort = sub.sort;
            match kommo.subscribe_webhook(&again).await {
                Ok(saved) if saved.disabled != Some(true) => {
                    tracing::info!(
                        "saved the webhook subscription again: Kommo delivers to this bridge again"
                    );
                    outage.resubscribed_at = Some(now);
                    current = SubscriptionState::Active;
                }
                Ok(_) => tracing::error!(
                    "saved the webhook subscription again, but Kommo still reports it disabled"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    "could not save the webhook subscription again; re-save it in Kommo's \
                     settings (Settings > Integrations > Web hooks)"
                ),
            }
        }
        self.update_status(|s| {
            if outage.resubscribed_at.is_some() {
                s.resubscribed += 1;
            }
            s.subscription = current;
            s.subscription_checked_at = Some(now);
            s.last_outage = Some(outage);
        });
        requests
    }
}
