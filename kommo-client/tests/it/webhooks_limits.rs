//! Limits, malformed input and the acknowledgement decision.

use kommo_client::webhooks::{
    self, AckDecision, Limits, WebhookError, should_acknowledge, should_acknowledge_with_limits,
};

use crate::support::form;

#[test]
fn each_limit_has_its_error() {
    let limits = Limits::default()
        .with_max_body_bytes(2_000)
        .with_max_pairs(50)
        .with_max_depth(8)
        .with_max_index(100)
        .with_max_entities(3);
    let many_pairs: Vec<(String, String)> = (0..51)
        .map(|i| (format!("leads[add][0][f{i}]"), "1".to_owned()))
        .collect();
    let cases: Vec<(String, &str)> = vec![
        ("x=".to_owned() + &"a".repeat(2_000), "BodyTooLarge"),
        (webhooks::encode::encode_pairs(many_pairs), "TooManyPairs"),
        (form(&[("a[b][c][d][e][f][g][h][i]", "1")]), "DepthExceeded"),
        (
            form(&[("leads[add][99999999999][id]", "1")]),
            "IndexTooLarge",
        ),
        (form(&[("leads[add][101][id]", "1")]), "IndexTooLarge"),
        (
            form(&[("leads[add][0][custom_fields][101][id]", "1")]),
            "IndexTooLarge",
        ),
        (
            form(&[("leads[add][0][custom_fields][0][values][500][value]", "1")]),
            "IndexTooLarge",
        ),
        (
            form(&[("leads[add][0][tags][1000][id]", "1")]),
            "IndexTooLarge",
        ),
        (
            form(&[("leads[add][99999999999999999999999][id]", "1")]),
            "IndexTooLarge",
        ),
        (
            form(&[
                ("leads[add][0][id]", "1"),
                ("leads[add][1][id]", "1"),
                ("leads[add][2][id]", "1"),
                ("task[add][0][id]", "1"),
            ]),
            "TooManyEntities",
        ),
        ("a=%FF%FE".to_owned(), "InvalidUtf8"),
        ("a[b=1".to_owned(), "MalformedKey"),
        (
            form(&[("leads[add][0][id]", "1"), ("leads[add][0][id][x]", "2")]),
            "Conflict",
        ),
    ];
    for (body, want) in cases {
        let err = webhooks::parse_with_limits(body.as_bytes(), &limits).unwrap_err();
        assert!(format!("{err:?}").starts_with(want), "{want}: got {err:?}");
        // Errors print keys, never values.
        assert!(!err.to_string().contains("aaaa"));
    }
}

#[test]
fn ids_as_map_keys_are_not_list_indices() {
    let limits = Limits::default().with_max_index(100);
    let body = form(&[
        ("contacts[add][0][id]", "1"),
        (
            "contacts[add][0][linked_leads_id][15319601][ID]",
            "15319601",
        ),
    ]);
    let p = webhooks::parse_with_limits(body.as_bytes(), &limits).unwrap();
    assert_eq!(
        p.events[0]
            .company()
            .or(p.events[0].contact())
            .unwrap()
            .linked_leads_id
            .len(),
        1
    );
}

#[test]
fn acknowledgement_table() {
    let ok = form(&[("leads[add][0][id]", "1")]);
    let unknown = form(&[("customers[add][0][id]", "1")]);
    let limits = Limits::default().with_max_body_bytes(64);
    let big = "a=".to_owned() + &"b".repeat(100);
    let cases: Vec<(Option<&str>, &[u8], u16)> = vec![
        (
            Some("application/x-www-form-urlencoded"),
            ok.as_bytes(),
            200,
        ),
        (
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            ok.as_bytes(),
            200,
        ),
        (
            Some("Application/X-WWW-Form-Urlencoded"),
            ok.as_bytes(),
            200,
        ),
        (None, ok.as_bytes(), 200),
        (
            Some("application/x-www-form-urlencoded"),
            unknown.as_bytes(),
            200,
        ),
        (Some("application/x-www-form-urlencoded"), b"", 200),
        (Some("application/json"), b"{}", 415),
        (Some("text/plain"), ok.as_bytes(), 415),
        (
            Some("application/x-www-form-urlencoded"),
            big.as_bytes(),
            413,
        ),
        (Some("application/x-www-form-urlencoded"), b"a[b=1", 400),
        (Some("application/x-www-form-urlencoded"), b"a=%C3%28", 400),
    ];
    for (ct, body, want) in cases {
        let decision = should_acknowledge_with_limits(ct, body, &limits);
        assert_eq!(
            decision.status(),
            want,
            "{ct:?} {:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(decision.is_accept(), want == 200);
    }
    match should_acknowledge(Some("application/json"), b"{}") {
        AckDecision::Reject {
            error: WebhookError::UnsupportedContentType { found },
            ..
        } => {
            assert_eq!(found, "application/json")
        }
        other => panic!("{other:?}"),
    }
}
