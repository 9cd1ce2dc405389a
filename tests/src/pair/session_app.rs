//! [`SessionApp`]: a session-level server (any
//! [`SessionFactory`](mailwire_driver::server::SessionFactory)) as the
//! Pair's server application, run by the driver's
//! [`SessionHost`](mailwire_driver::server::SessionHost) on the virtual
//! clock.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use mailwire_core::UsageError;
use mailwire_core::server::{AbortReason, ServerEvent};
use mailwire_driver::server::{Answer, ServerOptions, SessionFactory, SessionHost};

use super::app::{ServerApp, ServerCx};
use super::clock::PairClock;

/// How long the session's hooks may take after the connection closed
/// (the driver's grace), in virtual time.
const END_GRACE: Duration = Duration::from_secs(5);

/// A waker that records that it was woken: the hooks that woke it are
/// polled on the next loop step.
#[derive(Debug, Default)]
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// A session-level server as a [`ServerApp`]: each connection event goes
/// to a [`SessionHost`] running the sessions of `F`, and the host's
/// answers are applied through the [`ServerCx`] (so the transcript records
/// them as any application's decisions).
///
/// Everything runs in the harness's loop, deterministically:
///
/// * hooks are polled right after their request event (most answer at
///   once) and again on the next loop step whenever something woke them
///   (a streaming body's data, a [`PairClock`] sleep, a yield);
/// * sleeps on the [`clock`](Self::clock) end when virtual time reaches
///   them (the app asks the harness for a wake-up then), so a hook that
///   takes 61 virtual seconds sees its decision expire as it would on a
///   real server;
/// * while a streaming delivery's queue
///   ([`ServerOptions::body_queue`]) is full, the server connection is not
///   read;
/// * a hook's [`HookError::Disconnect`](mailwire_driver::server::HookError::Disconnect)
///   hangs up ([`ServerCx::hang_up`]);
/// * once the server connection has closed, [`Session::end`](mailwire_driver::server::Session::end)
///   runs, polled like the other hooks while the run goes on (what is not
///   done when the run ends is dropped, as the driver drops it after its
///   grace period).
///
/// Pass the same [`ServerConfig`](mailwire_core::server::ServerConfig) to
/// the [`Pair`](super::Pair) as the options hold, and turn
/// [`add_received`](ServerOptions::add_received) off when the test
/// compares bodies (the header carries the wall-clock date).
pub struct SessionApp<F: SessionFactory> {
    host: Option<SessionHost<F>>,
    /// The end hook, once started.
    ending: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// The server connection closed (or was dropped): start the end.
    closing: bool,
    woken: Arc<Woken>,
    /// Poll again on the next step (an answer was applied: another may
    /// be ready).
    again: bool,
    clock: PairClock,
}

impl<F: SessionFactory> std::fmt::Debug for SessionApp<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionApp")
            .field("host", &self.host)
            .field("ending", &self.ending.is_some())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl<F: SessionFactory> SessionApp<F> {
    /// Runs the sessions of `factory` with `options` (its `config` is the
    /// one to give the [`Pair`](super::Pair)), on a clock of its own.
    #[must_use]
    pub fn new(factory: F, options: ServerOptions) -> SessionApp<F> {
        SessionApp {
            host: Some(SessionHost::new(Arc::new(factory), Arc::new(options))),
            ending: None,
            closing: false,
            woken: Arc::new(Woken::default()),
            again: false,
            clock: PairClock::new(),
        }
    }

    /// Uses `clock` (a clone of the one the factory's sessions sleep on).
    #[must_use]
    pub fn with_clock(mut self, clock: PairClock) -> SessionApp<F> {
        self.clock = clock;
        self
    }

    /// The virtual clock the sessions may sleep on.
    #[must_use]
    pub fn clock(&self) -> &PairClock {
        &self.clock
    }

    /// Whether the session's last hook ([`Session::end`](mailwire_driver::server::Session::end))
    /// has run to its end.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.host.is_none() && self.ending.is_none()
    }

    /// Runs what is ready: the clock's due sleeps and spawned tasks, one
    /// answer of the host (applied through `cx`), the end hook.
    fn poll(&mut self, cx: &mut ServerCx<'_>) {
        self.clock.advance_to(cx.now());
        self.again = false;
        self.woken.0.store(false, Ordering::Release);
        let waker = Waker::from(self.woken.clone());
        let mut task = TaskContext::from_waker(&waker);
        self.clock.poll_tasks(&mut task);
        if let Some(host) = self.host.as_mut() {
            if let Poll::Ready(answer) = host.poll_answer(&mut task) {
                self.again = true;
                if apply(cx, answer).is_break() {
                    cx.hang_up();
                    self.closing = true;
                }
            }
            if !host.has_room() {
                let _ = host.poll_room(&mut task);
            }
        }
        if self.closing
            && let Some(mut host) = self.host.take()
        {
            host.close(AbortReason::PeerClosed);
            self.ending = Some(Box::pin(host.end(self.clock.sleep(END_GRACE))));
        }
        if let Some(ending) = self.ending.as_mut()
            && ending.as_mut().poll(&mut task).is_ready()
        {
            self.ending = None;
        }
    }
}

/// Applies a host's answer through the harness's context: the driver's
/// rule (a reply that does not fit the step is answered `451 4.3.0`).
fn apply(cx: &mut ServerCx<'_>, answer: Answer) -> ControlFlow<()> {
    match answer {
        Answer::Decide { token, verdict } => {
            if let Err(UsageError::InvalidReply(_)) = cx.decide(token, verdict) {
                let _ = cx.decide(token, Answer::fallback());
            }
        }
        Answer::Secret { token, secret } => {
            let _ = cx.supply_secret(token, secret);
        }
        Answer::Drop => return ControlFlow::Break(()),
        _ => {}
    }
    ControlFlow::Continue(())
}

impl<F: SessionFactory> ServerApp for SessionApp<F> {
    fn on_event(&mut self, cx: &mut ServerCx<'_>, event: &ServerEvent) {
        let Some(host) = self.host.as_mut() else {
            return;
        };
        self.clock.advance_to(cx.now());
        host.handle_event(cx.conn(), event.clone());
        if matches!(event, ServerEvent::Closed(_)) {
            // The end hook runs once the connection is closed: next step.
            self.closing = true;
            self.again = true;
        } else if event.token().is_some() {
            self.poll(cx);
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        self.clock.next_timer()
    }

    fn on_wake(&mut self, cx: &mut ServerCx<'_>) {
        self.poll(cx);
    }

    fn wants_poll(&self) -> bool {
        self.again || self.woken.0.load(Ordering::Acquire)
    }

    fn on_poll(&mut self, cx: &mut ServerCx<'_>) {
        self.poll(cx);
    }

    fn wants_read(&self) -> bool {
        self.host.as_ref().is_none_or(SessionHost::has_room)
    }
}
