//! Message bodies on their way to the application: the bounded channel
//! behind streaming delivery ([`BodyReader`]) and the memory budget that
//! buffered and parsed delivery share ([`MemoryBudget`]).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use futures_io::AsyncRead;
use mailwire_core::server::AbortReason;

/// How a streamed body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// Still arriving.
    Open,
    /// Complete: the reader sees a clean end of file.
    Complete,
    /// Cut off: the reader sees an error.
    Aborted(Option<AbortReason>),
}

#[derive(Debug)]
struct State {
    chunks: VecDeque<Bytes>,
    queued: usize,
    end: End,
    reader_gone: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

/// The session's end of a streamed body.
#[derive(Debug, Clone)]
pub(crate) struct BodySender {
    shared: Arc<Mutex<State>>,
    capacity: usize,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// A new body channel: the session pushes chunks, the handler reads.
/// The session stops reading the socket while `capacity` octets are queued.
pub(crate) fn body_channel(capacity: usize) -> (BodySender, BodyReader) {
    let shared = Arc::new(Mutex::new(State {
        chunks: VecDeque::new(),
        queued: 0,
        end: End::Open,
        reader_gone: false,
        reader: None,
        writer: None,
    }));
    (
        BodySender {
            shared: shared.clone(),
            capacity: capacity.max(1),
        },
        BodyReader { shared },
    )
}

impl BodySender {
    /// Queues a chunk (dropped when the reader is gone).
    pub(crate) fn push(&self, chunk: Bytes) {
        let mut s = lock(&self.shared);
        if s.reader_gone || s.end != End::Open || chunk.is_empty() {
            return;
        }
        s.queued += chunk.len();
        s.chunks.push_back(chunk);
        if let Some(w) = s.reader.take() {
            w.wake();
        }
    }

    /// Ends the body: clean end of file for the reader.
    pub(crate) fn complete(&self) {
        self.finish(End::Complete);
    }

    /// Cuts the body off: the reader gets an error once the queued chunks
    /// are read (and at once, since what it got is not a message anyway).
    pub(crate) fn abort(&self, reason: Option<AbortReason>) {
        let mut s = lock(&self.shared);
        // Also after `complete`: a message whose verdict could not be given
        // (the decision deadline passed) must not look whole to a reader
        // that has not reached the end yet.
        if !matches!(s.end, End::Aborted(_)) {
            s.end = End::Aborted(reason);
            s.chunks.clear();
            s.queued = 0;
        }
        if let Some(w) = s.reader.take() {
            w.wake();
        }
    }

    fn finish(&self, end: End) {
        let mut s = lock(&self.shared);
        if s.end == End::Open {
            s.end = end;
        }
        if let Some(w) = s.reader.take() {
            w.wake();
        }
    }

    /// Whether the session may read more from the socket now; if not, the
    /// task is woken when the reader has made room.
    pub(crate) fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.shared);
        if s.queued < self.capacity || s.reader_gone || s.end != End::Open {
            Poll::Ready(())
        } else {
            s.writer = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    /// Whether there is room now (no waker registered).
    pub(crate) fn has_room(&self) -> bool {
        let s = lock(&self.shared);
        s.queued < self.capacity || s.reader_gone || s.end != End::Open
    }
}

/// The body of a message being received, for streaming delivery
/// ([`MailStream`](super::MailStream)).
///
/// Reads return the message octets (dot-unstuffed, CRLF line ends,
/// preceded by the `Received` header when that option is on) as they
/// arrive. `Ok(0)` (end of file) comes only after the message's end
/// arrived intact; a message cut off (size exceeded, RSET, EOF, timeout,
/// shutdown) makes the read fail with [`io::ErrorKind::ConnectionAborted`]
/// (or `TimedOut` for a timeout). The queue between the socket and this
/// reader is bounded: the session stops reading the client while it is
/// full.
#[derive(Debug)]
pub struct BodyReader {
    shared: Arc<Mutex<State>>,
}

fn abort_error(reason: Option<AbortReason>) -> io::Error {
    let kind = match reason {
        Some(AbortReason::Timeout) => io::ErrorKind::TimedOut,
        _ => io::ErrorKind::ConnectionAborted,
    };
    let what = match reason {
        Some(AbortReason::Reset) => "message abandoned by the client (reset)",
        Some(AbortReason::PeerClosed) => "client closed the connection mid-message",
        Some(AbortReason::Timeout) => "message transfer timed out",
        Some(AbortReason::SizeExceeded) => "message exceeds the size limit",
        Some(AbortReason::BodyRejected) => "message body refused by the body policy",
        Some(AbortReason::Shutdown) => "server shutting down",
        _ => "message cut off",
    };
    io::Error::new(kind, what)
}

impl BodyReader {
    /// The next piece of the body as it arrived, without a copy: `Ok(None)`
    /// once the whole message has been read, an error (as for
    /// [`AsyncRead`]) when it was cut off. Mixing this with `read` is fine:
    /// each octet is returned once.
    ///
    /// # Errors
    ///
    /// The message was cut off (see the type's documentation).
    pub async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.poll_next_chunk(cx)).await
    }

    /// Polls for the next piece of the body (see [`BodyReader::next_chunk`]).
    ///
    /// # Errors
    ///
    /// The message was cut off.
    pub fn poll_next_chunk(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        let mut s = lock(&self.shared);
        if let End::Aborted(reason) = s.end {
            return Poll::Ready(Err(abort_error(reason)));
        }
        let Some(chunk) = s.chunks.pop_front() else {
            if s.end == End::Complete {
                return Poll::Ready(Ok(None));
            }
            s.reader = Some(cx.waker().clone());
            return Poll::Pending;
        };
        s.queued -= chunk.len();
        if let Some(w) = s.writer.take() {
            w.wake();
        }
        Poll::Ready(Ok(Some(chunk)))
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut s = lock(&self.shared);
        if let End::Aborted(reason) = s.end {
            return Poll::Ready(Err(abort_error(reason)));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let Some(front) = s.chunks.front_mut() else {
            if s.end == End::Complete {
                return Poll::Ready(Ok(0));
            }
            s.reader = Some(cx.waker().clone());
            return Poll::Pending;
        };
        let n = front.len().min(buf.len());
        buf[..n].copy_from_slice(&front[..n]);
        front.advance(n);
        if front.is_empty() {
            s.chunks.pop_front();
        }
        s.queued -= n;
        if let Some(w) = s.writer.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        s.reader_gone = true;
        s.chunks.clear();
        s.queued = 0;
        if let Some(w) = s.writer.take() {
            w.wake();
        }
    }
}

/// A memory budget shared by buffered and parsed delivery across every
/// session of a server (and, if you pass the same budget, across servers).
///
/// Each message in memory holds a reservation for its octets; a message
/// that would exceed the budget is refused (`452` ([`insufficient_storage`](mailwire_core::server::replies::insufficient_storage)) when the budget is
/// busy with other messages, `552` ([`too_big_for_memory`](mailwire_core::server::replies::too_big_for_memory)) when the message alone is bigger
/// than the whole budget) instead of exhausting memory.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `limit` octets.
    #[must_use]
    pub fn new(limit: u64) -> Arc<MemoryBudget> {
        Arc::new(MemoryBudget {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// The limit in octets.
    #[must_use]
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Octets reserved now.
    #[must_use]
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Reserves `n` more octets, or fails without reserving anything.
    pub(crate) fn try_reserve(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `n` octets.
    pub(crate) fn release(&self, n: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(n))
            });
    }
}

/// A whole message being received into memory (whole and parsed
/// delivery), within a [`MemoryBudget`].
pub(crate) struct Buffer {
    /// The server's trace header, delivered beside the data (counted in
    /// the budget).
    pub(crate) trace: Vec<u8>,
    /// The octets so far (emptied once over the budget).
    pub(crate) data: Vec<u8>,
    /// What `data` holds of the budget.
    pub(crate) reservation: Reservation,
    /// The budget could not hold the message: it is refused.
    pub(crate) over_budget: bool,
}

impl Buffer {
    /// An empty message within `budget`, with its trace header.
    pub(crate) fn new(budget: Arc<MemoryBudget>, trace: Vec<u8>) -> Buffer {
        let mut reservation = Reservation::new(budget);
        let over_budget = !reservation.grow(trace.len() as u64);
        Buffer {
            trace,
            data: Vec::new(),
            reservation,
            over_budget,
        }
    }

    /// Appends `bytes`, or gives everything back once the budget is
    /// exceeded.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
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

/// A reservation in a [`MemoryBudget`], released on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<MemoryBudget>,
    held: u64,
}

impl Reservation {
    pub(crate) fn new(budget: Arc<MemoryBudget>) -> Reservation {
        Reservation { budget, held: 0 }
    }

    /// Grows the reservation by `n`; false (and unchanged) when the budget
    /// cannot give it.
    pub(crate) fn grow(&mut self, n: u64) -> bool {
        if self.budget.try_reserve(n) {
            self.held += n;
            true
        } else {
            false
        }
    }

    /// Gives back everything held.
    pub(crate) fn clear(&mut self) {
        self.budget.release(self.held);
        self.held = 0;
    }

    /// The budget's whole limit.
    pub(crate) fn limit(&self) -> u64 {
        self.budget.limit
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.release(self.held);
    }
}
