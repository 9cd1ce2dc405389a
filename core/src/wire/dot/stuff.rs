//! The client side of DATA and BDAT bodies: line-end normalisation and
//! dot-stuffing, streaming.

use bytes::{BufMut, BytesMut};
use memchr::memchr2;

use super::CRLF;

/// Where the client-side normaliser stands between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineState {
    /// At a line start (start of the body or after a line end was written).
    LineStart,
    /// At a line start just after a CR written out as CRLF: an LF here is
    /// that CR's partner and is dropped.
    AfterCr,
    /// Inside a line.
    Mid,
}

/// The line-end normaliser shared by [`Stuffer`] (with dots) and
/// [`LineNormalizer`] (without).
#[derive(Debug, Clone)]
struct Normalizer {
    stuff: bool,
    state: LineState,
}

impl Normalizer {
    fn new(stuff: bool) -> Self {
        Self {
            stuff,
            state: LineState::LineStart,
        }
    }

    fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.state {
                LineState::AfterCr => {
                    if b == b'\n' {
                        i += 1;
                    }
                    self.state = LineState::LineStart;
                }
                LineState::LineStart => {
                    if self.stuff && b == b'.' {
                        out.put_u8(b'.');
                    }
                    self.state = LineState::Mid;
                }
                LineState::Mid => i = self.scan(input, i, out),
            }
        }
    }

    /// The hot path, inside a line from `input[start]`: copies whole runs,
    /// writes every line end as CRLF and stuffs line-start dots. Consumes
    /// the whole input.
    fn scan(&mut self, input: &[u8], start: usize, out: &mut BytesMut) -> usize {
        let mut run = start;
        let mut pos = start;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            let Some(j) = memchr2(b'\r', b'\n', rest).map(|off| pos + off) else {
                out.extend_from_slice(input.get(run..).unwrap_or_default());
                return input.len();
            };
            // `next`: the first byte of the next line.
            let next = if input.get(j) == Some(&b'\r') {
                match input.get(j + 1) {
                    Some(b'\n') => j + 2,
                    Some(_) => {
                        out.extend_from_slice(input.get(run..j).unwrap_or_default());
                        out.extend_from_slice(CRLF);
                        run = j + 1;
                        j + 1
                    }
                    None => {
                        out.extend_from_slice(input.get(run..j).unwrap_or_default());
                        out.extend_from_slice(CRLF);
                        self.state = LineState::AfterCr;
                        return input.len();
                    }
                }
            } else {
                out.extend_from_slice(input.get(run..j).unwrap_or_default());
                out.extend_from_slice(CRLF);
                run = j + 1;
                j + 1
            };
            match input.get(next) {
                Some(b'.') if self.stuff => {
                    out.extend_from_slice(input.get(run..next).unwrap_or_default());
                    out.put_u8(b'.');
                    run = next;
                    pos = next + 1;
                }
                Some(_) => pos = next,
                None => {
                    out.extend_from_slice(input.get(run..).unwrap_or_default());
                    self.state = LineState::LineStart;
                    return input.len();
                }
            }
        }
    }

    /// Adds the final CRLF if the body did not end with a line end, and
    /// prepares for the next body.
    fn finish(&mut self, out: &mut BytesMut) {
        if self.state == LineState::Mid {
            out.extend_from_slice(CRLF);
        }
        self.state = LineState::LineStart;
    }
}

/// The client side of DATA: normalises line ends, dot-stuffs and terminates
/// a body, streaming.
///
/// Every bare CR and bare LF becomes CRLF *before* stuffing, so a dot after
/// any line end is stuffed and no body can form a terminator. The stream
/// written for one body is exactly `normalize(body)` with a dot added to
/// every line that starts with one, then `.` CRLF.
#[derive(Debug, Clone)]
pub struct Stuffer {
    inner: Normalizer,
}

impl Stuffer {
    /// A stuffer at the start of a body.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Normalizer::new(true),
        }
    }

    /// Normalises line ends (bare CR and bare LF -> CRLF), dot-stuffs (a line
    /// starting with '.' gets one more '.'), streaming across chunks.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        self.inner.feed(input, out);
    }

    /// Ends the body: adds CRLF if the body did not end with one (non-empty
    /// body), then `.` CRLF. The stuffer is then ready for the next body.
    pub fn finish(&mut self, out: &mut BytesMut) {
        self.inner.finish(out);
        out.extend_from_slice(b".\r\n");
    }
}

impl Default for Stuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// The client's line-end normalisation without dot-stuffing, streaming: for
/// BDAT bodies of 7BIT and 8BITMIME messages.
///
/// Writes exactly [`normalize`]`(body)` for the concatenation of what it is
/// fed.
#[derive(Debug, Clone)]
pub struct LineNormalizer {
    inner: Normalizer,
}

impl LineNormalizer {
    /// A normaliser at the start of a body.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Normalizer::new(false),
        }
    }

    /// Normalises line ends (bare CR and bare LF -> CRLF), streaming across
    /// chunks.
    pub fn feed(&mut self, input: &[u8], out: &mut BytesMut) {
        self.inner.feed(input, out);
    }

    /// Ends the body: adds CRLF if a non-empty body did not end with one.
    /// The normaliser is then ready for the next body.
    pub fn finish(&mut self, out: &mut BytesMut) {
        self.inner.finish(out);
    }
}

impl Default for LineNormalizer {
    fn default() -> Self {
        Self::new()
    }
}

/// The reference normalisation of a body, as the client sends it: every bare
/// CR and bare LF becomes CRLF (a CRLF stays one CRLF), and a non-empty body
/// that does not end with CRLF gets one. An empty body stays empty.
///
/// For any body, unstuffing the [`Stuffer`]'s output gives `normalize(body)`.
/// This is a plain, allocating reference implementation for tests and small
/// bodies; stream with [`Stuffer`] or [`LineNormalizer`].
#[must_use]
pub fn normalize(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let mut bytes = body.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\r' => {
                bytes.next_if_eq(&b'\n');
                out.extend_from_slice(CRLF);
            }
            b'\n' => out.extend_from_slice(CRLF),
            _ => out.push(b),
        }
    }
    if !out.is_empty() && !out.ends_with(CRLF) {
        out.extend_from_slice(CRLF);
    }
    out
}
