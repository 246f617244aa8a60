//! The drive handle.

use futures_util::Stream;
use http::Method;
use serde::Deserialize;
use serde_json::json;
use url::Url;

use super::{DriveFile, UploadSession};
use crate::ApiRequest;
use crate::client::Client;
use crate::common::Page;
use crate::error::{Error, Result};
use crate::pagination::ListQuery;

/// Parts larger than this are never sent, whatever the session allows.
const MAX_PART: usize = 512 * 1024;

/// The drive of the account. Get it with [`Client::files`].
///
/// ```no_run
/// use kommo_client::Client;
/// use kommo_client::common::EntityType;
/// use kommo_client::entity_files::FileRef;
///
/// # async fn run(client: Client) -> kommo_client::Result<()> {
/// let drive = client.files("https://drive-b.kommo.com")?;
/// let file = drive.upload("offer.pdf", "application/pdf", b"%PDF-1.7 ...".to_vec()).await?;
/// client
///     .entity_files()
///     .attach(EntityType::Leads, 152464, vec![FileRef::new(file.uuid)])
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct FilesApi {
    pub(crate) client: Client,
    pub(crate) drive: Url,
}

/// A file uuid goes into a path.
fn uuid(id: &str) -> Result<&str> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        Ok(id)
    } else {
        Err(Error::invalid_request(format!("not a file uuid: {id:?}")))
    }
}

/// The last two labels of a host (`kommo.com` of `drive-b.kommo.com`).
fn domain(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.rsplitn(3, '.').collect();
    (labels.len() >= 2).then(|| format!("{}.{}", labels[1], labels[0]))
}

impl Client {
    /// The account's file drive at `drive_url` (the account's `drive_url`).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a URL that is not on the account's own host or domain (the token
    /// is sent there), or not `https` away from the account's host.
    pub fn files(&self, drive_url: &str) -> Result<FilesApi> {
        let drive =
            Url::parse(drive_url).map_err(|e| Error::Config(format!("not a drive URL: {e}")))?;
        let base = self.base_url();
        let same_host = drive.host_str() == base.host_str() && drive.port() == base.port();
        let same_domain = drive.scheme() == "https"
            && drive.host_str().and_then(domain).is_some()
            && drive.host_str().and_then(domain) == base.host_str().and_then(domain);
        if !(same_host || same_domain) || drive.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "the drive must be on the account's domain, not {:?}",
                drive.host_str().unwrap_or_default()
            )));
        }
        Ok(FilesApi {
            client: self.clone(),
            drive,
        })
    }
}

#[derive(Deserialize)]
struct PartAnswer {
    #[serde(default)]
    next_url: Option<String>,
}

impl FilesApi {
    fn request(&self, method: Method, path: impl Into<String>) -> ApiRequest {
        ApiRequest::raw(method, path).at_origin(self.drive.clone())
    }

    /// One page of the drive's files (`filter[...]` and `order[...]` through the query).
    ///
    /// # Errors
    ///
    /// Any [`Error`] of the request.
    pub async fn list_page(&self, query: ListQuery) -> Result<Page<DriveFile>> {
        let request = self
            .request(Method::GET, "/v1.0/files")
            .queries(query.into_pairs());
        self.client.page(request, "files").await
    }

    /// Every file, following pages.
    pub fn list(&self, query: ListQuery) -> impl Stream<Item = Result<DriveFile>> + Send + 'static {
        let first = self
            .request(Method::GET, "/v1.0/files")
            .queries(query.into_pairs());
        self.client.paginate_request(first, "files")
    }

    /// `GET /v1.0/files/{uuid}`; `None` on 204.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for a uuid that cannot be a path segment, otherwise any
    /// [`Error`] of the request.
    pub async fn get(&self, id: &str) -> Result<Option<DriveFile>> {
        let id = uuid(id)?;
        self.client
            .json(self.request(Method::GET, format!("/v1.0/files/{id}")))
            .await
    }

    /// `PATCH /v1.0/files/{uuid}`: renames a file.
    ///
    /// # Errors
    ///
    /// As [`FilesApi::get`], plus a blank name.
    pub async fn rename(&self, id: &str, name: &str) -> Result<Option<DriveFile>> {
        let id = uuid(id)?;
        crate::crud::required(Some(name), "a file's name")?;
        let request = self
            .request(Method::PATCH, format!("/v1.0/files/{id}"))
            .json_body(&json!({ "name": name }))?
            .safe_to_retry(true);
        self.client.json(request).await
    }

    /// `DELETE /v1.0/files` with the uuids: moves files to the trash.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for no uuid or one that is not a uuid (nothing is sent),
    /// otherwise any [`Error`] of the request.
    pub async fn delete(&self, ids: &[&str]) -> Result<()> {
        if ids.is_empty() {
            return Err(Error::invalid_request("name at least one file"));
        }
        let body = ids
            .iter()
            .map(|id| uuid(id).map(|id| json!({ "uuid": id })))
            .collect::<Result<Vec<_>>>()?;
        let request = self
            .request(Method::DELETE, "/v1.0/files")
            .json_body(&body)?;
        self.client.execute(&request).await.map(drop)
    }

    /// Uploads a file: `POST /v1.0/sessions`, then the bytes in parts of the session's size
    /// (at most 512 KiB) to the URLs the drive gives, as Kommo's PHP library does. The
    /// answer to the last part is the file.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] for an empty file or name, or a file larger than the
    /// session allows (nothing more is sent), [`Error::Decode`] when the drive sends an
    /// upload URL on another host, otherwise any [`Error`] of the requests.
    pub async fn upload(
        &self,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<DriveFile> {
        crate::crud::required(Some(file_name), "a file's name")?;
        if bytes.is_empty() {
            return Err(Error::invalid_request("an empty file cannot be uploaded"));
        }
        let body = json!({
            "file_name": file_name,
            "file_size": bytes.len(),
            "content_type": content_type,
        });
        let session: UploadSession = self
            .client
            .json(
                self.request(Method::POST, "/v1.0/sessions")
                    .json_body(&body)?,
            )
            .await?
            .ok_or_else(|| Error::unexpected_body("empty answer to an upload session", b""))?;
        if session
            .max_file_size
            .is_some_and(|max| i64::try_from(bytes.len()).is_ok_and(|n| n > max))
        {
            return Err(Error::invalid_request(format!(
                "the file is larger than the drive takes ({} bytes)",
                session.max_file_size.unwrap_or_default()
            )));
        }
        let part = session
            .max_part_size
            .and_then(|p| usize::try_from(p).ok())
            .filter(|p| *p > 0)
            .map_or(MAX_PART, |p| p.min(MAX_PART));
        let mut next = session.upload_url;
        let mut chunks = bytes.chunks(part).peekable();
        while let Some(chunk) = chunks.next() {
            let url = Url::parse(&next)
                .ok()
                .filter(|u| u.host_str() == self.drive.host_str() && u.port() == self.drive.port())
                .ok_or_else(|| {
                    Error::unexpected_body("an upload URL off the drive", next.as_bytes())
                })?;
            let request = ApiRequest::raw(Method::POST, url.path())
                .at_origin(self.drive.clone())
                .queries(url.query_pairs().into_owned())
                .bytes_body(chunk.to_vec(), content_type);
            let response = self.client.execute(&request).await?;
            if chunks.peek().is_none() {
                return response
                    .json()?
                    .ok_or_else(|| Error::unexpected_body("empty answer to the last part", b""));
            }
            let answer: Option<PartAnswer> = response.json()?;
            next = answer.and_then(|a| a.next_url).ok_or_else(|| {
                Error::unexpected_body("no next_url before the last part", &response.body)
            })?;
        }
        Err(Error::invalid_request("an empty file cannot be uploaded"))
    }
}
