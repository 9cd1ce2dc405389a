//! Command-line framing with a length cap.
//!
//! SMTP commands (and SASL responses) are lines ended by CRLF. [`LineFramer`]
//! finds the next line at the start of the caller's input buffer without
//! copying it, and keeps that buffer bounded: a line longer than the limit is
//! discarded as it arrives and reported once, as [`Framed::TooLong`], when its
//! line end finally comes — it is never truncated into a command, and never
//! split into two. A caller that must not wait for that line end (a peer may
//! never send one) sees the discarding start with
//! [`is_discarding`](LineFramer::is_discarding) and how much it has dropped
//! with [`discarded_len`](LineFramer::discarded_len), so it can answer at
//! once and give up past a cap of its own.
//!
//! A line ends at LF. A CR immediately before that LF is part of the ending;
//! a bare LF ending is accepted here and reported (`bare_lf`) so that the
//! command layer can decide; a CR anywhere else stays in the line (the command
//! parser rejects it). The length compared with the limit includes the line
//! ending, as in RFC 5321 §4.5.3.1.4.
//!
//! ```
//! use mailwire_core::wire::line::{Framed, LineFramer};
//!
//! let mut framer = LineFramer::new(16);
//! let mut buf = b"NOOP\r\nQUIT".to_vec();
//! assert_eq!(
//!     framer.next(&buf),
//!     Framed::Line { line: b"NOOP", consumed: 6, bare_lf: false }
//! );
//! buf.drain(..6);
//! assert_eq!(framer.next(&buf), Framed::Incomplete { consumed: 0 });
//! ```

/// The default command-line limit: 512 octets including the CRLF
/// (RFC 5321 §4.5.3.1.4).
pub const DEFAULT_MAX_LINE: usize = 512;

/// The line limit while a SASL exchange is in progress: 12,288 octets
/// (RFC 4954 §4).
pub const SASL_MAX_LINE: usize = 12_288;

/// Finds lines at the start of the caller's input buffer, enforcing a length
/// cap.
///
/// The framer never buffers input itself; it only remembers how many bytes of
/// an over-long line it has told the caller to drop. The caller owns the
/// buffer and removes `consumed` bytes from its front after every call.
///
/// The caller's loop: append what was read to the buffer, then call
/// [`next`](Self::next) and drop `consumed` bytes until it returns
/// [`Framed::Incomplete`]. After that loop the buffer holds fewer than
/// `max_len` bytes (or is empty), so it stays bounded by one line plus one
/// read.
#[derive(Debug, Clone)]
pub struct LineFramer {
    max_len: usize,
    /// `Some(n)`: discarding an over-long line of which `n` bytes have been
    /// consumed already.
    discarded: Option<usize>,
}

/// What [`LineFramer::next`] found at the start of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Framed<'a> {
    /// A complete line.
    Line {
        /// The line without its ending (CRLF or bare LF).
        line: &'a [u8],
        /// Bytes to drop from the front of the buffer, including the ending.
        consumed: usize,
        /// The line ended in LF without a CR before it.
        bare_lf: bool,
    },
    /// A line longer than the limit ended here. Its bytes were discarded:
    /// this `consumed` plus what earlier [`Framed::Incomplete`] results
    /// consumed. Reported once, when the line's LF arrives.
    TooLong {
        /// Bytes to drop from the front of the buffer, including the ending.
        consumed: usize,
        /// The full length of the line, including its ending.
        length: usize,
    },
    /// No complete line yet; read more and call again.
    Incomplete {
        /// Bytes to drop from the front of the buffer. Non-zero only while an
        /// over-long line is being discarded.
        consumed: usize,
    },
}

impl LineFramer {
    /// A framer accepting lines of at most `max_len` octets, line ending
    /// included. See [`DEFAULT_MAX_LINE`] and [`SASL_MAX_LINE`].
    #[must_use]
    pub fn new(max_len: usize) -> Self {
        Self {
            max_len,
            discarded: None,
        }
    }

    /// Changes the limit for the lines that follow (for example while a SASL
    /// exchange runs). A line already being discarded stays discarded.
    pub fn set_max_len(&mut self, max_len: usize) {
        self.max_len = max_len;
    }

    /// The current limit, line ending included.
    #[must_use]
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Whether the framer is discarding an over-long line whose end has not
    /// arrived yet.
    #[must_use]
    pub fn is_discarding(&self) -> bool {
        self.discarded.is_some()
    }

    /// Octets of the over-long line being discarded that were consumed so
    /// far (the line's length up to now); 0 when not discarding.
    #[must_use]
    pub fn discarded_len(&self) -> usize {
        self.discarded.unwrap_or(0)
    }

    /// Looks for the next line at the start of `buf` (the caller's input
    /// buffer). Never buffers anything itself except a small discard counter.
    ///
    /// The caller drops `consumed` bytes from the front of its buffer and
    /// calls again while the result is not [`Framed::Incomplete`]. While
    /// discarding, every byte given is consumed up to and including the next
    /// LF.
    pub fn next<'a>(&mut self, buf: &'a [u8]) -> Framed<'a> {
        let lf = memchr::memchr(b'\n', buf);
        if let Some(discarded) = self.discarded {
            return match lf {
                Some(i) => {
                    self.discarded = None;
                    Framed::TooLong {
                        consumed: i + 1,
                        length: discarded.saturating_add(i + 1),
                    }
                }
                None => {
                    self.discarded = Some(discarded.saturating_add(buf.len()));
                    Framed::Incomplete {
                        consumed: buf.len(),
                    }
                }
            };
        }
        match lf {
            // The LF at index `i` makes a line of `i + 1` octets.
            Some(i) if i < self.max_len => {
                let (line, bare_lf) = match buf[..i].split_last() {
                    Some((b'\r', line)) => (line, false),
                    _ => (&buf[..i], true),
                };
                Framed::Line {
                    line,
                    consumed: i + 1,
                    bare_lf,
                }
            }
            Some(i) => Framed::TooLong {
                consumed: i + 1,
                length: i + 1,
            },
            // `max_len` bytes without an LF: whatever comes, the line is too
            // long, so start discarding now to keep the buffer bounded.
            None if !buf.is_empty() && buf.len() >= self.max_len => {
                self.discarded = Some(buf.len());
                Framed::Incomplete {
                    consumed: buf.len(),
                }
            }
            None => Framed::Incomplete { consumed: 0 },
        }
    }
}

impl Default for LineFramer {
    /// A framer with the [`DEFAULT_MAX_LINE`] limit.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a caller sees: lines (`Ok`) and over-long lengths (`Err`).
    type Seen = Vec<Result<(Vec<u8>, bool), usize>>;

    /// Runs the caller's loop over `chunks`, checking that the buffer stays
    /// bounded. Returns what was seen and what is left in the buffer.
    fn drive(max_len: usize, chunks: &[&[u8]]) -> (Seen, Vec<u8>) {
        let mut framer = LineFramer::new(max_len);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            loop {
                match framer.next(&buf) {
                    Framed::Line {
                        line,
                        consumed,
                        bare_lf,
                    } => {
                        seen.push(Ok((line.to_vec(), bare_lf)));
                        buf.drain(..consumed);
                    }
                    Framed::TooLong { consumed, length } => {
                        seen.push(Err(length));
                        buf.drain(..consumed);
                    }
                    Framed::Incomplete { consumed } => {
                        buf.drain(..consumed);
                        break;
                    }
                }
            }
            assert!(buf.len() < max_len.max(1), "buffer grew past the limit");
        }
        (seen, buf)
    }

    fn line(s: &[u8], bare_lf: bool) -> Result<(Vec<u8>, bool), usize> {
        Ok((s.to_vec(), bare_lf))
    }

    #[test]
    fn single_calls() {
        let cases: &[(&[u8], usize, Framed<'_>)] = &[
            (b"", 8, Framed::Incomplete { consumed: 0 }),
            (b"NOOP", 8, Framed::Incomplete { consumed: 0 }),
            (b"NOOP\r", 8, Framed::Incomplete { consumed: 0 }),
            (
                b"NOOP\r\n",
                8,
                Framed::Line {
                    line: b"NOOP",
                    consumed: 6,
                    bare_lf: false,
                },
            ),
            (
                b"NOOP\n",
                8,
                Framed::Line {
                    line: b"NOOP",
                    consumed: 5,
                    bare_lf: true,
                },
            ),
            (
                b"\r\n",
                8,
                Framed::Line {
                    line: b"",
                    consumed: 2,
                    bare_lf: false,
                },
            ),
            (
                b"\n",
                8,
                Framed::Line {
                    line: b"",
                    consumed: 1,
                    bare_lf: true,
                },
            ),
            // Only the first line is returned.
            (
                b"A\r\nB\r\n",
                8,
                Framed::Line {
                    line: b"A",
                    consumed: 3,
                    bare_lf: false,
                },
            ),
            // A CR not before the LF stays in the line.
            (
                b"A\rB\r\n",
                8,
                Framed::Line {
                    line: b"A\rB",
                    consumed: 5,
                    bare_lf: false,
                },
            ),
            (
                b"A\r\r\n",
                8,
                Framed::Line {
                    line: b"A\r",
                    consumed: 4,
                    bare_lf: false,
                },
            ),
            // Exactly the limit, ending included.
            (
                b"ABCDEF\r\n",
                8,
                Framed::Line {
                    line: b"ABCDEF",
                    consumed: 8,
                    bare_lf: false,
                },
            ),
            (
                b"ABCDEFG\n",
                8,
                Framed::Line {
                    line: b"ABCDEFG",
                    consumed: 8,
                    bare_lf: true,
                },
            ),
            // One over the limit, whole line in the buffer.
            (
                b"ABCDEFG\r\n",
                8,
                Framed::TooLong {
                    consumed: 9,
                    length: 9,
                },
            ),
            (
                b"ABCDEFGHIJ\r\nNEXT",
                8,
                Framed::TooLong {
                    consumed: 12,
                    length: 12,
                },
            ),
            // The limit reached without an LF: discard at once.
            (b"ABCDEFGH", 8, Framed::Incomplete { consumed: 8 }),
            (b"ABCDEFG\r", 8, Framed::Incomplete { consumed: 8 }),
            (b"ABCDEFG", 8, Framed::Incomplete { consumed: 0 }),
            // A zero limit refuses every line, even an empty one.
            (
                b"\n",
                0,
                Framed::TooLong {
                    consumed: 1,
                    length: 1,
                },
            ),
            (b"", 0, Framed::Incomplete { consumed: 0 }),
        ];
        for (input, max, want) in cases {
            let mut framer = LineFramer::new(*max);
            assert_eq!(&framer.next(input), want, "input {input:?} max {max}");
        }
    }

    #[test]
    fn conversations() {
        type Case<'c> = (usize, &'c [&'c [u8]], Seen, &'c [u8]);
        let cases: &[Case<'_>] = &[
            // Lines split anywhere, including between CR and LF.
            (
                8,
                &[b"NO", b"OP\r", b"\nQU", b"IT\r\n"],
                vec![line(b"NOOP", false), line(b"QUIT", false)],
                b"",
            ),
            // Over-long line discarded across chunks, reported once.
            (
                8,
                &[b"ABCDEFGHIJ", b"KLMNOP", b"QR\r\nNOOP\r\n"],
                vec![Err(20), line(b"NOOP", false)],
                b"",
            ),
            // Over-long line ending in a bare LF.
            (4, &[b"ABCD", b"EF\nX"], vec![Err(7)], b"X"),
            // Several lines in one chunk, mixed endings, tail kept.
            (
                16,
                &[b"A\nB\r\nC\r\r\nD"],
                vec![line(b"A", true), line(b"B", false), line(b"C\r", false)],
                b"D",
            ),
            // An over-long line then a line at exactly the limit.
            (
                6,
                &[b"1234567\r\n1234\r\n"],
                vec![Err(9), line(b"1234", false)],
                b"",
            ),
            // Discarding while chunks are empty or only the LF is left.
            (
                3,
                &[b"abc", b"", b"d", b"\n", b"ok\n"],
                vec![Err(5), line(b"ok", true)],
                b"",
            ),
        ];
        for (max, chunks, want, rest) in cases {
            let (seen, buf) = drive(*max, chunks);
            assert_eq!(&seen, want, "chunks {chunks:?}");
            assert_eq!(&buf[..], *rest, "chunks {chunks:?}");
        }
    }

    #[test]
    fn discarding_state_and_limit_changes() {
        let mut framer = LineFramer::default();
        assert_eq!(framer.max_len(), DEFAULT_MAX_LINE);
        framer.set_max_len(4);
        assert_eq!(framer.discarded_len(), 0);
        assert_eq!(framer.next(b"ABCDE"), Framed::Incomplete { consumed: 5 });
        assert!(framer.is_discarding());
        assert_eq!(framer.discarded_len(), 5);
        // Raising the limit does not resurrect the discarded line.
        framer.set_max_len(SASL_MAX_LINE);
        assert_eq!(framer.next(b"F"), Framed::Incomplete { consumed: 1 });
        assert_eq!(
            framer.next(b"\r\nX"),
            Framed::TooLong {
                consumed: 2,
                length: 8
            }
        );
        assert!(!framer.is_discarding());
        assert_eq!(framer.discarded_len(), 0);
        assert_eq!(
            framer.next(b"ABCDEFGH\r\n"),
            Framed::Line {
                line: b"ABCDEFGH",
                consumed: 10,
                bare_lf: false
            }
        );
    }
}
