//! Shared pieces of the server runtime and interop tests: a recording
//! handler, a tiny scripted SMTP client over any runtime's TCP stream
//! (plain or TLS), the per-runtime test macro and timeouts.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use mailwire_driver::core::sasl::{Mechanism, StoredSecret};
use mailwire_driver::core::server::{AuthCheck, ReceivedEnvelope};
use mailwire_driver::core::wire::address::ForwardPath;
use mailwire_driver::core::wire::params::RcptParameters;
use mailwire_driver::server::{
    Context, Handler, HookError, HookResult, Mail, MailStream, ParsedMail, RunningServer, Server,
    ServerOptions,
};
use mailwire_driver::{ClientTls, Runtime, ServerTls, Transport};
use mailwire_tests::certs::TestPki;
use rustls_pki_types::ServerName;

/// Every scenario must end within this.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

/// The user and password the recorder knows.
pub const USER: &str = "alice";
/// Alice's password.
pub const PASSWORD: &str = "wonderland";

/// What the recording handler saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A whole message (buffered or streamed to its end).
    Message {
        /// MAIL FROM as text.
        from: String,
        /// Accepted recipients as text.
        to: Vec<String>,
        /// The octets (for streams longer than 1 MiB, only the first MiB).
        data: Vec<u8>,
        /// The full length.
        len: u64,
        /// The session's TLS was on.
        tls: bool,
        /// The authenticated user.
        user: Option<String>,
    },
    /// A streamed body that ended in an error after this many octets.
    StreamError {
        /// Octets read before the error.
        len: u64,
        /// The error kind.
        kind: std::io::ErrorKind,
    },
    /// A login.
    Login(String),
    /// A parsed message: its subject and number of recipients.
    Parsed {
        /// The Subject header.
        subject: Option<String>,
        /// Whether the server's Received header was the first header.
        received_first: bool,
        /// Recipients.
        recipients: usize,
    },
}

/// A handler that records what it sees. Recipients whose address
/// contains `refuse` are refused with 550; a message whose data contains
/// `X-Fail: error` fails, `X-Fail: panic` panics, `X-Fail: hang` never
/// returns.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    /// What was seen, in order.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    /// Everything seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The whole messages seen so far.
    pub fn messages(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| matches!(s, Seen::Message { .. }))
            .collect()
    }

    fn push(&self, seen: Seen) {
        self.seen.lock().unwrap().push(seen);
    }

    fn record(&self, session: &Context, envelope: &ReceivedEnvelope, data: Vec<u8>, len: u64) {
        self.push(Seen::Message {
            from: envelope.from.to_string(),
            to: envelope
                .recipients
                .iter()
                .map(|r| r.to.to_string())
                .collect(),
            data,
            len,
            tls: session.tls.is_some(),
            user: session.user().map(str::to_owned),
        });
    }
}

async fn failure_requested(data: &[u8]) -> HookResult {
    let text = String::from_utf8_lossy(data);
    if text.contains("X-Fail: hang") {
        std::future::pending::<()>().await;
    }
    if text.contains("X-Fail: panic") {
        panic!("the test handler panics on purpose");
    }
    if text.contains("X-Fail: error") {
        return Err(HookError::failed("the test handler fails on purpose"));
    }
    Ok(())
}

impl Recorder {
    fn check_recipient(&self, to: &ForwardPath) -> HookResult {
        if to.to_string().contains("refuse") {
            return Err(HookError::refuse(550, "5.1.1", "No such user here"));
        }
        Ok(())
    }

    fn check_auth(&self, check: &AuthCheck) -> HookResult<Option<StoredSecret>> {
        match check {
            AuthCheck::VerifyPassword {
                username, password, ..
            } => {
                if username == USER && password.expose() == PASSWORD {
                    self.push(Seen::Login(username.clone()));
                    Ok(None)
                } else {
                    Err(HookError::refuse(535, "5.7.8", "Bad credentials"))
                }
            }
            AuthCheck::NeedSecret { username, .. } => {
                if username == USER {
                    self.push(Seen::Login(username.clone()));
                    Ok(Some(StoredSecret::password(PASSWORD)))
                } else {
                    Ok(None)
                }
            }
            _ => Err(HookError::refuse(535, "5.7.8", "No")),
        }
    }
}

/// The recorder taking whole messages.
#[derive(Debug, Clone)]
pub struct Whole(pub Recorder);
/// The recorder taking streamed messages.
#[derive(Debug, Clone)]
pub struct Streamed(pub Recorder);
/// The recorder taking parsed messages.
#[derive(Debug, Clone)]
pub struct ParsedRecorder(pub Recorder);

/// The hooks the three recorders share.
macro_rules! recorder_hooks {
    () => {
        async fn validate_recipient(
            &self,
            _ctx: &Context,
            to: &ForwardPath,
            _params: &RcptParameters,
        ) -> HookResult {
            self.0.check_recipient(to)
        }

        async fn authenticate(
            &self,
            _ctx: &Context,
            _mechanism: Mechanism,
            check: &AuthCheck,
        ) -> HookResult<Option<StoredSecret>> {
            self.0.check_auth(check)
        }
    };
}

impl Handler for Whole {
    type Message = Mail;

    recorder_hooks!();

    async fn deliver(&self, ctx: &Context, mail: Mail) -> HookResult {
        failure_requested(&mail.data).await?;
        // Recorded as a mail store keeps it: the trace header first.
        let data = [mail.trace, mail.data].concat();
        let len = data.len() as u64;
        self.0.record(ctx, &mail.envelope, data, len);
        Ok(())
    }
}

impl Handler for ParsedRecorder {
    type Message = ParsedMail;

    recorder_hooks!();

    async fn deliver(&self, _ctx: &Context, mail: ParsedMail) -> HookResult {
        failure_requested(mail.data()).await?;
        let message = mail
            .message()
            .ok_or_else(|| HookError::failed("no headers"))?;
        // The trace header comes beside the parsed message, never in it.
        assert!(
            message
                .headers()
                .first()
                .is_none_or(|h| h.name() != "Received"),
            "the trace header is not part of the parsed message"
        );
        let received_first = mail.trace.starts_with(b"Received: ");
        self.0.push(Seen::Parsed {
            subject: message.subject().map(str::to_owned),
            received_first,
            recipients: mail.envelope.recipients.len(),
        });
        Ok(())
    }
}

impl Handler for Streamed {
    type Message = MailStream;

    recorder_hooks!();

    async fn deliver(&self, ctx: &Context, mail: MailStream) -> HookResult {
        let MailStream {
            envelope,
            trace,
            mut body,
            ..
        } = mail;
        // Recorded as a mail store keeps it: the trace header first.
        let mut len = trace.len() as u64;
        let mut head = trace;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match body.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    len += n as u64;
                    let keep = (1usize << 20).saturating_sub(head.len()).min(n);
                    head.extend_from_slice(&buf[..keep]);
                }
                Err(e) => {
                    self.0.push(Seen::StreamError {
                        len,
                        kind: e.kind(),
                    });
                    return Err(e.into());
                }
            }
        }
        failure_requested(&head).await?;
        self.0.record(ctx, &envelope, head, len);
        Ok(())
    }
}

/// Which kind of delivery the recorder takes in a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    /// [`Mail`]: whole messages.
    Buffered,
    /// [`MailStream`].
    Streaming,
    /// [`ParsedMail`].
    Parsed,
}

/// Server options plus the recorder's delivery kind.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// The server's options.
    pub server: ServerOptions,
    /// How the recorder takes messages.
    pub delivery: DeliveryMode,
}

impl std::ops::Deref for TestOptions {
    type Target = ServerOptions;
    fn deref(&self) -> &ServerOptions {
        &self.server
    }
}

impl std::ops::DerefMut for TestOptions {
    fn deref_mut(&mut self) -> &mut ServerOptions {
        &mut self.server
    }
}

impl TestOptions {
    /// With STARTTLS.
    pub fn with_starttls(mut self, tls: ServerTls) -> TestOptions {
        self.server = self.server.with_starttls(tls);
        self
    }

    /// With implicit TLS.
    pub fn with_implicit_tls(mut self, tls: ServerTls) -> TestOptions {
        self.server = self.server.with_implicit_tls(tls);
        self
    }
}

/// A server recording into `rec` with the kind of delivery `opts` names,
/// listening on `listener`.
pub fn listen<R: Runtime>(
    rt: R,
    opts: TestOptions,
    rec: &Recorder,
    listener: R::Listener,
) -> std::io::Result<RunningServer<R>> {
    match opts.delivery {
        DeliveryMode::Buffered => {
            Server::with_handler(opts.server, Whole(rec.clone())).listen(rt, listener)
        }
        DeliveryMode::Streaming => {
            Server::with_handler(opts.server, Streamed(rec.clone())).listen(rt, listener)
        }
        DeliveryMode::Parsed => {
            Server::with_handler(opts.server, ParsedRecorder(rec.clone())).listen(rt, listener)
        }
    }
}

/// Options for the tests: domain `mx.test`, the given delivery mode.
pub fn options(delivery: DeliveryMode) -> TestOptions {
    let mut server = ServerOptions::new("mx.test");
    server.close_linger = Duration::from_millis(200);
    TestOptions { server, delivery }
}

/// The test PKI's server certificate.
pub fn server_tls(pki: &TestPki) -> ServerTls {
    ServerTls::from_pem(
        pki.server_chain_pem.as_bytes(),
        pki.server_key_pem.as_bytes(),
    )
    .unwrap()
}

/// Starts a recorder server on 127.0.0.1:0.
pub async fn start<R: Runtime>(
    rt: &R,
    options: TestOptions,
) -> (RunningServer<R>, Recorder, SocketAddr) {
    let recorder = Recorder::default();
    let listener = rt.bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let running = listen(rt.clone(), options, &recorder, listener).unwrap();
    let addr = running.local_addr();
    (running, recorder, addr)
}

/// A scripted SMTP client over a runtime's stream, plain or TLS.
pub struct TestClient<S> {
    /// The stream.
    pub t: Transport<S>,
    buf: Vec<u8>,
}

/// One reply: code and full text (lines joined by `\n`).
pub type Reply = (u16, String);

impl<S> TestClient<S>
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin + Send,
{
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        TestClient {
            t: Transport::Plain(stream),
            buf: Vec::new(),
        }
    }

    /// Reads one (possibly multi-line) reply; code 0 on EOF.
    pub async fn reply(&mut self) -> Reply {
        let mut text = String::new();
        loop {
            let line = loop {
                if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    let line: Vec<u8> = self.buf.drain(..pos + 2).collect();
                    break String::from_utf8_lossy(&line[..pos]).into_owned();
                }
                let mut chunk = [0u8; 4096];
                match self.t.read(&mut chunk).await {
                    Ok(0) | Err(_) => return (0, text),
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                }
            };
            let code = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            text.push_str(&line);
            text.push('\n');
            if line.as_bytes().get(3) != Some(&b'-') {
                return (code, text);
            }
        }
    }

    /// Sends raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.t.write_all(bytes).await.unwrap();
        self.t.flush().await.unwrap();
    }

    /// Sends a command line and reads its reply.
    pub async fn cmd(&mut self, line: &str) -> Reply {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }

    /// Bytes read but not yet consumed as replies.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Runs the TLS handshake, verifying the server with the test CA.
    pub async fn tls(&mut self, pki: &TestPki) {
        assert_eq!(self.buf.len(), 0, "no bytes may be buffered at the switch");
        let tls = ClientTls::with_ca_pem(pki.ca_pem.as_bytes()).unwrap();
        let (connector, record) = tls.connector(false).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let info = self
            .t
            .connect_tls(&connector, name, || record.verified())
            .await
            .unwrap();
        assert!(info.peer_verified, "the server certificate must verify");
    }
}

/// Connects to `addr`.
pub async fn connect<R: Runtime>(rt: &R, addr: SocketAddr) -> TestClient<R::Stream> {
    TestClient::new(rt.connect(addr).await.unwrap())
}

/// Panics if `fut` takes longer than [`SCENARIO_TIMEOUT`].
pub async fn bounded<R: Runtime, F: Future<Output = ()>>(rt: R, fut: F) {
    let sleep = rt.sleep_until(rt.now() + SCENARIO_TIMEOUT);
    fut.or(async {
        sleep.await;
        panic!("scenario timed out after {SCENARIO_TIMEOUT:?}");
    })
    .await;
}

/// Waits (bounded) until `check` holds.
pub async fn eventually<R: Runtime>(rt: &R, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = rt.now() + Duration::from_secs(20);
    while !check() {
        assert!(rt.now() < deadline, "timed out waiting for {what}");
        rt.sleep_until(rt.now() + Duration::from_millis(10)).await;
    }
}

/// Instantiates `async fn $name<R: Runtime>(rt: R)` on tokio, smol and
/// async-std, each wrapped in [`bounded`].
#[macro_export]
macro_rules! on_all_runtimes {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn tokio() {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(super::server_runtime_support::bounded(
                    mailwire_tokio::Tokio,
                    super::$name(mailwire_tokio::Tokio),
                ));
            }
            #[test]
            fn smol() {
                smol::block_on(super::server_runtime_support::bounded(
                    mailwire_smol::Smol,
                    super::$name(mailwire_smol::Smol),
                ));
            }
            #[test]
            fn async_std() {
                async_std::task::block_on(super::server_runtime_support::bounded(
                    mailwire_async_std::AsyncStd,
                    super::$name(mailwire_async_std::AsyncStd),
                ));
            }
        }
    )*};
}
