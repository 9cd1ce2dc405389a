//! One test per row of `mailwire send`'s exit status table (`--help`):
//! 0 sent (and a --dump-mail or --quit-after run that did what it was
//! asked), 1 usage, 2 partial, 3 permanent, 4 unknown, 5 temporary.

mod send_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

use mailwire_test_server::TestServer;
use send_support::{Run, at, closed_port, send};

fn server() -> TestServer {
    TestServer::builder()
        .refuse_recipient("refuse@*", 550, "5.1.1", "No such user")
        .refuse_recipient("later@*", 450, "4.2.1", "try later")
        .self_signed_tls()
        .users([("user", "secret")])
        .start()
}

fn run(server: u16, extra: &[&str]) -> Run {
    let server = at(server);
    let mut args = vec!["--server", &server, "--from", "a@x.test", "--timeout", "2s"];
    args.extend(extra);
    send(&args)
}

fn assert_exit(run: &Run, status: i32) {
    assert_eq!(run.status, status, "{run:#?}");
    if run.stdout.trim_start().starts_with('{') {
        assert_eq!(run.json()["exit_code"], status, "{run:#?}");
    }
}

#[test]
fn exit_0_sent_to_every_recipient_or_did_what_was_asked() {
    let s = server();
    assert_exit(&run(s.port(), &["--to", "b@y.test", "--json"]), 0);
    assert_exit(
        &run(
            s.port(),
            &["--to", "b@y.test", "--quit-after", "rcpt", "--json"],
        ),
        0,
    );
    assert_exit(&run(closed_port(), &["--to", "b@y.test", "--dump-mail"]), 0);
    assert_eq!(s.messages().len(), 1);
}

#[test]
fn exit_1_invalid_input_or_usage() {
    let s = server();
    assert_exit(
        &run(s.port(), &["--to", "b@y.test", "--timeout", "later"]),
        1,
    );
    assert_exit(
        &run(s.port(), &["--to", "b@y.test\r\nRCPT TO:<x@y.test>"]),
        1,
    );
    assert_exit(
        &run(s.port(), &["--to", "b@y.test", "--quit-after", "data"]),
        1,
    );
    assert!(s.messages().is_empty());
}

#[test]
fn exit_2_sent_to_some_recipients() {
    let s = server();
    let r = run(
        s.port(),
        &[
            "--to",
            "b@y.test",
            "--to",
            "refuse@y.test",
            "--at-least-one",
            "--json",
        ],
    );
    assert_exit(&r, 2);
    assert_eq!(r.json()["outcome"], "partial");
}

#[test]
fn exit_3_not_sent_permanent() {
    let s = server();
    // A 5xx.
    assert_exit(&run(s.port(), &["--to", "refuse@y.test", "--json"]), 3);
    // AUTH refused with 535.
    let r = run(
        s.port(),
        &[
            "--to",
            "b@y.test",
            "--user",
            "user",
            "--password",
            "wrong",
            "--insecure-accept-any-cert",
            "--json",
        ],
    );
    assert_exit(&r, 3);
    assert!(r.stderr.contains("authentication failed"), "{r:#?}");
    assert!(r.stderr.contains("535"), "{r:#?}");
    // TLS required and not offered.
    let plain = TestServer::start();
    let r = run(plain.port(), &["--to", "b@y.test", "--tls", "required"]);
    assert_exit(&r, 3);
    assert!(r.stderr.contains("does not offer STARTTLS"), "{r:#?}");
    assert!(s.messages().is_empty() && plain.messages().is_empty());
}

#[test]
fn exit_4_outcome_unknown_after_the_final_dot() {
    // Takes everything, then hangs up instead of answering the dot.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut out = stream.try_clone().expect("clone");
        let mut lines = BufReader::new(stream);
        let _ = out.write_all(b"220 hangs.test\r\n");
        let mut data = false;
        let mut line = String::new();
        while lines.read_line(&mut line).unwrap_or(0) > 0 {
            let text = line.trim_end().to_ascii_uppercase();
            line.clear();
            if data {
                if text == "." {
                    return;
                }
                continue;
            }
            let reply: &[u8] = if text == "DATA" {
                data = true;
                b"354 go\r\n"
            } else {
                b"250 OK\r\n"
            };
            let _ = out.write_all(reply);
        }
    });
    let r = run(port, &["--to", "b@y.test", "--json"]);
    assert_exit(&r, 4);
    assert_eq!(r.json()["outcome"], "unknown");
}

#[test]
fn exit_5_not_sent_temporary() {
    let s = server();
    // A 4xx.
    assert_exit(&run(s.port(), &["--to", "later@y.test", "--json"]), 5);
    // No server reachable.
    let r = run(closed_port(), &["--to", "b@y.test"]);
    assert_exit(&r, 5);
    assert!(r.stderr.contains("cannot connect to 127.0.0.1:"), "{r:#?}");
    // A timeout before the final dot: a server that never greets.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let held = listener.accept();
        std::thread::sleep(Duration::from_secs(10));
        drop(held);
    });
    let r = run(port, &["--to", "b@y.test"]);
    assert_exit(&r, 5);
    assert!(r.stderr.contains("timed out"), "{r:#?}");
}

#[test]
fn the_table_is_in_the_help() {
    let help = send(&["--help"]);
    assert_eq!(help.status, 0, "{help:#?}");
    for row in [
        "0  sent to every recipient",
        "1  invalid input or usage",
        "2  sent to some recipients only",
        "3  not sent, permanent",
        "4  outcome unknown",
        "5  not sent, temporary",
    ] {
        assert!(help.stdout.contains(row), "{row}: {help:#?}");
    }
}
