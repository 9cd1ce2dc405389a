//! Server transcripts: every transaction ends exactly once, with
//! [`ServerEvent::TransactionEnded`] saying how, and the open transaction
//! is visible through the connection's getters.

mod common;

use std::time::Duration;

use common::{Answer, Harness, config, default_decider, refuse};
use mailwire_core::server::{AbortReason, ServerEvent, SessionInfo, TransactionEnd, Verdict};

fn ready() -> Harness {
    let mut h = Harness::new(config());
    h.ehlo();
    h
}

/// The ends reported so far, with the number of recipients each had.
fn ends(h: &Harness) -> Vec<(TransactionEnd, usize)> {
    h.events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::TransactionEnded {
                end, transaction, ..
            } => Some((*end, transaction.recipients.len())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_delivered_message_ends_its_transaction_once() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    assert_eq!(h.conn.recipients().len(), 1);
    assert_eq!(
        h.conn.mail_from().map(|(f, _)| f.to_string()),
        Some("<a@example.net>".to_owned())
    );
    h.input(b"hi\r\n.\r\n");
    assert_eq!(ends(&h), [(TransactionEnd::Delivered, 1)]);
    assert!(h.conn.mail_from().is_none());
    assert!(h.conn.recipients().is_empty());
}

#[test]
fn rset_and_a_new_ehlo_end_an_open_transaction() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nRSET\r\n");
    assert_eq!(ends(&h), [(TransactionEnd::Reset, 1)]);
    h.input(b"MAIL FROM:<a@example.net>\r\nEHLO again.example\r\n");
    assert_eq!(
        ends(&h),
        [(TransactionEnd::Reset, 1), (TransactionEnd::Helo, 0)]
    );
    // RSET without a transaction reports nothing.
    h.cmd("RSET");
    assert_eq!(ends(&h).len(), 2);
}

#[test]
fn a_nested_mail_keeps_the_transaction() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    assert_eq!(
        h.cmd("MAIL FROM:<c@example.net>"),
        "503 5.5.1 Nested MAIL command\r\n"
    );
    assert!(ends(&h).is_empty());
    assert_eq!(h.conn.recipients().len(), 1);
}

#[test]
fn a_refused_message_ends_refused() {
    let decider = Box::new(|event: &ServerEvent| match event {
        ServerEvent::MessageRequest { .. } => refuse(554, "5.6.0", "No thanks"),
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    assert_eq!(h.input(b"hi\r\n.\r\n"), "554 5.6.0 No thanks\r\n");
    assert_eq!(ends(&h), [(TransactionEnd::Refused, 1)]);
}

#[test]
fn a_message_cut_off_ends_aborted() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    h.input(b"part of a message\r\n");
    h.conn.handle_eof(h.now);
    h.drain();
    assert_eq!(
        ends(&h),
        [(TransactionEnd::Aborted(AbortReason::PeerClosed), 1)]
    );
}

#[test]
fn a_timeout_with_an_open_transaction_ends_it() {
    let mut config = config();
    config.timeouts.command = Duration::from_secs(10);
    let mut h = Harness::with(config, SessionInfo::default(), default_decider());
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\n");
    h.sleep(Duration::from_secs(11));
    assert_eq!(ends(&h), [(TransactionEnd::Closed, 0)]);
}

#[test]
fn an_expired_message_decision_ends_refused() {
    let decider = Box::new(|event: &ServerEvent| match event {
        ServerEvent::MessageRequest { .. } => Answer::Defer,
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    h.input(b"hi\r\n.\r\n");
    let decision = h.conn.poll_timeout().unwrap() - h.now;
    h.sleep(decision + Duration::from_secs(1));
    assert_eq!(ends(&h), [(TransactionEnd::Refused, 1)]);
}

#[test]
fn shutdown_now_answers_421_in_the_middle_of_a_transfer() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    h.input(b"half a message\r\n");
    h.conn.shutdown_now(h.now);
    h.drain();
    let out = String::from_utf8_lossy(&h.out).into_owned();
    assert!(
        out.ends_with("421 4.3.2 Service shutting down, closing connection\r\n"),
        "{out}"
    );
    assert!(h.conn.is_closed());
    assert_eq!(
        ends(&h),
        [(TransactionEnd::Aborted(AbortReason::Shutdown), 1)]
    );
}

#[test]
fn a_bdat_message_over_the_limit_ends_aborted_with_or_without_its_last_chunk() {
    // The client may see the 552 before or after it sends BDAT LAST: the
    // transaction ends the same way either way (found by pair_chunking).
    let run = |tail: &[u8]| {
        let mut config = config();
        config.limits.max_message_size = Some(10);
        let mut h = Harness::with(config, SessionInfo::default(), default_decider());
        h.ehlo();
        h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
        h.input(b"BDAT 6\r\n123456");
        let over = h.input(b"BDAT 6\r\n789012");
        assert!(over.starts_with("552"), "{over}");
        h.input(tail);
        ends(&h)
    };
    let aborted = [(TransactionEnd::Aborted(AbortReason::SizeExceeded), 1)];
    assert_eq!(run(b"BDAT 0 LAST\r\nRSET\r\n"), aborted);
    assert_eq!(run(b"RSET\r\n"), aborted);
}
