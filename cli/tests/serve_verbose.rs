//! `mailwire serve --verbose`: a real session (STARTTLS, AUTH PLAIN, a
//! message) shows on the server's stderr as the client's commands and the
//! server's replies, in order, marked inside TLS, with the AUTH secret
//! hidden and the message data left out.

mod send_support;
mod serve_support;

use std::time::{Duration, Instant};

use send_support::{at, send};
use serve_support::Serve;

/// The trace lines of session `n` (without the `[n] ` lead).
fn session_lines(stderr: &str, n: u64) -> Vec<String> {
    let lead = format!("[{n}] ");
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&lead))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_session_is_traced_with_the_secret_and_the_data_left_out() {
    let serve = Serve::start(&[
        "--verbose",
        "--tls-self-signed",
        "--auth",
        "user:s3cr3t-w0rd",
    ]);
    let server = at(serve.port());
    let run = send(&[
        "--server",
        &server,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--subject",
        "private subject",
        "--body",
        "private body line",
        "--user",
        "user",
        "--password",
        "s3cr3t-w0rd",
        "--auth",
        "PLAIN",
        "--tls",
        "required",
        "--insecure-accept-any-cert",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    // The trace is written as the session goes; wait (bounded) for QUIT.
    let start = Instant::now();
    let lines = loop {
        let stderr = serve.stderr();
        let first = stderr
            .lines()
            .find_map(|l| l.strip_prefix('[')?.split(']').next()?.parse::<u64>().ok());
        let lines = first.map(|n| session_lines(&stderr, n)).unwrap_or_default();
        if lines.iter().any(|l| l.starts_with("<~  QUIT"))
            || start.elapsed() > Duration::from_secs(10)
        {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with("=== Connection from 127.0.0.1:"),
        "{text}"
    );
    // Commands and replies in order, plain then inside TLS.
    let wanted = [
        " -> 220 ",
        "<-  EHLO ",
        " -> 250-",
        "<-  STARTTLS",
        " -> 220 ",
        "=== TLS started: ",
        "<~  EHLO ",
        "<~  AUTH PLAIN ***",
        " ~> 235 ",
        "<~  MAIL FROM:<a@x.test>",
        "<~  RCPT TO:<b@y.test>",
        "<~  DATA",
        " ~> 354 ",
        "<~  <",
        "<~  .",
        " ~> 250 ",
        "<~  QUIT",
        " ~> 221 ",
    ];
    let mut at = 0;
    for want in wanted {
        let found = lines[at..].iter().position(|l| l.starts_with(want));
        let Some(pos) = found else {
            panic!("{want:?} not found after line {at}:\n{text}");
        };
        at += pos + 1;
    }
    assert!(!text.contains("s3cr3t-w0rd"), "the password shows:\n{text}");
    // Nor its base64 in the AUTH PLAIN line (\0user\0s3cr3t-w0rd).
    assert!(!text.contains("AHVzZXIAczNjcjN0LXcwcmQ"), "{text}");
    assert!(!text.contains("private"), "message data shows:\n{text}");
    assert!(text.contains("lines of message data, not shown>"), "{text}");
}

#[test]
fn without_verbose_nothing_is_traced() {
    let serve = Serve::start(&[]);
    let server = at(serve.port());
    let run = send(&[
        "--server", &server, "--from", "a@x.test", "--to", "b@y.test", "--body", "x",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    std::thread::sleep(Duration::from_millis(200));
    let stderr = serve.stderr();
    assert!(!stderr.contains("<-  EHLO"), "{stderr}");
    assert!(!stderr.contains("[1] "), "{stderr}");
}
