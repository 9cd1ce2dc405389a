//! Where a message body comes from: bytes in memory, or a reader streamed
//! piece by piece (bounded memory for any size).

use std::future::Future;
use std::io;

use bytes::Bytes;
use futures_io::AsyncRead;
use futures_lite::AsyncReadExt;

/// The size of the body pieces handed to the core.
pub(crate) const BODY_CHUNK: usize = 16 * 1024;

/// A message body for one transaction.
pub(crate) trait BodySource: Send {
    /// The next piece; `None` at the end.
    fn next_chunk(&mut self) -> impl Future<Output = io::Result<Option<Bytes>>> + Send;
    /// Starts again from the beginning (recipients were deferred and the
    /// core wants the body again); `false` when it cannot.
    fn rewind(&mut self) -> bool;
}

/// A body in memory, handed out in slices (no copy).
pub(crate) struct MemoryBody {
    body: Bytes,
    offset: usize,
}

impl MemoryBody {
    pub(crate) fn new(body: Bytes) -> Self {
        MemoryBody { body, offset: 0 }
    }

    /// Whether an octet is over 127 (not allowed in a 7bit body).
    pub(crate) fn has_8bit(&self) -> bool {
        !self.body.is_ascii()
    }
}

impl BodySource for MemoryBody {
    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        if self.offset >= self.body.len() {
            return Ok(None);
        }
        let end = self.body.len().min(self.offset.saturating_add(BODY_CHUNK));
        let chunk = self.body.slice(self.offset..end);
        self.offset = end;
        Ok(Some(chunk))
    }

    fn rewind(&mut self) -> bool {
        self.offset = 0;
        true
    }
}

/// A body read from an `AsyncRead`, once.
pub(crate) struct ReaderBody<'a, Rd> {
    reader: &'a mut Rd,
    started: bool,
}

impl<'a, Rd> ReaderBody<'a, Rd> {
    pub(crate) fn new(reader: &'a mut Rd) -> Self {
        ReaderBody {
            reader,
            started: false,
        }
    }
}

impl<Rd: AsyncRead + Unpin + Send> BodySource for ReaderBody<'_, Rd> {
    async fn next_chunk(&mut self) -> io::Result<Option<Bytes>> {
        self.started = true;
        let mut buf = vec![0u8; BODY_CHUNK];
        let n = self.reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some(Bytes::from(buf)))
    }

    fn rewind(&mut self) -> bool {
        !self.started
    }
}
