//! Bulk sending batches across messages (RFC 2920 §3.1): with PIPELINING
//! the next message's MAIL follows a final dot before its reply. A server
//! that holds each dot's reply back until the next command arrives (or
//! 300 ms pass) sees it; it refuses some messages at the dot (554) and
//! ends every session with a 421 to a dot; every message still ends
//! exactly once — accepted or refused, never both, never twice — and the
//! client's counts are the server's.

mod send_support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use send_support::{at, send};

/// What the server saw.
#[derive(Debug, Default)]
struct Seen {
    accepted: Vec<String>,
    refused: Vec<String>,
    /// Dots refused with 421 (the message goes to a new connection).
    closed_on: Vec<String>,
    /// Dots whose next command came before their reply.
    batched: usize,
    dots: usize,
}

fn server(seen: Arc<Mutex<Seen>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || session(stream, &seen));
        }
    });
    port
}

fn session(stream: TcpStream, seen: &Mutex<Seen>) {
    let mut out = stream.try_clone().expect("clone");
    let mut lines = BufReader::new(stream);
    let mut say = |text: &[u8]| out.write_all(text).is_ok();
    if !say(b"220 batch.test ESMTP\r\n") {
        return;
    }
    let mut in_session = 0;
    let mut data: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let text = line.trim_end();
        if let Some(id) = data.as_mut() {
            if text != "." {
                if text.to_ascii_lowercase().starts_with("message-id:") {
                    *id = text.to_owned();
                }
                continue;
            }
            let id = std::mem::take(id);
            data = None;
            in_session += 1;
            // Hold the reply back: does the next command come first?
            let _ = lines
                .get_ref()
                .set_read_timeout(Some(Duration::from_millis(300)));
            let batched = match lines.fill_buf() {
                Ok(buf) => !buf.is_empty(),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
                Err(_) => return,
            };
            let _ = lines.get_ref().set_read_timeout(None);
            let mut s = seen.lock().expect("seen");
            s.dots += 1;
            s.batched += usize::from(batched);
            if in_session == 12 {
                s.closed_on.push(id);
                drop(s);
                let _ = say(b"421 4.3.2 twelve is enough for one session\r\n");
                return;
            }
            let reply: &[u8] = if s.dots % 7 == 3 {
                s.refused.push(id);
                b"554 5.7.1 this one is refused\r\n"
            } else {
                s.accepted.push(id);
                b"250 2.0.0 queued\r\n"
            };
            drop(s);
            if !say(reply) {
                return;
            }
            continue;
        }
        let command = text.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-batch.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
        } else if command == "DATA" {
            data = Some(String::new());
            b"354 go on\r\n"
        } else if command == "QUIT" {
            let _ = say(b"221 bye\r\n");
            return;
        } else {
            b"250 OK\r\n"
        };
        if !say(reply) {
            return;
        }
    }
}

#[test]
fn the_next_mail_follows_the_dot_and_every_message_ends_once() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let port = server(seen.clone());
    let server = at(port);
    let run = send(&[
        "--server",
        &server,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--subject",
        "batched",
        "--repeat",
        "60",
        "--connections",
        "3",
        "--timeout",
        "10s",
        "--json",
    ]);
    let json = run.json();
    let seen = seen.lock().expect("seen");
    // Each connection's last message waits for its reply; the others are
    // batched with the next message's MAIL.
    assert!(
        seen.batched * 2 > seen.dots,
        "only {} of {} dots were followed by the next command before their reply",
        seen.batched,
        seen.dots
    );
    assert!(!seen.closed_on.is_empty(), "{seen:?}");
    let accepted: HashSet<&String> = seen.accepted.iter().collect();
    let refused: HashSet<&String> = seen.refused.iter().collect();
    assert_eq!(
        accepted.len(),
        seen.accepted.len(),
        "a message accepted twice"
    );
    assert_eq!(refused.len(), seen.refused.len(), "a message refused twice");
    assert!(
        accepted.is_disjoint(&refused),
        "a message both accepted and refused"
    );
    assert_eq!(accepted.len() + refused.len(), 60, "{seen:?}");
    // The client's counts are the server's.
    assert_eq!(json["messages"], 60, "{json}");
    assert_eq!(json["sent_messages"], seen.accepted.len() as u64, "{json}");
    assert_eq!(
        json["not_sent_messages"],
        seen.refused.len() as u64,
        "{json}"
    );
    assert_eq!(
        json["refused_by_code"]["554"],
        seen.refused.len() as u64,
        "{json}"
    );
    assert_eq!(json["unknown_messages"], 0, "{json}");
    assert_eq!(json["failed_messages"], 0, "{json}");
    assert_eq!(
        run.status, 3,
        "some messages were refused for good: {run:#?}"
    );
}
