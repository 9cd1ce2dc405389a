//! Addresses: RFC 5321 §4.1.2 `Reverse-path`, `Forward-path`, `Mailbox`,
//! with the UTF-8 extensions of RFC 6531.
//!
//! Parsing is strict about the things that matter for safety (CR, LF, NUL,
//! brackets, lengths) and keeps the decoded local part, so a quoted local part
//! that did not need quoting compares equal to its dot-atom form.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest local part, in octets (RFC 5321 §4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain, in octets (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;
/// Longest path including `<` and `>` (RFC 5321 §4.5.3.1.3).
pub const MAX_PATH: usize = 256;

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
}
