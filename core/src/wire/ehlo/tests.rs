//! Table tests for [`super`].

use super::*;
use crate::wire::reply::{ReplyLimits, ReplyParser};

fn ehlo(lines: &[&str]) -> Result<EhloReply, EhloError> {
    EhloReply::parse(&Reply::multi(250, "", lines.iter().copied()).unwrap())
}

fn caps(lines: &[&str]) -> Capabilities {
    let mut all = vec!["mx.example.com"];
    all.extend_from_slice(lines);
    ehlo(&all).unwrap().capabilities
}

fn ext(keyword: &str, params: &[&str]) -> Extension {
    Extension::new(keyword, params.iter().map(|p| (*p).to_owned()).collect()).unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Round trip through `to_reply`, and through the bytes.
fn round_trip(value: &EhloReply) {
    let normal = value.normalized();
    let reply = value.to_reply();
    assert!(Reply::new(reply.code(), reply.enhanced(), reply.lines().to_vec()).is_ok());
    assert_eq!(EhloReply::parse(&reply).as_ref(), Ok(&normal));
    let bytes = reply.to_bytes();
    let (used, parsed) = ReplyParser::new(ReplyLimits::default()).feed(&bytes);
    assert_eq!(used, bytes.len());
    let parsed = parsed.unwrap().unwrap();
    assert_eq!(parsed, reply);
    assert_eq!(EhloReply::parse(&parsed).as_ref(), Ok(&normal));
}

#[test]
fn typical_postfix() {
    let got = ehlo(&[
        "mail.example.org",
        "PIPELINING",
        "SIZE 10240000",
        "VRFY",
        "ETRN",
        "STARTTLS",
        "AUTH PLAIN LOGIN",
        "AUTH=PLAIN LOGIN",
        "ENHANCEDSTATUSCODES",
        "8BITMIME",
        "DSN",
        "SMTPUTF8",
        "CHUNKING",
    ])
    .unwrap();
    let mut expected = Capabilities {
        pipelining: true,
        eight_bit_mime: true,
        smtputf8: true,
        size: Some(10_240_000),
        chunking: true,
        dsn: true,
        enhanced_status_codes: true,
        starttls: true,
        auth: strings(&["PLAIN", "LOGIN"]),
        auth_legacy: true,
        unknown: vec![ext("VRFY", &[]), ext("ETRN", &[])],
        ..Capabilities::default()
    };
    assert_eq!(got.domain, "mail.example.org");
    assert_eq!(got.greeting, "");
    assert_eq!(got.capabilities, expected);
    assert!(got.capabilities.supports_auth("plain"));
    assert!(!got.capabilities.supports_auth("CRAM-MD5"));
    round_trip(&got);

    expected.binary_mime = true;
    expected.requiretls = true;
    let value = EhloReply {
        domain: "mx".into(),
        greeting: "Hi".into(),
        capabilities: expected,
    };
    assert_eq!(
        String::from_utf8(value.to_reply().to_bytes()).unwrap(),
        "250-mx Hi\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n\
         250-SIZE 10240000\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n\
         250-ENHANCEDSTATUSCODES\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n\
         250-AUTH=PLAIN LOGIN\r\n250-REQUIRETLS\r\n250-VRFY\r\n250 ETRN\r\n"
    );
    round_trip(&value);
}

#[test]
fn first_line_table() {
    let cases: &[(&str, &str, &str)] = &[
        ("mx.example.com", "mx.example.com", ""),
        ("mx.example.com Hello", "mx.example.com", "Hello"),
        (
            "mx.example.com Hello [192.0.2.1], pleased",
            "mx.example.com",
            "Hello [192.0.2.1], pleased",
        ),
        ("mx.example.com  two", "mx.example.com", " two"),
        ("mx.example.com ", "mx.example.com", ""),
        ("mx.example.com\tHello", "mx.example.com", "Hello"),
        ("  mx.example.com Hi", "mx.example.com", "Hi"),
        ("[192.0.2.1]", "[192.0.2.1]", ""),
        ("例え.jp ようこそ", "例え.jp", "ようこそ"),
        ("mx \u{FFFD}", "mx", "\u{FFFD}"),
    ];
    for (line, domain, greeting) in cases {
        let got = ehlo(&[line]).unwrap();
        assert_eq!(
            (got.domain.as_str(), got.greeting.as_str()),
            (*domain, *greeting),
            "{line:?}"
        );
        assert_eq!(got.capabilities, Capabilities::default());
        round_trip(&got);
    }
}

#[test]
fn rejects() {
    assert_eq!(ehlo(&[""]), Err(EhloError::Malformed));
    assert_eq!(ehlo(&["  "]), Err(EhloError::Malformed));
    assert_eq!(ehlo(&["\t", "PIPELINING"]), Err(EhloError::Malformed));
    for code in [220, 251, 421, 500, 502, 550, 554] {
        let reply = Reply::simple(code, "", "nope").unwrap();
        assert_eq!(EhloReply::parse(&reply), Err(EhloError::NotPositive(code)));
    }
    assert_eq!(
        EhloError::NotPositive(502).to_string(),
        "EHLO was answered with 502, not 250"
    );
}

#[test]
fn keyword_lines_table() {
    let set = |f: fn(&mut Capabilities)| {
        let mut c = Capabilities::default();
        f(&mut c);
        c
    };
    let cases: &[(&[&str], Capabilities)] = &[
        (&["pipelining"], set(|c| c.pipelining = true)),
        (&["Pipelining extra params"], set(|c| c.pipelining = true)),
        (&["PIPELINING", "PIPELINING"], set(|c| c.pipelining = true)),
        (&["8bitmime"], set(|c| c.eight_bit_mime = true)),
        (&["SmtpUtf8"], set(|c| c.smtputf8 = true)),
        (&["chunking"], set(|c| c.chunking = true)),
        (&["BINARYMIME"], set(|c| c.binary_mime = true)),
        (&["dsn"], set(|c| c.dsn = true)),
        (
            &["EnhancedStatusCodes"],
            set(|c| c.enhanced_status_codes = true),
        ),
        (&["starttls"], set(|c| c.starttls = true)),
        (&["REQUIRETLS"], set(|c| c.requiretls = true)),
        (&["SIZE"], set(|c| c.size = Some(0))),
        (&["SIZE 0"], set(|c| c.size = Some(0))),
        (&["size 1000"], set(|c| c.size = Some(1000))),
        (
            &["SIZE 18446744073709551615"],
            set(|c| c.size = Some(u64::MAX)),
        ),
        (&["SIZE 18446744073709551616"], set(|_| {})),
        (&["SIZE abc"], set(|_| {})),
        (&["SIZE -1"], set(|_| {})),
        (&["SIZE +5"], set(|_| {})),
        (&["SIZE 10 20"], set(|c| c.size = Some(10))),
        (&["SIZE 10", "SIZE 20"], set(|c| c.size = Some(10))),
        (&["SIZE x", "SIZE 20"], set(|c| c.size = Some(20))),
        (
            &["AUTH PLAIN LOGIN"],
            set(|c| c.auth = strings(&["PLAIN", "LOGIN"])),
        ),
        (
            &["auth plain cram-md5"],
            set(|c| c.auth = strings(&["PLAIN", "CRAM-MD5"])),
        ),
        (&["AUTH"], set(|_| {})),
        (
            &["AUTH PLAIN PLAIN plain"],
            set(|c| c.auth = strings(&["PLAIN"])),
        ),
        (
            &["AUTH PLAIN", "AUTH LOGIN PLAIN"],
            set(|c| c.auth = strings(&["PLAIN", "LOGIN"])),
        ),
        (
            &["AUTH=LOGIN PLAIN"],
            set(|c| {
                c.auth = strings(&["LOGIN", "PLAIN"]);
                c.auth_legacy = true;
            }),
        ),
        (
            &["AUTH=LOGIN", "AUTH PLAIN LOGIN"],
            set(|c| {
                c.auth = strings(&["LOGIN", "PLAIN"]);
                c.auth_legacy = true;
            }),
        ),
        (
            &["auth=login"],
            set(|c| {
                c.auth = strings(&["LOGIN"]);
                c.auth_legacy = true;
            }),
        ),
        (
            &["AUTH= PLAIN"],
            set(|c| {
                c.auth = strings(&["PLAIN"]);
                c.auth_legacy = true;
            }),
        ),
        (&["AUTH="], set(|_| {})),
        (
            &["AUTH SCRAM-SHA-256-PLUS X_OAUTH2 A12345678901234567890 BAD=NAME"],
            set(|c| c.auth = strings(&["SCRAM-SHA-256-PLUS", "X_OAUTH2"])),
        ),
        (&["X-FOO"], set(|c| c.unknown = vec![ext("X-FOO", &[])])),
        (
            &["x-foo a=1 B"],
            set(|c| c.unknown = vec![ext("X-FOO", &["a=1", "B"])]),
        ),
        (
            &["X-FOO  a\tb "],
            set(|c| c.unknown = vec![ext("X-FOO", &["a", "b"])]),
        ),
        (
            &["X-FOO a", "x-foo b"],
            set(|c| c.unknown = vec![ext("X-FOO", &["a"])]),
        ),
        (
            &["DELIVERBY 3600", "XCLIENT NAME ADDR"],
            set(|c| {
                c.unknown = vec![
                    ext("DELIVERBY", &["3600"]),
                    ext("XCLIENT", &["NAME", "ADDR"]),
                ];
            }),
        ),
        // Not ehlo-lines: skipped.
        (&[""], set(|_| {})),
        (&["   "], set(|_| {})),
        (&["-FOO"], set(|_| {})),
        (&["X_FOO"], set(|_| {})),
        (&["X.FOO"], set(|_| {})),
        (&["X-FOO ä"], set(|_| {})),
        (&["ÄUTH PLAIN"], set(|_| {})),
        (&["X-FOO \u{FFFD}"], set(|_| {})),
    ];
    for (lines, expected) in cases {
        assert_eq!(&caps(lines), expected, "{lines:?}");
    }
}

#[test]
fn ignores_enhanced_code_on_reply() {
    let reply = Reply::multi(250, "2.0.0", ["mx Hi", "PIPELINING"]).unwrap();
    let got = EhloReply::parse(&reply).unwrap();
    assert_eq!((got.domain.as_str(), got.greeting.as_str()), ("mx", "Hi"));
    assert!(got.capabilities.pipelining);
}

#[test]
fn domain_that_reads_as_enhanced_code() {
    let value = EhloReply {
        domain: "2.1.0".into(),
        greeting: "hi".into(),
        capabilities: Capabilities {
            dsn: true,
            ..Capabilities::default()
        },
    };
    let reply = value.to_reply();
    assert_eq!(reply.to_bytes(), b"250-2.0.0 2.1.0 hi\r\n250 2.0.0 DSN\r\n");
    round_trip(&value);
    let bare = EhloReply {
        domain: "5.1.0".into(),
        greeting: String::new(),
        capabilities: Capabilities::default(),
    };
    assert_eq!(bare.to_reply().to_bytes(), b"250 5.1.0\r\n");
    round_trip(&bare);
}

#[test]
fn normalize_table() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("mx", "hi", "mx", "hi"),
        ("m x", "hi", "mx", "hi"),
        ("mx\r\n250 evil", "", "mx250evil", ""),
        ("", "", "localhost", ""),
        (" \t", "x", "localhost", "x"),
        ("mx", "a\r\nb", "mx", "a\u{FFFD}\u{FFFD}b"),
        ("mx", "tab\tok", "mx", "tab\tok"),
        ("mx", " lead", "mx", " lead"),
    ];
    for (domain, greeting, want_domain, want_greeting) in cases {
        let value = EhloReply {
            domain: (*domain).to_owned(),
            greeting: (*greeting).to_owned(),
            capabilities: Capabilities::default(),
        };
        let normal = value.normalized();
        assert_eq!(
            (normal.domain.as_str(), normal.greeting.as_str()),
            (*want_domain, *want_greeting)
        );
        round_trip(&value);
    }

    let mut c = Capabilities {
        auth: strings(&["plain", "PLAIN", "", "bad name", "LOGIN", "X=Y", "login"]),
        auth_legacy: true,
        unknown: vec![ext("X-A", &["1"]), ext("X-B", &[]), ext("x-a", &["2"])],
        ..Capabilities::default()
    };
    c.normalize();
    assert_eq!(c.auth, strings(&["PLAIN", "LOGIN"]));
    assert!(c.auth_legacy);
    assert_eq!(c.unknown, vec![ext("X-A", &["1"]), ext("X-B", &[])]);
    let mut c = Capabilities {
        auth: strings(&["not valid!"]),
        auth_legacy: true,
        ..Capabilities::default()
    };
    c.normalize();
    assert_eq!(c, Capabilities::default());
    let value = EhloReply {
        domain: "mx".into(),
        greeting: String::new(),
        capabilities: Capabilities {
            auth: strings(&["plain", "plain"]),
            auth_legacy: true,
            size: Some(0),
            ..Capabilities::default()
        },
    };
    assert_eq!(
        value.to_reply().to_bytes(),
        b"250-mx\r\n250-SIZE\r\n250-AUTH PLAIN\r\n250 AUTH=PLAIN\r\n"
    );
    round_trip(&value);
}

#[test]
fn extension_new_table() {
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("X-FOO", &[], Some("X-FOO")),
        ("x-foo", &["a", "b=c"], Some("X-FOO a b=c")),
        ("8BITMIMEX", &[], Some("8BITMIMEX")),
        ("VRFY", &["!~"], Some("VRFY !~")),
        ("A-", &[], Some("A-")),
        ("", &[], None),
        ("-X", &[], None),
        ("X_Y", &[], None),
        ("X=Y", &[], None),
        ("Ä", &[], None),
        ("X", &[""], None),
        ("X", &["a b"], None),
        ("X", &["a\r\n"], None),
        ("X", &["ä"], None),
        ("size", &[], None),
        ("AUTH", &["PLAIN"], None),
        ("Pipelining", &[], None),
        ("8bitmime", &[], None),
        ("SMTPUTF8", &[], None),
        ("CHUNKING", &[], None),
        ("BINARYMIME", &[], None),
        ("DSN", &[], None),
        ("ENHANCEDSTATUSCODES", &[], None),
        ("STARTTLS", &[], None),
        ("REQUIRETLS", &[], None),
    ];
    for (keyword, params, expected) in cases {
        let got = Extension::new(keyword, strings(params));
        assert_eq!(
            got.as_ref().map(ToString::to_string).as_deref(),
            *expected,
            "{keyword:?}"
        );
        if let Some(e) = got {
            assert_eq!(e.params(), strings(params));
        }
    }
}
