//! Client transcripts: RFC 2920 batching across messages. Under
//! PIPELINING the connection is ready again once a message's final dot is
//! queued; the next message's MAIL, RCPT and DATA leave in the same write,
//! and each outcome goes to its own message — whatever the server answers
//! to the dot, and however the connection ends while a dot is unanswered.

mod client_common;

use bytes::Bytes;
use client_common::{Harness, config, envelope};
use mailwire_core::client::{
    ClientEvent, CloseKind, NotSentReason, Outcome, Phase, RecipientStatus, TransactionId,
    TransactionOutcome,
};
use mailwire_core::{Action, UsageError};

const PIPE: &[&str] = &["PIPELINING", "8BITMIME"];
const PLAIN: &[&str] = &["8BITMIME"];

fn ready(caps: &[&str]) -> Harness {
    let mut h = Harness::new(config());
    h.ehlo(caps);
    h.take_events();
    h
}

/// Starts message `n` (one recipient, so DATA joins the group).
fn start(h: &mut Harness, n: usize) -> TransactionId {
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &[&format!("r{n}@y.example")]),
        )
        .unwrap()
}

/// Gives the body and the end of the data without draining the actions.
fn give_body(h: &mut Harness, text: &str) {
    assert!(h.conn.wants_body(), "body not wanted");
    h.conn
        .send_body(h.now, Bytes::copy_from_slice(text.as_bytes()))
        .unwrap();
    h.conn.end_body(h.now).unwrap();
}

/// The `Send`s queued now, concatenated; panics if anything else is
/// queued between them (a driver writes consecutive `Send`s at once).
fn one_write(h: &mut Harness) -> String {
    let mut wire = Vec::new();
    while let Some(action) = h.conn.poll_action() {
        match action {
            Action::Send(bytes) => wire.extend_from_slice(&bytes),
            other => panic!("not a Send among the writes: {other:?}"),
        }
    }
    String::from_utf8(wire).unwrap()
}

/// Every `TransactionCompleted` not yet taken, in order.
fn outcomes(h: &mut Harness) -> Vec<TransactionOutcome> {
    h.take_events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::TransactionCompleted(o) => Some(o),
            _ => None,
        })
        .collect()
}

/// Message 1 with its dot unanswered, message 2 written behind it, its
/// MAIL/RCPT/DATA not answered yet.
fn two_in_flight() -> (Harness, TransactionId, TransactionId) {
    let mut h = ready(PIPE);
    let first = start(&mut h, 1);
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<r1@y.example>
         C: DATA
         S: 250 2.1.0 ok
         S: 250 2.1.5 ok
         S: 354 go",
    );
    give_body(&mut h, "one\r\n");
    assert!(
        h.conn.is_ready(),
        "ready for the next message before the reply"
    );
    assert_eq!(h.conn.finishing_id(), Some(first));
    let second = start(&mut h, 2);
    assert_eq!(
        one_write(&mut h),
        "one\r\n.\r\nMAIL FROM:<a@x.example>\r\nRCPT TO:<r2@y.example>\r\nDATA\r\n",
        "the dot and the next envelope in one write"
    );
    assert!(!h.conn.is_ready());
    assert!(outcomes(&mut h).is_empty(), "no outcome before any reply");
    (h, first, second)
}

#[test]
fn the_next_message_follows_the_dot_in_one_write_and_each_gets_its_outcome() {
    let (mut h, first, second) = two_in_flight();
    h.server("250 2.0.0 queued as ONE");
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 1, "{done:#?}");
    assert_eq!(done[0].id, first);
    assert!(
        matches!(&done[0].outcome, Outcome::Sent { reply } if reply.text().contains("ONE")),
        "{:?}",
        done[0].outcome
    );
    assert_eq!(h.conn.finishing_id(), None);
    h.server("250 2.1.0 ok\n250 2.1.5 ok\n354 go");
    assert!(h.has_event(
        |e| matches!(e, ClientEvent::BodyRequested { transaction, .. } if *transaction == second)
    ));
    give_body(&mut h, "two\r\n");
    h.conn.quit(h.now).unwrap();
    assert_eq!(
        one_write(&mut h),
        "two\r\n.\r\nQUIT\r\n",
        "QUIT ends the group after the last dot"
    );
    h.server("250 2.0.0 queued as TWO\n221 2.0.0 bye");
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id, second);
    assert!(matches!(&done[0].outcome, Outcome::Sent { reply } if reply.text().contains("TWO")));
    assert!(h.closed().unwrap().is_normal());
}

#[test]
fn a_refused_dot_is_the_earlier_message_s_and_the_next_goes_on() {
    for code in ["554 5.7.1 rejected", "451 4.3.0 try later"] {
        let (mut h, first, second) = two_in_flight();
        h.server(code);
        let done = outcomes(&mut h);
        assert_eq!(done.len(), 1, "{done:#?}");
        assert_eq!(done[0].id, first);
        match &done[0].outcome {
            Outcome::NotSent {
                reason: NotSentReason::MessageRefused,
                reply: Some(reply),
            } => assert_eq!(reply.code().as_u16().to_string(), code[..3]),
            other => panic!("{code}: {other:?}"),
        }
        assert_eq!(done[0].recipients[0].status, RecipientStatus::NotSent);
        h.script("S: 250 ok\nS: 250 ok\nS: 354 go");
        give_body(&mut h, "two\r\n");
        h.drain();
        h.script("C: two\nC: .\nS: 250 2.0.0 queued");
        let done = outcomes(&mut h);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].id, second);
        assert!(done[0].outcome.is_sent(), "{code}: {:?}", done[0].outcome);
        assert!(!h.conn.is_closed());
    }
}

#[test]
fn a_refused_mail_after_an_accepted_dot_is_the_later_message_s() {
    let (mut h, first, second) = two_in_flight();
    h.server("250 2.0.0 queued\n550 5.1.0 sender refused\n503 5.5.1 no sender\n503 5.5.1 no valid recipients");
    h.script("C: RSET\nS: 250 reset");
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 2, "{done:#?}");
    assert_eq!(done[0].id, first);
    assert!(done[0].outcome.is_sent());
    assert_eq!(done[1].id, second);
    assert!(
        matches!(
            done[1].outcome,
            Outcome::NotSent {
                reason: NotSentReason::MailRefused,
                ..
            }
        ),
        "{:?}",
        done[1].outcome
    );
}

#[test]
fn a_421_to_the_dot_refuses_that_message_and_loses_the_next_as_not_sent() {
    let (mut h, first, second) = two_in_flight();
    h.server("421 4.3.2 shutting down");
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 2, "{done:#?}");
    assert_eq!(done[0].id, first);
    assert!(
        matches!(&done[0].outcome, Outcome::NotSent { reason: NotSentReason::MessageRefused, reply: Some(r) } if r.code().as_u16() == 421),
        "{:?}",
        done[0].outcome
    );
    assert_eq!(done[1].id, second);
    assert!(
        matches!(
            done[1].outcome,
            Outcome::NotSent {
                reason: NotSentReason::ConnectionClosed,
                ..
            }
        ),
        "{:?}",
        done[1].outcome
    );
    assert_eq!(done[1].recipients[0].status, RecipientStatus::NotSent);
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServiceClosing);
    assert_eq!(reason.phase, Phase::DataTermination);
}

#[test]
fn a_close_before_the_dot_is_answered_leaves_it_unknown_and_the_next_not_sent() {
    let (mut h, first, second) = two_in_flight();
    h.eof();
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 2, "{done:#?}");
    assert_eq!((done[0].id, &done[0].outcome), (first, &Outcome::Unknown));
    assert_eq!(done[0].recipients[0].status, RecipientStatus::Unknown);
    assert_eq!(done[1].id, second);
    assert!(
        matches!(
            done[1].outcome,
            Outcome::NotSent {
                reason: NotSentReason::ConnectionClosed,
                ..
            }
        ),
        "{:?}",
        done[1].outcome
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ConnectionLost);
    assert_eq!(reason.phase, Phase::DataTermination);
}

#[test]
fn a_221_to_the_dot_leaves_it_unknown_and_the_next_not_sent() {
    let (mut h, first, second) = two_in_flight();
    h.server("221 2.0.0 bye");
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 2, "{done:#?}");
    assert_eq!((done[0].id, &done[0].outcome), (first, &Outcome::Unknown));
    assert_eq!(done[1].id, second);
    assert!(!done[1].outcome.is_sent());
    assert!(!matches!(done[1].outcome, Outcome::Unknown));
}

#[test]
fn a_timeout_on_the_dot_leaves_it_unknown_and_the_next_not_sent() {
    let (mut h, first, second) = two_in_flight();
    h.run_to_deadline();
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 2, "{done:#?}");
    assert_eq!((done[0].id, &done[0].outcome), (first, &Outcome::Unknown));
    assert_eq!(done[1].id, second);
    assert!(matches!(
        done[1].outcome,
        Outcome::NotSent {
            reason: NotSentReason::ConnectionClosed,
            ..
        }
    ));
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::Timeout);
    assert_eq!(reason.phase, Phase::DataTermination);
}

#[test]
fn the_dot_reply_split_anywhere_still_goes_to_the_right_message() {
    let (mut h, first, second) = two_in_flight();
    h.split = client_common::Split::EveryByte;
    h.server("250 2.0.0 first\n250 ok\n250 ok\n354 go");
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id, first);
    assert!(h.conn.wants_body());
    assert_eq!(h.conn.transaction_id(), Some(second));
}

#[test]
fn without_pipelining_the_next_message_waits_for_the_reply() {
    let mut h = ready(PLAIN);
    let first = start(&mut h, 1);
    h.script(
        "C: MAIL FROM:<a@x.example>
         S: 250 ok
         C: RCPT TO:<r1@y.example>
         S: 250 ok
         C: DATA
         S: 354 go",
    );
    give_body(&mut h, "one\r\n");
    assert!(!h.conn.is_ready());
    assert_eq!(h.conn.finishing_id(), None);
    assert!(matches!(
        h.conn
            .send_mail(h.now, envelope("a@x.example", &["r2@y.example"])),
        Err(UsageError::InvalidState(_))
    ));
    h.script("C: one\nC: .\nS: 250 ok");
    let done = outcomes(&mut h);
    assert_eq!(done[0].id, first);
    assert!(h.conn.is_ready());
}

#[test]
fn many_messages_each_behind_the_previous_dot_all_sent_in_order() {
    let mut h = ready(PIPE);
    let mut ids = Vec::new();
    let mut first = true;
    for n in 0..20 {
        ids.push(start(&mut h, n));
        let wire = one_write(&mut h);
        if !first {
            assert!(
                wire.starts_with(&format!("m{}\r\n.\r\nMAIL", n - 1)),
                "{wire:?}"
            );
        }
        first = false;
        let mut replies = String::new();
        if n > 0 {
            replies.push_str(&format!("250 2.0.0 queued {}\n", n - 1));
        }
        replies.push_str("250 ok\n250 ok\n354 go");
        h.server(&replies);
        give_body(&mut h, &format!("m{n}\r\n"));
        assert!(h.conn.is_ready());
    }
    h.conn.quit(h.now).unwrap();
    h.server("250 2.0.0 queued 19\n221 bye");
    let done = outcomes(&mut h);
    assert_eq!(done.len(), 20);
    for (n, outcome) in done.iter().enumerate() {
        assert_eq!(outcome.id, ids[n]);
        match &outcome.outcome {
            Outcome::Sent { reply } => assert!(reply.text().ends_with(&format!("queued {n}"))),
            other => panic!("{n}: {other:?}"),
        }
    }
    assert!(h.closed().unwrap().is_normal());
}

#[test]
fn quit_behind_an_unanswered_dot_then_a_close_is_a_lost_connection() {
    let mut h = ready(PIPE);
    let id = start(&mut h, 1);
    h.script("C: MAIL FROM:<a@x.example>\nC: RCPT TO:<r1@y.example>\nC: DATA\nS: 250 ok\nS: 250 ok\nS: 354 go");
    give_body(&mut h, "one\r\n");
    h.conn.quit(h.now).unwrap();
    assert_eq!(one_write(&mut h), "one\r\n.\r\nQUIT\r\n");
    h.eof();
    let done = outcomes(&mut h);
    assert_eq!((done[0].id, &done[0].outcome), (id, &Outcome::Unknown));
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ConnectionLost, "{reason:?}");
    assert!(!reason.is_normal());
}
