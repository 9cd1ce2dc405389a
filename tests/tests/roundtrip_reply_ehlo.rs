//! Property tests for replies and EHLO: byte-level round trips under
//! arbitrary chunking, several replies in one buffer, the EHLO round trip,
//! and the reply parser's behaviour on arbitrary bytes and at its caps.

use mailwire_core::wire::ehlo::EhloReply;
use mailwire_core::wire::reply::{Reply, ReplyError, ReplyLimits, ReplyParser};
use mailwire_tests::strategies::ehlo::{ehlo_reply, ehlo_reply_raw};
use mailwire_tests::strategies::reply::{reply, reply_like_bytes, reply_limits};
use proptest::prelude::*;

/// Where a reply completed or failed: the absolute offset just after the
/// last octet consumed for it, and the outcome.
type Event = (usize, Result<Reply, ReplyError>);

/// Limits nothing in these tests comes near.
const HUGE: ReplyLimits = ReplyLimits {
    max_line_len: usize::MAX,
    max_lines: usize::MAX,
    max_total: usize::MAX,
};

/// Cuts `bytes` at the given points (taken modulo its length).
fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

/// Feeds the chunks as a driver would (each one until it is consumed) and
/// records every reply or error. Checks on the way that the parser always
/// makes progress and never holds more than its caps allow.
fn drive(limits: ReplyLimits, chunks: &[&[u8]]) -> Vec<Event> {
    let mut parser = ReplyParser::new(limits);
    let mut events = Vec::new();
    let mut offset = 0;
    // Octets of the current line held by the parser (since the last LF or
    // the last event).
    let mut line_held = 0usize;
    for chunk in chunks {
        let mut rest = *chunk;
        while !rest.is_empty() {
            let (used, result) = parser.feed(rest);
            assert!(used <= rest.len(), "consumed more than given");
            let eaten = &rest[..used];
            offset += used;
            rest = &rest[used..];
            match result {
                Some(result) => {
                    assert!(used > 0, "an outcome without consuming anything");
                    assert!(parser.is_idle(), "not reset after an outcome");
                    assert_eq!(parser.buffered_len(), 0);
                    events.push((offset, result));
                    line_held = 0;
                }
                None => {
                    assert!(rest.is_empty(), "stopped early without an outcome");
                    line_held = match eaten.iter().rposition(|&b| b == b'\n') {
                        Some(lf) => used - lf - 1,
                        None => line_held + used,
                    };
                    assert!(line_held < limits.max_line_len.max(1), "line cap exceeded");
                    assert!(
                        parser.buffered_len() <= limits.max_total,
                        "total cap exceeded"
                    );
                    assert!(parser.buffered_len() >= line_held);
                }
            }
        }
    }
    events
}

/// The wire lines of `bytes` (each with its CRLF), as (start, length).
fn wire_lines(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            lines.push((start, i + 1 - start));
            start = i + 1;
        }
    }
    lines
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        1 => Just(Vec::new()),
        3 => prop::collection::vec(any::<usize>(), 1..8),
        1 => prop::collection::vec(any::<usize>(), 8..64),
    ]
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!("roundtrip_reply_ehlo", 512))]

    /// write → parse is the identity, however the bytes are cut up.
    #[test]
    fn reply_round_trip_chunked(r in reply(), cuts in cuts()) {
        let bytes = r.to_bytes();
        let events = drive(ReplyLimits::default(), &split(&bytes, &cuts));
        prop_assert_eq!(events, vec![(bytes.len(), Ok(r.clone()))]);
        // Every reply is valid by construction; `new` agrees.
        prop_assert_eq!(Reply::new(r.code(), r.enhanced(), r.lines().to_vec()), Ok(r));
    }

    /// Several replies in one buffer: each is handed back on its own and the
    /// parser never consumes past its end.
    #[test]
    fn replies_back_to_back(rs in prop::collection::vec(reply(), 1..6), cuts in cuts()) {
        let mut bytes = Vec::new();
        let mut expected = Vec::new();
        for r in &rs {
            r.write_to(&mut bytes);
            expected.push((bytes.len(), Ok(r.clone())));
        }
        prop_assert_eq!(drive(ReplyLimits::default(), &split(&bytes, &cuts)), expected);

        let mut parser = ReplyParser::default();
        let (used, first) = parser.feed(&bytes);
        prop_assert_eq!(used, rs[0].to_bytes().len());
        prop_assert_eq!(first, Some(Ok(rs[0].clone())));
    }

    /// EhloReply → Reply → EhloReply, on values and through the bytes.
    #[test]
    fn ehlo_round_trip(x in ehlo_reply(), cuts in cuts()) {
        let reply = x.to_reply();
        prop_assert!(Reply::new(reply.code(), reply.enhanced(), reply.lines().to_vec()).is_ok());
        prop_assert_eq!(EhloReply::parse(&reply), Ok(x.clone()));

        let bytes = reply.to_bytes();
        let mut events = drive(ReplyLimits::default(), &split(&bytes, &cuts));
        prop_assert_eq!(events.len(), 1);
        let (end, parsed) = events.remove(0);
        prop_assert_eq!(end, bytes.len());
        let parsed = parsed.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&parsed, &reply);
        prop_assert_eq!(EhloReply::parse(&parsed), Ok(x));
    }

    /// Any value a caller fills in is sent in its normal form, which parses
    /// back exactly; normalising is idempotent.
    #[test]
    fn ehlo_any_value_round_trips_normalised(x in ehlo_reply_raw()) {
        let normal = x.normalized();
        prop_assert_eq!(normal.normalized(), normal.clone());
        let reply = x.to_reply();
        prop_assert!(Reply::new(reply.code(), reply.enhanced(), reply.lines().to_vec()).is_ok());
        prop_assert_eq!(&reply, &normal.to_reply());
        prop_assert_eq!(EhloReply::parse(&reply), Ok(normal.clone()));
        let bytes = reply.to_bytes();
        let events = drive(ReplyLimits::default(), &[&bytes]);
        prop_assert_eq!(events, vec![(bytes.len(), Ok(reply))]);
    }

    /// On any input the parser never panics, respects its caps (checked in
    /// `drive`), gives the same outcomes at the same offsets however the
    /// input is cut, and every reply it returns is valid and round trips.
    #[test]
    fn parser_on_arbitrary_bytes(
        bytes in prop_oneof![3 => reply_like_bytes(), 1 => prop::collection::vec(any::<u8>(), 0..2048)],
        limits in reply_limits(),
        cuts in cuts(),
    ) {
        let whole = drive(limits, &[&bytes]);
        let chunked = drive(limits, &split(&bytes, &cuts));
        prop_assert_eq!(&whole, &chunked);
        let mut start = 0;
        for (end, result) in whole {
            if let Ok(r) = result {
                prop_assert!(end - start <= limits.max_total);
                prop_assert!(r.lines().len() <= limits.max_lines);
                prop_assert_eq!(
                    Reply::new(r.code(), r.enhanced(), r.lines().to_vec()),
                    Ok(r.clone())
                );
                let again = r.to_bytes();
                prop_assert_eq!(drive(HUGE, &[&again]), vec![(again.len(), Ok(r))]);
            }
            start = end;
        }
    }

    /// A reply exactly at all three caps is accepted.
    #[test]
    fn caps_are_inclusive(r in reply(), cuts in cuts()) {
        let bytes = r.to_bytes();
        let lines = wire_lines(&bytes);
        let limits = ReplyLimits {
            max_line_len: lines.iter().map(|l| l.1).max().unwrap_or(0),
            max_lines: lines.len(),
            max_total: bytes.len(),
        };
        prop_assert_eq!(drive(limits, &split(&bytes, &cuts)), vec![(bytes.len(), Ok(r))]);
    }

    /// One octet too few per line: LineTooLong at the octet that breaks the
    /// cap, before the line end arrives. (What follows an error is out of step
    /// and only the first outcome is checked.)
    #[test]
    fn line_cap_error(r in reply(), shrink in 1usize..8, cuts in cuts()) {
        let bytes = r.to_bytes();
        let lines = wire_lines(&bytes);
        let longest = lines.iter().map(|l| l.1).max().unwrap_or(0);
        let cap = longest.saturating_sub(shrink).max(1);
        prop_assume!(cap < longest);
        let limits = ReplyLimits { max_line_len: cap, ..HUGE };
        let (start, _) = *lines.iter().find(|l| l.1 > cap).unwrap_or(&(0, 0));
        let events = drive(limits, &split(&bytes, &cuts));
        prop_assert_eq!(events.first(), Some(&(start + cap, Err(ReplyError::LineTooLong))));
    }

    /// Fewer lines allowed than the reply has: TooManyLines at the end of
    /// the last allowed line, which announces another one.
    #[test]
    fn lines_cap_error(r in reply(), pick in any::<prop::sample::Index>(), cuts in cuts()) {
        let bytes = r.to_bytes();
        let lines = wire_lines(&bytes);
        prop_assume!(lines.len() >= 2);
        let max_lines = pick.index(lines.len() - 1) + 1;
        let limits = ReplyLimits { max_lines, ..HUGE };
        let (start, len) = lines[max_lines - 1];
        let events = drive(limits, &split(&bytes, &cuts));
        prop_assert_eq!(events.first(), Some(&(start + len, Err(ReplyError::TooManyLines))));
        let zero = ReplyLimits { max_lines: 0, ..HUGE };
        let events = drive(zero, &[&bytes]);
        prop_assert_eq!(events.first(), Some(&(lines[0].1, Err(ReplyError::TooManyLines))));
    }

    /// A smaller total than the reply needs: TooLarge at octet
    /// `max_total + 1`.
    #[test]
    fn total_cap_error(r in reply(), pick in any::<prop::sample::Index>(), cuts in cuts()) {
        let bytes = r.to_bytes();
        let max_total = pick.index(bytes.len());
        let limits = ReplyLimits { max_total, ..HUGE };
        let events = drive(limits, &split(&bytes, &cuts));
        prop_assert_eq!(events.first(), Some(&(max_total + 1, Err(ReplyError::TooLarge))));
    }
}
