//! `mailwire relay --queue DIR` against real peers on loopback: an
//! aiosmtpd smarthost that can be told to refuse (per recipient, at the
//! end of data, a number of times), Postfix's smtp-sink, `kill -9` of the
//! relay, and `mailwire queue`. Every wait is bounded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod relay_support;

use relay_support::*;

/// aiosmtpd as a smarthost on a given port: appends one JSON line per
/// accepted recipient (`mid`, `rcpt`, `from`, `file`) to `log`, stores
/// each message as `N.eml` beside it. `rules`: `data_451` (answer the end
/// of data 451 that many times first) and `rcpt` (address → [code, text,
/// times]; without times: always).
const SCRIPTED: &str = r#"
import asyncio, json, os, re, sys
from aiosmtpd.smtp import SMTP
port, log, rules = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
state = {"data": 0, "rcpt": {}, "n": 0}
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rule = rules.get("rcpt", {}).get(address)
        if rule:
            n = state["rcpt"].get(address, 0)
            state["rcpt"][address] = n + 1
            if len(rule) < 3 or n < rule[2]:
                return "%d %s" % (rule[0], rule[1])
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"
    async def handle_DATA(self, server, session, envelope):
        state["data"] += 1
        if state["data"] <= rules.get("data_451", 0):
            return "451 4.3.0 Try again later"
        data = envelope.original_content or envelope.content
        drop = state["data"] <= rules.get("data_drop", 0)
        m = re.search(rb"(?im)^Message-ID:\s*(\S+)", data)
        mid = m.group(1).decode() if m else None
        state["n"] += 1
        name = os.path.join(os.path.dirname(log), "%d.eml" % state["n"])
        with open(name, "wb") as f:
            f.write(data)
        with open(log, "a") as f:
            for r in envelope.rcpt_tos:
                f.write(json.dumps({"mid": mid, "rcpt": r, "from": envelope.mail_from, "file": name}) + "\n")
        if drop:
            # Taken, but the reply never comes: the connection breaks.
            server.transport.abort()
            return "250 2.0.0 OK"
        return "250 2.0.0 OK"
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(Handler(), hostname="smarthost.test", enable_SMTPUTF8=True, decode_data=False),
        "127.0.0.1", port)
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"#;

/// The scripted aiosmtpd smarthost.
struct Scripted {
    _process: Guard,
    log: PathBuf,
    _dir: TempDir,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
struct Arrival {
    mid: Option<String>,
    rcpt: String,
    from: String,
    file: String,
}

impl Scripted {
    fn start(port: u16, rules: &str) -> Scripted {
        require(
            &["python3", "-c", "import aiosmtpd"],
            "python3 with aiosmtpd",
        );
        let dir = TempDir::new("scripted");
        let script = dir.0.join("smarthost.py");
        std::fs::write(&script, SCRIPTED).expect("script");
        let log = dir.0.join("mail").join("log");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(&log)
            .arg(rules)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3");
        let stdout = child.stdout.take().expect("stdout");
        let guard = Guard(child);
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        Scripted {
            _process: guard,
            log,
            _dir: dir,
        }
    }

    fn arrivals(&self) -> Vec<Arrival> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a log line"))
            .collect()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn start_relay(spool: &Path, smarthost_port: u16, extra: &[&str]) -> Relay {
    let spool = spool.to_string_lossy().into_owned();
    let smarthost = format!("127.0.0.1:{smarthost_port}");
    let mut args = vec![
        "--listen",
        "127.0.0.1:0",
        "--smarthost",
        &smarthost,
        "--tls",
        "disabled",
        "--queue",
        &spool,
    ];
    args.extend_from_slice(extra);
    Relay::start(&args)
}

fn queue(spool: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .arg("queue")
        .args(args)
        .arg("--queue")
        .arg(spool)
        .output()
        .expect("mailwire queue");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn list_json(spool: &Path) -> serde_json::Value {
    let (ok, out, err) = queue(spool, &["list", "--json"]);
    assert!(ok, "queue list: {err}");
    serde_json::from_str(&out).expect("queue list --json is JSON")
}

fn queued(spool: &Path) -> usize {
    list_json(spool)["messages"].as_u64().expect("messages") as usize
}

fn message(mid: &str) -> String {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <{mid}@test>\r\nSubject: queued\r\n\r\nHello\r\n"
    )
}

fn hello(addr: SocketAddr) -> Smtp {
    let mut smtp = Smtp::connect(addr);
    assert_eq!(smtp.reply().0, 220);
    assert_eq!(smtp.cmd("EHLO client.test").0, 250);
    smtp
}

/// Python's `email` package on a stored DSN: the content type, the
/// report type, then `Action Status Final-Recipient` per recipient.
fn parse_dsn(file: &str) -> Vec<String> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
print(m.get_content_type())
print(m.get_param("report-type"))
parts = list(m.iter_parts())
print(parts[1].get_content_type())
for block in parts[1].get_payload()[1:]:
    print(block["Action"], block["Status"], block["Final-Recipient"])
print(parts[2].get_content_type())
"#,
        )
        .arg(file)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The issue's first check: with the smarthost down, 1,000 messages get
/// 250 and sit in the queue; `kill -9`, start again, the smarthost comes
/// up: each arrives once per recipient.
#[test]
fn a_thousand_survive_kill_9_and_arrive_once() {
    const MESSAGES: usize = 1000;
    const CLIENTS: usize = 4;
    let port = free_port();
    let spool = TempDir::new("spool");
    let mut first = start_relay(&spool.0, port, &["--retry-schedule", "1s"]);
    let addr = first.addr;
    let senders: Vec<_> = (0..CLIENTS)
        .map(|c| {
            std::thread::spawn(move || {
                let mut smtp = hello(addr);
                for i in (c..MESSAGES).step_by(CLIENTS) {
                    let r = smtp.mail(
                        "a@example.org",
                        &["b@example.org", "c@example.org"],
                        &message(&format!("m{i}")),
                    );
                    assert_eq!(r.0, 250, "message {i}: {r:?}");
                }
            })
        })
        .collect();
    for s in senders {
        s.join().expect("sender");
    }
    assert_eq!(queued(&spool.0), MESSAGES, "all queued");
    let _ = first.process.0.kill();
    let _ = first.process.0.wait();

    let smarthost = Scripted::start(port, "{}");
    let second = start_relay(&spool.0, port, &["--retry-schedule", "1s"]);
    wait_until("every message delivered", Duration::from_secs(120), || {
        smarthost.arrivals().len() >= 2 * MESSAGES && queued(&spool.0) == 0
    });
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    for a in smarthost.arrivals() {
        *seen.entry((a.mid.unwrap_or_default(), a.rcpt)).or_default() += 1;
    }
    assert_eq!(seen.len(), 2 * MESSAGES, "every recipient of every message");
    assert!(seen.values().all(|&n| n == 1), "each exactly once");
    assert!(second.log().contains("messages in the queue at start"));
}

/// `--retry-schedule 1s,2s`, a smarthost that answers the end of data 451
/// three times: delivered at the fourth attempt, `queue list` shows the
/// attempts meanwhile, and once delivered it is never sent again.
#[test]
fn temporary_failures_retry_on_the_schedule() {
    let port = free_port();
    let smarthost = Scripted::start(port, r#"{"data_451": 3}"#);
    let spool = TempDir::new("spool");
    let relay = start_relay(&spool.0, port, &["--retry-schedule", "1s,2s"]);
    let mut smtp = hello(relay.addr);
    assert_eq!(
        smtp.mail("a@example.org", &["b@example.org"], &message("r1"))
            .0,
        250
    );
    wait_until("a second attempt", Duration::from_secs(20), || {
        list_json(&spool.0)["entries"][0]["attempts"].as_u64() >= Some(2)
    });
    let (ok, text, _) = queue(&spool.0, &["list"]);
    assert!(
        ok && text.contains("451 4.3.0 Try again later") && text.contains("[deferred]"),
        "{text}"
    );
    wait_until("delivered", Duration::from_secs(30), || {
        smarthost.arrivals().len() == 1
    });
    wait_until("the queue empty", Duration::from_secs(30), || {
        queued(&spool.0) == 0
    });
    let log = relay.log();
    assert!(log.contains("attempt=4, status=sent"), "{log}");
    assert!(!log.contains("attempt=5"), "{log}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smarthost.arrivals().len(), 1, "never sent again");
}

/// A recipient deferred at RCPT while another is delivered: the
/// delivered one is never sent again, the other arrives at a retry.
#[test]
fn a_delivered_recipient_is_never_sent_again() {
    let port = free_port();
    let smarthost = Scripted::start(
        port,
        r#"{"rcpt": {"later@example.org": [451, "4.2.0 Later", 2]}}"#,
    );
    let spool = TempDir::new("spool");
    let relay = start_relay(&spool.0, port, &["--retry-schedule", "1s"]);
    let mut smtp = hello(relay.addr);
    let r = smtp.mail(
        "a@example.org",
        &["now@example.org", "later@example.org"],
        &message("d1"),
    );
    assert_eq!(r.0, 250);
    wait_until("both delivered", Duration::from_secs(30), || {
        smarthost.arrivals().len() == 2 && queued(&spool.0) == 0
    });
    let rcpts: Vec<String> = smarthost.arrivals().into_iter().map(|a| a.rcpt).collect();
    assert_eq!(rcpts, ["now@example.org", "later@example.org"]);
    assert!(
        relay
            .log()
            .contains("to=<later@example.org>, attempt=3, status=sent")
    );
}

/// A permanent refusal: one DSN to the sender through the same
/// smarthost, parsed by Python's `email` as multipart/report with the
/// smarthost's status; NOTIFY=NEVER and the null sender get none.
#[test]
fn permanent_refusals_get_one_dsn() {
    let port = free_port();
    let smarthost = Scripted::start(
        port,
        r#"{"rcpt": {"bad@example.org": [550, "5.1.1 No such user"], "never@example.org": [550, "5.1.1 No such user"]}}"#,
    );
    let spool = TempDir::new("spool");
    let relay = start_relay(&spool.0, port, &[]);
    let mut smtp = hello(relay.addr);
    // One good, one refused recipient: the good one delivered, one DSN.
    assert_eq!(
        smtp.mail(
            "sender@example.org",
            &["good@example.org", "bad@example.org"],
            &message("p1")
        )
        .0,
        250
    );
    // NOTIFY=NEVER: no DSN.
    assert_eq!(smtp.cmd("MAIL FROM:<quiet@example.org>").0, 250);
    assert_eq!(smtp.cmd("RCPT TO:<never@example.org> NOTIFY=NEVER").0, 250);
    assert_eq!(smtp.cmd("DATA").0, 354);
    smtp.send(&format!("{}.", message("p2")));
    assert_eq!(smtp.reply().0, 250);
    // The null sender: no DSN.
    assert_eq!(smtp.mail("", &["bad@example.org"], &message("p3")).0, 250);

    wait_until("the queue empty", Duration::from_secs(30), || {
        queued(&spool.0) == 0
    });
    let arrivals = smarthost.arrivals();
    let dsns: Vec<&Arrival> = arrivals.iter().filter(|a| a.from == "<>").collect();
    assert_eq!(dsns.len(), 1, "exactly one DSN: {arrivals:?}");
    assert_eq!(dsns[0].rcpt, "sender@example.org");
    let parsed = parse_dsn(&dsns[0].file);
    assert_eq!(
        parsed,
        [
            "multipart/report",
            "delivery-status",
            "message/delivery-status",
            "failed 5.1.1 rfc822; bad@example.org",
            "message/rfc822",
        ]
    );
    let good: Vec<&Arrival> = arrivals
        .iter()
        .filter(|a| a.rcpt == "good@example.org")
        .collect();
    assert_eq!(good.len(), 1);
    let log = relay.log();
    assert!(log.contains("NOTIFY says not to"), "{log}");
    assert!(log.contains("the sender is <>"), "{log}");
}

/// A recipient still deferred at --max-queue-age fails with a DSN (Status
/// 4.4.7, Action failed).
#[test]
fn expired_messages_get_a_dsn() {
    let port = free_port();
    let smarthost = Scripted::start(
        port,
        r#"{"rcpt": {"slow@example.org": [451, "4.2.0 Later"]}}"#,
    );
    let spool = TempDir::new("spool");
    let relay = start_relay(
        &spool.0,
        port,
        &["--retry-schedule", "1s", "--max-queue-age", "2s"],
    );
    let mut smtp = hello(relay.addr);
    assert_eq!(
        smtp.mail("sender@example.org", &["slow@example.org"], &message("e1"))
            .0,
        250
    );
    wait_until("the DSN", Duration::from_secs(30), || {
        smarthost.arrivals().iter().any(|a| a.from == "<>")
    });
    wait_until("the queue empty", Duration::from_secs(30), || {
        queued(&spool.0) == 0
    });
    let arrivals = smarthost.arrivals();
    let dsn = arrivals.iter().find(|a| a.from == "<>").expect("a DSN");
    let parsed = parse_dsn(&dsn.file);
    assert_eq!(parsed[3], "failed 4.4.7 rfc822; slow@example.org");
    assert!(relay.log().contains("status=expired"));
}

/// The operator's commands: list, show, flush (a retry before the
/// schedule says), delete (never delivered), and a spool short of room
/// answers 452.
#[test]
fn queue_commands() {
    let port = free_port();
    let spool = TempDir::new("spool");
    let relay = start_relay(&spool.0, port, &["--retry-schedule", "1h"]);
    let mut smtp = hello(relay.addr);
    assert_eq!(
        smtp.mail("a@example.org", &["keep@example.org"], &message("q1"))
            .0,
        250
    );
    assert_eq!(
        smtp.mail("a@example.org", &["drop@example.org"], &message("q2"))
            .0,
        250
    );
    wait_until("the first attempts", Duration::from_secs(30), || {
        let v = list_json(&spool.0);
        v["entries"]
            .as_array()
            .is_some_and(|e| e.len() == 2 && e.iter().all(|e| e["attempts"].as_u64() == Some(1)))
    });
    let v = list_json(&spool.0);
    let entries = v["entries"].as_array().expect("entries");
    let id_of = |rcpt: &str| {
        entries
            .iter()
            .find(|e| e["recipients"][0]["address"] == format!("<{rcpt}>"))
            .and_then(|e| e["id"].as_str())
            .expect("an id")
            .to_owned()
    };
    let (keep, drop) = (id_of("keep@example.org"), id_of("drop@example.org"));
    let (ok, text, _) = queue(&spool.0, &["list"]);
    assert!(
        ok && text.contains(&keep) && text.contains("-- 1 Kbytes in 2 Requests."),
        "{text}"
    );
    let (ok, text, _) = queue(&spool.0, &["show", &keep]);
    assert!(ok && text.contains("Message-ID: <q1@test>"), "{text}");
    let (ok, _, err) = queue(&spool.0, &["delete", &drop]);
    assert!(ok && err.contains("deleted: 1 message"), "{err}");
    let (ok, _, err) = queue(&spool.0, &["delete", &drop]);
    assert!(!ok && err.contains("no such message"), "{err}");
    let (ok, _, err) = queue(&spool.0, &["show", "../x"]);
    assert!(!ok && err.contains("is not a queue id"), "{err}");

    // The smarthost comes up; the next attempt is an hour away: flush.
    let smarthost = Scripted::start(port, "{}");
    std::thread::sleep(Duration::from_millis(1500));
    assert!(smarthost.arrivals().is_empty(), "not before the flush");
    let (ok, _, err) = queue(&spool.0, &["flush"]);
    assert!(ok, "{err}");
    wait_until("delivered after the flush", Duration::from_secs(30), || {
        smarthost.arrivals().len() == 1
    });
    assert_eq!(smarthost.arrivals()[0].rcpt, "keep@example.org");
    wait_until("the queue empty", Duration::from_secs(30), || {
        queued(&spool.0) == 0
    });
    let (ok, text, _) = queue(&spool.0, &["list"]);
    assert!(ok && text.contains("Mail queue is empty"), "{text}");
    drop_relay(relay);

    // Short of room: 452 at MAIL.
    let full = start_relay(
        &spool.0,
        port,
        &["--queue-min-free", "18446744073709551615"],
    );
    let mut smtp = hello(full.addr);
    let (code, text) = smtp.cmd("MAIL FROM:<a@example.org>");
    assert_eq!((code, text.starts_with("4.3.1")), (452, true), "{text}");
}

fn drop_relay(relay: Relay) {
    drop(relay);
}

/// What the smarthost does not take is refused at acceptance once known
/// (Postfix's smtp-sink without 8BITMIME): never queued to be altered.
#[test]
fn known_smarthost_limits_are_refused_at_acceptance() {
    require(&["test", "-x", "/usr/sbin/smtp-sink"], "Postfix smtp-sink");
    let port = free_port();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut sink = Command::new("/usr/sbin/smtp-sink");
    if root {
        // As root it must be told whom to run as.
        sink.args(["-u", "nobody"]);
    }
    let _sink = Guard(
        sink.args(["-8", &format!("127.0.0.1:{port}"), "10"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink"),
    );
    wait_until("smtp-sink listening", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let spool = TempDir::new("spool");
    let relay = start_relay(&spool.0, port, &[]);
    wait_until(
        "the smarthost's offer known",
        Duration::from_secs(10),
        || relay.log().contains("offers"),
    );
    let mut smtp = hello(relay.addr);
    let (code, _) = smtp.cmd("MAIL FROM:<a@example.org> BODY=8BITMIME");
    assert_eq!(code, 550);
    assert_eq!(smtp.cmd("RSET").0, 250);
    let r = smtp.mail(
        "a@example.org",
        &["b@example.org"],
        "Subject: x\r\n\r\nGr\u{fc}\u{df}e\r\n",
    );
    assert_eq!(r.0, 554, "{r:?}");
    assert_eq!(queued(&spool.0), 0);
}

/// The one documented duplicate: the smarthost takes the message but the
/// connection breaks before its reply. The queue tries again (a second
/// copy arrives), and the count shows in `queue list --json` meanwhile and
/// in the relay's log.
#[test]
fn a_lost_reply_is_the_counted_duplicate() {
    let port = free_port();
    let smarthost = Scripted::start(port, r#"{"data_drop": 1}"#);
    let spool = TempDir::new("spool");
    let relay = start_relay(&spool.0, port, &["--retry-schedule", "3s"]);
    let mut smtp = hello(relay.addr);
    assert_eq!(
        smtp.mail("a@example.org", &["b@example.org"], &message("u1"))
            .0,
        250
    );
    wait_until("the first copy", Duration::from_secs(10), || {
        smarthost.arrivals().len() == 1
    });
    wait_until("the count in queue list", Duration::from_secs(10), || {
        list_json(&spool.0)["possible_duplicates"].as_u64() == Some(1)
    });
    wait_until("the second copy", Duration::from_secs(20), || {
        smarthost.arrivals().len() == 2 && queued(&spool.0) == 0
    });
    let log = relay.log();
    assert!(log.contains("possible duplicates since start: 1"), "{log}");
    assert!(log.contains("attempt=2, status=sent"), "{log}");
}

/// The smarthost was unknown at acceptance (down) and turns out not to
/// take 8BITMIME (Postfix's smtp-sink `-8`): the recipient gets a DSN
/// (RET=HDRS: the header only, so the report itself is 7-bit), the
/// message is never sent altered.
#[test]
fn what_the_smarthost_cannot_take_at_delivery_gets_a_dsn() {
    require(&["test", "-x", "/usr/sbin/smtp-sink"], "Postfix smtp-sink");
    let port = free_port();
    let spool = TempDir::new("spool");
    let relay = start_relay(&spool.0, port, &["--retry-schedule", "1s"]);
    let mut smtp = hello(relay.addr);
    assert_eq!(
        smtp.cmd("MAIL FROM:<sender@example.org> BODY=8BITMIME RET=HDRS")
            .0,
        250
    );
    assert_eq!(smtp.cmd("RCPT TO:<b@example.org>").0, 250);
    assert_eq!(smtp.cmd("DATA").0, 354);
    smtp.send("Subject: 8bit\r\n\r\nGr\u{fc}\u{df}e\r\n.");
    assert_eq!(smtp.reply().0, 250);

    let dump = TempDir::new("sink8");
    let _ = Command::new("chmod")
        .args(["0777", &dump.0.to_string_lossy()])
        .status();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let mut sink = Command::new("/usr/sbin/smtp-sink");
    if root {
        sink.args(["-u", "nobody"]);
    }
    let _sink = Guard(
        sink.args(["-8", "-d"])
            .arg(format!("{}/m.", dump.0.display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("10")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink"),
    );
    let dumps = || -> Vec<String> {
        std::fs::read_dir(&dump.0)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("m."))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    wait_until("the DSN at the sink", Duration::from_secs(30), || {
        dumps().iter().any(|d| d.contains("Status: 5.6.3"))
    });
    wait_until("the queue empty", Duration::from_secs(30), || {
        queued(&spool.0) == 0
    });
    let all = dumps();
    assert_eq!(all.len(), 1, "only the DSN: {all:?}");
    assert!(
        all[0].contains("text/rfc822-headers") && !all[0].contains("Gr\u{fc}"),
        "{}",
        all[0]
    );
    assert!(relay.log().contains("status=bounced (554 5.6.3"));
}
