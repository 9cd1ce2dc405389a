//! `mailwire serve` with swaks: STARTTLS, implicit TLS, AUTH PLAIN, LOGIN
//! and CRAM-MD5, a wrong password, `--require-auth`, `--require-tls`.

mod serve_support;

use serve_support::{Serve, assert_trace, swaks};

const MAIL: [&str; 4] = ["--from", "a@example.org", "--to", "b@example.org"];

fn with_mail<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = MAIL.to_vec();
    args.extend_from_slice(extra);
    args
}

#[test]
fn starttls_with_a_self_signed_certificate() {
    let serve = Serve::start(&["--tls-self-signed", "--require-tls", "--json"]);
    // Without TLS the transaction is refused.
    let ran = swaks(serve.port(), &MAIL);
    assert_eq!(ran.code(), 23, "{}", ran.output);
    assert!(ran.output.contains("530 5.7.0"), "{}", ran.output);
    // With STARTTLS (swaks does not verify the certificate by default).
    let ran = swaks(serve.port(), &with_mail(&["--tls"]));
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("STARTTLS"), "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert_trace(&messages[0].1, "a@example.org", &["b@example.org"]);
    assert!(messages[0].1.contains("with ESMTPS"), "{}", messages[0].1);
    let line = serve.take_lines(1).remove(0);
    let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    assert_eq!(value["tls"], true);
}

#[test]
fn implicit_tls_listener_shares_the_certificate() {
    let serve = Serve::start(&["--tls-self-signed", "--listen-tls", "127.0.0.1:0"]);
    assert_eq!(serve.tls_addrs.len(), 1);
    let ran = swaks(serve.tls_addrs[0].port(), &with_mail(&["--tls-on-connect"]));
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let ran = swaks(serve.port(), &with_mail(&["--tls"]));
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 2);
    for (_, text) in &messages {
        assert!(text.contains("with ESMTPS"), "{text}");
    }
}

#[test]
fn auth_plain_login_cram_md5_over_starttls() {
    let serve = Serve::start(&[
        "--tls-self-signed",
        "--auth",
        "alice:s3cret:with:colons",
        "--auth",
        "bob:pw",
        "--require-auth",
        "--json",
    ]);
    for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        let ran = swaks(
            serve.port(),
            &with_mail(&[
                "--tls",
                "--auth",
                mechanism,
                "--auth-user",
                "alice",
                "--auth-password",
                "s3cret:with:colons",
            ]),
        );
        assert_eq!(ran.code(), 0, "{mechanism}: {}", ran.output);
        let line = serve.take_lines(1).remove(0);
        let value: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(value["authenticated"], "alice", "{mechanism}");
    }
    // A wrong password: swaks exits 28.
    let ran = swaks(
        serve.port(),
        &with_mail(&[
            "--tls",
            "--auth",
            "PLAIN",
            "--auth-user",
            "bob",
            "--auth-password",
            "wrong",
        ]),
    );
    assert_eq!(ran.code(), 28, "{}", ran.output);
    assert!(ran.output.contains("535 5.7.8"), "{}", ran.output);
    // Without AUTH the transaction is refused (--require-auth).
    let ran = swaks(serve.port(), &with_mail(&["--tls"]));
    assert_eq!(ran.code(), 23, "{}", ran.output);
    assert_eq!(serve.messages().len(), 3);
}

#[test]
fn auth_without_tls_when_no_certificate_is_configured() {
    let serve = Serve::start(&["--auth", "alice:pw"]);
    for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        let ran = swaks(
            serve.port(),
            &with_mail(&[
                "--auth",
                mechanism,
                "--auth-user",
                "alice",
                "--auth-password",
                "pw",
            ]),
        );
        assert_eq!(ran.code(), 0, "{mechanism}: {}", ran.output);
    }
    let ran = swaks(
        serve.port(),
        &with_mail(&[
            "--auth",
            "CRAM-MD5",
            "--auth-user",
            "alice",
            "--auth-password",
            "nope",
        ]),
    );
    assert_eq!(ran.code(), 28, "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 3);
    assert!(messages[0].1.contains("with ESMTPA"), "{}", messages[0].1);
}
