//! Parsed delivery (tcllib smtpd's `-deliverMIME`): the received message,
//! parsed by mail-parser straight from the buffer delivery already holds.

use mail_parser::{Message, MessageParser};

/// Parses a received message (trace headers included) with mail-parser.
///
/// The result borrows `bytes`: header values, text parts and attachments
/// point into the buffer where they need no decoding, so nothing is read
/// again and little is copied. Keep the buffer alive as long as the
/// [`Message`], or call [`Message::into_owned`] to detach it (a copy).
/// `None` only when mail-parser finds no header at all.
///
/// ```
/// use mailwire_core::message::parse_message;
///
/// let raw = b"Received: from a by b; Sun, 22 Nov 2026 12:23:06 +0000\r\n\
///             From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nHello\r\n";
/// let message = parse_message(raw).expect("headers");
/// assert_eq!(message.subject(), Some("hi"));
/// assert_eq!(message.body_text(0).as_deref(), Some("Hello\r\n"));
/// ```
#[must_use]
pub fn parse_message(bytes: &[u8]) -> Option<Message<'_>> {
    MessageParser::default().parse(bytes)
}
