//! Values read from Kommo, and the casts a template can apply to them.

use std::fmt;

use serde_json::Number;

/// A value taken from Kommo data, before it goes to Loops.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Text(String),
    Number(Number),
    Bool(bool),
    /// Milliseconds since the Unix epoch.
    Date(i64),
}

impl Val {
    /// A text value, or `None` for the empty string (Kommo's way of saying "no value").
    pub(crate) fn text<S: AsRef<str> + Into<String>>(s: S) -> Option<Val> {
        if s.as_ref().trim().is_empty() {
            None
        } else {
            Some(Val::Text(s.into()))
        }
    }

    /// The value as text, without a copy when it already is text.
    pub(crate) fn into_text(self) -> String {
        match self {
            Val::Text(s) => s,
            other => other.to_string(),
        }
    }

    pub(crate) fn int(n: u64) -> Val {
        Val::Number(Number::from(n))
    }

    /// A float as a JSON number; whole floats become integers so `1200.0` prints as `1200`.
    pub(crate) fn float(f: f64) -> Option<Val> {
        if !f.is_finite() {
            return None;
        }
        if f.fract() == 0.0 && f.abs() < 9.0e15 {
            return Some(Val::Number(Number::from(f as i64)));
        }
        Number::from_f64(f).map(Val::Number)
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::Text(s) => f.write_str(s),
            Val::Number(n) => write!(f, "{n}"),
            Val::Bool(b) => write!(f, "{b}"),
            Val::Date(ms) => write!(f, "{ms}"),
        }
    }
}

/// The casts a reference may carry: `{lead.cf.123:number}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cast {
    Number,
    String,
    Bool,
    Date,
}

impl Cast {
    pub(crate) fn parse(name: &str) -> Option<Cast> {
        match name {
            "number" => Some(Cast::Number),
            "string" => Some(Cast::String),
            "bool" => Some(Cast::Bool),
            "date" => Some(Cast::Date),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Cast::Number => "number",
            Cast::String => "string",
            Cast::Bool => "bool",
            Cast::Date => "date",
        }
    }

    /// Applies the cast; `Err` explains why the value does not fit.
    pub(crate) fn apply(self, value: Val) -> Result<Val, String> {
        let fail = |v: &Val| Err(format!("{:?} is not a {}", v.to_string(), self.name()));
        match (self, value) {
            (Cast::String, v) => Ok(Val::Text(v.to_string())),
            (Cast::Number, Val::Number(n)) => Ok(Val::Number(n)),
            (Cast::Number, Val::Date(ms)) => Ok(Val::Number(Number::from(ms))),
            (Cast::Number, Val::Bool(b)) => Ok(Val::Number(Number::from(u8::from(b)))),
            (Cast::Number, v @ Val::Text(_)) => match parse_number(&v.to_string()) {
                Some(n) => Ok(n),
                None => fail(&v),
            },
            (Cast::Bool, Val::Bool(b)) => Ok(Val::Bool(b)),
            (Cast::Bool, Val::Number(n)) => Ok(Val::Bool(n.as_f64().is_some_and(|f| f != 0.0))),
            (Cast::Bool, v @ Val::Text(_)) => {
                match v.to_string().trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "y" | "on" => Ok(Val::Bool(true)),
                    "0" | "false" | "no" | "n" | "off" => Ok(Val::Bool(false)),
                    _ => fail(&v),
                }
            }
            (Cast::Bool, v @ Val::Date(_)) => fail(&v),
            (Cast::Date, Val::Date(ms)) => Ok(Val::Date(ms)),
            (Cast::Date, Val::Number(n)) => match n.as_f64() {
                Some(f) => Ok(Val::Date(epoch_to_millis(f))),
                None => fail(&Val::Number(n)),
            },
            (Cast::Date, v @ Val::Text(_)) => match parse_date(&v.to_string()) {
                Some(ms) => Ok(Val::Date(ms)),
                None => fail(&v),
            },
            (Cast::Date, v @ Val::Bool(_)) => fail(&v),
        }
    }
}

fn parse_number(s: &str) -> Option<Val> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Val::Number(Number::from(i)));
    }
    // Kommo accounts with a comma decimal separator send "12,5".
    let normalized = t.replace(',', ".");
    match normalized.parse::<f64>() {
        Ok(f)
            if normalized
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')) =>
        {
            Val::float(f)
        }
        _ => None,
    }
}

/// Kommo dates are Unix seconds; a value too large for seconds is taken as milliseconds.
fn epoch_to_millis(value: f64) -> i64 {
    if value.abs() >= 100_000_000_000.0 {
        value as i64
    } else {
        (value * 1000.0) as i64
    }
}

/// Parses the date forms Kommo shows: Unix seconds, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`
/// (also with `T` and a trailing `Z`), and `DD.MM.YYYY`. Times are UTC.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(Val::Number(n)) = parse_number(t) {
        return n.as_f64().map(epoch_to_millis);
    }
    let t = t.strip_suffix('Z').unwrap_or(t);
    let (date, time) = match t.split_once(['T', ' ']) {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let (y, m, d) = if date.contains('-') {
        let mut it = date.split('-');
        let y: i64 = it.next()?.parse().ok()?;
        let m: u32 = it.next()?.parse().ok()?;
        let d: u32 = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        (y, m, d)
    } else {
        let mut it = date.split('.');
        let d: u32 = it.next()?.parse().ok()?;
        let m: u32 = it.next()?.parse().ok()?;
        let y: i64 = it.next()?.parse().ok()?;
        if it.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let mut seconds = days_from_civil(y, m, d) * 86_400;
    if let Some(time) = time {
        let time = time.split('.').next()?;
        let mut it = time.split(':');
        let h: i64 = it.next()?.parse().ok()?;
        let mi: i64 = it.next()?.parse().ok()?;
        let sec: i64 = it.next().map_or(Some(0), |v| v.parse().ok())?;
        if it.next().is_some()
            || !(0..24).contains(&h)
            || !(0..60).contains(&mi)
            || !(0..61).contains(&sec)
        {
            return None;
        }
        seconds += h * 3600 + mi * 60 + sec;
    }
    Some(seconds * 1000)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Val {
        Val::Text(s.to_owned())
    }

    #[test]
    fn cast_table() {
        let n = |i: i64| Val::Number(Number::from(i));
        #[rustfmt::skip]
        let table: Vec<(Cast, Val, Result<Val, ()>)> = vec![
            (Cast::Number, t("14"), Ok(n(14))),
            (Cast::Number, t(" 1200 "), Ok(n(1200))),
            (Cast::Number, t("12,5"), Ok(Val::float(12.5).unwrap())),
            (Cast::Number, t("1e3"), Ok(n(1000))),
            (Cast::Number, t("abc"), Err(())),
            (Cast::Number, t("12 500"), Err(())),
            (Cast::Number, Val::Bool(true), Ok(n(1))),
            (Cast::String, n(42), Ok(t("42"))),
            (Cast::String, Val::Bool(false), Ok(t("false"))),
            (Cast::Bool, t("1"), Ok(Val::Bool(true))),
            (Cast::Bool, t("Yes"), Ok(Val::Bool(true))),
            (Cast::Bool, t("0"), Ok(Val::Bool(false))),
            (Cast::Bool, t("maybe"), Err(())),
            (Cast::Bool, n(0), Ok(Val::Bool(false))),
            (Cast::Date, t("1615845600"), Ok(Val::Date(1_615_845_600_000))),
            (Cast::Date, n(1_615_845_600), Ok(Val::Date(1_615_845_600_000))),
            (Cast::Date, n(1_615_845_600_123), Ok(Val::Date(1_615_845_600_123))),
            (Cast::Date, t("2021-03-15"), Ok(Val::Date(1_615_766_400_000))),
            (Cast::Date, t("2021-03-15 22:00:00"), Ok(Val::Date(1_615_845_600_000))),
            (Cast::Date, t("2021-03-15T22:00Z"), Ok(Val::Date(1_615_845_600_000))),
            (Cast::Date, t("15.03.2021"), Ok(Val::Date(1_615_766_400_000))),
            (Cast::Date, t("2021-02-30"), Err(())),
            (Cast::Date, t("2024-02-29"), Ok(Val::Date(1_709_164_800_000))),
            (Cast::Date, t("tomorrow"), Err(())),
            (Cast::Date, Val::Bool(true), Err(())),
        ];
        for (cast, input, expected) in table {
            let got = cast.apply(input.clone()).map_err(|_| ());
            assert_eq!(got, expected, "{cast:?} {input:?}");
        }
    }

    #[test]
    fn epoch_dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1969-12-31"), Some(-86_400_000));
        assert_eq!(parse_date("2000-03-01"), Some(951_868_800_000));
    }

    #[test]
    fn floats_print_cleanly() {
        assert_eq!(Val::float(1200.0).unwrap().to_string(), "1200");
        assert_eq!(Val::float(0.5).unwrap().to_string(), "0.5");
        assert!(Val::float(f64::NAN).is_none());
    }
}
