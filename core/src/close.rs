//! Why a connection ended, in one shape for both roles: [`CloseReason`].

use crate::wire::reply::Reply;

/// Why a connection ended: what happened (`kind`, each role's own enum),
/// the step it was in (`phase`: the client's
/// [`Phase`](crate::client::Phase); `()` for the server), the reply
/// involved, in full, and the command concerned.
///
/// The roles name it [`client::CloseReason`](crate::client::CloseReason)
/// and [`server::CloseReason`](crate::server::CloseReason); both read as a
/// sentence with `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseReason<K, P = ()> {
    /// What happened.
    pub kind: K,
    /// The step the connection was in.
    pub phase: P,
    /// The reply involved, in full (code, enhanced code, every line), if
    /// one was: for a client the server's reply that caused the end, for a
    /// server the reply it sent last before closing.
    pub reply: Option<Reply>,
    /// The command concerned (the one the reply answered, or that timed
    /// out), without its CRLF. AUTH responses are never shown.
    pub command: Option<String>,
}

impl<K, P> CloseReason<K, P> {
    pub(crate) fn new(kind: K, phase: P) -> Self {
        CloseReason {
            kind,
            phase,
            reply: None,
            command: None,
        }
    }

    pub(crate) fn with_reply(mut self, reply: Option<Reply>) -> Self {
        self.reply = reply;
        self
    }

    pub(crate) fn with_command(mut self, command: Option<String>) -> Self {
        self.command = command;
        self
    }
}
