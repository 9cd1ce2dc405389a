//! `mailwire relay` between third-party peers: Postfix smtp-source as the
//! client, aiosmtpd and Postfix smtp-sink as smarthosts (the smarthost
//! stopped mid-run; STARTTLS and AUTH towards it; DSN passed through).

use std::io::Read;

use mailwire_tests::certs::TestPki;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod relay_support;

use relay_support::*;

#[test]
fn smarthost_stopped_mid_run_loses_nothing() {
    require(
        &["test", "-x", "/usr/sbin/smtp-source"],
        "Postfix smtp-source",
    );
    const TOTAL: usize = 300;
    let mut smarthost = Smarthost::start();
    let relay = Relay::start(&["--listen", "127.0.0.1:0", "--smarthost", &smarthost.addr()]);
    let dir = TempDir::new("source");
    let out = dir.0.join("out");
    let child = Command::new("/usr/sbin/smtp-source")
        .args(["-A", "-v", "-d", "-s", "4", "-m", &TOTAL.to_string()])
        .args(["-f", "sender@example.org", "-t", "rcpt@example.org"])
        .arg(relay.addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&out).expect("out"))
        .spawn()
        .expect("smtp-source");
    let mut source = Guard(child);
    // Let some messages through, then take the smarthost away.
    wait_until("the first messages", Duration::from_secs(60), || {
        smarthost.count() >= 40
    });
    smarthost.stop();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if source.0.try_wait().expect("wait").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "smtp-source did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut log = String::new();
    std::fs::File::open(&out)
        .expect("out")
        .read_to_string(&mut log)
        .expect("read");
    // Lines are "PROGRAM: <<< reply" and "PROGRAM: ." (PROGRAM as run).
    let said: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split_once("smtp-source: ").map(|(_, rest)| rest))
        .collect();
    let replies: Vec<&str> = said.iter().filter_map(|l| l.strip_prefix("<<< ")).collect();
    // Each message starts with MAIL; once the smarthost is gone it ends
    // there, with the relay's 451 (no DATA is sent).
    let mails = said.iter().filter(|l| l.starts_with("MAIL FROM:")).count();
    let accepted = replies
        .iter()
        .filter(|r| r.starts_with("250") && r.contains("accepted"))
        .count();
    let transient = replies.iter().filter(|r| r.starts_with('4')).count();
    let permanent: Vec<&&str> = replies.iter().filter(|r| r.starts_with('5')).collect();
    let stored = smarthost.count();
    eprintln!("tried {mails}, 250 {accepted}, 4xx {transient}, stored {stored}");
    assert_eq!(mails, TOTAL, "every message was attempted");
    assert!(
        permanent.is_empty(),
        "an outage is never 5xx: {permanent:?}"
    );
    assert_eq!(
        accepted + transient,
        mails,
        "every message answered 250 or 4xx"
    );
    assert!(
        accepted >= 40 && transient > 0,
        "the outage happened mid-run"
    );
    // No 250 without delivery. (A message the smarthost stored just as it
    // was killed, before its reply, is answered 4xx — a possible duplicate
    // on retry, never a loss; so `stored` may exceed `accepted` by the few
    // in flight at the kill.)
    assert!(
        stored >= accepted,
        "250 without delivery: {stored} < {accepted}"
    );
    assert!(
        stored <= accepted + 4,
        "{stored} stored, {accepted} accepted"
    );
    assert!(stored + transient >= TOTAL);
    assert!(relay.log().contains("relayed: 250"));
}

#[test]
fn smarthost_with_starttls_and_auth() {
    let pki = TestPki::localhost();
    let smarthost = Smarthost::start_auth(&pki);
    let dir = TempDir::new("ca");
    let ca = dir.0.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).expect("ca");
    let ca = ca.to_string_lossy().into_owned();
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &smarthost.addr(),
        "--ca-file",
        &ca,
        "--user",
        "user",
        "--password",
        "secret",
    ]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let (code, text) = c.mail("a@example.org", &["b@example.org"], MESSAGE);
    assert_eq!(code, 250, "{text}");
    let info = std::fs::read_to_string(smarthost.mail.join("1.info")).expect("info");
    assert_eq!(info.trim(), "auth=user tls=True");

    // Credentials go only over verified TLS: without the CA, the
    // certificate does not verify; the relay starts, says so, and answers
    // 4xx (nothing sent, no password given away).
    let unverified = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &smarthost.addr(),
        "--user",
        "user",
        "--password",
        "secret",
    ]);
    wait_until("the outage on stderr", Duration::from_secs(20), || {
        unverified.log().contains("no smarthost is reachable now")
    });
    let mut c = Smtp::connect(unverified.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let (code, text) = c.cmd("MAIL FROM:<a@example.org>");
    assert_eq!(code, 451, "{text}");
    assert!(text.contains("4.4.1"), "{text}");
    assert_eq!(smarthost.count(), 1);

    // A wrong password at the smarthost: the same.
    let wrong = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &smarthost.addr(),
        "--ca-file",
        &ca,
        "--user",
        "user",
        "--password",
        "wrong",
    ]);
    let mut c = Smtp::connect(wrong.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    assert_eq!(c.cmd("MAIL FROM:<a@example.org>").0, 451);
    assert_eq!(smarthost.count(), 1);
}

#[test]
fn smarthost_auth_chooses_the_mechanism() {
    // aiosmtpd offers PLAIN and LOGIN: asking for CRAM-MD5 only finds no
    // mechanism in common (4xx, nothing sent); asking for LOGIN works.
    let pki = TestPki::localhost();
    let smarthost = Smarthost::start_auth(&pki);
    let dir = TempDir::new("ca");
    let ca = dir.0.join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).expect("ca");
    let ca = ca.to_string_lossy().into_owned();
    let relay_with = |mechanism: &str| {
        Relay::start(&[
            "--listen",
            "127.0.0.1:0",
            "--smarthost",
            &smarthost.addr(),
            "--ca-file",
            &ca,
            "--user",
            "user",
            "--password",
            "secret",
            "--smarthost-auth",
            mechanism,
        ])
    };
    let cram = relay_with("CRAM-MD5");
    let mut c = Smtp::connect(cram.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let (code, text) = c.cmd("MAIL FROM:<a@example.org>");
    assert_eq!(code, 451, "{text}");
    assert_eq!(smarthost.count(), 0);

    let login = relay_with("login");
    let mut c = Smtp::connect(login.addr);
    assert_eq!(c.reply().0, 220);
    assert_eq!(c.cmd("EHLO client.test").0, 250);
    let (code, text) = c.mail("a@example.org", &["b@example.org"], MESSAGE);
    assert_eq!(code, 250, "{text}");
    assert_eq!(smarthost.count(), 1);
}

#[test]
fn dsn_is_passed_through_to_smtp_sink() {
    let sink = Sink::start();
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &format!("127.0.0.1:{}", sink.port),
        "--tls",
        "disabled",
    ]);
    let mut c = Smtp::connect(relay.addr);
    assert_eq!(c.reply().0, 220);
    let (code, ehlo) = c.cmd("EHLO client.test");
    assert_eq!(code, 250);
    // The relay's own extensions; smtp-sink offers DSN, so DSN passes.
    assert!(ehlo.contains("DSN") && ehlo.contains("8BITMIME"), "{ehlo}");
    assert_eq!(
        c.cmd("MAIL FROM:<a@example.org> RET=HDRS ENVID=env42").0,
        250
    );
    for rcpt in [
        "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.org",
        "RCPT TO:<c@example.org>",
        "RCPT TO:<b@example.org> NOTIFY=NEVER",
    ] {
        assert_eq!(c.cmd(rcpt).0, 250, "{rcpt}");
    }
    assert_eq!(c.cmd("DATA").0, 354);
    let (code, text) = c.cmd(&format!("{MESSAGE}."));
    assert_eq!(code, 250, "{text}");
    wait_until("the dump", Duration::from_secs(10), || {
        !sink.dumps().is_empty()
    });
    let dumps = sink.dumps();
    assert_eq!(dumps.len(), 1);
    let dump = &dumps[0];
    let mail: Vec<&str> = dump
        .lines()
        .filter_map(|l| l.strip_prefix("X-Mail-Args: "))
        .collect();
    let rcpts: Vec<&str> = dump
        .lines()
        .filter_map(|l| l.strip_prefix("X-Rcpt-Args: "))
        .collect();
    assert_eq!(mail.len(), 1, "{dump}");
    assert!(mail[0].starts_with("<a@example.org>"), "{dump}");
    assert!(
        mail[0].contains("RET=HDRS") && mail[0].contains("ENVID=env42"),
        "{dump}"
    );
    assert_eq!(rcpts.len(), 2, "b once, c once: {dump}");
    assert!(rcpts[0].starts_with("<b@example.org>"), "{dump}");
    assert!(rcpts[0].contains("NOTIFY=SUCCESS,FAILURE"), "{dump}");
    assert!(rcpts[0].contains("ORCPT=rfc822;b@example.org"), "{dump}");
    assert_eq!(rcpts[1], "<c@example.org>", "{dump}");
}

#[test]
fn smtp_source_through_the_relay_to_smtp_sink() {
    require(
        &["test", "-x", "/usr/sbin/smtp-source"],
        "Postfix smtp-source",
    );
    const TOTAL: usize = 200;
    let sink = Sink::start();
    let relay = Relay::start(&[
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &format!("127.0.0.1:{}", sink.port),
        "--tls",
        "disabled",
    ]);
    let mut source = Guard(
        Command::new("/usr/sbin/smtp-source")
            .args(["-d", "-s", "5", "-m", &TOTAL.to_string(), "-r", "2"])
            .args(["-f", "sender@example.org", "-t", "rcpt@example.org"])
            .arg(relay.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-source"),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = source.0.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "smtp-source did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    // smtp-source exits non-zero on any refusal (no -A).
    assert!(status.success(), "{status:?}");
    wait_until("every dump", Duration::from_secs(10), || {
        sink.dumps().len() >= TOTAL
    });
    let dumps = sink.dumps();
    assert_eq!(dumps.len(), TOTAL);
    for dump in &dumps {
        assert_eq!(
            dump.lines()
                .filter(|l| l.starts_with("X-Rcpt-Args: "))
                .count(),
            2,
            "{dump}"
        );
        assert!(dump.contains("Received: from "), "{dump}");
    }
}
