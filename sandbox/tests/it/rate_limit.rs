//! The rate limit: headers on every answer, 429 without effect, and a pacing client under it.

use std::time::Duration;

use futures_util::future::join_all;
use kommo_loops_sandbox::InjectedFault;
use kommo_loops_sandbox::loops::Config;
use loops_client::RateLimit;
use loops_client::events::SendEventRequest;
use reqwest::Method;
use serde_json::json;

use crate::support::{api, client_with, fast_retries, http, json, sandbox};

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_burst_gets_429_with_headers_and_no_effect() {
    let sandbox = sandbox(Config::default().rate_limit(Some(5))).await;
    // One client, all requests at once: the burst must beat the refill (5 tokens/second).
    let http = http();
    let url = format!("{}/v1/events/send", sandbox.base_url());
    let burst = (0..12).map(|i| {
        http.post(&url)
            .bearer_auth(sandbox.api_key())
            .json(&json!({"email": format!("u{i}@example.com"), "eventName": "burst"}))
            .send()
    });
    let mut ok = 0;
    let mut limited = 0;
    for response in join_all(burst).await {
        let response = response.unwrap();
        assert_eq!(header(&response, "x-ratelimit-limit").as_deref(), Some("5"));
        let remaining: u32 = header(&response, "x-ratelimit-remaining")
            .unwrap()
            .parse()
            .unwrap();
        match response.status().as_u16() {
            200 => {
                ok += 1;
                assert!(remaining < 5);
            }
            429 => {
                limited += 1;
                assert_eq!(remaining, 0);
                assert!(header(&response, "retry-after").is_none(), "off by default");
                assert_eq!(
                    json(response).await,
                    json!({"success": false, "message": "Rate limit exceeded"})
                );
            }
            other => panic!("unexpected {other}"),
        }
    }
    // A token or two may come back while the burst runs on a slow machine.
    assert!((5..=7).contains(&ok), "{ok} accepted");
    assert!(limited >= 5, "{limited} refused");
    assert_eq!(ok + limited, 12);
    assert_eq!(sandbox.events().len(), ok, "a 429 applies nothing");
    assert_eq!(sandbox.contacts().len(), ok);
    assert_eq!(sandbox.request_stats().with_status(429), limited as u64);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn retry_after_is_optional() {
    let sandbox = sandbox(
        Config::default()
            .rate_limit(Some(1))
            .retry_after_header(true),
    )
    .await;
    let first = api(&sandbox, Method::GET, "/v1/api-key")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = api(&sandbox, Method::GET, "/v1/api-key")
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 429);
    assert_eq!(header(&second, "retry-after").as_deref(), Some("1"));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn the_client_pacing_stays_under_the_limit() {
    let sandbox = sandbox(Config::default()).await;
    let client = client_with(&sandbox, fast_retries(4), RateLimit::Auto);
    let sends = (0..20).map(|i| {
        let client = client.clone();
        async move {
            client
                .events()
                .send(&SendEventRequest::by_email(
                    format!("p{i}@example.com"),
                    "paced",
                ))
                .await
        }
    });
    for result in join_all(sends).await {
        assert_eq!(result.unwrap().attempts, 1);
    }
    let stats = sandbox.request_stats();
    assert_eq!(stats.with_status(429), 0, "no 429 storm: {stats:?}");
    assert_eq!(stats.requests_to("POST /v1/events/send"), 20, "no retries");
    assert_eq!(sandbox.events().len(), 20);
    assert_eq!(client.last_rate_limit().unwrap().limit, Some(10));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn forced_429s_are_retried_and_applied_once() {
    let sandbox = sandbox(Config::default()).await;
    let client = client_with(&sandbox, fast_retries(4), RateLimit::Off);
    sandbox.faults().force_429_next(2);
    let receipt = client
        .events()
        .send(&SendEventRequest::by_email("ada@example.com", "forced"))
        .await
        .unwrap();
    assert_eq!(receipt.attempts, 3);
    assert_eq!(sandbox.events().len(), 1);
    let log = sandbox.request_log();
    let faults: Vec<_> = log.iter().map(|r| (r.status, r.fault)).collect();
    assert_eq!(
        faults,
        [
            (429, Some(InjectedFault::Forced429)),
            (429, Some(InjectedFault::Forced429)),
            (200, None)
        ]
    );
    // Every attempt carried the same key.
    assert!(
        log.iter()
            .all(|r| r.idempotency_key == log[0].idempotency_key)
    );

    // With every request refused, the client gives up with RateLimited.
    sandbox
        .faults()
        .set(kommo_loops_sandbox::FaultConfig::none().force_429_rate(1.0));
    let err = client
        .events()
        .send(&SendEventRequest::by_email("ada@example.com", "never"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, loops_client::Error::RateLimited { .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(429));
    assert_eq!(sandbox.events().len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn only_authenticated_api_calls_use_tokens() {
    let sandbox = sandbox(Config::default().rate_limit(Some(2))).await;
    // One client, so the whole sequence takes milliseconds and the refill (2/s) cannot hide
    // a token spent by mistake.
    let http = http();
    let url = format!("{}/v1/api-key", sandbox.base_url());
    for _ in 0..5 {
        let response = http.get(&url).bearer_auth("wrong").send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(header(&response, "x-ratelimit-limit").as_deref(), Some("2"));
        assert_eq!(
            header(&response, "x-ratelimit-remaining").as_deref(),
            Some("2")
        );
    }
    for _ in 0..10 {
        let response = http
            .get(format!("{}/requests", sandbox.inspect_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(header(&response, "x-ratelimit-limit").is_none());
    }
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = http
            .get(&url)
            .bearer_auth(sandbox.api_key())
            .send()
            .await
            .unwrap();
        remaining.push((
            response.status().as_u16(),
            header(&response, "x-ratelimit-remaining"),
        ));
    }
    assert_eq!(
        remaining,
        [
            (200, Some("1".to_owned())),
            (200, Some("0".to_owned())),
            (429, Some("0".to_owned()))
        ]
    );
    // The bucket refills at the configured rate.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let response = http
        .get(&url)
        .bearer_auth(sandbox.api_key())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn unlimited_sends_no_rate_headers() {
    let sandbox = sandbox(Config::default().rate_limit(None)).await;
    let responses = join_all((0..30).map(|_| api(&sandbox, Method::GET, "/v1/lists").send())).await;
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        assert!(header(&response, "x-ratelimit-limit").is_none());
    }
    sandbox.shutdown().await;
}
