//! Table tests for [`super`].

use super::*;

const NONE: Violations = Violations {
    bare_lf: false,
    bare_cr: false,
    long_line: false,
    nul: false,
};

fn policy(bare_lf: BareLf, bare_cr: BareCr, max_line_len: Option<usize>) -> BodyPolicy {
    BodyPolicy {
        bare_lf,
        bare_cr,
        max_line_len,
        reject_nul: false,
    }
}

/// Every way to cut `input` into chunks that the tests try: whole, byte
/// by byte, and at every single split point.
fn chunkings(input: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut all = vec![vec![input], input.chunks(1).collect()];
    for at in 0..=input.len() {
        let (a, b) = input.split_at(at);
        all.push(vec![a, b]);
    }
    all
}

fn unstuff(policy: BodyPolicy, chunks: &[&[u8]]) -> (Vec<u8>, usize, bool, Violations) {
    let mut u = Unstuffer::new(policy);
    let mut out = BytesMut::new();
    let mut consumed = 0;
    let mut done = false;
    for chunk in chunks {
        let r = u.feed(chunk, &mut out);
        assert!(r.consumed <= chunk.len());
        assert!(r.done || r.consumed == chunk.len());
        assert!(!done || r.consumed == 0, "consumed after done");
        consumed += r.consumed;
        done = r.done;
        assert_eq!(u.is_done(), done);
    }
    (out.to_vec(), consumed, done, u.violations())
}

#[test]
fn unstuffer_table() {
    let d = BodyPolicy::default();
    let lf_rej = policy(BareLf::Reject, BareCr::Keep, None);
    let cr_norm = policy(BareLf::Normalize, BareCr::Normalize, None);
    let cr_rej = policy(BareLf::Normalize, BareCr::Reject, None);
    let max5 = policy(BareLf::Normalize, BareCr::Keep, Some(5));
    let bare_lf = Violations {
        bare_lf: true,
        ..NONE
    };
    let bare_cr = Violations {
        bare_cr: true,
        ..NONE
    };
    let long = Violations {
        long_line: true,
        ..NONE
    };
    // (input, policy, output, consumed, done, violations)
    type Case<'c> = (&'c [u8], BodyPolicy, &'c [u8], usize, bool, Violations);
    let cases: &[Case<'_>] = &[
        // Terminators.
        (b".\r\n", d, b"", 3, true, NONE),
        (b"\r\n.\r\n", d, b"\r\n", 5, true, NONE),
        (b"abc\r\n.\r\n", d, b"abc\r\n", 8, true, NONE),
        (b"abc\r\n.\r\nQUIT\r\n", d, b"abc\r\n", 8, true, NONE),
        (b"a\r\n.\r\n.\r\n", d, b"a\r\n", 6, true, NONE),
        // Dot-unstuffing at line starts only.
        (b"..\r\n.\r\n", d, b".\r\n", 7, true, NONE),
        (b"...\r\n.\r\n", d, b"..\r\n", 8, true, NONE),
        (b"..x\r\n.\r\n", d, b".x\r\n", 8, true, NONE),
        (b".x\r\n.\r\n", d, b"x\r\n", 7, true, NONE),
        (b"a.\r\n.\r\n", d, b"a.\r\n", 7, true, NONE),
        (b"a\r\n..\r\n.\r\n", d, b"a\r\n.\r\n", 10, true, NONE),
        // Smuggling: a dot line reached through a bare line end is content.
        (b"a\n.\r\n", d, b"a\r\n.\r\n", 5, false, NONE),
        (b"a\n.\n", d, b"a\r\n.\r\n", 4, false, NONE),
        (b"a\r.\r\n", d, b"a\r.\r\n", 5, false, NONE),
        (b"a\r.\r", d, b"a\r.", 4, false, NONE),
        (b"a\r\n.\n", d, b"a\r\n\r\n", 5, false, NONE),
        (b"a\r\n.\r.\r\n", d, b"a\r\n\r.\r\n", 8, false, NONE),
        (b"a\r\n.\r\r\n", d, b"a\r\n\r\r\n", 7, false, NONE),
        (b"\n.\r\n", d, b"\r\n.\r\n", 4, false, NONE),
        (b".\n", d, b"\r\n", 2, false, NONE),
        (b".\r", d, b"", 2, false, NONE),
        (b"\r\n..\n.\r\n", d, b"\r\n.\r\n.\r\n", 8, false, NONE),
        (b"a\n\r\n.\r\n", d, b"a\r\n\r\n", 7, true, NONE),
        (b"a\r\r\n.\r\n", d, b"a\r\r\n", 7, true, NONE),
        (b"a\n..\r\n.\r\n", d, b"a\r\n..\r\n", 9, true, NONE),
        // Bare LF policy.
        (b"a\nb\r\n.\r\n", lf_rej, b"a\r\nb\r\n", 8, true, bare_lf),
        (b"\n.\r\n", lf_rej, b"\r\n.\r\n", 4, false, bare_lf),
        (b"a\r\nb\r\n.\r\n", lf_rej, b"a\r\nb\r\n", 9, true, NONE),
        // Bare CR policy.
        (b"a\rb\r\n.\r\n", d, b"a\rb\r\n", 8, true, NONE),
        (b"a\rb\r\n.\r\n", cr_norm, b"a\r\nb\r\n", 8, true, NONE),
        (b"a\rb\r\n.\r\n", cr_rej, b"a\rb\r\n", 8, true, bare_cr),
        (b"a\r\r\n.\r\n", cr_norm, b"a\r\n\r\n", 7, true, NONE),
        (b".\r.\r\n.\r\n", cr_norm, b"\r\n.\r\n", 8, true, NONE),
        (
            b"a\r\n.\rb\r\n.\r\n",
            cr_rej,
            b"a\r\n\rb\r\n",
            11,
            true,
            bare_cr,
        ),
        (b"\r\r\r\n.\r\n", cr_rej, b"\r\r\r\n", 7, true, bare_cr),
        // Line length, CRLF included, transparency dot excluded.
        (b"abc\r\n.\r\n", max5, b"abc\r\n", 8, true, NONE),
        (b"abcd\r\n.\r\n", max5, b"abcd\r\n", 9, true, long),
        (b"..bc\r\n.\r\n", max5, b".bc\r\n", 9, true, NONE),
        (b"abcd\n.\r\n", max5, b"abcd\r\n.\r\n", 8, false, long),
        (b"ab\rc\r\n.\r\n", max5, b"ab\rc\r\n", 9, true, long),
        (
            b"ab\rcd\r\n.\r\n",
            policy(BareLf::Normalize, BareCr::Normalize, Some(4)),
            b"ab\r\ncd\r\n",
            10,
            true,
            NONE,
        ),
        (
            b"\r\n.\r\n",
            policy(BareLf::Normalize, BareCr::Keep, Some(1)),
            b"\r\n",
            5,
            true,
            long,
        ),
        // Pending states at the end of the input.
        (b"abc\r", d, b"abc", 4, false, NONE),
        (b"abc\r\n", d, b"abc\r\n", 5, false, NONE),
        (b"abc\r\n.", d, b"abc\r\n", 6, false, NONE),
        (b"", d, b"", 0, false, NONE),
        // Eight-bit bytes and NULs pass through.
        (
            b"\xff\x00\x80\r\n.\r\n",
            d,
            b"\xff\x00\x80\r\n",
            8,
            true,
            NONE,
        ),
    ];
    for (input, policy, want, consumed, done, violations) in cases {
        for chunks in chunkings(input) {
            let got = unstuff(*policy, &chunks);
            assert_eq!(
                got,
                (want.to_vec(), *consumed, *done, *violations),
                "input {:?} chunks {chunks:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}

/// A deterministic body of CRLF lines of varied lengths with hazards
/// sprinkled in (stuffed and unstuffed dots, bare LF, bare CR), but no
/// terminator: large enough for the bulk pre-filter to skip blocks.
fn big_body(seed: u64, size: usize) -> Vec<u8> {
    let mut x = seed;
    let mut next = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) as usize
    };
    let mut body = Vec::with_capacity(size + 256);
    while body.len() < size {
        match next() % 400 {
            0 => body.extend_from_slice(b".."),
            1 => body.push(b'.'),
            2 => body.push(b'\n'),
            3 => body.push(b'\r'),
            4 => body.extend_from_slice(b"\n.\r\n"),
            5 => body.extend_from_slice(b"\r\n..\r"),
            _ => {}
        }
        let len = next() % 120;
        body.extend((0..len).map(|i| b'a' + (i % 26) as u8));
        body.extend_from_slice(b"\r\n");
    }
    body
}

/// The bulk pre-filter (on when line lengths are not measured) changes
/// nothing: compare with the same policy measuring lines against a
/// limit no line reaches, for DATA and BDAT, whole and chunked.
#[test]
fn bulk_prefilter_agrees_with_line_scan() {
    let skip = BodyPolicy::default();
    let no_skip = BodyPolicy {
        max_line_len: Some(usize::MAX),
        ..skip
    };
    let mut bodies: Vec<Vec<u8>> = (1..=8).map(|seed| big_body(seed, 40_000)).collect();
    // CRLFs, dots and bare LFs around block edges.
    for shift in 0..6 {
        let mut body = b"x\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'a', BLOCK - 5 + shift));
        body.extend_from_slice(b"\r\n");
        body.extend(std::iter::repeat_n(b'b', BLOCK - 3));
        body.extend_from_slice(b"\n.y\r\n");
        body.extend(std::iter::repeat_n(b'c', 3 * BLOCK + shift));
        body.extend_from_slice(b"\r\n..z\r\n");
        bodies.push(body);
    }
    for body in &bodies {
        let mut data = body.clone();
        data.extend_from_slice(b"\r\n.\r\nNEXT");
        let want = unstuff(no_skip, &[&data]);
        assert!(want.2, "terminator found");
        for size in [1, 7, 1000, BLOCK, BLOCK + 1, 3 * BLOCK + 5, data.len()] {
            let chunks: Vec<&[u8]> = data.chunks(size).collect();
            assert_eq!(unstuff(skip, &chunks), want, "chunks of {size}");

            let check = |policy| {
                let mut c = BdatChecker::new(policy);
                let mut out = BytesMut::new();
                for chunk in body.chunks(size) {
                    c.feed(chunk, &mut out);
                }
                c.finish(&mut out);
                (out, c.violations())
            };
            assert_eq!(check(skip), check(no_skip), "BDAT chunks of {size}");
        }
    }
}

#[test]
fn unstuffer_after_done_and_reset() {
    let mut u = Unstuffer::new(policy(BareLf::Reject, BareCr::Keep, None));
    let mut out = BytesMut::new();
    let r = u.feed(b"a\nb\r\n.\r\nMAIL", &mut out);
    assert_eq!(
        r,
        Unstuffed {
            consumed: 8,
            done: true
        }
    );
    assert!(u.violations().any());
    let r = u.feed(b"MORE", &mut out);
    assert_eq!(
        r,
        Unstuffed {
            consumed: 0,
            done: true
        }
    );
    assert_eq!(&out[..], b"a\r\nb\r\n");
    u.reset();
    assert!(!u.is_done());
    assert!(!u.violations().any());
    out.clear();
    let r = u.feed(b"..\r\n.\r\n", &mut out);
    assert!(r.done);
    assert_eq!(&out[..], b".\r\n");
}

fn stuff(chunks: &[&[u8]]) -> Vec<u8> {
    let mut s = Stuffer::new();
    let mut out = BytesMut::new();
    for chunk in chunks {
        s.feed(chunk, &mut out);
    }
    s.finish(&mut out);
    out.to_vec()
}

fn normalize_streaming(chunks: &[&[u8]]) -> Vec<u8> {
    let mut n = LineNormalizer::new();
    let mut out = BytesMut::new();
    for chunk in chunks {
        n.feed(chunk, &mut out);
    }
    n.finish(&mut out);
    out.to_vec()
}

#[test]
fn stuffer_normalizer_table() {
    // (body, stuffed, normalised)
    let cases: &[(&[u8], &[u8], &[u8])] = &[
        (b"", b".\r\n", b""),
        (b"a", b"a\r\n.\r\n", b"a\r\n"),
        (b"a\r\n", b"a\r\n.\r\n", b"a\r\n"),
        (b".", b"..\r\n.\r\n", b".\r\n"),
        (b".\r\n", b"..\r\n.\r\n", b".\r\n"),
        (b"..", b"...\r\n.\r\n", b"..\r\n"),
        (b"x.y", b"x.y\r\n.\r\n", b"x.y\r\n"),
        (b"\r\n.\r\n", b"\r\n..\r\n.\r\n", b"\r\n.\r\n"),
        (b"a\n.b", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
        (b"a\r.b", b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
        (b"\n.\n", b"\r\n..\r\n.\r\n", b"\r\n.\r\n"),
        (b"\r.\r", b"\r\n..\r\n.\r\n", b"\r\n.\r\n"),
        (b"a\r", b"a\r\n.\r\n", b"a\r\n"),
        (b"\r", b"\r\n.\r\n", b"\r\n"),
        (b"\n", b"\r\n.\r\n", b"\r\n"),
        (b"\r\r\n", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
        (b"\n\r", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
        (b"\n\r\n", b"\r\n\r\n.\r\n", b"\r\n\r\n"),
        (b"a\r\n\n.", b"a\r\n\r\n..\r\n.\r\n", b"a\r\n\r\n.\r\n"),
        (
            b"\xff.\r\n\x80",
            b"\xff.\r\n\x80\r\n.\r\n",
            b"\xff.\r\n\x80\r\n",
        ),
    ];
    for (body, stuffed, normalised) in cases {
        assert_eq!(&normalize(body), normalised, "normalize {body:?}");
        for chunks in chunkings(body) {
            assert_eq!(&stuff(&chunks), stuffed, "stuff {chunks:?}");
            assert_eq!(
                &normalize_streaming(&chunks),
                normalised,
                "LineNormalizer {chunks:?}"
            );
        }
        // And back again.
        let (out, consumed, done, violations) = unstuff(BodyPolicy::default(), &[stuffed]);
        assert_eq!(
            (&out[..], consumed, done, violations),
            (*normalised, stuffed.len(), true, NONE)
        );
    }
}

#[test]
fn stuffer_is_reusable() {
    let mut s = Stuffer::default();
    let mut out = BytesMut::new();
    s.feed(b"a\r", &mut out);
    s.finish(&mut out);
    s.feed(b"\n.", &mut out);
    s.finish(&mut out);
    assert_eq!(&out[..], b"a\r\n.\r\n\r\n..\r\n.\r\n");
    let mut n = LineNormalizer::default();
    out.clear();
    n.feed(b"a", &mut out);
    n.finish(&mut out);
    n.finish(&mut out);
    assert_eq!(&out[..], b"a\r\n");
}

#[test]
fn bdat_headers() {
    let cases: &[(u64, bool, &[u8])] = &[
        (0, false, b"BDAT 0\r\n"),
        (0, true, b"BDAT 0 LAST\r\n"),
        (7, false, b"BDAT 7\r\n"),
        (1234, true, b"BDAT 1234 LAST\r\n"),
        (u64::MAX, false, b"BDAT 18446744073709551615\r\n"),
    ];
    for (size, last, want) in cases {
        let mut out = BytesMut::new();
        write_bdat_header(*size, *last, &mut out);
        assert_eq!(&out[..], *want);
    }
}

#[test]
fn bdat_reader_table() {
    // (size, chunks, consumed per chunk, output)
    type Case<'c> = (u64, &'c [&'c [u8]], &'c [usize], &'c [u8]);
    let cases: &[Case<'_>] = &[
        (0, &[b"QUIT\r\n"], &[0], b""),
        (5, &[b"abc", b"defg"], &[3, 2], b"abcde"),
        (5, &[b"", b"abcde", b"f"], &[0, 5, 0], b"abcde"),
        (3, &[b"a\r\n.\r\n"], &[3], b"a\r\n"),
        (u64::MAX, &[b"abc"], &[3], b"abc"),
    ];
    for (size, chunks, consumed, want) in cases {
        let mut r = BdatReader::new(*size);
        let mut out = BytesMut::new();
        let got: Vec<usize> = chunks.iter().map(|c| r.feed(c, &mut out)).collect();
        assert_eq!(&got, consumed);
        assert_eq!(&out[..], *want);
        let total: u64 = consumed.iter().map(|&n| n as u64).sum();
        assert_eq!(r.remaining(), size - total);
        assert_eq!(r.is_done(), r.remaining() == 0);
    }
}

#[test]
fn bdat_checker_table() {
    let d = BodyPolicy::default();
    let strict = policy(BareLf::Reject, BareCr::Reject, Some(6));
    let cr_norm = policy(BareLf::Normalize, BareCr::Normalize, None);
    // (policy, chunks of one message across BDAT commands, output, violations)
    type Case<'c> = (BodyPolicy, &'c [&'c [u8]], &'c [u8], Violations);
    let cases: &[Case<'_>] = &[
        // No dots, no terminator.
        (d, &[b".\r\n", b"..\r\n"], b".\r\n..\r\n", NONE),
        (d, &[b"a\nb"], b"a\r\nb", NONE),
        (strict, &[b"a\r", b"\nb\r\n"], b"a\r\nb\r\n", NONE),
        (
            strict,
            &[b"a\r", b"b\r\n"],
            b"a\rb\r\n",
            Violations {
                bare_cr: true,
                ..NONE
            },
        ),
        (
            strict,
            &[b"a\r\n", b"\n"],
            b"a\r\n\r\n",
            Violations {
                bare_lf: true,
                ..NONE
            },
        ),
        // A CR at the very end is bare.
        (
            strict,
            &[b"a\r"],
            b"a\r",
            Violations {
                bare_cr: true,
                ..NONE
            },
        ),
        (cr_norm, &[b"a\r"], b"a\r\n", NONE),
        // Long lines, also an unterminated last one.
        (strict, &[b"abcd\r\n"], b"abcd\r\n", NONE),
        (
            strict,
            &[b"abc", b"de\r\n"],
            b"abcde\r\n",
            Violations {
                long_line: true,
                ..NONE
            },
        ),
        (
            strict,
            &[b"abcde"],
            b"abcde",
            Violations {
                long_line: true,
                ..NONE
            },
        ),
    ];
    for (policy, chunks, want, violations) in cases {
        let mut c = BdatChecker::new(*policy);
        let mut out = BytesMut::new();
        let mut reader = BdatReader::new(0);
        for chunk in *chunks {
            reader = BdatReader::new(chunk.len() as u64);
            let n = reader.feed_checked(chunk, &mut c, &mut out);
            assert_eq!(n, chunk.len());
        }
        assert!(reader.is_done());
        c.finish(&mut out);
        assert_eq!(&out[..], *want, "chunks {chunks:?}");
        assert_eq!(c.violations(), *violations, "chunks {chunks:?}");
        c.reset();
        assert!(!c.violations().any());
    }
}

#[test]
fn violations_any() {
    assert!(!NONE.any());
    assert!(
        Violations {
            long_line: true,
            ..NONE
        }
        .any()
    );
}

#[test]
fn nul_is_data_unless_refused() {
    let nul = Violations { nul: true, ..NONE };
    let refuse = BodyPolicy {
        reject_nul: true,
        ..BodyPolicy::default()
    };
    assert!(nul.any());
    // DATA: kept as data either way; flagged only when refused, however
    // the input is cut.
    let input = b"a\0b\r\n.\r\n";
    for chunks in chunkings(input) {
        let kept = unstuff(BodyPolicy::default(), &chunks);
        assert_eq!(kept, (b"a\0b\r\n".to_vec(), input.len(), true, NONE));
        let refused = unstuff(refuse, &chunks);
        assert_eq!(refused, (b"a\0b\r\n".to_vec(), input.len(), true, nul));
    }
    // A NUL after the terminator belongs to the next command, not the
    // message.
    let (_, consumed, done, v) = unstuff(refuse, &[b"ok\r\n.\r\nX\0\r\n"]);
    assert_eq!((consumed, done, v), (7, true, NONE));
    // BDAT text bodies too, in any chunk of the message.
    let mut checker = BdatChecker::new(refuse);
    let mut out = BytesMut::new();
    checker.feed(b"clean\r\n", &mut out);
    assert!(!checker.violations().any());
    checker.feed(b"x\0y\r\n", &mut out);
    checker.finish(&mut out);
    assert_eq!(checker.violations(), nul);
    assert_eq!(&out[..], b"clean\r\nx\0y\r\n");
}
