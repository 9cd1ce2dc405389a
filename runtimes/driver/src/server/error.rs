//! What a hook returns: [`HookResult`], and [`HookError`] for everything
//! but acceptance.

use mailwire_core::wire::reply::Reply;

/// Why a hook did not accept: a reply for the client, a failure of the
/// hook itself, or a request to drop the connection.
///
/// A failure (and a panic inside a hook, and a hook that does not answer
/// within the decision deadline) is answered `451` ([`local_error`](mailwire_core::server::replies::local_error)), never `250`.
/// `?` works on [`std::io::Error`] (e.g. from a
/// [`BodyReader`](super::BodyReader)) and on any boxed error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// Answer the client with this reply (a 4xx or 5xx; a positive code
    /// here is treated as a failure and answered `451` ([`local_error`](mailwire_core::server::replies::local_error))). A `421`
    /// closes the session once sent.
    #[error("refused with {0}")]
    Reply(Reply),
    /// The hook failed (storage down, body cut off, …): `451` ([`local_error`](mailwire_core::server::replies::local_error)).
    #[error("hook failed: {0}")]
    Failed(Box<dyn std::error::Error + Send + Sync>),
    /// Drop the connection at once, without a reply (to test how clients
    /// cope with a server that goes away). A message in progress is not
    /// delivered.
    #[error("connection dropped on purpose")]
    Disconnect,
}

impl HookError {
    /// A refusal `code enhanced text`, e.g. `HookError::refuse(550, "5.1.1",
    /// "No such user")`. An invalid reply (CR/LF in the text, classes that
    /// disagree) becomes a [`HookError::Failed`] and is answered `451`.
    #[must_use]
    pub fn refuse(code: u16, enhanced: &str, text: &str) -> HookError {
        match Reply::simple(code, enhanced, text) {
            Ok(reply) => HookError::Reply(reply),
            Err(e) => HookError::Failed(Box::new(e)),
        }
    }

    /// A failure of the hook (answered `451` ([`local_error`](mailwire_core::server::replies::local_error))).
    pub fn failed(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> HookError {
        HookError::Failed(error.into())
    }
}

impl From<Reply> for HookError {
    fn from(reply: Reply) -> HookError {
        HookError::Reply(reply)
    }
}

impl From<std::io::Error> for HookError {
    fn from(error: std::io::Error) -> HookError {
        HookError::Failed(Box::new(error))
    }
}

/// What a hook returns: `Ok` to accept (with the core's default reply), or
/// a [`HookError`].
pub type HookResult<T = ()> = Result<T, HookError>;
