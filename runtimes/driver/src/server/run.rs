//! The per-connection session loop: the core's actions out, the peer's
//! bytes, the timer and the session's hooks in.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::FutureExt;
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{
    AbortReason, AuthCheck, Envelope, ServerConnection, ServerEvent, SessionInfo, Token,
    TransactionEnd,
};
use mailwire_core::{Action, TlsInfo};

use super::body::{BodySender, Reservation, body_channel};
use super::context::Context;
use super::delivery::sealed::{Kind, Sealed};
use super::error::{HookError, HookResult};
use super::hooks::{HookFuture, Lend, SessionFuture, call, notice};
use super::options::ServerOptions;
use super::session::{Session, SessionEnd, SessionFactory};
use super::signal::{Listener, Signal};
use super::verdict::{Decided, decide, received};
use crate::io::{Input, Io, feed};
use crate::{Runtime, Transport};

/// How long a hook still holding the session when the connection ends
/// (an aborted streaming delivery reading its error, an expired decision)
/// may take before [`Session::end`], and how long `end` itself may take.
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

/// A decision being worked out by a hook (which holds the session).
struct Pending<S> {
    token: Token,
    secret: bool,
    fut: HookFuture<S, Option<StoredSecret>>,
}

/// A streaming delivery in progress (its hook holds the session).
struct Streaming<S> {
    sender: BodySender,
    fut: Option<HookFuture<S, Option<StoredSecret>>>,
    result: Option<HookResult<Option<StoredSecret>>>,
    token: Option<Token>,
}

/// A whole message being received.
struct Buffer {
    data: Vec<u8>,
    reservation: Reservation,
    over_budget: bool,
}

/// Where the session value is and what its hooks are doing.
struct Loop<F: SessionFactory> {
    factory: Arc<F>,
    options: Arc<ServerOptions>,
    /// What hooks see, brought up to date before each hook.
    ctx: Arc<Context>,
    /// The session, when no hook holds it.
    here: Option<F::Session>,
    /// A hook that holds the session without anyone waiting for its
    /// answer (a notice, an expired decision, an aborted stream); it gives
    /// the session back when done.
    busy: Option<SessionFuture<F::Session>>,
    /// Hooks running on copies of a shared session (see
    /// [`Session::share`]) that nobody waits for.
    copies: Vec<SessionFuture<F::Session>>,
    pending: Option<Pending<F::Session>>,
    streaming: Option<Streaming<F::Session>>,
    buffer: Option<Buffer>,
    /// How the session ended, once known.
    end: Option<SessionEnd>,
}

enum Wake {
    Input(Input),
    Timer,
    Hook(Token, bool, HookResult<Option<StoredSecret>>),
    Delivered(HookResult<Option<StoredSecret>>),
    Shutdown,
    Kill,
    Room,
    Returned,
}

/// Serves one connection to its end. `local`/`peer` are the socket
/// addresses when known.
pub(crate) async fn run_session<St, R, F>(
    stream: St,
    runtime: R,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    factory: Arc<F>,
    options: Arc<ServerOptions>,
    signals: Signals,
) where
    St: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
    F: SessionFactory,
{
    let mut io = Io::new(stream, runtime.clone(), options.write_stall);
    let mut info = SessionInfo::new(local, peer);
    if options.implicit_tls {
        match handshake(&mut io, &options).await {
            Some(tls) => info = info.with_tls(tls),
            None => return,
        }
    }
    let mut ctx = Context::new(local, peer);
    ctx.tls = info.tls.clone();
    let mut conn = ServerConnection::new(options.config.clone(), info, runtime.now());
    let mut lp = Loop {
        factory,
        options: options.clone(),
        ctx: Arc::new(ctx),
        here: None,
        busy: None,
        copies: Vec::new(),
        pending: None,
        streaming: None,
        buffer: None,
        end: None,
    };
    let listeners = (signals.shutdown.listen(), signals.kill.listen());
    let mut shutdown_seen = false;
    let mut closed = false;
    'session: loop {
        while let Some(action) = conn.poll_action() {
            match action {
                Action::Send(bytes) if io.write_all(&bytes).await.is_err() => {
                    lp.lost();
                    break 'session;
                }
                Action::Send(_) => {}
                Action::StartTls => {
                    if io.flush().await.is_err() {
                        lp.lost();
                        break 'session;
                    }
                    let deadline = conn.poll_timeout();
                    let Some(tls) = handshake_until(&mut io, &options, deadline).await else {
                        lp.lost();
                        break 'session;
                    };
                    if conn.tls_established(runtime.now(), tls).is_err() {
                        lp.lost();
                        break 'session;
                    }
                }
                Action::Event(event) => {
                    lp.on_event(&mut conn, event);
                    // Most hooks answer at once: decide now, without a
                    // trip through the wait below.
                    if let Some(p) = lp.pending.as_mut()
                        && let Some((session, result)) =
                            futures_lite::future::poll_once(p.fut.as_mut()).await
                    {
                        let (token, secret) = (p.token, p.secret);
                        lp.pending = None;
                        lp.returned(session);
                        conn.handle_timeout(runtime.now());
                        if decide(&mut conn, token, secret, result) == Decided::Drop {
                            lp.end = Some(SessionEnd::Dropped);
                            break 'session;
                        }
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
                    lp.lost();
                    break;
                }
            }
            Wake::Timer => conn.handle_timeout(now),
            Wake::Hook(token, secret, result) => {
                conn.handle_timeout(now);
                if decide(&mut conn, token, secret, result) == Decided::Drop {
                    lp.end = Some(SessionEnd::Dropped);
                    break;
                }
            }
            Wake::Delivered(result) => {
                if lp.delivered(&mut conn, now, result) == Decided::Drop {
                    lp.end = Some(SessionEnd::Dropped);
                    break;
                }
            }
            Wake::Shutdown => {
                shutdown_seen = true;
                conn.shutdown(now);
            }
            Wake::Kill => {
                lp.end = Some(SessionEnd::Killed);
                break;
            }
            Wake::Room | Wake::Returned => {}
        }
    }
    let dropped = lp.end == Some(SessionEnd::Dropped);
    lp.cut_off(if signals.kill.is_raised() {
        AbortReason::Shutdown
    } else {
        AbortReason::PeerClosed
    });
    if dropped {
        // On purpose: the connection goes away without a word.
        drop(io);
    } else if !closed && !signals.kill.is_raised() {
        io.close(options.close_linger).await;
    }
    let deadline = runtime.now() + ORPHAN_GRACE;
    lp.end_session(&runtime, deadline, &listeners.1).await;
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

impl<F: SessionFactory> Loop<F> {
    /// Takes the session for the next hook: here, or once the hook that
    /// holds it is done.
    fn lend(&mut self) -> Lend<F::Session> {
        if let Some(copy) = self.here.as_ref().and_then(Session::share) {
            return Lend::Here(copy);
        }
        if self.here.is_none()
            && self.busy.is_none()
            && let Some(p) = self.pending.take()
        {
            // The core dropped that request (the session is closing): its
            // hook still holds the session.
            self.orphan(p.fut);
        }
        match (self.here.take(), self.busy.take()) {
            (Some(s), _) => Lend::Here(s),
            (None, Some(busy)) => Lend::Wait(busy),
            (None, None) => Lend::Gone,
        }
    }

    /// A hook gave the session back.
    fn returned(&mut self, session: Option<F::Session>) {
        if session.is_some() {
            self.here = session;
        }
    }

    /// Waits for `fut`, a hook deciding the request `token`.
    fn request(
        &mut self,
        token: Token,
        secret: bool,
        fut: HookFuture<F::Session, Option<StoredSecret>>,
    ) {
        if let Some(old) = self.pending.take() {
            self.orphan(old.fut);
        }
        self.pending = Some(Pending { token, secret, fut });
    }

    /// Keeps a hook running without waiting for its answer.
    fn orphan(&mut self, fut: HookFuture<F::Session, Option<StoredSecret>>) {
        self.background(Box::pin(async move { fut.await.0 }));
    }

    /// Runs a hook nobody waits for: it holds the session (which comes
    /// back through `busy`), or a copy of a shared one.
    fn background(&mut self, fut: SessionFuture<F::Session>) {
        if self.here.is_some() {
            // The session is here: `fut` runs on a copy.
            self.copies.push(fut);
            return;
        }
        let previous = self.busy.take();
        self.busy = Some(Box::pin(async move {
            match fut.await {
                Some(s) => Some(s),
                None => match previous {
                    Some(p) => p.await,
                    None => None,
                },
            }
        }));
    }

    /// The context, brought up to date for a hook.
    fn context(&mut self, conn: &ServerConnection) -> Arc<Context> {
        if !self.ctx.is_current(conn) {
            Arc::make_mut(&mut self.ctx).update(conn);
        }
        self.ctx.clone()
    }

    fn on_event(&mut self, conn: &mut ServerConnection, event: ServerEvent) {
        match event {
            ServerEvent::ConnectRequest { token, .. } => {
                let factory = self.factory.clone();
                let ctx = self.ctx.clone();
                let fut = Box::pin(async move {
                    match std::panic::AssertUnwindSafe(factory.new_session(&ctx))
                        .catch_unwind()
                        .await
                    {
                        Ok(Ok(session)) => (Some(session), Ok(None)),
                        Ok(Err(e)) => (None, Err(e)),
                        Err(_) => (None, Err(HookError::failed("session factory panicked"))),
                    }
                });
                self.pending = Some(Pending {
                    token,
                    secret: false,
                    fut,
                });
            }
            ServerEvent::HeloRequest {
                token,
                domain,
                extended,
                ..
            } => {
                let fut = call!(self.lend(), self.context(conn), |s, ctx| {
                    s.helo(&ctx, &domain, extended).await.map(|()| None)
                });
                self.request(token, false, fut);
            }
            ServerEvent::MailRequest {
                token,
                from,
                params,
                ..
            } => {
                let fut = call!(self.lend(), self.context(conn), |s, ctx| {
                    s.mail(&ctx, &from, &params).await.map(|()| None)
                });
                self.request(token, false, fut);
            }
            ServerEvent::RcptRequest {
                token, to, params, ..
            } => {
                let fut = call!(self.lend(), self.context(conn), |s, ctx| {
                    s.rcpt(&ctx, &to, &params).await.map(|()| None)
                });
                self.request(token, false, fut);
            }
            ServerEvent::AuthRequest {
                token,
                mechanism,
                check,
                ..
            } => {
                let secret = matches!(check, AuthCheck::NeedSecret { .. });
                let fut = call!(self.lend(), self.context(conn), |s, ctx| {
                    s.auth(&ctx, mechanism, &check).await
                });
                self.request(token, secret, fut);
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
            ServerEvent::TransactionEnded {
                end, transaction, ..
            } => {
                let mut ended = (*self.context(conn)).clone();
                ended.transaction = Some(transaction);
                Arc::make_mut(&mut self.ctx).transaction = None;
                if end != TransactionEnd::Delivered {
                    let reset = notice!(self.lend(), Arc::new(ended), |s, ctx| {
                        s.reset(&ctx, end).await
                    });
                    self.background(reset);
                }
            }
            ServerEvent::Closed(reason) => self.end = Some(SessionEnd::Closed(reason)),
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
        match <F::Session as Session>::Message::KIND {
            Kind::Stream => {
                let (sender, reader) = body_channel(self.options.body_queue);
                sender.push(Bytes::from(header));
                let Some(message) = <F::Session as Session>::Message::stream(envelope, reader)
                else {
                    return;
                };
                let fut = call!(self.lend(), self.context(conn), |s, ctx| {
                    s.deliver(&ctx, message).await.map(|()| None)
                });
                self.streaming = Some(Streaming {
                    sender,
                    fut: Some(fut),
                    result: None,
                    token: None,
                });
            }
            Kind::Whole | Kind::Parsed => {
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
                Some(result) => {
                    if decide(conn, token, false, result) == Decided::Drop {
                        self.end = Some(SessionEnd::Dropped);
                    }
                }
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
        let Some(message) = <F::Session as Session>::Message::whole(envelope, data) else {
            decide(conn, token, false, Err(HookError::failed("no message")));
            return;
        };
        let fut = call!(self.lend(), self.context(conn), |s, ctx| {
            let _hold = reservation;
            s.deliver(&ctx, message).await.map(|()| None)
        });
        self.request(token, false, fut);
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
    ) -> Decided {
        let Some(s) = self.streaming.as_mut() else {
            return Decided::Done;
        };
        s.fut = None;
        if matches!(result, Err(HookError::Disconnect)) {
            // Dropped in the middle of the data: nothing is delivered.
            self.abort(Some(AbortReason::SessionClosed));
            return Decided::Drop;
        }
        match s.token {
            Some(token) => {
                self.streaming = None;
                conn.handle_timeout(now);
                decide(conn, token, false, result)
            }
            None => {
                s.result = Some(result);
                Decided::Done
            }
        }
    }

    /// Writing or reading failed.
    fn lost(&mut self) {
        if self.end.is_none() {
            self.end = Some(SessionEnd::ConnectionLost);
        }
    }

    /// The loop is over: whatever message is in flight is cut off, and
    /// the hooks that hold the session are left to give it back.
    fn cut_off(&mut self, reason: AbortReason) {
        self.abort(Some(reason));
        if let Some(p) = self.pending.take() {
            self.orphan(p.fut);
        }
    }

    /// Gets the session back (within the grace) and calls its last hook.
    async fn end_session<R: Runtime>(&mut self, runtime: &R, deadline: Instant, kill: &Listener) {
        let end = self.end.unwrap_or(SessionEnd::Closed(
            mailwire_core::server::CloseReason::PeerClosed,
        ));
        let copies = std::mem::take(&mut self.copies);
        let last = notice!(self.lend(), self.ctx.clone(), |s, ctx| s
            .end(&ctx, end)
            .await);
        let sleep = runtime.sleep_until(deadline);
        let copies = async {
            for copy in copies {
                copy.await;
            }
        };
        async {
            futures_lite::future::zip(copies, last).await;
        }
        .or(sleep)
        .or(kill.wait())
        .await;
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
            self.copies.retain_mut(|c| c.as_mut().poll(cx).is_pending());
            if let Some(busy) = self.busy.as_mut()
                && let Poll::Ready(session) = busy.as_mut().poll(cx)
            {
                self.busy = None;
                self.returned(session);
                return Poll::Ready(Wake::Returned);
            }
            if let Some(p) = self.pending.as_mut()
                && let Poll::Ready((session, result)) = p.fut.as_mut().poll(cx)
            {
                let (token, secret) = (p.token, p.secret);
                self.pending = None;
                self.returned(session);
                return Poll::Ready(Wake::Hook(token, secret, result));
            }
            if let Some(s) = self.streaming.as_mut() {
                if let Some(fut) = s.fut.as_mut()
                    && let Poll::Ready((session, result)) = fut.as_mut().poll(cx)
                {
                    self.here = session.or(self.here.take());
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
