//! Queue ids: short, unique, sortable by arrival, safe as file names.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A queue entry's id: upper-case hexadecimal, as Postfix's (arrival
/// seconds, microseconds, process id and a counter).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(String);

impl QueueId {
    /// A new id, unique in this spool.
    #[must_use]
    pub fn generate() -> QueueId {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed) & 0xFFF;
        let pid = std::process::id() & 0xFFFF;
        QueueId(format!(
            "{:X}{:05X}{pid:04X}{n:03X}",
            now.as_secs(),
            now.subsec_micros()
        ))
    }

    /// Parses an id as `queue list` shows it.
    ///
    /// ```
    /// use mailwire_queue::QueueId;
    ///
    /// assert!(QueueId::parse("6930A1B20F1E20C4A000").is_some());
    /// assert!(QueueId::parse("../etc/passwd").is_none());
    /// ```
    #[must_use]
    pub fn parse(text: &str) -> Option<QueueId> {
        let ok = !text.is_empty()
            && text.len() <= 40
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
        ok.then(|| QueueId(text.to_owned()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for QueueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_unique_and_parse() {
        let a = QueueId::generate();
        let b = QueueId::generate();
        assert_ne!(a, b);
        assert_eq!(QueueId::parse(a.as_str()), Some(a));
        assert!(QueueId::parse("abc").is_none());
        assert!(QueueId::parse("").is_none());
    }
}
