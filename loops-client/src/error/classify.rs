//! How a failed answer becomes an [`Error`]: by endpoint and status code, and by the
//! structured fields of the body, never by its message text.

use std::time::Duration;

use super::{ApiErrorBody, Error};
use crate::endpoint::{ApiRequest, Endpoint};
use crate::idempotency::IdempotencyKey;
use crate::rate_limit::RateLimitInfo;

/// Everything known about one failed answer.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) struct Failed<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) status: u16,
    pub(crate) rate: RateLimitInfo,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) body: &'a [u8],
    pub(crate) idempotency_key: Option<&'a IdempotencyKey>,
    /// The request's `expectedRevisionId`, when it carries one (`Some(None)`: `null`).
    pub(crate) expected_revision: Option<Option<&'a str>>,
    /// An earlier attempt of the same call failed in a way that leaves open whether Loops
    /// applied it.
    pub(crate) maybe_landed: bool,
}

/// Endpoints whose 409 has causes other than a stale revision (a campaign out of draft or an
/// MJML message; a workflow that is sending). Their 409 is only called stale when the body
/// names a different current revision, or when our own earlier attempt may have moved it;
/// otherwise the handle reads the current revision to decide (see [`refine_conflict`]).
fn conflict_has_other_causes(endpoint: Endpoint) -> bool {
    matches!(
        endpoint,
        Endpoint::UpdateEmailMessage | Endpoint::DeleteWorkflow
    )
}

/// Turns a non-success answer into the right error variant.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn classify(failed: &Failed<'_>) -> Error {
    let endpoint = failed.endpoint;
    let body = Box::new(ApiErrorBody::parse(failed.body));
    match (failed.status, endpoint, failed.idempotency_key) {
        // The daily upload cap names itself in the body; waiting a second will not help.
        (429, Endpoint::CreateUpload, _) if body.max_uploads.is_some() => Error::QuotaExceeded {
            endpoint,
            limit: body.max_uploads,
            window: body.window_hours.map(|h| Duration::from_secs(h * 3600)),
            body,
        },
        (429, _, _) => Error::RateLimited {
            limit: failed.rate.limit,
            remaining: failed.rate.remaining,
            retry_after: failed.retry_after,
            body,
        },
        (409, Endpoint::CreateContact, _) => Error::AlreadyExists { body },
        (409, _, Some(key)) => Error::AlreadyDone {
            idempotency_key: key.clone(),
            body,
        },
        (409, Endpoint::PublishTransactionalEmail | Endpoint::UpdateCampaign, _) => {
            Error::DraftRequired { endpoint, body }
        }
        (409, _, _) => match failed.expected_revision {
            Some(expected) => stale_or_open(failed, expected, body),
            None => Error::Api {
                status: 409,
                endpoint,
                body,
            },
        },
        (413, _, _) => Error::PayloadTooLarge {
            endpoint,
            limit_bytes: body.max_bytes.or(endpoint.documented_size_limit()),
            body,
        },
        (422, _, _) => Error::Unprocessable { endpoint, body },
        (501, _, _) => Error::NotImplemented { endpoint, body },
        (status, _, _) => Error::Api {
            status,
            endpoint,
            body,
        },
    }
}

fn stale_or_open(failed: &Failed<'_>, expected: Option<&str>, body: Box<ApiErrorBody>) -> Error {
    let current = body.current_revision_id.clone();
    let names_other = current.as_deref().is_some_and(|c| Some(c) != expected);
    if conflict_has_other_causes(failed.endpoint) && !names_other && !failed.maybe_landed {
        return Error::Api {
            status: 409,
            endpoint: failed.endpoint,
            body,
        };
    }
    Error::StaleRevision {
        endpoint: failed.endpoint,
        expected: expected.map(str::to_owned),
        current,
        maybe_applied_earlier: failed.maybe_landed,
        body,
    }
}

/// Whether a typed method should read the resource's current revision to report this error
/// precisely.
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn wants_current_revision(error: &Error, request: &ApiRequest) -> bool {
    match error {
        Error::StaleRevision { current: None, .. } => true,
        Error::Api {
            status: 409,
            endpoint,
            ..
        } => conflict_has_other_causes(*endpoint) && request.expected_revision().is_some(),
        _ => false,
    }
}

/// Settles a 409 on a revision-guarded write with the revision read after it.
///
/// `current` is `None` when the read failed (the error is returned unchanged), otherwise the
/// current revision (itself `None` for a workflow that has no revision yet). A workflow delete
/// whose revision still matches was refused because the workflow is sending or has queued
/// contacts: [`Error::ConfirmationRequired`].
#[cfg_attr(not(feature = "client"), allow(dead_code))]
pub(crate) fn refine_conflict(
    error: Error,
    request: &ApiRequest,
    current: Option<Option<String>>,
) -> Error {
    let (Some(current), Some(expected)) = (current, request.expected_revision()) else {
        return error;
    };
    let moved = current.as_deref() != expected;
    match error {
        Error::StaleRevision {
            endpoint,
            expected,
            current: None,
            maybe_applied_earlier,
            body,
        } => Error::StaleRevision {
            endpoint,
            expected,
            current,
            maybe_applied_earlier,
            body,
        },
        Error::Api {
            status: 409,
            endpoint,
            body,
        } if moved => Error::StaleRevision {
            endpoint,
            expected: expected.map(str::to_owned),
            current,
            maybe_applied_earlier: false,
            body,
        },
        Error::Api {
            status: 409,
            endpoint: Endpoint::DeleteWorkflow,
            body,
        } => Error::ConfirmationRequired {
            endpoint: Endpoint::DeleteWorkflow,
            body,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Method;

    fn failed<'a>(
        status: u16,
        endpoint: Endpoint,
        body: &'a [u8],
        key: Option<&'a IdempotencyKey>,
    ) -> Failed<'a> {
        Failed {
            endpoint,
            status,
            rate: RateLimitInfo::default(),
            retry_after: None,
            body,
            idempotency_key: key,
            expected_revision: endpoint.is_revision_guarded().then_some(Some("rev_1")),
            maybe_landed: false,
        }
    }

    fn kind(error: &Error) -> &'static str {
        match error {
            Error::AlreadyExists { .. } => "exists",
            Error::AlreadyDone { .. } => "done",
            Error::RateLimited { .. } => "rate",
            Error::QuotaExceeded { .. } => "quota",
            Error::StaleRevision { .. } => "stale",
            Error::DraftRequired { .. } => "draft",
            Error::PayloadTooLarge { .. } => "413",
            Error::Unprocessable { .. } => "422",
            Error::NotImplemented { .. } => "501",
            Error::ConfirmationRequired { .. } => "confirm",
            Error::Api { .. } => "api",
            _ => "other",
        }
    }

    #[test]
    fn classification_uses_status_endpoint_and_fields_only() {
        let key = IdempotencyKey::new("k1").unwrap();
        let any_text = br#"{"success":false,"message":"whatever wording Loops uses this year"}"#;
        let names_rev = br#"{"success":false,"message":"x","workflowRevisionId":"rev_2"}"#;
        let cap = br#"{"success":false,"message":"x","maxUploads":50,"windowHours":24}"#;
        #[rustfmt::skip]
        type Row<'a> = (u16, Endpoint, &'a [u8], Option<&'a IdempotencyKey>, &'a str);
        let cases: Vec<Row<'_>> = vec![
            (409, Endpoint::CreateContact, any_text, None, "exists"),
            (409, Endpoint::SendEvent, any_text, Some(&key), "done"),
            (
                409,
                Endpoint::SendTransactional,
                any_text,
                Some(&key),
                "done",
            ),
            (409, Endpoint::UpdateContact, any_text, None, "api"),
            (429, Endpoint::SendEvent, any_text, Some(&key), "rate"),
            (429, Endpoint::FindContact, any_text, None, "rate"),
            (429, Endpoint::CreateUpload, any_text, None, "rate"),
            (429, Endpoint::CreateUpload, cap, None, "quota"),
            (429, Endpoint::SendEmailMessagePreview, cap, None, "rate"),
            (400, Endpoint::SendEvent, any_text, Some(&key), "api"),
            (404, Endpoint::DeleteContact, any_text, None, "api"),
            (500, Endpoint::CreateContact, any_text, None, "api"),
            (
                409,
                Endpoint::PublishTransactionalEmail,
                any_text,
                None,
                "draft",
            ),
            (409, Endpoint::UpdateCampaign, any_text, None, "draft"),
            (409, Endpoint::UpdateWorkflow, any_text, None, "stale"),
            (409, Endpoint::CreateWorkflowNode, any_text, None, "stale"),
            (
                409,
                Endpoint::DeleteWorkflowNodesRecursive,
                any_text,
                None,
                "stale",
            ),
            // Other causes possible: open until the current revision is known.
            (409, Endpoint::UpdateEmailMessage, any_text, None, "api"),
            (409, Endpoint::DeleteWorkflow, any_text, None, "api"),
            (409, Endpoint::DeleteWorkflow, names_rev, None, "stale"),
            (409, Endpoint::GetEmailMessage, any_text, None, "api"),
            (413, Endpoint::UpdateEmailMessage, any_text, None, "413"),
            (413, Endpoint::SendTransactional, any_text, None, "413"),
            (
                422,
                Endpoint::PublishTransactionalEmail,
                any_text,
                None,
                "422",
            ),
            (422, Endpoint::UpdateComponent, any_text, None, "422"),
            (501, Endpoint::UpdateWorkflowNode, any_text, None, "501"),
            (425, Endpoint::CompleteUpload, any_text, None, "api"),
            (401, Endpoint::GetTheme, any_text, None, "api"),
        ];
        for (status, endpoint, body, key, expected) in cases {
            let err = classify(&failed(status, endpoint, body, key));
            assert_eq!(kind(&err), expected, "{status} {endpoint}");
            assert_eq!(err.status(), Some(status), "{status} {endpoint}");
        }
    }

    #[test]
    fn stale_revisions_carry_both_revisions() {
        let body = br#"{"message":"stale","currentRevisionId":"rev_2"}"#;
        let err = classify(&failed(409, Endpoint::UpdateWorkflow, body, None));
        let Error::StaleRevision {
            expected,
            current,
            maybe_applied_earlier,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(
            (expected.as_deref(), current.as_deref()),
            (Some("rev_1"), Some("rev_2"))
        );
        assert!(!maybe_applied_earlier);
        assert_eq!(err.current_revision(), Some("rev_2"));

        // After an ambiguous failure, a 409 is most likely our own write having landed.
        let mut after_retry = failed(409, Endpoint::UpdateEmailMessage, b"{}", None);
        after_retry.maybe_landed = true;
        assert!(matches!(
            classify(&after_retry),
            Error::StaleRevision {
                maybe_applied_earlier: true,
                current: None,
                ..
            }
        ));
    }

    #[test]
    fn limits_are_named() {
        let named = classify(&failed(
            413,
            Endpoint::CreateUpload,
            br#"{"maxBytes":1234}"#,
            None,
        ));
        assert!(matches!(
            named,
            Error::PayloadTooLarge {
                limit_bytes: Some(1234),
                ..
            }
        ));
        let documented = classify(&failed(413, Endpoint::UpdateEmailMessage, b"<html>", None));
        assert!(matches!(
            documented,
            Error::PayloadTooLarge {
                limit_bytes: Some(102_400),
                ..
            }
        ));
        assert!(
            documented.to_string().contains("102400 bytes"),
            "{documented}"
        );
        let unknown = classify(&failed(413, Endpoint::CreateComponent, b"", None));
        assert!(matches!(
            unknown,
            Error::PayloadTooLarge {
                limit_bytes: None,
                ..
            }
        ));
        let quota = classify(&failed(
            429,
            Endpoint::CreateUpload,
            br#"{"maxUploads":50,"windowHours":24}"#,
            None,
        ));
        assert!(matches!(
            quota,
            Error::QuotaExceeded { limit: Some(50), window: Some(w), .. } if w == Duration::from_secs(86_400)
        ));
        assert!(!quota.is_transient());
    }

    #[test]
    fn conflicts_are_settled_by_the_current_revision() {
        let guarded = |endpoint, expected: Option<&str>| {
            ApiRequest::new(endpoint, Method::DELETE, "/v1/workflows/w")
                .with_revision_guard(expected.map(str::to_owned))
        };
        let open = |endpoint| classify(&failed(409, endpoint, b"{}", None));
        let some = |s: &str| Some(Some(s.to_owned()));
        #[rustfmt::skip]
        type Row<'a> = (Endpoint, Option<&'a str>, Option<Option<String>>, &'a str);
        let table: Vec<Row<'_>> = vec![
            (
                Endpoint::DeleteWorkflow,
                Some("rev_1"),
                some("rev_1"),
                "confirm",
            ),
            (
                Endpoint::DeleteWorkflow,
                Some("rev_1"),
                some("rev_2"),
                "stale",
            ),
            (Endpoint::DeleteWorkflow, None, Some(None), "confirm"),
            (Endpoint::DeleteWorkflow, None, some("rev_1"), "stale"),
            (Endpoint::DeleteWorkflow, Some("rev_1"), None, "api"),
            (
                Endpoint::UpdateEmailMessage,
                Some("rev_1"),
                some("rev_2"),
                "stale",
            ),
            (
                Endpoint::UpdateEmailMessage,
                Some("rev_1"),
                some("rev_1"),
                "api",
            ),
            (
                Endpoint::UpdateWorkflow,
                Some("rev_1"),
                some("rev_3"),
                "stale",
            ),
        ];
        for (endpoint, expected, current, outcome) in table {
            let request = guarded(endpoint, expected);
            let error = open(endpoint);
            assert!(
                wants_current_revision(&error, &request),
                "{endpoint} should ask for the current revision"
            );
            let settled = refine_conflict(error, &request, current.clone());
            assert_eq!(
                kind(&settled),
                outcome,
                "{endpoint} {expected:?} {current:?}"
            );
            if outcome == "stale" {
                assert_eq!(
                    settled.current_revision(),
                    current.as_ref().and_then(|c| c.as_deref())
                );
            }
        }
        // Not guarded: nothing to read.
        let plain = ApiRequest::new(
            Endpoint::UpdateEmailMessage,
            Method::POST,
            "/v1/email-messages/m",
        );
        assert!(!wants_current_revision(
            &open(Endpoint::UpdateEmailMessage),
            &plain
        ));
    }
}
