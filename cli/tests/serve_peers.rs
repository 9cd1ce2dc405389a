//! `mailwire serve` with other clients: Python smtplib, tcllib
//! `smtp::sendmessage`, msmtp and `openssl s_client`.

mod serve_support;

use std::time::Duration;

use serve_support::{Serve, assert_trace, run_peer};

const LIMIT: Duration = Duration::from_secs(60);

const PYTHON: &str = r#"
import json, smtplib, ssl, sys
from email.message import EmailMessage
port, mode = int(sys.argv[1]), sys.argv[2]
msg = EmailMessage()
msg["From"] = "alice@example.org"
msg["To"] = "bob@example.org, spam@spam.example"
msg["Cc"] = "carol@example.org"
msg["Subject"] = "from python"
msg.set_content("Hello from smtplib\n")
with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
    if mode in ("starttls", "auth"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s.starttls(context=ctx)
    if mode == "auth":
        s.login("alice", "pw")
    if mode == "utf8":
        body = "From: jörg@bücher.example\r\nTo: ñandú@example.org\r\nSubject: Grüße\r\n\r\nHallo\r\n"
        refused = s.sendmail("jörg@bücher.example", ["ñandú@example.org"], body.encode("utf-8"),
                             mail_options=["SMTPUTF8"])
    else:
        refused = s.send_message(msg, to_addrs=["bob@example.org", "spam@spam.example",
                                                "carol@example.org", "hidden@example.org"])
print(json.dumps({k: [v[0], v[1].decode()] for k, v in refused.items()}))
"#;

fn python(port: u16, mode: &str) -> serde_json::Value {
    let port = port.to_string();
    let ran = run_peer("python3", &["-c", PYTHON, &port, mode], None, LIMIT);
    assert_eq!(ran.code(), 0, "{}", ran.output);
    serde_json::from_str(ran.output.lines().next().unwrap_or_default()).expect("JSON from python")
}

#[test]
fn python_smtplib_several_recipients_one_refused() {
    let serve = Serve::start(&["--reject-recipient", "*@spam.example"]);
    let refused = python(serve.port(), "plain");
    assert_eq!(refused["spam@spam.example"][0], 550);
    assert_eq!(refused.as_object().map(|o| o.len()), Some(1));
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert_trace(
        &messages[0].1,
        "alice@example.org",
        &["bob@example.org", "carol@example.org", "hidden@example.org"],
    );
    assert!(messages[0].1.contains("\r\nSubject: from python\r\n"));
}

#[test]
fn python_smtplib_smtputf8() {
    let serve = Serve::start(&["--json"]);
    let refused = python(serve.port(), "utf8");
    assert_eq!(refused, serde_json::json!({}));
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert_trace(
        &messages[0].1,
        "jörg@bücher.example",
        &["ñandú@example.org"],
    );
    assert!(messages[0].1.contains("with UTF8SMTP"), "{}", messages[0].1);
    let value: serde_json::Value =
        serde_json::from_str(&serve.take_lines(1).remove(0)).expect("JSON");
    assert_eq!(value["from"], "jörg@bücher.example");
    assert_eq!(value["subject"], "Grüße");
}

#[test]
fn python_smtplib_starttls_and_auth() {
    let serve = Serve::start(&["--tls-self-signed", "--auth", "alice:pw", "--require-auth"]);
    let refused = python(serve.port(), "auth");
    assert_eq!(refused, serde_json::json!({}));
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].1.contains("with ESMTPSA"), "{}", messages[0].1);
}

const TCL: &str = r#"
package require smtp
package require mime
lassign $argv port usetls
set tok [mime::initialize -canonical text/plain -string "Hello from tcllib\n"]
mime::setheader $tok From alice@example.org
mime::setheader $tok To bob@example.org
mime::setheader $tok Subject "from tcl"
set r [smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -usetls $usetls \
    -originator alice@example.org -recipients "bob@example.org,carol@example.org"]
puts "result: $r"
"#;

#[test]
fn tcllib_sendmessage_with_and_without_tls() {
    let serve = Serve::start(&["--tls-self-signed"]);
    let port = serve.port().to_string();
    let script = serve_support::TempDir::new("tcl");
    let path = script.join("send.tcl");
    std::fs::write(&path, TCL).expect("write script");
    let path = path.display().to_string();
    let before = serve.messages().len();
    for usetls in ["0", "1"] {
        let ran = run_peer("tclsh", &[&path, &port, usetls], None, LIMIT);
        assert_eq!(ran.code(), 0, "{}", ran.output);
        assert!(
            ran.output.contains("result: \n") || ran.output.trim_end().ends_with("result:"),
            "{}",
            ran.output
        );
    }
    let messages = serve.messages();
    assert_eq!(messages.len(), before + 2);
    let texts: Vec<&String> = messages.iter().map(|(_, t)| t).collect();
    for text in &texts {
        assert_trace(
            text,
            "alice@example.org",
            &["bob@example.org", "carol@example.org"],
        );
        assert!(text.contains("\r\nSubject: from tcl\r\n"), "{text}");
    }
    assert!(texts.iter().any(|t| t.contains("with ESMTPS")));
    assert!(texts.iter().any(|t| t.contains("with ESMTP ")));
}

const MESSAGE: &[u8] =
    b"From: alice@example.org\nTo: bob@example.org\nSubject: from msmtp\n\nHello\n";

fn msmtp(port: u16, extra: &[&str], recipients: &[&str]) -> serve_support::Ran {
    let port = format!("--port={port}");
    let mut args = vec![
        "--file=/dev/null",
        "--host=127.0.0.1",
        &port,
        "--from=alice@example.org",
        "--domain=client.example",
    ];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(recipients);
    run_peer("msmtp", &args, Some(MESSAGE), LIMIT)
}

#[test]
fn msmtp_plain_starttls_auth_and_refusal() {
    let serve = Serve::start(&[
        "--tls-self-signed",
        "--auth",
        "alice:pw",
        "--reject-recipient",
        "*@spam.example",
    ]);
    let ran = msmtp(
        serve.port(),
        &["--auth=off", "--tls=off"],
        &["bob@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let ran = msmtp(
        serve.port(),
        &[
            "--tls=on",
            "--tls-starttls=on",
            "--tls-certcheck=off",
            "--auth=plain",
            "--user=alice",
            "--passwordeval=echo pw",
        ],
        &["bob@example.org", "carol@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    // msmtp fails the whole message if one recipient is refused.
    let ran = msmtp(
        serve.port(),
        &["--auth=off", "--tls=off"],
        &["bob@example.org", "x@spam.example"],
    );
    assert_ne!(ran.code(), 0, "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 2);
    let texts: Vec<&String> = messages.iter().map(|(_, t)| t).collect();
    assert!(texts.iter().any(|t| t.starts_with(
        "Return-Path: <alice@example.org>\r\nX-Envelope-To: <bob@example.org>\r\nReceived: "
    )));
    assert!(texts.iter().any(|t| t.starts_with(
        "Return-Path: <alice@example.org>\r\nX-Envelope-To: <bob@example.org>\r\nX-Envelope-To: <carol@example.org>\r\nReceived: "
    ) && t.contains("with ESMTPSA")));
    for text in texts {
        assert!(
            text.contains("\r\nSubject: from msmtp\r\n"),
            "bare LF became CRLF: {text}"
        );
    }
}

#[test]
fn openssl_s_client_starttls_and_implicit_tls_probe() {
    let serve = Serve::start(&[
        "--tls-self-signed",
        "--listen-tls",
        "127.0.0.1:0",
        "--hostname",
        "catcher.example",
    ]);
    let connect = format!("127.0.0.1:{}", serve.port());
    let ran = run_peer(
        "openssl",
        &[
            "s_client",
            "-starttls",
            "smtp",
            "-connect",
            &connect,
            "-brief",
            "-crlf",
            "-ign_eof",
        ],
        Some(b"EHLO probe.example\nQUIT\n"),
        LIMIT,
    );
    assert!(
        ran.output.contains("CONNECTION ESTABLISHED"),
        "{}",
        ran.output
    );
    assert!(
        ran.output.contains("Protocol version: TLSv1.3"),
        "{}",
        ran.output
    );
    assert!(ran.output.contains("250-catcher.example"), "{}", ran.output);
    let after = ran
        .output
        .split("Hello probe.example")
        .nth(1)
        .and_then(|rest| rest.split("221 2.0.0").next())
        .unwrap_or_default();
    assert!(after.contains("250 ENHANCEDSTATUSCODES"), "{}", ran.output);
    assert!(
        !after.contains("STARTTLS"),
        "no STARTTLS after TLS: {}",
        ran.output
    );
    assert!(ran.output.contains("221 2.0.0"), "{}", ran.output);

    let connect = format!("127.0.0.1:{}", serve.tls_addrs[0].port());
    let ran = run_peer(
        "openssl",
        &[
            "s_client", "-connect", &connect, "-brief", "-crlf", "-ign_eof",
        ],
        Some(b"QUIT\n"),
        LIMIT,
    );
    assert!(
        ran.output.contains("CONNECTION ESTABLISHED"),
        "{}",
        ran.output
    );
    assert!(
        ran.output.contains("220 catcher.example ESMTP"),
        "{}",
        ran.output
    );
    assert!(ran.output.contains("221 "), "{}", ran.output);
}

const PYTHON_BIG: &str = r#"
import smtplib, sys
port = int(sys.argv[1])
lines = "".join("%06d %s\r\n" % (i, "y" * 70) for i in range(40000))
body = "Subject: big one\r\n\r\n" + lines
with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
    s.sendmail("a@example.org", ["b@example.org"], body)
print(len(body))
"#;

#[test]
fn a_large_message_is_stored_whole() {
    let serve = Serve::start(&["--max-size", "0", "--json"]);
    let port = serve.port().to_string();
    let ran = run_peer("python3", &["-c", PYTHON_BIG, &port], None, LIMIT);
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let sent: usize = ran.output.trim().parse().expect("length");
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    let text = &messages[0].1;
    let start = text.find("Subject: big one\r\n").expect("message");
    assert_eq!(text.len() - start, sent, "stored whole");
    for i in [0, 1, 19_999, 39_999] {
        let line = format!("\r\n{i:06} {}\r\n", "y".repeat(70));
        assert!(text.contains(&line), "line {i}");
    }
    let value: serde_json::Value =
        serde_json::from_str(&serve.take_lines(1).remove(0)).expect("JSON");
    assert_eq!(value["size"].as_u64(), Some(sent as u64));
}

#[test]
fn bdat_chunks_are_stored() {
    use std::io::{BufRead, BufReader, Write};
    let serve = Serve::start(&[]);
    let stream = std::net::TcpStream::connect(serve.addrs[0]).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let reply = |reader: &mut BufReader<std::net::TcpStream>| {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("reply");
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    };
    assert!(reply(&mut reader).starts_with("220"));
    let first = b"Subject: chunked\r\n\r\n";
    let second = b"one\r\ntwo\r\n";
    let steps: Vec<(Vec<u8>, &str)> = vec![
        (b"EHLO client.example\r\n".to_vec(), "250"),
        (b"MAIL FROM:<a@example.org>\r\n".to_vec(), "250"),
        (b"RCPT TO:<b@example.org>\r\n".to_vec(), "250"),
        (
            [format!("BDAT {}\r\n", first.len()).as_bytes(), first].concat(),
            "250",
        ),
        (
            [format!("BDAT {} LAST\r\n", second.len()).as_bytes(), second].concat(),
            "250",
        ),
        (b"QUIT\r\n".to_vec(), "221"),
    ];
    for (command, code) in steps {
        writer.write_all(&command).expect("write");
        let r = reply(&mut reader);
        assert!(r.starts_with(code), "{r}");
    }
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert_trace(&messages[0].1, "a@example.org", &["b@example.org"]);
    assert!(
        messages[0]
            .1
            .ends_with("\r\nSubject: chunked\r\n\r\none\r\ntwo\r\n")
    );
}
