//! Message IDs: 22 characters of base62 (as Mailpit's look), derived from
//! the unique part of the Maildir file name (before `:2,`), so an ID
//! survives restarts and flag changes, and no ID is ever turned into a
//! path: it is only looked up in the index.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The 62 digits, in order.
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters in an ID (62^22 > 2^128).
pub const ID_LEN: usize = 22;

/// A message ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(u128);

impl Id {
    /// The ID of the message whose Maildir file name starts with `unique`
    /// (the name up to its `:2,` info part).
    #[must_use]
    pub fn of_unique(unique: &str) -> Id {
        let digest = Sha256::digest(unique.as_bytes());
        let mut first = [0u8; 16];
        first.copy_from_slice(&digest[..16]);
        Id(u128::from_be_bytes(first))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [b'0'; ID_LEN];
        let mut n = self.0;
        for slot in out.iter_mut().rev() {
            *slot = DIGITS[(n % 62) as usize];
            n /= 62;
        }
        // Only base62 digits were written.
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// Why a text is not an ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAnId;

impl fmt::Display for NotAnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a message ID")
    }
}

impl std::error::Error for NotAnId {}

impl FromStr for Id {
    type Err = NotAnId;

    /// Exactly 22 base62 digits whose value fits 128 bits; anything else
    /// (`..`, `/`, other lengths) is refused.
    fn from_str(text: &str) -> Result<Id, NotAnId> {
        if text.len() != ID_LEN {
            return Err(NotAnId);
        }
        let mut n: u128 = 0;
        for b in text.bytes() {
            let digit = match b {
                b'0'..=b'9' => b - b'0',
                b'A'..=b'Z' => b - b'A' + 10,
                b'a'..=b'z' => b - b'a' + 36,
                _ => return Err(NotAnId),
            };
            n = n
                .checked_mul(62)
                .and_then(|n| n.checked_add(u128::from(digit)))
                .ok_or(NotAnId)?;
        }
        Ok(Id(n))
    }
}

/// The unique part of a Maildir file name: up to the `:` of its info part
/// (`:2,FLAGS`), or all of it.
#[must_use]
pub fn unique_part(name: &str) -> &str {
    name.split_once(':').map_or(name, |(unique, _)| unique)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_stable() {
        let id = Id::of_unique("1700000000.M1P2Q3.host");
        let text = id.to_string();
        assert_eq!(text.len(), ID_LEN);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(text.parse::<Id>(), Ok(id));
        assert_eq!(Id::of_unique("1700000000.M1P2Q3.host"), id);
        assert_ne!(Id::of_unique("1700000000.M1P2Q4.host"), id);
        assert_eq!(Id(0).to_string(), "0".repeat(22));
        assert_eq!(Id(u128::MAX).to_string().parse::<Id>(), Ok(Id(u128::MAX)));
    }

    #[test]
    fn refuses_crafted_ids() {
        for bad in [
            "",
            "..",
            "../../etc/passwd",
            "latest",
            "aaaaaaaaaaaaaaaaaaaaa/",
            "aaaaaaaaaaaaaaaaaaaaa.",
            "zzzzzzzzzzzzzzzzzzzzzz",
            "aaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert_eq!(bad.parse::<Id>(), Err(NotAnId), "{bad:?}");
        }
    }

    #[test]
    fn unique_part_stops_at_the_info() {
        assert_eq!(unique_part("123.M4P5Q6.h:2,S"), "123.M4P5Q6.h");
        assert_eq!(unique_part("123.M4P5Q6.h"), "123.M4P5Q6.h");
    }
}
