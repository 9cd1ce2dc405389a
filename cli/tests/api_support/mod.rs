//! Helpers for the tests of `mailwire serve --http`: the server as a
//! child process, a small SMTP client (each message's reply is its 250),
//! a plain HTTP/1.1 client (so that tests can send any `Host`, `Origin`
//! or body) and a websocket client. Everything goes over real loopback
//! sockets.

#![allow(dead_code)]

pub mod shapes;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::Value;

/// The binary under test.
pub const MAILWIRE: &str = env!("CARGO_BIN_EXE_mailwire");

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system's temporary directory, removed on
/// drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "mailwire-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `mailwire serve --listen 127.0.0.1:0 --http 127.0.0.1:0`,
/// killed on drop.
pub struct Api {
    child: Child,
    /// SMTP.
    pub smtp: SocketAddr,
    /// HTTP.
    pub http: SocketAddr,
    /// The Maildir.
    pub maildir: PathBuf,
    lines: Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Api {
    /// Starts the server on `maildir` with `args` added, and waits for
    /// its `listening on` and `web interface on` lines.
    pub fn start(maildir: &Path, args: &[&str]) -> Api {
        let mut child = Command::new(MAILWIRE)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .arg("--maildir")
            .arg(maildir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mailwire serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut pipe = child.stderr.take().expect("stderr");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (mut smtp, mut http) = (None, None);
        while smtp.is_none() || http.is_none() {
            let line = lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| {
                    panic!(
                        "mailwire serve did not start; stderr: {}",
                        stderr.lock().unwrap()
                    )
                });
            if let Some(rest) = line.strip_prefix("listening on ") {
                smtp = Some(rest.parse().expect("SMTP address"));
            } else if let Some(rest) = line
                .strip_prefix("web interface on http://")
                .or_else(|| line.strip_prefix("web interface on https://"))
            {
                // The address, without the --webroot path after it.
                let addr = rest.split('/').next().unwrap_or_default();
                http = Some(addr.parse().expect("HTTP address"));
            }
        }
        Api {
            child,
            smtp: smtp.unwrap(),
            http: http.unwrap(),
            maildir: maildir.to_path_buf(),
            lines,
            stderr,
        }
    }

    /// The next line the server writes to stdout (after the ones
    /// [`Api::start`] read), within 30 seconds.
    #[allow(dead_code)] // not every test binary uses it
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line from mailwire serve; stderr: {}", self.stderr()))
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// A request with the usual `Host` (the bound address).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        request(self.http, method, path, headers, body)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None)
    }

    /// `GET path`, expecting 200 and JSON of `shape`.
    pub fn get_json(&self, path: &str, shape: &shapes::Shape) -> Value {
        let reply = self.get(path);
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "GET {path}"
        );
        let json = reply.json();
        shapes::check(&json, shape);
        json
    }

    /// `method path` with a JSON body, expecting `200 ok`.
    pub fn send_json(&self, method: &str, path: &str, body: &Value) {
        let text = body.to_string();
        let reply = self.request(
            method,
            path,
            &[("Content-Type", "application/json")],
            Some(text.as_bytes()),
        );
        assert_eq!(
            (reply.status, reply.text().as_str()),
            (200, "ok"),
            "{method} {path} {body}"
        );
    }

    /// The page `GET /api/v1/messages?…` (shape checked).
    pub fn list(&self, query: &str) -> Value {
        self.get_json(
            &format!("/api/v1/messages{query}"),
            &shapes::MESSAGES_SUMMARY,
        )
    }

    /// The IDs of a search, newest first (shape checked).
    pub fn search_ids(&self, query: &str) -> Vec<String> {
        let path = format!("/api/v1/search?query={}", encode(query));
        ids(&self.get_json(&path, &shapes::MESSAGES_SUMMARY))
    }

    /// Stops the server (SIGKILL is enough: every message was made
    /// durable before its 250).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The IDs of a page's messages, in order.
pub fn ids(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["ID"].as_str().expect("ID").to_owned())
        .collect()
}

/// Percent-encodes a query parameter value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value (name without regard to case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request on its own connection. `Host` is the address
/// unless `headers` name one.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect HTTP");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.unwrap_or_default());
    stream.write_all(&out).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
}

/// Sends one message over SMTP and returns once its `250` is read.
pub fn send(smtp: SocketAddr, from: &str, to: &[&str], message: &str) {
    let stream = TcpStream::connect(smtp).expect("connect SMTP");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    let expect = |code: &str, reader: &mut BufReader<TcpStream>| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("SMTP reply");
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) == Some(&b' ') {
            break;
        }
    };
    expect("220", &mut reader);
    let mut say = |text: String| writer.write_all(text.as_bytes()).expect("SMTP send");
    say("EHLO client.example\r\n".into());
    expect("250", &mut reader);
    say(format!("MAIL FROM:<{from}>\r\n"));
    expect("250", &mut reader);
    for r in to {
        say(format!("RCPT TO:<{r}>\r\n"));
        expect("250", &mut reader);
    }
    say("DATA\r\n".into());
    expect("354", &mut reader);
    let mut data = String::new();
    for line in message.replace("\r\n", "\n").split('\n') {
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    say(data);
    expect("250", &mut reader);
    say("QUIT\r\n".into());
}

/// A websocket client of `/api/events`.
pub struct Events {
    socket: tungstenite::WebSocket<TcpStream>,
}

impl Events {
    /// Connects to `http`'s `/api/events`, with `headers` added to the
    /// upgrade request.
    pub fn connect(http: SocketAddr, headers: &[(&str, &str)]) -> Result<Events, u16> {
        use tungstenite::client::IntoClientRequest;
        let mut request = format!("ws://{http}/api/events")
            .into_client_request()
            .expect("request");
        for (name, value) in headers {
            request.headers_mut().insert(
                tungstenite::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                value.parse().expect("value"),
            );
        }
        let stream = TcpStream::connect(http).expect("connect websocket");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        match tungstenite::client::client(request, stream) {
            Ok((socket, _)) => Ok(Events { socket }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("websocket handshake: {e}"),
        }
    }

    /// The next event of type `kind` (others skipped; every one is shape
    /// checked).
    pub fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let message = self
                .socket
                .read()
                .unwrap_or_else(|e| panic!("waiting for a {kind} event: {e}"));
            let tungstenite::Message::Text(text) = message else {
                continue;
            };
            let event: Value = serde_json::from_str(text.as_str()).expect("event JSON");
            shapes::check_event(&event);
            if event["Type"] == kind {
                return event["Data"].clone();
            }
        }
    }
}

/// The names in `maildir/folder`, sorted.
pub fn names(maildir: &Path, folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(maildir.join(folder))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Waits up to 10 s for `check` to hold (for changes made by hand to the
/// Maildir, which the server learns of asynchronously).
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
