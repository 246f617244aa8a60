//! Short links (`/api/v4/short_links`): Kommo-hosted short URLs tied to a contact, so a click
//! is logged on it (`link_followed` in the events log).

use serde::{Deserialize, Serialize};

use crate::ids::ContactId;
use crate::serde_util;

/// The most links per request.
pub const SHORT_LINKS_MAX: usize = 250;

/// What a short link is tied to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShortLinkMetadata {
    /// `contacts`.
    pub entity_type: String,
    /// The entity.
    #[serde(deserialize_with = "crate::ids::deserialize_u64")]
    pub entity_id: u64,
}

/// A link to shorten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NewShortLink {
    /// The long URL.
    pub url: String,
    /// The contact it is for.
    pub metadata: ShortLinkMetadata,
}

impl NewShortLink {
    /// A short link to `url` for `contact`.
    #[must_use]
    pub fn for_contact(url: impl Into<String>, contact: ContactId) -> Self {
        Self {
            url: url.into(),
            metadata: ShortLinkMetadata {
                entity_type: "contacts".to_owned(),
                entity_id: contact.0,
            },
        }
    }
}

/// A created short link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ShortLink {
    /// The short URL.
    #[serde(default)]
    pub url: String,
    /// What it is tied to.
    #[serde(default, deserialize_with = "serde_util::lenient_object")]
    pub metadata: Option<ShortLinkMetadata>,
    /// The account.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub account_id: Option<crate::ids::AccountId>,
}

#[cfg(feature = "client")]
pub use api::ShortLinksApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;

    use super::{NewShortLink, SHORT_LINKS_MAX, ShortLink};
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::error::{Error, Result};

    /// Short links. Get it with [`Client::short_links`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::ids::ContactId;
    /// use kommo_client::short_links::NewShortLink;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let links = client
    ///     .short_links()
    ///     .add(vec![NewShortLink::for_contact("https://example.com/offer", ContactId(7))])
    ///     .await?;
    /// println!("{}", links[0].url);
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ShortLinksApi {
        pub(crate) client: Client,
    }

    impl ShortLinksApi {
        /// `POST /api/v4/short_links`, at most 250 links.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no link, more than 250, or a URL that is not
        /// `http(s)` (nothing is sent), otherwise any [`Error`] of the request.
        pub async fn add(&self, links: Vec<NewShortLink>) -> Result<Vec<ShortLink>> {
            if links.is_empty() || links.len() > SHORT_LINKS_MAX {
                return Err(Error::invalid_request(
                    "short links are added 1 to 250 at a time",
                ));
            }
            if let Some(bad) = links
                .iter()
                .find(|l| !(l.url.starts_with("https://") || l.url.starts_with("http://")))
            {
                return Err(Error::invalid_request(format!(
                    "not an http(s) URL: {:?}",
                    bad.url
                )));
            }
            let request = ApiRequest::raw(Method::POST, "/api/v4/short_links").json_body(&links)?;
            Ok(self.client.page(request, "short_links").await?.items)
        }
    }
}
