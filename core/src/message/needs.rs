//! What a message needs from the server: 8BITMIME, SMTPUTF8, BINARYMIME.

use super::header::body_start;
use crate::wire::params::BodyType;

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
    /// Lines are measured as they will be sent: CRLF, a bare LF and a bare
    /// CR each end a line (the DATA and BDAT encoders turn the bare ones
    /// into CRLF), and the line end is not counted. The header section
    /// ends at the first empty line.
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
    pub fn body_type(&self) -> BodyType {
        if self.binary {
            BodyType::BinaryMime
        } else if self.eight_bit {
            BodyType::EightBitMime
        } else {
            BodyType::SevenBit
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
    /// Where the lines stand across pieces.
    lines: LineMeter,
}

impl BodyScanner {
    /// Scans the next piece of the body.
    pub fn feed(&mut self, piece: &[u8]) {
        if piece.is_empty() {
            return;
        }
        self.eight_bit |= !piece.is_ascii();
        self.nul |= memchr::memchr(0, piece).is_some();
        self.lines.feed(piece);
    }

    /// What the body needs.
    #[must_use]
    pub fn finish(&self) -> BodyNeeds {
        let longest = self.lines.longest();
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

/// The lengths of lines as the client sends them, measured piece by
/// piece: CRLF, a bare LF and a bare CR each end a line (as in
/// [`normalize`](crate::wire::dot::normalize)), and a CRLF split between
/// two pieces is still one line end.
#[derive(Debug, Clone, Copy, Default)]
struct LineMeter {
    /// Octets of the line in progress.
    line: usize,
    /// The last octet seen was a CR, which ended a line: an LF next is its
    /// partner, not another line end.
    after_cr: bool,
    /// The longest line ended so far.
    longest: usize,
}

impl LineMeter {
    fn feed(&mut self, piece: &[u8]) {
        let mut pos = 0;
        if std::mem::take(&mut self.after_cr) && piece.first() == Some(&b'\n') {
            pos = 1;
        }
        while let Some(found) = memchr::memchr2(b'\r', b'\n', piece.get(pos..).unwrap_or_default())
        {
            let end = pos + found;
            self.longest = self.longest.max(self.line + found);
            self.line = 0;
            pos = end + 1;
            if piece.get(end) == Some(&b'\r') {
                match piece.get(pos) {
                    Some(b'\n') => pos += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line += piece.len().saturating_sub(pos);
    }

    /// The longest line, the one in progress included.
    fn longest(&self) -> usize {
        self.longest.max(self.line)
    }
}

/// The longest line in octets as it will be sent, without its line end.
fn longest_line(message: &[u8]) -> usize {
    let mut meter = LineMeter::default();
    meter.feed(message);
    meter.longest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scanner_agrees_with_a_whole_scan_at_any_split() {
        let long = format!("{}\r\n", "x".repeat(MAX_LINE));
        let too_long = format!("{}\n", "x".repeat(MAX_LINE + 1));
        let cr_split = format!("{}\r{}\r\n", "x".repeat(600), "x".repeat(600));
        let cr_too_long = format!("a\r\r{}\r", "x".repeat(MAX_LINE + 1));
        let bodies: [&[u8]; 10] = [
            b"plain\r\nlines\r\n",
            b"caf\xc3\xa9\r\n",
            b"nul\0here\r\n",
            long.as_bytes(),
            too_long.as_bytes(),
            b"no final line end",
            b"bare\rcr\r\n\r\n",
            cr_split.as_bytes(),
            cr_too_long.as_bytes(),
            b"\r\r\n\n\r",
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
        // A trailing bare CR ends the line: it is sent as CRLF.
        assert_eq!(longest_line(b"ab\r\n\r\nabc\r"), 3);
    }

    /// The longest line of `normalize(message)`, what goes on the wire.
    fn longest_sent(message: &[u8]) -> usize {
        let sent = crate::wire::dot::normalize(message);
        sent.split(|&b| b == b'\n')
            .map(|line| line.strip_suffix(b"\r").unwrap_or(line).len())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn lines_are_measured_as_they_are_sent() {
        let x = |n: usize| "x".repeat(n);
        let bodies = [
            // Long between LFs, short between the line ends that are sent.
            format!("{}\r{}\r\n", x(600), x(600)),
            format!("{}\r\r\n", x(998)),
            format!("{}\r\r{}\n", x(998), x(998)),
            format!("{}\n\r{}", x(998), x(998)),
            // Really too long.
            format!("{}\r{}\r\n", x(600), x(999)),
            format!("{}\r", x(999)),
            format!("{}\n", x(999)),
            format!("a\r\n{}", x(999)),
        ];
        for body in bodies {
            let message = format!("Subject: x\r\n\r\n{body}");
            let sent = longest_sent(message.as_bytes());
            assert_eq!(longest_line(message.as_bytes()), sent, "{body:?}");
            assert_eq!(
                BodyNeeds::scan(message.as_bytes()).binary,
                sent > MAX_LINE,
                "{body:?}"
            );
        }
        let fits = format!("Subject: x\r\n\r\n{}\r{}\r\n", x(600), x(600));
        assert!(!BodyNeeds::scan(fits.as_bytes()).binary);
    }

    #[test]
    fn body_type() {
        let mut n = BodyNeeds::default();
        assert_eq!(n.body_type(), BodyType::SevenBit);
        n.eight_bit = true;
        assert_eq!(n.body_type(), BodyType::EightBitMime);
        n.binary = true;
        assert_eq!(n.body_type(), BodyType::BinaryMime);
    }
}
