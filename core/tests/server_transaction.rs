//! Server transcripts: mail transactions, pipelining, DATA bodies, SIZE,
//! parameters, and SMTP smuggling.

mod common;

use common::{Answer, Harness, config, default_decider, refuse};
use mailwire_core::server::{AbortReason, ServerEvent, SessionInfo, Transfer, Verdict};
use mailwire_core::wire::dot::{BareCr, BareLf};
use mailwire_core::wire::params::{BodyType, Notify};

fn ready() -> Harness {
    let mut h = Harness::new(config());
    h.ehlo();
    h
}

fn message_requests(h: &Harness) -> usize {
    h.count(|e| matches!(e, ServerEvent::MessageRequest { .. }))
}

#[test]
fn a_whole_transaction() {
    let mut h = ready();
    h.script(
        "C: MAIL FROM:<alice@example.net> BODY=8BITMIME
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<bob@example.org>
         S: 250 2.1.5 Recipient OK
         C: RCPT TO:<carol@example.org> NOTIFY=SUCCESS,FAILURE
         S: 250 2.1.5 Recipient OK
         C: DATA
         S: 354 End data with <CR><LF>.<CR><LF>
         C: Subject: hi
         C:
         C: ..leading dot
         C: .
         S: 250 2.0.0 Message accepted",
    );
    assert_eq!(h.message_data(), b"Subject: hi\r\n\r\n.leading dot\r\n");
    let envelope = h
        .events
        .iter()
        .find_map(|e| match e {
            ServerEvent::MessageRequest { envelope, .. } => Some(envelope.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(envelope.from.to_string(), "<alice@example.net>");
    assert_eq!(envelope.recipients.len(), 2);
    assert_eq!(envelope.recipients[1].to.to_string(), "<carol@example.org>");
    assert!(matches!(
        envelope.recipients[1].params.notify,
        Some(Notify::On(_))
    ));
    assert_eq!(envelope.body, BodyType::EightBitMime);
    assert_eq!(envelope.transfer, Transfer::Data);
    assert_eq!(envelope.size, 29);
    assert!(matches!(
        h.events
            .iter()
            .find(|e| matches!(e, ServerEvent::MessageStarted { .. })),
        Some(ServerEvent::MessageStarted { .. })
    ));
    // The transaction is over: a new one starts clean.
    assert_eq!(
        h.cmd("RCPT TO:<dave@example.org>"),
        "503 5.5.1 Need MAIL command\r\n"
    );
}

#[test]
fn pipelined_batch_is_answered_in_order_in_one_write() {
    let mut h = ready();
    let sends_before = h.sends.len();
    let out = h.input(
        b"MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.org>\r\n\
          RCPT TO:<bad@example.org>\r\nRCPT TO:<carol@example.org>\r\nDATA\r\n",
    );
    assert_eq!(
        out,
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n550 5.1.1 No such user\r\n\
         250 2.1.5 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(h.sends.len(), sends_before + 1, "coalesced into one Send");
    // The events came in command order.
    let kinds: Vec<&str> = h.events[2..]
        .iter()
        .map(|e| match e {
            ServerEvent::MailRequest { .. } => "mail",
            ServerEvent::RcptRequest { .. } => "rcpt",
            ServerEvent::MessageStarted { .. } => "start",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["mail", "rcpt", "rcpt", "rcpt", "start"]);
    assert_eq!(h.input(b"x\r\n.\r\n"), "250 2.0.0 Message accepted\r\n");
}

#[test]
fn ready_replies_are_not_held_while_a_decision_waits() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::RcptRequest { .. } => Answer::Defer,
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    // MAIL is answered at once; RCPT waits; NOOP behind it waits too.
    assert_eq!(
        h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nNOOP\r\n"),
        "250 2.1.0 Sender OK\r\n"
    );
    assert_eq!(h.conn.buffered_len(), 6);
    assert_eq!(
        h.decide(Verdict::Accept),
        "250 2.1.5 Recipient OK\r\n250 2.0.0 OK\r\n"
    );
}

#[test]
fn nothing_is_accepted_before_the_application_says_so() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::MessageRequest { .. } => Answer::Defer,
        _ => Answer::Verdict(Verdict::Accept),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    let out =
        h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nhello\r\n.\r\n");
    assert!(!out.contains("Message accepted"));
    assert!(!h.conn.wants_read());
    assert_eq!(
        h.decide(Verdict::Reply(
            mailwire_core::wire::reply::Reply::simple(554, "5.7.1", "Spam").unwrap()
        )),
        "554 5.7.1 Spam\r\n"
    );
    // Refused: the transaction is over all the same.
    assert_eq!(h.cmd("DATA"), "503 5.5.1 Need MAIL command\r\n");
}

#[test]
fn recipients_never_carry_over() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\none\r\n.\r\n");
    h.script(
        "C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: DATA
         S: 554 5.5.1 No valid recipients
         C: RCPT TO:<c@example.org>
         S: 250 2.1.5 Recipient OK
         C: RSET
         S: 250 2.0.0 OK
         C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<d@example.org>
         S: 250 2.1.5 Recipient OK
         C: DATA
         S: 354 *
         C: two
         C: .
         S: 250 2.0.0 Message accepted",
    );
    let envelopes: Vec<Vec<String>> = h
        .events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::MessageRequest { envelope, .. } => Some(
                envelope
                    .recipients
                    .iter()
                    .map(|r| r.to.to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect();
    assert_eq!(
        envelopes,
        [
            vec!["<b@example.org>".to_owned()],
            vec!["<d@example.org>".to_owned()]
        ]
    );
}

#[test]
fn body_pipelined_behind_a_refused_data_is_discarded() {
    let mut h = ready();
    let out = h.input(
        b"MAIL FROM:<a@example.net>\r\nRCPT TO:<bad@example.org>\r\nDATA\r\n\
          RSET\r\nMAIL FROM:<evil@example.net>\r\nQUIT\r\n.\r\n",
    );
    assert_eq!(
        out,
        "250 2.1.0 Sender OK\r\n550 5.1.1 No such user\r\n554 5.5.1 No valid recipients\r\n"
    );
    assert_eq!(h.count(|e| matches!(e, ServerEvent::MailRequest { .. })), 1);
    assert!(!h.closed, "the pipelined QUIT was never run");
    assert_eq!(h.conn.buffered_len(), 0);
    // Without MAIL at all, the same.
    assert_eq!(
        h.input(b"RSET\r\nDATA\r\nQUIT\r\n"),
        "250 2.0.0 OK\r\n503 5.5.1 Need MAIL command\r\n"
    );
    assert!(!h.closed);
}

#[test]
fn declared_size_over_the_limit_is_refused_at_mail() {
    let mut c = config();
    c.limits.max_message_size = Some(1000);
    let mut h = Harness::new(c);
    let ehlo = h.ehlo();
    assert!(ehlo.contains("250-SIZE 1000\r\n"));
    h.script(
        "C: MAIL FROM:<a@example.net> SIZE=1001
         S: 552 5.3.4 Message size exceeds fixed maximum message size
         C: MAIL FROM:<a@example.net> SIZE=1000
         S: 250 2.1.0 Sender OK",
    );
}

#[test]
fn body_over_the_limit_is_read_to_its_end_and_refused() {
    let mut c = config();
    c.limits.max_message_size = Some(20);
    let mut h = Harness::new(c);
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    assert_eq!(h.input(b"0123456789\r\n"), "");
    assert_eq!(h.input(b"0123456789\r\nQUIT\r\n"), "");
    assert_eq!(h.input(b"more and more\r\n"), "");
    assert_eq!(
        h.input(b".\r\nNOOP\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
    );
    assert_eq!(
        h.message_data(),
        b"0123456789\r\n",
        "no chunks after the limit"
    );
    assert_eq!(
        h.count(|e| matches!(
            e,
            ServerEvent::MessageAborted {
                reason: AbortReason::SizeExceeded,
                ..
            }
        )),
        1
    );
    assert_eq!(message_requests(&h), 0);
    assert!(!h.closed);
}

#[test]
fn message_data_streams_in_chunks() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    let before = h.count(|e| matches!(e, ServerEvent::MessageData(_)));
    for _ in 0..10 {
        h.input(&[b'x'; 1000]);
    }
    let chunks = h.count(|e| matches!(e, ServerEvent::MessageData(_))) - before;
    assert_eq!(chunks, 10, "one chunk per input slice");
    assert_eq!(h.conn.buffered_len(), 0, "the body is not buffered");
    h.input(b"\r\n.\r\n");
    assert_eq!(h.message_data().len(), 10_002);
}

/// Sends a message whose body holds `hazard` followed by a smuggled
/// transaction, and checks that only the real terminator ends it.
fn assert_not_a_terminator(hazard: &[u8]) {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    let mut body = b"Subject: test\r\n\r\nline".to_vec();
    body.extend_from_slice(hazard);
    body.extend_from_slice(
        b"MAIL FROM:<smuggled@example.net>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n",
    );
    let out = h.input(&body);
    assert_eq!(out, "", "{hazard:?}: nothing answered inside the body");
    assert_eq!(message_requests(&h), 0, "{hazard:?}: message ended early");
    assert_eq!(
        h.count(|e| matches!(e, ServerEvent::MailRequest { .. })),
        1,
        "{hazard:?}: smuggled MAIL was run"
    );
    assert_eq!(h.input(b"end\r\n.\r\n"), "250 2.0.0 Message accepted\r\n");
    assert_eq!(message_requests(&h), 1);
    let data = h.message_data();
    let text = String::from_utf8_lossy(&data);
    assert!(
        text.contains("smuggled@example.net"),
        "{hazard:?}: {text:?}"
    );
}

#[test]
fn smuggling_variants_never_end_the_data() {
    for hazard in [
        &b"\n.\n"[..],
        b"\r.\r",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r.\n",
        b"\r\n.\r",
        b"\r.\r\n",
        b"\n.\r",
        b"\r\n.\r\r\n",
        b"\r\n.\n\r\n",
        b"\n\n.\n\n",
        b"\r\r.\r\r",
    ] {
        assert_not_a_terminator(hazard);
    }
}

#[test]
fn smuggling_split_across_reads() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    for piece in [&b"x\n"[..], b".", b"\r", b"\n", b"NOOP\r\n"] {
        assert_eq!(h.input(piece), "");
    }
    assert_eq!(message_requests(&h), 0);
    // The real terminator split byte by byte.
    for piece in [&b"\r"[..], b"\n", b".", b"\r"] {
        assert_eq!(h.input(piece), "");
    }
    assert_eq!(h.input(b"\n"), "250 2.0.0 Message accepted\r\n");
}

#[test]
fn bare_lf_is_normalised_by_default() {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    assert_eq!(
        h.input(b"a\nb\rc\r\n.\r\n"),
        "250 2.0.0 Message accepted\r\n"
    );
    assert_eq!(h.message_data(), b"a\r\nb\rc\r\n");
}

#[test]
fn bare_lf_and_bare_cr_can_be_refused() {
    for (lf, cr, body) in [
        (BareLf::Reject, BareCr::Keep, &b"a\nb\r\n.\r\n"[..]),
        (BareLf::Normalize, BareCr::Reject, b"a\rb\r\n.\r\n"),
    ] {
        let mut c = config();
        c.body_policy.bare_lf = lf;
        c.body_policy.bare_cr = cr;
        let mut h = Harness::new(c);
        h.ehlo();
        h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
        assert_eq!(
            h.input(body),
            "550 5.6.0 Message refused: bare CR or LF, NUL, or an over-long line\r\n"
        );
        assert_eq!(message_requests(&h), 0);
        assert_eq!(
            h.count(|e| matches!(
                e,
                ServerEvent::MessageAborted {
                    reason: AbortReason::BodyRejected,
                    ..
                }
            )),
            1
        );
        // The session goes on with a clean transaction.
        assert_eq!(
            h.cmd("RCPT TO:<b@example.org>"),
            "503 5.5.1 Need MAIL command\r\n"
        );
    }
}

#[test]
fn empty_message() {
    let mut h = ready();
    h.input(b"MAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n");
    assert_eq!(h.input(b".\r\n"), "250 2.0.0 Message accepted\r\n");
    assert!(h.message_data().is_empty());
}

#[test]
fn recipient_limit() {
    let mut c = config();
    c.limits.max_recipients = 2;
    let mut h = Harness::new(c);
    h.ehlo();
    h.script(
        "C: MAIL FROM:<a@example.net>
         C: RCPT TO:<b@example.org>
         C: RCPT TO:<c@example.org>
         C: RCPT TO:<d@example.org>
         S: 250 2.1.0 Sender OK
         S: 250 2.1.5 Recipient OK
         S: 250 2.1.5 Recipient OK
         S: 452 4.5.3 Too many recipients",
    );
    assert_eq!(h.count(|e| matches!(e, ServerEvent::RcptRequest { .. })), 2);
}

#[test]
fn parameters_of_unadvertised_extensions_are_555() {
    let mut c = config();
    c.extensions.size = false;
    c.extensions.dsn = false;
    c.extensions.eight_bit_mime = false;
    c.extensions.chunking = false;
    c.limits.max_errors = 100;
    let mut h = Harness::new(c);
    let ehlo = h.ehlo();
    assert!(!ehlo.contains("SMTPUTF8"), "SMTPUTF8 needs 8BITMIME");
    assert!(!ehlo.contains("BINARYMIME"), "BINARYMIME needs CHUNKING");
    h.script(
        "C: MAIL FROM:<a@example.net> SIZE=10
         S: 555 5.5.4 Unsupported parameter SIZE
         C: MAIL FROM:<a@example.net> BODY=8BITMIME
         S: 555 5.5.4 Unsupported parameter BODY=8BITMIME
         C: MAIL FROM:<a@example.net> BODY=BINARYMIME
         S: 555 5.5.4 Unsupported parameter BODY=BINARYMIME
         C: MAIL FROM:<a@example.net> SMTPUTF8
         S: 555 5.5.4 Unsupported parameter SMTPUTF8
         C: MAIL FROM:<a@example.net> RET=HDRS
         S: 555 5.5.4 Unsupported parameter RET
         C: MAIL FROM:<a@example.net> ENVID=abc
         S: 555 5.5.4 Unsupported parameter ENVID
         C: MAIL FROM:<a@example.net> REQUIRETLS
         S: 555 5.5.4 Unsupported parameter REQUIRETLS
         C: MAIL FROM:<a@example.net> AUTH=<>
         S: 555 5.5.4 Unsupported parameter AUTH
         C: MAIL FROM:<a@example.net> X-FOO=bar
         S: 555 5.5.4 Unsupported parameter X-FOO
         C: MAIL FROM:<a@example.net> SIZE=abc
         S: 555 5.5.4 Unsupported parameter SIZE
         C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<b@example.org> NOTIFY=NEVER
         S: 555 5.5.4 Unsupported parameter NOTIFY
         C: RCPT TO:<b@example.org> ORCPT=rfc822;b@example.org
         S: 555 5.5.4 Unsupported parameter ORCPT
         C: RCPT TO:<b@example.org> X-BAR
         S: 555 5.5.4 Unsupported parameter X-BAR",
    );
}

#[test]
fn duplicate_and_bad_parameter_values_are_501() {
    let mut h = ready();
    h.script(
        "C: MAIL FROM:<a@example.net> SIZE=abc
         S: 501 5.5.4 Invalid parameter SIZE
         C: MAIL FROM:<a@example.net> SIZE=1 SIZE=2
         S: 501 5.5.4 Invalid parameter SIZE
         C: MAIL FROM:<a@example.net> BODY=9BIT
         S: 501 5.5.4 Invalid parameter BODY
         C: MAIL FROM:<a@example.net> RET=ALL
         S: 501 5.5.4 Invalid parameter RET
         C: MAIL FROM:<a@example.net> SMTPUTF8=yes
         S: 501 5.5.4 Invalid parameter SMTPUTF8
         C: MAIL FROM:<a@example.net> ==
         S: 501 5.5.4 Syntax error in parameters
         C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<b@example.org> NOTIFY=SOMETIMES
         S: 501 5.5.4 Invalid parameter NOTIFY",
    );
}

#[test]
fn any_parameter_after_helo_is_555() {
    let mut h = Harness::new(config());
    h.cmd("HELO client.example.net");
    h.script(
        "C: MAIL FROM:<a@example.net> SIZE=10
         S: 555 Parameters not allowed after HELO
         C: MAIL FROM:<a@example.net> SIZE=x
         S: 555 Parameters not allowed after HELO
         C: MAIL FROM:<a@example.net>
         S: 250 Sender OK
         C: RCPT TO:<b@example.org> NOTIFY=NEVER
         S: 555 Parameters not allowed after HELO",
    );
}

#[test]
fn utf8_addresses_need_smtputf8() {
    let mut h = ready();
    h.script(
        "C: MAIL FROM:<jörg@example.net>
         S: 553 5.6.7 Non-ASCII address requires SMTPUTF8
         C: MAIL FROM:<a@example.net>
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<björn@example.org>
         S: 553 5.6.7 Non-ASCII address requires SMTPUTF8
         C: RSET
         S: 250 2.0.0 OK
         C: MAIL FROM:<jörg@example.net> SMTPUTF8
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<björn@bücher.example>
         S: 250 2.1.5 Recipient OK",
    );
}

#[test]
fn dsn_and_unknown_parameters_reach_the_application() {
    let mut c = config();
    c.pass_unknown_params = true;
    let mut h = Harness::new(c);
    h.ehlo();
    h.script(
        "C: MAIL FROM:<a@example.net> RET=HDRS ENVID=QQ314159 X-TRACE=1
         S: 250 2.1.0 Sender OK
         C: RCPT TO:<b@example.org> NOTIFY=DELAY ORCPT=rfc822;b@example.org X-PRIO
         S: 250 2.1.5 Recipient OK",
    );
    let params = h
        .events
        .iter()
        .find_map(|e| match e {
            ServerEvent::MailRequest { params, .. } => Some(params.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(params.envid.as_deref(), Some("QQ314159"));
    assert_eq!(params.unknown[0].keyword(), "X-TRACE");
    let rcpt = h
        .events
        .iter()
        .find_map(|e| match e {
            ServerEvent::RcptRequest { params, .. } => Some(params.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        rcpt.orcpt.as_ref().map(|o| o.address()),
        Some("b@example.org")
    );
    assert_eq!(rcpt.unknown[0].keyword(), "X-PRIO");
}

#[test]
fn data_with_binarymime_is_refused() {
    let mut h = ready();
    h.script(
        "C: MAIL FROM:<a@example.net> BODY=BINARYMIME
         C: RCPT TO:<b@example.org>
         C: DATA
         S: 250 2.1.0 Sender OK
         S: 250 2.1.5 Recipient OK
         S: 503 5.5.1 DATA not allowed with BODY=BINARYMIME, use BDAT",
    );
}

#[test]
fn refused_recipients_count_against_the_refusal_limit() {
    let mut c = config();
    c.limits.max_errors = 1;
    c.limits.max_refusals = 3;
    let mut h = Harness::new(c);
    h.ehlo();
    h.script(
        "C: MAIL FROM:<a@example.net>
         C: RCPT TO:<bad1@example.org>
         C: RCPT TO:<bad2@example.org>
         C: RCPT TO:<ok@example.org>
         C: RCPT TO:<bad3@example.org>
         C: RCPT TO:<ok2@example.org>
         S: 250 2.1.0 Sender OK
         S: 550 5.1.1 No such user
         S: 550 5.1.1 No such user
         S: 250 2.1.5 Recipient OK
         S: 550 5.1.1 No such user
         S: 421 4.7.0 Too many refused senders or recipients, closing connection",
    );
    assert!(h.closed);
}

#[test]
fn application_can_refuse_mail_and_rcpt() {
    let decider = Box::new(|e: &ServerEvent| match e {
        ServerEvent::MailRequest { from, .. } if from.to_string().contains("spammer") => {
            refuse(550, "5.7.1", "Sender rejected")
        }
        _ => default_decider()(e),
    });
    let mut h = Harness::with(config(), SessionInfo::default(), decider);
    h.ehlo();
    h.script(
        "C: MAIL FROM:<spammer@example.net>
         C: RCPT TO:<b@example.org>
         C: DATA
         S: 550 5.7.1 Sender rejected
         S: 503 5.5.1 Need MAIL command
         S: 503 5.5.1 Need MAIL command",
    );
}
