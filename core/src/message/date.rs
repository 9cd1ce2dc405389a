//! RFC 5322 §3.3 dates, formatted from a Unix timestamp and a UTC offset
//! that the caller supplies (the core reads no clock).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Largest UTC offset accepted, in minutes (±23:59).
pub const MAX_UTC_OFFSET_MINUTES: i16 = 23 * 60 + 59;

/// Seconds of 1900-01-01T00:00:00Z: the earliest year RFC 5322 allows.
const MIN_UNIX: i64 = -2_208_988_800;
/// Seconds of 9999-12-31T23:59:59Z: the last four-digit year.
const MAX_UNIX: i64 = 253_402_300_799;

/// Why a [`MessageDate`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// The local time falls outside the years 1900 to 9999.
    #[error("date outside the years 1900 to 9999")]
    OutOfRange,
    /// The UTC offset is over ±23:59.
    #[error("UTC offset of {0} minutes is over ±23:59")]
    InvalidOffset(i16),
}

/// A point in time with the UTC offset to show it in: what the `Date:`,
/// `Resent-Date:` and `Received:` headers carry.
///
/// The caller reads the clock (and the local offset, if it wants local
/// time) and passes them in; [`Display`](fmt::Display) writes the RFC 5322
/// form, e.g. `Sun, 22 Nov 2026 12:23:06 +0000`.
///
/// ```
/// use mailwire_core::message::MessageDate;
///
/// let date = MessageDate::new(1_000_000_000, 120)?;
/// assert_eq!(date.to_string(), "Sun, 09 Sep 2001 03:46:40 +0200");
/// # Ok::<(), mailwire_core::message::DateError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageDate {
    unix_seconds: i64,
    offset_minutes: i16,
}

impl MessageDate {
    /// The instant `unix_seconds` after 1970-01-01T00:00:00Z, shown at
    /// `utc_offset_minutes` east of UTC (negative: west).
    pub fn new(unix_seconds: i64, utc_offset_minutes: i16) -> Result<Self, DateError> {
        if utc_offset_minutes.unsigned_abs() > MAX_UTC_OFFSET_MINUTES.unsigned_abs() {
            return Err(DateError::InvalidOffset(utc_offset_minutes));
        }
        let local = unix_seconds
            .checked_add(i64::from(utc_offset_minutes) * 60)
            .ok_or(DateError::OutOfRange)?;
        if !(MIN_UNIX..=MAX_UNIX).contains(&local) {
            return Err(DateError::OutOfRange);
        }
        Ok(MessageDate {
            unix_seconds,
            offset_minutes: utc_offset_minutes,
        })
    }

    /// The instant `unix_seconds`, shown in UTC (`+0000`).
    pub fn utc(unix_seconds: i64) -> Result<Self, DateError> {
        Self::new(unix_seconds, 0)
    }

    /// A [`SystemTime`] the caller read, shown at `utc_offset_minutes`.
    /// Sub-second precision is dropped.
    pub fn from_system_time(time: SystemTime, utc_offset_minutes: i16) -> Result<Self, DateError> {
        let seconds = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).map_err(|_| DateError::OutOfRange)?,
            Err(before) => {
                let before = before.duration();
                let whole = i64::try_from(before.as_secs()).map_err(|_| DateError::OutOfRange)?;
                // Round towards the past, as the clock would have read.
                if before.subsec_nanos() > 0 {
                    -whole - 1
                } else {
                    -whole
                }
            }
        };
        Self::new(seconds, utc_offset_minutes)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }

    /// Minutes east of UTC.
    pub fn utc_offset_minutes(&self) -> i16 {
        self.offset_minutes
    }
}

/// Year, month (1..=12) and day (1..=31) of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl fmt::Display for MessageDate {
    /// `day-name "," day month year hour ":" minute ":" second zone`, e.g.
    /// `Thu, 01 Jan 1970 00:00:00 +0000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.unix_seconds + i64::from(self.offset_minutes) * 60;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        let weekday = WEEKDAYS
            .get(usize::try_from(days.rem_euclid(7)).unwrap_or(0))
            .copied()
            .unwrap_or("Thu");
        let month_name = usize::try_from(month - 1)
            .ok()
            .and_then(|m| MONTHS.get(m))
            .copied()
            .unwrap_or("Jan");
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let offset = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{weekday}, {day:02} {month_name} {year:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60,
            offset / 60,
            offset % 60,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn show(secs: i64, offset: i16) -> String {
        MessageDate::new(secs, offset).unwrap().to_string()
    }

    #[test]
    fn known_instants() {
        assert_eq!(show(0, 0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(show(1_000_000_000, 0), "Sun, 09 Sep 2001 01:46:40 +0000");
        assert_eq!(show(1_709_164_800, 0), "Thu, 29 Feb 2024 00:00:00 +0000");
        assert_eq!(show(951_782_400, 0), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(show(1_795_350_186, 0), "Sun, 22 Nov 2026 12:23:06 +0000");
        assert_eq!(show(-1, 0), "Wed, 31 Dec 1969 23:59:59 +0000");
        assert_eq!(show(MIN_UNIX, 0), "Mon, 01 Jan 1900 00:00:00 +0000");
        assert_eq!(show(MAX_UNIX, 0), "Fri, 31 Dec 9999 23:59:59 +0000");
    }

    #[test]
    fn offsets_shift_the_local_time() {
        assert_eq!(show(0, 330), "Thu, 01 Jan 1970 05:30:00 +0530");
        assert_eq!(show(0, -210), "Wed, 31 Dec 1969 20:30:00 -0330");
        // The year boundary that tcllib's smtpd gets wrong.
        assert_eq!(show(1_798_759_800, 60), "Fri, 01 Jan 2027 00:30:00 +0100");
        assert_eq!(
            show(0, MAX_UTC_OFFSET_MINUTES),
            "Thu, 01 Jan 1970 23:59:00 +2359"
        );
    }

    #[test]
    fn limits() {
        assert_eq!(
            MessageDate::new(0, 24 * 60),
            Err(DateError::InvalidOffset(1440))
        );
        assert_eq!(
            MessageDate::new(0, i16::MIN),
            Err(DateError::InvalidOffset(i16::MIN))
        );
        assert_eq!(MessageDate::utc(MIN_UNIX - 1), Err(DateError::OutOfRange));
        assert_eq!(MessageDate::utc(MAX_UNIX + 1), Err(DateError::OutOfRange));
        assert_eq!(MessageDate::new(MAX_UNIX, 1), Err(DateError::OutOfRange));
        assert_eq!(MessageDate::new(i64::MAX, 1), Err(DateError::OutOfRange));
    }

    #[test]
    fn system_time() {
        let after = UNIX_EPOCH + Duration::new(1_000_000_000, 999);
        assert_eq!(
            MessageDate::from_system_time(after, 0)
                .unwrap()
                .unix_seconds(),
            1_000_000_000
        );
        let before = UNIX_EPOCH - Duration::new(1, 5);
        assert_eq!(
            MessageDate::from_system_time(before, 0)
                .unwrap()
                .unix_seconds(),
            -2
        );
    }

    #[test]
    fn every_day_of_a_leap_cycle_matches_a_naive_count() {
        // Walk day by day from 1900 and compare with a simple calendar.
        let mut days = MIN_UNIX / 86_400;
        for year in 1900..2404i64 {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let lengths = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            for (month, &len) in (1..).zip(lengths.iter()) {
                for day in 1..=len {
                    assert_eq!(civil_from_days(days), (year, month, day));
                    days += 1;
                }
            }
        }
    }
}
