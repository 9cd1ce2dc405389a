//! Server transcripts: greeting, host refusal, HELO/EHLO, the simple verbs,
//! enhanced status codes, decisions and their validation, postmaster,
//! QUIT and shutdown.

mod common;

use common::{Answer, Harness, config, default_decider, refuse};
use mailwire_core::UsageError;
use mailwire_core::server::{CloseKind, ServerEvent, SessionInfo, Verdict};
use mailwire_core::wire::address::Domain;
use mailwire_core::wire::reply::Reply;

#[test]
fn greeting_ehlo_quit() {
    let mut h = Harness::new(config());
    assert_eq!(
        String::from_utf8_lossy(&h.out),
        "220 mx.example.org ESMTP test\r\n"
    );
    assert!(matches!(h.events[0], ServerEvent::ConnectRequest { .. }));
    h.script(
        "C: EHLO client.example.net
         S: 250-mx.example.org Hello client.example.net
         S: 250-PIPELINING
         S: 250-8BITMIME
         S: 250-SMTPUTF8
         S: 250-SIZE 10240000
         S: 250-CHUNKING
         S: 250-BINARYMIME
         S: 250-DSN
         S: 250 ENHANCEDSTATUSCODES
         C: QUIT
         S: 221 2.0.0 mx.example.org Service closing transmission channel",
    );
    assert!(h.closed);
    assert_eq!(h.close_reason(), Some(CloseKind::Quit));
    assert!(h.conn.is_closed());
    assert_eq!(h.conn.poll_timeout(), None);
}

#[test]
fn the_close_reason_carries_the_reply_and_the_command_and_reads_as_a_sentence() {
    let mut h = Harness::new(config());
    h.ehlo();
    h.cmd("QUIT");
    let reason = h
        .events
        .iter()
        .find_map(|e| match e {
            ServerEvent::Closed(r) => Some(r.clone()),
            _ => None,
        })
        .expect("a Closed event");
    assert!(reason.is_normal());
    assert_eq!(reason.command.as_deref(), Some("QUIT"));
    assert_eq!(reason.reply.as_ref().map(|r| r.code().as_u16()), Some(221));
    assert_eq!(
        reason.to_string(),
        "the client quit (command \"QUIT\"): the server answered \
         221 2.0.0 mx.example.org Service closing transmission channel"
    );
    let mut h = Harness::new(config());
    h.conn.handle_eof(h.now);
    h.drain();
    assert_eq!(h.close_reason(), Some(CloseKind::PeerClosed));
    let text = h
        .events
        .iter()
        .find_map(|e| match e {
            ServerEvent::Closed(r) => Some(r.to_string()),
            _ => None,
        })
        .expect("a Closed event");
    assert_eq!(text, "the client closed the connection");
}

#[test]
fn greeting_waits_for_the_connect_decision() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::ConnectRequest { .. } => Answer::Defer,
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    assert!(h.out.is_empty(), "nothing before the decision");
    assert!(!h.conn.wants_read());
    assert_eq!(
        h.conn.handle_input(h.now, b"EHLO x\r\n"),
        Err(UsageError::NotReading)
    );
    assert_eq!(
        h.decide(Verdict::Accept),
        "220 mx.example.org ESMTP test\r\n"
    );
    assert!(h.conn.wants_read());
}

#[test]
fn empty_banner() {
    let mut c = config();
    c.banner.clear();
    let h = Harness::new(c);
    assert_eq!(
        String::from_utf8_lossy(&h.out),
        "220 mx.example.org ESMTP\r\n"
    );
}

fn refusing_host() -> Harness {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::ConnectRequest { .. } => refuse(554, "5.7.1", "Access denied: listed"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    Harness::with(config(), SessionInfo::default(), decider)
}

#[test]
fn refused_host_gets_503_then_421() {
    let mut h = refusing_host();
    // No enhanced code before EHLO was accepted.
    assert_eq!(
        String::from_utf8_lossy(&h.out),
        "554 Access denied: listed\r\n"
    );
    h.script(
        "C: EHLO client.example.net
         S: 503 Bad sequence of commands
         C: XYZZY
         S: 503 Bad sequence of commands
         C: MAIL FROM:<a@example.net>
         S: 503 Bad sequence of commands
         S: 421 Closing connection",
    );
    assert_eq!(h.close_reason(), Some(CloseKind::HostRefused));
    assert_eq!(
        h.count(|e| matches!(
            e,
            ServerEvent::HeloRequest { .. } | ServerEvent::MailRequest { .. }
        )),
        0
    );
}

#[test]
fn refused_host_may_quit() {
    let mut h = refusing_host();
    h.script(
        "C: NOOP
         S: 503 Bad sequence of commands
         C: QUIT
         S: 221 mx.example.org Service closing transmission channel",
    );
    assert_eq!(h.close_reason(), Some(CloseKind::Quit));
}

#[test]
fn connect_refused_with_421_closes_at_once() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::ConnectRequest { .. } => refuse(421, "4.3.2", "Busy"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let h = Harness::with(config(), SessionInfo::default(), decider);
    assert_eq!(String::from_utf8_lossy(&h.out), "421 Busy\r\n");
    assert!(h.closed);
    assert_eq!(h.close_reason(), Some(CloseKind::HostRefused));
}

#[test]
fn helo_and_address_literals() {
    let mut h = Harness::new(config());
    h.script(
        "C: HELO [192.0.2.1]
         S: 250 mx.example.org Hello [192.0.2.1]
         C: EHLO [IPv6:2001:db8::1]
         S: 250-mx.example.org Hello [IPv6:2001:db8::1]
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250-*
         S: 250 ENHANCEDSTATUSCODES",
    );
    let helos: Vec<_> = h
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::HeloRequest {
                domain, extended, ..
            } => Some((domain.clone(), *extended)),
            _ => None,
        })
        .collect();
    assert_eq!(
        helos,
        [
            (Domain::Ipv4("192.0.2.1".parse().unwrap()), false),
            (Domain::Ipv6("2001:db8::1".parse().unwrap()), true)
        ]
    );
    assert!(h.conn.is_extended());
}

#[test]
fn helo_syntax_errors_have_no_enhanced_codes() {
    let mut h = Harness::new(config());
    h.ehlo();
    h.script(
        "C: EHLO
         S: 501 Syntax: EHLO hostname
         C: HELO a b
         S: 501 Syntax: HELO hostname
         C: EHLO -bad-
         S: 501 Invalid domain name",
    );
}

#[test]
fn second_ehlo_resets_the_transaction() {
    let mut h = Harness::new(config());
    h.ehlo();
    assert_eq!(h.code("MAIL FROM:<a@example.net>"), 250);
    assert_eq!(h.code("RCPT TO:<b@example.org>"), 250);
    h.ehlo();
    assert_eq!(
        h.cmd("RCPT TO:<b@example.org>"),
        "503 5.5.1 Need MAIL command\r\n"
    );
    assert_eq!(h.cmd("DATA"), "503 5.5.1 Need MAIL command\r\n");
    assert_eq!(h.code("MAIL FROM:<a@example.net>"), 250);
}

#[test]
fn refused_ehlo_leaves_the_client_ungreeted() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::HeloRequest { .. } => refuse(550, "5.7.1", "Go away"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    assert_eq!(h.ehlo(), "550 Go away\r\n");
    assert_eq!(
        h.cmd("MAIL FROM:<a@example.net>"),
        "503 Send HELO/EHLO first\r\n"
    );
}

#[test]
fn simple_verbs() {
    let mut c = config();
    c.limits.max_errors = 100;
    let mut h = Harness::new(c);
    h.ehlo();
    h.script(
        "C: NOOP
         S: 250 2.0.0 OK
         C: NOOP anything at all
         S: 250 2.0.0 OK
         C: RSET
         S: 250 2.0.0 OK
         C: HELP
         S: 214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT
         S: 214-2.0.0 VRFY EXPN HELP STARTTLS AUTH
         S: 214 2.0.0 End of HELP
         C: VRFY postmaster
         S: 252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery
         C: EXPN staff
         S: 502 5.5.1 EXPN not available
         C: XYZZY
         S: 500 5.5.2 Command unrecognized
         C: LHLO client.example.net
         S: 500 5.5.2 Command unrecognized
         C:
         S: 500 5.5.2 Command unrecognized
         C: RSET now
         S: 501 5.5.4 No parameters allowed
         C: VRFY
         S: 501 5.5.4 Argument required
         C: QUIT now
         S: 501 5.5.4 No parameters allowed
         C: MAIL TO:<a@example.net>
         S: 501 5.5.4 Syntax: MAIL FROM:<address>
         C: MAIL FROM:<a@@example.net>
         S: 501 5.1.7 Bad sender address syntax
         C: RCPT TO:<b@example.org>
         S: 503 5.5.1 Need MAIL command
         C: DATA
         S: 503 5.5.1 Need MAIL command
         C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: MAIL FROM:<a@example.net>
         S: 503 5.5.1 Nested MAIL command
         C: RCPT TO:<>
         S: 501 5.1.3 Bad recipient address syntax
         C: RCPT TO:b@example.org
         S: 501 5.1.3 Bad recipient address syntax",
    );
}

#[test]
fn control_bytes_in_a_command() {
    let mut h = Harness::new(config());
    h.ehlo();
    assert_eq!(
        h.input(b"NOOP\rQUIT\r\n"),
        "500 5.5.2 Invalid character in command\r\n"
    );
    assert_eq!(
        h.input(b"MAIL FROM:<a\0@example.net>\r\n"),
        "501 5.5.2 Invalid character in command\r\n"
    );
    assert!(!h.closed);
}

#[test]
fn configurable_vrfy() {
    let mut c = config();
    c.vrfy_reply = Reply::simple(502, "5.5.1", "VRFY disabled").unwrap();
    let mut h = Harness::new(c);
    h.ehlo();
    assert_eq!(h.cmd("VRFY someone"), "502 5.5.1 VRFY disabled\r\n");
}

#[test]
fn mail_needs_a_greeting() {
    let mut h = Harness::new(config());
    assert_eq!(
        h.cmd("MAIL FROM:<a@example.net>"),
        "503 Send HELO/EHLO first\r\n"
    );
}

#[test]
fn enhanced_codes_only_after_ehlo_and_when_configured() {
    // HELO session: no enhanced codes, not even on application verdicts.
    let mut h = Harness::new(config());
    h.cmd("HELO client.example.net");
    assert_eq!(h.cmd("MAIL FROM:<a@example.net>"), "250 Sender OK\r\n");
    assert_eq!(h.cmd("RCPT TO:<bad@example.org>"), "550 No such user\r\n");

    // Configured off: stripped even from EHLO sessions.
    let mut c = config();
    c.extensions.enhanced_status_codes = false;
    let mut h = Harness::new(c);
    let ehlo = h.ehlo();
    assert!(!ehlo.contains("ENHANCEDSTATUSCODES"));
    assert_eq!(h.cmd("NOOP"), "250 OK\r\n");
    assert_eq!(
        h.cmd("RCPT TO:<x@example.org>"),
        "503 Need MAIL command\r\n"
    );
    assert_eq!(h.cmd("MAIL FROM:<a@example.net>"), "250 Sender OK\r\n");
    assert_eq!(h.cmd("RCPT TO:<bad@example.org>"), "550 No such user\r\n");
}

#[test]
fn verdicts_without_enhanced_codes_get_one() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::RcptRequest { .. } => Answer::Verdict(Verdict::Reply(
            Reply::simple(450, "", "Greylisted").unwrap(),
        )),
        ServerEvent::MailRequest { .. } => Answer::Verdict(Verdict::Reply(
            Reply::simple(250, "", "Fine by me").unwrap(),
        )),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    assert_eq!(
        h.cmd("MAIL FROM:<a@example.net>"),
        "250 2.1.0 Fine by me\r\n"
    );
    assert_eq!(h.cmd("RCPT TO:<b@example.org>"), "450 4.0.0 Greylisted\r\n");
}

#[test]
fn custom_ehlo_and_greeting_text() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::ConnectRequest { .. } => Answer::Verdict(Verdict::Reply(
            Reply::simple(220, "", "mx.example.org welcomes you").unwrap(),
        )),
        ServerEvent::HeloRequest { .. } => Answer::Verdict(Verdict::Reply(
            Reply::simple(250, "", "at your service").unwrap(),
        )),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    assert_eq!(
        String::from_utf8_lossy(&h.out),
        "220 mx.example.org welcomes you\r\n"
    );
    assert!(
        h.ehlo()
            .starts_with("250-mx.example.org at your service\r\n")
    );
    assert_eq!(h.cmd("HELO client"), "250 at your service\r\n");
}

#[test]
fn decisions_are_validated() {
    let decider = Box::new(|_: &ServerEvent| Answer::Defer);
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    let connect = *h.deferred.front().unwrap();
    let r = |code: u16| Verdict::Reply(Reply::simple(code, "", "text").unwrap());
    // A connection is accepted with 220 only.
    assert!(matches!(
        h.conn.decide(h.now, connect, r(250)),
        Err(UsageError::InvalidReply(_))
    ));
    assert!(matches!(
        h.conn.decide(h.now, connect, r(354)),
        Err(UsageError::InvalidReply(_))
    ));
    assert_eq!(
        h.decide(Verdict::Accept),
        "220 mx.example.org ESMTP test\r\n"
    );
    // The token is now stale.
    assert_eq!(
        h.conn.decide(h.now, connect, Verdict::Accept),
        Err(UsageError::UnknownToken)
    );
    assert!(h.input(b"EHLO client.example.net\r\n").is_empty());
    let helo = *h.deferred.front().unwrap();
    assert_ne!(helo, connect);
    assert!(helo.seq() > connect.seq());
    h.decide(Verdict::Accept);
    h.input(b"MAIL FROM:<a@example.net>\r\n");
    let mail = *h.deferred.front().unwrap();
    assert!(matches!(
        h.conn.decide(h.now, mail, r(251)),
        Err(UsageError::InvalidReply(_))
    ));
    assert!(matches!(
        h.conn.decide(h.now, mail, r(235)),
        Err(UsageError::InvalidReply(_))
    ));
    // The state is unchanged by a refused call.
    assert!(!h.conn.wants_read());
    h.decide(Verdict::Accept);
    h.input(b"RCPT TO:<b@example.org>\r\n");
    assert_eq!(h.decide(r(251)), "251 2.1.5 text\r\n");
    // supply_secret only answers secret requests.
    h.input(b"RCPT TO:<c@example.org>\r\n");
    let rcpt = *h.deferred.front().unwrap();
    assert_eq!(
        h.conn.supply_secret(h.now, rcpt, None),
        Err(UsageError::UnknownToken)
    );
    assert_eq!(h.decide(r(550)), "550 5.0.0 text\r\n");
    h.input(b"DATA\r\nhi\r\n.\r\n");
    let message = *h.deferred.front().unwrap();
    assert!(matches!(
        h.conn.decide(h.now, message, r(251)),
        Err(UsageError::InvalidReply(_))
    ));
    assert_eq!(h.decide(Verdict::Accept), "250 2.0.0 Message accepted\r\n");
}

#[test]
fn input_while_deciding_is_refused() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::MailRequest { .. } => Answer::Defer,
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    assert_eq!(h.cmd("MAIL FROM:<a@example.net>"), "");
    assert!(!h.conn.wants_read());
    assert_eq!(
        h.conn.handle_input(h.now, b"NOOP\r\n"),
        Err(UsageError::NotReading)
    );
    assert_eq!(h.decide(Verdict::Accept), "250 2.1.0 Sender OK\r\n");
    assert!(h.conn.wants_read());
}

#[test]
fn input_after_quit_is_ignored() {
    let mut h = Harness::new(config());
    h.ehlo();
    assert_eq!(
        h.input(b"QUIT\r\nNOOP\r\nMAIL FROM:<a@example.net>\r\n"),
        "221 2.0.0 mx.example.org Service closing transmission channel\r\n"
    );
    assert!(h.closed);
    assert_eq!(
        h.conn.handle_input(h.now, b"NOOP\r\n"),
        Err(UsageError::Closed)
    );
    assert_eq!(h.conn.poll_action(), None);
    assert_eq!(h.count(|e| matches!(e, ServerEvent::MailRequest { .. })), 0);
}

#[test]
fn postmaster_is_always_accepted_locally() {
    let decider = Box::new(|e: &ServerEvent| match e {
        // An application that refuses every recipient.
        ServerEvent::RcptRequest { .. } => refuse(550, "5.7.1", "Relaying denied"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    h.script(
        "C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<Postmaster>
         S: 250 2.1.5 Recipient OK
         C: RCPT TO:<postmaster@Example.ORG>
         S: 250 2.1.5 Recipient OK
         C: RCPT TO:<postmaster@elsewhere.example>
         S: 550 5.7.1 Relaying denied
         C: RCPT TO:<someone@example.org>
         S: 550 5.7.1 Relaying denied",
    );
    let flags: Vec<bool> = h
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::RcptRequest {
                is_local_postmaster,
                ..
            } => Some(*is_local_postmaster),
            _ => None,
        })
        .collect();
    assert_eq!(flags, [true, true, false, false]);
}

#[test]
fn a_421_verdict_closes_even_for_postmaster() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::RcptRequest { .. } => refuse(421, "4.3.2", "Shutting down"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    h.cmd("MAIL FROM:<a@example.net>");
    assert_eq!(
        h.input(b"RCPT TO:<Postmaster>\r\nNOOP\r\n"),
        "421 4.3.2 Shutting down\r\n"
    );
    assert!(h.closed);
    assert_eq!(h.close_reason(), Some(CloseKind::ServiceClosing));
    // The reason carries the verdict's 421.
    let reply = h.events.iter().find_map(|e| match e {
        ServerEvent::Closed(r) => r.reply.as_ref().map(|r| r.code().as_u16()),
        _ => None,
    });
    assert_eq!(reply, Some(421));
}

#[test]
fn shutdown_when_idle_is_immediate() {
    let mut h = Harness::new(config());
    h.ehlo();
    h.conn.shutdown(h.now);
    h.drain();
    assert!(
        String::from_utf8_lossy(&h.out)
            .ends_with("421 4.3.2 Service shutting down, closing connection\r\n")
    );
    assert_eq!(h.close_reason(), Some(CloseKind::Shutdown));
}

#[test]
fn shutdown_waits_for_the_message_in_progress() {
    let mut h = Harness::new(config());
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n");
    h.conn.shutdown(h.now);
    h.drain();
    assert!(!h.closed, "the body is still being received");
    assert_eq!(
        h.input(b"\r\nbody\r\n.\r\nNOOP\r\n"),
        "250 2.0.0 Message accepted\r\n421 4.3.2 Service shutting down, closing connection\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::Shutdown));
    assert_eq!(
        h.count(|e| matches!(e, ServerEvent::MessageRequest { .. })),
        1
    );
}

#[test]
fn shutdown_waits_for_a_pending_decision() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::MailRequest { .. } => Answer::Defer,
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    h.cmd("MAIL FROM:<a@example.net>");
    h.conn.shutdown(h.now);
    h.drain();
    assert!(!h.closed);
    assert_eq!(
        h.decide(Verdict::Accept),
        "250 2.1.0 Sender OK\r\n421 4.3.2 Service shutting down, closing connection\r\n"
    );
}

#[test]
fn session_facts_reach_the_application() {
    let local = "192.0.2.25:25".parse().unwrap();
    let peer = "198.51.100.7:40000".parse().unwrap();
    let h = Harness::with(
        config(),
        SessionInfo::new(Some(local), Some(peer)),
        default_decider(),
    );
    match &h.events[0] {
        ServerEvent::ConnectRequest { session, .. } => {
            assert_eq!(session.peer, Some(peer));
            assert_eq!(session.local, Some(local));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.conn.session().peer, Some(peer));
}

#[test]
fn configured_replies_get_an_enhanced_code_when_in_use() {
    let mut c = config();
    c.vrfy_reply = Reply::simple(252, "", "Maybe").unwrap();
    let mut h = Harness::new(c);
    assert_eq!(h.cmd("VRFY x"), "252 Maybe\r\n");
    h.ehlo();
    assert_eq!(h.cmd("VRFY x"), "252 2.0.0 Maybe\r\n");
}
