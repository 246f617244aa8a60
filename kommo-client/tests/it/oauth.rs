//! OAuth: refresh on 401 and on expiry, single flight, persistence before use, revocation,
//! code exchange, and the token stores.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kommo_client::ids::LeadId;
use kommo_client::secrecy::ExposeSecret;
use kommo_client::{
    Auth, Client, Error, FileTokenStore, MemoryTokenStore, OAuthConfig, TokenSet, TokenStore,
};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{builder, fixture};

const SECRET: &str = "client-secret-value";

fn config() -> OAuthConfig {
    OAuthConfig::new(
        "integration-id",
        SECRET,
        "https://app.example/oauth/callback",
    )
}

fn oauth_client(server: &MockServer, store: Arc<dyn TokenStore>) -> Client {
    builder(server)
        .auth(Auth::oauth(config(), store))
        .build()
        .unwrap()
}

fn refresh_body(refresh_token: &str) -> serde_json::Value {
    json!({"client_id": "integration-id", "client_secret": SECRET, "grant_type": "refresh_token",
        "refresh_token": refresh_token, "redirect_uri": "https://app.example/oauth/callback"})
}

fn token_response(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"token_type": "Bearer", "expires_in": 86400,
        "server_time": 1751892369, "access_token": access, "refresh_token": refresh}))
}

async fn lead_ok_with(server: &MockServer, token: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v4/leads/1"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .mount(server)
        .await;
}

async fn lead_401_with(server: &MockServer, token: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v4/leads/1"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"title": "Unauthorized", "status": 401})),
        )
        .mount(server)
        .await;
}

fn far_future() -> Option<u64> {
    Some(u64::MAX / 2)
}

/// The token endpoint: answers `response`, must be called `times` times, and with `body` when
/// one is given.
async fn token_endpoint(
    server: &MockServer,
    body: Option<serde_json::Value>,
    response: ResponseTemplate,
    times: u64,
) {
    let mut mock = Mock::given(method("POST")).and(path("/oauth2/access_token"));
    if let Some(body) = body {
        mock = mock.and(body_json(body));
    }
    mock.respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

/// A store holding the pair `access-1`/`refresh-1`, expiring at `expires_at`.
fn first_pair_store(expires_at: Option<u64>) -> Arc<MemoryTokenStore> {
    Arc::new(MemoryTokenStore::with_tokens(TokenSet::new(
        "access-1",
        Some("refresh-1".into()),
        expires_at,
    )))
}

/// The pair in `store`, which must hold one.
async fn stored(store: &dyn TokenStore) -> TokenSet {
    store.load().await.unwrap().unwrap()
}

/// Answers the lead request only if the rotated pair is already on disk.
struct RequirePersisted(PathBuf);

impl Respond for RequirePersisted {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match std::fs::read_to_string(&self.0) {
            Ok(s) if s.contains("refresh-2") => {
                ResponseTemplate::new(200).set_body_json(json!({"id": 1}))
            }
            _ => {
                ResponseTemplate::new(500).set_body_string("new token used before it was persisted")
            }
        }
    }
}

#[tokio::test]
async fn a_401_refreshes_once_persists_the_rotated_pair_then_retries() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.json");
    let store = Arc::new(FileTokenStore::new(&file));
    store
        .save(&TokenSet::new(
            "access-1",
            Some("refresh-1".into()),
            far_future(),
        ))
        .await
        .unwrap();
    lead_401_with(&server, "access-1").await;
    Mock::given(method("GET"))
        .and(path("/api/v4/leads/1"))
        .and(header("authorization", "Bearer access-2"))
        .respond_with(RequirePersisted(file.clone()))
        .expect(1)
        .mount(&server)
        .await;
    token_endpoint(
        &server,
        Some(refresh_body("refresh-1")),
        token_response("access-2", "refresh-2"),
        1,
    )
    .await;
    let c = oauth_client(&server, store.clone());
    assert_eq!(
        c.leads().get(LeadId(1), &[]).await.unwrap().unwrap().id,
        LeadId(1)
    );
    let saved = store.load().await.unwrap().unwrap();
    assert_eq!(saved.access_token().expose_secret(), "access-2");
    assert_eq!(saved.refresh_token().unwrap().expose_secret(), "refresh-2");
    assert!(saved.expires_at().unwrap() > 1_700_000_000);
    let token_requests: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/oauth2/access_token")
        .collect();
    assert!(
        token_requests[0].headers.get("authorization").is_none(),
        "the token endpoint gets no bearer"
    );
}

#[tokio::test]
async fn a_second_401_after_refresh_is_final() {
    let server = MockServer::start().await;
    lead_401_with(&server, "access-1").await;
    lead_401_with(&server, "access-2").await;
    token_endpoint(&server, None, token_response("access-2", "refresh-2"), 1).await;
    let store = first_pair_store(far_future());
    let err = oauth_client(&server, store)
        .leads()
        .get(LeadId(1), &[])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    let gets = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/api/v4/leads/1")
        .count();
    assert_eq!(gets, 2, "one retry only");
}

#[tokio::test]
async fn concurrent_requests_with_an_expired_token_cause_one_refresh() {
    let server = MockServer::start().await;
    lead_ok_with(&server, "access-2").await;
    token_endpoint(
        &server,
        Some(refresh_body("refresh-1")),
        token_response("access-2", "refresh-2").set_delay(Duration::from_millis(200)),
        1,
    )
    .await;
    let store = first_pair_store(Some(1));
    let c = oauth_client(&server, store.clone());
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.leads().get(LeadId(1), &[]).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap().is_some());
    }
    assert_eq!(
        stored(&*store)
            .await
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "refresh-2"
    );
}

#[tokio::test]
async fn concurrent_401s_cause_one_refresh() {
    let server = MockServer::start().await;
    lead_401_with(&server, "access-1").await;
    lead_ok_with(&server, "access-2").await;
    token_endpoint(
        &server,
        None,
        token_response("access-2", "refresh-2").set_delay(Duration::from_millis(100)),
        1,
    )
    .await;
    let store = first_pair_store(far_future());
    let c = oauth_client(&server, store);
    let leads = c.leads();
    let results = futures_util::future::join_all((0..16).map(|_| leads.get(LeadId(1), &[]))).await;
    assert!(results.into_iter().all(|r| r.unwrap().is_some()));
}

#[tokio::test]
async fn a_refresh_by_another_process_is_picked_up_from_the_store() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/leads/1"))
        .and(header("authorization", "Bearer access-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 1})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    lead_401_with(&server, "access-1").await;
    lead_ok_with(&server, "access-9").await;
    token_endpoint(&server, None, token_response("x", "y"), 0).await;
    let store = first_pair_store(far_future());
    let c = oauth_client(&server, store.clone());
    // The client caches access-1; then "another process" rotates the pair in the store.
    assert!(c.leads().get(LeadId(1), &[]).await.unwrap().is_some());
    store
        .save(&TokenSet::new(
            "access-9",
            Some("refresh-9".into()),
            far_future(),
        ))
        .await
        .unwrap();
    // access-1 now gets 401; the client finds access-9 in the store instead of refreshing.
    assert!(c.leads().get(LeadId(1), &[]).await.unwrap().is_some());
}

#[tokio::test]
async fn a_revoked_refresh_token_is_token_revoked() {
    let server = MockServer::start().await;
    lead_401_with(&server, "access-1").await;
    token_endpoint(
        &server,
        None,
        ResponseTemplate::new(401).set_body_raw(
            fixture("error_401_oauth_refresh_revoked.json").into_bytes(),
            "application/problem+json",
        ),
        1,
    )
    .await;
    let store = first_pair_store(far_future());
    let err = oauth_client(&server, store)
        .leads()
        .get(LeadId(1), &[])
        .await
        .unwrap_err();
    let Error::TokenRevoked(problem) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(problem.hint.as_deref(), Some("Token has been revoked"));
    let printed = format!("{err:?} {err}");
    assert!(
        !printed.contains("refresh-1") && !printed.contains(SECRET),
        "{printed}"
    );
}

#[tokio::test]
async fn exchange_code_saves_the_pair() {
    let server = MockServer::start().await;
    let body = json!({"client_id": "integration-id", "client_secret": SECRET, "grant_type": "authorization_code",
        "code": "def502", "redirect_uri": "https://app.example/oauth/callback"});
    token_endpoint(
        &server,
        Some(body),
        token_response("access-1", "refresh-1"),
        1,
    )
    .await;
    lead_ok_with(&server, "access-1").await;
    let store = Arc::new(MemoryTokenStore::new());
    let c = oauth_client(&server, store.clone());
    assert!(matches!(
        c.leads().get(LeadId(1), &[]).await,
        Err(Error::MissingToken)
    ));
    c.exchange_code("def502").await.unwrap();
    assert_eq!(
        stored(&*store)
            .await
            .refresh_token()
            .unwrap()
            .expose_secret(),
        "refresh-1"
    );
    assert!(c.leads().get(LeadId(1), &[]).await.unwrap().is_some());
    let printed = format!("{c:?}");
    assert!(
        !printed.contains(SECRET) && !printed.contains("access-1"),
        "{printed}"
    );
}

#[tokio::test]
async fn explicit_refresh_rotates_even_when_not_expired() {
    let server = MockServer::start().await;
    token_endpoint(
        &server,
        Some(refresh_body("refresh-1")),
        token_response("access-2", "refresh-2"),
        1,
    )
    .await;
    let store = first_pair_store(far_future());
    let c = oauth_client(&server, store.clone());
    c.refresh_token().await.unwrap();
    assert_eq!(
        stored(&*store).await.access_token().expose_secret(),
        "access-2"
    );
    let long_lived = builder(&server).long_lived_token("t").build().unwrap();
    assert!(matches!(
        long_lived.refresh_token().await,
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn file_store_is_atomic_private_and_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kommo.json");
    let store = FileTokenStore::new(&file);
    assert!(store.load().await.unwrap().is_none());
    store
        .save(&TokenSet::new("a-secret", Some("r-secret".into()), Some(5)))
        .await
        .unwrap();
    store
        .save(&TokenSet::new("b-secret", None, None))
        .await
        .unwrap();
    let loaded = store.load().await.unwrap().unwrap();
    assert_eq!(
        (
            loaded.access_token().expose_secret(),
            loaded.refresh_token().is_none()
        ),
        ("b-secret", true)
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("kommo.json")],
        "no temp files left behind"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(!format!("{store:?} {loaded:?}").contains("b-secret"));
    std::fs::write(&file, "{\"access_token\": \"c-secret\", broken").unwrap();
    let err = store.load().await.unwrap_err();
    assert!(matches!(err, Error::TokenStore(_)));
    assert!(!format!("{err:?} {err}").contains("c-secret"));
}
