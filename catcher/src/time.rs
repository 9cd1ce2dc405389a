//! Time stamps as the API shows them (RFC 3339, UTC, milliseconds) and
//! the dates a search may name (`before:2024-05-01`).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
#[must_use]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `ms` (since the epoch) as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
#[must_use]
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rest = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        (rest / 60) % 60,
        rest % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to a date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// A date to days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A search date, in milliseconds since the epoch: `YYYY-MM-DD` or
/// `YYYY/MM/DD` (midnight), optionally followed by `T` or a space and
/// `HH:MM` or `HH:MM:SS`, optionally followed by `Z` or `±HH:MM`. Without
/// an offset the time is read in `offset_minutes` (the `tz` parameter;
/// UTC by default). `None` when it is not such a date.
#[must_use]
pub fn parse_search_date(text: &str, offset_minutes: i64) -> Option<i64> {
    let bytes = text.trim().as_bytes();
    let num = |b: &[u8]| -> Option<u32> {
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(b).ok()?.parse().ok()
    };
    if bytes.len() < 10 || !matches!(bytes[4], b'-' | b'/') || bytes[7] != bytes[4] {
        return None;
    }
    let year = num(&bytes[..4])?;
    let month = num(&bytes[5..7])?;
    let day = num(&bytes[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut rest = &bytes[10..];
    let mut seconds: i64 = 0;
    if let Some((b'T' | b't' | b' ', time)) = rest.split_first() {
        let hh = num(time.get(..2)?)?;
        if time.get(2) != Some(&b':') {
            return None;
        }
        let mm = num(time.get(3..5)?)?;
        let mut used = 5;
        let mut ss = 0;
        if time.get(5) == Some(&b':') {
            ss = num(time.get(6..8)?)?;
            used = 8;
        }
        if hh > 23 || mm > 59 || ss > 60 {
            return None;
        }
        seconds = i64::from(hh * 3600 + mm * 60 + ss);
        rest = &time[used..];
    }
    let offset = match rest {
        [] => offset_minutes,
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let minutes = i64::from(num(&[*h1, *h2])? * 60 + num(&[*m1, *m2])?);
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    Some((days * 86_400 + seconds - offset * 60) * 1000)
}

/// A `tz` parameter as minutes east of UTC: `UTC`, `Z`, `+HH:MM`,
/// `-HH:MM`, `+HHMM`. `None` for anything else (then dates are UTC).
#[must_use]
pub fn parse_offset(tz: &str) -> Option<i64> {
    let tz = tz.trim();
    if tz.eq_ignore_ascii_case("utc")
        || tz.eq_ignore_ascii_case("z")
        || tz.eq_ignore_ascii_case("gmt")
    {
        return Some(0);
    }
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 60 + minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
    }

    #[test]
    fn parses_search_dates() {
        assert_eq!(parse_search_date("2024-02-29", 0), Some(1_709_164_800_000));
        assert_eq!(parse_search_date("2024/02/29", 0), Some(1_709_164_800_000));
        assert_eq!(
            parse_search_date("2024-02-29T12:34:56Z", 0),
            Some(1_709_210_096_000)
        );
        assert_eq!(
            parse_search_date("2024-02-29 12:34", 0),
            Some(1_709_210_040_000)
        );
        assert_eq!(
            parse_search_date("2024-02-29T14:34:56+02:00", 0),
            Some(1_709_210_096_000)
        );
        assert_eq!(
            parse_search_date("2024-02-29", 60),
            Some(1_709_164_800_000 - 3_600_000)
        );
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-02-29T25:00",
            "2024-02-29X",
        ] {
            assert_eq!(parse_search_date(bad, 0), None, "{bad}");
        }
        assert_eq!(parse_offset("+02:00"), Some(120));
        assert_eq!(parse_offset("-0530"), Some(-330));
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("Pacific/Auckland"), None);
    }
}
