//! Server transcripts: line limits, protocol errors and refusals counted
//! apart, bounded buffering, end of stream, and every timer on a virtual
//! clock.

mod common;

use std::time::Duration;

use common::{Answer, Harness, config, refuse};
use mailwire_core::UsageError;
use mailwire_core::server::{
    AbortReason, CloseReason, ServerEvent, SessionInfo, TimeoutKind, Verdict,
};

const MIN: Duration = Duration::from_secs(60);

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
fn an_endless_line_is_not_buffered() {
    let mut h = ready();
    for _ in 0..200 {
        assert_eq!(h.input(&[b'A'; 1000]), "");
        assert!(h.conn.buffered_len() < 512, "{}", h.conn.buffered_len());
    }
    // Its end is one error, and the next line is a command again.
    assert_eq!(
        h.input(b"AAA\r\nNOOP\r\n"),
        "500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"
    );
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
    assert_eq!(h.close_reason(), Some(CloseReason::TooManyErrors));
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
    assert_eq!(h.cmd("RCPT TO:<good@example.org>"), "250 2.1.5 Recipient OK\r\n");
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
    assert_eq!(h.close_reason(), Some(CloseReason::TooManyErrors));
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
            assert_eq!(h.cmd("RCPT TO:<bad@example.org>"), "550 5.1.1 No such user\r\n");
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
    assert_eq!(h.cmd("RCPT TO:<b@example.org>"), "250 2.1.5 Recipient OK\r\n");
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
    assert_eq!(h.close_reason(), Some(CloseReason::PeerClosed));
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
    assert_eq!(h.close_reason(), Some(CloseReason::PeerClosed));
}

// ---------------------------------------------------------------------------
// Timers.

#[test]
fn command_timeout() {
    let mut h = ready();
    assert_eq!(h.conn.poll_timeout(), Some(h.now + 5 * MIN));
    h.sleep(4 * MIN);
    // Input restarts the wait.
    h.cmd("NOOP");
    h.sleep(4 * MIN);
    assert!(!h.closed);
    h.sleep(MIN);
    assert!(h.closed);
    assert!(String::from_utf8_lossy(&h.out).ends_with("421 4.4.2 Timeout, closing connection\r\n"));
    assert_eq!(
        h.close_reason(),
        Some(CloseReason::Timeout(TimeoutKind::Command))
    );
}

#[test]
fn early_timeout_calls_do_nothing() {
    let mut h = ready();
    let deadline = h.conn.poll_timeout().unwrap();
    h.conn.handle_timeout(deadline - Duration::from_millis(1));
    h.drain();
    assert!(!h.closed);
    assert_eq!(h.conn.poll_timeout(), Some(deadline));
}

#[test]
fn data_timeout_aborts_the_message() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\npart");
    h.sleep(5 * MIN);
    assert!(h.closed);
    assert_eq!(aborted(&h, AbortReason::Timeout), 1);
    assert_eq!(
        h.close_reason(),
        Some(CloseReason::Timeout(TimeoutKind::Data))
    );
    assert!(String::from_utf8_lossy(&h.out).ends_with("421 4.4.2 Timeout, closing connection\r\n"));
}

#[test]
fn transfer_cap_stops_a_slow_drip() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    // One byte every four minutes keeps the data timer alive...
    for _ in 0..2 {
        h.sleep(4 * MIN);
        h.input(b"x");
        assert!(!h.closed);
    }
    // ...but not past the 10-minute cap on the transfer.
    h.sleep(2 * MIN);
    assert!(h.closed);
    assert_eq!(
        h.close_reason(),
        Some(CloseReason::Timeout(TimeoutKind::Transfer))
    );
    assert_eq!(aborted(&h, AbortReason::Timeout), 1);
}

#[test]
fn transfer_cap_covers_bdat_chunks() {
    let mut c = config();
    c.timeouts.transfer = 3 * MIN;
    let mut h = Harness::new(c);
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nBDAT 1\r\nx");
    h.sleep(2 * MIN);
    h.input(b"BDAT 1\r\ny");
    h.sleep(MIN);
    assert_eq!(
        h.close_reason(),
        Some(CloseReason::Timeout(TimeoutKind::Transfer))
    );
    assert_eq!(aborted(&h, AbortReason::Timeout), 1);
}

#[test]
fn session_cap() {
    let mut h = ready();
    for _ in 0..7 {
        h.sleep(4 * MIN);
        assert_eq!(h.cmd("NOOP"), "250 2.0.0 OK\r\n");
    }
    h.sleep(2 * MIN);
    assert!(h.closed);
    assert_eq!(
        h.close_reason(),
        Some(CloseReason::Timeout(TimeoutKind::Session))
    );
}

#[test]
fn decision_deadline_answers_451_and_goes_on() {
    let mut h = deferring(|e| matches!(e, ServerEvent::RcptRequest { .. }));
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nNOOP\r\n");
    let token = *h.deferred.front().unwrap();
    assert_eq!(h.conn.poll_timeout(), Some(h.now + MIN));
    h.sleep(MIN);
    assert!(!h.closed);
    assert!(
        String::from_utf8_lossy(&h.out)
            .ends_with("451 4.3.0 Local error in processing, try again later\r\n250 2.0.0 OK\r\n")
    );
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, ServerEvent::DecisionExpired { token: t, .. } if *t == token))
    );
    assert_eq!(
        h.conn.decide(token, Verdict::Accept),
        Err(UsageError::UnknownToken)
    );
    // The recipient was not added.
    assert_eq!(h.cmd("DATA"), "554 5.5.1 No valid recipients\r\n");
}

#[test]
fn peer_timers_pause_during_a_decision() {
    let mut h = deferring(|e| matches!(e, ServerEvent::MailRequest { .. }));
    h.sleep(4 * MIN);
    h.cmd("MAIL FROM:<a@example.net>");
    // The command timer would have fired one minute from here.
    h.sleep(Duration::from_secs(59));
    assert!(!h.closed);
    h.decide(Verdict::Accept);
    // After the decision the command timer starts afresh.
    assert_eq!(h.conn.poll_timeout(), Some(h.now + 5 * MIN));
    h.sleep(4 * MIN);
    assert!(!h.closed);
}

#[test]
fn message_decision_deadline() {
    let mut h = deferring(|e| matches!(e, ServerEvent::MessageRequest { .. }));
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nhi\r\n.\r\n");
    h.sleep(MIN);
    assert!(
        String::from_utf8_lossy(&h.out)
            .ends_with("451 4.3.0 Local error in processing, try again later\r\n")
    );
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, ServerEvent::DecisionExpired { .. }))
    );
    // The transaction is over.
    assert_eq!(
        h.cmd("RCPT TO:<b@example.org>"),
        "503 5.5.1 Need MAIL command\r\n"
    );
}

#[test]
fn connect_decision_deadline_closes_with_421() {
    let decider = Box::new(|_: &ServerEvent| Answer::Defer);
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    assert_eq!(h.conn.poll_timeout(), Some(h.now + MIN));
    h.sleep(MIN);
    assert_eq!(
        String::from_utf8_lossy(&h.out),
        "421 Service not available\r\n"
    );
    assert_eq!(
        h.close_reason(),
        Some(CloseReason::Timeout(TimeoutKind::ConnectDecision))
    );
}

#[test]
fn timers_are_configurable() {
    let mut c = config();
    c.timeouts.command = Duration::from_secs(10);
    let mut h = Harness::new(c);
    h.ehlo();
    h.sleep(Duration::from_secs(10));
    assert_eq!(
        h.close_reason(),
        Some(CloseReason::Timeout(TimeoutKind::Command))
    );
}
