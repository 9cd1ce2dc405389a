//! What a connection asks its driver to do: the single ordered output queue.

use bytes::Bytes;

/// One step for the driver, taken from a connection's `poll_action()`.
///
/// Actions come out in the order they must be carried out. The driver writes
/// every [`Action::Send`] in order, flushes before acting on
/// [`Action::StartTls`] or [`Action::Close`], and hands every
/// [`Action::Event`] to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Action<E> {
    /// Write these bytes to the peer.
    Send(Bytes),
    /// Flush what was sent, then run the TLS handshake on the transport and
    /// report the result with `tls_established` (or close on failure).
    StartTls,
    /// Something for the application: a request that waits for a decision,
    /// message data, or a notice.
    Event(E),
    /// Flush, shut the transport down and drop the connection. Nothing
    /// follows.
    Close,
}

/// Misuse of a connection's API by the caller (not by the peer).
///
/// Returned at once by the call that was wrong; the connection's state is
/// unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// Input was given while the connection did not want to read
    /// (`wants_read()` was false).
    #[error("input given while the connection does not want to read")]
    NotReading,
    /// A decision token that is not the pending one (stale or unknown).
    #[error("unknown or stale decision token")]
    UnknownToken,
    /// A verdict whose reply does not fit the step it answers.
    #[error("reply does not fit this step: {0}")]
    InvalidReply(&'static str),
    /// The call is not valid in the connection's current state.
    #[error("not valid now: {0}")]
    InvalidState(&'static str),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// An argument was refused before anything was written: a CR, LF or
    /// NUL, a value over its length limit, an invalid name (the string
    /// says which).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The message needs an extension the server does not offer (the
    /// keyword, e.g. `SMTPUTF8`, `8BITMIME`, `DSN`).
    #[error("the server does not offer {0}, which this message needs")]
    MissingExtension(&'static str),
}
