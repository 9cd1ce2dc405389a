//! Shared pieces of the `mailwire relay` tests: child-process guards,
//! temp dirs, the interop peers (aiosmtpd and smtp-sink as smarthosts),
//! the relay binary itself, and a scripted SMTP client with bounded
//! waits.
//!
//! Every child process is killed on drop, every wait is bounded, and a
//! missing peer fails loudly (install them with scripts/install-peers).

// Each test file uses a part of this.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mailwire_tests::certs::TestPki;

/// A child process killed (by its own PID) on drop.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh directory under the system's temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mailwire-relay-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mail")).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn require(check: &[&str], what: &str) {
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

/// aiosmtpd storing `N.eml`, `N.info` (who logged in, whether over TLS)
/// and then `N.env` (sender, then one recipient per line) per message.
pub const SMARTHOST: &str = r#"
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
        with open(os.path.join(maildir, "%d.info" % count), "w") as f:
            f.write("auth=%s tls=%s\n" % (login.decode() if login else None, session.ssl is not None))
        os.rename(tmp, os.path.join(maildir, "%d.env" % count))
        return "250 2.0.0 stored"
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"user" and auth_data.password == b"secret"
    return AuthResult(success=ok, handled=False, auth_data=auth_data)
context = None
if mode == "auth":
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain("cert.pem", "key.pem")
def factory():
    return SMTP(Store(), hostname="smarthost.test", enable_SMTPUTF8=True, decode_data=False,
                tls_context=context, require_starttls=(mode == "auth"),
                authenticator=authenticator if mode == "auth" else None,
                auth_required=(mode == "auth"), auth_require_tls=True)
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"#;

/// A running aiosmtpd smarthost.
pub struct Smarthost {
    pub process: Option<Guard>,
    pub mail: PathBuf,
    pub port: u16,
    pub _dir: TempDir,
}

impl Smarthost {
    /// Plain ESMTP, no TLS, no AUTH.
    pub fn start() -> Smarthost {
        Smarthost::start_with("plain", None)
    }

    /// STARTTLS with this PKI's certificate, and AUTH (user `user`,
    /// password `secret`) required before MAIL.
    pub fn start_auth(pki: &TestPki) -> Smarthost {
        Smarthost::start_with("auth", Some(pki))
    }

    pub fn start_with(mode: &str, pki: Option<&TestPki>) -> Smarthost {
        require(
            &["python3", "-c", "import aiosmtpd"],
            "python3 with aiosmtpd",
        );
        let dir = TempDir::new("smarthost");
        let script = dir.0.join("smarthost.py");
        std::fs::write(&script, SMARTHOST).expect("script");
        if let Some(pki) = pki {
            std::fs::write(dir.0.join("cert.pem"), &pki.server_chain_pem).expect("cert");
            std::fs::write(dir.0.join("key.pem"), &pki.server_key_pem).expect("key");
        }
        let mail = dir.0.join("mail");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&mail)
            .arg(mode)
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 (install the peers: scripts/install-peers)");
        let stdout = child.stdout.take().expect("stdout");
        let guard = Guard(child);
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("aiosmtpd did not start (said {line:?})"));
        Smarthost {
            process: Some(guard),
            mail,
            port,
            _dir: dir,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills it (the port then refuses connections).
    pub fn stop(&mut self) {
        self.process = None;
    }

    pub fn count(&self) -> usize {
        std::fs::read_dir(&self.mail)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "env"))
                    .count()
            })
            .unwrap_or(0)
    }
}

/// A running `mailwire relay`.
pub struct Relay {
    pub process: Guard,
    pub addr: SocketAddr,
    pub stderr: PathBuf,
    pub _dir: TempDir,
}

impl Relay {
    pub fn start(args: &[&str]) -> Relay {
        let dir = TempDir::new("relay");
        let stderr = dir.0.join("stderr");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mailwire"))
            .arg("relay")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("mailwire");
        let stdout = child.stdout.take().expect("stdout");
        let guard = Guard(child);
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "relay did not start: stdout {line:?}, stderr {:?}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
        Relay {
            process: guard,
            addr,
            stderr,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

/// A scripted SMTP client with bounded waits.
pub struct Smtp {
    pub reader: BufReader<TcpStream>,
}

impl Smtp {
    pub fn connect(addr: SocketAddr) -> Smtp {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
        Smtp::over(stream)
    }

    /// Connects from the local address `from` (e.g. 127.0.0.2).
    pub fn connect_from(from: &str, addr: SocketAddr) -> Smtp {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let stream = rt.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket
                .bind(format!("{from}:0").parse().expect("from"))
                .expect("bind the client address");
            tokio::time::timeout(Duration::from_secs(5), socket.connect(addr))
                .await
                .expect("connect in time")
                .expect("connect")
                .into_std()
                .expect("std stream")
        });
        stream.set_nonblocking(false).expect("blocking");
        Smtp::over(stream)
    }

    pub fn over(stream: TcpStream) -> Smtp {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Smtp {
            reader: BufReader::new(stream),
        }
    }

    /// One reply: (code, every line's text joined by newlines).
    pub fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read a reply");
            assert!(n > 0, "connection closed; so far {text:?}");
            let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).expect("code");
            text.push_str(line.get(4..).unwrap_or("").trim_end());
            text.push('\n');
            if line.as_bytes().get(3) != Some(&b'-') {
                return (code, text);
            }
        }
    }

    pub fn send(&mut self, line: &str) {
        let stream = self.reader.get_mut();
        stream.write_all(line.as_bytes()).expect("write");
        stream.write_all(b"\r\n").expect("write");
    }

    pub fn cmd(&mut self, line: &str) -> (u16, String) {
        self.send(line);
        self.reply()
    }

    /// Sends a whole message after EHLO; returns the final reply (or the
    /// first refusal of MAIL or DATA). `message` uses CRLF line ends.
    pub fn mail(&mut self, from: &str, to: &[&str], message: &str) -> (u16, String) {
        let r = self.cmd(&format!("MAIL FROM:<{from}>"));
        if r.0 != 250 {
            return r;
        }
        for rcpt in to {
            let r = self.cmd(&format!("RCPT TO:<{rcpt}>"));
            assert_eq!(r.0, 250, "RCPT {rcpt}: {r:?}");
        }
        let r = self.cmd("DATA");
        if r.0 != 354 {
            return r;
        }
        let stream = self.reader.get_mut();
        stream.write_all(message.as_bytes()).expect("write");
        stream.write_all(b".\r\n").expect("write");
        self.reply()
    }
}

pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub const MESSAGE: &str =
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: relay\r\n\r\nHello\r\n";

/// Postfix's smtp-sink as the smarthost, dumping each transaction to a
/// file (`X-Mail-Args:`/`X-Rcpt-Args:` lines, then the message).
pub struct Sink {
    pub _process: Guard,
    pub port: u16,
    pub dir: TempDir,
}

impl Sink {
    pub fn start() -> Sink {
        require(&["test", "-x", "/usr/sbin/smtp-sink"], "Postfix smtp-sink");
        let dir = TempDir::new("sink");
        let dump = dir.0.join("dump");
        std::fs::create_dir_all(&dump).expect("dump dir");
        // As root it drops to nobody, who must be able to write there.
        let _ = Command::new("chmod")
            .args(["0777", &dir.0.to_string_lossy(), &dump.to_string_lossy()])
            .status();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cmd = Command::new("/usr/sbin/smtp-sink");
        if root {
            cmd.args(["-u", "nobody"]);
        }
        let child = cmd
            .args(["-a", "-d"])
            .arg(format!("{}/m.", dump.display()))
            .arg(format!("127.0.0.1:{port}"))
            .arg("100")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("smtp-sink");
        let guard = Guard(child);
        wait_until("smtp-sink listening", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Sink {
            _process: guard,
            port,
            dir,
        }
    }

    pub fn dumps(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.0.join("dump"))
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}
