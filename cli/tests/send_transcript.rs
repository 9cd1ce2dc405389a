//! `mailwire send -v` (the conversation, swaks-style), `--quit-after`,
//! `--dump-mail` and `--auth`: against a real `mailwire serve` with
//! STARTTLS and AUTH, and against Postfix's smtp-sink.

mod send_support;
mod serve_support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use send_support::{ChildGuard, Run, at, closed_port, send};
use serve_support::Serve;

/// `mailwire serve` with STARTTLS (a throw-away certificate) and AUTH for
/// `user`/`secret`.
fn serve() -> Serve {
    Serve::start(&["--tls-self-signed", "--auth", "user:secret"])
}

/// The body of the test message: 30 numbered lines.
fn body() -> String {
    (1..=30)
        .map(|n| format!("line {n}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn args_for(port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--server",
        &at(port),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--subject",
        "hi",
        "--body",
        &body(),
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn run(args: &[String]) -> Run {
    send(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

const AUTH: [&str; 7] = [
    "--user",
    "user",
    "--password",
    "secret",
    "--tls",
    "required",
    "--insecure-accept-any-cert",
];

/// The commands the transcript shows as sent (not the message lines):
/// `(tls, text)`; MAIL without its parameters (`SIZE=` depends on the
/// message's Date and Message-ID).
fn commands(transcript: &str) -> Vec<(bool, String)> {
    let mut in_body = false;
    let mut out = Vec::new();
    for line in transcript.lines() {
        if line.starts_with("<-  354") || line.starts_with("<~  354") {
            in_body = true;
            continue;
        }
        let sent = line.strip_prefix(" -> ").map(|t| (false, t));
        let sent = sent.or_else(|| line.strip_prefix(" ~> ").map(|t| (true, t)));
        let Some((tls, text)) = sent else {
            continue;
        };
        if in_body {
            in_body = text != ".";
            continue;
        }
        let text = if text.starts_with("MAIL FROM:") {
            text.split(' ').take(2).collect::<Vec<_>>().join(" ")
        } else {
            text.to_owned()
        };
        out.push((tls, text));
    }
    out
}

fn has_line(run: &Run, prefix: &str) -> bool {
    run.stdout.lines().any(|l| l.starts_with(prefix))
}

#[test]
fn transcript_over_starttls_and_auth_marks_tls_and_hides_the_secret() {
    let server = serve();
    let mut extra = vec!["-v", "--auth", "PLAIN"];
    extra.extend(AUTH);
    let run = run(&args_for(server.port(), &extra));
    assert_eq!(run.status, 0, "{run:#?}");
    let sent = commands(&run.stdout);
    let texts: Vec<(bool, &str)> = sent.iter().map(|(t, s)| (*t, s.as_str())).collect();
    assert_eq!(
        texts,
        [
            (false, "EHLO localhost"),
            (false, "STARTTLS"),
            (true, "EHLO localhost"),
            (true, "AUTH PLAIN ***"),
            (true, "MAIL FROM:<a@x.test>"),
            (true, "RCPT TO:<b@y.test>"),
            (true, "DATA"),
            (true, "QUIT"),
        ],
        "{}",
        run.stdout
    );
    assert!(has_line(&run, " ~> MAIL FROM:<a@x.test> SIZE="), "{run:#?}");
    assert!(has_line(&run, "=== Connected to 127.0.0.1:"), "{run:#?}");
    assert!(has_line(&run, "<-  220 "), "{run:#?}");
    assert!(has_line(&run, "=== TLS started: TLS"), "{run:#?}");
    assert!(has_line(&run, "<~  235 "), "{run:#?}");
    assert!(has_line(&run, "<~  250 "), "{run:#?}");
    assert!(has_line(&run, "<~  221 "), "{run:#?}");
    // The secret, in clear or in base64 (\0user\0secret), never shows.
    assert!(!run.stdout.contains("secret"), "{run:#?}");
    assert!(!run.stdout.contains("AHVzZXIAc2VjcmV0"), "{run:#?}");
    // The body: the first lines, then a note, then the dot.
    assert!(has_line(&run, " ~> Subject: hi"), "{run:#?}");
    assert!(has_line(&run, " ~> line 1"), "{run:#?}");
    assert!(!has_line(&run, " ~> line 30"), "{run:#?}");
    assert!(
        run.stdout.contains("more lines of the message not shown"),
        "{run:#?}"
    );
    assert!(has_line(&run, " ~> ."), "{run:#?}");
}

#[test]
fn transcript_body_lines_are_the_message_the_server_stored() {
    let server = serve();
    let mut extra = vec!["-v", "--show-body", "--auth", "CRAM-MD5"];
    extra.extend(AUTH);
    let run = run(&args_for(server.port(), &extra));
    assert_eq!(run.status, 0, "{run:#?}");
    // CRAM-MD5: the command shows, the response is hidden.
    let sent = commands(&run.stdout);
    assert!(
        sent.contains(&(true, "AUTH CRAM-MD5".to_owned())),
        "{sent:?}"
    );
    assert!(sent.contains(&(true, "***".to_owned())), "{sent:?}");
    assert!(has_line(&run, "<~  334 "), "{run:#?}");
    // Every line of the message, as sent: the stored message ends with it.
    let lines: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("<~  354"))
        .skip(1)
        .take_while(|l| *l != " ~> .")
        .map(|l| l.strip_prefix(" ~> ").expect("a sent line"))
        .collect();
    assert!(lines.contains(&"line 30"), "{lines:?}");
    let start = Instant::now();
    let stored = loop {
        let messages = server.messages();
        if let Some((_, text)) = messages.into_iter().next() {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "nothing stored");
        std::thread::sleep(Duration::from_millis(20));
    };
    let stored = stored.replace("\r\n", "\n");
    let shown = format!("{}\n", lines.join("\n"));
    assert!(
        stored.ends_with(&shown),
        "stored:\n{stored}\nshown:\n{shown}"
    );
}

#[test]
fn quit_after_stops_where_swaks_does() {
    let server = serve();
    let cases: [(&str, &[(bool, &str)]); 6] = [
        ("banner", &[(false, "QUIT")]),
        ("first-helo", &[(false, "EHLO localhost"), (false, "QUIT")]),
        (
            "tls",
            &[
                (false, "EHLO localhost"),
                (false, "STARTTLS"),
                (true, "QUIT"),
            ],
        ),
        (
            "ehlo",
            &[
                (false, "EHLO localhost"),
                (false, "STARTTLS"),
                (true, "EHLO localhost"),
                (true, "QUIT"),
            ],
        ),
        (
            "auth",
            &[
                (false, "EHLO localhost"),
                (false, "STARTTLS"),
                (true, "EHLO localhost"),
                (true, "AUTH PLAIN ***"),
                (true, "QUIT"),
            ],
        ),
        (
            "mail",
            &[
                (false, "EHLO localhost"),
                (false, "STARTTLS"),
                (true, "EHLO localhost"),
                (true, "AUTH PLAIN ***"),
                (true, "MAIL FROM:<a@x.test>"),
                (true, "QUIT"),
            ],
        ),
    ];
    for (point, want) in cases {
        let mut extra = vec!["-v", "--auth", "PLAIN", "--quit-after", point];
        extra.extend(AUTH);
        let run = run(&args_for(server.port(), &extra));
        assert_eq!(run.status, 0, "{point}: {run:#?}");
        let sent = commands(&run.stdout);
        let texts: Vec<(bool, &str)> = sent.iter().map(|(t, s)| (*t, s.as_str())).collect();
        assert_eq!(texts, want, "{point}: {}", run.stdout);
        assert!(run.stdout.contains("as asked"), "{point}: {run:#?}");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages().is_empty(), "nothing is sent");
}

/// smtp-sink on a fresh port (it drops to nobody when run as root).
fn sink() -> (ChildGuard, u16) {
    let port = closed_port();
    let child = Command::new("/usr/sbin/smtp-sink")
        .args(["-u", "nobody"])
        .arg(at(port))
        .arg("10")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run smtp-sink (install the peers: scripts/install-peers)");
    let guard = ChildGuard(Some(child));
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "smtp-sink did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (guard, port)
}

#[test]
fn smtp_sink_transcript_and_quit_after_rcpt() {
    let (_sink, port) = sink();
    let run = run(&args_for(port, &["-v", "--to", "c@y.test"]));
    assert_eq!(run.status, 0, "{run:#?}");
    let sent = commands(&run.stdout);
    let texts: Vec<&str> = sent.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        texts,
        [
            "EHLO localhost",
            "MAIL FROM:<a@x.test>",
            "RCPT TO:<b@y.test>",
            "RCPT TO:<c@y.test>",
            "DATA",
            "QUIT"
        ],
        "{}",
        run.stdout
    );
    // smtp-sink's own replies, as it sent them.
    assert!(has_line(&run, "<-  220 "), "{run:#?}");
    assert!(has_line(&run, "<-  250-PIPELINING"), "{run:#?}");
    assert!(has_line(&run, "<-  354 End data with"), "{run:#?}");
    assert!(has_line(&run, "<-  221 Bye"), "{run:#?}");

    // --quit-after rcpt: QUIT right after the RCPTs, no DATA.
    let run = run_json_transcript(port);
    let sent = commands(&run.stderr);
    let texts: Vec<&str> = sent.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        texts,
        [
            "EHLO localhost",
            "MAIL FROM:<a@x.test>",
            "RCPT TO:<b@y.test>",
            "QUIT"
        ],
        "{}",
        run.stderr
    );
}

/// `--quit-after rcpt -v --json`: the transcript goes to standard error,
/// the one JSON object to standard output.
fn run_json_transcript(port: u16) -> Run {
    let run = run(&args_for(port, &["-v", "--json", "--quit-after", "rcpt"]));
    assert_eq!(run.status, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "stopped", "{json}");
    assert_eq!(json["stop_point"], "RCPT", "{json}");
    assert_eq!(json["recipients"][0]["reply"]["code"], 250, "{json}");
    run
}

#[test]
fn dump_mail_prints_the_message_and_opens_no_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    for flag in ["--dump-mail", "--dry-run"] {
        let run = run(&args_for(port, &[flag, "--bcc", "hidden@y.test"]));
        assert_eq!(run.status, 0, "{run:#?}");
        assert!(run.stdout.starts_with("From: a@x.test\r\n"), "{run:#?}");
        assert!(run.stdout.contains("Subject: hi\r\n"), "{run:#?}");
        assert!(run.stdout.contains("line 30\r\n"), "{run:#?}");
        assert!(run.stdout.contains("Message-ID: <"), "{run:#?}");
        assert!(!run.stdout.contains("hidden@"), "Bcc is not sent: {run:#?}");
        assert!(run.stderr.contains("=== MAIL FROM:<a@x.test>"), "{run:#?}");
        assert!(run.stderr.contains("=== RCPT TO:<b@y.test>"), "{run:#?}");
        assert!(
            run.stderr.contains("=== RCPT TO:<hidden@y.test>"),
            "{run:#?}"
        );
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("{flag} connected: {other:?}"),
        }
    }
}

#[test]
fn swaks_own_spellings_work_as_swaks_users_type_them() {
    // swaks' quick start, with a server of our own: -s/-f/-t, a header
    // named in the option, -au/-ap, -tls, --ehlo; and -q stops where
    // swaks would.
    let server = serve();
    let run = send(&[
        "-s",
        &at(server.port()),
        "-f",
        "me@example.com",
        "-t",
        "user@example.com",
        "--header-X-Test",
        "test email",
        "--h-Subject",
        "-tls",
        "-au",
        "user",
        "-ap",
        "secret",
        "-tls",
        "--insecure-accept-any-cert",
        "--ehlo",
        "client.example",
        "-v",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let sent = commands(&run.stdout);
    let texts: Vec<&str> = sent.iter().map(|(_, s)| s.as_str()).collect();
    assert_eq!(
        texts,
        [
            "EHLO client.example",
            "STARTTLS",
            "EHLO client.example",
            "AUTH CRAM-MD5",
            "***",
            "MAIL FROM:<me@example.com>",
            "RCPT TO:<user@example.com>",
            "DATA",
            "QUIT"
        ],
        "{}",
        run.stdout
    );
    let stored = server.messages();
    assert_eq!(stored.len(), 1, "one message stored");
    let text = &stored[0].1;
    assert!(text.contains("\r\nX-Test: test email\r\n"), "{text}");
    // The value of --h-Subject is "-tls", not swaks' -tls option.
    assert!(text.contains("\r\nSubject: -tls\r\n"), "{text}");

    let run = send(&[
        "-s",
        &at(server.port()),
        "-f",
        "me@example.com",
        "-t",
        "user@example.com",
        "-q",
        "ehlo",
        "-v",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let texts: Vec<String> = commands(&run.stdout).into_iter().map(|(_, s)| s).collect();
    assert_eq!(
        texts,
        ["EHLO localhost", "STARTTLS", "EHLO localhost", "QUIT"],
        "{}",
        run.stdout
    );
}

/// The `=== Trying` and `=== Connected` notes of a transcript, in order.
fn attempts(transcript: &str) -> Vec<&str> {
    transcript
        .lines()
        .filter(|l| l.starts_with("=== Trying ") || l.starts_with("=== Connected to "))
        .collect()
}

/// `-v` names each server as it is tried, in order: a closed port, then
/// the server that takes the message.
#[test]
fn transcript_names_each_server_tried_in_order() {
    let server = serve();
    let closed = at(closed_port());
    let good = at(server.port());
    let mut args = vec!["--server".to_owned(), closed.clone()];
    args.extend(args_for(
        server.port(),
        &["-v", "--tls", "required", "--insecure-accept-any-cert"],
    ));
    let run = run(&args);
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(
        attempts(&run.stdout),
        [
            format!("=== Trying {closed}..."),
            format!("=== Trying {good}..."),
            format!("=== Connected to {good}."),
        ],
        "{run:#?}"
    );
    assert!(run.stderr.contains(&closed), "{run:#?}");
    assert_eq!(server.messages().len(), 1, "one message stored");
}

/// `--quit-after`: a server that fails is named on standard error as it
/// is given up and the next is tried; a session stopped in the setup, as
/// asked, tries no other server.
#[test]
fn quit_after_fails_over_and_stops_at_the_stop_point() {
    let server = serve();
    let closed = at(closed_port());
    let good = at(server.port());
    let tls = ["--tls", "required", "--insecure-accept-any-cert"];

    let mut args = vec!["--server".to_owned(), closed.clone()];
    let mut extra = vec!["-v", "--quit-after", "mail"];
    extra.extend(tls);
    args.extend(args_for(server.port(), &extra));
    let mail = run(&args);
    assert_eq!(mail.status, 0, "{mail:#?}");
    assert!(
        mail.stderr
            .lines()
            .any(|l| l.starts_with(&format!("mailwire send: {closed}: "))),
        "the closed server is named as it is given up: {mail:#?}"
    );
    assert_eq!(
        attempts(&mail.stdout),
        [
            format!("=== Trying {closed}..."),
            format!("=== Trying {good}..."),
            format!("=== Connected to {good}."),
        ],
        "{mail:#?}"
    );
    assert!(
        mail.stdout
            .contains(&format!("stopped after MAIL via {good}, as asked")),
        "{mail:#?}"
    );

    // Stopped after EHLO on the first server: the second is never tried.
    let mut extra = vec!["-v", "--quit-after", "ehlo", "--server", &closed];
    extra.extend(tls);
    let run = run(&args_for(server.port(), &extra));
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(
        attempts(&run.stdout),
        [
            format!("=== Trying {good}..."),
            format!("=== Connected to {good}."),
        ],
        "{run:#?}"
    );
    assert!(run.stderr.is_empty(), "{run:#?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(server.messages().is_empty(), "nothing is sent");
}
