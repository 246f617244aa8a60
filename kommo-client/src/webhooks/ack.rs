//! Deciding the HTTP answer to a webhook delivery.
//!
//! Kommo disables a webhook after more than 100 invalid answers (anything outside 100–299, or
//! no answer within 2 s) in the last 2 hours, and retries failed deliveries. A refusal is
//! therefore only useful when a retry could never succeed *and* the request is not a real
//! Kommo delivery: a wrong content type, an oversized body, or a body that does not decode.
//! Everything that parses, including event types this crate does not know
//! ([`EventKind::Unknown`](super::EventKind::Unknown)) and bodies with no events, is
//! acknowledged, so a new Kommo event type never gets the hook disabled.
//!
//! Acknowledge first, then process asynchronously: the 2-second budget is for the answer.

use super::{Limits, WebhookError, WebhookPayload, parse_with_limits};

/// The verdict on one delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AckDecision {
    /// Answer 200 and process the payload.
    Accept(WebhookPayload),
    /// Answer with `status` (400, 413 or 415); the error says why.
    Reject {
        /// The HTTP status to answer with.
        status: u16,
        /// Why.
        error: WebhookError,
    },
}

impl AckDecision {
    /// The HTTP status to answer with.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            AckDecision::Accept(_) => 200,
            AckDecision::Reject { status, .. } => *status,
        }
    }

    /// Whether to acknowledge (2xx).
    #[must_use]
    pub fn is_accept(&self) -> bool {
        matches!(self, AckDecision::Accept(_))
    }
}

/// Decides how to answer a delivery from its `Content-Type` header and raw body, with the
/// default [`Limits`].
///
/// A missing content type is tolerated (the body decides); a present one must be
/// `application/x-www-form-urlencoded` (parameters and case are ignored).
///
/// ```
/// use kommo_client::webhooks::{should_acknowledge, AckDecision};
///
/// let ok = should_acknowledge(Some("application/x-www-form-urlencoded"), b"customers%5Badd%5D%5B0%5D%5Bid%5D=1");
/// assert_eq!(ok.status(), 200); // unknown event types are acknowledged
///
/// let json = should_acknowledge(Some("application/json"), b"{}");
/// assert_eq!(json.status(), 415);
/// ```
#[must_use]
pub fn should_acknowledge(content_type: Option<&str>, body: &[u8]) -> AckDecision {
    should_acknowledge_with_limits(content_type, body, &Limits::default())
}

/// [`should_acknowledge`] with explicit limits.
#[must_use]
pub fn should_acknowledge_with_limits(
    content_type: Option<&str>,
    body: &[u8],
    limits: &Limits,
) -> AckDecision {
    if let Some(ct) = content_type {
        let mime = ct.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return AckDecision::Reject {
                status: 415,
                error: WebhookError::UnsupportedContentType {
                    found: super::form::truncate(ct),
                },
            };
        }
    }
    match parse_with_limits(body, limits) {
        Ok(payload) => AckDecision::Accept(payload),
        Err(error) => {
            let status = match error {
                WebhookError::BodyTooLarge { .. } => 413,
                _ => 400,
            };
            AckDecision::Reject { status, error }
        }
    }
}
