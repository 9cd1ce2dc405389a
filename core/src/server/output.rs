//! The server's output queue: replies gathered into one write
//! ([`crate::output::Output`] with a reused reply buffer).

use crate::wire::reply::Reply;

use super::event::ServerEvent;
use super::replies;

/// The server's instance of the shared output queue: replies are copied out
/// of a buffer that keeps its capacity.
pub(crate) type Output = crate::output::Output<ServerEvent, Vec<u8>>;

impl Output {
    /// Queues a reply (rendered with or without its enhanced code).
    pub(crate) fn reply(&mut self, reply: &Reply, esc: bool) {
        replies::render(reply, esc, self.buf());
    }

    /// Queues raw reply bytes (a `334` line).
    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.buf().extend_from_slice(bytes);
    }
}
