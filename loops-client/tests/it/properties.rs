//! Property tests: parsers never panic, whatever the bytes.

use loops_client::error::ApiErrorBody;
use loops_client::webhooks::{WebhookEvent, WebhookHeaders, WebhookSecret, WebhookVerifier};
use proptest::prelude::*;
use serde_json::{Value, json};

/// JSON shaped like content answers: the keys Loops uses, any values, nested a little.
fn content_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("id"),
        Just("typeName"),
        Just("nextNodeIds"),
        Just("nodes"),
        Just("status"),
        Just("rootNodeId"),
        Just("workflowRevisionId"),
        Just("contentRevisionId"),
        Just("warnings"),
        Just("errors"),
        Just("styles"),
        Just("filter"),
        Just("conditions"),
        Just("match"),
        Just("type"),
        Just("rule"),
        Just("items"),
        Just("maxBytes"),
        Just("x"),
    ]
    .prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

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

    /// Every content model reads any JSON without panicking, and what it reads writes back
    /// into something it reads again the same way.
    #[test]
    fn content_models_never_panic(value in content_json()) {
        use loops_client::{audience_segments, campaigns, email_messages, themes, workflows};
        fn round_trip<T>(value: &Value) -> Result<(), TestCaseError>
        where
            T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
        {
            if let Ok(parsed) = serde_json::from_value::<T>(value.clone()) {
                let again: T = serde_json::from_value(serde_json::to_value(&parsed).unwrap()).unwrap();
                prop_assert_eq!(again, parsed);
            }
            Ok(())
        }
        round_trip::<workflows::Workflow>(&value)?;
        round_trip::<workflows::NodeDetail>(&value)?;
        round_trip::<campaigns::Campaign>(&value)?;
        round_trip::<email_messages::EmailMessage>(&value)?;
        round_trip::<email_messages::GuardianReport>(&value)?;
        round_trip::<themes::Theme>(&value)?;
        round_trip::<audience_segments::AudienceFilter>(&value)?;
        let body = ApiErrorBody::parse(value.to_string().as_bytes());
        let _ = body.to_string();
    }
}
