//! `mailwire serve` failing on purpose, over real loopback sockets with
//! real clients (python's smtplib, swaks, a raw socket): `--fault` rules
//! and the built-in failing addresses every time, chances within a
//! binomial bound, a dropped connection in the middle of the data that
//! stores nothing, a measured delay, Mailpit's `/api/v1/chaos` and
//! mailwire's `/api/mailwire/v1/faults` changing what clients see and
//! back, and `--auth-accept-any`.

mod api_support;
mod serve_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use api_support::{Api, TempDir, names};
use serde_json::{Value, json};
use serve_support::{require, run_peer, swaks};

const LIMIT: Duration = Duration::from_secs(120);

/// Runs each attempt of `plan` in its own smtplib session; prints one
/// JSON list: per attempt the AUTH code, the MAIL and RCPT replies, the
/// reply to the data, or `dropped` when the connection went away.
const PYTHON: &str = r#"
import json, smtplib, sys
port = int(sys.argv[1])
plan = json.loads(sys.argv[2])
out = []
for a in plan:
    r = {}
    s = None
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("client.example")
        if a.get("auth"):
            mech, user, password = a["auth"]
            s.user, s.password = user, password
            code, _ = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")))
            r["auth"] = code
        code, msg = s.mail(a["from"])
        r["mail"] = [code, msg.decode()]
        if code == 250:
            r["rcpt"] = []
            for t in a["to"]:
                c, m = s.rcpt(t)
                r["rcpt"].append([c, m.decode()])
            if any(c == 250 for c, _ in r["rcpt"]):
                c, m = s.data(b"Subject: chaos\r\n\r\n" + b"hello\r\n" * a.get("lines", 1))
                r["data"] = [c, m.decode()]
    except smtplib.SMTPAuthenticationError as e:
        r["auth"] = e.smtp_code
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        r["dropped"] = True
    try:
        s.quit()
    except Exception:
        pass
    out.append(r)
print(json.dumps(out))
"#;

fn smtplib(smtp: SocketAddr, plan: &Value) -> Vec<Value> {
    require("python3");
    let port = smtp.port().to_string();
    let plan = plan.to_string();
    let ran = run_peer("python3", &["-c", PYTHON, &port, &plan], None, LIMIT);
    assert_eq!(ran.code(), 0, "{}", ran.output);
    let list: Value =
        serde_json::from_str(ran.output.lines().next().unwrap_or_default()).expect("JSON");
    list.as_array().expect("a list").clone()
}

/// One attempt: `from` to `to`.
fn attempt(from: &str, to: &[&str]) -> Value {
    json!({ "from": from, "to": to })
}

fn code(reply: &Value) -> u64 {
    reply[0]
        .as_u64()
        .unwrap_or_else(|| panic!("no reply code in {reply}"))
}

fn total(api: &Api) -> u64 {
    api.list("")["total"].as_u64().expect("total")
}

fn start(label: &str, args: &[&str]) -> (TempDir, Api) {
    let dir = TempDir::new(label);
    let mut all = vec!["--http", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let api = Api::start(&dir.0.join("mail"), &all);
    (dir, api)
}

/// `method path` with a JSON body; the status and the body's text.
fn call(api: &Api, method: &str, path: &str, body: &Value) -> (u16, String, Option<String>) {
    let text = body.to_string();
    let reply = api.request(
        method,
        path,
        &[("Content-Type", "application/json")],
        Some(text.as_bytes()),
    );
    let kind = reply.header("content-type").map(str::to_owned);
    (reply.status, reply.text(), kind)
}

#[test]
fn failing_addresses_and_rules_fail_every_time() {
    let (_dir, api) = start(
        "chaos-every",
        &[
            "--fault",
            "rcpt to:*@flaky.test 451 4.3.0 Try again later",
            "--fault",
            "mail from:*@blocked.test 550 5.7.1 Not you",
            "--fault",
            "data to:late@* 452 4.3.1 Full after all",
        ],
    );
    let mut plan = Vec::new();
    for _ in 0..5 {
        plan.push(attempt("app@example.org", &["tempfail@example.org"]));
        plan.push(attempt("app@example.org", &["permfail@example.net"]));
        plan.push(attempt("tempfail@example.org", &["bob@example.org"]));
        plan.push(attempt("PermFail@Example.org", &["bob@example.org"]));
        plan.push(attempt("app@example.org", &["tempfail-data@example.org"]));
        plan.push(attempt("app@example.org", &["permfail-data@example.org"]));
        plan.push(attempt("app@example.org", &["bob@flaky.test"]));
        plan.push(attempt("x@blocked.test", &["bob@example.org"]));
        plan.push(attempt("app@example.org", &["late@example.org"]));
        plan.push(attempt("app@example.org", &["bob@example.org"]));
    }
    let results = smtplib(api.smtp, &Value::Array(plan));
    for round in results.chunks(10) {
        let rcpt = |i: usize| round[i]["rcpt"][0].clone();
        assert_eq!(code(&rcpt(0)), 451, "{}", round[0]);
        assert!(rcpt(0)[1].as_str().unwrap().contains("tempfail@"));
        assert_eq!(code(&rcpt(1)), 550, "{}", round[1]);
        assert_eq!(code(&round[2]["mail"]), 451, "{}", round[2]);
        assert_eq!(code(&round[3]["mail"]), 550, "{}", round[3]);
        assert_eq!(code(&rcpt(4)), 250);
        assert_eq!(code(&round[4]["data"]), 451, "{}", round[4]);
        assert_eq!(code(&round[5]["data"]), 554, "{}", round[5]);
        assert_eq!(rcpt(6), json!([451, "4.3.0 Try again later"]));
        assert_eq!(round[7]["mail"], json!([550, "5.7.1 Not you"]));
        assert_eq!(round[8]["data"], json!([452, "4.3.1 Full after all"]));
        assert_eq!(code(&round[9]["data"]), 250, "{}", round[9]);
    }
    // Only the five good messages were stored.
    assert_eq!(total(&api), 5);
    assert_eq!(names(&api.maildir, "new").len(), 5);
    // Mailpit's statistics count each refused message once, whichever
    // step refused it.
    let info = api.get("/api/v1/info").json();
    assert_eq!(info["RuntimeStats"]["SMTPAccepted"], 5, "{info}");
    assert_eq!(info["RuntimeStats"]["SMTPRejected"], 45, "{info}");
}

#[test]
fn the_failing_addresses_can_be_turned_off() {
    let (_dir, api) = start("chaos-off", &["--no-failing-addresses"]);
    let results = smtplib(
        api.smtp,
        &json!([attempt("tempfail@example.org", &["permfail@example.org"])]),
    );
    assert_eq!(code(&results[0]["data"]), 250, "{}", results[0]);
    assert_eq!(total(&api), 1);
}

/// A raw SMTP session, to see exactly when the connection drops.
struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Raw {
    fn connect(smtp: SocketAddr) -> Raw {
        let stream = TcpStream::connect(smtp).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut raw = Raw {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        };
        assert!(raw.reply().starts_with("220"));
        assert!(raw.command("EHLO client.example").starts_with("250"));
        raw
    }

    /// The whole reply (empty when the connection closed).
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return all,
                Ok(_) => {}
            }
            all.push_str(&line);
            if line.as_bytes().get(3) == Some(&b' ') {
                return all;
            }
        }
    }

    fn command(&mut self, text: &str) -> String {
        self.writer
            .write_all(format!("{text}\r\n").as_bytes())
            .expect("write");
        self.reply()
    }
}

#[test]
fn a_disconnect_in_the_data_stores_nothing_and_the_client_sees_the_drop() {
    let (_dir, api) = start("chaos-cut", &["--fault", "data to:cut@* disconnect"]);
    for to in ["disconnect-data@example.org", "cut@example.org"] {
        let mut raw = Raw::connect(api.smtp);
        assert!(
            raw.command("MAIL FROM:<app@example.org>")
                .starts_with("250")
        );
        assert!(raw.command(&format!("RCPT TO:<{to}>")).starts_with("250"));
        assert!(raw.command("DATA").starts_with("354"));
        // The server hangs up while the message is coming: writing the
        // rest fails, or the read that follows sees the end.
        let chunk = "Subject: cut\r\n\r\n".to_owned() + &"more words\r\n".repeat(20_000);
        let mut dropped = false;
        for _ in 0..100 {
            if raw.writer.write_all(chunk.as_bytes()).is_err() {
                dropped = true;
                break;
            }
        }
        if !dropped {
            let _ = raw.writer.write_all(b".\r\n");
            assert_eq!(raw.reply(), "", "{to}: no reply after the data");
        }
    }
    // Nothing stored, nothing left half-written.
    assert_eq!(total(&api), 0);
    for folder in ["new", "cur", "tmp"] {
        assert!(names(&api.maildir, folder).is_empty(), "{folder}");
    }
    // After the whole message, before its reply: the client cannot know
    // whether it was delivered; it was not.
    let mut raw = Raw::connect(api.smtp);
    assert!(
        raw.command("MAIL FROM:<app@example.org>")
            .starts_with("250")
    );
    assert!(
        raw.command("RCPT TO:<disconnect-after-data@example.org>")
            .starts_with("250")
    );
    assert!(raw.command("DATA").starts_with("354"));
    let whole = "Subject: whole\r\n\r\n".to_owned() + &"more words\r\n".repeat(20_000);
    raw.writer
        .write_all(whole.as_bytes())
        .expect("the whole message is read");
    assert_eq!(raw.command("."), "", "no reply to the end of the data");
    assert_eq!(total(&api), 0);
    assert!(names(&api.maildir, "new").is_empty());
    // A disconnect at RCPT: no reply at all.
    let mut raw = Raw::connect(api.smtp);
    assert!(
        raw.command("MAIL FROM:<app@example.org>")
            .starts_with("250")
    );
    assert_eq!(raw.command("RCPT TO:<disconnect@example.org>"), "");
}

#[test]
fn a_delay_holds_the_reply_back() {
    let (_dir, api) = start("chaos-delay", &["--fault", "rcpt to:slow@* delay 1500ms"]);
    let mut raw = Raw::connect(api.smtp);
    assert!(
        raw.command("MAIL FROM:<app@example.org>")
            .starts_with("250")
    );
    let started = Instant::now();
    assert!(raw.command("RCPT TO:<slow@example.org>").starts_with("250"));
    let slow = started.elapsed();
    assert!(slow >= Duration::from_millis(1500), "{slow:?}");
    // The delay is per rule: another recipient is not held back by it.
    let started = Instant::now();
    assert!(
        raw.command("RCPT TO:<quick@example.org>")
            .starts_with("250")
    );
    assert!(started.elapsed() < slow, "{:?}", started.elapsed());
}

/// Counts the 451s among `n` single-recipient tries of `to`, each in its
/// own session.
fn refused_of(api: &Api, to: &str, n: usize) -> usize {
    let plan: Vec<Value> = (0..n).map(|_| attempt("app@example.org", &[to])).collect();
    smtplib(api.smtp, &Value::Array(plan))
        .iter()
        .filter(|r| {
            let c = code(&r["rcpt"][0]);
            assert!(c == 250 || c == 451, "{r}");
            c == 451
        })
        .count()
}

#[test]
fn a_fifty_percent_chance_fires_about_half_the_time() {
    let (_dir, api) = start("chaos-coin", &["--fault", "rcpt to:coin@* 50% 451"]);
    // 400 tries at p = 0.5: mean 200, standard deviation 10; outside 150
    // to 250 (five deviations) happens about once in two million runs.
    let refused = refused_of(&api, "coin@example.org", 400);
    assert!((150..=250).contains(&refused), "{refused} of 400");
    // Mailpit's recipient trigger at 50 %, through its API.
    let (status, _, _) = call(
        &api,
        "PUT",
        "/api/v1/chaos",
        &json!({"Recipient": {"ErrorCode": 451, "Probability": 50}}),
    );
    assert_eq!(status, 200);
    let refused = refused_of(&api, "anyone@example.org", 400);
    assert!((150..=250).contains(&refused), "{refused} of 400");
}

#[test]
fn mailpit_chaos_over_http_changes_what_clients_see_and_back() {
    let (_dir, api) = start("chaos-api", &["--enable-chaos", "--auth-accept-any"]);
    let defaults = json!({
        "Sender": {"ErrorCode": 451, "Probability": 0},
        "Recipient": {"ErrorCode": 451, "Probability": 0},
        "Authentication": {"ErrorCode": 535, "Probability": 0},
    });
    let reply = api.get("/api/v1/chaos");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), defaults);

    // Every trigger at 100 %: each step fails with its code.
    let all = json!({
        "Sender": {"ErrorCode": 421, "Probability": 100},
        "Recipient": {"ErrorCode": 452, "Probability": 100},
        "Authentication": {"ErrorCode": 454, "Probability": 100},
    });
    let (status, body, kind) = call(&api, "PUT", "/api/v1/chaos", &all);
    assert_eq!((status, kind.as_deref()), (200, Some("application/json")));
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), all);
    assert_eq!(api.get("/api/v1/chaos").json(), all);
    let results = smtplib(
        api.smtp,
        &json!([
            {"from": "app@example.org", "to": ["bob@example.org"], "auth": ["PLAIN", "u", "p"]},
            attempt("app@example.org", &["bob@example.org"]),
        ]),
    );
    assert_eq!(results[0]["auth"], 454, "{}", results[0]);
    assert_eq!(code(&results[1]["mail"]), 421, "{}", results[1]);
    assert!(
        results[1]["mail"][1]
            .as_str()
            .unwrap()
            .contains("Chaos sender error")
    );
    // Only the recipient trigger: MAIL passes, RCPT fails.
    let (status, _, _) = call(
        &api,
        "PUT",
        "/api/v1/chaos",
        &json!({"Recipient": {"Probability": 100}}),
    );
    assert_eq!(status, 200);
    let results = smtplib(
        api.smtp,
        &json!([attempt("app@example.org", &["bob@example.org"])]),
    );
    assert_eq!(code(&results[0]["mail"]), 250);
    assert_eq!(code(&results[0]["rcpt"][0]), 451, "{}", results[0]);
    assert!(
        results[0]["rcpt"][0][1]
            .as_str()
            .unwrap()
            .contains("Chaos recipient error")
    );

    // Mailpit's refusals: 400 with its sentence, and nothing changes.
    for (bad, why) in [
        (
            json!({"Sender": {"ErrorCode": 200, "Probability": 5}}),
            "error code must be between 400 and 599",
        ),
        (
            json!({"Sender": {"ErrorCode": 451, "Probability": 101}}),
            "probability must be between 0 and 100",
        ),
    ] {
        let (status, body, kind) = call(&api, "PUT", "/api/v1/chaos", &bad);
        assert_eq!((status, body.as_str()), (400, why));
        assert_eq!(kind.as_deref(), Some("text/plain"));
    }
    assert_eq!(
        api.get("/api/v1/chaos").json()["Recipient"]["Probability"],
        100
    );

    // `{}` resets every trigger: mail goes through again.
    let (status, body, _) = call(&api, "PUT", "/api/v1/chaos", &json!({}));
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), defaults);
    let results = smtplib(
        api.smtp,
        &json!([attempt("app@example.org", &["bob@example.org"])]),
    );
    assert_eq!(code(&results[0]["data"]), 250, "{}", results[0]);
    assert_eq!(total(&api), 1);
}

#[test]
fn mailwire_rules_over_http_change_what_clients_see_and_back() {
    let (_dir, api) = start("chaos-rules", &["--fault", "rcpt to:a@* 451"]);
    let reply = api.get("/api/mailwire/v1/faults");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({"Rules": ["rcpt to:a@* 451"], "FailingAddresses": true})
    );
    let (status, body, _) = call(
        &api,
        "PUT",
        "/api/mailwire/v1/faults",
        &json!({"Rules": ["mail from:*@example.org 550 5.7.1 Not today"]}),
    );
    assert_eq!(status, 200, "{body}");
    // swaks sees the new rule; the old one is gone.
    require("swaks");
    let ran = swaks(
        api.smtp.port(),
        &["--from", "app@example.org", "--to", "a@example.org"],
    );
    assert!(
        ran.output.contains("<** 550 5.7.1 Not today"),
        "{}",
        ran.output
    );
    let ran = swaks(
        api.smtp.port(),
        &["--from", "app@example.net", "--to", "a@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    // A rule that does not parse: 400 with a sentence, nothing changes.
    let (status, body, _) = call(
        &api,
        "PUT",
        "/api/mailwire/v1/faults",
        &json!({"Rules": ["rcpt sometimes"]}),
    );
    assert_eq!(status, 400);
    assert!(body.starts_with("fault rule \"rcpt sometimes\""), "{body}");
    // And back: no rules.
    let (status, _, _) = call(
        &api,
        "PUT",
        "/api/mailwire/v1/faults",
        &json!({"Rules": []}),
    );
    assert_eq!(status, 200);
    let ran = swaks(
        api.smtp.port(),
        &["--from", "app@example.org", "--to", "a@example.org"],
    );
    assert_eq!(ran.code(), 0, "{}", ran.output);
    assert_eq!(total(&api), 2);
}

#[test]
fn any_user_and_password_with_plain_login_and_cram_md5() {
    let (_dir, api) = start("chaos-auth", &["--auth-accept-any"]);
    require("swaks");
    for mechanism in ["PLAIN", "LOGIN", "CRAM-MD5"] {
        let ran = swaks(
            api.smtp.port(),
            &[
                "--auth",
                mechanism,
                "--auth-user",
                "production-user@example.org",
                "--auth-password",
                "a real secret",
                "--from",
                "app@example.org",
                "--to",
                "bob@example.org",
            ],
        );
        assert_eq!(ran.code(), 0, "{mechanism}: {}", ran.output);
        assert!(ran.output.contains("<~  235") || ran.output.contains("<-  235"));
    }
    let plan: Vec<Value> = ["PLAIN", "LOGIN", "CRAM-MD5"]
        .iter()
        .map(|m| json!({"from": "app@example.org", "to": ["bob@example.org"], "auth": [m, "someone", "anything"]}))
        .collect();
    for result in smtplib(api.smtp, &Value::Array(plan)) {
        assert_eq!(result["auth"], 235, "{result}");
        assert_eq!(code(&result["data"]), 250, "{result}");
    }
    assert_eq!(total(&api), 6);
}

#[test]
fn mailwire_send_sees_each_failure_as_it_is() {
    let (_dir, api) = start("chaos-send", &[]);
    let server = api.smtp.to_string();
    let send = |to: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
            .args(["send", "--server", &server, "--from", "app@example.org"])
            .args(["--to", to, "--subject", "hi", "--body", "hello", "--json"])
            .output()
            .expect("run mailwire send");
        let report: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), report)
    };
    // The exit table of `mailwire send`: 5 not sent, temporary; 3 not
    // sent, permanent; 4 unknown.
    let (status, report) = send("tempfail@example.org");
    assert_eq!(status, Some(5), "{report}");
    assert_eq!(report["recipients"][0]["code"], 451);
    let (status, report) = send("permfail-data@example.org");
    assert_eq!(status, Some(3), "{report}");
    assert_eq!(report["reply"]["code"], 554);
    // Hung up after the message: the sender cannot know.
    let (status, report) = send("disconnect-after-data@example.org");
    assert_eq!(status, Some(4), "{report}");
    assert_eq!(report["outcome"], "unknown");
    let (status, report) = send("bob@example.org");
    assert_eq!(status, Some(0), "{report}");
    assert_eq!(total(&api), 1);
}

#[test]
fn mailpit_chaos_triggers_at_start() {
    let (_dir, api) = start(
        "chaos-flag",
        &["--chaos-triggers", "Sender:421:0,Recipient:550:100"],
    );
    assert_eq!(
        api.get("/api/v1/chaos").json(),
        json!({
            "Sender": {"ErrorCode": 421, "Probability": 0},
            "Recipient": {"ErrorCode": 550, "Probability": 100},
            "Authentication": {"ErrorCode": 535, "Probability": 0},
        })
    );
    let results = smtplib(
        api.smtp,
        &json!([attempt("app@example.org", &["bob@example.org"])]),
    );
    assert_eq!(code(&results[0]["mail"]), 250);
    assert_eq!(code(&results[0]["rcpt"][0]), 550, "{}", results[0]);
    // A bad trigger stops the start with Mailpit's sentence.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mailwire"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--chaos-triggers",
            "Sender:451",
        ])
        .output()
        .expect("run mailwire serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid argument: Sender:451"), "{stderr}");
}
