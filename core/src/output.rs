//! The single ordered output queue both roles hand to their driver through
//! `poll_action`, with the coalescing of written bytes.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::action::Action;

/// Largest reply buffer a server keeps between writes.
const REPLY_BUFFER_KEPT: usize = 4096;

/// Where written bytes gather before they are cut into one
/// [`Action::Send`]. The roles buffer different things, so each keeps the
/// buffer that suits it:
///
/// * a server's replies are short: `Vec<u8>` copies them out and keeps its
///   capacity (one short copy is cheaper than a new buffer per write),
///   unless a large reply made it big;
/// * a client's command lines and dot-stuffed body chunks can be large:
///   `BytesMut` splits them off without a copy.
pub(crate) trait OutBuf: Default {
    /// Octets buffered.
    fn len(&self) -> usize;
    /// Takes every buffered octet as one buffer.
    fn cut(&mut self) -> Bytes;
}

impl OutBuf for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn cut(&mut self) -> Bytes {
        let bytes = Bytes::copy_from_slice(self);
        self.clear();
        if self.capacity() > REPLY_BUFFER_KEPT {
            *self = Vec::new();
        }
        bytes
    }
}

impl OutBuf for BytesMut {
    fn len(&self) -> usize {
        BytesMut::len(self)
    }

    fn cut(&mut self) -> Bytes {
        self.split().freeze()
    }
}

/// Actions waiting for `poll_action`, plus written bytes not yet cut into a
/// `Send`.
///
/// Bytes written with [`buf`](Self::buf) gather until something must come
/// out after them ([`flush`](Self::flush), [`send`](Self::send),
/// [`ordered_event`](Self::ordered_event), [`start_tls`](Self::start_tls),
/// [`close`](Self::close)), or until [`poll`](Self::poll) reaches them
/// once the queue before them is empty. So every write of one drain goes
/// out as one `Send`: a server's replies (including those a decision made
/// while draining produces), a client's pipelined commands. They are never
/// held across a `None` from `poll`. [`event`](Self::event) queues an event
/// ahead of the gathered bytes (the server's coalescing), `ordered_event`
/// after them.
#[derive(Debug)]
pub(crate) struct Output<E, B> {
    queue: VecDeque<Action<E>>,
    buf: B,
    /// Octets in queued `Send` actions.
    queued: usize,
}

impl<E, B: OutBuf> Default for Output<E, B> {
    fn default() -> Self {
        Output {
            queue: VecDeque::new(),
            buf: B::default(),
            queued: 0,
        }
    }
}

impl<E, B: OutBuf> Output<E, B> {
    /// The next action; the gathered bytes as one `Send` once the queue is
    /// empty.
    pub(crate) fn poll(&mut self) -> Option<Action<E>> {
        if let Some(action) = self.queue.pop_front() {
            if let Action::Send(bytes) = &action {
                self.queued = self.queued.saturating_sub(bytes.len());
            }
            return Some(action);
        }
        if self.buf.len() == 0 {
            return None;
        }
        Some(Action::Send(self.buf.cut()))
    }

    /// The buffer where bytes to write gather.
    pub(crate) fn buf(&mut self) -> &mut B {
        &mut self.buf
    }

    /// Octets waiting to be taken in `Send` actions, gathered ones
    /// included.
    pub(crate) fn queued_len(&self) -> usize {
        self.queued + self.buf.len()
    }

    /// Cuts the gathered bytes into the queue.
    pub(crate) fn flush(&mut self) {
        if self.buf.len() != 0 {
            let bytes = self.buf.cut();
            self.push_send(bytes);
        }
    }

    fn push_send(&mut self, bytes: Bytes) {
        self.queued += bytes.len();
        self.queue.push_back(Action::Send(bytes));
    }

    /// Queues bytes as their own `Send`, after those gathered.
    pub(crate) fn send(&mut self, bytes: Bytes) {
        self.flush();
        if !bytes.is_empty() {
            self.push_send(bytes);
        }
    }

    /// Queues an event; the gathered bytes stay gathered (and may come out
    /// after it).
    pub(crate) fn event(&mut self, event: E) {
        self.queue.push_back(Action::Event(event));
    }

    /// Queues an event after the gathered bytes.
    pub(crate) fn ordered_event(&mut self, event: E) {
        self.flush();
        self.queue.push_back(Action::Event(event));
    }

    /// Queues `StartTls` after the gathered bytes.
    pub(crate) fn start_tls(&mut self) {
        self.flush();
        self.queue.push_back(Action::StartTls);
    }

    /// Queues `Close` after the gathered bytes.
    pub(crate) fn close(&mut self) {
        self.flush();
        self.queue.push_back(Action::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sends<B: OutBuf>(out: &mut Output<u8, B>) -> Vec<Action<u8>> {
        std::iter::from_fn(|| out.poll()).collect()
    }

    #[test]
    fn writes_of_one_drain_leave_as_one_send_after_events() {
        let mut out: Output<u8, Vec<u8>> = Output::default();
        out.buf().extend_from_slice(b"250 a\r\n");
        out.event(1);
        out.buf().extend_from_slice(b"250 b\r\n");
        assert_eq!(out.queued_len(), 14);
        assert_eq!(
            sends(&mut out),
            vec![
                Action::Event(1),
                Action::Send(Bytes::from_static(b"250 a\r\n250 b\r\n"))
            ]
        );
        assert_eq!(out.queued_len(), 0);
    }

    #[test]
    fn ordered_events_start_tls_and_close_come_after_the_bytes() {
        let mut out: Output<u8, BytesMut> = Output::default();
        out.buf().extend_from_slice(b"MAIL\r\n");
        out.ordered_event(1);
        out.send(Bytes::from_static(b"body"));
        out.start_tls();
        out.buf().extend_from_slice(b"QUIT\r\n");
        out.close();
        assert_eq!(out.queued_len(), 16);
        assert_eq!(
            sends(&mut out),
            vec![
                Action::Send(Bytes::from_static(b"MAIL\r\n")),
                Action::Event(1),
                Action::Send(Bytes::from_static(b"body")),
                Action::StartTls,
                Action::Send(Bytes::from_static(b"QUIT\r\n")),
                Action::Close,
            ]
        );
        assert_eq!(out.queued_len(), 0);
    }

    #[test]
    fn a_large_reply_does_not_keep_its_buffer() {
        let mut out: Output<u8, Vec<u8>> = Output::default();
        out.buf().resize(REPLY_BUFFER_KEPT + 1, b'x');
        out.flush();
        assert_eq!(out.buf().capacity(), 0);
        out.buf().extend_from_slice(b"250 ok\r\n");
        out.flush();
        assert!(out.buf().capacity() > 0);
    }
}
