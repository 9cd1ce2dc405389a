//! Replies: RFC 5321 §4.2 reply codes and (multi-line) replies, with the
//! enhanced status codes of RFC 3463 as carried by RFC 2034.
//!
//! # Wire format
//!
//! ```text
//! Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!                 Reply-code [ SP textstring ] CRLF
//! ```
//!
//! [`Reply::write_to`] writes every line as `CCC-X.Y.Z text` and the last one
//! as `CCC X.Y.Z text`: the enhanced code, when there is one, is repeated on
//! every line (RFC 2034 §3). Without an enhanced code an empty line is written
//! as a bare `CCC` (last line) or `CCC-` (continuation).
//!
//! [`ReplyParser`] is lenient where peers differ and strict where safety
//! needs it: it accepts CRLF or a bare LF as line end and a final line without
//! text, decodes non-UTF-8 text lossily, and replaces control characters other
//! than HT in the text with U+FFFD; it refuses lines that do not start with a
//! reply code, codes that change between lines, and replies over the
//! [`ReplyLimits`].
//!
//! # Enhanced status codes and the round trip
//!
//! A line's text is taken to start with an enhanced status code when it
//! starts with `class.subject.detail` (1 digit, 1-3 digits, 1-3 digits),
//! followed by a space or the end of the text, **and** the class equals the
//! first digit of the reply code. The code is read from the first line; on
//! later lines the same code is stripped when present (a different one is
//! left in the text).
//!
//! The text `2.1.0 Sender OK` on the first line of a 250 reply without an
//! enhanced code therefore cannot be told apart from a reply with the enhanced
//! code `2.1.0` and the text `Sender OK`. [`Reply::new`] refuses such a value
//! with [`ReplyError::InvalidText`] (the parser never produces one), so that
//! `parse(write(r)) == r` holds for every [`Reply`] that can be built, as long
//! as the serialised reply fits the parser's [`ReplyLimits`]. With an
//! enhanced code the text of any line may look like a code: exactly one code
//! is stripped from each line.
//!
//! ```
//! use mailwire_core::wire::reply::{Reply, ReplyParser};
//!
//! let reply = Reply::simple(250, "2.1.0", "Sender OK")?;
//! assert_eq!(reply.to_bytes(), b"250 2.1.0 Sender OK\r\n");
//!
//! let mut parser = ReplyParser::default();
//! let (used, parsed) = parser.feed(b"250 2.1.0 Sender OK\r\n220 next");
//! assert_eq!(used, 21);
//! assert_eq!(parsed, Some(Ok(reply)));
//! # Ok::<(), mailwire_core::wire::reply::ReplyError>(())
//! ```

use std::fmt;

use memchr::memchr;

/// A three-digit SMTP reply code (RFC 5321 §4.2).
///
/// The first digit is 2 to 5, the second 0 to 5, the third 0 to 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(u16);

impl ReplyCode {
    /// 211 System status, or system help reply.
    pub const SYSTEM_STATUS: ReplyCode = ReplyCode(211);
    /// 214 Help message.
    pub const HELP_MESSAGE: ReplyCode = ReplyCode(214);
    /// 220 Service ready (greeting; also the answer to STARTTLS).
    pub const SERVICE_READY: ReplyCode = ReplyCode(220);
    /// 221 Service closing transmission channel.
    pub const CLOSING: ReplyCode = ReplyCode(221);
    /// 235 Authentication succeeded (RFC 4954).
    pub const AUTH_SUCCESS: ReplyCode = ReplyCode(235);
    /// 250 Requested mail action okay, completed.
    pub const OK: ReplyCode = ReplyCode(250);
    /// 251 User not local; will forward.
    pub const USER_NOT_LOCAL_WILL_FORWARD: ReplyCode = ReplyCode(251);
    /// 252 Cannot VRFY user, but will accept message and attempt delivery.
    pub const CANNOT_VRFY: ReplyCode = ReplyCode(252);
    /// 334 Server challenge during AUTH (RFC 4954).
    pub const AUTH_CHALLENGE: ReplyCode = ReplyCode(334);
    /// 354 Start mail input; end with `<CRLF>.<CRLF>`.
    pub const START_MAIL_INPUT: ReplyCode = ReplyCode(354);
    /// 421 Service not available, closing transmission channel.
    pub const SERVICE_UNAVAILABLE: ReplyCode = ReplyCode(421);
    /// 432 A password transition is needed (RFC 4954).
    pub const PASSWORD_TRANSITION_NEEDED: ReplyCode = ReplyCode(432);
    /// 450 Mailbox unavailable (busy or temporarily blocked).
    pub const MAILBOX_BUSY: ReplyCode = ReplyCode(450);
    /// 451 Local error in processing.
    pub const LOCAL_ERROR: ReplyCode = ReplyCode(451);
    /// 452 Insufficient system storage (also: too many recipients).
    pub const INSUFFICIENT_STORAGE: ReplyCode = ReplyCode(452);
    /// 454 Temporary authentication failure, or TLS not available (RFC 4954, RFC 3207).
    pub const TEMPORARY_FAILURE: ReplyCode = ReplyCode(454);
    /// 455 Server unable to accommodate parameters.
    pub const PARAMS_NOT_ACCOMMODATED: ReplyCode = ReplyCode(455);
    /// 500 Syntax error, command unrecognized (also: line too long).
    pub const SYNTAX_ERROR: ReplyCode = ReplyCode(500);
    /// 501 Syntax error in parameters or arguments.
    pub const PARAM_SYNTAX_ERROR: ReplyCode = ReplyCode(501);
    /// 502 Command not implemented.
    pub const NOT_IMPLEMENTED: ReplyCode = ReplyCode(502);
    /// 503 Bad sequence of commands.
    pub const BAD_SEQUENCE: ReplyCode = ReplyCode(503);
    /// 504 Command parameter not implemented.
    pub const PARAM_NOT_IMPLEMENTED: ReplyCode = ReplyCode(504);
    /// 521 Host does not accept mail (RFC 7504).
    pub const DOES_NOT_ACCEPT_MAIL: ReplyCode = ReplyCode(521);
    /// 530 Authentication required (RFC 4954), or must issue STARTTLS first (RFC 3207).
    pub const AUTH_REQUIRED: ReplyCode = ReplyCode(530);
    /// 534 Authentication mechanism is too weak (RFC 4954).
    pub const AUTH_TOO_WEAK: ReplyCode = ReplyCode(534);
    /// 535 Authentication credentials invalid (RFC 4954).
    pub const AUTH_FAILED: ReplyCode = ReplyCode(535);
    /// 538 Encryption required for requested authentication mechanism (RFC 4954).
    pub const ENCRYPTION_REQUIRED: ReplyCode = ReplyCode(538);
    /// 550 Mailbox unavailable (not found, no access, policy).
    pub const MAILBOX_UNAVAILABLE: ReplyCode = ReplyCode(550);
    /// 551 User not local.
    pub const USER_NOT_LOCAL: ReplyCode = ReplyCode(551);
    /// 552 Exceeded storage allocation.
    pub const EXCEEDED_STORAGE: ReplyCode = ReplyCode(552);
    /// 553 Mailbox name not allowed.
    pub const MAILBOX_NAME_NOT_ALLOWED: ReplyCode = ReplyCode(553);
    /// 554 Transaction failed (or, as a greeting, no SMTP service here).
    pub const TRANSACTION_FAILED: ReplyCode = ReplyCode(554);
    /// 555 MAIL FROM/RCPT TO parameters not recognized or not implemented.
    pub const PARAMS_NOT_RECOGNIZED: ReplyCode = ReplyCode(555);
    /// 556 Domain does not accept mail (RFC 7504).
    pub const DOMAIN_DOES_NOT_ACCEPT_MAIL: ReplyCode = ReplyCode(556);

    /// The code `code`, or `None` when it is not a valid reply code (first
    /// digit 2-5, second digit 0-5).
    #[must_use]
    pub const fn new(code: u16) -> Option<ReplyCode> {
        let first = code / 100;
        let second = (code / 10) % 10;
        if first >= 2 && first <= 5 && second <= 5 {
            Some(ReplyCode(code))
        } else {
            None
        }
    }

    /// The code as a number, e.g. `250`.
    #[must_use]
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// What the first digit says about the outcome.
    #[must_use]
    pub const fn class(self) -> ReplyClass {
        match self.0 / 100 {
            2 => ReplyClass::PositiveCompletion,
            3 => ReplyClass::PositiveIntermediate,
            4 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// `true` for 2xx (positive completion).
    #[must_use]
    pub fn is_positive(self) -> bool {
        self.class() == ReplyClass::PositiveCompletion
    }

    /// `true` for 3xx (positive intermediate: send more).
    #[must_use]
    pub fn is_intermediate(self) -> bool {
        self.class() == ReplyClass::PositiveIntermediate
    }

    /// `true` for 4xx (transient negative: try again later).
    #[must_use]
    pub fn is_transient(self) -> bool {
        self.class() == ReplyClass::TransientNegative
    }

    /// `true` for 5xx (permanent negative: do not retry as is).
    #[must_use]
    pub fn is_permanent(self) -> bool {
        self.class() == ReplyClass::PermanentNegative
    }

    /// The first digit, 2 to 5.
    const fn first_digit(self) -> u8 {
        // At most 5 by construction, so the cast is lossless.
        (self.0 / 100) as u8
    }

    /// The three ASCII digits of the code.
    fn digits(self) -> [u8; 3] {
        // Each digit is at most 9 by construction, so the casts are lossless.
        [
            b'0' + (self.0 / 100) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<ReplyCode> for u16 {
    fn from(code: ReplyCode) -> u16 {
        code.0
    }
}

/// The outcome a reply code's first digit announces (RFC 5321 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplyClass {
    /// 2xx: the requested action completed.
    PositiveCompletion,
    /// 3xx: accepted so far, more input is expected.
    PositiveIntermediate,
    /// 4xx: not done this time; the same request may succeed later.
    TransientNegative,
    /// 5xx: not done, and repeating it as is will not help.
    PermanentNegative,
}

/// An enhanced mail system status code, `class.subject.detail`
/// (RFC 3463 §2): class 2, 4 or 5, subject and detail 0 to 999.
///
/// Displayed as `2.1.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedCode {
    class: u8,
    subject: u16,
    detail: u16,
}

impl EnhancedCode {
    /// The code `class.subject.detail`, or `None` when the class is not 2, 4
    /// or 5 or the subject or detail is over 999.
    #[must_use]
    pub const fn new(class: u8, subject: u16, detail: u16) -> Option<Self> {
        if matches!(class, 2 | 4 | 5) && subject <= 999 && detail <= 999 {
            Some(EnhancedCode {
                class,
                subject,
                detail,
            })
        } else {
            None
        }
    }

    /// Parses exactly `class.subject.detail` (1 digit, 1-3 digits, 1-3
    /// digits; leading zeros are accepted, `2.01.0` equals `2.1.0`). Nothing
    /// else may be in `s`.
    ///
    /// ```
    /// use mailwire_core::wire::reply::EnhancedCode;
    /// assert_eq!(EnhancedCode::parse(b"5.7.1"), EnhancedCode::new(5, 7, 1));
    /// assert_eq!(EnhancedCode::parse(b"5.7.1 "), None);
    /// assert_eq!(EnhancedCode::parse(b"3.0.0"), None);
    /// ```
    #[must_use]
    pub fn parse(s: &[u8]) -> Option<Self> {
        match scan_enhanced(s) {
            Some((code, used)) if used == s.len() => Some(code),
            _ => None,
        }
    }

    /// The class: 2 (success), 4 (persistent transient failure) or 5
    /// (permanent failure).
    #[must_use]
    pub const fn class(self) -> u8 {
        self.class
    }

    /// The subject, 0 to 999 (RFC 3463 §3: 1 addressing, 2 mailbox, …).
    #[must_use]
    pub const fn subject(self) -> u16 {
        self.subject
    }

    /// The detail, 0 to 999.
    #[must_use]
    pub const fn detail(self) -> u16 {
        self.detail
    }

    fn write_to(self, out: &mut Vec<u8>) {
        out.push(b'0' + self.class);
        out.push(b'.');
        push_decimal(out, self.subject);
        out.push(b'.');
        push_decimal(out, self.detail);
    }
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Why a reply was refused, by [`Reply::new`] or by [`ReplyParser::feed`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line that does not start with three digits followed by a space, a
    /// `-` or the end of the line.
    #[error("malformed reply line")]
    Malformed,
    /// The reply code changed between the lines of one reply.
    #[error("reply code changed from {first} to {later} within one reply")]
    CodeMismatch {
        /// The code of the first line.
        first: u16,
        /// The first different code.
        later: u16,
    },
    /// A line longer than [`ReplyLimits::max_line_len`] (its line end included).
    #[error("reply line over the length limit")]
    LineTooLong,
    /// More lines than [`ReplyLimits::max_lines`].
    #[error("reply has more lines than the limit")]
    TooManyLines,
    /// More bytes than [`ReplyLimits::max_total`].
    #[error("reply over the total size limit")]
    TooLarge,
    /// No line at all, a control character (other than HT) in a line, or a
    /// first line that would read as an enhanced status code (see the
    /// module documentation).
    #[error("reply text is empty, contains a control character or is ambiguous")]
    InvalidText,
    /// The enhanced code's class differs from the reply code's first digit
    /// (so enhanced codes only go with 2xx, 4xx and 5xx).
    #[error("enhanced status code class does not match the reply code")]
    ClassMismatch,
    /// Three digits that are not a valid reply code (first digit 2-5, second
    /// 0-5), or an enhanced code string that does not parse.
    #[error("invalid reply code or enhanced status code")]
    InvalidCode,
}

/// An SMTP reply: a code, an optional enhanced status code and one or more
/// lines of text.
///
/// Every `Reply` is valid: at least one line, no control characters other
/// than HT in the text, an enhanced code whose class matches the code, and
/// no ambiguity with an enhanced code (see the module documentation). Its
/// serialisation therefore parses back to an equal value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    code: ReplyCode,
    enhanced: Option<EnhancedCode>,
    lines: Vec<String>,
}

impl Reply {
    /// A reply with these lines (without line ends).
    ///
    /// # Errors
    ///
    /// * [`ReplyError::ClassMismatch`] when `enhanced` has another class than
    ///   the first digit of `code` (this also refuses any enhanced code on a
    ///   3xx reply);
    /// * [`ReplyError::InvalidText`] when `lines` is empty, a line holds a
    ///   control character other than HT (CR, LF, NUL, DEL, …), or
    ///   `enhanced` is `None` and the first line starts with what the parser
    ///   would take for an enhanced code of this class (`2.1.0 Sender OK` on
    ///   a 250; `5.1.1 …` on a 250 is fine).
    pub fn new(
        code: ReplyCode,
        enhanced: Option<EnhancedCode>,
        lines: Vec<String>,
    ) -> Result<Reply, ReplyError> {
        if let Some(e) = enhanced
            && e.class != code.first_digit()
        {
            return Err(ReplyError::ClassMismatch);
        }
        let Some(first) = lines.first() else {
            return Err(ReplyError::InvalidText);
        };
        if lines.iter().any(|line| line.chars().any(is_forbidden_char)) {
            return Err(ReplyError::InvalidText);
        }
        if enhanced.is_none() && leading_enhanced_code(first, code).is_some() {
            return Err(ReplyError::InvalidText);
        }
        Ok(Reply {
            code,
            enhanced,
            lines,
        })
    }

    /// A reply the caller has built valid by construction. Checked in debug
    /// builds only; `pub(crate)` so no value from outside skips [`Reply::new`].
    pub(crate) fn new_unchecked(
        code: ReplyCode,
        enhanced: Option<EnhancedCode>,
        lines: Vec<String>,
    ) -> Reply {
        let reply = Reply {
            code,
            enhanced,
            lines,
        };
        debug_assert!(
            Reply::new(reply.code, reply.enhanced, reply.lines.clone()).is_ok(),
            "invalid reply built in-crate: {reply:?}"
        );
        reply
    }

    /// A one-line reply: `Reply::simple(550, "5.1.1", "No such user")`.
    /// `enhanced` is `""` for none.
    ///
    /// # Errors
    ///
    /// [`ReplyError::InvalidCode`] when `code` is not a reply code or
    /// `enhanced` is neither empty nor an enhanced code; otherwise as
    /// [`Reply::new`] (a `text` with CR or LF is [`ReplyError::InvalidText`]).
    pub fn simple(code: u16, enhanced: &str, text: &str) -> Result<Reply, ReplyError> {
        Reply::multi(code, enhanced, [text])
    }

    /// A reply with several lines:
    /// `Reply::multi(250, "", ["mx.example.com", "PIPELINING"])`.
    ///
    /// # Errors
    ///
    /// As [`Reply::simple`].
    pub fn multi<I, S>(code: u16, enhanced: &str, lines: I) -> Result<Reply, ReplyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let code = ReplyCode::new(code).ok_or(ReplyError::InvalidCode)?;
        let enhanced = if enhanced.is_empty() {
            None
        } else {
            Some(EnhancedCode::parse(enhanced.as_bytes()).ok_or(ReplyError::InvalidCode)?)
        };
        Reply::new(code, enhanced, lines.into_iter().map(Into::into).collect())
    }

    /// The reply code.
    #[must_use]
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The enhanced status code, if any.
    #[must_use]
    pub fn enhanced(&self) -> Option<EnhancedCode> {
        self.enhanced
    }

    /// The text of each line, without code, enhanced code or line end.
    #[must_use]
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The lines joined with `"\n"`.
    #[must_use]
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Appends the wire form (every line ends in CRLF) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let digits = self.code.digits();
        let count = self.lines.len();
        for (index, line) in self.lines.iter().enumerate() {
            let last = index + 1 == count;
            out.extend_from_slice(&digits);
            match self.enhanced {
                None if line.is_empty() => {
                    if !last {
                        out.push(b'-');
                    }
                }
                None => {
                    out.push(if last { b' ' } else { b'-' });
                    out.extend_from_slice(line.as_bytes());
                }
                Some(enhanced) => {
                    out.push(if last { b' ' } else { b'-' });
                    enhanced.write_to(out);
                    if !line.is_empty() {
                        out.push(b' ');
                        out.extend_from_slice(line.as_bytes());
                    }
                }
            }
            out.extend_from_slice(b"\r\n");
        }
    }

    /// The wire form as a new buffer.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let estimate = self.lines.iter().map(|l| l.len() + 16).sum();
        let mut out = Vec::with_capacity(estimate);
        self.write_to(&mut out);
        out
    }
}

/// One line for people: `550 5.1.1 No such user`, several lines joined with
/// `" / "`.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(enhanced) = self.enhanced {
            write!(f, " {enhanced}")?;
        }
        let text = self.lines.join(" / ");
        if !text.is_empty() {
            write!(f, " {text}")?;
        }
        Ok(())
    }
}

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
    partial: Vec<u8>,
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

/// Control characters other than HT may not appear in reply text.
fn is_forbidden_char(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// Lossy UTF-8, with forbidden control characters replaced by U+FFFD.
fn decode_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().any(is_forbidden_char) {
        text.chars()
            .map(|c| if is_forbidden_char(c) { '\u{FFFD}' } else { c })
            .collect()
    } else {
        text.into_owned()
    }
}

/// Reads `class.subject.detail` at the start of `s`; returns the code and the
/// octets it spans. Digits beyond the third are left unread.
fn scan_enhanced(s: &[u8]) -> Option<(EnhancedCode, usize)> {
    let (&class, rest) = s.split_first()?;
    if !class.is_ascii_digit() {
        return None;
    }
    let rest = rest.strip_prefix(b".")?;
    let (subject, subject_len) = scan_number(rest)?;
    let rest = rest.get(subject_len..)?.strip_prefix(b".")?;
    let (detail, detail_len) = scan_number(rest)?;
    let code = EnhancedCode::new(class - b'0', subject, detail)?;
    Some((code, 3 + subject_len + detail_len))
}

/// One to three leading ASCII digits.
fn scan_number(s: &[u8]) -> Option<(u16, usize)> {
    let mut value = 0u16;
    let mut len = 0;
    for &b in s.iter().take(3).take_while(|b| b.is_ascii_digit()) {
        value = value * 10 + u16::from(b - b'0');
        len += 1;
    }
    (len > 0).then_some((value, len))
}

/// The enhanced code a reply line's text starts with, as the parser
/// recognises it: the code, then a space or the end, with the class of the
/// reply code. Returns the code and the octets to strip (the space included).
fn recognise_enhanced(text: &[u8], code: ReplyCode) -> Option<(EnhancedCode, usize)> {
    let (enhanced, used) = scan_enhanced(text)?;
    if enhanced.class != code.first_digit() {
        return None;
    }
    match text.get(used) {
        None => Some((enhanced, used)),
        Some(b' ') => Some((enhanced, used + 1)),
        Some(_) => None,
    }
}

/// The enhanced code the parser would read at the start of the first line of
/// a `code` reply with this text, if any.
pub(crate) fn leading_enhanced_code(text: &str, code: ReplyCode) -> Option<EnhancedCode> {
    recognise_enhanced(text.as_bytes(), code).map(|(enhanced, _)| enhanced)
}

/// Appends `n` in decimal.
fn push_decimal(out: &mut Vec<u8>, n: u16) {
    let mut digits = [0u8; 5];
    let mut start = digits.len();
    let mut n = n;
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            // n % 10 < 10, so the cast is lossless.
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || start == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_line_len: usize, max_lines: usize, max_total: usize) -> ReplyLimits {
        ReplyLimits {
            max_line_len,
            max_lines,
            max_total,
        }
    }

    /// Feeds `input` whole, then byte by byte; both must agree.
    fn parse_with(limits: ReplyLimits, input: &[u8]) -> (usize, Option<Result<Reply, ReplyError>>) {
        let mut parser = ReplyParser::new(limits);
        let whole = parser.feed(input);
        assert!(parser.is_idle() || whole.1.is_none());

        let mut parser = ReplyParser::new(limits);
        let mut used = 0;
        for byte in input {
            let (n, result) = parser.feed(std::slice::from_ref(byte));
            assert_eq!(n, 1);
            used += 1;
            if result.is_some() {
                assert_eq!((used, result.clone()), whole, "byte-wise differs");
                return whole;
            }
        }
        assert_eq!(whole, (used, None), "byte-wise differs");
        whole
    }

    fn parse(input: &[u8]) -> Result<Reply, ReplyError> {
        let (used, result) = parse_with(ReplyLimits::default(), input);
        let result = result.unwrap_or_else(|| panic!("incomplete: {input:?}"));
        if result.is_ok() {
            assert_eq!(used, input.len(), "did not consume all of {input:?}");
        }
        result
    }

    fn reply(code: u16, enhanced: Option<(u8, u16, u16)>, lines: &[&str]) -> Reply {
        Reply::new(
            ReplyCode::new(code).unwrap(),
            enhanced.map(|(c, s, d)| EnhancedCode::new(c, s, d).unwrap()),
            lines.iter().map(|l| (*l).to_owned()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn reply_code_table() {
        for (code, ok) in [
            (200, true),
            (211, true),
            (250, true),
            (354, true),
            (421, true),
            (559, true),
            (599, false),
            (260, false),
            (199, false),
            (600, false),
            (0, false),
            (25, false),
            (2500, false),
            (u16::MAX, false),
        ] {
            assert_eq!(ReplyCode::new(code).is_some(), ok, "{code}");
        }
        let classes = [
            (
                220,
                ReplyClass::PositiveCompletion,
                [true, false, false, false],
            ),
            (
                334,
                ReplyClass::PositiveIntermediate,
                [false, true, false, false],
            ),
            (
                451,
                ReplyClass::TransientNegative,
                [false, false, true, false],
            ),
            (
                554,
                ReplyClass::PermanentNegative,
                [false, false, false, true],
            ),
        ];
        for (code, class, flags) in classes {
            let code = ReplyCode::new(code).unwrap();
            assert_eq!(code.class(), class);
            let got = [
                code.is_positive(),
                code.is_intermediate(),
                code.is_transient(),
                code.is_permanent(),
            ];
            assert_eq!(got, flags, "{code}");
        }
        assert_eq!(ReplyCode::OK.as_u16(), 250);
        assert_eq!(ReplyCode::START_MAIL_INPUT.to_string(), "354");
        assert_eq!(u16::from(ReplyCode::SERVICE_UNAVAILABLE), 421);
    }

    #[test]
    fn associated_consts_are_valid() {
        for code in [
            ReplyCode::SYSTEM_STATUS,
            ReplyCode::HELP_MESSAGE,
            ReplyCode::SERVICE_READY,
            ReplyCode::CLOSING,
            ReplyCode::AUTH_SUCCESS,
            ReplyCode::OK,
            ReplyCode::USER_NOT_LOCAL_WILL_FORWARD,
            ReplyCode::CANNOT_VRFY,
            ReplyCode::AUTH_CHALLENGE,
            ReplyCode::START_MAIL_INPUT,
            ReplyCode::SERVICE_UNAVAILABLE,
            ReplyCode::PASSWORD_TRANSITION_NEEDED,
            ReplyCode::MAILBOX_BUSY,
            ReplyCode::LOCAL_ERROR,
            ReplyCode::INSUFFICIENT_STORAGE,
            ReplyCode::TEMPORARY_FAILURE,
            ReplyCode::PARAMS_NOT_ACCOMMODATED,
            ReplyCode::SYNTAX_ERROR,
            ReplyCode::PARAM_SYNTAX_ERROR,
            ReplyCode::NOT_IMPLEMENTED,
            ReplyCode::BAD_SEQUENCE,
            ReplyCode::PARAM_NOT_IMPLEMENTED,
            ReplyCode::DOES_NOT_ACCEPT_MAIL,
            ReplyCode::AUTH_REQUIRED,
            ReplyCode::AUTH_TOO_WEAK,
            ReplyCode::AUTH_FAILED,
            ReplyCode::ENCRYPTION_REQUIRED,
            ReplyCode::MAILBOX_UNAVAILABLE,
            ReplyCode::USER_NOT_LOCAL,
            ReplyCode::EXCEEDED_STORAGE,
            ReplyCode::MAILBOX_NAME_NOT_ALLOWED,
            ReplyCode::TRANSACTION_FAILED,
            ReplyCode::PARAMS_NOT_RECOGNIZED,
            ReplyCode::DOMAIN_DOES_NOT_ACCEPT_MAIL,
        ] {
            assert_eq!(ReplyCode::new(code.as_u16()), Some(code));
        }
    }

    #[test]
    fn enhanced_code_table() {
        type Case<'a> = (&'a [u8], (u8, u16, u16), &'a str);
        let accept: &[Case<'_>] = &[
            (b"2.0.0", (2, 0, 0), "2.0.0"),
            (b"4.7.1", (4, 7, 1), "4.7.1"),
            (b"5.1.10", (5, 1, 10), "5.1.10"),
            (b"5.999.999", (5, 999, 999), "5.999.999"),
            (b"2.01.000", (2, 1, 0), "2.1.0"),
        ];
        for (input, (c, s, d), shown) in accept {
            let code = EnhancedCode::parse(input).unwrap();
            assert_eq!((code.class(), code.subject(), code.detail()), (*c, *s, *d));
            assert_eq!(code.to_string(), *shown);
            let mut out = Vec::new();
            code.write_to(&mut out);
            assert_eq!(out, shown.as_bytes());
        }
        let reject: &[&[u8]] = &[
            b"",
            b"2",
            b"2.",
            b"2.1",
            b"2.1.",
            b"2..0",
            b"3.0.0",
            b"1.0.0",
            b"6.0.0",
            b"2.1000.0",
            b"2.1.1000",
            b"2.1.0 ",
            b" 2.1.0",
            b"2.1.0.0",
            b"22.1.0",
            b"2.a.0",
            b"2,1,0",
            b"\xff.1.0",
        ];
        for input in reject {
            assert_eq!(EnhancedCode::parse(input), None, "{input:?}");
        }
        assert!(EnhancedCode::new(3, 0, 0).is_none());
        assert!(EnhancedCode::new(2, 1000, 0).is_none());
        assert!(EnhancedCode::new(2, 0, 1000).is_none());
        assert!(EnhancedCode::new(5, 999, 999).is_some());
    }

    #[test]
    fn new_accepts_and_rejects() {
        let ok = ReplyCode::OK;
        let e210 = EnhancedCode::new(2, 1, 0);
        let e511 = EnhancedCode::new(5, 1, 1);
        let s = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
        type Case = (
            ReplyCode,
            Option<EnhancedCode>,
            Vec<String>,
            Result<(), ReplyError>,
        );
        let cases: &[Case] = &[
            (ok, None, s(&["OK"]), Ok(())),
            (ok, None, s(&[""]), Ok(())),
            (ok, None, s(&["", "", ""]), Ok(())),
            (ok, None, s(&["tab\tinside", "Grüße, 世界"]), Ok(())),
            (ok, e210, s(&["OK"]), Ok(())),
            (ok, e210, s(&["2.1.0 looks like a code"]), Ok(())),
            (ok, None, s(&["5.1.1 other class"]), Ok(())),
            (ok, None, s(&["2.1.0x not followed by space"]), Ok(())),
            (ok, None, s(&["2.1.0\ttab"]), Ok(())),
            (
                ok,
                None,
                s(&["first", "2.1.0 later lines are fine"]),
                Ok(()),
            ),
            (
                ReplyCode::START_MAIL_INPUT,
                None,
                s(&["3.0.0 no class 3"]),
                Ok(()),
            ),
            (ok, None, s(&[]), Err(ReplyError::InvalidText)),
            (ok, None, s(&["a\r\nb"]), Err(ReplyError::InvalidText)),
            (ok, None, s(&["a\nb"]), Err(ReplyError::InvalidText)),
            (ok, None, s(&["a\rb"]), Err(ReplyError::InvalidText)),
            (ok, None, s(&["nul\0"]), Err(ReplyError::InvalidText)),
            (ok, None, s(&["del\x7f"]), Err(ReplyError::InvalidText)),
            (ok, None, s(&["esc\x1b[31m"]), Err(ReplyError::InvalidText)),
            (ok, None, s(&["c1\u{85}"]), Err(ReplyError::InvalidText)),
            (
                ok,
                None,
                s(&["fine", "bad\n"]),
                Err(ReplyError::InvalidText),
            ),
            (
                ok,
                None,
                s(&["2.1.0 ambiguous"]),
                Err(ReplyError::InvalidText),
            ),
            (ok, None, s(&["2.1.0"]), Err(ReplyError::InvalidText)),
            (
                ok,
                None,
                s(&["2.01.0 ambiguous"]),
                Err(ReplyError::InvalidText),
            ),
            (ok, e511, s(&["x"]), Err(ReplyError::ClassMismatch)),
            (
                ReplyCode::START_MAIL_INPUT,
                e210,
                s(&["x"]),
                Err(ReplyError::ClassMismatch),
            ),
            (
                ReplyCode::MAILBOX_UNAVAILABLE,
                e210,
                s(&["x"]),
                Err(ReplyError::ClassMismatch),
            ),
        ];
        for (code, enhanced, lines, expected) in cases {
            let got = Reply::new(*code, *enhanced, lines.clone()).map(|_| ());
            assert_eq!(&got, expected, "{code} {enhanced:?} {lines:?}");
        }
    }

    #[test]
    fn simple_and_multi() {
        let r = Reply::simple(550, "5.1.1", "No such user").unwrap();
        assert_eq!(r.code(), ReplyCode::MAILBOX_UNAVAILABLE);
        assert_eq!(r.enhanced(), EnhancedCode::new(5, 1, 1));
        assert_eq!(r.lines(), ["No such user"]);
        assert_eq!(r.to_string(), "550 5.1.1 No such user");
        let r = Reply::simple(220, "", "").unwrap();
        assert_eq!(r.to_string(), "220");
        let r = Reply::multi(250, "", ["mx", "PIPELINING"]).unwrap();
        assert_eq!(r.text(), "mx\nPIPELINING");
        assert_eq!(r.to_string(), "250 mx / PIPELINING");

        assert_eq!(Reply::simple(199, "", "x"), Err(ReplyError::InvalidCode));
        assert_eq!(Reply::simple(250, "2.1", "x"), Err(ReplyError::InvalidCode));
        assert_eq!(
            Reply::simple(250, "3.0.0", "x"),
            Err(ReplyError::InvalidCode)
        );
        assert_eq!(
            Reply::simple(250, "5.0.0", "x"),
            Err(ReplyError::ClassMismatch)
        );
        assert_eq!(Reply::simple(250, "", "a\nb"), Err(ReplyError::InvalidText));
        assert_eq!(
            Reply::multi(250, "", Vec::<String>::new()),
            Err(ReplyError::InvalidText)
        );
    }

    #[test]
    fn serialisation_table() {
        let cases: &[(Reply, &[u8])] = &[
            (reply(250, None, &["OK"]), b"250 OK\r\n"),
            (reply(250, None, &[""]), b"250\r\n"),
            (reply(250, None, &["", ""]), b"250-\r\n250\r\n"),
            (
                reply(250, None, &["a", "b", "c"]),
                b"250-a\r\n250-b\r\n250 c\r\n",
            ),
            (reply(250, Some((2, 1, 0)), &["OK"]), b"250 2.1.0 OK\r\n"),
            (reply(250, Some((2, 1, 0)), &[""]), b"250 2.1.0\r\n"),
            (
                reply(550, Some((5, 1, 10)), &["a", "", " b"]),
                b"550-5.1.10 a\r\n550-5.1.10\r\n550 5.1.10  b\r\n",
            ),
            (
                reply(250, None, &[" lead", "trail "]),
                b"250- lead\r\n250 trail \r\n",
            ),
        ];
        for (reply, bytes) in cases {
            assert_eq!(reply.to_bytes(), *bytes, "{reply:?}");
            assert_eq!(parse(bytes).as_ref(), Ok(reply), "{bytes:?}");
        }
    }

    #[test]
    fn parse_accepts() {
        let cases: &[(&[u8], Reply)] = &[
            (b"250 OK\r\n", reply(250, None, &["OK"])),
            (b"250 OK\n", reply(250, None, &["OK"])),
            (b"250\r\n", reply(250, None, &[""])),
            (b"250\n", reply(250, None, &[""])),
            (b"250 \r\n", reply(250, None, &[""])),
            (b"250-\r\n250 \r\n", reply(250, None, &["", ""])),
            (
                b"250-a\n250-b\r\n250 c\n",
                reply(250, None, &["a", "b", "c"]),
            ),
            (b"250 2.1.0 OK\r\n", reply(250, Some((2, 1, 0)), &["OK"])),
            (b"250 2.1.0\r\n", reply(250, Some((2, 1, 0)), &[""])),
            (b"250 2.1.0 \r\n", reply(250, Some((2, 1, 0)), &[""])),
            (
                b"250-2.1.0 a\r\n250 2.1.0 b\r\n",
                reply(250, Some((2, 1, 0)), &["a", "b"]),
            ),
            (
                b"250-2.1.0 a\r\n250 b\r\n",
                reply(250, Some((2, 1, 0)), &["a", "b"]),
            ),
            (
                b"250-2.1.0 a\r\n250 2.1.5 b\r\n",
                reply(250, Some((2, 1, 0)), &["a", "2.1.5 b"]),
            ),
            (
                b"250-2.01.0 a\r\n250 2.1.00 b\r\n",
                reply(250, Some((2, 1, 0)), &["a", "b"]),
            ),
            (
                b"250-2.1.0 2.1.0 a\r\n250 2.1.0 2.1.0\r\n",
                reply(250, Some((2, 1, 0)), &["2.1.0 a", "2.1.0"]),
            ),
            (
                b"250-a\r\n250 2.1.0 b\r\n",
                reply(250, None, &["a", "2.1.0 b"]),
            ),
            (b"250 5.1.1 x\r\n", reply(250, None, &["5.1.1 x"])),
            (b"354 3.0.0 go\r\n", reply(354, None, &["3.0.0 go"])),
            (
                b"550 5.1.1 No such user\r\n",
                reply(550, Some((5, 1, 1)), &["No such user"]),
            ),
            (b"421 4.7.0 bye\r\n", reply(421, Some((4, 7, 0)), &["bye"])),
            (b"250 2.1.0\tx\r\n", reply(250, None, &["2.1.0\tx"])),
            (b"250 2.1.0x\r\n", reply(250, None, &["2.1.0x"])),
            (b"250 2.1234.0 x\r\n", reply(250, None, &["2.1234.0 x"])),
            (
                b"250 2.1.0  two spaces\r\n",
                reply(250, Some((2, 1, 0)), &[" two spaces"]),
            ),
            (b"250 ok  \r\n", reply(250, None, &["ok  "])),
            (b"250  lead\r\n", reply(250, None, &[" lead"])),
            (b"250 a\tb\r\n", reply(250, None, &["a\tb"])),
            (
                "250 Grüße 世界\r\n".as_bytes(),
                reply(250, None, &["Grüße 世界"]),
            ),
            (b"250 \xff\xfe\r\n", reply(250, None, &["\u{FFFD}\u{FFFD}"])),
            (
                b"250 a\x01b\x7f\r\n",
                reply(250, None, &["a\u{FFFD}b\u{FFFD}"]),
            ),
            (b"250 ok\r\r\n", reply(250, None, &["ok\u{FFFD}"])),
            (b"250 a\rb\r\n", reply(250, None, &["a\u{FFFD}b"])),
            (b"250 a\0b\r\n", reply(250, None, &["a\u{FFFD}b"])),
        ];
        for (input, expected) in cases {
            let got = parse(input);
            assert_eq!(
                got.as_ref(),
                Ok(expected),
                "{:?}",
                String::from_utf8_lossy(input)
            );
            // Whatever the parser returns is a valid Reply and round trips.
            let again = Reply::new(expected.code, expected.enhanced, expected.lines.clone());
            assert_eq!(again.as_ref(), Ok(expected));
            assert_eq!(parse(&expected.to_bytes()).as_ref(), Ok(expected));
        }
    }

    #[test]
    fn parse_rejects() {
        let cases: &[(&[u8], ReplyError)] = &[
            (b"\r\n", ReplyError::Malformed),
            (b"\n", ReplyError::Malformed),
            (b"25\r\n", ReplyError::Malformed),
            (b"25 OK\r\n", ReplyError::Malformed),
            (b"2500 OK\r\n", ReplyError::Malformed),
            (b"250OK\r\n", ReplyError::Malformed),
            (b"250_OK\r\n", ReplyError::Malformed),
            (b"250\tOK\r\n", ReplyError::Malformed),
            (b" 250 OK\r\n", ReplyError::Malformed),
            (b"abc def\r\n", ReplyError::Malformed),
            (b"2a0 OK\r\n", ReplyError::Malformed),
            (b"HTTP/1.1 400 Bad Request\r\n", ReplyError::Malformed),
            (b"250-ok\r\nfoo\r\n", ReplyError::Malformed),
            (b"\xff\xff\xff\r\n", ReplyError::Malformed),
            (b"199 x\r\n", ReplyError::InvalidCode),
            (b"600 x\r\n", ReplyError::InvalidCode),
            (b"260 x\r\n", ReplyError::InvalidCode),
            (b"000\r\n", ReplyError::InvalidCode),
            (b"999-x\r\n", ReplyError::InvalidCode),
            (
                b"250-a\r\n251 b\r\n",
                ReplyError::CodeMismatch {
                    first: 250,
                    later: 251,
                },
            ),
            (
                b"250-a\r\n250-b\r\n550 c\r\n",
                ReplyError::CodeMismatch {
                    first: 250,
                    later: 550,
                },
            ),
        ];
        for (input, error) in cases {
            let (used, result) = parse_with(ReplyLimits::default(), input);
            assert_eq!(result, Some(Err(error.clone())), "{input:?}");
            assert_eq!(used, input.len(), "{input:?}");
        }
    }

    #[test]
    fn stops_after_first_reply() {
        let input = b"250-a\r\n250 b\r\n221 bye\r\ngarbage";
        let mut parser = ReplyParser::default();
        let (used, first) = parser.feed(input);
        assert_eq!(used, 14);
        assert_eq!(first, Some(Ok(reply(250, None, &["a", "b"]))));
        assert!(parser.is_idle());
        let (used2, second) = parser.feed(&input[used..]);
        assert_eq!(used2, 9);
        assert_eq!(second, Some(Ok(reply(221, None, &["bye"]))));
        let (used3, third) = parser.feed(&input[used + used2..]);
        assert_eq!((used3, third), (7, None));
        assert!(!parser.is_idle());
        assert_eq!(parser.buffered_len(), 7);
        parser.reset();
        assert!(parser.is_idle());
        assert_eq!(parser.buffered_len(), 0);
        assert_eq!(parser.feed(b""), (0, None));
    }

    #[test]
    fn partial_state_is_idle_only_between_replies() {
        let mut parser = ReplyParser::default();
        assert!(parser.is_idle());
        assert_eq!(parser.feed(b"250-a\r\n"), (7, None));
        assert!(!parser.is_idle());
        assert_eq!(parser.buffered_len(), 7);
        assert_eq!(parser.feed(b"250 b"), (5, None));
        assert_eq!(parser.buffered_len(), 12);
        assert_eq!(
            parser.feed(b"\r\n"),
            (2, Some(Ok(reply(250, None, &["a", "b"]))))
        );
        assert!(parser.is_idle());
    }

    #[test]
    fn line_cap() {
        // "250 abcdef\r\n" is 12 octets: fits a 12 cap, not an 11 cap.
        let input = b"250 abcdef\r\n";
        let ok = parse_with(limits(12, 10, 1000), input);
        assert_eq!(ok, (12, Some(Ok(reply(250, None, &["abcdef"])))));
        let ok = parse_with(limits(11, 10, 1000), b"250 abcdef\n");
        assert_eq!(ok, (11, Some(Ok(reply(250, None, &["abcdef"])))));
        // Over by one: reported at the 11th octet, the CR.
        let err = parse_with(limits(11, 10, 1000), input);
        assert_eq!(err, (11, Some(Err(ReplyError::LineTooLong))));
        // Detected before any line end arrives.
        let mut parser = ReplyParser::new(limits(8, 10, 1000));
        assert_eq!(parser.feed(b"250 abc"), (7, None));
        assert_eq!(
            parser.feed(b"defghij"),
            (1, Some(Err(ReplyError::LineTooLong)))
        );
        assert!(parser.is_idle());
        // On a later line, counted from that line's start.
        let err = parse_with(limits(9, 10, 1000), b"250-abc\r\n250 abcdefgh\r\n");
        assert_eq!(err, (9 + 9, Some(Err(ReplyError::LineTooLong))));
        // Degenerate caps never panic.
        let err = parse_with(limits(0, 10, 1000), b"\n");
        assert_eq!(err, (1, Some(Err(ReplyError::LineTooLong))));
        let err = parse_with(limits(1, 10, 1000), b"\n");
        assert_eq!(err, (1, Some(Err(ReplyError::Malformed))));
        let err = parse_with(limits(1, 10, 1000), b"2");
        assert_eq!(err, (1, Some(Err(ReplyError::LineTooLong))));
    }

    #[test]
    fn lines_cap() {
        let three = b"250-a\r\n250-b\r\n250 c\r\n";
        let ok = parse_with(limits(100, 3, 1000), three);
        assert_eq!(ok, (21, Some(Ok(reply(250, None, &["a", "b", "c"])))));
        // The second line promises a third: refused at its end.
        let err = parse_with(limits(100, 2, 1000), three);
        assert_eq!(err, (14, Some(Err(ReplyError::TooManyLines))));
        let err = parse_with(limits(100, 1, 1000), three);
        assert_eq!(err, (7, Some(Err(ReplyError::TooManyLines))));
        let err = parse_with(limits(100, 0, 1000), b"250 a\r\n");
        assert_eq!(err, (7, Some(Err(ReplyError::TooManyLines))));
    }

    #[test]
    fn total_cap() {
        let three = b"250-a\r\n250-b\r\n250 c\r\n";
        let ok = parse_with(limits(100, 10, 21), three);
        assert_eq!(ok, (21, Some(Ok(reply(250, None, &["a", "b", "c"])))));
        let err = parse_with(limits(100, 10, 20), three);
        assert_eq!(err, (21, Some(Err(ReplyError::TooLarge))));
        let err = parse_with(limits(100, 10, 10), three);
        assert_eq!(err, (11, Some(Err(ReplyError::TooLarge))));
        let err = parse_with(limits(100, 10, 0), three);
        assert_eq!(err, (1, Some(Err(ReplyError::TooLarge))));
        // The line cap wins a tie at the same octet.
        let err = parse_with(limits(5, 10, 3), b"250 abcdef\r\n");
        assert_eq!(err, (4, Some(Err(ReplyError::TooLarge))));
        let err = parse_with(limits(5, 10, 4), b"250 abcdef\r\n");
        assert_eq!(err, (5, Some(Err(ReplyError::LineTooLong))));
    }

    #[test]
    fn caps_bound_the_buffer() {
        let caps = limits(16, 4, 36);
        let mut parser = ReplyParser::new(caps);
        for chunk in [
            &b"250-abc"[..],
            b"defg\r\n250-",
            b"x\r\n250-yy",
            b"y\r\n",
            b"250 zz",
        ] {
            let (used, result) = parser.feed(chunk);
            assert!(used <= chunk.len());
            assert!(parser.buffered_len() <= caps.max_total);
            assert!(parser.partial.len() < caps.max_line_len);
            assert!(result.is_none(), "{result:?}");
        }
        assert_eq!(parser.feed(b"\r\n").1, Some(Err(ReplyError::TooLarge)));
    }

    #[test]
    fn recovers_after_error() {
        let mut parser = ReplyParser::default();
        let input = b"250-a\r\n251 b\r\n220 ready\r\n";
        let (used, result) = parser.feed(input);
        assert_eq!(
            result,
            Some(Err(ReplyError::CodeMismatch {
                first: 250,
                later: 251
            }))
        );
        assert!(parser.is_idle());
        let (_, result) = parser.feed(&input[used..]);
        assert_eq!(result, Some(Ok(reply(220, None, &["ready"]))));
    }

    #[test]
    fn push_decimal_table() {
        for n in [0u16, 7, 10, 99, 100, 999, 1000, u16::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
