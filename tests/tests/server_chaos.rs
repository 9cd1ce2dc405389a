//! Chaos for the server role: arbitrary bytes, and bytes drawn from the SMTP
//! alphabet, in arbitrary chunks, with time passing, end of stream, TLS
//! upgrades and shutdowns, against a connection whose application accepts
//! (almost) everything.
//!
//! Properties: it never panics; every reply it sends is well formed (parses
//! with `ReplyParser`, each `Send` holds whole replies, no enhanced code of
//! another class is left in a reply's text, `334` lines hold base64 only);
//! it never buffers more than the line limit plus one input slice; message
//! events are well nested; nothing follows `Close`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mailwire_core::sasl::{Mechanism, StoredSecret};
use mailwire_core::server::{
    AuthCheck, ServerConfig, ServerConnection, ServerEvent, SessionInfo, Verdict,
};
use mailwire_core::wire::reply::{Reply, ReplyParser};
use mailwire_core::{Action, SeededRandom, TlsInfo};
use proptest::prelude::*;

/// One thing that happens to the connection.
#[derive(Debug, Clone)]
enum Step {
    /// Bytes from the peer (fed only when the connection wants to read).
    Input(Vec<u8>),
    /// Time passes (seconds).
    Sleep(u16),
    /// The peer closes.
    Eof,
    /// The server shuts down.
    Shutdown,
}

/// Pieces of SMTP that make interesting sequences.
fn smtp_piece() -> impl Strategy<Value = Vec<u8>> {
    let words: Vec<&'static [u8]> = vec![
        b"EHLO client.example\r\n",
        b"HELO [192.0.2.1]\r\n",
        b"EHLO\r\n",
        b"MAIL FROM:<a@example.net>",
        b"MAIL FROM:<>",
        b"MAIL FROM:<j\xc3\xb6rg@example.net>",
        b" SIZE=100",
        b" SIZE=99999999999",
        b" BODY=BINARYMIME",
        b" BODY=8BITMIME",
        b" SMTPUTF8",
        b" RET=FULL ENVID=x",
        b" X-UNKNOWN=1",
        b"RCPT TO:<b@example.org>",
        b"RCPT TO:<Postmaster>",
        b"RCPT TO:<bad@example.org>",
        b" NOTIFY=NEVER",
        b"DATA\r\n",
        b"BDAT ",
        b"BDAT 5\r\n",
        b"BDAT 0 LAST\r\n",
        b" LAST",
        b"0",
        b"7",
        b"12",
        b"99999999999999999999999",
        b"\r\n",
        b"\r\n.\r\n",
        b"\r",
        b"\n",
        b".",
        b"..",
        b"RSET\r\n",
        b"NOOP\r\n",
        b"QUIT\r\n",
        b"HELP\r\n",
        b"VRFY x\r\n",
        b"EXPN x\r\n",
        b"STARTTLS\r\n",
        b"AUTH PLAIN\r\n",
        b"AUTH PLAIN AHRpbQBwdw==\r\n",
        b"AUTH LOGIN\r\n",
        b"AUTH CRAM-MD5\r\n",
        b"AUTH SCRAM-SHA-256 biwsbj10aW0scj1hYmNkZWZnaA==\r\n",
        b"AUTH DIGEST-MD5\r\n",
        b"dGlt\r\n",
        b"*\r\n",
        b"=",
        b" ",
        b"\x00",
        b"\xff\xfe",
    ];
    prop_oneof![
        8 => proptest::sample::select(words).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..24),
        1 => (1usize..1500).prop_map(|n| vec![b'A'; n]),
    ]
}

/// A complete command line.
fn command_line() -> impl Strategy<Value = Vec<u8>> {
    let lines: Vec<&'static [u8]> = vec![
        b"EHLO client.example\r\n",
        b"HELO client.example\r\n",
        b"RSET\r\n",
        b"NOOP\r\n",
        b"HELP\r\n",
        b"VRFY someone\r\n",
        b"QUIT\r\n",
        b"STARTTLS\r\n",
        b"DATA\r\n",
        b"AUTH PLAIN AHRpbQBwdw==\r\n",
        b"AUTH PLAIN\r\n",
        b"AHRpbQBwdw==\r\n",
        b"AUTH LOGIN dGlt\r\n",
        b"cHc=\r\n",
        b"AUTH CRAM-MD5\r\n",
        b"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n",
        b"AUTH SCRAM-SHA-256 biwsbj10aW0scj1hYmNkZWZnaA==\r\n",
        b"*\r\n",
        b"\r\n",
    ];
    let senders: Vec<&'static str> =
        vec!["<a@example.net>", "<>", "<j\u{f6}rg@example.net>", "<bad"];
    let recipients: Vec<&'static str> = vec![
        "<b@example.org>",
        "<Postmaster>",
        "<bad@example.org>",
        "<c@example.org>",
        "<>",
    ];
    let mail_params: Vec<&'static str> = vec![
        "",
        "",
        "",
        " SIZE=100",
        " SIZE=99999999999",
        " BODY=BINARYMIME",
        " BODY=8BITMIME",
        " SMTPUTF8",
        " RET=FULL ENVID=x",
        " X-UNKNOWN=1",
        " REQUIRETLS",
        " AUTH=<>",
        " SIZE=1 SIZE=2",
    ];
    let rcpt_params: Vec<&'static str> = vec![
        "",
        "",
        " NOTIFY=NEVER",
        " ORCPT=rfc822;b@example.org",
        " X-Y",
    ];
    prop_oneof![
        3 => proptest::sample::select(lines).prop_map(<[u8]>::to_vec),
        2 => (proptest::sample::select(senders), proptest::sample::select(mail_params))
            .prop_map(|(s, p)| format!("MAIL FROM:{s}{p}\r\n").into_bytes()),
        3 => (proptest::sample::select(recipients), proptest::sample::select(rcpt_params))
            .prop_map(|(r, p)| format!("RCPT TO:{r}{p}\r\n").into_bytes()),
    ]
}

/// Message text full of hazards: bare line ends, dots, would-be terminators.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let pieces: Vec<&'static [u8]> = vec![
        b"Subject: hi\r\n",
        b"text",
        b"\r\n",
        b"\n",
        b"\r",
        b".",
        b"..",
        b"\n.\n",
        b"\r.\r",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r\n..\r\n",
        b"QUIT\r\n",
        b"\x00\xff",
    ];
    proptest::collection::vec(
        prop_oneof![
            6 => proptest::sample::select(pieces).prop_map(<[u8]>::to_vec),
            1 => (1usize..300).prop_map(|n| vec![b'x'; n]),
        ],
        0..20,
    )
    .prop_map(|p| p.concat())
}

/// BDAT chunks: usually the right size, sometimes off by one.
fn bdat_chunk(last: bool) -> impl Strategy<Value = Vec<u8>> {
    (proptest::collection::vec(any::<u8>(), 0..40), 0usize..8).prop_map(move |(data, skew)| {
        let size = data.len() + usize::from(skew == 0);
        let header = format!("BDAT {size}{}\r\n", if last { " LAST" } else { "" });
        [header.as_bytes(), &data].concat()
    })
}

/// A whole transaction: MAIL, recipients, then DATA or BDAT chunks.
fn transaction() -> impl Strategy<Value = Vec<u8>> {
    let mail = (
        proptest::sample::select(vec![
            "",
            "",
            "",
            " BODY=8BITMIME",
            " BODY=BINARYMIME",
            " SIZE=50",
            " SMTPUTF8",
        ]),
        proptest::sample::select(vec!["<a@example.net>", "<>"]),
    )
        .prop_map(|(p, s)| format!("MAIL FROM:{s}{p}\r\n").into_bytes());
    let rcpts = proptest::collection::vec(
        proptest::sample::select(vec![
            "<b@example.org>",
            "<Postmaster>",
            "<bad@example.org>",
            "<c@example.org>",
        ])
        .prop_map(|r| format!("RCPT TO:{r}\r\n").into_bytes()),
        0..4,
    )
    .prop_map(|r| r.concat());
    let data = prop_oneof![
        body().prop_map(|b| [&b"DATA\r\n"[..], &b, b"\r\n.\r\n"].concat()),
        (
            proptest::collection::vec(bdat_chunk(false), 0..3),
            bdat_chunk(true)
        )
            .prop_map(|(chunks, last)| [chunks.concat(), last].concat()),
    ];
    (mail, rcpts, data).prop_map(|(m, r, d)| [m, r, d].concat())
}

/// One unit of a session.
fn unit() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => transaction(),
        8 => command_line(),
        2 => body().prop_map(|b| [&b"DATA\r\n"[..], &b, b"\r\n.\r\n"].concat()),
        2 => any::<bool>().prop_flat_map(bdat_chunk),
        1 => smtp_piece(),
    ]
}

fn input_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Arbitrary bytes.
        1 => proptest::collection::vec(any::<u8>(), 0..200),
        // The SMTP alphabet.
        2 => proptest::collection::vec(smtp_piece(), 1..12).prop_map(|p| p.concat()),
        // Plausible commands and messages.
        4 => proptest::collection::vec(unit(), 1..6).prop_map(|p| p.concat()),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        20 => input_bytes().prop_map(Step::Input),
        3 => prop_oneof![Just(1u16), Just(59), Just(61), Just(299), Just(301), Just(700)]
            .prop_map(Step::Sleep),
        1 => Just(Step::Eof),
        1 => Just(Step::Shutdown),
    ]
}

/// A configuration with small limits so that they are reached.
fn config(small: bool, random_seed: u64) -> ServerConfig {
    let mut c = ServerConfig::new("mx.example.org", Arc::new(SeededRandom::new(random_seed)));
    c.extensions.starttls = true;
    c.extensions.requiretls = true;
    c.auth_mechanisms = vec![
        Mechanism::ScramSha256,
        Mechanism::CramMd5,
        Mechanism::DigestMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];
    c.local_domains = vec!["example.org".into()];
    c.limits.max_errors = 50;
    if small {
        c.limits.max_message_size = Some(64);
        c.limits.max_recipients = 2;
        c.limits.max_errors = 30;
        c.limits.max_line = 64;
        c.limits.max_sasl_line = 200;
        c.allow_plaintext_auth = true;
    }
    c
}

/// What the scripted application answers: mostly yes.
fn verdict(event: &ServerEvent, refuse: bool) -> Option<Verdict> {
    let reply = |code, enh, text| Some(Verdict::Reply(Reply::simple(code, enh, text).unwrap()));
    match event {
        ServerEvent::RcptRequest { to, .. } if to.to_string().contains("bad") => {
            reply(550, "5.1.1", "No such user")
        }
        ServerEvent::MessageRequest { .. } if refuse => reply(554, "", "No thanks"),
        ServerEvent::MailRequest { .. } if refuse => reply(451, "4.7.1", "Later"),
        ServerEvent::AuthRequest {
            check: AuthCheck::NeedSecret { .. },
            ..
        } => None,
        _ => Some(Verdict::Accept),
    }
}

/// Checks one reply as sent.
fn check_reply(reply: &Reply) -> Result<(), TestCaseError> {
    let code = reply.code().as_u16();
    if let Some(e) = reply.enhanced() {
        prop_assert_eq!(u16::from(e.class()), code / 100);
        prop_assert!(code / 100 != 3, "enhanced code on a 3xx");
    }
    for line in reply.lines() {
        // No enhanced code of another class left behind in the text.
        let first = line.split(' ').next().unwrap_or("");
        let parts: Vec<&str> = first.split('.').collect();
        let looks_enhanced = parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
            && parts[0].len() == 1;
        prop_assert!(
            !looks_enhanced,
            "enhanced-looking text {line:?} in a {code} reply"
        );
    }
    if code == 334 {
        prop_assert_eq!(reply.lines().len(), 1);
        prop_assert!(
            reply.lines()[0]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='),
            "334 with non-base64 text {:?}",
            reply.lines()[0]
        );
    }
    Ok(())
}

/// Drains the connection, checking every action.
struct Checker {
    closed: bool,
    closed_events: usize,
    starttls: bool,
    message_open: bool,
    refuse_mask: u64,
    decisions: u64,
}

impl Checker {
    fn drain(&mut self, conn: &mut ServerConnection, now: Instant) -> Result<(), TestCaseError> {
        while let Some(action) = conn.poll_action() {
            prop_assert!(!self.closed, "action after Close: {action:?}");
            match action {
                Action::Send(bytes) => {
                    let mut parser = ReplyParser::default();
                    let mut rest = &bytes[..];
                    prop_assert!(!rest.is_empty(), "empty Send");
                    while !rest.is_empty() {
                        let (used, reply) = parser.feed(rest);
                        rest = &rest[used..];
                        match reply {
                            Some(Ok(reply)) => check_reply(&reply)?,
                            Some(Err(e)) => {
                                prop_assert!(false, "malformed reply: {e} in {bytes:?}")
                            }
                            None => prop_assert!(false, "Send ends inside a reply: {bytes:?}"),
                        }
                    }
                }
                Action::StartTls => self.starttls = true,
                Action::Close => {
                    prop_assert_eq!(self.closed_events, 1, "Close without one Closed event");
                    self.closed = true;
                }
                Action::Event(event) => {
                    self.check_event(&event)?;
                    if let Some(token) = event.token() {
                        self.decisions += 1;
                        let refuse = self.refuse_mask & (1 << (self.decisions % 64)) != 0;
                        match verdict(&event, refuse) {
                            Some(v) => prop_assert!(conn.decide(now, token, v).is_ok()),
                            None => prop_assert!(
                                conn.supply_secret(
                                    now,
                                    token,
                                    (!refuse).then(|| StoredSecret::password("pw"))
                                )
                                .is_ok()
                            ),
                        }
                    }
                }
                other => prop_assert!(false, "unknown action {other:?}"),
            }
        }
        Ok(())
    }

    fn check_event(&mut self, event: &ServerEvent) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.closed_events, 0, "event after Closed: {:?}", event);
        match event {
            ServerEvent::MessageStarted { .. } => {
                prop_assert!(!self.message_open, "nested MessageStarted");
                self.message_open = true;
            }
            ServerEvent::MessageData(data) => {
                prop_assert!(self.message_open, "MessageData outside a message");
                prop_assert!(!data.is_empty(), "empty MessageData");
            }
            ServerEvent::MessageRequest { .. } | ServerEvent::MessageAborted { .. } => {
                prop_assert!(self.message_open, "message end without a start: {event:?}");
                self.message_open = false;
            }
            ServerEvent::Closed(_) => self.closed_events += 1,
            _ => {}
        }
        Ok(())
    }
}

fn run(
    steps: &[Step],
    small: bool,
    refuse_mask: u64,
    implicit_tls: bool,
) -> Result<(), TestCaseError> {
    let c = config(small, refuse_mask);
    // The longest line the connection may buffer: a command line, or an
    // AUTH line / SASL response.
    let max_line = c.limits.max_line.max(c.limits.max_sasl_line);
    let start = Instant::now();
    let mut now = start;
    let session = if implicit_tls {
        SessionInfo::default().with_tls(TlsInfo::new("TLSv1.3", "TLS13_AES_128_GCM_SHA256"))
    } else {
        SessionInfo::default()
    };
    let mut conn = ServerConnection::new(Arc::new(c), session, now);
    let mut checker = Checker {
        closed: false,
        closed_events: 0,
        starttls: false,
        message_open: false,
        refuse_mask,
        decisions: 0,
    };
    checker.drain(&mut conn, now)?;
    for step in steps {
        if checker.closed {
            prop_assert!(conn.is_closed());
            prop_assert_eq!(
                conn.handle_input(now, b"NOOP\r\n").err(),
                Some(mailwire_core::UsageError::Closed)
            );
            break;
        }
        if checker.starttls {
            checker.starttls = false;
            prop_assert!(!conn.wants_read());
            conn.tls_established(now, TlsInfo::new("TLSv1.3", "TLS13_AES_128_GCM_SHA256"))
                .map_err(|e| TestCaseError::fail(format!("tls_established: {e}")))?;
        }
        match step {
            Step::Input(bytes) => {
                if conn.wants_read() {
                    conn.handle_input(now, bytes)
                        .map_err(|e| TestCaseError::fail(format!("handle_input: {e}")))?;
                    prop_assert!(
                        conn.buffered_len() <= max_line + bytes.len(),
                        "buffered {} > {} + {}",
                        conn.buffered_len(),
                        max_line,
                        bytes.len()
                    );
                } else {
                    prop_assert!(conn.handle_input(now, bytes).is_err());
                }
            }
            Step::Sleep(secs) => {
                now += Duration::from_secs(u64::from(*secs));
                if conn.poll_timeout().is_some_and(|at| at <= now) {
                    conn.handle_timeout(now);
                }
            }
            Step::Eof => conn.handle_eof(now),
            Step::Shutdown => conn.shutdown(now),
        }
        checker.drain(&mut conn, now)?;
        if let Some(at) = conn.poll_timeout() {
            prop_assert!(at > start, "a deadline in the past of the session start");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!(
        "server_chaos",
        mailwire_tests::proptest_cases(256)
    ))]

    #[test]
    fn never_panics_and_replies_are_well_formed(
        steps in proptest::collection::vec(step(), 1..40),
        small in any::<bool>(),
        refuse_mask in any::<u64>(),
        implicit_tls in any::<bool>(),
    ) {
        run(&steps, small, refuse_mask, implicit_tls)?;
    }

    #[test]
    fn a_session_cut_anywhere_behaves(
        units in proptest::collection::vec(unit(), 1..40),
        cuts in proptest::collection::vec(1usize..64, 1..40),
        small in any::<bool>(),
        refuse_mask in any::<u64>(),
    ) {
        let stream = [b"EHLO client.example\r\n".to_vec(), units.concat()].concat();
        let mut steps = Vec::new();
        let mut at = 0;
        for cut in cuts.iter().cycle() {
            if at >= stream.len() {
                break;
            }
            let end = (at + cut).min(stream.len());
            steps.push(Step::Input(stream[at..end].to_vec()));
            at = end;
        }
        steps.push(Step::Eof);
        run(&steps, small, refuse_mask, false)?;
    }
}
