//! `--timeout DURATION`: one bound for every wait of a send (swaks'
//! option and default, 30 s).

use std::time::Duration;

/// The timeout option of `mailwire send`.
#[derive(Debug, Clone, clap::Args)]
pub struct TimeoutArgs {
    /// Bound every wait of the session: the connect, the greeting, each
    /// reply, the TLS handshake, the data (swaks' --timeout). `30s`, `5m`,
    /// `2h`, `5d`; a bare number is seconds; 0 waits for ever.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// A long wait for `0` (no timeout): far beyond any session.
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Parses `30s`, `5m`, `2h`, `5d` or a bare number of seconds; `0` is no
/// timeout.
///
/// # Errors
///
/// A sentence saying what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds_per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is not a duration: use 30s, 5m, 2h, 5d or seconds"
            ));
        }
    };
    let count: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: use 30s, 5m, 2h, 5d or seconds"))?;
    if count == 0 {
        return Ok(FOREVER);
    }
    count
        .checked_mul(seconds_per)
        .map(Duration::from_secs)
        .filter(|d| *d <= FOREVER)
        .ok_or_else(|| format!("{text:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_swaks_reads_them() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5d"), Ok(Duration::from_secs(432_000)));
        assert_eq!(parse_duration("0"), Ok(FOREVER));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
    }
}
