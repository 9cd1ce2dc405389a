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

/// Parses a duration as every command line does
/// ([`crate::common::duration`]); `0` is no timeout.
///
/// # Errors
///
/// A sentence saying what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = crate::common::duration::parse_duration(text)?;
    if duration.is_zero() {
        return Ok(FOREVER);
    }
    if duration > FOREVER {
        return Err(format!("{text:?} is too long"));
    }
    Ok(duration)
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
