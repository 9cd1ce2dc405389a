//! The mailwire client against the real mailwire server, over loopback TCP
//! and the in-memory pipe, with real TLS from the test PKI, on tokio, smol
//! and async-std.

#[macro_use]
#[path = "client_runtime/support.rs"]
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailwire_core::client::{
    CloseKind, Envelope, MailOptions, NotSentReason, Outcome, RecipientStatus, SendPolicy,
    TlsPolicy,
};
use mailwire_core::sasl::{Credentials, Mechanism};
use mailwire_core::server::AuthCheck;
use mailwire_core::wire::address::{ForwardPath, ReversePath};
use mailwire_core::wire::params::{Notify, RcptParameters, Ret};
use mailwire_driver::client::{Client, ClientError, ClientSettings, SendOptions, ServerAddress};
use mailwire_driver::server::{
    self, Context, Handler, HookError, HookResult, Mail as Whole, RunningServer, ServerOptions,
};
use mailwire_driver::{ClientTls, Runtime, pipe, send_message};

use support::{closed_port, pki, server_tls};

/// Stores what it receives; refuses `nobody@…`; answers 451 to a message
/// containing `FAIL451`; knows `user`/`secret`.
#[derive(Clone, Default)]
struct Inbox {
    mails: Arc<Mutex<Vec<Mail>>>,
    refuse_connections: bool,
}

/// A message as the inbox keeps it, with the session it came in.
#[derive(Clone, Debug)]
struct Mail {
    data: Vec<u8>,
    envelope: mailwire_core::server::ReceivedEnvelope,
    session: Context,
}

impl Inbox {
    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Handler for Inbox {
    type Message = Whole;

    async fn validate_host(&self, _session: &Context) -> HookResult {
        if self.refuse_connections {
            return Err(HookError::refuse(554, "5.3.2", "not accepting mail"));
        }
        Ok(())
    }

    async fn validate_recipient(
        &self,
        _session: &Context,
        to: &ForwardPath,
        _params: &RcptParameters,
    ) -> HookResult {
        if to.to_string().contains("nobody") {
            return Err(HookError::refuse(550, "5.1.1", "No such user"));
        }
        Ok(())
    }

    async fn authenticate(
        &self,
        _session: &Context,
        _mechanism: Mechanism,
        check: &AuthCheck,
    ) -> HookResult<Option<mailwire_core::sasl::StoredSecret>> {
        match check {
            AuthCheck::VerifyPassword {
                username, password, ..
            } if username == "user" && password.constant_time_eq("secret") => Ok(None),
            AuthCheck::Authorize { .. } => Ok(None),
            _ => Err(HookError::refuse(535, "5.7.8", "Authentication failed")),
        }
    }

    async fn deliver(&self, ctx: &Context, mail: Whole) -> HookResult {
        let mail = Mail {
            data: mail.data,
            envelope: mail.envelope,
            session: ctx.clone(),
        };
        if String::from_utf8_lossy(&mail.data).contains("FAIL451") {
            return Err(HookError::refuse(451, "4.3.0", "try again later"));
        }
        self.mails
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(mail);
        Ok(())
    }
}

fn options() -> ServerOptions {
    let mut options = ServerOptions::new("mx.test");
    options.close_linger = Duration::from_millis(200);
    options
}

async fn start<R: Runtime>(rt: &R, options: ServerOptions, inbox: &Inbox) -> RunningServer<R> {
    server::Server::with_handler(options, inbox.clone())
        .bind(rt.clone(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind")
}

fn local(port: u16) -> ServerAddress {
    ServerAddress::new("127.0.0.1").with_port(port)
}

fn verifying() -> ClientSettings {
    ClientSettings::default()
        .with_tls(ClientTls::with_ca_pem(pki().ca_pem.as_bytes()).expect("CA"))
        .with_tls_policy(TlsPolicy::required())
}

const MESSAGE: &str = "From: Alice <alice@example.org>\r\n\
                       To: bob@example.org\r\n\
                       Bcc: dave@example.org\r\n\
                       Subject: test\r\n\
                       \r\n\
                       Hello\r\n\
                       .leading dot\r\n";

fn recipients(mail: &Mail) -> Vec<String> {
    mail.envelope
        .recipients
        .iter()
        .map(|r| r.to.to_string())
        .collect()
}

fn check_received(mail: &Mail) {
    let text = String::from_utf8_lossy(&mail.data);
    assert!(!text.contains("Bcc"), "{text}");
    assert!(text.ends_with("\r\nHello\r\n.leading dot\r\n"), "{text}");
    assert_eq!(
        recipients(mail),
        ["<bob@example.org>", "<dave@example.org>"]
    );
    assert_eq!(mail.envelope.from.to_string(), "<alice@example.org>");
}

/// Several messages on one connection with PIPELINING: a refused
/// recipient (sent to the other), a 451 final reply, a good one; then
/// `send_message` with a Bcc recipient.
async fn plain_pipelining_many<R: Runtime>(rt: R) {
    let inbox = Inbox::default();
    let running = start(&rt, options(), &inbox).await;
    let port = running.local_addr().port();
    let mut client = Client::connect(rt.clone(), &local(port), &ClientSettings::default())
        .await
        .expect("connect");
    assert!(client.capabilities().pipelining);
    let alice: ReversePath = "<alice@example.org>".parse().expect("path");
    let bob: ForwardPath = "<bob@example.org>".parse().expect("path");
    let nobody: ForwardPath = "<nobody@example.org>".parse().expect("path");

    let first = Envelope::new(alice.clone(), [bob.clone(), nobody.clone()])
        .with_options(MailOptions::default().with_policy(SendPolicy::AtLeastOne));
    let outcome = client
        .send(first, "Subject: 1\r\n\r\none\r\n")
        .await
        .expect("1");
    assert!(outcome.outcome.is_sent(), "{outcome:?}");
    assert_eq!(outcome.recipients[1].status, RecipientStatus::Refused);
    let code = outcome.recipients[1]
        .reply
        .as_ref()
        .map(|r| r.code().as_u16());
    assert_eq!(code, Some(550));

    // All-or-nothing with a refused recipient: not sent at all.
    let strict = Envelope::new(alice.clone(), [bob.clone(), nobody]);
    let outcome = client
        .send(strict, "Subject: x\r\n\r\nx\r\n")
        .await
        .expect("x");
    assert!(matches!(
        outcome.outcome,
        Outcome::NotSent {
            reason: NotSentReason::RecipientsRefused,
            ..
        }
    ));

    let second = Envelope::new(alice.clone(), [bob.clone()]);
    let outcome = client
        .send(second, "Subject: 2\r\n\r\nFAIL451\r\n")
        .await
        .expect("2");
    match &outcome.outcome {
        Outcome::NotSent { reason, reply } => {
            assert_eq!(*reason, NotSentReason::MessageRefused);
            assert_eq!(reply.as_ref().map(|r| r.code().as_u16()), Some(451));
        }
        other => panic!("a 451 is not sent: {other:?}"),
    }

    let third = Envelope::new(alice, [bob]);
    let outcome = client
        .send(third, "Subject: 3\r\n\r\nthree\r\n")
        .await
        .expect("3");
    assert!(outcome.outcome.is_sent());
    assert!(client.quit().await.is_some_and(|c| c.is_normal()));

    let report = send_message(rt.clone(), MESSAGE, &SendOptions::new([local(port)]))
        .await
        .expect("send_message");
    assert!(report.is_sent(), "{report:?}");
    running.stop(Duration::from_secs(2)).await;

    let mails = inbox.mails();
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert_eq!(recipients(&mails[0]), ["<bob@example.org>"]);
    assert!(mails[1].data.ends_with(b"\r\nthree\r\n"));
    check_received(&mails[2]);
}

/// STARTTLS verified against the test CA, then AUTH (PLAIN or LOGIN) over
/// it; the server sees TLS and the authenticated user.
async fn starttls_auth<R: Runtime>(rt: R) {
    let inbox = Inbox::default();
    let mut server_options = options().with_starttls(server_tls());
    server_options.config_mut().auth_mechanisms = vec![Mechanism::Plain, Mechanism::Login];
    server_options.config_mut().extensions.requiretls = true;
    let running = start(&rt, server_options, &inbox).await;
    let server = ServerAddress::new("localhost").with_port(running.local_addr().port());
    let settings = verifying().with_credentials(Credentials::password("user", "secret"));
    let mut send_options = SendOptions::new([server])
        .with_settings(settings)
        .with_requiretls(true);
    send_options.dsn_ret = Some(Ret::Headers);
    send_options.dsn_envid = Some("envelope-1".into());
    send_options.dsn_notify = Some(Notify::Never);
    let report = send_message(rt.clone(), MESSAGE, &send_options)
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    let tls = report.tls.as_ref().expect("TLS");
    assert!(tls.peer_verified);
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    assert!(report.authenticated.is_some());
    running.stop(Duration::from_secs(2)).await;
    let mails = inbox.mails();
    assert_eq!(mails.len(), 1);
    check_received(&mails[0]);
    assert_eq!(mails[0].session.user(), Some("user"));
    let params = &mails[0].envelope.params;
    assert!(params.requiretls);
    assert_eq!(params.ret, Some(Ret::Headers));
    assert_eq!(params.envid.as_deref(), Some("envelope-1"));
    assert!(
        mails[0]
            .envelope
            .recipients
            .iter()
            .all(|r| r.params.notify == Some(Notify::Never))
    );
    assert!(mails[0].session.tls.is_some());
}

/// Implicit TLS (port 465 style) with verification.
async fn implicit_tls<R: Runtime>(rt: R) {
    let inbox = Inbox::default();
    let running = start(&rt, options().with_implicit_tls(server_tls()), &inbox).await;
    let server = ServerAddress::implicit_tls("localhost").with_port(running.local_addr().port());
    let report = send_message(
        rt.clone(),
        MESSAGE,
        &SendOptions::new([server]).with_settings(verifying()),
    )
    .await
    .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert!(report.tls.as_ref().is_some_and(|t| t.peer_verified));
    running.stop(Duration::from_secs(2)).await;
    assert_eq!(inbox.mails().len(), 1);
}

/// Failover: a closed port, then a server that greets 554, then a good
/// one.
async fn failover<R: Runtime>(rt: R) {
    let closed = closed_port(&rt).await;
    let refusing = Inbox {
        refuse_connections: true,
        ..Inbox::default()
    };
    let bad = start(&rt, options(), &refusing).await;
    let inbox = Inbox::default();
    let good = start(&rt, options(), &inbox).await;
    let servers = [
        local(closed.port()),
        local(bad.local_addr().port()),
        local(good.local_addr().port()),
    ];
    let report = send_message(rt.clone(), MESSAGE, &SendOptions::new(servers))
        .await
        .expect("send");
    assert!(report.is_sent(), "{report:?}");
    assert_eq!(report.port, good.local_addr().port());
    assert_eq!(report.failed_servers.len(), 2);
    match &report.failed_servers[1].error {
        ClientError::Closed(reason) => assert_eq!(reason.kind, CloseKind::GreetingRefused),
        other => panic!("expected the 554 greeting: {other:?}"),
    }
    bad.stop(Duration::from_secs(2)).await;
    good.stop(Duration::from_secs(2)).await;
    assert_eq!(inbox.mails().len(), 1);
    assert!(refusing.mails().is_empty());
}

/// Client and server over the in-memory pipe, with STARTTLS.
async fn over_pipe<R: Runtime>(rt: R) {
    let inbox = Inbox::default();
    let server = server::Server::with_handler(options().with_starttls(server_tls()), inbox.clone());
    let (client_end, server_end) = pipe(16 * 1024);
    let server_rt = rt.clone();
    rt.spawn(async move {
        server.serve_stream(server_rt, server_end, None, None).await;
    });
    let mut client = Client::over_stream(
        client_end,
        rt.clone(),
        &ServerAddress::new("localhost"),
        &verifying(),
    )
    .await
    .expect("setup");
    assert!(client.tls_info().is_some_and(|t| t.peer_verified));
    let body: String = (0..3000).map(|i| format!(".line {i}\r\n")).collect();
    for _ in 0..2 {
        let envelope = Envelope::new(
            "<alice@example.org>".parse::<ReversePath>().expect("path"),
            ["<bob@example.org>".parse::<ForwardPath>().expect("path")],
        );
        let outcome = client.send(envelope, body.clone()).await.expect("send");
        assert!(outcome.outcome.is_sent(), "{outcome:?}");
    }
    assert!(client.quit().await.is_some_and(|c| c.is_normal()));
    let mails = inbox.mails();
    assert_eq!(mails.len(), 2);
    assert!(mails[0].data.ends_with(body.as_bytes()));
}

/// A reader that yields `good` octets, then fails.
struct Failing {
    good: usize,
}

impl futures_lite::io::AsyncRead for Failing {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &mut [u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.good == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::other("disk on fire")));
        }
        let n = buf.len().min(self.good);
        buf[..n].fill(b'x');
        self.good -= n;
        std::task::Poll::Ready(Ok(n))
    }
}

/// Bodies streamed from a reader: 2 MiB arrive whole; a reader that fails
/// half-way ends the connection and nothing is delivered.
async fn reader_body<R: Runtime>(rt: R) {
    let inbox = Inbox::default();
    let running = start(&rt, options(), &inbox).await;
    let server = local(running.local_addr().port());
    let mut client = Client::connect(rt.clone(), &server, &ClientSettings::default())
        .await
        .expect("connect");
    let line = "a line of the message body, long enough to add up quickly\r\n";
    let body = format!(
        "Subject: big\r\n\r\n{}",
        line.repeat(2 * 1024 * 1024 / line.len())
    );
    let envelope = Envelope::new(
        "<alice@example.org>".parse::<ReversePath>().expect("path"),
        ["<bob@example.org>".parse::<ForwardPath>().expect("path")],
    );
    let mut reader = futures_lite::io::Cursor::new(body.clone().into_bytes());
    let outcome = client
        .send_reader(envelope.clone(), &mut reader)
        .await
        .expect("send");
    assert!(outcome.outcome.is_sent(), "{outcome:?}");

    let mut failing = Failing { good: 100_000 };
    match client.send_reader(envelope, &mut failing).await {
        Err(ClientError::Body(e)) => assert!(e.to_string().contains("disk on fire")),
        other => panic!("expected a body error: {other:?}"),
    }
    assert!(!client.is_open());
    running.stop(Duration::from_secs(2)).await;
    let mails = inbox.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].data.ends_with(body.as_bytes()));
}

on_all_runtimes!(
    reader_body,
    plain_pipelining_many,
    starttls_auth,
    implicit_tls,
    failover,
    over_pipe
);
