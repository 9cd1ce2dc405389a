//! `mailwire serve` against hostile and sloppy peers, over real sockets:
//! an endless line is answered and cut off, a dripped command times out,
//! an absurd BDAT size is refused at once, protocol errors and refusals
//! are counted apart, and `--strict` refuses bare line ends and NUL.

mod serve_support;

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serve_support::{Serve, pid};

/// A scripted client on a raw socket.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    /// Connects and reads the greeting.
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let writer = stream.try_clone().expect("clone");
        let mut c = Client {
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = c.reply();
        assert!(greeting.starts_with("220 "), "{greeting}");
        c
    }

    /// One whole reply (every line of a multi-line one); empty at the end
    /// of the stream.
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) => return all,
                Ok(_) => {}
                Err(e) => panic!("reading a reply after {all:?}: {e}"),
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] != b'-' {
                return all;
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    fn cmd(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Whether the server closed the connection (end of stream, or a reset
    /// once it stopped reading).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            Err(e) => e.kind() == ErrorKind::ConnectionReset,
        }
    }
}

/// The resident set size of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_hundred_mib_without_a_newline_is_answered_and_cut_off() {
    let serve = Serve::start(&[]);
    let mut warm = Client::connect(serve.addrs[0]);
    assert_eq!(warm.cmd("QUIT").get(..4), Some("221 "));
    let before = rss_kib(pid(&serve));

    let mut c = Client::connect(serve.addrs[0]);
    assert!(c.cmd("EHLO client.example").starts_with("250"));
    // The attacker: 100 MiB of one line, in 64 KiB writes, until the
    // server stops taking them.
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writer = c.writer.try_clone().expect("clone");
    let (sent_w, stop_w) = (sent.clone(), stop.clone());
    let attacker = std::thread::spawn(move || {
        let block = vec![b'A'; 64 << 10];
        for _ in 0..1600 {
            if stop_w.load(Ordering::Relaxed) || writer.write_all(&block).is_err() {
                break;
            }
            sent_w.fetch_add(block.len() as u64, Ordering::Relaxed);
        }
    });
    let started = Instant::now();
    // Answered while the line goes on, then cut off at the 1 MiB cap.
    assert_eq!(c.reply(), "500 5.5.2 Line too long\r\n");
    assert_eq!(c.reply(), "421 4.7.0 Line too long, closing connection\r\n");
    let answered_in = started.elapsed();
    assert!(c.closed(), "the session is closed");
    stop.store(true, Ordering::Relaxed);
    attacker.join().expect("attacker");
    let after = rss_kib(pid(&serve));
    eprintln!(
        "answered and closed in {answered_in:?}; {} MiB written; VmRSS {before} KiB before, {after} KiB after",
        sent.load(Ordering::Relaxed) >> 20
    );
    assert!(answered_in < Duration::from_secs(10), "{answered_in:?}");
    assert!(
        after < before + 8 * 1024,
        "VmRSS grew from {before} KiB to {after} KiB"
    );
    // The server goes on serving.
    let mut next = Client::connect(serve.addrs[0]);
    assert_eq!(next.cmd("NOOP"), "250 OK\r\n");
}

#[test]
fn a_hundred_mib_of_over_long_lines_is_dropped_without_growing() {
    let serve = Serve::start(&["--max-errors", "1000"]);
    let mut c = Client::connect(serve.addrs[0]);
    assert!(c.cmd("EHLO client.example").starts_with("250"));
    let before = rss_kib(pid(&serve));
    // 100 lines of 1,000,000 octets: each within the 1 MiB discard cap.
    let mut writer = c.writer.try_clone().expect("clone");
    let started = Instant::now();
    let sender = std::thread::spawn(move || {
        let mut line = vec![b'A'; 1_000_000];
        line.extend_from_slice(b"\r\n");
        for _ in 0..100 {
            writer.write_all(&line).expect("write");
        }
    });
    for i in 0..100 {
        assert_eq!(c.reply(), "500 5.5.2 Line too long\r\n", "line {i}");
    }
    sender.join().expect("sender");
    assert_eq!(c.cmd("NOOP"), "250 2.0.0 OK\r\n");
    let after = rss_kib(pid(&serve));
    eprintln!(
        "100 over-long lines (100 MB) answered in {:?}; VmRSS {before} KiB before, {after} KiB after",
        started.elapsed()
    );
    assert!(
        after < before + 8 * 1024,
        "VmRSS grew from {before} KiB to {after} KiB"
    );
}

#[test]
fn a_command_sent_one_byte_a_second_times_out() {
    let serve = Serve::start(&["--command-timeout", "2s"]);
    let mut c = Client::connect(serve.addrs[0]);
    assert!(c.cmd("EHLO client.example").starts_with("250"));
    let greeted = Instant::now();
    let mut writer = c.writer.try_clone().expect("clone");
    let dripper = std::thread::spawn(move || {
        for &b in b"NOOP and more and more\r\n" {
            if writer.write_all(&[b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    assert_eq!(c.reply(), "421 4.4.2 Timeout, closing connection\r\n");
    let waited = greeted.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(4),
        "timed out after {waited:?}, not within the 2 s command timeout"
    );
    assert!(c.closed());
    drop(c);
    dripper.join().expect("dripper");
}

#[test]
fn an_absurd_bdat_size_is_refused_at_once() {
    let serve = Serve::start(&[]);
    let mut c = Client::connect(serve.addrs[0]);
    assert!(c.cmd("EHLO client.example").contains("CHUNKING"));
    assert!(c.cmd("MAIL FROM:<a@example.org>").starts_with("250 "));
    assert!(c.cmd("RCPT TO:<b@example.org>").starts_with("250 "));
    let asked = Instant::now();
    c.send(b"BDAT 1000000000000000 LAST\r\n");
    assert_eq!(
        c.reply(),
        "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(
        c.reply(),
        "421 4.7.0 Refused chunk too large to discard, closing connection\r\n"
    );
    assert!(c.closed());
    assert!(serve.messages().is_empty());
}

#[test]
fn twenty_refused_recipients_then_a_good_one_is_delivered() {
    let mut serve = Serve::start(&["--reject-recipient", "*@spam.example"]);
    let mut c = Client::connect(serve.addrs[0]);
    c.cmd("EHLO client.example");
    assert!(c.cmd("MAIL FROM:<a@example.org>").starts_with("250 "));
    for i in 0..20 {
        let r = c.cmd(&format!("RCPT TO:<u{i}@spam.example>"));
        assert!(r.starts_with("550 5.1.1"), "{i}: {r}");
    }
    assert!(c.cmd("RCPT TO:<b@example.org>").starts_with("250 "));
    assert!(c.cmd("DATA").starts_with("354 "));
    let r = c.cmd("Subject: after refusals\r\n\r\nhello\r\n.");
    assert!(r.starts_with("250 "), "{r}");
    assert!(c.cmd("QUIT").starts_with("221 "));
    let stored = serve.messages();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].1.contains("X-Envelope-To: <b@example.org>\r\n"));
    assert!(!stored[0].1.contains("spam.example"));
    assert!(serve.terminate().success());
}

#[test]
fn eleven_unknown_commands_close_the_session_with_421() {
    let serve = Serve::start(&[]);
    let mut c = Client::connect(serve.addrs[0]);
    assert!(c.cmd("EHLO client.example").starts_with("250"));
    c.send(&b"XYZZY\r\n".repeat(11));
    // The tenth is answered, then the session is closed: the eleventh is
    // never run.
    for i in 1..=10 {
        assert_eq!(c.reply(), "500 5.5.2 Command unrecognized\r\n", "{i}");
    }
    assert_eq!(
        c.reply(),
        "421 4.7.0 Too many errors, closing connection\r\n"
    );
    assert!(c.closed());
}

#[test]
fn the_limits_are_set_from_the_command_line() {
    let serve = Serve::start(&[
        "--max-errors",
        "2",
        "--max-refusals",
        "3",
        "--reject-recipient",
        "*@spam.example",
    ]);
    let mut c = Client::connect(serve.addrs[0]);
    assert!(c.cmd("EHLO client.example").starts_with("250"));
    assert_eq!(c.cmd("XYZZY"), "500 5.5.2 Command unrecognized\r\n");
    assert_eq!(c.cmd("XYZZY"), "500 5.5.2 Command unrecognized\r\n");
    assert_eq!(
        c.reply(),
        "421 4.7.0 Too many errors, closing connection\r\n"
    );

    let mut c = Client::connect(serve.addrs[0]);
    c.cmd("EHLO client.example");
    c.cmd("MAIL FROM:<a@example.org>");
    for _ in 0..2 {
        assert!(c.cmd("RCPT TO:<x@spam.example>").starts_with("550 "));
    }
    assert!(c.cmd("RCPT TO:<x@spam.example>").starts_with("550 "));
    assert_eq!(
        c.reply(),
        "421 4.7.0 Too many refused senders or recipients, closing connection\r\n"
    );
    assert!(c.closed());
}

/// Sends one message with `body` as its data (terminator added); returns
/// the final reply.
fn send_body(addr: SocketAddr, body: &[u8]) -> String {
    let mut c = Client::connect(addr);
    c.cmd("EHLO client.example");
    c.cmd("MAIL FROM:<a@example.org>");
    c.cmd("RCPT TO:<b@example.org>");
    assert!(c.cmd("DATA").starts_with("354 "));
    c.send(body);
    c.send(b"\r\n.\r\n");
    c.reply()
}

#[test]
fn strict_refuses_bare_line_ends_and_nul() {
    let bad: [&[u8]; 3] = [
        b"Subject: lf\r\n\r\nbare\nLF",
        b"Subject: cr\r\n\r\nbare\rCR",
        b"Subject: nul\r\n\r\na \0 NUL",
    ];
    let strict = Serve::start(&["--strict"]);
    for body in bad {
        let r = send_body(strict.addrs[0], body);
        assert!(r.starts_with("550 5.6.0 "), "{body:?}: {r}");
    }
    let r = send_body(strict.addrs[0], b"Subject: clean\r\n\r\nfine\r\n");
    assert!(r.starts_with("250 "), "{r}");
    let stored = strict.messages();
    assert_eq!(stored.len(), 1, "only the clean message");
    assert!(stored[0].1.contains("Subject: clean"));

    // Without --strict they are normalised or kept, and stored.
    let lenient = Serve::start(&[]);
    for body in bad {
        let r = send_body(lenient.addrs[0], body);
        assert!(r.starts_with("250 "), "{body:?}: {r}");
    }
    let stored = lenient.messages();
    assert_eq!(stored.len(), 3);
    assert!(stored.iter().any(|(_, text)| text.contains("a \0 NUL")));
}
