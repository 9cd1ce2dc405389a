//! The protocol trace of each server session: every command received and
//! every reply sent, as they went over the wire, with AUTH secrets
//! redacted and the message data left out — handed to a
//! [`ServerObserver`] set in [`ServerOptions::observer`](super::ServerOptions::observer)
//! and emitted as `tracing` events (target `mailwire::server::wire`, level
//! `DEBUG`, with the session's number and peer). The client's counterpart
//! is [`client::Observer`](crate::client::Observer); the same
//! [`TraceEvent`]s are used, seen from the server: [`Direction::Sent`] is
//! a reply, [`Direction::Received`] a command.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mailwire_core::TlsInfo;

use crate::client::{Direction, LineKind, TraceEvent, TraceLine};

/// One event of one session, for a [`ServerObserver`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SessionTrace<'a> {
    /// The session's number in this process (from 1), the same in every
    /// event of the session.
    pub session: u64,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// What happened: the connection (with the client's address), TLS, a
    /// line.
    pub event: TraceEvent<'a>,
}

/// Watches every session's conversation (`mailwire serve --verbose`).
/// Called on the session's task for each event, in order: keep it quick.
///
/// ```
/// use mailwire_driver::client::TraceEvent;
/// use mailwire_driver::server::{ServerObserver, ServerOptions, SessionTrace};
///
/// let mut options = ServerOptions::new("mx.example.org");
/// options.observer = Some(ServerObserver::new(|trace: &SessionTrace<'_>| {
///     if let TraceEvent::Line(line) = trace.event {
///         eprintln!("[{}] {}", trace.session, line.text);
///     }
/// }));
/// ```
#[derive(Clone)]
pub struct ServerObserver(Arc<dyn Fn(&SessionTrace<'_>) + Send + Sync>);

impl ServerObserver {
    /// An observer calling `f` for each event.
    pub fn new(f: impl Fn(&SessionTrace<'_>) + Send + Sync + 'static) -> ServerObserver {
        ServerObserver(Arc::new(f))
    }
}

impl std::fmt::Debug for ServerObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerObserver")
    }
}

/// Session numbers, process-wide.
static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// Cuts a session's bytes into lines for the observer and `tracing`.
pub(crate) struct ServerTracer {
    observer: Option<ServerObserver>,
    session: u64,
    peer: Option<SocketAddr>,
    received: Vec<u8>,
    sent: Vec<u8>,
    tls: bool,
    /// Between a 354 and the final dot: message lines, not shown.
    in_body: bool,
    body_lines: u64,
    /// BDAT octets still to come (not shown).
    chunk_left: u64,
    /// A 334 was sent: the next line is a SASL response.
    sasl: bool,
    /// Tracing wants the events or an observer is set.
    active: bool,
}

impl ServerTracer {
    pub(crate) fn new(observer: Option<ServerObserver>, peer: Option<SocketAddr>) -> ServerTracer {
        let active = observer.is_some()
            || tracing::enabled!(target: "mailwire::server::wire", tracing::Level::DEBUG);
        let session = if active {
            SESSIONS.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let tracer = ServerTracer {
            observer,
            session,
            peer,
            received: Vec::new(),
            sent: Vec::new(),
            tls: false,
            in_body: false,
            body_lines: 0,
            chunk_left: 0,
            sasl: false,
            active,
        };
        if let (true, Some(addr)) = (active, peer) {
            tracer.event(&TraceEvent::Connected { addr });
            tracing::debug!(target: "mailwire::server::wire", session = tracer.session, peer = %addr, "connected");
        }
        tracer
    }

    fn event(&self, event: &TraceEvent<'_>) {
        if let Some(observer) = &self.observer {
            (observer.0)(&SessionTrace {
                session: self.session,
                peer: self.peer,
                event: *event,
            });
        }
    }

    /// TLS is on from now (implicit TLS, or after STARTTLS).
    pub(crate) fn tls_started(&mut self, info: &TlsInfo) {
        self.tls = true;
        self.received.clear();
        self.sent.clear();
        if !self.active {
            return;
        }
        self.event(&TraceEvent::TlsStarted { info });
        tracing::debug!(target: "mailwire::server::wire", session = self.session, version = %info.version, cipher = %info.cipher, "TLS started");
    }

    /// Bytes read from the client.
    pub(crate) fn received(&mut self, mut bytes: &[u8]) {
        if !self.active {
            return;
        }
        while !bytes.is_empty() {
            if self.chunk_left > 0 {
                let skip = usize::try_from(self.chunk_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = bytes.get(skip..).unwrap_or_default();
                self.chunk_left -= skip as u64;
                if self.chunk_left == 0 {
                    self.emit(
                        Direction::Received,
                        LineKind::Body,
                        "<the chunk's octets, not shown>",
                    );
                }
                continue;
            }
            let Some(end) = bytes.iter().position(|&b| b == b'\n') else {
                // A line's start; bounded, as a command line is.
                if self.received.len() < 4096 {
                    let room = 4096 - self.received.len();
                    self.received
                        .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
                }
                return;
            };
            if self.received.len() < 4096 {
                self.received
                    .extend_from_slice(bytes.get(..end).unwrap_or_default());
            }
            bytes = bytes.get(end + 1..).unwrap_or_default();
            let line = std::mem::take(&mut self.received);
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            self.line_received(&String::from_utf8_lossy(line));
        }
    }

    fn line_received(&mut self, text: &str) {
        if self.in_body {
            if text == "." {
                self.in_body = false;
                let summary = format!("<{} lines of message data, not shown>", self.body_lines);
                self.emit(Direction::Received, LineKind::Body, &summary);
                self.emit(Direction::Received, LineKind::Body, ".");
            } else {
                self.body_lines += 1;
            }
            return;
        }
        if self.sasl {
            // A SASL response: the secret itself.
            self.sasl = false;
            self.emit(Direction::Received, LineKind::Redacted, "***");
            return;
        }
        let mut words = text.split(' ');
        let verb = words.next().unwrap_or_default();
        if verb.eq_ignore_ascii_case("AUTH") {
            let shown = match (words.next(), words.next()) {
                (Some(mechanism), Some(_)) => format!("{verb} {mechanism} ***"),
                (Some(mechanism), None) => format!("{verb} {mechanism}"),
                _ => verb.to_owned(),
            };
            self.emit(Direction::Received, LineKind::Redacted, &shown);
            return;
        }
        if verb.eq_ignore_ascii_case("BDAT")
            && let Some(size) = words.next().and_then(|n| n.parse::<u64>().ok())
        {
            self.chunk_left = size;
        }
        self.emit(Direction::Received, LineKind::Command, text);
    }

    /// Bytes written to the client.
    pub(crate) fn sent(&mut self, bytes: &[u8]) {
        if !self.active {
            return;
        }
        self.sent.extend_from_slice(bytes);
        while let Some(end) = self.sent.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.sent.drain(..=end).collect();
            let line = line.strip_suffix(b"\n").unwrap_or(&line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = String::from_utf8_lossy(line).into_owned();
            let last = text.as_bytes().get(3) != Some(&b'-');
            if last {
                if text.starts_with("354") {
                    self.in_body = true;
                    self.body_lines = 0;
                }
                self.sasl = text.starts_with("334");
            }
            self.emit(Direction::Sent, LineKind::Reply, &text);
        }
    }

    fn emit(&self, direction: Direction, kind: LineKind, text: &str) {
        self.event(&TraceEvent::Line(TraceLine {
            direction,
            tls: self.tls,
            kind,
            text,
        }));
        let arrow = match (direction, self.tls) {
            (Direction::Sent, false) => "->",
            (Direction::Sent, true) => "~>",
            (_, false) => "<-",
            (_, true) => "<~",
        };
        tracing::debug!(target: "mailwire::server::wire", session = self.session, "{arrow} {text}");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn lines(feed: impl FnOnce(&mut ServerTracer)) -> Vec<String> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let observer = ServerObserver::new(move |t: &SessionTrace<'_>| {
            if let TraceEvent::Line(line) = t.event {
                let arrow = if line.direction == Direction::Sent {
                    "->"
                } else {
                    "<-"
                };
                sink.lock().unwrap().push(format!("{arrow} {}", line.text));
            }
        });
        let mut tracer = ServerTracer::new(Some(observer), None);
        feed(&mut tracer);
        seen.lock().unwrap().clone()
    }

    #[test]
    fn secrets_and_message_data_stay_out() {
        let got = lines(|t| {
            t.received(b"AUTH PLAIN AHVzZXIAc2VjcmV0\r\nAUTH LOGIN\r\n");
            t.sent(b"334 VXNlcm5hbWU6\r\n");
            t.received(b"dXNlcg==\r\n");
            t.sent(b"235 ok\r\nxx");
            t.received(b"MAIL FROM:<a@b>\r\nDA");
            t.received(b"TA\r\n");
            t.sent(b"\r\n354 go\r\n");
            t.received(b"Subject: secret\r\n\r\nbody\r\n.\r\nBDAT 5 LAST\r\nab\ncdQUIT\r\n");
        });
        assert_eq!(
            got,
            [
                "<- AUTH PLAIN ***",
                "<- AUTH LOGIN",
                "-> 334 VXNlcm5hbWU6",
                "<- ***",
                "-> 235 ok",
                "<- MAIL FROM:<a@b>",
                "<- DATA",
                "-> xx",
                "-> 354 go",
                "<- <3 lines of message data, not shown>",
                "<- .",
                "<- BDAT 5 LAST",
                "<- <the chunk's octets, not shown>",
                "<- QUIT",
            ]
        );
    }
}
