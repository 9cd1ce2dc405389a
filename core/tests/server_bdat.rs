//! Server transcripts: CHUNKING/BDAT (RFC 3030) and BINARYMIME.

mod common;

use common::{Harness, config};
use mailwire_core::server::{AbortReason, CloseKind, ServerEvent, Transfer};
use mailwire_core::wire::params::BodyType;

fn ready() -> Harness {
    let mut h = Harness::new(config());
    h.ehlo();
    h
}

fn in_transaction() -> Harness {
    let mut h = ready();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    h
}

fn message_requests(h: &Harness) -> usize {
    h.count(|e| matches!(e, ServerEvent::MessageRequest { .. }))
}

fn aborted(h: &Harness, reason: AbortReason) -> usize {
    h.count(|e| matches!(e, ServerEvent::MessageAborted { reason: r, .. } if *r == reason))
}

#[test]
fn chunks_then_last() {
    let mut h = in_transaction();
    assert_eq!(
        h.input(b"BDAT 5\r\nHello"),
        "250 2.0.0 5 octets received\r\n"
    );
    assert_eq!(
        h.count(|e| matches!(e, ServerEvent::MessageStarted { .. })),
        1
    );
    assert_eq!(
        h.input(b"BDAT 8 LAST\r\n, world!"),
        "250 2.0.0 Message accepted\r\n"
    );
    assert_eq!(h.message_data(), b"Hello, world!");
    let envelope = h
        .events
        .iter()
        .find_map(|e| match e {
            ServerEvent::MessageRequest { envelope, .. } => Some(envelope.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(envelope.transfer, Transfer::Bdat);
    assert_eq!(envelope.size, 13);
    // BDAT after LAST: the transaction is over.
    assert_eq!(h.input(b"BDAT 2\r\nxy"), "503 5.5.1 Need MAIL command\r\n");
}

#[test]
fn chunk_data_is_not_unstuffed_and_has_no_line_limit() {
    let mut c = config();
    c.body_policy.max_line_len = Some(100);
    let mut h = Harness::new(c);
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    let mut body = b"..dots\r\n.\r\nQUIT\r\n".to_vec();
    body.extend_from_slice(&[b'x'; 2000]);
    body.extend_from_slice(b"\r\n");
    let mut input = format!("BDAT {} LAST\r\n", body.len()).into_bytes();
    input.extend_from_slice(&body);
    assert_eq!(h.input(&input), "250 2.0.0 Message accepted\r\n");
    assert_eq!(h.message_data(), body);
    assert!(!h.closed, "QUIT inside the chunk was data");
}

#[test]
fn pipelined_chunks() {
    let mut h = ready();
    let out = h.input(
        b"MAIL FROM:<a@example.net> BODY=BINARYMIME\r\nRCPT TO:<b@example.org>\r\n\
          BDAT 3\r\n\x00\r\nBDAT 3 LAST\r\n\n\xff.NOOP\r\n",
    );
    assert_eq!(
        out,
        "250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n250 2.0.0 3 octets received\r\n\
         250 2.0.0 Message accepted\r\n250 2.0.0 OK\r\n"
    );
    // Binary data passes untouched (no body policy for BINARYMIME).
    assert_eq!(h.message_data(), b"\x00\r\n\n\xff.");
    let body = h.events.iter().find_map(|e| match e {
        ServerEvent::MessageRequest { envelope, .. } => Some(envelope.body),
        _ => None,
    });
    assert_eq!(body, Some(BodyType::BinaryMime));
}

#[test]
fn bare_lf_in_a_text_chunk_follows_the_body_policy() {
    let mut h = in_transaction();
    assert_eq!(
        h.input(b"BDAT 4 LAST\r\na\nb\r"),
        "250 2.0.0 Message accepted\r\n"
    );
    assert_eq!(h.message_data(), b"a\r\nb\r");
}

#[test]
fn zero_last_ends_a_message() {
    let mut h = in_transaction();
    assert_eq!(
        h.input(b"BDAT 4\r\nabcd"),
        "250 2.0.0 4 octets received\r\n"
    );
    assert_eq!(
        h.input(b"BDAT 0 LAST\r\n"),
        "250 2.0.0 Message accepted\r\n"
    );
    assert_eq!(h.message_data(), b"abcd");
    // And an empty message.
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    assert_eq!(
        h.input(b"BDAT 0 LAST\r\n"),
        "250 2.0.0 Message accepted\r\n"
    );
    assert_eq!(message_requests(&h), 2);
    // BDAT 0 without LAST is a chunk like any other.
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    assert_eq!(h.input(b"BDAT 0\r\n"), "250 2.0.0 0 octets received\r\n");
}

#[test]
fn refused_chunks_are_still_consumed() {
    let mut h = ready();
    // No MAIL: the 12 octets are read as data and dropped, never run.
    assert_eq!(
        h.input(b"BDAT 12\r\nQUIT\r\nRSET\r\nNOOP\r\n"),
        "503 5.5.1 Need MAIL command\r\n250 2.0.0 OK\r\n"
    );
    assert!(!h.closed);
    // No valid recipient.
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<bad@example.org>\r\n");
    assert_eq!(
        h.input(b"BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n"),
        "554 5.5.1 No valid recipients\r\n250 2.0.0 OK\r\n"
    );
    assert!(!h.closed);
    assert_eq!(message_requests(&h), 0);
    assert!(h.message_data().is_empty());
}

#[test]
fn refused_chunk_split_across_reads() {
    let mut h = ready();
    assert_eq!(h.input(b"BDAT 12\r\nQUIT"), "");
    assert_eq!(h.input(b"\r\nQUI"), "");
    assert_eq!(
        h.input(b"T\r\nNOOP\r\n"),
        "503 5.5.1 Need MAIL command\r\n250 2.0.0 OK\r\n"
    );
    assert!(!h.closed);
}

#[test]
fn unparsable_size_loses_the_framing() {
    for line in [
        &b"BDAT abc\r\n"[..],
        b"BDAT 99999999999999999999999\r\n",
        b"BDAT 18446744073709551616 LAST\r\n",
        b"BDAT -5\r\n",
        b"BDAT\r\n",
        b"BDAT 5 FIRST\r\n",
    ] {
        let mut h = in_transaction();
        let mut input = line.to_vec();
        input.extend_from_slice(b"NOOP\r\n");
        assert_eq!(
            h.input(&input),
            "501 5.5.4 Syntax: BDAT size [LAST]\r\n",
            "{line:?}"
        );
        assert!(h.closed, "{line:?}");
        assert_eq!(h.close_reason(), Some(CloseKind::FramingLost));
    }
}

#[test]
fn size_counts_across_chunks() {
    let mut c = config();
    c.limits.max_message_size = Some(10);
    let mut h = Harness::new(c);
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    assert_eq!(
        h.input(b"BDAT 6\r\nabcdef"),
        "250 2.0.0 6 octets received\r\n"
    );
    assert_eq!(
        h.input(b"BDAT 6\r\nghijkl"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(aborted(&h, AbortReason::SizeExceeded), 1);
    // An earlier chunk failed: the rest fail the same way, still consumed.
    assert_eq!(
        h.input(b"BDAT 1\r\nm"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(
        h.input(b"BDAT 3 LAST\r\nnopNOOP\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
    );
    assert_eq!(message_requests(&h), 0);
    assert_eq!(h.message_data(), b"abcdef");
    // The failed transaction ended with LAST.
    assert_eq!(h.input(b"BDAT 1\r\nx"), "503 5.5.1 Need MAIL command\r\n");
    assert!(!h.closed);
}

#[test]
fn data_after_bdat_is_503() {
    let mut h = in_transaction();
    h.input(b"BDAT 3\r\nabc");
    assert_eq!(
        h.input(b"DATA\r\nbody\r\n.\r\n"),
        "503 5.5.1 DATA not allowed after BDAT\r\n"
    );
    assert_eq!(message_requests(&h), 0);
    // The message can still be finished with BDAT.
    assert_eq!(
        h.input(b"BDAT 0 LAST\r\n"),
        "250 2.0.0 Message accepted\r\n"
    );
    assert_eq!(h.message_data(), b"abc");
}

#[test]
fn rset_between_chunks_aborts_the_message() {
    let mut h = in_transaction();
    h.input(b"BDAT 3\r\nabc");
    assert_eq!(h.cmd("RSET"), "250 2.0.0 OK\r\n");
    assert_eq!(aborted(&h, AbortReason::Reset), 1);
    assert_eq!(
        h.input(b"BDAT 1 LAST\r\nx"),
        "503 5.5.1 Need MAIL command\r\n"
    );
    assert_eq!(message_requests(&h), 0);
}

#[test]
fn ehlo_between_chunks_aborts_the_message() {
    let mut h = in_transaction();
    h.input(b"BDAT 3\r\nabc");
    h.ehlo();
    assert_eq!(aborted(&h, AbortReason::Reset), 1);
}

#[test]
fn eof_inside_a_chunk_aborts_the_message() {
    let mut h = in_transaction();
    h.input(b"BDAT 10\r\nabc");
    h.conn.handle_eof(h.now);
    h.drain();
    assert_eq!(aborted(&h, AbortReason::PeerClosed), 1);
    assert_eq!(h.close_reason(), Some(CloseKind::PeerClosed));
    assert_eq!(message_requests(&h), 0);
}

#[test]
fn chunking_off_means_no_bdat_and_no_binarymime() {
    let mut c = config();
    c.extensions.chunking = false;
    let mut h = Harness::new(c);
    let ehlo = h.ehlo();
    assert!(!ehlo.contains("CHUNKING"));
    assert!(!ehlo.contains("BINARYMIME"));
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    assert_eq!(
        h.input(b"BDAT 6\r\nQUIT\r\nNOOP\r\n"),
        "502 5.5.1 BDAT not available\r\n250 2.0.0 OK\r\n"
    );
    assert_eq!(
        h.cmd("MAIL FROM:<a@example.net> BODY=BINARYMIME"),
        "503 5.5.1 Nested MAIL command\r\n"
    );
    h.cmd("RSET");
    assert_eq!(
        h.cmd("MAIL FROM:<a@example.net> BODY=BINARYMIME"),
        "555 5.5.4 Unsupported parameter BODY=BINARYMIME\r\n"
    );
}

#[test]
fn bdat_in_a_helo_session_is_refused_but_consumed() {
    let mut h = Harness::new(config());
    h.cmd("HELO client.example.net");
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    assert_eq!(
        h.input(b"BDAT 4\r\nQUITNOOP\r\n"),
        "502 BDAT not available\r\n250 OK\r\n"
    );
}

#[test]
fn bdat_before_helo() {
    let mut h = Harness::new(config());
    assert_eq!(
        h.input(b"BDAT 4\r\nQUITNOOP\r\n"),
        "503 Send EHLO first\r\n250 OK\r\n"
    );
}

#[test]
fn large_chunks_stream_without_buffering() {
    let mut h = in_transaction();
    h.input(b"BDAT 100000 LAST\r\n");
    for _ in 0..100 {
        h.input(&[b'z'; 1000]);
        assert_eq!(h.conn.buffered_len(), 0);
    }
    assert_eq!(message_requests(&h), 1);
    assert_eq!(h.message_data().len(), 100_000);
}

#[test]
fn a_chunk_over_the_size_limit_is_refused_at_once() {
    let mut c = config();
    c.limits.max_message_size = Some(10);
    let mut h = Harness::new(c);
    h.ehlo();
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    // Answered when announced, before any of its octets...
    assert_eq!(
        h.input(b"BDAT 11\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    // ...which are still read and dropped, never run, with no second reply.
    assert_eq!(h.input(b"QUIT\r\nRSET"), "");
    assert_eq!(h.input(b"xNOOP\r\n"), "250 2.0.0 OK\r\n");
    // Later chunks of the failed message too; LAST ends it.
    assert_eq!(
        h.input(b"BDAT 4 LAST\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert_eq!(h.input(b"QUITNOOP\r\n"), "250 2.0.0 OK\r\n");
    assert_eq!(h.input(b"BDAT 1\r\nx"), "503 5.5.1 Need MAIL command\r\n");
    assert!(!h.closed);
    assert_eq!(message_requests(&h), 0);
    assert!(h.message_data().is_empty());
}

#[test]
fn an_absurd_chunk_size_is_refused_and_the_session_closed_at_once() {
    let mut h = in_transaction();
    assert_eq!(
        h.input(b"BDAT 1000000000000000 LAST\r\n"),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n\
         421 4.7.0 Refused chunk too large to discard, closing connection\r\n"
    );
    assert!(h.closed);
    assert_eq!(h.close_reason(), Some(CloseKind::DiscardLimit));
    assert_eq!(message_requests(&h), 0);
}

#[test]
fn a_refused_chunk_over_the_discard_limit_closes_the_session() {
    let mut c = config();
    c.limits.max_discard = 100;
    let mut h = Harness::new(c);
    h.ehlo();
    // Refused for another reason (no MAIL): answered at once all the same,
    // as its octets would only be thrown away.
    assert_eq!(
        h.input(b"BDAT 101\r\n"),
        "503 5.5.1 Need MAIL command\r\n\
         421 4.7.0 Refused chunk too large to discard, closing connection\r\n"
    );
    assert_eq!(h.close_reason(), Some(CloseKind::DiscardLimit));
    // Within the limit such a chunk is answered after its octets (RFC
    // 3030 §2).
    let mut c = config();
    c.limits.max_discard = 100;
    let mut h = Harness::new(c);
    h.ehlo();
    assert_eq!(h.input(b"BDAT 100\r\n"), "");
    assert_eq!(h.input(&[b'x'; 100]), "503 5.5.1 Need MAIL command\r\n");
    assert!(!h.closed);
    // An accepted chunk is data, whatever its size.
    h.input(b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
    assert_eq!(h.input(b"BDAT 1000 LAST\r\n"), "");
    assert_eq!(h.input(&[b'x'; 1000]), "250 2.0.0 Message accepted\r\n");
}
