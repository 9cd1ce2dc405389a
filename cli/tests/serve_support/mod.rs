//! Helpers for the `mailwire serve` binary tests: a temporary directory,
//! the server as a child process (killed on drop), peers run with a time
//! limit, and the stored Maildir.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The binary under test.
pub const MAILWIRE: &str = env!("CARGO_BIN_EXE_mailwire");

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A directory under the system's temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, unique, empty directory.
    pub fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "mailwire-{label}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// A path inside.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Panics loudly when a peer program is missing.
pub fn require(program: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
                .any(|dir| dir.join(program).is_file())
        })
        .unwrap_or(false);
    assert!(
        found,
        "peer `{program}` is not installed: install the interop peers with scripts/install-peers"
    );
}

/// A running `mailwire serve`, killed on drop.
pub struct Serve {
    child: Option<Child>,
    lines: Receiver<String>,
    /// The plain listeners' addresses.
    pub addrs: Vec<SocketAddr>,
    /// The implicit-TLS listeners' addresses.
    pub tls_addrs: Vec<SocketAddr>,
    /// The Maildir (inside `_dir`).
    pub maildir: PathBuf,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    _dir: TempDir,
}

impl Serve {
    /// Starts `mailwire serve --listen 127.0.0.1:0 --maildir DIR ARGS…`
    /// (DIR a fresh temporary directory unless ARGS name one) and waits
    /// for its `listening on` line(s).
    pub fn start(args: &[&str]) -> Serve {
        Serve::start_with(args, true)
    }

    /// Like [`start`](Self::start); without the default plain listener
    /// when `plain` is false.
    pub fn start_with(args: &[&str], plain: bool) -> Serve {
        let dir = TempDir::new("serve");
        let given = args
            .iter()
            .position(|a| *a == "--maildir")
            .and_then(|i| args.get(i + 1));
        let maildir = given.map_or_else(|| dir.join("mail"), PathBuf::from);
        let mut command = Command::new(MAILWIRE);
        command.arg("serve");
        if plain {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        if given.is_none() {
            command.arg("--maildir").arg(&maildir);
        }
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start mailwire serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr_pipe = child.stderr.take().expect("stderr");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            // Line by line, so a running server's stderr can be read.
            let mut lines = BufReader::new(&mut stderr_pipe);
            let mut line = String::new();
            while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                }
                line.clear();
            }
        });
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let expected = args.iter().filter(|a| **a == "--listen-tls").count()
            + args.iter().filter(|a| **a == "--listen").count()
            + usize::from(plain);
        let mut serve = Serve {
            child: Some(child),
            lines: rx,
            addrs: Vec::new(),
            tls_addrs: Vec::new(),
            maildir,
            stderr,
            _dir: dir,
        };
        while serve.addrs.len() + serve.tls_addrs.len() < expected {
            let line = serve
                .next_line(Duration::from_secs(20))
                .unwrap_or_else(|| panic!("no `listening on` line; stderr: {}", serve.stderr()));
            let rest = line
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first output {line:?}"));
            let (addr, tls) = match rest.strip_suffix(" (implicit TLS)") {
                Some(a) => (a, true),
                None => (rest, false),
            };
            let addr: SocketAddr = addr.parse().expect("address in `listening on`");
            assert_ne!(addr.port(), 0, "real port printed");
            if tls {
                serve.tls_addrs.push(addr);
            } else {
                serve.addrs.push(addr);
            }
        }
        serve
    }

    /// The first plain listener's port.
    pub fn port(&self) -> u16 {
        self.addrs[0].port()
    }

    /// The next output line, if one arrives in time.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// `n` output lines (panics if they do not arrive within 20 s).
    pub fn take_lines(&self, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                self.next_line(Duration::from_secs(20))
                    .unwrap_or_else(|| panic!("output line {i} missing; stderr: {}", self.stderr()))
            })
            .collect()
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The stored messages (`new/`), sorted by name.
    pub fn messages(&self) -> Vec<(PathBuf, String)> {
        stored(&self.maildir)
    }

    /// Sends SIGTERM and waits (at most 20 s) for the exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &pid(self).to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.terminate_wait()
    }

    /// Waits (at most 20 s) for the exit status after a signal.
    pub fn terminate_wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("mailwire serve did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The server's process id.
pub fn pid(serve: &Serve) -> u32 {
    serve.child.as_ref().map_or(0, Child::id)
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The files in `maildir/new`, sorted by name, with their contents;
/// checks each is mode 0600 and that `tmp/` is empty.
pub fn stored(maildir: &Path) -> Vec<(PathBuf, String)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(maildir.join("new"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let leftovers = std::fs::read_dir(maildir.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "tmp/ holds no leftovers");
    files
        .into_iter()
        .map(|p| {
            let mode = std::fs::metadata(&p).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{} mode", p.display());
            let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
            (p, text)
        })
        .collect()
}

/// The header lines of a stored file (before the first empty line).
pub fn header_lines(text: &str) -> Vec<&str> {
    text.split("\r\n").take_while(|l| !l.is_empty()).collect()
}

/// Checks the stored file's trace block: `Return-Path: <from>`, one
/// `X-Envelope-To` per recipient in order, then `Received`.
pub fn assert_trace(text: &str, from: &str, recipients: &[&str]) {
    let lines = header_lines(text);
    assert_eq!(lines[0], format!("Return-Path: <{from}>"), "{text}");
    for (i, r) in recipients.iter().enumerate() {
        assert_eq!(lines[1 + i], format!("X-Envelope-To: <{r}>"), "{text}");
    }
    assert!(
        lines[1 + recipients.len()].starts_with("Received: from "),
        "{text}"
    );
    let count = lines
        .iter()
        .filter(|l| l.starts_with("X-Envelope-To:"))
        .count();
    assert_eq!(count, recipients.len(), "{text}");
}

/// What a peer did.
pub struct Ran {
    /// Its exit status.
    pub status: ExitStatus,
    /// stdout and stderr together (stderr after stdout).
    pub output: String,
}

impl Ran {
    /// The exit code (panics on a signal).
    pub fn code(&self) -> i32 {
        self.status.code().expect("exited normally")
    }
}

/// Runs `program args` with `input` on stdin, killing it after `limit`.
pub fn run_peer(program: &str, args: &[&str], input: Option<&[u8]>, limit: Duration) -> Ran {
    require(program);
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        let data = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut output = String::from_utf8_lossy(&out_t.join().unwrap_or_default()).into_owned();
    output.push_str(&String::from_utf8_lossy(&err_t.join().unwrap_or_default()));
    Ran { status, output }
}

/// `swaks` against `port` with extra arguments, 60 s at most.
pub fn swaks(port: u16, args: &[&str]) -> Ran {
    let server = format!("127.0.0.1:{port}");
    let mut all = vec!["--server", &server, "--helo", "client.example"];
    all.extend_from_slice(args);
    run_peer("swaks", &all, None, Duration::from_secs(60))
}
