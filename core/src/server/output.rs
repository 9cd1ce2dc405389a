//! The connection's single ordered output queue, with reply coalescing.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::action::Action;
use crate::wire::reply::Reply;

use super::event::ServerEvent;
use super::replies;

/// Largest reply buffer kept between replies.
const REPLY_BUFFER_KEPT: usize = 4096;

/// Actions waiting for `poll_action`, plus reply bytes not yet cut into a
/// `Send`.
///
/// Replies accumulate in `replies` and leave as one [`Action::Send`] when
/// the queue before them is empty, so all replies produced while the caller
/// drains (including those a synchronous decision produces) go out in one
/// write. They are never held across a `None` from `poll`: the driver's
/// drain always reaches them. Before [`Action::StartTls`] and
/// [`Action::Close`] they are cut into the queue, so they are written first.
#[derive(Debug, Default)]
pub(crate) struct Output {
    queue: VecDeque<Action<ServerEvent>>,
    replies: Vec<u8>,
}

impl Output {
    pub(crate) fn poll(&mut self) -> Option<Action<ServerEvent>> {
        if let Some(action) = self.queue.pop_front() {
            return Some(action);
        }
        if self.replies.is_empty() {
            return None;
        }
        Some(Action::Send(self.take_replies()))
    }

    /// The pending reply bytes as one buffer. The reply buffer keeps its
    /// capacity (replies are short: one copy is cheaper than growing a new
    /// buffer for every reply), unless a large reply made it big.
    fn take_replies(&mut self) -> Bytes {
        let bytes = Bytes::copy_from_slice(&self.replies);
        self.replies.clear();
        if self.replies.capacity() > REPLY_BUFFER_KEPT {
            self.replies = Vec::new();
        }
        bytes
    }

    /// Queues a reply (rendered with or without its enhanced code).
    pub(crate) fn reply(&mut self, reply: &Reply, esc: bool) {
        replies::render(reply, esc, &mut self.replies);
    }

    /// Queues raw reply bytes (a `334` line).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.replies.extend_from_slice(bytes);
    }

    pub(crate) fn event(&mut self, event: ServerEvent) {
        self.queue.push_back(Action::Event(event));
    }

    /// Cuts the pending replies into the queue.
    pub(crate) fn flush(&mut self) {
        if !self.replies.is_empty() {
            let bytes = self.take_replies();
            self.queue.push_back(Action::Send(bytes));
        }
    }

    pub(crate) fn start_tls(&mut self) {
        self.flush();
        self.queue.push_back(Action::StartTls);
    }

    /// Queues the pending replies, `event` (the `Closed` event) and `Close`.
    pub(crate) fn close(&mut self, event: ServerEvent) {
        self.flush();
        self.queue.push_back(Action::Event(event));
        self.queue.push_back(Action::Close);
    }
}
