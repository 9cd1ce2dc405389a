//! swaks' options in their less common forms, against a real `mailwire
//! serve`: bare `--auth` (any mechanism the server offers),
//! `--quit-after tls` on an implicit-TLS port (QUIT right after the
//! handshake and the greeting, no EHLO), and the PROXY header in the
//! transcript (`--proxy-version 1` and `2`).

mod send_support;
mod serve_support;

use std::time::Duration;

use send_support::{Run, at, send};
use serve_support::Serve;

fn args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = [
        "--server",
        &at(port),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--body",
        "hello",
    ]
    .map(String::from)
    .to_vec();
    out.extend(extra.iter().map(|s| (*s).to_owned()));
    out
}

fn run(args: &[String]) -> Run {
    send(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The lines the transcript shows as sent (plain ` -> ` or TLS ` ~> `).
fn sent(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix(" -> ").or_else(|| l.strip_prefix(" ~> ")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn bare_auth_uses_a_mechanism_the_server_offers() {
    let serve = Serve::start(&["--tls-self-signed", "--auth", "user:secret"]);
    let run = run(&args(
        serve.port(),
        &[
            "-v",
            "--user",
            "user",
            "--password",
            "secret",
            "--tls",
            "required",
            "--insecure-accept-any-cert",
            "--auth",
        ],
    ));
    assert_eq!(run.status, 0, "{run:#?}");
    assert!(
        run.stdout.lines().any(|l| l.starts_with(" ~> AUTH ")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.lines().any(|l| l.starts_with("<~  235")),
        "{}",
        run.stdout
    );
    // `--auth any` is the same.
    let again = self::run(&args(
        serve.port(),
        &[
            "--user",
            "user",
            "--password",
            "secret",
            "--tls",
            "required",
            "--insecure-accept-any-cert",
            "--auth",
            "any",
        ],
    ));
    assert_eq!(again.status, 0, "{again:#?}");
}

#[test]
fn quit_after_tls_on_an_implicit_tls_port_sends_only_quit() {
    let serve = Serve::start(&["--tls-self-signed", "--listen-tls", "127.0.0.1:0"]);
    let port = serve.tls_addrs[0].port();
    let run = run(&args(
        port,
        &[
            "-v",
            "--implicit-tls",
            "--insecure-accept-any-cert",
            "--quit-after",
            "tls",
        ],
    ));
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(sent(&run), ["QUIT"], "{}", run.stdout);
    assert!(
        run.stdout.lines().any(|l| l.starts_with(" ~> QUIT")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("as asked"), "{run:#?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(serve.messages().is_empty());
}

#[test]
fn the_transcript_shows_the_proxy_header() {
    let serve = Serve::start(&["--proxy-from", "127.0.0.1/32"]);
    let v1 = run(&args(
        serve.port(),
        &[
            "-v",
            "--proxy-version",
            "1",
            "--proxy-source",
            "192.0.2.7",
            "--proxy-source-port",
            "4242",
        ],
    ));
    assert_eq!(v1.status, 0, "{v1:#?}");
    let lines = sent(&v1);
    assert!(
        lines[0].starts_with("PROXY TCP4 192.0.2.7 127.0.0.1 4242 "),
        "{}",
        v1.stdout
    );
    assert!(lines[1].starts_with("EHLO "), "{}", v1.stdout);

    let v2 = run(&args(serve.port(), &["-v", "--proxy-version", "2"]));
    assert_eq!(v2.status, 0, "{v2:#?}");
    let lines = sent(&v2);
    assert!(
        lines[0].starts_with("[PROXY protocol v2 header, ") && lines[0].ends_with(" octets]"),
        "{}",
        v2.stdout
    );
    // The server took both: the announced client shows in its trace
    // header.
    std::thread::sleep(Duration::from_millis(200));
    let messages = serve.messages();
    assert_eq!(messages.len(), 2);
    assert!(
        messages.iter().any(|(_, text)| text.contains("192.0.2.7")),
        "{messages:?}"
    );
}
