//! The limits that keep a hostile peer answered and bounded: protocol
//! errors and refusals counted apart, both forgiven when a message is
//! accepted.

use crate::wire::reply::Reply;

use super::connection::ServerConnection;
use super::event::CloseReason;
use super::replies;

impl ServerConnection {
    /// Queues an error reply and counts it as a protocol error; at the
    /// limit, adds `421 4.7.0` and closes.
    pub(crate) fn send_error(&mut self, reply: &Reply) {
        self.send(reply);
        self.count_error();
    }

    /// Counts a protocol error (its reply already queued): unknown,
    /// malformed or over-long command, bad sequence, a TLS or AUTH policy
    /// refusal. The `max_errors`-th closes the session.
    pub(crate) fn count_error(&mut self) {
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.limits.max_errors && !self.is_closed() {
            self.send(&replies::too_many_errors());
            self.close(CloseReason::TooManyErrors);
        }
    }

    /// Counts a sender or recipient the application refused (its reply
    /// already queued). The `max_refusals`-th closes the session.
    pub(crate) fn count_refusal(&mut self) {
        self.refusals = self.refusals.saturating_add(1);
        if self.refusals >= self.config.limits.max_refusals && !self.is_closed() {
            self.send(&replies::too_many_refusals());
            self.close(CloseReason::TooManyErrors);
        }
    }

    /// A message was accepted: the client is doing real work, so its
    /// errors and refusals so far are forgiven.
    pub(crate) fn forgive(&mut self) {
        self.errors = 0;
        self.refusals = 0;
    }
}
