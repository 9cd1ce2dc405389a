//! The connection's deadlines, in the shared table ([`crate::timers`]).

use std::time::Instant;

use super::config::ServerTimeouts;
use super::event::TimeoutKind;
use crate::timers::{DeadlineKind, after};

/// A server connection's kinds of deadline, in the shared table
/// ([`crate::timers::Timers`]). At most one is reported by `poll_timeout`:
/// the decision deadline while a decision is pending, the handshake
/// deadline during STARTTLS, else the earliest peer deadline; when several
/// peer deadlines have passed, the session's is named first, then the
/// transfer's, then the wait for a command or for data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// The pending decision's deadline.
    Decision,
    /// The TLS handshake's deadline.
    Handshake,
    /// A wait for the peer: the session cap, the message transfer cap, or
    /// the wait for a command or for data (one slot).
    Peer(TimeoutKind),
}

impl DeadlineKind for Expired {
    fn slot(self) -> usize {
        match self {
            Expired::Decision => 0,
            Expired::Handshake => 1,
            Expired::Peer(TimeoutKind::Session) => 2,
            Expired::Peer(TimeoutKind::Transfer) => 3,
            Expired::Peer(_) => 4,
        }
    }

    fn masks_others(self) -> bool {
        matches!(self, Expired::Decision | Expired::Handshake)
    }
}

/// Every deadline a server connection keeps.
pub(crate) type Timers = crate::timers::Timers<Expired, 5>;

/// The slot of the wait for a command or for data.
const IDLE: Expired = Expired::Peer(TimeoutKind::Command);

impl Timers {
    pub(crate) fn new(now: Instant, timeouts: &ServerTimeouts) -> Timers {
        let mut timers = Timers::default();
        timers.set(
            Expired::Peer(TimeoutKind::Session),
            after(now, timeouts.session),
        );
        timers
    }

    /// Restarts the wait for data: every input does.
    pub(crate) fn wait_for_data(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.set(Expired::Peer(TimeoutKind::Data), after(now, timeouts.data));
    }

    /// Starts the wait for a command when `fresh` (the server is ready for
    /// a new command) or when it was not waiting for one; otherwise the
    /// running wait goes on, so that a command dripped in byte by byte
    /// must still arrive whole within [`ServerTimeouts::command`].
    pub(crate) fn wait_for_command(
        &mut self,
        now: Instant,
        timeouts: &ServerTimeouts,
        fresh: bool,
    ) {
        let waiting = matches!(
            self.get(IDLE),
            Some((_, Expired::Peer(TimeoutKind::Command)))
        );
        if fresh || !waiting {
            self.set(
                Expired::Peer(TimeoutKind::Command),
                after(now, timeouts.command),
            );
        }
    }

    pub(crate) fn start_transfer(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.set(
            Expired::Peer(TimeoutKind::Transfer),
            after(now, timeouts.transfer),
        );
    }

    pub(crate) fn end_transfer(&mut self) {
        self.clear(Expired::Peer(TimeoutKind::Transfer));
    }

    pub(crate) fn start_decision(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.set(Expired::Decision, after(now, timeouts.decision));
    }

    pub(crate) fn end_decision(&mut self) {
        self.clear(Expired::Decision);
    }

    pub(crate) fn start_handshake(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.set(Expired::Handshake, after(now, timeouts.tls_handshake));
    }

    pub(crate) fn end_handshake(&mut self) {
        self.clear(Expired::Handshake);
    }

    /// The one deadline the driver should arm.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.earliest().map(|(at, _)| at)
    }
}
