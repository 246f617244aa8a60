//! Property tests: parsers never panic, whatever the bytes.

use loops_client::error::ApiErrorBody;
use loops_client::webhooks::{WebhookEvent, WebhookHeaders, WebhookSecret, WebhookVerifier};
use proptest::prelude::*;

proptest! {
    #[test]
    fn webhook_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = WebhookEvent::parse(&bytes);
    }

    #[test]
    fn webhook_parser_survives_json_like_input(name in "[a-zA-Z.]{0,30}", time in any::<i64>(), tail in "[ -~]{0,80}") {
        let body = format!(r#"{{"eventName":"{name}","eventTime":{time},"x":"{}"}}"#, tail.replace(['"', '\\'], ""));
        let _ = WebhookEvent::parse(body.as_bytes());
    }

    #[test]
    fn error_bodies_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let parsed = ApiErrorBody::parse(&bytes);
        let _ = parsed.to_string();
    }

    #[test]
    fn verifier_never_panics(id in ".{0,40}", ts in ".{0,20}", sig in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let verifier = WebhookVerifier::new("whsec_c2VjcmV0").unwrap();
        let _ = verifier.verify(&WebhookHeaders::new(&id, &ts, &sig), &body, std::time::SystemTime::UNIX_EPOCH);
    }

    #[test]
    fn signed_bodies_always_verify(id in "[a-z0-9_]{1,30}", body in proptest::collection::vec(any::<u8>(), 0..256), key in proptest::collection::vec(any::<u8>(), 1..64)) {
        let secret = WebhookSecret::from_bytes(key);
        let ts = 1_734_425_918i64;
        let signature = secret.sign(&id, ts, &body);
        let verifier = WebhookVerifier::new(&secret.to_whsec()).unwrap();
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(ts as u64);
        prop_assert!(verifier.verify(&WebhookHeaders::new(&id, &ts.to_string(), &signature), &body, now).is_ok());
    }
}
