//! `mailwire send` into `mailwire serve` over loopback, read back from the
//! Maildir: every recipient the caller names gets the message — explicit
//! recipients, `--to`/`--cc`/`--bcc`, and the `Bcc`/`Dcc` (or
//! `Resent-Bcc`/`Resent-Dcc`) headers — and no blind header is stored.

mod send_support;
mod serve_support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use send_support::{TempDir, send};
use serve_support::{Serve, assert_trace, header_lines};

/// Runs `mailwire send --server SERVE ARGS…`, checks it exits 0 and
/// returns the one message it stored.
fn send_one(serve: &Serve, args: &[&str]) -> String {
    let before: BTreeSet<PathBuf> = serve.messages().into_iter().map(|(p, _)| p).collect();
    let server = format!("127.0.0.1:{}", serve.port());
    let mut all = vec!["--server", server.as_str()];
    all.extend_from_slice(args);
    let run = send(&all);
    assert_eq!(run.status, 0, "{run:#?}");
    let mut new: Vec<(PathBuf, String)> = serve
        .messages()
        .into_iter()
        .filter(|(p, _)| !before.contains(p))
        .collect();
    assert_eq!(new.len(), 1, "one message stored for {args:?}");
    new.remove(0).1
}

/// Asserts no header line of the stored `text` is a blind field and no
/// blind address shows anywhere in it.
fn assert_no_blind(text: &str, hidden: &[&str]) {
    for line in header_lines(text) {
        let name = line.split(':').next().unwrap_or_default();
        assert!(
            !["bcc", "dcc", "resent-bcc", "resent-dcc"]
                .contains(&name.to_ascii_lowercase().as_str()),
            "blind header stored: {line:?} in {text}"
        );
    }
    // The trace block serve adds names every envelope recipient; what
    // was transmitted must not.
    let mut in_trace = true;
    let transmitted: Vec<&str> = text
        .split("\r\n")
        .filter(|line| {
            let trace = ["Return-Path:", "X-Envelope-To:", "Received:"]
                .iter()
                .any(|name| line.starts_with(name));
            let folded = line.starts_with([' ', '\t']);
            in_trace = in_trace && (trace || folded);
            !in_trace
        })
        .collect();
    assert!(
        transmitted.iter().any(|line| line.starts_with("From: ")),
        "{text}"
    );
    for address in hidden {
        assert!(
            transmitted.iter().all(|line| !line.contains(address)),
            "{address} shows in the message: {text}"
        );
    }
}

#[test]
fn composed_message_goes_to_explicit_recipients_and_bcc() {
    let serve = Serve::start(&[]);
    let text = send_one(
        &serve,
        &[
            "--from",
            "a@example.org",
            "--recipients",
            "y@example.org",
            "--bcc",
            "hidden@example.org",
            "--subject",
            "explicit and bcc",
            "--body",
            "hi",
        ],
    );
    assert_trace(
        &text,
        "a@example.org",
        &["y@example.org", "hidden@example.org"],
    );
    assert_no_blind(&text, &["hidden@example.org"]);
}

#[test]
fn message_file_bcc_and_dcc_are_recipients_with_or_without_explicit_ones() {
    let serve = Serve::start(&[]);
    let dir = TempDir::new("recipients");
    let file = dir.write(
        "mail.eml",
        "From: a@example.org\nTo: t@example.org\nBcc: b@example.org\n\
         Dcc: d@example.org\nSubject: blind\n\nbody\n",
    );
    let hidden = ["b@example.org", "d@example.org"];

    // From the headers.
    let text = send_one(&serve, &["--message", &file]);
    assert_trace(
        &text,
        "a@example.org",
        &["t@example.org", "b@example.org", "d@example.org"],
    );
    assert!(text.contains("\r\nTo: t@example.org\r\n"), "{text}");
    assert_no_blind(&text, &hidden);

    // Explicit recipients replace To only.
    let text = send_one(
        &serve,
        &["--message", &file, "--recipients", "y@example.org"],
    );
    assert_trace(
        &text,
        "a@example.org",
        &["y@example.org", "b@example.org", "d@example.org"],
    );
    assert_no_blind(&text, &hidden);

    // --recipients, --to and --bcc add up.
    let text = send_one(
        &serve,
        &[
            "--message",
            &file,
            "--recipients",
            "y@example.org",
            "--to",
            "x@example.org",
            "--bcc",
            "z@example.org",
        ],
    );
    assert_trace(
        &text,
        "a@example.org",
        &[
            "y@example.org",
            "x@example.org",
            "z@example.org",
            "b@example.org",
            "d@example.org",
        ],
    );
    assert_no_blind(&text, &["z@example.org", "b@example.org", "d@example.org"]);
}

#[test]
fn resent_message_takes_the_newest_block_with_its_blind_recipients() {
    let serve = Serve::start(&[]);
    let dir = TempDir::new("resent");
    let file = dir.write(
        "mail.eml",
        "Resent-From: r@example.org\nResent-To: rt@example.org\n\
         Resent-Bcc: rb@example.org\nResent-Dcc: rd@example.org\n\
         From: a@example.org\nTo: t@example.org\nBcc: ob@example.org\n\
         Subject: resent\n\nbody\n",
    );
    let hidden = ["rb@example.org", "rd@example.org", "ob@example.org"];

    // From the newest block: the original To and Bcc are history.
    let text = send_one(&serve, &["--message", &file]);
    assert_trace(
        &text,
        "r@example.org",
        &["rt@example.org", "rb@example.org", "rd@example.org"],
    );
    assert!(text.contains("\r\nResent-To: rt@example.org\r\n"), "{text}");
    assert!(text.contains("\r\nResent-Date: "), "{text}");
    assert_no_blind(&text, &hidden);

    // Explicit recipients replace Resent-To only.
    let text = send_one(
        &serve,
        &["--message", &file, "--recipients", "y@example.org"],
    );
    assert_trace(
        &text,
        "r@example.org",
        &["y@example.org", "rb@example.org", "rd@example.org"],
    );
    assert_no_blind(&text, &hidden);
}
