//! The domain part of a mailbox: a name or an address literal.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::{AddressError, MAX_DOMAIN, MAX_LABEL, check_forbidden, write_display};

/// `dcontent` of a general address literal (RFC 5321 §4.1.3).
fn is_dcontent(b: u8) -> bool {
    matches!(b, 33..=90 | 94..=126)
}

/// `Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig`.
fn is_ldh_str(s: &[u8]) -> bool {
    s.last().is_some_and(u8::is_ascii_alphanumeric)
        && s.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Checks a domain name: `sub-domain *("." sub-domain)`, each label a
/// `Let-dig [Ldh-str]` or a U-label, at most [`MAX_LABEL`] octets.
pub(super) fn validate_name(name: &[u8]) -> Result<(), AddressError> {
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

// ---------------------------------------------------------------------------
// Domain.

/// The domain of a mailbox: a name or an address literal (RFC 5321 §4.1.2,
/// §4.1.3).
///
/// Names are kept as written (no case folding, no IDNA conversion); U-labels
/// are allowed (RFC 6531) and reported by [`Domain::is_utf8`]. A value built
/// directly from the variants is checked by [`Domain::validate`] (and by
/// [`Mailbox::new`](super::Mailbox::new)) before it can reach the wire inside a mailbox.
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
    pub(super) fn wire_len(&self) -> usize {
        match self {
            Domain::Name(name) => name.len(),
            Domain::Ipv4(addr) => addr.to_string().len() + 2,
            Domain::Ipv6(addr) => addr.to_string().len() + "[IPv6:]".len(),
            Domain::General { tag, content } => tag.len() + content.len() + 3,
        }
    }
}

/// Parses a domain from text already checked for control bytes and UTF-8.
pub(super) fn parse_domain(text: &str) -> Result<Domain, AddressError> {
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
