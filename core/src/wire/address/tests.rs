//! Table tests for [`super`].

use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;
use AddressError as E;

fn rev(input: &str) -> Result<ReversePath, AddressError> {
    ReversePath::parse(input.as_bytes())
}

fn fwd(input: &str) -> Result<ForwardPath, AddressError> {
    ForwardPath::parse(input.as_bytes())
}

fn written(write: impl Fn(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    write(&mut out);
    String::from_utf8(out).unwrap()
}

/// Accepted paths: (input, canonical form written back, decoded local
/// part, domain as displayed, is_utf8).
const ACCEPT: &[(&str, &str, &str, &str, bool)] = &[
    (
        "<a@example.org>",
        "<a@example.org>",
        "a",
        "example.org",
        false,
    ),
    (
        "<First.Last@Example.ORG>",
        "<First.Last@Example.ORG>",
        "First.Last",
        "Example.ORG",
        false,
    ),
    (
        "<!#$%&'*+-/=?^_`{|}~@x>",
        "<!#$%&'*+-/=?^_`{|}~@x>",
        "!#$%&'*+-/=?^_`{|}~",
        "x",
        false,
    ),
    ("<\"abc\"@x>", "<abc@x>", "abc", "x", false),
    (
        "<\"john doe\"@x>",
        "<\"john doe\"@x>",
        "john doe",
        "x",
        false,
    ),
    ("<\"a\\\"b\"@x>", "<\"a\\\"b\"@x>", "a\"b", "x", false),
    ("<\"a\\\\b\"@x>", "<\"a\\\\b\"@x>", "a\\b", "x", false),
    ("<\"a\\b\"@x>", "<ab@x>", "ab", "x", false),
    ("<\"a@b\"@x>", "<\"a@b\"@x>", "a@b", "x", false),
    ("<\"a>b<c\"@x>", "<\"a>b<c\"@x>", "a>b<c", "x", false),
    ("<\".a..b.\"@x>", "<\".a..b.\"@x>", ".a..b.", "x", false),
    ("<\"\"@x>", "<\"\"@x>", "", "x", false),
    ("<\"é ü\"@x>", "<\"é ü\"@x>", "é ü", "x", true),
    (
        "<用户@例子.广告>",
        "<用户@例子.广告>",
        "用户",
        "例子.广告",
        true,
    ),
    (
        "<a@bücher.example>",
        "<a@bücher.example>",
        "a",
        "bücher.example",
        true,
    ),
    ("<a@localhost>", "<a@localhost>", "a", "localhost", false),
    (
        "<a@xn--bcher-kva.example>",
        "<a@xn--bcher-kva.example>",
        "a",
        "xn--bcher-kva.example",
        false,
    ),
    ("<a@1.2.3.4>", "<a@1.2.3.4>", "a", "1.2.3.4", false),
    (
        "<a@[192.0.2.1]>",
        "<a@[192.0.2.1]>",
        "a",
        "[192.0.2.1]",
        false,
    ),
    (
        "<a@[IPv6:2001:db8::1]>",
        "<a@[IPv6:2001:db8::1]>",
        "a",
        "[IPv6:2001:db8::1]",
        false,
    ),
    (
        "<a@[ipv6:2001:DB8:0:0:0:0:0:1]>",
        "<a@[IPv6:2001:db8::1]>",
        "a",
        "[IPv6:2001:db8::1]",
        false,
    ),
    (
        "<a@[IPv6:::ffff:192.0.2.1]>",
        "<a@[IPv6:::ffff:192.0.2.1]>",
        "a",
        "[IPv6:::ffff:192.0.2.1]",
        false,
    ),
    (
        "<a@[x-tag:any>thing]>",
        "<a@[x-tag:any>thing]>",
        "a",
        "[x-tag:any>thing]",
        false,
    ),
    ("<a@[IPv7:1:2]>", "<a@[IPv7:1:2]>", "a", "[IPv7:1:2]", false),
    (
        "<@a.example,@b.example:user@c.example>",
        "<user@c.example>",
        "user",
        "c.example",
        false,
    ),
    (
        "<@a.example:\"q q\"@c.example>",
        "<\"q q\"@c.example>",
        "q q",
        "c.example",
        false,
    ),
    (
        "<postmaster@example.org>",
        "<postmaster@example.org>",
        "postmaster",
        "example.org",
        false,
    ),
];

#[test]
fn accepted_paths() {
    for &(input, canonical, local, domain, utf8) in ACCEPT {
        for path in [
            rev(input).map(|p| p.to_string()),
            fwd(input).map(|p| p.to_string()),
        ] {
            assert_eq!(path.as_deref(), Ok(canonical), "{input}");
        }
        let path = rev(input).unwrap();
        let mailbox = path.mailbox().unwrap();
        assert_eq!(mailbox.local().as_str(), local, "{input}");
        assert_eq!(mailbox.domain().to_string(), domain, "{input}");
        assert_eq!(path.is_utf8(), utf8, "{input}");
        assert_eq!(fwd(input).unwrap().is_utf8(), utf8, "{input}");
        // Round trip through the writer.
        let out = written(|o| path.write_to(o));
        assert_eq!(out, canonical);
        assert_eq!(rev(&out), Ok(path.clone()), "{input}");
        assert_eq!(fwd(&out).unwrap().mailbox(), Some(mailbox));
        // The bare mailbox parses on its own (without the source route).
        let bare = written(|o| mailbox.write_to(o));
        assert_eq!(
            Mailbox::parse(bare.as_bytes()).as_ref(),
            Ok(mailbox),
            "{input}"
        );
        assert_eq!(bare.parse::<Mailbox>().as_ref(), Ok(mailbox));
    }
}

#[test]
fn null_and_postmaster() {
    assert_eq!(rev("<>"), Ok(ReversePath::Null));
    assert_eq!(ReversePath::Null.to_string(), "<>");
    assert_eq!(ReversePath::Null.mailbox(), None);
    assert!(!ReversePath::Null.is_utf8());
    assert_eq!(fwd("<>"), Err(E::NullPath));
    for input in [
        "<Postmaster>",
        "<postmaster>",
        "<POSTMASTER>",
        "<pOsTmAsTeR>",
    ] {
        assert_eq!(fwd(input), Ok(ForwardPath::Postmaster), "{input}");
        assert_eq!(rev(input), Err(E::MissingAt), "{input}");
    }
    assert_eq!(ForwardPath::Postmaster.to_string(), "<Postmaster>");
    assert_eq!(ForwardPath::Postmaster.mailbox(), None);
    assert!(!ForwardPath::Postmaster.is_utf8());
    let mb = fwd("<PostMaster@example.org>").unwrap();
    assert!(mb.mailbox().unwrap().is_postmaster());
    assert!(
        !rev("<postmistress@x>")
            .unwrap()
            .mailbox()
            .unwrap()
            .is_postmaster()
    );
    assert!(
        rev("<\"postmaster\"@x>")
            .unwrap()
            .mailbox()
            .unwrap()
            .is_postmaster()
    );
    assert_eq!("<>".parse::<ReversePath>(), Ok(ReversePath::Null));
    assert_eq!(
        "<postmaster>".parse::<ForwardPath>(),
        Ok(ForwardPath::Postmaster)
    );
}

#[test]
fn quoted_equals_dot_atom() {
    assert_eq!(rev("<\"abc\"@x>"), rev("<abc@x>"));
    assert_eq!(rev("<\"a.b\"@x>"), rev("<a.b@x>"));
    assert_ne!(rev("<abc@x>"), rev("<abc@X>"));
    assert_ne!(rev("<abc@x>"), rev("<ABC@x>"));
}

/// Rejected paths, for both path kinds (unless noted).
const REJECT: &[(&[u8], AddressError)] = &[
    (b"", E::Empty),
    // Control bytes win over every other error.
    (b"<a@b\r\n>", E::ForbiddenByte(b'\r')),
    (b"<a@b>\r\nRCPT TO:<c@d>", E::ForbiddenByte(b'\r')),
    (b"<a@b\n>", E::ForbiddenByte(b'\n')),
    (b"<a\0@b>", E::ForbiddenByte(0)),
    (b"<\"a\0\"@b>", E::ForbiddenByte(0)),
    (b"<\"a\\\r\"@b>", E::ForbiddenByte(b'\r')),
    (b"<a@b\x7f>", E::ForbiddenByte(0x7f)),
    (b"<a@b>\t", E::ForbiddenByte(b'\t')),
    (b"a@b\n", E::ForbiddenByte(b'\n')),
    (b"\n<a@b", E::ForbiddenByte(b'\n')),
    (b"<\xff\x1b>", E::ForbiddenByte(0x1b)),
    (b"a@b", E::MissingOpenBracket),
    (b" <a@b>", E::MissingOpenBracket),
    (b"a@b>", E::MissingOpenBracket),
    (b"<", E::UnbalancedBrackets),
    (b"<a@b", E::UnbalancedBrackets),
    (b"<<a@b>", E::UnbalancedBrackets),
    (b"<<a@b>>", E::UnbalancedBrackets),
    (b"<a@b>>", E::UnbalancedBrackets),
    (b"<a<b@c>", E::UnbalancedBrackets),
    (b"<a@b<c>", E::UnbalancedBrackets),
    (b"<\"a>@b", E::UnbalancedBrackets),
    (b"<a@[1.2.3.4>", E::UnbalancedBrackets),
    (b"<a@b> ", E::TrailingGarbage),
    (b"<a@b>x", E::TrailingGarbage),
    (b"<a@b> <c@d>", E::TrailingGarbage),
    (b"<abc>", E::MissingAt),
    (b"<\"a@b\">", E::MissingAt),
    (b"<a b>", E::MissingAt),
    (b"<@>", E::InvalidSourceRoute),
    (b"<a..b@x>", E::InvalidLocalPart),
    (b"<.a@x>", E::InvalidLocalPart),
    (b"<a.@x>", E::InvalidLocalPart),
    (b"<@x>", E::InvalidSourceRoute),
    (b"<a b@x>", E::InvalidLocalPart),
    (b"<a\"b\"@x>", E::InvalidLocalPart),
    (b"<\"a\"b@x>", E::InvalidLocalPart),
    (b"<(a)@x>", E::InvalidLocalPart),
    (b"<a,b@x>", E::InvalidLocalPart),
    (b"<\"a\\\xc3\xa9\"@x>", E::InvalidLocalPart),
    (b"<a@>", E::InvalidDomain),
    (b"<a@-x.org>", E::InvalidDomain),
    (b"<a@x-.org>", E::InvalidDomain),
    (b"<a@x..org>", E::InvalidDomain),
    (b"<a@.x.org>", E::InvalidDomain),
    (b"<a@x.org.>", E::InvalidDomain),
    (b"<a@x_y.org>", E::InvalidDomain),
    (b"<a@x y>", E::InvalidDomain),
    (b"<a@b@c>", E::InvalidDomain),
    (b"<a@[1.2.3]>", E::InvalidAddressLiteral),
    (b"<a@[256.1.1.1]>", E::InvalidAddressLiteral),
    (b"<a@[01.2.3.4]>", E::InvalidAddressLiteral),
    (b"<a@[1.2.3.4 ]>", E::InvalidAddressLiteral),
    (b"<a@[]>", E::InvalidAddressLiteral),
    (b"<a@[IPv6:zz::1]>", E::InvalidAddressLiteral),
    (b"<a@[IPv6:1.2.3.4]>", E::InvalidAddressLiteral),
    (b"<a@[IPv6:::1%eth0]>", E::InvalidAddressLiteral),
    (b"<a@[:x]>", E::InvalidAddressLiteral),
    (b"<a@[x-:y]>", E::InvalidAddressLiteral),
    (b"<a@[x:]>", E::InvalidAddressLiteral),
    (b"<a@[x:a\\b]>", E::InvalidAddressLiteral),
    (b"<a@[x:a b]>", E::InvalidAddressLiteral),
    (b"<a@[1.2.3.4]x>", E::InvalidAddressLiteral),
    (b"<@:a@b>", E::InvalidSourceRoute),
    (b"<@a.example a@b>", E::InvalidSourceRoute),
    (b"<@a,b:c@d>", E::InvalidSourceRoute),
    (b"<@a,:c@d>", E::InvalidSourceRoute),
    (b"<@-a:b@c>", E::InvalidSourceRoute),
    (b"<@[1.2.3.4]:a@b>", E::InvalidSourceRoute),
    (b"<@a.example:>", E::Empty),
    (b"<\xff@x>", E::InvalidUtf8),
    (b"<a@\xc3>", E::InvalidUtf8),
    (b"<\"\xe9\"@x>", E::InvalidUtf8),
];

#[test]
fn rejected_paths() {
    for (input, error) in REJECT {
        let shown = String::from_utf8_lossy(input);
        assert_eq!(ReversePath::parse(input).as_ref(), Err(error), "{shown}");
        assert_eq!(ForwardPath::parse(input).as_ref(), Err(error), "{shown}");
    }
}

#[test]
fn parse_prefix_reports_consumed() {
    let cases: &[(&[u8], usize)] = &[
        (b"<a@b>", 5),
        (b"<a@b> SIZE=10", 5),
        (b"<> BODY=8BITMIME", 2),
        (b"<a@b>x", 5),
        (b"<\"a>b\"@c> X", 9),
        (b"<a@[t:x>y]> X", 11),
        (b"<@r.example:a@b> X", 16),
    ];
    for &(input, used) in cases {
        let (_, n) = ReversePath::parse_prefix(input).unwrap();
        assert_eq!(n, used, "{}", String::from_utf8_lossy(input));
    }
    assert_eq!(
        ForwardPath::parse_prefix(b"<postmaster> NOTIFY=NEVER"),
        Ok((ForwardPath::Postmaster, 12))
    );
    assert_eq!(ForwardPath::parse_prefix(b"<> X"), Err(E::NullPath));
    assert_eq!(
        ReversePath::parse_prefix(b"<a@b>> X"),
        Err(E::UnbalancedBrackets)
    );
    assert_eq!(
        ReversePath::parse_prefix(b"<a@b> X\r\n"),
        Err(E::ForbiddenByte(b'\r'))
    );
}

#[test]
fn length_limits() {
    let local64 = "l".repeat(64);
    let local65 = "l".repeat(65);
    // 64 octets of local part is fine, 65 is not, quoted or not.
    assert!(rev(&format!("<{local64}@x>")).is_ok());
    assert_eq!(rev(&format!("<{local65}@x>")), Err(E::LocalPartTooLong(65)));
    assert_eq!(
        rev(&format!("<\"{}\"@x>", "l".repeat(63))),
        Err(E::LocalPartTooLong(65))
    );
    // Raw length counts, even if the canonical form would be shorter.
    assert_eq!(
        rev(&format!("<\"{}\"@x>", "\\l".repeat(32))),
        Err(E::LocalPartTooLong(66))
    );
    // A domain of 191 octets: 1 + 64 + 1 + 189 + 1 = 256 fits, one more does not.
    let label = "d".repeat(63);
    let domain189 = format!("{label}.{label}.{}", "d".repeat(61));
    assert_eq!(domain189.len(), 189);
    let path256 = format!("<{local64}@{domain189}>");
    assert_eq!(path256.len(), MAX_PATH);
    assert!(rev(&path256).is_ok());
    let path257 = format!("<{local64}@{domain189}e>");
    assert_eq!(rev(&path257), Err(E::PathTooLong(257)));
    // A source route counts towards the path length.
    let routed = format!("<@{label}:{local64}@{domain189}>");
    assert_eq!(rev(&routed), Err(E::PathTooLong(routed.len())));
    // Labels: 63 octets fine, 64 not.
    assert!(Domain::parse(format!("{label}.x").as_bytes()).is_ok());
    assert_eq!(
        Domain::parse(format!("{label}d.x").as_bytes()),
        Err(E::InvalidDomain)
    );
    // Domains: 255 fine, 256 not.
    let domain255 = format!("{label}.{label}.{label}.{}", "d".repeat(63));
    assert_eq!(domain255.len(), MAX_DOMAIN);
    assert!(Domain::parse(domain255.as_bytes()).is_ok());
    let domain256 = format!("{domain255}d");
    assert_eq!(
        Domain::parse(domain256.as_bytes()),
        Err(E::DomainTooLong(256))
    );
    assert_eq!(
        Mailbox::parse(format!("a@{domain256}").as_bytes()),
        Err(E::DomainTooLong(256))
    );
    // Mailbox: 254 octets fit a path, 255 do not.
    let local = LocalPart::new(&local64).unwrap();
    let d = |s: &str| Domain::Name(s.to_owned());
    assert!(Mailbox::new(local.clone(), d(&domain189)).is_ok());
    assert_eq!(
        Mailbox::new(local.clone(), d(&format!("{domain189}e"))),
        Err(E::PathTooLong(257))
    );
    assert_eq!(
        Mailbox::parse(format!("{local64}@{domain189}e").as_bytes()),
        Err(E::PathTooLong(257))
    );
}

#[test]
fn local_part_new() {
    let ok: &[(&str, &str, bool)] = &[
        ("abc", "abc", false),
        ("a.b", "a.b", false),
        ("a b", "\"a b\"", true),
        ("a\"b\\", "\"a\\\"b\\\\\"", true),
        (".a", "\".a\"", true),
        ("a..b", "\"a..b\"", true),
        ("", "\"\"", true),
        ("a@b", "\"a@b\"", true),
        ("ü", "ü", false),
        ("ü ü", "\"ü ü\"", true),
    ];
    for &(decoded, wire, quoted) in ok {
        let local = LocalPart::new(decoded).unwrap();
        assert_eq!(local.as_str(), decoded);
        assert_eq!(local.needs_quoting(), quoted, "{decoded}");
        assert_eq!(written(|o| local.write_to(o)), wire);
        assert_eq!(local.to_string(), wire);
        assert_eq!(local.is_utf8(), !decoded.is_ascii());
    }
    let bad: &[(&str, AddressError)] = &[
        ("a\r\nb", E::ForbiddenByte(b'\r')),
        ("a\nb", E::ForbiddenByte(b'\n')),
        ("\0", E::ForbiddenByte(0)),
        ("a\tb", E::ForbiddenByte(b'\t')),
        ("\x7f", E::ForbiddenByte(0x7f)),
        ("\x1b[0m", E::ForbiddenByte(0x1b)),
    ];
    for (decoded, error) in bad {
        assert_eq!(LocalPart::new(decoded).as_ref(), Err(error), "{decoded:?}");
    }
    // Lengths count the wire form.
    assert!(LocalPart::new(&"x".repeat(64)).is_ok());
    assert_eq!(
        LocalPart::new(&"x".repeat(65)),
        Err(E::LocalPartTooLong(65))
    );
    assert!(LocalPart::new(&" ".repeat(62)).is_ok());
    assert_eq!(
        LocalPart::new(&" ".repeat(63)),
        Err(E::LocalPartTooLong(65))
    );
    assert!(LocalPart::new(&"\"".repeat(31)).is_ok());
    assert_eq!(
        LocalPart::new(&"\\".repeat(32)),
        Err(E::LocalPartTooLong(66))
    );
}

#[test]
fn domains() {
    let ok: &[(&str, Domain, &str, bool)] = &[
        (
            "example.org",
            Domain::Name("example.org".into()),
            "example.org",
            false,
        ),
        (
            "EXAMPLE.org",
            Domain::Name("EXAMPLE.org".into()),
            "EXAMPLE.org",
            false,
        ),
        ("a-b.c", Domain::Name("a-b.c".into()), "a-b.c", false),
        (
            "例子.广告",
            Domain::Name("例子.广告".into()),
            "例子.广告",
            true,
        ),
        (
            "[10.0.0.1]",
            Domain::Ipv4(Ipv4Addr::new(10, 0, 0, 1)),
            "[10.0.0.1]",
            false,
        ),
        (
            "[IPv6:::1]",
            Domain::Ipv6(Ipv6Addr::LOCALHOST),
            "[IPv6:::1]",
            false,
        ),
        (
            "[IPV6:0:0:0:0:0:0:0:1]",
            Domain::Ipv6(Ipv6Addr::LOCALHOST),
            "[IPv6:::1]",
            false,
        ),
        (
            "[x:y:z]",
            Domain::General {
                tag: "x".into(),
                content: "y:z".into(),
            },
            "[x:y:z]",
            false,
        ),
    ];
    for (input, domain, shown, utf8) in ok {
        assert_eq!(
            Domain::parse(input.as_bytes()).as_ref(),
            Ok(domain),
            "{input}"
        );
        assert_eq!(input.parse::<Domain>().as_ref(), Ok(domain));
        assert_eq!(domain.to_string(), *shown);
        assert_eq!(written(|o| domain.write_to(o)), *shown);
        assert_eq!(domain.is_utf8(), *utf8);
        assert_eq!(domain.validate(), Ok(()));
        assert_eq!(Domain::parse(shown.as_bytes()).as_ref(), Ok(domain));
    }
    let bad: &[(&[u8], AddressError)] = &[
        (b"", E::Empty),
        (b"a\r\n", E::ForbiddenByte(b'\r')),
        (b"[1.2.3.4\n]", E::ForbiddenByte(b'\n')),
        (b"a b", E::InvalidDomain),
        (b"a.", E::InvalidDomain),
        (b"<a>", E::InvalidDomain),
        (b"[1.2.3.4", E::InvalidAddressLiteral),
        (b"[1.2.3.4]]", E::InvalidAddressLiteral),
        (b"[ipv6:x]", E::InvalidAddressLiteral),
        (b"[\xc3\xa9:x]", E::InvalidAddressLiteral),
        (b"[x:\xc3\xa9]", E::InvalidAddressLiteral),
        (b"\xc3", E::InvalidUtf8),
    ];
    for (input, error) in bad {
        let shown = String::from_utf8_lossy(input);
        assert_eq!(Domain::parse(input).as_ref(), Err(error), "{shown}");
    }
}

#[test]
fn domain_validate_and_mailbox_new() {
    let bad: &[(Domain, AddressError)] = &[
        (Domain::Name(String::new()), E::Empty),
        (Domain::Name("a\r\nb".into()), E::ForbiddenByte(b'\r')),
        (Domain::Name("a b".into()), E::InvalidDomain),
        (Domain::Name("[1.2.3.4]".into()), E::InvalidDomain),
        (Domain::Name("d".repeat(256)), E::DomainTooLong(256)),
        (
            Domain::General {
                tag: "IPv6".into(),
                content: "::1".into(),
            },
            E::InvalidAddressLiteral,
        ),
        (
            Domain::General {
                tag: "ipv6".into(),
                content: "x".into(),
            },
            E::InvalidAddressLiteral,
        ),
        (
            Domain::General {
                tag: String::new(),
                content: "x".into(),
            },
            E::InvalidAddressLiteral,
        ),
        (
            Domain::General {
                tag: "x".into(),
                content: String::new(),
            },
            E::InvalidAddressLiteral,
        ),
        (
            Domain::General {
                tag: "x".into(),
                content: "a]b".into(),
            },
            E::InvalidAddressLiteral,
        ),
        (
            Domain::General {
                tag: "x".into(),
                content: "a\nb".into(),
            },
            E::ForbiddenByte(b'\n'),
        ),
        (
            Domain::General {
                tag: "x".into(),
                content: "c".repeat(252),
            },
            E::DomainTooLong(255 + 1),
        ),
    ];
    let local = LocalPart::new("a").unwrap();
    for (domain, error) in bad {
        assert_eq!(domain.validate().as_ref(), Err(error), "{domain:?}");
        assert_eq!(
            Mailbox::new(local.clone(), domain.clone()).as_ref(),
            Err(error)
        );
    }
    let mailbox = Mailbox::new(local.clone(), Domain::Ipv4(Ipv4Addr::LOCALHOST)).unwrap();
    assert_eq!(mailbox.local(), &local);
    assert_eq!(mailbox.domain(), &Domain::Ipv4(Ipv4Addr::LOCALHOST));
    assert_eq!(mailbox.to_string(), "a@[127.0.0.1]");
    assert_eq!(
        ReversePath::from(mailbox.clone()).to_string(),
        "<a@[127.0.0.1]>"
    );
    assert_eq!(ForwardPath::from(mailbox).to_string(), "<a@[127.0.0.1]>");
}

#[test]
fn mailbox_parse_errors() {
    let bad: &[(&[u8], AddressError)] = &[
        (b"", E::Empty),
        (b"a@b\r\n", E::ForbiddenByte(b'\r')),
        (b"abc", E::MissingAt),
        (b"<a@b>", E::InvalidLocalPart),
        (b"@a:b@c", E::InvalidLocalPart),
        (b"a@", E::InvalidDomain),
        (b"a@b c", E::InvalidDomain),
        (b"\xff@b", E::InvalidUtf8),
    ];
    for (input, error) in bad {
        let shown = String::from_utf8_lossy(input);
        assert_eq!(Mailbox::parse(input).as_ref(), Err(error), "{shown}");
    }
}

#[test]
fn errors_display() {
    assert_eq!(
        E::ForbiddenByte(b'\r').to_string(),
        "forbidden byte 0x0d in address"
    );
    assert_eq!(
        E::NullPath.to_string(),
        "the null path <> is not a valid recipient"
    );
}
