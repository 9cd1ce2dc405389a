//! Interop: the mailwire client against real third-party servers on
//! loopback — Python's aiosmtpd (plain, STARTTLS with a certificate from
//! the test PKI, AUTH over TLS) and tcllib's smtpd — on tokio, smol and
//! async-std. Each peer runs as a subprocess that stores what it receives
//! in a temporary directory; the test checks the envelope and the bytes.
//!
//! The peers are installed by `scripts/install-peers`; a missing peer
//! fails the test loudly.

#[macro_use]
#[path = "client_runtime/support.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mailwire_core::client::{AuthSecurity, TlsPolicy};
use mailwire_core::sasl::Credentials;
use mailwire_driver::client::{ClientSettings, SendOptions, ServerAddress};
use mailwire_driver::{ClientTls, Runtime, send_message};

use support::pki;

const MESSAGE: &str = "From: Alice <alice@example.org>\r\n\
                       To: Bob <bob@example.org>\r\n\
                       Cc: carol@example.org\r\n\
                       Bcc: dave@example.org\r\n\
                       Subject: interop\r\n\
                       \r\n\
                       Hello\r\n\
                       .leading dot\r\n\
                       ..two dots\r\n\
                       bare LF\n\
                       last line\r\n";

const EXPECTED_BODY: &str = "\r\nHello\r\n.leading dot\r\n..two dots\r\nbare LF\r\nlast line\r\n";

const EXPECTED_RCPTS: [&str; 3] = ["bob@example.org", "carol@example.org", "dave@example.org"];

/// A peer server process, killed (by its own PID) and its directory
/// removed on drop.
struct Peer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Peer {
    /// Starts `program args…` in a fresh directory; the program prints its
    /// port on the first line of stdout.
    fn start(program: &str, script_name: &str, script: &str, args: &[&str]) -> Peer {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mailwire-interop-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(dir.join("mail")).expect("temp dir");
        let pki = pki();
        std::fs::write(dir.join("cert.pem"), &pki.server_chain_pem).expect("cert");
        std::fs::write(dir.join("key.pem"), &pki.server_key_pem).expect("key");
        let script_path = dir.join(script_name);
        std::fs::write(&script_path, script).expect("script");
        let mut child = Command::new(program)
            .arg(&script_path)
            .arg(dir.join("mail"))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {program}: {e} (install the peers: scripts/install-peers)")
            });
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let port = match (read, line.trim().parse::<u16>()) {
            (Ok(_), Ok(port)) => port,
            _ => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "{program} {script_name} did not start (status {status:?}, said {line:?}); \
                     install the peers with scripts/install-peers"
                );
            }
        };
        Peer { child, dir, port }
    }

    /// The messages received so far: `(envelope lines, message bytes)`
    /// for each `N.env`/`N.eml` pair (the `.env` is written last).
    fn received(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        let mail = self.dir.join("mail");
        let mut out = Vec::new();
        for n in 1.. {
            let env = mail.join(format!("{n}.env"));
            if !env.exists() {
                break;
            }
            let lines = std::fs::read_to_string(&env)
                .expect("env")
                .lines()
                .map(str::to_owned)
                .collect();
            let bytes = std::fs::read(mail.join(format!("{n}.eml"))).expect("eml");
            out.push((lines, bytes));
        }
        out
    }

    /// Waits (bounded) until `count` messages are stored.
    async fn wait_for<R: Runtime>(&self, rt: &R, count: usize) -> Vec<(Vec<String>, Vec<u8>)> {
        let deadline = rt.now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= count || rt.now() > deadline {
                return got;
            }
            rt.sleep_until(rt.now() + Duration::from_millis(20)).await;
        }
    }
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

context = None
if mode in ("starttls", "auth"):
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

const TCLLIB_SMTPD: &str = r#"
package require smtpd
set ::maildir [lindex $argv 0]
set ::count 0
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
smtpd::configure -deliver ::mw_deliver
set sock [smtpd::start 127.0.0.1 0]
puts [lindex [fconfigure $sock -sockname] 2]
flush stdout
vwait forever
"#;

fn aiosmtpd(mode: &str) -> Peer {
    require(
        &["python3", "-c", "import aiosmtpd"],
        "python3 with aiosmtpd",
    );
    Peer::start("python3", "aiosmtpd_store.py", AIOSMTPD, &[mode])
}

fn tcllib_smtpd() -> Peer {
    require(
        &["sh", "-c", "echo 'package require smtpd' | tclsh"],
        "tclsh with tcllib",
    );
    Peer::start("tclsh", "smtpd_store.tcl", TCLLIB_SMTPD, &[])
}

fn strip_brackets(s: &str) -> &str {
    s.trim_start_matches('<').trim_end_matches('>')
}

/// The envelope and body a peer stored match what was sent.
fn check_stored(stored: &(Vec<String>, Vec<u8>)) {
    let (env, bytes) = stored;
    assert_eq!(strip_brackets(&env[0]), "alice@example.org", "{env:?}");
    let rcpts: Vec<&str> = env[1..=3].iter().map(|r| strip_brackets(r)).collect();
    assert_eq!(rcpts, EXPECTED_RCPTS, "{env:?}");
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains("Bcc"), "Bcc header reached the peer: {text}");
    assert!(!text.contains("dave"), "{text}");
    assert!(text.contains("Subject: interop\r\n"), "{text}");
    assert!(text.contains("Message-ID: <"), "{text}");
    assert!(text.ends_with(EXPECTED_BODY), "{text:?}");
}

fn loopback(peer: &Peer) -> ServerAddress {
    ServerAddress::new("127.0.0.1").with_port(peer.port)
}

fn verifying() -> ClientSettings {
    ClientSettings::default()
        .with_tls(ClientTls::with_ca_pem(pki().ca_pem.as_bytes()).expect("CA"))
        .with_tls_policy(TlsPolicy::required())
}

async fn aiosmtpd_plain<R: Runtime>(rt: R) {
    let peer = aiosmtpd("plain");
    let report = send_message(rt.clone(), MESSAGE, &SendOptions::new([loopback(&peer)]))
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert!(report.tls.is_none());
    let stored = peer.wait_for(&rt, 1).await;
    assert_eq!(stored.len(), 1);
    check_stored(&stored[0]);
    assert!(stored[0].0.contains(&"tls=False".to_owned()));
}

async fn aiosmtpd_starttls<R: Runtime>(rt: R) {
    let peer = aiosmtpd("starttls");
    let server = ServerAddress::new("localhost").with_port(peer.port);
    let options = SendOptions::new([server]).with_settings(verifying());
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    let tls = report.tls.as_ref().expect("TLS");
    assert!(tls.peer_verified);
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    let stored = peer.wait_for(&rt, 1).await;
    assert_eq!(stored.len(), 1);
    check_stored(&stored[0]);
    assert!(stored[0].0.contains(&"tls=True".to_owned()));
}

/// aiosmtpd refuses AUTH before STARTTLS (`auth_require_tls`) and here
/// requires STARTTLS: the client authenticates only after TLS.
async fn aiosmtpd_auth<R: Runtime>(rt: R) {
    let peer = aiosmtpd("auth");
    let server = ServerAddress::new("localhost").with_port(peer.port);
    let settings = verifying().with_credentials(Credentials::password("user", "secret"));
    let options = SendOptions::new([server]).with_settings(settings);
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert!(report.authenticated.is_some());
    let stored = peer.wait_for(&rt, 1).await;
    assert_eq!(stored.len(), 1);
    check_stored(&stored[0]);
    assert!(
        stored[0]
            .0
            .iter()
            .any(|l| l.starts_with("auth=") && l.contains("user")),
        "{:?}",
        stored[0].0
    );

    // Wrong password: AUTH fails before any transaction; nothing stored.
    let peer = aiosmtpd("auth");
    let server = ServerAddress::new("localhost").with_port(peer.port);
    let settings = verifying()
        .with_credentials(Credentials::password("user", "wrong"))
        .with_auth_security(AuthSecurity::VerifiedTls);
    let options = SendOptions::new([server]).with_settings(settings);
    let result = send_message(rt.clone(), MESSAGE, &options).await;
    assert!(result.is_err(), "{result:?}");
    assert!(peer.received().is_empty());
}

async fn tcllib_smtpd_plain<R: Runtime>(rt: R) {
    let peer = tcllib_smtpd();
    let report = send_message(rt.clone(), MESSAGE, &SendOptions::new([loopback(&peer)]))
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    let stored = peer.wait_for(&rt, 1).await;
    assert_eq!(stored.len(), 1);
    check_stored(&stored[0]);
    // smtpd's own trace headers come first.
    let text = String::from_utf8_lossy(&stored[0].1);
    assert!(
        text.starts_with("Return-Path: <alice@example.org>"),
        "{text}"
    );
}

on_all_runtimes!(
    aiosmtpd_plain,
    aiosmtpd_starttls,
    aiosmtpd_auth,
    tcllib_smtpd_plain
);
