//! Server transcripts: STARTTLS (and its injection defence), implicit TLS,
//! and the TLS policies (require TLS, REQUIRETLS).

mod common;

use std::time::Duration;

use common::{Harness, auth_config, b64, config, default_decider, tls_config, tls13, upgrade};
use mailwire_core::UsageError;
use mailwire_core::sasl::Mechanism;
use mailwire_core::server::{CloseKind, ServerEvent, SessionInfo, TimeoutKind};

// ---------------------------------------------------------------------------
// STARTTLS.

#[test]
fn starttls_restarts_the_session() {
    let mut h = Harness::new(tls_config());
    let ehlo = h.ehlo();
    assert!(ehlo.contains("STARTTLS\r\n"));
    assert_eq!(h.cmd("STARTTLS"), "220 2.0.0 Ready to start TLS\r\n");
    // The 220 is flushed before StartTls: one queue keeps the order.
    assert!(h.starttls);
    assert!(!h.conn.wants_read());
    assert_eq!(
        h.conn.handle_input(h.now, b"EHLO x\r\n"),
        Err(UsageError::NotReading)
    );
    h.conn.tls_established(h.now, tls13()).unwrap();
    h.drain();
    assert!(matches!(h.events.last(), Some(ServerEvent::TlsUpgraded(_))));
    assert!(h.conn.is_tls());
    assert_eq!(
        h.conn.tls_info().map(|t| t.version.as_str()),
        Some("TLSv1.3")
    );
    // Back to just greeted: EHLO needed again, no STARTTLS offered.
    assert_eq!(h.conn.helo_domain(), None);
    assert_eq!(
        h.cmd("MAIL FROM:<a@example.net>"),
        "503 Send HELO/EHLO first\r\n"
    );
    let ehlo = h.ehlo();
    assert!(!ehlo.contains("STARTTLS"));
    assert_eq!(h.cmd("STARTTLS"), "503 5.5.1 TLS already active\r\n");
    assert_eq!(
        h.conn.tls_established(h.now, tls13()),
        Err(UsageError::InvalidState("no TLS handshake was requested"))
    );
}

#[test]
fn commands_injected_behind_starttls_are_never_run() {
    let mut h = Harness::new(tls_config());
    h.ehlo();
    assert_eq!(
        h.input(b"STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.org>\r\n"),
        "220 2.0.0 Ready to start TLS\r\n"
    );
    assert_eq!(h.conn.buffered_len(), 0);
    h.conn.tls_established(h.now, tls13()).unwrap();
    h.drain();
    // Nothing is answered and nothing reached the application.
    assert_eq!(h.count(|e| matches!(e, ServerEvent::MailRequest { .. })), 0);
    assert!(h.ehlo().lines().count() > 1);
    assert_eq!(
        h.cmd("RCPT TO:<victim@example.org>"),
        "503 5.5.1 Need MAIL command\r\n"
    );
}

#[test]
fn starttls_refusals() {
    let mut h = Harness::new(tls_config());
    assert_eq!(h.cmd("STARTTLS"), "503 Send EHLO first\r\n");
    h.ehlo();
    h.script(
        "C: STARTTLS now
         S: 501 5.5.4 No parameters allowed
         C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: STARTTLS
         S: 503 5.5.1 STARTTLS not allowed during a mail transaction",
    );
    assert!(!h.starttls);
    let mut h = Harness::new(config());
    let ehlo = h.ehlo();
    assert!(!ehlo.contains("STARTTLS"));
    assert_eq!(h.cmd("STARTTLS"), "502 5.5.1 STARTTLS not available\r\n");
}

#[test]
fn tls_handshake_has_a_deadline() {
    let mut h = Harness::new(tls_config());
    h.ehlo();
    h.cmd("STARTTLS");
    let out_before = h.out.len();
    assert_eq!(h.conn.poll_timeout(), Some(h.now + Duration::from_secs(60)));
    h.sleep(Duration::from_secs(59));
    assert!(!h.closed);
    h.sleep(Duration::from_secs(1));
    assert!(h.closed);
    assert_eq!(
        h.close_reason(),
        Some(CloseKind::Timeout(TimeoutKind::TlsHandshake))
    );
    assert_eq!(h.out.len(), out_before, "no plaintext reply mid-handshake");
}

#[test]
fn require_tls_policy() {
    let mut c = tls_config();
    c.require_tls = true;
    c.auth_mechanisms = vec![Mechanism::ScramSha256];
    let mut h = Harness::new(c);
    let ehlo = h.ehlo();
    assert!(!ehlo.contains("AUTH"), "AUTH is not offered before TLS");
    h.script(
        "C: NOOP
         S: 250 2.0.0 OK
         C: RSET
         S: 250 2.0.0 OK
         C: MAIL FROM:<a@example.net>
         S: 530 5.7.0 Must issue a STARTTLS command first
         C: AUTH SCRAM-SHA-256
         S: 530 5.7.0 Must issue a STARTTLS command first
         C: VRFY x
         S: 530 5.7.0 Must issue a STARTTLS command first
         C: HELP
         S: 530 5.7.0 Must issue a STARTTLS command first
         C: HELO client.example.net
         S: 250 mx.example.org Hello client.example.net",
    );
    h.ehlo();
    upgrade(&mut h);
    let ehlo = h.ehlo();
    assert!(ehlo.contains("AUTH SCRAM-SHA-256"));
    assert_eq!(h.code("MAIL FROM:<a@example.net>"), 250);
}

#[test]
fn requiretls_is_only_offered_over_tls() {
    let mut c = tls_config();
    c.extensions.requiretls = true;
    let mut h = Harness::new(c);
    assert!(!h.ehlo().contains("REQUIRETLS"));
    assert_eq!(
        h.cmd("MAIL FROM:<a@example.net> REQUIRETLS"),
        "555 5.5.4 Unsupported parameter REQUIRETLS\r\n"
    );
    upgrade(&mut h);
    assert!(h.ehlo().contains("REQUIRETLS"));
    assert_eq!(h.code("MAIL FROM:<a@example.net> REQUIRETLS"), 250);
}

#[test]
fn implicit_tls() {
    let mut c = auth_config();
    c.extensions.requiretls = true;
    let session = SessionInfo::default().with_tls(tls13());
    let mut h = Harness::with(c, session, default_decider());
    assert!(h.conn.is_tls());
    let ehlo = h.ehlo();
    assert!(!ehlo.contains("STARTTLS"));
    assert!(ehlo.contains("REQUIRETLS"));
    assert!(ehlo.contains("AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN\r\n"));
}

#[test]
fn tls_forgets_the_authentication() {
    let mut c = auth_config();
    c.allow_plaintext_auth = true;
    let mut h = Harness::new(c);
    h.ehlo();
    let ir = b64("\0tim\0tanstaaftanstaaf");
    assert_eq!(
        h.cmd(&format!("AUTH PLAIN {ir}")),
        "235 2.7.0 Authentication successful\r\n"
    );
    assert!(h.conn.authenticated().is_some());
    upgrade(&mut h);
    assert!(h.conn.authenticated().is_none());
    h.ehlo();
    assert_eq!(h.code(&format!("AUTH PLAIN {ir}")), 235);
}
