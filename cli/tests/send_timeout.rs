//! `mailwire send --timeout`: a server that accepts and never greets, and
//! one that never answers the final dot, each end the command within a
//! generous bound with the right exit status and a sentence.

mod send_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use send_support::{at, send};

/// A server on loopback that runs `script` on its first connection (in a
/// thread; the socket stays open until the script returns).
fn scripted(script: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            script(stream);
        }
    });
    port
}

/// Accepts, says nothing, and holds the connection open.
fn never_greets(stream: TcpStream) {
    std::thread::sleep(Duration::from_secs(30));
    drop(stream);
}

/// Answers everything up to the final dot, then says nothing.
fn never_answers_the_dot(stream: TcpStream) {
    let mut out = stream.try_clone().expect("clone");
    let mut lines = BufReader::new(stream);
    let _ = out.write_all(b"220 silent.test ESMTP\r\n");
    let mut in_data = false;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        if in_data {
            if command == "." {
                std::thread::sleep(Duration::from_secs(30));
                return;
            }
            continue;
        }
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250 silent.test\r\n"
        } else if command == "DATA" {
            in_data = true;
            b"354 go on\r\n"
        } else if command == "QUIT" {
            b"221 bye\r\n"
        } else {
            b"250 OK\r\n"
        };
        let _ = out.write_all(reply);
    }
}

fn base(port: u16) -> Vec<String> {
    [
        "--server",
        &at(port),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--timeout",
        "3s",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn a_server_that_never_greets_fails_fast_with_exit_5() {
    let port = scripted(never_greets);
    let started = Instant::now();
    let args = base(port);
    let run = send(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let took = started.elapsed();
    assert_eq!(run.status, 5, "{run:#?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(took >= Duration::from_secs(3), "took {took:?}");
    assert!(
        run.stderr
            .contains("timed out waiting at the greeting step"),
        "{run:#?}"
    );
}

#[test]
fn a_server_that_never_answers_the_dot_gives_exit_4() {
    let port = scripted(never_answers_the_dot);
    let started = Instant::now();
    let mut args = base(port);
    args.push("--json".into());
    let run = send(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let took = started.elapsed();
    assert_eq!(run.status, 4, "{run:#?}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let json = run.json();
    assert_eq!(json["outcome"], "unknown", "{json}");
    assert_eq!(json["exit_code"], 4, "{json}");
    assert!(
        json["error"]
            .as_str()
            .is_some_and(|e| e.contains("timed out waiting for the reply to the end of the data")),
        "{json}"
    );
}

#[test]
fn a_duration_that_does_not_parse_is_a_usage_error() {
    let run = send(&[
        "--server",
        "127.0.0.1:1",
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--timeout",
        "soon",
    ]);
    assert_eq!(run.status, 1, "usage: {run:#?}");
    assert!(run.stderr.contains("is not a duration"), "{run:#?}");
}
