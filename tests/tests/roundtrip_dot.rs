//! Properties of the DATA dot codec, the BDAT helpers and the command-line
//! framer: round trips, strict framing (no smuggled terminator), and
//! independence from how the stream is cut into chunks.

use bytes::BytesMut;
use mailwire_core::wire::dot::{
    BareCr, BareLf, BdatChecker, BdatReader, BodyPolicy, LineNormalizer, Stuffer, Unstuffer,
    Violations, normalize, write_bdat_header,
};
use mailwire_core::wire::line::{Framed, LineFramer};
use mailwire_tests::strategies::dot::{ChunkPlan, body_policy, chunk_plan, hazardous_body};
use proptest::prelude::*;

/// What an unstuffer (or its model) made of an input: output, bytes
/// consumed, whether the terminator was found, violations.
type Outcome = (Vec<u8>, usize, bool, Violations);

fn stuff(body: &[u8], plan: &ChunkPlan) -> Vec<u8> {
    let mut stuffer = Stuffer::new();
    let mut out = BytesMut::new();
    for chunk in plan.split(body) {
        stuffer.feed(chunk, &mut out);
    }
    stuffer.finish(&mut out);
    out.to_vec()
}

fn unstuff(input: &[u8], policy: BodyPolicy, plan: &ChunkPlan) -> Outcome {
    let mut unstuffer = Unstuffer::new(policy);
    let mut out = BytesMut::new();
    let mut consumed = 0;
    let mut done = false;
    for chunk in plan.split(input) {
        let r = unstuffer.feed(chunk, &mut out);
        assert!(r.consumed <= chunk.len());
        if done {
            assert_eq!(r.consumed, 0, "consumed after the terminator");
        }
        if !r.done {
            assert_eq!(r.consumed, chunk.len(), "stopped before the end");
        }
        consumed += r.consumed;
        done = r.done;
    }
    (out.to_vec(), consumed, done, unstuffer.violations())
}

/// A byte-at-a-time reference of the server-side rules, written from the
/// specification and independent of the streaming code. `dots`: DATA
/// (unstuffing and terminator) or BDAT. `finish`: the input is the whole
/// BDAT body (a CR at its end is bare, the last line is measured). Bytes
/// whose meaning depends on input that has not come yet are held (not
/// emitted), as the streaming filter does.
fn model(input: &[u8], policy: BodyPolicy, dots: bool, finish: bool) -> Outcome {
    let mut out = Vec::new();
    let mut v = Violations::default();
    let mut line_len = 0usize;
    let mut line_start = true;
    let mut i = 0;
    let end_line = |line_len: &mut usize, v: &mut Violations| {
        if policy.max_line_len.is_some_and(|max| *line_len + 2 > max) {
            v.long_line = true;
        }
        *line_len = 0;
    };
    let bare_cr = |out: &mut Vec<u8>, line_len: &mut usize, v: &mut Violations| match policy.bare_cr
    {
        BareCr::Normalize => {
            out.extend_from_slice(b"\r\n");
            end_line(line_len, v);
        }
        other => {
            if other == BareCr::Reject {
                v.bare_cr = true;
            }
            out.push(b'\r');
            *line_len += 1;
        }
    };
    while i < input.len() {
        if dots && line_start && input[i] == b'.' {
            match (input.get(i + 1), input.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => return (out, i + 3, true, v),
                (None, _) | (Some(b'\r'), None) => return (out, input.len(), false, v),
                _ => i += 1, // a transparency dot
            }
        }
        line_start = false;
        match input[i] {
            b'\r' => match input.get(i + 1) {
                Some(b'\n') => {
                    out.extend_from_slice(b"\r\n");
                    end_line(&mut line_len, &mut v);
                    line_start = true;
                    i += 2;
                }
                None if !finish => return (out, input.len(), false, v),
                _ => {
                    bare_cr(&mut out, &mut line_len, &mut v);
                    i += 1;
                }
            },
            b'\n' => {
                if policy.bare_lf == BareLf::Reject {
                    v.bare_lf = true;
                }
                out.extend_from_slice(b"\r\n");
                end_line(&mut line_len, &mut v);
                i += 1;
            }
            b => {
                if b == 0 && policy.reject_nul {
                    v.nul = true;
                }
                out.push(b);
                line_len += 1;
                i += 1;
            }
        }
    }
    if finish && line_len > 0 {
        end_line(&mut line_len, &mut v);
    }
    (out, input.len(), false, v)
}

/// Where `needle` occurs in `haystack`.
fn positions(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Whether some line of a normalised body is longer than `max` (CRLF
/// included).
fn has_long_line(normalised: &[u8], max: Option<usize>) -> bool {
    let Some(max) = max else { return false };
    let mut lines: Vec<&[u8]> = normalised.split(|&b| b == b'\n').collect();
    lines.pop(); // after the last LF
    lines.iter().any(|l| l.len() + 1 > max) // `l` ends with its CR
}

/// What a command-line framer user sees: lines and over-long lengths.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Line(Vec<u8>, bool),
    TooLong(usize),
}

/// The framing rules, on the whole stream: lines end at LF, a CR just before
/// it is part of the ending, the length includes the ending.
fn model_lines(input: &[u8], max_len: usize) -> (Vec<Seen>, &[u8]) {
    let mut seen = Vec::new();
    let mut rest = input;
    while let Some(i) = rest.iter().position(|&b| b == b'\n') {
        let (line, tail) = rest.split_at(i + 1);
        if line.len() > max_len {
            seen.push(Seen::TooLong(line.len()));
        } else {
            let content = &line[..i];
            match content.strip_suffix(b"\r") {
                Some(content) => seen.push(Seen::Line(content.to_vec(), false)),
                None => seen.push(Seen::Line(content.to_vec(), true)),
            }
        }
        rest = tail;
    }
    (seen, rest)
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => hazardous_body(),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => prop::collection::vec(prop::sample::select(&b".\r\nx"[..]), 0..256),
    ]
}

proptest! {
    #![proptest_config(mailwire_tests::proptest_config!("roundtrip_dot", 1024))]

    /// unstuff(stuff(body)) == normalize(body) under any chunking on both
    /// sides, the bytes after the terminator are left alone, and a stuffed
    /// stream breaks no policy but (possibly) the line length.
    #[test]
    fn unstuff_of_stuff_is_normalize(
        body in hazardous_body(),
        stuff_plan in chunk_plan(),
        unstuff_plan in chunk_plan(),
        trailer in prop::collection::vec(any::<u8>(), 0..16),
        policy in body_policy(),
    ) {
        let stuffed = stuff(&body, &stuff_plan);
        let mut wire = stuffed.clone();
        wire.extend_from_slice(&trailer);
        let (out, consumed, done, violations) = unstuff(&wire, policy, &unstuff_plan);
        let normalised = normalize(&body);
        prop_assert_eq!(&out, &normalised);
        prop_assert!(done);
        prop_assert_eq!(consumed, stuffed.len());
        prop_assert_eq!(&wire[consumed..], &trailer[..]);
        prop_assert!(!violations.bare_lf && !violations.bare_cr);
        prop_assert_eq!(
            violations.long_line,
            has_long_line(&normalised, policy.max_line_len)
        );
    }

    /// No body can produce a terminator: the stuffed stream holds
    /// CRLF . CRLF exactly once, at its very end (or is . CRLF for an empty
    /// body), and has no bare CR or LF.
    #[test]
    fn no_terminator_inside_a_stuffed_body(body in hazardous_body(), plan in chunk_plan()) {
        let stuffed = stuff(&body, &plan);
        if body.is_empty() {
            prop_assert_eq!(&stuffed[..], b".\r\n");
        } else {
            prop_assert!(!stuffed.starts_with(b".\r\n"));
            prop_assert_eq!(positions(&stuffed, b"\r\n.\r\n"), vec![stuffed.len() - 5]);
        }
        let crs = positions(&stuffed, b"\r");
        let lfs = positions(&stuffed, b"\n");
        prop_assert_eq!(crs.iter().map(|i| i + 1).collect::<Vec<_>>(), lfs);
    }

    /// The streaming client-side normaliser (for BDAT) equals the reference.
    #[test]
    fn line_normalizer_is_normalize(body in any_input(), plan in chunk_plan()) {
        let mut normalizer = LineNormalizer::new();
        let mut out = BytesMut::new();
        for chunk in plan.split(&body) {
            normalizer.feed(chunk, &mut out);
        }
        normalizer.finish(&mut out);
        prop_assert_eq!(&out[..], &normalize(&body)[..]);
    }

    /// For ANY input and policy, the unstuffer's output, consumption,
    /// terminator and violations do not depend on chunking, and follow the
    /// byte-at-a-time reference.
    #[test]
    fn unstuffer_is_chunking_independent(
        input in any_input(),
        policy in body_policy(),
        plan in chunk_plan(),
    ) {
        let reference = model(&input, policy, true, false);
        prop_assert_eq!(unstuff(&input, policy, &ChunkPlan::whole()), reference.clone());
        prop_assert_eq!(unstuff(&input, policy, &plan), reference);
    }

    /// The same for the BDAT policy checker, whose state spans chunks.
    #[test]
    fn bdat_checker_is_chunking_independent(
        input in any_input(),
        policy in body_policy(),
        plan in chunk_plan(),
    ) {
        let mut checker = BdatChecker::new(policy);
        let mut out = BytesMut::new();
        for chunk in plan.split(&input) {
            checker.feed(chunk, &mut out);
        }
        checker.finish(&mut out);
        let (want, _, _, violations) = model(&input, policy, false, true);
        prop_assert_eq!(&out[..], &want[..]);
        prop_assert_eq!(checker.violations(), violations);
    }

    /// A body sent as BDAT chunks (normalised, counted) arrives intact through
    /// the line framer (for the BDAT commands), the BDAT reader and a strict
    /// checker, under any chunking; the next command stays in the buffer.
    #[test]
    fn bdat_round_trip(
        body in hazardous_body(),
        sizes in chunk_plan(),
        net in chunk_plan(),
    ) {
        let normalised = normalize(&body);
        let pieces = sizes.split(&normalised);
        let mut wire = BytesMut::new();
        for (k, piece) in pieces.iter().enumerate() {
            write_bdat_header(piece.len() as u64, k + 1 == pieces.len(), &mut wire);
            wire.extend_from_slice(piece);
        }
        wire.extend_from_slice(b"QUIT\r\n");

        let strict = BodyPolicy {
            bare_lf: BareLf::Reject,
            bare_cr: BareCr::Reject,
            max_line_len: None,
            // The client passes NUL through: not what this checks.
            reject_nul: false,
        };
        let mut checker = BdatChecker::new(strict);
        let mut framer = LineFramer::default();
        let mut reader: Option<(BdatReader, bool)> = None;
        let mut finished = false;
        let mut buf = Vec::new();
        let mut out = BytesMut::new();
        for chunk in net.split(&wire) {
            buf.extend_from_slice(chunk);
            while !finished {
                if let Some((r, last)) = &mut reader {
                    let n = r.feed_checked(&buf, &mut checker, &mut out);
                    buf.drain(..n);
                    if !r.is_done() {
                        break;
                    }
                    if *last {
                        checker.finish(&mut out);
                        finished = true;
                    }
                    reader = None;
                    continue;
                }
                let (command, consumed) = match framer.next(&buf) {
                    Framed::Line { line, consumed, bare_lf: false } => (line.to_vec(), consumed),
                    Framed::Incomplete { consumed: 0 } => break,
                    other => return Err(TestCaseError::fail(format!("{other:?}"))),
                };
                buf.drain(..consumed);
                let command = String::from_utf8(command).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut words = command.split(' ');
                prop_assert_eq!(words.next(), Some("BDAT"));
                let size: u64 = words.next().unwrap_or("").parse().map_err(|_| TestCaseError::fail(command.clone()))?;
                let last = match words.next() {
                    Some("LAST") => true,
                    None => false,
                    Some(other) => return Err(TestCaseError::fail(other.to_string())),
                };
                reader = Some((BdatReader::new(size), last));
            }
        }
        prop_assert!(finished);
        prop_assert_eq!(&out[..], &normalised[..]);
        prop_assert!(!checker.violations().any());
        prop_assert_eq!(&buf[..], b"QUIT\r\n");
    }

    /// The command-line framer gives the same lines under any chunking,
    /// reports each over-long line exactly once with its full length, and
    /// keeps the caller's buffer below the limit.
    #[test]
    fn line_framer_is_chunking_independent(
        input in any_input(),
        max_len in prop_oneof![0usize..16, 16usize..128, Just(512usize)],
        plan in chunk_plan(),
    ) {
        let (want, tail) = model_lines(&input, max_len);
        let mut framer = LineFramer::new(max_len);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        for chunk in plan.split(&input) {
            buf.extend_from_slice(chunk);
            loop {
                match framer.next(&buf) {
                    Framed::Line { line, consumed, bare_lf } => {
                        prop_assert!(consumed <= max_len);
                        seen.push(Seen::Line(line.to_vec(), bare_lf));
                        buf.drain(..consumed);
                    }
                    Framed::TooLong { consumed, length } => {
                        prop_assert!(length > max_len);
                        seen.push(Seen::TooLong(length));
                        buf.drain(..consumed);
                    }
                    Framed::Incomplete { consumed } => {
                        buf.drain(..consumed);
                        break;
                    }
                    other => return Err(TestCaseError::fail(format!("{other:?}"))),
                }
            }
            prop_assert!(buf.len() < max_len.max(1), "buffer {} over limit {}", buf.len(), max_len);
        }
        prop_assert_eq!(seen, want);
        if !tail.is_empty() && tail.len() >= max_len {
            prop_assert!(framer.is_discarding());
            prop_assert!(buf.is_empty());
        } else {
            prop_assert!(!framer.is_discarding());
            prop_assert_eq!(&buf[..], tail);
        }
    }
}
