//! Files attached to entities (`/api/v4/{entity}/{id}/files`). The files themselves live in
//! Kommo's drive (the account's `drive_url`); an entity holds references by `file_uuid`.

use serde::{Deserialize, Serialize};

use crate::serde_util;

/// A file attached to an entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EntityFile {
    /// The file in the drive.
    pub file_uuid: String,
    /// The attachment's id.
    #[serde(default, deserialize_with = "serde_util::lenient_opt")]
    pub id: Option<u64>,
}

/// A file reference in an attach or detach request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FileRef {
    /// The file in the drive.
    pub file_uuid: String,
}

impl FileRef {
    /// A file by its drive UUID.
    #[must_use]
    pub fn new(file_uuid: impl Into<String>) -> Self {
        Self {
            file_uuid: file_uuid.into(),
        }
    }
}

#[cfg(feature = "client")]
pub use api::EntityFilesApi;

#[cfg(feature = "client")]
mod api {
    use http::Method;

    use super::{EntityFile, FileRef};
    use crate::ApiRequest;
    use crate::client::Client;
    use crate::common::{EntityType, Page};
    use crate::error::{Error, Result};
    use crate::pagination::ListQuery;

    /// Files on entities. Get it with [`Client::entity_files`].
    ///
    /// ```no_run
    /// use kommo_client::Client;
    /// use kommo_client::common::EntityType;
    /// use kommo_client::entity_files::FileRef;
    ///
    /// # async fn run(client: Client) -> kommo_client::Result<()> {
    /// let uuid = "a1b2c3d4-0000-4000-8000-000000000001";
    /// client.entity_files().attach(EntityType::Leads, 152464, vec![FileRef::new(uuid)]).await?;
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct EntityFilesApi {
        pub(crate) client: Client,
    }

    fn path(entity: EntityType, id: u64) -> String {
        format!("/api/v4/{}/{id}/files", entity.as_str())
    }

    fn non_empty(files: &[FileRef]) -> Result<()> {
        if files.is_empty() || files.iter().any(|f| f.file_uuid.trim().is_empty()) {
            return Err(Error::invalid_request("name at least one file by its uuid"));
        }
        Ok(())
    }

    impl EntityFilesApi {
        /// One page of the files on an entity.
        ///
        /// # Errors
        ///
        /// Any [`Error`] of the request.
        pub async fn list_page(
            &self,
            entity: EntityType,
            id: u64,
            query: ListQuery,
        ) -> Result<Page<EntityFile>> {
            self.client
                .list_page(path(entity, id), query, "files")
                .await
        }

        /// `PUT /api/v4/{entity}/{id}/files`: attaches drive files (attaching twice is
        /// harmless, so it is retried).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidRequest`] for no file or a blank uuid (nothing is sent), otherwise
        /// any [`Error`] of the request.
        pub async fn attach(
            &self,
            entity: EntityType,
            id: u64,
            files: Vec<FileRef>,
        ) -> Result<Vec<EntityFile>> {
            non_empty(&files)?;
            let request = ApiRequest::raw(Method::PUT, path(entity, id))
                .json_body(&files)?
                .safe_to_retry(true);
            Ok(self.client.page(request, "files").await?.items)
        }

        /// `DELETE /api/v4/{entity}/{id}/files` with the files to detach.
        ///
        /// # Errors
        ///
        /// As [`EntityFilesApi::attach`].
        pub async fn detach(&self, entity: EntityType, id: u64, files: Vec<FileRef>) -> Result<()> {
            non_empty(&files)?;
            self.client.delete(path(entity, id), Some(&files)).await
        }
    }
}
