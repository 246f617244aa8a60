//! The API key and webhook secrets never show in Debug, Display or errors.

use loops_client::events::SendEventRequest;
use loops_client::webhooks::{WebhookHeaders, WebhookVerifier};
use loops_client::{Client, Error};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{KEY, client};

fn assert_hidden(text: &str) {
    assert!(!text.contains(KEY), "the API key leaked into: {text}");
    assert!(
        !text.contains("0123456789"),
        "part of the API key leaked into: {text}"
    );
}

#[tokio::test]
async fn the_api_key_stays_out_of_debug_display_and_errors() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "Invalid API key"})),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    assert_hidden(&format!("{client:?}"));
    assert_hidden(&format!("{:?}", Client::builder().api_key(KEY)));

    let errors: Vec<Error> = vec![
        client.api_key().test().await.unwrap_err(),
        client
            .events()
            .send(&SendEventRequest::by_email("a@b.c", "e"))
            .await
            .unwrap_err(),
        Client::builder()
            .api_key(KEY)
            .base_url("nope")
            .build()
            .unwrap_err(),
    ];
    for err in &errors {
        assert_hidden(&format!("{err}"));
        assert_hidden(&format!("{err:?}"));
        let mut source = std::error::Error::source(err);
        while let Some(inner) = source {
            assert_hidden(&inner.to_string());
            source = inner.source();
        }
    }
    // The key did go out, in the Authorization header only.
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received[0].headers.get("authorization").unwrap(),
        &format!("Bearer {KEY}")
    );
}

#[tokio::test]
async fn transport_errors_do_not_carry_urls_with_emails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}/api"))
        .retry_policy(loops_client::RetryPolicy::never())
        .build()
        .unwrap();
    let err = client
        .contacts()
        .find(&loops_client::contacts::ContactLookup::email(
            "private@example.com",
        ))
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("private"), "{shown}");
    assert_hidden(&shown);
}

#[test]
fn webhook_secrets_stay_out_of_debug_and_errors() {
    let secret = "whsec_c3VwZXItc2VjcmV0LWtleS1ieXRlcw==";
    let verifier = WebhookVerifier::new(secret).unwrap();
    assert!(!format!("{verifier:?}").contains("c3VwZXIt"));
    let err = verifier
        .verify(
            &WebhookHeaders::new("m", "1", "v1,AAAA"),
            b"{}",
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1),
        )
        .unwrap_err();
    assert!(!format!("{err:?}").contains("c3VwZXIt"));
}
