//! xs:dateTime in UTC, as SAML uses it. The crate never reads a clock: callers pass `now`.

use std::fmt;

use crate::error::{Result, malformed};

/// An instant with millisecond precision, as milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(i64);

impl Instant {
    pub const fn from_unix_millis(ms: i64) -> Self {
        Instant(ms)
    }
    pub const fn from_unix_seconds(s: i64) -> Self {
        Instant(s.saturating_mul(1000))
    }
    pub const fn unix_millis(self) -> i64 {
        self.0
    }
    pub const fn unix_seconds(self) -> i64 {
        self.0.div_euclid(1000)
    }
    pub const fn plus_seconds(self, s: i64) -> Self {
        Instant(self.0.saturating_add(s.saturating_mul(1000)))
    }
    pub const fn minus_seconds(self, s: i64) -> Self {
        self.plus_seconds(s.saturating_neg())
    }

    /// Parses xs:dateTime. A zone is required (`Z` or `±hh:mm`); fractions of any length are
    /// accepted and truncated to milliseconds.
    pub fn parse(text: &str) -> Result<Self> {
        parse_datetime(text.trim()).ok_or_else(|| malformed(format!("not an xs:dateTime with a time zone: {text:?}")))
    }

    /// Writes `YYYY-MM-DDThh:mm:ss.mmmZ` (SAML's UTC form).
    pub fn to_xml(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1000);
        let millis = self.0.rem_euclid(1000);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
    }
}

fn parse_datetime(s: &str) -> Option<Instant> {
    let b = s.as_bytes();
    let (negative, b) = match b.first() {
        Some(b'-') => (true, b.get(1..)?),
        _ => (false, b),
    };
    let dash = b.iter().position(|c| *c == b'-')?;
    if dash < 4 {
        return None;
    }
    let year = digits(b.get(..dash)?)?;
    let year = if negative { -year } else { year };
    let rest = b.get(dash..)?;
    if rest.len() < 15 || rest.first() != Some(&b'-') || rest.get(3) != Some(&b'-') || rest.get(6) != Some(&b'T') {
        return None;
    }
    if rest.get(9) != Some(&b':') || rest.get(12) != Some(&b':') {
        return None;
    }
    let month = digits(rest.get(1..3)?)?;
    let day = digits(rest.get(4..6)?)?;
    let hour = digits(rest.get(7..9)?)?;
    let minute = digits(rest.get(10..12)?)?;
    let second = digits(rest.get(13..15)?)?;
    let mut tail = rest.get(15..)?;
    let mut millis = 0;
    if tail.first() == Some(&b'.') {
        let n = tail.iter().skip(1).take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let frac = tail.get(1..1 + n)?;
        for i in 0..3 {
            millis = millis * 10 + frac.get(i).map_or(0, |c| i64::from(c - b'0'));
        }
        tail = tail.get(1 + n..)?;
    }
    let offset_minutes = match tail {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 14 || m > 59 {
                return None;
            }
            let total = h * 60 + m;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let max_day = *month_days.get(usize::try_from(month - 1).ok()?)?;
    let end_of_day = hour == 24 && minute == 0 && second == 0 && millis == 0;
    if !(1..=max_day).contains(&day) || (hour > 23 && !end_of_day) || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(Instant(secs.checked_mul(1000)?.checked_add(millis)?))
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0')))
}

// Howard Hinnant's civil-calendar algorithms (public domain formulas).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(feature = "serde")]
impl serde::Serialize for Instant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Instant::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() -> Result<()> {
        let t = Instant::parse("2014-02-19T01:37:01Z")?;
        assert_eq!(t.unix_seconds(), 1_392_773_821);
        assert_eq!(t.to_string(), "2014-02-19T01:37:01.000Z");
        assert_eq!(Instant::parse("2014-02-19T02:37:01+01:00")?, t);
        assert_eq!(Instant::parse("2014-02-19T01:37:01.123456Z")?.unix_millis(), 1_392_773_821_123);
        assert_eq!(Instant::parse("1969-12-31T23:59:59.500Z")?.unix_millis(), -500);
        assert_eq!(Instant::parse("2000-02-29T00:00:00Z")?.to_string(), "2000-02-29T00:00:00.000Z");
        Ok(())
    }

    #[test]
    fn refuses_bad_forms() {
        for bad in [
            "2014-02-19T01:37:01",
            "2014-02-30T01:37:01Z",
            "2014-02-19 01:37:01Z",
            "2014-2-19T01:37:01Z",
            "2014-02-19T01:37:01.Z",
            "2014-02-19T25:00:00Z",
            "2014-02-19T01:37:01+15:00",
            "",
            "garbage",
        ] {
            assert!(Instant::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
