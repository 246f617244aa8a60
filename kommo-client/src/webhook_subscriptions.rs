//! Webhook subscriptions (`/api/v4/webhooks`, admin only, at most 100 per account): which
//! URLs Kommo posts events to. What it then posts is parsed by [`crate::webhooks`].

use serde::{Deserialize, Serialize};

use crate::ids::{AccountId, UserId, WebhookId};
use crate::serde_util;
use crate::string_enum::string_enum;

string_enum! {
    strict
    /// An event a subscription delivers (`settings[]`).
    ///
    /// Kommo accepts any name in a subscription and then never delivers an event for a name
    /// it does not know, so a misspelt setting fails in silence. Parsing is therefore strict:
    /// [`FromStr`](std::str::FromStr) refuses a name this crate does not know (with a hint
    /// for the bridge's rule event names, `lead_status` → `status_lead`). A setting Kommo
    /// added after this crate was written is built on purpose with [`WebhookSetting::other`].
    /// Reading subscriptions back from Kommo keeps unknown names in `Other`.
    ///
    /// ```
    /// use kommo_client::webhook_subscriptions::WebhookSetting;
    ///
    /// assert_eq!("status_lead".parse::<WebhookSetting>(), Ok(WebhookSetting::StatusLead));
    /// let err = "lead_status".parse::<WebhookSetting>().unwrap_err();
    /// assert!(err.to_string().contains("did you mean \"status_lead\""), "{err}");
    /// // The names of incoming-message and unsorted events are not documented.
    /// let message = WebhookSetting::other("add_message");
    /// assert_eq!(message.as_str(), "add_message");
    /// assert_eq!(WebhookSetting::other("add_lead"), WebhookSetting::AddLead);
    /// ```
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

impl WebhookSetting {
    /// A setting by its wire name, known or not: the explicit way to subscribe to an event
    /// this crate does not list (a known name gives its own variant).
    #[must_use]
    pub fn other(name: impl AsRef<str>) -> Self {
        Self::from_wire(name.as_ref())
    }

    /// Every setting this crate knows, in the order Kommo's settings page lists them.
    #[must_use]
    pub fn known() -> &'static [WebhookSetting] {
        use WebhookSetting::*;
        &[
            AddLead,
            UpdateLead,
            DeleteLead,
            RestoreLead,
            StatusLead,
            ResponsibleLead,
            NoteLead,
            AddContact,
            UpdateContact,
            DeleteContact,
            RestoreContact,
            ResponsibleContact,
            NoteContact,
            AddCompany,
            UpdateCompany,
            DeleteCompany,
            RestoreCompany,
            ResponsibleCompany,
            NoteCompany,
            AddTask,
            UpdateTask,
            DeleteTask,
            ResponsibleTask,
            AddTalk,
            UpdateTalk,
        ]
    }
}

impl std::str::FromStr for WebhookSetting {
    type Err = UnknownWebhookSetting;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match Self::from_wire(s) {
            WebhookSetting::Other(name) => Err(UnknownWebhookSetting { name }),
            known => Ok(known),
        }
    }
}

/// A webhook setting name this crate does not know, refused by
/// `str::parse::<WebhookSetting>()`. Use [`WebhookSetting::other`] to send it anyway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownWebhookSetting {
    /// The name as given.
    pub name: String,
}

impl std::fmt::Display for UnknownWebhookSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown Kommo webhook setting {:?}", self.name)?;
        // `lead_status` is what the bridge's rules call `status_lead`: the words swapped.
        let swapped = self
            .name
            .split_once('_')
            .map(|(a, b)| format!("{b}_{a}"))
            .filter(|s| WebhookSetting::known().iter().any(|k| k.as_str() == s));
        match swapped {
            Some(hint) => write!(f, " (did you mean {hint:?}?)"),
            None => f.write_str(
                " (Kommo would accept it and never deliver anything; use \
                 WebhookSetting::other for a setting this crate does not list)",
            ),
        }
    }
}

impl std::error::Error for UnknownWebhookSetting {}

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
pub use api::WebhookSubscriptionsApi;

#[cfg(feature = "client")]
mod api {
    use futures_util::Stream;
    use http::Method;
    use serde_json::json;

    use super::{Subscribe, WebhookSubscription};
    use crate::client::Client;
    use crate::common::Page;
    use crate::error::{Error, Result};
    use crate::pagination::ListQuery;
    use crate::raw::ApiRequest;

    const PATH: &str = "/api/v4/webhooks";

    /// Webhook subscriptions. Get it with [`Client::webhook_subscriptions`].
    ///
    /// ```no_run
    /// use futures_util::TryStreamExt;
    /// use kommo_client::Client;
    /// use kommo_client::pagination::ListQuery;
    /// use kommo_client::webhook_subscriptions::{Subscribe, WebhookSetting};
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let url = "https://hooks.example/kommo/7f3a";
    /// let subscriptions = client.webhook_subscriptions();
    /// subscriptions
    ///     .subscribe(&Subscribe::new(url, vec![WebhookSetting::StatusLead]))
    ///     .await?;
    /// let mine: Vec<_> = subscriptions
    ///     .list(ListQuery::new().filter("destination", url))
    ///     .try_collect()
    ///     .await?;
    /// subscriptions.unsubscribe(url).await?;
    /// # let _ = mine; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct WebhookSubscriptionsApi {
        pub(crate) client: Client,
    }

    impl WebhookSubscriptionsApi {
        /// `GET /api/v4/webhooks` (one page holds them all: an account has at most 100).
        /// `ListQuery::new().filter("destination", url)` keeps the one for that exact URL.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn list_page(&self, query: ListQuery) -> Result<Page<WebhookSubscription>> {
            self.client.list_page(PATH, query, "webhooks").await
        }

        /// Every subscription, as a stream like every other list.
        pub fn list(
            &self,
            query: ListQuery,
        ) -> impl Stream<Item = Result<WebhookSubscription>> + Send + 'static {
            self.client.paginate(PATH, query, "webhooks")
        }

        /// `POST /api/v4/webhooks`. Subscribing the same URL again updates it, so it is
        /// retried on transient errors.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request; an empty answer is [`Error::Decode`].
        pub async fn subscribe(&self, subscription: &Subscribe) -> Result<WebhookSubscription> {
            let request = ApiRequest::raw(Method::POST, PATH)
                .json_body(subscription)?
                .safe_to_retry(true);
            self.client
                .json(request)
                .await?
                .ok_or_else(|| Error::unexpected_body("empty subscribe response", b""))
        }

        /// `DELETE /api/v4/webhooks` with `{"destination": ...}` in the body.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn unsubscribe(&self, destination: &str) -> Result<()> {
            let request = ApiRequest::raw(Method::DELETE, PATH)
                .json_body(&json!({ "destination": destination }))?
                .safe_to_retry(true);
            self.client.raw(request).await.map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_settings_round_trip_and_unknown_ones_are_refused() {
        for setting in WebhookSetting::known() {
            assert_eq!(
                setting.as_str().parse::<WebhookSetting>().as_ref(),
                Ok(setting)
            );
            assert_eq!(&WebhookSetting::other(setting.as_str()), setting);
        }
        // The bridge's rule event names, the trap this guards against: each has a hint.
        for (rule_name, setting) in [
            ("lead_status", "status_lead"),
            ("lead_added", ""),
            ("lead_updated", ""),
            ("contact_deleted", ""),
            ("lead_responsible", "responsible_lead"),
        ] {
            let err = rule_name.parse::<WebhookSetting>().unwrap_err();
            assert_eq!(err.name, rule_name);
            let shown = err.to_string();
            if setting.is_empty() {
                assert!(shown.contains("WebhookSetting::other"), "{shown}");
            } else {
                assert!(
                    shown.contains(&format!("did you mean {setting:?}")),
                    "{shown}"
                );
            }
        }
        // Read back from Kommo, an unknown name is kept rather than refused.
        let read: Vec<WebhookSetting> =
            serde_json::from_str(r#"["add_lead", "add_message"]"#).unwrap();
        assert_eq!(
            read,
            [
                WebhookSetting::AddLead,
                WebhookSetting::Other("add_message".into())
            ]
        );
    }
}
