//! Real third-party clients against the mailwire server on loopback:
//! swaks (plain, `--pipeline`, STARTTLS with the test CA verified, AUTH
//! PLAIN/LOGIN/CRAM-MD5) and Python's smtplib (`send_message` with a
//! refused recipient, STARTTLS, AUTH). Each runs as a subprocess with a
//! timeout; the tests check its exit code AND what the handler received.
//! A missing peer fails the test (install them with `scripts/install-peers`).

mod server_runtime_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailwire_driver::Runtime;
use mailwire_driver::core::sasl::Mechanism;
use mailwire_tests::certs::TestPki;
use server_runtime_support::*;

const PEER_TIMEOUT: Duration = Duration::from_secs(30);

/// Fails loudly when `program` is not installed.
fn require(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "interop peer `{program}` is missing: run scripts/install-peers (as root)"
    );
}

/// Runs `cmd` on a thread with a timeout (killed after it), waiting
/// without blocking the runtime.
async fn run<R: Runtime>(rt: &R, mut cmd: Command) -> Output {
    let slot: Arc<Mutex<Option<Output>>> = Arc::default();
    let out = slot.clone();
    let what = format!("{cmd:?}");
    std::thread::spawn(move || {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn peer");
        let start = Instant::now();
        while child.try_wait().expect("wait").is_none() {
            if start.elapsed() > PEER_TIMEOUT {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        *out.lock().unwrap() = Some(child.wait_with_output().expect("peer output"));
    });
    let deadline = rt.now() + PEER_TIMEOUT + Duration::from_secs(5);
    loop {
        if let Some(output) = slot.lock().unwrap().take() {
            return output;
        }
        assert!(rt.now() < deadline, "peer did not finish: {what}");
        rt.sleep_until(rt.now() + Duration::from_millis(20)).await;
    }
}

fn show(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A temporary directory holding the test CA.
fn ca_file(pki: &TestPki) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mailwire-interop-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    path
}

fn tls_auth_options(pki: &TestPki) -> TestOptions {
    let mut opts = options(DeliveryMode::Buffered).with_starttls(server_tls(pki));
    opts.config_mut().auth_mechanisms =
        vec![Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login];
    opts
}

fn swaks(addr: SocketAddr, subject: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new("swaks");
    cmd.args(["--server", "127.0.0.1", "--port", &addr.port().to_string()])
        .args(["--helo", "swaks.test", "--from", "a@x.test"])
        .args(["--header", &format!("Subject: {subject}")])
        .args(["--body", "hello from swaks\n.leading dot"])
        .args(["--timeout", "20"])
        .args(extra);
    cmd
}

fn subject_count(rec: &Recorder, subject: &str) -> usize {
    rec.messages()
        .iter()
        .filter(|m| match m {
            Seen::Message { data, .. } => {
                String::from_utf8_lossy(data).contains(&format!("Subject: {subject}\r\n"))
            }
            _ => false,
        })
        .count()
}

async fn swaks_plain_and_pipeline<R: Runtime>(rt: R) {
    require("swaks");
    let (server, rec, addr) = start(&rt, options(DeliveryMode::Streaming)).await;
    let out = run(
        &rt,
        swaks(addr, "plain", &["--to", "b@y.test,refuse@y.test"]),
    )
    .await;
    assert!(out.status.success(), "{}", show(&out));
    let out = run(
        &rt,
        swaks(addr, "piped", &["--to", "c@y.test", "--pipeline"]),
    )
    .await;
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("PIPELINING"),
        "{}",
        show(&out)
    );
    let out = run(&rt, swaks(addr, "none", &["--to", "refuse@y.test"])).await;
    assert_eq!(
        out.status.code(),
        Some(24),
        "no recipient accepted: {}",
        show(&out)
    );
    let messages = rec.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let Seen::Message { to, data, .. } = &messages[0] else {
        unreachable!()
    };
    assert_eq!(to, &["<b@y.test>".to_owned()]);
    let text = String::from_utf8_lossy(data);
    assert!(text.contains("\r\n.leading dot\r\n"), "{text}");
    assert!(text.starts_with("Received: from swaks.test"), "{text}");
    assert_eq!(subject_count(&rec, "piped"), 1);
    server.stop(Duration::from_secs(5)).await;
}

async fn swaks_starttls_and_auth<R: Runtime>(rt: R) {
    require("swaks");
    let pki = TestPki::localhost();
    let ca = ca_file(&pki);
    let ca = ca.to_str().unwrap();
    let (server, rec, addr) = start(&rt, tls_auth_options(&pki)).await;
    let tls = [
        "--tls",
        "--tls-verify",
        "--tls-ca-path",
        ca,
        "--tls-sni",
        "localhost",
    ];
    let out = run(
        &rt,
        swaks(addr, "tls", &[&tls[..], &["--to", "b@y.test"]].concat()),
    )
    .await;
    assert!(out.status.success(), "{}", show(&out));
    // Verification is real: another CA makes swaks give up at TLS.
    let other = ca_file(&TestPki::localhost());
    let wrong = [
        "--tls",
        "--tls-verify",
        "--tls-ca-path",
        other.to_str().unwrap(),
    ];
    let out = run(
        &rt,
        swaks(
            addr,
            "wrongca",
            &[&wrong[..], &["--to", "b@y.test"]].concat(),
        ),
    )
    .await;
    assert_eq!(out.status.code(), Some(29), "{}", show(&out));
    assert_eq!(subject_count(&rec, "wrongca"), 0);
    for mech in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        let auth = [
            "--auth",
            mech,
            "--auth-user",
            USER,
            "--auth-password",
            PASSWORD,
        ];
        let args = [&tls[..], &auth[..], &["--to", "b@y.test"]].concat();
        let out = run(&rt, swaks(addr, mech, &args)).await;
        assert!(out.status.success(), "{mech}: {}", show(&out));
        assert_eq!(subject_count(&rec, mech), 1, "{mech}");
    }
    // A wrong password: swaks's AUTH failure exit code, nothing delivered.
    let auth = [
        "--auth",
        "PLAIN",
        "--auth-user",
        USER,
        "--auth-password",
        "nope",
    ];
    let args = [&tls[..], &auth[..], &["--to", "b@y.test"]].concat();
    let out = run(&rt, swaks(addr, "badpw", &args)).await;
    assert_eq!(out.status.code(), Some(28), "{}", show(&out));
    assert_eq!(subject_count(&rec, "badpw"), 0);
    let messages = rec.messages();
    assert_eq!(messages.len(), 4);
    for m in &messages {
        assert!(matches!(m, Seen::Message { tls: true, .. }), "{m:?}");
    }
    let users = messages
        .iter()
        .filter(|m| matches!(m, Seen::Message { user: Some(u), .. } if u == USER))
        .count();
    assert_eq!(users, 3);
    server.stop(Duration::from_secs(5)).await;
}

const SMTPLIB: &str = r#"
import json, smtplib, ssl, sys
from email.message import EmailMessage
port, mode, cafile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msg = EmailMessage()
msg["From"] = "alice@x.test"
msg["To"] = "b@y.test, refuse@y.test"
msg["Cc"] = "c@y.test"
msg["Subject"] = "smtplib " + mode
msg.set_content("hello from smtplib\n.dot line\n")
with smtplib.SMTP("127.0.0.1", port, local_hostname="py.test", timeout=20) as s:
    if mode in ("tls", "auth"):
        s.starttls(context=ssl.create_default_context(cafile=cafile))
    if mode == "auth":
        s.login("alice", "wonderland")
    refused = s.send_message(msg)
print(json.dumps({k: [v[0], v[1].decode()] for k, v in refused.items()}))
"#;

async fn smtplib<R: Runtime>(rt: R) {
    require("python3");
    let pki = TestPki::localhost();
    let ca = ca_file(&pki);
    let (server, rec, addr) = start(&rt, tls_auth_options(&pki)).await;
    for mode in ["plain", "tls", "auth"] {
        let mut cmd = Command::new("python3");
        cmd.args(["-c", SMTPLIB, &addr.port().to_string(), mode])
            .arg(&ca);
        let out = run(&rt, cmd).await;
        assert!(out.status.success(), "{mode}: {}", show(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(r#""refuse@y.test": [550, "5.1.1 No such user here"]"#),
            "{mode}: {stdout}"
        );
        let subject = format!("smtplib {mode}");
        assert_eq!(subject_count(&rec, &subject), 1, "{mode}");
    }
    let messages = rec.messages();
    let expect = [(false, None), (true, None), (true, Some(USER.to_owned()))];
    for (m, (want_tls, want_user)) in messages.iter().zip(expect) {
        let Seen::Message {
            to,
            tls,
            user,
            data,
            ..
        } = m
        else {
            unreachable!()
        };
        assert_eq!(to, &["<b@y.test>".to_owned(), "<c@y.test>".to_owned()]);
        assert_eq!((*tls, user.clone()), (want_tls, want_user));
        assert!(String::from_utf8_lossy(data).contains("\r\n.dot line\r\n"));
    }
    server.stop(Duration::from_secs(5)).await;
}

on_all_runtimes!(swaks_plain_and_pipeline, swaks_starttls_and_auth, smtplib);
