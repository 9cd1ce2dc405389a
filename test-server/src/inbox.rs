//! What the test server caught ([`Caught`]) and the inbox that keeps it,
//! with the waits a test needs: blocking ([`Inbox::wait_for`]) and async
//! ([`Inbox::wait_for_async`], on any executor).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use mail_parser::Message;
use mailwire_driver::core::message::parse_message;
use mailwire_driver::core::server::ReceivedEnvelope;

/// One message the test server accepted, with its envelope and session.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Caught {
    /// The sender, without angle brackets (`""` for the null sender `<>`).
    pub from: String,
    /// The accepted recipients, without angle brackets, in order.
    pub to: Vec<String>,
    /// The whole envelope (parameters, DSN, body type, size).
    pub envelope: ReceivedEnvelope,
    /// The message as the client sent it (dot-unstuffed, CRLF line ends;
    /// with the server's `Received` header first only when
    /// [`trace_headers`](crate::TestServerBuilder::trace_headers) is on).
    pub data: Vec<u8>,
    /// The name the client gave in HELO/EHLO.
    pub helo: Option<String>,
    /// Whether the session was encrypted.
    pub tls: bool,
    /// The authenticated user, if the client logged in.
    pub user: Option<String>,
    /// The client's address (`None` over the in-memory pipe).
    pub peer: Option<SocketAddr>,
}

impl Caught {
    /// The message as text (invalid UTF-8 replaced).
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The message parsed by mail-parser (`None` when it has no header).
    #[must_use]
    pub fn parsed(&self) -> Option<Message<'_>> {
        parse_message(&self.data)
    }

    /// The decoded `Subject`, if there is one.
    #[must_use]
    pub fn subject(&self) -> Option<String> {
        self.parsed()?.subject().map(str::to_owned)
    }
}

/// Why a wait ended without the messages it wanted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("waited {waited:?} for {wanted} messages, but {got} arrived")]
#[non_exhaustive]
pub struct WaitError {
    /// How many were wanted.
    pub wanted: usize,
    /// How many had arrived when the time was up.
    pub got: usize,
    /// How long the wait was.
    pub waited: Duration,
}

#[derive(Debug, Default)]
struct State {
    messages: Vec<Caught>,
    wakers: Vec<Waker>,
}

/// The messages caught so far, shared by the server's sessions and the
/// test.
#[derive(Debug, Default)]
pub(crate) struct Inbox {
    state: Mutex<State>,
    arrived: Condvar,
}

impl Inbox {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps a message and wakes every waiter.
    pub(crate) fn push(&self, message: Caught) {
        let wakers = {
            let mut state = self.state();
            state.messages.push(message);
            std::mem::take(&mut state.wakers)
        };
        self.arrived.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Every message so far.
    pub(crate) fn messages(&self) -> Vec<Caught> {
        self.state().messages.clone()
    }

    /// Forgets every message.
    pub(crate) fn clear(&self) {
        self.state().messages.clear();
    }

    /// Blocks until `n` messages have arrived (all of them returned), or
    /// `timeout` passed.
    pub(crate) fn wait_for(&self, n: usize, timeout: Duration) -> Result<Vec<Caught>, WaitError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        while state.messages.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(WaitError {
                    wanted: n,
                    got: state.messages.len(),
                    waited: timeout,
                });
            }
            state = self
                .arrived
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(state.messages.clone())
    }

    /// As [`wait_for`](Self::wait_for), as a future that needs no
    /// particular executor (its timer is a thread of its own).
    pub(crate) fn wait_for_async(
        self: &Arc<Self>,
        n: usize,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Caught>, WaitError>> + Send + 'static {
        WaitFor {
            inbox: self.clone(),
            n,
            timeout,
            timer: None,
        }
    }
}

/// A deadline passed (`true`), and the waker to call when it does.
type Timer = Arc<Mutex<(bool, Option<Waker>)>>;

/// The future of [`Inbox::wait_for_async`].
struct WaitFor {
    inbox: Arc<Inbox>,
    n: usize,
    timeout: Duration,
    /// Set once the timer thread runs: it flips this at the deadline.
    timer: Option<Timer>,
}

impl Future for WaitFor {
    type Output = Result<Vec<Caught>, WaitError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        {
            let mut state = self.inbox.state();
            if state.messages.len() >= self.n {
                return Poll::Ready(Ok(state.messages.clone()));
            }
            state.wakers.push(cx.waker().clone());
        }
        let (timeout, wanted) = (self.timeout, self.n);
        let timer = self.timer.get_or_insert_with(|| {
            let timer: Timer = Arc::new(Mutex::new((false, None)));
            let shared = timer.clone();
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                let mut t = shared.lock().unwrap_or_else(PoisonError::into_inner);
                t.0 = true;
                if let Some(w) = t.1.take() {
                    w.wake();
                }
            });
            timer
        });
        let timer = timer.clone();
        let mut t = timer.lock().unwrap_or_else(PoisonError::into_inner);
        if t.0 {
            let got = self.inbox.state().messages.len();
            return Poll::Ready(Err(WaitError {
                wanted,
                got,
                waited: timeout,
            }));
        }
        t.1 = Some(cx.waker().clone());
        Poll::Pending
    }
}
