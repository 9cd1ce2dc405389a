//! Chaos for the client role: arbitrary reply bytes (plausible replies,
//! garbage, endless multi-line replies) in arbitrary chunks, interleaved
//! with arbitrary application calls and clock jumps.
//!
//! Properties: nothing panics; buffered reply bytes stay within the
//! configured caps; input while not reading is refused; `Close` comes last
//! and right after `Closed`; every accepted `send_mail` ends in exactly one
//! `TransactionCompleted`, before `Closed`; outcomes are consistent with
//! the per-recipient results; a deadline that has passed never stays
//! armed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mailwire_core::client::{
    AuthSecurity, BodyType, ClientConfig, ClientConnection, ClientEvent, ClientSession,
    MailOptions, Outcome, PlaintextDecision, PolicyToken, RecipientStatus, SendPolicy, TlsPolicy,
    TransactionId,
};
use mailwire_core::sasl::Credentials;
use mailwire_core::wire::address::{ForwardPath, Mailbox, ReversePath};
use mailwire_core::wire::reply::ReplyLimits;
use mailwire_core::{Action, SeededRandom, TlsInfo, UsageError};
use proptest::prelude::*;

/// Replies a server plausibly sends, to make sessions get somewhere.
const REPLIES: &[&str] = &[
    "220 mx.example.com ESMTP\r\n",
    "220 go ahead\r\n",
    "250 ok\r\n",
    "250-mx.example.com\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-8BITMIME\r\n250-SIZE 1000\r\n250-STARTTLS\r\n250-XQUE\r\n250 AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 DIGEST-MD5\r\n",
    "250-mx\r\n250 SIZE\r\n",
    "251 forward\r\n",
    "354 go\r\n",
    "334 \r\n",
    "334 VXNlcm5hbWU6\r\n",
    "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    "334 cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=\r\n",
    "334 !!notbase64\r\n",
    "235 2.7.0 ok\r\n",
    "452 4.5.3 too many recipients\r\n",
    "452 no space\r\n",
    "454 4.7.0 no TLS\r\n",
    "504 5.5.4 no such mechanism\r\n",
    "535 5.7.8 bad credentials\r\n",
    "550 5.1.1 no such user\r\n",
    "554 5.7.1 go away\r\n",
    "503 5.5.1 bad sequence\r\n",
    "421 4.3.2 closing\r\n",
    "221 bye\r\n",
    "250-a\r\n250-b\r\n250-c\r\n250-d\r\n250-e\r\n250-f\r\n250-g\r\n250-h\r\n",
    "250 2.1.0 ok\n",
    "999 bad code\r\n",
    "250-x\r\n550 mismatch\r\n",
    "\r\n",
];

#[derive(Debug, Clone)]
enum Step {
    /// Server bytes, cut at these points.
    Server(Vec<u8>, Vec<usize>),
    /// Plausible answers to up to `count` commands awaiting one (chosen by
    /// `pick`), in one read cut at these points.
    Answer {
        count: usize,
        pick: u32,
        cuts: Vec<usize>,
    },
    Advance(u64),
    SendMail {
        recipients: usize,
        policy: bool,
        body: u8,
    },
    SendBody(Vec<u8>),
    EndBody,
    Quit,
    Decide(bool),
    TlsUp(bool),
    Eof,
    Abort,
}

fn server_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::sample::select(REPLIES).prop_map(|r| r.as_bytes().to_vec()),
        2 => prop::collection::vec(prop::sample::select(REPLIES), 1..4)
            .prop_map(|rs| rs.concat().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => "[0-9]{3}[- ][ -~]{0,40}\r?\n".prop_map(String::into_bytes),
        1 => (1usize..200).prop_map(|n| "250-endless line\r\n".repeat(n).into_bytes()),
        1 => (1usize..4000).prop_map(|n| {
            let mut v = b"250 ".to_vec();
            v.extend(std::iter::repeat_n(b'x', n));
            v
        }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (server_bytes(), prop::collection::vec(any::<usize>(), 0..6))
            .prop_map(|(b, c)| Step::Server(b, c)),
        96 => (1usize..4, any::<u32>(), prop::collection::vec(any::<usize>(), 0..4))
            .prop_map(|(count, pick, cuts)| Step::Answer { count, pick, cuts }),
        4 => prop_oneof![
            8 => Just(1u64), 4 => Just(59), 2 => Just(61), 1 => Just(121),
            1 => Just(181), 1 => Just(301), 1 => Just(601),
        ]
            .prop_map(Step::Advance),
        16 => (1usize..4, any::<bool>(), 0u8..3)
            .prop_map(|(recipients, policy, body)| Step::SendMail { recipients, policy, body }),
        20 => prop::collection::vec(
            prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), Just(b'a'), Just(0xffu8)], 0..40)
            .prop_map(Step::SendBody),
        12 => Just(Step::EndBody),
        2 => Just(Step::Quit),
        4 => any::<bool>().prop_map(Step::Decide),
        8 => any::<bool>().prop_map(Step::TlsUp),
        1 => prop_oneof![Just(Step::Eof), Just(Step::Abort)],
    ]
}

/// Optional EHLO lines, one per bit of `Setup::caps`.
const CAPS: &[&str] = &[
    "PIPELINING",
    "CHUNKING",
    "BINARYMIME",
    "8BITMIME",
    "SIZE 1000",
    "STARTTLS",
    "XQUE",
    "AUTH PLAIN LOGIN CRAM-MD5",
    "AUTH SCRAM-SHA-256 DIGEST-MD5",
    "DSN",
    "SMTPUTF8",
    "REQUIRETLS",
];

/// How the responder reads the client's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Commands,
    /// After a 354: body lines until `.`.
    Data,
    /// After `BDAT n`: this many octets of chunk.
    Bdat(usize),
    /// After a 334: the next line is an AUTH response.
    AuthResponse,
}

/// A minimal server model: splits what the client sent into commands and
/// answers the oldest awaiting ones plausibly (with refusals mixed in).
struct Responder {
    caps: u16,
    stream: Vec<u8>,
    mode: Mode,
    awaiting: std::collections::VecDeque<String>,
}

impl Responder {
    fn new(caps: u16) -> Responder {
        Responder {
            caps,
            stream: Vec::new(),
            mode: Mode::Commands,
            awaiting: std::collections::VecDeque::from(["<greeting>".to_owned()]),
        }
    }

    /// Splits what the client sent so far into awaiting commands.
    fn parse(&mut self) {
        loop {
            if let Mode::Bdat(n) = self.mode {
                let take = n.min(self.stream.len());
                self.stream.drain(..take);
                if take < n {
                    self.mode = Mode::Bdat(n - take);
                    return;
                }
                self.mode = Mode::Commands;
                continue;
            }
            let Some(end) = self.stream.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let line: Vec<u8> = self.stream.drain(..end + 2).take(end).collect();
            let line = String::from_utf8_lossy(&line).into_owned();
            match self.mode {
                Mode::Data => {
                    if line == "." {
                        self.mode = Mode::Commands;
                        self.awaiting.push_back(".".into());
                    }
                }
                Mode::AuthResponse => {
                    self.mode = Mode::Commands;
                    self.awaiting.push_back("<auth response>".into());
                }
                _ => {
                    if let Some(rest) = line.strip_prefix("BDAT ") {
                        let size = rest.split(' ').next().and_then(|n| n.parse().ok());
                        self.mode = Mode::Bdat(size.unwrap_or(0));
                    }
                    self.awaiting.push_back(line);
                }
            }
        }
    }

    /// The answer to one command.
    fn answer(&mut self, command: &str, pick: u32) -> String {
        let roll = |n: u32| pick.is_multiple_of(n);
        let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "<GREETING>" if roll(20) => "554 5.7.1 no\r\n".into(),
            "<GREETING>" => "220 mx.example.com ESMTP\r\n".into(),
            "EHLO" if roll(20) => "502 5.5.1 no EHLO\r\n".into(),
            "EHLO" => {
                let mut reply = String::from("250-mx.example.com hello\r\n");
                for (bit, cap) in CAPS.iter().enumerate() {
                    if self.caps & (1 << bit) != 0 {
                        reply.push_str(&format!("250-{cap}\r\n"));
                    }
                }
                reply.push_str("250 ENHANCEDSTATUSCODES\r\n");
                reply
            }
            "HELO" => "250 mx.example.com\r\n".into(),
            "STARTTLS" if roll(6) => "454 4.7.0 TLS not available\r\n".into(),
            "STARTTLS" => "220 2.0.0 go ahead\r\n".into(),
            "AUTH" | "<AUTH" => match pick % 10 {
                0 => "504 5.5.4 unknown mechanism\r\n".into(),
                1 => "535 5.7.8 bad credentials\r\n".into(),
                2 | 3 => {
                    self.mode = Mode::AuthResponse;
                    "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n".into()
                }
                4 => {
                    self.mode = Mode::AuthResponse;
                    "334 \r\n".into()
                }
                _ => "235 2.7.0 ok\r\n".into(),
            },
            "MAIL" if roll(10) => "550 5.7.1 sender refused\r\n".into(),
            "RCPT" if roll(6) => "550 5.1.1 no such user\r\n".into(),
            "RCPT" if roll(8) => "452 4.5.3 too many recipients\r\n".into(),
            "DATA" if roll(10) => "554 5.5.1 no\r\n".into(),
            "DATA" => {
                self.mode = Mode::Data;
                "354 go ahead\r\n".into()
            }
            "." if roll(6) => "451 4.3.0 try later\r\n".into(),
            "BDAT" if roll(12) => "552 5.3.4 too big\r\n".into(),
            "QUIT" => "221 2.0.0 bye\r\n".into(),
            "MAIL" | "RCPT" | "." | "BDAT" | "RSET" | "QUED" => "250 2.0.0 ok\r\n".into(),
            _ if roll(3) => "421 4.3.0 closing\r\n".into(),
            _ => "500 5.5.2 what\r\n".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Setup {
    pipelining: bool,
    chunking: bool,
    tls: u8,
    credentials: bool,
    limits: ReplyLimits,
    max_recipients: Option<usize>,
    queue: bool,
    /// Which optional EHLO lines the responder advertises.
    caps: u16,
    /// Whether raw (mostly hostile) server bytes are fed too; without,
    /// the responder alone speaks, so sessions get further.
    garbage: bool,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        any::<bool>(),
        0u8..4,
        prop::bool::weighted(0.3),
        prop_oneof![
            1 => (16usize..512, 1usize..40, 64usize..4096),
            4 => (128usize..2048, 16usize..64, 2048usize..8192),
        ],
        prop::option::of(1usize..3),
        any::<bool>(),
        any::<u16>(),
        prop::bool::weighted(0.5),
    )
        .prop_map(
            |(
                pipelining,
                chunking,
                tls,
                credentials,
                (line, lines, total),
                max_recipients,
                queue,
                caps,
                garbage,
            )| Setup {
                pipelining,
                chunking,
                tls,
                credentials,
                limits: ReplyLimits {
                    max_line_len: line,
                    max_lines: lines,
                    max_total: total,
                },
                max_recipients,
                queue,
                caps,
                garbage,
            },
        )
}

/// Drives one connection through the steps, checking the invariants.
struct Driver {
    conn: ClientConnection,
    now: Instant,
    limits: ReplyLimits,
    closed_event: bool,
    close_action: bool,
    token: Option<PolicyToken>,
    started: Vec<TransactionId>,
    completed: HashMap<TransactionId, usize>,
    responder: Responder,
    garbage: bool,
}

impl Driver {
    fn drain(&mut self) {
        while let Some(action) = self.conn.poll_action() {
            assert!(!self.close_action, "action after Close: {action:?}");
            match action {
                Action::Send(bytes) => {
                    assert!(!bytes.is_empty(), "empty Send");
                    self.responder.stream.extend_from_slice(&bytes);
                }
                Action::StartTls => {}
                Action::Event(event) => {
                    assert!(!self.closed_event, "event after Closed: {event:?}");
                    self.check_event(&event);
                }
                Action::Close => {
                    assert!(self.closed_event, "Close before Closed");
                    self.close_action = true;
                }
                other => panic!("unknown action {other:?}"),
            }
        }
        assert!(
            self.conn.buffered_len() <= self.limits.max_total,
            "buffered {} over the cap {}",
            self.conn.buffered_len(),
            self.limits.max_total
        );
        assert_eq!(self.conn.is_closed(), self.closed_event);
        if self.conn.poll_timeout().is_some() {
            assert!(!self.conn.is_closed());
        }
    }

    fn check_event(&mut self, event: &ClientEvent) {
        match event {
            ClientEvent::TlsPolicyRequest { token, .. } => self.token = Some(*token),
            ClientEvent::TransactionCompleted(outcome) => {
                assert!(self.started.contains(&outcome.id), "unknown transaction");
                *self.completed.entry(outcome.id).or_default() += 1;
                let any_sent = outcome
                    .recipients
                    .iter()
                    .any(|r| r.status == RecipientStatus::Sent);
                match &outcome.outcome {
                    Outcome::Sent { reply } => {
                        assert!(any_sent, "sent to nobody: {outcome:?}");
                        assert!(reply.code().is_positive());
                    }
                    Outcome::NotSent { .. } => assert!(
                        outcome.recipients.iter().all(|r| matches!(
                            r.status,
                            RecipientStatus::NotSent | RecipientStatus::Refused
                        )),
                        "{outcome:?}"
                    ),
                    Outcome::Unknown => assert!(!any_sent),
                    _ => {}
                }
                for r in &outcome.recipients {
                    if r.status == RecipientStatus::Refused {
                        assert!(r.reply.as_ref().is_some_and(|r| !r.code().is_positive()));
                    }
                    if r.status == RecipientStatus::Sent {
                        assert!(r.reply.as_ref().is_some_and(|r| r.code().is_positive()));
                    }
                }
            }
            ClientEvent::Closed(_) => {
                self.closed_event = true;
                for id in &self.started {
                    assert_eq!(
                        self.completed.get(id),
                        Some(&1),
                        "transaction {id} not completed exactly once before Closed"
                    );
                }
            }
            _ => {}
        }
    }

    /// Feeds server bytes cut at `cuts`, as a driver would.
    fn feed(&mut self, bytes: &[u8], cuts: &[usize]) {
        let now = self.now;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        for w in points.windows(2) {
            let chunk = &bytes[w[0]..w[1]];
            let reading = self.conn.wants_read();
            let closed = self.conn.is_closed();
            match self.conn.handle_input(now, chunk) {
                Ok(()) => assert!(reading),
                Err(UsageError::Closed) => assert!(closed),
                Err(UsageError::NotReading) => {
                    assert!(!reading);
                    // Nothing may have been queued.
                    assert!(self.conn.poll_action().is_none());
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
            self.drain();
        }
    }

    fn run(&mut self, step: Step) {
        let now = self.now;
        match step {
            Step::Answer { count, pick, cuts } => {
                self.responder.parse();
                let mut bytes = Vec::new();
                for i in 0..count {
                    let Some(command) = self.responder.awaiting.pop_front() else {
                        break;
                    };
                    let command = if command == "<auth response>" {
                        "<AUTH".to_owned()
                    } else {
                        command
                    };
                    let pick = pick.rotate_left(u32::try_from(i * 7).unwrap_or(0));
                    bytes.extend(self.responder.answer(&command, pick).into_bytes());
                    if self.responder.mode != Mode::Commands {
                        // The client speaks next (body, AUTH response).
                        break;
                    }
                }
                self.feed(&bytes, &cuts);
            }
            Step::Server(bytes, cuts) => {
                if self.garbage {
                    self.feed(&bytes, &cuts);
                }
            }
            Step::Advance(secs) => {
                self.now += Duration::from_secs(secs);
                self.conn.handle_timeout(self.now);
                self.drain();
                if let Some(deadline) = self.conn.poll_timeout() {
                    assert!(deadline > self.now, "a passed deadline stayed armed");
                }
            }
            Step::SendMail {
                recipients,
                policy,
                body,
            } => {
                let from: Mailbox = "a@x.example".parse().unwrap();
                let to: Vec<ForwardPath> = (0..recipients)
                    .map(|i| ForwardPath::Mailbox(format!("r{i}@y.example").parse().unwrap()))
                    .collect();
                let kind = match body {
                    0 => BodyType::SevenBit,
                    1 => BodyType::EightBitMime,
                    _ => BodyType::BinaryMime,
                };
                let policy = if policy {
                    SendPolicy::AtLeastOne
                } else {
                    SendPolicy::AllOrNothing
                };
                let env = mailwire_core::client::Envelope::new(ReversePath::Mailbox(from), to)
                    .with_options(
                        MailOptions::default()
                            .with_body(kind)
                            .with_policy(policy)
                            .with_size(10),
                    );
                let ready = self.conn.is_ready();
                match self.conn.send_mail(now, env) {
                    Ok(id) => {
                        assert!(ready);
                        self.started.push(id);
                    }
                    Err(_) => assert!(self.conn.poll_action().is_none() || !ready),
                }
                self.drain();
            }
            Step::SendBody(body) => {
                let wanted = self.conn.wants_body();
                let result = self.conn.send_body(now, Bytes::from(body));
                if result.is_ok() {
                    assert!(wanted);
                }
                self.drain();
            }
            Step::EndBody => {
                let _ = self.conn.end_body(now);
                self.drain();
            }
            Step::Quit => {
                let _ = self.conn.quit(now);
                self.drain();
            }
            Step::Decide(go) => {
                if let Some(token) = self.token {
                    let decision = if go {
                        PlaintextDecision::Continue
                    } else {
                        PlaintextDecision::Abandon
                    };
                    let _ = self.conn.decide_plaintext(now, token, decision);
                }
                self.drain();
            }
            Step::TlsUp(verified) => {
                let mut info = TlsInfo::new("TLSv1.3", "TLS13_AES_128_GCM_SHA256");
                info.peer_verified = verified;
                let handshake = self.conn.wants_read();
                if self.conn.tls_established(now, info).is_ok() {
                    assert!(!handshake);
                }
                self.drain();
            }
            Step::Eof => {
                self.conn.handle_eof(now);
                self.drain();
                assert!(self.conn.is_closed());
            }
            Step::Abort => {
                self.conn.abort(now);
                self.drain();
                assert!(self.conn.is_closed());
            }
        }
    }
}

fn config(setup: &Setup) -> ClientConfig {
    let mut cfg = ClientConfig::new(
        "client.example".parse().unwrap(),
        Arc::new(SeededRandom::new(3)),
    );
    cfg.pipelining = setup.pipelining;
    cfg.chunking = setup.chunking;
    cfg.tls = match setup.tls {
        0 => TlsPolicy::Disabled,
        1 => TlsPolicy::required(),
        2 => TlsPolicy::opportunistic(),
        _ => TlsPolicy::Opportunistic {
            on_refused: mailwire_core::client::StartTlsRefused::Continue,
        },
    };
    if setup.credentials {
        cfg.credentials = Some(Credentials::password("user", "pencil"));
        cfg.auth_security = AuthSecurity::Plaintext;
    }
    cfg.reply_limits = setup.limits;
    cfg.max_recipients_per_transaction = setup.max_recipients;
    cfg.queue = setup.queue;
    cfg.body_buffer = 64;
    cfg
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "client_chaos",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn client_survives_arbitrary_replies(
        setup in setup(),
        steps in prop::collection::vec(step(), 0..120),
    ) {
        let now = Instant::now();
        let conn = ClientConnection::new(
            Arc::new(config(&setup)),
            ClientSession::new("mx.example.com"),
            now,
        )
        .unwrap();
        let mut driver = Driver {
            conn,
            now,
            limits: setup.limits,
            closed_event: false,
            close_action: false,
            token: None,
            started: Vec::new(),
            completed: HashMap::new(),
            responder: Responder::new(setup.caps),
            garbage: setup.garbage,
        };
        driver.drain();
        for step in steps {
            driver.run(step);
        }
        // However it went, the end of the connection settles everything.
        driver.conn.handle_eof(driver.now);
        driver.drain();
        prop_assert!(driver.conn.is_closed());
        prop_assert!(driver.close_action);
        for id in &driver.started {
            prop_assert_eq!(driver.completed.get(id), Some(&1));
        }
    }
}
