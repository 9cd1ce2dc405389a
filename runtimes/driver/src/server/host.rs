//! [`SessionHost`]: a [`Session`]'s hooks run against a core
//! [`ServerConnection`] without any I/O — events in, answers out.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_lite::FutureExt;
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{
    AbortReason, AuthCheck, CloseKind, ServerConnection, ServerEvent, Token, TransactionEnd,
};

use super::body::{BodySender, Buffer};
use super::context::Context;
use super::error::{HookError, HookResult};
use super::hooks::{HookFuture, Lend, SessionFuture, call, notice};
use super::options::ServerOptions;
use super::session::{Session, SessionEnd, SessionFactory};
use super::verdict::Answer;

mod message;

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

/// One connection's [`Session`], hosted: it takes the connection's
/// [`ServerEvent`]s, runs the session's hooks (made by a
/// [`SessionFactory`]) and yields their [`Answer`]s, doing no I/O of its
/// own. mailwire's driver serves every connection with one; any other
/// driver of a [`ServerConnection`] (another runtime, a simulation, a
/// test) can run the same sessions with it.
///
/// It keeps the rules of the [`Session`] contract: hooks run one at a
/// time and in order, each owning the session value while it runs (a hook
/// whose decision expired keeps it, and the next hook waits for it);
/// the [`Context`] each hook sees is brought up to date from the
/// connection; message data goes into a buffer (delivered whole or
/// parsed, within the [`MemoryBudget`](super::MemoryBudget)) or through
/// a bounded queue to a streaming hook's [`BodyReader`](super::BodyReader);
/// every transaction that ends without a delivery reaches
/// [`Session::reset`], and [`Session::end`] comes last.
///
/// # The run loop
///
/// With `conn` the connection and `host` its host:
///
/// 1. **Events.** Hand every [`Action::Event`](mailwire_core::Action::Event)
///    from [`conn.poll_action()`](ServerConnection::poll_action) to
///    [`handle_event`](Self::handle_event), in order, as it comes (before
///    taking the next action). Most hooks answer at once: after a request
///    event ([`ServerEvent::token`] is `Some`), call
///    [`poll_answer`](Self::poll_answer) once and apply a ready answer
///    before going on with the actions; that keeps a pipelined burst of
///    commands in one pass.
/// 2. **Waiting.** While you wait for the socket and the connection's
///    timer, also poll [`poll_answer`](Self::poll_answer) with the same
///    task context: it registers the waker of every hook that runs, and
///    yields an answer when one is ready. Apply it (see [`Answer`]: time
///    first, then `decide` or `supply_secret`; [`Answer::apply`] does it)
///    and drain the actions again.
/// 3. **Back-pressure.** Read from the client only while
///    `conn.wants_read()` and [`has_room`](Self::has_room): a streaming
///    delivery's queue may be full. When it is, wait for
///    [`poll_room`](Self::poll_room) too.
/// 4. **The end.** Once the connection has closed (the core's `Close`
///    action), or you stop serving it (an [`Answer::Drop`], a lost
///    connection, a server stop), tell the host how if it cannot know
///    ([`set_end`](Self::set_end)), [`close`](Self::close) it (a message
///    in flight is cut off), close the socket, and await
///    [`end`](Self::end), bounded by a deadline of your choice.
///
/// A host is not `Sync`-shared: one task owns it, as it owns the
/// connection.
///
/// ```
/// use std::sync::Arc;
/// use std::task::{Context as TaskContext, Poll, Waker};
/// use std::time::Instant;
///
/// use mailwire_driver::core::Action;
/// use mailwire_driver::core::server::{ServerConnection, SessionInfo};
/// use mailwire_driver::server::{Context, HookResult, Mail, ServerOptions, Session, SessionHost};
///
/// struct Count(usize);
///
/// impl Session for Count {
///     type Message = Mail;
///     async fn deliver(&mut self, _: &Context, _: Mail) -> HookResult {
///         self.0 += 1;
///         Ok(())
///     }
/// }
///
/// let options = Arc::new(ServerOptions::new("mx.example.org"));
/// let now = Instant::now();
/// let mut conn = ServerConnection::new(options.config.clone(), SessionInfo::default(), now);
/// let mut host = SessionHost::new(Arc::new(|_: &Context| Count(0)), options);
/// // What the client sends, a write at a time.
/// let mut input = [
///     &b"EHLO client.example\r\n"[..],
///     b"MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
///     b"Hi\r\n.\r\nQUIT\r\n",
/// ]
/// .into_iter();
///
/// // The hooks here never wait, so a no-op waker will do; a real driver
/// // polls with its task's context and waits for the socket and timer.
/// let mut task = TaskContext::from_waker(Waker::noop());
/// let mut sent = Vec::new();
/// loop {
///     while let Some(action) = conn.poll_action() {
///         match action {
///             Action::Send(bytes) => sent.extend_from_slice(&bytes),
///             Action::Event(event) => host.handle_event(&conn, event),
///             _ => {}
///         }
///     }
///     if conn.is_closed() {
///         break;
///     }
///     if let Poll::Ready(answer) = host.poll_answer(&mut task) {
///         if answer.apply(&mut conn, now).is_break() {
///             break;
///         }
///     } else if conn.wants_read() && host.has_room() {
///         // A driver reads the socket here (and arms the core's timer).
///         let bytes = input.next().ok_or("the client has nothing more to say")?;
///         conn.handle_input(now, bytes)?;
///     }
/// }
/// let sent = String::from_utf8(sent)?;
/// assert!(sent.contains("250 2.0.0") && sent.ends_with("channel\r\n"), "{sent}");
/// host.close(mailwire_driver::core::server::AbortReason::PeerClosed);
/// futures_lite::future::block_on(host.end(std::future::pending::<()>()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SessionHost<F: SessionFactory> {
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
    /// Answers known without running a hook, in order.
    ready: VecDeque<Answer>,
    /// How the session ended, once known.
    end: Option<SessionEnd>,
}

impl<F: SessionFactory> std::fmt::Debug for SessionHost<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHost")
            .field("ctx", &self.ctx)
            .field("idle", &self.here.is_some())
            .field("pending", &self.pending.as_ref().map(|p| p.token))
            .field("streaming", &self.streaming.is_some())
            .field("ready", &self.ready)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl<F: SessionFactory> SessionHost<F> {
    /// A host for one connection, before its first event. The session is
    /// made by `factory` at the connection request; `options` gives the
    /// delivery settings (the `Received` header, the memory budget, the
    /// streaming queue; its `config` should be the connection's).
    #[must_use]
    pub fn new(factory: Arc<F>, options: Arc<ServerOptions>) -> SessionHost<F> {
        SessionHost {
            factory,
            options,
            ctx: Arc::new(Context::default()),
            here: None,
            busy: None,
            copies: Vec::new(),
            pending: None,
            streaming: None,
            buffer: None,
            ready: VecDeque::new(),
            end: None,
        }
    }

    /// An event from `conn` (taken from its
    /// [`poll_action`](ServerConnection::poll_action)), handed over in
    /// order. Requests start their hook (which may answer at once: poll
    /// [`poll_answer`](Self::poll_answer) next); message data goes to the
    /// delivery in progress; notices start [`Session::reset`] or record
    /// how the session ended. `conn` is read for the [`Context`] and the
    /// `Received` header.
    pub fn handle_event(&mut self, conn: &ServerConnection, event: ServerEvent) {
        match event {
            ServerEvent::ConnectRequest { token, session, .. } => {
                let mut ctx = Context::new(session.local, session.peer);
                ctx.tls = session.tls;
                self.ctx = Arc::new(ctx);
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

    /// The next answer for the connection, once a hook has one: poll it
    /// after each request event (the fast path: most hooks answer at
    /// once) and whenever the task is woken. Meanwhile it runs every hook
    /// in progress (the pending decision, a streaming delivery, resets
    /// and decisions nobody waits for any more), registering `cx`'s waker
    /// with them.
    ///
    /// `Pending` when no answer is ready (also when there is nothing to
    /// answer). After an [`Answer::Drop`] there are no more answers.
    pub fn poll_answer(&mut self, cx: &mut TaskContext<'_>) -> Poll<Answer> {
        if let Some(answer) = self.ready.pop_front() {
            return Poll::Ready(answer);
        }
        self.copies.retain_mut(|c| c.as_mut().poll(cx).is_pending());
        if let Some(busy) = self.busy.as_mut()
            && let Poll::Ready(session) = busy.as_mut().poll(cx)
        {
            self.busy = None;
            self.returned(session);
        }
        if let Some(p) = self.pending.as_mut()
            && let Poll::Ready((session, result)) = p.fut.as_mut().poll(cx)
        {
            let (token, secret) = (p.token, p.secret);
            self.pending = None;
            self.returned(session);
            return Poll::Ready(self.answer(token, secret, result));
        }
        if let Some(s) = self.streaming.as_mut()
            && let Some(fut) = s.fut.as_mut()
            && let Poll::Ready((session, result)) = fut.as_mut().poll(cx)
        {
            self.returned(session);
            if let Some(answer) = self.delivered(result) {
                return Poll::Ready(answer);
            }
        }
        Poll::Pending
    }

    /// Whether the client may be read now: `false` while a streaming
    /// delivery's queue is full (the hook has not read what came). Asks
    /// for no wake-up; see [`poll_room`](Self::poll_room).
    #[must_use]
    pub fn has_room(&self) -> bool {
        self.streaming.as_ref().is_none_or(|s| s.sender.has_room())
    }

    /// [`has_room`](Self::has_room) as a poll: `Ready` when the client may
    /// be read; otherwise `cx`'s waker is woken once the streaming hook
    /// has made room.
    pub fn poll_room(&mut self, cx: &mut TaskContext<'_>) -> Poll<()> {
        match &self.streaming {
            Some(s) => s.sender.poll_room(cx),
            None => Poll::Ready(()),
        }
    }

    /// How the session ended, when the driver knows it first: the
    /// connection was lost ([`SessionEnd::ConnectionLost`]), the server was
    /// stopped ([`SessionEnd::Killed`]). Ignored when the host already
    /// knows (from the core's [`ServerEvent::Closed`], or because it
    /// yielded [`Answer::Drop`]).
    pub fn set_end(&mut self, end: SessionEnd) {
        if self.end.is_none() {
            self.end = Some(end);
        }
    }

    /// How the session ended, as far as the host knows.
    #[must_use]
    pub fn session_end(&self) -> Option<&SessionEnd> {
        self.end.as_ref()
    }

    /// No more events will come: a message in flight is cut off (a
    /// streaming hook's read fails, as for `reason`), and the hook
    /// deciding a request is left to finish and give the session back.
    /// Call it as soon as you stop serving the connection (before a slow
    /// close of the socket); [`end`](Self::end) calls it too.
    pub fn close(&mut self, reason: AbortReason) {
        self.abort(Some(reason));
        if let Some(p) = self.pending.take() {
            self.orphan(p.fut);
        }
        self.ready.clear();
    }

    /// The last step: gets the session back from the hooks that still
    /// hold it and runs [`Session::end`] (with how the session ended:
    /// [`SessionEnd::Closed`] with the core's reason, or what
    /// [`set_end`](Self::set_end) said; a peer that closed when nothing
    /// is known), together with the hooks still running on copies of a
    /// shared session. Completes when they are done or when `deadline`
    /// completes, whichever comes first (what is left is dropped).
    pub async fn end(mut self, deadline: impl Future<Output = ()>) {
        self.close(AbortReason::SessionClosed);
        let end = self
            .end
            .take()
            .unwrap_or_else(|| SessionEnd::Closed(CloseKind::PeerClosed.into()));
        let copies = std::mem::take(&mut self.copies);
        let last = notice!(self.lend(), self.ctx.clone(), |s, ctx| s
            .end(&ctx, end)
            .await);
        let copies = async {
            for copy in copies {
                copy.await;
            }
        };
        async {
            futures_lite::future::zip(copies, last).await;
        }
        .or(deadline)
        .await;
    }

    // -----------------------------------------------------------------

    /// The answer for a request, noting a drop.
    fn answer(
        &mut self,
        token: Token,
        secret: bool,
        result: HookResult<Option<StoredSecret>>,
    ) -> Answer {
        let answer = Answer::from_hook(token, secret, result);
        if matches!(answer, Answer::Drop) {
            self.end = Some(SessionEnd::Dropped);
        }
        answer
    }

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
}
