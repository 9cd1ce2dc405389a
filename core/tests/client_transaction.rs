//! Client transcripts: mail transactions — lock-step and pipelined, send
//! policies, recipient refusals, 452 deferral, MAIL/DATA/final refusals,
//! lost connections, REQUIRETLS, SIZE, parameters and validation.

mod client_common;

use bytes::Bytes;
use client_common::{Harness, config, envelope, mailbox, tls};
use mailwire_core::UsageError;
use mailwire_core::client::{
    BodyType, ClientEvent, ClientSession, CloseKind, Envelope, MailOptions, NotSentReason, Outcome,
    Phase, RcptStatus, Recipient, RecipientStatus, SendPolicy, TransactionOutcome,
};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::params::{Notify, NotifyOn, Orcpt, Ret};

const PIPE: &[&str] = &["PIPELINING", "8BITMIME", "SIZE 100000", "DSN", "SMTPUTF8"];
const PLAIN: &[&str] = &["8BITMIME", "SIZE 100000", "DSN", "SMTPUTF8"];

fn ready(caps: &[&str]) -> Harness {
    let mut h = Harness::new(config());
    h.ehlo(caps);
    h.take_events();
    h
}

fn statuses(o: &TransactionOutcome) -> Vec<RecipientStatus> {
    o.recipients.iter().map(|r| r.status).collect()
}

fn codes(o: &TransactionOutcome) -> Vec<Option<u16>> {
    o.recipients
        .iter()
        .map(|r| r.reply.as_ref().map(|r| r.code().as_u16()))
        .collect()
}

#[test]
fn lock_step_transaction_sends_and_reports() {
    let mut h = ready(PLAIN);
    let id = h
        .conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example", "c@y.example"]),
        )
        .unwrap();
    assert!(!h.conn.is_ready());
    h.script(
        "C: MAIL FROM:<a@x.example>
         S: 250 2.1.0 ok
         C: RCPT TO:<b@y.example>
         S: 250 2.1.5 ok
         C: RCPT TO:<c@y.example>
         S: 251 2.1.5 will forward
         C: DATA
         S: 354 go ahead",
    );
    let events = h.take_events();
    assert_eq!(events.len(), 3, "{events:#?}");
    assert!(matches!(
        &events[0],
        ClientEvent::RecipientResult { transaction, recipient: 0, status: RcptStatus::Accepted, .. } if *transaction == id
    ));
    assert!(matches!(
        &events[1],
        ClientEvent::RecipientResult {
            recipient: 1,
            status: RcptStatus::Accepted,
            ..
        }
    ));
    assert_eq!(
        events[2],
        ClientEvent::BodyRequested {
            transaction: id,
            attempt: 1
        }
    );
    assert!(h.conn.wants_body());
    assert_eq!(h.conn.phase(), Phase::DataBlock);
    h.conn
        .send_body(
            h.now,
            Bytes::from_static(b"Subject: hi\r\n\r\n.leading dot\nbare lf\rbare cr"),
        )
        .unwrap();
    h.conn.end_body(h.now).unwrap();
    assert!(!h.conn.wants_body());
    h.script(
        "C: Subject: hi
         C:
         C: ..leading dot
         C: bare lf
         C: bare cr
         C: .
         S: 250 2.0.0 queued as 123",
    );
    let outcome = h.outcome();
    assert_eq!(outcome.id, id);
    assert_eq!(
        outcome.outcome,
        Outcome::Sent {
            reply: mailwire_core::wire::reply::Reply::simple(250, "2.0.0", "queued as 123")
                .unwrap()
        }
    );
    assert_eq!(statuses(&outcome), [RecipientStatus::Sent; 2]);
    assert_eq!(codes(&outcome), [Some(250), Some(251)]);
    assert_eq!(outcome.attempts, 1);
    assert_eq!(outcome.tls, None);
    assert!(h.conn.is_ready());
    // A second message on the same connection, then QUIT.
    h.conn
        .send_mail(h.now, envelope("", &["d@y.example"]))
        .unwrap();
    h.script(
        "C: MAIL FROM:<>
         S: 250 ok
         C: RCPT TO:<d@y.example>
         S: 250 ok
         C: DATA
         S: 354 go",
    );
    h.body(b"");
    h.script("C: .\nS: 250 ok");
    assert!(h.outcome().outcome.is_sent());
    h.conn.quit(h.now).unwrap();
    h.script("C: QUIT\nS: 221 bye");
    assert!(h.closed().unwrap().is_normal());
}

#[test]
fn pipelined_envelope_goes_in_one_write() {
    let mut h = ready(PIPE);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example", "c@y.example"]),
        )
        .unwrap();
    let sends = h.sends;
    h.drain();
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<b@y.example>
         C: RCPT TO:<c@y.example>",
    );
    assert_eq!(h.sends, sends + 1, "MAIL and RCPTs in one Send");
    h.script(
        "S: 250 ok
         S: 250 ok
         S: 250 ok
         C: DATA
         S: 354 go",
    );
    h.body(b"x");
    h.script("C: x\nC: .\nS: 250 ok");
    assert!(h.outcome().outcome.is_sent());
}

/// One scenario: the replies a server gives to MAIL, each RCPT and the
/// rest, and what the client must do, pipelined or not.
fn scenario(
    pipelining: bool,
    policy: SendPolicy,
    rcpt_codes: &[&str],
) -> (Harness, TransactionOutcome) {
    let mut h = ready(if pipelining { PIPE } else { PLAIN });
    let to: Vec<String> = (0..rcpt_codes.len())
        .map(|i| format!("r{i}@y.example"))
        .collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let env = envelope("a@x.example", &to).with_options(MailOptions::default().with_policy(policy));
    h.conn.send_mail(h.now, env).unwrap();
    // DATA joins the group under AtLeastOne and for a single recipient.
    let data_in_group = pipelining && (policy == SendPolicy::AtLeastOne || rcpt_codes.len() == 1);
    let accepted = rcpt_codes.iter().filter(|c| c.starts_with('2')).count();
    let go = accepted > 0 && (accepted == rcpt_codes.len() || policy == SendPolicy::AtLeastOne);
    if pipelining {
        let mut lines = String::from("C: MAIL FROM:<a@x.example>\n");
        for t in &to {
            lines.push_str(&format!("C: RCPT TO:<{t}>\n"));
        }
        if data_in_group {
            lines.push_str("C: DATA\n");
        }
        lines.push_str("S: 250 ok\n");
        for c in rcpt_codes {
            lines.push_str(&format!("S: {c}\n"));
        }
        h.script(&lines);
        if data_in_group {
            if go {
                h.script("S: 354 go");
            } else {
                h.script("S: 554 5.5.1 no valid recipients\nC: RSET\nS: 250 ok");
            }
        }
    } else {
        h.script("C: MAIL FROM:<a@x.example>\nS: 250 ok");
        for (t, c) in to.iter().zip(rcpt_codes) {
            h.script(&format!("C: RCPT TO:<{t}>\nS: {c}"));
        }
    }
    if go {
        if !data_in_group {
            h.script("C: DATA\nS: 354 go");
        }
        h.body(b"body");
        h.script("C: body\nC: .\nS: 250 2.0.0 ok");
    } else if !data_in_group {
        h.script("C: RSET\nS: 250 reset");
    }
    assert_eq!(h.take_sent(), "", "nothing more");
    let outcome = h.outcome();
    (h, outcome)
}

#[test]
fn partial_refusal_under_all_or_nothing_sends_no_data() {
    for pipelining in [false, true] {
        let (h, o) = scenario(
            pipelining,
            SendPolicy::AllOrNothing,
            &["250 ok", "550 5.1.1 no", "250 ok"],
        );
        assert_eq!(
            o.outcome,
            Outcome::NotSent {
                reason: NotSentReason::RecipientsRefused,
                reply: None
            },
            "pipelining {pipelining}"
        );
        assert_eq!(
            statuses(&o),
            [
                RecipientStatus::NotSent,
                RecipientStatus::Refused,
                RecipientStatus::NotSent
            ]
        );
        assert_eq!(codes(&o), [Some(250), Some(550), Some(250)]);
        let wire = String::from_utf8(h.wire.clone()).unwrap();
        assert!(!wire.contains("DATA"), "{wire}");
        assert!(wire.ends_with("RSET\r\n"), "{wire}");
    }
}

#[test]
fn partial_refusal_under_at_least_one_sends() {
    for pipelining in [false, true] {
        let (_, o) = scenario(
            pipelining,
            SendPolicy::AtLeastOne,
            &["250 ok", "550 5.1.1 no", "250 ok"],
        );
        assert!(o.outcome.is_sent(), "pipelining {pipelining}");
        assert_eq!(
            statuses(&o),
            [
                RecipientStatus::Sent,
                RecipientStatus::Refused,
                RecipientStatus::Sent
            ]
        );
    }
}

#[test]
fn all_recipients_refused_no_data_rset() {
    for policy in [SendPolicy::AllOrNothing, SendPolicy::AtLeastOne] {
        for pipelining in [false, true] {
            let (_, o) = scenario(pipelining, policy, &["550 no", "450 4.2.1 busy"]);
            assert_eq!(
                o.outcome,
                Outcome::NotSent {
                    reason: NotSentReason::NoRecipientAccepted,
                    reply: None
                }
            );
            assert_eq!(statuses(&o), [RecipientStatus::Refused; 2]);
        }
    }
}

#[test]
fn pipelined_and_lock_step_outcomes_agree() {
    let cases: &[&[&str]] = &[
        &["250 ok"],
        &["250 ok", "250 ok", "250 ok"],
        &["550 no", "250 ok"],
        &["451 later", "550 no"],
        &["250 ok", "553 bad"],
    ];
    for policy in [SendPolicy::AllOrNothing, SendPolicy::AtLeastOne] {
        for codes in cases {
            let (_, a) = scenario(false, policy, codes);
            let (_, b) = scenario(true, policy, codes);
            assert_eq!(a, b, "{policy:?} {codes:?}");
        }
    }
}

#[test]
fn recipient_results_are_reported_one_by_one() {
    let mut h = ready(PIPE);
    let id = h
        .conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example", "c@y.example"]),
        )
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<b@y.example>
         C: RCPT TO:<c@y.example>
         S: 250 ok
         S: 550-5.1.1 first
         S: 550 5.1.1 second",
    );
    let events = h.take_events();
    match &events[0] {
        ClientEvent::RecipientResult {
            transaction,
            recipient,
            reply,
            status,
        } => {
            assert_eq!(
                (*transaction, *recipient, *status),
                (id, 0, RcptStatus::Refused)
            );
            assert_eq!(reply.lines(), ["first", "second"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(h.conn.poll_timeout().is_some(), "RCPT reply awaited");
}

#[test]
fn too_many_recipients_go_in_a_second_transaction() {
    for pipelining in [true, false] {
        let mut h = ready(if pipelining { PIPE } else { PLAIN });
        let id = h
            .conn
            .send_mail(
                h.now,
                envelope(
                    "a@x.example",
                    &["r0@y.example", "r1@y.example", "r2@y.example"],
                ),
            )
            .unwrap();
        if pipelining {
            h.script(
                "C: MAIL FROM:<a@x.example>
                 C: RCPT TO:<r0@y.example>
                 C: RCPT TO:<r1@y.example>
                 C: RCPT TO:<r2@y.example>
                 S: 250 ok
                 S: 250 ok
                 S: 452 4.5.3 too many recipients
                 S: 452 4.5.3 too many recipients
                 C: DATA
                 S: 354 go",
            );
        } else {
            h.script(
                "C: MAIL FROM:<a@x.example>
                 S: 250 ok
                 C: RCPT TO:<r0@y.example>
                 S: 250 ok
                 C: RCPT TO:<r1@y.example>
                 S: 452 4.5.3 too many recipients
                 C: DATA
                 S: 354 go",
            );
        }
        let events = h.take_events();
        assert!(events.contains(&ClientEvent::BodyRequested {
            transaction: id,
            attempt: 1
        }));
        h.body(b"hello");
        h.script("C: hello\nC: .\nS: 250 first part queued");
        // The second transaction starts at once with the deferred ones.
        if pipelining {
            h.script(
                "C: MAIL FROM:<a@x.example>
                 C: RCPT TO:<r1@y.example>
                 C: RCPT TO:<r2@y.example>
                 S: 250 ok
                 S: 250 ok
                 S: 250 ok
                 C: DATA
                 S: 354 go",
            );
        } else {
            h.script(
                "C: MAIL FROM:<a@x.example>
                 S: 250 ok
                 C: RCPT TO:<r1@y.example>
                 S: 250 ok
                 C: RCPT TO:<r2@y.example>
                 S: 250 ok
                 C: DATA
                 S: 354 go",
            );
        }
        assert!(h.has_event(|e| *e
            == ClientEvent::BodyRequested {
                transaction: id,
                attempt: 2
            }));
        assert!(!h.has_event(|e| matches!(e, ClientEvent::TransactionCompleted(_))));
        h.body(b"hello");
        h.script("C: hello\nC: .\nS: 250 second part queued");
        let o = h.outcome();
        assert_eq!(o.attempts, 2);
        assert_eq!(statuses(&o), [RecipientStatus::Sent; 3]);
        match &o.outcome {
            Outcome::Sent { reply } => assert_eq!(reply.lines(), ["second part queued"]),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn deferral_without_progress_stops() {
    let (_, o) = scenario(false, SendPolicy::AllOrNothing, &["452 4.5.3 too many"]);
    assert_eq!(
        o.outcome,
        Outcome::NotSent {
            reason: NotSentReason::NoRecipientAccepted,
            reply: None
        }
    );
    assert_eq!(statuses(&o), [RecipientStatus::NotSent]);
    assert_eq!(codes(&o), [Some(452)]);
}

#[test]
fn max_recipients_per_transaction_splits_up_front() {
    let mut cfg = config();
    cfg.max_recipients_per_transaction = Some(1);
    let mut h = Harness::new(cfg);
    h.ehlo(PIPE);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example", "c@y.example"]),
        )
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<b@y.example>
         S: 250 ok
         S: 250 ok
         C: DATA
         S: 354 go",
    );
    h.body(b"m");
    h.script(
        "C: m
         C: .
         S: 250 ok
         C: MAIL FROM:<a@x.example>
         C: RCPT TO:<c@y.example>
         S: 250 ok
         S: 250 ok
         C: DATA
         S: 354 go",
    );
    h.body(b"m");
    h.script("C: m\nC: .\nS: 250 ok");
    let o = h.outcome();
    assert_eq!(
        (o.attempts, statuses(&o)),
        (2, vec![RecipientStatus::Sent; 2])
    );
}

#[test]
fn mail_refused() {
    for pipelining in [false, true] {
        let mut h = ready(if pipelining { PIPE } else { PLAIN });
        h.conn
            .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
            .unwrap();
        if pipelining {
            h.script(
                "C: MAIL FROM:<a@x.example>
                 C: RCPT TO:<b@y.example>
                 C: DATA
                 S: 553 5.7.1 Sender rejected
                 S: 503 5.5.1 need MAIL first
                 S: 503 5.5.1 need MAIL first
                 C: RSET
                 S: 250 ok",
            );
        } else {
            h.script(
                "C: MAIL FROM:<a@x.example>
                 S: 553 5.7.1 Sender rejected
                 C: RSET
                 S: 250 ok",
            );
        }
        let events = h.take_events();
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, ClientEvent::RecipientResult { .. })),
            "RCPT replies after a refused MAIL mean nothing"
        );
        let o = match events.last() {
            Some(ClientEvent::TransactionCompleted(o)) => o.clone(),
            other => panic!("{other:?}"),
        };
        match &o.outcome {
            Outcome::NotSent {
                reason: NotSentReason::MailRefused,
                reply: Some(reply),
            } => {
                assert_eq!(reply.code().as_u16(), 553);
                assert_eq!(reply.lines(), ["Sender rejected"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(statuses(&o), [RecipientStatus::NotSent]);
        assert_eq!(codes(&o), [None]);
        assert!(h.conn.is_ready());
    }
}

#[test]
fn data_refused() {
    let mut h = ready(PLAIN);
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         S: 250 ok
         C: RCPT TO:<b@y.example>
         S: 250 ok
         C: DATA
         S: 451 4.3.0 not now
         C: RSET
         S: 250 ok",
    );
    let o = h.outcome();
    match &o.outcome {
        Outcome::NotSent {
            reason: NotSentReason::DataRefused,
            reply: Some(r),
        } => assert_eq!(r.code().as_u16(), 451),
        other => panic!("{other:?}"),
    }
    assert_eq!(statuses(&o), [RecipientStatus::NotSent]);
}

#[test]
fn final_reply_4xx_and_5xx() {
    for code in ["451 4.3.0 try again", "554 5.6.0 content refused"] {
        let mut h = ready(PLAIN);
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
        h.script(&format!("C: x\nC: .\nS: {code}"));
        assert_eq!(h.take_sent(), "", "no RSET after a final reply");
        let o = h.outcome();
        match &o.outcome {
            Outcome::NotSent {
                reason: NotSentReason::MessageRefused,
                reply: Some(r),
            } => assert_eq!(r.to_string(), code),
            other => panic!("{other:?}"),
        }
        assert_eq!(statuses(&o), [RecipientStatus::NotSent]);
        assert!(h.conn.is_ready());
    }
}

#[test]
fn connection_lost_after_the_final_dot_is_unknown() {
    let mut h = ready(PLAIN);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example", "c@y.example"]),
        )
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         S: 250 ok
         C: RCPT TO:<b@y.example>
         S: 250 ok
         C: RCPT TO:<c@y.example>
         S: 550 no
         C: RSET
         S: 250 ok",
    );
    h.take_events();
    let env = envelope("a@x.example", &["b@y.example", "c@y.example"])
        .with_options(MailOptions::default().with_policy(SendPolicy::AtLeastOne));
    h.conn.send_mail(h.now, env).unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         S: 250 ok
         C: RCPT TO:<b@y.example>
         S: 250 ok
         C: RCPT TO:<c@y.example>
         S: 550 no
         C: DATA
         S: 354 go",
    );
    h.body(b"x");
    h.script("C: x\nC: .");
    h.eof();
    let o = h.outcome();
    assert_eq!(o.outcome, Outcome::Unknown);
    assert_eq!(
        statuses(&o),
        [RecipientStatus::Unknown, RecipientStatus::Refused]
    );
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ConnectionLost);
    assert_eq!(reason.phase, Phase::DataTermination);
    assert_eq!(reason.command.as_deref(), Some("."));
    // Completed comes before Closed.
    let n = h.all_events.len();
    assert!(matches!(h.all_events[n - 1], ClientEvent::Closed(_)));
}

#[test]
fn connection_lost_before_the_final_dot_is_not_sent() {
    let mut h = ready(PLAIN);
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
    h.conn
        .send_body(h.now, Bytes::from_static(b"partial"))
        .unwrap();
    h.eof();
    let o = h.outcome();
    assert_eq!(
        o.outcome,
        Outcome::NotSent {
            reason: NotSentReason::ConnectionClosed,
            reply: None
        }
    );
    assert_eq!(h.closed().unwrap().phase, Phase::DataBlock);
}

#[test]
fn service_closing_421_answering_the_final_dot_is_not_sent() {
    let mut h = ready(PLAIN);
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
    h.script("C: x\nC: .\nS: 421 4.3.0 shutting down");
    let o = h.outcome();
    match &o.outcome {
        Outcome::NotSent {
            reason: NotSentReason::MessageRefused,
            reply: Some(r),
        } => assert_eq!(r.code().as_u16(), 421),
        other => panic!("{other:?}"),
    }
    let reason = h.closed().unwrap();
    assert_eq!(reason.kind, CloseKind::ServiceClosing);
    assert_eq!(reason.phase, Phase::DataTermination);
}

#[test]
fn pipelined_at_least_one_354_with_no_recipient_sends_an_empty_message() {
    let mut h = ready(PIPE);
    let env = envelope("a@x.example", &["b@y.example"])
        .with_options(MailOptions::default().with_policy(SendPolicy::AtLeastOne));
    h.conn.send_mail(h.now, env).unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<b@y.example>
         C: DATA
         S: 250 ok
         S: 550 no
         S: 354 go anyway
         C: .
         S: 554 no valid recipients",
    );
    let o = h.outcome();
    assert_eq!(
        o.outcome,
        Outcome::NotSent {
            reason: NotSentReason::NoRecipientAccepted,
            reply: None
        }
    );
    assert!(!h.has_event(|e| matches!(e, ClientEvent::BodyRequested { .. })));
}

#[test]
fn mail_parameters_from_capabilities() {
    let mut h = ready(PIPE);
    let env = Envelope::new(
        ReversePath::Mailbox(mailbox("a@x.example")),
        [Recipient::new(ForwardPath::Mailbox(mailbox("b@y.example")))
            .with_notify(Notify::On(NotifyOn {
                success: true,
                failure: true,
                delay: false,
            }))
            .with_orcpt(Orcpt::new("rfc822", "b+x=y@y.example").unwrap())],
    )
    .with_options(
        MailOptions::default()
            .with_size(1234)
            .with_body(BodyType::EightBitMime)
            .with_dsn(Some(Ret::Headers), Some("id+1=2".into())),
    );
    h.conn.send_mail(h.now, env).unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example> SIZE=1234 BODY=8BITMIME RET=HDRS ENVID=id+2B1+3D2
         C: RCPT TO:<b@y.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx+3Dy@y.example
         C: DATA",
    );
    // SMTPUTF8 for a UTF-8 path.
    let mut h = ready(PIPE);
    h.conn
        .send_mail(h.now, envelope("jörg@x.example", &["b@y.example"]))
        .unwrap();
    h.script("C: MAIL FROM:<jörg@x.example> SMTPUTF8\nC: RCPT TO:<b@y.example>\nC: DATA");
}

#[test]
fn missing_extensions_are_usage_errors_and_nothing_is_written() {
    let mut h = ready(&["PIPELINING"]);
    let cases = [
        (envelope("jörg@x.example", &["b@y.example"]), "SMTPUTF8"),
        (envelope("a@x.example", &["bö@y.example"]), "SMTPUTF8"),
        (
            envelope("a@x.example", &["b@y.example"])
                .with_options(MailOptions::default().with_body(BodyType::EightBitMime)),
            "8BITMIME",
        ),
        (
            envelope("a@x.example", &["b@y.example"])
                .with_options(MailOptions::default().with_body(BodyType::BinaryMime)),
            "CHUNKING",
        ),
        (
            envelope("a@x.example", &["b@y.example"])
                .with_options(MailOptions::default().with_dsn(Some(Ret::Full), None)),
            "DSN",
        ),
    ];
    for (env, ext) in cases {
        assert_eq!(
            h.conn.send_mail(h.now, env),
            Err(UsageError::MissingExtension(ext))
        );
    }
    let mut h2 = ready(&["CHUNKING"]);
    assert_eq!(
        h2.conn.send_mail(
            h2.now,
            envelope("a@x.example", &["b@y.example"])
                .with_options(MailOptions::default().with_body(BodyType::BinaryMime))
        ),
        Err(UsageError::MissingExtension("BINARYMIME"))
    );
    assert_eq!(h.take_sent(), "");
    assert!(h.conn.is_ready());
}

#[test]
fn injection_and_bad_values_are_refused_before_writing() {
    let mut h = ready(PIPE);
    let bad_envid = ["", "line\r\nRSET", "nul\0", "é", &"x".repeat(101)];
    for envid in bad_envid {
        let env = envelope("a@x.example", &["b@y.example"])
            .with_options(MailOptions::default().with_dsn(None, Some(envid.to_owned())));
        assert!(
            matches!(
                h.conn.send_mail(h.now, env),
                Err(UsageError::InvalidInput(_))
            ),
            "{envid:?}"
        );
    }
    let env = Envelope::new(
        ReversePath::Mailbox(mailbox("a@x.example")),
        [Recipient::new(ForwardPath::Mailbox(mailbox("b@y.example")))
            .with_orcpt(Orcpt::new("rfc822", &"+".repeat(200)).unwrap())],
    );
    assert!(matches!(
        h.conn.send_mail(h.now, env),
        Err(UsageError::InvalidInput(_))
    ));
    let none: [&str; 0] = [];
    assert!(matches!(
        h.conn.send_mail(h.now, envelope("a@x.example", &none)),
        Err(UsageError::InvalidInput(_))
    ));
    // Addresses with CR, LF, NUL, spaces or brackets outside quotes, or
    // over-long, cannot even be built.
    for bad in [
        "a\r\n@x.example",
        "a@x.example\r\nRSET",
        "a\0@x.example",
        "a b@x.example",
        "a<b@x.example",
        "a>b@x.example",
    ] {
        assert!(
            bad.parse::<mailwire_core::wire::address::Mailbox>()
                .is_err(),
            "{bad:?}"
        );
    }
    let long = format!("{}@x.example", "a".repeat(65));
    assert!(
        long.parse::<mailwire_core::wire::address::Mailbox>()
            .is_err()
    );
    let long = format!("a@{}.example", "b.".repeat(130));
    assert!(
        long.parse::<mailwire_core::wire::address::Mailbox>()
            .is_err()
    );
    // A quoted local part may hold a space.
    h.conn
        .send_mail(h.now, envelope("\"a b\"@x.example", &["b@y.example"]))
        .unwrap();
    h.script("C: MAIL FROM:<\"a b\"@x.example>\nC: RCPT TO:<b@y.example>\nC: DATA");
}

#[test]
fn seven_bit_body_refuses_eight_bit_octets() {
    let mut h = ready(PLAIN);
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
    assert_eq!(
        h.conn
            .send_body(h.now, Bytes::from_static("café".as_bytes())),
        Err(UsageError::InvalidInput("8-bit octet in a 7bit body"))
    );
    assert_eq!(h.take_sent(), "");
    h.conn
        .send_body(h.now, Bytes::from_static(b"cafe"))
        .unwrap();
    h.conn.end_body(h.now).unwrap();
    h.script("C: cafe\nC: .");
}

#[test]
fn requiretls_fails_with_5_7_30_without_verified_tls() {
    let opts = MailOptions::default().with_requiretls(true);
    // Plaintext, although the server offers REQUIRETLS.
    let mut h = ready(&["REQUIRETLS", "PIPELINING"]);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example"]).with_options(opts.clone()),
        )
        .unwrap();
    assert_eq!(h.take_sent(), "");
    let o = h.outcome();
    match &o.outcome {
        Outcome::NotSent {
            reason: NotSentReason::RequireTlsUnavailable,
            reply: Some(r),
        } => {
            assert_eq!(r.code().as_u16(), 550);
            assert_eq!(r.enhanced().unwrap().to_string(), "5.7.30");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(o.attempts, 0);
    assert!(h.conn.is_ready());

    // Verified TLS, but no REQUIRETLS offered.
    let session = ClientSession::new("mx.example.com").with_implicit_tls(tls(true));
    let mut h = Harness::with_session(config(), session.clone());
    h.ehlo(&["PIPELINING"]);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example"]).with_options(opts.clone()),
        )
        .unwrap();
    assert!(matches!(
        h.outcome().outcome,
        Outcome::NotSent {
            reason: NotSentReason::RequireTlsUnavailable,
            ..
        }
    ));

    // Verified TLS and REQUIRETLS: the parameter goes out.
    let mut h = Harness::with_session(config(), session);
    h.ehlo(&["PIPELINING", "REQUIRETLS"]);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example"]).with_options(opts),
        )
        .unwrap();
    h.script("C: MAIL FROM:<a@x.example> REQUIRETLS\nC: RCPT TO:<b@y.example>\nC: DATA");
}

#[test]
fn size_over_the_server_limit_is_not_sent() {
    let mut h = ready(&["SIZE 1000"]);
    let env = envelope("a@x.example", &["b@y.example"])
        .with_options(MailOptions::default().with_size(1001));
    h.conn.send_mail(h.now, env).unwrap();
    assert_eq!(h.take_sent(), "");
    match h.outcome().outcome {
        Outcome::NotSent {
            reason: NotSentReason::TooLarge,
            reply: Some(r),
        } => assert_eq!(r.enhanced().unwrap().to_string(), "5.3.4"),
        other => panic!("{other:?}"),
    }
    // No SIZE advertised: no SIZE parameter.
    let mut h = ready(&[]);
    let env = envelope("a@x.example", &["b@y.example"])
        .with_options(MailOptions::default().with_size(10));
    h.conn.send_mail(h.now, env).unwrap();
    h.script("C: MAIL FROM:<a@x.example>");
}

#[test]
fn body_back_pressure_is_explicit() {
    let mut cfg = config();
    cfg.body_buffer = 100;
    let mut h = Harness::new(cfg);
    h.ehlo(PLAIN);
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
    assert!(h.conn.wants_body());
    h.conn
        .send_body(h.now, Bytes::from(vec![b'a'; 150]))
        .unwrap();
    // Not drained yet: the connection holds 150 octets for the driver.
    assert!(!h.conn.wants_body());
    assert!(matches!(
        h.conn.send_body(h.now, Bytes::from_static(b"more")),
        Err(UsageError::InvalidState(_))
    ));
    assert_eq!(h.conn.queued_len(), 150);
    h.drain();
    assert!(h.conn.wants_body());
    h.conn.end_body(h.now).unwrap();
    assert!(!h.conn.wants_body());
}

#[test]
fn long_lines_are_never_wrapped() {
    let mut h = ready(PLAIN);
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
    let line = "x".repeat(5000);
    h.body(line.as_bytes());
    h.script(&format!("C: {line}\nC: .\nS: 250 ok"));
    assert!(h.outcome().outcome.is_sent());
}
