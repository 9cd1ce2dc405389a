//! Identifiers made from the caller's random source: Message-IDs and the
//! queue ids of trace headers.

use super::MessageDate;
use crate::random::RandomSource;
use crate::wire::address::Domain;

/// Lower-case hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";
/// Characters of a trace id: upper-case letters and digits without the
/// easily confused `0`, `1`, `I` and `O`.
const TRACE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new `msg-id` (RFC 5322 §3.6.4), angle brackets included:
/// `<seconds.random@domain>`, with 128 random bits in hex.
///
/// ```
/// use mailwire_core::message::{MessageDate, message_id};
/// use mailwire_core::SeededRandom;
///
/// let id = message_id(&MessageDate::utc(1_000_000_000)?, &SeededRandom::new(1), &"example.org".parse()?);
/// assert!(id.starts_with("<1000000000.") && id.ends_with("@example.org>"));
/// assert_eq!(id.len(), "<1000000000.@example.org>".len() + 32);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn message_id(date: &MessageDate, random: &dyn RandomSource, domain: &Domain) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    let mut id = format!("<{}.", date.unix_seconds());
    for b in bytes {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    id.push('@');
    id.push_str(&domain.to_string());
    id.push('>');
    id
}

/// A new 16-character queue id for `Received: … id …` and the server's
/// reply to DATA: 80 random bits in an unambiguous upper-case alphabet.
///
/// ```
/// use mailwire_core::message::trace_id;
/// use mailwire_core::SeededRandom;
///
/// let id = trace_id(&SeededRandom::new(7));
/// assert_eq!(id.len(), 16);
/// assert!(id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
/// ```
#[must_use]
pub fn trace_id(random: &dyn RandomSource) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    bytes
        .iter()
        .map(|&b| char::from(TRACE_ALPHABET[usize::from(b & 0x1f)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn ids_are_reproducible_and_distinct() {
        let date = MessageDate::utc(5).unwrap();
        let domain: Domain = "[192.0.2.1]".parse().unwrap();
        let (a, b) = (SeededRandom::new(3), SeededRandom::new(3));
        let first = message_id(&date, &a, &domain);
        assert_eq!(first, message_id(&date, &b, &domain));
        assert_ne!(first, message_id(&date, &a, &domain));
        assert!(first.starts_with("<5.") && first.ends_with("@[192.0.2.1]>"));
        assert_ne!(trace_id(&a), trace_id(&a));
    }
}
