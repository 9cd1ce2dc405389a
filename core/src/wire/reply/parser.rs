//! The incremental reply parser and its caps.

use memchr::memchr;

use super::{EnhancedCode, Reply, ReplyCode, ReplyError, decode_text, recognise_enhanced};

/// Caps on one reply, applied by [`ReplyParser`] to the bytes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyLimits {
    /// Longest line in octets, its line end (CRLF or LF) included.
    pub max_line_len: usize,
    /// Most lines in one reply.
    pub max_lines: usize,
    /// Most octets in one reply, line ends included.
    pub max_total: usize,
}

impl Default for ReplyLimits {
    /// 2048-octet lines, 128 lines, 64 KiB in all.
    fn default() -> Self {
        ReplyLimits {
            max_line_len: 2048,
            max_lines: 128,
            max_total: 65536,
        }
    }
}

/// A streaming reply parser with bounded memory.
///
/// Feed it bytes as they arrive; it hands back one reply at a time and
/// consumes nothing after the end of that reply, so the caller decides what
/// the following bytes are (the next reply, or bytes to discard after a 220
/// to STARTTLS).
///
/// Memory: the raw bytes of the reply in progress are held up to the caps
/// (the incomplete line stays under `max_line_len`, the whole reply at most
/// `max_total`, see [`ReplyParser::buffered_len`]); completed lines are kept
/// decoded, where lossy UTF-8 may turn one invalid octet into the three
/// octets of U+FFFD.
///
/// Errors are reported at the octet where the reply became certain to break
/// a rule: a line is [`ReplyError::LineTooLong`] as soon as its
/// `max_line_len`-th octet is not its LF, a reply is [`ReplyError::TooLarge`]
/// at its `max_total + 1`-th octet, [`ReplyError::TooManyLines`] at the end
/// of the `max_lines`-th line when that line says more follow, and the line
/// errors at the end of the line. The count returned with an error includes
/// that octet, whatever the chunking. After an error the parser is reset; the
/// stream is then out of step and a client should close the connection.
#[derive(Debug, Clone)]
pub struct ReplyParser {
    limits: ReplyLimits,
    /// The incomplete current line (no LF in it).
    pub(super) partial: Vec<u8>,
    /// Wire octets of the completed lines of the reply in progress.
    reply_bytes: usize,
    code: Option<ReplyCode>,
    enhanced: Option<EnhancedCode>,
    lines: Vec<String>,
}

impl Default for ReplyParser {
    /// A parser with [`ReplyLimits::default`].
    fn default() -> Self {
        ReplyParser::new(ReplyLimits::default())
    }
}

impl ReplyParser {
    /// An idle parser with these caps.
    #[must_use]
    pub fn new(limits: ReplyLimits) -> Self {
        ReplyParser {
            limits,
            partial: Vec::new(),
            reply_bytes: 0,
            code: None,
            enhanced: None,
            lines: Vec::new(),
        }
    }

    /// The caps this parser applies.
    #[must_use]
    pub fn limits(&self) -> ReplyLimits {
        self.limits
    }

    /// Feeds bytes.
    ///
    /// Consumes at most through the end of the first reply that completes (or
    /// fails) and returns how many bytes of `input` it consumed, with
    /// `Some(result)` when a reply completed or failed. With `None` all of
    /// `input` was consumed and is kept (bounded by the limits) until the
    /// next call. Call again with the unconsumed rest for the next reply.
    /// After an error the parser has reset itself.
    #[must_use = "the consumed count says where the next reply starts"]
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Reply, ReplyError>>) {
        let mut pos = 0;
        while let Some(rest) = input.get(pos..).filter(|rest| !rest.is_empty()) {
            let lf = memchr(b'\n', rest);
            let take = lf.map_or(rest.len(), |i| i + 1);
            if let Some((used, error)) = self.cap_violation(take, lf.is_some()) {
                self.reset();
                return (pos + used, Some(Err(error)));
            }
            let (chunk, _) = rest.split_at_checked(take).unwrap_or((rest, &[]));
            if lf.is_none() {
                self.partial.extend_from_slice(chunk);
                return (pos + chunk.len(), None);
            }
            pos += chunk.len();
            let outcome = if self.partial.is_empty() {
                self.complete_line(chunk)
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(chunk);
                let outcome = self.complete_line(&line);
                line.clear();
                self.partial = line;
                outcome
            };
            match outcome {
                Ok(None) => {}
                Ok(Some(reply)) => {
                    self.reset();
                    return (pos, Some(Ok(reply)));
                }
                Err(error) => {
                    self.reset();
                    return (pos, Some(Err(error)));
                }
            }
        }
        (pos, None)
    }

    /// `true` when no part of a reply is buffered.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.partial.is_empty() && self.code.is_none()
    }

    /// Raw octets of the reply in progress that the parser accounts for:
    /// completed lines plus the incomplete line. Never more than
    /// `max_total`; the incomplete line alone stays under
    /// `max(max_line_len, 1)`.
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.reply_bytes + self.partial.len()
    }

    /// Drops any partial reply.
    pub fn reset(&mut self) {
        self.partial.clear();
        self.reply_bytes = 0;
        self.code = None;
        self.enhanced = None;
        self.lines.clear();
    }

    /// Whether taking the next `take` octets (ending in LF when `has_lf`)
    /// breaks a size cap; if so, how many of them up to and including the
    /// octet that makes it certain.
    fn cap_violation(&self, take: usize, has_lf: bool) -> Option<(usize, ReplyError)> {
        let have = self.partial.len();
        let line_len = have.saturating_add(take);
        // Invariant: have < line_cap, so the subtraction below is at least 1.
        let line_cap = self.limits.max_line_len.max(1);
        let line_over = if has_lf {
            line_len > self.limits.max_line_len
        } else {
            line_len >= line_cap
        };
        let line = line_over.then(|| (line_cap.saturating_sub(have), ReplyError::LineTooLong));
        // Invariant: reply_bytes + have <= max_total.
        let before = self.reply_bytes.saturating_add(have);
        let total = (before.saturating_add(take) > self.limits.max_total).then(|| {
            (
                self.limits
                    .max_total
                    .saturating_sub(before)
                    .saturating_add(1),
                ReplyError::TooLarge,
            )
        });
        match (line, total) {
            (Some(line), Some(total)) => Some(if total.0 < line.0 { total } else { line }),
            (line, total) => line.or(total),
        }
    }

    /// Takes one complete line (ending in LF) into the reply in progress;
    /// returns the reply when this was its last line.
    fn complete_line(&mut self, raw: &[u8]) -> Result<Option<Reply>, ReplyError> {
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (code, last, text) = split_reply_line(line)?;
        let text = match self.code {
            None => {
                self.code = Some(code);
                match recognise_enhanced(text, code) {
                    Some((enhanced, used)) => {
                        self.enhanced = Some(enhanced);
                        text.get(used..).unwrap_or_default()
                    }
                    None => text,
                }
            }
            Some(first) if first != code => {
                return Err(ReplyError::CodeMismatch {
                    first: first.as_u16(),
                    later: code.as_u16(),
                });
            }
            Some(_) => match (self.enhanced, recognise_enhanced(text, code)) {
                (Some(enhanced), Some((seen, used))) if seen == enhanced => {
                    text.get(used..).unwrap_or_default()
                }
                _ => text,
            },
        };
        // A continuation line promises one more line.
        let needed = self.lines.len() + if last { 1 } else { 2 };
        if needed > self.limits.max_lines {
            return Err(ReplyError::TooManyLines);
        }
        self.lines.push(decode_text(text));
        if last {
            Ok(Some(Reply {
                code,
                enhanced: self.enhanced,
                lines: std::mem::take(&mut self.lines),
            }))
        } else {
            self.reply_bytes += raw.len();
            Ok(None)
        }
    }
}

/// Splits a line (without its line end) into code, "is last line" and text.
fn split_reply_line(line: &[u8]) -> Result<(ReplyCode, bool, &[u8]), ReplyError> {
    let [a, b, c, rest @ ..] = line else {
        return Err(ReplyError::Malformed);
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return Err(ReplyError::Malformed);
    }
    let (last, text): (bool, &[u8]) = match rest.split_first() {
        None => (true, &[]),
        Some((b' ', text)) => (true, text),
        Some((b'-', text)) => (false, text),
        Some(_) => return Err(ReplyError::Malformed),
    };
    let value = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    let code = ReplyCode::new(value).ok_or(ReplyError::InvalidCode)?;
    Ok((code, last, text))
}
