//! A scripted driver for server transcript tests: feeds "C:" lines, decides
//! requests with a scripted policy, collects the "S:" bytes, and keeps a
//! virtual clock.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mailwire_core::sasl::{Mechanism, StoredSecret, encode_base64};
use mailwire_core::server::{
    AuthCheck, CloseKind, ServerConfig, ServerConnection, ServerEvent, SessionInfo, Token, Verdict,
};
use mailwire_core::wire::reply::{Reply, ReplyParser};
use mailwire_core::{Action, SeededRandom, TlsInfo};

/// The server name used by [`config`].
pub const DOMAIN: &str = "mx.example.org";

/// A configuration for tests: seeded randomness, `example.org` local.
pub fn config() -> ServerConfig {
    let mut config = ServerConfig::new(DOMAIN, Arc::new(SeededRandom::new(7)));
    config.banner = "test".into();
    config.local_domains = vec!["example.org".into()];
    config
}

/// A configuration offering STARTTLS.
pub fn tls_config() -> ServerConfig {
    let mut c = config();
    c.extensions.starttls = true;
    c
}

/// [`tls_config`] plus SCRAM-SHA-256, CRAM-MD5, PLAIN and LOGIN.
pub fn auth_config() -> ServerConfig {
    let mut c = tls_config();
    c.auth_mechanisms = vec![
        Mechanism::ScramSha256,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];
    c
}

/// The facts of a TLS 1.3 session.
pub fn tls13() -> TlsInfo {
    TlsInfo::new("TLSv1.3", "TLS13_AES_256_GCM_SHA384")
}

/// Runs STARTTLS to completion.
pub fn upgrade(h: &mut Harness) {
    assert_eq!(h.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n");
    assert!(h.starttls);
    h.conn.tls_established(h.now, tls13()).unwrap();
    h.drain();
}

/// Base64 of a text.
pub fn b64(s: &str) -> String {
    encode_base64(s.as_bytes())
}

/// How many `Authenticated` events were seen.
pub fn authenticated(h: &Harness) -> usize {
    h.count(|e| matches!(e, ServerEvent::Authenticated { .. }))
}

/// How the scripted application answers a request.
pub enum Answer {
    Verdict(Verdict),
    Secret(Option<StoredSecret>),
    /// Leave it pending; the test decides (or lets it expire).
    Defer,
}

pub type Decider = Box<dyn FnMut(&ServerEvent) -> Answer>;

/// A refusal verdict.
pub fn refuse(code: u16, enhanced: &str, text: &str) -> Answer {
    Answer::Verdict(Verdict::Reply(Reply::simple(code, enhanced, text).unwrap()))
}

/// Accepts everything except recipients whose address contains `bad`
/// (550 5.1.1); passwords: `tim` / `tanstaaftanstaaf`.
pub fn default_decider() -> Decider {
    Box::new(|event| match event {
        ServerEvent::RcptRequest { to, .. } if to.to_string().contains("bad") => {
            refuse(550, "5.1.1", "No such user")
        }
        ServerEvent::AuthRequest { check, .. } => match check {
            AuthCheck::VerifyPassword {
                username, password, ..
            } => {
                if username == "tim" && password.constant_time_eq("tanstaaftanstaaf") {
                    Answer::Verdict(Verdict::Accept)
                } else {
                    refuse(535, "5.7.8", "Authentication credentials invalid")
                }
            }
            AuthCheck::NeedSecret { username, .. } => Answer::Secret(
                (username == "tim").then(|| StoredSecret::password("tanstaaftanstaaf")),
            ),
            _ => Answer::Verdict(Verdict::Accept),
        },
        _ => Answer::Verdict(Verdict::Accept),
    })
}

/// The scripted driver.
pub struct Harness {
    pub conn: ServerConnection,
    pub start: Instant,
    pub now: Instant,
    /// Every byte the server sent.
    pub out: Vec<u8>,
    /// Every `Send` action, in order (to check coalescing).
    pub sends: Vec<Bytes>,
    /// Every event, in order.
    pub events: Vec<ServerEvent>,
    /// Requests left pending by the decider.
    pub deferred: VecDeque<Token>,
    pub decider: Decider,
    pub starttls: bool,
    pub closed: bool,
    /// Bytes of the last `input` call's output.
    last: Vec<u8>,
}

impl Harness {
    /// A session under `config`, with the default decider; the greeting is
    /// already drained.
    pub fn new(config: ServerConfig) -> Harness {
        Harness::with(config, SessionInfo::default(), default_decider())
    }

    pub fn with(config: ServerConfig, session: SessionInfo, decider: Decider) -> Harness {
        // The only clock read: the virtual clock's origin.
        #[allow(clippy::disallowed_methods)]
        let start = Instant::now();
        let conn = ServerConnection::new(Arc::new(config), session, start);
        let mut h = Harness {
            conn,
            start,
            now: start,
            out: Vec::new(),
            sends: Vec::new(),
            events: Vec::new(),
            deferred: VecDeque::new(),
            decider,
            starttls: false,
            closed: false,
            last: Vec::new(),
        };
        h.drain();
        h
    }

    /// Drains the action queue, deciding requests as they come.
    pub fn drain(&mut self) {
        while let Some(action) = self.conn.poll_action() {
            match action {
                Action::Send(bytes) => {
                    assert!(!self.closed, "Send after Close");
                    self.out.extend_from_slice(&bytes);
                    self.last.extend_from_slice(&bytes);
                    self.sends.push(bytes);
                }
                Action::StartTls => self.starttls = true,
                Action::Close => {
                    assert!(
                        matches!(self.events.last(), Some(ServerEvent::Closed(_))),
                        "Close must follow the Closed event"
                    );
                    self.closed = true;
                }
                Action::Event(event) => {
                    assert!(!self.closed, "event after Close");
                    let token = event.token();
                    let answer = if token.is_some() {
                        Some((self.decider)(&event))
                    } else {
                        None
                    };
                    self.events.push(event);
                    if let (Some(token), Some(answer)) = (token, answer) {
                        match answer {
                            Answer::Verdict(v) => self.conn.decide(self.now, token, v).unwrap(),
                            Answer::Secret(s) => {
                                self.conn.supply_secret(self.now, token, s).unwrap()
                            }
                            Answer::Defer => self.deferred.push_back(token),
                        }
                    }
                }
                _ => panic!("unknown action"),
            }
        }
    }

    /// Feeds raw bytes in one input call and returns what the server sent
    /// in response (as text).
    pub fn input(&mut self, bytes: &[u8]) -> String {
        self.last.clear();
        self.conn.handle_input(self.now, bytes).unwrap();
        self.drain();
        String::from_utf8_lossy(&self.last).into_owned()
    }

    /// Feeds one command line (CRLF appended).
    pub fn cmd(&mut self, line: &str) -> String {
        self.input(format!("{line}\r\n").as_bytes())
    }

    /// The reply codes sent in response to `bytes`.
    pub fn codes(&mut self, bytes: &[u8]) -> Vec<u16> {
        let text = self.input(bytes);
        parse_replies(text.as_bytes())
            .iter()
            .map(|r| r.code().as_u16())
            .collect()
    }

    /// The reply code of one command line.
    pub fn code(&mut self, line: &str) -> u16 {
        let codes = self.codes(format!("{line}\r\n").as_bytes());
        assert_eq!(codes.len(), 1, "{line}: expected one reply, got {codes:?}");
        codes[0]
    }

    /// Decides a deferred request by hand, at the current virtual time.
    pub fn decide(&mut self, verdict: Verdict) -> String {
        self.last.clear();
        let token = self.deferred.pop_front().expect("a deferred request");
        self.conn.decide(self.now, token, verdict).unwrap();
        self.drain();
        String::from_utf8_lossy(&self.last).into_owned()
    }

    /// Runs a transcript. Consecutive `C:` lines are sent as ONE input
    /// (pipelined); the `S:` lines that follow must be exactly what the
    /// server sent in response (a line ending in `*` matches any line with
    /// that prefix). Other lines are ignored.
    pub fn script(&mut self, script: &str) {
        let mut client = String::new();
        let mut expected: Vec<String> = Vec::new();
        let mut sent = String::new();
        let check = |sent: &str, expected: &mut Vec<String>| {
            let got: Vec<&str> = sent.split_terminator("\r\n").collect();
            assert_eq!(
                got.len(),
                expected.len(),
                "reply lines differ:\n got: {got:#?}\nwant: {expected:#?}"
            );
            for (g, e) in got.iter().zip(expected.iter()) {
                match e.strip_suffix('*') {
                    Some(prefix) => assert!(g.starts_with(prefix), "got {g:?}, want {e:?}"),
                    None => assert_eq!(g, e),
                }
            }
            expected.clear();
        };
        for line in script.lines().map(str::trim_start) {
            if let Some(c) = line.strip_prefix("C:") {
                if !expected.is_empty() {
                    check(&sent, &mut expected);
                    sent.clear();
                }
                client.push_str(c.strip_prefix(' ').unwrap_or(c));
                client.push_str("\r\n");
            } else if let Some(s) = line.strip_prefix("S:") {
                if !client.is_empty() {
                    sent.push_str(&self.input(client.as_bytes()));
                    client.clear();
                }
                expected.push(s.strip_prefix(' ').unwrap_or(s).to_owned());
            }
        }
        if !client.is_empty() {
            sent.push_str(&self.input(client.as_bytes()));
        }
        check(&sent, &mut expected);
    }

    /// Advances the virtual clock by `d`, firing every timer that falls due
    /// on the way.
    pub fn sleep(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(at) = self.conn.poll_timeout() {
            if at > target {
                break;
            }
            self.now = self.now.max(at);
            self.last.clear();
            self.conn.handle_timeout(self.now);
            self.drain();
            if self.conn.poll_timeout() == Some(at) {
                break;
            }
        }
        self.now = target;
    }

    /// Greets with EHLO (accepted by the default decider).
    pub fn ehlo(&mut self) -> String {
        self.cmd("EHLO client.example.net")
    }

    /// The close reason, once closed.
    pub fn close_reason(&self) -> Option<CloseKind> {
        self.events.iter().rev().find_map(|e| match e {
            ServerEvent::Closed(r) => Some(r.kind),
            _ => None,
        })
    }

    /// The concatenated message data received so far.
    pub fn message_data(&self) -> Vec<u8> {
        let mut data = Vec::new();
        for e in &self.events {
            if let ServerEvent::MessageData(b) = e {
                data.extend_from_slice(b);
            }
        }
        data
    }

    /// How many events match `f`.
    pub fn count(&self, f: impl Fn(&ServerEvent) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }
}

/// Parses a byte stream of replies, asserting each is well formed.
pub fn parse_replies(mut bytes: &[u8]) -> Vec<Reply> {
    let mut parser = ReplyParser::default();
    let mut replies = Vec::new();
    while !bytes.is_empty() {
        let (used, reply) = parser.feed(bytes);
        bytes = &bytes[used..];
        match reply {
            Some(Ok(r)) => replies.push(r),
            Some(Err(e)) => panic!("malformed reply: {e}"),
            None => panic!("incomplete reply at end of output"),
        }
    }
    replies
}
