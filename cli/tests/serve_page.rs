//! `mailwire serve --http`'s web page in a real browser: Debian's
//! Chromium, headless, driven by npm's `playwright-core` from
//! `tests/browser/page.mjs`. This test owns the server and sends real
//! mail over SMTP whenever the browser script asks (`SEND …` on its
//! stdout, `SENT` on its stdin), so that mail arrives while the page is
//! open. `scripts/install-peers` installs Chromium and playwright-core.

mod api_support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use api_support::{Api, TempDir, send};

/// One browser at a time: the first-page timing must not share the
/// machine's two cores with another Chromium.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// The messages a 100,000-message Maildir is filled with.
const BULK: usize = 100_000;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// Panics with the way out when the browser or its driver is missing.
fn require_browser() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).is_file(),
        "Chromium is not installed at {chromium}: install the test peers with scripts/install-peers"
    );
    assert!(
        workspace()
            .join("tests/browser/node_modules/playwright-core/package.json")
            .is_file(),
        "playwright-core is not installed in tests/browser: run scripts/install-peers"
    );
    assert!(
        Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "node is not installed: run scripts/install-peers"
    );
}

/// The attachment the newsletter carries (the browser script knows the
/// same bytes and compares its download with them).
fn attachment() -> Vec<u8> {
    (0..10240u32).map(|i| (i % 256) as u8).collect()
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn plain(subject: &str) -> String {
    format!(
        "From: Alice Example <alice@example.org>\r\nTo: dev@example.org\r\nSubject: {subject}\r\n\
Message-ID: <{}@example.org>\r\n\r\nA plain message: {subject}.\r\n",
        subject.replace(' ', "-")
    )
}

fn invoice() -> String {
    "From: Acme Billing <billing@acme.test>\r\nTo: dev@example.org\r\nSubject: Invoice 7 from Acme\r\n\
Message-ID: <invoice-7@acme.test>\r\n\r\nPlease find the amount due below.\r\n"
        .to_owned()
}

/// A newsletter with what a page must not run or load: a `<script>` and
/// an `onerror` handler that would leave marks, and a remote image on
/// `remote` (the browser script's own server); plus an inline image, a
/// link and an attachment.
fn newsletter(remote: &str) -> String {
    let attached = base64(&attachment())
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n");
    let logo = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    format!(
        "From: Shop Team <news@shop.test>\r
To: Dev <dev@example.org>\r
Subject: Your weekly newsletter\r
Message-ID: <newsletter-1@shop.test>\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"mixed\"\r
\r
--mixed\r
Content-Type: multipart/related; boundary=\"related\"\r
\r
--related\r
Content-Type: multipart/alternative; boundary=\"alt\"\r
\r
--alt\r
Content-Type: text/plain; charset=utf-8\r
\r
Hello from the newsletter, in plain text.\r
--alt\r
Content-Type: text/html; charset=utf-8\r
\r
<!DOCTYPE html><html><head><style>\r
body {{ font-family: sans-serif; color: #222; }}\r
.card {{ border: 1px solid #ddd; border-radius: 8px; padding: 16px; max-width: 560px; }}\r
h2 {{ color: #2f6f9f; margin-top: 0; }}\r
</style></head><body><div class=\"card\">\r
<h2>Hello from the newsletter</h2>\r
<p><img id=\"inline\" src=\"cid:logo@shop.test\" width=\"24\" height=\"24\" alt=\"logo\"> This week: new arrivals and a spring sale.</p>\r
<p><img id=\"remote\" src=\"http://{remote}/remote.png\" width=\"120\" height=\"30\" alt=\"a remote image\"></p>\r
<p><a id=\"link\" href=\"https://shop.test/offers\">See the offers</a></p>\r
<img src=\"data:,\" alt=\"\" onerror=\"document.body.setAttribute('data-onerror','yes')\">\r
<script>document.body.setAttribute('data-ran', 'yes'); parent.document.title = 'script ran'; new Image().src = 'http://{remote}/script-ran';</script>\r
</div></body></html>\r
--alt--\r
--related\r
Content-Type: image/png\r
Content-ID: <logo@shop.test>\r
Content-Transfer-Encoding: base64\r
\r
{logo}\r
--related--\r
--mixed\r
Content-Type: application/octet-stream; name=\"data.bin\"\r
Content-Disposition: attachment; filename=\"data.bin\"\r
Content-Transfer-Encoding: base64\r
\r
{attached}\r
--mixed--\r
"
    )
}

/// Runs the browser script in `mode` against `api`, answering its
/// requests for mail; returns the lines it printed that were not
/// requests.
fn run_browser(api: &Api, mode: &str, env: &[(&str, &str)]) -> Vec<String> {
    run_browser_at(api, "/", mode, env)
}

/// As [`run_browser`], with the page at `root` (`--webroot`).
fn run_browser_at(api: &Api, root: &str, mode: &str, env: &[(&str, &str)]) -> Vec<String> {
    let mut command = Command::new("node");
    command
        .arg("tests/browser/page.mjs")
        .current_dir(workspace())
        .env("MAILWIRE_URL", format!("http://{}{root}", api.http))
        .env("MODE", mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start node");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut said = Vec::new();
    for line in stdout.lines() {
        let line = line.expect("browser script output");
        let words: Vec<&str> = line.splitn(3, ' ').collect();
        match words.as_slice() {
            ["SEND", "plain", subject] => send(
                api.smtp,
                "alice@example.org",
                &["dev@example.org"],
                &plain(subject),
            ),
            ["SEND", "html", remote] => send(
                api.smtp,
                "news@shop.test",
                &["dev@example.org"],
                &newsletter(remote),
            ),
            ["SEND", "invoice"] => send(
                api.smtp,
                "billing@acme.test",
                &["dev@example.org"],
                &invoice(),
            ),
            ["CHECK", "empty"] => {
                let page = api.list("");
                assert_eq!(page["total"], 0, "the API agrees that all is deleted");
                for folder in ["new", "cur"] {
                    assert!(
                        api_support::names(&api.maildir, folder).is_empty(),
                        "{folder}/ is empty"
                    );
                }
            }
            _ => {
                said.push(line);
                continue;
            }
        }
        writeln!(stdin, "SENT").expect("answer the browser script");
    }
    let status = child.wait().expect("node");
    assert!(
        status.success(),
        "the browser test failed ({status}); server stderr: {}",
        api.stderr()
    );
    assert_eq!(
        said.last().map(String::as_str),
        Some("DONE"),
        "the browser script finished"
    );
    said
}

#[test]
fn the_page_in_chromium() {
    require_browser();
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("page");
    let api = Api::start(&dir.0.join("mail"), &["--http", "127.0.0.1:0"]);
    // MAILWIRE_SCREENSHOTS=DIR saves the README's pictures there.
    match std::env::var("MAILWIRE_SCREENSHOTS") {
        Ok(dir) => run_browser(&api, "full", &[("SCREENSHOTS", &dir)]),
        Err(_) => run_browser(&api, "full", &[]),
    };
}

#[test]
fn the_page_behind_basic_auth() {
    require_browser();
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("page-auth");
    let api = Api::start(
        &dir.0.join("mail"),
        &["--http", "127.0.0.1:0", "--http-auth", "dev:secret"],
    );
    run_browser(&api, "auth", &[("AUTH", "dev:secret")]);
}

#[test]
fn the_page_under_a_web_root() {
    // Mailpit's --webroot, for a reverse proxy that forwards a sub-path:
    // the page, its assets, the API and the live events all under it.
    require_browser();
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = TempDir::new("page-webroot");
    let api = Api::start(
        &dir.0.join("mail"),
        &["--http", "127.0.0.1:0", "--webroot", "mail/pit"],
    );
    assert_eq!(
        api.get("/api/v1/messages").status,
        404,
        "nothing outside the root"
    );
    assert_eq!(api.get("/mail/pit/api/v1/messages").status, 200);
    let bare = api.get("/mail/pit");
    assert_eq!(bare.status, 308, "the root without its slash is redirected");
    assert_eq!(bare.header("location"), Some("/mail/pit/"));
    run_browser_at(&api, "/mail/pit/", "auth", &[]);
}

/// Fills `maildir/new` with `count` small messages, a millisecond apart.
fn fill(maildir: &Path, count: usize) {
    for folder in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(folder)).expect("maildir");
    }
    for i in 0..count {
        let seconds = 1_700_000_000 + i / 1000;
        let micros = (i % 1000) * 1000;
        let name = format!("{seconds}.M{micros}P1Q{i}.bulk");
        let text = format!(
            "From: Sender {s} <sender{s}@bulk.test>\r\nTo: dev@example.org\r\n\
Subject: Bulk message {i}\r\nMessage-ID: <bulk-{i}@bulk.test>\r\n\r\nBody of bulk message {i}.\r\n",
            s = i % 50
        );
        std::fs::write(maildir.join("new").join(name), text).expect("write message");
    }
}

#[test]
fn the_first_page_of_100000_messages_renders_in_under_2_s() {
    require_browser();
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    // In memory where the machine has it: writing 100,000 files to a
    // shared disk can take minutes, and the disk is not what is measured.
    let dir = if Path::new("/dev/shm").is_dir() {
        let path = Path::new("/dev/shm").join(format!("mailwire-page-big-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    } else {
        TempDir::new("page-big")
    };
    let maildir = dir.0.join("mail");
    let began = Instant::now();
    fill(&maildir, BULK);
    eprintln!("wrote {BULK} messages in {:?}", began.elapsed());
    let began = Instant::now();
    let api = Api::start(&maildir, &["--http", "127.0.0.1:0"]);
    eprintln!("the server was ready in {:?}", began.elapsed());
    let began = Instant::now();
    let said = run_browser(&api, "big", &[]);
    eprintln!("the browser part took {:?}", began.elapsed());
    let ms: u64 = said
        .iter()
        .find_map(|l| l.strip_prefix("FIRSTPAGE "))
        .and_then(|n| n.parse().ok())
        .expect("the browser script timed the first page");
    assert!(
        ms < 2000,
        "the first page of {BULK} messages took {ms} ms to render (the bound is 2000 ms)"
    );
}
