//! Command lines: every RFC 5321 verb plus STARTTLS (RFC 3207), AUTH
//! (RFC 4954), BDAT (RFC 3030) and LHLO (RFC 2033).
//!
//! [`Command::parse`] takes one line *without* its line ending (the
//! [`line`](super::line) framer strips it) and returns a typed command or a
//! [`CommandError`] that says which verb failed and why, so a server can pick
//! the right reply (500 for an unknown verb, 501 for bad arguments, 555 for
//! bad parameters). [`Command::write_to`] serialises a command, line ending
//! included; `Command::parse` of those bytes minus the CRLF gives the same
//! command back.
//!
//! ```
//! use mailwire_core::wire::command::{Command, Verb};
//!
//! let cmd = Command::parse(b"mail from:<alice@example.org> SIZE=1024").unwrap();
//! assert_eq!(cmd.verb(), Verb::Mail);
//! assert_eq!(cmd.to_bytes(), b"MAIL FROM:<alice@example.org> SIZE=1024\r\n");
//! ```

use std::fmt;

use super::address::{AddressError, Domain, ForwardPath, ReversePath};
use super::params::{MailParameters, ParamError, RcptParameters};

/// The verb of a command line, known even when its arguments are bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verb {
    /// `EHLO` (RFC 5321 §4.1.1.1).
    Ehlo,
    /// `HELO` (RFC 5321 §4.1.1.1).
    Helo,
    /// `LHLO` (RFC 2033, LMTP).
    Lhlo,
    /// `MAIL FROM:` (RFC 5321 §4.1.1.2).
    Mail,
    /// `RCPT TO:` (RFC 5321 §4.1.1.3).
    Rcpt,
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT` (RFC 3030).
    Bdat,
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `NOOP` (RFC 5321 §4.1.1.9).
    Noop,
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
    /// `VRFY` (RFC 5321 §4.1.1.6).
    Vrfy,
    /// `EXPN` (RFC 5321 §4.1.1.7).
    Expn,
    /// `HELP` (RFC 5321 §4.1.1.8).
    Help,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH` (RFC 4954).
    Auth,
}

impl Verb {
    /// Every verb, in a fixed order.
    pub const ALL: [Verb; 15] = [
        Verb::Ehlo,
        Verb::Helo,
        Verb::Lhlo,
        Verb::Mail,
        Verb::Rcpt,
        Verb::Data,
        Verb::Bdat,
        Verb::Rset,
        Verb::Noop,
        Verb::Quit,
        Verb::Vrfy,
        Verb::Expn,
        Verb::Help,
        Verb::StartTls,
        Verb::Auth,
    ];

    /// The verb as written on the wire (upper case).
    pub const fn as_str(self) -> &'static str {
        match self {
            Verb::Ehlo => "EHLO",
            Verb::Helo => "HELO",
            Verb::Lhlo => "LHLO",
            Verb::Mail => "MAIL",
            Verb::Rcpt => "RCPT",
            Verb::Data => "DATA",
            Verb::Bdat => "BDAT",
            Verb::Rset => "RSET",
            Verb::Noop => "NOOP",
            Verb::Quit => "QUIT",
            Verb::Vrfy => "VRFY",
            Verb::Expn => "EXPN",
            Verb::Help => "HELP",
            Verb::StartTls => "STARTTLS",
            Verb::Auth => "AUTH",
        }
    }

    /// Recognises a verb, ASCII case-insensitively.
    pub fn from_bytes(word: &[u8]) -> Option<Verb> {
        // Four-letter verbs dominate; compare by length first.
        Verb::ALL.into_iter().find(|v| {
            v.as_str().len() == word.len() && word.eq_ignore_ascii_case(v.as_str().as_bytes())
        })
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a command line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", match .verb { Some(v) => format!("{v}: {}", .kind), None => .kind.to_string() })]
pub struct CommandError {
    verb: Option<Verb>,
    kind: CommandErrorKind,
}

impl CommandError {
    fn new(verb: Option<Verb>, kind: CommandErrorKind) -> Self {
        CommandError { verb, kind }
    }

    /// The verb, when it was recognised (the arguments were what failed).
    pub fn verb(&self) -> Option<Verb> {
        self.verb
    }

    /// What went wrong.
    pub fn kind(&self) -> &CommandErrorKind {
        &self.kind
    }
}

/// The kinds of [`CommandError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandErrorKind {
    /// An empty line (or only spaces).
    #[error("empty command line")]
    Empty,
    /// The first word is not a verb this codec knows (answer 500).
    #[error("unrecognised command")]
    UnknownVerb,
    /// CR, NUL or another control character in the line (CR/LF injection).
    #[error("forbidden byte 0x{0:02x} in command line")]
    ForbiddenByte(u8),
    /// The arguments do not fit the verb's syntax (answer 501).
    #[error("syntax error in arguments")]
    Syntax,
    /// The path of MAIL or RCPT, or the domain of EHLO/HELO/LHLO, is invalid.
    #[error("invalid address: {0}")]
    Address(#[from] AddressError),
    /// The ESMTP parameters of MAIL or RCPT are invalid (answer 501 or 555).
    #[error("invalid parameters: {0}")]
    Params(#[from] ParamError),
}

/// A free-text argument (of NOOP, VRFY, EXPN, HELP): no control characters,
/// no leading or trailing space.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text(String);

impl Text {
    /// Checks and wraps a text argument.
    pub fn new(text: impl Into<String>) -> Result<Text, CommandErrorKind> {
        let text = text.into();
        if let Some(b) = text.bytes().find(|&b| b < 0x20 || b == 0x7f) {
            return Err(CommandErrorKind::ForbiddenByte(b));
        }
        if text.is_empty() || text.starts_with(' ') || text.ends_with(' ') {
            return Err(CommandErrorKind::Syntax);
        }
        Ok(Text(text))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A SASL mechanism name (RFC 4422 §3.1): 1 to 20 of `A-Z 0-9 - _`, kept
/// in upper case (names are matched case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mechanism(String);

impl Mechanism {
    /// Checks and wraps a mechanism name; lower case is folded to upper case.
    pub fn new(name: &str) -> Result<Mechanism, CommandErrorKind> {
        let ok = (1..=20).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Mechanism(name.to_ascii_uppercase()))
        } else {
            Err(CommandErrorKind::Syntax)
        }
    }

    /// The name, in upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The initial response of `AUTH` (RFC 4954 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InitialResponse {
    /// `=`: an initial response of zero length.
    Empty,
    /// Base64 text as sent (decoding is the mechanism's business).
    Base64(String),
}

impl InitialResponse {
    /// Wraps base64 text; it must be non-empty and use only the base64
    /// alphabet (`A-Z a-z 0-9 + / =`).
    pub fn base64(text: impl Into<String>) -> Result<InitialResponse, CommandErrorKind> {
        let text = text.into();
        if !text.is_empty() && text.bytes().all(is_base64_byte) && text != "=" {
            Ok(InitialResponse::Base64(text))
        } else {
            Err(CommandErrorKind::Syntax)
        }
    }
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// A parsed SMTP command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `EHLO domain` or `EHLO [address-literal]`.
    Ehlo(Domain),
    /// `HELO domain` (an address literal is accepted too, as real clients send one).
    Helo(Domain),
    /// `LHLO domain` (LMTP).
    Lhlo(Domain),
    /// `MAIL FROM:<reverse-path> [parameters]`.
    Mail {
        /// The reverse path (`<>` for bounces).
        from: ReversePath,
        /// ESMTP parameters.
        params: MailParameters,
    },
    /// `RCPT TO:<forward-path> [parameters]`.
    Rcpt {
        /// The forward path (`<Postmaster>` allowed).
        to: ForwardPath,
        /// ESMTP parameters.
        params: RcptParameters,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]`.
    Bdat {
        /// Octets in this chunk.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [text]`.
    Noop(Option<Text>),
    /// `QUIT`.
    Quit,
    /// `VRFY text`.
    Vrfy(Text),
    /// `EXPN text`.
    Expn(Text),
    /// `HELP [text]`.
    Help(Option<Text>),
    /// `STARTTLS`.
    StartTls,
    /// `AUTH mechanism [initial-response]`.
    Auth {
        /// The SASL mechanism.
        mechanism: Mechanism,
        /// The optional initial response.
        initial_response: Option<InitialResponse>,
    },
}

impl Command {
    /// Parses one command line, given without its line ending.
    ///
    /// Verbs and the `FROM:`/`TO:` keywords are case-insensitive. A space
    /// after `FROM:`/`TO:` is tolerated (many clients send one); trailing
    /// spaces are ignored. Any control character (CR, NUL, …) is refused
    /// before anything else is looked at.
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        if let Some(&b) = line
            .iter()
            .find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f)
        {
            let verb = split_verb(line).0.and_then(Verb::from_bytes);
            return Err(CommandError::new(verb, CommandErrorKind::ForbiddenByte(b)));
        }
        let line = trim_end(line);
        let (word, rest) = split_verb(line);
        let Some(word) = word else {
            return Err(CommandError::new(None, CommandErrorKind::Empty));
        };
        let Some(verb) = Verb::from_bytes(word) else {
            return Err(CommandError::new(None, CommandErrorKind::UnknownVerb));
        };
        parse_args(verb, rest).map_err(|kind| CommandError::new(Some(verb), kind))
    }

    /// The command's verb.
    pub fn verb(&self) -> Verb {
        match self {
            Command::Ehlo(_) => Verb::Ehlo,
            Command::Helo(_) => Verb::Helo,
            Command::Lhlo(_) => Verb::Lhlo,
            Command::Mail { .. } => Verb::Mail,
            Command::Rcpt { .. } => Verb::Rcpt,
            Command::Data => Verb::Data,
            Command::Bdat { .. } => Verb::Bdat,
            Command::Rset => Verb::Rset,
            Command::Noop(_) => Verb::Noop,
            Command::Quit => Verb::Quit,
            Command::Vrfy(_) => Verb::Vrfy,
            Command::Expn(_) => Verb::Expn,
            Command::Help(_) => Verb::Help,
            Command::StartTls => Verb::StartTls,
            Command::Auth { .. } => Verb::Auth,
        }
    }

    /// Appends the command line, with its CRLF, to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.verb().as_str().as_bytes());
        match self {
            Command::Ehlo(d) | Command::Helo(d) | Command::Lhlo(d) => {
                out.push(b' ');
                d.write_to(out);
            }
            Command::Mail { from, params } => {
                out.extend_from_slice(b" FROM:");
                from.write_to(out);
                params.write_to(out);
            }
            Command::Rcpt { to, params } => {
                out.extend_from_slice(b" TO:");
                to.write_to(out);
                params.write_to(out);
            }
            Command::Bdat { size, last } => {
                out.push(b' ');
                out.extend_from_slice(size.to_string().as_bytes());
                if *last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Command::Noop(Some(t))
            | Command::Help(Some(t))
            | Command::Vrfy(t)
            | Command::Expn(t) => {
                out.push(b' ');
                out.extend_from_slice(t.as_str().as_bytes());
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => {
                out.push(b' ');
                out.extend_from_slice(mechanism.as_str().as_bytes());
                match initial_response {
                    None => {}
                    Some(InitialResponse::Empty) => out.extend_from_slice(b" ="),
                    Some(InitialResponse::Base64(s)) => {
                        out.push(b' ');
                        out.extend_from_slice(s.as_bytes());
                    }
                }
            }
            Command::Data
            | Command::Rset
            | Command::Noop(None)
            | Command::Help(None)
            | Command::Quit
            | Command::StartTls => {}
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The command line with its CRLF.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        self.write_to(&mut out);
        out
    }
}

impl fmt::Display for Command {
    /// The command line without its CRLF (for logs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        let line = bytes.strip_suffix(b"\r\n").unwrap_or(&bytes);
        f.write_str(&String::from_utf8_lossy(line))
    }
}

/// Splits off the first word; the rest starts after one space (or is empty).
fn split_verb(line: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let line = trim_start(line);
    if line.is_empty() {
        return (None, line);
    }
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (Some(&line[..i]), &line[i + 1..]),
        None => (Some(line), &[]),
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

fn trim_end(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .rev()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    &s[..s.len() - n]
}

fn parse_args(verb: Verb, rest: &[u8]) -> Result<Command, CommandErrorKind> {
    let rest = trim_start(rest);
    match verb {
        Verb::Ehlo | Verb::Helo | Verb::Lhlo => {
            if rest.is_empty() || rest.contains(&b' ') {
                return Err(CommandErrorKind::Syntax);
            }
            let domain = Domain::parse(rest)?;
            Ok(match verb {
                Verb::Ehlo => Command::Ehlo(domain),
                Verb::Helo => Command::Helo(domain),
                _ => Command::Lhlo(domain),
            })
        }
        Verb::Mail => {
            let path = strip_keyword(rest, b"FROM:")?;
            let (from, used) = ReversePath::parse_prefix(path)?;
            let params = MailParameters::parse(after_path(&path[used..])?)?;
            Ok(Command::Mail { from, params })
        }
        Verb::Rcpt => {
            let path = strip_keyword(rest, b"TO:")?;
            let (to, used) = ForwardPath::parse_prefix(path)?;
            let params = RcptParameters::parse(after_path(&path[used..])?)?;
            Ok(Command::Rcpt { to, params })
        }
        Verb::Bdat => parse_bdat(rest),
        Verb::Auth => parse_auth(rest),
        Verb::Noop => Ok(Command::Noop(optional_text(rest)?)),
        Verb::Help => Ok(Command::Help(optional_text(rest)?)),
        Verb::Vrfy => Ok(Command::Vrfy(
            optional_text(rest)?.ok_or(CommandErrorKind::Syntax)?,
        )),
        Verb::Expn => Ok(Command::Expn(
            optional_text(rest)?.ok_or(CommandErrorKind::Syntax)?,
        )),
        Verb::Data | Verb::Rset | Verb::Quit | Verb::StartTls => {
            if !rest.is_empty() {
                return Err(CommandErrorKind::Syntax);
            }
            Ok(match verb {
                Verb::Data => Command::Data,
                Verb::Rset => Command::Rset,
                Verb::Quit => Command::Quit,
                _ => Command::StartTls,
            })
        }
    }
}

/// Strips `FROM:` / `TO:` (case-insensitive) and any spaces after it.
fn strip_keyword<'a>(rest: &'a [u8], keyword: &[u8]) -> Result<&'a [u8], CommandErrorKind> {
    match rest.get(..keyword.len()) {
        Some(k) if k.eq_ignore_ascii_case(keyword) => Ok(trim_start(&rest[keyword.len()..])),
        _ => Err(CommandErrorKind::Syntax),
    }
}

/// What follows a path must be nothing or a space before the parameters.
fn after_path(rest: &[u8]) -> Result<&[u8], CommandErrorKind> {
    match rest.first() {
        None => Ok(rest),
        Some(b' ') => Ok(rest),
        Some(_) => Err(CommandErrorKind::Address(AddressError::TrailingGarbage)),
    }
}

fn optional_text(rest: &[u8]) -> Result<Option<Text>, CommandErrorKind> {
    if rest.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(rest).map_err(|_| CommandErrorKind::Syntax)?;
    Text::new(text).map(Some)
}

fn parse_bdat(rest: &[u8]) -> Result<Command, CommandErrorKind> {
    let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let size = words.next().ok_or(CommandErrorKind::Syntax)?;
    if size.is_empty() || size.len() > 20 || !size.iter().all(u8::is_ascii_digit) {
        return Err(CommandErrorKind::Syntax);
    }
    let size = std::str::from_utf8(size)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(CommandErrorKind::Syntax)?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case(b"LAST") => true,
        Some(_) => return Err(CommandErrorKind::Syntax),
    };
    if words.next().is_some() {
        return Err(CommandErrorKind::Syntax);
    }
    Ok(Command::Bdat { size, last })
}

fn parse_auth(rest: &[u8]) -> Result<Command, CommandErrorKind> {
    let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let mechanism = words.next().ok_or(CommandErrorKind::Syntax)?;
    let mechanism =
        Mechanism::new(std::str::from_utf8(mechanism).map_err(|_| CommandErrorKind::Syntax)?)?;
    let initial_response = match words.next() {
        None => None,
        Some(b"=") => Some(InitialResponse::Empty),
        Some(w) => Some(InitialResponse::base64(
            std::str::from_utf8(w).map_err(|_| CommandErrorKind::Syntax)?,
        )?),
    };
    if words.next().is_some() {
        return Err(CommandErrorKind::Syntax);
    }
    Ok(Command::Auth {
        mechanism,
        initial_response,
    })
}

#[cfg(test)]
mod tests;
