//! Bulk sending that finishes the job: more connections than the server
//! takes, a server that ends every session with 421 after ten messages;
//! every message arrives exactly once, and the text and JSON summaries
//! give the same counts.

mod send_support;
mod serve_support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use send_support::{Run, at, send};
use serve_support::Serve;

fn bulk(port: u16, count: &str, connections: &str, json: bool) -> Run {
    let server = at(port);
    let mut args = vec![
        "--server",
        &server,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--subject",
        "bulk",
        "--repeat",
        count,
        "--connections",
        connections,
        "--timeout",
        "10s",
    ];
    if json {
        args.push("--json");
    }
    send(&args)
}

/// The counts of the text summary: `sent N of M` and the detail line.
fn text_counts(run: &Run) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for line in run.stdout.lines() {
        let words: Vec<&str> = line
            .split([' ', ',', '(', ')', ':'])
            .filter(|w| !w.is_empty())
            .collect();
        if words.first() == Some(&"sent") {
            counts.insert("sent".to_owned(), words[1].parse().expect("sent N"));
            counts.insert("messages".to_owned(), words[3].parse().expect("of M"));
        }
        for pair in words.windows(2) {
            if let Ok(n) = pair[1].parse::<u64>()
                && ["partial", "unknown", "failed", "retried"].contains(&pair[0])
            {
                counts.insert(pair[0].to_owned(), n);
            }
        }
        if let Some(at) = words.iter().position(|w| *w == "not")
            && words.get(at + 1) == Some(&"sent")
        {
            let n = words[at + 2].parse().expect("not sent N");
            counts.insert("not_sent".to_owned(), n);
        }
    }
    counts
}

/// The same counts from the JSON summary.
fn json_counts(run: &Run) -> HashMap<String, u64> {
    let json = run.json();
    let mut counts = HashMap::new();
    for (key, field) in [
        ("sent", "sent_messages"),
        ("messages", "messages"),
        ("partial", "partial_messages"),
        ("not_sent", "not_sent_messages"),
        ("unknown", "unknown_messages"),
        ("failed", "failed_messages"),
        ("retried", "retried_messages"),
    ] {
        counts.insert(key.to_owned(), json[field].as_u64().expect(field));
    }
    counts
}

/// The text's counts agree with the JSON's wherever the text gives one.
fn assert_agree(text: &HashMap<String, u64>, json: &HashMap<String, u64>) {
    assert!(text.contains_key("sent"), "{text:?}");
    for (key, n) in text {
        assert_eq!(json.get(key), Some(n), "{key}: text {text:?} json {json:?}");
    }
}

fn wait_stored(serve: &Serve, n: usize) -> usize {
    let start = Instant::now();
    loop {
        let stored = serve.messages().len();
        if stored >= n || start.elapsed() > Duration::from_secs(20) {
            return stored;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn twenty_connections_into_a_server_that_takes_five_deliver_all_500() {
    let serve = Serve::start(&["--max-connections", "5"]);
    let run = bulk(serve.port(), "500", "20", true);
    assert_eq!(run.status, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(json["sent_messages"], 500, "{json}");
    assert_eq!(json["failed_messages"], 0, "{json}");
    assert!(
        json["connect_failures"].as_u64().is_some_and(|n| n > 0),
        "{json}"
    );
    assert_eq!(wait_stored(&serve, 500), 500);

    // The text summary of the same kind of run says the same.
    let serve = Serve::start(&["--max-connections", "5"]);
    let text = bulk(serve.port(), "100", "20", false);
    assert_eq!(text.status, 0, "{text:#?}");
    assert!(
        text.stdout.starts_with("sent 100 of 100 messages"),
        "{text:#?}"
    );
}

/// A server (no PIPELINING) that accepts ten messages per session, then
/// says 421 and closes; it records each message's Message-ID.
fn closes_after_ten(ids: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let ids = ids.clone();
            std::thread::spawn(move || session(stream, &ids));
        }
    });
    port
}

fn session(stream: TcpStream, ids: &Mutex<Vec<String>>) {
    let mut out = stream.try_clone().expect("clone");
    let mut lines = BufReader::new(stream);
    let mut say = |text: &[u8]| out.write_all(text).is_ok();
    if !say(b"220 ten.test ESMTP\r\n") {
        return;
    }
    let mut accepted = 0;
    let mut data: Option<String> = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let text = line.trim_end();
        if let Some(id) = data.as_mut() {
            if text == "." {
                ids.lock().expect("ids").push(std::mem::take(id));
                data = None;
                accepted += 1;
                if !say(b"250 2.0.0 queued\r\n") {
                    return;
                }
                if accepted == 10 {
                    let _ = say(b"421 4.3.2 ten is enough for one session\r\n");
                    return;
                }
            } else if text.to_ascii_lowercase().starts_with("message-id:") {
                *id = text.to_owned();
            }
            continue;
        }
        let command = text.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-ten.test\r\n250 8BITMIME\r\n"
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
fn a_server_that_closes_with_421_after_ten_messages_gets_each_once() {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let port = closes_after_ten(ids.clone());
    let run = bulk(port, "95", "3", true);
    assert_eq!(run.status, 0, "{run:#?}");
    let json = json_counts(&run);
    assert_eq!(json["sent"], 95, "{json:?}");
    let got = ids.lock().expect("ids").clone();
    assert_eq!(got.len(), 95, "every message arrived");
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 95, "no message arrived twice");

    // Text and JSON agree, retries included.
    let ids = Arc::new(Mutex::new(Vec::new()));
    let port = closes_after_ten(ids.clone());
    let text = bulk(port, "35", "2", false);
    assert_eq!(text.status, 0, "{text:#?}");
    let ids2 = Arc::new(Mutex::new(Vec::new()));
    let port2 = closes_after_ten(ids2.clone());
    let json = bulk(port2, "35", "2", true);
    assert_eq!(json.status, 0, "{json:#?}");
    let (text, json) = (text_counts(&text), json_counts(&json));
    assert_eq!(text["sent"], 35, "{text:?}");
    assert_eq!(json["sent"], 35, "{json:?}");
    assert_eq!(ids.lock().expect("ids").len(), 35);
    assert_eq!(ids2.lock().expect("ids").len(), 35);
    // Retries depend on timing; the kinds of count agree in both forms.
    let mut text = text;
    text.remove("retried");
    assert_agree(&text, &json);
}

#[test]
fn refused_messages_are_counted_the_same_in_text_and_json() {
    let serve = Serve::start(&["--reject-recipient", "*@y.test"]);
    let text = bulk(serve.port(), "7", "2", false);
    let json = bulk(serve.port(), "7", "2", true);
    assert_eq!(text.status, 3, "{text:#?}");
    assert_eq!(json.status, 3, "{json:#?}");
    let (tc, jc) = (text_counts(&text), json_counts(&json));
    assert_eq!(tc["sent"], 0, "{text:#?}");
    assert_eq!(tc["not_sent"], 7, "{text:#?}");
    assert_agree(&tc, &jc);
    let j = json.json();
    let by_code = j["refused_by_code"].as_object().expect("by code");
    assert_eq!(
        by_code.values().filter_map(|v| v.as_u64()).sum::<u64>(),
        7,
        "{j}"
    );
    assert!(
        text.stdout.contains("(550 7)") || text.stdout.contains("(5"),
        "{text:#?}"
    );
}
