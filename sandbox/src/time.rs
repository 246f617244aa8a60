//! Wall-clock helpers: Unix seconds and RFC 3339 strings, without a date-time dependency.
//!
//! Only recorded facts (when an event arrived, a webhook's `eventTime`) use the wall clock.
//! Expiry and rate limiting use tokio's clock instead, so tests can pause it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (negative before it).
pub(crate) fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// `2025-02-02T02:56:28.845Z`, the form Loops uses for timestamps in list answers.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since.as_secs();
    let millis = since.subsec_millis();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Serializes a `SystemTime` as an RFC 3339 string (for the inspection API's JSON).
pub(crate) fn serialize_rfc3339<S: serde::Serializer>(
    time: &SystemTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_734_425_918_000, "2024-12-17T08:58:38.000Z"),
            (1_738_464_988_845, "2025-02-02T02:56:28.845Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        ];
        for (millis, expected) in cases {
            let t = UNIX_EPOCH + Duration::from_millis(millis);
            assert_eq!(rfc3339(t), expected);
        }
        assert_eq!(
            unix_seconds(UNIX_EPOCH + Duration::from_secs(42)),
            42,
            "seconds"
        );
        assert_eq!(unix_seconds(UNIX_EPOCH - Duration::from_secs(5)), -5);
    }
}
