//! Errors, limits, blocks, faults and OAuth: what the sandbox answers, and that the client
//! turns each into its typed error or behaviour.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kommo_client::breaker::{BreakerConfig, BreakerState};
use kommo_client::error::Error;
use kommo_client::ids::{LeadId, PipelineId, StatusId, UserId};
use kommo_client::leads::LeadWrite;
use kommo_client::rate_limit::RateLimit;
use kommo_client::retry::RetryPolicy;
use kommo_client::{ApiRequest, Auth, MemoryTokenStore, Method, OAuthConfig, TokenSet, TokenStore};
use kommo_loops_sandbox::InjectedFault;
use kommo_loops_sandbox::kommo::{
    Config, DEFAULT_OAUTH_CLIENT_ID, DEFAULT_OAUTH_CLIENT_SECRET, DEFAULT_OAUTH_REDIRECT_URI,
    NewLead, defaults, saas_onboarding as saas_ids,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::kommo_support::{api, builder, client as client_for, http, json, kommo, saas};

#[tokio::test]
async fn validation_errors_surface_as_typed_errors_and_apply_nothing() {
    let sandbox = kommo(saas()).await;
    let client = client_for(&sandbox);
    let error = client
        .leads()
        .add(vec![
            LeadWrite::new().name("fine"),
            LeadWrite::new()
                .status(saas_ids::PIPELINE_ID, StatusId(999))
                .responsible(UserId(1))
                .request_id("bad"),
        ])
        .await
        .unwrap_err();
    let Error::Validation { problem, errors } = &error else {
        panic!("expected a validation error, got {error:?}");
    };
    assert_eq!(problem.status, 400);
    assert_eq!(problem.detail.as_deref(), Some("Request validation failed"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].request_id.as_deref(), Some("bad"));
    let paths: Vec<&str> = errors[0].errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["responsible_user_id", "status_id"]);
    assert_eq!(errors[0].errors[1].code, "NotSupportedChoice");
    assert!(
        sandbox.leads().is_empty(),
        "a refused batch applies nothing"
    );

    // A status of another pipeline is refused for the pipeline given.
    let error = client
        .leads()
        .add(vec![
            LeadWrite::new().status(PipelineId(999), StatusId::WON),
        ])
        .await
        .unwrap_err();
    assert_eq!(error.validation_errors()[0].errors[0].path, "pipeline_id");

    // The raw answers: problem+json content type, empty batch, too large a batch.
    let response = api(&sandbox, reqwest::Method::POST, "/api/v4/leads")
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body = json(response).await;
    assert_eq!(body["detail"], "Request data can not be empty");
    assert_eq!(body["type"], "https://httpstatus.es/400");
    let too_many: Vec<Value> = (0..251)
        .map(|i| json!({ "name": format!("L{i}") }))
        .collect();
    let error = client
        .raw(
            ApiRequest::raw(Method::POST, "/api/v4/leads")
                .json_body(&too_many)
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(422));
    let error = client
        .raw(
            ApiRequest::raw(Method::PATCH, "/api/v4/leads")
                .json_body(&json!([{ "id": 1, "name": "x" }]))
                .unwrap()
                .safe_to_retry(true),
        )
        .await
        .unwrap_err();
    assert_eq!(error.validation_errors()[0].errors[0].code, "NotFound");
    sandbox.shutdown().await;
}

#[tokio::test]
async fn auth_missing_ids_and_unknown_routes() {
    let sandbox = kommo(saas()).await;
    let wrong = builder(&sandbox)
        .long_lived_token("not-the-token")
        .build()
        .unwrap();
    let error = wrong.account().get(&[]).await.unwrap_err();
    let Error::Unauthorized(problem) = &error else {
        panic!("expected 401, got {error:?}");
    };
    assert_eq!(problem.title.as_deref(), Some("Unauthorized"));
    assert!(problem.is_problem_json());

    let client = client_for(&sandbox);
    assert!(
        client.leads().get(LeadId(42), &[]).await.unwrap().is_none(),
        "204"
    );
    let error = client
        .raw(ApiRequest::raw(Method::GET, "/api/v4/nowhere"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    let error = client
        .leads()
        .update_one(LeadId(42), LeadWrite::new().name("x"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    let error = client
        .raw(ApiRequest::raw(Method::PUT, "/api/v4/leads").safe_to_retry(true))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(405));

    let strict = kommo(saas().missing_entity_status(404)).await;
    let error = client_for(&strict)
        .leads()
        .get(LeadId(42), &[])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NotFound(_)), "{error:?}");
    strict.shutdown().await;

    sandbox.revoke_tokens();
    assert!(matches!(
        client.account().get(&[]).await.unwrap_err(),
        Error::Unauthorized(_)
    ));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn payment_required_rights_and_batch_timeouts() {
    let sandbox = kommo(saas()).await;
    let client = client_for(&sandbox);
    sandbox.set_payment_required(true);
    assert!(matches!(
        client.account().get(&[]).await.unwrap_err(),
        Error::PaymentRequired(_)
    ));
    sandbox.set_payment_required(false);

    // A non-admin token may not list users; that 403 is a rights error, not a block.
    let manager = kommo(saas().api_user(defaults::UI_USER)).await;
    let client_m = client_for(&manager);
    let error = client_m.users().get(defaults::API_USER).await.unwrap_err();
    assert!(matches!(error, Error::Forbidden(_)), "{error:?}");
    assert_eq!(client_m.breaker_state(), BreakerState::Closed);
    assert!(client_m.account().get(&[]).await.is_ok());
    manager.shutdown().await;

    // Big batches time out (504) without being applied; the client halves updates.
    let a = sandbox.seed_lead(NewLead::new("a")).unwrap();
    let b = sandbox.seed_lead(NewLead::new("b")).unwrap();
    sandbox.time_out_batches_over(Some(1));
    let error = client
        .leads()
        .add(vec![LeadWrite::new().name("c"), LeadWrite::new().name("d")])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::GatewayTimeout(_)), "{error:?}");
    assert_eq!(
        sandbox.leads().len(),
        2,
        "a create is not re-sent after a 504"
    );
    let updated = client
        .leads()
        .update(vec![
            LeadWrite::update(a).price(1.0),
            LeadWrite::update(b).price(2.0),
        ])
        .await
        .unwrap();
    assert_eq!(updated.len(), 2);
    assert_eq!(sandbox.lead(b).unwrap().price, 2.0);
    let log = sandbox.request_log();
    assert!(
        log.iter()
            .any(|r| r.fault == Some(InjectedFault::GatewayTimeout))
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_429_retry_after_is_honoured_by_the_client() {
    let sandbox = kommo(saas()).await;
    let client = builder(&sandbox)
        .long_lived_token(sandbox.token())
        .retry_policy(RetryPolicy::default().with_max_attempts(3))
        .build()
        .unwrap();
    sandbox.faults().force_429_next(1);
    let started = Instant::now();
    client.account().get(&[]).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the body's retry_after (1 s)"
    );
    let stats = sandbox.request_stats();
    assert_eq!(stats.with_status(429), 1);
    assert_eq!(stats.with_status(200), 1);

    // A wait longer than the client accepts comes back as RateLimited with the wait.
    let slow = kommo(
        saas()
            .retry_after_seconds(Some(300))
            .retry_after_header(true),
    )
    .await;
    slow.faults().force_429_next(1);
    let error = client_for(&slow).account().get(&[]).await.unwrap_err();
    let Error::RateLimited {
        retry_after,
        problem,
    } = &error
    else {
        panic!("expected 429, got {error:?}");
    };
    assert_eq!(*retry_after, Some(Duration::from_secs(300)));
    assert_eq!(problem.title.as_deref(), Some("Too Many Requests"));
    slow.shutdown().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_refuses_a_burst_but_not_a_client_keeping_to_it() {
    let sandbox = kommo(Config::saas_onboarding()).await;
    let http = http();
    let url = format!("{}/api/v4/account", sandbox.base_url());
    let auth = format!("Bearer {}", sandbox.token());
    let burst = (0..10).map(|_| http.get(&url).header("authorization", &auth).send());
    let answers = futures_util::future::join_all(burst).await;
    let mut statuses: Vec<u16> = Vec::new();
    for answer in answers {
        let answer = answer.unwrap();
        statuses.push(answer.status().as_u16());
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            let body = json(answer).await;
            assert!(body["retry_after"].as_u64().unwrap() >= 1, "{body}");
            assert_eq!(body["status"], 429);
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3);

    // After a second the bucket is full again; a client keeping to 7/s gets no 429.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = sandbox.request_stats().with_status(429);
    let paced = builder(&sandbox)
        .long_lived_token(sandbox.token())
        .rate_limit(RateLimit::KOMMO_DEFAULT)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    for _ in 0..15 {
        paced.account().get(&[]).await.unwrap();
    }
    assert_eq!(sandbox.request_stats().with_status(429), before);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn an_ip_block_opens_the_breaker_and_a_probe_closes_it_after_unblock() {
    let sandbox = kommo(saas()).await;
    let client = builder(&sandbox)
        .long_lived_token(sandbox.token())
        .breaker(
            BreakerConfig::default()
                .with_cool_down(Duration::from_millis(300), Duration::from_secs(2)),
        )
        .build()
        .unwrap();
    client.account().get(&[]).await.unwrap();

    sandbox.block();
    let raw = api(&sandbox, reqwest::Method::GET, "/api/v4/account")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::FORBIDDEN);
    assert!(
        raw.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(raw.text().await.unwrap().contains("403 Forbidden"));
    let unauthenticated = http()
        .get(format!("{}/api/v4/account", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauthenticated.status(),
        StatusCode::FORBIDDEN,
        "every request"
    );

    let error = client.account().get(&[]).await.unwrap_err();
    assert!(error.is_blocked(), "{error:?}");
    assert!(matches!(client.breaker_state(), BreakerState::Open { .. }));
    let seen = sandbox.request_stats().total;
    let error = client.leads().get(LeadId(1), &[]).await.unwrap_err();
    assert!(error.is_blocked());
    assert_eq!(
        sandbox.request_stats().total,
        seen,
        "the client stopped calling"
    );

    sandbox.unblock();
    tokio::time::sleep(Duration::from_millis(350)).await;
    client
        .account()
        .get(&[])
        .await
        .expect("the probe goes through");
    assert_eq!(client.breaker_state(), BreakerState::Closed);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn repeated_429s_lead_to_an_automatic_block() {
    let sandbox = kommo(saas().auto_block(3, Duration::from_secs(10))).await;
    let client = builder(&sandbox)
        .long_lived_token(sandbox.token())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    sandbox.faults().force_429_next(3);
    for _ in 0..3 {
        assert!(matches!(
            client.account().get(&[]).await.unwrap_err(),
            Error::RateLimited { .. }
        ));
    }
    assert!(sandbox.is_blocked());
    let error = client.account().get(&[]).await.unwrap_err();
    assert!(error.is_blocked(), "{error:?}");
    let stats = sandbox.request_stats();
    assert_eq!(stats.with_status(403), 1);
    let log = sandbox.request_log();
    assert_eq!(log.last().unwrap().fault, Some(InjectedFault::Blocked));
    sandbox.unblock();
    client.reset_breaker();
    client.account().get(&[]).await.unwrap();
    sandbox.shutdown().await;
}

#[tokio::test]
async fn server_errors_apply_nothing_and_dropped_connections_apply() {
    let sandbox = kommo(saas().seed(3)).await;
    let once = builder(&sandbox)
        .long_lived_token(sandbox.token())
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    sandbox.faults().fail_next(1);
    let error = once
        .leads()
        .add(vec![LeadWrite::new().name("x")])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Server(_)), "{error:?}");
    assert!(sandbox.leads().is_empty());

    sandbox.faults().drop_next(1);
    let error = once
        .leads()
        .add(vec![LeadWrite::new().name("y")])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(sandbox.leads().len(), 1, "applied, the answer was lost");

    // Reads are retried through 5xx.
    let retrying = client_for(&sandbox);
    sandbox.faults().fail_next(2);
    assert_eq!(
        retrying.account().get(&[]).await.unwrap().subdomain,
        "sandbox"
    );
    assert!(sandbox.request_stats().server_errors() >= 3);

    // Latency is added to API requests only.
    sandbox
        .faults()
        .update(|c| c.latency = Duration::from_millis(150));
    let started = Instant::now();
    retrying.account().get(&[]).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    http()
        .get(format!("{}/leads", sandbox.inspect_url()))
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(150));
    sandbox.shutdown().await;
}

fn oauth_config() -> OAuthConfig {
    OAuthConfig::new(
        DEFAULT_OAUTH_CLIENT_ID,
        DEFAULT_OAUTH_CLIENT_SECRET,
        DEFAULT_OAUTH_REDIRECT_URI,
    )
}

#[tokio::test]
async fn oauth_code_exchange_refresh_on_401_and_a_spent_refresh_token() {
    let sandbox = kommo(saas()).await;
    let store = Arc::new(MemoryTokenStore::new());
    let client = builder(&sandbox)
        .auth(Auth::oauth(oauth_config(), store.clone()))
        .build()
        .unwrap();
    let code = sandbox.issue_authorization_code();
    client.exchange_code(&code).await.unwrap();
    client.account().get(&[]).await.unwrap();
    let first = store.load().await.unwrap().unwrap();
    // The code is single use.
    let error = client.exchange_code(&code).await.unwrap_err();
    assert!(matches!(error, Error::TokenRevoked(_)), "{error:?}");

    // An expired access token: 401, one refresh (rotating the refresh token), retry.
    sandbox.expire_access_tokens();
    client
        .account()
        .get(&[])
        .await
        .expect("the call succeeds after a refresh");
    assert_eq!(
        sandbox
            .request_stats()
            .endpoint_status("GET /api/v4/account", 401),
        1
    );
    let second = store.load().await.unwrap().unwrap();
    use kommo_client::secrecy::ExposeSecret;
    assert_ne!(
        first.refresh_token().unwrap().expose_secret(),
        second.refresh_token().unwrap().expose_secret()
    );
    // Once the new refresh token is used, the first is spent.
    client.refresh_token().await.unwrap();
    let spent = first.refresh_token().unwrap().expose_secret().to_owned();
    let answer = http()
        .post(format!("{}/oauth2/access_token", sandbox.base_url()))
        .json(&json!({
            "client_id": DEFAULT_OAUTH_CLIENT_ID,
            "client_secret": DEFAULT_OAUTH_CLIENT_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": spent,
            "redirect_uri": DEFAULT_OAUTH_REDIRECT_URI,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let body = json(answer).await;
    assert_eq!(body["hint"], "Token has been revoked");
    assert_eq!(
        body["type"],
        "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
    );

    // A client holding only the spent pair gets TokenRevoked.
    let stale = Arc::new(MemoryTokenStore::with_tokens(TokenSet::new(
        "expired-access",
        Some(spent),
        Some(0),
    )));
    let stale_client = builder(&sandbox)
        .auth(Auth::oauth(oauth_config(), stale))
        .build()
        .unwrap();
    let error = stale_client.account().get(&[]).await.unwrap_err();
    assert!(matches!(error, Error::TokenRevoked(_)), "{error:?}");

    // Wrong client credentials.
    let answer = http()
        .post(format!("{}/oauth2/access_token", sandbox.base_url()))
        .json(
            &json!({"client_id": "x", "client_secret": "y", "grant_type": "refresh_token",
                      "refresh_token": "z", "redirect_uri": DEFAULT_OAUTH_REDIRECT_URI}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    sandbox.shutdown().await;
}
