//! `nats-server` with JetStream for the relay's JetStream queue tests:
//! one server, or a three-node cluster, on loopback ports, each process
//! killed on drop; ready once its monitoring port's `/healthz` says so
//! (in a cluster: once JetStream has a meta leader). A missing
//! `nats-server` fails loudly (install it with scripts/install-peers).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One `nats-server` process.
pub struct NatsNode {
    child: Option<Child>,
    /// Its client port.
    pub port: u16,
    /// Its monitoring (HTTP) port.
    pub monitor: u16,
    /// Its log.
    pub log: PathBuf,
}

impl NatsNode {
    /// Kills it at once (SIGKILL), as a lost machine.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether it runs.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `GET path` on the monitoring port: the body, `None` when it does
    /// not answer.
    pub fn http(&self, path: &str) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.monitor)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        out.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
    }

    /// The JetStream state of every stream this node holds (`/jsz`):
    /// name → (messages, bytes).
    pub fn streams(&self) -> Vec<(String, u64, u64)> {
        let Some(body) = self.http("/jsz?streams=true") else {
            return Vec::new();
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for account in json["account_details"].as_array().into_iter().flatten() {
            for stream in account["stream_detail"].as_array().into_iter().flatten() {
                out.push((
                    stream["name"].as_str().unwrap_or_default().to_owned(),
                    stream["state"]["messages"].as_u64().unwrap_or(0),
                    stream["state"]["bytes"].as_u64().unwrap_or(0),
                ));
            }
        }
        out
    }

    fn healthy(&self) -> bool {
        self.http("/healthz")
            .is_some_and(|b| b.contains("\"status\":\"ok\"") || b.contains("\"status\": \"ok\""))
    }
}

impl Drop for NatsNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One server or a cluster, with its data directory.
pub struct Nats {
    /// The nodes, in start order.
    pub nodes: Vec<NatsNode>,
    dir: PathBuf,
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn require_nats_server() {
    let ok = Command::new("nats-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "nats-server is missing: install the interop peers with scripts/install-peers"
    );
}

impl Nats {
    /// One JetStream server.
    pub fn single() -> Nats {
        Nats::start(1, &[])
    }

    /// One JetStream server started with `extra` arguments (such as
    /// `--user U --pass P`).
    #[allow(dead_code)] // not every test binary uses it
    pub fn single_with(extra: &[&str]) -> Nats {
        Nats::start(1, extra)
    }

    /// A three-node JetStream cluster (streams may have three replicas).
    pub fn cluster() -> Nats {
        Nats::start(3, &[])
    }

    fn start(n: usize, extra: &[&str]) -> Nats {
        require_nats_server();
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "mailwire-nats-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("nats dir");
        let ports: Vec<(u16, u16, u16)> = (0..n)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let mut nodes = Vec::new();
        for (i, &(port, monitor, cluster)) in ports.iter().enumerate() {
            let store = dir.join(format!("n{i}"));
            let log = dir.join(format!("n{i}.log"));
            let mut cmd = Command::new("nats-server");
            cmd.arg("-js")
                .arg("-sd")
                .arg(&store)
                .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                .args(["-m", &monitor.to_string()])
                .args(["--server_name", &format!("n{i}")])
                .arg("-l")
                .arg(&log)
                .args(extra);
            if n > 1 {
                let routes: Vec<String> = ports
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, p)| format!("nats://127.0.0.1:{}", p.2))
                    .collect();
                cmd.args(["--cluster_name", "mailwire"])
                    .args(["--cluster", &format!("nats://127.0.0.1:{cluster}")])
                    .args(["--routes", &routes.join(",")]);
            }
            let child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("nats-server (install the peers: scripts/install-peers)");
            nodes.push(NatsNode {
                child: Some(child),
                port,
                monitor,
                log,
            });
        }
        let nats = Nats { nodes, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !nats.nodes.iter().all(NatsNode::healthy) {
            assert!(
                Instant::now() < deadline,
                "nats-server did not become ready: {}",
                nats.nodes
                    .iter()
                    .map(|n| std::fs::read_to_string(&n.log).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        nats
    }

    /// The `--queue` address of a stream on every node.
    pub fn queue(&self, stream: &str) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        format!("nats://{}/{stream}", hosts.join(","))
    }

    /// The index of the node that leads a stream's replicas (asked of a
    /// running node).
    pub fn stream_leader(&self, stream: &str) -> Option<usize> {
        let node = self.any_running();
        let body = node.http("/jsz?streams=true")?;
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        for account in json["account_details"].as_array().into_iter().flatten() {
            for s in account["stream_detail"].as_array().into_iter().flatten() {
                if s["name"] == stream {
                    let leader = s["cluster"]["leader"].as_str()?;
                    return leader.strip_prefix('n')?.parse().ok();
                }
            }
        }
        None
    }

    /// A running node to ask about streams.
    pub fn any_running(&self) -> &NatsNode {
        self.nodes
            .iter()
            .find(|n| n.is_running())
            .expect("a running nats-server")
    }
}
