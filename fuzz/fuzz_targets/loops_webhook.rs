//! The Loops webhook verifier and parser: any headers and body give a delivery or an error,
//! never a panic.
//!
//! The input is split at the first two NUL bytes into `webhook-id`, `webhook-timestamp` and the
//! body (missing parts are empty). With the first byte odd, the delivery is signed correctly
//! with the fixed secret, so the parser behind the signature check is reached; then the only
//! possible refusals are the timestamp and the payload, never the signature.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use loops_client::webhooks::{
    WebhookError, WebhookEvent, WebhookHeaders, WebhookSecret, WebhookVerifier,
};

const SECRET: &str = "whsec_a2l0dGVucyBhbmQga29tbW8gYW5kIGxvb3Bz";
const NOW: u64 = 1_767_229_200;

fuzz_target!(|data: &[u8]| {
    // The parser alone, on the raw input.
    let _ = WebhookEvent::parse(data);

    let mut parts = data.splitn(3, |b| *b == 0);
    let id = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let timestamp = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let secret = WebhookSecret::parse(SECRET).unwrap();
    let verifier = WebhookVerifier::new(SECRET).unwrap();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);

    let sign = data.first().is_some_and(|b| b % 2 == 1);
    // Loops signs `id.timestamp.body` with the timestamp as it sends it: a plain number. Sign
    // only canonical timestamps, so the signature covers the header exactly as sent.
    let canonical = timestamp
        .parse::<i64>()
        .ok()
        .filter(|ts| ts.to_string() == timestamp);
    let signature = match canonical {
        Some(ts) if sign => secret.sign(&id, ts, body),
        // Whatever the input says, as a signature header.
        _ => String::from_utf8_lossy(body.get(..body.len().min(200)).unwrap_or_default())
            .into_owned(),
    };
    let headers = WebhookHeaders::new(&id, &timestamp, &signature);
    let result = verifier.verify_and_parse(&headers, body, now);
    if sign && canonical.is_some() {
        match result {
            Ok(delivery) => {
                assert_eq!(delivery.id, id);
                let _ = delivery.event.event_name();
                let _ = delivery.event.contact_email();
            }
            Err(WebhookError::StaleTimestamp { .. } | WebhookError::InvalidPayload(_)) => {}
            Err(other) => panic!("a correct signature was refused: {other:?}"),
        }
    }
    // Header lookup never panics either.
    let _ = WebhookHeaders::from_fn(|name| match name {
        "webhook-id" => Some(id.as_str()),
        "webhook-timestamp" => Some(timestamp.as_str()),
        _ => Some(signature.as_str()),
    });
});
