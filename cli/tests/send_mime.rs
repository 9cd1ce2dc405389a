//! `mailwire send` composing MIME messages (`--attach`, `--html-file`,
//! `--body-file -`, a binary body file, `--header` replacing a generated
//! field, non-ASCII names) into Postfix's smtp-sink, which does not offer
//! SMTPUTF8, and the mailwire test server, which does. What the peer
//! stored is opened with Python's `email` package (policy.default) and
//! every part must decode to the exact bytes that were given. A missing
//! peer fails loudly (install them with scripts/install-peers).

mod send_support;

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwire_test_server::TestServer;
use send_support::{ChildGuard, TempDir, at, closed_port, send, send_with_stdin};
use serde_json::Value;

/// Reads a message file with Python's email package and prints what it
/// found as JSON; each leaf part's decoded bytes go to a file of their own.
const READ_WITH_PYTHON: &str = r#"
import email, email.policy, json, os, sys
data = open(sys.argv[1], "rb").read()
# smtp-sink ends its dump with an empty line of its own.
if data.endswith(b"\n\n"):
    data = data[:-1]
msg = email.message_from_bytes(data, policy=email.policy.default)
def addrs(name):
    header = msg[name]
    return [[a.display_name, a.addr_spec] for a in header.addresses] if header else []
out = {
    "subject": str(msg["subject"]) if msg["subject"] is not None else None,
    "subjects": len(msg.get_all("subject") or []),
    "from": addrs("from"),
    "to": addrs("to"),
    "defects": [repr(d) for d in msg.defects],
    "parts": [],
}
for i, part in enumerate(msg.walk()):
    if part.is_multipart():
        out["parts"].append({"multipart": part.get_content_type()})
        continue
    path = os.path.join(sys.argv[2], "part%d" % i)
    with open(path, "wb") as f:
        f.write(part.get_payload(decode=True))
    out["parts"].append({
        "type": part.get_content_type(),
        "filename": part.get_filename(),
        "disposition": part.get_content_disposition(),
        "file": path,
        "defects": [repr(d) for d in part.defects],
    })
print(json.dumps(out))
"#;

fn python_reads(message: &Path, parts: &Path) -> Value {
    let out = Command::new("python3")
        .args(["-c", READ_WITH_PYTHON])
        .arg(message)
        .arg(parts)
        .output()
        .expect("python3 is missing: install the interop peers with scripts/install-peers");
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python's JSON")
}

/// The decoded bytes of leaf part `index` (in Python's walk order, leaves
/// only).
fn leaf(found: &Value, index: usize) -> (Value, Vec<u8>) {
    let leaves: Vec<&Value> = found["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|p| p.get("multipart").is_none())
        .collect();
    let part = leaves
        .get(index)
        .unwrap_or_else(|| panic!("no part {index}: {found}"));
    let bytes = std::fs::read(part["file"].as_str().expect("file")).expect("part file");
    ((*part).clone(), bytes)
}

/// Text as Python decoded it, line ends made LF (the transfer form is
/// CRLF).
fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec())
        .expect("UTF-8")
        .replace("\r\n", "\n")
}

/// smtp-sink on a fresh port dumping each transaction into a file.
struct Sink {
    _guard: ChildGuard,
    dir: TempDir,
    port: u16,
}

impl Sink {
    fn start() -> Sink {
        assert!(
            Path::new("/usr/sbin/smtp-sink").exists(),
            "Postfix smtp-sink is missing: install the interop peers with scripts/install-peers"
        );
        let dir = TempDir::new("mime-sink");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        let port = closed_port();
        let template = format!("{}/msg.", dir.path().display());
        let child = Command::new("/usr/sbin/smtp-sink")
            .args(["-u", "nobody", "-d", &template])
            .arg(at(port))
            .arg("10")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run smtp-sink");
        let guard = ChildGuard(Some(child));
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "smtp-sink did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sink {
            _guard: guard,
            dir,
            port,
        }
    }

    /// The one dumped message file (bounded wait).
    fn dump(&self) -> std::path::PathBuf {
        let start = Instant::now();
        loop {
            let files: Vec<_> = std::fs::read_dir(self.dir.path())
                .expect("dump dir")
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect();
            if files.len() == 1 {
                // smtp-sink writes the file whole at the end of the data.
                return files[0].clone();
            }
            assert!(files.len() < 2, "more than one message: {files:?}");
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no message dumped"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn longest_line(bytes: &[u8]) -> usize {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).len())
        .max()
        .unwrap_or(0)
}

/// Bytes every value of which occurs, CR and LF and NUL included.
fn binary(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_add(seed).wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[test]
fn attachments_html_and_names_into_smtp_sink_open_in_python() {
    let sink = Sink::start();
    let files = TempDir::new("mime-files");
    let pdf = binary(300_000, 1);
    let pdf_path = files.write("report.pdf", &pdf);
    let csv = "name,city\nNúñez,Köln\n".repeat(50);
    let csv_path = files.write("Größe, \"final\".csv", &csv);
    let raw = binary(5_000, 2);
    let raw_path = files.write("blob", &raw);
    let html = format!(
        "<p>Grüße — {}</p>\n<p>second line</p>\n",
        "long ".repeat(400)
    );
    let html_path = files.write("page.html", &html);
    let run = send(&[
        "--server",
        &at(sink.port),
        "--from",
        "José Núñez <jose@example.org>",
        "--to",
        "\"Doe, Jane\" <jane@bücher.example>",
        "--subject",
        "Rapport trimestriel: résumé",
        "--body",
        "text version",
        "--html-file",
        &html_path,
        // As in swaks: a type holds for every --attach after it, a name
        // for the next one only.
        "--attach-type",
        "application/pdf",
        "--attach",
        &pdf_path,
        "--attach-type",
        "text/csv",
        "--attach",
        &format!("@{csv_path}"),
        "--attach-type",
        "image/x-raw",
        "--attach-name",
        "renamed.raw",
        "--attach",
        &raw_path,
        "--attach",
        &pdf_path,
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(run.json()["outcome"], "sent");
    let dump = sink.dump();
    let stored = std::fs::read(&dump).expect("dump");
    assert!(
        stored.is_ascii(),
        "smtp-sink offers no SMTPUTF8: the message must be ASCII"
    );
    assert!(longest_line(&stored) <= 998);

    let parts = TempDir::new("mime-parts");
    let found = python_reads(&dump, parts.path());
    assert_eq!(found["defects"], serde_json::json!([]), "{found}");
    assert_eq!(found["subject"], "Rapport trimestriel: résumé", "{found}");
    assert_eq!(found["subjects"], 1);
    assert_eq!(
        found["from"],
        serde_json::json!([["José Núñez", "jose@example.org"]])
    );
    assert_eq!(
        found["to"],
        serde_json::json!([["Doe, Jane", "jane@xn--bcher-kva.example"]])
    );
    let multiparts: Vec<&Value> = found["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.get("multipart"))
        .collect();
    assert_eq!(multiparts, ["multipart/mixed", "multipart/alternative"]);

    let (part, bytes) = leaf(&found, 0);
    assert_eq!(part["type"], "text/plain");
    assert_eq!(text(&bytes), "text version");
    let (part, bytes) = leaf(&found, 1);
    assert_eq!(part["type"], "text/html");
    assert_eq!(text(&bytes), html);
    let expected: [(&str, &str, &[u8]); 4] = [
        ("application/pdf", "report.pdf", &pdf),
        ("text/csv", "Größe, \"final\".csv", csv.as_bytes()),
        ("image/x-raw", "renamed.raw", &raw),
        ("image/x-raw", "report.pdf", &pdf),
    ];
    for (index, (kind, name, data)) in expected.into_iter().enumerate() {
        let (part, bytes) = leaf(&found, 2 + index);
        assert_eq!(part["type"], kind, "{part}");
        assert_eq!(part["filename"], name, "{part}");
        assert_eq!(part["disposition"], "attachment", "{part}");
        assert_eq!(part["defects"], serde_json::json!([]), "{part}");
        assert!(bytes == data, "{name}: the decoded bytes differ");
    }
}

#[test]
fn attachment_from_stdin_named_or_nameless() {
    // swaks' `--attach -`: the attachment's bytes from standard input;
    // --attach-name names it, `--attach-name ''` leaves it nameless.
    let data = binary(5_000, 7);
    for (name, expected) in [
        (Some("from-stdin.dat"), Value::from("from-stdin.dat")),
        (Some(""), Value::Null),
        (None, Value::Null),
    ] {
        let sink = Sink::start();
        let mut args = vec![
            "--server",
            &at(sink.port),
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--body",
            "see the attachment",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        if let Some(name) = name {
            args.extend(["--attach-name".to_owned(), name.to_owned()]);
        }
        args.extend(["--attach".to_owned(), "-".to_owned()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = send_with_stdin(&args, &data);
        assert_eq!(run.status, 0, "{name:?}: {run:#?}");
        let dump = sink.dump();
        let parts = TempDir::new("mime-stdin-attach");
        let found = python_reads(&dump, parts.path());
        let (part, bytes) = leaf(&found, 1);
        assert_eq!(part["type"], "application/octet-stream", "{part}");
        assert_eq!(part["filename"], expected, "{name:?}: {part}");
        assert!(bytes == data, "{name:?}: the decoded bytes differ");
    }
    // Standard input can feed one option only.
    let run = send_with_stdin(
        &[
            "--server",
            "127.0.0.1:1",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--body-file",
            "-",
            "--attach",
            "-",
        ],
        b"x",
    );
    assert_eq!(run.status, 1, "{run:#?}");
    assert!(
        run.stderr.contains("can read standard input"),
        "{}",
        run.stderr
    );
}

#[test]
fn body_from_stdin_binary_body_and_one_subject() {
    // --body-file - reads standard input; --header Subject replaces
    // --subject.
    let sink = Sink::start();
    let run = send_with_stdin(
        &[
            "--server",
            &at(sink.port),
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
            "--subject",
            "s",
            "--header",
            "Subject: t",
            "--body-file",
            "-",
        ],
        "from standard input: ünïcode\nsecond line\n".as_bytes(),
    );
    assert_eq!(run.status, 0, "{run:#?}");
    let dump = sink.dump();
    let parts = TempDir::new("mime-stdin");
    let found = python_reads(&dump, parts.path());
    assert_eq!(found["subjects"], 1, "{found}");
    assert_eq!(found["subject"], "t");
    let (part, bytes) = leaf(&found, 0);
    assert_eq!(part["type"], "text/plain");
    assert_eq!(text(&bytes), "from standard input: ünïcode\nsecond line\n");

    // A body file that is not text goes as its bytes, typed by its name.
    let sink = Sink::start();
    let files = TempDir::new("mime-binary-body");
    let data = binary(20_000, 3);
    let path = files.write("photo.png", &data);
    let run = send(&[
        "--server",
        &at(sink.port),
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--body-file",
        &path,
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let dump = sink.dump();
    let found = python_reads(&dump, parts.path());
    let (part, bytes) = leaf(&found, 0);
    assert_eq!(part["type"], "image/png", "{found}");
    assert!(bytes == data, "the body's bytes differ");
}

#[test]
fn a_non_ascii_local_part_needs_smtputf8() {
    let to = ["--to", "Zoë <zoë@example.org>"];
    // smtp-sink does not offer SMTPUTF8: refused before MAIL, with a
    // sentence that says why.
    let sink = Sink::start();
    let run = send(
        &[
            &["--server", &at(sink.port), "--from", "a@example.org"][..],
            &to,
            &["--body", "x", "--json"],
        ]
        .concat(),
    );
    assert_eq!(run.status, 3, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "not_sent");
    let error = json["error"].as_str().expect("error");
    assert!(
        error.contains("zoë@example.org has a non-ASCII local part") && error.contains("SMTPUTF8"),
        "{error}"
    );

    // The mailwire test server offers it: sent, the address in UTF-8, the
    // name still encoded.
    let server = TestServer::start();
    let address = at(server.port());
    let run = send(
        &[
            &["--server", &address, "--from", "a@example.org"][..],
            &to,
            &["--body", "x"],
        ]
        .concat(),
    );
    assert_eq!(run.status, 0, "{run:#?}");
    let mails = server
        .wait_for(1, Duration::from_secs(10))
        .expect("message");
    assert!(mails[0].envelope.params.smtputf8);
    assert_eq!(mails[0].to, ["zoë@example.org"]);
    let text = mails[0].text();
    assert!(text.contains("<zoë@example.org>"), "{text}");
    assert!(text.contains("To: =?utf-8?"), "{text}");
}

#[test]
fn usage_errors_name_the_option() {
    let files = TempDir::new("mime-usage");
    let pdf = files.write("a.pdf", b"%PDF");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--attach", "/nonexistent/file.pdf"],
            "--attach /nonexistent/file.pdf:",
        ),
        (
            &["--attach", &pdf, "--attach-type", "a/b"],
            "--attach-type \"a/b\" comes after the last --attach",
        ),
        (&["--to", "not an address"], "--to:"),
        (
            &["--attach", &pdf, "--header", "Content-Type: text/html"],
            "Content-Type",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec![
            "--server",
            "127.0.0.1:1",
            "--from",
            "a@example.org",
            "--to",
            "b@example.org",
        ];
        args.extend_from_slice(extra);
        let run = send(&args);
        assert_eq!(run.status, 1, "{args:?}: {run:#?}");
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("{ "), "Debug output: {}", run.stderr);
    }
}

/// Runs `mailwire send ARGS…` under Python and returns its exit status and
/// peak resident set size in KiB (`getrusage(RUSAGE_CHILDREN)`).
fn send_peak_rss(args: &[&str]) -> (i32, u64) {
    const MEASURE: &str = "import resource, subprocess, sys\n\
        r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, timeout=300)\n\
        print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let out = Command::new("python3")
        .args(["-c", MEASURE, env!("CARGO_BIN_EXE_mailwire"), "send"])
        .args(args)
        .output()
        .expect("python3 is missing: install the interop peers with scripts/install-peers");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split_whitespace();
    let status = fields.next().and_then(|s| s.parse().ok()).expect("status");
    let rss = fields.next().and_then(|s| s.parse().ok()).expect("rss");
    (status, rss)
}

#[test]
fn a_100_mib_attachment_streams_in_bounded_memory() {
    // smtp-sink without -d: it reads and discards the message.
    assert!(
        Path::new("/usr/sbin/smtp-sink").exists(),
        "smtp-sink is missing"
    );
    let port = closed_port();
    let child = Command::new("/usr/sbin/smtp-sink")
        .args(["-u", "nobody"])
        .arg(at(port))
        .arg("10")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run smtp-sink");
    let _guard = ChildGuard(Some(child));
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "smtp-sink did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let files = TempDir::new("mime-big");
    let path = files.path().join("big.bin");
    let file = std::fs::File::create(&path).expect("create");
    file.set_len(100 << 20).expect("a 100 MiB file");
    drop(file);
    let path = path.to_string_lossy().into_owned();
    let server = at(port);
    let (status, peak_kib) = send_peak_rss(&[
        "--server",
        &server,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--subject",
        "big",
        "--body",
        "see attached",
        "--attach",
        &path,
    ]);
    assert_eq!(status, 0);
    eprintln!("peak RSS sending a 100 MiB attachment: {peak_kib} KiB");
    assert!(
        peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB is over 64 MiB"
    );
}

#[test]
fn a_content_type_header_types_a_raw_body() {
    let server = TestServer::start();
    let address = at(server.port());
    let run = send(&[
        "--server",
        &address,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--header",
        "Content-Type: text/html; charset=utf-8",
        "--body",
        "<b>bold</b>",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let mails = server
        .wait_for(1, Duration::from_secs(10))
        .expect("message");
    let text = mails[0].text();
    assert_eq!(text.matches("Content-Type:").count(), 1, "{text}");
    let parsed = mails[0].parsed().expect("parses");
    assert_eq!(parsed.body_html(0).as_deref(), Some("<b>bold</b>\r\n"));
}

#[test]
fn dump_mail_prints_the_whole_composed_message() {
    // --dump-mail connects to nothing and prints what would be sent: the
    // attachment's bytes included, not only the header section.
    let dir = TempDir::new("dump-mime");
    let attachment = binary(5000, 7);
    let file = dir.0.join("data.bin");
    std::fs::write(&file, &attachment).expect("attachment");
    let nowhere = format!("127.0.0.1:{}", closed_port());
    let run = send(&[
        "--server",
        &nowhere,
        "--from",
        "a@example.org",
        "--to",
        "b@example.org",
        "--subject",
        "dumped",
        "--html",
        "<p>dumped</p>",
        "--attach",
        file.to_str().expect("utf-8"),
        "--dump-mail",
    ]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    let message = dir.0.join("dumped.eml");
    std::fs::write(&message, run.stdout.as_bytes()).expect("message");
    let parts = dir.0.join("parts");
    std::fs::create_dir_all(&parts).expect("parts");
    let found = python_reads(&message, &parts);
    assert_eq!(found["subject"], "dumped", "{found}");
    assert_eq!(
        found["defects"].as_array().map(Vec::len),
        Some(0),
        "{found}"
    );
    let (html, bytes) = leaf(&found, 0);
    assert_eq!(html["type"], "text/html", "{found}");
    assert_eq!(text(&bytes).trim_end(), "<p>dumped</p>");
    let (part, bytes) = leaf(&found, 1);
    assert_eq!(part["filename"], "data.bin", "{found}");
    assert_eq!(
        bytes, attachment,
        "the attachment decodes to the file's bytes"
    );
}
