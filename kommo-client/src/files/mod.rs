//! The account's file drive (`{drive_url}/v1.0/files`): uploads, listing, renaming and
//! deleting files; attach them to entities with [`crate::entity_files`].
//!
//! The drive lives on its own host (`drive_url` of `GET /api/v4/account?with=drive_url`, e.g.
//! `https://drive-b.kommo.com`) and takes the account's token. [`Client::files`] accepts only
//! a drive on the account's own domain, so the token never goes anywhere else.
//!
//! [`Client::files`]: crate::Client::files

use serde::{Deserialize, Serialize};

use crate::serde_util;

/// Who made or changed a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriveActor {
    /// The user (or integration) id.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<u64>,
    /// `user`, `integration`, ...
    #[serde(
        rename = "type",
        default,
        deserialize_with = "serde_util::lenient_string"
    )]
    pub actor_type: Option<String>,
}

/// A file in the drive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriveFile {
    /// The file's uuid (what entities reference).
    pub uuid: String,
    /// The current version.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub version_uuid: Option<String>,
    /// The name.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub name: Option<String>,
    /// The size in bytes.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub size: Option<i64>,
    /// `image`, `document`, ...
    #[serde(
        rename = "type",
        default,
        deserialize_with = "serde_util::lenient_string"
    )]
    pub file_type: Option<String>,
    /// The MIME type.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub mime_type: Option<String>,
    /// The extension.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub extension: Option<String>,
    /// Whether it is in the trash.
    #[serde(default, deserialize_with = "serde_util::lenient_bool")]
    pub is_trashed: Option<bool>,
    /// Who uploaded it.
    #[serde(default, deserialize_with = "serde_util::lenient_object")]
    pub created_by: Option<DriveActor>,
    /// Upload time, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub created_at: Option<i64>,
    /// Last change, unix seconds.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub updated_at: Option<i64>,
    /// The HAL links (`download`, `download_version`, `self`), as sent.
    #[serde(rename = "_links", default, skip_serializing_if = "Option::is_none")]
    pub links: Option<serde_json::Value>,
}

/// The answer to `POST /v1.0/sessions`: where to send the parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UploadSession {
    /// The session.
    #[serde(default, deserialize_with = "serde_util::lenient_string")]
    pub session_id: Option<String>,
    /// Where the first part goes.
    pub upload_url: String,
    /// The largest file the drive takes.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub max_file_size: Option<i64>,
    /// The largest part.
    #[serde(default, deserialize_with = "serde_util::lenient_i64")]
    pub max_part_size: Option<i64>,
}

#[cfg(feature = "client")]
pub use api::FilesApi;

#[cfg(feature = "client")]
mod api;
