//! The one syntax for durations on every command line: a number followed
//! by `s`, `m`, `h` or `d` (`30s`, `5m`, `2h`, `5d`); a bare number is
//! seconds.

/// Parses a duration: `30s`, `5m`, `2h`, `5d`, or a bare number of
/// seconds (`90`). Zero is allowed; fractions and negative numbers are not.
/// The one parser is the library's ([`mailwire_queue::parse_duration`],
/// which the queue's retry schedules use too), so every command line reads
/// durations the same way.
pub use mailwire_queue::parse_duration;

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
