//! The one syntax for durations on every command line: a number followed
//! by `s`, `m`, `h` or `d` (`30s`, `5m`, `2h`, `5d`); a bare number is
//! seconds.

use std::time::Duration;

/// Parses a duration: `30s`, `5m`, `2h`, `5d`, or a bare number of
/// seconds (`90`). Zero is allowed; fractions and negative numbers are not.
///
/// # Errors
///
/// A sentence saying what was expected, for clap to show.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let expected = || {
        format!(
            "{text:?} is not a duration: expected a whole number with s, m, h or d (30s, 5m, 2h, 5d), or a bare number of seconds"
        )
    };
    if digits.is_empty() {
        return Err(expected());
    }
    let count: u64 = digits.parse().map_err(|_| expected())?;
    let seconds_per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(expected()),
    };
    count
        .checked_mul(seconds_per)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is too long a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("5d"), Ok(Duration::from_secs(432_000)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in [
            "",
            "s",
            "5w",
            "1.5h",
            "-5m",
            "5 m",
            "m5",
            "5ms",
            "99999999999999999999d",
        ] {
            let error = parse_duration(bad).expect_err(bad);
            assert!(!error.contains("Err("), "{error}");
        }
        assert!(parse_duration("213503982334602d").is_err(), "overflow");
    }
}
