//! Shared helpers.

#![allow(dead_code)]

/// A fixture from `tests/fixtures/kommo/`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/kommo/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// A fixture parsed as JSON.
pub fn fixture_json(name: &str) -> serde_json::Value {
    serde_json::from_str(&fixture(name)).expect("fixture is JSON")
}

/// Encodes decoded pairs the way Kommo does.
pub fn form(pairs: &[(&str, &str)]) -> String {
    kommo_client::webhooks::encode::encode_pairs(pairs.iter().copied())
}

#[cfg(feature = "client")]
pub use http::*;

#[cfg(feature = "client")]
mod http {
    use std::time::Duration;

    use kommo_client::{Client, ClientBuilder, RateLimit, RetryPolicy};
    use wiremock::{Match, MockServer, Request};

    pub const TOKEN: &str = "test-long-lived-token";

    /// A builder against the mock server: no rate limit, fast retries.
    pub fn builder(server: &MockServer) -> ClientBuilder {
        Client::builder()
            .base_url(&server.uri())
            .rate_limit(RateLimit::Off)
            .retry_policy(
                RetryPolicy::default()
                    .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
    }

    /// A long-lived-token client against the mock server.
    pub fn client(server: &MockServer) -> Client {
        builder(server)
            .long_lived_token(TOKEN)
            .build()
            .expect("client builds")
    }

    /// Matches when the query has exactly these pairs (order-insensitive, decoded).
    pub struct ExactQuery(pub Vec<(String, String)>);

    impl ExactQuery {
        pub fn new(pairs: &[(&str, &str)]) -> Self {
            Self(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            )
        }
    }

    impl Match for ExactQuery {
        fn matches(&self, request: &Request) -> bool {
            let mut got: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
            let mut want = self.0.clone();
            got.sort();
            want.sort();
            got == want
        }
    }

    /// `Authorization: Bearer <TOKEN>`.
    pub fn bearer() -> wiremock::matchers::HeaderExactMatcher {
        wiremock::matchers::header("authorization", format!("Bearer {TOKEN}").as_str())
    }
}
