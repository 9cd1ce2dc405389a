//! Commands sent and awaiting their reply, oldest first.

use std::time::Duration;

use super::close::Phase;
use super::config::ClientTimeouts;

/// What a reply will answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingKind {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Queue,
    Mail,
    /// RCPT for this envelope recipient.
    Rcpt(usize),
    Data,
    /// The final dot.
    DataEnd,
    Bdat {
        last: bool,
    },
    Rset,
    Quit,
}

impl PendingKind {
    pub(crate) fn phase(self) -> Phase {
        match self {
            PendingKind::Greeting => Phase::Greeting,
            PendingKind::Ehlo => Phase::Ehlo,
            PendingKind::Helo => Phase::Helo,
            PendingKind::StartTls => Phase::StartTls,
            PendingKind::Auth => Phase::Auth,
            PendingKind::Queue => Phase::Queue,
            PendingKind::Mail => Phase::Mail,
            PendingKind::Rcpt(_) => Phase::Rcpt,
            PendingKind::Data => Phase::DataInit,
            PendingKind::Bdat { last: false } => Phase::DataBlock,
            PendingKind::DataEnd | PendingKind::Bdat { last: true } => Phase::DataTermination,
            PendingKind::Rset => Phase::Rset,
            PendingKind::Quit => Phase::Quit,
        }
    }

    pub(crate) fn timeout(self, t: &ClientTimeouts) -> Duration {
        match self {
            PendingKind::Greeting => t.greeting,
            PendingKind::Ehlo
            | PendingKind::Helo
            | PendingKind::StartTls
            | PendingKind::Auth
            | PendingKind::Queue => t.hello,
            PendingKind::Mail => t.mail,
            PendingKind::Rcpt(_) => t.rcpt,
            PendingKind::Data => t.data_init,
            PendingKind::Bdat { last: false } => t.data_block,
            PendingKind::DataEnd | PendingKind::Bdat { last: true } => t.data_termination,
            PendingKind::Rset => t.rset,
            PendingKind::Quit => t.quit,
        }
    }
}

/// One command awaiting its reply.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) kind: PendingKind,
    /// The command line without CRLF (AUTH responses redacted).
    pub(crate) command: String,
    /// Input octets received before the command was sent: its reply must
    /// start at or after this offset.
    pub(crate) sent_at: u64,
}
