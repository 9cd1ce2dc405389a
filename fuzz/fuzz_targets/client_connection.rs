//! A whole `ClientConnection` driven by arbitrary input: server bytes in
//! arbitrary reads (raw, or picked from a table of plausible replies)
//! interleaved with arbitrary application calls (send a
//! message, body chunks, end of body, quit, abort, TLS decisions), time
//! passing and end of stream.
//!
//! Checks: never panics; never buffers more reply octets than the reply
//! caps; input is refused (never taken) while the connection does not
//! read; `Close` comes once, right after `Closed`, and nothing follows it;
//! every accepted `send_mail` gets exactly one `TransactionCompleted`,
//! before `Closed`; a message reported sent has a recipient reported sent.
#![no_main]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mailwire_core::client::{
    AuthSecurity, BodyType, ClientConfig, ClientConnection, ClientEvent, ClientSession, Envelope,
    MailOptions, Outcome, PlaintextDecision, PolicyToken, RecipientStatus, SendPolicy, TlsPolicy,
    TransactionId,
};
use mailwire_core::sasl::Credentials;
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::reply::ReplyLimits;
use mailwire_core::{Action, SeededRandom, TlsInfo, UsageError};

struct Driver {
    conn: ClientConnection,
    now: Instant,
    closed_event: bool,
    closed: bool,
    starttls: bool,
    token: Option<PolicyToken>,
    started: Vec<TransactionId>,
    completed: HashMap<TransactionId, usize>,
}

impl Driver {
    fn drain(&mut self) {
        while let Some(action) = self.conn.poll_action() {
            assert!(!self.closed, "an action after Close: {action:?}");
            match action {
                Action::Send(bytes) => assert!(!bytes.is_empty(), "an empty Send"),
                Action::StartTls => self.starttls = true,
                Action::Close => {
                    assert!(self.closed_event, "Close without Closed");
                    self.closed = true;
                }
                Action::Event(event) => {
                    assert!(!self.closed_event, "an event after Closed: {event:?}");
                    match event {
                        ClientEvent::Closed(_) => self.closed_event = true,
                        ClientEvent::TlsPolicyRequest { token, .. } => self.token = Some(token),
                        ClientEvent::TransactionCompleted(outcome) => {
                            *self.completed.entry(outcome.id).or_default() += 1;
                            if matches!(outcome.outcome, Outcome::Sent { .. }) {
                                assert!(
                                    outcome
                                        .recipients
                                        .iter()
                                        .any(|r| r.status == RecipientStatus::Sent),
                                    "sent without a recipient sent: {outcome:?}"
                                );
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
}

fn config(flags: u8) -> ClientConfig {
    let mut c = ClientConfig::new(
        "client.example".parse().unwrap(),
        Arc::new(SeededRandom::new(3)),
    );
    c.pipelining = flags & 1 != 0;
    c.chunking = flags & 2 != 0;
    c.tls = match (flags >> 2) & 3 {
        0 => TlsPolicy::Disabled,
        1 => TlsPolicy::required(),
        2 => TlsPolicy::opportunistic(),
        _ => TlsPolicy::Required {
            accept_invalid_certs: true,
        },
    };
    if flags & 16 != 0 {
        c.credentials = Some(Credentials::password("user", "pencil"));
        c.auth_security = AuthSecurity::Plaintext;
    }
    if flags & 32 != 0 {
        c.reply_limits = ReplyLimits {
            max_line_len: 64,
            max_lines: 4,
            max_total: 200,
        };
    }
    if flags & 64 != 0 {
        c.max_recipients_per_transaction = Some(1);
    }
    c.queue = flags & 128 != 0;
    c.body_buffer = 64;
    c
}

/// Replies a server plausibly sends, so that sessions get somewhere.
const REPLIES: &[&[u8]] = &[
    b"220 mx.example.org ESMTP\r\n",
    b"250-mx.example.org\r\n250-PIPELINING\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-SIZE 1000\r\n250-STARTTLS\r\n250-DSN\r\n250-REQUIRETLS\r\n250-XQUE\r\n250 AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256 DIGEST-MD5\r\n",
    b"250-mx.example.org\r\n250 8BITMIME\r\n",
    b"250 2.1.0 ok\r\n",
    b"250 2.1.5 ok\r\n",
    b"251 forward\r\n",
    b"354 go ahead\r\n",
    b"250 2.0.0 queued\r\n",
    b"220 2.0.0 ready for TLS\r\n",
    b"334 \r\n",
    b"334 VXNlcm5hbWU6\r\n",
    b"334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
    b"235 2.7.0 ok\r\n",
    b"452 4.5.3 too many recipients\r\n",
    b"454 4.7.0 no TLS\r\n",
    b"504 5.5.4 no such mechanism\r\n",
    b"535 5.7.8 bad credentials\r\n",
    b"550 5.1.1 no such user\r\n",
    b"554 5.7.1 go away\r\n",
    b"421 4.3.2 closing\r\n",
    b"221 2.0.0 bye\r\n",
];

fn envelope(op: u8) -> Envelope {
    let recipients = [
        "<a@example.org>",
        "<b@example.org>",
        "<Postmaster>",
        "<jörg@example.org>",
    ];
    let count = usize::from(op & 3) + 1;
    let to = recipients[..count]
        .iter()
        .map(|r| r.parse::<ForwardPath>().unwrap());
    let body = match (op >> 2) & 3 {
        0 | 1 => BodyType::SevenBit,
        2 => BodyType::EightBitMime,
        _ => BodyType::BinaryMime,
    };
    let policy = if op & 16 != 0 {
        SendPolicy::AtLeastOne
    } else {
        SendPolicy::AllOrNothing
    };
    let mut options = MailOptions::default().with_body(body).with_policy(policy);
    if op & 32 != 0 {
        options = options.with_size(u64::from(op) * 40);
    }
    options = options.with_requiretls(op & 64 != 0 && op & 128 != 0);
    Envelope::new("<me@example.net>".parse::<ReversePath>().unwrap(), to).with_options(options)
}

fuzz_target!(|input: &[u8]| {
    let [flags, rest @ ..] = input else { return };
    let config = config(*flags);
    let limits = config.reply_limits;
    let start = Instant::now();
    let conn = ClientConnection::new(
        Arc::new(config),
        ClientSession::new("mx.example.org"),
        start,
    )
    .unwrap();
    let mut d = Driver {
        conn,
        now: start,
        closed_event: false,
        closed: false,
        starttls: false,
        token: None,
        started: Vec::new(),
        completed: HashMap::new(),
    };
    d.drain();
    let mut rest = rest;
    while let [op, arg, tail @ ..] = rest {
        rest = tail;
        if d.closed {
            assert_eq!(
                d.conn.handle_input(d.now, b"250 ok\r\n"),
                Err(UsageError::Closed)
            );
            break;
        }
        match op {
            // Server bytes: the next (op & 127) + 1 input octets, in reads
            // of `arg` octets.
            0..=0x7f => {
                let n = (usize::from(*op) + 1).min(rest.len());
                let (bytes, tail) = rest.split_at(n);
                rest = tail;
                for chunk in bytes.chunks(usize::from(*arg).max(1)) {
                    if d.conn.wants_read() {
                        d.conn.handle_input(d.now, chunk).unwrap();
                        assert!(d.conn.buffered_len() <= limits.max_total);
                    } else {
                        assert!(d.conn.handle_input(d.now, chunk).is_err());
                    }
                    d.drain();
                }
            }
            0x80..=0x9f => {
                if let Ok(id) = d.conn.send_mail(d.now, envelope(*arg)) {
                    d.started.push(id);
                }
            }
            0xa0..=0xbf => {
                let n = usize::from(*arg & 63).min(rest.len());
                let (bytes, tail) = rest.split_at(n);
                rest = tail;
                if d.conn.wants_body() {
                    let _ = d.conn.send_body(d.now, Bytes::copy_from_slice(bytes));
                }
            }
            0xc0..=0xcf => {
                let _ = d.conn.end_body(d.now);
            }
            0xd0..=0xdf => {
                d.now += Duration::from_secs(u64::from(*arg) * 5);
                if d.conn.poll_timeout().is_some_and(|at| at <= d.now) {
                    d.conn.handle_timeout(d.now);
                }
            }
            0xe0..=0xe7 => {
                if let Some(token) = d.token.take() {
                    let decision = if arg & 1 == 0 {
                        PlaintextDecision::Continue
                    } else {
                        PlaintextDecision::Abandon
                    };
                    let _ = d.conn.decide_plaintext(d.now, token, decision);
                }
            }
            0xe8..=0xef => {
                if d.starttls {
                    d.starttls = false;
                    let mut info = TlsInfo::new("TLSv1.3", "X");
                    info.peer_verified = arg & 1 == 0;
                    d.conn.tls_established(d.now, info).unwrap();
                }
            }
            0xf0..=0xf7 => {
                let _ = d.conn.quit(d.now);
            }
            0xf8..=0xf9 => d.conn.abort(d.now),
            0xfa => d.conn.handle_eof(d.now),
            // A plausible reply (or several), in one read.
            _ => {
                let mut bytes = Vec::new();
                for i in 0..=usize::from(*op - 0xfb) {
                    let pick = usize::from(arg.rotate_left(3 * i as u32)) % REPLIES.len();
                    bytes.extend_from_slice(REPLIES[pick]);
                }
                if d.conn.wants_read() {
                    d.conn.handle_input(d.now, &bytes).unwrap();
                    assert!(d.conn.buffered_len() <= limits.max_total);
                }
            }
        }
        d.drain();
    }
    d.conn.handle_eof(d.now);
    d.drain();
    assert!(
        d.conn.is_closed() && d.closed,
        "still open after the end of the stream"
    );
    for id in &d.started {
        assert_eq!(
            d.completed.get(id),
            Some(&1),
            "{id}: not exactly one outcome"
        );
    }
});
