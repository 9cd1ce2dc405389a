//! Deadlines: which wait runs out first, and what happens when it does.

use std::time::Instant;

use super::close::{CloseKind, CloseReason, Phase};
use super::connection::ClientConnection;

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
        let mut best: Option<(Instant, Phase, Option<String>)> = None;
        let mut consider = |at: Instant, phase: Phase, command: Option<&String>| {
            if best.as_ref().is_none_or(|(b, _, _)| at < *b) {
                best = Some((at, phase, command.cloned()));
            }
        };
        if let Some(head) = self.pending.front()
            && let Some(at) = head.deadline
        {
            consider(at, head.kind.phase(), Some(&head.command));
        }
        if let Some((at, phase)) = self.wait {
            consider(at, phase, None);
        }
        if let Some(at) = self.txn.as_ref().and_then(|t| t.body_deadline(self)) {
            consider(at, Phase::DataBlock, None);
        }
        best
    }
}
