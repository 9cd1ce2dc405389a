//! `mailwire serve` under load: Postfix smtp-source, 1,000 messages over
//! 10 sessions, every one stored; on each runtime.

mod serve_support;

use std::time::Duration;

use serve_support::{Serve, run_peer};

fn load(runtime: &str, messages: usize, sessions: usize) {
    let serve = Serve::start(&["--runtime", runtime, "--max-per-ip", "100"]);
    let target = format!("127.0.0.1:{}", serve.port());
    let (m, s) = (messages.to_string(), sessions.to_string());
    let ran = run_peer(
        "smtp-source",
        &[
            "-d",
            "-s",
            &s,
            "-m",
            &m,
            "-l",
            "1024",
            "-f",
            "load@example.org",
            "-t",
            "sink@example.org",
            "-M",
            "client.example",
            &target,
        ],
        None,
        Duration::from_secs(180),
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let stored = serve.messages();
    assert_eq!(stored.len(), messages, "every message stored");
    for (_, text) in stored.iter().take(20) {
        assert!(text.starts_with(
            "Return-Path: <load@example.org>\r\nX-Envelope-To: <sink@example.org>\r\nReceived: "
        ));
    }
    assert_eq!(serve.take_lines(messages).len(), messages);
}

#[test]
fn smtp_source_1000_messages_over_10_sessions_tokio() {
    load("tokio", 1000, 10);
}

#[test]
fn smtp_source_on_smol() {
    load("smol", 300, 10);
}

#[test]
fn smtp_source_on_async_std() {
    load("async-std", 300, 10);
}
