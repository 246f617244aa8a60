//! What every fake records about the requests it served and the webhooks it sent: shared
//! shapes, so tests can use one vocabulary for all fakes.

use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

use serde::Serialize;

use crate::time::serialize_rfc3339;

/// A fault the sandbox injected into a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum InjectedFault {
    /// A 429 forced by `force_429_next`/`force_429_rate`.
    Forced429,
    /// A 5xx from `error_rate`/`fail_next`; the request was not applied.
    ServerError,
    /// The request was applied, then the connection was cut.
    Dropped,
    /// A 403 because the sandbox was told to block the client (Kommo's IP block).
    Blocked,
    /// A 402 because the sandbox was told the account's paid period has ended (Kommo).
    PaymentRequired,
    /// A 504 because a batch was larger than the configured threshold (Kommo); not applied.
    GatewayTimeout,
}

/// One API request as the sandbox saw it (inspection routes are not recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestRecord {
    /// The endpoint: the method and the path without the query, with numeric path segments
    /// replaced by `{id}` where the fake has ids in paths (`"POST /v1/events/send"`,
    /// `"GET /api/v4/leads/{id}"`).
    pub endpoint: String,
    /// The path as requested, without the query (`"/api/v4/leads/20000001"`).
    pub path: String,
    /// The status the sandbox answered (for a dropped request: the status it started to send).
    pub status: u16,
    /// The injected fault, if any.
    pub fault: Option<InjectedFault>,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// When the answer was decided.
    #[serde(serialize_with = "serialize_rfc3339")]
    pub at: SystemTime,
}

/// Request counts for one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EndpointStats {
    /// Requests received.
    pub total: u64,
    /// Requests by answered status.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests whose connection was cut after they were applied.
    pub dropped: u64,
}

/// Request counts, so tests can assert "no 429 storm" or "no tight retry loop".
///
/// Endpoints are named `"METHOD /path"`, e.g. `"POST /v1/events/send"` (Loops) or
/// `"PATCH /api/v4/leads/{id}"` (Kommo: numeric path segments become `{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestStats {
    /// Requests received on API routes.
    pub total: u64,
    /// Requests by answered status.
    pub by_status: BTreeMap<u16, u64>,
    /// Counts per endpoint.
    pub by_endpoint: BTreeMap<String, EndpointStats>,
}

impl RequestStats {
    pub(crate) fn count(&mut self, endpoint: &str, status: u16, dropped: bool) {
        self.total += 1;
        *self.by_status.entry(status).or_default() += 1;
        let stats = self.by_endpoint.entry(endpoint.to_owned()).or_default();
        stats.total += 1;
        *stats.by_status.entry(status).or_default() += 1;
        if dropped {
            stats.dropped += 1;
        }
    }

    /// Requests to `endpoint` (e.g. `"POST /v1/events/send"`, `"GET /api/v4/leads/{id}"`).
    pub fn requests_to(&self, endpoint: &str) -> u64 {
        self.by_endpoint.get(endpoint).map_or(0, |s| s.total)
    }

    /// Answers with `status`, all endpoints together.
    pub fn with_status(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Answers with `status` from `endpoint`.
    pub fn endpoint_status(&self, endpoint: &str, status: u16) -> u64 {
        self.by_endpoint
            .get(endpoint)
            .and_then(|s| s.by_status.get(&status))
            .copied()
            .unwrap_or(0)
    }

    /// Answers with a 5xx status.
    pub fn server_errors(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(status, _)| (500..600).contains(*status))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The request log keeps this many entries; the counters in [`RequestStats`] stay exact.
pub(crate) const MAX_REQUEST_LOG: usize = 10_000;

/// The request log and counters of one fake.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    pub(crate) records: VecDeque<RequestRecord>,
    pub(crate) stats: RequestStats,
}

impl RequestLog {
    pub(crate) fn record(&mut self, record: RequestRecord) {
        self.stats.count(
            &record.endpoint,
            record.status,
            record.fault == Some(InjectedFault::Dropped),
        );
        if self.records.len() == MAX_REQUEST_LOG {
            self.records.pop_front();
        }
        self.records.push_back(record);
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The receiver answered with this status.
    Status(u16),
    /// No answer: connection refused, reset, timed out...
    TransportError(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count() {
        let mut stats = RequestStats::default();
        stats.count("POST /v1/events/send", 200, false);
        stats.count("POST /v1/events/send", 503, false);
        stats.count("POST /v1/events/send", 200, true);
        stats.count("GET /v1/lists", 429, false);
        assert_eq!(stats.total, 4);
        assert_eq!(stats.requests_to("POST /v1/events/send"), 3);
        assert_eq!(stats.endpoint_status("POST /v1/events/send", 200), 2);
        assert_eq!(stats.with_status(429), 1);
        assert_eq!(stats.server_errors(), 1);
        assert_eq!(stats.by_endpoint["POST /v1/events/send"].dropped, 1);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["byStatus"]["429"], 1);
    }
}
