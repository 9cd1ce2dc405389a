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
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

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

/// `dcontent` of a general address literal (RFC 5321 §4.1.3).
fn is_dcontent(b: u8) -> bool {
    matches!(b, 33..=90 | 94..=126)
}

/// `Dot-string`: `Atom *("." Atom)`.
fn is_dot_atom(s: &[u8]) -> bool {
    !s.is_empty()
        && s.split(|&b| b == b'.')
            .all(|atom| !atom.is_empty() && atom.iter().all(|&b| is_atext(b)))
}

/// `Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig`.
fn is_ldh_str(s: &[u8]) -> bool {
    s.last().is_some_and(u8::is_ascii_alphanumeric)
        && s.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Checks a domain name: `sub-domain *("." sub-domain)`, each label a
/// `Let-dig [Ldh-str]` or a U-label, at most [`MAX_LABEL`] octets.
fn validate_name(name: &[u8]) -> Result<(), AddressError> {
    if name.len() > MAX_DOMAIN {
        return Err(AddressError::DomainTooLong(name.len()));
    }
    let label_ok = |label: &[u8]| {
        !label.is_empty()
            && label.len() <= MAX_LABEL
            && label.first() != Some(&b'-')
            && label.last() != Some(&b'-')
            && label
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
    };
    if name.split(|&b| b == b'.').all(label_ok) {
        Ok(())
    } else {
        Err(AddressError::InvalidDomain)
    }
}

/// Checks the parts of a general address literal `[tag:content]`.
fn validate_general(tag: &str, content: &str) -> Result<(), AddressError> {
    if is_ldh_str(tag.as_bytes())
        && !tag.eq_ignore_ascii_case("IPv6")
        && !content.is_empty()
        && content.bytes().all(is_dcontent)
    {
        Ok(())
    } else {
        Err(AddressError::InvalidAddressLiteral)
    }
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
// Domain.

/// The domain of a mailbox: a name or an address literal (RFC 5321 §4.1.2,
/// §4.1.3).
///
/// Names are kept as written (no case folding, no IDNA conversion); U-labels
/// are allowed (RFC 6531) and reported by [`Domain::is_utf8`]. A value built
/// directly from the variants is checked by [`Domain::validate`] (and by
/// [`Mailbox::new`]) before it can reach the wire inside a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Domain {
    /// A domain name such as `mail.example.org`, as written.
    Name(String),
    /// An IPv4 address literal, `[192.0.2.1]`.
    Ipv4(Ipv4Addr),
    /// An IPv6 address literal, `[IPv6:2001:db8::1]`.
    Ipv6(Ipv6Addr),
    /// A general address literal, `[tag:content]` (RFC 5321 §4.1.3).
    General {
        /// The standardized tag (an `Ldh-str`, never `IPv6`).
        tag: String,
        /// The content: printable ASCII except `[`, `\` and `]`.
        content: String,
    },
}

impl Domain {
    /// Parses a whole input as a domain name or an address literal
    /// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`, `[tag:content]`).
    ///
    /// The `IPv6` tag is matched case-insensitively; IPv4 literals must be
    /// four decimal octets as [`Ipv4Addr`] parses them.
    pub fn parse(input: &[u8]) -> Result<Domain, AddressError> {
        check_forbidden(input)?;
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        let text = std::str::from_utf8(input).map_err(|_| AddressError::InvalidUtf8)?;
        parse_domain(text)
    }

    /// Checks a value built directly from the variants: the same rules
    /// [`Domain::parse`] applies, so that `parse(write_to(d)) == d` holds for
    /// every domain that passes.
    pub fn validate(&self) -> Result<(), AddressError> {
        match self {
            Domain::Name(name) => {
                check_forbidden(name.as_bytes())?;
                if name.is_empty() {
                    return Err(AddressError::Empty);
                }
                validate_name(name.as_bytes())
            }
            Domain::Ipv4(_) | Domain::Ipv6(_) => Ok(()),
            Domain::General { tag, content } => {
                check_forbidden(tag.as_bytes())?;
                check_forbidden(content.as_bytes())?;
                validate_general(tag, content)?;
                match self.wire_len() {
                    len if len > MAX_DOMAIN => Err(AddressError::DomainTooLong(len)),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Whether the domain has U-labels (non-ASCII), which needs SMTPUTF8.
    pub fn is_utf8(&self) -> bool {
        match self {
            Domain::Name(name) => !name.is_ascii(),
            Domain::Ipv4(_) | Domain::Ipv6(_) | Domain::General { .. } => false,
        }
    }

    /// Appends the wire form (address literals in brackets) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        write_display(self, out);
    }

    /// Octets of the wire form.
    fn wire_len(&self) -> usize {
        match self {
            Domain::Name(name) => name.len(),
            Domain::Ipv4(addr) => addr.to_string().len() + 2,
            Domain::Ipv6(addr) => addr.to_string().len() + "[IPv6:]".len(),
            Domain::General { tag, content } => tag.len() + content.len() + 3,
        }
    }
}

/// Parses a domain from text already checked for control bytes and UTF-8.
fn parse_domain(text: &str) -> Result<Domain, AddressError> {
    if text.len() > MAX_DOMAIN {
        return Err(AddressError::DomainTooLong(text.len()));
    }
    match text.strip_prefix('[') {
        Some(rest) => {
            let inner = rest
                .strip_suffix(']')
                .ok_or(AddressError::InvalidAddressLiteral)?;
            parse_literal(inner)
        }
        None => {
            validate_name(text.as_bytes())?;
            Ok(Domain::Name(text.to_owned()))
        }
    }
}

/// Parses the inside of `[...]`.
fn parse_literal(inner: &str) -> Result<Domain, AddressError> {
    let invalid = |_| AddressError::InvalidAddressLiteral;
    match inner.split_once(':') {
        Some((tag, content)) if tag.eq_ignore_ascii_case("IPv6") => {
            content.parse().map(Domain::Ipv6).map_err(invalid)
        }
        Some((tag, content)) => {
            validate_general(tag, content)?;
            Ok(Domain::General {
                tag: tag.to_owned(),
                content: content.to_owned(),
            })
        }
        None => inner.parse().map(Domain::Ipv4).map_err(invalid),
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domain::Name(name) => f.write_str(name),
            Domain::Ipv4(addr) => write!(f, "[{addr}]"),
            Domain::Ipv6(addr) => write!(f, "[IPv6:{addr}]"),
            Domain::General { tag, content } => write!(f, "[{tag}:{content}]"),
        }
    }
}

impl FromStr for Domain {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::parse(s.as_bytes())
    }
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
mod tests {
    use super::*;
    use AddressError as E;

    fn rev(input: &str) -> Result<ReversePath, AddressError> {
        ReversePath::parse(input.as_bytes())
    }

    fn fwd(input: &str) -> Result<ForwardPath, AddressError> {
        ForwardPath::parse(input.as_bytes())
    }

    fn written(write: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        write(&mut out);
        String::from_utf8(out).unwrap()
    }

    /// Accepted paths: (input, canonical form written back, decoded local
    /// part, domain as displayed, is_utf8).
    const ACCEPT: &[(&str, &str, &str, &str, bool)] = &[
        (
            "<a@example.org>",
            "<a@example.org>",
            "a",
            "example.org",
            false,
        ),
        (
            "<First.Last@Example.ORG>",
            "<First.Last@Example.ORG>",
            "First.Last",
            "Example.ORG",
            false,
        ),
        (
            "<!#$%&'*+-/=?^_`{|}~@x>",
            "<!#$%&'*+-/=?^_`{|}~@x>",
            "!#$%&'*+-/=?^_`{|}~",
            "x",
            false,
        ),
        ("<\"abc\"@x>", "<abc@x>", "abc", "x", false),
        (
            "<\"john doe\"@x>",
            "<\"john doe\"@x>",
            "john doe",
            "x",
            false,
        ),
        ("<\"a\\\"b\"@x>", "<\"a\\\"b\"@x>", "a\"b", "x", false),
        ("<\"a\\\\b\"@x>", "<\"a\\\\b\"@x>", "a\\b", "x", false),
        ("<\"a\\b\"@x>", "<ab@x>", "ab", "x", false),
        ("<\"a@b\"@x>", "<\"a@b\"@x>", "a@b", "x", false),
        ("<\"a>b<c\"@x>", "<\"a>b<c\"@x>", "a>b<c", "x", false),
        ("<\".a..b.\"@x>", "<\".a..b.\"@x>", ".a..b.", "x", false),
        ("<\"\"@x>", "<\"\"@x>", "", "x", false),
        ("<\"é ü\"@x>", "<\"é ü\"@x>", "é ü", "x", true),
        (
            "<用户@例子.广告>",
            "<用户@例子.广告>",
            "用户",
            "例子.广告",
            true,
        ),
        (
            "<a@bücher.example>",
            "<a@bücher.example>",
            "a",
            "bücher.example",
            true,
        ),
        ("<a@localhost>", "<a@localhost>", "a", "localhost", false),
        (
            "<a@xn--bcher-kva.example>",
            "<a@xn--bcher-kva.example>",
            "a",
            "xn--bcher-kva.example",
            false,
        ),
        ("<a@1.2.3.4>", "<a@1.2.3.4>", "a", "1.2.3.4", false),
        (
            "<a@[192.0.2.1]>",
            "<a@[192.0.2.1]>",
            "a",
            "[192.0.2.1]",
            false,
        ),
        (
            "<a@[IPv6:2001:db8::1]>",
            "<a@[IPv6:2001:db8::1]>",
            "a",
            "[IPv6:2001:db8::1]",
            false,
        ),
        (
            "<a@[ipv6:2001:DB8:0:0:0:0:0:1]>",
            "<a@[IPv6:2001:db8::1]>",
            "a",
            "[IPv6:2001:db8::1]",
            false,
        ),
        (
            "<a@[IPv6:::ffff:192.0.2.1]>",
            "<a@[IPv6:::ffff:192.0.2.1]>",
            "a",
            "[IPv6:::ffff:192.0.2.1]",
            false,
        ),
        (
            "<a@[x-tag:any>thing]>",
            "<a@[x-tag:any>thing]>",
            "a",
            "[x-tag:any>thing]",
            false,
        ),
        ("<a@[IPv7:1:2]>", "<a@[IPv7:1:2]>", "a", "[IPv7:1:2]", false),
        (
            "<@a.example,@b.example:user@c.example>",
            "<user@c.example>",
            "user",
            "c.example",
            false,
        ),
        (
            "<@a.example:\"q q\"@c.example>",
            "<\"q q\"@c.example>",
            "q q",
            "c.example",
            false,
        ),
        (
            "<postmaster@example.org>",
            "<postmaster@example.org>",
            "postmaster",
            "example.org",
            false,
        ),
    ];

    #[test]
    fn accepted_paths() {
        for &(input, canonical, local, domain, utf8) in ACCEPT {
            for path in [
                rev(input).map(|p| p.to_string()),
                fwd(input).map(|p| p.to_string()),
            ] {
                assert_eq!(path.as_deref(), Ok(canonical), "{input}");
            }
            let path = rev(input).unwrap();
            let mailbox = path.mailbox().unwrap();
            assert_eq!(mailbox.local().as_str(), local, "{input}");
            assert_eq!(mailbox.domain().to_string(), domain, "{input}");
            assert_eq!(path.is_utf8(), utf8, "{input}");
            assert_eq!(fwd(input).unwrap().is_utf8(), utf8, "{input}");
            // Round trip through the writer.
            let out = written(|o| path.write_to(o));
            assert_eq!(out, canonical);
            assert_eq!(rev(&out), Ok(path.clone()), "{input}");
            assert_eq!(fwd(&out).unwrap().mailbox(), Some(mailbox));
            // The bare mailbox parses on its own (without the source route).
            let bare = written(|o| mailbox.write_to(o));
            assert_eq!(
                Mailbox::parse(bare.as_bytes()).as_ref(),
                Ok(mailbox),
                "{input}"
            );
            assert_eq!(bare.parse::<Mailbox>().as_ref(), Ok(mailbox));
        }
    }

    #[test]
    fn null_and_postmaster() {
        assert_eq!(rev("<>"), Ok(ReversePath::Null));
        assert_eq!(ReversePath::Null.to_string(), "<>");
        assert_eq!(ReversePath::Null.mailbox(), None);
        assert!(!ReversePath::Null.is_utf8());
        assert_eq!(fwd("<>"), Err(E::NullPath));
        for input in [
            "<Postmaster>",
            "<postmaster>",
            "<POSTMASTER>",
            "<pOsTmAsTeR>",
        ] {
            assert_eq!(fwd(input), Ok(ForwardPath::Postmaster), "{input}");
            assert_eq!(rev(input), Err(E::MissingAt), "{input}");
        }
        assert_eq!(ForwardPath::Postmaster.to_string(), "<Postmaster>");
        assert_eq!(ForwardPath::Postmaster.mailbox(), None);
        assert!(!ForwardPath::Postmaster.is_utf8());
        let mb = fwd("<PostMaster@example.org>").unwrap();
        assert!(mb.mailbox().unwrap().is_postmaster());
        assert!(
            !rev("<postmistress@x>")
                .unwrap()
                .mailbox()
                .unwrap()
                .is_postmaster()
        );
        assert!(
            rev("<\"postmaster\"@x>")
                .unwrap()
                .mailbox()
                .unwrap()
                .is_postmaster()
        );
        assert_eq!("<>".parse::<ReversePath>(), Ok(ReversePath::Null));
        assert_eq!(
            "<postmaster>".parse::<ForwardPath>(),
            Ok(ForwardPath::Postmaster)
        );
    }

    #[test]
    fn quoted_equals_dot_atom() {
        assert_eq!(rev("<\"abc\"@x>"), rev("<abc@x>"));
        assert_eq!(rev("<\"a.b\"@x>"), rev("<a.b@x>"));
        assert_ne!(rev("<abc@x>"), rev("<abc@X>"));
        assert_ne!(rev("<abc@x>"), rev("<ABC@x>"));
    }

    /// Rejected paths, for both path kinds (unless noted).
    const REJECT: &[(&[u8], AddressError)] = &[
        (b"", E::Empty),
        // Control bytes win over every other error.
        (b"<a@b\r\n>", E::ForbiddenByte(b'\r')),
        (b"<a@b>\r\nRCPT TO:<c@d>", E::ForbiddenByte(b'\r')),
        (b"<a@b\n>", E::ForbiddenByte(b'\n')),
        (b"<a\0@b>", E::ForbiddenByte(0)),
        (b"<\"a\0\"@b>", E::ForbiddenByte(0)),
        (b"<\"a\\\r\"@b>", E::ForbiddenByte(b'\r')),
        (b"<a@b\x7f>", E::ForbiddenByte(0x7f)),
        (b"<a@b>\t", E::ForbiddenByte(b'\t')),
        (b"a@b\n", E::ForbiddenByte(b'\n')),
        (b"\n<a@b", E::ForbiddenByte(b'\n')),
        (b"<\xff\x1b>", E::ForbiddenByte(0x1b)),
        (b"a@b", E::MissingOpenBracket),
        (b" <a@b>", E::MissingOpenBracket),
        (b"a@b>", E::MissingOpenBracket),
        (b"<", E::UnbalancedBrackets),
        (b"<a@b", E::UnbalancedBrackets),
        (b"<<a@b>", E::UnbalancedBrackets),
        (b"<<a@b>>", E::UnbalancedBrackets),
        (b"<a@b>>", E::UnbalancedBrackets),
        (b"<a<b@c>", E::UnbalancedBrackets),
        (b"<a@b<c>", E::UnbalancedBrackets),
        (b"<\"a>@b", E::UnbalancedBrackets),
        (b"<a@[1.2.3.4>", E::UnbalancedBrackets),
        (b"<a@b> ", E::TrailingGarbage),
        (b"<a@b>x", E::TrailingGarbage),
        (b"<a@b> <c@d>", E::TrailingGarbage),
        (b"<abc>", E::MissingAt),
        (b"<\"a@b\">", E::MissingAt),
        (b"<a b>", E::MissingAt),
        (b"<@>", E::InvalidSourceRoute),
        (b"<a..b@x>", E::InvalidLocalPart),
        (b"<.a@x>", E::InvalidLocalPart),
        (b"<a.@x>", E::InvalidLocalPart),
        (b"<@x>", E::InvalidSourceRoute),
        (b"<a b@x>", E::InvalidLocalPart),
        (b"<a\"b\"@x>", E::InvalidLocalPart),
        (b"<\"a\"b@x>", E::InvalidLocalPart),
        (b"<(a)@x>", E::InvalidLocalPart),
        (b"<a,b@x>", E::InvalidLocalPart),
        (b"<\"a\\\xc3\xa9\"@x>", E::InvalidLocalPart),
        (b"<a@>", E::InvalidDomain),
        (b"<a@-x.org>", E::InvalidDomain),
        (b"<a@x-.org>", E::InvalidDomain),
        (b"<a@x..org>", E::InvalidDomain),
        (b"<a@.x.org>", E::InvalidDomain),
        (b"<a@x.org.>", E::InvalidDomain),
        (b"<a@x_y.org>", E::InvalidDomain),
        (b"<a@x y>", E::InvalidDomain),
        (b"<a@b@c>", E::InvalidDomain),
        (b"<a@[1.2.3]>", E::InvalidAddressLiteral),
        (b"<a@[256.1.1.1]>", E::InvalidAddressLiteral),
        (b"<a@[01.2.3.4]>", E::InvalidAddressLiteral),
        (b"<a@[1.2.3.4 ]>", E::InvalidAddressLiteral),
        (b"<a@[]>", E::InvalidAddressLiteral),
        (b"<a@[IPv6:zz::1]>", E::InvalidAddressLiteral),
        (b"<a@[IPv6:1.2.3.4]>", E::InvalidAddressLiteral),
        (b"<a@[IPv6:::1%eth0]>", E::InvalidAddressLiteral),
        (b"<a@[:x]>", E::InvalidAddressLiteral),
        (b"<a@[x-:y]>", E::InvalidAddressLiteral),
        (b"<a@[x:]>", E::InvalidAddressLiteral),
        (b"<a@[x:a\\b]>", E::InvalidAddressLiteral),
        (b"<a@[x:a b]>", E::InvalidAddressLiteral),
        (b"<a@[1.2.3.4]x>", E::InvalidAddressLiteral),
        (b"<@:a@b>", E::InvalidSourceRoute),
        (b"<@a.example a@b>", E::InvalidSourceRoute),
        (b"<@a,b:c@d>", E::InvalidSourceRoute),
        (b"<@a,:c@d>", E::InvalidSourceRoute),
        (b"<@-a:b@c>", E::InvalidSourceRoute),
        (b"<@[1.2.3.4]:a@b>", E::InvalidSourceRoute),
        (b"<@a.example:>", E::Empty),
        (b"<\xff@x>", E::InvalidUtf8),
        (b"<a@\xc3>", E::InvalidUtf8),
        (b"<\"\xe9\"@x>", E::InvalidUtf8),
    ];

    #[test]
    fn rejected_paths() {
        for (input, error) in REJECT {
            let shown = String::from_utf8_lossy(input);
            assert_eq!(ReversePath::parse(input).as_ref(), Err(error), "{shown}");
            assert_eq!(ForwardPath::parse(input).as_ref(), Err(error), "{shown}");
        }
    }

    #[test]
    fn parse_prefix_reports_consumed() {
        let cases: &[(&[u8], usize)] = &[
            (b"<a@b>", 5),
            (b"<a@b> SIZE=10", 5),
            (b"<> BODY=8BITMIME", 2),
            (b"<a@b>x", 5),
            (b"<\"a>b\"@c> X", 9),
            (b"<a@[t:x>y]> X", 11),
            (b"<@r.example:a@b> X", 16),
        ];
        for &(input, used) in cases {
            let (_, n) = ReversePath::parse_prefix(input).unwrap();
            assert_eq!(n, used, "{}", String::from_utf8_lossy(input));
        }
        assert_eq!(
            ForwardPath::parse_prefix(b"<postmaster> NOTIFY=NEVER"),
            Ok((ForwardPath::Postmaster, 12))
        );
        assert_eq!(ForwardPath::parse_prefix(b"<> X"), Err(E::NullPath));
        assert_eq!(
            ReversePath::parse_prefix(b"<a@b>> X"),
            Err(E::UnbalancedBrackets)
        );
        assert_eq!(
            ReversePath::parse_prefix(b"<a@b> X\r\n"),
            Err(E::ForbiddenByte(b'\r'))
        );
    }

    #[test]
    fn length_limits() {
        let local64 = "l".repeat(64);
        let local65 = "l".repeat(65);
        // 64 octets of local part is fine, 65 is not, quoted or not.
        assert!(rev(&format!("<{local64}@x>")).is_ok());
        assert_eq!(rev(&format!("<{local65}@x>")), Err(E::LocalPartTooLong(65)));
        assert_eq!(
            rev(&format!("<\"{}\"@x>", "l".repeat(63))),
            Err(E::LocalPartTooLong(65))
        );
        // Raw length counts, even if the canonical form would be shorter.
        assert_eq!(
            rev(&format!("<\"{}\"@x>", "\\l".repeat(32))),
            Err(E::LocalPartTooLong(66))
        );
        // A domain of 191 octets: 1 + 64 + 1 + 189 + 1 = 256 fits, one more does not.
        let label = "d".repeat(63);
        let domain189 = format!("{label}.{label}.{}", "d".repeat(61));
        assert_eq!(domain189.len(), 189);
        let path256 = format!("<{local64}@{domain189}>");
        assert_eq!(path256.len(), MAX_PATH);
        assert!(rev(&path256).is_ok());
        let path257 = format!("<{local64}@{domain189}e>");
        assert_eq!(rev(&path257), Err(E::PathTooLong(257)));
        // A source route counts towards the path length.
        let routed = format!("<@{label}:{local64}@{domain189}>");
        assert_eq!(rev(&routed), Err(E::PathTooLong(routed.len())));
        // Labels: 63 octets fine, 64 not.
        assert!(Domain::parse(format!("{label}.x").as_bytes()).is_ok());
        assert_eq!(
            Domain::parse(format!("{label}d.x").as_bytes()),
            Err(E::InvalidDomain)
        );
        // Domains: 255 fine, 256 not.
        let domain255 = format!("{label}.{label}.{label}.{}", "d".repeat(63));
        assert_eq!(domain255.len(), MAX_DOMAIN);
        assert!(Domain::parse(domain255.as_bytes()).is_ok());
        let domain256 = format!("{domain255}d");
        assert_eq!(
            Domain::parse(domain256.as_bytes()),
            Err(E::DomainTooLong(256))
        );
        assert_eq!(
            Mailbox::parse(format!("a@{domain256}").as_bytes()),
            Err(E::DomainTooLong(256))
        );
        // Mailbox: 254 octets fit a path, 255 do not.
        let local = LocalPart::new(&local64).unwrap();
        let d = |s: &str| Domain::Name(s.to_owned());
        assert!(Mailbox::new(local.clone(), d(&domain189)).is_ok());
        assert_eq!(
            Mailbox::new(local.clone(), d(&format!("{domain189}e"))),
            Err(E::PathTooLong(257))
        );
        assert_eq!(
            Mailbox::parse(format!("{local64}@{domain189}e").as_bytes()),
            Err(E::PathTooLong(257))
        );
    }

    #[test]
    fn local_part_new() {
        let ok: &[(&str, &str, bool)] = &[
            ("abc", "abc", false),
            ("a.b", "a.b", false),
            ("a b", "\"a b\"", true),
            ("a\"b\\", "\"a\\\"b\\\\\"", true),
            (".a", "\".a\"", true),
            ("a..b", "\"a..b\"", true),
            ("", "\"\"", true),
            ("a@b", "\"a@b\"", true),
            ("ü", "ü", false),
            ("ü ü", "\"ü ü\"", true),
        ];
        for &(decoded, wire, quoted) in ok {
            let local = LocalPart::new(decoded).unwrap();
            assert_eq!(local.as_str(), decoded);
            assert_eq!(local.needs_quoting(), quoted, "{decoded}");
            assert_eq!(written(|o| local.write_to(o)), wire);
            assert_eq!(local.to_string(), wire);
            assert_eq!(local.is_utf8(), !decoded.is_ascii());
        }
        let bad: &[(&str, AddressError)] = &[
            ("a\r\nb", E::ForbiddenByte(b'\r')),
            ("a\nb", E::ForbiddenByte(b'\n')),
            ("\0", E::ForbiddenByte(0)),
            ("a\tb", E::ForbiddenByte(b'\t')),
            ("\x7f", E::ForbiddenByte(0x7f)),
            ("\x1b[0m", E::ForbiddenByte(0x1b)),
        ];
        for (decoded, error) in bad {
            assert_eq!(LocalPart::new(decoded).as_ref(), Err(error), "{decoded:?}");
        }
        // Lengths count the wire form.
        assert!(LocalPart::new(&"x".repeat(64)).is_ok());
        assert_eq!(
            LocalPart::new(&"x".repeat(65)),
            Err(E::LocalPartTooLong(65))
        );
        assert!(LocalPart::new(&" ".repeat(62)).is_ok());
        assert_eq!(
            LocalPart::new(&" ".repeat(63)),
            Err(E::LocalPartTooLong(65))
        );
        assert!(LocalPart::new(&"\"".repeat(31)).is_ok());
        assert_eq!(
            LocalPart::new(&"\\".repeat(32)),
            Err(E::LocalPartTooLong(66))
        );
    }

    #[test]
    fn domains() {
        let ok: &[(&str, Domain, &str, bool)] = &[
            (
                "example.org",
                Domain::Name("example.org".into()),
                "example.org",
                false,
            ),
            (
                "EXAMPLE.org",
                Domain::Name("EXAMPLE.org".into()),
                "EXAMPLE.org",
                false,
            ),
            ("a-b.c", Domain::Name("a-b.c".into()), "a-b.c", false),
            (
                "例子.广告",
                Domain::Name("例子.广告".into()),
                "例子.广告",
                true,
            ),
            (
                "[10.0.0.1]",
                Domain::Ipv4(Ipv4Addr::new(10, 0, 0, 1)),
                "[10.0.0.1]",
                false,
            ),
            (
                "[IPv6:::1]",
                Domain::Ipv6(Ipv6Addr::LOCALHOST),
                "[IPv6:::1]",
                false,
            ),
            (
                "[IPV6:0:0:0:0:0:0:0:1]",
                Domain::Ipv6(Ipv6Addr::LOCALHOST),
                "[IPv6:::1]",
                false,
            ),
            (
                "[x:y:z]",
                Domain::General {
                    tag: "x".into(),
                    content: "y:z".into(),
                },
                "[x:y:z]",
                false,
            ),
        ];
        for (input, domain, shown, utf8) in ok {
            assert_eq!(
                Domain::parse(input.as_bytes()).as_ref(),
                Ok(domain),
                "{input}"
            );
            assert_eq!(input.parse::<Domain>().as_ref(), Ok(domain));
            assert_eq!(domain.to_string(), *shown);
            assert_eq!(written(|o| domain.write_to(o)), *shown);
            assert_eq!(domain.is_utf8(), *utf8);
            assert_eq!(domain.validate(), Ok(()));
            assert_eq!(Domain::parse(shown.as_bytes()).as_ref(), Ok(domain));
        }
        let bad: &[(&[u8], AddressError)] = &[
            (b"", E::Empty),
            (b"a\r\n", E::ForbiddenByte(b'\r')),
            (b"[1.2.3.4\n]", E::ForbiddenByte(b'\n')),
            (b"a b", E::InvalidDomain),
            (b"a.", E::InvalidDomain),
            (b"<a>", E::InvalidDomain),
            (b"[1.2.3.4", E::InvalidAddressLiteral),
            (b"[1.2.3.4]]", E::InvalidAddressLiteral),
            (b"[ipv6:x]", E::InvalidAddressLiteral),
            (b"[\xc3\xa9:x]", E::InvalidAddressLiteral),
            (b"[x:\xc3\xa9]", E::InvalidAddressLiteral),
            (b"\xc3", E::InvalidUtf8),
        ];
        for (input, error) in bad {
            let shown = String::from_utf8_lossy(input);
            assert_eq!(Domain::parse(input).as_ref(), Err(error), "{shown}");
        }
    }

    #[test]
    fn domain_validate_and_mailbox_new() {
        let bad: &[(Domain, AddressError)] = &[
            (Domain::Name(String::new()), E::Empty),
            (Domain::Name("a\r\nb".into()), E::ForbiddenByte(b'\r')),
            (Domain::Name("a b".into()), E::InvalidDomain),
            (Domain::Name("[1.2.3.4]".into()), E::InvalidDomain),
            (Domain::Name("d".repeat(256)), E::DomainTooLong(256)),
            (
                Domain::General {
                    tag: "IPv6".into(),
                    content: "::1".into(),
                },
                E::InvalidAddressLiteral,
            ),
            (
                Domain::General {
                    tag: "ipv6".into(),
                    content: "x".into(),
                },
                E::InvalidAddressLiteral,
            ),
            (
                Domain::General {
                    tag: String::new(),
                    content: "x".into(),
                },
                E::InvalidAddressLiteral,
            ),
            (
                Domain::General {
                    tag: "x".into(),
                    content: String::new(),
                },
                E::InvalidAddressLiteral,
            ),
            (
                Domain::General {
                    tag: "x".into(),
                    content: "a]b".into(),
                },
                E::InvalidAddressLiteral,
            ),
            (
                Domain::General {
                    tag: "x".into(),
                    content: "a\nb".into(),
                },
                E::ForbiddenByte(b'\n'),
            ),
            (
                Domain::General {
                    tag: "x".into(),
                    content: "c".repeat(252),
                },
                E::DomainTooLong(255 + 1),
            ),
        ];
        let local = LocalPart::new("a").unwrap();
        for (domain, error) in bad {
            assert_eq!(domain.validate().as_ref(), Err(error), "{domain:?}");
            assert_eq!(
                Mailbox::new(local.clone(), domain.clone()).as_ref(),
                Err(error)
            );
        }
        let mailbox = Mailbox::new(local.clone(), Domain::Ipv4(Ipv4Addr::LOCALHOST)).unwrap();
        assert_eq!(mailbox.local(), &local);
        assert_eq!(mailbox.domain(), &Domain::Ipv4(Ipv4Addr::LOCALHOST));
        assert_eq!(mailbox.to_string(), "a@[127.0.0.1]");
        assert_eq!(
            ReversePath::from(mailbox.clone()).to_string(),
            "<a@[127.0.0.1]>"
        );
        assert_eq!(ForwardPath::from(mailbox).to_string(), "<a@[127.0.0.1]>");
    }

    #[test]
    fn mailbox_parse_errors() {
        let bad: &[(&[u8], AddressError)] = &[
            (b"", E::Empty),
            (b"a@b\r\n", E::ForbiddenByte(b'\r')),
            (b"abc", E::MissingAt),
            (b"<a@b>", E::InvalidLocalPart),
            (b"@a:b@c", E::InvalidLocalPart),
            (b"a@", E::InvalidDomain),
            (b"a@b c", E::InvalidDomain),
            (b"\xff@b", E::InvalidUtf8),
        ];
        for (input, error) in bad {
            let shown = String::from_utf8_lossy(input);
            assert_eq!(Mailbox::parse(input).as_ref(), Err(error), "{shown}");
        }
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            E::ForbiddenByte(b'\r').to_string(),
            "forbidden byte 0x0d in address"
        );
        assert_eq!(
            E::NullPath.to_string(),
            "the null path <> is not a valid recipient"
        );
    }
}
