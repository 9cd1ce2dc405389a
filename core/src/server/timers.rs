//! The connection's deadlines, and which of them input re-arms.

use std::time::{Duration, Instant};

use super::config::ServerTimeouts;
use super::connection::{Phase, ServerConnection};
use super::event::TimeoutKind;

impl ServerConnection {
    /// Sets the wait for the peer after input or a decision: the data
    /// timer restarts; the command timer only when `fresh` (the server is
    /// ready for a new command) or when it was not running.
    pub(crate) fn arm_idle(&mut self, fresh: bool) {
        if self.is_closed() {
            return;
        }
        let timeouts = &self.config.timeouts;
        if matches!(self.phase, Phase::Data | Phase::Chunk(_)) {
            self.timers.wait_for_data(self.now, timeouts);
        } else {
            self.timers.wait_for_command(self.now, timeouts, fresh);
        }
    }
}

/// Every deadline a server connection keeps. At most one is reported by
/// `poll_timeout`: the decision deadline while a decision is pending, the
/// handshake deadline during STARTTLS, else the earliest peer deadline.
#[derive(Debug, Clone)]
pub(crate) struct Timers {
    /// Waiting for a command or for data; `kind` says which.
    idle: Option<(Instant, TimeoutKind)>,
    /// Cap on the message transfer in progress.
    transfer: Option<Instant>,
    /// Cap on the session.
    session: Instant,
    /// The pending decision's deadline.
    decision: Option<Instant>,
    /// The TLS handshake's deadline.
    handshake: Option<Instant>,
}

/// A deadline that has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    Decision,
    Handshake,
    Peer(TimeoutKind),
}

/// `now + d`, saturating far in the future instead of panicking on an
/// absurd configured duration.
fn after(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

impl Timers {
    pub(crate) fn new(now: Instant, timeouts: &ServerTimeouts) -> Timers {
        Timers {
            idle: None,
            transfer: None,
            session: after(now, timeouts.session),
            decision: None,
            handshake: None,
        }
    }

    /// Restarts the wait for data: every input does.
    pub(crate) fn wait_for_data(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.idle = Some((after(now, timeouts.data), TimeoutKind::Data));
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
        let waiting = matches!(self.idle, Some((_, TimeoutKind::Command)));
        if fresh || !waiting {
            self.idle = Some((after(now, timeouts.command), TimeoutKind::Command));
        }
    }

    pub(crate) fn start_transfer(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.transfer = Some(after(now, timeouts.transfer));
    }

    pub(crate) fn end_transfer(&mut self) {
        self.transfer = None;
    }

    pub(crate) fn start_decision(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.decision = Some(after(now, timeouts.decision));
    }

    pub(crate) fn end_decision(&mut self) {
        self.decision = None;
    }

    pub(crate) fn start_handshake(&mut self, now: Instant, timeouts: &ServerTimeouts) {
        self.handshake = Some(after(now, timeouts.tls_handshake));
    }

    pub(crate) fn end_handshake(&mut self) {
        self.handshake = None;
    }

    /// The one deadline the driver should arm.
    pub(crate) fn next(&self) -> Option<Instant> {
        if let Some(at) = self.decision {
            return Some(at);
        }
        if let Some(at) = self.handshake {
            return Some(at);
        }
        let mut next = self.session;
        for at in [self.idle.map(|(at, _)| at), self.transfer]
            .into_iter()
            .flatten()
        {
            next = next.min(at);
        }
        Some(next)
    }

    /// The deadline that has passed at `now`, if any (peer deadlines only
    /// when no decision or handshake is pending).
    pub(crate) fn expired(&self, now: Instant) -> Option<Expired> {
        if let Some(at) = self.decision {
            return (now >= at).then_some(Expired::Decision);
        }
        if let Some(at) = self.handshake {
            return (now >= at).then_some(Expired::Handshake);
        }
        if now >= self.session {
            return Some(Expired::Peer(TimeoutKind::Session));
        }
        if self.transfer.is_some_and(|at| now >= at) {
            return Some(Expired::Peer(TimeoutKind::Transfer));
        }
        match self.idle {
            Some((at, kind)) if now >= at => Some(Expired::Peer(kind)),
            _ => None,
        }
    }
}
