//! Deadlines: which wait runs out first, and what happens when it does.

use std::time::Instant;

use super::close::{CloseKind, CloseReason, Phase};
use super::connection::ClientConnection;
use crate::timers::DeadlineKind;

impl ClientConnection {
    /// Time passed. When the earliest deadline
    /// ([`poll_timeout`](Self::poll_timeout)) is due, the connection closes
    /// with [`CloseKind::Timeout`] and the phase (a QUIT that is not
    /// answered in time just ends the connection as it would have).
    /// Calling it early does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some((deadline, phase, command)) = self.next_deadline() else {
            return;
        };
        if now < deadline {
            return;
        }
        let reason = if phase == Phase::Quit {
            self.closing.take().unwrap_or_else(|| {
                CloseReason::new(CloseKind::Timeout, Phase::Quit).with_command(command)
            })
        } else {
            CloseReason::new(CloseKind::Timeout, phase).with_command(command)
        };
        self.close(reason);
    }

    /// The earliest deadline with its phase and the command concerned.
    pub(crate) fn next_deadline(&self) -> Option<(Instant, Phase, Option<String>)> {
        if self.is_closed() {
            return None;
        }
        let mut timers = self.timers;
        timers.set_opt(
            Deadline::Body,
            self.txn.as_ref().and_then(|t| t.body_deadline(self)),
        );
        let (at, kind) = timers.earliest()?;
        let (phase, command) = match kind {
            Deadline::Reply => {
                let head = self.pending.front()?;
                (head.kind.phase(), Some(head.command.clone()))
            }
            Deadline::Wait(phase) => (phase, None),
            Deadline::Body => (Phase::DataBlock, None),
        };
        Some((at, phase, command))
    }
}

/// A client connection's kinds of deadline, in the shared table
/// ([`crate::timers::Timers`]): the earliest runs out first; on a tie, the
/// reply's, then the wait's, then the body's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// The reply to the oldest command awaiting one (set when a command
    /// becomes the oldest).
    Reply,
    /// A wait that is not a command's: TLS handshake, policy decision.
    Wait(Phase),
    /// The application's body, while the connection waits for it (taken
    /// from the transaction when asked, not kept in the table).
    Body,
}

impl Deadline {
    /// The wait's slot, whatever its phase (to clear it).
    pub(crate) const WAIT: Deadline = Deadline::Wait(Phase::Idle);
}

impl DeadlineKind for Deadline {
    fn slot(self) -> usize {
        match self {
            Deadline::Reply => 0,
            Deadline::Wait(_) => 1,
            Deadline::Body => 2,
        }
    }
}

/// Every deadline a client connection keeps.
pub(crate) type Timers = crate::timers::Timers<Deadline, 3>;
