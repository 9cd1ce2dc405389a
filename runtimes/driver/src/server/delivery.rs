//! How a message reaches a session: whole ([`Mail`]), streamed
//! ([`MailStream`]) or parsed ([`ParsedMail`]). A session names one of
//! them as its [`Session::Message`](super::Session::Message) and the
//! driver delivers that kind, so no setting can route a message past the
//! application's code.

use mail_parser::Message;
use mailwire_core::message::parse_message;
use mailwire_core::server::ReceivedEnvelope;

use super::body::BodyReader;
use sealed::Kind;

pub(crate) mod sealed {
    use super::{BodyReader, ReceivedEnvelope};

    /// The three kinds of delivery, for the driver.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// The whole message in memory, then the hook.
        Whole,
        /// The hook reads the body while it arrives.
        Stream,
        /// The whole message in memory, parsed, then the hook.
        Parsed,
    }

    /// What the driver needs of a delivery kind. Not implementable outside
    /// this crate: the three kinds are [`Mail`](super::Mail),
    /// [`MailStream`](super::MailStream) and
    /// [`ParsedMail`](super::ParsedMail).
    pub trait Sealed: Sized {
        /// Which kind this is.
        const KIND: Kind;
        /// Builds a whole (or parsed) message; `None` for the streaming kind.
        fn whole(envelope: ReceivedEnvelope, trace: Vec<u8>, data: Vec<u8>) -> Option<Self>;
        /// Builds a streamed message; `None` for the whole kinds.
        fn stream(envelope: ReceivedEnvelope, trace: Vec<u8>, body: BodyReader) -> Option<Self>;
        /// The body still to be read, for the streaming kind.
        fn into_body(self) -> Option<BodyReader> {
            None
        }
    }
}

/// A kind of delivery: [`Mail`] (the whole message in memory; tcllib
/// smtpd's `-deliver`), [`MailStream`] (the body as an `AsyncRead` while it
/// arrives, bounded memory for any size) or [`ParsedMail`] (parsed by
/// mail-parser; smtpd's `-deliverMIME`).
///
/// Sealed: these three are the only kinds.
pub trait Delivery: sealed::Sealed + Send + 'static {}

/// A whole message with its envelope (buffered delivery, tcllib smtpd's
/// `-deliver`). Buffered messages share the server's
/// [`MemoryBudget`](super::MemoryBudget).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Mail {
    /// The envelope: sender, accepted recipients, parameters, size.
    pub envelope: ReceivedEnvelope,
    /// The server's trace header (`Received: …` with its CRLF) when
    /// [`ServerOptions::add_received`](super::ServerOptions::add_received)
    /// is on, empty otherwise. Store or forward it in front of
    /// [`data`](Self::data).
    pub trace: Vec<u8>,
    /// The message octets as received (dot-unstuffed, CRLF line ends),
    /// without the trace header.
    pub data: Vec<u8>,
}

impl sealed::Sealed for Mail {
    const KIND: Kind = Kind::Whole;

    fn whole(envelope: ReceivedEnvelope, trace: Vec<u8>, data: Vec<u8>) -> Option<Self> {
        Some(Mail {
            envelope,
            trace,
            data,
        })
    }

    fn stream(_: ReceivedEnvelope, _: Vec<u8>, _: BodyReader) -> Option<Self> {
        None
    }
}

impl Delivery for Mail {}

/// A message whose body is read while it arrives (streaming delivery).
///
/// Read [`body`](Self::body) to its end: it ends with a clean end of file
/// only when the message arrived whole; a message cut off (size exceeded,
/// RSET, end of connection, timeout, shutdown) makes the read fail. The
/// hook's `Ok` becomes the `250` once the end has arrived.
#[derive(Debug)]
#[non_exhaustive]
pub struct MailStream {
    /// The envelope (its `size` is 0: the body is still arriving).
    pub envelope: ReceivedEnvelope,
    /// The server's trace header (`Received: …` with its CRLF) when
    /// [`ServerOptions::add_received`](super::ServerOptions::add_received)
    /// is on, empty otherwise. Store or forward it in front of the body.
    pub trace: Vec<u8>,
    /// The body as it arrives, without the trace header.
    pub body: BodyReader,
}

impl sealed::Sealed for MailStream {
    const KIND: Kind = Kind::Stream;

    fn whole(_: ReceivedEnvelope, _: Vec<u8>, _: Vec<u8>) -> Option<Self> {
        None
    }

    fn stream(envelope: ReceivedEnvelope, trace: Vec<u8>, body: BodyReader) -> Option<Self> {
        Some(MailStream {
            envelope,
            trace,
            body,
        })
    }

    fn into_body(self) -> Option<BodyReader> {
        Some(self.body)
    }
}

impl Delivery for MailStream {}

/// A whole message parsed by mail-parser (tcllib smtpd's `-deliverMIME`).
#[derive(Debug)]
#[non_exhaustive]
pub struct ParsedMail {
    /// The envelope: sender, accepted recipients, parameters, size.
    pub envelope: ReceivedEnvelope,
    /// The server's trace header (`Received: …` with its CRLF) when
    /// [`ServerOptions::add_received`](super::ServerOptions::add_received)
    /// is on, empty otherwise; not part of the parsed message.
    pub trace: Vec<u8>,
    parsed: Parsed,
}

#[derive(Debug)]
enum Parsed {
    Message(Box<Message<'static>>),
    /// No header at all: nothing to parse.
    Raw(Vec<u8>),
}

impl ParsedMail {
    /// The parsed message (`None` when the data has no header at all).
    #[must_use]
    pub fn message(&self) -> Option<&Message<'static>> {
        match &self.parsed {
            Parsed::Message(m) => Some(m),
            Parsed::Raw(_) => None,
        }
    }

    /// The message octets as received (without the trace header, which is
    /// [`trace`](Self::trace)).
    #[must_use]
    pub fn data(&self) -> &[u8] {
        match &self.parsed {
            Parsed::Message(m) => m.raw_message(),
            Parsed::Raw(data) => data,
        }
    }
}

impl sealed::Sealed for ParsedMail {
    const KIND: Kind = Kind::Parsed;

    fn whole(envelope: ReceivedEnvelope, trace: Vec<u8>, data: Vec<u8>) -> Option<Self> {
        let parsed = match parse_message(&data) {
            Some(message) => Parsed::Message(Box::new(message.into_owned())),
            None => Parsed::Raw(data),
        };
        Some(ParsedMail {
            envelope,
            trace,
            parsed,
        })
    }

    fn stream(_: ReceivedEnvelope, _: Vec<u8>, _: BodyReader) -> Option<Self> {
        None
    }
}

impl Delivery for ParsedMail {}
