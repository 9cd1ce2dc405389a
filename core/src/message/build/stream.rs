//! The streaming encoder: base64 in 76-column lines (RFC 2045 §6.8) fed
//! piece by piece, so a part of any size is encoded as it is sent with a
//! few kilobytes of state.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Input octets per encoded line: 57 octets make 76 base64 characters.
const LINE_INPUT: usize = 57;
/// Encoded characters per line, without the line end.
const LINE_OUTPUT: usize = 76;

/// Encodes a part's bytes as base64, piece by piece: 76 characters and a
/// CRLF a line, every line (the last too) ending in CRLF. Feeding the same
/// bytes in any pieces gives the same output as one
/// [`feed`](Self::feed) of the whole.
///
/// The encoder holds under 57 octets between calls; what it returns for a
/// piece is about 4/3 of it, so memory stays bounded by the piece size.
///
/// ```
/// use mailwire_core::message::{Base64Stream, base64_encoded_len};
///
/// let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
/// let mut encoder = Base64Stream::new();
/// let mut out = Vec::new();
/// for piece in data.chunks(100) {
///     encoder.feed(piece, &mut out);
/// }
/// encoder.finish(&mut out);
/// assert_eq!(out.len() as u64, base64_encoded_len(1000));
/// assert!(out.split(|&b| b == b'\n').all(|line| line.len() <= 77));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Base64Stream {
    /// Octets waiting for a whole line (fewer than [`LINE_INPUT`]).
    pending: Vec<u8>,
}

impl Base64Stream {
    /// A new encoder.
    #[must_use]
    pub fn new() -> Self {
        Base64Stream {
            pending: Vec::with_capacity(LINE_INPUT),
        }
    }

    /// Encodes the whole lines that `piece` completes, appending them to
    /// `out`; keeps the rest for the next call.
    pub fn feed(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        let mut rest = piece;
        if !self.pending.is_empty() {
            let take = (LINE_INPUT - self.pending.len()).min(rest.len());
            let (head, tail) = rest.split_at(take);
            self.pending.extend_from_slice(head);
            rest = tail;
            if self.pending.len() < LINE_INPUT {
                return;
            }
            let line = std::mem::take(&mut self.pending);
            encode_line(&line, out);
            self.pending = line;
            self.pending.clear();
        }
        let whole = rest.len() / LINE_INPUT * LINE_INPUT;
        let (lines, tail) = rest.split_at(whole);
        out.reserve(lines.len() / LINE_INPUT * (LINE_OUTPUT + 2));
        for line in lines.chunks(LINE_INPUT) {
            encode_line(line, out);
        }
        self.pending.extend_from_slice(tail);
    }

    /// Encodes what is left (the last, short line, with its padding) and
    /// resets the encoder for another part.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            encode_line(&self.pending, out);
            self.pending.clear();
        }
    }
}

/// One line: up to 57 octets as base64, then CRLF.
fn encode_line(line: &[u8], out: &mut Vec<u8>) {
    let mut buf = [0u8; LINE_OUTPUT];
    // A line is at most 57 octets, which always fit 76 characters.
    let n = STANDARD.encode_slice(line, &mut buf).unwrap_or(0);
    out.extend_from_slice(buf.get(..n).unwrap_or_default());
    out.extend_from_slice(b"\r\n");
}

/// The length of `len` octets encoded by [`Base64Stream`]: 76 characters
/// and CRLF per 57 octets, and a shorter last line. For the `SIZE` hint of
/// a message whose attachments are read as it is sent.
///
/// ```
/// use mailwire_core::message::base64_encoded_len;
///
/// assert_eq!(base64_encoded_len(0), 0);
/// assert_eq!(base64_encoded_len(1), 6);   // "AQ==" CRLF
/// assert_eq!(base64_encoded_len(57), 78);
/// ```
#[must_use]
pub fn base64_encoded_len(len: u64) -> u64 {
    let lines = len / LINE_INPUT as u64;
    let rest = len % LINE_INPUT as u64;
    let last = if rest == 0 {
        0
    } else {
        rest.div_ceil(3) * 4 + 2
    };
    lines
        .saturating_mul(LINE_OUTPUT as u64 + 2)
        .saturating_add(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Base64Stream::new();
        encoder.feed(data, &mut out);
        encoder.finish(&mut out);
        out
    }

    #[test]
    fn pieces_do_not_change_the_output() {
        let data: Vec<u8> = (0u32..2000).map(|i| (i * 7 + i / 3) as u8).collect();
        let expected = whole(&data);
        for step in [1, 2, 3, 56, 57, 58, 100, 1999] {
            let mut out = Vec::new();
            let mut encoder = Base64Stream::new();
            for piece in data.chunks(step) {
                encoder.feed(piece, &mut out);
            }
            encoder.finish(&mut out);
            assert_eq!(out, expected, "step {step}");
        }
        for len in 0..200 {
            assert_eq!(
                whole(&data[..len]).len() as u64,
                base64_encoded_len(len as u64)
            );
        }
    }

    #[test]
    fn lines_decode_back() {
        let data = b"any carnal pleasure.".repeat(20);
        let out = whole(&data);
        let joined: Vec<u8> = out
            .iter()
            .copied()
            .filter(|b| !b"\r\n".contains(b))
            .collect();
        assert_eq!(STANDARD.decode(joined).unwrap(), data);
        assert!(out.split(|&b| b == b'\n').all(|l| l.len() <= 77));
    }
}
