//! Webhook verification and parsing against the shared fixtures.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use loops_client::webhooks::{
    EVENT_NAMES, SourceType, WebhookError, WebhookEvent, WebhookHeaders, WebhookSecret,
    WebhookVerifier,
};

const KEY: &[u8] = b"super-secret-key-bytes";
const TS: i64 = 1_734_425_918;

fn secret() -> WebhookSecret {
    WebhookSecret::from_bytes(KEY)
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(TS as u64 + 10)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn a_vector_computed_by_hand() {
    // base64(HMAC-SHA256("super-secret-key-bytes", "msg_1.1734425918.{\"eventName\":\"testing.testEvent\"}")),
    // computed with openssl.
    let body = br#"{"eventName":"testing.testEvent"}"#;
    let header = "v1,UkN9D8SnmPZwKUF8X/+rzpIA9oKjBWUvizrzleESYgo=";
    let verifier = WebhookVerifier::new(&secret().to_whsec()).unwrap();
    let headers = WebhookHeaders::new("msg_1", "1734425918", header);
    assert_eq!(verifier.verify(&headers, body, now()), Ok(TS));
}

#[test]
fn tampered_body_and_wrong_secret_are_refused() {
    let body = fixture_bytes("webhook.email.hardBounced.json");
    let signature = secret().sign("msg_2", TS, &body);
    let headers = WebhookHeaders::new("msg_2", "1734425918", &signature);

    let verifier = WebhookVerifier::new(&secret().to_whsec()).unwrap();
    assert!(verifier.verify(&headers, &body, now()).is_ok());

    let mut tampered = body.clone();
    tampered[20] ^= 1;
    assert_eq!(
        verifier.verify(&headers, &tampered, now()),
        Err(WebhookError::InvalidSignature)
    );

    let other =
        WebhookVerifier::new(&WebhookSecret::from_bytes(b"another-key".to_vec()).to_whsec())
            .unwrap();
    let err = other.verify(&headers, &body, now()).unwrap_err();
    assert_eq!(err, WebhookError::InvalidSignature);
    // The error never echoes the expected or received signature.
    let expected = signature.trim_start_matches("v1,");
    assert!(!format!("{err} {err:?}").contains(expected));

    // A different id with the same signature fails too.
    let moved = WebhookHeaders::new("msg_3", "1734425918", &signature);
    assert!(verifier.verify(&moved, &body, now()).is_err());
}

#[test]
fn several_signatures_one_valid_and_rotation() {
    let body = fixture_bytes("webhook.contact.created.json");
    let good = secret().sign("m", TS, &body);
    let old = WebhookSecret::from_bytes(b"old-key".to_vec());
    let old_sig = old.sign("m", TS, &body);

    let verifier = WebhookVerifier::new(&secret().to_whsec()).unwrap();
    let header = format!("v1,AAAA v2,{} {good}", good.trim_start_matches("v1,"));
    assert!(
        verifier
            .verify(
                &WebhookHeaders::new("m", "1734425918", &header),
                &body,
                now()
            )
            .is_ok()
    );
    let junk = "v1,AAAA v1,!!! garbage";
    assert_eq!(
        verifier.verify(&WebhookHeaders::new("m", "1734425918", junk), &body, now()),
        Err(WebhookError::InvalidSignature)
    );

    // During a rotation both secrets are configured; a delivery signed with either passes.
    let rotating = WebhookVerifier::with_secrets([secret().to_whsec(), old.to_whsec()]).unwrap();
    assert!(
        rotating
            .verify(
                &WebhookHeaders::new("m", "1734425918", &old_sig),
                &body,
                now()
            )
            .is_ok()
    );
    assert!(
        rotating
            .verify(&WebhookHeaders::new("m", "1734425918", &good), &body, now())
            .is_ok()
    );
}

#[test]
fn stale_and_future_timestamps() {
    let body = b"{}";
    let sig = secret().sign("m", TS, body);
    let verifier = WebhookVerifier::new(&secret().to_whsec()).unwrap();
    let headers = WebhookHeaders::new("m", "1734425918", &sig);
    let late = UNIX_EPOCH + Duration::from_secs(TS as u64 + 301);
    assert_eq!(
        verifier.verify(&headers, body, late),
        Err(WebhookError::StaleTimestamp {
            age_seconds: 301,
            tolerance_seconds: 300
        })
    );
    let early = UNIX_EPOCH + Duration::from_secs(TS as u64 - 400);
    assert!(matches!(
        verifier.verify(&headers, body, early),
        Err(WebhookError::StaleTimestamp {
            age_seconds: -400,
            ..
        })
    ));
    let relaxed = verifier.clone().tolerance(Duration::from_secs(3600));
    assert!(relaxed.verify(&headers, body, late).is_ok());
}

#[test]
fn missing_headers() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "webhook-id"),
        (&[("webhook-id", "m")], "webhook-timestamp"),
        (
            &[("webhook-id", "m"), ("webhook-timestamp", "1")],
            "webhook-signature",
        ),
        (
            &[
                ("webhook-id", " "),
                ("webhook-timestamp", "1"),
                ("webhook-signature", "v1,x"),
            ],
            "webhook-id",
        ),
    ];
    for (present, missing) in cases {
        let mut map = http::HeaderMap::new();
        for (name, value) in present {
            map.insert(*name, value.parse().unwrap());
        }
        assert_eq!(
            WebhookHeaders::from_header_map(&map),
            Err(WebhookError::MissingHeader(missing))
        );
    }
    // Header names are case-insensitive.
    let mut map = http::HeaderMap::new();
    map.insert("Webhook-Id", "m".parse().unwrap());
    map.insert("Webhook-Timestamp", "1".parse().unwrap());
    map.insert("Webhook-Signature", "v1,x".parse().unwrap());
    assert!(WebhookHeaders::from_header_map(&map).is_ok());
}

#[test]
fn a_secret_without_the_prefix_works_the_same() {
    let body = b"{}";
    let sig = secret().sign("m", TS, body);
    let bare = base64::engine::general_purpose::STANDARD.encode(KEY);
    let verifier = WebhookVerifier::new(&bare).unwrap();
    assert!(
        verifier
            .verify(&WebhookHeaders::new("m", "1734425918", &sig), body, now())
            .is_ok()
    );
}

#[test]
fn every_fixture_parses() {
    let fixtures = [
        ("webhook.contact.created.json", "contact.created"),
        (
            "webhook.contact.mailingList.subscribed.json",
            "contact.mailingList.subscribed",
        ),
        ("webhook.campaign.email.sent.json", "campaign.email.sent"),
        (
            "webhook.transactional.email.sent.json",
            "transactional.email.sent",
        ),
        ("webhook.email.hardBounced.json", "email.hardBounced"),
        ("webhook.testing.testEvent.json", "testing.testEvent"),
    ];
    for (file, name) in fixtures {
        let body = fixture_bytes(file);
        let signature = secret().sign("msg", TS, &body);
        let delivery = WebhookVerifier::new(&secret().to_whsec())
            .unwrap()
            .verify_and_parse(
                &WebhookHeaders::new("msg", "1734425918", &signature),
                &body,
                now(),
            )
            .unwrap();
        assert_eq!(delivery.id, "msg");
        assert_eq!(delivery.event.event_name(), name);
        assert_eq!(delivery.event.event_time(), Some(TS));
        assert!(!matches!(delivery.event, WebhookEvent::Unknown { .. }));
    }

    let created = WebhookEvent::parse(&fixture_bytes("webhook.contact.created.json")).unwrap();
    let WebhookEvent::ContactCreated(created) = created else {
        panic!()
    };
    assert_eq!(created.contact.email, "test+5@loops.so");
    assert_eq!(
        created.contact.property("favoriteNumber"),
        Some(&serde_json::json!(42))
    );

    let bounced = WebhookEvent::parse(&fixture_bytes("webhook.email.hardBounced.json")).unwrap();
    let WebhookEvent::EmailHardBounced(bounce) = &bounced else {
        panic!()
    };
    assert_eq!(bounce.source_type, Some(SourceType::Campaign));
    assert_eq!(bounce.email.id, "9874cm4t1sseg004tje7982991nan8732843");
    assert_eq!(bounced.contact_email(), Some("test+1@loops.so"));

    let campaign = WebhookEvent::parse(&fixture_bytes("webhook.campaign.email.sent.json")).unwrap();
    let WebhookEvent::CampaignEmailSent(campaign) = campaign else {
        panic!()
    };
    assert_eq!(campaign.mailing_lists.len(), 1);
    assert_eq!(campaign.campaign_name, None);

    let test = WebhookEvent::parse(&fixture_bytes("webhook.testing.testEvent.json")).unwrap();
    assert!(test.contact_identity().is_none());
    assert_eq!(EVENT_NAMES.len(), 17);
}

#[test]
fn an_unknown_event_keeps_name_and_json() {
    let body = br#"{"eventName":"contact.merged","eventTime":1734425918,"into":"c9"}"#;
    match WebhookEvent::parse(body).unwrap() {
        WebhookEvent::Unknown { event_name, raw } => {
            assert_eq!(event_name, "contact.merged");
            assert_eq!(raw["into"], "c9");
        }
        other => panic!("{other:?}"),
    }
}
