//! A scripted SMTP server for client transcript tests.
//!
//! A transcript is a list of `S:` lines (what the server sends) and `C:`
//! lines (what the client must have sent by then), with `\r\n` added to
//! each. Server lines in a row go in as one read (split as the harness's
//! [`Split`] says); client lines in a row are compared with everything the
//! client sent since the last check.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mailwire_core::client::{
    ClientConfig, ClientConnection, ClientEvent, ClientSession, CloseReason, Envelope, TlsPolicy,
    TransactionOutcome,
};
use mailwire_core::wire::address::{ForwardPath, Mailbox, ReversePath};
use mailwire_core::{Action, SeededRandom, TlsInfo};

/// How server bytes are cut into reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// One read per group of `S:` lines.
    Whole,
    /// One read per byte.
    EveryByte,
    /// Reads of this many bytes.
    Every(usize),
}

/// A client connection driven by a script, on a virtual clock.
pub struct Harness {
    pub conn: ClientConnection,
    pub start: Instant,
    pub now: Instant,
    pub split: Split,
    /// Bytes the client sent since the last check.
    pub sent: Vec<u8>,
    /// Every byte the client ever sent.
    pub wire: Vec<u8>,
    /// Events not yet taken.
    pub events: Vec<ClientEvent>,
    /// Every event, in order.
    pub all_events: Vec<ClientEvent>,
    /// `StartTls` actions seen.
    pub starttls: usize,
    /// `Close` seen.
    pub close_seen: bool,
    /// Number of `Send` actions seen.
    pub sends: usize,
}

/// The test client name.
pub const CLIENT: &str = "client.example";

/// A config with TLS disabled (tests that want TLS set it) and a seeded
/// random source.
pub fn config() -> ClientConfig {
    ClientConfig::new(CLIENT.parse().unwrap(), Arc::new(SeededRandom::new(7)))
        .with_tls(TlsPolicy::Disabled)
}

pub fn mailbox(s: &str) -> Mailbox {
    s.parse().unwrap()
}

pub fn envelope(from: &str, to: &[&str]) -> Envelope {
    let from = if from.is_empty() {
        ReversePath::Null
    } else {
        ReversePath::Mailbox(mailbox(from))
    };
    Envelope::new(from, to.iter().map(|t| ForwardPath::Mailbox(mailbox(t))))
}

/// TLS facts as a driver would report them.
/// An origin for a virtual clock.
#[allow(clippy::disallowed_methods)]
pub fn origin() -> Instant {
    Instant::now()
}

pub fn tls(verified: bool) -> TlsInfo {
    let mut info = TlsInfo::new("TLSv1.3", "TLS13_AES_256_GCM_SHA384");
    info.sni = Some("mx.example.com".into());
    info.peer_verified = verified;
    info
}

impl Harness {
    pub fn new(config: ClientConfig) -> Harness {
        Harness::with_session(config, ClientSession::new("mx.example.com"))
    }

    pub fn with_session(config: ClientConfig, session: ClientSession) -> Harness {
        let start = origin();
        let conn = ClientConnection::new(Arc::new(config), session, start).unwrap();
        let mut h = Harness {
            conn,
            start,
            now: start,
            split: Split::Whole,
            sent: Vec::new(),
            wire: Vec::new(),
            events: Vec::new(),
            all_events: Vec::new(),
            starttls: 0,
            close_seen: false,
            sends: 0,
        };
        h.drain();
        h
    }

    pub fn split(mut self, split: Split) -> Harness {
        self.split = split;
        self
    }

    /// Takes every action.
    pub fn drain(&mut self) {
        while let Some(action) = self.conn.poll_action() {
            assert!(!self.close_seen, "action after Close: {action:?}");
            match action {
                Action::Send(bytes) => {
                    self.sends += 1;
                    self.sent.extend_from_slice(&bytes);
                    self.wire.extend_from_slice(&bytes);
                }
                Action::StartTls => self.starttls += 1,
                Action::Event(event) => {
                    if let Some(ClientEvent::Closed(_)) = self.all_events.last() {
                        panic!("event after Closed: {event:?}");
                    }
                    self.events.push(event.clone());
                    self.all_events.push(event);
                }
                Action::Close => {
                    assert!(
                        matches!(self.all_events.last(), Some(ClientEvent::Closed(_))),
                        "Close without Closed"
                    );
                    self.close_seen = true;
                }
                other => panic!("unexpected action {other:?}"),
            }
        }
    }

    /// Feeds raw server bytes, split as configured.
    pub fn feed(&mut self, bytes: &[u8]) {
        let size = match self.split {
            Split::Whole => bytes.len().max(1),
            Split::EveryByte => 1,
            Split::Every(n) => n.max(1),
        };
        for chunk in bytes.chunks(size) {
            if !self.conn.wants_read() {
                // A driver stops reading here; the rest would go nowhere.
                break;
            }
            self.conn.handle_input(self.now, chunk).unwrap();
            self.drain();
        }
    }

    /// Feeds server lines (`\n`-separated, CRLF added).
    pub fn server(&mut self, text: &str) {
        let mut bytes = Vec::new();
        for line in text.lines() {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        self.feed(&bytes);
    }

    /// What the client sent since the last call, as text.
    pub fn take_sent(&mut self) -> String {
        self.drain();
        String::from_utf8_lossy(&std::mem::take(&mut self.sent)).into_owned()
    }

    /// Asserts the client sent exactly these lines since the last check.
    pub fn expect(&mut self, lines: &str) {
        let mut want = String::new();
        for line in lines.lines() {
            want.push_str(line);
            want.push_str("\r\n");
        }
        let got = self.take_sent();
        assert_eq!(got, want, "client output");
    }

    /// Runs a transcript of `S:` and `C:` lines.
    pub fn script(&mut self, transcript: &str) {
        let mut server = String::new();
        let mut client = String::new();
        for raw in transcript.lines() {
            let line = raw.trim_start();
            if line.is_empty() {
                continue;
            }
            if let Some(s) = line.strip_prefix("S:") {
                if !client.is_empty() {
                    self.expect(&std::mem::take(&mut client));
                }
                server.push_str(s.strip_prefix(' ').unwrap_or(s));
                server.push('\n');
            } else if let Some(c) = line.strip_prefix("C:") {
                if !server.is_empty() {
                    self.server(&std::mem::take(&mut server));
                }
                client.push_str(c.strip_prefix(' ').unwrap_or(c));
                client.push('\n');
            } else {
                panic!("transcript line without S: or C: {line:?}");
            }
        }
        if !server.is_empty() {
            self.server(&server);
        }
        if !client.is_empty() {
            self.expect(&client);
        }
    }

    /// The standard greeting and EHLO with these capability lines.
    pub fn ehlo(&mut self, caps: &[&str]) {
        self.script("S: 220 mx.example.com ESMTP ready\nC: EHLO client.example");
        let mut reply = String::new();
        let mut lines = vec!["mx.example.com greets client.example"];
        lines.extend_from_slice(caps);
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            reply.push_str(&format!("250{sep}{line}\n"));
        }
        self.server(&reply);
    }

    /// Moves the clock and lets the connection see the time.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.conn.handle_timeout(self.now);
        self.drain();
    }

    /// Moves the clock to just before, then to, the connection's deadline;
    /// asserts nothing happens before it. Returns how long after `from` it
    /// was.
    pub fn run_to_deadline(&mut self) -> Duration {
        let deadline = self.conn.poll_timeout().expect("a deadline");
        let before = self.now;
        self.now = deadline - Duration::from_millis(1);
        self.conn.handle_timeout(self.now);
        self.drain();
        assert!(!self.conn.is_closed(), "closed before its deadline");
        self.now = deadline;
        self.conn.handle_timeout(self.now);
        self.drain();
        deadline - before
    }

    pub fn eof(&mut self) {
        self.conn.handle_eof(self.now);
        self.drain();
    }

    pub fn take_events(&mut self) -> Vec<ClientEvent> {
        self.drain();
        std::mem::take(&mut self.events)
    }

    /// The outcome of the only `TransactionCompleted` among the events
    /// not yet taken (the others stay).
    pub fn outcome(&mut self) -> TransactionOutcome {
        self.drain();
        let pos = self
            .events
            .iter()
            .position(|e| matches!(e, ClientEvent::TransactionCompleted(_)))
            .unwrap_or_else(|| panic!("no TransactionCompleted in {:#?}", self.events));
        match self.events.remove(pos) {
            ClientEvent::TransactionCompleted(outcome) => outcome,
            _ => unreachable!(),
        }
    }

    /// The close reason, once closed.
    pub fn closed(&self) -> Option<CloseReason> {
        self.all_events.iter().find_map(|e| match e {
            ClientEvent::Closed(reason) => Some(reason.clone()),
            _ => None,
        })
    }

    /// Sends a body in one chunk and ends it.
    pub fn body(&mut self, body: &[u8]) {
        assert!(self.conn.wants_body(), "body not wanted");
        self.conn
            .send_body(self.now, Bytes::copy_from_slice(body))
            .unwrap();
        self.conn.end_body(self.now).unwrap();
        self.drain();
    }

    /// Whether an event of this shape was seen (and not taken).
    pub fn has_event(&self, f: impl Fn(&ClientEvent) -> bool) -> bool {
        self.events.iter().any(f)
    }
}
