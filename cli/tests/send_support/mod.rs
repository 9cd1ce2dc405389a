//! Shared pieces of the `mailwire send` tests: running the binary with a
//! time limit (the child is killed on drop), temporary directories, a
//! closed port.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long one `mailwire send` may run.
pub const LIMIT: Duration = Duration::from_secs(60);

/// A child process, killed and reaped on drop.
pub struct ChildGuard(pub Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// The exit status (-1: killed by a signal).
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The one JSON object on standard output.
    pub fn json(&self) -> serde_json::Value {
        let lines: Vec<&str> = self.stdout.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "exactly one JSON line expected: {self:#?}");
        serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("JSON: {e}: {self:#?}"))
    }
}

/// Runs `mailwire send ARGS…` with `stdin`, within [`LIMIT`].
pub fn send_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .arg("send")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mailwire");
    let mut input = child.stdin.take().expect("stdin");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let mut guard = ChildGuard(Some(child));
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        let child = guard.0.as_mut().expect("child");
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < LIMIT,
            "mailwire send {args:?} did not finish within {LIMIT:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    guard.0 = None;
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&reader.join().expect("stdout")).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().expect("stderr")).into_owned();
    Run {
        status: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// Runs `mailwire send ARGS…` with empty standard input.
pub fn send(args: &[&str]) -> Run {
    send_with_stdin(args, b"")
}

/// A fresh directory under the system's temporary directory, removed on
/// drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Makes one (`tag` goes into the name).
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mailwire-send-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` in it and returns its path as a string.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// `127.0.0.1:PORT`.
pub fn at(port: u16) -> String {
    format!("127.0.0.1:{port}")
}
