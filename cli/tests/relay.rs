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

/// The largest message the smarthost takes (less than the relay's own).
const SMARTHOST_SIZE: u64 = 12_345;

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
    // The relay's own extensions, whatever the smarthost offers.
    assert!(ehlo.contains("SIZE 10240000"), "{ehlo}");
    for ext in [
        "8BITMIME",
        "SMTPUTF8",
        "DSN",
        "CHUNKING",
        "BINARYMIME",
        "PIPELINING",
    ] {
        assert!(ehlo.contains(ext), "{ext} in {ehlo}");
    }
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
fn smarthost_refusals_reach_the_client_per_recipient() {
    let smarthost = smarthost();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);

    // Each RCPT gets the smarthost's own verdict; the good ones go on.
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").0, 250);
    assert_eq!(c.cmd("RCPT TO:<ok@example.org>").0, 250);
    let (code, text) = c.cmd("RCPT TO:<bad@example.org>");
    assert_eq!(code, 550, "{text}");
    assert!(text.contains("5.1.1 no such user here"), "{text}");
    let (code, text) = c.cmd("RCPT TO:<later@example.org>");
    assert_eq!(code, 451, "{text}");
    assert!(text.contains("4.2.0"), "{text}");
    // A duplicate gets the first one's verdict without asking again.
    assert_eq!(c.cmd("RCPT TO:<bad@EXAMPLE.org>").0, 550);
    assert_eq!(c.cmd("RCPT TO:<ok2@example.org>").0, 250);
    assert_eq!(c.cmd("DATA").0, 354);
    let (code, text) = c.cmd("Subject: x\r\n\r\nHello\r\n.");
    assert_eq!(code, 250, "{text}");
    let stored = smarthost.messages();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].to, ["ok@example.org", "ok2@example.org"]);

    // Only refused recipients: nothing to send, DATA is refused by the
    // relay itself and the smarthost transaction is reset.
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").0, 250);
    assert_eq!(c.cmd("RCPT TO:<bad@example.org>").0, 550);
    assert_eq!(c.cmd("DATA").0, 554);
    assert_eq!(c.cmd("RSET").0, 250);

    // And a clean message still goes through on the same session.
    let (code, text) = c.mail("a@example.org", &["ok@example.org"], MESSAGE);
    assert_eq!(code, 250, "{text}");
    assert_eq!(smarthost.messages().len(), 2);
    assert_eq!(c.cmd("QUIT").0, 221);
}

#[test]
fn what_the_smarthost_cannot_carry_is_refused_at_mail() {
    let smarthost = smarthost();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    // Within the relay's SIZE, over the smarthost's.
    let (code, text) = c.cmd(&format!(
        "MAIL FROM:<a@example.org> SIZE={}",
        SMARTHOST_SIZE + 1
    ));
    assert_eq!(code, 552, "{text}");
    assert!(text.contains("5.3.4"), "{text}");
    // DSN: the smarthost has none, so it is refused, not dropped.
    let (code, text) = c.cmd("MAIL FROM:<a@example.org> RET=HDRS");
    assert_eq!(code, 555, "{text}");
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").0, 250);
    let (code, text) = c.cmd("RCPT TO:<b@example.org> NOTIFY=NEVER");
    assert_eq!(code, 555, "{text}");
    assert_eq!(c.cmd("RSET").0, 250);
    assert_eq!(smarthost.messages().len(), 0);
}

#[test]
fn a_refusal_at_the_end_of_data_reaches_the_client() {
    let smarthost = TestServer::builder()
        .fail(
            mailwire_test_server::Step::Data,
            554,
            "5.7.1",
            "content rejected by policy",
            Some("strict@*"),
        )
        .start();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let (code, text) = c.mail("a@example.org", &["strict@example.org"], MESSAGE);
    assert_eq!(code, 554, "{text}");
    assert!(text.contains("5.7.1 content rejected by policy"), "{text}");
    assert_eq!(smarthost.messages().len(), 0);
}

#[test]
fn nul_is_refused_for_a_smarthost_without_binarymime() {
    let smarthost = TestServer::builder()
        .options(|o| o.config_mut().extensions.binary_mime = false)
        .start();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &addr(&smarthost)]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").0, 250);
    assert_eq!(c.cmd("RCPT TO:<b@example.org>").0, 250);
    assert_eq!(c.cmd("DATA").0, 354);
    c.send("Subject: nul\r\n\r\nbefore\r\n\u{0}.\r\nafter");
    let (code, text) = c.cmd(".");
    assert_eq!(code, 554, "{text}");
    assert!(text.contains("NUL"), "{text}");
    assert_eq!(smarthost.messages().len(), 0);
    // The session goes on.
    assert_eq!(c.mail("a@example.org", &["b@example.org"], MESSAGE).0, 250);
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

    // The session's smarthost goes away: the next MAIL finds the other.
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
fn starts_without_a_reachable_smarthost_and_delivers_once_it_is_back() {
    // A free port for the smarthost that is not there yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let smarthost_addr = format!("127.0.0.1:{port}");
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &smarthost_addr]);
    wait_until("the outage on stderr", Duration::from_secs(10), || {
        relay.log().contains("no smarthost is reachable now")
    });
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(
        c.reply().0,
        220,
        "the relay serves while the smarthost is down"
    );
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let (code, text) = c.cmd("MAIL FROM:<a@example.org>");
    assert_eq!(code, 451, "{text}");
    assert!(text.contains("4.4.1"), "{text}");

    let smarthost = TestServer::builder()
        .address(smarthost_addr.parse().expect("address"))
        .start();
    let back = Instant::now();
    let mut delivered = false;
    while back.elapsed() < Duration::from_secs(2) {
        if c.mail("a@example.org", &["b@example.org"], MESSAGE).0 == 250 {
            delivered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(delivered, "delivered within 2 s of the smarthost starting");
    assert_eq!(smarthost.messages().len(), 1);
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
        &["relay", "--smarthost", "h", "--smarthost-auth", "NTLM"],
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
