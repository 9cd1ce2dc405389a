//! Client transcripts: only a 250 answers EHLO and HELO, and a 221 or a
//! 421 ends the session wherever it comes (but in answer to QUIT, the
//! normal end): no further command is written and nothing goes on as if
//! it were a success.

mod client_common;

use bytes::Bytes;
use client_common::{Harness, config, envelope, tls};
use mailwire_core::UsageError;
use mailwire_core::client::{
    ClientConfig, ClientEvent, ClientSession, CloseKind, MailOptions, NotSentReason, Outcome,
    Phase, RecipientStatus, StartTlsRefused, TlsPolicy,
};
use mailwire_core::sasl::Credentials;

/// Asserts the session ended with `kind` in `phase` after the reply
/// `code`, was never ready, and refuses a message.
fn assert_ended(h: &mut Harness, kind: CloseKind, phase: Phase, code: u16) {
    let reason = h.closed().expect("closed");
    assert_eq!(reason.kind, kind, "{reason:?}");
    assert_eq!(reason.phase, phase, "{reason:?}");
    assert_eq!(reason.reply.map(|r| r.code().as_u16()), Some(code));
    assert!(h.close_seen);
    assert!(
        !h.all_events
            .iter()
            .any(|e| matches!(e, ClientEvent::Ready { .. })),
        "never ready: {:#?}",
        h.all_events
    );
    assert_eq!(
        h.conn
            .send_mail(h.now, envelope("a@x.example", &["b@y.example"])),
        Err(UsageError::Closed)
    );
}

#[test]
fn helo_answered_221_sends_no_mail() {
    let mut h = Harness::new(config());
    h.script(
        "S: 220 old.example SMTP
         C: EHLO client.example
         S: 502 5.5.1 what is EHLO
         C: HELO client.example
         S: 221 2.0.0 closing",
    );
    assert_ended(&mut h, CloseKind::ServiceClosing, Phase::Helo, 221);
    assert_eq!(h.take_sent(), "", "no QUIT, no MAIL after the 221");
    assert_eq!(
        String::from_utf8_lossy(&h.wire),
        "EHLO client.example\r\nHELO client.example\r\n"
    );
}

#[test]
fn ehlo_answered_221_or_421_sends_nothing_more() {
    for code in ["221 2.0.0 bye", "421 4.3.2 busy"] {
        let mut h = Harness::new(config());
        h.script("S: 220 mx\nC: EHLO client.example");
        h.server(code);
        let number = code[..3].parse().unwrap();
        assert_ended(&mut h, CloseKind::ServiceClosing, Phase::Ehlo, number);
        assert_eq!(h.take_sent(), "", "{code}: no HELO, no QUIT");
    }
}

#[test]
fn helo_needs_250() {
    for code in ["220 hello", "251 fine", "252 maybe", "235 sure"] {
        let mut h = Harness::new(config());
        h.script(
            "S: 220 mx
             C: EHLO client.example
             S: 500 no
             C: HELO client.example",
        );
        h.script(&format!("S: {code}\nC: QUIT\nS: 221 bye"));
        let number = code[..3].parse().unwrap();
        assert_ended(&mut h, CloseKind::HelloRefused, Phase::Helo, number);
    }
}

#[test]
fn ehlo_needs_250() {
    for code in ["220 hello", "251 fine"] {
        let mut h = Harness::new(config());
        h.script("S: 220 mx\nC: EHLO client.example");
        h.script(&format!("S: {code}\nC: QUIT\nS: 221 bye"));
        let number = code[..3].parse().unwrap();
        assert_ended(&mut h, CloseKind::HelloRefused, Phase::Ehlo, number);
    }
}

#[test]
fn greeting_221_closes_at_once() {
    let mut h = Harness::new(config());
    h.server("221 2.0.0 not today");
    assert_eq!(h.take_sent(), "");
    assert_ended(&mut h, CloseKind::GreetingRefused, Phase::Greeting, 221);
}

#[test]
fn starttls_answered_221_never_goes_on_in_plaintext() {
    for on_refused in [
        StartTlsRefused::Continue,
        StartTlsRefused::Ask,
        StartTlsRefused::Abandon,
    ] {
        for code in ["221 2.0.0 bye", "421 4.7.0 closing"] {
            let policy = TlsPolicy::Opportunistic { on_refused };
            let mut h = Harness::new(config().with_tls(policy));
            h.script(
                "S: 220 mx ESMTP
                 C: EHLO client.example
                 S: 250-mx
                 S: 250 STARTTLS
                 C: STARTTLS",
            );
            h.server(code);
            let number = code[..3].parse().unwrap();
            assert_ended(&mut h, CloseKind::ServiceClosing, Phase::StartTls, number);
            assert_eq!(h.take_sent(), "", "{on_refused:?} {code}");
            assert_eq!(h.starttls, 0);
            assert!(
                !h.all_events
                    .iter()
                    .any(|e| matches!(e, ClientEvent::TlsPolicyRequest { .. })),
                "{on_refused:?} {code}: the application is not asked"
            );
        }
    }
}

#[test]
fn auth_and_qued_answered_221_end_the_session() {
    // AUTH over verified implicit TLS.
    let session = ClientSession::new("mx.example.com").with_implicit_tls(tls(true));
    let cfg = config().with_credentials(Credentials::password("u", "p"));
    let mut h = Harness::with_session(cfg, session);
    h.ehlo(&["AUTH PLAIN"]);
    assert!(h.take_sent().starts_with("AUTH PLAIN "));
    h.server("221 2.0.0 bye");
    assert_ended(&mut h, CloseKind::ServiceClosing, Phase::Auth, 221);
    assert_eq!(h.take_sent(), "");

    // QUED, whose reply is otherwise ignored.
    let mut cfg: ClientConfig = config();
    cfg.queue = true;
    let mut h = Harness::new(cfg);
    h.ehlo(&["XQUE"]);
    h.script("C: QUED\nS: 221 2.0.0 bye");
    assert_ended(&mut h, CloseKind::ServiceClosing, Phase::Queue, 221);
    assert_eq!(h.take_sent(), "");
}

fn ready(caps: &[&str]) -> Harness {
    let mut h = Harness::new(config());
    h.ehlo(caps);
    h.take_events();
    h
}

#[test]
fn mail_rcpt_or_data_answered_221_is_not_sent() {
    for (answered, script) in [
        ("MAIL", "C: MAIL FROM:<a@x.example>\nS: 221 bye"),
        (
            "RCPT",
            "C: MAIL FROM:<a@x.example>\nS: 250 ok\nC: RCPT TO:<b@y.example>\nS: 221 bye",
        ),
        (
            "DATA",
            "C: MAIL FROM:<a@x.example>\nS: 250 ok\nC: RCPT TO:<b@y.example>\nS: 250 ok\n\
             C: DATA\nS: 221 bye",
        ),
    ] {
        let mut h = ready(&[]);
        h.conn
            .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
            .unwrap();
        h.script(script);
        assert_eq!(h.take_sent(), "", "{answered}: nothing after the 221");
        assert!(!h.conn.wants_body(), "{answered}");
        let o = h.outcome();
        match &o.outcome {
            Outcome::NotSent {
                reason: NotSentReason::ConnectionClosed,
                reply: Some(r),
            } => assert_eq!(r.code().as_u16(), 221, "{answered}"),
            other => panic!("{answered}: {other:?}"),
        }
        assert_eq!(o.recipients[0].status, RecipientStatus::NotSent);
        assert_eq!(h.closed().unwrap().kind, CloseKind::ServiceClosing);
    }
}

#[test]
fn the_end_of_the_data_answered_221_is_unknown() {
    let mut h = ready(&[]);
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
    h.body(b"x");
    h.script("C: x\nC: .\nS: 221 2.0.0 bye");
    let o = h.outcome();
    assert_eq!(o.outcome, Outcome::Unknown, "a 221 accepts nothing");
    assert_eq!(o.recipients[0].status, RecipientStatus::Unknown);
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServiceClosing);
    assert_eq!(reason.phase, Phase::DataTermination);
    assert_eq!(h.take_sent(), "");
}

#[test]
fn a_bdat_chunk_answered_221_is_not_sent_even_after_the_last_chunk() {
    let mut cfg = config();
    cfg.chunking = true;
    let mut h = Harness::new(cfg);
    h.ehlo(&["CHUNKING", "PIPELINING"]);
    h.take_events();
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example"]).with_options(MailOptions::default()),
        )
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<b@y.example>
         S: 250 ok
         S: 250 ok",
    );
    h.conn
        .send_body(h.now, Bytes::from_static(b"one\r\n"))
        .unwrap();
    h.conn.end_body(h.now).unwrap();
    assert_eq!(h.take_sent(), "BDAT 5\r\none\r\nBDAT 0 LAST\r\n");
    h.server("221 2.0.0 bye");
    let o = h.outcome();
    match &o.outcome {
        Outcome::NotSent {
            reason: NotSentReason::ConnectionClosed,
            reply: Some(r),
        } => assert_eq!(r.code().as_u16(), 221),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.take_sent(), "");
}

#[test]
fn unsolicited_221_while_idle_is_service_closing() {
    let mut h = ready(&[]);
    h.server("221 2.0.0 idle too long");
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServiceClosing);
    assert_eq!(reason.phase, Phase::Idle);
    assert_eq!(h.take_sent(), "");
}

#[test]
fn quit_answered_221_is_the_normal_end() {
    let mut h = ready(&[]);
    h.conn.quit(h.now).unwrap();
    h.script("C: QUIT\nS: 221 2.0.0 bye");
    assert!(h.closed().unwrap().is_normal());
}
