//! `mailwire serve` options: limits, greeting, certificate files, the
//! default invocation, output to a file, and a graceful stop that finishes
//! the message in progress.

mod serve_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serve_support::{MAILWIRE, Serve, TempDir, assert_trace, run_peer, swaks};

#[test]
fn size_and_recipient_limits() {
    let serve = Serve::start(&["--max-size", "2000", "--max-recipients", "2"]);
    let big = "x".repeat(3000);
    let ran = swaks(
        serve.port(),
        &[
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--body",
            &big,
        ],
    );
    assert_ne!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("552 5.3.4"), "{}", ran.output);
    assert!(ran.output.contains("SIZE 2000"), "{}", ran.output);
    let ran = swaks(
        serve.port(),
        &[
            "--from",
            "a@example.org",
            "--to",
            "one@example.org,two@example.org,three@example.org",
        ],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("452 4.5.3"), "{}", ran.output);
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert_trace(
        &messages[0].1,
        "a@example.org",
        &["one@example.org", "two@example.org"],
    );
}

#[test]
fn connection_limits_answer_421() {
    let serve = Serve::start(&["--max-connections", "1"]);
    let mut first = TcpStream::connect(serve.addrs[0]).expect("connect");
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut reader = BufReader::new(first.try_clone().expect("clone"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("greeting");
    assert!(line.starts_with("220 "), "{line}");
    let ran = swaks(
        serve.port(),
        &["--from", "a@example.org", "--to", "b@example.org"],
    );
    assert_ne!(ran.code(), 0, "{}", ran.output);
    assert!(ran.output.contains("421 4.7.0"), "{}", ran.output);
    first.write_all(b"QUIT\r\n").expect("quit");
    drop(reader);

    let serve = Serve::start(&["--max-per-ip", "1"]);
    let _held = TcpStream::connect(serve.addrs[0]).expect("connect");
    std::thread::sleep(Duration::from_millis(200));
    let ran = swaks(
        serve.port(),
        &["--from", "a@example.org", "--to", "b@example.org"],
    );
    assert!(ran.output.contains("421 4.7.0"), "{}", ran.output);
}

#[test]
fn hostname_and_banner_in_greeting_and_received() {
    let serve = Serve::start(&["--hostname", "catcher.example", "--banner", "test catcher"]);
    let ran = swaks(
        serve.port(),
        &["--from", "a@example.org", "--to", "b@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(
        ran.output
            .contains("220 catcher.example ESMTP test catcher"),
        "{}",
        ran.output
    );
    let messages = serve.messages();
    assert!(
        messages[0].1.contains("by catcher.example"),
        "{}",
        messages[0].1
    );
}

#[test]
fn certificate_files_for_starttls() {
    let dir = TempDir::new("certs");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let ran = run_peer(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
            &key,
            "-out",
            &cert,
        ],
        None,
        Duration::from_secs(60),
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let serve = Serve::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let ran = swaks(
        serve.port(),
        &["--tls", "--from", "a@example.org", "--to", "b@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert!(serve.messages()[0].1.contains("with ESMTPS"));

    // A missing key file: exit 1 with a message, before listening.
    let out = Command::new(MAILWIRE)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
        ])
        .arg(dir.join("missing.pem"))
        .arg("--maildir")
        .arg(dir.join("mail"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.pem"));
}

#[test]
fn usage_errors_exit_1() {
    let dir = TempDir::new("usage");
    for args in [
        vec!["--require-tls"],
        vec!["--listen-tls", "127.0.0.1:0"],
        vec!["--auth", "nocolon"],
        vec!["--allow-host", "10.0.0.0/40"],
        vec!["--hostname", "bad\nname"],
        vec!["--runtime", "nope"],
    ] {
        let out = Command::new(MAILWIRE)
            .args(["serve", "--listen", "127.0.0.1:0", "--maildir"])
            .arg(dir.join("mail"))
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run");
        let code = out.status.code();
        assert!(code == Some(1) || code == Some(2), "{args:?}: {code:?}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing listened");
    }
}

/// Waits (at most 20 s) until `path` holds a `listening on` line.
fn wait_listening(path: &std::path::Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.starts_with("listening on ")) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no `listening on` in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills a child on drop.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn listening_line_is_flushed_to_a_file_and_sigint_stops() {
    let dir = TempDir::new("outfile");
    let out = dir.join("out.txt");
    let child = Command::new(MAILWIRE)
        .args(["serve", "--listen", "127.0.0.1:0", "--maildir"])
        .arg(dir.join("mail"))
        .stdout(std::fs::File::create(&out).expect("create"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut guard = Guard(child);
    let line = wait_listening(&out);
    let addr: std::net::SocketAddr = line["listening on ".len()..].parse().expect("address");
    assert_ne!(addr.port(), 0);
    let status = Command::new("kill")
        .args(["-INT", &guard.0.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = guard.0.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "no stop on SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn default_invocation_uses_2525_and_dot_mail() {
    if std::net::TcpListener::bind("127.0.0.1:2525").is_err() {
        panic!("port 127.0.0.1:2525 is busy: cannot test the default invocation");
    }
    let dir = TempDir::new("default");
    let out = dir.join("out.txt");
    let child = Command::new(MAILWIRE)
        .arg("serve")
        .current_dir(&dir.0)
        .stdout(std::fs::File::create(&out).expect("create"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let _guard = Guard(child);
    assert_eq!(wait_listening(&out), "listening on 127.0.0.1:2525");
    let ran = swaks(2525, &["--from", "a@example.org", "--to", "b@example.org"]);
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let stored = serve_support::stored(&dir.join("mail"));
    assert_eq!(stored.len(), 1);
}

#[test]
fn stop_lets_the_message_in_progress_finish() {
    let mut serve = Serve::start(&[]);
    let stream = TcpStream::connect(serve.addrs[0]).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    let reply = |reader: &mut BufReader<TcpStream>| {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("reply");
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    };
    assert!(reply(&mut reader).starts_with("220"));
    for (command, code) in [
        ("EHLO client.example\r\n", "250"),
        ("MAIL FROM:<a@example.org>\r\n", "250"),
        ("RCPT TO:<b@example.org>\r\n", "250"),
        ("DATA\r\n", "354"),
    ] {
        writer.write_all(command.as_bytes()).expect("write");
        let r = reply(&mut reader);
        assert!(r.starts_with(code), "{command}: {r}");
    }
    writer
        .write_all(b"Subject: in flight\r\n\r\nfirst half\r\n")
        .expect("write");
    // Stop while the message is being received.
    let pid = serve_support::pid(&serve);
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
    writer.write_all(b"second half\r\n.\r\n").expect("write");
    let r = reply(&mut reader);
    assert!(r.starts_with("250"), "{r}");
    let messages = serve.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].1.ends_with("first half\r\nsecond half\r\n"));
    let status = serve.terminate_wait();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_cut_off_message_leaves_nothing_behind() {
    let serve = Serve::start(&[]);
    {
        let stream = TcpStream::connect(serve.addrs[0]).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut writer = stream.try_clone().expect("clone");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("greeting");
        // HELO keeps every reply to one line.
        for command in [
            "HELO client.example\r\n",
            "MAIL FROM:<a@example.org>\r\n",
            "RCPT TO:<b@example.org>\r\n",
            "DATA\r\n",
        ] {
            writer.write_all(command.as_bytes()).expect("write");
            line.clear();
            reader.read_line(&mut line).expect("reply");
            assert!(line.starts_with('2') || line.starts_with('3'), "{line}");
        }
        writer
            .write_all(b"Subject: cut\r\n\r\nhalf a message\r\n")
            .expect("write");
    }
    // The connection is gone: the message must not be stored.
    std::thread::sleep(Duration::from_millis(500));
    assert!(serve.messages().is_empty(), "nothing stored, tmp/ empty");
    assert!(serve.next_line(Duration::from_millis(200)).is_none());
}
