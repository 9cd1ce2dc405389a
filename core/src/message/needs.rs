//! What a message needs from the server: 8BITMIME, SMTPUTF8, BINARYMIME.

use super::header::body_start;
use crate::client::BodyKind;

/// Longest line SMTP carries as text, in octets without the line end
/// (RFC 5321 §4.5.3.1.6, RFC 5322 §2.1.1).
pub const MAX_LINE: usize = 998;

/// Which extensions a message needs, found by [`BodyNeeds::scan`] (and by
/// [`prepare`](super::prepare), which also looks at the envelope).
///
/// A client asks for `BODY=8BITMIME` and `SMTPUTF8` only when these say so,
/// and knows before it connects when a message cannot travel as text at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BodyNeeds {
    /// An octet over 0x7f somewhere (headers or body): `BODY=8BITMIME`
    /// (RFC 6152).
    pub eight_bit: bool,
    /// Non-ASCII in the header section (RFC 6532) or, when the envelope was
    /// checked too, in an envelope address (RFC 6531): `SMTPUTF8`.
    pub smtputf8: bool,
    /// A NUL octet, or a line over [`MAX_LINE`] octets: the message cannot
    /// go as 7bit or 8bit text, only as `BODY=BINARYMIME` over BDAT
    /// (RFC 3030).
    pub binary: bool,
}

impl BodyNeeds {
    /// Scans a whole message (header section and body) in one pass.
    ///
    /// Lines are counted between LFs, without the CR of a CRLF; the header
    /// section ends at the first empty line.
    #[must_use]
    pub fn scan(message: &[u8]) -> BodyNeeds {
        let headers_end = body_start(message);
        let (headers, body) = message.split_at(headers_end.min(message.len()));
        let mut needs = BodyNeeds {
            smtputf8: !headers.is_ascii(),
            ..BodyNeeds::default()
        };
        needs.eight_bit = needs.smtputf8 || !body.is_ascii();
        needs.binary = memchr::memchr(0, message).is_some() || longest_line(message) > MAX_LINE;
        needs
    }

    /// The body type to declare in `MAIL FROM` (binary wins over 8-bit).
    #[must_use]
    pub fn body_kind(&self) -> BodyKind {
        if self.binary {
            BodyKind::Binary
        } else if self.eight_bit {
            BodyKind::EightBit
        } else {
            BodyKind::SevenBit
        }
    }
}

/// [`BodyNeeds`] of a body read piece by piece (one too large to hold in
/// memory): feed every piece in order, then [`finish`](Self::finish). The
/// header section is scanned apart, with [`BodyNeeds::scan`]; merge the two
/// with [`BodyNeeds::merge`].
///
/// ```
/// use mailwire_core::message::{BodyNeeds, BodyScanner};
///
/// let mut scanner = BodyScanner::default();
/// scanner.feed(b"caf");
/// scanner.feed(b"\xc3\xa9\r\n");
/// let body = scanner.finish();
/// assert!(body.eight_bit && !body.binary);
/// let all = BodyNeeds::scan(b"Subject: hi\r\n\r\n").merge(body);
/// assert!(all.eight_bit && !all.smtputf8);
/// ```
#[derive(Debug, Clone, Default)]
pub struct BodyScanner {
    eight_bit: bool,
    nul: bool,
    /// Octets of the line in progress (a CR at its end included).
    line: usize,
    /// Whether the last octet seen was a CR.
    cr: bool,
    longest: usize,
}

impl BodyScanner {
    /// Scans the next piece of the body.
    pub fn feed(&mut self, piece: &[u8]) {
        if piece.is_empty() {
            return;
        }
        self.eight_bit |= !piece.is_ascii();
        self.nul |= memchr::memchr(0, piece).is_some();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', piece) {
            let mut len = self.line + (end - start);
            let cr_before = if end > start {
                piece.get(end - 1) == Some(&b'\r')
            } else {
                self.cr
            };
            if len > 0 && cr_before {
                len -= 1;
            }
            self.longest = self.longest.max(len);
            self.line = 0;
            start = end + 1;
        }
        self.line += piece.len() - start;
        self.cr = piece.last() == Some(&b'\r');
    }

    /// What the body needs.
    #[must_use]
    pub fn finish(&self) -> BodyNeeds {
        let longest = self.longest.max(self.line);
        BodyNeeds {
            eight_bit: self.eight_bit,
            smtputf8: false,
            binary: self.nul || longest > MAX_LINE,
        }
    }
}

impl BodyNeeds {
    /// What a message needs whose parts need `self` and `other`.
    #[must_use]
    pub fn merge(self, other: BodyNeeds) -> BodyNeeds {
        BodyNeeds {
            eight_bit: self.eight_bit || other.eight_bit,
            smtputf8: self.smtputf8 || other.smtputf8,
            binary: self.binary || other.binary,
        }
    }
}

/// The longest line in octets, without its line end (LF or CRLF).
fn longest_line(message: &[u8]) -> usize {
    let mut longest = 0;
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', message) {
        let mut len = end - start;
        if len > 0 && message.get(end - 1) == Some(&b'\r') {
            len -= 1;
        }
        longest = longest.max(len);
        start = end + 1;
    }
    longest.max(message.len().saturating_sub(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_agrees_with_a_whole_scan_at_any_split() {
        let long = format!("{}\r\n", "x".repeat(MAX_LINE));
        let too_long = format!("{}\n", "x".repeat(MAX_LINE + 1));
        let bodies: [&[u8]; 7] = [
            b"plain\r\nlines\r\n",
            b"caf\xc3\xa9\r\n",
            b"nul\0here\r\n",
            long.as_bytes(),
            too_long.as_bytes(),
            b"no final line end",
            b"bare\rcr\r\n\r\n",
        ];
        for body in bodies {
            let mut message = b"Subject: x\r\n\r\n".to_vec();
            message.extend_from_slice(body);
            let whole = BodyNeeds::scan(&message);
            for split in 0..=body.len() {
                for step in [1, 2, 7, body.len().max(1)] {
                    let mut scanner = BodyScanner::default();
                    let (a, b) = body.split_at(split);
                    for piece in a.chunks(step).chain(b.chunks(step)) {
                        scanner.feed(piece);
                    }
                    let merged = BodyNeeds::scan(b"Subject: x\r\n\r\n").merge(scanner.finish());
                    assert_eq!(merged, whole, "{body:?} split {split} step {step}");
                }
            }
        }
    }

    fn needs(message: &[u8]) -> (bool, bool, bool) {
        let n = BodyNeeds::scan(message);
        (n.eight_bit, n.smtputf8, n.binary)
    }

    #[test]
    fn classes() {
        assert_eq!(
            needs(b"Subject: hi\r\n\r\nplain\r\n"),
            (false, false, false)
        );
        assert_eq!(
            needs(b"Subject: hi\r\n\r\ncaf\xc3\xa9\r\n"),
            (true, false, false)
        );
        assert_eq!(
            needs(b"Subject: caf\xc3\xa9\r\n\r\nplain\r\n"),
            (true, true, false)
        );
        assert_eq!(
            needs(b"Subject: hi\r\n\r\nnul\0here\r\n"),
            (false, false, true)
        );
        assert_eq!(needs(b"Subject: hi\r\n\r\n\xff\0"), (true, false, true));
        assert_eq!(
            needs(b"Subject: hi\nTo: a@x\n\nbody \xe9\n"),
            (true, false, false)
        );
    }

    #[test]
    fn line_length_limit() {
        let line = |n: usize, end: &[u8]| {
            let mut m = b"Subject: x\r\n\r\n".to_vec();
            m.extend(std::iter::repeat_n(b'a', n));
            m.extend_from_slice(end);
            m
        };
        assert!(!BodyNeeds::scan(&line(998, b"\r\n")).binary);
        assert!(!BodyNeeds::scan(&line(998, b"\n")).binary);
        assert!(!BodyNeeds::scan(&line(998, b"")).binary);
        assert!(BodyNeeds::scan(&line(999, b"\r\n")).binary);
        assert!(BodyNeeds::scan(&line(999, b"")).binary);
        assert_eq!(longest_line(b"ab\r\n\r\nabc\r"), 4);
    }

    #[test]
    fn body_kind() {
        let mut n = BodyNeeds::default();
        assert_eq!(n.body_kind(), BodyKind::SevenBit);
        n.eight_bit = true;
        assert_eq!(n.body_kind(), BodyKind::EightBit);
        n.binary = true;
        assert_eq!(n.body_kind(), BodyKind::Binary);
    }
}
