//! `mailwire relay` as a black box, driven by a scripted SMTP client for
//! exact replies, with mailwire's test server (`mailwire-test-server`,
//! in this process, recording each envelope and message) as the
//! smarthost: duplicate recipients, refusals, outages and failover, who
//! may relay, loops, start-up checks, signals. (relay_interop.rs puts
//! third-party smarthosts behind it.)

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwire_test_server::TestServer;

mod relay_support;

use relay_support::*;

/// The largest message the smarthost takes: the relay mirrors it.
const SMARTHOST_SIZE: u64 = 12_345_678;

/// A smarthost: refuses the recipients `bad*` (550 5.1.1) and `later*`
/// (451 4.2.0); offers SIZE [`SMARTHOST_SIZE`], 8BITMIME and SMTPUTF8,
/// but neither DSN, nor TLS, nor AUTH.
fn smarthost() -> TestServer {
    TestServer::builder()
        .domain("smarthost.test")
        .refuse_recipient("bad*", 550, "5.1.1", "no such user here")
        .refuse_recipient("later*", 451, "4.2.0", "try later")
        .max_message_size(SMARTHOST_SIZE)
        .options(|o| o.config_mut().extensions.dsn = false)
        .start()
}

/// `127.0.0.1:PORT` of `smarthost`.
fn addr(smarthost: &TestServer) -> String {
    format!("127.0.0.1:{}", smarthost.port())
}

#[test]
fn forwards_with_duplicate_recipients_removed_and_a_received_header() {
    let smarthost = smarthost();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    let (code, ehlo) = c.cmd("EHLO client.test");
    assert_eq!(code, 250);
    // Mirrored from the smarthost: SIZE, 8BITMIME, SMTPUTF8; it has no
    // DSN, so neither has the relay.
    assert!(ehlo.contains(&format!("SIZE {SMARTHOST_SIZE}")), "{ehlo}");
    assert!(ehlo.contains("8BITMIME"), "{ehlo}");
    assert!(ehlo.contains("SMTPUTF8"), "{ehlo}");
    assert!(!ehlo.contains("DSN"), "{ehlo}");
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    let (code, text) = c.mail(
        "a@example.org",
        &[
            "b@example.org",
            "c@example.org",
            "b@example.org",
            "b@EXAMPLE.ORG",
            "B@example.org",
        ],
        MESSAGE,
    );
    assert_eq!(code, 250, "{text}");
    let stored = smarthost.messages();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].from, "a@example.org");
    assert_eq!(
        stored[0].to,
        ["b@example.org", "c@example.org", "B@example.org"],
        "each recipient once (domains compared without case, local parts with)"
    );
    let text = stored[0].text();
    assert!(text.starts_with("Received: from client.test"), "{text}");
    assert!(!text.contains("Return-Path"), "{text}");
    assert!(text.ends_with("\r\n\r\nHello\r\n"), "{text:?}");
    assert_eq!(c.cmd("QUIT").0, 221);
}

#[test]
fn smarthost_refusals_reach_the_client() {
    let smarthost = smarthost();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);

    // One recipient refused 5xx by the smarthost: all or nothing — the
    // whole message is refused with that reply, naming the recipient;
    // nobody got it.
    let (code, text) = c.mail(
        "a@example.org",
        &["ok@example.org", "bad@example.org"],
        MESSAGE,
    );
    assert_eq!(code, 550, "{text}");
    assert!(text.contains("5.1.1"), "{text}");
    assert!(text.contains("<bad@example.org>"), "{text}");
    assert_eq!(smarthost.messages().len(), 0);

    // A transient refusal wins over a permanent one: 4xx, retry later.
    let (code, text) = c.mail(
        "a@example.org",
        &["ok@example.org", "bad@example.org", "later@example.org"],
        MESSAGE,
    );
    assert_eq!(code, 451, "{text}");
    assert!(
        text.contains("4.2.0") && text.contains("<later@example.org>"),
        "{text}"
    );
    assert_eq!(smarthost.messages().len(), 0);

    // And a clean message still goes through on the same session.
    let (code, text) = c.mail("a@example.org", &["ok@example.org"], MESSAGE);
    assert_eq!(code, 250, "{text}");
    assert_eq!(smarthost.messages().len(), 1);
}

#[test]
fn an_outage_is_4xx_and_failover_uses_the_next_smarthost() {
    let first = smarthost();
    let second = smarthost();
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &addr(&first),
        "--smarthost",
        &addr(&second),
    ]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(c.mail("a@example.org", &["x@example.org"], MESSAGE).0, 250);
    assert_eq!((first.messages().len(), second.messages().len()), (1, 0));

    first.stop();
    assert_eq!(c.mail("a@example.org", &["y@example.org"], MESSAGE).0, 250);
    let stored = second.messages();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (stored[0].from.as_str(), stored[0].to.as_slice()),
        ("a@example.org", &["y@example.org".to_owned()][..])
    );

    drop(second);
    let (code, text) = c.mail("a@example.org", &["z@example.org"], MESSAGE);
    assert_eq!(code, 451, "an outage is transient: {text}");
    assert!(text.contains("4.4.1"), "{text}");
}

#[test]
fn a_client_from_a_non_allowed_address_is_refused() {
    let smarthost = smarthost();
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--allow-host",
        "127.0.0.1/32",
        "--smarthost",
        &addr(&smarthost),
    ]);
    // 127.0.0.2 is loopback, but not in 127.0.0.1/32.
    let mut c = Smtp::connect_from("127.0.0.2", relay.addr);
    let (code, text) = c.reply();
    assert_eq!(code, 554, "{text}");
    assert!(text.contains("127.0.0.2"), "{text}");
    // Nothing gets through after the refusal, postmaster included.
    let (code, _) = c.cmd("EHLO client.test");
    assert!(code >= 500, "{code}");
    let (code, _) = c.cmd("MAIL FROM:<a@example.org>");
    assert!(code >= 500, "{code}");
    drop(c);

    // The allowed address relays.
    let mut ok = Smtp::connect_from("127.0.0.1", relay.addr);
    assert_eq!(ok.reply().0, 220);
    assert_eq!(ok.cmd("EHLO client.test").0, 250);
    assert_eq!(ok.mail("a@example.org", &["b@example.org"], MESSAGE).0, 250);
    assert_eq!(smarthost.messages().len(), 1);
}

#[test]
fn with_auth_a_non_allowed_client_must_authenticate_postmaster_too() {
    let smarthost = smarthost();
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--allow-host",
        "127.0.0.1/32",
        "--auth",
        "alice:wonderland",
        "--smarthost",
        &addr(&smarthost),
    ]);
    let mut c = Smtp::connect_from("127.0.0.2", relay.addr);
    assert_eq!(c.reply().0, 220);
    let (code, ehlo) = c.cmd("EHLO client.test");
    assert_eq!(code, 250);
    assert!(ehlo.contains("AUTH"), "{ehlo}");
    let (code, text) = c.cmd("MAIL FROM:<a@example.org>");
    assert_eq!(code, 530, "{text}");
    let (code, _) = c.cmd("RCPT TO:<postmaster>");
    assert!(code >= 500, "{code}");
    // A wrong password is refused; the right one relays.
    // AUTH PLAIN \0alice\0wrong and \0alice\0wonderland, base64.
    let (code, _) = c.cmd("AUTH PLAIN AGFsaWNlAHdyb25n");
    assert_eq!(code, 535);
    assert_eq!(smarthost.messages().len(), 0);
    let (code, text) = c.cmd("AUTH PLAIN AGFsaWNlAHdvbmRlcmxhbmQ=");
    assert_eq!(code, 235, "{text}");
    assert_eq!(c.mail("a@example.org", &["postmaster"], MESSAGE).0, 250);
    let stored = smarthost.messages();
    assert_eq!(stored[0].from, "a@example.org");
    assert_eq!(stored[0].to, ["Postmaster"]);
}

#[test]
fn refuses_to_start_as_an_open_relay() {
    // The smarthost does not exist: the refusal comes before any probe
    // and before binding.
    let output = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args([
            "relay",
            "--listen",
            "0.0.0.0:0",
            "--smarthost",
            "127.0.0.1:1",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("mailwire");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{:?}", output.stdout);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("open relay"), "{err}");
    assert!(err.contains("--allow-host"), "{err}");
}

#[test]
fn refuses_to_start_without_a_reachable_smarthost() {
    let output = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args([
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--smarthost",
            "127.0.0.1:1",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("mailwire");
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("no smarthost is reachable"), "{err}");
}

#[test]
fn usage_errors_exit_1() {
    for args in [
        &[
            "relay",
            "--smarthost",
            "127.0.0.1:1",
            "--allow-host",
            "10.0.0.0/33",
        ][..],
        &["relay", "--smarthost", "bad\nhost"],
        &["relay", "--smarthost", "h:0"],
        &["relay", "--smarthost", "h", "--auth", "nocolon"],
        &[
            "relay",
            "--smarthost",
            "h",
            "--tls",
            "disabled",
            "--user",
            "u",
            "--password",
            "p",
        ],
        &[
            "relay",
            "--smarthost",
            "h",
            "--tls",
            "disabled",
            "--implicit-tls",
        ],
        &["relay", "--smarthost", "h", "--require-auth"],
        &["relay"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_mailwire"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("mailwire");
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_mail_loop_is_refused_554_5_4_6() {
    let smarthost = smarthost();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let with = |n: usize| {
        let mut m = String::new();
        for i in 0..n {
            m.push_str(&format!(
                "Received: from hop{i}.example by hop{}.example; Sun, 22 Nov 2026 10:00:00 +0000\r\n",
                i + 1
            ));
        }
        m.push_str(MESSAGE);
        m
    };
    // 29 + the relay's own = 30: still fine.
    let (code, text) = c.mail("a@example.org", &["b@example.org"], &with(29));
    assert_eq!(code, 250, "{text}");
    // 30 + the relay's own = 31: a loop.
    let (code, text) = c.mail("a@example.org", &["b@example.org"], &with(30));
    assert_eq!(code, 554, "{text}");
    assert!(text.contains("5.4.6"), "{text}");
    assert_eq!(smarthost.messages().len(), 1);
}

#[test]
fn help_shows_examples() {
    let output = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["relay", "--help"])
        .output()
        .expect("mailwire");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for needle in ["--smarthost", "--allow-host", "--auth", "Examples:", "451"] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[test]
fn sigterm_stops_gracefully() {
    let smarthost = smarthost();
    let mut relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let pid = relay.process.0.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = relay.process.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the relay did not stop");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(relay.log().contains("stopping"), "{}", relay.log());
    assert!(TcpStream::connect(relay.addr).is_err(), "still listening");
}

#[test]
fn smtputf8_and_8bit_are_passed_through() {
    let smarthost = smarthost();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(
        c.cmd("MAIL FROM:<jürgen@example.org> SMTPUTF8 BODY=8BITMIME")
            .0,
        250
    );
    assert_eq!(c.cmd("RCPT TO:<zoë@example.org>").0, 250);
    assert_eq!(c.cmd("DATA").0, 354);
    let (code, text) = c.cmd("Subject: grüße\r\n\r\nÄpfel\r\n.");
    assert_eq!(code, 250, "{text}");
    let stored = smarthost.messages();
    assert_eq!(stored[0].from, "jürgen@example.org");
    assert_eq!(stored[0].to, ["zoë@example.org"]);
    let message = stored[0].text();
    assert!(
        message.contains("Subject: grüße\r\n\r\nÄpfel\r\n"),
        "{message:?}"
    );
}

#[test]
fn strict_and_the_error_limit_are_options() {
    let smarthost = Smarthost::start();
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &smarthost.addr(),
        "--strict",
        "--max-errors",
        "2",
        "--max-refusals",
        "5",
    ]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    // --strict: a bare LF, a bare CR or a NUL refuses the message.
    for body in ["bare\nLF", "bare\rCR", "a \0 NUL"] {
        let message = format!("Subject: strict\r\n\r\n{body}\r\n");
        let (code, text) = c.mail("a@example.org", &["b@example.org"], &message);
        assert_eq!(code, 550, "{body:?}: {text}");
    }
    assert_eq!(smarthost.count(), 0, "nothing was forwarded");
    // --max-errors 2: the second protocol error closes the session.
    assert_eq!(c.cmd("XYZZY").0, 500);
    assert_eq!(c.cmd("XYZZY").0, 500);
    let (code, text) = c.reply();
    assert_eq!(
        (code, text.as_str()),
        (421, "4.7.0 Too many errors, closing connection\n")
    );
}
