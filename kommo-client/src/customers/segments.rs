//! Customer segments (`/api/v4/customers/segments`): groups of customers in segments mode.

use serde::{Deserialize, Serialize};

use crate::field_values::{CustomFields, FieldValueUpdate};
use crate::ids::SegmentId;
use crate::serde_util;

/// A segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Segment {
    /// The id.
    pub id: SegmentId,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The color.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub color: Option<String>,
    /// How many customers it holds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub customers_count: Option<i64>,
    /// The segment's own field values (segments have custom fields too).
    #[serde(default)]
    pub custom_fields_values: CustomFields,
    /// Creation time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
}

/// A segment to add, or (with `id`) to change.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[non_exhaustive]
pub struct SegmentWrite {
    /// The segment to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<SegmentId>,
    /// The name (required to add).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The color (required to add), e.g. `ae003f`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Field values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub custom_fields_values: Vec<FieldValueUpdate>,
}

impl SegmentWrite {
    /// A new segment.
    #[must_use]
    pub fn new(name: impl Into<String>, color: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            color: Some(color.into()),
            ..Self::default()
        }
    }
}

#[cfg(feature = "client")]
pub use api::SegmentsApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;

    use super::{Segment, SegmentWrite};
    use crate::client::Client;
    use crate::crud;
    use crate::error::{Error, Result};
    use crate::ids::SegmentId;

    /// Customer segments. Get it with [`Client::customer_segments`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::customers::segments::SegmentWrite;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let vip = client.customer_segments().add(&SegmentWrite::new("VIP", "ae003f")).await?;
    /// # let _ = vip; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct SegmentsApi {
        pub(crate) client: Client,
    }

    impl SegmentsApi {
        fn path(&self) -> String {
            "/api/v4/customers/segments".to_owned()
        }

        /// `POST /api/v4/customers/segments` (one segment per request).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] without a name or color (nothing is sent), otherwise any
        /// [`Error`] of the request.
        pub async fn add(&self, segment: &SegmentWrite) -> Result<Segment> {
            crud::required(segment.name.as_deref(), "a segment's name")?;
            crud::required(segment.color.as_deref(), "a segment's color")?;
            self.client
                .send_json(Method::POST, self.path(), segment, false)
                .await?
                .ok_or_else(|| Error::unexpected_body("empty answer to a segment add", b""))
        }
    }

    crud::list_calls!(SegmentsApi, Segment, "segments", "the segments");
    crud::get_call!(SegmentsApi, Segment, SegmentId, "the segments");
    crud::update_one_call!(SegmentsApi, SegmentWrite, SegmentId, "the segments");
    crud::delete_call!(SegmentsApi, SegmentId, "the segments");
}
