//! Why a message could not be built.

use super::super::MessageError;

/// Why [`MessageBuilder::build`](super::MessageBuilder::build) refused a
/// message. Every variant is found before anything is sent, and its text is
/// a sentence that names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An address given to the builder is not `addr@domain`,
    /// `<addr@domain>` or `Name <addr@domain>`, or is not a valid mailbox.
    #[error("{header}: {text:?} is not a usable address: {reason}")]
    InvalidAddress {
        /// The header it was for (`From`, `To`, …).
        header: String,
        /// The text as given.
        text: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// An address has a non-ASCII local part and the message must stay
    /// ASCII: only a server that offers SMTPUTF8 (RFC 6531) can take it.
    #[error(
        "{header}: the address {address} has a non-ASCII local part, which only a server \
         offering SMTPUTF8 can take, and this one does not offer it"
    )]
    Utf8LocalPart {
        /// The header it was for.
        header: String,
        /// The address.
        address: String,
    },
    /// A domain could not be converted to its ASCII form (A-labels,
    /// RFC 5891).
    #[error("{header}: the domain of {address} has no ASCII form (IDNA): {reason}")]
    InvalidDomain {
        /// The header it was for.
        header: String,
        /// The address.
        address: String,
        /// What IDNA said.
        reason: String,
    },
    /// A header name is empty, or holds a byte outside printable ASCII or a
    /// colon.
    #[error("{0:?} is not a valid header name")]
    InvalidHeaderName(String),
    /// A header value holds CR, LF, NUL or another control character.
    #[error("header {header}: the value holds the control byte 0x{byte:02x}")]
    HeaderInjection {
        /// The header name.
        header: String,
        /// The first forbidden byte.
        byte: u8,
    },
    /// A header the builder writes from the message's structure
    /// (`MIME-Version`, `Content-Transfer-Encoding`, `Content-Disposition`,
    /// `Content-ID`), or `Content-Type` on a message of several parts.
    #[error("header {0} is written by the builder from the message's parts and cannot be given")]
    ProtectedHeader(String),
    /// A MIME type is not `type/subtype` (with optional `; name=value`
    /// parameters).
    #[error("{0:?} is not a MIME type (expected type/subtype)")]
    InvalidContentType(String),
    /// A `Content-ID` is empty or holds spaces, angle brackets or
    /// non-ASCII characters.
    #[error("{0:?} is not a usable Content-ID")]
    InvalidContentId(String),
    /// The completed message could not be prepared for sending (an
    /// envelope problem: no recipients, an unusable address, …).
    #[error("{0}")]
    Message(#[from] MessageError),
}
