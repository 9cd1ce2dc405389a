//! The per-connection session loop: the core's actions out, the peer's
//! bytes, the timer and the stop signals in; the session's hooks run in a
//! [`SessionHost`], whose answers the loop applies.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::FutureExt;
use mailwire_core::server::{AbortReason, ServerConnection, SessionInfo};
use mailwire_core::{Action, TlsInfo};

use super::host::SessionHost;
use super::options::ServerOptions;
use super::session::{SessionEnd, SessionFactory};
use super::signal::{Listener, Signal};
use super::trace::ServerTracer;
use super::verdict::Answer;
use crate::io::{Input, Io, feed, tls_within, until};
use crate::{Runtime, Transport};

/// How long a hook still holding the session when the connection ends
/// (an aborted streaming delivery reading its error, an expired decision)
/// may take before [`Session::end`], and how long `end` itself may take.
const ORPHAN_GRACE: Duration = Duration::from_secs(5);

/// How long a session cut at the end of a stop's grace may take to write
/// its `421`.
const KILL_WRITE: Duration = Duration::from_secs(1);

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

/// What woke the loop.
enum Wake {
    Input(Input),
    Timer,
    Answer(Answer),
    Shutdown,
    Kill,
    Room,
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
    let mut tracer = ServerTracer::new(options.observer.clone(), peer);
    if options.implicit_tls {
        match handshake(&mut io, &options).await {
            Some(tls) => {
                tracer.tls_started(&tls);
                info = info.with_tls(tls);
            }
            None => return,
        }
    }
    let mut conn = ServerConnection::new(options.config.clone(), info, runtime.now());
    let mut host = SessionHost::new(factory, options.clone());
    let listeners = (signals.shutdown.listen(), signals.kill.listen());
    let mut shutdown_seen = false;
    let mut closed = false;
    'session: loop {
        loop {
            let (action, written) = io
                .next_action(&mut conn, true, |parts, _| trace(&mut tracer, parts))
                .await;
            if written.is_err() {
                host.set_end(SessionEnd::ConnectionLost);
                break 'session;
            }
            let Some(action) = action else {
                break;
            };
            match action {
                Action::Send(_) => {}
                Action::StartTls => {
                    if io.flush().await.is_err() {
                        host.set_end(SessionEnd::ConnectionLost);
                        break 'session;
                    }
                    let deadline = conn.poll_timeout();
                    let Some(tls) = handshake_until(&mut io, &options, deadline).await else {
                        host.set_end(SessionEnd::ConnectionLost);
                        break 'session;
                    };
                    tracer.tls_started(&tls);
                    if conn.tls_established(runtime.now(), tls).is_err() {
                        host.set_end(SessionEnd::ConnectionLost);
                        break 'session;
                    }
                }
                Action::Event(event) => {
                    let request = event.token().is_some();
                    host.handle_event(&conn, event);
                    // Most hooks answer at once: decide now, without a
                    // trip through the wait below.
                    if request
                        && let Poll::Ready(answer) =
                            poll_fn(|cx| Poll::Ready(host.poll_answer(cx))).await
                        && answer.apply(&mut conn, runtime.now()).is_break()
                    {
                        break 'session;
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
        let wake = wait(&mut host, &mut io, &conn, &listeners, shutdown_seen).await;
        let now = runtime.now();
        match wake {
            Wake::Input(input) => {
                if let Input::Data(n) = input {
                    tracer.received(io.read_buf(n));
                }
                if feed(&mut conn, &io, &input).is_err() {
                    host.set_end(SessionEnd::ConnectionLost);
                    break;
                }
            }
            Wake::Timer => conn.handle_timeout(now),
            Wake::Answer(answer) => {
                if answer.apply(&mut conn, now).is_break() {
                    break;
                }
            }
            Wake::Shutdown => {
                shutdown_seen = true;
                conn.shutdown(now);
            }
            Wake::Kill => {
                host.set_end(SessionEnd::Killed);
                // The grace is over: 421, whatever the session is doing
                // (also in the middle of a transfer), then the close.
                conn.shutdown_now(now);
                let last_words = async {
                    loop {
                        let (action, written) = io
                            .next_action(&mut conn, true, |parts, _| trace(&mut tracer, parts))
                            .await;
                        match action {
                            _ if written.is_err() => break,
                            Some(Action::Event(event)) => host.handle_event(&conn, event),
                            Some(_) => {}
                            None => break,
                        }
                    }
                    let _ = io.flush().await;
                };
                until(&runtime, now + KILL_WRITE, last_words, || ()).await;
                break;
            }
            Wake::Room => {}
        }
    }
    let dropped = host.session_end() == Some(&SessionEnd::Dropped);
    host.close(if signals.kill.is_raised() {
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
    let grace = runtime.sleep_until(runtime.now() + ORPHAN_GRACE);
    host.end(grace.or(listeners.1.wait())).await;
}

/// Waits for the next thing to happen: a stop signal, a hook's answer,
/// room in a streaming delivery's queue, bytes from the client (only
/// while the core wants to read and the queue has room) or the core's
/// timer.
async fn wait<F, S, R>(
    host: &mut SessionHost<F>,
    io: &mut Io<S, R>,
    conn: &ServerConnection,
    listeners: &(Listener, Listener),
    shutdown_seen: bool,
) -> Wake
where
    F: SessionFactory,
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    let deadline = conn.poll_timeout();
    let room = host.has_room();
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
        if let Poll::Ready(answer) = host.poll_answer(cx) {
            return Poll::Ready(Wake::Answer(answer));
        }
        if !room && conn.wants_read() && host.poll_room(cx).is_ready() {
            return Poll::Ready(Wake::Room);
        }
        match read.as_mut().poll(cx) {
            Poll::Ready(Input::Timeout) => Poll::Ready(Wake::Timer),
            Poll::Ready(input) => Poll::Ready(Wake::Input(input)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
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
    let transport: &mut Transport<S> = &mut io.transport;
    tls_within(&io.runtime, Some(deadline), transport.accept_tls(&acceptor))
        .await
        .ok()
}

/// Traces the `Send`s of one write.
fn trace(tracer: &mut ServerTracer, parts: &[bytes::Bytes]) {
    for part in parts {
        tracer.sent(part);
    }
}
