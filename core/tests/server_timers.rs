//! Server transcripts: every timer and deadline on a virtual clock —
//! waiting for a command (which must arrive whole), for data, the caps on a
//! transfer and a session, and the decision deadlines.

mod common;

use std::time::Duration;

use common::{Answer, Harness, config};
use mailwire_core::UsageError;
use mailwire_core::server::{
    AbortReason, CloseKind, ServerEvent, SessionInfo, TimeoutKind, Verdict,
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
        Some(CloseKind::Timeout(TimeoutKind::Command))
    );
}

#[test]
fn a_command_dripped_byte_by_byte_times_out() {
    let mut h = ready();
    let ready_at = h.now;
    // One byte a minute: each one would have restarted the timer before.
    for &b in b"NOOP" {
        h.sleep(MIN);
        assert_eq!(h.input(&[b]), "");
    }
    h.sleep(MIN);
    assert!(h.closed, "the command had five minutes to arrive whole");
    assert_eq!(h.now - ready_at, 5 * MIN);
    assert!(String::from_utf8_lossy(&h.out).ends_with("421 4.4.2 Timeout, closing connection\r\n"));
    assert_eq!(
        h.close_reason(),
        Some(CloseKind::Timeout(TimeoutKind::Command))
    );
}

#[test]
fn the_command_wait_starts_after_the_last_whole_line() {
    let mut h = ready();
    h.sleep(4 * MIN);
    // A whole command and the start of the next: the wait for that next
    // one starts now.
    assert_eq!(h.input(b"NOOP\r\nNO"), "250 2.0.0 OK\r\n");
    assert_eq!(h.conn.poll_timeout(), Some(h.now + 5 * MIN));
    h.sleep(4 * MIN);
    assert_eq!(h.input(b"O"), "");
    assert_eq!(h.conn.poll_timeout(), Some(h.now + MIN), "not restarted");
    // Finishing it restarts the wait for the one after.
    h.sleep(Duration::from_secs(30));
    assert_eq!(h.input(b"P\r\n"), "250 2.0.0 OK\r\n");
    assert_eq!(h.conn.poll_timeout(), Some(h.now + 5 * MIN));
}

#[test]
fn an_over_long_line_must_end_within_the_command_timeout() {
    let mut h = ready();
    assert_eq!(h.input(&[b'A'; 600]), "500 5.5.2 Line too long\r\n");
    for _ in 0..4 {
        h.sleep(MIN);
        h.input(&[b'A'; 100]);
    }
    h.sleep(MIN);
    assert_eq!(
        h.close_reason(),
        Some(CloseKind::Timeout(TimeoutKind::Command))
    );
}

#[test]
fn a_sasl_response_dripped_byte_by_byte_times_out() {
    let mut h = Harness::new(common::auth_config());
    h.ehlo();
    common::upgrade(&mut h);
    h.ehlo();
    assert_eq!(h.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6\r\n");
    for _ in 0..4 {
        h.sleep(MIN);
        h.input(b"d");
    }
    h.sleep(MIN);
    assert_eq!(
        h.close_reason(),
        Some(CloseKind::Timeout(TimeoutKind::Command))
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
        Some(CloseKind::Timeout(TimeoutKind::Data))
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
        Some(CloseKind::Timeout(TimeoutKind::Transfer))
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
        Some(CloseKind::Timeout(TimeoutKind::Transfer))
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
        Some(CloseKind::Timeout(TimeoutKind::Session))
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
        h.conn.decide(h.now, token, Verdict::Accept),
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
        Some(CloseKind::Timeout(TimeoutKind::ConnectDecision))
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
        Some(CloseKind::Timeout(TimeoutKind::Command))
    );
}
