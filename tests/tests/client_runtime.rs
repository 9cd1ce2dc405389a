//! The mailwire client (`send_message` and `Client`) against a scripted
//! server over loopback TCP (and the in-memory pipe), with real TLS from
//! the test PKI, on tokio, smol and async-std.

#[macro_use]
#[path = "client_runtime/support.rs"]
mod support;

use std::sync::Arc;
use std::time::Duration;

use mailwire_core::client::{
    ClientTimeouts, CloseKind, Envelope, MailOptions, NotSentReason, Outcome, Phase,
    PlaintextDecision, RecipientStatus, SendPolicy, TlsPolicy,
};
use mailwire_core::sasl::{Credentials, Mechanism};
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_driver::client::{
    Client, ClientError, ClientSettings, Observer, SendError, SendOptions, ServerAddress,
    TraceEvent,
};
use mailwire_driver::{ClientTls, Runtime, pipe, send_message};

use support::{Step, assert_script_ok, closed_port, log, pki, scripted_server};

const MESSAGE: &str = "From: Alice <alice@example.org>\r\n\
                       To: bob@example.org\r\n\
                       Cc: carol@example.org\r\n\
                       Bcc: dave@example.org\r\n\
                       Subject: test\r\n\
                       \r\n\
                       Hello\r\n\
                       .leading dot\r\n\
                       bare LF\n";

fn local(port: u16) -> ServerAddress {
    ServerAddress::new("127.0.0.1").with_port(port)
}

fn verifying() -> ClientSettings {
    ClientSettings::default()
        .with_tls(ClientTls::with_ca_pem(pki().ca_pem.as_bytes()).expect("CA"))
        .with_tls_policy(TlsPolicy::required())
}

/// The transaction of [`MESSAGE`] after the greeting and EHLO, then QUIT.
fn transaction_steps() -> Vec<Step> {
    vec![
        Step::Expect("MAIL FROM:<alice@example.org>"),
        Step::Send("250 2.1.0 ok\r\n"),
        Step::Expect("RCPT TO:<bob@example.org>"),
        Step::Send("250 2.1.5 ok\r\n"),
        Step::Expect("RCPT TO:<carol@example.org>"),
        Step::Send("250 2.1.5 ok\r\n"),
        Step::Expect("RCPT TO:<dave@example.org>"),
        Step::Send("250 2.1.5 ok\r\n"),
        Step::Expect("DATA"),
        Step::Send("354 go ahead\r\n"),
        Step::Data,
        Step::Send("250 2.0.0 queued as 1\r\n"),
        Step::Expect("QUIT"),
        Step::Send("221 2.0.0 bye\r\n"),
        Step::Drain,
    ]
}

fn with_greeting(ehlo_reply: &'static str, rest: Vec<Step>) -> Vec<Step> {
    let mut steps = vec![
        Step::Send("220 scripted ESMTP\r\n"),
        Step::Expect("EHLO localhost"),
        Step::Send(ehlo_reply),
    ];
    steps.extend(rest);
    steps
}

fn check_body(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    assert!(!text.contains("Bcc"), "Bcc header transmitted: {text}");
    assert!(!text.contains("dave"), "Bcc address transmitted: {text}");
    assert!(text.contains("\r\nDate: "), "{text}");
    assert!(text.contains("\r\nMessage-ID: <"), "{text}");
    assert!(
        text.contains("\r\nHello\r\n..leading dot\r\nbare LF\r\n"),
        "{text}"
    );
}

/// Plain SMTP: envelope from the headers (Bcc included, header removed),
/// dot-stuffing, bare LF normalised, QUIT; the report says sent.
async fn plain_send_message<R: Runtime>(rt: R) {
    let script = with_greeting("250-scripted\r\n250 8BITMIME\r\n", transaction_steps());
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let report = send_message(rt.clone(), MESSAGE, &SendOptions::new([local(addr.port())]))
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert_eq!(report.port, addr.port());
    assert!(report.tls.is_none());
    assert_eq!(report.final_reply().map(|r| r.code().as_u16()), Some(250));
    assert_eq!(report.recipients.len(), 3);
    assert!(
        report
            .recipients
            .iter()
            .all(|r| r.status == RecipientStatus::Sent)
    );
    assert_eq!(report.refused().count(), 0);
    assert!(report.close.as_ref().is_some_and(|c| c.is_normal()));
    assert_script_ok(&rt, &logs[0]).await;
    check_body(&log(&logs[0]).bodies[0]);
}

/// One connection, three messages, PIPELINING: a refused recipient under
/// at-least-one (sent to the other), a 451 at the end of the data (not
/// sent, with the reply), then a good one.
async fn client_many_messages<R: Runtime>(rt: R) {
    let script = with_greeting(
        "250-scripted\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n",
        vec![
            Step::Expect("MAIL FROM:<alice@example.org>"),
            Step::Expect("RCPT TO:<bob@example.org>"),
            Step::Expect("RCPT TO:<nobody@example.org>"),
            Step::Expect("DATA"),
            Step::Send("250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n"),
            Step::Data,
            Step::Send("250 2.0.0 queued as 1\r\n"),
            Step::Expect("MAIL FROM:<alice@example.org>"),
            Step::Expect("RCPT TO:<bob@example.org>"),
            Step::Send("250 ok\r\n250 ok\r\n"),
            Step::Expect("DATA"),
            Step::Send("354 go\r\n"),
            Step::Data,
            Step::Send("451 4.3.0 try again later\r\n"),
            Step::Expect("MAIL FROM:<alice@example.org>"),
            Step::Expect("RCPT TO:<bob@example.org>"),
            Step::Send("250 ok\r\n250 ok\r\n"),
            Step::Expect("DATA"),
            Step::Send("354 go\r\n"),
            Step::Data,
            Step::Send("250 2.0.0 queued as 3\r\n"),
            Step::Expect("QUIT"),
            Step::Send("221 bye\r\n"),
            Step::Drain,
        ],
    );
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let mut client = Client::connect(rt.clone(), &local(addr.port()), &ClientSettings::default())
        .await
        .expect("connect");
    assert!(client.capabilities().pipelining);
    let alice: ReversePath = "<alice@example.org>".parse().expect("path");
    let bob: ForwardPath = "<bob@example.org>".parse().expect("path");
    let nobody: ForwardPath = "<nobody@example.org>".parse().expect("path");

    let first = Envelope::new(alice.clone(), [bob.clone(), nobody])
        .with_options(MailOptions::default().with_policy(SendPolicy::AtLeastOne));
    let outcome = client
        .send(first, "Subject: 1\r\n\r\none\r\n")
        .await
        .expect("1");
    assert!(outcome.outcome.is_sent(), "{outcome:?}");
    assert_eq!(outcome.recipients[0].status, RecipientStatus::Sent);
    assert_eq!(outcome.recipients[1].status, RecipientStatus::Refused);
    let refusal = outcome.recipients[1].reply.as_ref().expect("reply");
    assert_eq!(refusal.code().as_u16(), 550);

    let second = Envelope::new(alice.clone(), [bob.clone()]);
    let outcome = client
        .send(second, "Subject: 2\r\n\r\ntwo\r\n")
        .await
        .expect("2");
    match &outcome.outcome {
        Outcome::NotSent { reason, reply } => {
            assert_eq!(*reason, NotSentReason::MessageRefused);
            assert_eq!(reply.as_ref().map(|r| r.code().as_u16()), Some(451));
        }
        other => panic!("a 451 must not be sent: {other:?}"),
    }
    assert_eq!(outcome.recipients[0].status, RecipientStatus::NotSent);

    let third = Envelope::new(alice, [bob]);
    let outcome = client
        .send(third, "Subject: 3\r\n\r\nthree\r\n")
        .await
        .expect("3");
    assert!(outcome.outcome.is_sent());
    let close = client.quit().await.expect("close reason");
    assert!(close.is_normal(), "{close:?}");
    assert_script_ok(&rt, &logs[0]).await;
    let log = log(&logs[0]);
    assert_eq!(log.bodies.len(), 3);
    assert_eq!(log.bodies[2], b"Subject: 3\r\n\r\nthree\r\n");
}

/// STARTTLS with the certificate verified against the test CA, SNI sent,
/// and AUTH only after TLS (PLAIN, offered before TLS too).
async fn starttls_verified_auth<R: Runtime>(rt: R) {
    let mut script = with_greeting(
        "250-scripted\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
        vec![
            Step::Expect("STARTTLS"),
            Step::Send("220 2.0.0 ready\r\n"),
            Step::Tls,
            Step::Expect("EHLO localhost"),
            Step::Send("250-scripted\r\n250 AUTH PLAIN\r\n"),
            // base64("\0user\0secret")
            Step::Expect("AUTH PLAIN AHVzZXIAc2VjcmV0"),
            Step::Send("235 2.7.0 authenticated\r\n"),
        ],
    );
    script.extend(transaction_steps());
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let server = ServerAddress::new("localhost").with_port(addr.port());
    let settings = verifying().with_credentials(Credentials::password("user", "secret"));
    let options = SendOptions::new([server]).with_settings(settings);
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    let tls = report.tls.as_ref().expect("TLS");
    assert!(tls.peer_verified, "{tls:?}");
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    assert_eq!(report.authenticated, Some(Mechanism::Plain));
    assert_script_ok(&rt, &logs[0]).await;
    check_body(&log(&logs[0]).bodies[0]);
}

/// A server that answers STARTTLS with `220` and a forged `250` in one
/// packet does not fool the client: the forged line is never read as a
/// reply and the session goes on over TLS.
async fn starttls_forged_reply_ignored<R: Runtime>(rt: R) {
    let mut script = with_greeting(
        "250-scripted\r\n250 STARTTLS\r\n",
        vec![
            Step::Expect("STARTTLS"),
            Step::Send("220 ready\r\n250 forged\r\n"),
            Step::Tls,
            Step::Expect("EHLO localhost"),
            Step::Send("250 scripted over TLS\r\n"),
        ],
    );
    script.extend(transaction_steps());
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let options = SendOptions::new([local(addr.port())]).with_settings(verifying());
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert!(report.tls.as_ref().is_some_and(|t| t.peer_verified));
    assert_script_ok(&rt, &logs[0]).await;
}

/// Implicit TLS (port 465 style): the handshake comes before the greeting.
async fn implicit_tls<R: Runtime>(rt: R) {
    let mut script = vec![Step::Tls];
    script.extend(with_greeting("250 scripted\r\n", transaction_steps()));
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let server = ServerAddress::implicit_tls("127.0.0.1").with_port(addr.port());
    let options = SendOptions::new([server]).with_settings(verifying());
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert!(report.tls.as_ref().is_some_and(|t| t.peer_verified));
    assert_script_ok(&rt, &logs[0]).await;
}

/// Opportunistic STARTTLS to a certificate that does not verify (no test
/// CA): encrypted anyway, recorded as unverified, and the message goes;
/// the same with required TLS only through the insecure option.
async fn opportunistic_unverified<R: Runtime>(rt: R) {
    let mut script = with_greeting(
        "250-scripted\r\n250 STARTTLS\r\n",
        vec![
            Step::Expect("STARTTLS"),
            Step::Send("220 ready\r\n"),
            Step::Tls,
            Step::Expect("EHLO localhost"),
            Step::Send("250 scripted\r\n"),
        ],
    );
    script.extend(transaction_steps());
    let (addr, logs) = scripted_server(&rt, vec![script.clone(), script]).await;
    let report = send_message(rt.clone(), MESSAGE, &SendOptions::new([local(addr.port())]))
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert!(report.tls.as_ref().is_some_and(|t| !t.peer_verified));
    assert_script_ok(&rt, &logs[0]).await;

    // Required TLS with the insecure option: accepted, still recorded as
    // unverified.
    let insecure = ClientSettings::default().with_tls_policy(TlsPolicy::Required {
        accept_invalid_certs: true,
    });
    let options = SendOptions::new([local(addr.port())]).with_settings(insecure);
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert!(report.tls.as_ref().is_some_and(|t| !t.peer_verified));
    assert_script_ok(&rt, &logs[1]).await;
}

/// Failover across three servers: connection refused, then a 554
/// greeting, then a good server; the report names the good one and why
/// the others were given up, and the observer saw each attempt in order.
async fn failover_three_servers<R: Runtime>(rt: R) {
    let refused = closed_port(&rt).await;
    let (bad, bad_logs) = scripted_server(
        &rt,
        vec![vec![
            Step::Send("554 5.3.2 not accepting mail\r\n"),
            Step::Expect("QUIT"),
            Step::Send("221 bye\r\n"),
            Step::Drain,
        ]],
    )
    .await;
    let script = with_greeting("250 scripted\r\n", transaction_steps());
    let (good, logs) = scripted_server(&rt, vec![script]).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let observer: Observer = Arc::new(move |event: &TraceEvent<'_>| {
        let note = match event {
            TraceEvent::Trying { server } => format!("trying {}", server.port),
            TraceEvent::Connected { addr } => format!("connected {}", addr.port()),
            TraceEvent::GaveUp { server, error } => {
                assert!(error.allows_failover(), "{error}");
                format!("gave up {}", server.port)
            }
            _ => return,
        };
        record.lock().expect("lock").push(note);
    });
    let options = SendOptions::new([local(refused.port()), local(bad.port()), local(good.port())])
        .with_settings(ClientSettings::default().with_observer(observer));
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert_eq!(report.port, good.port());
    let (r, b, g) = (refused.port(), bad.port(), good.port());
    assert_eq!(
        *seen.lock().expect("lock"),
        [
            format!("trying {r}"),
            format!("gave up {r}"),
            format!("trying {b}"),
            format!("connected {b}"),
            format!("gave up {b}"),
            format!("trying {g}"),
            format!("connected {g}"),
        ]
    );
    assert_eq!(
        report.failed_servers.len(),
        2,
        "{:?}",
        report.failed_servers
    );
    assert_eq!(report.failed_servers[0].port, refused.port());
    assert!(matches!(
        report.failed_servers[0].error,
        ClientError::Connect { .. }
    ));
    match &report.failed_servers[1].error {
        ClientError::Closed(reason) => {
            assert_eq!(reason.kind, CloseKind::GreetingRefused);
            assert_eq!(reason.reply.as_ref().map(|r| r.code().as_u16()), Some(554));
        }
        other => panic!("expected the 554 greeting: {other:?}"),
    }
    assert_script_ok(&rt, &bad_logs[0]).await;
    assert_script_ok(&rt, &logs[0]).await;
}

/// The TLS policy hook abandons a server that refuses STARTTLS; the next
/// server takes the message. Every server failing is an error naming each.
async fn policy_hook_and_all_failed<R: Runtime>(rt: R) {
    let refusing = vec![
        Step::Send("220 scripted\r\n"),
        Step::Expect("EHLO localhost"),
        Step::Send("250-scripted\r\n250 STARTTLS\r\n"),
        Step::Expect("STARTTLS"),
        Step::Send("454 4.7.0 TLS not available\r\n"),
        Step::Expect("QUIT"),
        Step::Send("221 bye\r\n"),
        Step::Drain,
    ];
    let (first, first_logs) = scripted_server(&rt, vec![refusing]).await;
    let (second, logs) = scripted_server(
        &rt,
        vec![with_greeting("250 scripted\r\n", transaction_steps())],
    )
    .await;
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let settings = ClientSettings::default().with_tls_policy_hook(Arc::new(move |reply| {
        assert_eq!(reply.code().as_u16(), 454);
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        PlaintextDecision::Abandon
    }));
    let options =
        SendOptions::new([local(first.port()), local(second.port())]).with_settings(settings);
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent());
    assert_eq!(report.port, second.port());
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_script_ok(&rt, &first_logs[0]).await;
    assert_script_ok(&rt, &logs[0]).await;

    let closed = closed_port(&rt).await;
    match send_message(
        rt.clone(),
        MESSAGE,
        &SendOptions::new([local(closed.port())]),
    )
    .await
    {
        Err(SendError::AllServersFailed(failures)) => assert_eq!(failures.len(), 1),
        other => panic!("expected every server to fail: {other:?}"),
    }
    // A header injection in the caller's extra headers.
    let options = SendOptions::new([local(closed.port())])
        .with_header("Subject", "hi\r\nBcc: eve@example.org");
    match send_message(rt.clone(), MESSAGE, &options).await {
        Err(SendError::Message(e)) => assert!(e.to_string().contains("Subject"), "{e}"),
        other => panic!("expected an injection error: {other:?}"),
    }
    // Errors before any connection name the header.
    let bad = "From: alice@example.org\r\nTo: not an address\r\n\r\nx\r\n";
    match send_message(rt.clone(), bad, &SendOptions::new([local(closed.port())])).await {
        Err(SendError::Message(e)) => assert!(e.to_string().contains("To"), "{e}"),
        other => panic!("expected a message error: {other:?}"),
    }
}

/// Required TLS against a certificate the client cannot verify: the
/// handshake is refused and nothing is sent.
async fn required_tls_refuses_unverified<R: Runtime>(rt: R) {
    let script = vec![
        Step::Send("220 scripted\r\n"),
        Step::Expect("EHLO localhost"),
        Step::Send("250-scripted\r\n250 STARTTLS\r\n"),
        Step::Expect("STARTTLS"),
        Step::Send("220 ready\r\n"),
        // The client refuses the certificate: this handshake fails.
        Step::Tls,
    ];
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let settings = ClientSettings::default().with_tls_policy(TlsPolicy::required());
    let options = SendOptions::new([local(addr.port())]).with_settings(settings);
    match send_message(rt.clone(), MESSAGE, &options).await {
        Err(SendError::AllServersFailed(failures)) => {
            assert_eq!(failures.len(), 1);
            match &failures[0].error {
                ClientError::Tls { source, .. } => {
                    assert!(source.to_string().contains("certificate"), "{source}");
                }
                other => panic!("expected a TLS error: {other:?}"),
            }
        }
        other => panic!("an unverified certificate must be refused: {other:?}"),
    }
    assert!(!log(&logs[0]).lines.iter().any(|l| l.starts_with("MAIL")));
}

/// The client over one end of the in-memory pipe, the scripted server
/// over the other: the same conversation as over TCP.
async fn over_pipe<R: Runtime>(rt: R) {
    let (client_end, server_end) = pipe(8 * 1024);
    let log_ = support::SharedLog::default();
    let script = with_greeting("250-scripted\r\n250 PIPELINING\r\n", {
        vec![
            Step::Expect("MAIL FROM:<alice@example.org>"),
            Step::Expect("RCPT TO:<bob@example.org>"),
            Step::Send("250 ok\r\n250 ok\r\n"),
            Step::Expect("DATA"),
            Step::Send("354 go\r\n"),
            Step::Data,
            Step::Send("250 2.0.0 queued\r\n"),
            Step::Expect("QUIT"),
            Step::Send("221 bye\r\n"),
            Step::Drain,
        ]
    });
    rt.spawn(support::run_script(server_end, script, log_.clone()));
    let mut client = Client::over_stream(
        client_end,
        rt.clone(),
        &ServerAddress::new("localhost"),
        &ClientSettings::default(),
    )
    .await
    .expect("setup over the pipe");
    let envelope = Envelope::new(
        "<alice@example.org>".parse::<ReversePath>().expect("path"),
        ["<bob@example.org>".parse::<ForwardPath>().expect("path")],
    );
    // A body larger than the pipe: back-pressure on both sides.
    let body: String = (0..2000).map(|i| format!(".line {i}\r\n")).collect();
    let outcome = client.send(envelope, body.clone()).await.expect("send");
    assert!(outcome.outcome.is_sent(), "{outcome:?}");
    assert!(client.quit().await.is_some_and(|c| c.is_normal()));
    assert_script_ok(&rt, &log_).await;
    let received = log(&log_).bodies[0].clone();
    assert_eq!(
        received,
        body.replace("\n.", "\n..")
            .replacen('.', "..", 1)
            .into_bytes()
    );
}

/// REQUIRETLS to a server that does not offer it: not sent (`5.7.30`),
/// MAIL never written; the session quits normally.
async fn requiretls_unavailable<R: Runtime>(rt: R) {
    let script = with_greeting(
        "250-scripted\r\n250 DSN\r\n",
        vec![Step::Expect("QUIT"), Step::Send("221 bye\r\n"), Step::Drain],
    );
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let options = SendOptions::new([local(addr.port())]).with_requiretls(true);
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("report");
    match &report.outcome {
        Outcome::NotSent { reason, reply } => {
            assert_eq!(*reason, NotSentReason::RequireTlsUnavailable);
            let enhanced = reply.as_ref().and_then(|r| r.enhanced());
            assert_eq!(enhanced.map(|e| e.to_string()).as_deref(), Some("5.7.30"));
        }
        other => panic!("REQUIRETLS without TLS must not send: {other:?}"),
    }
    assert!(
        report
            .recipients
            .iter()
            .all(|r| r.status == RecipientStatus::NotSent)
    );
    assert_script_ok(&rt, &logs[0]).await;
}

/// A server that never greets is given up when the greeting timeout
/// passes (the next server takes the message); a server that hangs up
/// after the final dot leaves the outcome unknown, never "sent".
async fn timeout_failover_and_unknown<R: Runtime>(rt: R) {
    let (silent, _silent_logs) = scripted_server(&rt, vec![vec![Step::Drain]]).await;
    let (good, logs) = scripted_server(
        &rt,
        vec![with_greeting("250 scripted\r\n", transaction_steps())],
    )
    .await;
    let mut timeouts = ClientTimeouts::default();
    timeouts.greeting = Duration::from_millis(300);
    let settings = ClientSettings::default().with_timeouts(timeouts);
    let options =
        SendOptions::new([local(silent.port()), local(good.port())]).with_settings(settings);
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent());
    match &report.failed_servers[0].error {
        ClientError::Closed(reason) => {
            assert_eq!(reason.kind, CloseKind::Timeout);
            assert_eq!(reason.phase, Phase::Greeting);
        }
        other => panic!("expected a greeting timeout: {other:?}"),
    }
    assert_script_ok(&rt, &logs[0]).await;

    let mut hang_up = with_greeting("250 scripted\r\n", transaction_steps());
    hang_up.truncate(hang_up.len() - 4); // ends after the data: no reply
    let (addr, logs) = scripted_server(&rt, vec![hang_up]).await;
    let report = send_message(rt.clone(), MESSAGE, &SendOptions::new([local(addr.port())]))
        .await
        .expect("report");
    assert_eq!(report.outcome, Outcome::Unknown, "{report:?}");
    assert!(!report.is_sent());
    assert!(
        report
            .recipients
            .iter()
            .all(|r| r.status == RecipientStatus::Unknown)
    );
    assert_script_ok(&rt, &logs[0]).await;
}

/// tcllib's `-queue`: `QUED` when the server offers `XQUE`; explicit
/// originator and recipients replace the headers' envelope, except the
/// Bcc recipient, who is added (its header is never transmitted).
async fn queue_and_explicit_envelope<R: Runtime>(rt: R) {
    let script = with_greeting(
        "250-scripted\r\n250 XQUE\r\n",
        vec![
            Step::Expect("QUED"),
            Step::Send("250 queued mode\r\n"),
            Step::Expect("MAIL FROM:<>"),
            Step::Send("250 ok\r\n"),
            Step::Expect("RCPT TO:<postmaster@example.net>"),
            Step::Send("250 ok\r\n"),
            Step::Expect("RCPT TO:<dave@example.org>"),
            Step::Send("250 ok\r\n"),
            Step::Expect("DATA"),
            Step::Send("354 go\r\n"),
            Step::Data,
            Step::Send("250 ok\r\n"),
            Step::Expect("QUIT"),
            Step::Send("221 bye\r\n"),
            Step::Drain,
        ],
    );
    let (addr, logs) = scripted_server(&rt, vec![script]).await;
    let mut settings = ClientSettings::default();
    settings.queue = true;
    let options = SendOptions::new([local(addr.port())])
        .with_settings(settings)
        .with_originator(ReversePath::Null)
        .with_recipients(["<postmaster@example.net>"
            .parse::<ForwardPath>()
            .expect("path")]);
    let report = send_message(rt.clone(), MESSAGE, &options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    let paths: Vec<String> = report
        .recipients
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    assert_eq!(paths, ["<postmaster@example.net>", "<dave@example.org>"]);
    assert_script_ok(&rt, &logs[0]).await;
    // The headers are transmitted as they are (Bcc still removed).
    let body = String::from_utf8_lossy(&log(&logs[0]).bodies[0]).into_owned();
    assert!(body.contains("To: bob@example.org\r\n") && !body.contains("Bcc"));
}

on_all_runtimes!(
    queue_and_explicit_envelope,
    timeout_failover_and_unknown,
    requiretls_unavailable,
    plain_send_message,
    client_many_messages,
    starttls_verified_auth,
    starttls_forged_reply_ignored,
    implicit_tls,
    opportunistic_unverified,
    failover_three_servers,
    policy_hook_and_all_failed,
    required_tls_refuses_unverified,
    over_pipe,
);

/// The client's futures can be spawned on a multi-threaded executor.
#[test]
fn client_futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let options = SendOptions::default();
    let send = send_message(mailwire_tokio::Tokio, "x", &options);
    is_send(&send);
    let (server, settings) = (ServerAddress::new("localhost"), ClientSettings::default());
    let connect = Client::connect(mailwire_tokio::Tokio, &server, &settings);
    is_send(&connect);
    async fn one(
        mut client: Client<<mailwire_tokio::Tokio as Runtime>::Stream, mailwire_tokio::Tokio>,
    ) {
        let envelope = Envelope::new(
            "<a@example.org>".parse::<ReversePath>().expect("path"),
            ["<b@example.org>".parse::<ForwardPath>().expect("path")],
        );
        let _ = client.send(envelope.clone(), "x").await;
        let mut reader = futures_lite::io::Cursor::new(b"x".to_vec());
        let _ = client.send_reader(envelope, &mut reader).await;
        let _ = client.quit().await;
    }
    fn check(client: Client<<mailwire_tokio::Tokio as Runtime>::Stream, mailwire_tokio::Tokio>) {
        is_send(&one(client));
    }
    let _ = check;
}
