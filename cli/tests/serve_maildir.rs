//! `mailwire serve`: the Maildir contract, the per-message line, `--json`,
//! `--discard`, recipient/sender policy and graceful stop, driven by swaks.

mod serve_support;

use std::time::Duration;

use serve_support::{Serve, assert_trace, swaks};

#[test]
fn swaks_plain_message_is_stored_with_trace_headers_and_printed() {
    let mut serve = Serve::start(&[]);
    let ran = swaks(
        serve.port(),
        &[
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.org,carol@example.org",
            "--header",
            "To: bob@example.org",
            "--header",
            "Subject: hello catcher",
            "--body",
            "line one\nline two",
        ],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 1, "one file for two recipients");
    let (path, text) = &messages[0];
    assert_trace(
        text,
        "alice@example.org",
        &["bob@example.org", "carol@example.org"],
    );
    assert!(text.contains("\r\nSubject: hello catcher\r\n"), "{text}");
    assert!(text.contains("\r\n\r\nline one\r\nline two\r\n"), "{text}");
    // The name is not derived from message data.
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    assert!(!name.contains("alice") && !name.contains("hello"), "{name}");

    let line = serve.take_lines(1).remove(0);
    assert!(
        line.contains(" <alice@example.org> -> <bob@example.org>,<carol@example.org> "),
        "{line}"
    );
    assert!(line.ends_with(" \"hello catcher\""), "{line}");
    assert!(line.contains(" octets "), "{line}");

    let status = serve.terminate();
    assert!(status.success(), "graceful stop exits 0: {status:?}");
}

#[test]
fn pipelining_and_several_messages_on_one_session() {
    let serve = Serve::start(&[]);
    let ran = swaks(
        serve.port(),
        &[
            "--pipeline",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--header",
            "Subject: piped",
        ],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("PIPELINING"), "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert_trace(&messages[0].1, "a@example.org", &["b@example.org"]);
}

#[test]
fn json_line_has_the_documented_fields() {
    let serve = Serve::start(&["--json"]);
    let ran = swaks(
        serve.port(),
        &[
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.org,hidden@example.org",
            "--header",
            "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=",
        ],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let line = serve.take_lines(1).remove(0);
    let value: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
    assert_eq!(value["from"], "alice@example.org");
    assert_eq!(
        value["recipients"],
        serde_json::json!(["bob@example.org", "hidden@example.org"])
    );
    assert_eq!(value["subject"], "Grüße");
    assert_eq!(value["tls"], false);
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    let (path, text) = &messages[0];
    assert_eq!(value["path"], path.display().to_string());
    // `size` counts the message as received: the file minus the trace block.
    let body_start = text.find("\r\nDate: ").expect("message starts") + 2;
    let size = value["size"].as_u64().expect("size");
    assert_eq!(size as usize, text.len() - body_start, "{text}");
    assert!(value["time"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[test]
fn subject_control_characters_are_escaped_in_the_line() {
    let serve = Serve::start(&[]);
    let ran = swaks(
        serve.port(),
        &[
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--header",
            "Subject: evil\u{1b}[2J\u{7}bell",
        ],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let line = serve.take_lines(1).remove(0);
    assert!(
        !line.contains('\u{1b}') && !line.contains('\u{7}'),
        "{line:?}"
    );
    assert!(line.contains("evil\\x1b[2J\\x07bell"), "{line:?}");
}

#[test]
fn refused_recipient_and_sender_by_glob() {
    let serve = Serve::start(&[
        "--reject-recipient",
        "*@SPAM.example",
        "--reject-sender",
        "bad?@example.org",
    ]);
    // One of two recipients refused: stored for the other only.
    let ran = swaks(
        serve.port(),
        &[
            "--from",
            "a@example.org",
            "--to",
            "Victim@spam.example,ok@example.org",
        ],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("550 5.1.1"), "{}", ran.output);
    // The only recipient refused: swaks exits 24.
    let ran = swaks(
        serve.port(),
        &["--from", "a@example.org", "--to", "x@spam.example"],
    );
    assert_eq!(ran.code(), 24, "{}", ran.output);
    // A refused sender: swaks exits 23.
    let ran = swaks(
        serve.port(),
        &["--from", "BAD1@example.org", "--to", "ok@example.org"],
    );
    assert_eq!(ran.code(), 23, "{}", ran.output);
    // The glob is for the whole address.
    let ran = swaks(
        serve.port(),
        &["--from", "bad12@example.org", "--to", "ok@spam.example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);

    let messages = serve.messages();
    assert_eq!(messages.len(), 2);
    let texts: Vec<&str> = messages.iter().map(|(_, t)| t.as_str()).collect();
    assert!(texts.iter().any(|t| t.starts_with(
        "Return-Path: <a@example.org>\r\nX-Envelope-To: <ok@example.org>\r\nReceived: "
    )));
    assert!(texts.iter().any(|t| t.starts_with(
        "Return-Path: <bad12@example.org>\r\nX-Envelope-To: <ok@spam.example.org>\r\nReceived: "
    )));
}

#[test]
fn discard_stores_and_prints_nothing() {
    let serve = Serve::start(&["--discard"]);
    let ran = swaks(
        serve.port(),
        &["--from", "a@example.org", "--to", "b@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(serve.next_line(Duration::from_millis(500)).is_none());
    assert!(!serve.maildir.exists(), "no Maildir with --discard");
}

#[test]
fn allow_host_refuses_others() {
    let serve = Serve::start(&["--allow-host", "10.0.0.0/8"]);
    let ran = swaks(
        serve.port(),
        &["--from", "a@example.org", "--to", "b@example.org"],
    );
    assert_ne!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("554 Access denied"), "{}", ran.output);
    assert!(serve.messages().is_empty());

    let serve = Serve::start(&["--allow-host", "127.0.0.0/8", "--allow-host", "::1"]);
    let ran = swaks(
        serve.port(),
        &["--from", "a@example.org", "--to", "b@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert_eq!(serve.messages().len(), 1);
}

#[test]
fn two_listeners_in_one_process() {
    let serve = Serve::start(&["--listen", "127.0.0.1:0"]);
    assert_eq!(serve.addrs.len(), 2);
    assert_ne!(serve.addrs[0], serve.addrs[1]);
    for addr in serve.addrs.clone() {
        let ran = swaks(
            addr.port(),
            &["--from", "a@example.org", "--to", "b@example.org"],
        );
        assert_eq!(ran.code(), 0, "{}", ran.output);
    }
    assert_eq!(serve.messages().len(), 2);
}

#[test]
fn null_sender_is_stored_as_empty_return_path() {
    let serve = Serve::start(&["--json"]);
    let ran = swaks(serve.port(), &["--from", "<>", "--to", "b@example.org"]);
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0]
            .1
            .starts_with("Return-Path: <>\r\nX-Envelope-To: <b@example.org>\r\nReceived: "),
        "{}",
        messages[0].1
    );
    let value: serde_json::Value =
        serde_json::from_str(&serve.take_lines(1).remove(0)).expect("JSON");
    assert_eq!(value["from"], "");
}

#[test]
fn help_is_complete_with_examples() {
    let out = std::process::Command::new(serve_support::MAILWIRE)
        .args(["serve", "--help"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Examples:",
        "--listen <ADDR>",
        "--listen-tls",
        "--maildir",
        "--discard",
        "--tls-self-signed",
        "--require-auth",
        "--max-per-ip",
        "--allow-host",
        "--reject-recipient",
        "--runtime",
        "--json",
        "X-Envelope-To",
    ] {
        assert!(text.contains(needle), "{needle} missing from help");
    }
}
