//! Messages: what the client sends and what delivery receives.
//!
//! Pure functions over bytes, no I/O, no clock, no randomness of their own
//! (the time and a [`RandomSource`](crate::RandomSource) come in through
//! [`PrepareContext`] and [`ReceivedInfo`]).
//!
//! # Client side: [`prepare`]
//!
//! Turns a message into a [`PreparedMessage`]: the envelope (explicit, or
//! from `From`/`Sender` and `To`/`Cc`/`Bcc`/`Dcc`, or from the newest
//! `Resent-*` block, RFC 5322 §3.6.6), the bytes to transmit (`Date`,
//! `Message-ID` and `From` added when missing, the caller's extra headers
//! added, `Bcc` and `Dcc` removed; everything else byte for byte), and the
//! extensions the server must offer ([`BodyNeeds`]: 8BITMIME, SMTPUTF8,
//! BINARYMIME). Bcc and Dcc recipients are envelope recipients of the same
//! bytes, also when the other recipients are explicit: there is no
//! separate "Bcc copy" as in tcllib's `smtp`. Every error is found before a
//! connection is made, and the ones about a header name it
//! ([`MessageError`]).
//!
//! The header section is split on the raw bytes, so untouched fields keep
//! their folding and line ends; address values are read by mail-parser
//! (groups, comments, display names, encoded words) and must then be valid
//! SMTP mailboxes.
//!
//! # Server side: trace headers and parsed delivery
//!
//! [`received_header`] and [`return_path_header`] (together:
//! [`trace_headers`]) build the block to put before what delivery sees;
//! the HELO name is untrusted and is sanitised. [`parse_message`] gives
//! delivery a parsed view ([`mail_parser::Message`]) of the bytes it
//! already has.
//!
//! ```
//! use mailwire_core::message::{MessageDate, PrepareContext, PrepareOptions, prepare};
//! use mailwire_core::wire::address::ForwardPath;
//! use mailwire_core::SeededRandom;
//!
//! // A bare body and tcllib-style headers from the caller.
//! let options = PrepareOptions::default()
//!     .with_header("From", "Alice <alice@example.org>")
//!     .with_header("To", "Bob <bob@example.org>")
//!     .with_header("Bcc", "carol@example.org")
//!     .with_header("Subject", "hello");
//! let (random, domain) = (SeededRandom::new(1), "client.example.org".parse()?);
//! let context = PrepareContext::new(MessageDate::utc(0)?, &random, &domain);
//! let prepared = prepare(b"\r\nHi Bob\r\n", &options, &context)?;
//!
//! assert_eq!(prepared.recipients.len(), 2);
//! assert!(!String::from_utf8_lossy(&prepared.bytes).contains("carol"));
//! let envelope = prepared.envelope(); // for ClientConnection::send_mail
//! assert_eq!(envelope.recipients[1].path, "<carol@example.org>".parse::<ForwardPath>()?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod address;
mod build;
mod date;
mod envelope;
mod error;
mod fold;
mod header;
mod ids;
mod needs;
mod parsed;
mod prepare;
mod trace;

pub use mail_parser;

pub use build::{
    Attachment, Base64Stream, BuildError, BuiltMessage, Content, HeaderCharset, MessageBuilder,
    NameAddr, Segment, base64_encoded_len, guess_type,
};
pub use date::{DateError, MAX_UTC_OFFSET_MINUTES, MessageDate};
pub use error::MessageError;
pub use header::header_section_len;
pub use ids::{message_id, trace_id};
pub use needs::{BodyNeeds, BodyScanner, MAX_LINE};
pub use parsed::parse_message;
pub use prepare::{
    PROTECTED_HEADERS, PrepareContext, PrepareOptions, PreparedMessage, ResentMode, prepare,
};
pub use trace::{
    MAX_HELO_IN_TRACE, ReceivedInfo, SessionTraits, TraceProtocol, received_header,
    return_path_header, trace_headers,
};
