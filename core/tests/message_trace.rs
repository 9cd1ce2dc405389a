//! Trace headers (`Received`, `Return-Path`) and parsed delivery, checked
//! as text and by reading them back with mail-parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use mailwire_core::TlsInfo;
use mailwire_core::message::mail_parser::{self, HeaderValue, Host};
use mailwire_core::message::{
    MAX_HELO_IN_TRACE, MessageDate, ReceivedInfo, SessionTraits, TraceProtocol, parse_message,
    received_header, return_path_header, trace_headers,
};
use mailwire_core::wire::address::{ForwardPath, ReversePath};

const NOW: i64 = 1_795_350_186;
const DATE: &str = "Sun, 22 Nov 2026 12:23:06 +0000";
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fn info(protocol: TraceProtocol) -> ReceivedInfo {
    ReceivedInfo::new(
        "mx.example.org".parse().unwrap(),
        protocol,
        MessageDate::utc(NOW).unwrap(),
    )
}

fn esmtp() -> ReceivedInfo {
    info(TraceProtocol::new(SessionTraits::new(true)))
}

fn text(header: &[u8]) -> String {
    String::from_utf8(header.to_vec()).unwrap()
}

/// Checks the shape every Received header must have: one field, CRLF line
/// ends, continuation lines only, no line over 78 unless a token forced it,
/// parentheses balanced and never nested.
fn assert_one_safe_field(header: &[u8]) {
    let t = text(header);
    assert!(t.starts_with("Received: ") && t.ends_with("\r\n"), "{t:?}");
    let body = &t[..t.len() - 2];
    for (i, line) in body.split("\r\n").enumerate() {
        assert!(!line.contains(['\r', '\n']), "{t:?}");
        if i > 0 {
            assert!(line.starts_with(' '), "continuation: {t:?}");
        }
    }
    let mut depth = 0i32;
    for c in t.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        assert!((0..=1).contains(&depth), "parentheses: {t:?}");
    }
    assert_eq!(depth, 0, "{t:?}");
}

/// Reads the header back with mail-parser.
fn parsed(header: &[u8]) -> mail_parser::Received<'static> {
    let mut message = header.to_vec();
    message.extend_from_slice(b"Subject: x\r\n\r\nbody\r\n");
    let parsed = parse_message(&message).unwrap();
    match parsed.header("Received") {
        Some(HeaderValue::Received(received)) => received.as_ref().clone().into_owned(),
        other => panic!("not a Received header: {other:?}"),
    }
}

/// The peer address as mail-parser reads it: `from [ip]` or `(… [ip])`.
fn peer_of(r: &mail_parser::Received<'_>) -> Option<IpAddr> {
    match &r.from {
        Some(Host::IpAddr(ip)) if r.from_ip.is_none() => Some(*ip),
        _ => r.from_ip,
    }
}

#[test]
fn protocol_forms() {
    let t = |extended, tls, auth, utf8| {
        TraceProtocol::new(
            SessionTraits::new(extended)
                .with_tls(tls)
                .with_auth(auth)
                .with_smtputf8(utf8),
        )
    };
    let table = [
        (t(false, false, false, false), "SMTP"),
        (t(false, true, true, false), "SMTP"),
        (t(true, false, false, false), "ESMTP"),
        (t(true, true, false, false), "ESMTPS"),
        (t(true, false, true, false), "ESMTPA"),
        (t(true, true, true, false), "ESMTPSA"),
        (t(true, false, false, true), "UTF8SMTP"),
        (t(true, true, false, true), "UTF8SMTPS"),
        (t(true, false, true, true), "UTF8SMTPA"),
        (t(true, true, true, true), "UTF8SMTPSA"),
    ];
    for (protocol, name) in table {
        assert_eq!(protocol.as_str(), name);
        assert_eq!(protocol.to_string(), name);
        let header = received_header(&info(protocol).with_helo("client.example").with_peer(PEER));
        assert_one_safe_field(&header);
        assert!(
            text(&header).contains(&format!(" with {name}")),
            "{}",
            text(&header)
        );
        assert_eq!(
            parsed(&header).with.map(|p| p.as_str()),
            Some(name),
            "{}",
            text(&header)
        );
    }
}

#[test]
fn plain_header_shape_and_mail_parser_reading() {
    let header = received_header(
        &esmtp()
            .with_helo("client.example")
            .with_peer(PEER)
            .with_id("K7MQ2W9XBN4TRC5A")
            .with_for("<bob@example.org>".parse().unwrap()),
    );
    assert_eq!(
        text(&header),
        format!(
            "Received: from client.example ([192.0.2.1]) by mx.example.org with ESMTP\r\n \
             id K7MQ2W9XBN4TRC5A for <bob@example.org>; {DATE}\r\n"
        )
    );
    let r = parsed(&header);
    assert_eq!(r.from, Some(Host::Name("client.example".into())));
    assert_eq!(r.from_ip, Some(PEER));
    assert_eq!(r.by, Some(Host::Name("mx.example.org".into())));
    assert_eq!(r.id.as_deref(), Some("K7MQ2W9XBN4TRC5A"));
    assert_eq!(r.for_.as_deref(), Some("bob@example.org"));
    assert_eq!(r.date.map(|d| d.to_timestamp()), Some(NOW));
}

#[test]
fn tls_facts_are_recorded() {
    let protocol = TraceProtocol::new(SessionTraits::new(true).with_tls(true));
    let header = received_header(
        &info(protocol)
            .with_helo("client.example")
            .with_peer(PEER)
            .with_tls(TlsInfo::new("TLSv1.3", "TLS13_AES_256_GCM_SHA384"))
            .with_id("ABC"),
    );
    assert_one_safe_field(&header);
    let t = text(&header).replace("\r\n ", " ");
    assert!(
        t.contains("with ESMTPS (version=TLSv1.3 cipher=TLS13_AES_256_GCM_SHA384)"),
        "{t}"
    );
    let r = parsed(&header);
    assert_eq!(r.tls_version.map(|v| v.as_str()), Some("TLSv1.3"));
    assert_eq!(r.tls_cipher.as_deref(), Some("TLS13_AES_256_GCM_SHA384"));
    assert_eq!(r.by, Some(Host::Name("mx.example.org".into())));
    assert_eq!(r.id.as_deref(), Some("ABC"));

    // Hostile TLS strings cannot break out either.
    let header = received_header(&info(protocol).with_tls(TlsInfo::new("x)\r\nBcc: y", "(((")));
    assert_one_safe_field(&header);
}

#[test]
fn hostile_helo_is_contained() {
    let long = "a".repeat(500);
    for helo in [
        "evil\r\nBcc: x",
        "a)(b",
        "((((",
        "))))",
        "x; Mon, 1 Jan 2001 00:00:00 +0000",
        "\"quoted\" <angle> [bracket] back\\slash",
        "caf\u{e9}.example",
        "[x:a)(b]",
        "\0\x1b\x7f",
        "",
        long.as_str(),
    ] {
        let header = received_header(&esmtp().with_helo(helo).with_peer(PEER).with_id("ID1"));
        assert_one_safe_field(&header);
        let t = text(&header);
        assert!(
            t.replace("\r\n ", " ")
                .starts_with("Received: from [192.0.2.1] (helo="),
            "{helo:?}: {t}"
        );
        assert_eq!(t.matches(';').count(), 1, "{t}");
        assert!(t.is_ascii());
        let r = parsed(&header);
        assert_eq!(r.by, Some(Host::Name("mx.example.org".into())), "{t}");
        assert_eq!(peer_of(&r), Some(PEER), "{t}");
        assert_eq!(r.id.as_deref(), Some("ID1"), "{t}");
        assert_eq!(r.date.map(|d| d.to_timestamp()), Some(NOW), "{t}");
    }
    let t = text(&received_header(
        &esmtp().with_helo("evil\r\nBcc: x").with_peer(PEER),
    ));
    assert!(t.contains("(helo=evil??Bcc:?x)"), "{t}");
    assert!(!t.contains("\r\nBcc"));
    let t = text(&received_header(&esmtp().with_helo("a)(b").with_peer(PEER)));
    assert!(t.contains("(helo=a??b)"), "{t}");
    let t = text(&received_header(
        &esmtp().with_helo(long.as_str()).with_peer(PEER),
    ));
    assert!(
        t.contains(&format!("(helo={}...)", "a".repeat(MAX_HELO_IN_TRACE))),
        "{t}"
    );
}

#[test]
fn helo_literals_and_missing_facts() {
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
    let mapped = IpAddr::V6(Ipv4Addr::new(198, 51, 100, 7).to_ipv6_mapped());
    for (helo, peer, from) in [
        (
            Some("[192.0.2.1]"),
            Some(PEER),
            "from [192.0.2.1] ([192.0.2.1])",
        ),
        (
            Some("[IPv6:2001:db8::1]"),
            Some(v6),
            "from [IPv6:2001:db8::1] ([IPv6:2001:db8::1])",
        ),
        (
            Some("client.example"),
            Some(mapped),
            "from client.example ([198.51.100.7])",
        ),
        (Some("client.example"), None, "from client.example by"),
        (None, Some(v6), "from [IPv6:2001:db8::1] by"),
        (None, None, "from unknown by"),
        (Some("bad_name!"), None, "from unknown (helo=bad_name!) by"),
    ] {
        let mut i = esmtp();
        if let Some(helo) = helo {
            i = i.with_helo(helo);
        }
        if let Some(peer) = peer {
            i = i.with_peer(peer);
        }
        let header = received_header(&i);
        assert_one_safe_field(&header);
        assert!(
            text(&header).starts_with(&format!("Received: {from}")),
            "{}",
            text(&header)
        );
    }
}

#[test]
fn ids_are_sanitised_and_lines_stay_short() {
    let header = received_header(
        &esmtp()
            .with_helo("client.example")
            .with_peer(PEER)
            .with_id("ab c;d\r\n(e)"),
    );
    assert!(text(&header).contains(" id abcde;"), "{}", text(&header));
    let header = received_header(&esmtp().with_id(";;;"));
    assert!(!text(&header).contains(" id "), "an empty id is left out");

    let full = received_header(
        &info(TraceProtocol::new(
            SessionTraits::new(true).with_tls(true).with_auth(true),
        ))
        .with_helo("a-rather-long-client-host-name.subdomain.example.com")
        .with_peer(IpAddr::V6(Ipv6Addr::new(
            0x2001, 0xdb8, 0x1234, 0x5678, 0x9abc, 0xdef0, 0x1234, 0x5678,
        )))
        .with_tls(TlsInfo::new(
            "TLSv1.2",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        ))
        .with_id("K7MQ2W9XBN4TRC5A")
        .with_for(
            "<someone.with.a.long.name@recipient-domain.example.org>"
                .parse()
                .unwrap(),
        ),
    );
    assert_one_safe_field(&full);
    for line in text(&full).split("\r\n") {
        assert!(line.len() <= 78, "{line:?}");
    }
    let r = parsed(&full);
    assert_eq!(
        r.for_.as_deref(),
        Some("someone.with.a.long.name@recipient-domain.example.org")
    );
    assert_eq!(r.date.map(|d| d.to_timestamp()), Some(NOW));
}

#[test]
fn return_path_and_trace_block() {
    let path: ReversePath = "<alice@example.org>".parse().unwrap();
    assert_eq!(
        return_path_header(&path),
        b"Return-Path: <alice@example.org>\r\n"
    );
    assert_eq!(
        return_path_header(&ReversePath::Null),
        b"Return-Path: <>\r\n"
    );

    let received = esmtp().with_helo("client.example").with_peer(PEER);
    // Final delivery: both, Return-Path first.
    let both = trace_headers(Some(&path), Some(&received));
    assert!(both.starts_with(b"Return-Path: <alice@example.org>\r\nReceived: from client.example"));
    // A relay: Received only.
    assert_eq!(
        trace_headers(None, Some(&received)),
        received_header(&received)
    );
    // Return-Path only, and nothing.
    assert_eq!(trace_headers(Some(&path), None), return_path_header(&path));
    assert!(trace_headers(None, None).is_empty());

    // What delivery sees, parsed without copying the bytes around.
    let mut delivered = both;
    delivered.extend_from_slice(
        b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello\r\n",
    );
    let message = parse_message(&delivered).unwrap();
    assert_eq!(message.return_address(), Some("alice@example.org"));
    assert_eq!(message.received().and_then(|r| r.from_ip()), Some(PEER));
    assert_eq!(message.subject(), Some("hi"));
    assert_eq!(message.body_text(0).as_deref(), Some("Hello\r\n"));
    assert!(
        std::ptr::eq(message.raw_message().as_ptr(), delivered.as_ptr()),
        "borrowed, not copied"
    );
}

#[test]
fn for_is_a_forward_path() {
    let header = received_header(&esmtp().with_for(ForwardPath::Postmaster));
    assert!(
        text(&header).contains(" for <Postmaster>;"),
        "{}",
        text(&header)
    );
}
