//! The client-side rate limiter, shared by clones and adjusted from `x-ratelimit-limit`.

use std::time::{Duration, Instant};

use loops_client::{Client, RateLimit};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{KEY, fast_retries};

fn paced(server: &MockServer, rate: RateLimit) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(format!("{}/api", server.uri()))
        .retry_policy(fast_retries())
        .rate_limit(rate)
        .build()
        .unwrap()
}

#[tokio::test]
async fn clones_share_one_pace() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let client = paced(&server, RateLimit::Fixed(20.0));
    let start = Instant::now();
    let calls = (0..6).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.mailing_lists().list().await })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // Six calls at 20/s: the last one waits at least 5 × 50 ms.
    assert!(
        start.elapsed() >= Duration::from_millis(240),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn the_reported_limit_is_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit", "25")
                .insert_header("x-ratelimit-remaining", "24")
                .set_body_json(json!([])),
        )
        .mount(&server)
        .await;
    let auto = paced(&server, RateLimit::Auto);
    assert_eq!(auto.current_rate_limit(), Some(10.0));
    auto.mailing_lists().list().await.unwrap();
    assert_eq!(auto.current_rate_limit(), Some(25.0));

    let fixed = paced(&server, RateLimit::Fixed(5.0));
    fixed.mailing_lists().list().await.unwrap();
    assert_eq!(
        fixed.current_rate_limit(),
        Some(5.0),
        "a fixed ceiling is never raised"
    );

    let off = paced(&server, RateLimit::Off);
    off.mailing_lists().list().await.unwrap();
    assert_eq!(off.current_rate_limit(), None);
    assert_eq!(off.last_rate_limit().unwrap().remaining, Some(24));
}
