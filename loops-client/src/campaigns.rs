//! Campaigns (`/v1/campaigns`): list, create (a draft and its empty email message), get,
//! update (drafts only).
//!
//! A campaign's content lives in its email message: set the subject and LMX with
//! [`EmailMessagesApi::update`](crate::email_messages::EmailMessagesApi::update), passing
//! [`Campaign::email_message_content_revision_id`] from the create as the first
//! `expectedRevisionId`. Updating a campaign that has left `Draft` is refused with
//! [`Error::DraftRequired`](crate::Error::DraftRequired).

use http::Method;
use serde::{Deserialize, Serialize};

use crate::audience_segments::AudienceFilter;
use crate::endpoint::{ApiRequest, Endpoint, get_by_id, id_path};
use crate::json::to_json;
use crate::pagination::{PageRequest, list_request};
use crate::validate::{self, ValidationError};
use crate::wire_enum::wire_enum;

wire_enum! {
    /// Where a campaign is in its life.
    CampaignStatus {
        /// Editable.
        Draft = "Draft",
        /// Waiting for its send time.
        Scheduled = "Scheduled",
        /// Going out.
        Sending = "Sending",
        /// Sent.
        Sent = "Sent",
    }
}

wire_enum! {
    /// When a campaign sends.
    SchedulingMethod {
        /// When it is sent from the dashboard.
        Now = "now",
        /// At [`Scheduling::timestamp`].
        Schedule = "schedule",
    }
}

/// When a campaign sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Scheduling {
    /// `now` or `schedule`.
    pub method: SchedulingMethod,
    /// The send time (ISO 8601) for `schedule`; absent or `null` for `now`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl Scheduling {
    /// Send when sent from the dashboard.
    pub fn now() -> Self {
        Scheduling {
            method: SchedulingMethod::Now,
            timestamp: None,
        }
    }

    /// Send at this ISO 8601 time, which must be in the future.
    pub fn at(timestamp: impl Into<String>) -> Self {
        Scheduling {
            method: SchedulingMethod::Schedule,
            timestamp: Some(timestamp.into()),
        }
    }

    fn check(&self) -> Result<(), ValidationError> {
        if self.method == SchedulingMethod::Schedule
            && self
                .timestamp
                .as_deref()
                .is_none_or(|t| t.trim().is_empty())
        {
            return Err(ValidationError::InvalidValue {
                field: "scheduling.timestamp",
                reason: "a scheduled campaign needs a send time",
            });
        }
        Ok(())
    }
}

/// A campaign.
///
/// Both shapes are read: the current one (`id`, audience and scheduling fields) and the one
/// before JS SDK 7.0 (`campaignId`, `subject`, a top-level `success`); fields one shape lacks
/// are `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Campaign {
    /// Its id.
    #[serde(alias = "campaignId")]
    pub id: String,
    /// Its page in the Loops app.
    #[serde(default)]
    pub url: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// Its status.
    pub status: CampaignStatus,
    /// Its email message (set the subject and LMX there).
    #[serde(default)]
    pub email_message_id: Option<String>,
    /// On a create only: the email message's first `contentRevisionId`, to pass as
    /// `expectedRevisionId` on its first update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_message_content_revision_id: Option<String>,
    /// Its group.
    #[serde(default)]
    pub campaign_group_id: Option<String>,
    /// The mailing list it goes to.
    #[serde(default)]
    pub mailing_list_id: Option<String>,
    /// The segment it goes to.
    #[serde(default)]
    pub audience_segment_id: Option<String>,
    /// An inline audience filter.
    #[serde(default)]
    pub audience_filter: Option<AudienceFilter>,
    /// When it sends.
    #[serde(default)]
    pub scheduling: Option<Scheduling>,
    /// The subject (legacy list shape only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Last change (ISO 8601).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The optional settings a create and an update share. `Some(None)` sends `null`, which
/// clears the setting.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    campaign_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mailing_list_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audience_segment_id: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audience_filter: Option<Option<AudienceFilter>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduling: Option<Scheduling>,
}

impl Settings {
    fn is_empty(&self) -> bool {
        *self == Settings::default()
    }

    fn check(&self) -> Result<(), ValidationError> {
        if let Some(group) = &self.campaign_group_id {
            validate::require_non_empty_any("campaignGroupId", group)?;
        }
        for (field, id) in [
            ("mailingListId", &self.mailing_list_id),
            ("audienceSegmentId", &self.audience_segment_id),
        ] {
            if let Some(Some(id)) = id {
                validate::require_non_empty_any(field, id)?;
            }
        }
        self.scheduling.as_ref().map_or(Ok(()), Scheduling::check)
    }
}

/// The setters both requests share.
macro_rules! settings_setters {
    () => {
        /// Puts the campaign in this group (Loops' default group when never set).
        pub fn campaign_group_id(mut self, id: impl Into<String>) -> Self {
            self.settings.campaign_group_id = Some(id.into());
            self
        }

        /// Sends to this mailing list; `None` clears it.
        pub fn mailing_list_id(mut self, id: Option<&str>) -> Self {
            self.settings.mailing_list_id = Some(id.map(str::to_owned));
            self
        }

        /// Sends to this segment; `None` clears it. Setting a segment without a filter
        /// clears the filter.
        pub fn audience_segment_id(mut self, id: Option<&str>) -> Self {
            self.settings.audience_segment_id = Some(id.map(str::to_owned));
            self
        }

        /// Sends to an inline filter; `None` clears it.
        pub fn audience_filter(mut self, filter: Option<AudienceFilter>) -> Self {
            self.settings.audience_filter = Some(filter);
            self
        }

        /// Sets when it sends.
        pub fn scheduling(mut self, scheduling: Scheduling) -> Self {
            self.settings.scheduling = Some(scheduling);
            self
        }
    };
}

/// Creates a draft campaign with an empty email message (`POST /v1/campaigns`, 201).
///
/// ```
/// use loops_client::campaigns::{CreateCampaignRequest, Scheduling};
///
/// let data = CreateCampaignRequest::new("Spring announcement")
///     .mailing_list_id(Some("list_news"))
///     .audience_segment_id(None)
///     .scheduling(Scheduling::now())
///     .to_api_request()
///     .unwrap();
/// assert_eq!(
///     data.body().unwrap(),
///     br#"{"name":"Spring announcement","mailingListId":"list_news","audienceSegmentId":null,"scheduling":{"method":"now"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateCampaignRequest {
    name: String,
    #[serde(flatten)]
    settings: Settings,
}

impl CreateCampaignRequest {
    /// A draft with this name.
    pub fn new(name: impl Into<String>) -> Self {
        CreateCampaignRequest {
            name: name.into(),
            settings: Settings::default(),
        }
    }

    settings_setters!();

    /// Validates and turns the request into data. Not repeated after an ambiguous failure.
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        validate::require_non_empty_any("name", &self.name)?;
        self.settings.check()?;
        Ok(
            ApiRequest::new(Endpoint::CreateCampaign, Method::POST, "/v1/campaigns")
                .with_json_bytes(to_json(self)),
        )
    }
}

/// Changes a draft campaign (at least one field).
///
/// ```
/// use loops_client::campaigns::{Scheduling, UpdateCampaignRequest};
///
/// let data = UpdateCampaignRequest::new()
///     .scheduling(Scheduling::at("2026-06-22T14:00:00.000Z"))
///     .to_api_request("cmp1")
///     .unwrap();
/// assert_eq!(data.path(), "/v1/campaigns/cmp1");
/// assert!(UpdateCampaignRequest::new().to_api_request("cmp1").is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateCampaignRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(flatten)]
    settings: Settings,
}

impl UpdateCampaignRequest {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        UpdateCampaignRequest::default()
    }

    /// Renames the campaign.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    settings_setters!();

    /// `POST /v1/campaigns/{id}`; safe to repeat (it sets fields).
    pub fn to_api_request(&self, id: &str) -> Result<ApiRequest, ValidationError> {
        if self.name.is_none() && self.settings.is_empty() {
            return Err(ValidationError::EmptyUpdate {
                request: "UpdateCampaignRequest",
            });
        }
        if let Some(name) = &self.name {
            validate::require_non_empty_any("name", name)?;
        }
        self.settings.check()?;
        let path = id_path("/v1/campaigns", "campaignId", id, "")?;
        Ok(
            ApiRequest::new(Endpoint::UpdateCampaign, Method::POST, path)
                .with_json_bytes(to_json(self)),
        )
    }
}

/// One page of campaigns.
pub fn list_campaigns_request(page: &PageRequest) -> Result<ApiRequest, ValidationError> {
    list_request(Endpoint::ListCampaigns, "/v1/campaigns", page)
}

/// One campaign by id.
pub fn get_campaign_request(id: &str) -> Result<ApiRequest, ValidationError> {
    get_by_id(Endpoint::GetCampaign, "/v1/campaigns", "campaignId", id)
}

#[cfg(feature = "client")]
pub use api::CampaignsApi;

#[cfg(feature = "client")]
mod api {
    use super::{
        Campaign, CreateCampaignRequest, UpdateCampaignRequest, get_campaign_request,
        list_campaigns_request,
    };
    use crate::client::Client;
    use crate::pagination::paged_list;

    /// Campaigns. Get it with [`Client::campaigns`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// use loops_client::campaigns::{CreateCampaignRequest, UpdateCampaignRequest};
    /// use loops_client::email_messages::UpdateEmailMessageRequest;
    ///
    /// let campaign = client.campaigns().create(&CreateCampaignRequest::new("Spring news")).await?;
    /// let message_id = campaign.email_message_id.clone().unwrap_or_default();
    /// client
    ///     .email_messages()
    ///     .update(
    ///         &message_id,
    ///         &UpdateEmailMessageRequest::new()
    ///             .expected_revision_id(campaign.email_message_content_revision_id.clone())
    ///             .subject("Big spring updates")
    ///             .lmx("<Paragraph><Text>Hello.</Text></Paragraph>"),
    ///     )
    ///     .await?;
    /// match client.campaigns().update(&campaign.id, &UpdateCampaignRequest::new().name("Spring news v2")).await {
    ///     Err(e) if matches!(e, loops_client::Error::DraftRequired { .. }) => println!("already sent"),
    ///     other => { other?; }
    /// }
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct CampaignsApi {
        pub(crate) client: Client,
    }

    impl CampaignsApi {
        paged_list!(Campaign, list_campaigns_request, "campaigns");

        /// Creates a draft campaign and its empty email message; not retried after an
        /// ambiguous failure. The answer carries `email_message_id` and
        /// `email_message_content_revision_id`.
        pub async fn create(&self, request: &CreateCampaignRequest) -> crate::Result<Campaign> {
            self.client
                .execute(&request.to_api_request()?)
                .await?
                .json()
        }

        /// One campaign by id.
        pub async fn get(&self, id: &str) -> crate::Result<Campaign> {
            self.client
                .execute(&get_campaign_request(id)?)
                .await?
                .json()
        }

        /// Updates a draft campaign; [`Error::DraftRequired`](crate::Error::DraftRequired)
        /// once it has left `Draft`.
        pub async fn update(
            &self,
            id: &str,
            request: &UpdateCampaignRequest,
        ) -> crate::Result<Campaign> {
            self.client
                .execute(&request.to_api_request(id)?)
                .await?
                .json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_campaign_shapes_parse() {
        let current: Campaign = serde_json::from_value(json!({
            "id": "cmp1", "url": "https://app.loops.so/campaigns/cmp1", "name": "Spring",
            "status": "Draft", "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
            "emailMessageId": "em1", "emailMessageContentRevisionId": "rev1",
            "campaignGroupId": null, "mailingListId": "list_news", "audienceSegmentId": null,
            "audienceFilter": {"match": "all", "conditions": []},
            "scheduling": {"method": "now", "timestamp": null}
        }))
        .unwrap();
        assert_eq!(current.status, CampaignStatus::Draft);
        assert_eq!(current.scheduling, Some(Scheduling::now()));
        assert_eq!(
            current.email_message_content_revision_id.as_deref(),
            Some("rev1")
        );
        let legacy: Campaign = serde_json::from_value(json!({
            "success": true, "campaignId": "cmp2", "emailMessageId": null, "name": "Old",
            "subject": "Hi", "status": "Archived", "createdAt": "x", "updatedAt": "y"
        }))
        .unwrap();
        assert_eq!(legacy.id, "cmp2");
        assert_eq!(legacy.status, CampaignStatus::Other("Archived".into()));
        assert_eq!(legacy.subject.as_deref(), Some("Hi"));
    }

    #[test]
    fn campaign_requests() {
        let cases: Vec<(Result<ApiRequest, ValidationError>, &str)> = vec![
            (CreateCampaignRequest::new("").to_api_request(), "name"),
            (
                CreateCampaignRequest::new("x")
                    .scheduling(Scheduling {
                        method: SchedulingMethod::Schedule,
                        timestamp: None,
                    })
                    .to_api_request(),
                "scheduling.timestamp",
            ),
            (
                CreateCampaignRequest::new("x")
                    .mailing_list_id(Some(" "))
                    .to_api_request(),
                "mailingListId",
            ),
            (
                UpdateCampaignRequest::new().to_api_request("c1"),
                "nothing to update",
            ),
            (
                UpdateCampaignRequest::new().name("x").to_api_request(""),
                "campaignId",
            ),
        ];
        for (result, expected) in cases {
            let err = result.unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        let cleared = UpdateCampaignRequest::new()
            .audience_filter(None)
            .mailing_list_id(None)
            .to_api_request("c1")
            .unwrap();
        assert_eq!(
            cleared.body().unwrap(),
            br#"{"mailingListId":null,"audienceFilter":null}"#
        );
        assert_eq!(
            list_campaigns_request(&PageRequest::first(Some(10)))
                .unwrap()
                .path_and_query(),
            "/v1/campaigns?perPage=10"
        );
        assert_eq!(
            get_campaign_request("c1").unwrap().path(),
            "/v1/campaigns/c1"
        );
    }
}
