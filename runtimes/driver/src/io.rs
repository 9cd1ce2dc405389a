//! The I/O pieces both roles' loops share (private to the driver): the
//! inputs and actions of a core connection ([`SansIo`], [`feed`],
//! [`Io::next_action`]), the transport with bounded reads, writes and
//! closing ([`Io`]), and the race against a deadline ([`until`],
//! [`within`], [`tls_within`]).

use std::io;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use mailwire_core::client::{ClientConnection, ClientEvent};
use mailwire_core::server::{ServerConnection, ServerEvent};
use mailwire_core::{Action, TlsInfo, UsageError};

use crate::Runtime;
use crate::transport::Transport;

/// The inputs and the actions of the contract in `mailwire-core` that both
/// `ServerConnection` and `ClientConnection` share, so [`feed`] and
/// [`Io::next_action`] serve either role.
pub(crate) trait SansIo {
    /// The role's events.
    type Event;
    /// Bytes from the peer.
    fn handle_input(&mut self, now: Instant, input: &[u8]) -> Result<(), UsageError>;
    /// The peer closed its side.
    fn handle_eof(&mut self, now: Instant);
    /// The timer fired.
    fn handle_timeout(&mut self, now: Instant);
    /// The next thing to do.
    fn poll_action(&mut self) -> Option<Action<Self::Event>>;
}

macro_rules! impl_sans_io {
    ($conn:ty, $event:ty) => {
        impl SansIo for $conn {
            type Event = $event;
            fn handle_input(&mut self, now: Instant, input: &[u8]) -> Result<(), UsageError> {
                <$conn>::handle_input(self, now, input)
            }
            fn handle_eof(&mut self, now: Instant) {
                <$conn>::handle_eof(self, now)
            }
            fn handle_timeout(&mut self, now: Instant) {
                <$conn>::handle_timeout(self, now)
            }
            fn poll_action(&mut self) -> Option<Action<$event>> {
                <$conn>::poll_action(self)
            }
        }
    };
}

impl_sans_io!(ServerConnection, ServerEvent);
impl_sans_io!(ClientConnection, ClientEvent);

/// Size of the read buffer of a connection at rest (reused; never kept
/// across a TLS switch: whatever is read is handed to the core at once).
/// Command lines and pipelined groups fit; an idle connection holds no
/// more than this.
pub const READ_BUFFER: usize = 2 * 1024;

/// The largest the read buffer grows to while the peer streams data (a
/// read that fills the buffer doubles it).
pub const READ_BUFFER_MAX: usize = 64 * 1024;

/// Largest write [`Io::write_parts`] gathers small parts into.
pub const GATHER_MAX: usize = 64 * 1024;

/// Reads in a row that return less than [`READ_BUFFER`] before a grown
/// buffer is given back.
const SHRINK_AFTER: u8 = 8;

/// What one wait on the transport produced.
#[derive(Debug)]
pub enum Input {
    /// This many bytes are in [`Io::read_buf`].
    Data(usize),
    /// The peer closed its side (or the stream broke).
    Eof,
    /// The deadline passed first.
    Timeout,
}

/// A transport with the runtime's clock: reads raced against a deadline,
/// writes bounded by a stall timeout, and a graceful close.
///
/// The deadline timer is kept from one wait to the next and replaced only
/// when an earlier deadline is asked for: re-arming a runtime timer on
/// every read costs more than the read. So a wait may end with
/// [`Input::Timeout`] before the deadline it was given (when an earlier
/// deadline was armed for it before): the cores treat a timeout as "check
/// your deadlines" and do nothing when none has passed.
pub struct Io<S, R> {
    /// The byte stream (switched to TLS in place).
    pub transport: Transport<S>,
    /// The runtime (clock, timers).
    pub runtime: R,
    read_buf: Box<[u8]>,
    /// Small reads in a row (see [`SHRINK_AFTER`]).
    small_reads: u8,
    /// The size the read buffer takes before the next read (the bytes of
    /// the last read stay where they are until then).
    pending_resize: Option<usize>,
    /// A write that makes no progress for this long fails (a peer that stops
    /// reading cannot hold a connection for ever).
    pub write_stall: Duration,
    /// The armed deadline timer and its deadline.
    timer: Option<(Instant, Timer)>,
    /// The buffer [`write_parts`](Self::write_parts) gathers into (kept
    /// empty between writes).
    gather: Vec<u8>,
    /// The `Send`s [`next_action`](Self::next_action) collects (kept
    /// empty between calls).
    sends: Vec<Bytes>,
}

/// A runtime's sleep future, boxed.
type Timer = Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl<S: std::fmt::Debug, R: std::fmt::Debug> std::fmt::Debug for Io<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Io")
            .field("transport", &self.transport)
            .field("runtime", &self.runtime)
            .field("write_stall", &self.write_stall)
            .field("timer", &self.timer.as_ref().map(|(at, _)| at))
            .finish_non_exhaustive()
    }
}

impl<S, R> Io<S, R>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    R: Runtime,
{
    /// Wraps a plain stream.
    pub fn new(stream: S, runtime: R, write_stall: Duration) -> Self {
        Io {
            transport: Transport::Plain(stream),
            runtime,
            read_buf: vec![0; READ_BUFFER].into_boxed_slice(),
            small_reads: 0,
            pending_resize: None,
            write_stall,
            timer: None,
            gather: Vec::new(),
            sends: Vec::new(),
        }
    }

    /// Makes sure a timer fires at `deadline` or before (see the type's
    /// documentation).
    fn arm(&mut self, deadline: Instant) {
        let keep = self.timer.as_ref().is_some_and(|(at, _)| *at <= deadline);
        if !keep {
            self.timer = Some((deadline, Box::pin(self.runtime.sleep_until(deadline))));
        }
    }

    /// Waits for the deadline timer (armed for `deadline` or earlier).
    pub async fn sleep(&mut self, deadline: Instant) {
        self.arm(deadline);
        if let Some((_, timer)) = self.timer.as_mut() {
            timer.as_mut().await;
        }
        self.timer = None;
    }

    /// The bytes of the last [`Input::Data`].
    pub fn read_buf(&self, n: usize) -> &[u8] {
        &self.read_buf[..n.min(self.read_buf.len())]
    }

    /// Reads once, or reports the deadline (`None`: wait for ever). The
    /// timeout may come early (see the type's documentation).
    pub async fn read(&mut self, deadline: Option<Instant>) -> Input {
        if let Some(size) = self.pending_resize.take() {
            self.read_buf = vec![0; size].into_boxed_slice();
        }
        if let Some(deadline) = deadline {
            self.arm(deadline);
        }
        let Io {
            transport,
            read_buf,
            timer,
            ..
        } = self;
        let read = async {
            match transport.read(read_buf).await {
                Ok(0) | Err(_) => Input::Eof,
                Ok(n) => Input::Data(n),
            }
        };
        let input = match (deadline, timer.as_mut()) {
            (Some(_), Some((_, sleep))) => {
                read.or(async {
                    sleep.as_mut().await;
                    Input::Timeout
                })
                .await
            }
            _ => read.await,
        };
        match input {
            Input::Timeout => *timer = None,
            Input::Data(n) => self.resize_after(n),
            Input::Eof => {}
        }
        input
    }

    /// Grows the read buffer after a read that filled it, and gives a grown
    /// one back after a run of small reads. Called after the bytes of the
    /// last read were handed on: the new size takes effect at the next
    /// read.
    fn resize_after(&mut self, n: usize) {
        let len = self.read_buf.len();
        if n == len && len < READ_BUFFER_MAX {
            self.pending_resize = Some((len * 2).min(READ_BUFFER_MAX));
            self.small_reads = 0;
        } else if len > READ_BUFFER && n < READ_BUFFER {
            self.small_reads += 1;
            if self.small_reads >= SHRINK_AFTER {
                self.pending_resize = Some(READ_BUFFER);
                self.small_reads = 0;
            }
        } else {
            self.small_reads = 0;
        }
    }

    /// Writes all of `bytes`, failing if the peer accepts nothing for
    /// [`Io::write_stall`].
    pub async fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let deadline = self.runtime.now() + self.write_stall;
            let n = within(
                &self.runtime,
                Some(deadline),
                self.transport.write(bytes),
                "peer stopped reading",
            )
            .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            bytes = &bytes[n..];
        }
        Ok(())
    }

    /// Writes `parts` in order as few writes as possible: small parts are
    /// gathered into one buffer (up to [`GATHER_MAX`] octets a write), a
    /// large part goes on its own without a copy. Fails as
    /// [`write_all`](Self::write_all).
    pub async fn write_parts(&mut self, parts: &[bytes::Bytes]) -> io::Result<()> {
        if let [only] = parts {
            return self.write_all(only).await;
        }
        let mut gather = std::mem::take(&mut self.gather);
        let mut result = Ok(());
        for part in parts {
            if gather.len() + part.len() > GATHER_MAX && !gather.is_empty() {
                result = self.write_all(&gather).await;
                gather.clear();
                if result.is_err() {
                    break;
                }
            }
            if part.len() >= GATHER_MAX {
                result = self.write_all(part).await;
                if result.is_err() {
                    break;
                }
            } else {
                gather.extend_from_slice(part);
            }
        }
        if result.is_ok() && !gather.is_empty() {
            result = self.write_all(&gather).await;
        }
        gather.clear();
        if gather.capacity() <= GATHER_MAX {
            self.gather = gather;
        }
        result
    }

    /// Flushes, bounded by the stall timeout.
    pub async fn flush(&mut self) -> io::Result<()> {
        let deadline = self.runtime.now() + self.write_stall;
        within(
            &self.runtime,
            Some(deadline),
            self.transport.flush(),
            "flush stalled",
        )
        .await
    }

    /// The drain of either role: takes the core's actions up to the first
    /// that is not a `Send` and returns it (`None`: nothing is left), after
    /// writing the `Send`s before it in one write (see
    /// [`write_parts`](Self::write_parts)). `trace` sees them first;
    /// without `writing` (the transport broke or was shut) they are
    /// dropped. The result of the write comes beside the action: the loop
    /// decides what a failed write means.
    ///
    /// Each loop carries out the other actions itself: `StartTls` is
    /// [`flush`](Self::flush) then the handshake within the core's
    /// deadline ([`tls_within`]) and `tls_established`, `Close` is
    /// [`close`](Self::close), events go to the application.
    pub async fn next_action<C: SansIo>(
        &mut self,
        conn: &mut C,
        writing: bool,
        trace: impl FnOnce(&[Bytes], &C),
    ) -> (Option<Action<C::Event>>, io::Result<()>) {
        let mut next = None;
        while let Some(action) = conn.poll_action() {
            if let Action::Send(bytes) = action {
                self.sends.push(bytes);
            } else {
                next = Some(action);
                break;
            }
        }
        if self.sends.is_empty() {
            return (next, Ok(()));
        }
        let sends = std::mem::take(&mut self.sends);
        let mut written = Ok(());
        if writing {
            trace(&sends, conn);
            written = self.write_parts(&sends).await;
        }
        self.sends = sends;
        self.sends.clear();
        (next, written)
    }

    /// Flushes, shuts down writing and drains the peer for at most `linger`,
    /// so the last reply is not destroyed by a reset (a close with unread
    /// input sends a TCP reset, which can discard the reply in flight).
    pub async fn close(&mut self, linger: Duration) {
        let _ = self.flush().await;
        let _ = self.transport.close().await;
        let deadline = self.runtime.now() + linger;
        while let Input::Data(_) = self.read(Some(deadline)).await {}
    }
}

/// Races `work` against `deadline`: its output, or `expired()` when the
/// deadline comes first (`work` is dropped then; `expired` is called only
/// then, so the fast path allocates nothing). Every bounded wait of the
/// driver (a write, a flush, a handshake, a body piece) goes through here.
pub(crate) async fn until<R: Runtime, T>(
    runtime: &R,
    deadline: Instant,
    work: impl Future<Output = T>,
    expired: impl FnOnce() -> T,
) -> T {
    let sleep = runtime.sleep_until(deadline);
    work.or(async {
        sleep.await;
        expired()
    })
    .await
}

/// Races an I/O operation against `deadline` (`None`: no deadline): its
/// result, or a `TimedOut` error saying `what` when the deadline comes
/// first.
pub(crate) async fn within<R: Runtime, T>(
    runtime: &R,
    deadline: Option<Instant>,
    work: impl Future<Output = io::Result<T>>,
    what: &'static str,
) -> io::Result<T> {
    match deadline {
        None => work.await,
        Some(at) => until(runtime, at, work, || Err(timed_out(what))).await,
    }
}

/// A TLS handshake on the transport (either side), bounded by `deadline`
/// (the core's, from `poll_timeout`; `None`: none).
pub(crate) async fn tls_within<R: Runtime>(
    runtime: &R,
    deadline: Option<Instant>,
    handshake: impl Future<Output = io::Result<TlsInfo>>,
) -> io::Result<TlsInfo> {
    within(runtime, deadline, handshake, "the TLS handshake timed out").await
}

/// A `TimedOut` error saying `what` timed out.
pub(crate) fn timed_out(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what)
}

/// Feeds one [`Input`] to a connection (timeouts and EOF included).
pub fn feed<C: SansIo, S, R: Runtime>(
    conn: &mut C,
    io: &Io<S, R>,
    input: &Input,
) -> Result<(), UsageError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let now = io.runtime.now();
    match *input {
        Input::Data(n) => conn.handle_input(now, io.read_buf(n)),
        Input::Eof => {
            conn.handle_eof(now);
            Ok(())
        }
        Input::Timeout => {
            conn.handle_timeout(now);
            Ok(())
        }
    }
}
