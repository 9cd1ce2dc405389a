//! Turning hooks' answers into decisions ([`Answer`]), and the
//! `Received` header delivery sees.

use std::ops::ControlFlow;
use std::time::{Instant, SystemTime};

use mailwire_core::UsageError;
use mailwire_core::message::{
    MessageDate, ReceivedInfo, SessionTraits, TraceProtocol, received_header, trace_id,
};
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{ReceivedEnvelope, ServerConnection, Token, Verdict, replies};
use mailwire_core::wire::address::Domain;
use mailwire_core::wire::reply::Reply;

use super::error::{HookError, HookResult};
use super::options::ServerOptions;

/// What a failed or panicking hook is answered with:
/// [`replies::local_error`].
pub(crate) fn hook_failed_reply() -> Reply {
    replies::local_error()
}

/// What a session's hooks answered, for the driver of the connection to
/// apply: a value [`SessionHost::poll_answer`](super::SessionHost::poll_answer)
/// yields.
///
/// [`apply`](Self::apply) applies it the way mailwire's own driver does;
/// a driver that goes through its own wrapper of the connection (a
/// recording one, say) applies it by hand:
///
/// * [`Decide`](Self::Decide): call [`decide`](ServerConnection::decide)
///   with the current time; if that fails with
///   [`UsageError::InvalidReply`](mailwire_core::UsageError::InvalidReply)
///   (a hook's reply that does not fit the step), decide again with
///   [`Answer::fallback`] (`451` ([`local_error`](mailwire_core::server::replies::local_error))). Any other error means the
///   request is gone (its decision expired, the connection closed): ignore
///   it.
/// * [`Secret`](Self::Secret): the same, with
///   [`supply_secret`](ServerConnection::supply_secret).
/// * [`Drop`](Self::Drop): stop serving the connection at once, without
///   a reply: no more reads, no more writes, no graceful close. Then
///   [`close`](super::SessionHost::close) the host and run its
///   [`end`](super::SessionHost::end).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Answer {
    /// Answer the request `token` with `verdict`.
    Decide {
        /// The request.
        token: Token,
        /// The answer: `Accept`, or a 4xx/5xx reply from the hook (a
        /// failed or panicking hook: `451` ([`local_error`](mailwire_core::server::replies::local_error))).
        verdict: Verdict,
    },
    /// Answer the secret request `token` (an
    /// [`AuthCheck::NeedSecret`](mailwire_core::server::AuthCheck::NeedSecret))
    /// with the user's stored secret, `None` for an unknown user.
    Secret {
        /// The request.
        token: Token,
        /// The secret.
        secret: Option<StoredSecret>,
    },
    /// A hook returned [`HookError::Disconnect`]: drop the connection now,
    /// without a reply. The host already counts the session as
    /// [`SessionEnd::Dropped`](super::SessionEnd::Dropped).
    Drop,
}

impl Answer {
    /// The answer to request `token` (`secret`: a secret request) from a
    /// hook's result.
    pub(crate) fn from_hook(
        token: Token,
        secret: bool,
        result: HookResult<Option<StoredSecret>>,
    ) -> Answer {
        let verdict = match result {
            Ok(found) if secret => {
                return Answer::Secret {
                    token,
                    secret: found,
                };
            }
            Ok(_) => Verdict::Accept,
            Err(HookError::Disconnect) => return Answer::Drop,
            Err(HookError::Reply(reply)) if reply.code().as_u16() >= 400 => Verdict::Reply(reply),
            Err(_) => Verdict::Reply(hook_failed_reply()),
        };
        Answer::Decide { token, verdict }
    }

    /// `451` ([`local_error`](mailwire_core::server::replies::local_error)): the verdict for a request whose hook failed, panicked
    /// or gave a reply that does not fit the step.
    #[must_use]
    pub fn fallback() -> Verdict {
        Verdict::Reply(hook_failed_reply())
    }

    /// Applies the answer to `conn` at time `now` (see the type's
    /// documentation for what that means). Returns
    /// [`ControlFlow::Break`] for [`Answer::Drop`]: stop serving the
    /// connection without another read or write. Drain the connection's
    /// [`poll_action`](ServerConnection::poll_action) afterwards.
    #[must_use = "a Break means the connection must be dropped"]
    pub fn apply(self, conn: &mut ServerConnection, now: Instant) -> ControlFlow<()> {
        match self {
            Answer::Decide { token, verdict } => {
                if let Err(UsageError::InvalidReply(_)) = conn.decide(now, token, verdict) {
                    let _ = conn.decide(now, token, Answer::fallback());
                }
            }
            Answer::Secret { token, secret } => {
                let _ = conn.supply_secret(now, token, secret);
            }
            Answer::Drop => return ControlFlow::Break(()),
        }
        ControlFlow::Continue(())
    }
}

/// The `Received` header for a message starting now.
pub(crate) fn received(
    conn: &ServerConnection,
    envelope: &ReceivedEnvelope,
    options: &ServerOptions,
) -> Vec<u8> {
    let config = &options.config;
    let Ok(by) = Domain::parse(config.domain.as_bytes()) else {
        return Vec::new();
    };
    let Ok(date) = MessageDate::from_system_time(SystemTime::now(), 0) else {
        return Vec::new();
    };
    let traits = SessionTraits::new(conn.is_extended())
        .with_tls(conn.is_tls())
        .with_auth(conn.authenticated().is_some())
        .with_smtputf8(envelope.params.smtputf8);
    let mut info = ReceivedInfo::new(by, TraceProtocol::new(traits), date)
        .with_id(trace_id(config.random.as_ref()));
    if let Some(helo) = conn.helo_domain() {
        info = info.with_helo(helo.to_string());
    }
    if let Some(peer) = conn.session().peer {
        info = info.with_peer(peer.ip());
    }
    if let Some(tls) = conn.tls_info() {
        info = info.with_tls(tls.clone());
    }
    if let [only] = envelope.recipients.as_slice() {
        info = info.with_for(only.to.clone());
    }
    received_header(&info)
}
