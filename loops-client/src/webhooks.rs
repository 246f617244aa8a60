//! Loops webhooks: signature verification and typed events.
//!
//! Loops signs each delivery Standard-Webhooks style: `webhook-signature` holds one or more
//! space-separated `v1,<base64 HMAC-SHA256>` entries over `"{webhook-id}.{webhook-timestamp}.{raw body}"`,
//! keyed with the base64 secret after the `whsec_` prefix. This module checks that, in constant
//! time, against one or several secrets (during a rotation both are valid for 24 hours), and
//! rejects timestamps outside a tolerance (5 minutes by default). It never reads the clock:
//! `now` is an argument.
//!
//! ```
//! use loops_client::webhooks::{WebhookEvent, WebhookHeaders, WebhookSecret, WebhookVerifier};
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//!
//! // The secret from Settings → Webhooks in Loops.
//! let secret = "whsec_c3VwZXItc2VjcmV0LWtleS1ieXRlcw==";
//! let body = br#"{"eventName":"email.hardBounced","eventTime":1734425918,"webhookSchemaVersion":"1.0.0",
//!   "sourceType":"campaign","campaignId":"c1","email":{"id":"e1","emailMessageId":"m1","subject":"Hi"},
//!   "contactIdentity":{"id":"ct1","email":"ada@example.com","userId":null}}"#;
//!
//! // What Loops would send (computed here for the example).
//! let signature = WebhookSecret::parse(secret).unwrap().sign("msg_1", 1734425918, body);
//!
//! let verifier = WebhookVerifier::new(secret).unwrap();
//! let headers = WebhookHeaders::new("msg_1", "1734425918", &signature);
//! let now = UNIX_EPOCH + Duration::from_secs(1734425930);
//! let delivery = verifier.verify_and_parse(&headers, body, now).unwrap();
//! match delivery.event {
//!     WebhookEvent::EmailHardBounced(bounce) => {
//!         assert_eq!(bounce.contact_identity.email, "ada@example.com");
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! // A tampered body is refused, and the error never shows the expected signature.
//! let err = verifier.verify(&headers, b"{}", now).unwrap_err();
//! assert_eq!(err.to_string(), "no webhook-signature entry matches the body");
//! ```

mod events;

pub use events::{
    CampaignEmailSent, ContactCreated, ContactEvent, EVENT_NAMES, EmailActivity, EmailInfo,
    LoopEmailSent, MailingListEvent, SourceType, TestEvent, TransactionalEmailSent,
    WebhookContactIdentity, WebhookEvent,
};

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The default tolerance between the delivery's timestamp and `now`.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// At most this many signature entries are checked, so a crafted header cannot cost much CPU.
const MAX_SIGNATURE_ENTRIES: usize = 16;

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A required header is absent or empty.
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    /// The configured secret cannot be used.
    #[error("invalid webhook secret: {0}")]
    InvalidSecret(&'static str),
    /// No secret was configured.
    #[error("no webhook secret configured")]
    NoSecret,
    /// `webhook-timestamp` is not a number of seconds.
    #[error("`webhook-timestamp` is not a Unix timestamp in seconds")]
    InvalidTimestamp,
    /// The delivery is older (or further in the future) than the tolerance.
    #[error(
        "the webhook timestamp is {age_seconds} s away from now; at most {tolerance_seconds} s is accepted"
    )]
    StaleTimestamp {
        /// `now - timestamp`, in seconds (negative: in the future).
        age_seconds: i64,
        /// The tolerance, in seconds.
        tolerance_seconds: u64,
    },
    /// No signature entry matches (wrong secret, tampered body, or malformed header).
    #[error("no webhook-signature entry matches the body")]
    InvalidSignature,
    /// The body is not a Loops event.
    #[error("invalid webhook body: {0}")]
    InvalidPayload(String),
}

/// A webhook signing secret. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
}

impl WebhookSecret {
    /// Parses `whsec_<base64>`. A secret without the prefix is read as base64 too.
    pub fn parse(secret: &str) -> Result<Self, WebhookError> {
        let secret = secret.trim();
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        if encoded.is_empty() {
            return Err(WebhookError::InvalidSecret("it is empty"));
        }
        let key = BASE64.decode(encoded).map_err(|_| {
            WebhookError::InvalidSecret("it is not base64 after the `whsec_` prefix")
        })?;
        if key.is_empty() {
            return Err(WebhookError::InvalidSecret("it decodes to no bytes"));
        }
        Ok(WebhookSecret { key })
    }

    /// The secret from raw key bytes (for tests and fakes).
    pub fn from_bytes(key: impl Into<Vec<u8>>) -> Self {
        WebhookSecret { key: key.into() }
    }

    /// The `whsec_...` form of this secret.
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", BASE64.encode(&self.key))
    }

    /// The `webhook-signature` header value Loops would send: `v1,<base64 signature>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mac = self.mac(id, &timestamp.to_string(), body);
        format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// The three signature headers of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`: unique per event; use it to drop repeated deliveries.
    pub id: &'a str,
    /// `webhook-timestamp`: seconds since the Unix epoch.
    pub timestamp: &'a str,
    /// `webhook-signature`: space-separated `v1,<base64>` entries.
    pub signature: &'a str,
}

impl<'a> WebhookHeaders<'a> {
    /// The headers from their values.
    pub fn new(id: &'a str, timestamp: &'a str, signature: &'a str) -> Self {
        WebhookHeaders {
            id,
            timestamp,
            signature,
        }
    }

    /// Reads the headers through a lookup by lower-case name (any HTTP framework).
    pub fn from_fn(get: impl Fn(&str) -> Option<&'a str>) -> Result<Self, WebhookError> {
        let read = |name: &'static str| {
            get(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or(WebhookError::MissingHeader(name))
        };
        Ok(WebhookHeaders {
            id: read("webhook-id")?,
            timestamp: read("webhook-timestamp")?,
            signature: read("webhook-signature")?,
        })
    }

    /// Reads the headers from an `http::HeaderMap` (axum, hyper, reqwest).
    pub fn from_header_map(headers: &'a http::HeaderMap) -> Result<Self, WebhookError> {
        WebhookHeaders::from_fn(|name| headers.get(name).and_then(|v| v.to_str().ok()))
    }
}

/// A verified and parsed delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// `webhook-id`, for de-duplication.
    pub id: String,
    /// `webhook-timestamp`, seconds since the epoch.
    pub timestamp: i64,
    /// The event.
    pub event: WebhookEvent,
}

/// Verifies deliveries against one or more secrets.
///
/// ```
/// use loops_client::webhooks::{WebhookError, WebhookHeaders, WebhookSecret, WebhookVerifier};
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let current = WebhookSecret::from_bytes(b"new-key".to_vec());
/// let previous = WebhookSecret::from_bytes(b"old-key".to_vec());
/// // While Loops rotates the secret, accept both.
/// let verifier = WebhookVerifier::with_secrets([current.to_whsec(), previous.to_whsec()])
///     .unwrap()
///     .tolerance(Duration::from_secs(300));
///
/// let body = br#"{"eventName":"testing.testEvent","eventTime":1700000000,"message":"test"}"#;
/// let signature = previous.sign("msg_9", 1_700_000_000, body);
/// let headers = WebhookHeaders::new("msg_9", "1700000000", &signature);
/// assert!(verifier.verify(&headers, body, UNIX_EPOCH + Duration::from_secs(1_700_000_060)).is_ok());
///
/// // An old delivery replayed an hour later is refused.
/// let late = UNIX_EPOCH + Duration::from_secs(1_700_003_600);
/// assert!(matches!(verifier.verify(&headers, body, late), Err(WebhookError::StaleTimestamp { .. })));
/// ```
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    secrets: Vec<WebhookSecret>,
    tolerance: Duration,
}

impl WebhookVerifier {
    /// A verifier for one `whsec_...` secret, with the default 5-minute tolerance.
    pub fn new(secret: &str) -> Result<Self, WebhookError> {
        WebhookVerifier::with_secrets([secret])
    }

    /// A verifier that accepts a signature made with any of these secrets (for rotation).
    pub fn with_secrets<I, S>(secrets: I) -> Result<Self, WebhookError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let secrets = secrets
            .into_iter()
            .map(|s| WebhookSecret::parse(s.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(WebhookError::NoSecret);
        }
        Ok(WebhookVerifier {
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Changes the timestamp tolerance.
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Checks the timestamp, then the signature over the raw body bytes.
    pub fn verify(
        &self,
        headers: &WebhookHeaders<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<i64, WebhookError> {
        let timestamp: i64 = headers
            .timestamp
            .trim()
            .parse()
            .map_err(|_| WebhookError::InvalidTimestamp)?;
        let now_secs = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        let age = now_secs.saturating_sub(timestamp);
        if age.unsigned_abs() > self.tolerance.as_secs() {
            return Err(WebhookError::StaleTimestamp {
                age_seconds: age,
                tolerance_seconds: self.tolerance.as_secs(),
            });
        }

        let candidates: Vec<Vec<u8>> = headers
            .signature
            .split_ascii_whitespace()
            .take(MAX_SIGNATURE_ENTRIES)
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|sig| BASE64.decode(sig).ok())
            .collect();
        if candidates.is_empty() {
            return Err(WebhookError::InvalidSignature);
        }
        for secret in &self.secrets {
            let mac = secret.mac(headers.id, headers.timestamp.trim(), body);
            // verify_slice compares in constant time.
            if candidates
                .iter()
                .any(|sig| mac.clone().verify_slice(sig).is_ok())
            {
                return Ok(timestamp);
            }
        }
        Err(WebhookError::InvalidSignature)
    }

    /// Verifies the delivery and parses its event.
    pub fn verify_and_parse(
        &self,
        headers: &WebhookHeaders<'_>,
        body: &[u8],
        now: SystemTime,
    ) -> Result<WebhookDelivery, WebhookError> {
        let timestamp = self.verify(headers, body, now)?;
        Ok(WebhookDelivery {
            id: headers.id.to_owned(),
            timestamp,
            event: WebhookEvent::parse(body)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"super-secret-key-bytes";

    fn secret() -> String {
        format!("whsec_{}", BASE64.encode(KEY))
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_vector() {
        // HMAC-SHA256(key, "msg_1.1734425918.{\"eventName\":\"testing.testEvent\"}"), computed
        // independently with: printf '%s' 'msg_1.1734425918.{"eventName":"testing.testEvent"}' |
        //   openssl dgst -sha256 -hmac 'super-secret-key-bytes' -binary | base64
        let body = br#"{"eventName":"testing.testEvent"}"#;
        let signature = WebhookSecret::parse(&secret())
            .unwrap()
            .sign("msg_1", 1734425918, body);
        assert_eq!(signature, "v1,UkN9D8SnmPZwKUF8X/+rzpIA9oKjBWUvizrzleESYgo=");
        let verifier = WebhookVerifier::new(&secret()).unwrap();
        let headers = WebhookHeaders::new("msg_1", "1734425918", &signature);
        assert_eq!(
            verifier.verify(&headers, body, at(1734425918)),
            Ok(1734425918)
        );
    }

    #[test]
    fn secret_parsing() {
        assert!(WebhookSecret::parse(&secret()).is_ok());
        // Without the prefix, the value is read as base64.
        assert!(WebhookSecret::parse(&BASE64.encode(KEY)).is_ok());
        for bad in ["", "whsec_", "whsec_!!!notbase64", "not base64 at all"] {
            assert!(
                matches!(
                    WebhookSecret::parse(bad),
                    Err(WebhookError::InvalidSecret(_))
                ),
                "{bad:?}"
            );
        }
        assert!(!format!("{:?}", WebhookSecret::parse(&secret()).unwrap()).contains("c3Vw"));
        assert_eq!(WebhookSecret::from_bytes(KEY).to_whsec(), secret());
        assert!(matches!(
            WebhookVerifier::with_secrets(Vec::<String>::new()),
            Err(WebhookError::NoSecret)
        ));
    }

    #[test]
    fn timestamp_table() {
        let body = b"{}";
        let secret = WebhookSecret::parse(&secret()).unwrap();
        let verifier = WebhookVerifier::new(&secret.to_whsec()).unwrap();
        let ts = 1_700_000_000u64;
        let sig = secret.sign("m", ts as i64, body);
        let cases: Vec<(u64, bool)> = vec![
            (ts, true),
            (ts + 300, true),
            (ts - 300, true),
            (ts + 301, false),
            (ts - 301, false),
            (ts + 86_400, false),
        ];
        for (now, ok) in cases {
            let result = verifier.verify(
                &WebhookHeaders::new("m", &ts.to_string(), &sig),
                body,
                at(now),
            );
            assert_eq!(result.is_ok(), ok, "now {now}: {result:?}");
            if !ok {
                assert!(matches!(result, Err(WebhookError::StaleTimestamp { .. })));
            }
        }
        let bad = verifier.verify(&WebhookHeaders::new("m", "yesterday", &sig), body, at(ts));
        assert_eq!(bad, Err(WebhookError::InvalidTimestamp));
    }
}
