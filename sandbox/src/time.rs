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

/// `2025-02-02 02:56:28`: the form Kommo's legacy webhook fields use (notes' `date_create`,
/// tasks' `complete_till`), in UTC.
pub(crate) fn legacy_datetime(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let rem = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Parses `2025-02-02`, `2025-02-02T02:56:28Z`, `2025-02-02T02:56:28.845+03:00` (and a
/// space instead of the `T`) to unix seconds. `None` for anything else.
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, rest) = match text.find(['T', 't', ' ']) {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (year, month, day) = (
        number(parts.next()?)?,
        number(parts.next()?)?,
        number(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = days_from_civil(year, month as u32, day as u32) * 86_400;
    if let Some(rest) = rest {
        let (clock, offset) = match rest.find(['Z', 'z', '+', '-']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let clock = clock.split('.').next()?;
        let mut hms = clock.split(':');
        let h = number(hms.next()?)?;
        let m = number(hms.next()?)?;
        let s = hms.next().map_or(Some(0), number)?;
        if hms.next().is_some() || h > 23 || m > 59 || s > 60 {
            return None;
        }
        seconds += h * 3600 + m * 60 + s;
        match offset {
            "" | "Z" | "z" => {}
            _ => {
                let sign = if offset.starts_with('-') { -1 } else { 1 };
                let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
                if digits.len() != 4 {
                    return None;
                }
                let oh = number(&digits[..2])?;
                let om = number(&digits[2..])?;
                seconds -= sign * (oh * 3600 + om * 60);
            }
        }
    }
    Some(seconds)
}

/// A proleptic Gregorian date to days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

    #[test]
    fn legacy_and_parsed_datetimes() {
        assert_eq!(legacy_datetime(1_738_464_988), "2025-02-02 02:56:28");
        assert_eq!(legacy_datetime(0), "1970-01-01 00:00:00");
        let cases = [
            ("2025-02-02T02:56:28Z", Some(1_738_464_988)),
            ("2025-02-02 02:56:28", Some(1_738_464_988)),
            ("2025-02-02T05:56:28.845+03:00", Some(1_738_464_988)),
            ("2025-02-01T21:56:28-05:00", Some(1_738_464_988)),
            ("2000-02-29", Some(951_782_400)),
            ("1970-01-01T00:00", Some(0)),
            ("2025-13-01", None),
            ("yesterday", None),
            ("2025-02-02T02:56:28+3", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_datetime(text), want, "{text}");
        }
    }
}
