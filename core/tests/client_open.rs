//! Client transcripts: envelopes built step by step (`open_mail`,
//! `add_recipient`, `close_envelope`, `cancel_mail`) — what a proxy needs
//! to give each of its own client's commands the server's own verdict.

mod client_common;

use bytes::Bytes;
use client_common::{Harness, config};
use mailwire_core::UsageError;
use mailwire_core::client::{
    BodyType, ClientEvent, MailOptions, NotSentReason, Outcome, Recipient, RecipientStatus,
};
use mailwire_core::wire::address::{ForwardPath, ReversePath};

const CAPS: &[&str] = &["PIPELINING", "8BITMIME", "SIZE 100000", "DSN"];

fn ready() -> Harness {
    let mut h = Harness::new(config());
    h.ehlo(CAPS);
    h.take_events();
    h
}

fn from(s: &str) -> ReversePath {
    s.parse().unwrap()
}

fn rcpt(s: &str) -> Recipient {
    Recipient::from(s.parse::<ForwardPath>().unwrap())
}

/// The replies of the events so far: ("MAIL"|index, code).
fn results(h: &mut Harness) -> Vec<(String, u16)> {
    h.take_events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::MailResult { reply, .. } => Some(("MAIL".into(), reply.code().as_u16())),
            ClientEvent::RecipientResult {
                recipient, reply, ..
            } => Some((recipient.to_string(), reply.code().as_u16())),
            _ => None,
        })
        .collect()
}

#[test]
fn each_command_is_answered_before_the_next_is_written() {
    let mut h = ready();
    h.conn
        .open_mail(h.now, from("<a@x.example>"), MailOptions::default())
        .unwrap();
    h.expect("MAIL FROM:<a@x.example>");
    // A recipient added before MAIL is answered waits for it.
    assert_eq!(h.conn.add_recipient(h.now, rcpt("<b@y.example>")), Ok(0));
    h.expect("");
    h.server("250 2.1.0 ok");
    assert_eq!(results(&mut h), [("MAIL".to_owned(), 250)]);
    h.expect("RCPT TO:<b@y.example>");
    h.server("550 5.1.1 no such user");
    assert_eq!(results(&mut h), [("0".to_owned(), 550)]);
    h.conn.add_recipient(h.now, rcpt("<c@y.example>")).unwrap();
    h.expect("RCPT TO:<c@y.example>");
    // A 452 is passed on, not deferred to another transaction.
    h.server("452 4.5.3 too many recipients");
    assert_eq!(results(&mut h), [("1".to_owned(), 452)]);
    h.conn.add_recipient(h.now, rcpt("<d@y.example>")).unwrap();
    h.expect("RCPT TO:<d@y.example>");
    h.server("250 2.1.5 ok");
    assert_eq!(results(&mut h), [("2".to_owned(), 250)]);

    h.conn.close_envelope(h.now).unwrap();
    h.script("C: DATA\nS: 354 go");
    h.body(b"hello\r\n");
    h.script("C: hello\nC: .\nS: 250 2.0.0 queued");
    let outcome = h.outcome();
    assert!(outcome.outcome.is_sent());
    let statuses: Vec<RecipientStatus> = outcome.recipients.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            RecipientStatus::Refused,
            RecipientStatus::Refused,
            RecipientStatus::Sent
        ]
    );
    assert!(h.conn.is_ready(), "the connection takes the next message");
}

#[test]
fn a_refused_mail_ends_the_transaction_without_rcpt() {
    let mut h = ready();
    h.conn
        .open_mail(h.now, from("<a@x.example>"), MailOptions::default())
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>\nS: 553 5.7.1 not you");
    h.drain();
    let events = h.take_events();
    assert!(matches!(
        &events[0],
        ClientEvent::MailResult { reply, .. } if reply.code().as_u16() == 553
    ));
    assert_eq!(
        h.conn.add_recipient(h.now, rcpt("<b@y.example>")),
        Err(UsageError::InvalidState("no envelope is open"))
    );
    h.script("C: RSET\nS: 250 ok");
    let outcome = h.outcome();
    assert!(matches!(
        outcome.outcome,
        Outcome::NotSent {
            reason: NotSentReason::MailRefused,
            ..
        }
    ));
}

#[test]
fn no_accepted_recipient_sends_no_data() {
    let mut h = ready();
    h.conn
        .open_mail(h.now, from("<a@x.example>"), MailOptions::default())
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>\nS: 250 ok");
    h.conn.add_recipient(h.now, rcpt("<b@y.example>")).unwrap();
    h.script("C: RCPT TO:<b@y.example>\nS: 550 5.1.1 no");
    h.conn.close_envelope(h.now).unwrap();
    h.script("C: RSET\nS: 250 ok");
    let outcome = h.outcome();
    assert!(matches!(
        outcome.outcome,
        Outcome::NotSent {
            reason: NotSentReason::NoRecipientAccepted,
            ..
        }
    ));
}

#[test]
fn cancel_waits_for_the_command_in_flight_then_resets() {
    let mut h = ready();
    h.conn
        .open_mail(h.now, from("<a@x.example>"), MailOptions::default())
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>\nS: 250 ok");
    h.conn.add_recipient(h.now, rcpt("<b@y.example>")).unwrap();
    h.expect("RCPT TO:<b@y.example>");
    h.conn.cancel_mail(h.now).unwrap();
    h.expect("");
    h.server("250 ok");
    h.script("C: RSET\nS: 250 ok");
    let outcome = h.outcome();
    assert!(matches!(
        outcome.outcome,
        Outcome::NotSent {
            reason: NotSentReason::Cancelled,
            ..
        }
    ));
    assert!(h.conn.is_ready());
}

#[test]
fn extensions_are_checked_per_recipient() {
    let mut h = Harness::new(config());
    h.ehlo(&["8BITMIME"]);
    h.take_events();
    // BINARYMIME is not offered: refused before anything is written.
    let binary = MailOptions::default().with_body(BodyType::BinaryMime);
    assert!(matches!(
        h.conn.open_mail(h.now, from("<a@x.example>"), binary),
        Err(UsageError::MissingExtension(_))
    ));
    h.conn
        .open_mail(h.now, from("<a@x.example>"), MailOptions::default())
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example>\nS: 250 ok");
    // No SMTPUTF8 in MAIL: a UTF-8 recipient cannot be added.
    let utf8 = rcpt("<jösé@y.example>");
    assert_eq!(
        h.conn.add_recipient(h.now, utf8),
        Err(UsageError::MissingExtension("SMTPUTF8"))
    );
    // No DSN offered: NOTIFY cannot be sent.
    let mut notify = rcpt("<b@y.example>");
    notify.notify = Some(mailwire_core::wire::params::Notify::Never);
    assert_eq!(
        h.conn.add_recipient(h.now, notify),
        Err(UsageError::MissingExtension("DSN"))
    );
    h.expect("");
}

#[test]
fn nul_goes_only_as_binarymime() {
    let mut h = ready();
    let eight = MailOptions::default().with_body(BodyType::EightBitMime);
    h.conn
        .open_mail(h.now, from("<a@x.example>"), eight)
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example> BODY=8BITMIME\nS: 250 ok");
    h.conn.add_recipient(h.now, rcpt("<b@y.example>")).unwrap();
    h.script("C: RCPT TO:<b@y.example>\nS: 250 ok");
    h.conn.close_envelope(h.now).unwrap();
    h.script("C: DATA\nS: 354 go");
    assert!(matches!(
        h.conn.send_body(h.now, Bytes::from_static(b"a\r\n\0.\r\n")),
        Err(UsageError::InvalidInput(_))
    ));
}
