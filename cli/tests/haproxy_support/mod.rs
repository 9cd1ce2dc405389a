//! Debian's HAProxy as the load balancer in front of `mailwire serve`:
//! started in the foreground with a configuration the test writes, killed
//! on drop, its servers' health read from its stats socket.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How HAProxy passes the client's address on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    /// `send-proxy`: PROXY protocol version 1 (text).
    V1,
    /// `send-proxy-v2`: version 2 (binary).
    V2,
}

/// A running HAProxy: one TCP frontend, one round-robin backend of SMTP
/// servers with SMTP health checks every 200 ms that send the PROXY
/// header too (`check-send-proxy`).
pub struct Haproxy {
    child: Child,
    /// Where clients connect.
    pub frontend: SocketAddr,
    stats: PathBuf,
    dir: PathBuf,
}

/// One backend server's line of `show stat`.
#[derive(Debug)]
pub struct ServerStat {
    /// Its name in the configuration.
    pub name: String,
    /// `UP`, `DOWN`, `UP 1/3`, …
    pub status: String,
    /// Failed health checks so far.
    pub check_failures: u64,
    /// Sessions HAProxy sent to it.
    pub sessions: u64,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Haproxy {
    /// Starts HAProxy in front of `backends` and waits until it reports
    /// every one of them `UP` (so the health checks with the PROXY header
    /// passed).
    pub fn start(proxy: Proxy, backends: &[SocketAddr]) -> Haproxy {
        let dir = std::env::temp_dir().join(format!(
            "mailwire-haproxy-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("haproxy dir");
        let stats = dir.join("stats.sock");
        let frontend: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let send = match proxy {
            Proxy::V1 => "send-proxy",
            Proxy::V2 => "send-proxy-v2",
        };
        let mut config = format!(
            "global\n\
             \x20   stats socket {stats} mode 600 level admin\n\
             defaults\n\
             \x20   mode tcp\n\
             \x20   timeout connect 5s\n\
             \x20   timeout client 60s\n\
             \x20   timeout server 60s\n\
             frontend smtp\n\
             \x20   bind {frontend}\n\
             \x20   default_backend mailwire\n\
             backend mailwire\n\
             \x20   balance roundrobin\n\
             \x20   option smtpchk EHLO haproxy.test\n\
             \x20   default-server {send} check check-send-proxy inter 200ms fall 1 rise 1\n",
            stats = stats.display(),
        );
        for (i, b) in backends.iter().enumerate() {
            config.push_str(&format!("    server s{i} {b}\n"));
        }
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config).expect("write haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start haproxy (install it with scripts/install-peers)");
        let haproxy = Haproxy {
            child,
            frontend,
            stats,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let servers = haproxy.try_servers();
            if servers
                .as_ref()
                .is_some_and(|s| s.len() == backends.len() && s.iter().all(|s| s.status == "UP"))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "HAProxy did not report its servers UP: {servers:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        haproxy
    }

    /// The backend servers as HAProxy sees them now.
    pub fn servers(&self) -> Vec<ServerStat> {
        self.try_servers().expect("HAProxy's stats socket answers")
    }

    fn try_servers(&self) -> Option<Vec<ServerStat>> {
        let mut socket = UnixStream::connect(&self.stats).ok()?;
        socket.write_all(b"show stat\n").ok()?;
        let mut csv = String::new();
        socket.read_to_string(&mut csv).ok()?;
        let mut lines = csv.lines();
        let names: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let col = |name: &str| names.iter().position(|n| *n == name);
        let (sv, status, chkfail, stot) = (
            col("svname")?,
            col("status")?,
            col("chkfail")?,
            col("stot")?,
        );
        let mut out = Vec::new();
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() <= sv || f[0] != "mailwire" || f[sv] == "BACKEND" {
                continue;
            }
            out.push(ServerStat {
                name: f[sv].to_string(),
                status: f[status].to_string(),
                check_failures: f[chkfail].parse().unwrap_or(0),
                sessions: f[stot].parse().unwrap_or(0),
            });
        }
        Some(out)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
