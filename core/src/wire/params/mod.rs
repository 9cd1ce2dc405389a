//! ESMTP parameters of `MAIL` and `RCPT` (RFC 5321 §4.1.2 `Mail-parameters`,
//! `Rcpt-parameters`) and the xtext encoding (RFC 3461 §4).
//!
//! Known parameters are typed: `SIZE` (RFC 1870), `BODY` (RFC 6152, 3030),
//! `SMTPUTF8` (RFC 6531), `AUTH` (RFC 4954 §5), `RET` and `ENVID` (RFC 3461
//! §4.3, §4.4), `REQUIRETLS` (RFC 8689) on `MAIL`; `NOTIFY` and `ORCPT`
//! (RFC 3461 §4.1, §4.2) on `RCPT`. Every other parameter, including a known
//! keyword on the wrong command, is kept as a [`Parameter`] for the server to
//! decide on.
//!
//! Values that carry free text (`ENVID`, the `ORCPT` address and `AUTH=`) are
//! stored decoded and always xtext-encoded when written, so nothing a caller
//! stores in them can add a space, an `=` or another parameter to the line.
//!
//! ```
//! use mailwire_core::wire::params::{BodyType, MailParameters};
//!
//! let params = MailParameters::parse(b" size=1024 BODY=8BITMIME ENVID=a+2Bb")?;
//! assert_eq!(params.size, Some(1024));
//! assert_eq!(params.body, Some(BodyType::EightBitMime));
//! assert_eq!(params.envid.as_deref(), Some("a+b"));
//!
//! let mut out = Vec::new();
//! params.write_to(&mut out);
//! assert_eq!(out, b" SIZE=1024 BODY=8BITMIME ENVID=a+2Bb");
//! # Ok::<(), mailwire_core::wire::params::ParamError>(())
//! ```

use std::collections::HashSet;
use std::fmt;

/// Longest decoded `ENVID`, in octets (RFC 3461 §4.4).
pub const MAX_ENVID: usize = 100;

/// Why the parameters of a `MAIL` or `RCPT` command were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// The parameter list does not follow `esmtp-param *(SP esmtp-param)`:
    /// a bad keyword, a bad character in a value (including control bytes),
    /// `=` with nothing before it, or invalid UTF-8.
    #[error("malformed ESMTP parameter")]
    Syntax,
    /// The same keyword twice (case-insensitively); holds the keyword in
    /// upper case.
    #[error("duplicate ESMTP parameter {0}")]
    Duplicate(String),
    /// A known keyword with a missing, unexpected or invalid value; holds the
    /// keyword in upper case.
    #[error("invalid value for ESMTP parameter {0}")]
    BadValue(String),
    /// Malformed xtext: a byte outside `!`..`~`, a raw `=`, or a `+` not
    /// followed by two hex digits.
    #[error("malformed xtext")]
    InvalidXtext,
}

// ---------------------------------------------------------------------------
// xtext.

/// Appends the xtext encoding of `input` (RFC 3461 §4): every byte outside
/// `!`..`~`, and `+` and `=`, becomes `+` and two upper-case hex digits.
pub fn xtext_encode(input: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in input {
        if matches!(b, 33..=126) && b != b'+' && b != b'=' {
            out.push(b);
        } else {
            out.push(b'+');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0x0f)]);
        }
    }
}

/// Decodes xtext (RFC 3461 §4). Lower-case hex digits are accepted; a raw
/// `=`, a byte outside `!`..`~` or a `+` not followed by two hex digits is
/// [`ParamError::InvalidXtext`].
pub fn xtext_decode(input: &[u8]) -> Result<Vec<u8>, ParamError> {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => {
                let hi = bytes.next().and_then(hex).ok_or(ParamError::InvalidXtext)?;
                let lo = bytes.next().and_then(hex).ok_or(ParamError::InvalidXtext)?;
                out.push(hi << 4 | lo);
            }
            b'=' => return Err(ParamError::InvalidXtext),
            33..=126 => out.push(b),
            _ => return Err(ParamError::InvalidXtext),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Grammar helpers.

/// `esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")`.
fn is_keyword(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii)`.
fn is_value(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| matches!(b, 33..=60 | 62..=126) || b >= 0x80)
}

/// RFC 5322 `atext` minus `=`, for the ORCPT `addr-type`.
fn is_addr_type(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/?^_`{|}~".contains(&b))
}

/// Text with no control characters (C0, DEL, C1).
fn is_clean_text(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fn bad(keyword: &str) -> ParamError {
    ParamError::BadValue(keyword.to_owned())
}

/// The value of a keyword that needs one.
fn required<'a>(keyword: &str, value: Option<&'a str>) -> Result<&'a str, ParamError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| bad(keyword))
}

/// A keyword that takes no value.
fn no_value(keyword: &str, value: Option<&str>) -> Result<(), ParamError> {
    match value {
        None => Ok(()),
        Some(_) => Err(bad(keyword)),
    }
}

/// Decodes an xtext value into UTF-8 text without control characters.
fn decode_text(keyword: &str, value: &str) -> Result<String, ParamError> {
    let decoded = xtext_decode(value.as_bytes()).map_err(|_| bad(keyword))?;
    let text = String::from_utf8(decoded).map_err(|_| bad(keyword))?;
    if text.is_empty() || !is_clean_text(&text) {
        return Err(bad(keyword));
    }
    Ok(text)
}

/// Splits the parameter list and calls `each` with every keyword (upper
/// case) and raw value, after checking syntax and duplicates. An empty value
/// (`KEY=`) is passed on as `Some("")`: a missing value for a known keyword,
/// a syntax error for an unknown one.
fn for_each_param<'a>(
    input: &'a [u8],
    mut each: impl FnMut(String, Option<&'a str>) -> Result<(), ParamError>,
) -> Result<(), ParamError> {
    if input.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(ParamError::Syntax);
    }
    let text = std::str::from_utf8(input).map_err(|_| ParamError::Syntax)?;
    let mut seen = HashSet::new();
    for token in text.split(' ').filter(|t| !t.is_empty()) {
        let (keyword, value) = match token.split_once('=') {
            Some((keyword, value)) => (keyword, Some(value)),
            None => (token, None),
        };
        if !is_keyword(keyword) || value.is_some_and(|v| !v.is_empty() && !is_value(v)) {
            return Err(ParamError::Syntax);
        }
        let upper = keyword.to_ascii_uppercase();
        if !seen.insert(upper.clone()) {
            return Err(ParamError::Duplicate(upper));
        }
        each(upper, value)?;
    }
    Ok(())
}

/// An unknown parameter as parsed: an empty value is a syntax error.
fn unknown(keyword: String, value: Option<&str>) -> Result<Parameter, ParamError> {
    match value {
        Some("") => Err(ParamError::Syntax),
        value => Ok(Parameter {
            keyword,
            value: value.map(str::to_owned),
        }),
    }
}

// ---------------------------------------------------------------------------
// Typed values.

/// `BODY=` (RFC 6152, RFC 3030): the body type a client declares
/// ([`MailOptions::body`](crate::envelope::MailOptions::body)) and a server
/// receives ([`MailParameters::body`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BodyType {
    /// `7BIT`: ASCII only, the default. A client sends no `BODY=` for it
    /// and refuses a chunk with an 8-bit octet.
    #[default]
    SevenBit,
    /// `8BITMIME` (RFC 6152): 8-bit text; a client needs the server's
    /// 8BITMIME.
    EightBitMime,
    /// `BINARYMIME` (RFC 3030): raw octets, only by BDAT and not
    /// normalised; a client needs the server's CHUNKING and BINARYMIME.
    BinaryMime,
}

impl BodyType {
    /// The keyword value as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyType::SevenBit => "7BIT",
            BodyType::EightBitMime => "8BITMIME",
            BodyType::BinaryMime => "BINARYMIME",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::SevenBit, Self::EightBitMime, Self::BinaryMime]
            .into_iter()
            .find(|b| value.eq_ignore_ascii_case(b.as_str()))
    }
}

/// `RET=` (RFC 3461 §4.3): what a DSN returns of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Ret {
    /// `FULL`: the whole message.
    Full,
    /// `HDRS`: the headers only.
    Headers,
}

impl Ret {
    /// The keyword value as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Ret::Full => "FULL",
            Ret::Headers => "HDRS",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::Full, Self::Headers]
            .into_iter()
            .find(|r| value.eq_ignore_ascii_case(r.as_str()))
    }
}

/// The conditions of `NOTIFY=` other than `NEVER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NotifyOn {
    /// `SUCCESS`: report delivery.
    pub success: bool,
    /// `FAILURE`: report failure.
    pub failure: bool,
    /// `DELAY`: report delay.
    pub delay: bool,
}

/// `NOTIFY=` (RFC 3461 §4.1).
///
/// `On` with no condition set means the same as `Never` and is written as
/// `NEVER` (the list may not be empty on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Notify {
    /// `NEVER`.
    Never,
    /// A non-empty list of `SUCCESS`, `FAILURE`, `DELAY`.
    On(NotifyOn),
}

impl Notify {
    fn parse(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("NEVER") {
            return Some(Notify::Never);
        }
        let mut on = NotifyOn::default();
        for word in value.split(',') {
            let flag = if word.eq_ignore_ascii_case("SUCCESS") {
                &mut on.success
            } else if word.eq_ignore_ascii_case("FAILURE") {
                &mut on.failure
            } else if word.eq_ignore_ascii_case("DELAY") {
                &mut on.delay
            } else {
                return None;
            };
            if *flag {
                return None;
            }
            *flag = true;
        }
        Some(Notify::On(on))
    }

    fn write_to(self, out: &mut Vec<u8>) {
        let on = match self {
            Notify::On(on) if on.success || on.failure || on.delay => on,
            _ => {
                out.extend_from_slice(b"NEVER");
                return;
            }
        };
        let words = [
            (on.success, "SUCCESS"),
            (on.failure, "FAILURE"),
            (on.delay, "DELAY"),
        ];
        let mut first = true;
        for (_, word) in words.into_iter().filter(|(set, _)| *set) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(word.as_bytes());
        }
    }
}

/// `AUTH=` on `MAIL` (RFC 4954 §5): who submitted the message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthIdentity {
    /// `AUTH=<>`: the submitter is unknown or not trusted.
    Unknown,
    /// The decoded xtext: normally a mailbox, UTF-8 without control
    /// characters.
    Identity(String),
}

/// `ORCPT=addr-type;xtext` (RFC 3461 §4.2): the original recipient.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt {
    addr_type: String,
    address: String,
}

impl Orcpt {
    /// Builds an original recipient: `addr_type` is an atom such as `rfc822`
    /// or `utf-8`, `address` the decoded address (non-empty, no control
    /// characters). Otherwise [`ParamError::BadValue`]`("ORCPT")`.
    pub fn new(addr_type: &str, address: &str) -> Result<Self, ParamError> {
        if !is_addr_type(addr_type) || address.is_empty() || !is_clean_text(address) {
            return Err(bad("ORCPT"));
        }
        Ok(Orcpt {
            addr_type: addr_type.to_owned(),
            address: address.to_owned(),
        })
    }

    /// The address type, as written (compare it case-insensitively).
    pub fn addr_type(&self) -> &str {
        &self.addr_type
    }

    /// The decoded address.
    pub fn address(&self) -> &str {
        &self.address
    }

    fn parse(value: &str) -> Result<Self, ParamError> {
        let (addr_type, address) = value.split_once(';').ok_or_else(|| bad("ORCPT"))?;
        let address = decode_text("ORCPT", address)?;
        Orcpt::new(addr_type, &address)
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.addr_type.as_bytes());
        out.push(b';');
        xtext_encode(self.address.as_bytes(), out);
    }
}

/// A parameter the command does not model, kept for the server to decide.
///
/// The keyword is stored in upper case; the value as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Parameter {
    keyword: String,
    value: Option<String>,
}

impl Parameter {
    /// Builds a parameter, checking `esmtp-keyword = (ALPHA / DIGIT)
    /// *(ALPHA / DIGIT / "-")` and `esmtp-value = 1*(%d33-60 / %d62-126 /
    /// UTF8-non-ascii)`; otherwise [`ParamError::Syntax`].
    pub fn new(keyword: &str, value: Option<&str>) -> Result<Self, ParamError> {
        if !is_keyword(keyword) || value.is_some_and(|v| !is_value(v)) {
            return Err(ParamError::Syntax);
        }
        Ok(Parameter {
            keyword: keyword.to_ascii_uppercase(),
            value: value.map(str::to_owned),
        })
    }

    /// The keyword, upper case.
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// The value, if any, as written.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

impl fmt::Display for Parameter {
    /// `KEYWORD` or `KEYWORD=value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value}", self.keyword),
            None => f.write_str(&self.keyword),
        }
    }
}

/// Appends ` KEYWORD=` to `out`.
fn start(out: &mut Vec<u8>, keyword: &str) {
    out.push(b' ');
    out.extend_from_slice(keyword.as_bytes());
    out.push(b'=');
}

/// Appends ` KEYWORD[=value]` for each unknown parameter.
fn write_unknown(unknown: &[Parameter], out: &mut Vec<u8>) {
    for param in unknown {
        out.push(b' ');
        out.extend_from_slice(param.to_string().as_bytes());
    }
}

// ---------------------------------------------------------------------------
// MAIL.

/// The parameters of `MAIL FROM:`.
///
/// `parse(write_to(p)) == p` holds when the stored values are what the
/// parser accepts: `envid` printable ASCII of 1 to [`MAX_ENVID`] octets, an
/// `auth` identity non-empty UTF-8 without control characters, and `unknown`
/// free of duplicates and of the keywords above.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MailParameters {
    /// `SIZE=` (RFC 1870): the declared message size in octets.
    pub size: Option<u64>,
    /// `BODY=` (RFC 6152, RFC 3030).
    pub body: Option<BodyType>,
    /// `SMTPUTF8` (RFC 6531).
    pub smtputf8: bool,
    /// `AUTH=` (RFC 4954 §5), decoded.
    pub auth: Option<AuthIdentity>,
    /// `RET=` (RFC 3461 §4.3).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461 §4.4), decoded; always xtext-encoded when written.
    pub envid: Option<String>,
    /// `REQUIRETLS` (RFC 8689).
    pub requiretls: bool,
    /// Every other parameter, in order.
    pub unknown: Vec<Parameter>,
}

impl MailParameters {
    /// Parses the text after the path of `MAIL FROM:` (may be empty, may
    /// start with spaces; parameters separated by one or more spaces;
    /// keywords case-insensitive).
    pub fn parse(input: &[u8]) -> Result<Self, ParamError> {
        let mut params = MailParameters::default();
        for_each_param(input, |keyword, value| {
            let kw = keyword.as_str();
            match kw {
                "SIZE" => {
                    let value = required(kw, value)?;
                    if value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(bad(kw));
                    }
                    params.size = Some(value.parse().map_err(|_| bad(kw))?);
                }
                "BODY" => {
                    params.body =
                        Some(BodyType::parse(required(kw, value)?).ok_or_else(|| bad(kw))?);
                }
                "SMTPUTF8" => {
                    no_value(kw, value)?;
                    params.smtputf8 = true;
                }
                "REQUIRETLS" => {
                    no_value(kw, value)?;
                    params.requiretls = true;
                }
                "RET" => {
                    params.ret = Some(Ret::parse(required(kw, value)?).ok_or_else(|| bad(kw))?);
                }
                "ENVID" => {
                    let decoded =
                        xtext_decode(required(kw, value)?.as_bytes()).map_err(|_| bad(kw))?;
                    if decoded.len() > MAX_ENVID
                        || !decoded.iter().all(|b| matches!(b, 0x20..=0x7e))
                    {
                        return Err(bad(kw));
                    }
                    params.envid = Some(String::from_utf8(decoded).map_err(|_| bad(kw))?);
                }
                "AUTH" => {
                    let value = required(kw, value)?;
                    params.auth = Some(if value == "<>" {
                        AuthIdentity::Unknown
                    } else {
                        AuthIdentity::Identity(decode_text(kw, value)?)
                    });
                }
                _ => params.unknown.push(unknown(keyword, value)?),
            }
            Ok(())
        })?;
        Ok(params)
    }

    /// Appends ` KEY=VALUE` for each parameter, each preceded by one space:
    /// `SIZE`, `BODY`, `SMTPUTF8`, `REQUIRETLS`, `RET`, `ENVID`, `AUTH`, then
    /// the unknown ones in order. Nothing is written when there are none.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(size) = self.size {
            start(out, "SIZE");
            out.extend_from_slice(size.to_string().as_bytes());
        }
        if let Some(body) = self.body {
            start(out, "BODY");
            out.extend_from_slice(body.as_str().as_bytes());
        }
        if self.smtputf8 {
            out.extend_from_slice(b" SMTPUTF8");
        }
        if self.requiretls {
            out.extend_from_slice(b" REQUIRETLS");
        }
        if let Some(ret) = self.ret {
            start(out, "RET");
            out.extend_from_slice(ret.as_str().as_bytes());
        }
        if let Some(envid) = &self.envid {
            start(out, "ENVID");
            xtext_encode(envid.as_bytes(), out);
        }
        match &self.auth {
            None => {}
            Some(AuthIdentity::Unknown) => out.extend_from_slice(b" AUTH=<>"),
            // Encoded so that it does not read back as the unknown identity.
            Some(AuthIdentity::Identity(id)) if id == "<>" => {
                out.extend_from_slice(b" AUTH=+3C+3E");
            }
            Some(AuthIdentity::Identity(id)) => {
                start(out, "AUTH");
                xtext_encode(id.as_bytes(), out);
            }
        }
        write_unknown(&self.unknown, out);
    }

    /// Whether there are no parameters at all.
    pub fn is_empty(&self) -> bool {
        self == &MailParameters::default()
    }
}

// ---------------------------------------------------------------------------
// RCPT.

/// The parameters of `RCPT TO:`.
///
/// `parse(write_to(p)) == p` holds when `notify` is not an empty
/// [`Notify::On`] (written as `NEVER`) and `unknown` is free of duplicates
/// and of the keywords above.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RcptParameters {
    /// `NOTIFY=` (RFC 3461 §4.1).
    pub notify: Option<Notify>,
    /// `ORCPT=` (RFC 3461 §4.2).
    pub orcpt: Option<Orcpt>,
    /// Every other parameter, in order.
    pub unknown: Vec<Parameter>,
}

impl RcptParameters {
    /// Parses the text after the path of `RCPT TO:` (may be empty, may
    /// start with spaces; parameters separated by one or more spaces;
    /// keywords case-insensitive).
    pub fn parse(input: &[u8]) -> Result<Self, ParamError> {
        let mut params = RcptParameters::default();
        for_each_param(input, |keyword, value| {
            let kw = keyword.as_str();
            match kw {
                "NOTIFY" => {
                    params.notify =
                        Some(Notify::parse(required(kw, value)?).ok_or_else(|| bad(kw))?);
                }
                "ORCPT" => params.orcpt = Some(Orcpt::parse(required(kw, value)?)?),
                _ => params.unknown.push(unknown(keyword, value)?),
            }
            Ok(())
        })?;
        Ok(params)
    }

    /// Appends ` KEY=VALUE` for each parameter, each preceded by one space:
    /// `NOTIFY`, `ORCPT`, then the unknown ones in order. Nothing is written
    /// when there are none.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        if let Some(notify) = self.notify {
            start(out, "NOTIFY");
            notify.write_to(out);
        }
        if let Some(orcpt) = &self.orcpt {
            start(out, "ORCPT");
            orcpt.write_to(out);
        }
        write_unknown(&self.unknown, out);
    }

    /// Whether there are no parameters at all.
    pub fn is_empty(&self) -> bool {
        self == &RcptParameters::default()
    }
}

#[cfg(test)]
mod tests;
