//! Turning hooks' answers into decisions, and the `Received` header
//! delivery sees.

use std::time::SystemTime;

use mailwire_core::message::{
    MessageDate, ReceivedInfo, SessionTraits, TraceProtocol, received_header, trace_id,
};
use mailwire_core::sasl::StoredSecret;
use mailwire_core::server::{Envelope, ServerConnection, Token, Verdict};
use mailwire_core::wire::address::Domain;
use mailwire_core::wire::reply::Reply;

use super::error::{HookError, HookResult};
use super::options::ServerOptions;

/// `451 4.3.0`: what a failed or panicking hook is answered with.
pub(crate) fn hook_failed_reply() -> Reply {
    Reply::simple(
        451,
        "4.3.0",
        "Requested action aborted: local error in processing",
    )
    .expect("constant reply is valid")
}

/// What became of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decided {
    /// Answered (or nothing to answer).
    Done,
    /// The hook asked to drop the connection without a reply.
    Drop,
}

/// Answers a request with a hook's result.
pub(crate) fn decide(
    conn: &mut ServerConnection,
    token: Token,
    secret: bool,
    result: HookResult<Option<StoredSecret>>,
) -> Decided {
    let verdict = match result {
        Ok(found) if secret => {
            let _ = conn.supply_secret(token, found);
            return Decided::Done;
        }
        Ok(_) => Verdict::Accept,
        Err(HookError::Disconnect) => return Decided::Drop,
        Err(HookError::Reply(reply)) if reply.code().as_u16() >= 400 => Verdict::Reply(reply),
        Err(_) => Verdict::Reply(hook_failed_reply()),
    };
    if let Err(mailwire_core::UsageError::InvalidReply(_)) = conn.decide(token, verdict) {
        let _ = conn.decide(token, Verdict::Reply(hook_failed_reply()));
    }
    Decided::Done
}

/// The `Received` header for a message starting now.
pub(crate) fn received(
    conn: &ServerConnection,
    envelope: &Envelope,
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
