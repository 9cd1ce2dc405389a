//! `mailwire relay --queue nats://HOST:PORT/STREAM`: two relay nodes on
//! one JetStream stream, against a real `nats-server` (one server, then a
//! three-node cluster with a replicated stream) and an aiosmtpd
//! smarthost on loopback. Every message that got its `250` arrives; a
//! relay node killed with `kill -9` mid-delivery loses nothing (its
//! entries go to the other node after the acknowledgement wait), and the
//! only duplicates are the documented kind, counted by the relay; a 30
//! MiB message goes through the object store and is gone from it
//! afterwards. Every wait is bounded.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod nats_support;
mod relay_support;

use nats_support::Nats;
use relay_support::*;

/// A relay node on the stream, delivering to the smarthost.
fn node(queue: &str, smarthost: &Smarthost, extra: &[&str]) -> Relay {
    let smarthost = smarthost.addr();
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &smarthost,
        "--tls",
        "disabled",
        "--queue",
        queue,
        "--retry-schedule",
        "1s",
        "--queue-ack-wait",
        "2s",
    ];
    args.extend_from_slice(extra);
    Relay::start(&args)
}

fn message(mid: &str, padding: usize) -> String {
    let mut body = String::from("Hello\r\n");
    for _ in 0..padding {
        body.push_str(&"x".repeat(76));
        body.push_str("\r\n");
    }
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <{mid}@test>\r\nSubject: jetstream\r\n\r\n{body}"
    )
}

/// A client that reports a broken connection instead of failing (the
/// relay it talks to may be killed).
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut c = Client {
            reader: BufReader::new(stream),
        };
        c.expect(220)?;
        c.cmd("EHLO client.test", 250)?;
        Ok(c)
    }

    fn reply(&mut self) -> std::io::Result<u16> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line.len() < 4 {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
            if line.as_bytes()[3] != b'-' {
                return line[..3]
                    .parse()
                    .map_err(|_| std::io::ErrorKind::InvalidData.into());
            }
        }
    }

    fn expect(&mut self, code: u16) -> std::io::Result<()> {
        let got = self.reply()?;
        if got == code {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("{got} instead of {code}")))
        }
    }

    fn cmd(&mut self, line: &str, code: u16) -> std::io::Result<()> {
        write!(self.reader.get_mut(), "{line}\r\n")?;
        self.expect(code)
    }

    /// One message; its final reply code.
    fn mail(&mut self, mid: &str) -> std::io::Result<u16> {
        self.cmd("MAIL FROM:<a@example.org>", 250)?;
        self.cmd("RCPT TO:<b@example.org>", 250)?;
        self.cmd("DATA", 354)?;
        let mut data = message(mid, 0).into_bytes();
        data.extend_from_slice(b".\r\n");
        self.reader.get_mut().write_all(&data)?;
        self.reply()
    }
}

/// What one client got done.
#[derive(Default)]
struct Sent {
    /// Ids answered 250.
    accepted: Vec<usize>,
    /// Ids never answered (the connection broke): sent again elsewhere.
    unanswered: Vec<usize>,
    /// `4xx` answers tried again (JetStream failing over).
    retries: usize,
    /// Ids answered `4xx` at least once: JetStream may have kept the
    /// first copy although its acknowledgement never came.
    refused: Vec<usize>,
}

/// Sends `ids` through `addr` on one connection; a `4xx` is tried again
/// (a bounded number of times); when the connection breaks, the rest is
/// returned unanswered.
fn send_all(addr: SocketAddr, ids: Vec<usize>) -> Sent {
    let mut sent = Sent::default();
    let Ok(mut client) = Client::connect(addr) else {
        sent.unanswered = ids;
        return sent;
    };
    for (n, &i) in ids.iter().enumerate() {
        let mut tries = 0;
        loop {
            match client.mail(&format!("m{i}")) {
                Ok(250) => {
                    sent.accepted.push(i);
                    break;
                }
                Ok(code) if code / 100 == 4 => {
                    tries += 1;
                    sent.retries += 1;
                    if tries == 1 {
                        sent.refused.push(i);
                    }
                    assert!(tries < 50, "message {i} refused {tries} times ({code})");
                    let _ = client.cmd("RSET", 250);
                    std::thread::sleep(Duration::from_millis(200));
                }
                Ok(code) => panic!("message {i}: {code}"),
                Err(_) => {
                    sent.unanswered = ids[n..].to_vec();
                    return sent;
                }
            }
        }
    }
    let _ = client.cmd("QUIT", 221);
    sent
}

/// Message-ID → copies that reached the smarthost.
fn arrivals(smarthost: &Smarthost) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    let Ok(dir) = std::fs::read_dir(&smarthost.mail) else {
        return seen;
    };
    for e in dir.filter_map(Result::ok) {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "env") {
            continue;
        }
        let eml = path.with_extension("eml");
        let data = std::fs::read(&eml).unwrap_or_default();
        let text = String::from_utf8_lossy(&data[..data.len().min(4096)]);
        let mid = text
            .lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap_or("?")
            .trim()
            .to_owned();
        *seen.entry(mid).or_default() += 1;
    }
    seen
}

/// The relay's own count of possible duplicates (its last log line that
/// gives it).
fn counted_duplicates(log: &str) -> usize {
    log.lines()
        .filter_map(|l| l.split("possible duplicates since start: ").nth(1))
        .filter_map(|n| n.trim_end_matches(')').trim().parse::<usize>().ok())
        .max()
        .unwrap_or(0)
}

/// `messages` through two nodes (half each, two clients per node); what
/// a client could not get answered (its node was killed) goes through
/// the other node, a `4xx` is tried again. Returns the ids the clients
/// sent twice (no answer, or a `4xx`: SMTP's own duplicate, since the
/// first copy may have been kept) and the 4xx retries.
fn send_through(a: SocketAddr, b: SocketAddr, messages: usize) -> (HashSet<usize>, usize) {
    let senders: Vec<_> = (0..4)
        .map(|c| {
            let addr = if c % 2 == 0 { a } else { b };
            let ids: Vec<usize> = (c..messages).step_by(4).collect();
            std::thread::spawn(move || (addr, send_all(addr, ids)))
        })
        .collect();
    let mut resent = HashSet::new();
    let mut retries = 0;
    let mut left = Vec::new();
    for s in senders {
        let (addr, sent) = s.join().expect("sender");
        retries += sent.retries;
        resent.extend(sent.refused.iter().copied());
        if !sent.unanswered.is_empty() {
            left.push((if addr == a { b } else { a }, sent.unanswered));
        }
    }
    for (other, ids) in left {
        resent.extend(ids.iter().copied());
        let again = send_all(other, ids);
        assert!(again.unanswered.is_empty(), "the other node answered");
        retries += again.retries;
        resent.extend(again.refused.iter().copied());
    }
    (resent, retries)
}

/// Waits (bounded) until every message arrived once at least.
fn wait_for_all(smarthost: &Smarthost, messages: usize) {
    wait_until(
        "as many arrivals as messages",
        Duration::from_secs(60),
        || smarthost.count() >= messages,
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while arrivals(smarthost).len() < messages {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for every message"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Every message arrived; a message arrived twice only when its client
/// sent it twice (no answer the first time) or as a duplicate the relays
/// counted. Returns the counted kind.
fn check_every_message(
    smarthost: &Smarthost,
    messages: usize,
    resent: &HashSet<usize>,
    counted: usize,
) -> usize {
    let seen = arrivals(smarthost);
    for i in 0..messages {
        let mid = format!("<m{i}@test>");
        assert!(seen.contains_key(&mid), "message {mid} never arrived");
    }
    assert_eq!(seen.len(), messages, "only the messages sent");
    assert!(seen.values().all(|&n| n <= 2), "no message more than twice");
    let duplicates: usize = (0..messages)
        .filter(|i| !resent.contains(i))
        .map(|i| seen[&format!("<m{i}@test>")] - 1)
        .sum();
    assert!(
        duplicates <= counted,
        "{duplicates} duplicates arrived, the relays counted {counted} possible ones"
    );
    duplicates
}

/// The check on one server: 2,000 messages through two nodes;
/// node b is killed with `kill -9` while deliveries are under way; every
/// message arrives, node a taking over b's entries after the
/// acknowledgement wait.
#[test]
fn two_nodes_on_one_server_survive_kill_9_of_a_node() {
    const MESSAGES: usize = 2000;
    let nats = Nats::single();
    let queue = nats.queue("MAIL");
    let smarthost = Smarthost::start();
    let a = node(&queue, &smarthost, &[]);
    let mut b = node(&queue, &smarthost, &[]);
    let started = Instant::now();
    let sender = {
        let (a, b) = (a.addr, b.addr);
        std::thread::spawn(move || send_through(a, b, MESSAGES))
    };
    wait_until("a quarter delivered", Duration::from_secs(60), || {
        smarthost.count() >= MESSAGES / 4
    });
    let _ = b.process.0.kill();
    let _ = b.process.0.wait();
    let killed_at = smarthost.count();
    let (resent, retries) = sender.join().expect("senders");
    wait_for_all(&smarthost, MESSAGES);
    // A redelivery of the killed node's last entries shows by now.
    std::thread::sleep(Duration::from_secs(3));
    let counted = counted_duplicates(&a.log());
    let duplicates = check_every_message(&smarthost, MESSAGES, &resent, counted);
    assert!(killed_at < MESSAGES, "node b was killed mid-run");
    assert!(
        a.log().contains("follows one that recorded nothing") && counted >= 1,
        "node a took over the entries node b had under way"
    );
    eprintln!(
        "single server: {MESSAGES} messages in {:?}; node b killed after {killed_at} deliveries; \
         {duplicates} duplicates of the counted kind ({counted} counted); {} sent again by clients; {retries} 4xx retries",
        started.elapsed(),
        resent.len()
    );
}

/// The check on a three-node cluster: the stream, the state
/// bucket and the object store have three replicas; the stream's leader
/// is killed early while 2,000 messages go through two nodes. Clients may get a
/// `4xx` while a new leader is elected (and send again); every message
/// that got its `250` arrives.
#[test]
fn two_nodes_on_a_cluster_survive_the_loss_of_a_nats_node() {
    const MESSAGES: usize = 2000;
    let mut nats = Nats::cluster();
    let queue = nats.queue("MAIL");
    let smarthost = Smarthost::start();
    let a = node(&queue, &smarthost, &["--queue-replicas", "3"]);
    let b = node(&queue, &smarthost, &["--queue-replicas", "3"]);
    let started = Instant::now();
    let sender = {
        let (a, b) = (a.addr, b.addr);
        std::thread::spawn(move || send_through(a, b, MESSAGES))
    };
    // Early, while the clients are still sending.
    wait_until("a twentieth delivered", Duration::from_secs(60), || {
        smarthost.count() >= MESSAGES / 20
    });
    let leader = nats.stream_leader("MAIL").expect("the stream has a leader");
    nats.nodes[leader].kill();
    let killed_at = smarthost.count();
    let (resent, retries) = sender.join().expect("senders");
    wait_for_all(&smarthost, MESSAGES);
    std::thread::sleep(Duration::from_secs(2));
    let counted = counted_duplicates(&a.log()) + counted_duplicates(&b.log());
    let duplicates = check_every_message(&smarthost, MESSAGES, &resent, counted);
    assert!(killed_at < MESSAGES, "the NATS node was killed mid-run");
    let jsz = nats
        .any_running()
        .http("/jsz?streams=true&config=true")
        .unwrap_or_default();
    let jsz: serde_json::Value = serde_json::from_str(&jsz).expect("jsz is JSON");
    let replicas = jsz["account_details"][0]["stream_detail"]
        .as_array()
        .expect("streams")
        .iter()
        .find(|s| s["name"] == "MAIL")
        .map(|s| s["config"]["num_replicas"].clone());
    assert_eq!(
        replicas,
        Some(serde_json::json!(3)),
        "the stream has three replicas"
    );
    eprintln!(
        "cluster: {MESSAGES} messages in {:?}; NATS node n{leader} (the stream's leader) killed after {killed_at} deliveries; \
         {duplicates} duplicates of the counted kind ({counted} counted); {} sent again by clients; {retries} 4xx retries",
        started.elapsed(),
        resent.len()
    );
}

/// A body over the servers' payload limit (1 MiB by default) goes into
/// the object store; it arrives whole, and the object store holds nothing
/// of it once it is delivered.
#[test]
fn a_30_mib_message_goes_through_the_object_store() {
    let nats = Nats::single();
    let queue = nats.queue("BIG");
    let smarthost = Smarthost::start();
    let relay = node(&queue, &smarthost, &["--max-size", "40000000"]);
    let mut client = Client::connect(relay.addr).expect("connect");
    // 30 MiB of 78-octet lines.
    let lines = 30 * 1024 * 1024 / 78;
    let body = message("big", lines);
    assert!(body.len() >= 30 * 1024 * 1024);
    client.cmd("MAIL FROM:<a@example.org>", 250).expect("MAIL");
    client.cmd("RCPT TO:<b@example.org>", 250).expect("RCPT");
    client.cmd("DATA", 354).expect("DATA");
    let mut data = body.clone().into_bytes();
    data.extend_from_slice(b".\r\n");
    client.reader.get_mut().write_all(&data).expect("write");
    assert_eq!(client.reply().expect("reply"), 250);
    wait_until("the large message arrives", Duration::from_secs(60), || {
        smarthost.count() >= 1
    });
    let eml = std::fs::read_dir(&smarthost.mail)
        .expect("mail dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "eml"))
        .expect("a stored message");
    let got = std::fs::read(eml).expect("read");
    // The relay adds its Received header in front.
    assert!(
        got.len() > body.len() && got.ends_with(&body.as_bytes()[body.len() - 1000..]),
        "arrived whole: {} octets for {}",
        got.len(),
        body.len()
    );
    let log = relay.log();
    assert!(
        log.contains("read from the object store"),
        "went through the object store: {log}"
    );
    let node = nats.any_running();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let streams = node.streams();
        let bodies = streams
            .iter()
            .find(|(name, _, _)| name == "OBJ_mailwire-BIG-bodies")
            .map(|&(_, _, bytes)| bytes);
        let queued = streams
            .iter()
            .find(|(name, _, _)| name == "BIG")
            .map(|&(_, m, _)| m);
        if bodies.is_some_and(|b| b < 64 * 1024) && queued == Some(0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the object store still holds the body: {streams:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// With no smarthost reachable, an entry is tried on the schedule until
/// `--max-queue-age`, then its recipient fails and the sender's DSN is
/// queued on the same stream; the DSN (from `<>`) expires in turn without
/// a notification of its own, and the stream is empty at the end.
#[test]
fn an_expired_entry_gets_its_dsn_through_the_stream() {
    let nats = Nats::single();
    let queue = nats.queue("EXPIRE");
    let mut smarthost = Smarthost::start();
    smarthost.stop();
    let relay = node(&queue, &smarthost, &["--max-queue-age", "2s"]);
    let mut client = Client::connect(relay.addr).expect("connect");
    assert_eq!(client.mail("expire").expect("mail"), 250);
    wait_until("the DSN expires too", Duration::from_secs(30), || {
        relay.log().contains("the sender is <>")
    });
    let log = relay.log();
    assert!(log.contains("status=expired"), "{log}");
    assert!(log.contains("sender non-delivery notification"), "{log}");
    assert!(
        log.matches("status=deferred").count() >= 2,
        "tried on the schedule: {log}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = nats
            .any_running()
            .streams()
            .iter()
            .find(|(name, _, _)| name == "EXPIRE")
            .map(|&(_, m, _)| m);
        if left == Some(0) {
            break;
        }
        assert!(Instant::now() < deadline, "the stream still holds {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A NATS server that asks for a user and a password: the right ones in
/// the address carry mail through; wrong ones stop the relay at start
/// with a sentence that does not show the password.
#[test]
fn credentials_in_the_queue_address() {
    let nats = Nats::single_with(&["--user", "relay", "--pass", "s3cret:pw"]);
    let hosts = nats.queue("AUTH");
    let smarthost = Smarthost::start();
    let with = |login: &str| hosts.replacen("nats://", &format!("nats://{login}@"), 1);

    let wrong = with("relay:wrong-pw");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args([
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--smarthost",
            &smarthost.addr(),
        ])
        .args(["--tls", "disabled", "--queue", &wrong])
        .output()
        .expect("run mailwire relay");
    assert!(
        !refused.status.success(),
        "wrong credentials must stop the relay"
    );
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("cannot connect to nats://relay:***@"),
        "{said}"
    );
    assert!(!said.contains("wrong-pw"), "the password shows: {said}");

    // ':' in the password is written %3A.
    let relay = node(&with("relay:s3cret%3Apw"), &smarthost, &[]);
    assert!(
        !relay.log().contains("s3cret"),
        "the password shows: {}",
        relay.log()
    );
    let mut client = Client::connect(relay.addr).expect("connect");
    client.cmd("MAIL FROM:<a@example.org>", 250).expect("MAIL");
    client.cmd("RCPT TO:<b@example.org>", 250).expect("RCPT");
    client.cmd("DATA", 354).expect("DATA");
    let mut data = message("with-credentials", 1).into_bytes();
    data.extend_from_slice(b".\r\n");
    client.reader.get_mut().write_all(&data).expect("write");
    assert_eq!(client.reply().expect("reply"), 250);
    wait_until("the message arrives", Duration::from_secs(30), || {
        smarthost.count() >= 1
    });
}
