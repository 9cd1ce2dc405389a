//! Client transcripts: STARTTLS policies, the policy question, injected
//! bytes after the 220, certificate verification and implicit TLS.

mod client_common;

use client_common::{Harness, config, envelope, tls};
use mailwire_core::UsageError;
use mailwire_core::client::{
    ClientEvent, ClientSession, CloseKind, Phase, PlaintextDecision, StartTlsRefused, TlsPolicy,
};

fn opportunistic(on_refused: StartTlsRefused) -> TlsPolicy {
    TlsPolicy::Opportunistic { on_refused }
}

/// Greeting, EHLO offering STARTTLS, STARTTLS sent.
fn at_starttls(policy: TlsPolicy) -> Harness {
    let mut h = Harness::new(config().with_tls(policy));
    h.script(
        "S: 220 mx ESMTP
         C: EHLO client.example
         S: 250-mx
         S: 250-PIPELINING
         S: 250 STARTTLS
         C: STARTTLS",
    );
    h
}

#[test]
fn required_tls_upgrades_and_says_ehlo_again() {
    let mut h = at_starttls(TlsPolicy::required());
    assert_eq!(h.starttls, 0);
    h.server("220 2.0.0 go ahead");
    assert_eq!(h.starttls, 1);
    assert!(!h.conn.wants_read());
    assert_eq!(h.conn.phase(), Phase::TlsHandshake);
    assert_eq!(
        h.conn.handle_input(h.now, b"250 x\r\n"),
        Err(UsageError::NotReading)
    );
    assert_eq!(h.conn.capabilities().map(|c| c.starttls), Some(true));
    h.conn.tls_established(h.now, tls(true)).unwrap();
    h.drain();
    assert!(h.conn.wants_read());
    assert_eq!(h.conn.capabilities(), None, "forgotten after TLS");
    h.script(
        "C: EHLO client.example
         S: 250-mx
         S: 250 PIPELINING",
    );
    let events = h.take_events();
    assert_eq!(events[0], ClientEvent::TlsUpgraded(tls(true)));
    assert!(matches!(events[1], ClientEvent::Ready { .. }));
    assert!(h.conn.is_ready());
    assert_eq!(h.conn.tls_info(), Some(&tls(true)));
    // The outcome records the TLS facts.
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<b@y.example>
         C: DATA
         S: 250 ok
         S: 250 ok
         S: 354 go",
    );
    h.body(b"x");
    h.script("C: x\nC: .\nS: 250 ok");
    assert_eq!(h.outcome().tls, Some(tls(true)));
}

#[test]
fn required_tls_not_offered_closes() {
    let mut h = Harness::new(config().with_tls(TlsPolicy::required()));
    h.script(
        "S: 220 mx
         C: EHLO client.example
         S: 250-mx
         S: 250 PIPELINING
         C: QUIT
         S: 221 bye",
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::TlsUnavailable);
    assert_eq!(h.starttls, 0);
}

#[test]
fn required_tls_refused_closes_with_the_reply() {
    let mut h = at_starttls(TlsPolicy::required());
    h.script("S: 454 4.7.0 TLS not available\nC: QUIT\nS: 221 bye");
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::StartTlsRefused);
    assert_eq!(reason.phase, Phase::StartTls);
    assert_eq!(reason.command.as_deref(), Some("STARTTLS"));
    assert_eq!(
        reason.reply.unwrap().to_string(),
        "454 4.7.0 TLS not available"
    );
}

#[test]
fn required_tls_with_an_unverified_certificate_closes() {
    let mut h = at_starttls(TlsPolicy::required());
    h.server("220 go ahead");
    h.conn.tls_established(h.now, tls(false)).unwrap();
    h.drain();
    assert_eq!(h.take_sent(), "", "nothing said over an unverified session");
    assert_eq!(h.closed().unwrap().kind, CloseKind::CertificateNotVerified);
    // ...unless the application accepts any certificate.
    let mut h = at_starttls(TlsPolicy::Required {
        accept_invalid_certs: true,
    });
    h.server("220 go ahead");
    h.conn.tls_established(h.now, tls(false)).unwrap();
    h.script("C: EHLO client.example\nS: 250 mx");
    assert!(h.conn.is_ready());
}

#[test]
fn opportunistic_tls_accepts_an_unverified_certificate() {
    let mut h = at_starttls(TlsPolicy::opportunistic());
    h.server("220 go ahead");
    h.conn.tls_established(h.now, tls(false)).unwrap();
    h.script("C: EHLO client.example\nS: 250 mx");
    assert!(h.conn.is_ready());
    assert!(!h.conn.tls_info().unwrap().peer_verified);
}

#[test]
fn opportunistic_without_starttls_goes_on_in_plaintext() {
    let mut h = Harness::new(config().with_tls(TlsPolicy::opportunistic()));
    h.script("S: 220 mx\nC: EHLO client.example\nS: 250 mx");
    assert!(h.conn.is_ready());
    assert_eq!(h.starttls, 0);
}

#[test]
fn disabled_tls_never_starts_tls() {
    let mut h = Harness::new(config().with_tls(TlsPolicy::Disabled));
    h.script("S: 220 mx\nC: EHLO client.example\nS: 250-mx\nS: 250 STARTTLS");
    assert!(h.conn.is_ready());
    assert_eq!(h.take_sent(), "");
}

#[test]
fn refused_starttls_asks_the_application_continue() {
    let mut h = at_starttls(TlsPolicy::opportunistic());
    h.server("454 4.7.0 TLS not available");
    let events = h.take_events();
    let token = match &events[..] {
        [ClientEvent::TlsPolicyRequest { token, reply }] => {
            assert_eq!(reply.to_string(), "454 4.7.0 TLS not available");
            *token
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(h.conn.phase(), Phase::PolicyDecision);
    assert!(
        h.conn.poll_timeout().is_some(),
        "the decision has a deadline"
    );
    h.conn
        .decide_plaintext(h.now, token, PlaintextDecision::Continue)
        .unwrap();
    h.drain();
    assert!(h.conn.is_ready());
    assert!(matches!(h.take_events()[..], [ClientEvent::Ready { .. }]));
    assert_eq!(
        h.conn
            .decide_plaintext(h.now, token, PlaintextDecision::Continue),
        Err(UsageError::UnknownToken)
    );
}

#[test]
fn refused_starttls_asks_the_application_abandon() {
    let mut h = at_starttls(TlsPolicy::opportunistic());
    h.server("454 4.7.0 TLS not available");
    let token = match h.take_events().pop() {
        Some(ClientEvent::TlsPolicyRequest { token, .. }) => token,
        e => panic!("{e:?}"),
    };
    h.conn
        .decide_plaintext(h.now, token, PlaintextDecision::Abandon)
        .unwrap();
    h.script("C: QUIT\nS: 221 bye");
    assert_eq!(h.closed().unwrap().kind, CloseKind::TlsAbandoned);
}

#[test]
fn refused_starttls_fixed_policies() {
    let mut h = at_starttls(opportunistic(StartTlsRefused::Continue));
    h.server("454 no");
    assert!(h.conn.is_ready());
    let mut h = at_starttls(opportunistic(StartTlsRefused::Abandon));
    h.script("S: 454 no\nC: QUIT\nS: 221 bye");
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::TlsAbandoned);
    assert_eq!(reason.reply.unwrap().code().as_u16(), 454);
}

#[test]
fn bytes_injected_after_the_220_are_never_read_as_replies() {
    let mut h = at_starttls(TlsPolicy::opportunistic());
    // A man in the middle appends a fake EHLO reply (without STARTTLS, with
    // AUTH PLAIN) behind the 220 in the same plaintext read.
    h.feed(b"220 go ahead\r\n250-evil\r\n250 AUTH PLAIN\r\n");
    assert_eq!(h.starttls, 1);
    assert_eq!(h.conn.buffered_len(), 0);
    h.conn.tls_established(h.now, tls(true)).unwrap();
    h.drain();
    h.script("C: EHLO client.example");
    assert!(
        !h.conn.is_ready(),
        "the injected reply was not taken as the EHLO reply"
    );
    h.server("250-mx.example.com\n250 SIZE 10");
    assert!(h.conn.is_ready());
    let caps = h.conn.capabilities().unwrap();
    assert!(caps.auth.is_empty());
    assert_eq!(caps.size, Some(10));
    assert_eq!(h.conn.ehlo().unwrap().domain, "mx.example.com");
}

#[test]
fn a_partial_injected_reply_is_dropped_too() {
    let mut h = at_starttls(TlsPolicy::opportunistic());
    h.feed(b"220 go ahead\r\n250-evil\r\n250 AU");
    h.conn.tls_established(h.now, tls(true)).unwrap();
    h.drain();
    h.script("C: EHLO client.example\nS: 250 mx");
    assert!(h.conn.is_ready());
    assert_eq!(h.conn.ehlo().unwrap().domain, "mx");
}

#[test]
fn a_220_sent_before_starttls_is_refused() {
    let mut h = Harness::new(config().with_tls(TlsPolicy::opportunistic()));
    h.script("S: 220 mx\nC: EHLO client.example");
    h.feed(b"250-mx\r\n250 STARTTLS\r\n220 ready for TLS\r\n");
    assert_eq!(h.starttls, 0);
    assert_eq!(
        h.closed().unwrap().kind,
        CloseKind::ProtocolViolation("reply sent before its command")
    );
}

#[test]
fn implicit_tls_skips_starttls() {
    let session = ClientSession::new("mx.example.com").with_implicit_tls(tls(true));
    let mut h = Harness::with_session(config().with_tls(TlsPolicy::required()), session);
    h.script("S: 220 mx\nC: EHLO client.example\nS: 250-mx\nS: 250 STARTTLS");
    assert!(h.conn.is_ready());
    assert_eq!(h.starttls, 0);

    let session = ClientSession::new("mx.example.com").with_implicit_tls(tls(false));
    let h = Harness::with_session(config().with_tls(TlsPolicy::required()), session);
    assert_eq!(h.closed().unwrap().kind, CloseKind::CertificateNotVerified);
    assert!(h.close_seen);
}

#[test]
fn stopping_after_tls_under_implicit_tls_quits_after_the_greeting() {
    let session = ClientSession::new("mx.example.com").with_implicit_tls(tls(true));
    let mut stopping = config().with_tls(TlsPolicy::required());
    stopping.stop_after = Some(mailwire_core::client::StopPoint::Tls);
    let mut h = Harness::with_session(stopping, session);
    h.script("S: 220 mx\nC: QUIT\nS: 221 bye");
    let reason = h.closed().unwrap();
    assert_eq!(
        reason.kind,
        CloseKind::Stopped(mailwire_core::client::StopPoint::Tls)
    );
    assert!(h.close_seen);

    // Over STARTTLS the stop stays right after the handshake.
    let mut stopping = config().with_tls(TlsPolicy::required());
    stopping.stop_after = Some(mailwire_core::client::StopPoint::Tls);
    let mut h = Harness::new(stopping);
    h.script(
        "S: 220 mx\nC: EHLO client.example\nS: 250-mx\nS: 250 STARTTLS\nC: STARTTLS\nS: 220 go",
    );
    h.conn.tls_established(h.now, tls(true)).unwrap();
    h.script("C: QUIT");
}

#[test]
fn starttls_then_ehlo_refused_may_fall_back_to_helo() {
    let mut h = at_starttls(TlsPolicy::required());
    h.server("220 go");
    h.conn.tls_established(h.now, tls(true)).unwrap();
    h.script(
        "C: EHLO client.example
         S: 500 no
         C: HELO client.example
         S: 250 mx",
    );
    assert!(h.conn.is_ready(), "TLS is already on: HELO is fine");
}

#[test]
fn handshake_failure_reported_as_eof() {
    let mut h = at_starttls(TlsPolicy::required());
    h.server("220 go");
    h.eof();
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ConnectionLost);
    assert_eq!(reason.phase, Phase::TlsHandshake);
}
