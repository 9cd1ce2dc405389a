//! `mailwire send` to mailwire's test server (`mailwire-test-server`),
//! which records each envelope and message as sent: every recipient the
//! caller names gets the message — explicit recipients,
//! `--to`/`--cc`/`--bcc`, and the `Bcc`/`Dcc` (or
//! `Resent-Bcc`/`Resent-Dcc`) headers — and no blind header is
//! transmitted.

mod send_support;

use mailwire_test_server::{Caught, TestServer};
use send_support::{TempDir, at, send};

/// Runs `mailwire send --server SERVER ARGS…`, checks it exits 0 and
/// returns the one message the server caught for it.
fn send_one(server: &TestServer, args: &[&str]) -> Caught {
    let before = server.messages().len();
    let address = at(server.port());
    let mut all = vec!["--server", address.as_str()];
    all.extend_from_slice(args);
    let run = send(&all);
    assert_eq!(run.status, 0, "{run:#?}");
    let mut new = server.messages().split_off(before);
    assert_eq!(new.len(), 1, "one message caught for {args:?}");
    new.remove(0)
}

/// Checks the envelope: the sender, and each recipient once, in order.
fn assert_envelope(caught: &Caught, from: &str, recipients: &[&str]) {
    assert_eq!(caught.from, from, "{}", caught.text());
    assert_eq!(caught.to, recipients, "{}", caught.text());
}

/// The header lines of a message (before the first empty line).
fn header_lines(text: &str) -> Vec<&str> {
    text.split("\r\n").take_while(|l| !l.is_empty()).collect()
}

/// Asserts no header line of the transmitted message is a blind field
/// and no blind address shows anywhere in it.
fn assert_no_blind(caught: &Caught, hidden: &[&str]) {
    let text = caught.text();
    let header = header_lines(&text);
    for line in &header {
        let name = line.split(':').next().unwrap_or_default();
        assert!(
            !["bcc", "dcc", "resent-bcc", "resent-dcc"]
                .contains(&name.to_ascii_lowercase().as_str()),
            "blind header transmitted: {line:?} in {text}"
        );
    }
    assert!(
        header.iter().any(|line| line.starts_with("From: ")),
        "{text}"
    );
    for address in hidden {
        assert!(
            !text.contains(address),
            "{address} shows in the message: {text}"
        );
    }
}

#[test]
fn composed_message_goes_to_explicit_recipients_and_bcc() {
    let server = TestServer::start();
    let caught = send_one(
        &server,
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
    assert_envelope(
        &caught,
        "a@example.org",
        &["y@example.org", "hidden@example.org"],
    );
    assert_no_blind(&caught, &["hidden@example.org"]);
}

#[test]
fn message_file_bcc_and_dcc_are_recipients_with_or_without_explicit_ones() {
    let server = TestServer::start();
    let dir = TempDir::new("recipients");
    let file = dir.write(
        "mail.eml",
        "From: a@example.org\nTo: t@example.org\nBcc: b@example.org\n\
         Dcc: d@example.org\nSubject: blind\n\nbody\n",
    );
    let hidden = ["b@example.org", "d@example.org"];

    // From the headers.
    let caught = send_one(&server, &["--message", &file]);
    let text = caught.text();
    assert_envelope(
        &caught,
        "a@example.org",
        &["t@example.org", "b@example.org", "d@example.org"],
    );
    assert!(header_lines(&text).contains(&"To: t@example.org"), "{text}");
    assert_no_blind(&caught, &hidden);

    // Explicit recipients replace To only.
    let caught = send_one(
        &server,
        &["--message", &file, "--recipients", "y@example.org"],
    );
    assert_envelope(
        &caught,
        "a@example.org",
        &["y@example.org", "b@example.org", "d@example.org"],
    );
    assert_no_blind(&caught, &hidden);

    // --recipients, --to and --bcc add up.
    let caught = send_one(
        &server,
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
    assert_envelope(
        &caught,
        "a@example.org",
        &[
            "y@example.org",
            "x@example.org",
            "z@example.org",
            "b@example.org",
            "d@example.org",
        ],
    );
    assert_no_blind(
        &caught,
        &["z@example.org", "b@example.org", "d@example.org"],
    );
}

#[test]
fn resent_message_takes_the_newest_block_with_its_blind_recipients() {
    let server = TestServer::start();
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
    let caught = send_one(&server, &["--message", &file]);
    let text = caught.text();
    assert_envelope(
        &caught,
        "r@example.org",
        &["rt@example.org", "rb@example.org", "rd@example.org"],
    );
    let header = header_lines(&text);
    assert!(header.contains(&"Resent-To: rt@example.org"), "{text}");
    assert!(
        header.iter().any(|l| l.starts_with("Resent-Date: ")),
        "{text}"
    );
    assert_no_blind(&caught, &hidden);

    // Explicit recipients replace Resent-To only.
    let caught = send_one(
        &server,
        &["--message", &file, "--recipients", "y@example.org"],
    );
    assert_envelope(
        &caught,
        "r@example.org",
        &["y@example.org", "rb@example.org", "rd@example.org"],
    );
    assert_no_blind(&caught, &hidden);
}
