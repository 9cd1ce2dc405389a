//! Client transcripts: BDAT (RFC 3030) for 7bit/8bit bodies, BINARYMIME,
//! chunk pipelining and back-pressure, refused chunks, and the same line
//! normalisation for DATA and BDAT.

mod client_common;

use bytes::Bytes;
use client_common::{Harness, config, envelope};
use mailwire_core::client::{
    BodyType, ClientConfig, MailOptions, NotSentReason, Outcome, RecipientStatus,
};
use mailwire_core::wire::dot::normalize;
use mailwire_core::{Action, UsageError};

fn chunking() -> ClientConfig {
    let mut cfg = config();
    cfg.chunking = true;
    cfg
}

fn at_body(cfg: ClientConfig, caps: &[&str], opts: MailOptions) -> Harness {
    let mut h = Harness::new(cfg);
    h.ehlo(caps);
    h.take_events();
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example"]).with_options(opts),
        )
        .unwrap();
    let sent = h.take_sent();
    assert!(sent.starts_with("MAIL FROM:<a@x.example>"), "{sent}");
    h.server("250 ok");
    if !sent.contains("RCPT") {
        h.script("C: RCPT TO:<b@y.example>");
    } else {
        h.take_sent();
    }
    h.server("250 ok");
    h
}

#[test]
fn bdat_lock_step_normalises_line_ends() {
    let mut h = at_body(chunking(), &["CHUNKING"], MailOptions::default());
    assert!(h.conn.wants_body());
    h.conn
        .send_body(h.now, Bytes::from_static(b"a\nb"))
        .unwrap();
    assert_eq!(h.take_sent(), "BDAT 4\r\na\r\nb");
    assert!(!h.conn.wants_body(), "no PIPELINING: one chunk at a time");
    assert!(matches!(
        h.conn.send_body(h.now, Bytes::from_static(b"x")),
        Err(UsageError::InvalidState(_))
    ));
    // end_body while the chunk is unanswered: LAST waits for the reply.
    h.conn.end_body(h.now).unwrap();
    assert_eq!(h.take_sent(), "");
    h.script("S: 250 2.0.0 4 octets\nC: BDAT 2 LAST\nC:\nS: 250 2.0.0 message ok");
    let o = h.outcome();
    assert!(o.outcome.is_sent());
    assert_eq!(o.recipients[0].status, RecipientStatus::Sent);
}

#[test]
fn bdat_pipelined_chunks_and_in_flight_cap() {
    let mut cfg = chunking();
    cfg.max_bdat_in_flight = 2;
    let mut h = at_body(cfg, &["CHUNKING", "PIPELINING"], MailOptions::default());
    h.conn
        .send_body(h.now, Bytes::from_static(b"one\r\n"))
        .unwrap();
    h.drain();
    assert!(h.conn.wants_body());
    h.conn
        .send_body(h.now, Bytes::from_static(b"two\r\n"))
        .unwrap();
    h.drain();
    assert!(!h.conn.wants_body(), "two chunks in flight");
    assert_eq!(h.take_sent(), "BDAT 5\r\none\r\nBDAT 5\r\ntwo\r\n");
    h.server("250 ok");
    assert!(h.conn.wants_body());
    h.conn.end_body(h.now).unwrap();
    h.script("C: BDAT 0 LAST\nS: 250 ok\nS: 250 done");
    assert!(h.outcome().outcome.is_sent());
}

#[test]
fn empty_chunks_are_skipped() {
    let mut h = at_body(chunking(), &["CHUNKING"], MailOptions::default());
    h.conn.send_body(h.now, Bytes::new()).unwrap();
    assert_eq!(h.take_sent(), "");
    assert!(h.conn.wants_body());
    h.conn.end_body(h.now).unwrap();
    h.script("C: BDAT 0 LAST\nS: 250 ok");
    assert!(h.outcome().outcome.is_sent());
}

#[test]
fn chunking_off_by_default_uses_data() {
    let mut h = Harness::new(config());
    h.ehlo(&["CHUNKING", "PIPELINING"]);
    h.conn
        .send_mail(h.now, envelope("a@x.example", &["b@y.example"]))
        .unwrap();
    // One recipient: DATA joins the pipelined group.
    h.script(
        "C: MAIL FROM:<a@x.example>
         C: RCPT TO:<b@y.example>
         C: DATA
         S: 250 ok
         S: 250 ok
         S: 354 go",
    );
}

#[test]
fn binarymime_goes_raw_without_a_copy() {
    let mut h = at_body(
        config(),
        &["CHUNKING", "BINARYMIME", "PIPELINING"],
        MailOptions::default().with_body(BodyType::BinaryMime),
    );
    let mail = String::from_utf8(h.wire.clone()).unwrap();
    assert!(
        mail.contains("MAIL FROM:<a@x.example> BODY=BINARYMIME\r\n"),
        "{mail}"
    );
    let raw = Bytes::from_static(b"\0\x01.\r\n.\n\rbin\xff\r\n.\r\n");
    h.conn.send_body(h.now, raw.clone()).unwrap();
    let mut sends = Vec::new();
    while let Some(action) = h.conn.poll_action() {
        if let Action::Send(bytes) = action {
            sends.push(bytes);
        }
    }
    assert_eq!(sends.len(), 2);
    assert_eq!(&sends[0][..], format!("BDAT {}\r\n", raw.len()).as_bytes());
    assert_eq!(sends[1], raw);
    assert_eq!(
        sends[1].as_ptr(),
        raw.as_ptr(),
        "the caller's buffer is sent as is"
    );
    h.conn.end_body(h.now).unwrap();
    h.script("C: BDAT 0 LAST\nS: 250 ok\nS: 250 message ok");
    assert!(h.outcome().outcome.is_sent());
}

#[test]
fn binarymime_even_when_chunking_is_not_preferred() {
    let mut h = Harness::new(config());
    h.ehlo(&["CHUNKING", "BINARYMIME"]);
    h.conn
        .send_mail(
            h.now,
            envelope("a@x.example", &["b@y.example"])
                .with_options(MailOptions::default().with_body(BodyType::BinaryMime)),
        )
        .unwrap();
    h.script(
        "C: MAIL FROM:<a@x.example> BODY=BINARYMIME
         S: 250 ok
         C: RCPT TO:<b@y.example>
         S: 250 ok",
    );
    h.conn
        .send_body(h.now, Bytes::from_static(b"\n\n"))
        .unwrap();
    assert_eq!(h.take_sent(), "BDAT 2\r\n\n\n");
}

#[test]
fn refused_chunk_abandons_the_transaction() {
    let mut h = at_body(
        chunking(),
        &["CHUNKING", "PIPELINING"],
        MailOptions::default(),
    );
    h.conn
        .send_body(h.now, Bytes::from_static(b"one\r\n"))
        .unwrap();
    h.conn
        .send_body(h.now, Bytes::from_static(b"two\r\n"))
        .unwrap();
    h.take_sent();
    h.server("552 5.3.4 too big");
    assert!(!h.conn.wants_body());
    h.script("S: 503 5.5.1 already failed\nC: RSET\nS: 250 ok");
    assert!(matches!(
        h.conn.send_body(h.now, Bytes::from_static(b"three")),
        Err(UsageError::InvalidState(_))
    ));
    let o = h.outcome();
    match &o.outcome {
        Outcome::NotSent {
            reason: NotSentReason::MessageRefused,
            reply: Some(r),
        } => assert_eq!(r.code().as_u16(), 552),
        other => panic!("{other:?}"),
    }
    assert!(h.conn.is_ready());
}

#[test]
fn refused_last_chunk() {
    let mut h = at_body(chunking(), &["CHUNKING"], MailOptions::default());
    h.conn.end_body(h.now).unwrap();
    h.script("C: BDAT 0 LAST\nS: 554 5.6.0 no\nC: RSET\nS: 250 ok");
    assert!(matches!(
        h.outcome().outcome,
        Outcome::NotSent {
            reason: NotSentReason::MessageRefused,
            ..
        }
    ));
}

/// The body bytes the server ends up with are the same by DATA and by
/// BDAT: `normalize(body)`; only DATA adds dots (and the terminator).
#[test]
fn data_and_bdat_normalise_the_same_way() {
    let body: &[u8] = b"Subject: x\n\n.start\r\nbare cr\rx\r\n.\r\nCRLF.CRLF inside\r\n.\nlast";
    let cuts = [1usize, 2, 3, 5, 7, 11];
    for cut in cuts {
        // DATA.
        let mut h = at_body(config(), &[], MailOptions::default());
        h.script("C: DATA\nS: 354 go");
        for piece in body.chunks(cut) {
            h.conn
                .send_body(h.now, Bytes::copy_from_slice(piece))
                .unwrap();
            h.drain();
        }
        h.conn.end_body(h.now).unwrap();
        let data = h.take_sent().into_bytes();
        let mut unstuffed = bytes::BytesMut::new();
        let mut u = mailwire_core::wire::dot::Unstuffer::new(Default::default());
        let r = u.feed(&data, &mut unstuffed);
        assert!(
            r.done && r.consumed == data.len(),
            "one terminator, at the end"
        );
        assert_eq!(&unstuffed[..], &normalize(body)[..], "cut {cut}");

        // BDAT.
        let mut h = at_body(
            chunking(),
            &["CHUNKING", "PIPELINING"],
            MailOptions::default(),
        );
        for piece in body.chunks(cut) {
            h.conn
                .send_body(h.now, Bytes::copy_from_slice(piece))
                .unwrap();
            h.drain();
            while !h.conn.wants_body() {
                h.server("250 ok");
            }
        }
        h.conn.end_body(h.now).unwrap();
        let wire = h.take_sent().into_bytes();
        // Strip the BDAT headers.
        let mut payload = Vec::new();
        let mut rest = &wire[..];
        while !rest.is_empty() {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let header = std::str::from_utf8(&rest[..end]).unwrap();
            let size: usize = header.split(' ').nth(1).unwrap().parse().unwrap();
            payload.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 2 + size..];
        }
        assert_eq!(payload, normalize(body), "cut {cut}");
    }
}

#[test]
fn refused_chunk_after_end_body_sends_no_last_chunk() {
    let mut h = at_body(
        chunking(),
        &["CHUNKING", "PIPELINING"],
        MailOptions::default(),
    );
    h.conn
        .send_body(h.now, Bytes::from_static(b"one\r\n"))
        .unwrap();
    h.conn
        .send_body(h.now, Bytes::from_static(b"two\r\n"))
        .unwrap();
    h.take_sent();
    h.server("552 5.3.4 too big");
    // The application ends the body before it has seen the outcome.
    h.conn.end_body(h.now).unwrap();
    assert_eq!(h.take_sent(), "", "no BDAT LAST after a refused chunk");
    h.script("S: 503 5.5.1 failed already\nC: RSET\nS: 250 ok");
    assert!(matches!(
        h.outcome().outcome,
        Outcome::NotSent {
            reason: NotSentReason::MessageRefused,
            ..
        }
    ));
}

#[test]
fn pipelined_last_chunk_refused_after_an_earlier_refusal() {
    let mut h = at_body(
        chunking(),
        &["CHUNKING", "PIPELINING"],
        MailOptions::default(),
    );
    h.conn
        .send_body(h.now, Bytes::from_static(b"one\r\n"))
        .unwrap();
    h.conn.end_body(h.now).unwrap();
    assert_eq!(h.take_sent(), "BDAT 5\r\none\r\nBDAT 0 LAST\r\n");
    h.script("S: 552 5.3.4 too big\nS: 503 5.5.1 failed\nC: RSET\nS: 250 ok");
    match h.outcome().outcome {
        Outcome::NotSent {
            reason: NotSentReason::MessageRefused,
            reply: Some(r),
        } => assert_eq!(r.code().as_u16(), 552, "the first refusal is the reason"),
        other => panic!("{other:?}"),
    }
}
