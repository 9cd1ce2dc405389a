//! The kinds of deadline a client connection keeps, and its deadline table.

use super::close::Phase;
use crate::timers::DeadlineKind;

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
