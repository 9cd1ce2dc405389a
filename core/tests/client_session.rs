//! Client transcripts: greeting, EHLO and HELO fallback, capabilities,
//! QUED, reply parsing across chunking, reply caps, protocol violations
//! and input validation.

mod client_common;

use client_common::{Harness, Split, config, envelope};
use mailwire_core::UsageError;
use mailwire_core::client::{
    ClientConnection, ClientEvent, ClientSession, CloseKind, Phase, TlsPolicy,
};
use mailwire_core::sasl::Credentials;
use mailwire_core::wire::address::Domain;
use mailwire_core::wire::reply::{ReplyError, ReplyLimits};
use std::sync::Arc;

#[test]
fn greeting_ehlo_ready_and_quit() {
    let mut h = Harness::new(config());
    assert!(h.conn.wants_read());
    assert!(!h.conn.is_ready());
    assert_eq!(h.conn.phase(), Phase::Greeting);
    h.script(
        "S: 220 mx.example.com ESMTP ready
         C: EHLO client.example
         S: 250-mx.example.com greets client.example
         S: 250-PIPELINING
         S: 250-SIZE 1000000
         S: 250-8BITMIME
         S: 250 XQUE",
    );
    assert!(h.conn.is_ready());
    let caps = h.conn.capabilities().unwrap().clone();
    assert!(caps.pipelining && caps.eight_bit_mime);
    assert_eq!(caps.size, Some(1_000_000));
    assert_eq!(
        h.take_events(),
        vec![ClientEvent::Ready { capabilities: caps }]
    );
    assert_eq!(
        h.conn.greeting().unwrap().lines()[0],
        "mx.example.com ESMTP ready"
    );
    assert_eq!(h.conn.ehlo().unwrap().domain, "mx.example.com");
    assert_eq!(h.conn.poll_timeout(), None, "idle: no deadline");
    h.conn.quit(h.now).unwrap();
    h.script("C: QUIT\nS: 221 2.0.0 bye");
    let reason = h.closed().unwrap();
    assert!(reason.is_normal(), "{reason}");
    assert_eq!(reason.reply.unwrap().code().as_u16(), 221);
    assert!(h.close_seen);
    assert!(h.conn.is_closed() && !h.conn.wants_read());
    assert_eq!(h.conn.handle_input(h.now, b"x"), Err(UsageError::Closed));
}

#[test]
fn greeting_refused_554_quits_and_reports() {
    let mut h = Harness::new(config());
    h.script(
        "S: 554-5.7.1 no service for you
         S: 554 5.7.1 go away
         C: QUIT
         S: 221 bye",
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::GreetingRefused);
    assert_eq!(reason.phase, Phase::Greeting);
    let reply = reason.reply.unwrap();
    assert_eq!(reply.code().as_u16(), 554);
    assert_eq!(reply.enhanced().unwrap().to_string(), "5.7.1");
    assert_eq!(reply.lines(), ["no service for you", "go away"]);
}

#[test]
fn greeting_421_closes_at_once() {
    let mut h = Harness::new(config());
    h.server("421 4.3.2 busy");
    assert_eq!(h.take_sent(), "");
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::GreetingRefused);
    assert_eq!(reason.reply.unwrap().code().as_u16(), 421);
}

#[test]
fn helo_fallback_when_ehlo_is_refused() {
    let mut h = Harness::new(config());
    h.script(
        "S: 220 old.example SMTP
         C: EHLO client.example
         S: 502 5.5.1 what is EHLO
         C: HELO client.example
         S: 250 old.example",
    );
    assert!(h.conn.is_ready());
    assert_eq!(h.conn.capabilities(), Some(&Default::default()));
    assert!(h.conn.ehlo().is_none());
    // Lock-step without any extension.
    h.take_events();
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         S: 250 ok
         C: RCPT TO:<b@y.example>
         S: 250 ok
         C: DATA
         S: 354 go",
    );
    h.body(b"hi\n");
    h.script("C: hi\nC: .\nS: 250 queued");
    assert!(h.outcome().outcome.is_sent());
}

#[test]
fn ehlo_4xx_gets_no_helo_fallback() {
    let mut h = Harness::new(config());
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 451 4.3.0 try later
         C: QUIT
         S: 221 bye",
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::HelloRefused);
    assert_eq!(reason.phase, Phase::Ehlo);
    assert_eq!(reason.command.as_deref(), Some("EHLO client.example"));
    assert_eq!(reason.reply.unwrap().code().as_u16(), 451);
}

#[test]
fn helo_refused_too() {
    let mut h = Harness::new(config());
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 500 no
         C: HELO client.example
         S: 550 5.7.1 not you either
         C: QUIT",
    );
    h.eof();
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::HelloRefused);
    assert_eq!(reason.phase, Phase::Helo);
    assert_eq!(reason.command.as_deref(), Some("HELO client.example"));
}

#[test]
fn no_helo_fallback_when_tls_is_required() {
    let mut h = Harness::new(config().with_tls(TlsPolicy::required()));
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 502 no EHLO here
         C: QUIT
         S: 221 bye",
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::HelloRefused);
    assert_eq!(h.starttls, 0);
}

#[test]
fn no_helo_fallback_when_credentials_are_configured() {
    let mut h = Harness::new(config().with_credentials(Credentials::password("u", "p")));
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 502 no EHLO here
         C: QUIT
         S: 221 bye",
    );
    assert_eq!(h.closed().unwrap().kind, CloseKind::HelloRefused);
}

#[test]
fn queue_sends_qued_when_xque_is_advertised() {
    let mut cfg = config();
    cfg.queue = true;
    let mut h = Harness::new(cfg);
    h.ehlo(&["XQUE", "ONEX"]);
    h.script("C: QUED\nS: 250 queued mode");
    assert!(h.conn.is_ready());
    // Without XQUE: no QUED.
    let mut cfg = config();
    cfg.queue = true;
    let mut h = Harness::new(cfg);
    h.ehlo(&["PIPELINING"]);
    assert_eq!(h.take_sent(), "");
    assert!(h.conn.is_ready());
    // XQUE without the option: no QUED.
    let mut h = Harness::new(config());
    h.ehlo(&["XQUE"]);
    assert_eq!(h.take_sent(), "");
    assert!(h.conn.is_ready());
}

/// The same session, with every reply cut at every byte, gives the same
/// events and the same client output.
#[test]
fn multi_line_replies_split_at_every_byte() {
    fn run(split: Split) -> (String, Vec<ClientEvent>) {
        let mut h = Harness::new(config()).split(split);
        h.script(
            "S: 220-mx.example.com ESMTP
             S: 220-second greeting line
             S: 220 third
             C: EHLO client.example
             S: 250-mx.example.com hi
             S: 250-PIPELINING
             S: 250-SIZE 5000
             S: 250-DSN
             S: 250-ENHANCEDSTATUSCODES
             S: 250 8BITMIME",
        );
        h.conn
            .send_mail(
                h.now,
                envelope("a@x.example", &["b@y.example", "c@y.example"]),
            )
            .unwrap();
        h.script(
            "C: MAIL FROM:<a@x.example>
             C: RCPT TO:<b@y.example>
             C: RCPT TO:<c@y.example>
             S: 250 2.1.0 sender ok
             S: 250-2.1.5 first line
             S: 250 2.1.5 recipient ok
             S: 550-5.1.1 no such user
             S: 550-5.1.1 really
             S: 550 5.1.1 none
             C: RSET
             S: 250 2.0.0 reset",
        );
        let mut wire = String::from_utf8(h.wire.clone()).unwrap();
        wire.push('|');
        (wire, h.take_events())
    }
    let whole = run(Split::Whole);
    assert_eq!(run(Split::EveryByte), whole);
    for n in 2..9 {
        assert_eq!(run(Split::Every(n)), whole, "reads of {n}");
    }
    let outcome = whole
        .1
        .iter()
        .find_map(|e| match e {
            ClientEvent::TransactionCompleted(o) => Some(o.clone()),
            _ => None,
        })
        .unwrap();
    let refused = outcome.recipients[1].reply.as_ref().unwrap();
    assert_eq!(refused.lines(), ["no such user", "really", "none"]);
}

#[test]
fn endless_multi_line_reply_is_cut_off_by_the_line_cap() {
    let mut cfg = config();
    cfg.reply_limits = ReplyLimits {
        max_line_len: 100,
        max_lines: 10,
        max_total: 4096,
    };
    let mut h = Harness::new(cfg);
    h.script("S: 220 mx\nC: EHLO client.example");
    for _ in 0..9 {
        h.server("250-EXTENSION");
        assert!(!h.conn.is_closed());
        assert!(h.conn.buffered_len() <= 4096);
    }
    h.server("250-EXTENSION");
    let reason = h.closed().unwrap();
    assert_eq!(
        reason.kind,
        CloseKind::MalformedReply(ReplyError::TooManyLines)
    );
    assert_eq!(reason.phase, Phase::Ehlo);
    assert_eq!(reason.command.as_deref(), Some("EHLO client.example"));
    assert!(h.close_seen);
}

#[test]
fn endless_line_is_cut_off_by_the_size_caps() {
    let mut cfg = config();
    cfg.reply_limits = ReplyLimits {
        max_line_len: 64,
        max_lines: 1000,
        max_total: 300,
    };
    let mut h = Harness::new(cfg.clone());
    h.feed(b"220 ");
    h.feed(&[b'x'; 59]);
    assert!(!h.conn.is_closed());
    assert!(h.conn.buffered_len() < 64);
    h.feed(b"x");
    assert_eq!(
        h.closed().unwrap().kind,
        CloseKind::MalformedReply(ReplyError::LineTooLong)
    );

    let mut h = Harness::new(cfg.clone());
    h.script("S: 220 mx\nC: EHLO client.example");
    let mut total = 0;
    while !h.conn.is_closed() {
        h.server("250-0123456789012345678901234567890123456789");
        total += 1;
        assert!(h.conn.buffered_len() <= 300);
        assert!(total < 100);
    }
    assert_eq!(
        h.closed().unwrap().kind,
        CloseKind::MalformedReply(ReplyError::TooLarge)
    );
}

#[test]
fn malformed_reply_ends_the_connection() {
    let mut h = Harness::new(config());
    h.server("hello there");
    let reason = h.closed().unwrap();
    assert_eq!(
        reason.kind,
        CloseKind::MalformedReply(ReplyError::Malformed)
    );
    assert_eq!(reason.phase, Phase::Greeting);
}

#[test]
fn unsolicited_reply_ends_the_connection() {
    let mut h = Harness::new(config());
    h.ehlo(&[]);
    h.take_events();
    h.server("250 surprise");
    let reason = h.closed().unwrap();
    assert_eq!(
        reason.kind,
        CloseKind::ProtocolViolation("unsolicited reply")
    );
    assert_eq!(reason.phase, Phase::Idle);
}

#[test]
fn unsolicited_421_while_idle_is_service_closing() {
    let mut h = Harness::new(config());
    h.ehlo(&[]);
    h.server("421 4.4.2 idle too long");
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServiceClosing);
    assert_eq!(reason.reply.unwrap().code().as_u16(), 421);
}

/// A reply that arrives in the same read as the one before it, although it
/// answers a command the client only sends after that one, was written
/// before the server saw the command: it is refused.
#[test]
fn reply_sent_before_its_command_is_refused() {
    let mut h = Harness::new(config());
    h.server("220 mx\n250 mx hello");
    let reason = h.closed().unwrap();
    assert_eq!(
        reason.kind,
        CloseKind::ProtocolViolation("reply sent before its command")
    );
    assert_eq!(reason.phase, Phase::Ehlo);
    assert_eq!(h.take_sent(), "EHLO client.example\r\n");
}

#[test]
fn invalid_client_name_is_refused_before_anything_is_written() {
    for name in [
        Domain::Name("evil.example\r\nRSET".into()),
        Domain::Name("has space".into()),
        Domain::Name("bücher.example".into()),
        Domain::Name(String::new()),
        Domain::Name("a<b>.example".into()),
    ] {
        let mut cfg = config();
        cfg.client_name = name.clone();
        let err = ClientConnection::new(
            Arc::new(cfg),
            ClientSession::new("mx"),
            client_common::origin(),
        )
        .err();
        assert_eq!(
            err,
            Some(UsageError::InvalidInput("client name")),
            "{name:?}"
        );
    }
    let mut cfg = config();
    cfg.client_name = "[192.0.2.1]".parse().unwrap();
    let mut h = Harness::new(cfg);
    h.script("S: 220 mx\nC: EHLO [192.0.2.1]");
}

#[test]
fn eof_during_setup_reports_the_phase() {
    let mut h = Harness::new(config());
    h.script("S: 220 mx\nC: EHLO client.example");
    h.eof();
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ConnectionLost);
    assert_eq!(reason.phase, Phase::Ehlo);
    assert_eq!(reason.command.as_deref(), Some("EHLO client.example"));
    // Nothing more after the close.
    h.eof();
    h.conn.handle_timeout(h.now);
    assert!(h.conn.poll_action().is_none());
}

#[test]
fn commands_before_ready_are_usage_errors() {
    let mut h = Harness::new(config());
    let env = envelope("a@x.example", &["b@y.example"]);
    assert!(matches!(
        h.conn.send_mail(h.now, env.clone()),
        Err(UsageError::InvalidState(_))
    ));
    assert!(matches!(
        h.conn.quit(h.now),
        Err(UsageError::InvalidState(_))
    ));
    assert!(matches!(
        h.conn.end_body(h.now),
        Err(UsageError::InvalidState(_))
    ));
    assert!(matches!(
        h.conn.tls_established(h.now, client_common::tls(true)),
        Err(UsageError::InvalidState(_))
    ));
    assert_eq!(h.take_sent(), "");
    h.conn.abort(h.now);
    h.drain();
    assert_eq!(h.closed().unwrap().kind, CloseKind::Aborted);
    assert_eq!(h.conn.send_mail(h.now, env), Err(UsageError::Closed));
}
