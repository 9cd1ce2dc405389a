//! EHLO replies and the service extensions they advertise
//! (RFC 5321 §4.1.1.1 and the extension RFCs).
//!
//! ```text
//! ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!             / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                 *( "250-" ehlo-line CRLF )
//!                 "250" SP ehlo-line CRLF )
//! ehlo-line    = ehlo-keyword *( SP ehlo-param )
//! ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! ehlo-param   = 1*(%d33-126)
//! ```
//!
//! The known extensions become typed fields of [`Capabilities`]; any other
//! keyword is kept as an [`Extension`]. [`EhloReply::parse`] is a lenient
//! client: keywords are case-insensitive, lines that are not ehlo-lines are
//! skipped, and repeated lines are merged (flags once, the first `SIZE` and
//! the first line of an unknown keyword win, `AUTH` mechanisms from `AUTH`
//! and the old `AUTH=` form are united in the order first seen).
//!
//! # Normal form and the round trip
//!
//! The fields are public, so any value can be built; [`EhloReply::to_reply`]
//! sends its [normal form](EhloReply::normalize), which is what
//! [`EhloReply::parse`] always returns. Hence
//! `EhloReply::parse(&x.to_reply()) == x.normalized()` for every `x`, and
//! `== x` for every `x` already in normal form, on [`Reply`] values as well as
//! through [`ReplyParser`](crate::wire::reply::ReplyParser) on the bytes (as
//! long as they fit its limits).
//!
//! ```
//! use mailwire_core::wire::ehlo::EhloReply;
//! use mailwire_core::wire::reply::Reply;
//!
//! let reply = Reply::multi(
//!     250,
//!     "",
//!     ["mx.example.com Hello", "PIPELINING", "SIZE 10240000", "auth plain LOGIN", "X-FOO bar"],
//! )?;
//! let ehlo = EhloReply::parse(&reply)?;
//! assert_eq!(ehlo.domain, "mx.example.com");
//! assert_eq!(ehlo.greeting, "Hello");
//! assert!(ehlo.capabilities.pipelining);
//! assert_eq!(ehlo.capabilities.size, Some(10_240_000));
//! assert!(ehlo.capabilities.supports_auth("login"));
//! assert_eq!(ehlo.capabilities.unknown[0].keyword(), "X-FOO");
//! assert_eq!(EhloReply::parse(&ehlo.to_reply())?, ehlo);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::fmt;

use crate::wire::reply::{EnhancedCode, Reply, ReplyCode, leading_enhanced_code};

/// Keywords with a typed field in [`Capabilities`]; never an [`Extension`].
const KNOWN_KEYWORDS: [&str; 11] = [
    "PIPELINING",
    "8BITMIME",
    "SMTPUTF8",
    "SIZE",
    "CHUNKING",
    "BINARYMIME",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "STARTTLS",
    "AUTH",
    "REQUIRETLS",
];

/// The domain [`EhloReply::normalize`] puts in place of one with nothing
/// sendable in it.
const FALLBACK_DOMAIN: &str = "localhost";

/// Longest SASL mechanism name (RFC 4422 §3.1).
const MAX_MECHANISM_LEN: usize = 20;

/// The service extensions a server advertises in its EHLO reply.
///
/// Normal form (what [`EhloReply::parse`] returns and
/// [`EhloReply::to_reply`] sends, see [`Capabilities::normalize`]): `auth`
/// holds valid SASL mechanism names (RFC 4422: 1-20 of `A-Z 0-9 - _`),
/// uppercase, without duplicates; `auth_legacy` only with a non-empty
/// `auth`; `unknown` without two extensions of the same keyword.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// `PIPELINING` (RFC 2920).
    pub pipelining: bool,
    /// `8BITMIME` (RFC 6152).
    pub eight_bit_mime: bool,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `SIZE` (RFC 1870): the largest message accepted, in octets;
    /// `Some(0)` means no fixed limit (`SIZE` or `SIZE 0`).
    pub size: Option<u64>,
    /// `CHUNKING`: BDAT (RFC 3030).
    pub chunking: bool,
    /// `BINARYMIME` (RFC 3030).
    pub binary_mime: bool,
    /// `DSN`: delivery status notifications (RFC 3461).
    pub dsn: bool,
    /// `ENHANCEDSTATUSCODES` (RFC 2034).
    pub enhanced_status_codes: bool,
    /// `STARTTLS` (RFC 3207).
    pub starttls: bool,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// SASL mechanisms from `AUTH` (RFC 4954) and the old `AUTH=` line,
    /// uppercase, in the order advertised, without duplicates.
    pub auth: Vec<String>,
    /// The old `AUTH=mech …` line was seen, or is to be sent as well (for
    /// clients that only understand that form). Only meaningful with a
    /// non-empty `auth`.
    pub auth_legacy: bool,
    /// Every other extension, in the order advertised.
    pub unknown: Vec<Extension>,
}

impl Capabilities {
    /// `true` when `mechanism` (any case) is in [`Capabilities::auth`].
    #[must_use]
    pub fn supports_auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }

    /// Brings the value into normal form: uppercases the `auth` mechanisms,
    /// drops invalid ones and repeats, clears `auth_legacy` when no
    /// mechanism is left, and keeps only the first extension of each keyword
    /// in `unknown`.
    pub fn normalize(&mut self) {
        let mut seen = HashSet::new();
        let auth = std::mem::take(&mut self.auth);
        self.auth = auth
            .into_iter()
            .map(|mut mechanism| {
                mechanism.make_ascii_uppercase();
                mechanism
            })
            .filter(|mechanism| is_mechanism(mechanism) && seen.insert(mechanism.clone()))
            .collect();
        if self.auth.is_empty() {
            self.auth_legacy = false;
        }
        let mut seen = HashSet::new();
        self.unknown
            .retain(|extension| seen.insert(extension.keyword.clone()));
    }

    /// The value in normal form (see [`Capabilities::normalize`]).
    #[must_use]
    pub fn normalized(&self) -> Self {
        let mut copy = self.clone();
        copy.normalize();
        copy
    }

    /// Takes one ehlo-line into account; skips it when it is not one.
    /// Leaves `auth` and `unknown` to be deduplicated by `normalize`.
    fn apply_line(&mut self, line: &str) {
        let mut tokens = line.split([' ', '\t']).filter(|t| !t.is_empty());
        let Some(keyword) = tokens.next() else {
            return;
        };
        let params: Vec<&str> = tokens.collect();
        if !is_param(keyword) || !params.iter().all(|p| is_param(p)) {
            return;
        }
        let keyword = keyword.to_ascii_uppercase();
        if let Some(first) = keyword.strip_prefix("AUTH=") {
            self.auth_legacy = true;
            self.auth.extend(
                std::iter::once(first)
                    .chain(params)
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned),
            );
            return;
        }
        if !is_keyword(&keyword) {
            return;
        }
        match keyword.as_str() {
            "PIPELINING" => self.pipelining = true,
            "8BITMIME" => self.eight_bit_mime = true,
            "SMTPUTF8" => self.smtputf8 = true,
            "SIZE" => {
                if self.size.is_none() {
                    self.size = match params.first() {
                        None => Some(0),
                        Some(n) => parse_size(n),
                    };
                }
            }
            "CHUNKING" => self.chunking = true,
            "BINARYMIME" => self.binary_mime = true,
            "DSN" => self.dsn = true,
            "ENHANCEDSTATUSCODES" => self.enhanced_status_codes = true,
            "STARTTLS" => self.starttls = true,
            "REQUIRETLS" => self.requiretls = true,
            "AUTH" => self.auth.extend(params.into_iter().map(str::to_owned)),
            _ => self.unknown.push(Extension {
                keyword,
                params: params.into_iter().map(str::to_owned).collect(),
            }),
        }
    }

    /// The ehlo-lines advertising this value (which must be normal).
    fn write_lines(&self, lines: &mut Vec<String>) {
        let flags = [
            (self.pipelining, "PIPELINING"),
            (self.eight_bit_mime, "8BITMIME"),
            (self.smtputf8, "SMTPUTF8"),
        ];
        lines.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_owned()));
        match self.size {
            None => {}
            Some(0) => lines.push("SIZE".to_owned()),
            Some(n) => lines.push(format!("SIZE {n}")),
        }
        let flags = [
            (self.chunking, "CHUNKING"),
            (self.binary_mime, "BINARYMIME"),
            (self.dsn, "DSN"),
            (self.enhanced_status_codes, "ENHANCEDSTATUSCODES"),
            (self.starttls, "STARTTLS"),
        ];
        lines.extend(flags.iter().filter(|f| f.0).map(|f| f.1.to_owned()));
        if !self.auth.is_empty() {
            let mechanisms = self.auth.join(" ");
            lines.push(format!("AUTH {mechanisms}"));
            if self.auth_legacy {
                lines.push(format!("AUTH={mechanisms}"));
            }
        }
        if self.requiretls {
            lines.push("REQUIRETLS".to_owned());
        }
        lines.extend(self.unknown.iter().map(Extension::to_string));
    }
}

/// An extension [`Capabilities`] has no field for: an uppercase ehlo-keyword
/// and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    keyword: String,
    params: Vec<String>,
}

impl Extension {
    /// The extension `keyword params…`, the keyword uppercased.
    ///
    /// `None` when `keyword` is not an ehlo-keyword (`(ALPHA / DIGIT)
    /// *(ALPHA / DIGIT / "-")`), is one of the keywords [`Capabilities`] has
    /// a field for (`SIZE`, `AUTH`, …), or a parameter is not an ehlo-param
    /// (one or more of the octets 33 to 126).
    ///
    /// ```
    /// use mailwire_core::wire::ehlo::Extension;
    /// let ext = Extension::new("x-foo", vec!["a=1".into()]).unwrap();
    /// assert_eq!(ext.keyword(), "X-FOO");
    /// assert_eq!(ext.to_string(), "X-FOO a=1");
    /// assert!(Extension::new("SIZE", vec![]).is_none());
    /// assert!(Extension::new("X_FOO", vec![]).is_none());
    /// assert!(Extension::new("X-FOO", vec!["two words".into()]).is_none());
    /// ```
    #[must_use]
    pub fn new(keyword: &str, params: Vec<String>) -> Option<Extension> {
        let keyword = keyword.to_ascii_uppercase();
        let valid = is_keyword(&keyword)
            && !KNOWN_KEYWORDS.contains(&keyword.as_str())
            && params.iter().all(|p| is_param(p));
        valid.then_some(Extension { keyword, params })
    }

    /// The keyword, uppercase.
    #[must_use]
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// The parameters, as sent.
    #[must_use]
    pub fn params(&self) -> &[String] {
        &self.params
    }
}

/// The ehlo-line: `KEYWORD param param`.
impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.keyword)?;
        for param in &self.params {
            write!(f, " {param}")?;
        }
        Ok(())
    }
}

/// Why a reply is not a usable EHLO reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EhloError {
    /// The reply code is not 250 (the number is the code received).
    #[error("EHLO was answered with {0}, not 250")]
    NotPositive(u16),
    /// The first line names no domain.
    #[error("EHLO reply names no domain")]
    Malformed,
}

/// A server's answer to EHLO: who it is and what it supports.
///
/// Normal form (see [`EhloReply::normalize`]): `domain` is non-empty and
/// holds no space and no control character; `greeting` holds no control
/// character other than HT; `capabilities` is normal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhloReply {
    /// The server's name, the first word of the first line.
    pub domain: String,
    /// The rest of the first line after the domain and one separator
    /// (empty when there is none).
    pub greeting: String,
    /// The extensions advertised on the other lines.
    pub capabilities: Capabilities,
}

impl EhloReply {
    /// Reads an EHLO reply.
    ///
    /// The first line is `domain [greeting]` (leading blanks skipped, the
    /// greeting is everything after the space or HT that ends the domain);
    /// each further line is one extension. The reply's enhanced status code,
    /// if any, is ignored. The result is in normal form.
    ///
    /// # Errors
    ///
    /// [`EhloError::NotPositive`] for any code but 250,
    /// [`EhloError::Malformed`] when the first line has no domain.
    pub fn parse(reply: &Reply) -> Result<EhloReply, EhloError> {
        if reply.code() != ReplyCode::OK {
            return Err(EhloError::NotPositive(reply.code().as_u16()));
        }
        let Some((first, rest)) = reply.lines().split_first() else {
            return Err(EhloError::Malformed);
        };
        let first = first.trim_start_matches([' ', '\t']);
        let (domain, greeting) = first.split_once([' ', '\t']).unwrap_or((first, ""));
        if domain.is_empty() {
            return Err(EhloError::Malformed);
        }
        let mut capabilities = Capabilities::default();
        for line in rest {
            capabilities.apply_line(line);
        }
        capabilities.normalize();
        Ok(EhloReply {
            domain: domain.to_owned(),
            greeting: greeting.to_owned(),
            capabilities,
        })
    }

    /// The multi-line 250 reply advertising this value's
    /// [normal form](EhloReply::normalize): `domain [greeting]`, then one
    /// line per extension (flags, `SIZE`, `AUTH`, `AUTH=` when
    /// `auth_legacy`, then the unknown ones in order).
    ///
    /// The reply carries no enhanced status code (RFC 2034 §3), except in one
    /// case: when the domain itself reads as one (`2.1.0`), every line is
    /// prefixed with `2.0.0` so that a parser does not take the domain for
    /// the code.
    #[must_use]
    pub fn to_reply(&self) -> Reply {
        let normal = self.normalized();
        let mut lines = Vec::with_capacity(12 + normal.capabilities.unknown.len());
        lines.push(if normal.greeting.is_empty() {
            normal.domain
        } else {
            format!("{} {}", normal.domain, normal.greeting)
        });
        normal.capabilities.write_lines(&mut lines);
        let enhanced = lines
            .first()
            .and_then(|first| leading_enhanced_code(first, ReplyCode::OK))
            .and(EnhancedCode::new(2, 0, 0));
        Reply::new_unchecked(ReplyCode::OK, enhanced, lines)
    }

    /// Brings the value into normal form: removes spaces and control
    /// characters from `domain` (and uses `localhost` if nothing is left),
    /// replaces control characters other than HT in `greeting` with U+FFFD,
    /// and normalises the capabilities ([`Capabilities::normalize`]).
    pub fn normalize(&mut self) {
        self.domain.retain(|c| c != ' ' && !c.is_control());
        if self.domain.is_empty() {
            FALLBACK_DOMAIN.clone_into(&mut self.domain);
        }
        if self.greeting.chars().any(is_forbidden_char) {
            self.greeting = self
                .greeting
                .chars()
                .map(|c| if is_forbidden_char(c) { '\u{FFFD}' } else { c })
                .collect();
        }
        self.capabilities.normalize();
    }

    /// The value in normal form (see [`EhloReply::normalize`]).
    #[must_use]
    pub fn normalized(&self) -> Self {
        let mut copy = self.clone();
        copy.normalize();
        copy
    }
}

/// Control characters other than HT may not appear in reply text.
fn is_forbidden_char(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// `ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
fn is_keyword(s: &str) -> bool {
    match s.as_bytes().split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphanumeric()
                && rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        }
        None => false,
    }
}

/// `ehlo-param = 1*(%d33-126)`.
fn is_param(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b))
}

/// An uppercase SASL mechanism name (RFC 4422 §3.1).
fn is_mechanism(s: &str) -> bool {
    (1..=MAX_MECHANISM_LEN).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// `SIZE` parameter: 1*20DIGIT that fits a u64.
fn parse_size(s: &str) -> Option<u64> {
    if s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
