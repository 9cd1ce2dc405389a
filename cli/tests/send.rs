//! `mailwire send` against mailwire's test server (`mailwire-test-server`,
//! in this process): the JSON shape, every exit status, failover, TLS and
//! AUTH options, bulk mode; and against a scripted server that hangs up
//! after the data.

mod send_support;

use std::time::Duration;

use mailwire_test_server::{Step, TestServer, TestServerBuilder};
use send_support::{TempDir, at, closed_port, send, send_with_stdin};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The test server these tests send to: it refuses the recipients
/// `refuse@*` (550 5.1.1) and `later@*` (450 4.2.1), the sender
/// `badsender@*` (553 5.7.1), and the messages for `fail554@*` (554
/// 5.6.0) or `fail451@*` (451 4.3.0) at the end of the data.
fn server() -> TestServerBuilder {
    TestServer::builder()
        .refuse_recipient("refuse@*", 550, "5.1.1", "No such user")
        .refuse_recipient("later@*", 450, "4.2.1", "try later")
        .refuse_sender("badsender@*", 553, "5.7.1", "sender refused")
        .fail(
            Step::Data,
            554,
            "5.6.0",
            "message refused",
            Some("fail554@*"),
        )
        .fail(
            Step::Data,
            451,
            "4.3.0",
            "try again later",
            Some("fail451@*"),
        )
}

/// [`server`] with nothing more: no TLS, no AUTH.
fn plain() -> TestServer {
    server().start()
}

/// [`server`] with AUTH for `user`/`secret`.
fn with_user(server: TestServerBuilder) -> TestServerBuilder {
    server.users([("user", "secret")])
}

/// `127.0.0.1:PORT` of `server`.
fn address(server: &TestServer) -> String {
    at(server.port())
}

/// The test CA of `server`, written to `dir` as `ca.pem`.
fn ca_file(server: &TestServer, dir: &TempDir) -> String {
    dir.write("ca.pem", &server.tls().expect("self-signed TLS").ca_pem)
}

fn recipient<'a>(json: &'a Value, address: &str) -> &'a Value {
    json["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("no recipient {address} in {json}"))
}

#[test]
fn composed_message_is_sent_and_reported_in_json() {
    let server = plain();
    let addr = address(&server);
    let run = send(&[
        "--server",
        &addr,
        "--from",
        "Alice <alice@example.org>",
        "--to",
        "bob@example.org",
        "--to",
        "Bob Two <bob2@example.org>",
        "--cc",
        "carol@example.org",
        "--bcc",
        "dave@example.org",
        "--subject",
        "héllo wörld",
        "--body",
        "line one\n.dot line\nline thrée",
        "--header",
        "X-Test: yes",
        "--client-name",
        "client.test",
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "sent");
    assert_eq!(json["sent"], true);
    assert_eq!(json["server"], addr.as_str());
    assert!(json["tls"].is_null(), "{json}");
    assert_eq!(json["reply"]["code"], 250);
    assert!(json["reply"]["code"].is_number());
    assert_eq!(json["recipients"].as_array().expect("list").len(), 4);
    for address in [
        "bob@example.org",
        "bob2@example.org",
        "carol@example.org",
        "dave@example.org",
    ] {
        let r = recipient(&json, address);
        assert_eq!(r["accepted"], true, "{r}");
        assert_eq!(r["status"], "sent", "{r}");
        assert_eq!(r["code"], 250, "{r}");
        assert!(r["code"].is_number());
        assert!(r["enhanced"].is_string() || r["enhanced"].is_null());
        assert!(r["text"].is_string());
    }

    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "alice@example.org");
    assert_eq!(
        mail.to,
        [
            "bob@example.org",
            "bob2@example.org",
            "carol@example.org",
            "dave@example.org"
        ]
    );
    let text = mail.text();
    assert!(
        !text.contains("dave"),
        "Bcc must not be transmitted: {text}"
    );
    // Built by the library's MessageBuilder: the subject and the
    // non-ASCII body encoded (the message is ASCII).
    assert!(text.is_ascii(), "{text}");
    assert!(
        text.contains("From: Alice <alice@example.org>\r\n"),
        "{text}"
    );
    assert!(
        text.contains("To: bob@example.org, Bob Two <bob2@example.org>\r\n"),
        "{text}"
    );
    assert!(text.contains("Cc: carol@example.org\r\n"), "{text}");
    assert!(text.contains("Subject: =?utf-8?"), "{text}");
    assert_eq!(mail.subject().as_deref(), Some("héllo wörld"));
    assert!(text.contains("X-Test: yes\r\n"), "{text}");
    assert!(text.contains("Message-ID: <"), "{text}");
    assert!(text.contains("@client.test>"), "{text}");
    assert!(text.contains("Date: "), "{text}");
    assert!(
        text.contains("Content-Type: text/plain; charset=\"utf-8\""),
        "{text}"
    );
    assert!(text.contains("MIME-Version: 1.0\r\n"), "{text}");
    assert!(
        text.contains("Content-Transfer-Encoding: quoted-printable\r\n"),
        "{text}"
    );
    let parsed = mail.parsed().expect("parses");
    assert_eq!(
        parsed.body_text(0).as_deref(),
        Some("line one\r\n.dot line\r\nline thrée\r\n")
    );
}

#[test]
fn text_output_names_the_server_and_each_recipient() {
    let server = plain();
    let run = send(&[
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert!(
        run.stdout
            .starts_with(&format!("sent via {}", address(&server))),
        "{run:#?}"
    );
    assert!(run.stdout.contains("sent b@y.test: 250"), "{run:#?}");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn message_file_with_bare_lf_gives_the_envelope_from_its_headers() {
    let server = plain();
    let dir = TempDir::new("message");
    let message = "From: Alice <alice@example.org>\nTo: bob@example.org\nBcc: carol@example.org\n\
                   Subject: from a file\n\nHello\n.leading dot\n";
    let file = dir.write("mail.eml", message);
    let run = send(&["--server", &address(&server), "--message", &file, "--json"]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(run.json()["outcome"], "sent");

    // The same from standard input, with the envelope given explicitly.
    let run = send_with_stdin(
        &[
            "--server",
            &address(&server),
            "--message",
            "-",
            "--from",
            "env@example.org",
            "--to",
            "other@example.org",
        ],
        message.as_bytes(),
    );
    assert_eq!(run.status, 0, "{run:#?}");

    let mails = server.messages();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].from, "alice@example.org");
    assert_eq!(mails[0].to, ["bob@example.org", "carol@example.org"]);
    let first = mails[0].text();
    assert!(!first.contains("carol"), "{first}");
    assert!(first.contains("Subject: from a file\r\n"), "{first:?}");
    assert!(
        first.ends_with("\r\nHello\r\n.leading dot\r\n"),
        "{first:?}"
    );
    // The Bcc header's recipient gets it too: its header is not sent.
    assert_eq!(mails[1].from, "env@example.org");
    assert_eq!(mails[1].to, ["other@example.org", "carol@example.org"]);

    // --originator and --recipients override From, To and Cc (Bcc still
    // adds its recipient).
    let run = send(&[
        "--server",
        &address(&server),
        "--message",
        &file,
        "--originator",
        "<>",
        "--recipients",
        "x@example.org, y@example.org",
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let mails = server.messages();
    assert_eq!(mails[2].from, "");
    assert_eq!(
        mails[2].to,
        ["x@example.org", "y@example.org", "carol@example.org"]
    );
}

#[test]
fn refused_recipients_give_exit_3_or_2_with_at_least_one() {
    let server = plain();
    let addr = address(&server);
    let base = [
        "--server",
        &addr,
        "--from",
        "a@x.test",
        "--to",
        "ok@y.test",
        "--to",
        "refuse@y.test",
        "--json",
    ];

    // All or nothing (default): not sent.
    let run = send(&base);
    assert_eq!(run.status, 3, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "not_sent");
    assert_eq!(json["sent"], false);
    let refused = recipient(&json, "refuse@y.test");
    assert_eq!(refused["accepted"], false);
    assert_eq!(refused["status"], "refused");
    assert_eq!(refused["code"], 550);
    assert_eq!(refused["enhanced"], "5.1.1");
    assert_eq!(refused["text"], "No such user");
    assert_eq!(recipient(&json, "ok@y.test")["accepted"], true);
    assert_eq!(recipient(&json, "ok@y.test")["status"], "not_sent");
    assert!(server.messages().is_empty());

    // At least one: partial.
    let mut args = base.to_vec();
    args.push("--at-least-one");
    let run = send(&args);
    assert_eq!(run.status, 2, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "partial");
    assert_eq!(json["sent"], true);
    assert_eq!(recipient(&json, "ok@y.test")["status"], "sent");
    assert_eq!(recipient(&json, "refuse@y.test")["code"], 550);
    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["ok@y.test"]);

    // Every recipient refused (one of them temporarily): not sent.
    let run = send(&[
        "--server",
        &addr,
        "--from",
        "a@x.test",
        "--to",
        "refuse@y.test",
        "--to",
        "later@y.test",
        "--at-least-one",
        "--json",
    ]);
    assert_eq!(run.status, 3, "{run:#?}");
    let json = run.json();
    assert_eq!(recipient(&json, "later@y.test")["code"], 450);
    assert_eq!(recipient(&json, "later@y.test")["enhanced"], "4.2.1");
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn refused_mail_and_final_reply_give_exit_3_or_5() {
    let server = plain();
    let addr = address(&server);
    let run = send(&[
        "--server",
        &addr,
        "--from",
        "badsender@x.test",
        "--to",
        "b@y.test",
        "--json",
    ]);
    assert_eq!(run.status, 3, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "not_sent");
    assert_eq!(json["reply"]["code"], 553);
    assert_eq!(json["reply"]["enhanced"], "5.7.1");

    // Refused at the end of the data, permanently (3) or not (5): every
    // recipient was accepted, and nobody got it.
    for (failing, code, enhanced, status) in [
        ("fail554@y.test", 554, "5.6.0", 3),
        ("fail451@y.test", 451, "4.3.0", 5),
    ] {
        let run = send(&[
            "--server", &addr, "--from", "a@x.test", "--to", "b@y.test", "--to", failing, "--json",
        ]);
        assert_eq!(run.status, status, "{run:#?}");
        assert_eq!(run.json()["exit_code"], status, "{run:#?}");
        let json = run.json();
        assert_eq!(json["outcome"], "not_sent");
        assert_eq!(json["sent"], false);
        assert_eq!(json["reply"]["code"], code, "{json}");
        assert_eq!(json["reply"]["enhanced"], enhanced, "{json}");
        for address in ["b@y.test", failing] {
            let r = recipient(&json, address);
            assert_eq!(r["accepted"], true, "{r}");
            assert_eq!(r["status"], "not_sent", "{r}");
        }
    }
    assert!(server.messages().is_empty());
}

#[test]
fn failover_skips_a_closed_port() {
    let server = plain();
    let closed = at(closed_port());
    let run = send(&[
        "--server",
        &closed,
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(json["server"], address(&server).as_str());
    assert!(
        run.stderr.contains(&closed),
        "the failed server is named: {run:#?}"
    );
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn no_server_reachable_gives_exit_5_and_no_json() {
    let run = send(&[
        "--server",
        &at(closed_port()),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--json",
    ]);
    assert_eq!(run.status, 5, "temporary: {run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert!(run.stderr.contains("cannot connect"), "{run:#?}");
}

#[test]
fn usage_errors_give_exit_1_before_connecting() {
    let server = plain();
    let addr = address(&server);
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "--server",
            &addr,
            "--from",
            "a@x.test",
            "--to",
            "b@y.test\r\nRCPT TO:<c@y.test>",
        ],
        vec![
            "--server",
            &addr,
            "--from",
            "a@x.test\n",
            "--to",
            "b@y.test",
        ],
        vec![
            "--server",
            &addr,
            "--from",
            "a@x.test",
            "--to",
            "b@y.test",
            "--subject",
            "a\rb",
        ],
        vec![
            "--server",
            &addr,
            "--from",
            "a@x.test",
            "--to",
            "b@y.test",
            "--header",
            "X: a\nBcc: z@z.test",
        ],
        vec![
            "--server",
            &addr,
            "--from",
            "a@x.test",
            "--to",
            "not an address",
            "--message",
            "/dev/null",
        ],
        vec!["--server", &addr, "--from", "a@x.test"],
        vec![
            "--server", &addr, "--from", "a@x.test", "--to", "b@y.test", "--header", "no colon",
        ],
        vec![
            "--server",
            &addr,
            "--from",
            "a@x.test",
            "--to",
            "b@y.test",
            "--tls",
            "sometimes",
        ],
        vec![
            "--server",
            "host:notaport",
            "--from",
            "a@x.test",
            "--to",
            "b@y.test",
        ],
        vec!["--from", "a@x.test", "--to", "b@y.test"],
        vec![
            "--server",
            &addr,
            "--to",
            "b@y.test",
            "--tls",
            "disabled",
            "--user",
            "u",
            "--password",
            "p",
        ],
        vec!["--server", &addr, "--message", "/nonexistent/mail.eml"],
    ];
    for args in cases {
        let run = send(&args);
        assert_eq!(run.status, 1, "{args:?}: {run:#?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:#?}");
        assert!(!run.stderr.is_empty(), "{args:?}: {run:#?}");
    }
    assert!(server.messages().is_empty());
    // --body may hold newlines.
    let run = send(&[
        "--server",
        &addr,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--body",
        "a\nb\r\nc",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert!(
        server.messages()[0]
            .text()
            .ends_with("\r\n\r\na\r\nb\r\nc\r\n")
    );
}

/// A scripted server that accepts everything and hangs up after the end
/// of the data, without a reply.
fn hang_up_after_dot() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let accept = tokio::time::timeout(Duration::from_secs(30), listener.accept()).await;
            let Ok(Ok((stream, _))) = accept else { return };
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let _ = write.write_all(b"220 hangup.test ESMTP\r\n").await;
            let mut in_data = false;
            while let Ok(Ok(Some(line))) =
                tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await
            {
                if in_data {
                    if line == "." {
                        return; // hang up: no reply to the end of the data
                    }
                    continue;
                }
                let upper = line.to_ascii_uppercase();
                let reply: &[u8] = if upper.starts_with("EHLO") {
                    b"250 hangup.test\r\n"
                } else if upper.starts_with("DATA") {
                    in_data = true;
                    b"354 go ahead\r\n"
                } else if upper.starts_with("QUIT") {
                    b"221 bye\r\n"
                } else {
                    b"250 ok\r\n"
                };
                let _ = write.write_all(reply).await;
            }
        });
    });
    (port, thread)
}

#[test]
fn connection_lost_after_the_dot_gives_exit_4() {
    let (port, thread) = hang_up_after_dot();
    let run = send(&[
        "--server",
        &at(port),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--json",
    ]);
    assert_eq!(run.status, 4, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "unknown");
    assert_eq!(json["sent"], false);
    assert!(json["reply"].is_null());
    assert_eq!(recipient(&json, "b@y.test")["status"], "unknown");
    assert_eq!(recipient(&json, "b@y.test")["accepted"], true);
    thread.join().expect("script");
}

#[test]
fn starttls_verified_with_the_ca_file_and_auth() {
    let server = with_user(server().self_signed_tls()).start();
    let dir = TempDir::new("tls");
    let ca = ca_file(&server, &dir);
    let local = format!("localhost:{}", server.port());

    // Opportunistic (default) with the CA: verified.
    let run = send(&[
        "--server",
        &local,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--ca-file",
        &ca,
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(json["tls"]["verified"], true, "{json}");
    assert!(
        json["tls"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("TLSv1.")),
        "{json}"
    );

    // Opportunistic without the CA: TLS, not verified, still sent.
    let run = send(&[
        "--server", &local, "--from", "a@x.test", "--to", "b@y.test", "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(run.json()["tls"]["verified"], false);

    // Required without the CA: the certificate does not verify: exit 3,
    // with why in words and the options that change the check.
    let run = send(&[
        "--server", &local, "--from", "a@x.test", "--to", "b@y.test", "--tls", "required", "--json",
    ]);
    assert_eq!(run.status, 3, "{run:#?}");
    assert!(
        run.stderr.contains(
            "certificate did not verify: it is not signed by a trusted certificate authority"
        ),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("--ca-file") && run.stderr.contains("--insecure-accept-any-cert"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("UnknownIssuer"), "{run:#?}");
    // ... unless any certificate is accepted.
    let run = send(&[
        "--server",
        &local,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--tls",
        "required",
        "--insecure-accept-any-cert",
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(run.json()["tls"]["verified"], false);

    // Credentials: TLS required and verified by default.
    let auth = [
        "--server",
        &local,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--user",
        "user",
        "--password",
        "secret",
        "--json",
    ];
    let run = send(&auth);
    assert_eq!(
        run.status, 3,
        "no CA: the certificate cannot verify: {run:#?}"
    );
    let mut with_ca = auth.to_vec();
    with_ca.extend(["--ca-file", &ca]);
    let run = send(&with_ca);
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(run.json()["tls"]["verified"], true);
    let mut insecure = auth.to_vec();
    insecure.push("--insecure-accept-any-cert");
    let run = send(&insecure);
    assert_eq!(run.status, 0, "{run:#?}");

    // A wrong password: exit 1, the server was reached (JSON printed).
    let run = send(&[
        "--server",
        &local,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--user",
        "user",
        "--password",
        "wrong",
        "--ca-file",
        &ca,
        "--json",
    ]);
    assert_eq!(run.status, 3, "535 is permanent: {run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "not_sent");
    assert_eq!(json["reply"]["code"], 535);

    // 5 messages stored, 2 of them after AUTH as `user`.
    let mails = server.messages();
    assert_eq!(mails.len(), 5);
    let users: Vec<Option<&str>> = mails.iter().map(|m| m.user.as_deref()).collect();
    assert_eq!(
        users,
        [None, None, None, Some("user"), Some("user")],
        "{users:?}"
    );
    assert!(mails.iter().all(|m| m.tls), "every message came over TLS");
}

#[test]
fn allow_insecure_auth_sends_credentials_in_plaintext() {
    // AUTH is offered without TLS.
    let server = with_user(server()).start();
    let auth = [
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--user",
        "user",
        "--password",
        "secret",
        "--json",
    ];
    // Without the option: TLS is required and the server has none.
    let run = send(&auth);
    assert_eq!(run.status, 3, "{run:#?}");
    assert!(server.messages().is_empty());
    let mut insecure = auth.to_vec();
    insecure.push("--allow-insecure-auth");
    let run = send(&insecure);
    assert_eq!(run.status, 0, "{run:#?}");
    assert!(run.json()["tls"].is_null());
    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].user.as_deref(), Some("user"));
    assert!(!mails[0].tls);
}

#[test]
fn implicit_tls() {
    let server = with_user(server().self_signed_tls().implicit_tls()).start();
    let dir = TempDir::new("smtps");
    let ca = ca_file(&server, &dir);
    let run = send(&[
        "--server",
        &format!("localhost:{}", server.port()),
        "--implicit-tls",
        "--ca-file",
        &ca,
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--user",
        "user",
        "--password",
        "secret",
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert_eq!(run.json()["tls"]["verified"], true);
    let mails = server.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls);
    assert_eq!(mails[0].user.as_deref(), Some("user"));
}

#[test]
fn tls_required_but_not_offered_gives_exit_3() {
    let server = plain();
    let run = send(&[
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--tls",
        "required",
        "--json",
    ]);
    assert_eq!(run.status, 3, "{run:#?}");
    assert_eq!(run.json()["outcome"], "not_sent");
    assert!(server.messages().is_empty());
}

#[test]
fn bulk_mode_sends_every_message_over_reused_connections() {
    let server = plain();
    let run = send(&[
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--subject",
        "load",
        "--repeat",
        "300",
        "--connections",
        "4",
        "--json",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "sent");
    assert_eq!(json["sent"], true);
    assert_eq!(json["messages"], 300);
    assert_eq!(json["sent_messages"], 300);
    assert_eq!(json["failed_messages"], 0);
    assert_eq!(json["connections"], 4);
    assert!(
        json["messages_per_second"]
            .as_f64()
            .is_some_and(|r| r > 0.0),
        "{json}"
    );
    let mails = server.messages();
    assert_eq!(mails.len(), 300);
    let mut ids: Vec<String> = mails
        .iter()
        .filter_map(|m| {
            m.text()
                .lines()
                .find(|l| l.starts_with("Message-ID:"))
                .map(str::to_owned)
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 300, "every message has its own Message-ID");
    // Connections were reused: far fewer sessions than messages.
    let mut sessions: Vec<String> = mails.iter().map(|m| format!("{:?}", m.peer)).collect();
    sessions.sort();
    sessions.dedup();
    assert!(sessions.len() <= 4, "{} sessions", sessions.len());

    // Text output: the rate.
    let run = send(&[
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--repeat",
        "20",
    ]);
    assert_eq!(run.status, 0, "{run:#?}");
    assert!(run.stdout.contains("sent 20 of 20 messages"), "{run:#?}");
    assert!(run.stdout.contains("messages/s"), "{run:#?}");
}

#[test]
fn bulk_mode_exit_status_is_the_highest_seen() {
    let server = plain();
    let run = send(&[
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--to",
        "refuse@y.test",
        "--at-least-one",
        "--repeat",
        "10",
        "--connections",
        "2",
        "--json",
    ]);
    assert_eq!(run.status, 2, "{run:#?}");
    let json = run.json();
    assert_eq!(json["outcome"], "partial");
    assert_eq!(json["partial_messages"], 10);
    assert_eq!(server.messages().len(), 10);

    let run = send(&[
        "--server",
        &address(&server),
        "--from",
        "a@x.test",
        "--to",
        "refuse@y.test",
        "--repeat",
        "5",
        "--json",
    ]);
    assert_eq!(run.status, 3, "{run:#?}");
    assert_eq!(run.json()["not_sent_messages"], 5);

    let run = send(&[
        "--server",
        &at(closed_port()),
        "--from",
        "a@x.test",
        "--to",
        "b@y.test",
        "--repeat",
        "5",
    ]);
    assert_eq!(run.status, 5, "{run:#?}");
    assert!(run.stdout.contains("sent 0 of 5"), "{run:#?}");
    assert!(run.stdout.contains("failed 5"), "{run:#?}");
}
