//! Deadlines: which wait runs out first, and what happens when it does.

use std::time::Instant;

use super::close::{CloseKind, CloseReason, Phase};
use super::connection::ClientConnection;
use super::deadline::Deadline;

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
