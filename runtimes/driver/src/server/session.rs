//! The per-connection session loop: the core's actions out, the peer's
//! bytes, the timer and the handler's hooks in.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::FutureExt;
use mailwire_core::message::parse_message;
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{
    AbortReason, AuthCheck, Envelope, ServerConnection, ServerEvent, SessionInfo, Token,
};
use mailwire_core::{Action, TlsInfo};

use super::body::{BodySender, Reservation, body_channel};
use super::handler::{DeliveryMode, Handler, HookError, HookResult, Mail, Session};
use super::options::ServerOptions;
use super::signal::{Listener, Signal};
use super::verdict::{HookFuture, catching, decide, received, session_of};
use crate::io::{Input, Io, feed};
use crate::{Runtime, Transport};

type Orphan = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long hooks still running when a session ends (an aborted streaming
/// delivery reading its error, an expired decision) may take to finish.
const ORPHAN_GRACE: Duration = Duration::from_secs(5);

/// The signals a session watches.
#[derive(Debug, Clone)]
pub(crate) struct Signals {
    /// Graceful stop: `421` at the next command boundary.
    pub(crate) shutdown: Arc<Signal>,
    /// Hard stop: drop the connection now.
    pub(crate) kill: Arc<Signal>,
}

impl Signals {
    pub(crate) fn never() -> Signals {
        Signals {
            shutdown: Signal::new(),
            kill: Signal::new(),
        }
    }
}

/// A decision being worked out by a hook.
struct Pending {
    token: Token,
    secret: bool,
    fut: HookFuture,
}

/// A streaming delivery in progress.
struct Streaming {
    sender: BodySender,
    fut: Option<HookFuture>,
    result: Option<HookResult<Option<StoredSecret>>>,
    token: Option<Token>,
}

/// A buffered message being received.
struct Buffer {
    data: Vec<u8>,
    reservation: Reservation,
    over_budget: bool,
}

struct Loop<H> {
    handler: Arc<H>,
    /// The session facts as hooks last saw them (rebuilt when HELO, TLS or
    /// AUTH changed them).
    session: Option<Arc<Session>>,
    options: Arc<ServerOptions>,
    pending: Option<Pending>,
    streaming: Option<Streaming>,
    buffer: Option<Buffer>,
    orphans: Vec<Orphan>,
}

enum Wake {
    Input(Input),
    Timer,
    Hook(Token, bool, HookResult<Option<StoredSecret>>),
    Delivered(HookResult<Option<StoredSecret>>),
    Shutdown,
    Kill,
    Room,
}

/// Serves one connection to its end. `local`/`peer` are the socket
/// addresses when known.
pub(crate) async fn run_session<S, R, H>(
    stream: S,
    runtime: R,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    handler: Arc<H>,
    options: Arc<ServerOptions>,
    signals: Signals,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
    H: Handler,
{
    let mut io = Io::new(stream, runtime.clone(), options.write_stall);
    let mut info = SessionInfo::new(local, peer);
    if options.implicit_tls {
        match handshake(&mut io, &options).await {
            Some(tls) => info = info.with_tls(tls),
            None => return,
        }
    }
    let mut conn = ServerConnection::new(options.config.clone(), info, runtime.now());
    let mut lp = Loop {
        handler,
        session: None,
        options: options.clone(),
        pending: None,
        streaming: None,
        buffer: None,
        orphans: Vec::new(),
    };
    let listeners = (signals.shutdown.listen(), signals.kill.listen());
    let mut shutdown_seen = false;
    let mut closed = false;
    'session: loop {
        while let Some(action) = conn.poll_action() {
            match action {
                Action::Send(bytes) if io.write_all(&bytes).await.is_err() => break 'session,
                Action::Send(_) => {}
                Action::StartTls => {
                    if io.flush().await.is_err() {
                        break 'session;
                    }
                    let deadline = conn.poll_timeout();
                    let Some(tls) = handshake_until(&mut io, &options, deadline).await else {
                        break 'session;
                    };
                    if conn.tls_established(runtime.now(), tls).is_err() {
                        break 'session;
                    }
                }
                Action::Event(event) => {
                    lp.on_event(&mut conn, event);
                    // Most hooks answer at once: decide now, without a
                    // trip through the wait below.
                    if let Some(p) = lp.pending.as_mut()
                        && let Some(result) = futures_lite::future::poll_once(p.fut.as_mut()).await
                    {
                        let (token, secret) = (p.token, p.secret);
                        lp.pending = None;
                        conn.handle_timeout(runtime.now());
                        decide(&mut conn, token, secret, result);
                    }
                }
                Action::Close => {
                    io.close(options.close_linger).await;
                    closed = true;
                }
                _ => {}
            }
        }
        if closed || conn.is_closed() {
            break;
        }
        let wake = lp.wait(&mut io, &conn, &listeners, shutdown_seen).await;
        let now = runtime.now();
        match wake {
            Wake::Input(input) => {
                if feed(&mut conn, &io, &input).is_err() {
                    break;
                }
            }
            Wake::Timer => conn.handle_timeout(now),
            Wake::Hook(token, secret, result) => {
                conn.handle_timeout(now);
                decide(&mut conn, token, secret, result);
            }
            Wake::Delivered(result) => lp.delivered(&mut conn, now, result),
            Wake::Shutdown => {
                shutdown_seen = true;
                conn.shutdown(now);
            }
            Wake::Kill => break,
            Wake::Room => {}
        }
    }
    lp.finish(if signals.kill.is_raised() {
        Some(AbortReason::Shutdown)
    } else {
        None
    });
    let deadline = runtime.now() + ORPHAN_GRACE;
    let orphans = std::mem::take(&mut lp.orphans);
    for orphan in orphans {
        let sleep = runtime.sleep_until(deadline);
        orphan.or(sleep).or(listeners.1.wait()).await;
    }
    if !closed && !signals.kill.is_raised() {
        io.close(options.close_linger).await;
    }
}

/// The implicit-TLS handshake at the start of a session.
async fn handshake<S, R>(io: &mut Io<S, R>, options: &ServerOptions) -> Option<TlsInfo>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    let deadline = io.runtime.now() + options.config.timeouts.tls_handshake;
    handshake_until(io, options, Some(deadline)).await
}

async fn handshake_until<S, R>(
    io: &mut Io<S, R>,
    options: &ServerOptions,
    deadline: Option<Instant>,
) -> Option<TlsInfo>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    let acceptor = options.tls.as_ref()?.acceptor();
    let deadline =
        deadline.unwrap_or_else(|| io.runtime.now() + options.config.timeouts.tls_handshake);
    let sleep = io.runtime.sleep_until(deadline);
    let transport: &mut Transport<S> = &mut io.transport;
    transport
        .accept_tls(&acceptor)
        .or(async {
            sleep.await;
            Err(std::io::Error::from(std::io::ErrorKind::TimedOut))
        })
        .await
        .ok()
}

impl<H: Handler> Loop<H> {
    fn request<F>(&mut self, token: Token, secret: bool, fut: F)
    where
        F: Future<Output = HookResult<Option<StoredSecret>>> + Send + 'static,
    {
        if let Some(old) = self.pending.take() {
            self.orphan(old.fut);
        }
        self.pending = Some(Pending {
            token,
            secret,
            fut: catching(fut),
        });
    }

    fn orphan(&mut self, fut: HookFuture) {
        self.orphans.push(Box::pin(async move {
            let _ = fut.await;
        }));
    }

    /// The session facts for a hook, shared while they do not change.
    fn session(&mut self, conn: &ServerConnection) -> Arc<Session> {
        if let Some(cached) = &self.session
            && cached.helo.as_ref() == conn.helo_domain()
            && cached.tls.is_some() == conn.is_tls()
            && cached.authenticated.as_deref() == conn.authenticated().map(|a| a.username.as_str())
        {
            return cached.clone();
        }
        let fresh = Arc::new(session_of(conn));
        self.session = Some(fresh.clone());
        fresh
    }

    fn on_event(&mut self, conn: &mut ServerConnection, event: ServerEvent) {
        let h = self.handler.clone();
        let session = self.session(conn);
        match event {
            ServerEvent::ConnectRequest { token, .. } => self.request(token, false, async move {
                h.validate_host(&session).await.map(|()| None)
            }),
            ServerEvent::HeloRequest {
                token,
                domain,
                extended,
                ..
            } => self.request(token, false, async move {
                h.helo(&session, &domain, extended).await.map(|()| None)
            }),
            ServerEvent::MailRequest {
                token,
                from,
                params,
                ..
            } => self.request(token, false, async move {
                h.validate_sender(&session, &from, &params)
                    .await
                    .map(|()| None)
            }),
            ServerEvent::RcptRequest {
                token, to, params, ..
            } => self.request(token, false, async move {
                h.validate_recipient(&session, &to, &params)
                    .await
                    .map(|()| None)
            }),
            ServerEvent::AuthRequest {
                token,
                mechanism,
                check,
                ..
            } => {
                let secret = matches!(check, AuthCheck::NeedSecret { .. });
                self.request(token, secret, async move {
                    h.authenticate(&session, mechanism, &check).await
                });
            }
            ServerEvent::MessageStarted { envelope, .. } => self.start_message(conn, envelope),
            ServerEvent::MessageData(chunk) => self.data(chunk),
            ServerEvent::MessageRequest {
                token, envelope, ..
            } => self.end_message(conn, token, envelope),
            ServerEvent::MessageAborted { reason, .. } => self.abort(Some(reason)),
            ServerEvent::DecisionExpired { token, .. } => {
                if self.pending.as_ref().is_some_and(|p| p.token == token)
                    && let Some(p) = self.pending.take()
                {
                    self.orphan(p.fut);
                }
                if self
                    .streaming
                    .as_ref()
                    .is_some_and(|s| s.token == Some(token))
                {
                    self.abort(Some(AbortReason::Timeout));
                }
            }
            _ => {}
        }
    }

    fn start_message(&mut self, conn: &ServerConnection, envelope: Envelope) {
        self.abort(None);
        let header = if self.options.add_received {
            received(conn, &envelope, &self.options)
        } else {
            Vec::new()
        };
        match self.options.delivery {
            DeliveryMode::Streaming => {
                let (sender, reader) = body_channel(self.options.body_queue);
                sender.push(Bytes::from(header));
                let h = self.handler.clone();
                let session = self.session(conn);
                let fut = catching(async move {
                    h.deliver_stream(&session, &envelope, reader)
                        .await
                        .map(|()| None)
                });
                self.streaming = Some(Streaming {
                    sender,
                    fut: Some(fut),
                    result: None,
                    token: None,
                });
            }
            DeliveryMode::Buffered | DeliveryMode::Parsed => {
                let mut buffer = Buffer {
                    data: Vec::new(),
                    reservation: Reservation::new(self.options.memory_budget.clone()),
                    over_budget: false,
                };
                buffer.push(&header);
                self.buffer = Some(buffer);
            }
        }
    }

    fn data(&mut self, chunk: Bytes) {
        if let Some(s) = &self.streaming {
            s.sender.push(chunk);
        } else if let Some(b) = &mut self.buffer {
            b.push(&chunk);
        }
    }

    fn end_message(&mut self, conn: &mut ServerConnection, token: Token, envelope: Envelope) {
        if let Some(mut s) = self.streaming.take() {
            s.sender.complete();
            s.token = Some(token);
            match s.result.take() {
                Some(result) => decide(conn, token, false, result),
                None => self.streaming = Some(s),
            }
            return;
        }
        let Some(buffer) = self.buffer.take() else {
            decide(conn, token, false, Err(HookError::failed("no message")));
            return;
        };
        if buffer.over_budget {
            let whole = envelope.size > buffer.reservation.limit();
            let refusal = if whole {
                HookError::refuse(552, "5.3.4", "Message too big for the server's memory")
            } else {
                HookError::refuse(452, "4.3.1", "Insufficient system storage, try later")
            };
            decide(conn, token, false, Err(refusal));
            return;
        }
        let Buffer {
            data, reservation, ..
        } = buffer;
        let mail = Mail {
            envelope,
            data,
            session: session_of(conn),
        };
        let h = self.handler.clone();
        match self.options.delivery {
            DeliveryMode::Parsed => self.request(token, false, async move {
                let _hold = reservation;
                let message = parse_message(&mail.data);
                h.deliver_parsed(&mail, message.as_ref())
                    .await
                    .map(|()| None)
            }),
            _ => self.request(token, false, async move {
                let _hold = reservation;
                h.deliver(mail).await.map(|()| None)
            }),
        }
    }

    /// The message in progress was cut off (or a new one starts).
    fn abort(&mut self, reason: Option<AbortReason>) {
        self.buffer = None;
        if let Some(s) = self.streaming.take() {
            s.sender.abort(reason);
            if let Some(fut) = s.fut {
                self.orphan(fut);
            }
        }
    }

    /// The streaming hook finished.
    fn delivered(
        &mut self,
        conn: &mut ServerConnection,
        now: Instant,
        result: HookResult<Option<StoredSecret>>,
    ) {
        let Some(s) = self.streaming.as_mut() else {
            return;
        };
        s.fut = None;
        match s.token {
            Some(token) => {
                self.streaming = None;
                conn.handle_timeout(now);
                decide(conn, token, false, result);
            }
            None => s.result = Some(result),
        }
    }

    /// The session is over: whatever is in flight is cut off.
    fn finish(&mut self, reason: Option<AbortReason>) {
        self.abort(reason.or(Some(AbortReason::PeerClosed)));
        if let Some(p) = self.pending.take() {
            self.orphan(p.fut);
        }
    }

    /// Waits for the next thing to happen.
    async fn wait<S, R>(
        &mut self,
        io: &mut Io<S, R>,
        conn: &ServerConnection,
        listeners: &(Listener, Listener),
        shutdown_seen: bool,
    ) -> Wake
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        R: Runtime,
    {
        let deadline = conn.poll_timeout();
        let room = self.streaming.as_ref().is_none_or(|s| s.sender.has_room());
        let reading = conn.wants_read() && room;
        let mut read = pin!(async {
            if reading {
                io.read(deadline).await
            } else if let Some(deadline) = deadline {
                io.sleep(deadline).await;
                Input::Timeout
            } else {
                std::future::pending().await
            }
        });
        poll_fn(|cx| {
            if listeners.1.poll(cx).is_ready() {
                return Poll::Ready(Wake::Kill);
            }
            if !shutdown_seen && listeners.0.poll(cx).is_ready() {
                return Poll::Ready(Wake::Shutdown);
            }
            self.orphans
                .retain_mut(|o| o.as_mut().poll(cx).is_pending());
            if let Some(p) = self.pending.as_mut()
                && let Poll::Ready(result) = p.fut.as_mut().poll(cx)
            {
                let (token, secret) = (p.token, p.secret);
                self.pending = None;
                return Poll::Ready(Wake::Hook(token, secret, result));
            }
            if let Some(s) = self.streaming.as_mut() {
                if let Some(fut) = s.fut.as_mut()
                    && let Poll::Ready(result) = fut.as_mut().poll(cx)
                {
                    return Poll::Ready(Wake::Delivered(result));
                }
                if !room && conn.wants_read() && s.sender.poll_room(cx).is_ready() {
                    return Poll::Ready(Wake::Room);
                }
            }
            match read.as_mut().poll(cx) {
                Poll::Ready(Input::Timeout) => Poll::Ready(Wake::Timer),
                Poll::Ready(input) => Poll::Ready(Wake::Input(input)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

impl Buffer {
    fn push(&mut self, bytes: &[u8]) {
        if self.over_budget || bytes.is_empty() {
            return;
        }
        if self.reservation.grow(bytes.len() as u64) {
            self.data.extend_from_slice(bytes);
        } else {
            self.over_budget = true;
            self.data = Vec::new();
            self.reservation.clear();
        }
    }
}
