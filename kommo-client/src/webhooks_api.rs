//! Webhook subscriptions (`/api/v4/webhooks`, admin only, at most 100 per account).

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, UserId, WebhookId};
use crate::serde_util;
use crate::string_enum::string_enum;

string_enum! {
    /// An event a subscription delivers (`settings[]`). The names of incoming-message and
    /// unsorted events are not documented; use [`WebhookSetting::Other`] for them.
    pub enum WebhookSetting {
        /// Lead added.
        AddLead => "add_lead",
        /// Lead edited.
        UpdateLead => "update_lead",
        /// Lead deleted.
        DeleteLead => "delete_lead",
        /// Lead restored.
        RestoreLead => "restore_lead",
        /// Lead status changed.
        StatusLead => "status_lead",
        /// Lead responsible changed.
        ResponsibleLead => "responsible_lead",
        /// Note added to a lead.
        NoteLead => "note_lead",
        /// Contact added.
        AddContact => "add_contact",
        /// Contact edited.
        UpdateContact => "update_contact",
        /// Contact deleted.
        DeleteContact => "delete_contact",
        /// Contact restored.
        RestoreContact => "restore_contact",
        /// Contact responsible changed.
        ResponsibleContact => "responsible_contact",
        /// Note added to a contact.
        NoteContact => "note_contact",
        /// Company added.
        AddCompany => "add_company",
        /// Company edited.
        UpdateCompany => "update_company",
        /// Company deleted.
        DeleteCompany => "delete_company",
        /// Company restored.
        RestoreCompany => "restore_company",
        /// Company responsible changed.
        ResponsibleCompany => "responsible_company",
        /// Note added to a company.
        NoteCompany => "note_company",
        /// Task added.
        AddTask => "add_task",
        /// Task edited.
        UpdateTask => "update_task",
        /// Task deleted.
        DeleteTask => "delete_task",
        /// Task responsible changed.
        ResponsibleTask => "responsible_task",
        /// Talk added.
        AddTalk => "add_talk",
        /// Talk edited.
        UpdateTalk => "update_talk",
    }
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookSubscription {
    /// The id.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<WebhookId>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<AccountId>,
    /// Who created it.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub created_by: Option<UserId>,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// The delivery order.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub sort: Option<i64>,
    /// Whether Kommo disabled it (after too many failed deliveries).
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub disabled: Option<bool>,
    /// The URL.
    #[serde(default)]
    pub destination: String,
    /// The events.
    #[serde(default, deserialize_with = "serde_util::null_as_default")]
    pub settings: Vec<WebhookSetting>,
}

/// The body of `POST /api/v4/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Subscribe {
    /// The URL to deliver to.
    pub destination: String,
    /// The events.
    pub settings: Vec<WebhookSetting>,
    /// The delivery order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<i64>,
}

impl Subscribe {
    /// A subscription of `destination` to `settings`.
    #[must_use]
    pub fn new(destination: impl Into<String>, settings: Vec<WebhookSetting>) -> Self {
        Self {
            destination: destination.into(),
            settings,
            sort: None,
        }
    }
}

#[cfg(feature = "client")]
pub use api::WebhooksApi;

#[cfg(feature = "client")]
mod api {
    use super::{Subscribe, WebhookSubscription};
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::{Error, RawBody, Result};

    /// Webhook subscriptions. Get it with [`Client::webhooks`].
    #[derive(Debug, Clone)]
    pub struct WebhooksApi {
        pub(crate) client: Client,
    }

    impl WebhooksApi {
        /// `GET /api/v4/webhooks`, optionally only the one for `destination` (exact URL).
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn list(&self, destination: Option<&str>) -> Result<Vec<WebhookSubscription>> {
            let query = destination
                .map(|d| ("filter[destination]".to_owned(), d.to_owned()))
                .into_iter()
                .collect();
            let body: Option<serde_json::Value> =
                self.client.get_json("/api/v4/webhooks", query).await?;
            let Some(value) = body else {
                return Ok(Vec::new());
            };
            let raw = value.to_string();
            Page::<WebhookSubscription>::from_hal(value, "webhooks")
                .map(|p| p.items)
                .map_err(|source| Error::Decode {
                    source,
                    body: RawBody::from_bytes(raw.as_bytes()),
                })
        }

        /// `POST /api/v4/webhooks`. Subscribing the same URL again updates it, so it is
        /// retried on transient errors.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn subscribe(&self, subscription: &Subscribe) -> Result<WebhookSubscription> {
            self.client
                .send_json(
                    reqwest::Method::POST,
                    "/api/v4/webhooks",
                    Vec::new(),
                    Some(subscription),
                    true,
                )
                .await?
                .ok_or_else(|| Error::Decode {
                    source: <serde_json::Error as serde::de::Error>::custom(
                        "empty subscribe response",
                    ),
                    body: RawBody::default(),
                })
        }

        /// `DELETE /api/v4/webhooks` with `{"destination": ...}` in the body.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn unsubscribe(&self, destination: &str) -> Result<()> {
            let body = serde_json::json!({ "destination": destination });
            self.client
                .send_json::<serde_json::Value, _>(
                    reqwest::Method::DELETE,
                    "/api/v4/webhooks",
                    Vec::new(),
                    Some(&body),
                    true,
                )
                .await
                .map(|_| ())
        }
    }
}
