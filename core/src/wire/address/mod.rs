//! Addresses: RFC 5321 §4.1.2 `Reverse-path`, `Forward-path`, `Mailbox`,
//! with the UTF-8 extensions of RFC 6531.
//!
//! Parsing is strict about the things that matter for safety (CR, LF, NUL,
//! brackets, lengths) and keeps the decoded local part, so a quoted local part
//! that did not need quoting compares equal to its dot-atom form.
//!
//! Every parser checks for control bytes (C0 and DEL) before anything else,
//! so a smuggling attempt always fails with [`AddressError::ForbiddenByte`],
//! whatever else is wrong with the input. Serialisers write the canonical
//! form (a dot-atom when possible, source routes dropped), and parsing what
//! they wrote gives the same value back.
//!
//! ```
//! use mailwire_core::wire::address::{ForwardPath, Mailbox, ReversePath};
//!
//! let (from, used) = ReversePath::parse_prefix(b"<\"alice\"@example.org> SIZE=10")?;
//! assert_eq!(used, 21);
//! assert_eq!(from.to_string(), "<alice@example.org>");
//! assert_eq!(ReversePath::parse(b"<>")?, ReversePath::Null);
//! assert_eq!(ForwardPath::parse(b"<postmaster>")?, ForwardPath::Postmaster);
//!
//! let mailbox: Mailbox = "\"john doe\"@example.org".parse()?;
//! assert_eq!(mailbox.local().as_str(), "john doe");
//! assert!(!mailbox.is_utf8());
//! # Ok::<(), mailwire_core::wire::address::AddressError>(())
//! ```

use std::fmt;
use std::str::FromStr;

mod domain;

pub use domain::Domain;
use domain::{parse_domain, validate_name};

/// Longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain, in octets (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;
/// Longest path including `<` and `>` (RFC 5321 §4.5.3.1.3).
pub const MAX_PATH: usize = 256;
/// Longest label of a domain name, in octets (RFC 1035 §2.3.4).
pub const MAX_LABEL: usize = 63;

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing where an address was expected.
    #[error("empty address")]
    Empty,
    /// A path must start with `<`.
    #[error("path does not start with '<'")]
    MissingOpenBracket,
    /// A `<` without its `>` or a stray bracket.
    #[error("unbalanced angle brackets")]
    UnbalancedBrackets,
    /// CR, LF, NUL or another control character.
    #[error("forbidden byte 0x{0:02x} in address")]
    ForbiddenByte(u8),
    /// Bytes after the closing `>` (or after the mailbox) that are not allowed there.
    #[error("unexpected characters after the address")]
    TrailingGarbage,
    /// Local part over [`MAX_LOCAL_PART`] octets.
    #[error("local part is {0} octets, the limit is 64")]
    LocalPartTooLong(usize),
    /// Domain over [`MAX_DOMAIN`] octets.
    #[error("domain is {0} octets, the limit is 255")]
    DomainTooLong(usize),
    /// Path over [`MAX_PATH`] octets.
    #[error("path is {0} octets, the limit is 256")]
    PathTooLong(usize),
    /// A mailbox without `@`.
    #[error("mailbox has no '@'")]
    MissingAt,
    /// The local part is neither a dot-atom nor a quoted string.
    #[error("invalid local part")]
    InvalidLocalPart,
    /// The domain is not a valid domain name.
    #[error("invalid domain")]
    InvalidDomain,
    /// A `[...]` address literal that is not IPv4, IPv6 or a general literal.
    #[error("invalid address literal")]
    InvalidAddressLiteral,
    /// A source route (`@a,@b:`) that does not parse.
    #[error("invalid source route")]
    InvalidSourceRoute,
    /// Bytes above 0x7f that are not UTF-8.
    #[error("invalid UTF-8 in address")]
    InvalidUtf8,
    /// The null path `<>` where a recipient is required (`RCPT TO:<>`).
    #[error("the null path <> is not a valid recipient")]
    NullPath,
}

// ---------------------------------------------------------------------------
// Byte classes.

/// C0 controls and DEL: never allowed anywhere in an address.
fn is_forbidden(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// Fails with the first control byte, if any.
fn check_forbidden(input: &[u8]) -> Result<(), AddressError> {
    match input.iter().find(|&&b| is_forbidden(b)) {
        Some(&b) => Err(AddressError::ForbiddenByte(b)),
        None => Ok(()),
    }
}

/// `atext` (RFC 5322 §3.2.3) plus `UTF8-non-ascii` (RFC 6531 §3.3).
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b) || b >= 0x80
}

/// `qtextSMTP` (RFC 5321 §4.1.2) plus `UTF8-non-ascii` (RFC 6531 §3.3).
fn is_qtext(b: u8) -> bool {
    matches!(b, 32 | 33 | 35..=91 | 93..=126) || b >= 0x80
}

/// `Dot-string`: `Atom *("." Atom)`.
fn is_dot_atom(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&b| b == b'.')
            .all(|atom| !atom.is_empty() && atom.iter().all(|&b| is_atext(b)))
}

/// Adapter so that `Display` impls can serve `write_to` too.
struct VecWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends the `Display` form of `value` to `out`.
fn write_display(value: &dyn fmt::Display, out: &mut Vec<u8>) {
    use fmt::Write as _;
    // Writing into a Vec cannot fail.
    let _ = write!(VecWriter(out), "{value}");
}

// ---------------------------------------------------------------------------
// Local part.

/// The local part of a mailbox, kept decoded: quotes and backslash escapes
/// removed, so `"abc"` and `abc` are the same local part.
///
/// Every string without control characters whose wire form fits
/// [`MAX_LOCAL_PART`] octets is a valid local part: the wire form is a
/// dot-atom when possible and a quoted string otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalPart(String);

impl LocalPart {
    /// Checks a decoded local part: no control characters (C0 or DEL,
    /// [`AddressError::ForbiddenByte`]) and a wire form of at most
    /// [`MAX_LOCAL_PART`] octets ([`AddressError::LocalPartTooLong`]).
    pub fn new(decoded: &str) -> Result<Self, AddressError> {
        check_forbidden(decoded.as_bytes())?;
        let len = local_wire_len(decoded);
        if len > MAX_LOCAL_PART {
            return Err(AddressError::LocalPartTooLong(len));
        }
        Ok(LocalPart(decoded.to_owned()))
    }

    /// The decoded local part.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it has non-ASCII characters, which needs SMTPUTF8.
    pub fn is_utf8(&self) -> bool {
        !self.0.is_ascii()
    }

    /// Whether the wire form is a quoted string (`false` iff the local part
    /// is a valid dot-atom).
    pub fn needs_quoting(&self) -> bool {
        !is_dot_atom(self.0.as_bytes())
    }

    /// Appends the wire form: the dot-atom as is, otherwise a quoted string
    /// with `"` and `\` escaped.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_display(self, out);
    }
}

/// Octets of the wire form of a decoded local part.
fn local_wire_len(decoded: &str) -> usize {
    if is_dot_atom(decoded.as_bytes()) {
        decoded.len()
    } else {
        let escapes = decoded.bytes().filter(|&b| b == b'"' || b == b'\\').count();
        decoded.len() + escapes + 2
    }
}

impl fmt::Display for LocalPart {
    /// The wire form, as [`LocalPart::write_to`] writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.needs_quoting() {
            return f.write_str(&self.0);
        }
        f.write_str("\"")?;
        let mut rest = self.0.as_str();
        while let Some(at) = rest.find(['"', '\\']) {
            let (plain, special) = rest.split_at(at);
            f.write_str(plain)?;
            f.write_str("\\")?;
            let (escaped, after) = special.split_at(1);
            f.write_str(escaped)?;
            rest = after;
        }
        f.write_str(rest)?;
        f.write_str("\"")
    }
}

/// Parses a local part at the start of `input` (already checked for control
/// bytes and UTF-8). Returns the decoded text and the octets consumed.
fn parse_local_part(input: &[u8]) -> Result<(String, usize), AddressError> {
    if input.first() != Some(&b'"') {
        let len = input
            .iter()
            .take_while(|&&b| is_atext(b) || b == b'.')
            .count();
        let (atom, _) = input.split_at(len);
        if !is_dot_atom(atom) {
            return Err(AddressError::InvalidLocalPart);
        }
        let text = String::from_utf8(atom.to_vec()).map_err(|_| AddressError::InvalidUtf8)?;
        return Ok((text, len));
    }
    let mut decoded = Vec::new();
    let mut i = 1;
    loop {
        match input.get(i) {
            Some(b'"') => break,
            Some(b'\\') => match input.get(i + 1) {
                Some(&c) if (32..=126).contains(&c) => {
                    decoded.push(c);
                    i += 2;
                }
                _ => return Err(AddressError::InvalidLocalPart),
            },
            Some(&c) if is_qtext(c) => {
                decoded.push(c);
                i += 1;
            }
            _ => return Err(AddressError::InvalidLocalPart),
        }
    }
    let text = String::from_utf8(decoded).map_err(|_| AddressError::InvalidUtf8)?;
    Ok((text, i + 1))
}

// ---------------------------------------------------------------------------
// Mailbox.

/// `Local-part "@" ( Domain / address-literal )` (RFC 5321 §4.1.2).
///
/// Equality is on the decoded local part and the domain as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    local: LocalPart,
    domain: Domain,
}

impl Mailbox {
    /// Builds a mailbox, checking the domain ([`Domain::validate`]) and that
    /// the path `<local@domain>` fits [`MAX_PATH`] octets
    /// ([`AddressError::PathTooLong`]).
    pub fn new(local: LocalPart, domain: Domain) -> Result<Self, AddressError> {
        domain.validate()?;
        let path_len = local_wire_len(local.as_str()) + 1 + domain.wire_len() + 2;
        if path_len > MAX_PATH {
            return Err(AddressError::PathTooLong(path_len));
        }
        Ok(Mailbox { local, domain })
    }

    /// Parses a whole input as `local@domain` (no angle brackets, no source
    /// route).
    pub fn parse(input: &[u8]) -> Result<Self, AddressError> {
        check_forbidden(input)?;
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        std::str::from_utf8(input).map_err(|_| AddressError::InvalidUtf8)?;
        parse_mailbox(input)
    }

    /// The local part.
    pub fn local(&self) -> &LocalPart {
        &self.local
    }

    /// The domain.
    pub fn domain(&self) -> &Domain {
        &self.domain
    }

    /// Whether the mailbox has non-ASCII characters, which needs SMTPUTF8.
    pub fn is_utf8(&self) -> bool {
        self.local.is_utf8() || self.domain.is_utf8()
    }

    /// Whether the local part is `postmaster` (ASCII case-insensitively).
    pub fn is_postmaster(&self) -> bool {
        self.local.as_str().eq_ignore_ascii_case("postmaster")
    }

    /// Appends `local@domain` (no brackets) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_display(self, out);
    }
}

/// Parses `local@domain` from bytes already checked for control bytes and
/// UTF-8.
fn parse_mailbox(input: &[u8]) -> Result<Mailbox, AddressError> {
    if input.is_empty() {
        return Err(AddressError::Empty);
    }
    if !input.contains(&b'@') {
        return Err(AddressError::MissingAt);
    }
    let (decoded, used) = parse_local_part(input)?;
    let (raw_local, rest) = input.split_at(used.min(input.len()));
    let domain = match rest.split_first() {
        Some((b'@', domain)) => domain,
        _ if !rest.contains(&b'@') => return Err(AddressError::MissingAt),
        _ => return Err(AddressError::InvalidLocalPart),
    };
    if raw_local.len() > MAX_LOCAL_PART {
        return Err(AddressError::LocalPartTooLong(raw_local.len()));
    }
    if domain.is_empty() {
        return Err(AddressError::InvalidDomain);
    }
    let domain = std::str::from_utf8(domain).map_err(|_| AddressError::InvalidUtf8)?;
    let domain = parse_domain(domain)?;
    Mailbox::new(LocalPart::new(&decoded)?, domain)
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl FromStr for Mailbox {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mailbox::parse(s.as_bytes())
    }
}

// ---------------------------------------------------------------------------
// Paths.

/// Finds the path at the start of `input`: checks control bytes (over the
/// whole input), the opening `<`, the matching `>` (brackets inside a quoted
/// local part or an address literal do not count) and the length. Returns the
/// text between the brackets and the octets consumed through `>`.
fn split_path(input: &[u8]) -> Result<(&str, usize), AddressError> {
    check_forbidden(input)?;
    match input.first() {
        None => return Err(AddressError::Empty),
        Some(b'<') => {}
        Some(_) => return Err(AddressError::MissingOpenBracket),
    }
    let mut in_quote = false;
    let mut in_literal = false;
    let mut i = 1;
    let close = loop {
        let Some(&b) = input.get(i) else {
            return Err(AddressError::UnbalancedBrackets);
        };
        if in_quote {
            match b {
                b'\\' => i += 1,
                b'"' => in_quote = false,
                _ => {}
            }
        } else if in_literal {
            in_literal = b != b']';
        } else {
            match b {
                b'"' => in_quote = true,
                b'[' if input.get(i - 1) == Some(&b'@') => in_literal = true,
                b'<' => return Err(AddressError::UnbalancedBrackets),
                b'>' => break i,
                _ => {}
            }
        }
        i += 1;
    };
    if input.get(close + 1) == Some(&b'>') {
        return Err(AddressError::UnbalancedBrackets);
    }
    let consumed = close + 1;
    if consumed > MAX_PATH {
        return Err(AddressError::PathTooLong(consumed));
    }
    let inner = input
        .get(1..close)
        .ok_or(AddressError::UnbalancedBrackets)?;
    let inner = std::str::from_utf8(inner).map_err(|_| AddressError::InvalidUtf8)?;
    Ok((inner, consumed))
}

/// Checks and removes an RFC 5321 source route (`@a,@b:`), which is
/// accepted and ignored (§4.1.2, Appendix C).
fn strip_source_route(inner: &str) -> Result<&str, AddressError> {
    if !inner.starts_with('@') {
        return Ok(inner);
    }
    let (route, rest) = inner
        .split_once(':')
        .ok_or(AddressError::InvalidSourceRoute)?;
    for hop in route.split(',') {
        let domain = hop
            .strip_prefix('@')
            .ok_or(AddressError::InvalidSourceRoute)?;
        validate_name(domain.as_bytes()).map_err(|_| AddressError::InvalidSourceRoute)?;
    }
    Ok(rest)
}

/// Parses the mailbox of a non-null path (source route allowed).
fn parse_path_mailbox(inner: &str) -> Result<Mailbox, AddressError> {
    parse_mailbox(strip_source_route(inner)?.as_bytes())
}

/// Fails with the right error when a whole-input parse left bytes over.
fn check_all_used(input: &[u8], used: usize) -> Result<(), AddressError> {
    if used == input.len() {
        Ok(())
    } else {
        Err(AddressError::TrailingGarbage)
    }
}

/// The `MAIL FROM:` path: `<>` or `<mailbox>` (RFC 5321 §4.1.2
/// `Reverse-path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReversePath {
    /// `<>`: no return path (bounces, auto-replies).
    Null,
    /// `<mailbox>`.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// Parses a whole input as a reverse path; anything after `>` is
    /// [`AddressError::TrailingGarbage`].
    pub fn parse(input: &[u8]) -> Result<Self, AddressError> {
        let (path, used) = Self::parse_prefix(input)?;
        check_all_used(input, used)?;
        Ok(path)
    }

    /// Parses a reverse path at the start of `input` and returns it with the
    /// number of octets consumed (through `>`); the caller checks what
    /// follows. Control bytes are refused anywhere in `input`, also after
    /// the path.
    pub fn parse_prefix(input: &[u8]) -> Result<(Self, usize), AddressError> {
        let (inner, used) = split_path(input)?;
        if inner.is_empty() {
            return Ok((ReversePath::Null, used));
        }
        Ok((ReversePath::Mailbox(parse_path_mailbox(inner)?), used))
    }

    /// The mailbox, unless this is the null path.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(mailbox) => Some(mailbox),
        }
    }

    /// Whether the path has non-ASCII characters, which needs SMTPUTF8.
    pub fn is_utf8(&self) -> bool {
        self.mailbox().is_some_and(Mailbox::is_utf8)
    }

    /// Appends the path with its angle brackets to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_display(self, out);
    }
}

impl From<Mailbox> for ReversePath {
    fn from(mailbox: Mailbox) -> Self {
        ReversePath::Mailbox(mailbox)
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(mailbox) => write!(f, "<{mailbox}>"),
        }
    }
}

impl FromStr for ReversePath {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReversePath::parse(s.as_bytes())
    }
}

/// The `RCPT TO:` path: `<Postmaster>` or `<mailbox>` (RFC 5321 §4.1.1.3,
/// §4.1.2 `Forward-path`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardPath {
    /// `<Postmaster>` (any case, no domain): the local postmaster.
    Postmaster,
    /// `<mailbox>`.
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// Parses a whole input as a forward path; anything after `>` is
    /// [`AddressError::TrailingGarbage`], and `<>` is
    /// [`AddressError::NullPath`].
    pub fn parse(input: &[u8]) -> Result<Self, AddressError> {
        let (path, used) = Self::parse_prefix(input)?;
        check_all_used(input, used)?;
        Ok(path)
    }

    /// Parses a forward path at the start of `input` and returns it with the
    /// number of octets consumed (through `>`); the caller checks what
    /// follows. Control bytes are refused anywhere in `input`, also after
    /// the path.
    pub fn parse_prefix(input: &[u8]) -> Result<(Self, usize), AddressError> {
        let (inner, used) = split_path(input)?;
        if inner.is_empty() {
            return Err(AddressError::NullPath);
        }
        if inner.eq_ignore_ascii_case("postmaster") {
            return Ok((ForwardPath::Postmaster, used));
        }
        Ok((ForwardPath::Mailbox(parse_path_mailbox(inner)?), used))
    }

    /// The mailbox, unless this is `<Postmaster>`.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(mailbox) => Some(mailbox),
        }
    }

    /// Whether the path has non-ASCII characters, which needs SMTPUTF8.
    pub fn is_utf8(&self) -> bool {
        self.mailbox().is_some_and(Mailbox::is_utf8)
    }

    /// Appends the path with its angle brackets to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_display(self, out);
    }
}

impl From<Mailbox> for ForwardPath {
    fn from(mailbox: Mailbox) -> Self {
        ForwardPath::Mailbox(mailbox)
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(mailbox) => write!(f, "<{mailbox}>"),
        }
    }
}

impl FromStr for ForwardPath {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ForwardPath::parse(s.as_bytes())
    }
}

#[cfg(test)]
mod tests;
