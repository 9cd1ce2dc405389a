//! Server transcripts: what a hostile peer meets — over-long lines answered
//! at once and dropped up to the discard limit, bounded buffering, protocol
//! errors and refusals counted apart — and end of stream.

mod common;

use common::{Answer, Harness, auth_config, config, refuse};
use mailwire_core::server::{AbortReason, CloseKind, ServerEvent, SessionInfo, Verdict};

fn ready() -> Harness {
    let mut h = Harness::new(config());
    h.ehlo();
    h
}

fn aborted(h: &Harness, reason: AbortReason) -> usize {
    h.count(|e| matches!(e, ServerEvent::MessageAborted { reason: r, .. } if *r == reason))
}

fn deferring(what: fn(&ServerEvent) -> bool) -> Harness {
    let decider = Box::new(move |e: &ServerEvent| {
        if what(e) {
            Answer::Defer
        } else {
            Answer::Verdict(Verdict::Accept)
        }
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    h
}

// ---------------------------------------------------------------------------
// Lines and buffers.

#[test]
fn over_long_command_line() {
    let mut h = ready();
    let line = format!("NOOP {}", "x".repeat(600));
    assert_eq!(h.cmd(&line), "500 5.5.2 Line too long\r\n");
    assert!(!h.closed);
    assert_eq!(h.cmd("NOOP"), "250 2.0.0 OK\r\n");
    // 512 octets including CRLF is fine; 513 is not.
    let ok = format!("NOOP {}", "x".repeat(512 - 7));
    assert_eq!(h.cmd(&ok), "250 2.0.0 OK\r\n");
    let long = format!("NOOP {}", "x".repeat(512 - 6));
    assert_eq!(h.cmd(&long), "500 5.5.2 Line too long\r\n");
}

#[test]
fn an_endless_line_is_answered_at_once_and_not_buffered() {
    let mut h = ready();
    // The limit is passed in the first input: answered then, not when (if
    // ever) the line ends.
    assert_eq!(h.input(&[b'A'; 1000]), "500 5.5.2 Line too long\r\n");
    assert!(h.conn.buffered_len() < 512, "{}", h.conn.buffered_len());
    for _ in 0..200 {
        assert_eq!(h.input(&[b'A'; 1000]), "");
        assert!(h.conn.buffered_len() < 512, "{}", h.conn.buffered_len());
    }
    // Its end brings no second reply, and the next line is a command.
    assert_eq!(h.input(b"AAA\r\nNOOP\r\n"), "250 2.0.0 OK\r\n");
    assert!(!h.closed);
    // The same when the limit is passed byte by byte.
    for _ in 0..511 {
        assert_eq!(h.input(b"B"), "");
    }
    assert_eq!(h.input(b"B"), "500 5.5.2 Line too long\r\n");
    assert_eq!(h.input(b"B\r\nNOOP\r\n"), "250 2.0.0 OK\r\n");
}

#[test]
fn an_over_long_line_counts_one_error() {
    let mut c = config();
    c.limits.max_errors = 2;
    let mut h = Harness::new(c);
    h.ehlo();
    assert_eq!(h.input(&[b'A'; 600]), "500 5.5.2 Line too long\r\n");
    assert_eq!(h.input(&[b'A'; 600]), "");
    assert_eq!(h.input(b"\r\n"), "");
    assert!(!h.closed);
    assert_eq!(
        h.input(&[b'A'; 600]),
        "500 5.5.2 Line too long\r\n421 4.7.0 Too many errors, closing connection\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::TooManyErrors));
}

#[test]
fn past_the_discard_limit_the_session_closes() {
    let mut c = config();
    c.limits.max_discard = 10_000;
    let mut h = Harness::new(c);
    h.ehlo();
    assert_eq!(h.input(&[b'A'; 4000]), "500 5.5.2 Line too long\r\n");
    assert_eq!(h.input(&[b'A'; 6000]), "", "10,000 octets: at the limit");
    assert!(!h.closed);
    assert_eq!(
        h.input(b"A"),
        "421 4.7.0 Line too long, closing connection\r\n"
    );
    assert!(h.closed);
    assert_eq!(h.close_reason(), Some(CloseKind::DiscardLimit));

    // A whole line over the limit in one input: its reply, then 421.
    let mut c = config();
    c.limits.max_discard = 1000;
    let mut h = Harness::new(c);
    h.ehlo();
    let mut line = vec![b'A'; 1000];
    line.extend_from_slice(b"\r\nNOOP\r\n");
    assert_eq!(
        h.input(&line),
        "500 5.5.2 Line too long\r\n421 4.7.0 Line too long, closing connection\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::DiscardLimit));
}

#[test]
fn the_default_discard_limit_is_one_mib() {
    let mut h = ready();
    assert_eq!(h.input(&[b'A'; 1 << 16]), "500 5.5.2 Line too long\r\n");
    for _ in 1..16 {
        assert_eq!(h.input(&[b'A'; 1 << 16]), "");
    }
    assert!(!h.closed, "exactly 1 MiB is still read and dropped");
    assert_eq!(
        h.input(b"A"),
        "421 4.7.0 Line too long, closing connection\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::DiscardLimit));
}

#[test]
fn an_over_long_sasl_response_is_answered_at_once() {
    let mut h = Harness::new(auth_config());
    h.ehlo();
    common::upgrade(&mut h);
    h.ehlo();
    assert_eq!(h.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    // 12,288 octets is the SASL limit.
    assert_eq!(
        h.input(&[b'Q'; 13_000]),
        "500 5.5.6 Authentication exchange line is too long\r\n"
    );
    // The rest of the response is dropped, never run as a command.
    assert_eq!(h.input(b"QUIT\r\nNOOP\r\n"), "250 2.0.0 OK\r\n");
    assert!(!h.closed);
}

#[test]
fn an_over_long_auth_line_drops_what_follows_it() {
    let mut h = Harness::new(auth_config());
    h.ehlo();
    common::upgrade(&mut h);
    h.ehlo();
    let mut start = b"AUTH PLAIN ".to_vec();
    start.extend_from_slice(&[b'Q'; 13_000]);
    assert_eq!(
        h.input(&start),
        "500 5.5.6 Authentication exchange line is too long\r\n"
    );
    // Pipelined behind the AUTH line's end: dropped (AUTH ends a group).
    assert_eq!(h.input(b"QQ\r\nQUIT\r\n"), "");
    assert!(!h.closed);
    assert_eq!(h.cmd("NOOP"), "250 2.0.0 OK\r\n");
}

#[test]
fn a_refused_host_gets_503_for_an_over_long_line_at_once() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::ConnectRequest { .. } => refuse(554, "5.7.1", "Go away"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    assert_eq!(h.input(&[b'A'; 600]), "503 Bad sequence of commands\r\n");
    assert_eq!(h.input(b"\r\n"), "");
    assert!(!h.closed);
}

#[test]
fn pipelined_input_behind_a_decision_stays_bounded() {
    let mut h = deferring(|e| matches!(e, ServerEvent::MailRequest { .. }));
    let mut batch = b"MAIL FROM:<a@example.net>\r\n".to_vec();
    for _ in 0..100 {
        batch.extend_from_slice(b"NOOP\r\n");
    }
    h.input(&batch);
    assert!(h.conn.buffered_len() <= batch.len());
    assert!(!h.conn.wants_read());
    let out = h.decide(Verdict::Accept);
    assert_eq!(out.matches("250 2.0.0 OK").count(), 100);
    assert_eq!(h.conn.buffered_len(), 0);
}

#[test]
fn the_error_limit_closes_the_session() {
    let mut h = ready();
    for _ in 0..9 {
        assert_eq!(h.cmd("XYZZY"), "500 5.5.2 Command unrecognized\r\n");
    }
    assert_eq!(
        h.cmd("XYZZY"),
        "500 5.5.2 Command unrecognized\r\n421 4.7.0 Too many errors, closing connection\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::TooManyErrors));
}

#[test]
fn refused_recipients_are_not_protocol_errors() {
    let mut h = ready();
    h.cmd("MAIL FROM:<a@example.net>");
    for i in 0..20 {
        assert_eq!(
            h.cmd(&format!("RCPT TO:<bad{i}@example.org>")),
            "550 5.1.1 No such user\r\n"
        );
    }
    assert!(!h.closed, "20 refusals are not 10 errors");
    assert_eq!(
        h.cmd("RCPT TO:<good@example.org>"),
        "250 2.1.5 Recipient OK\r\n"
    );
    assert_eq!(
        h.input(b"DATA\r\nSubject: hi\r\n\r\nhi\r\n.\r\n"),
        "354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Message accepted\r\n"
    );
    // Nor do they add up with protocol errors: nine of those still pass.
    for _ in 0..9 {
        assert_eq!(h.cmd("XYZZY"), "500 5.5.2 Command unrecognized\r\n");
    }
    assert!(!h.closed);
}

#[test]
fn the_refusal_limit_closes_the_session() {
    let mut c = config();
    c.limits.max_refusals = 3;
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::MailRequest { from, .. } if from.to_string().contains("spam") => {
            refuse(550, "5.7.1", "Sender refused")
        }
        ServerEvent::RcptRequest { to, .. } if to.to_string().contains("bad") => {
            refuse(550, "5.1.1", "No such user")
        }
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(c, SessionInfo::default(), decider);
    h.ehlo();
    // A refused sender counts, and so do refused recipients.
    h.script(
        "C: MAIL FROM:<spam@example.net>
         S: 550 5.7.1 Sender refused
         C: MAIL FROM:<a@example.net>
         C: RCPT TO:<bad1@example.org>
         C: RCPT TO:<ok@example.org>
         C: RCPT TO:<bad2@example.org>
         C: RCPT TO:<ok2@example.org>
         S: 250 2.1.0 Sender OK
         S: 550 5.1.1 No such user
         S: 250 2.1.5 Recipient OK
         S: 550 5.1.1 No such user
         S: 421 4.7.0 Too many refused senders or recipients, closing connection",
    );
    assert_eq!(h.close_reason(), Some(CloseKind::TooManyErrors));
}

#[test]
fn an_accepted_message_forgives_errors_and_refusals() {
    let mut c = config();
    c.limits.max_refusals = 3;
    let mut h = Harness::new(c);
    h.ehlo();
    let message = b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n\
DATA\r\nhi\r\n.\r\n";
    for _ in 0..3 {
        for _ in 0..9 {
            assert_eq!(h.cmd("XYZZY"), "500 5.5.2 Command unrecognized\r\n");
        }
        h.cmd("MAIL FROM:<a@example.net>");
        for _ in 0..2 {
            assert_eq!(
                h.cmd("RCPT TO:<bad@example.org>"),
                "550 5.1.1 No such user\r\n"
            );
        }
        h.cmd("RSET");
        assert!(h.input(message).ends_with("250 2.0.0 Message accepted\r\n"));
    }
    assert!(!h.closed);
    // A refused message forgives nothing.
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::MessageRequest { .. } => refuse(554, "5.7.1", "No"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    for _ in 0..9 {
        h.cmd("XYZZY");
    }
    assert!(h.input(message).ends_with("554 5.7.1 No\r\n"));
    assert_eq!(
        h.cmd("XYZZY"),
        "500 5.5.2 Command unrecognized\r\n421 4.7.0 Too many errors, closing connection\r\n"
    );
}

#[test]
fn too_many_recipients_is_neither_an_error_nor_a_refusal() {
    let mut c = config();
    c.limits.max_recipients = 1;
    c.limits.max_errors = 2;
    c.limits.max_refusals = 2;
    let mut h = Harness::new(c);
    h.ehlo();
    h.cmd("MAIL FROM:<a@example.net>");
    assert_eq!(
        h.cmd("RCPT TO:<b@example.org>"),
        "250 2.1.5 Recipient OK\r\n"
    );
    for i in 0..50 {
        assert_eq!(
            h.cmd(&format!("RCPT TO:<c{i}@example.org>")),
            "452 4.5.3 Too many recipients\r\n"
        );
    }
    assert!(!h.closed);
    assert!(
        h.input(b"DATA\r\nhi\r\n.\r\n")
            .ends_with("250 2.0.0 Message accepted\r\n")
    );
}

// ---------------------------------------------------------------------------
// End of stream.

#[test]
fn eof_mid_data_aborts_the_message() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n");
    h.conn.handle_eof(h.now);
    h.drain();
    assert_eq!(aborted(&h, AbortReason::PeerClosed), 1);
    assert_eq!(
        h.count(|e| matches!(e, ServerEvent::MessageRequest { .. })),
        0
    );
    assert_eq!(h.close_reason(), Some(CloseKind::PeerClosed));
    assert!(h.closed);
}

#[test]
fn buffered_commands_are_answered_before_eof_closes() {
    let mut h = deferring(|e| matches!(e, ServerEvent::RcptRequest { .. }));
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nNOOP\r\n");
    h.conn.handle_eof(h.now);
    h.drain();
    assert!(!h.closed, "a decision is still pending");
    assert!(!h.conn.wants_read());
    assert_eq!(
        h.decide(Verdict::Accept),
        "250 2.1.5 Recipient OK\r\n250 2.0.0 OK\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::PeerClosed));
}
