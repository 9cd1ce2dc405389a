//! BDAT chunk framing (RFC 3030): the command header, exact-size chunk
//! reading and the policy checker for chunk data.

use bytes::BytesMut;

use super::{BodyPolicy, CRLF, Filter, Violations};

/// Writes a BDAT command: `BDAT <size>[ LAST]` CRLF (RFC 3030 §2).
pub fn write_bdat_header(size: u64, last: bool, out: &mut BytesMut) {
    // u64::MAX has 20 decimal digits.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        // n % 10 < 10, so the cast cannot truncate.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(b"BDAT ");
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
    if last {
        out.extend_from_slice(b" LAST");
    }
    out.extend_from_slice(CRLF);
}

/// The server side of one BDAT chunk: takes exactly the announced number of
/// octets from the input, across feeds.
#[derive(Debug, Clone)]
pub struct BdatReader {
    remaining: u64,
}

impl BdatReader {
    /// A reader for a chunk of `size` octets (the BDAT command's argument).
    #[must_use]
    pub fn new(size: u64) -> Self {
        Self { remaining: size }
    }

    /// Appends up to [`remaining`](Self::remaining) octets from the start of
    /// `input` to `out` and returns how many it took; the rest of `input`
    /// belongs to the next command.
    #[must_use = "bytes not consumed belong to the next command"]
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) -> usize {
        let chunk = self.take(input);
        out.extend_from_slice(chunk);
        chunk.len()
    }

    /// Like [`feed`](Self::feed), passing the octets through `checker` (the
    /// server's [`BodyPolicy`] for 7BIT and 8BITMIME bodies) on their way to
    /// `out`.
    #[must_use = "bytes not consumed belong to the next command"]
    pub fn feed_checked(
        &mut self,
        input: &[u8],
        checker: &mut BdatChecker,
        out: &mut BytesMut,
    ) -> usize {
        let chunk = self.take(input);
        checker.feed(chunk, out);
        chunk.len()
    }

    fn take<'a>(&mut self, input: &'a [u8]) -> &'a [u8] {
        let n = usize::try_from(self.remaining).map_or(input.len(), |r| r.min(input.len()));
        // n <= input.len(), and n <= remaining so the subtraction holds.
        self.remaining = self.remaining.saturating_sub(n as u64);
        input.get(..n).unwrap_or_default()
    }

    /// Octets of the chunk still to come.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Whether the whole chunk has been read.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }
}

/// Applies a [`BodyPolicy`] to a BDAT body (7BIT or 8BITMIME, never
/// BINARYMIME), streaming: bare LF and bare CR are normalised or flagged and
/// long lines flagged, exactly as [`Unstuffer`](super::Unstuffer) does, but without dots or a
/// terminator.
///
/// Its state persists across feeds and across the BDAT chunks of one message;
/// call [`finish`](Self::finish) after the LAST chunk.
#[derive(Debug, Clone)]
pub struct BdatChecker {
    filter: Filter,
}

impl BdatChecker {
    /// A checker for one message under `policy`.
    #[must_use]
    pub fn new(policy: BodyPolicy) -> Self {
        Self {
            filter: Filter::new(policy, false),
        }
    }

    /// Filters `input` (all of it) into `out`. A CR at the end of `input` is
    /// held until the next byte (or [`finish`](Self::finish)) decides it.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        let _ = self.filter.feed(input, out);
    }

    /// Ends the message: a CR still held is a bare CR, and an unterminated
    /// last line is measured as if it ended with CRLF. Then check
    /// [`violations`](Self::violations).
    pub fn finish(&mut self, out: &mut BytesMut) {
        self.filter.finish(out);
    }

    /// The violations of the policy seen so far in this message.
    #[must_use]
    pub fn violations(&self) -> Violations {
        self.filter.violations
    }

    /// Prepares for the next message (same policy).
    pub fn reset(&mut self) {
        self.filter.reset();
    }
}
