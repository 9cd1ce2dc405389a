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

mod parser;

pub use parser::{ReplyLimits, ReplyParser};

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
        if lines.iter().any(|line| has_forbidden_char(line)) {
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

    /// Appends the wire form without the enhanced code, as a session that
    /// does not use enhanced status codes sends it. A first line that would
    /// then read as an enhanced code gets `- ` in front of it.
    pub(crate) fn write_without_enhanced(&self, out: &mut Vec<u8>) {
        let count = self.lines.len();
        let digits = self.code.digits();
        for (index, line) in self.lines.iter().enumerate() {
            let last = index + 1 == count;
            out.extend_from_slice(&digits);
            if line.is_empty() {
                if !last {
                    out.push(b'-');
                }
            } else {
                out.push(if last { b' ' } else { b'-' });
                if index == 0 && leading_enhanced_code(line, self.code).is_some() {
                    out.extend_from_slice(b"- ");
                }
                out.extend_from_slice(line.as_bytes());
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

/// Control characters other than HT may not appear in reply text.
fn is_forbidden_char(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// Whether `line` holds a forbidden control character (a byte scan for
/// ASCII text, the usual case).
pub(crate) fn has_forbidden_char(line: &str) -> bool {
    if line.is_ascii() {
        line.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f)
    } else {
        line.chars().any(is_forbidden_char)
    }
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
mod tests;
