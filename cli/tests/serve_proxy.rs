//! `mailwire serve` behind a load balancer: Debian's HAProxy with
//! `send-proxy` and `send-proxy-v2` in front of two instances, the PROXY
//! header from untrusted and hostile peers, and `mailwire send` speaking
//! for another address.

mod haproxy_support;
mod relay_support;
mod serve_support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use haproxy_support::{Haproxy, Proxy};
use relay_support::Smtp;
use serve_support::{MAILWIRE, Serve, header_lines, require, run_peer};

const SOURCES: [&str; 3] = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

fn message(n: usize) -> String {
    format!("From: a@example.org\r\nTo: b@example.org\r\nSubject: proxied {n}\r\n\r\nHello {n}\r\n")
}

/// The `Received` field's first line of a stored file.
fn received(text: &str) -> String {
    header_lines(text)
        .into_iter()
        .find(|l| l.starts_with("Received: "))
        .unwrap_or_else(|| panic!("no Received in {text}"))
        .to_string()
}

/// The number `n` of a stored `Subject: proxied n`.
fn subject_number(text: &str) -> usize {
    header_lines(text)
        .into_iter()
        .find_map(|l| l.strip_prefix("Subject: proxied "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no numbered subject in {text}"))
}

fn two_servers_behind_haproxy(proxy: Proxy) {
    require("haproxy");
    let trusted = ["--proxy-from", "127.0.0.1/32", "--json"];
    let a = Serve::start(&trusted);
    let b = Serve::start(&trusted);
    let haproxy = Haproxy::start(proxy, &[a.addrs[0], b.addrs[0]]);

    const COUNT: usize = 200;
    for n in 0..COUNT {
        let mut c = Smtp::connect_from(SOURCES[n % 3], haproxy.frontend);
        assert_eq!(c.reply().0, 220, "greeting of message {n}");
        assert_eq!(c.cmd("EHLO client.test").0, 250);
        let reply = c.mail("a@example.org", &["b@example.org"], &message(n));
        assert_eq!(reply.0, 250, "message {n}: {reply:?}");
        assert_eq!(c.cmd("QUIT").0, 221);
    }

    // Each message stored exactly once across the two Maildirs, its
    // Received field naming the client HAProxy passed on, not HAProxy.
    let stored: Vec<_> = a.messages().into_iter().chain(b.messages()).collect();
    assert_eq!(stored.len(), COUNT);
    assert!(
        !a.messages().is_empty() && !b.messages().is_empty(),
        "both servers served"
    );
    let mut seen = BTreeMap::new();
    for (path, text) in &stored {
        let n = subject_number(text);
        assert!(
            seen.insert(n, path.clone()).is_none(),
            "message {n} stored twice"
        );
        let line = received(text);
        assert!(
            line.contains(&format!("([{}])", SOURCES[n % 3])),
            "message {n} from {}: {line}",
            SOURCES[n % 3]
        );
    }
    assert_eq!(seen.len(), COUNT);

    // The --json lines name the real source too.
    let lines: Vec<String> = a
        .take_lines(a.messages().len())
        .into_iter()
        .chain(b.take_lines(b.messages().len()))
        .collect();
    for line in &lines {
        let record: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        let n = record["subject"]
            .as_str()
            .and_then(|s| s.strip_prefix("proxied "))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("subject in {line}"));
        let peer: SocketAddr = record["peer"]
            .as_str()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("peer in {line}"));
        assert_eq!(peer.ip().to_string(), SOURCES[n % 3], "{line}");
    }

    // The health checks (EHLO with a PROXY header, every 200 ms) all
    // passed, and no session ended in an error.
    for server in haproxy.servers() {
        assert_eq!(server.status, "UP", "{server:?}");
        assert_eq!(server.check_failures, 0, "{server:?}");
    }
    for serve in [&a, &b] {
        assert!(!serve.stderr().contains("error"), "{}", serve.stderr());
    }
}

#[test]
fn haproxy_send_proxy_v1_passes_the_real_client_on() {
    two_servers_behind_haproxy(Proxy::V1);
}

#[test]
fn haproxy_send_proxy_v2_passes_the_real_client_on() {
    two_servers_behind_haproxy(Proxy::V2);
}

#[test]
fn host_policy_and_per_address_limits_act_on_the_real_client() {
    require("haproxy");
    let serve = Serve::start(&[
        "--proxy-from",
        "127.0.0.1",
        "--deny-host",
        "127.0.0.3",
        "--max-per-ip",
        "1",
    ]);
    let haproxy = Haproxy::start(Proxy::V2, &[serve.addrs[0]]);

    // Denied by its real address, though HAProxy (127.0.0.1) is allowed.
    let mut denied = Smtp::connect_from("127.0.0.3", haproxy.frontend);
    assert_eq!(denied.reply().0, 554);

    // One session per real address: a second from .2 is refused while
    // one from .4 is not (all three come from HAProxy's 127.0.0.1).
    let mut first = Smtp::connect_from("127.0.0.2", haproxy.frontend);
    assert_eq!(first.reply().0, 220);
    let mut second = Smtp::connect_from("127.0.0.2", haproxy.frontend);
    let (code, text) = second.reply();
    assert_eq!(code, 421, "{text}");
    let mut other = Smtp::connect_from("127.0.0.4", haproxy.frontend);
    assert_eq!(other.reply().0, 220);
    assert_eq!(other.cmd("EHLO client.test").0, 250);
    assert_eq!(
        other
            .mail("a@example.org", &["b@example.org"], &message(1))
            .0,
        250
    );
    assert_eq!(first.cmd("EHLO client.test").0, 250);
    assert_eq!(
        first
            .mail("a@example.org", &["b@example.org"], &message(2))
            .0,
        250
    );
    assert_eq!(serve.messages().len(), 2);
}

#[test]
fn a_proxy_line_from_an_untrusted_peer_is_a_bad_command() {
    // Trusting 127.0.0.1 only; this client comes from 127.0.0.2.
    let serve = Serve::start(&["--proxy-from", "127.0.0.1/32"]);
    let mut c = Smtp::connect_from("127.0.0.2", serve.addrs[0]);
    assert_eq!(c.reply().0, 220, "an untrusted client is greeted at once");
    let (code, text) = c.cmd("PROXY TCP4 192.0.2.1 127.0.0.1 4242 25");
    assert!((500..600).contains(&code), "{code} {text}");
    assert_eq!(c.cmd("EHLO client.test").0, 250, "the session goes on");
    assert_eq!(
        c.mail("a@example.org", &["b@example.org"], &message(3)).0,
        250
    );
    let stored = serve.messages();
    let line = received(&stored[0].1);
    assert!(line.contains("([127.0.0.2])"), "{line}");
    assert!(!line.contains("192.0.2.1"), "{line}");

    // And with no --proxy-from at all.
    let plain = Serve::start(&[]);
    let mut c = Smtp::connect(plain.addrs[0]);
    assert_eq!(c.reply().0, 220);
    let (code, _) = c.cmd("PROXY UNKNOWN");
    assert!((500..600).contains(&code));
    assert_eq!(c.cmd("NOOP").0, 250);
}

/// What a trusted peer gets after sending `bytes`: the octets the server
/// wrote before closing (or before `limit`), and whether it closed.
fn after_sending(addr: SocketAddr, bytes: &[u8], limit: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.write_all(bytes).expect("write");
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

/// A valid v2 header from 198.51.100.7:4000 to 127.0.0.1:25.
fn v2_header() -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[
        0x21, 0x11, 0, 12, 198, 51, 100, 7, 127, 0, 0, 1, 0x0f, 0xa0, 0, 25,
    ]);
    h
}

#[test]
fn hostile_headers_from_a_trusted_peer_are_closed_and_delay_no_one() {
    let serve = Serve::start(&["--proxy-from", "127.0.0.1/32"]);
    let addr = serve.addrs[0];

    // A truncated header held open: the connection waits for the rest
    // under its own deadline, without holding anyone else up.
    let mut held = TcpStream::connect(addr).expect("connect");
    held.write_all(&v2_header()[..10]).expect("write");
    let opened = Instant::now();

    // Malformed, oversized and random headers: closed without a word.
    let mut long_v2 = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    long_v2.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("SMTP instead of a header", b"EHLO client.test\r\n".to_vec()),
        (
            "v1 without CRLF",
            [b"PROXY TCP4 ".as_slice(), &[b'1'; 200]].concat(),
        ),
        (
            "v1 with bad address",
            b"PROXY TCP4 300.1.1.1 127.0.0.1 1 25\r\n".to_vec(),
        ),
        (
            "v1 with bare LF",
            b"PROXY TCP4 192.0.2.1 127.0.0.1 1 25\n".to_vec(),
        ),
        ("v2 of 65535 octets", long_v2),
        ("v2 version 3", {
            let mut h = v2_header();
            h[12] = 0x31;
            h
        }),
        (
            "random octets",
            (0..64u32).map(|i| (i * 37 + 11) as u8).collect(),
        ),
    ];
    for (what, bytes) in &cases {
        let (got, closed) = after_sending(addr, bytes, Duration::from_secs(10));
        assert!(closed, "{what}: not closed");
        assert!(got.is_empty(), "{what}: the server wrote {got:?}");
    }

    // Meanwhile a valid header gets its greeting at once, and its session
    // is the named client's.
    let mut good = TcpStream::connect(addr).expect("connect");
    good.write_all(&v2_header()).expect("write");
    let mut c = Smtp::over(good);
    assert_eq!(c.reply().0, 220);
    assert!(
        opened.elapsed() < Duration::from_secs(4),
        "the greeting waited for the held connection"
    );
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(
        c.mail("a@example.org", &["b@example.org"], &message(4)).0,
        250
    );
    let line = received(&serve.messages()[0].1);
    assert!(line.contains("([198.51.100.7])"), "{line}");

    // The held one is closed once its deadline (5 s) passes, greeted never.
    held.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut buf = [0u8; 64];
    let n = held.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "held connection got {:?}", &buf[..n]);
    assert!(
        opened.elapsed() >= Duration::from_secs(4),
        "closed before its deadline"
    );
    assert!(serve.stderr().is_empty() || !serve.stderr().contains("panic"));
}

#[test]
fn health_checks_local_and_unknown_use_the_balancers_own_address() {
    let serve = Serve::start(&["--proxy-from", "127.0.0.1/32"]);
    for header in [
        b"PROXY UNKNOWN\r\n".to_vec(),
        b"\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00".to_vec(),
    ] {
        let mut s = TcpStream::connect(serve.addrs[0]).expect("connect");
        s.write_all(&header).expect("write");
        let mut c = Smtp::over(s);
        assert_eq!(c.reply().0, 220);
        assert_eq!(c.cmd("EHLO check.test").0, 250);
        assert_eq!(
            c.mail("a@example.org", &["b@example.org"], &message(5)).0,
            250
        );
    }
    for (_, text) in serve.messages() {
        let line = received(&text);
        assert!(line.contains("([127.0.0.1])"), "{line}");
    }
    assert_eq!(serve.messages().len(), 2);
}

fn send_with_proxy(version: &str, tls: bool) {
    let dir = serve_support::TempDir::new("proxy-pki");
    let pki = mailwire_tests::certs::TestPki::localhost();
    let (cert, key, ca) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert, &pki.server_chain_pem).expect("cert");
    std::fs::write(&key, &pki.server_key_pem).expect("key");
    std::fs::write(&ca, &pki.ca_pem).expect("ca");
    let (cert, key, ca) = (
        cert.to_str().expect("utf-8"),
        key.to_str().expect("utf-8"),
        ca.to_str().expect("utf-8"),
    );
    let serve = if tls {
        Serve::start_with(
            &[
                "--proxy-from",
                "127.0.0.1/32",
                "--listen-tls",
                "127.0.0.1:0",
                "--tls-cert",
                cert,
                "--tls-key",
                key,
            ],
            false,
        )
    } else {
        Serve::start(&["--proxy-from", "127.0.0.1/32"])
    };
    let server = match tls {
        true => format!("localhost:{}", serve.tls_addrs[0].port()),
        false => format!("127.0.0.1:{}", serve.port()),
    };
    let mut args = vec![
        "send",
        "--server",
        &server,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--subject",
        "speaking for another",
        "--proxy-version",
        version,
        "--proxy-source",
        "127.0.0.9",
        "--proxy-source-port",
        "4444",
    ];
    if tls {
        args.extend(["--implicit-tls", "--ca-file", ca]);
    }
    let ran = run_peer(MAILWIRE, &args, None, Duration::from_secs(30));
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let stored = serve.messages();
    assert_eq!(stored.len(), 1);
    let line = received(&stored[0].1);
    assert!(line.contains("([127.0.0.9])"), "{line}");
}

#[test]
fn send_proxy_version_2_names_the_source_it_was_given() {
    send_with_proxy("2", false);
}

#[test]
fn send_proxy_version_1_before_implicit_tls() {
    send_with_proxy("1", true);
}

#[test]
fn relay_behind_haproxy_judges_and_traces_the_real_client() {
    require("haproxy");
    let smarthost = Serve::start(&[]);
    let upstream = format!("127.0.0.1:{}", smarthost.port());
    let relay = relay_support::Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &upstream,
        "--proxy-from",
        "127.0.0.1/32",
        "--deny-host",
        "127.0.0.3",
    ]);
    let haproxy = Haproxy::start(Proxy::V2, &[relay.addr]);

    let mut denied = Smtp::connect_from("127.0.0.3", haproxy.frontend);
    assert_eq!(denied.reply().0, 554, "{}", relay.log());

    let mut c = Smtp::connect_from("127.0.0.2", haproxy.frontend);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(
        c.mail("a@example.org", &["b@example.org"], &message(6)).0,
        250
    );
    let stored = smarthost.messages();
    assert_eq!(stored.len(), 1);
    // The smarthost's own Received names the relay; the relay's, below
    // it, names the client HAProxy passed on.
    let traces: Vec<&str> = header_lines(&stored[0].1)
        .into_iter()
        .filter(|l| l.starts_with("Received: "))
        .collect();
    assert_eq!(traces.len(), 2, "{}", stored[0].1);
    assert!(traces[0].contains("([127.0.0.1])"), "{}", traces[0]);
    assert!(traces[1].contains("([127.0.0.2])"), "{}", traces[1]);
}
