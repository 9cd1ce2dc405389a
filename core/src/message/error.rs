//! Why a message could not be prepared for sending.

use crate::wire::address::AddressError;

/// Why [`prepare`](super::prepare) refused a message.
///
/// Every variant is found before any connection is made, and the ones about
/// a header name it (as the message or the caller spelt it), so the caller
/// can say exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// An address in a header could not be used as an SMTP path: it does
    /// not parse, has no `@domain`, or does not fit RFC 5321.
    #[error("{header}: cannot use address {address:?}: {reason}")]
    InvalidAddress {
        /// The header the address came from (`To`, `Resent-Cc`, …).
        header: String,
        /// What was found: the address as parsed, or the display name when
        /// there was no address (`"Alice"` without `<…>`).
        address: String,
        /// Why it cannot be used.
        reason: AddressError,
    },
    /// No envelope recipient: none given explicitly (or an empty explicit
    /// list) and none found in the headers named here (`To, Cc, Bcc, Dcc`
    /// or `Resent-To, Resent-Cc, Resent-Bcc, Resent-Dcc`).
    #[error("no recipients: none given and none in {headers}")]
    NoRecipients {
        /// The headers that were searched.
        headers: &'static str,
    },
    /// No envelope sender: none given explicitly and no usable mailbox in
    /// the header named here (`From` or `Resent-From`, then `Sender` or
    /// `Resent-Sender`).
    #[error("no originator: none given and no mailbox in {header}")]
    NoOriginator {
        /// The header that was searched.
        header: &'static str,
    },
    /// The originator header has several mailboxes and there is no
    /// `Sender` (resp. `Resent-Sender`) with exactly one to pick instead
    /// (RFC 5322 §3.6.2).
    #[error("{header} has {count} mailboxes; give a Sender or an explicit originator")]
    TooManyMailboxes {
        /// `From`, `Sender`, `Resent-From` or `Resent-Sender`.
        header: &'static str,
        /// How many distinct mailboxes it has.
        count: usize,
    },
    /// A caller-given header value holds CR, LF, NUL or another control
    /// character (only HTAB is allowed): it could start a new header line.
    #[error("header {header}: control byte 0x{byte:02x} in the value")]
    HeaderInjection {
        /// The header name as given.
        header: String,
        /// The first forbidden byte.
        byte: u8,
    },
    /// A caller-given header name is empty or has a byte outside printable
    /// ASCII, or a colon (RFC 5322 §3.6.8 `ftext`).
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String),
    /// A caller-given header that only the MIME structure of the message
    /// may set: `Content-Type`, `Content-Transfer-Encoding`, `Content-MD5`
    /// or `MIME-Version`.
    #[error("header {0} cannot be given by the caller; it belongs to the message's MIME structure")]
    ProtectedHeader(String),
    /// A line of the header section is neither a header field, a
    /// continuation line, nor the empty line that ends the section, or it
    /// holds a bare CR. Put an empty line before the body.
    #[error("malformed header section at line {line}")]
    MalformedHeader {
        /// The 1-based line number in the message.
        line: usize,
    },
}
