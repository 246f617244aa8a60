//! Authentication: long-lived tokens and OAuth 2.0 (authorization code and refresh), with a
//! single-flight refresh.
//!
//! Kommo rotates refresh tokens, and reusing a spent one revokes access. So:
//! - only one refresh runs at a time per client (a tokio mutex); a caller that waited for it
//!   first checks whether the token it saw fail was already replaced, by another task or
//!   another process (the store is re-read), and uses the new one instead of refreshing again;
//! - the new pair is saved to the [`TokenStore`] before it is used;
//! - a 401 on an OAuth request causes at most one refresh and one retry; a long-lived token is
//!   never refreshed and its 401 is final.
//!
//! Expiry is a pure decision ([`needs_refresh`]) on times passed in.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::{Error, RawBody, Result};
use crate::raw::ApiRequest;
use crate::token_store::TokenStore;

/// An OAuth token pair. `Debug` never shows the tokens.
#[derive(Clone)]
pub struct TokenSet {
    access_token: SecretString,
    refresh_token: Option<SecretString>,
    expires_at: Option<u64>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl TokenSet {
    /// A pair; `expires_at` is unix seconds.
    #[must_use]
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_at: Option<u64>,
    ) -> Self {
        Self {
            access_token: SecretString::from(access_token.into()),
            refresh_token: refresh_token.map(SecretString::from),
            expires_at,
        }
    }

    /// The access token.
    #[must_use]
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// The refresh token.
    #[must_use]
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// When the access token expires, unix seconds.
    #[must_use]
    pub fn expires_at(&self) -> Option<u64> {
        self.expires_at
    }
}

/// Whether a token expiring at `expires_at` must be refreshed at `now` (both unix seconds),
/// keeping `margin` seconds of safety. Unknown expiry never forces a refresh (the 401 path
/// handles it).
#[must_use]
pub fn needs_refresh(expires_at: Option<u64>, now: u64, margin: u64) -> bool {
    expires_at.is_some_and(|exp| now.saturating_add(margin) >= exp)
}

/// OAuth integration credentials. `Debug` never shows the secret.
#[derive(Clone)]
pub struct OAuthConfig {
    /// The integration id.
    pub client_id: String,
    client_secret: SecretString,
    /// The redirect URI, exactly as configured in the integration.
    pub redirect_uri: String,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

impl OAuthConfig {
    /// Integration credentials.
    #[must_use]
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            redirect_uri: redirect_uri.into(),
        }
    }
}

/// How the client authenticates.
#[derive(Clone)]
#[non_exhaustive]
pub enum Auth {
    /// A long-lived token of a private integration: never refreshed; 401 is final.
    LongLived(SecretString),
    /// OAuth 2.0 with tokens in a store, refreshed when expired or on 401.
    OAuth {
        /// The integration credentials.
        config: OAuthConfig,
        /// Where the token pair lives.
        store: Arc<dyn TokenStore>,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::LongLived(_) => f.write_str("LongLived([redacted])"),
            Auth::OAuth { config, store } => f
                .debug_struct("OAuth")
                .field("config", config)
                .field("store", store)
                .finish(),
        }
    }
}

impl Auth {
    /// A long-lived token.
    #[must_use]
    pub fn long_lived(token: impl Into<String>) -> Self {
        Auth::LongLived(SecretString::from(token.into()))
    }

    /// OAuth with a token store.
    #[must_use]
    pub fn oauth(config: OAuthConfig, store: Arc<dyn TokenStore>) -> Self {
        Auth::OAuth { config, store }
    }
}

pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The token endpoint's success body.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "crate::serde_util::lenient_i64")]
    expires_in: Option<i64>,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    grant_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    redirect_uri: &'a str,
}

pub(crate) struct OAuthState {
    config: OAuthConfig,
    store: Arc<dyn TokenStore>,
    cache: Mutex<Option<TokenSet>>,
    refresh_lock: tokio::sync::Mutex<()>,
    margin: Duration,
}

pub(crate) enum AuthState {
    LongLived(SecretString),
    OAuth(Box<OAuthState>),
}

impl fmt::Debug for AuthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthState::LongLived(_) => f.write_str("LongLived([redacted])"),
            AuthState::OAuth(s) => f
                .debug_struct("OAuth")
                .field("config", &s.config)
                .field("store", &s.store)
                .finish(),
        }
    }
}

fn same_secret(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

impl AuthState {
    pub(crate) fn new(auth: Auth, margin: Duration) -> Self {
        match auth {
            Auth::LongLived(t) => AuthState::LongLived(t),
            Auth::OAuth { config, store } => AuthState::OAuth(Box::new(OAuthState {
                config,
                store,
                cache: Mutex::new(None),
                refresh_lock: tokio::sync::Mutex::new(()),
                margin,
            })),
        }
    }

    pub(crate) fn is_oauth(&self) -> bool {
        matches!(self, AuthState::OAuth(_))
    }
}

impl OAuthState {
    fn cached(&self) -> Option<TokenSet> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_cache(&self, tokens: TokenSet) {
        *self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tokens);
    }

    fn expired(&self, tokens: &TokenSet) -> bool {
        needs_refresh(tokens.expires_at, now_unix(), self.margin.as_secs())
    }

    async fn current(&self) -> Result<TokenSet> {
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        let loaded = self.store.load().await?.ok_or(Error::MissingToken)?;
        self.set_cache(loaded.clone());
        Ok(loaded)
    }
}

impl Client {
    /// The bearer token for the next request, refreshing first if it has expired.
    pub(crate) async fn bearer(&self) -> Result<SecretString> {
        match &self.inner.auth {
            AuthState::LongLived(t) => Ok(t.clone()),
            AuthState::OAuth(state) => {
                let tokens = state.current().await?;
                if state.expired(&tokens) {
                    return Ok(self
                        .refresh_replacing(tokens.access_token())
                        .await?
                        .access_token);
                }
                Ok(tokens.access_token)
            }
        }
    }

    /// Refreshes the pair unless the token `stale` was already replaced (single flight).
    pub(crate) async fn refresh_replacing(&self, stale: &SecretString) -> Result<TokenSet> {
        let AuthState::OAuth(state) = &self.inner.auth else {
            return Err(Error::config("long-lived tokens cannot be refreshed"));
        };
        let _guard = state.refresh_lock.lock().await;
        if let Some(c) = state.cached()
            && !same_secret(c.access_token(), stale)
            && !state.expired(&c)
        {
            return Ok(c);
        }
        // Another process sharing the store may have refreshed already.
        let stored = state.store.load().await?;
        if let Some(s) = &stored
            && !same_secret(s.access_token(), stale)
            && !state.expired(s)
        {
            state.set_cache(s.clone());
            return Ok(s.clone());
        }
        let current = stored
            .or_else(|| state.cached())
            .ok_or(Error::MissingToken)?;
        let refresh = current.refresh_token().ok_or(Error::MissingToken)?.clone();
        let grant = TokenRequest {
            client_id: &state.config.client_id,
            client_secret: state.config.client_secret.expose_secret(),
            grant_type: "refresh_token",
            code: None,
            refresh_token: Some(refresh.expose_secret()),
            redirect_uri: &state.config.redirect_uri,
        };
        let mut fresh = Box::pin(self.token_request(&grant)).await?;
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = Some(refresh);
        }
        // Persist before use: the old refresh token dies when the new one is first used.
        state.store.save(&fresh).await?;
        state.set_cache(fresh.clone());
        Ok(fresh)
    }

    /// Exchanges an authorization code (valid 20 minutes) for a token pair, saves it to the
    /// store and starts using it.
    ///
    /// # Errors
    ///
    /// [`Error::TokenRevoked`] when Kommo refuses the code, [`Error::Config`] for a client
    /// without OAuth, or any request or store error.
    pub async fn exchange_code(&self, code: &str) -> Result<()> {
        let AuthState::OAuth(state) = &self.inner.auth else {
            return Err(Error::config("exchange_code needs an OAuth client"));
        };
        let _guard = state.refresh_lock.lock().await;
        let grant = TokenRequest {
            client_id: &state.config.client_id,
            client_secret: state.config.client_secret.expose_secret(),
            grant_type: "authorization_code",
            code: Some(code),
            refresh_token: None,
            redirect_uri: &state.config.redirect_uri,
        };
        let tokens = self.token_request(&grant).await?;
        state.store.save(&tokens).await?;
        state.set_cache(tokens);
        Ok(())
    }

    /// Refreshes the token pair now (e.g. a keep-alive job: an unused refresh token expires
    /// after 3 months).
    ///
    /// # Errors
    ///
    /// As [`Client::exchange_code`].
    pub async fn refresh_token(&self) -> Result<()> {
        let AuthState::OAuth(state) = &self.inner.auth else {
            return Err(Error::config("long-lived tokens cannot be refreshed"));
        };
        let current = state.current().await?;
        // Mark the current token stale so the single-flight check does not skip the refresh.
        self.refresh_replacing(current.access_token()).await?;
        Ok(())
    }

    async fn token_request(&self, grant: &TokenRequest<'_>) -> Result<TokenSet> {
        let mut request = ApiRequest::raw(http::Method::POST, "/oauth2/access_token")
            .json_body(grant)?
            // A network failure during refresh is safe to repeat: the old refresh token stays
            // valid until the new one is used.
            .safe_to_retry(true);
        request.authenticated = false;
        let response = match self.execute(&request).await {
            Ok(r) => r,
            Err(Error::Unauthorized(p) | Error::BadRequest(p) | Error::Forbidden(p))
                if p.is_problem_json() =>
            {
                return Err(Error::TokenRevoked(p));
            }
            Err(Error::Validation { problem, .. }) => return Err(Error::TokenRevoked(problem)),
            Err(e) => return Err(e),
        };
        // The body holds the tokens: never keep it in an error.
        let parsed: TokenResponse =
            serde_json::from_slice(&response.body).map_err(|source| Error::Decode {
                source,
                body: RawBody::default(),
            })?;
        let expires_at = parsed
            .expires_in
            .and_then(|s| u64::try_from(s).ok())
            .map(|s| now_unix().saturating_add(s));
        Ok(TokenSet::new(
            parsed.access_token,
            parsed.refresh_token,
            expires_at,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_decision_table() {
        // (expires_at, now, margin, expected)
        let table = [
            (None, 1_000, 60, false),
            (Some(2_000), 1_000, 60, false),
            (Some(2_000), 1_940, 60, true),
            (Some(2_000), 1_939, 60, false),
            (Some(2_000), 2_500, 0, true),
            (Some(0), u64::MAX, 60, true),
        ];
        for (i, (exp, now, margin, want)) in table.into_iter().enumerate() {
            assert_eq!(needs_refresh(exp, now, margin), want, "row {i}");
        }
    }

    #[test]
    fn debug_never_shows_secrets() {
        let t = TokenSet::new("ACCESS-SECRET", Some("REFRESH-SECRET".into()), Some(1));
        let c = OAuthConfig::new("client", "CLIENT-SECRET", "https://r");
        let a = Auth::long_lived("LONG-SECRET");
        let all = format!("{t:?} {c:?} {a:?}");
        for secret in [
            "ACCESS-SECRET",
            "REFRESH-SECRET",
            "CLIENT-SECRET",
            "LONG-SECRET",
        ] {
            assert!(!all.contains(secret), "{all}");
        }
    }
}
