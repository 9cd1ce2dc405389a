//! `mailwire send` against real third-party servers on loopback: Postfix
//! smtp-sink (plain, and its fault flags: `-r` 4xx, `-f` 5xx, `-q`/`-Q`
//! hang-ups), Python's aiosmtpd (STARTTLS verified with the test CA, AUTH)
//! and tcllib's smtpd (its recipient-rejection example). Each peer is a
//! subprocess killed on drop; each check asserts what the peer stored or
//! what the JSON reports, not only the exit status. A missing peer fails
//! loudly (install them with scripts/install-peers).

mod send_support;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwire_tests::certs::TestPki;
use send_support::{ChildGuard, TempDir, at, closed_port, send};
use serde_json::Value;

fn pki() -> &'static TestPki {
    static PKI: std::sync::OnceLock<TestPki> = std::sync::OnceLock::new();
    PKI.get_or_init(TestPki::localhost)
}

fn require(check: &[&str], what: &str) {
    let ok = Command::new(check[0])
        .args(&check[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{what} is missing: install the interop peers with scripts/install-peers"
    );
}

/// Waits (bounded) until something listens on `port`.
fn wait_listening(port: u16, guard: &mut ChildGuard, what: &str) {
    let start = Instant::now();
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Some(child) = guard.0.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!("{what} exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// smtp-sink on a fresh port with `flags`, dumping messages into a
/// directory `nobody` can write (it drops to nobody when run as root).
struct Sink {
    _guard: ChildGuard,
    dir: TempDir,
    port: u16,
}

impl Sink {
    fn start(flags: &[&str]) -> Sink {
        require(&["test", "-x", "/usr/sbin/smtp-sink"], "Postfix smtp-sink");
        let dir = TempDir::new("sink");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let port = closed_port();
        let template = format!("{}/msg.", dir.path().display());
        let child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "nobody", "-a", "-d", &template])
            .args(flags)
            .arg(at(port))
            .arg("10")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run smtp-sink (install the peers: scripts/install-peers)");
        let mut guard = ChildGuard(Some(child));
        wait_listening(port, &mut guard, "smtp-sink");
        Sink {
            _guard: guard,
            dir,
            port,
        }
    }

    /// The dumped transactions (bounded wait for `count`).
    fn dumps(&self, count: usize) -> Vec<String> {
        let start = Instant::now();
        loop {
            let mut found: Vec<String> = std::fs::read_dir(self.dir.path())
                .map(|entries| {
                    entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.is_file())
                        .filter_map(|p| std::fs::read(&p).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .collect()
                })
                .unwrap_or_default();
            if found.len() >= count || start.elapsed() > Duration::from_secs(5) {
                found.sort();
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn base(port: u16) -> Vec<String> {
    [
        "--server",
        &at(port),
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--subject",
        "sink test",
        "--body",
        "hello sink",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run(args: &[String]) -> send_support::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    send(&args)
}

#[test]
fn smtp_sink_plain_and_bulk() {
    let sink = Sink::start(&[]);
    let out = run(&base(sink.port));
    assert_eq!(out.status, 0, "{out:#?}");
    let json = out.json();
    assert_eq!(json["outcome"], "sent");
    assert_eq!(json["reply"]["code"], 250);
    let dumps = sink.dumps(1);
    assert_eq!(dumps.len(), 1, "{dumps:?}");
    assert!(dumps[0].contains("Subject: sink test"), "{}", dumps[0]);
    assert!(dumps[0].contains("hello sink"), "{}", dumps[0]);
    assert!(dumps[0].contains("alice@example.org"), "{}", dumps[0]);
    assert!(dumps[0].contains("bob@example.org"), "{}", dumps[0]);

    let mut bulk = base(sink.port);
    bulk.extend(["--repeat", "200", "--connections", "4"].map(String::from));
    let out = run(&bulk);
    assert_eq!(out.status, 0, "{out:#?}");
    let json = out.json();
    assert_eq!(json["sent_messages"], 200);
    // Every message arrived once (batched across messages: smtp-sink
    // offers PIPELINING), each with its own Message-ID.
    let dumps = sink.dumps(201);
    assert_eq!(dumps.len(), 201);
    let mut ids: Vec<&str> = dumps
        .iter()
        .filter_map(|d| {
            d.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        })
        .collect();
    assert_eq!(ids.len(), 201, "a Message-ID in each");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 201, "no message twice");
}

#[test]
fn smtp_sink_soft_rcpt_refusal_gives_exit_5() {
    let sink = Sink::start(&["-r", "RCPT"]);
    let out = run(&base(sink.port));
    assert_eq!(out.status, 5, "a 4xx is temporary: {out:#?}");
    let json = out.json();
    assert_eq!(json["outcome"], "not_sent");
    let r = &json["recipients"][0];
    assert_eq!(r["accepted"], false, "{json}");
    assert!(
        r["code"].as_u64().is_some_and(|c| (400..500).contains(&c)),
        "{json}"
    );
    assert!(sink.dumps(0).is_empty());
}

#[test]
fn smtp_sink_hard_data_refusal_gives_exit_3() {
    for flag in [".", "DATA"] {
        let sink = Sink::start(&["-f", flag]);
        let out = run(&base(sink.port));
        assert_eq!(out.status, 3, "-f {flag}: {out:#?}");
        let json = out.json();
        assert_eq!(json["outcome"], "not_sent");
        assert!(
            json["reply"]["code"]
                .as_u64()
                .is_some_and(|c| (500..600).contains(&c)),
            "-f {flag}: {json}"
        );
    }
}

#[test]
fn smtp_sink_hang_up_after_the_dot_gives_exit_4() {
    let sink = Sink::start(&["-q", "."]);
    let out = run(&base(sink.port));
    assert_eq!(out.status, 4, "{out:#?}");
    let json = out.json();
    assert_eq!(json["outcome"], "unknown");
    assert_eq!(json["recipients"][0]["status"], "unknown");

    // Bulk mode reconnects after each lost connection; every message is
    // unknown, the exit status is 4.
    let mut bulk = base(sink.port);
    bulk.extend(["--repeat", "6", "--connections", "2"].map(String::from));
    let out = run(&bulk);
    assert_eq!(out.status, 4, "{out:#?}");
    let json = out.json();
    assert_eq!(json["outcome"], "unknown");
    assert_eq!(json["unknown_messages"], 6, "{json}");
    assert_eq!(json["failed_messages"], 0, "{json}");
}

#[test]
fn smtp_sink_hang_up_before_mail_gives_exit_5() {
    for (flag, command) in [("-q", "EHLO"), ("-Q", "EHLO"), ("-q", "MAIL")] {
        let sink = Sink::start(&[flag, command]);
        let out = run(&base(sink.port));
        assert_eq!(out.status, 5, "{flag} {command}: {out:#?}");
        // The server was reached: the JSON says so.
        let json = out.json();
        assert_eq!(json["outcome"], "not_sent", "{flag} {command}");
        assert_eq!(json["sent"], false);
        assert!(sink.dumps(0).is_empty());
    }
}

#[test]
fn smtp_sink_421_on_mail_is_not_sent() {
    let sink = Sink::start(&["-Q", "MAIL"]);
    let out = run(&base(sink.port));
    // 421 answers MAIL: MAIL refused, temporarily.
    assert_eq!(out.status, 5, "{out:#?}");
    let json = out.json();
    assert_eq!(json["reply"]["code"], 421);
    assert_eq!(json["outcome"], "not_sent");
    assert_eq!(json["sent"], false);
}

// ---------------------------------------------------------------------------
// aiosmtpd and tcllib smtpd: a script in a directory, printing its port.

/// A peer server process that prints its port on its first line.
struct Peer {
    _guard: ChildGuard,
    dir: TempDir,
    port: u16,
}

impl Peer {
    fn start(program: &str, script_name: &str, script: &str, args: &[&str]) -> Peer {
        let dir = TempDir::new("peer");
        std::fs::create_dir_all(dir.path().join("mail")).expect("mail dir");
        dir.write("cert.pem", &pki().server_chain_pem);
        dir.write("key.pem", &pki().server_key_pem);
        let script_path = dir.write(script_name, script);
        let mut child = Command::new(program)
            .arg(&script_path)
            .arg(dir.path().join("mail"))
            .args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e} (scripts/install-peers)"));
        let stdout = child.stdout.take().expect("stdout");
        let guard = ChildGuard(Some(child));
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let port = line
            .trim()
            .parse::<u16>()
            .unwrap_or_else(|_| panic!("{program} {script_name} did not start: {line:?}"));
        Peer {
            _guard: guard,
            dir,
            port,
        }
    }

    fn mail_dir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }

    /// `(envelope lines, message)` for each stored message, bounded wait.
    fn received(&self, count: usize) -> Vec<(Vec<String>, String)> {
        let start = Instant::now();
        loop {
            let got = read_stored(&self.mail_dir());
            if got.len() >= count || start.elapsed() > Duration::from_secs(5) {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn read_stored(mail: &Path) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    for n in 1.. {
        let env = mail.join(format!("{n}.env"));
        let Ok(env) = std::fs::read_to_string(&env) else {
            break;
        };
        let eml = std::fs::read(mail.join(format!("{n}.eml"))).unwrap_or_default();
        out.push((
            env.lines().map(str::to_owned).collect(),
            String::from_utf8_lossy(&eml).into_owned(),
        ));
    }
    out
}

const AIOSMTPD: &str = r#"
import asyncio, os, ssl, sys
from aiosmtpd.smtp import SMTP, AuthResult

maildir, mode = sys.argv[1], sys.argv[2]
count = 0

class Store:
    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        with open(os.path.join(maildir, "%d.eml" % count), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        tmp = os.path.join(maildir, "%d.tmp" % count)
        with open(tmp, "w") as f:
            f.write(envelope.mail_from + "\n")
            for r in envelope.rcpt_tos:
                f.write(r + "\n")
            login = getattr(session.auth_data, "login", None) if session.authenticated else None
            f.write("auth=%s\n" % (login.decode() if login else None))
            f.write("tls=%s\n" % (session.ssl is not None))
        os.rename(tmp, os.path.join(maildir, "%d.env" % count))
        return "250 2.0.0 stored"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"user" and auth_data.password == b"secret"
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain("cert.pem", "key.pem")

def factory():
    return SMTP(Store(), hostname="aiosmtpd.test", tls_context=context,
                require_starttls=(mode == "auth"),
                authenticator=authenticator if mode == "auth" else None,
                auth_require_tls=True)

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

fn aiosmtpd(mode: &str) -> Peer {
    require(
        &["python3", "-c", "import aiosmtpd"],
        "python3 with aiosmtpd",
    );
    Peer::start("python3", "aiosmtpd_store.py", AIOSMTPD, &[mode])
}

#[test]
fn aiosmtpd_starttls_verified_with_the_ca_file() {
    let peer = aiosmtpd("starttls");
    let dir = TempDir::new("ca");
    let ca = dir.write("ca.pem", &pki().ca_pem);
    let out = send(&[
        "--server",
        &format!("localhost:{}", peer.port),
        "--tls",
        "required",
        "--ca-file",
        &ca,
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--bcc",
        "carol@example.org",
        "--subject",
        "aiosmtpd",
        "--body",
        "over TLS",
        "--json",
    ]);
    assert_eq!(out.status, 0, "{out:#?}");
    let json: Value = out.json();
    assert_eq!(json["tls"]["verified"], true);
    let stored = peer.received(1);
    assert_eq!(stored.len(), 1);
    let (env, eml) = &stored[0];
    assert_eq!(env[0], "alice@example.org");
    assert_eq!(env[1..3], ["bob@example.org", "carol@example.org"]);
    assert!(env.contains(&"tls=True".to_owned()), "{env:?}");
    assert!(eml.contains("Subject: aiosmtpd"), "{eml}");
    assert!(!eml.contains("carol"), "{eml}");
}

#[test]
fn aiosmtpd_auth_over_verified_starttls() {
    let peer = aiosmtpd("auth");
    let dir = TempDir::new("ca");
    let ca = dir.write("ca.pem", &pki().ca_pem);
    let server = format!("localhost:{}", peer.port);
    let out = send(&[
        "--server",
        &server,
        "--ca-file",
        &ca,
        "--user",
        "user",
        "--password",
        "secret",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--body",
        "authenticated",
        "--json",
    ]);
    assert_eq!(out.status, 0, "{out:#?}");
    assert_eq!(out.json()["tls"]["verified"], true);
    let stored = peer.received(1);
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].0.contains(&"auth=user".to_owned()),
        "{:?}",
        stored[0].0
    );

    // A wrong password: 535, exit 3, nothing stored.
    let out = send(&[
        "--server",
        &server,
        "--ca-file",
        &ca,
        "--user",
        "user",
        "--password",
        "wrong",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
        "--json",
    ]);
    assert_eq!(out.status, 3, "{out:#?}");
    assert_eq!(out.json()["outcome"], "not_sent");
    // Without the CA the certificate does not verify: credentials are not
    // sent, exit 3 (permanent).
    let out = send(&[
        "--server",
        &server,
        "--user",
        "user",
        "--password",
        "secret",
        "--from",
        "alice@example.org",
        "--to",
        "bob@example.org",
    ]);
    assert_eq!(out.status, 3, "{out:#?}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read_stored(&peer.mail_dir()).len(), 1);
}

/// tcllib smtpd with the recipient check of its example: addresses
/// starting with `denied` are refused (553).
const TCLLIB_SMTPD: &str = r#"
package require smtpd
set ::maildir [lindex $argv 0]
set ::count 0
proc ::validate_recipient {address} {
    if {[string match "denied*" $address]} {
        return -code error "recipient $address is not acceptable"
    }
}
proc ::mw_deliver {sender recipients data} {
    incr ::count
    set f [open [file join $::maildir $::count.eml] w]
    fconfigure $f -translation binary
    puts -nonewline $f [join $data "\r\n"]
    puts -nonewline $f "\r\n"
    close $f
    set tmp [file join $::maildir $::count.tmp]
    set f [open $tmp w]
    puts $f $sender
    foreach r $recipients { puts $f $r }
    close $f
    file rename $tmp [file join $::maildir $::count.env]
}
smtpd::configure -deliver ::mw_deliver -validate_recipient ::validate_recipient
set sock [smtpd::start 127.0.0.1 0]
puts [lindex [fconfigure $sock -sockname] 2]
flush stdout
vwait forever
"#;

#[test]
fn tcllib_smtpd_recipient_rejection() {
    require(
        &["sh", "-c", "echo 'package require smtpd' | tclsh"],
        "tclsh with tcllib",
    );
    let peer = Peer::start("tclsh", "smtpd_store.tcl", TCLLIB_SMTPD, &[]);
    let server = at(peer.port);
    let args = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "--server",
            &server,
            "--from",
            "alice@example.org",
            "--to",
            "bob@example.org",
            "--to",
            "denied@example.org",
            "--subject",
            "tcllib",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };

    // All or nothing: not sent, exit 3; the refusal is reported.
    let out = run(&args(&[]));
    assert_eq!(out.status, 3, "{out:#?}");
    let json = out.json();
    assert_eq!(json["outcome"], "not_sent");
    let refused = json["recipients"]
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["address"] == "denied@example.org")
        .expect("denied recipient")
        .clone();
    assert_eq!(refused["accepted"], false);
    assert_eq!(refused["code"], 553);

    // At least one: sent to bob, exit 2.
    let out = run(&args(&["--at-least-one"]));
    assert_eq!(out.status, 2, "{out:#?}");
    let json = out.json();
    assert_eq!(json["outcome"], "partial");
    let stored = peer.received(1);
    assert_eq!(stored.len(), 1);
    let rcpts: Vec<&str> = stored[0].0[1..]
        .iter()
        .map(|r| r.trim_start_matches('<').trim_end_matches('>'))
        .collect();
    assert!(rcpts.contains(&"bob@example.org"), "{rcpts:?}");
    assert!(!rcpts.contains(&"denied@example.org"), "{rcpts:?}");
    assert!(stored[0].1.contains("Subject: tcllib"), "{}", stored[0].1);
}
