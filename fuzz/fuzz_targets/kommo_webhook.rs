//! The Kommo webhook parser: any body gives a payload or an error (never a panic, never
//! unbounded work), and the HTTP decision agrees with the parser.
//!
//! Properties checked beyond "no panic":
//! - `should_acknowledge` accepts exactly the bodies `parse` accepts (for a form content type),
//!   and refuses other content types with 415;
//! - the form layer round-trips: re-encoding a parsed tree and parsing it again gives the same
//!   tree;
//! - the encoder's output for a parsed payload parses again and keeps every event that names
//!   its entity (an event whose fields are all malformed, such as `leads[note][0][note]=x`,
//!   has nothing to encode: a form cannot hold an empty map).
#![no_main]

use kommo_client::webhooks::{self, AckDecision, Limits, form};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = webhooks::parse(data);
    let decision = webhooks::should_acknowledge(Some("application/x-www-form-urlencoded"), data);
    match (&parsed, &decision) {
        (Ok(payload), AckDecision::Accept(accepted)) => assert_eq!(payload, accepted),
        (
            Err(error),
            AckDecision::Reject {
                status,
                error: refused,
            },
        ) => {
            assert_eq!(error, refused);
            assert!(matches!(status, 400 | 413), "{status}");
        }
        (parsed, decision) => panic!("parse {parsed:?} but decision {decision:?}"),
    }
    assert_eq!(
        webhooks::should_acknowledge(Some("application/json"), data).status(),
        415
    );
    // No content type: the body decides.
    assert_eq!(
        webhooks::should_acknowledge(None, data).status(),
        decision.status()
    );

    // Tight limits reach every limit's error path with small inputs.
    let tight = Limits::default()
        .with_max_pairs(32)
        .with_max_depth(4)
        .with_max_index(16)
        .with_max_entities(4);
    let _ = webhooks::parse_with_limits(data, &tight);

    // Re-encoding (which percent-encodes brackets, up to three bytes for one) must not be
    // refused for size: give the second parse room.
    let roomy = Limits::default().with_max_body_bytes(usize::MAX);
    if let Ok(tree) = form::parse_tree(data, &Limits::default()) {
        let again = form::parse_tree(webhooks::encode::encode_tree(&tree).as_bytes(), &roomy)
            .expect("an encoded tree parses");
        assert_eq!(tree, again, "the form layer round-trips");
    }
    if let Ok(payload) = parsed {
        let body = payload.encode();
        let again = webhooks::parse_with_limits(body.as_bytes(), &roomy)
            .expect("an encoded payload parses");
        let named = |p: &webhooks::WebhookPayload| {
            let mut events: Vec<String> = p
                .events
                .iter()
                .filter_map(|e| e.entity_id().map(|id| format!("{:?} {id}", e.kind)))
                .collect();
            events.sort();
            events
        };
        assert!(again.events.len() <= payload.events.len(), "{body}");
        assert_eq!(named(&payload), named(&again), "{body}");
    }
});
