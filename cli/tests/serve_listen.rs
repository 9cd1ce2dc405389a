//! Listening is exclusive: a second `mailwire serve` on an address in use
//! fails at once, naming the address, whatever `--threads` and
//! `--runtime` say — it never starts and takes half of the connections
//! (and of the mail) into another Maildir.

mod serve_support;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serve_support::{MAILWIRE, Serve, TempDir};

/// Runs a second `mailwire serve` on `addr`; returns its exit code, its
/// stderr and how long it ran (killed after 10 s).
fn second_serve(addr: SocketAddr, args: &[&str]) -> (Option<i32>, String, Duration) {
    let dir = TempDir::new("second");
    let started = Instant::now();
    let mut child = Command::new(MAILWIRE)
        .args(["serve", "--listen", &addr.to_string(), "--maildir"])
        .arg(dir.join("mail"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the second mailwire serve");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let ran = started.elapsed();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status.and_then(|s| s.code()), stderr, ran)
}

/// The greeting of a session on `addr`.
fn greeting(addr: SocketAddr) -> String {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("greeting");
    line
}

#[test]
fn a_second_serve_on_an_address_in_use_fails_at_once() {
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &[]),
        (&["--threads", "2"], &["--threads", "2"]),
        (&["--threads", "2"], &[]),
        (&[], &["--threads", "4"]),
        (&["--threads", "2"], &["--runtime", "smol"]),
        (&["--runtime", "smol"], &["--threads", "2"]),
    ];
    for (first_args, second_args) in cases {
        let first = Serve::start(first_args);
        let addr = first.addrs[0];
        let (code, stderr, ran) = second_serve(addr, second_args);
        let case = format!("first {first_args:?}, second {second_args:?}");
        assert_eq!(code, Some(1), "{case}: exit status; stderr: {stderr}");
        assert!(ran < Duration::from_secs(1), "{case}: ran {ran:?}");
        assert!(
            stderr.contains(&format!("cannot listen on {addr}"))
                && stderr.contains("already in use"),
            "{case}: {stderr}"
        );
        // The first one still has the address, and serves.
        assert!(greeting(addr).starts_with("220 "), "{case}");
    }
}

#[test]
fn threads_of_one_serve_share_the_address() {
    let serve = Serve::start(&["--threads", "3"]);
    // Every session is served, whichever thread takes it.
    for _ in 0..30 {
        assert!(greeting(serve.addrs[0]).starts_with("220 "));
    }
}
