//! When a deferred message is tried again: a list of intervals whose last
//! one repeats, and the age at which the queue gives up.

use std::fmt;
use std::time::Duration;

/// The default retry schedule: every 30 minutes, as RFC 5321 §4.5.4.1
/// asks ("the retry interval SHOULD be at least 30 minutes").
pub const DEFAULT_SCHEDULE: &str = "30m";

/// The default longest time a message stays queued: 5 days (RFC 5321
/// §4.5.4.1: "the give-up time generally needs to be at least 4-5 days").
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 24 * 3600);

/// Parses a duration written `30s`, `5m`, `2h` or `5d`; a bare number is
/// seconds.
///
/// ```
/// use std::time::Duration;
/// use mailwire_queue::parse_duration;
///
/// assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
/// assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
/// assert!(parse_duration("5 minutes").is_err());
/// ```
///
/// # Errors
///
/// Not a number with an optional `s`, `m`, `h` or `d`: the message says
/// what was given.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(bad_duration(text)),
    };
    let n: u64 = number.parse().map_err(|_| bad_duration(text))?;
    n.checked_mul(scale)
        .map(Duration::from_secs)
        .ok_or_else(|| bad_duration(text))
}

fn bad_duration(text: &str) -> String {
    format!("{text:?} is not a duration (write 30s, 5m, 2h or 5d; a bare number is seconds)")
}

/// Writes a duration the way [`parse_duration`] reads it (the largest
/// unit that divides it).
#[must_use]
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s != 0 && s.is_multiple_of(86_400) {
        format!("{}d", s / 86_400)
    } else if s != 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s != 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The intervals between attempts: after the first failed attempt the
/// first interval, after the second the second, and so on; the last
/// repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    intervals: Vec<Duration>,
}

impl RetrySchedule {
    /// Parses `1m,5m,30m,1h`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mailwire_queue::RetrySchedule;
    ///
    /// let s: RetrySchedule = "1s,2s".parse().unwrap();
    /// assert_eq!(s.after_attempt(1), Duration::from_secs(1));
    /// assert_eq!(s.after_attempt(2), Duration::from_secs(2));
    /// assert_eq!(s.after_attempt(7), Duration::from_secs(2));
    /// ```
    ///
    /// # Errors
    ///
    /// An empty list, an interval that is not a duration, or a zero
    /// interval.
    pub fn parse(text: &str) -> Result<RetrySchedule, String> {
        let mut intervals = Vec::new();
        for part in text.split(',') {
            let d = parse_duration(part)?;
            if d.is_zero() {
                return Err(format!(
                    "{:?}: a retry interval cannot be zero",
                    part.trim()
                ));
            }
            intervals.push(d);
        }
        if intervals.is_empty() {
            return Err("the retry schedule is empty".into());
        }
        Ok(RetrySchedule { intervals })
    }

    /// The wait after attempt number `attempts` (counted from 1) failed.
    #[must_use]
    pub fn after_attempt(&self, attempts: u32) -> Duration {
        let i = (attempts.max(1) as usize - 1).min(self.intervals.len() - 1);
        self.intervals[i]
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule::parse(DEFAULT_SCHEDULE).expect("the default schedule parses")
    }
}

impl std::str::FromStr for RetrySchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RetrySchedule::parse(s)
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.intervals.iter().map(|d| format_duration(*d)).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5d"), Ok(Duration::from_secs(432_000)));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5w").is_err());
        assert!(parse_duration("-5").is_err());
        assert_eq!(format_duration(Duration::from_secs(432_000)), "5d");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }

    #[test]
    fn schedule_repeats_its_last_interval() {
        let s = RetrySchedule::parse("1m,5m,30m").unwrap();
        assert_eq!(s.after_attempt(1), Duration::from_secs(60));
        assert_eq!(s.after_attempt(3), Duration::from_secs(1800));
        assert_eq!(s.after_attempt(100), Duration::from_secs(1800));
        assert_eq!(s.to_string(), "1m,5m,30m");
        assert!(RetrySchedule::parse("1m,0s").is_err());
        assert!(RetrySchedule::parse("1m,,5m").is_err());
        assert_eq!(RetrySchedule::default().to_string(), "30m");
    }
}
