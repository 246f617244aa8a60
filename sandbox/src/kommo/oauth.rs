//! OAuth 2.0: `POST /oauth2/access_token` with the `authorization_code` and `refresh_token`
//! grants, and the tokens it issues.
//!
//! As Kommo documents: access tokens live 24 hours (configurable), refresh tokens rotate on
//! every refresh, and an old refresh token stays usable until its successor is used (so a
//! refresh whose answer was lost can be repeated). A spent refresh token gets 401
//! `{"hint": "Token has been revoked", ...}` in the `OAuthProblemJson` shape. Authorization
//! codes are single-use and expire after 20 minutes. Times are on tokio's clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Inner;
use super::request::ApiError;
use super::state;

/// How long an authorization code may be exchanged.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(20 * 60);

const OAUTH_TYPE: &str = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson";
const OAUTH_TITLE: &str = "Некорректный запрос";
const OAUTH_DETAIL: &str = "В запросе отсутствует ряд параметров или параметры невалидны";

/// A token pair, as `/oauth2/access_token` answers it.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TokenPair {
    /// `Bearer`.
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// The access token.
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("expires_in", &self.expires_in)
            .field("access_token", &"[redacted]")
            .field("refresh_token", &"[redacted]")
            .finish()
    }
}

#[derive(Debug, Clone, Default)]
struct RefreshToken {
    spent: bool,
    /// The token this one replaced; spent when this one is used.
    parent: Option<String>,
    /// The token issued when this one was last used.
    successor: Option<String>,
}

/// The tokens the sandbox issued.
#[derive(Debug, Default)]
pub(crate) struct OAuthStore {
    codes: HashMap<String, Instant>,
    access: HashMap<String, Instant>,
    refresh: HashMap<String, RefreshToken>,
    /// The long-lived token was revoked ([`Sandbox::revoke_tokens`](crate::kommo::Sandbox::revoke_tokens)).
    pub(crate) long_lived_revoked: bool,
}

impl OAuthStore {
    /// Whether `token` is a live access token.
    pub(crate) fn access_valid(&self, token: &str, now: Instant) -> bool {
        self.access.get(token).is_some_and(|until| *until > now)
    }

    /// Revokes every token: the long-lived one, access and refresh tokens.
    pub(crate) fn revoke_all(&mut self) {
        self.long_lived_revoked = true;
        self.access.clear();
        for token in self.refresh.values_mut() {
            token.spent = true;
        }
    }

    /// Expires every access token now (refresh tokens stay usable).
    pub(crate) fn expire_access(&mut self) {
        self.access.clear();
    }
}

impl state::State {
    /// A new authorization code, valid for 20 minutes.
    pub(crate) fn issue_code(&mut self) -> String {
        let code = self.token("def50200");
        self.oauth
            .codes
            .insert(code.clone(), Instant::now() + CODE_TTL);
        code
    }

    /// A new token pair; `parent` is the refresh token it replaces.
    pub(crate) fn issue_tokens(&mut self, ttl: Duration, parent: Option<String>) -> TokenPair {
        let access = self.token("sandbox_at_");
        let refresh = self.token("sandbox_rt_");
        self.oauth
            .access
            .insert(access.clone(), Instant::now() + ttl);
        self.oauth.refresh.insert(
            refresh.clone(),
            RefreshToken {
                parent,
                ..RefreshToken::default()
            },
        );
        TokenPair {
            token_type: "Bearer".to_owned(),
            expires_in: ttl.as_secs(),
            access_token: access,
            refresh_token: refresh,
        }
    }

    /// Uses a refresh token: a new pair, or the hint of the 401.
    fn use_refresh(
        &mut self,
        token: &str,
        ttl: Duration,
        grace: bool,
    ) -> Result<TokenPair, &'static str> {
        let record = match self.oauth.refresh.get(token) {
            None => return Err("Cannot decrypt the refresh token"),
            Some(r) if r.spent => return Err("Token has been revoked"),
            Some(r) => r.clone(),
        };
        let pair = self.issue_tokens(ttl, Some(token.to_owned()));
        // Using this token proves its predecessor's answer arrived: the predecessor is spent.
        if let Some(parent) = &record.parent
            && let Some(p) = self.oauth.refresh.get_mut(parent)
        {
            p.spent = true;
        }
        if let Some(previous) = &record.successor
            && let Some(s) = self.oauth.refresh.get_mut(previous)
        {
            // An unused successor is replaced by the new one.
            s.spent = true;
        }
        if let Some(r) = self.oauth.refresh.get_mut(token) {
            if grace {
                r.successor = Some(pair.refresh_token.clone());
            } else {
                r.spent = true;
            }
        }
        Ok(pair)
    }
}

fn oauth_error(status: StatusCode, hint: &str) -> ApiError {
    let mut error = ApiError::new(status, OAUTH_DETAIL);
    error.body.insert("title".into(), json!(OAUTH_TITLE));
    error.body.insert("type".into(), json!(OAUTH_TYPE));
    error.with("hint", json!(hint))
}

/// The grant: a JSON body (as Kommo documents) or a form body.
fn grant_fields(body: &[u8]) -> Map<String, Value> {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) {
        return object;
    }
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// `POST /oauth2/access_token`.
pub(crate) async fn access_token(State(app): State<Arc<Inner>>, body: Bytes) -> Response {
    match exchange(&app, &body) {
        Ok(pair) => {
            let mut value = serde_json::to_value(&pair).unwrap_or(Value::Null);
            if let Value::Object(object) = &mut value {
                object.insert("server_time".into(), json!(app.lock().now()));
            }
            (StatusCode::OK, axum::Json(value)).into_response()
        }
        Err(error) => error.into_response(),
    }
}

fn exchange(app: &Inner, body: &[u8]) -> Result<TokenPair, ApiError> {
    let fields = grant_fields(body);
    let text = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or_default();
    let oauth = &app.config.oauth;
    if text("client_id") != oauth.client_id || text("client_secret") != oauth.client_secret {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "Client authentication failed",
        ));
    }
    if text("redirect_uri") != oauth.redirect_uri {
        return Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "Redirect URI does not match the integration's",
        ));
    }
    let ttl = app.config.access_token_ttl;
    let mut state = app.lock();
    match text("grant_type") {
        "authorization_code" => {
            let code = text("code");
            match state.oauth.codes.remove(code) {
                Some(until) if until > Instant::now() => Ok(state.issue_tokens(ttl, None)),
                Some(_) => Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "Authorization code has expired",
                )),
                None => Err(oauth_error(
                    StatusCode::BAD_REQUEST,
                    "Authorization code has been revoked",
                )),
            }
        }
        "refresh_token" => state
            .use_refresh(text("refresh_token"), ttl, app.config.refresh_grace)
            .map_err(|hint| oauth_error(StatusCode::UNAUTHORIZED, hint)),
        _ => Err(oauth_error(
            StatusCode::BAD_REQUEST,
            "The authorization grant type is not supported by the authorization server.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kommo::config::Config;

    #[test]
    fn refresh_tokens_rotate_with_grace() {
        let mut state = state::State::new(&Config::default());
        let ttl = Duration::from_secs(60);
        let first = state.issue_tokens(ttl, None);
        let second = state.use_refresh(&first.refresh_token, ttl, true).unwrap();
        // The answer was "lost": the old token still works, and replaces the unused successor.
        let again = state.use_refresh(&first.refresh_token, ttl, true).unwrap();
        assert_eq!(
            state.use_refresh(&second.refresh_token, ttl, true),
            Err("Token has been revoked")
        );
        // Using the newest successor spends the old token for good.
        let third = state.use_refresh(&again.refresh_token, ttl, true).unwrap();
        assert_eq!(
            state.use_refresh(&first.refresh_token, ttl, true),
            Err("Token has been revoked")
        );
        assert!(
            state
                .oauth
                .access_valid(&third.access_token, Instant::now())
        );
        assert_eq!(
            state.use_refresh("nope", ttl, true),
            Err("Cannot decrypt the refresh token")
        );
    }

    #[test]
    fn strict_refresh_tokens_are_single_use() {
        let mut state = state::State::new(&Config::default());
        let ttl = Duration::from_secs(60);
        let first = state.issue_tokens(ttl, None);
        state.use_refresh(&first.refresh_token, ttl, false).unwrap();
        assert!(state.use_refresh(&first.refresh_token, ttl, false).is_err());
        state.oauth.revoke_all();
        assert!(
            !state
                .oauth
                .access_valid(&first.access_token, Instant::now())
        );
        assert!(format!("{first:?}").contains("redacted"));
    }
}
