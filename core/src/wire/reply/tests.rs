//! Table tests for [`super`].

use super::*;

fn limits(max_line_len: usize, max_lines: usize, max_total: usize) -> ReplyLimits {
    ReplyLimits {
        max_line_len,
        max_lines,
        max_total,
    }
}

/// Feeds `input` whole, then byte by byte; both must agree.
fn parse_with(limits: ReplyLimits, input: &[u8]) -> (usize, Option<Result<Reply, ReplyError>>) {
    let mut parser = ReplyParser::new(limits);
    let whole = parser.feed(input);
    assert!(parser.is_idle() || whole.1.is_none());

    let mut parser = ReplyParser::new(limits);
    let mut used = 0;
    for byte in input {
        let (n, result) = parser.feed(std::slice::from_ref(byte));
        assert_eq!(n, 1);
        used += 1;
        if result.is_some() {
            assert_eq!((used, result.clone()), whole, "byte-wise differs");
            return whole;
        }
    }
    assert_eq!(whole, (used, None), "byte-wise differs");
    whole
}

fn parse(input: &[u8]) -> Result<Reply, ReplyError> {
    let (used, result) = parse_with(ReplyLimits::default(), input);
    let result = result.unwrap_or_else(|| panic!("incomplete: {input:?}"));
    if result.is_ok() {
        assert_eq!(used, input.len(), "did not consume all of {input:?}");
    }
    result
}

fn reply(code: u16, enhanced: Option<(u8, u16, u16)>, lines: &[&str]) -> Reply {
    Reply::new(
        ReplyCode::new(code).unwrap(),
        enhanced.map(|(c, s, d)| EnhancedCode::new(c, s, d).unwrap()),
        lines.iter().map(|l| (*l).to_owned()).collect(),
    )
    .unwrap()
}

#[test]
fn reply_code_table() {
    for (code, ok) in [
        (200, true),
        (211, true),
        (250, true),
        (354, true),
        (421, true),
        (559, true),
        (599, false),
        (260, false),
        (199, false),
        (600, false),
        (0, false),
        (25, false),
        (2500, false),
        (u16::MAX, false),
    ] {
        assert_eq!(ReplyCode::new(code).is_some(), ok, "{code}");
    }
    let classes = [
        (
            220,
            ReplyClass::PositiveCompletion,
            [true, false, false, false],
        ),
        (
            334,
            ReplyClass::PositiveIntermediate,
            [false, true, false, false],
        ),
        (
            451,
            ReplyClass::TransientNegative,
            [false, false, true, false],
        ),
        (
            554,
            ReplyClass::PermanentNegative,
            [false, false, false, true],
        ),
    ];
    for (code, class, flags) in classes {
        let code = ReplyCode::new(code).unwrap();
        assert_eq!(code.class(), class);
        let got = [
            code.is_positive(),
            code.is_intermediate(),
            code.is_transient(),
            code.is_permanent(),
        ];
        assert_eq!(got, flags, "{code}");
    }
    assert_eq!(ReplyCode::OK.as_u16(), 250);
    assert_eq!(ReplyCode::START_MAIL_INPUT.to_string(), "354");
    assert_eq!(u16::from(ReplyCode::SERVICE_UNAVAILABLE), 421);
}

#[test]
fn associated_consts_are_valid() {
    for code in [
        ReplyCode::SYSTEM_STATUS,
        ReplyCode::HELP_MESSAGE,
        ReplyCode::SERVICE_READY,
        ReplyCode::CLOSING,
        ReplyCode::AUTH_SUCCESS,
        ReplyCode::OK,
        ReplyCode::USER_NOT_LOCAL_WILL_FORWARD,
        ReplyCode::CANNOT_VRFY,
        ReplyCode::AUTH_CHALLENGE,
        ReplyCode::START_MAIL_INPUT,
        ReplyCode::SERVICE_UNAVAILABLE,
        ReplyCode::PASSWORD_TRANSITION_NEEDED,
        ReplyCode::MAILBOX_BUSY,
        ReplyCode::LOCAL_ERROR,
        ReplyCode::INSUFFICIENT_STORAGE,
        ReplyCode::TEMPORARY_FAILURE,
        ReplyCode::PARAMS_NOT_ACCOMMODATED,
        ReplyCode::SYNTAX_ERROR,
        ReplyCode::PARAM_SYNTAX_ERROR,
        ReplyCode::NOT_IMPLEMENTED,
        ReplyCode::BAD_SEQUENCE,
        ReplyCode::PARAM_NOT_IMPLEMENTED,
        ReplyCode::DOES_NOT_ACCEPT_MAIL,
        ReplyCode::AUTH_REQUIRED,
        ReplyCode::AUTH_TOO_WEAK,
        ReplyCode::AUTH_FAILED,
        ReplyCode::ENCRYPTION_REQUIRED,
        ReplyCode::MAILBOX_UNAVAILABLE,
        ReplyCode::USER_NOT_LOCAL,
        ReplyCode::EXCEEDED_STORAGE,
        ReplyCode::MAILBOX_NAME_NOT_ALLOWED,
        ReplyCode::TRANSACTION_FAILED,
        ReplyCode::PARAMS_NOT_RECOGNIZED,
        ReplyCode::DOMAIN_DOES_NOT_ACCEPT_MAIL,
    ] {
        assert_eq!(ReplyCode::new(code.as_u16()), Some(code));
    }
}

#[test]
fn enhanced_code_table() {
    type Case<'a> = (&'a [u8], (u8, u16, u16), &'a str);
    let accept: &[Case<'_>] = &[
        (b"2.0.0", (2, 0, 0), "2.0.0"),
        (b"4.7.1", (4, 7, 1), "4.7.1"),
        (b"5.1.10", (5, 1, 10), "5.1.10"),
        (b"5.999.999", (5, 999, 999), "5.999.999"),
        (b"2.01.000", (2, 1, 0), "2.1.0"),
    ];
    for (input, (c, s, d), shown) in accept {
        let code = EnhancedCode::parse(input).unwrap();
        assert_eq!((code.class(), code.subject(), code.detail()), (*c, *s, *d));
        assert_eq!(code.to_string(), *shown);
        let mut out = Vec::new();
        code.write_to(&mut out);
        assert_eq!(out, shown.as_bytes());
    }
    let reject: &[&[u8]] = &[
        b"",
        b"2",
        b"2.",
        b"2.1",
        b"2.1.",
        b"2..0",
        b"3.0.0",
        b"1.0.0",
        b"6.0.0",
        b"2.1000.0",
        b"2.1.1000",
        b"2.1.0 ",
        b" 2.1.0",
        b"2.1.0.0",
        b"22.1.0",
        b"2.a.0",
        b"2,1,0",
        b"\xff.1.0",
    ];
    for input in reject {
        assert_eq!(EnhancedCode::parse(input), None, "{input:?}");
    }
    assert!(EnhancedCode::new(3, 0, 0).is_none());
    assert!(EnhancedCode::new(2, 1000, 0).is_none());
    assert!(EnhancedCode::new(2, 0, 1000).is_none());
    assert!(EnhancedCode::new(5, 999, 999).is_some());
}

#[test]
fn new_accepts_and_rejects() {
    let ok = ReplyCode::OK;
    let e210 = EnhancedCode::new(2, 1, 0);
    let e511 = EnhancedCode::new(5, 1, 1);
    let s = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect::<Vec<_>>();
    type Case = (
        ReplyCode,
        Option<EnhancedCode>,
        Vec<String>,
        Result<(), ReplyError>,
    );
    let cases: &[Case] = &[
        (ok, None, s(&["OK"]), Ok(())),
        (ok, None, s(&[""]), Ok(())),
        (ok, None, s(&["", "", ""]), Ok(())),
        (ok, None, s(&["tab\tinside", "Grüße, 世界"]), Ok(())),
        (ok, e210, s(&["OK"]), Ok(())),
        (ok, e210, s(&["2.1.0 looks like a code"]), Ok(())),
        (ok, None, s(&["5.1.1 other class"]), Ok(())),
        (ok, None, s(&["2.1.0x not followed by space"]), Ok(())),
        (ok, None, s(&["2.1.0\ttab"]), Ok(())),
        (
            ok,
            None,
            s(&["first", "2.1.0 later lines are fine"]),
            Ok(()),
        ),
        (
            ReplyCode::START_MAIL_INPUT,
            None,
            s(&["3.0.0 no class 3"]),
            Ok(()),
        ),
        (ok, None, s(&[]), Err(ReplyError::InvalidText)),
        (ok, None, s(&["a\r\nb"]), Err(ReplyError::InvalidText)),
        (ok, None, s(&["a\nb"]), Err(ReplyError::InvalidText)),
        (ok, None, s(&["a\rb"]), Err(ReplyError::InvalidText)),
        (ok, None, s(&["nul\0"]), Err(ReplyError::InvalidText)),
        (ok, None, s(&["del\x7f"]), Err(ReplyError::InvalidText)),
        (ok, None, s(&["esc\x1b[31m"]), Err(ReplyError::InvalidText)),
        (ok, None, s(&["c1\u{85}"]), Err(ReplyError::InvalidText)),
        (
            ok,
            None,
            s(&["fine", "bad\n"]),
            Err(ReplyError::InvalidText),
        ),
        (
            ok,
            None,
            s(&["2.1.0 ambiguous"]),
            Err(ReplyError::InvalidText),
        ),
        (ok, None, s(&["2.1.0"]), Err(ReplyError::InvalidText)),
        (
            ok,
            None,
            s(&["2.01.0 ambiguous"]),
            Err(ReplyError::InvalidText),
        ),
        (ok, e511, s(&["x"]), Err(ReplyError::ClassMismatch)),
        (
            ReplyCode::START_MAIL_INPUT,
            e210,
            s(&["x"]),
            Err(ReplyError::ClassMismatch),
        ),
        (
            ReplyCode::MAILBOX_UNAVAILABLE,
            e210,
            s(&["x"]),
            Err(ReplyError::ClassMismatch),
        ),
    ];
    for (code, enhanced, lines, expected) in cases {
        let got = Reply::new(*code, *enhanced, lines.clone()).map(|_| ());
        assert_eq!(&got, expected, "{code} {enhanced:?} {lines:?}");
    }
}

#[test]
fn simple_and_multi() {
    let r = Reply::simple(550, "5.1.1", "No such user").unwrap();
    assert_eq!(r.code(), ReplyCode::MAILBOX_UNAVAILABLE);
    assert_eq!(r.enhanced(), EnhancedCode::new(5, 1, 1));
    assert_eq!(r.lines(), ["No such user"]);
    assert_eq!(r.to_string(), "550 5.1.1 No such user");
    let r = Reply::simple(220, "", "").unwrap();
    assert_eq!(r.to_string(), "220");
    let r = Reply::multi(250, "", ["mx", "PIPELINING"]).unwrap();
    assert_eq!(r.text(), "mx\nPIPELINING");
    assert_eq!(r.to_string(), "250 mx / PIPELINING");

    assert_eq!(Reply::simple(199, "", "x"), Err(ReplyError::InvalidCode));
    assert_eq!(Reply::simple(250, "2.1", "x"), Err(ReplyError::InvalidCode));
    assert_eq!(
        Reply::simple(250, "3.0.0", "x"),
        Err(ReplyError::InvalidCode)
    );
    assert_eq!(
        Reply::simple(250, "5.0.0", "x"),
        Err(ReplyError::ClassMismatch)
    );
    assert_eq!(Reply::simple(250, "", "a\nb"), Err(ReplyError::InvalidText));
    assert_eq!(
        Reply::multi(250, "", Vec::<String>::new()),
        Err(ReplyError::InvalidText)
    );
}

#[test]
fn serialisation_table() {
    let cases: &[(Reply, &[u8])] = &[
        (reply(250, None, &["OK"]), b"250 OK\r\n"),
        (reply(250, None, &[""]), b"250\r\n"),
        (reply(250, None, &["", ""]), b"250-\r\n250\r\n"),
        (
            reply(250, None, &["a", "b", "c"]),
            b"250-a\r\n250-b\r\n250 c\r\n",
        ),
        (reply(250, Some((2, 1, 0)), &["OK"]), b"250 2.1.0 OK\r\n"),
        (reply(250, Some((2, 1, 0)), &[""]), b"250 2.1.0\r\n"),
        (
            reply(550, Some((5, 1, 10)), &["a", "", " b"]),
            b"550-5.1.10 a\r\n550-5.1.10\r\n550 5.1.10  b\r\n",
        ),
        (
            reply(250, None, &[" lead", "trail "]),
            b"250- lead\r\n250 trail \r\n",
        ),
    ];
    for (reply, bytes) in cases {
        assert_eq!(reply.to_bytes(), *bytes, "{reply:?}");
        assert_eq!(parse(bytes).as_ref(), Ok(reply), "{bytes:?}");
    }
}

#[test]
fn parse_accepts() {
    let cases: &[(&[u8], Reply)] = &[
        (b"250 OK\r\n", reply(250, None, &["OK"])),
        (b"250 OK\n", reply(250, None, &["OK"])),
        (b"250\r\n", reply(250, None, &[""])),
        (b"250\n", reply(250, None, &[""])),
        (b"250 \r\n", reply(250, None, &[""])),
        (b"250-\r\n250 \r\n", reply(250, None, &["", ""])),
        (
            b"250-a\n250-b\r\n250 c\n",
            reply(250, None, &["a", "b", "c"]),
        ),
        (b"250 2.1.0 OK\r\n", reply(250, Some((2, 1, 0)), &["OK"])),
        (b"250 2.1.0\r\n", reply(250, Some((2, 1, 0)), &[""])),
        (b"250 2.1.0 \r\n", reply(250, Some((2, 1, 0)), &[""])),
        (
            b"250-2.1.0 a\r\n250 2.1.0 b\r\n",
            reply(250, Some((2, 1, 0)), &["a", "b"]),
        ),
        (
            b"250-2.1.0 a\r\n250 b\r\n",
            reply(250, Some((2, 1, 0)), &["a", "b"]),
        ),
        (
            b"250-2.1.0 a\r\n250 2.1.5 b\r\n",
            reply(250, Some((2, 1, 0)), &["a", "2.1.5 b"]),
        ),
        (
            b"250-2.01.0 a\r\n250 2.1.00 b\r\n",
            reply(250, Some((2, 1, 0)), &["a", "b"]),
        ),
        (
            b"250-2.1.0 2.1.0 a\r\n250 2.1.0 2.1.0\r\n",
            reply(250, Some((2, 1, 0)), &["2.1.0 a", "2.1.0"]),
        ),
        (
            b"250-a\r\n250 2.1.0 b\r\n",
            reply(250, None, &["a", "2.1.0 b"]),
        ),
        (b"250 5.1.1 x\r\n", reply(250, None, &["5.1.1 x"])),
        (b"354 3.0.0 go\r\n", reply(354, None, &["3.0.0 go"])),
        (
            b"550 5.1.1 No such user\r\n",
            reply(550, Some((5, 1, 1)), &["No such user"]),
        ),
        (b"421 4.7.0 bye\r\n", reply(421, Some((4, 7, 0)), &["bye"])),
        (b"250 2.1.0\tx\r\n", reply(250, None, &["2.1.0\tx"])),
        (b"250 2.1.0x\r\n", reply(250, None, &["2.1.0x"])),
        (b"250 2.1234.0 x\r\n", reply(250, None, &["2.1234.0 x"])),
        (
            b"250 2.1.0  two spaces\r\n",
            reply(250, Some((2, 1, 0)), &[" two spaces"]),
        ),
        (b"250 ok  \r\n", reply(250, None, &["ok  "])),
        (b"250  lead\r\n", reply(250, None, &[" lead"])),
        (b"250 a\tb\r\n", reply(250, None, &["a\tb"])),
        (
            "250 Grüße 世界\r\n".as_bytes(),
            reply(250, None, &["Grüße 世界"]),
        ),
        (b"250 \xff\xfe\r\n", reply(250, None, &["\u{FFFD}\u{FFFD}"])),
        (
            b"250 a\x01b\x7f\r\n",
            reply(250, None, &["a\u{FFFD}b\u{FFFD}"]),
        ),
        (b"250 ok\r\r\n", reply(250, None, &["ok\u{FFFD}"])),
        (b"250 a\rb\r\n", reply(250, None, &["a\u{FFFD}b"])),
        (b"250 a\0b\r\n", reply(250, None, &["a\u{FFFD}b"])),
    ];
    for (input, expected) in cases {
        let got = parse(input);
        assert_eq!(
            got.as_ref(),
            Ok(expected),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        // Whatever the parser returns is a valid Reply and round trips.
        let again = Reply::new(expected.code, expected.enhanced, expected.lines.clone());
        assert_eq!(again.as_ref(), Ok(expected));
        assert_eq!(parse(&expected.to_bytes()).as_ref(), Ok(expected));
    }
}

#[test]
fn parse_rejects() {
    let cases: &[(&[u8], ReplyError)] = &[
        (b"\r\n", ReplyError::Malformed),
        (b"\n", ReplyError::Malformed),
        (b"25\r\n", ReplyError::Malformed),
        (b"25 OK\r\n", ReplyError::Malformed),
        (b"2500 OK\r\n", ReplyError::Malformed),
        (b"250OK\r\n", ReplyError::Malformed),
        (b"250_OK\r\n", ReplyError::Malformed),
        (b"250\tOK\r\n", ReplyError::Malformed),
        (b" 250 OK\r\n", ReplyError::Malformed),
        (b"abc def\r\n", ReplyError::Malformed),
        (b"2a0 OK\r\n", ReplyError::Malformed),
        (b"HTTP/1.1 400 Bad Request\r\n", ReplyError::Malformed),
        (b"250-ok\r\nfoo\r\n", ReplyError::Malformed),
        (b"\xff\xff\xff\r\n", ReplyError::Malformed),
        (b"199 x\r\n", ReplyError::InvalidCode),
        (b"600 x\r\n", ReplyError::InvalidCode),
        (b"260 x\r\n", ReplyError::InvalidCode),
        (b"000\r\n", ReplyError::InvalidCode),
        (b"999-x\r\n", ReplyError::InvalidCode),
        (
            b"250-a\r\n251 b\r\n",
            ReplyError::CodeMismatch {
                first: 250,
                later: 251,
            },
        ),
        (
            b"250-a\r\n250-b\r\n550 c\r\n",
            ReplyError::CodeMismatch {
                first: 250,
                later: 550,
            },
        ),
    ];
    for (input, error) in cases {
        let (used, result) = parse_with(ReplyLimits::default(), input);
        assert_eq!(result, Some(Err(error.clone())), "{input:?}");
        assert_eq!(used, input.len(), "{input:?}");
    }
}

#[test]
fn stops_after_first_reply() {
    let input = b"250-a\r\n250 b\r\n221 bye\r\ngarbage";
    let mut parser = ReplyParser::default();
    let (used, first) = parser.feed(input);
    assert_eq!(used, 14);
    assert_eq!(first, Some(Ok(reply(250, None, &["a", "b"]))));
    assert!(parser.is_idle());
    let (used2, second) = parser.feed(&input[used..]);
    assert_eq!(used2, 9);
    assert_eq!(second, Some(Ok(reply(221, None, &["bye"]))));
    let (used3, third) = parser.feed(&input[used + used2..]);
    assert_eq!((used3, third), (7, None));
    assert!(!parser.is_idle());
    assert_eq!(parser.buffered_len(), 7);
    parser.reset();
    assert!(parser.is_idle());
    assert_eq!(parser.buffered_len(), 0);
    assert_eq!(parser.feed(b""), (0, None));
}

#[test]
fn partial_state_is_idle_only_between_replies() {
    let mut parser = ReplyParser::default();
    assert!(parser.is_idle());
    assert_eq!(parser.feed(b"250-a\r\n"), (7, None));
    assert!(!parser.is_idle());
    assert_eq!(parser.buffered_len(), 7);
    assert_eq!(parser.feed(b"250 b"), (5, None));
    assert_eq!(parser.buffered_len(), 12);
    assert_eq!(
        parser.feed(b"\r\n"),
        (2, Some(Ok(reply(250, None, &["a", "b"]))))
    );
    assert!(parser.is_idle());
}

#[test]
fn line_cap() {
    // "250 abcdef\r\n" is 12 octets: fits a 12 cap, not an 11 cap.
    let input = b"250 abcdef\r\n";
    let ok = parse_with(limits(12, 10, 1000), input);
    assert_eq!(ok, (12, Some(Ok(reply(250, None, &["abcdef"])))));
    let ok = parse_with(limits(11, 10, 1000), b"250 abcdef\n");
    assert_eq!(ok, (11, Some(Ok(reply(250, None, &["abcdef"])))));
    // Over by one: reported at the 11th octet, the CR.
    let err = parse_with(limits(11, 10, 1000), input);
    assert_eq!(err, (11, Some(Err(ReplyError::LineTooLong))));
    // Detected before any line end arrives.
    let mut parser = ReplyParser::new(limits(8, 10, 1000));
    assert_eq!(parser.feed(b"250 abc"), (7, None));
    assert_eq!(
        parser.feed(b"defghij"),
        (1, Some(Err(ReplyError::LineTooLong)))
    );
    assert!(parser.is_idle());
    // On a later line, counted from that line's start.
    let err = parse_with(limits(9, 10, 1000), b"250-abc\r\n250 abcdefgh\r\n");
    assert_eq!(err, (9 + 9, Some(Err(ReplyError::LineTooLong))));
    // Degenerate caps never panic.
    let err = parse_with(limits(0, 10, 1000), b"\n");
    assert_eq!(err, (1, Some(Err(ReplyError::LineTooLong))));
    let err = parse_with(limits(1, 10, 1000), b"\n");
    assert_eq!(err, (1, Some(Err(ReplyError::Malformed))));
    let err = parse_with(limits(1, 10, 1000), b"2");
    assert_eq!(err, (1, Some(Err(ReplyError::LineTooLong))));
}

#[test]
fn lines_cap() {
    let three = b"250-a\r\n250-b\r\n250 c\r\n";
    let ok = parse_with(limits(100, 3, 1000), three);
    assert_eq!(ok, (21, Some(Ok(reply(250, None, &["a", "b", "c"])))));
    // The second line promises a third: refused at its end.
    let err = parse_with(limits(100, 2, 1000), three);
    assert_eq!(err, (14, Some(Err(ReplyError::TooManyLines))));
    let err = parse_with(limits(100, 1, 1000), three);
    assert_eq!(err, (7, Some(Err(ReplyError::TooManyLines))));
    let err = parse_with(limits(100, 0, 1000), b"250 a\r\n");
    assert_eq!(err, (7, Some(Err(ReplyError::TooManyLines))));
}

#[test]
fn total_cap() {
    let three = b"250-a\r\n250-b\r\n250 c\r\n";
    let ok = parse_with(limits(100, 10, 21), three);
    assert_eq!(ok, (21, Some(Ok(reply(250, None, &["a", "b", "c"])))));
    let err = parse_with(limits(100, 10, 20), three);
    assert_eq!(err, (21, Some(Err(ReplyError::TooLarge))));
    let err = parse_with(limits(100, 10, 10), three);
    assert_eq!(err, (11, Some(Err(ReplyError::TooLarge))));
    let err = parse_with(limits(100, 10, 0), three);
    assert_eq!(err, (1, Some(Err(ReplyError::TooLarge))));
    // The line cap wins a tie at the same octet.
    let err = parse_with(limits(5, 10, 3), b"250 abcdef\r\n");
    assert_eq!(err, (4, Some(Err(ReplyError::TooLarge))));
    let err = parse_with(limits(5, 10, 4), b"250 abcdef\r\n");
    assert_eq!(err, (5, Some(Err(ReplyError::LineTooLong))));
}

#[test]
fn caps_bound_the_buffer() {
    let caps = limits(16, 4, 36);
    let mut parser = ReplyParser::new(caps);
    for chunk in [
        &b"250-abc"[..],
        b"defg\r\n250-",
        b"x\r\n250-yy",
        b"y\r\n",
        b"250 zz",
    ] {
        let (used, result) = parser.feed(chunk);
        assert!(used <= chunk.len());
        assert!(parser.buffered_len() <= caps.max_total);
        assert!(parser.partial.len() < caps.max_line_len);
        assert!(result.is_none(), "{result:?}");
    }
    assert_eq!(parser.feed(b"\r\n").1, Some(Err(ReplyError::TooLarge)));
}

#[test]
fn recovers_after_error() {
    let mut parser = ReplyParser::default();
    let input = b"250-a\r\n251 b\r\n220 ready\r\n";
    let (used, result) = parser.feed(input);
    assert_eq!(
        result,
        Some(Err(ReplyError::CodeMismatch {
            first: 250,
            later: 251
        }))
    );
    assert!(parser.is_idle());
    let (_, result) = parser.feed(&input[used..]);
    assert_eq!(result, Some(Ok(reply(220, None, &["ready"]))));
}

#[test]
fn push_decimal_table() {
    for n in [0u16, 7, 10, 99, 100, 999, 1000, u16::MAX] {
        let mut out = Vec::new();
        push_decimal(&mut out, n);
        assert_eq!(out, n.to_string().as_bytes());
    }
}
