//! The protocol trace of a client connection: every line sent and
//! received, as it went over the wire, with AUTH secrets redacted —
//! handed to an [`Observer`] set in
//! [`ClientSettings::observer`](super::ClientSettings::observer) and
//! emitted as `tracing` events (target `mailwire::client::wire`, level
//! `DEBUG`).
//!
//! The lines are cut from the bytes the connection writes and reads
//! (never re-rendered), so a transcript shows exactly what went over the
//! wire, less the secrets.

use std::net::SocketAddr;
use std::sync::Arc;

use mailwire_core::TlsInfo;
use mailwire_core::client::Phase;

use super::{ClientError, ServerAddress};

/// Which way a line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Direction {
    /// From the client to the server.
    Sent,
    /// From the server to the client.
    Received,
}

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineKind {
    /// A command.
    Command,
    /// An AUTH line whose secret was replaced by `***`.
    Redacted,
    /// A line of the message (after the 354, up to and with the final
    /// dot).
    Body,
    /// A reply line.
    Reply,
}

/// One line of the conversation, without its CRLF.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TraceLine<'a> {
    /// Sent or received.
    pub direction: Direction,
    /// Whether it went inside TLS.
    pub tls: bool,
    /// Command, redacted AUTH line, message line or reply.
    pub kind: LineKind,
    /// The line as it went (lossy UTF-8), or its redacted form.
    pub text: &'a str,
}

/// What an [`Observer`] is told.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum TraceEvent<'a> {
    /// [`first_server`](super::first_server) (and so
    /// [`connect_first`](super::connect_first),
    /// [`send_message`](super::send_message),
    /// [`send_built_message`](super::send_built_message)) is about to
    /// connect to this server, the next in its list.
    Trying {
        /// The server, as given.
        server: &'a ServerAddress,
    },
    /// [`first_server`](super::first_server) gave this server up before a
    /// transaction started on it (the connection could not be set up, or
    /// the session ended before MAIL). The next server is tried when
    /// [`ClientError::allows_failover`] says so.
    GaveUp {
        /// The server, as given.
        server: &'a ServerAddress,
        /// Why.
        error: &'a ClientError,
    },
    /// The TCP connection is open.
    Connected {
        /// The server's address.
        addr: SocketAddr,
    },
    /// A TLS session started (STARTTLS or implicit TLS).
    TlsStarted {
        /// Its facts.
        info: &'a TlsInfo,
    },
    /// A line sent or received.
    Line(TraceLine<'a>),
}

/// Watches a connection's conversation (swaks' transcript). Called on
/// the connection's task for each event, in order: keep it quick.
///
/// ```
/// use std::sync::Arc;
/// use mailwire_driver::client::{ClientSettings, Direction, TraceEvent};
///
/// let settings = ClientSettings::default().with_observer(Arc::new(|event: &TraceEvent<'_>| {
///     if let TraceEvent::Line(line) = event {
///         let arrow = if line.direction == Direction::Sent { " ->" } else { "<- " };
///         eprintln!("{arrow} {}", line.text);
///     }
/// }));
/// assert!(settings.observer.is_some());
/// ```
pub type Observer = Arc<dyn Fn(&TraceEvent<'_>) + Send + Sync>;

/// Cuts a connection's bytes into lines for the observer and `tracing`.
pub(crate) struct Tracer {
    observer: Option<Observer>,
    sent: Vec<u8>,
    received: Vec<u8>,
    tls: bool,
    in_body: bool,
}

impl Tracer {
    /// A tracer for `observer` (does nothing without one unless `tracing`
    /// wants the events).
    pub(crate) fn new(observer: Option<Observer>, tls: bool) -> Tracer {
        Tracer {
            observer,
            sent: Vec::new(),
            received: Vec::new(),
            tls,
            in_body: false,
        }
    }

    fn active(&self) -> bool {
        self.observer.is_some()
            || tracing::enabled!(target: "mailwire::client::wire", tracing::Level::DEBUG)
    }

    /// TLS is on from now.
    pub(crate) fn tls_started(&mut self, info: &TlsInfo) {
        self.tls = true;
        self.sent.clear();
        self.received.clear();
        if let Some(observer) = &self.observer {
            observer(&TraceEvent::TlsStarted { info });
        }
        tracing::debug!(target: "mailwire::client::wire", version = %info.version, cipher = %info.cipher, verified = info.peer_verified, "TLS started");
    }

    /// Bytes written while the connection was in `phase`.
    pub(crate) fn sent(&mut self, parts: &[bytes::Bytes], phase: Phase) {
        if !self.active() {
            return;
        }
        for part in parts {
            self.sent.extend_from_slice(part);
        }
        while let Some(end) = self.sent.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.sent.drain(..=end).collect();
            let text = String::from_utf8_lossy(trim_crlf(&line)).into_owned();
            let (kind, shown) = if self.in_body {
                if text == "." {
                    self.in_body = false;
                }
                (LineKind::Body, text)
            } else if phase == Phase::Auth {
                (LineKind::Redacted, redact(&text))
            } else {
                (LineKind::Command, text)
            };
            self.emit(Direction::Sent, kind, &shown);
        }
    }

    /// Bytes read.
    pub(crate) fn received(&mut self, bytes: &[u8]) {
        if !self.active() {
            return;
        }
        self.received.extend_from_slice(bytes);
        while let Some(end) = self.received.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.received.drain(..=end).collect();
            let text = String::from_utf8_lossy(trim_crlf(&line)).into_owned();
            if text.starts_with("354") {
                self.in_body = true;
            }
            self.emit(Direction::Received, LineKind::Reply, &text);
        }
    }

    fn emit(&self, direction: Direction, kind: LineKind, text: &str) {
        let line = TraceLine {
            direction,
            tls: self.tls,
            kind,
            text,
        };
        if let Some(observer) = &self.observer {
            observer(&TraceEvent::Line(line));
        }
        let arrow = match (direction, self.tls) {
            (Direction::Sent, false) => "->",
            (Direction::Sent, true) => "~>",
            (Direction::Received, false) => "<-",
            (Direction::Received, true) => "<~",
        };
        tracing::debug!(target: "mailwire::client::wire", "{arrow} {text}");
    }
}

/// The PROXY header written before the session, as the transcript shows
/// it: a version 1 header is its text line; a version 2 header (binary)
/// is named with its length.
pub(crate) fn proxy_header(observer: Option<&Observer>, header: &[u8]) {
    let text = match header.strip_suffix(b"\r\n") {
        Some(line) if header.starts_with(b"PROXY ") => String::from_utf8_lossy(line).into_owned(),
        _ => format!("[PROXY protocol v2 header, {} octets]", header.len()),
    };
    if let Some(observer) = observer {
        observer(&TraceEvent::Line(TraceLine {
            direction: Direction::Sent,
            tls: false,
            kind: LineKind::Command,
            text: &text,
        }));
    }
    tracing::debug!(target: "mailwire::client::wire", "-> {text}");
}

/// An AUTH line with its secret replaced: `AUTH PLAIN ***` keeps the
/// command and the mechanism, a response line becomes `***`.
fn redact(line: &str) -> String {
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some(auth), Some(mechanism), rest) if auth.eq_ignore_ascii_case("AUTH") => {
            if rest.is_some() {
                format!("{auth} {mechanism} ***")
            } else {
                format!("{auth} {mechanism}")
            }
        }
        _ if line.is_empty() => String::new(),
        _ => "***".to_owned(),
    }
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_headers_show_as_a_line() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        let observer: Observer = Arc::new(move |event: &TraceEvent<'_>| {
            if let TraceEvent::Line(line) = event {
                sink.lock().unwrap().push(line.text.to_owned());
            }
        });
        proxy_header(Some(&observer), b"PROXY TCP4 1.2.3.4 5.6.7.8 1 25\r\n");
        proxy_header(
            Some(&observer),
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c12345678abcd",
        );
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "PROXY TCP4 1.2.3.4 5.6.7.8 1 25",
                "[PROXY protocol v2 header, 28 octets]"
            ]
        );
    }

    #[test]
    fn auth_secrets_are_redacted_and_the_mechanism_kept() {
        assert_eq!(redact("AUTH PLAIN AHVzZXIAc2VjcmV0"), "AUTH PLAIN ***");
        assert_eq!(redact("AUTH LOGIN"), "AUTH LOGIN");
        assert_eq!(redact("dXNlcg=="), "***");
        assert_eq!(redact("*"), "***");
    }
}
