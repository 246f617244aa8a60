//! Where OAuth tokens live between requests and between processes.
//!
//! Kommo's refresh tokens rotate and a spent one is revoked, so the new pair must be durable
//! before it is used: the client calls [`TokenStore::save`] after every refresh and before the
//! new access token goes out. [`FileTokenStore`] writes atomically (temp file in the same
//! directory, fsync, rename, fsync of the directory; mode 0600 on unix), so a crash leaves
//! either the old pair or the new one, never half a file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::auth::TokenSet;
use crate::error::{Error, Result};

/// Persistent storage for an OAuth token pair.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// The stored pair, if any.
    async fn load(&self) -> Result<Option<TokenSet>>;
    /// Replaces the stored pair. Must be durable when it returns.
    async fn save(&self, tokens: &TokenSet) -> Result<()>;
}

/// A process-local store (tests, or when another system persists tokens through a callback).
#[derive(Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<TokenSet>>,
}

impl fmt::Debug for MemoryTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryTokenStore")
    }
}

impl MemoryTokenStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `tokens`.
    #[must_use]
    pub fn with_tokens(tokens: TokenSet) -> Self {
        Self {
            tokens: Mutex::new(Some(tokens)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<TokenSet>> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>> {
        Ok(self.lock().clone())
    }

    async fn save(&self, tokens: &TokenSet) -> Result<()> {
        *self.lock() = Some(tokens.clone());
        Ok(())
    }
}

/// The JSON layout of [`FileTokenStore`].
#[derive(Serialize, Deserialize)]
struct StoredTokens {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<u64>,
}

/// A JSON file holding the token pair, written atomically.
pub struct FileTokenStore {
    path: PathBuf,
}

impl fmt::Debug for FileTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTokenStore")
            .field("path", &self.path)
            .finish()
    }
}

impl FileTokenStore {
    /// A store at `path` (the file need not exist yet; its directory must).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn store_err(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::TokenStore(Box::new(e))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tokens".into());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[async_trait::async_trait]
impl TokenStore for FileTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>> {
        let path = self.path.clone();
        let bytes = tokio::task::spawn_blocking(move || match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
        .map_err(store_err)?
        .map_err(store_err)?;
        let Some(bytes) = bytes else { return Ok(None) };
        // The file holds secrets: report the JSON error position, never the content.
        let stored: StoredTokens = serde_json::from_slice(&bytes).map_err(store_err)?;
        Ok(Some(TokenSet::new(
            stored.access_token,
            stored.refresh_token,
            stored.expires_at,
        )))
    }

    async fn save(&self, tokens: &TokenSet) -> Result<()> {
        let stored = StoredTokens {
            access_token: tokens.access_token().expose_secret().to_owned(),
            refresh_token: tokens.refresh_token().map(|t| t.expose_secret().to_owned()),
            expires_at: tokens.expires_at(),
        };
        let bytes = serde_json::to_vec_pretty(&stored).map_err(store_err)?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(store_err)?
            .map_err(store_err)
    }
}
