//! Uploads (`/v1/uploads`): image assets for LMX (`<Image src="..." />`).
//!
//! An upload takes three requests: create a slot (`POST /v1/uploads` with the content type
//! and length), `PUT` the bytes to the slot's presigned URL with the same `Content-Type` and
//! `Content-Length`, and complete it (`POST /v1/uploads/{id}/complete`), which answers with
//! the public URL. [`UploadsApi::upload`] does all three in one call. The `PUT` goes to the
//! storage host, never with the API key.
//!
//! Loops accepts at most 4,000,000 bytes per file (checked here before anything is sent)
//! and 50 uploads per team in 24 hours ([`Error::QuotaExceeded`](crate::Error::QuotaExceeded)
//! past that). It documents `image/jpeg`, `image/png`, `image/gif` and `image/webp`; other
//! types are left to Loops to refuse (the error then lists the supported ones in
//! [`ApiErrorBody::supported_content_types`](crate::error::ApiErrorBody::supported_content_types)).

use std::fmt;

use http::Method;
use serde::{Deserialize, Serialize};

use crate::endpoint::{ApiRequest, Endpoint, id_path};
use crate::json::to_json;
use crate::validate::{self, MAX_UPLOAD_BYTES, ValidationError};

/// The image types Loops documents for uploads.
pub const DOCUMENTED_CONTENT_TYPES: [&str; 4] =
    ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// Asks for an upload slot (`POST /v1/uploads`).
///
/// ```
/// use loops_client::uploads::CreateUploadRequest;
///
/// let data = CreateUploadRequest::new("image/png", 102_400).to_api_request().unwrap();
/// assert_eq!(data.body().unwrap(), br#"{"contentType":"image/png","contentLength":102400}"#);
/// assert!(CreateUploadRequest::new("image/png", 4_000_001).to_api_request().is_err());
/// assert!(CreateUploadRequest::new("", 10).to_api_request().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUploadRequest {
    content_type: String,
    content_length: u64,
}

impl CreateUploadRequest {
    /// A slot for `content_length` bytes of `content_type` (e.g. `image/png`).
    pub fn new(content_type: impl Into<String>, content_length: u64) -> Self {
        CreateUploadRequest {
            content_type: content_type.into(),
            content_length,
        }
    }

    /// The content type the `PUT` must send.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The length the `PUT` must send.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// Validates and turns the request into data. Not repeated after an ambiguous failure
    /// (each slot counts towards the daily cap).
    pub fn to_api_request(&self) -> Result<ApiRequest, ValidationError> {
        check_content_type(&self.content_type)?;
        if self.content_length == 0 {
            return Err(ValidationError::InvalidValue {
                field: "contentLength",
                reason: "an upload needs at least one byte",
            });
        }
        let length = usize::try_from(self.content_length).unwrap_or(usize::MAX);
        validate::check_bytes("contentLength", length, MAX_UPLOAD_BYTES)?;
        Ok(
            ApiRequest::new(Endpoint::CreateUpload, Method::POST, "/v1/uploads")
                .with_json_bytes(to_json(self)),
        )
    }
}

/// A MIME type with a type and a subtype, nothing that cannot go in a header.
fn check_content_type(content_type: &str) -> Result<(), ValidationError> {
    validate::require_non_empty_any("contentType", content_type)?;
    let shaped = content_type
        .split_once('/')
        .is_some_and(|(kind, sub)| !kind.is_empty() && !sub.is_empty() && !sub.contains('/'));
    let printable = content_type
        .bytes()
        .all(|b| b.is_ascii_graphic() || b == b' ');
    if shaped && printable {
        Ok(())
    } else {
        Err(ValidationError::InvalidValue {
            field: "contentType",
            reason: "a MIME type such as image/png",
        })
    }
}

/// An upload slot: where to `PUT` the bytes.
///
/// The presigned URL carries a signature that grants the upload; `Debug` shows it without its
/// query string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UploadSlot {
    /// The asset id, to complete the upload with.
    pub email_asset_id: String,
    /// The URL to `PUT` the bytes to.
    pub presigned_url: String,
}

impl fmt::Debug for UploadSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = match self.presigned_url.split_once('?') {
            Some((base, _)) => format!("{base}?[signature redacted]"),
            None => self.presigned_url.clone(),
        };
        f.debug_struct("UploadSlot")
            .field("email_asset_id", &self.email_asset_id)
            .field("presigned_url", &shown)
            .finish()
    }
}

/// A completed upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CompletedUpload {
    /// The asset id.
    pub email_asset_id: String,
    /// Its public URL, for `<Image src="..." />`.
    pub final_url: String,
}

/// Completes an upload after the `PUT` (`POST /v1/uploads/{id}/complete`). Safe to repeat;
/// a 425 ("not yet visible in storage, retry shortly") is retried.
pub fn complete_upload_request(email_asset_id: &str) -> Result<ApiRequest, ValidationError> {
    let path = id_path("/v1/uploads", "emailAssetId", email_asset_id, "/complete")?;
    Ok(ApiRequest::new(
        Endpoint::CompleteUpload,
        Method::POST,
        path,
    ))
}

#[cfg(feature = "client")]
pub use api::UploadsApi;

#[cfg(feature = "client")]
mod api {
    use super::{CompletedUpload, CreateUploadRequest, UploadSlot, complete_upload_request};
    use crate::client::Client;
    use crate::endpoint::Endpoint;
    use crate::error::Error;

    /// Uploads. Get it with [`Client::uploads`].
    ///
    /// ```no_run
    /// # async fn run(client: loops_client::Client) -> loops_client::Result<()> {
    /// let png = std::fs::read("hero.png").unwrap_or_default();
    /// let uploaded = client.uploads().upload("image/png", png).await?;
    /// let lmx = format!(r#"<Image src="{}" alt="Our new look" />"#, uploaded.final_url);
    /// # let _ = lmx; Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct UploadsApi {
        pub(crate) client: Client,
    }

    impl UploadsApi {
        /// Creates a slot, `PUT`s the bytes to it with the same content type and length
        /// (without the API key), and completes it: one call for what takes three requests.
        ///
        /// The size (at most 4,000,000 bytes, at least one) and the content type are checked
        /// before anything is sent. When the `PUT` or the completion fails, the slot stays
        /// unused and still counts towards the daily cap; the error says which step failed
        /// by its endpoint ([`Endpoint::PutUpload`], [`Endpoint::CompleteUpload`]).
        pub async fn upload(
            &self,
            content_type: &str,
            bytes: impl Into<Vec<u8>>,
        ) -> crate::Result<CompletedUpload> {
            let bytes = bytes.into();
            let request = CreateUploadRequest::new(content_type, bytes.len() as u64);
            let slot = self.create(&request).await?;
            self.put(&slot, content_type, bytes).await?;
            self.complete(&slot.email_asset_id).await
        }

        /// Asks for a slot (`POST /v1/uploads`).
        pub async fn create(&self, request: &CreateUploadRequest) -> crate::Result<UploadSlot> {
            self.client
                .execute(&request.to_api_request()?)
                .await?
                .json()
        }

        /// `PUT`s the bytes to the slot's presigned URL, with `content_type` and the bytes'
        /// length, and without the API key. Retried like a read: it writes the same object.
        pub async fn put(
            &self,
            slot: &UploadSlot,
            content_type: &str,
            bytes: Vec<u8>,
        ) -> crate::Result<()> {
            super::check_content_type(content_type)?;
            let url = url::Url::parse(&slot.presigned_url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| Error::Decode {
                    endpoint: Endpoint::CreateUpload,
                    status: 200,
                    message: "presignedUrl is not an absolute http(s) URL".into(),
                    raw_body: String::new(),
                })?;
            self.client.put_presigned(url, content_type, bytes).await
        }

        /// Completes an upload (`POST /v1/uploads/{id}/complete`) and answers with its
        /// public URL.
        pub async fn complete(&self, email_asset_id: &str) -> crate::Result<CompletedUpload> {
            self.client
                .execute(&complete_upload_request(email_asset_id)?)
                .await?
                .json()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_and_sizes() {
        let table: &[(&str, u64, bool)] = &[
            ("image/png", 1, true),
            ("image/webp", 4_000_000, true),
            ("image/svg+xml", 10, true),
            ("image/png", 0, false),
            ("image/png", 4_000_001, false),
            ("png", 10, false),
            ("image/", 10, false),
            ("/png", 10, false),
            ("image/png/x", 10, false),
            ("image/png\n", 10, false),
        ];
        for (content_type, length, ok) in table {
            let result = CreateUploadRequest::new(*content_type, *length).to_api_request();
            assert_eq!(result.is_ok(), *ok, "{content_type:?} {length}: {result:?}");
        }
    }

    #[test]
    fn slots_hide_their_signature() {
        let slot: UploadSlot = serde_json::from_str(
            r#"{"success":true,"emailAssetId":"ea1","presignedUrl":"https://bucket.example/ea1?X-Amz-Signature=s3cr3t"}"#,
        )
        .unwrap();
        let shown = format!("{slot:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("https://bucket.example/ea1"), "{shown}");
        assert_eq!(
            complete_upload_request("ea1").unwrap().path(),
            "/v1/uploads/ea1/complete"
        );
    }
}
