//! A whole `ServerConnection` driven by arbitrary input: bytes from the
//! peer in arbitrary reads, time passing, end of stream, shutdown, the TLS
//! switch, and verdicts chosen by the input.
//!
//! Checks: never panics; never buffers more than a line limit plus one
//! read; every `Send` holds whole, well-formed replies; `Close` comes once,
//! right after the one `Closed` event, and nothing follows it; message
//! events nest (started, data, then a request or an abort); input is
//! refused (never taken) while the connection does not want to read.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{
    AuthCheck, ServerConfig, ServerConnection, ServerEvent, SessionInfo, Verdict,
};
use mailwire_core::wire::reply::{Reply, ReplyParser};
use mailwire_core::{Action, SeededRandom, TlsInfo, UsageError};

struct Driver {
    conn: ServerConnection,
    now: Instant,
    /// Verdict choices, consumed one bit per decision.
    verdicts: u64,
    closed_events: usize,
    closed: bool,
    starttls: bool,
    message_open: bool,
}

impl Driver {
    fn verdict(&mut self, event: &ServerEvent) -> Option<Verdict> {
        self.verdicts = self.verdicts.rotate_left(1);
        let refuse = self.verdicts & 1 == 1;
        match event {
            ServerEvent::AuthRequest {
                check: AuthCheck::NeedSecret { .. },
                ..
            } => None,
            _ if refuse => {
                let code = if self.verdicts & 2 == 2 { 451 } else { 550 };
                Some(Verdict::Reply(Reply::simple(code, "", "no").unwrap()))
            }
            _ => Some(Verdict::Accept),
        }
    }

    fn drain(&mut self) {
        while let Some(action) = self.conn.poll_action() {
            assert!(!self.closed, "an action after Close: {action:?}");
            match action {
                Action::Send(bytes) => {
                    assert!(!bytes.is_empty(), "an empty Send");
                    let mut parser = ReplyParser::default();
                    let mut rest = &bytes[..];
                    while !rest.is_empty() {
                        let (used, reply) = parser.feed(rest);
                        rest = &rest[used..];
                        match reply {
                            Some(Ok(_)) => {}
                            other => panic!("not whole replies ({other:?}): {bytes:?}"),
                        }
                    }
                }
                Action::StartTls => self.starttls = true,
                Action::Close => {
                    assert_eq!(self.closed_events, 1, "Close without one Closed");
                    self.closed = true;
                }
                Action::Event(event) => {
                    assert_eq!(self.closed_events, 0, "an event after Closed");
                    match &event {
                        ServerEvent::MessageStarted { .. } => {
                            assert!(!self.message_open);
                            self.message_open = true;
                        }
                        ServerEvent::MessageData(data) => {
                            assert!(self.message_open && !data.is_empty());
                        }
                        ServerEvent::MessageRequest { .. } | ServerEvent::MessageAborted { .. } => {
                            assert!(self.message_open);
                            self.message_open = false;
                        }
                        ServerEvent::Closed(_) => self.closed_events += 1,
                        _ => {}
                    }
                    if let Some(token) = event.token() {
                        match self.verdict(&event) {
                            Some(v) => self.conn.decide(self.now, token, v).unwrap(),
                            None => {
                                let secret = (self.verdicts & 1 == 0)
                                    .then(|| StoredSecret::password("pencil"));
                                self.conn.supply_secret(self.now, token, secret).unwrap();
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

fn config(flags: u8) -> ServerConfig {
    let mut c = ServerConfig::new("mx.example.org", Arc::new(SeededRandom::new(1)));
    c.extensions.starttls = flags & 1 != 0;
    c.extensions.requiretls = flags & 2 != 0;
    c.extensions.pipelining = flags & 4 != 0;
    if flags & 8 != 0 {
        c.auth_mechanisms = vec![
            Mechanism::ScramSha256,
            Mechanism::CramMd5,
            Mechanism::DigestMd5,
            Mechanism::Plain,
            Mechanism::Login,
        ];
        c.allow_plaintext_auth = true;
    }
    if flags & 16 != 0 {
        c.limits.max_line = 40;
        c.limits.max_sasl_line = 100;
        c.limits.max_message_size = Some(50);
        c.limits.max_recipients = 2;
    }
    c.require_tls = flags & 32 != 0;
    c.require_auth = flags & 64 != 0;
    c
}

fuzz_target!(|input: &[u8]| {
    let [flags, v0, v1, rest @ ..] = input else {
        return;
    };
    let config = config(*flags);
    let max_line = config.limits.max_line.max(config.limits.max_sasl_line);
    let start = Instant::now();
    let session = if flags & 128 != 0 {
        SessionInfo::default().with_tls(TlsInfo::new("TLSv1.3", "X"))
    } else {
        SessionInfo::default()
    };
    let mut d = Driver {
        conn: ServerConnection::new(Arc::new(config), session, start),
        now: start,
        verdicts: u64::from(*v0) << 8 | u64::from(*v1) | 0x5a5a_0000,
        closed_events: 0,
        closed: false,
        starttls: false,
        message_open: false,
    };
    d.drain();
    let mut rest = rest;
    while let [op, tail @ ..] = rest {
        rest = tail;
        if d.closed {
            assert_eq!(
                d.conn.handle_input(d.now, b"NOOP\r\n"),
                Err(UsageError::Closed)
            );
            break;
        }
        if d.starttls {
            d.starttls = false;
            assert!(!d.conn.wants_read());
            d.conn
                .tls_established(d.now, TlsInfo::new("TLSv1.3", "X"))
                .unwrap();
        }
        match op {
            // Bytes from the peer: the next (op & 63) + 1 input octets.
            0..=0xbf => {
                let n = (usize::from(*op & 0x3f) + 1).min(rest.len());
                let (bytes, tail) = rest.split_at(n);
                rest = tail;
                if d.conn.wants_read() {
                    d.conn.handle_input(d.now, bytes).unwrap();
                    assert!(d.conn.buffered_len() <= max_line + bytes.len());
                } else {
                    assert!(d.conn.handle_input(d.now, bytes).is_err());
                }
            }
            // Time passes: up to ~17 minutes.
            0xc0..=0xef => {
                d.now += Duration::from_secs(u64::from(*op - 0xc0) * 35);
                if d.conn.poll_timeout().is_some_and(|at| at <= d.now) {
                    d.conn.handle_timeout(d.now);
                }
            }
            0xf0..=0xf7 => d.conn.handle_eof(d.now),
            _ => d.conn.shutdown(d.now),
        }
        d.drain();
    }
    // However it went, the end of the stream closes it.
    d.conn.handle_eof(d.now);
    d.drain();
    assert!(
        d.conn.is_closed() && d.closed,
        "still open after the end of the stream"
    );
    assert!(!d.message_open, "a message neither requested nor aborted");
});
