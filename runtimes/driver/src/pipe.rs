//! An in-memory duplex pipe: two connected ends, each `AsyncRead +
//! AsyncWrite`, for running a server and a client in one process with no
//! sockets (tests, simulation, embedding).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

/// One direction of the pipe: a bounded byte queue.
#[derive(Debug, Default)]
struct Half {
    buf: VecDeque<u8>,
    /// The writer closed (reader sees EOF once `buf` is drained).
    closed: bool,
    /// The reader went away (writes fail with BrokenPipe).
    reader_gone: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

#[derive(Debug)]
struct Shared {
    halves: [Mutex<Half>; 2],
    capacity: usize,
}

impl Shared {
    fn half(&self, i: usize) -> MutexGuard<'_, Half> {
        match self.halves[i].lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// One end of an in-memory pipe (see [`pipe`]).
///
/// Writes block (return `Pending`) when the other end has `capacity` unread
/// bytes, so back-pressure works as on a socket. Closing the writing half
/// (`poll_close`) gives the other end EOF; dropping an end closes both
/// directions for it.
#[derive(Debug)]
pub struct PipeEnd {
    shared: Arc<Shared>,
    /// Index of the half this end reads from; it writes to the other.
    read: usize,
}

/// A connected pair of in-memory streams, each direction buffering at most
/// `capacity` bytes (at least 1).
pub fn pipe(capacity: usize) -> (PipeEnd, PipeEnd) {
    let shared = Arc::new(Shared {
        halves: [Mutex::new(Half::default()), Mutex::new(Half::default())],
        capacity: capacity.max(1),
    });
    (
        PipeEnd {
            shared: shared.clone(),
            read: 0,
        },
        PipeEnd { shared, read: 1 },
    )
}

impl PipeEnd {
    fn write_half(&self) -> usize {
        1 - self.read
    }
}

impl AsyncRead for PipeEnd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut half = self.shared.half(self.read);
        if half.buf.is_empty() {
            if half.closed || buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            half.read_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = buf.len().min(half.buf.len());
        for (dst, src) in buf.iter_mut().zip(half.buf.drain(..n)) {
            *dst = src;
        }
        if let Some(w) = half.write_waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for PipeEnd {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let capacity = self.shared.capacity;
        let mut half = self.shared.half(self.write_half());
        if half.reader_gone || half.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = capacity.saturating_sub(half.buf.len());
        if room == 0 {
            half.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        half.buf.extend(&buf[..n]);
        if let Some(w) = half.read_waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut half = self.shared.half(self.write_half());
        half.closed = true;
        if let Some(w) = half.read_waker.take() {
            w.wake();
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        {
            let mut out = self.shared.half(self.write_half());
            out.closed = true;
            if let Some(w) = out.read_waker.take() {
                w.wake();
            }
        }
        let mut inbound = self.shared.half(self.read);
        inbound.reader_gone = true;
        if let Some(w) = inbound.write_waker.take() {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn bytes_cross_in_order_with_back_pressure() {
        let (mut a, mut b) = pipe(4);
        block_on(async {
            let writer = async {
                a.write_all(b"hello, world").await.unwrap();
                a.close().await.unwrap();
            };
            let reader = async {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                got
            };
            let ((), got) = futures_lite::future::zip(writer, reader).await;
            assert_eq!(got, b"hello, world");
        });
    }

    #[test]
    fn dropping_an_end_is_eof_and_broken_pipe() {
        let (a, mut b) = pipe(16);
        drop(a);
        block_on(async {
            let mut buf = [0u8; 4];
            assert_eq!(b.read(&mut buf).await.unwrap(), 0);
            let err = b.write(b"x").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        });
    }
}
