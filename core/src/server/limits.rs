//! The limits that keep a hostile peer answered and bounded: protocol
//! errors and refusals counted apart (both forgiven when a message is
//! accepted), over-long lines answered as soon as they pass the limit, and
//! the cap on input read only to be thrown away.

use crate::wire::reply::Reply;

use super::connection::ServerConnection;
use super::event::CloseKind;
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
            let reply = replies::too_many_errors();
            self.send(&reply);
            self.close_with(CloseKind::TooManyErrors, Some(reply), None);
        }
    }

    /// Counts a sender or recipient the application refused (its reply
    /// already queued). The `max_refusals`-th closes the session.
    pub(crate) fn count_refusal(&mut self) {
        self.refusals = self.refusals.saturating_add(1);
        if self.refusals >= self.config.limits.max_refusals && !self.is_closed() {
            let reply = replies::too_many_refusals();
            self.send(&reply);
            self.close_with(CloseKind::TooManyErrors, Some(reply), None);
        }
    }

    /// A message was accepted: the client is doing real work, so its
    /// errors and refusals so far are forgiven.
    pub(crate) fn forgive(&mut self) {
        self.errors = 0;
        self.refusals = 0;
    }

    /// Answers a line that passed its limit, once: as soon as the limit is
    /// passed when its end has not come yet, else when it is framed. A
    /// SASL response cancels the exchange; an over-long AUTH line drops
    /// what was pipelined behind it; a refused host gets its `503`.
    /// Returns whether what follows the line's end is to be dropped.
    pub(crate) fn over_long_line(&mut self) -> bool {
        if self.sasl.is_some() {
            self.sasl_line_too_long();
        } else if self.framing_auth && self.refused_host.is_none() {
            self.discard_input();
            self.send_error(&replies::sasl_line_too_long());
            return true;
        } else if self.refused_host.is_some() {
            self.refused_host_command();
        } else {
            self.send_error(&replies::line_too_long());
        }
        false
    }

    /// Whether `octets` of input read only to be dropped pass
    /// [`Limits::max_discard`](super::Limits::max_discard).
    pub(crate) fn over_discard_limit(&self, octets: u64) -> bool {
        let max = u64::try_from(self.config.limits.max_discard).unwrap_or(u64::MAX);
        octets > max
    }

    /// Too much to throw away: `421 4.7.0` (after the replies already
    /// queued) and the session closes.
    pub(crate) fn close_discard_limit(&mut self, reply: &Reply) {
        if self.is_closed() {
            return;
        }
        self.send(reply);
        self.close_with(CloseKind::DiscardLimit, Some(reply.clone()), None);
    }
}
