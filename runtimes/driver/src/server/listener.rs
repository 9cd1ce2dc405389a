//! [`Server`]: bind, accept (with connection limits and back-off), spawn
//! sessions, stop.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::FutureExt;

use super::handler::{self, Handler};
use super::options::ServerOptions;
use super::proxy::read_header;
use super::run::{Signals, run_session};
use super::session::SessionFactory;
use super::signal::Signal;
use crate::Runtime;
use crate::io::{Io, tls_within};
use mailwire_core::server::replies;

/// Back-off after a failed accept (EMFILE, ENFILE, ENOBUFS, …): doubled
/// from the first value up to the second, reset by a successful accept.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(1));

/// A configured server, not yet listening: options and a
/// [`SessionFactory`] (one [`Session`](super::Session) per connection), or
/// a shared [`Handler`] through [`Server::with_handler`].
///
/// ```
/// # async fn demo<R: mailwire_driver::Runtime>(runtime: R) -> std::io::Result<()> {
/// use mailwire_driver::server::{Context, HookResult, Mail, Server, ServerOptions, Session};
///
/// #[derive(Default)]
/// struct Count(u32);
/// impl Session for Count {
///     type Message = Mail;
///     async fn deliver(&mut self, _: &Context, _: Mail) -> HookResult {
///         self.0 += 1;
///         Ok(())
///     }
/// }
///
/// let server = Server::new(ServerOptions::new("mx.example.org"), |_: &Context| Count::default());
/// let running = server.bind(runtime, "127.0.0.1:0".parse().unwrap()).await?;
/// println!("listening on {}", running.local_addr());
/// running.stop(std::time::Duration::from_secs(5)).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Server<F> {
    options: Arc<ServerOptions>,
    factory: Arc<F>,
}

impl<H: Handler> Server<handler::Shared<H>> {
    /// A server whose every session shares one [`Handler`] (tcllib smtpd's
    /// shape).
    pub fn with_handler(options: ServerOptions, handler: H) -> Server<handler::Shared<H>> {
        Server::new(options, handler::Shared::new(handler))
    }
}

impl<F: SessionFactory> Server<F> {
    /// A server with these options, making its sessions with `factory`.
    pub fn new(options: ServerOptions, factory: F) -> Server<F> {
        Server::with_shared(Arc::new(options), Arc::new(factory))
    }

    /// A server sharing its options and factory with others.
    pub fn with_shared(options: Arc<ServerOptions>, factory: Arc<F>) -> Server<F> {
        Server { options, factory }
    }

    /// Binds to `addr` (port 0 picks a free port) and starts accepting on
    /// `runtime` (the accept loop is spawned). Any number of servers may
    /// run in one process.
    ///
    /// # Errors
    ///
    /// Binding failed, or the options offer TLS (STARTTLS or implicit)
    /// without a certificate (`InvalidInput`).
    pub async fn bind<R: Runtime>(
        self,
        runtime: R,
        addr: SocketAddr,
    ) -> io::Result<RunningServer<R>> {
        self.check_tls()?;
        let listener = runtime.bind(addr).await?;
        self.listen(runtime, listener)
    }

    /// Starts accepting on a listener bound elsewhere (with options of
    /// your choosing; more listeners, e.g. other threads' handles on the
    /// same socket, can join with [`RunningServer::add_listener`]). The
    /// accept loop is spawned on `runtime`.
    ///
    /// # Errors
    ///
    /// The listener's address cannot be read, or the options offer TLS
    /// without a certificate (`InvalidInput`).
    pub fn listen<R: Runtime>(
        self,
        runtime: R,
        listener: R::Listener,
    ) -> io::Result<RunningServer<R>> {
        self.check_tls()?;
        let local_addr = R::local_addr(&listener)?;
        let shared = Arc::new(Shared {
            stop: Signal::new(),
            listener_closed: Signal::new(),
            accepting: AtomicUsize::new(0),
            signals: Signals {
                shutdown: Signal::new(),
                kill: Signal::new(),
            },
            counts: Mutex::new(Counts::default()),
        });
        let (factory, options, for_loops) = (self.factory, self.options, shared.clone());
        let start: StartLoop<R> = Arc::new(move |runtime: R, listener: R::Listener| {
            for_loops.begin_accepting();
            let task = accept_loop(
                listener,
                runtime.clone(),
                factory.clone(),
                options.clone(),
                for_loops.clone(),
            );
            runtime.spawn(task);
        });
        start(runtime.clone(), listener);
        Ok(RunningServer {
            local_addr,
            runtime,
            shared,
            start,
        })
    }

    fn check_tls(&self) -> io::Result<()> {
        let wants_tls = self.options.implicit_tls || self.options.config.extensions.starttls;
        if wants_tls && self.options.tls.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TLS is offered but ServerOptions::tls holds no certificate",
            ));
        }
        Ok(())
    }

    /// Serves one already-connected stream (a socket from elsewhere, an
    /// in-memory [`PipeEnd`](crate::PipeEnd)) to its end, with the same
    /// factory. Connection limits do not apply.
    pub async fn serve_stream<S, R>(
        &self,
        runtime: R,
        stream: S,
        local: Option<SocketAddr>,
        peer: Option<SocketAddr>,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        R: Runtime,
    {
        run_session(
            stream,
            runtime,
            local,
            peer,
            self.factory.clone(),
            self.options.clone(),
            Signals::never(),
        )
        .await;
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// Spawns one more accept loop of a running server.
type StartLoop<R> = Arc<dyn Fn(R, <R as Runtime>::Listener) + Send + Sync>;

#[derive(Debug)]
struct Shared {
    stop: Arc<Signal>,
    /// Raised when the last accept loop has ended.
    listener_closed: Arc<Signal>,
    /// Accept loops running.
    accepting: AtomicUsize,
    signals: Signals,
    counts: Mutex<Counts>,
}

impl Shared {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        match self.counts.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn begin_accepting(&self) {
        self.accepting.fetch_add(1, Ordering::AcqRel);
    }

    /// An accept loop ended; the last one raises `listener_closed`.
    fn end_accepting(&self) {
        if self.accepting.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.listener_closed.raise();
        }
    }
}

/// Holds one session's place in the connection counts.
struct Slot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.shared.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

/// A listening server: its address, and how to stop it.
pub struct RunningServer<R: Runtime> {
    local_addr: SocketAddr,
    runtime: R,
    shared: Arc<Shared>,
    start: StartLoop<R>,
}

impl<R: Runtime + std::fmt::Debug> std::fmt::Debug for RunningServer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("local_addr", &self.local_addr)
            .field("runtime", &self.runtime)
            .field("active_sessions", &self.active_sessions())
            .finish_non_exhaustive()
    }
}

impl<R: Runtime> RunningServer<R> {
    /// The bound address (with the port chosen for port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sessions running now.
    #[must_use]
    pub fn active_sessions(&self) -> usize {
        self.shared.counts().total
    }

    /// Accepts on one more listener too: the same factory, options,
    /// connection limits and stop. The accept loop (and the sessions it
    /// accepts) is spawned on `runtime`, so call this from the thread whose
    /// runtime should run them: with a handle on the listening socket per
    /// thread of current-thread runtimes, a session never leaves its thread
    /// (no cross-thread wake-ups). Prefer duplicated handles on one socket
    /// to `SO_REUSEPORT` listeners: any process of the same user can join
    /// those and silently take a share of the connections.
    ///
    /// # Errors
    ///
    /// The listener's address cannot be read. After [`stop`](Self::stop),
    /// the listener is closed at once.
    pub fn add_listener(&self, runtime: R, listener: R::Listener) -> io::Result<SocketAddr> {
        let addr = R::local_addr(&listener)?;
        (self.start)(runtime, listener);
        Ok(addr)
    }

    /// Stops: the listener closes at once (when this returns from its
    /// first step no new connection is accepted), running sessions are
    /// asked to end gracefully (`421` ([`shutting_down`](mailwire_core::server::replies::shutting_down)) at their next command
    /// boundary; a message being received is received and decided
    /// first), and those still running after `grace` are told `421` ([`shutting_down`](mailwire_core::server::replies::shutting_down))
    /// and closed, also in the middle of a transfer (a message in
    /// progress is then never delivered: its reader fails).
    pub async fn stop(&self, grace: Duration) {
        self.shared.stop.raise();
        self.shared.listener_closed.raised().await;
        self.shared.signals.shutdown.raise();
        let deadline = self.runtime.now() + grace;
        self.wait_idle(deadline).await;
        if self.active_sessions() > 0 {
            self.shared.signals.kill.raise();
            let deadline = self.runtime.now() + Duration::from_secs(10);
            self.wait_idle(deadline).await;
        }
    }

    async fn wait_idle(&self, deadline: std::time::Instant) {
        while self.active_sessions() > 0 && self.runtime.now() < deadline {
            let tick = (self.runtime.now() + Duration::from_millis(10)).min(deadline);
            self.runtime.sleep_until(tick).await;
        }
    }
}

enum Accepted<S> {
    Stream(S, SocketAddr),
    Failed,
    Stop,
}

async fn accept_loop<R: Runtime, F: SessionFactory>(
    listener: R::Listener,
    runtime: R,
    factory: Arc<F>,
    options: Arc<ServerOptions>,
    shared: Arc<Shared>,
) {
    let mut backoff = ACCEPT_BACKOFF.0;
    loop {
        let stop = shared.stop.clone();
        let next = async {
            match R::accept(&listener).await {
                Ok((stream, peer)) => Accepted::Stream(stream, peer),
                Err(_) => Accepted::Failed,
            }
        }
        .or(async move {
            stop.raised().await;
            Accepted::Stop
        })
        .await;
        match next {
            Accepted::Stop => break,
            Accepted::Failed => {
                tracing::warn!("accept failed; backing off {backoff:?}");
                let stop = shared.stop.clone();
                let sleep = runtime.sleep_until(runtime.now() + backoff);
                sleep.or(async move { stop.raised().await }).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
            }
            Accepted::Stream(mut stream, peer) => {
                backoff = ACCEPT_BACKOFF.0;
                let (local, _) = R::stream_addrs(&stream);
                let trusted = options.proxy_from.iter().any(|net| net.contains(peer.ip()));
                // A client's own connection is admitted at once; one from a
                // trusted balancer once its PROXY header names the client.
                let admitted = (!trusted).then(|| admit(&shared, &options, peer.ip()));
                let (rt, h, o, s) = (
                    runtime.clone(),
                    factory.clone(),
                    options.clone(),
                    shared.clone(),
                );
                runtime.spawn(async move {
                    let (local, peer, admitted) = match admitted {
                        Some(admitted) => (local, Some(peer), admitted),
                        None => {
                            let own = (local, Some(peer));
                            let Some((local, real)) = read_header(&mut stream, &rt, &o, own).await
                            else {
                                return;
                            };
                            let ip = real.map_or(peer.ip(), |p| p.ip());
                            (local, real, admit(&s, &o, ip))
                        }
                    };
                    match admitted {
                        Some(slot) => {
                            let signals = s.signals.clone();
                            run_session(stream, rt, local, peer, h, o, signals).await;
                            drop(slot);
                        }
                        None => refuse(stream, rt, &o).await,
                    }
                });
            }
        }
    }
    drop(listener);
    shared.end_accepting();
}

/// Takes a place for a session from `ip`, or `None` over a limit.
fn admit(shared: &Arc<Shared>, options: &ServerOptions, ip: IpAddr) -> Option<Slot> {
    let mut counts = shared.counts();
    let from_ip = counts.per_ip.get(&ip).copied().unwrap_or(0);
    if counts.total >= options.max_connections || from_ip >= options.max_connections_per_ip {
        return None;
    }
    counts.total += 1;
    *counts.per_ip.entry(ip).or_insert(0) += 1;
    Some(Slot {
        shared: shared.clone(),
        ip,
    })
}

/// Answers a connection over the limits with
/// [`replies::too_many_connections`] and closes it.
async fn refuse<S, R>(stream: S, runtime: R, options: &ServerOptions)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    let mut io = Io::new(
        stream,
        runtime,
        Duration::from_secs(5).min(options.write_stall),
    );
    if options.implicit_tls {
        let Some(tls) = options.tls.as_ref() else {
            return;
        };
        let deadline = io.runtime.now() + Duration::from_secs(5);
        let acceptor = tls.acceptor();
        let ok = tls_within(
            &io.runtime,
            Some(deadline),
            io.transport.accept_tls(&acceptor),
        )
        .await;
        if ok.is_err() {
            return;
        }
    }
    let line = replies::too_many_connections(&options.config.domain).to_bytes();
    if io.write_all(&line).await.is_ok() {
        io.close(Duration::from_millis(500).min(options.close_linger))
            .await;
    }
}
