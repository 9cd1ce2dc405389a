//! Release: a message caught by one `mailwire serve` sent on, through
//! Mailpit's `POST /api/v1/message/{ID}/release`, to a second `mailwire
//! serve` (logging in with `--release-user`, over STARTTLS verified
//! against a private authority) and to Postfix's smtp-sink, over real
//! sockets.

mod api_support;
mod relay_support;

use api_support::{Api, TempDir, ids, send};
use serde_json::{Value, json};

const MESSAGE: &str = "From: Alice <alice@example.org>\r
To: Bob <bob@example.org>\r
Bcc: hidden@example.org\r
Subject: Release me\r
Message-ID: <original-1@example.org>\r
Date: Mon, 01 Jan 2024 10:00:00 +0000\r
\r
The words of the message.\r
";

/// The target: AUTH required (bob:pw), `refused@…` refused.
fn target(dir: &TempDir) -> Api {
    Api::start(
        &dir.0.join("target"),
        &[
            "--http",
            "127.0.0.1:0",
            "--auth",
            "bob:pw",
            "--require-auth",
            "--deny-recipient",
            "refused@*",
        ],
    )
}

fn post(api: &Api, path: &str, body: &Value) -> (u16, String) {
    let text = body.to_string();
    let reply = api.request(
        "POST",
        path,
        &[("Content-Type", "application/json")],
        Some(text.as_bytes()),
    );
    (reply.status, reply.text())
}

fn raw_of(api: &Api, id: &str) -> String {
    let reply = api.get(&format!("/api/v1/message/{id}/raw"));
    assert_eq!(reply.status, 200);
    reply.text()
}

fn count(raw: &str, header: &str) -> usize {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .filter(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", header.to_ascii_lowercase()))
        })
        .count()
}

#[test]
fn a_released_copy_arrives_with_a_new_trace_header() {
    let dir = TempDir::new("release");
    let target = target(&dir);
    let to = format!("127.0.0.1:{}", target.smtp.port());
    let catcher = Api::start(
        &dir.0.join("catcher"),
        &[
            "--http",
            "127.0.0.1:0",
            "--release-to",
            &to,
            "--release-user",
            "bob",
            "--release-password",
            "pw",
        ],
    );
    send(
        catcher.smtp,
        "alice@example.org",
        &["bob@example.org", "hidden@example.org"],
        MESSAGE,
    );
    let id = ids(&catcher.list(""))[0].clone();
    let caught = raw_of(&catcher, &id);
    assert_eq!(count(&caught, "Received"), 1);

    // Mailpit's request shape; a name with the address is fine.
    let (status, body) = post(
        &catcher,
        &format!("/api/v1/message/{id}/release"),
        &json!({"To": ["Carol <carol@example.net>", "dave@example.net"]}),
    );
    assert_eq!((status, body.as_str()), (200, "ok"));
    let arrived = ids(&target.list(""));
    assert_eq!(arrived.len(), 1);
    let copy = raw_of(&target, &arrived[0]);
    // The catcher's trace header and the target's new one; the target's
    // own envelope lines name the release recipients only.
    assert_eq!(count(&copy, "Received"), 2, "{copy}");
    assert!(
        copy.starts_with("Return-Path: <alice@example.org>\r\n"),
        "{copy}"
    );
    assert_eq!(count(&copy, "X-Envelope-To"), 2, "{copy}");
    assert!(copy.contains("X-Envelope-To: <carol@example.net>\r\n"));
    assert!(copy.contains("X-Envelope-To: <dave@example.net>\r\n"));
    assert!(!copy.contains("hidden@example.org"), "{copy}");
    assert!(!copy.contains("original-1@example.org"), "a new Message-ID");
    assert_eq!(count(&copy, "Message-ID"), 1);
    assert_eq!(count(&copy, "Date"), 1);
    assert!(copy.contains("Subject: Release me\r\n"));
    let body = |raw: &str| raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    assert_eq!(body(&copy), body(&caught), "the body travels unchanged");
    assert!(copy.contains("\r\n\r\nThe words of the message.\r\n"));

    // A refused recipient: 400 naming it, and nothing is sent (Mailpit's
    // relay stops at the first refusal).
    let (status, body) = post(
        &catcher,
        "/api/v1/message/latest/release",
        &json!({"To": ["refused@example.net", "erin@example.net"]}),
    );
    assert_eq!(status, 400);
    assert!(body.starts_with("SMTP error: "), "{body}");
    assert!(body.contains("refused@example.net refused (550"), "{body}");
    assert!(body.contains("erin@example.net not sent"), "{body}");
    assert_eq!(ids(&target.list("")).len(), 1);

    // mailwire's report: each recipient with its reply.
    let reply = catcher.request(
        "POST",
        &format!("/api/mailwire/v1/message/{id}/release"),
        &[("Content-Type", "application/json")],
        Some(br#"{"To": ["refused@example.net", "frank@example.net"]}"#),
    );
    assert_eq!(reply.status, 200);
    let report = reply.json();
    assert_eq!(report["Sent"], false);
    assert_eq!(report["Server"], to.as_str());
    assert_eq!(report["Recipients"][0]["Address"], "refused@example.net");
    assert_eq!(report["Recipients"][0]["Accepted"], false);
    assert!(
        report["Recipients"][0]["Reply"]
            .as_str()
            .unwrap()
            .starts_with("550")
    );
    assert_eq!(report["Recipients"][1]["Address"], "frank@example.net");
    assert_eq!(report["Recipients"][1]["Accepted"], false);

    // Mailpit's refusals of the request itself.
    for (body, want) in [
        (json!({"To": []}), "No valid addresses found"),
        (
            json!({"To": ["not an address"]}),
            "Invalid email address: not an address",
        ),
    ] {
        assert_eq!(
            post(&catcher, &format!("/api/v1/message/{id}/release"), &body),
            (400, want.to_owned())
        );
    }
    let (status, _) = post(
        &catcher,
        "/api/v1/message/aaaaaaaaaaaaaaaaaaaaaa/release",
        &json!({"To": ["carol@example.net"]}),
    );
    assert_eq!(status, 404);
    assert_eq!(ids(&target.list("")).len(), 1);
}

#[test]
fn without_release_to_release_is_refused() {
    let dir = TempDir::new("release-off");
    let target = target(&dir);
    let catcher = Api::start(&dir.0.join("catcher"), &["--http", "127.0.0.1:0"]);
    send(
        catcher.smtp,
        "alice@example.org",
        &["bob@example.org"],
        MESSAGE,
    );
    let (status, body) = post(
        &catcher,
        "/api/v1/message/latest/release",
        &json!({"To": ["carol@example.net"]}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body,
        "Release is not configured: start mailwire serve with --release-to HOST:PORT"
    );
    assert!(ids(&target.list("")).is_empty());
}

#[test]
fn release_to_without_http_is_refused_at_start() {
    let dir = TempDir::new("release-nohttp");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args(["serve", "--listen", "127.0.0.1:0", "--max-messages", "5"])
        .args(["--release-to", "127.0.0.1:25", "--maildir"])
        .arg(dir.0.join("mail"))
        .output()
        .expect("run mailwire serve");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "mailwire serve: --release-to needs the HTTP API: give --http ADDR\n"
    );
}

#[test]
fn a_wrong_password_is_reported() {
    let dir = TempDir::new("release-auth");
    let target = target(&dir);
    let to = format!("127.0.0.1:{}", target.smtp.port());
    let catcher = Api::start(
        &dir.0.join("catcher"),
        &[
            "--http",
            "127.0.0.1:0",
            "--release-to",
            &to,
            "--release-user",
            "bob",
            "--release-password",
            "wrong",
        ],
    );
    send(
        catcher.smtp,
        "alice@example.org",
        &["bob@example.org"],
        MESSAGE,
    );
    let (status, body) = post(
        &catcher,
        "/api/v1/message/latest/release",
        &json!({"To": ["carol@example.net"]}),
    );
    assert_eq!(status, 400);
    assert!(body.starts_with("SMTP error: "), "{body}");
    assert!(body.contains("535"), "{body}");
    assert!(ids(&target.list("")).is_empty());
}

#[test]
fn release_over_verified_starttls_with_a_private_authority() {
    let dir = TempDir::new("release-tls");
    let pki = mailwire_tests::certs::TestPki::localhost();
    let write = |name: &str, text: &str| {
        let path = dir.0.join(name);
        std::fs::write(&path, text).expect("write PEM");
        path.to_string_lossy().into_owned()
    };
    let (cert, key, ca) = (
        write("chain.pem", &pki.server_chain_pem),
        write("key.pem", &pki.server_key_pem),
        write("ca.pem", &pki.ca_pem),
    );
    let target = Api::start(
        &dir.0.join("target"),
        &[
            "--http",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--require-tls",
            "--auth",
            "bob:pw",
            "--require-auth",
        ],
    );
    let to = format!("127.0.0.1:{}", target.smtp.port());
    let release = |ca_file: Option<&str>| {
        let mut args = vec![
            "--http",
            "127.0.0.1:0",
            "--release-to",
            &to,
            "--release-tls",
            "--release-user",
            "bob",
            "--release-password",
            "pw",
        ];
        if let Some(ca) = ca_file {
            args.extend(["--release-ca-file", ca]);
        }
        let label = if ca_file.is_some() {
            "with-ca"
        } else {
            "web-roots"
        };
        let catcher = Api::start(&dir.0.join(label), &args);
        send(
            catcher.smtp,
            "alice@example.org",
            &["bob@example.org"],
            MESSAGE,
        );
        post(
            &catcher,
            "/api/v1/message/latest/release",
            &json!({"To": ["carol@example.net"]}),
        )
    };
    assert_eq!(release(Some(&ca)), (200, "ok".to_owned()));
    assert_eq!(ids(&target.list("")).len(), 1);
    let copy = raw_of(&target, &ids(&target.list(""))[0]);
    assert!(copy.contains("with ESMTPSA"), "TLS and AUTH: {copy}");
    // The certificate does not verify against the web's roots: refused,
    // nothing sent.
    let (status, body) = release(None);
    assert_eq!(status, 400);
    assert!(body.starts_with("SMTP error: "), "{body}");
    assert_eq!(ids(&target.list("")).len(), 1);
}

#[test]
fn release_over_implicit_tls_with_a_private_authority() {
    let dir = TempDir::new("release-implicit");
    let pki = mailwire_tests::certs::TestPki::localhost();
    let write = |name: &str, text: &str| {
        let path = dir.0.join(name);
        std::fs::write(&path, text).expect("write PEM");
        path.to_string_lossy().into_owned()
    };
    let (cert, key, ca) = (
        write("chain.pem", &pki.server_chain_pem),
        write("key.pem", &pki.server_key_pem),
        write("ca.pem", &pki.ca_pem),
    );
    // The target also listens in plaintext (Api needs one address); the
    // release goes to its implicit-TLS port, where AUTH is offered at once.
    let target = Api::start(
        &dir.0.join("target"),
        &[
            "--http",
            "127.0.0.1:0",
            "--listen-tls",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--auth",
            "bob:pw",
            "--require-auth",
        ],
    );
    let line = target.next_line();
    let tls_port = line
        .strip_prefix("listening on ")
        .and_then(|rest| rest.strip_suffix(" (implicit TLS)"))
        .and_then(|addr| addr.parse::<std::net::SocketAddr>().ok())
        .unwrap_or_else(|| panic!("the implicit-TLS address: {line:?}"))
        .port();
    let to = format!("localhost:{tls_port}");
    let release = |ca_file: Option<&str>| {
        let mut args = vec![
            "--http",
            "127.0.0.1:0",
            "--release-to",
            &to,
            "--release-implicit-tls",
            "--release-user",
            "bob",
            "--release-password",
            "pw",
        ];
        if let Some(ca) = ca_file {
            args.extend(["--release-ca-file", ca]);
        }
        let label = if ca_file.is_some() {
            "with-ca"
        } else {
            "web-roots"
        };
        let catcher = Api::start(&dir.0.join(label), &args);
        send(
            catcher.smtp,
            "alice@example.org",
            &["bob@example.org"],
            MESSAGE,
        );
        post(
            &catcher,
            "/api/v1/message/latest/release",
            &json!({"To": ["carol@example.net"]}),
        )
    };
    assert_eq!(release(Some(&ca)), (200, "ok".to_owned()));
    let stored = ids(&target.list(""));
    assert_eq!(stored.len(), 1);
    let copy = raw_of(&target, &stored[0]);
    assert!(copy.contains("with ESMTPSA"), "TLS and AUTH: {copy}");
    // Not verifiable against the web's roots: refused, nothing sent.
    let (status, body) = release(None);
    assert_eq!(status, 400);
    assert!(body.starts_with("SMTP error: "), "{body}");
    assert_eq!(ids(&target.list("")).len(), 1);
}

#[test]
fn release_into_postfix_smtp_sink() {
    let sink = relay_support::Sink::start();
    let dir = TempDir::new("release-sink");
    let to = format!("127.0.0.1:{}", sink.port);
    let catcher = Api::start(
        &dir.0.join("catcher"),
        &["--http", "127.0.0.1:0", "--release-to", &to],
    );
    send(
        catcher.smtp,
        "alice@example.org",
        &["bob@example.org"],
        MESSAGE,
    );
    let (status, body) = post(
        &catcher,
        "/api/v1/message/latest/release",
        &json!({"To": ["carol@example.net", "dave@example.net"]}),
    );
    assert_eq!((status, body.as_str()), (200, "ok"));
    relay_support::wait_until(
        "smtp-sink's dump",
        std::time::Duration::from_secs(10),
        || !sink.dumps().is_empty(),
    );
    let dumps = sink.dumps();
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    let dump = &dumps[0];
    assert!(dump.contains("X-Mail-Args: <alice@example.org>"), "{dump}");
    assert!(dump.contains("X-Rcpt-Args: <carol@example.net>"), "{dump}");
    assert!(dump.contains("X-Rcpt-Args: <dave@example.net>"), "{dump}");
    assert!(dump.contains("Subject: Release me"), "{dump}");
    assert!(!dump.contains("hidden@example.org"), "{dump}");
    assert!(!dump.contains("X-Envelope-To"), "{dump}");
}

#[test]
fn release_and_chaos_are_behind_the_api_guards() {
    let dir = TempDir::new("release-guard");
    let target = target(&dir);
    let to = format!("127.0.0.1:{}", target.smtp.port());
    let catcher = Api::start(
        &dir.0.join("catcher"),
        &[
            "--http",
            "127.0.0.1:0",
            "--release-to",
            &to,
            "--auth",
            "bob:pw",
        ],
    );
    send(
        catcher.smtp,
        "alice@example.org",
        &["bob@example.org"],
        MESSAGE,
    );
    let body = br#"{"To": ["carol@example.net"]}"#;
    let chaos = br#"{"Sender": {"ErrorCode": 451, "Probability": 100}}"#;
    for (method, path, body) in [
        ("POST", "/api/v1/message/latest/release", &body[..]),
        ("POST", "/api/mailwire/v1/message/latest/release", &body[..]),
        ("PUT", "/api/v1/chaos", &chaos[..]),
        (
            "PUT",
            "/api/mailwire/v1/faults",
            br#"{"Rules": ["mail 550"]}"#,
        ),
    ] {
        // A web page elsewhere cannot release or change anything…
        let cross = catcher.request(
            method,
            path,
            &[
                ("Content-Type", "application/json"),
                ("Origin", "http://evil.example"),
            ],
            Some(body),
        );
        assert_eq!(cross.status, 403, "{method} {path}");
        // …nor with a form-like body.
        let plain = catcher.request(method, path, &[("Content-Type", "text/plain")], Some(body));
        assert_eq!(plain.status, 415, "{method} {path}");
    }
    assert!(ids(&target.list("")).is_empty());
    assert_eq!(
        catcher.get("/api/v1/chaos").json()["Sender"]["Probability"],
        0
    );
    assert_eq!(
        catcher.get("/api/mailwire/v1/faults").json()["Rules"],
        json!([])
    );
}
