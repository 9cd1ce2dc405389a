//! [`TestServer`]: a mailwire server on a thread of its own, recording
//! every message, stopped when dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use mailwire_driver::server::faults::Rules;
use mailwire_driver::{PipeEnd, pipe};

use crate::inbox::{Caught, Inbox, WaitError};
use crate::pki::TestPki;

/// What the test thread asks of the server thread.
pub(crate) enum Command {
    /// Serve one in-memory connection.
    Pipe(PipeEnd),
    /// Stop (graceful, within this grace).
    Stop(Duration),
}

/// The server thread's mailbox: commands and the waker of its loop.
#[derive(Default)]
pub(crate) struct Control {
    queue: Mutex<(Vec<Command>, Option<Waker>)>,
}

impl Control {
    pub(crate) fn send(&self, command: Command) {
        let waker = {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            q.0.push(command);
            q.1.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The next commands, once there are any.
    pub(crate) fn next(&self) -> impl Future<Output = Vec<Command>> + '_ {
        std::future::poll_fn(move |cx: &mut TaskContext<'_>| {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if q.0.is_empty() {
                q.1 = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(std::mem::take(&mut q.0))
            }
        })
    }
}

/// An SMTP server for tests, in this process, on a thread of its own:
/// it records every message it accepts ([`messages`](Self::messages),
/// [`wait_for`](Self::wait_for)), refuses on request, offers TLS and AUTH
/// when asked, and stops when dropped. Works from a plain `#[test]` and
/// from an async test on any executor.
///
/// See the [crate documentation](crate) for complete examples.
pub struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) inbox: Arc<Inbox>,
    pub(crate) rules: Arc<Rules>,
    pub(crate) pki: Option<TestPki>,
    pub(crate) control: Arc<Control>,
    pub(crate) thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("addr", &self.addr)
            .field("messages", &self.inbox.messages().len())
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The test PKI of [`self_signed_tls`](crate::TestServerBuilder::self_signed_tls)
    /// (trust its `ca_pem`), `None` otherwise.
    #[must_use]
    pub fn tls(&self) -> Option<&TestPki> {
        self.pki.as_ref()
    }

    /// Every message accepted so far, in order.
    #[must_use]
    pub fn messages(&self) -> Vec<Caught> {
        self.inbox.messages()
    }

    /// Forgets the messages caught so far.
    pub fn clear(&self) {
        self.inbox.clear();
    }

    /// Blocks until at least `n` messages have been accepted and returns
    /// all of them.
    ///
    /// # Errors
    ///
    /// [`WaitError`] when `timeout` passes first (it says how many came).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Result<Vec<Caught>, WaitError> {
        self.inbox.wait_for(n, timeout)
    }

    /// [`wait_for`](Self::wait_for) for async tests, on any executor.
    ///
    /// # Errors
    ///
    /// [`WaitError`] when `timeout` passes first.
    pub fn wait_for_async(
        &self,
        n: usize,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<Caught>, WaitError>> + Send + 'static {
        self.inbox.wait_for_async(n, timeout)
    }

    /// The fault rules, to change while the server runs.
    #[must_use]
    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// A connection to the server over an in-memory pipe (no socket): the
    /// other end is served like a TCP connection (without a peer
    /// address). Use it with `Client::over_stream` or any
    /// `futures_io` client.
    #[must_use]
    pub fn connect_pipe(&self) -> PipeEnd {
        let (client, server) = pipe(64 << 10);
        self.control.send(Command::Pipe(server));
        client
    }

    /// Stops the server: new connections are refused, sessions in progress
    /// get up to a second to finish.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.control.send(Command::Stop(Duration::from_secs(1)));
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
